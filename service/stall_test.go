package service_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/followup/followup"
)

// gatedCalDAV is fakeCalDAV whose PUTs wait at a gate: until it opens, or
// until the caller gives up when honourCancel is set (a server that never
// answers), or not at all once open.
type gatedCalDAV struct {
	*fakeCalDAV
	entered      chan string // the UID of each PUT that reached the gate
	open         chan struct{}
	honourCancel bool
	once         sync.Once
}

func newGatedCalDAV(honourCancel bool) *gatedCalDAV {
	return &gatedCalDAV{fakeCalDAV: newFakeCalDAV(), entered: make(chan string, 64), open: make(chan struct{}), honourCancel: honourCancel}
}

func (g *gatedCalDAV) release() { g.once.Do(func() { close(g.open) }) }

func (g *gatedCalDAV) PutEvent(ctx context.Context, acct followup.CalDAVAccount, cal string, ev followup.Event, ifMatch string) (string, error) {
	g.entered <- ev.UID
	if g.honourCancel {
		select {
		case <-g.open:
		case <-ctx.Done():
			return "", followup.Errorf(followup.EREMOTE, "", "The request to dav.example.com was cancelled.")
		}
	} else {
		<-g.open
	}
	return g.fakeCalDAV.PutEvent(ctx, acct, cal, ev, ifMatch)
}

// connected returns a user connected to the fake server with one
// commitment logged, and that commitment's block UIDs.
func connected(t *testing.T, h *harness, email string) (followup.User, []string) {
	t.Helper()
	u := h.user(email, "Europe/Berlin")
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "in 3 days"})
	var uids []string
	for _, s := range c.Steps {
		if s.Kind.IsBlock() {
			uids = append(uids, s.UID)
		}
	}
	return u, uids
}

// within runs fn and fails the test unless it returns within d.
func within[T any](t *testing.T, d time.Duration, what string, fn func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- fn() }()
	select {
	case v := <-done:
		return v
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
		panic("unreachable")
	}
}

// TestJobDoesNotWaitForAccount: a queued job for an account whose server
// holds other work's PUT comes back at once, asking to be retried shortly,
// instead of holding a worker; disconnecting the account answers at once
// too, and the interrupted work records nothing.
func TestJobDoesNotWaitForAccount(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	gate := newGatedCalDAV(true)
	h.svc.Calendars = gate
	defer gate.release()
	u, uids := connected(t, h, "slow@example.com")

	syncDone := make(chan error, 1)
	go func() { _, err := h.svc.Sync(h.ctx, u.ID); syncDone <- err }()
	<-gate.entered // the sync holds the account, waiting on its server

	err := within(t, 2*time.Second, "a job for the busy account", func() error {
		return h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: uids[0]})
	})
	after, ok := followup.RetryAfter(err)
	if !ok || after <= 0 || after > 5*time.Second || followup.ErrorCode(err) != followup.EUNAVAILABLE {
		t.Fatalf("job for a busy account: %v (retry after %v, %v), want unavailable, retried within 5 s", err, after, ok)
	}
	// Put off again and again, it waits longer each time, never over 5 s.
	err = h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: uids[0], Snoozes: 3})
	if later, _ := followup.RetryAfter(err); later < 800*time.Millisecond || later > 1600*time.Millisecond {
		t.Errorf("after 3 snoozes: retry after %v, want 0.8–1.6 s", later)
	}
	err = h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobSyncUser, UserID: u.ID, Snoozes: 30})
	if later, ok := followup.RetryAfter(err); !ok || later < 2500*time.Millisecond || later > 5*time.Second {
		t.Errorf("sync job after 30 snoozes: retry after %v, %v; want 2.5–5 s", later, ok)
	}

	err = within(t, 2*time.Second, "DisconnectCalDAV", func() error { return h.svc.DisconnectCalDAV(h.ctx, u.ID) })
	if err != nil {
		t.Fatal(err)
	}
	within(t, 2*time.Second, "the interrupted sync", func() error { return <-syncDone })
	steps, err := h.db.SyncSteps(h.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.RemoteETag != "" {
			t.Errorf("step %s recorded as written after the disconnect", s.UID)
		}
	}
}

// TestDisconnectDropsLateResults: another process disconnects the account
// while this one's PUT is in flight; when the PUT's answer comes, it is
// not recorded for the connection that is gone.
func TestDisconnectDropsLateResults(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	gate := newGatedCalDAV(false) // the PUT answers, however late
	h.svc.Calendars = gate
	defer gate.release()
	u, uids := connected(t, h, "ada@example.com")
	_, other := h.instance()
	other.Calendars = gate

	jobDone := make(chan error, 1)
	go func() {
		jobDone <- h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: uids[0]})
	}()
	<-gate.entered
	err := within(t, 2*time.Second, "DisconnectCalDAV from another process", func() error {
		return other.DisconnectCalDAV(h.ctx, u.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	gate.release()
	if err := within(t, 5*time.Second, "the job", func() error { return <-jobDone }); err != nil {
		t.Errorf("job after the disconnect: %v, want nil (nothing to retry)", err)
	}
	steps, err := h.db.SyncSteps(h.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.RemoteETag != "" || s.Status == followup.StepSynced {
			t.Errorf("step %s recorded as written (%s, ETag %q) for a connection that is gone", s.UID, s.Status, s.RemoteETag)
		}
	}
}

// serverBusy is what the caldav client returns for a 503 with Retry-After.
type serverBusy struct{ after time.Duration }

func (e serverBusy) Error() string             { return "busy" }
func (e serverBusy) RetryAfter() time.Duration { return e.after }
func (e serverBusy) Unwrap() error {
	return followup.Errorf(followup.EREMOTE, "", "dav.example.com is busy (HTTP 503) and asked us to retry in 2s.")
}

// limitedCalDAV answers every PUT 503 with Retry-After: 2 while limiting.
type limitedCalDAV struct {
	*fakeCalDAV
	mu       sync.Mutex
	limiting bool
	requests int // PUTs received, answered or not
}

func (l *limitedCalDAV) PutEvent(ctx context.Context, acct followup.CalDAVAccount, cal string, ev followup.Event, ifMatch string) (string, error) {
	l.mu.Lock()
	l.requests++
	limiting := l.limiting
	l.mu.Unlock()
	if limiting {
		return "", serverBusy{2 * time.Second}
	}
	return l.fakeCalDAV.PutEvent(ctx, acct, cal, ev, ifMatch)
}

func (l *limitedCalDAV) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests
}

// TestRetryAfterHoldsForAccount: once a server asked for 2 s, no job of
// that account sends it anything before they are over, each asking the
// queue to come back when they are; other accounts are not held up.
func TestRetryAfterHoldsForAccount(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	server := &limitedCalDAV{fakeCalDAV: newFakeCalDAV()}
	h.svc.Calendars = server
	u, uids := connected(t, h, "ada@example.com")
	v, vUIDs := connected(t, h, "bob@example.com")
	job := func(userID int64, uid string) error {
		return h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: userID, UID: uid})
	}

	server.limiting = true
	err := job(u.ID, uids[0])
	if after, ok := followup.RetryAfter(err); !ok || after != 2*time.Second {
		t.Fatalf("first 503: %v, want a retry after 2 s", err)
	}
	if server.count() != 1 {
		t.Fatalf("%d requests, want 1", server.count())
	}
	// Every other job of the account waits without a request.
	h.clock.Add(500 * time.Millisecond)
	for _, uid := range uids {
		err := job(u.ID, uid)
		if after, ok := followup.RetryAfter(err); !ok || after != 1500*time.Millisecond {
			t.Errorf("job during the backoff: %v, want a retry after the 1.5 s left", err)
		}
	}
	if err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobSyncUser, UserID: u.ID}); err == nil {
		t.Error("a sync during the backoff succeeded")
	} else if after, ok := followup.RetryAfter(err); !ok || after != 1500*time.Millisecond {
		t.Errorf("sync during the backoff: %v, want a retry after the 1.5 s left", err)
	}
	if server.count() != 1 {
		t.Fatalf("%d requests during the backoff, want none after the first", server.count()-1)
	}
	// Another account on the same server has a backoff of its own.
	if err := job(v.ID, vUIDs[0]); err == nil {
		t.Fatal("bob's job passed a limiting server")
	}
	if server.count() != 2 {
		t.Fatalf("bob's job sent %d requests, want 1", server.count()-1)
	}

	// Once the 2 s are over, one request; the server still limits, so 2 s more.
	h.clock.Add(1500 * time.Millisecond)
	if err := job(u.ID, uids[0]); err == nil {
		t.Fatal("a 503 succeeded")
	}
	if err := job(u.ID, uids[1]); err == nil || server.count() != 3 {
		t.Fatalf("second job right after a 503: %v, %d requests, want 3", err, server.count())
	}
	// The server answers again: each object is written once.
	server.limiting = false
	h.clock.Add(2 * time.Second)
	for _, uid := range append(uids, uids...) {
		if err := job(u.ID, uid); err != nil {
			t.Fatal(err)
		}
	}
	if server.puts != len(uids) {
		t.Errorf("%d PUTs answered for %d objects", server.puts, len(uids))
	}
}

// TestJobTimeout: a job whose server does not answer gives its worker back
// after the job timeout, as an error the queue retries with backoff.
func TestJobTimeout(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	gate := newGatedCalDAV(true)
	h.svc.Calendars = gate
	defer gate.release()
	h.svc.JobTimeout = 300 * time.Millisecond
	u, uids := connected(t, h, "slow@example.com")
	err := within(t, 3*time.Second, "a job on a server that does not answer", func() error {
		return h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: uids[0]})
	})
	if _, snooze := followup.RetryAfter(err); err == nil || snooze {
		t.Fatalf("job past its timeout: %v, want an error retried with backoff", err)
	}
	// The account is free again at once.
	gate.release()
	if err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: uids[0]}); err != nil {
		t.Fatalf("the next job: %v", err)
	}
}

// TestConnectInterruptsWork: connecting an account anew does not wait for
// work on the old settings: that work is cancelled, and asks to look again.
func TestConnectInterruptsWork(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	gate := newGatedCalDAV(true)
	h.svc.Calendars = gate
	defer gate.release()
	u, uids := connected(t, h, "ada@example.com")
	jobDone := make(chan error, 1)
	go func() {
		jobDone <- h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: uids[0]})
	}()
	<-gate.entered
	err := within(t, 2*time.Second, "ConnectCalDAV", func() error {
		_, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw", Calendar: "Work"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = within(t, 2*time.Second, "the interrupted job", func() error { return <-jobDone })
	if _, ok := followup.RetryAfter(err); !ok {
		t.Errorf("interrupted job: %v, want a retry shortly", err)
	}
}

// rateLimitedICS is an ICS source on its own host that answers 503 with
// Retry-After: 2 while limiting.
type rateLimitedICS struct {
	mu       sync.Mutex
	limiting bool
	requests int
}

func (l *rateLimitedICS) FetchBusy(_ context.Context, url string, from, to time.Time, prev followup.ICSState) (followup.ICSRead, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	if l.limiting {
		return followup.ICSRead{}, serverBusy{2 * time.Second}
	}
	return followup.ICSRead{Changed: true, State: followup.ICSState{From: from, To: to}}, nil
}

func (l *rateLimitedICS) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests
}

// TestRetryAfterPerHost: a busy ICS host is left alone for the time it
// asked, while the account's CalDAV server, another host, is written to.
func TestRetryAfterPerHost(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	dav := newFakeCalDAV()
	src := &rateLimitedICS{limiting: true}
	h.svc.Calendars, h.svc.ICS = dav, src
	u := h.user("ada@example.com", "Europe/Berlin")
	in := followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw", BusyICS: []string{"https://ics.example.org/busy.ics"}}
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, in); err != nil {
		t.Fatal(err)
	}
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "in 3 days"})
	syncJob := func() error {
		return h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobSyncUser, UserID: u.ID})
	}
	if after, ok := followup.RetryAfter(syncJob()); !ok || after != 2*time.Second {
		t.Fatalf("sync with a busy ICS host: want a retry after 2 s")
	}
	if src.count() != 1 || dav.puts == 0 {
		t.Fatalf("%d ICS requests, %d PUTs; want 1 and the blocks written", src.count(), dav.puts)
	}
	h.clock.Add(time.Second)
	if after, ok := followup.RetryAfter(syncJob()); !ok || after != time.Second || src.count() != 1 {
		t.Fatalf("sync during the ICS host's backoff: retry after %v (%v), %d ICS requests; want 1 s and 1", after, ok, src.count())
	}
	src.mu.Lock()
	src.limiting = false
	src.mu.Unlock()
	h.clock.Add(time.Second)
	if err := syncJob(); err != nil || src.count() != 2 {
		t.Fatalf("sync after the backoff: %v, %d ICS requests; want nil and 2", err, src.count())
	}
}

// TestSettledJobNeedsNoAccount: a job whose block is already on the server
// ends at once while other work holds the account, instead of being put off.
func TestSettledJobNeedsNoAccount(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	gate := newGatedCalDAV(true)
	gate.release()
	h.svc.Calendars = gate
	u, written := connected(t, h, "ada@example.com")
	if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	for range written {
		<-gate.entered
	}
	gate.open, gate.once = make(chan struct{}), sync.Once{} // PUTs wait again
	defer gate.release()
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Bob"}, Promise: "Intro", DueText: "in 4 days"})
	go h.svc.Sync(h.ctx, u.ID)
	<-gate.entered // the sync holds the account, writing Bob's blocks
	err := within(t, 2*time.Second, "a job for a written block", func() error {
		return h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: written[0]})
	})
	if err != nil {
		t.Errorf("job for a block already written: %v, want nil", err)
	}
}

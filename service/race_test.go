package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/service"
)

// racingCalDAV is fakeCalDAV whose first PUT reaches the server and then,
// before its answer comes back, runs during (the commitment ends, the
// process dies). With lose, that answer is lost.
type racingCalDAV struct {
	*fakeCalDAV
	during func()
	lose   bool
	once   sync.Once
}

func (r *racingCalDAV) PutEvent(ctx context.Context, acct followup.CalDAVAccount, cal string, ev followup.Event, ifMatch string) (string, error) {
	etag, err := r.fakeCalDAV.PutEvent(ctx, acct, cal, ev, ifMatch)
	if err != nil {
		return etag, err
	}
	first := false
	r.once.Do(func() { first = true; r.during() })
	if first && r.lose {
		return "", followup.Errorf(followup.EREMOTE, "", "The request to dav.example.com timed out.")
	}
	return etag, nil
}

// TestBlockEndedDuringPut: a commitment let go or deleted while the PUT of
// one of its blocks is in flight, its answer arriving, lost, or never
// coming (the process died): the queued jobs alone, with no sync reading
// the calendar back, leave no object of its blocks on the server, and
// one object for each block of a commitment still open.
func TestBlockEndedDuringPut(t *testing.T) {
	for _, end := range []string{"let go", "delete"} {
		for _, outcome := range []string{"answered", "lost", "died"} {
			t.Run(end+"/"+outcome, func(t *testing.T) { testBlockEndedDuringPut(t, end, outcome) })
		}
	}
}

func testBlockEndedDuringPut(t *testing.T, end, outcome string) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	server := &racingCalDAV{fakeCalDAV: newFakeCalDAV(), lose: outcome != "answered"}
	h.svc.Calendars = server
	u, uids := connected(t, h, "ada@example.com")
	if len(uids) == 0 {
		t.Fatal("the commitment has no block")
	}
	kept := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Joe"}, Promise: "Call back", DueText: "in 5 days"})
	c := h.get(u.ID, commitmentOf(t, h, uids[0]))

	// The first job runs on another process, which dies when asked to.
	otherDB, other := h.instance()
	other.Calendars = server
	server.during = func() {
		if end == "let go" {
			h.act(u.ID, c.ID, followup.ActionLetGo)
		} else if err := h.svc.Delete(h.ctx, u.ID, c.ID); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if outcome == "died" {
			otherDB.Close() // nothing more is recorded
		}
	}
	_ = other.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: uids[0]})
	if outcome == "died" {
		h.clock.Add(service.LeaseTTL + time.Second) // its lease runs out
	}

	var all []string
	for _, s := range kept.Steps {
		if s.Kind.IsBlock() {
			all = append(all, s.UID)
		}
	}
	all = append(all, uids...)
	drainStepJobs(t, h, u.ID, all)

	for _, uid := range uids {
		if server.has(uid) {
			t.Errorf("block %s of the commitment ended during a PUT is still on the server", uid)
		}
	}
	for _, s := range h.get(u.ID, kept.ID).Steps {
		if s.Kind.IsBlock() && s.Status.Pending() && !server.has(s.UID) {
			t.Errorf("block %s of the open commitment is not on the server", s.UID)
		}
	}
}

// commitmentOf returns the id of the commitment of the step uid.
func commitmentOf(t *testing.T, h *harness, uid string) int64 {
	t.Helper()
	s, err := h.db.StepByUID(h.ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	return s.CommitmentID
}

// drainStepJobs runs the step jobs of uids as the queue does, retrying
// the ones that fail, until all succeed.
func drainStepJobs(t *testing.T, h *harness, userID int64, uids []string) {
	t.Helper()
	left := uids
	for range 5 {
		var failed []string
		for _, uid := range left {
			if err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: userID, UID: uid}); err != nil {
				failed = append(failed, uid)
			}
		}
		if left = failed; len(left) == 0 {
			return
		}
		h.clock.Add(time.Second)
	}
	t.Fatalf("%s: jobs still failing", fmt.Sprint(left))
}

// movingCalDAV is fakeCalDAV during each PUT of which, while moves are
// left, the block moves (as a replan does), so that it needs writing again.
type movingCalDAV struct {
	*fakeCalDAV
	h     *harness
	moves int
}

func (m *movingCalDAV) PutEvent(ctx context.Context, acct followup.CalDAVAccount, cal string, ev followup.Event, ifMatch string) (string, error) {
	etag, err := m.fakeCalDAV.PutEvent(ctx, acct, cal, ev, ifMatch)
	if err == nil && m.moves > 0 {
		m.moves--
		s, serr := m.h.db.StepByUID(ctx, ev.UID)
		if serr != nil {
			m.h.t.Fatal(serr)
		}
		s.Start, s.End = s.Start.Add(time.Hour), s.End.Add(time.Hour)
		s.Sequence++
		if serr := m.h.db.UpdateStep(ctx, &s); serr != nil {
			m.h.t.Fatal(serr)
		}
	}
	return etag, err
}

// TestBlockChangingDuringEachWrite: a block that changes during each of
// its writes is not left with its last change unwritten: the job asks the
// queue to try again, and its retry writes the block as it is.
func TestBlockChangingDuringEachWrite(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	server := &movingCalDAV{fakeCalDAV: newFakeCalDAV(), h: h}
	h.svc.Calendars = server
	u, uids := connected(t, h, "ada@example.com")
	server.moves = 3
	err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: uids[0]})
	if followup.ErrorCode(err) != followup.EUNAVAILABLE {
		t.Fatalf("job for a block moved during each of its writes: %v, want unavailable (retried)", err)
	}
	drainStepJobs(t, h, u.ID, uids[:1])
	s, err := h.db.StepByUID(h.ctx, uids[0])
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := server.object(uids[0])
	if !ok || ev.Sequence != s.Sequence || !ev.Start.Equal(s.Start) || s.RemoteSequence != s.Sequence {
		t.Errorf("server holds %v (SEQUENCE %d, on it %v), want the block's last version: SEQUENCE %d at %v, recorded", ev.Start, ev.Sequence, ok, s.Sequence, s.Start)
	}
}

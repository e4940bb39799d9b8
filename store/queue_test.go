package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/store"
)

// outcomes records what a followup.JobObserver is told, by "kind outcome".
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomes) ObserveJob(kind string) func(string) {
	return func(outcome string) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.n[kind+" "+outcome]++
	}
}

func (o *outcomes) get(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[key]
}

// retryLater is an error that asks for a retry after a delay, as a CalDAV
// server's 503 with Retry-After does.
type retryLater struct{}

func (retryLater) Error() string             { return "busy" }
func (retryLater) RetryAfter() time.Duration { return time.Hour }

// stepHandler answers each job by its UID: "ok", "fail" or "later".
type stepHandler struct{}

func (stepHandler) HandleJob(_ context.Context, j followup.Job) error {
	switch j.UID {
	case "fail":
		return errors.New("the server said no")
	case "later":
		return retryLater{}
	}
	return nil
}

func (stepHandler) Tick(context.Context) error { return nil }

// TestJobOutcomes runs three jobs through the real queue: the observer is
// told ok, failed and snoozed, and the queue's counts show each job's
// state (completed, discarded after its one attempt, scheduled for later).
func TestJobOutcomes(t *testing.T) {
	obs := &outcomes{n: map[string]int{}}
	db, ctx := openOneAttempt(t, obs)
	for _, uid := range []string{"ok", "fail", "later"} {
		if err := db.Enqueue(ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: 1, UID: uid}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.StartQueue(ctx, stepHandler{}); err != nil {
		t.Fatal(err)
	}
	defer db.StopQueue(context.Background())

	want := map[string]int{"available": 0, "completed": 1, "discarded": 1, "scheduled": 1}
	var got map[string]int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		counts, err := db.JobCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = map[string]int{"available": 0}
		for _, c := range counts {
			if c.Kind == followup.JobCalDAVStep {
				got[c.State] = c.Jobs
			}
		}
		if cmp.Equal(want, got) {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("caldav_step jobs by state (-want +got):\n%s", diff)
	}
	for _, key := range []string{"caldav_step ok", "caldav_step failed", "caldav_step snoozed"} {
		if n := obs.get(key); n != 1 {
			t.Errorf("%s: told %d times, want 1", key, n)
		}
	}
}

// blockingHandler holds every calendar job until release is closed, as a
// server that does not answer does, and counts ticks.
type blockingHandler struct {
	started chan struct{}
	release chan struct{}
	ticks   atomic.Int64
}

func (h *blockingHandler) HandleJob(ctx context.Context, j followup.Job) error {
	h.started <- struct{}{}
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return nil
}

func (h *blockingHandler) Tick(context.Context) error {
	h.ticks.Add(1)
	return nil
}

// TestTickBesideStuckCalendarJobs: while every calendar worker waits on a
// server, let-go and close still run on time.
func TestTickBesideStuckCalendarJobs(t *testing.T) {
	ctx := context.Background()
	const workers = 2
	db, err := store.Open(testDSN(t), store.Options{Queue: store.QueueOptions{
		Workers: workers, TickInterval: 200 * time.Millisecond, SyncInterval: -1, PollInterval: 50 * time.Millisecond,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, db, "a@example.com")
	for i := range 3 * workers {
		if err := db.Enqueue(ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: string(rune('a'+i)) + "@followup"}); err != nil {
			t.Fatal(err)
		}
	}
	h := &blockingHandler{started: make(chan struct{}, 3*workers), release: make(chan struct{})}
	if err := db.StartQueue(ctx, h); err != nil {
		t.Fatal(err)
	}
	defer func() {
		close(h.release)
		stop, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		db.StopQueue(stop)
	}()
	for range workers {
		select {
		case <-h.started:
		case <-time.After(10 * time.Second):
			t.Fatal("calendar jobs did not start")
		}
	}
	// Every calendar worker is stuck now: ticks go on (one every 200 ms is
	// due; a loaded machine runs fewer, never none).
	tickAfter := func(n int64, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for h.ticks.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d ticks, want %d within %v while the calendar workers were busy", h.ticks.Load(), n, within)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	tickAfter(h.ticks.Load()+1, 15*time.Second)
	tickAfter(h.ticks.Load()+2, 10*time.Second)
}

func TestBackoff(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a := mustUser(t, db, "a@example.com")
	b := mustUser(t, db, "b@example.com")
	at := func(userID int64, host string) time.Time {
		t.Helper()
		nb, err := db.Backoff(ctx, userID, host)
		if err != nil {
			t.Fatal(err)
		}
		return nb
	}
	if nb := at(a.ID, "dav.example.com"); !nb.IsZero() {
		t.Fatalf("backoff %v before any", nb)
	}
	put := func(userID int64, host string, nb time.Time) {
		t.Helper()
		if err := db.PutBackoff(ctx, userID, host, nb); err != nil {
			t.Fatal(err)
		}
	}
	put(a.ID, "dav.example.com", t0.Add(2*time.Second))
	put(a.ID, "dav.example.com", t0.Add(time.Second)) // an earlier one does not shorten it
	if nb := at(a.ID, "dav.example.com"); !nb.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("backoff %v, want %v", nb, t0.Add(2*time.Second))
	}
	put(a.ID, "dav.example.com", t0.Add(time.Minute))
	if nb := at(a.ID, "dav.example.com"); !nb.Equal(t0.Add(time.Minute)) {
		t.Errorf("backoff %v, want %v", nb, t0.Add(time.Minute))
	}
	// Per account and per host.
	if nb := at(b.ID, "dav.example.com"); !nb.IsZero() {
		t.Errorf("another user's backoff applies: %v", nb)
	}
	if nb := at(a.ID, "ics.example.com"); !nb.IsZero() {
		t.Errorf("another host's backoff applies: %v", nb)
	}
}

// snoozingHandler asks the queue to put every job off twice, recording
// the Snoozes the job came with each time.
type snoozingHandler struct {
	seen chan int
}

func (h *snoozingHandler) HandleJob(ctx context.Context, j followup.Job) error {
	h.seen <- j.Snoozes
	if j.Snoozes < 2 {
		return followup.RetryLater(10*time.Millisecond, followup.Errorf(followup.EUNAVAILABLE, "", "Busy."))
	}
	return nil
}

func (h *snoozingHandler) Tick(context.Context) error { return nil }

// TestSnoozeCount: a job put off comes back, without counting as an
// attempt, and tells the handler how often it was put off.
func TestSnoozeCount(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(testDSN(t), store.Options{Queue: store.QueueOptions{
		SyncInterval: -1, PollInterval: 20 * time.Millisecond, MaxAttempts: 1,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, db, "a@example.com")
	if err := db.Enqueue(ctx, followup.Job{Kind: followup.JobSyncUser, UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	h := &snoozingHandler{seen: make(chan int, 10)}
	if err := db.StartQueue(ctx, h); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stop, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		db.StopQueue(stop)
	}()
	for want := range 3 {
		select {
		case got := <-h.seen:
			if got != want {
				t.Fatalf("run %d saw Snoozes %d, want %d", want+1, got, want)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("run %d did not come", want+1)
		}
	}
}

// recordingHandler tells which calendar jobs it runs.
type recordingHandler struct {
	ran chan string
}

func (h *recordingHandler) HandleJob(_ context.Context, j followup.Job) error {
	h.ran <- j.UID
	return nil
}

func (h *recordingHandler) Tick(context.Context) error { return nil }

// TestDeadWorkersJobRunsAgain: a job that an instance took and then died
// with (killed: the job stays "running" in the table, attempted two
// minutes ago) is run by another instance within seconds, with the
// default options, not after River's default hour.
func TestDeadWorkersJobRunsAgain(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(testDSN(t), store.Options{Queue: store.QueueOptions{SyncInterval: -1, PollInterval: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Enqueue(ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: 1, UID: "taken-by-the-dead"}); err != nil {
		t.Fatal(err)
	}
	// As the dead instance left it: River's own columns, in each dialect's form.
	takenBefore := `UPDATE river_job SET state = 'running', attempt = 1, attempted_by = json_array('dead-instance'),
		attempted_at = datetime('now', 'subsec', '-120 seconds')`
	if db.Dialect() == "postgres" {
		takenBefore = `UPDATE river_job SET state = 'running', attempt = 1, attempted_by = ARRAY['dead-instance'],
			attempted_at = now() - interval '120 seconds'`
	}
	if _, err := db.SQL().ExecContext(ctx, takenBefore); err != nil {
		t.Fatal(err)
	}
	h := &recordingHandler{ran: make(chan string, 4)}
	if err := db.StartQueue(ctx, h); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stop, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		db.StopQueue(stop)
	}()
	select {
	case uid := <-h.ran:
		if uid != "taken-by-the-dead" {
			t.Fatalf("ran %q", uid)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the dead instance's job did not run again within 30 s")
	}
}

// stuckTicker's first tick never ends (its instance is stuck, or dead but
// not yet known to be); it counts the others.
type stuckTicker struct {
	first   sync.Once
	stuck   chan struct{}
	release chan struct{}
	ticks   atomic.Int64
}

func (h *stuckTicker) HandleJob(context.Context, followup.Job) error { return nil }

func (h *stuckTicker) Tick(context.Context) error {
	blocked := false
	h.first.Do(func() { blocked = true })
	if blocked {
		close(h.stuck)
		<-h.release
		return nil
	}
	h.ticks.Add(1)
	return nil
}

// TestTickBesideStuckTick: while one instance's tick hangs (as a killed
// instance's stays "running" until it is rescued), the other instance
// keeps ticking: let-gos and closes do not wait for the rescue.
func TestTickBesideStuckTick(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t)
	h := &stuckTicker{stuck: make(chan struct{}), release: make(chan struct{})}
	opts := store.Options{Queue: store.QueueOptions{TickInterval: 200 * time.Millisecond, SyncInterval: -1, PollInterval: 50 * time.Millisecond, JobTimeout: time.Hour}}
	var dbs []*store.DB
	for range 2 {
		db, err := store.Open(dsn, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
	}
	if err := dbs[0].StartQueue(ctx, h); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.stuck:
	case <-time.After(20 * time.Second):
		t.Fatal("no tick ran")
	}
	other := &blockingHandler{started: make(chan struct{}, 1), release: make(chan struct{})}
	if err := dbs[1].StartQueue(ctx, other); err != nil {
		t.Fatal(err)
	}
	defer func() {
		close(h.release)
		for _, db := range dbs {
			stop, cancel := context.WithTimeout(ctx, 10*time.Second)
			db.StopQueue(stop)
			cancel()
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for other.ticks.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the other instance ticked %d times in 20 s beside the stuck tick, want 2", other.ticks.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failingReplans fails every re-plan job and counts them.
type failingReplans struct{ runs atomic.Int64 }

func (h *failingReplans) HandleJob(_ context.Context, j followup.Job) error {
	if j.Kind == followup.JobReplanUser {
		h.runs.Add(1)
		return errors.New("the re-plan failed")
	}
	return nil
}

func (*failingReplans) Tick(context.Context) error { return nil }

// TestDiscardedReplanDropsItsWish: a re-plan job that fails its last
// attempt is discarded and takes the user's wish with it, so that the next
// write wanting a re-plan records a new wish (and so queues a job) instead
// of finding one that no job will ever take.
func TestDiscardedReplanDropsItsWish(t *testing.T) {
	db, ctx := openOneAttempt(t, nil)
	u := mustUser(t, db, "wish@example.com")
	if isNew, err := db.WantReplan(ctx, u.ID); err != nil || !isNew {
		t.Fatalf("WantReplan = %v, %v", isNew, err)
	}
	if err := db.Enqueue(ctx, followup.Job{Kind: followup.JobReplanUser, UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	h := &failingReplans{}
	if err := db.StartQueue(ctx, h); err != nil {
		t.Fatal(err)
	}
	defer db.StopQueue(context.Background())
	discarded := 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && discarded == 0; time.Sleep(50 * time.Millisecond) {
		counts, err := db.JobCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range counts {
			if c.Kind == followup.JobReplanUser && c.State == "discarded" {
				discarded = c.Jobs
			}
		}
	}
	if discarded != 1 || h.runs.Load() != 1 {
		t.Fatalf("%d re-plan jobs discarded after %d runs, want 1 after 1", discarded, h.runs.Load())
	}
	if isNew, err := db.WantReplan(ctx, u.ID); err != nil || !isNew {
		t.Errorf("WantReplan after the job was discarded = %v, %v; want a new wish", isNew, err)
	}
}

// openOneAttempt opens a migrated database whose queue polls every 20 ms
// and discards a job after one failed attempt, telling obs (if any) each
// outcome; both close when the test ends.
func openOneAttempt(t *testing.T, obs followup.JobObserver) (*store.DB, context.Context) {
	t.Helper()
	db, err := store.Open(testDSN(t), store.Options{
		Now:   func() time.Time { return t0 },
		Queue: store.QueueOptions{PollInterval: 20 * time.Millisecond, MaxAttempts: 1, SyncInterval: -1, TickInterval: time.Hour, Jobs: obs},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db, ctx
}

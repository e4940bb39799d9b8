package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
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
	db, err := store.Open("sqlite:"+filepath.Join(t.TempDir(), "followup.db"), store.Options{
		Now:   func() time.Time { return t0 },
		Queue: store.QueueOptions{PollInterval: 20 * time.Millisecond, MaxAttempts: 1, SyncInterval: -1, TickInterval: time.Hour, Jobs: obs},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
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

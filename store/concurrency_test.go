package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/store"
)

// TestConcurrentTransactions runs many transactions at once, for the same
// and for different users: each inserts a commitment and counts it in the
// user's settings, read and written back as the service does (read, change
// in Go, write). No write is lost, no id is given twice, and every
// commitment is stored. On PostgreSQL the transactions run concurrently,
// and SERIALIZABLE with retries keeps the count exact (READ COMMITTED would
// lose increments).
func TestConcurrentTransactions(t *testing.T) { concurrentTransactions(t, false) }

// TestConcurrentUserTransactions: the same, each transaction marked as one
// user's (followup.ForUser). On PostgreSQL these run READ COMMITTED after
// taking the user's lock, which alone keeps the count exact.
func TestConcurrentUserTransactions(t *testing.T) { concurrentTransactions(t, true) }

func concurrentTransactions(t *testing.T, perUser bool) {
	ctx := context.Background()
	db := MustOpenDB(t)
	users := []followup.User{mustUser(t, db, "a@example.com"), mustUser(t, db, "b@example.com"), mustUser(t, db, "c@example.com")}
	const goroutines, each = 24, 8
	errs := make(chan error, goroutines*each)
	var wg sync.WaitGroup
	for g := range goroutines {
		u := users[g%len(users)]
		if g%2 == 0 {
			u = users[0] // half of them on one user
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			txCtx := ctx
			if perUser {
				txCtx = followup.ForUser(ctx, u.ID)
			}
			for i := range each {
				errs <- db.InTx(txCtx, func(q followup.Queries) error {
					st, err := q.Settings(ctx, u.ID)
					if err != nil {
						return err
					}
					c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: fmt.Sprintf("g%d-%d", g, i)}, MetAt: t0,
						Promise: "p", Direction: followup.Mine, Due: t0, Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
					if err := q.InsertCommitment(ctx, &c); err != nil {
						return err
					}
					st.LetGoAfterDays++ // a counter of this user's creates
					if err := q.PutSettings(ctx, u.ID, st); err != nil {
						return err
					}
					return nil
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
	}
	total := 0
	seen := map[int64]bool{}
	for _, u := range users {
		list, err := db.Commitments(ctx, u.ID, followup.CommitmentFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		st, err := db.Settings(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if created := st.LetGoAfterDays - followup.DefaultSettings("UTC").LetGoAfterDays; created != len(list) {
			t.Errorf("user %s: %d commitments stored, the counter says %d: a write was lost", u.Email, len(list), created)
		}
		for _, c := range list {
			if seen[c.ID] {
				t.Errorf("id %d given twice", c.ID)
			}
			seen[c.ID] = true
		}
		total += len(list)
	}
	if total != goroutines*each {
		t.Errorf("%d commitments stored, want %d", total, goroutines*each)
	}
}

// TestUserLockConcurrent: many owners take one user's lease at the same
// moment; exactly one gets it.
func TestUserLockConcurrent(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	const owners = 20
	var won atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := db.LockUser(ctx, u.ID, fmt.Sprint("owner-", i), t0.Add(time.Minute), t0)
			if err != nil {
				t.Errorf("LockUser: %v", err)
			}
			if ok {
				won.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Errorf("%d owners hold the lease, want 1", n)
	}
}

// jobRuns counts the jobs handled, by UID and by store.
type jobRuns struct {
	mu   sync.Mutex
	runs map[string]int
	by   map[string]int
	done chan struct{} // gets a value per job run
}

// countingHandler is one store's handler, counting in the shared jobRuns.
type countingHandler struct {
	*jobRuns
	name string
}

func (h countingHandler) HandleJob(_ context.Context, j followup.Job) error {
	time.Sleep(5 * time.Millisecond) // a little work, so that both stores get some
	h.mu.Lock()
	h.runs[j.UID]++
	h.by[h.name]++
	h.mu.Unlock()
	h.done <- struct{}{}
	return nil
}

func (countingHandler) Tick(context.Context) error { return nil }

// TestTwoStoresShareQueue opens two stores on one PostgreSQL database, as
// two instances do, each working the queue: 200 jobs, inserted through
// both in their transactions, are each handled exactly once, by either,
// and one of them leads.
func TestTwoStoresShareQueue(t *testing.T) {
	if dialect != "postgres" {
		t.Skip("PostgreSQL only: a SQLite database has one process")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := testDSN(t)
	opts := store.Options{Now: func() time.Time { return t0 }, Queue: store.QueueOptions{
		SyncInterval: -1, TickInterval: time.Hour, PollInterval: 50 * time.Millisecond, Workers: 4,
	}}
	const jobs = 200
	counts := &jobRuns{runs: map[string]int{}, by: map[string]int{}, done: make(chan struct{}, jobs*2)}
	var stores []*store.DB
	for _, name := range []string{"first", "second"} {
		db, err := store.Open(dsn, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.StartQueue(ctx, countingHandler{jobRuns: counts, name: name}); err != nil {
			t.Fatal(err)
		}
		defer db.StopQueue(context.Background())
		stores = append(stores, db)
	}
	for i := range jobs {
		db := stores[i%2]
		err := db.InTx(ctx, func(q followup.Queries) error {
			return q.Enqueue(ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: 1, UID: fmt.Sprint("job-", i)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(60 * time.Second)
	for n := 0; n < jobs; n++ {
		select {
		case <-counts.done:
		case <-deadline:
			t.Fatalf("%d of %d jobs ran within a minute", n, jobs)
		}
	}
	// Let a job run twice, if one would, before counting.
	time.Sleep(500 * time.Millisecond)
	counts.mu.Lock()
	defer counts.mu.Unlock()
	for i := range jobs {
		if n := counts.runs[fmt.Sprint("job-", i)]; n != 1 {
			t.Errorf("job-%d ran %d times", i, n)
		}
	}
	if counts.by["first"] == 0 || counts.by["second"] == 0 {
		t.Errorf("jobs run by store: %v; want both to work", counts.by)
	}
	var leaders int
	if err := stores[0].SQL().QueryRowContext(ctx, `SELECT count(*) FROM river_leader`).Scan(&leaders); err != nil || leaders != 1 {
		t.Errorf("%d leaders (%v), want 1", leaders, err)
	}
}

// TestMigrateConcurrently: instances that start together on a new
// PostgreSQL database migrate one at a time (an advisory lock), and all
// of them succeed.
func TestMigrateConcurrently(t *testing.T) {
	if dialect != "postgres" {
		t.Skip("PostgreSQL only: a SQLite database has one process")
	}
	dsn := emptyDSN(t)
	const instances = 3
	errs := make(chan error, instances)
	for range instances {
		go func() {
			db, err := store.Open(dsn, store.Options{})
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- db.Migrate(context.Background())
		}()
	}
	for range instances {
		if err := <-errs; err != nil {
			t.Errorf("Migrate: %v", err)
		}
	}
	db := mustOpenAt(t, dsn)
	mustUser(t, db, "a@example.com")
}

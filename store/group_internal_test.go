package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/followup/followup"
)

// TestGroupSavepointsOnlyAfterAFailure queues transactions behind one that
// holds the commit loop, so that they run as one group: when all succeed,
// each runs once and the group needs no savepoints; when one fails, the
// group runs again with a savepoint each, the failing one is rolled back
// alone, and the others' writes are stored once.
func TestGroupSavepointsOnlyAfterAFailure(t *testing.T) {
	db, u := migratedWithUser(t, "group@example.com")
	ctx := context.Background()
	t0 := time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)
	failing := errors.New("this one fails")

	group := func(name string, n, fail int) (runs []int, errs []error) {
		t.Helper()
		release := holdTx(ctx, db)
		counts := make([]atomic.Int32, n)
		errs = make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = db.InTx(ctx, func(q followup.Queries) error {
					counts[i].Add(1)
					c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: fmt.Sprintf("%s %d", name, i)}, MetAt: t0,
						Promise: "p", Direction: followup.Mine, Due: t0, Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
					if err := q.InsertCommitment(ctx, &c); err != nil {
						return err
					}
					if i == fail {
						return failing
					}
					return nil
				})
			})
		}
		for queued := 0; queued < n; time.Sleep(time.Millisecond) {
			db.txMu.Lock()
			queued = len(db.txQueue)
			db.txMu.Unlock()
		}
		if err := release(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		for i := range counts {
			runs = append(runs, int(counts[i].Load()))
		}
		return runs, errs
	}
	stored := func(prefix string, n int) int {
		var got int
		err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM commitments WHERE user_id = ? AND contact_name LIKE ?`, u.ID, prefix+" %").Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	runs, errs := group("ok", 10, -1)
	for i := range runs {
		if runs[i] != 1 || errs[i] != nil {
			t.Errorf("all succeed: transaction %d ran %d times, error %v; want once, none", i, runs[i], errs[i])
		}
	}
	if got := db.savepointGroups.Load(); got != 0 {
		t.Errorf("%d groups ran with savepoints, want 0", got)
	}
	if got := stored("ok", 10); got != 10 {
		t.Errorf("%d commitments stored, want 10", got)
	}

	runs, errs = group("one fails", 10, 4)
	for i := range runs {
		switch {
		case i == 4 && (!errors.Is(errs[i], failing) || runs[i] != 2):
			t.Errorf("the failing transaction: ran %d times, error %v; want twice, its own", runs[i], errs[i])
		case i != 4 && errs[i] != nil:
			t.Errorf("transaction %d beside the failing one: %v", i, errs[i])
		}
	}
	if got := db.savepointGroups.Load(); got != 1 {
		t.Errorf("%d groups ran with savepoints, want 1", got)
	}
	if got := stored("one fails", 10); got != 9 {
		t.Errorf("%d commitments stored, want the 9 that did not fail, once each", got)
	}
}

// holdTx starts a transaction of db that holds until release is called
// (on SQLite the commit loop, on PostgreSQL the user's lock when ctx names
// one), and returns once it runs; release returns the transaction's error.
func holdTx(ctx context.Context, db *DB) (release func() error) {
	held, done, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		errc <- db.InTx(ctx, func(followup.Queries) error {
			close(held)
			<-done
			return nil
		})
	}()
	<-held
	return func() error {
		close(done)
		return <-errc
	}
}

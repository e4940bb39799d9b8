package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/followup/followup"
)

// TestGroupCommit runs many transactions at once: they commit in groups, a
// failing or panicking one is rolled back alone, and the others keep their
// writes.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	const n = 90
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.InTx(ctx, func(q followup.Queries) error {
				c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: fmt.Sprint(i)}, MetAt: t0, Promise: "p",
					Direction: followup.Mine, Due: t0, Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
				if err := q.InsertCommitment(ctx, &c); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return errors.New("refused")
				case 2:
					if i%9 == 2 {
						panic("boom")
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	list, err := db.Commitments(ctx, u.ID, followup.CommitmentFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, c := range list {
		stored[c.Contact.Name] = true
	}
	for i := range n {
		wantErr := i%3 == 1 || (i%3 == 2 && i%9 == 2)
		if (errs[i] != nil) != wantErr {
			t.Errorf("transaction %d: error %v, want error %v", i, errs[i], wantErr)
		}
		if stored[fmt.Sprint(i)] == wantErr {
			t.Errorf("transaction %d: stored %v, want %v", i, stored[fmt.Sprint(i)], !wantErr)
		}
	}
}

// TestInTxCanceled: a transaction whose caller has gone does not run.
func TestInTxCanceled(t *testing.T) {
	db := MustOpenDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := db.InTx(ctx, func(followup.Queries) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("canceled InTx: err %v, ran %v", err, ran)
	}
}

// TestGroupCommitCanceledCaller: a caller whose context is cancelled while
// its transaction runs does not take the others in its group down.
func TestGroupCommitCanceledCaller(t *testing.T) {
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errs[i] = db.InTx(ctx, func(q followup.Queries) error {
				c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: fmt.Sprint(i)}, MetAt: t0, Promise: "p",
					Direction: followup.Mine, Due: t0, Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
				if i%4 == 0 {
					cancel() // the client goes away mid-transaction
				}
				return q.InsertCommitment(ctx, &c)
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
		}
	}
	list, _ := db.Commitments(context.Background(), u.ID, followup.CommitmentFilter{Limit: 500})
	if len(list) != n {
		t.Errorf("%d commitments stored, want %d", len(list), n)
	}
}

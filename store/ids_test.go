package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/followup/followup"
)

// TestIDsNeverReused deletes the newest commitment and its steps, and the
// next ones get new ids, not the deleted ones.
func TestIDsNeverReused(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	mustCommitment(t, db, u.ID, "Jane")
	newest := mustCommitment(t, db, u.ID, "Joe")
	step := mustStep(t, db, newest, followup.KindDeliver, "d@followup", t0.Add(time.Hour))
	if err := db.DeleteCommitment(ctx, u.ID, newest.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.StepByUID(ctx, "d@followup"); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Fatalf("the unwritten step outlived its commitment: %v", err)
	}
	next := mustCommitment(t, db, u.ID, "Ann")
	if next.ID <= newest.ID {
		t.Errorf("the next commitment got id %d, after the deleted %d", next.ID, newest.ID)
	}
	if nextStep := mustStep(t, db, next, followup.KindDeliver, "e@followup", t0.Add(time.Hour)); nextStep.ID <= step.ID {
		t.Errorf("the next step got id %d, after the deleted %d", nextStep.ID, step.ID)
	}
	if _, err := db.Commitment(ctx, u.ID, newest.ID); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("the deleted id answers %v, want ENOTFOUND", err)
	}
}

package store_test

import (
	"context"
	"fmt"
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

// TestInsertedIDs: the ids a create's inserts give back (on SQLite told
// by the last insert id, not read back) are the stored rows' ids, in the
// order of the steps, also after the newest rows were deleted (a gap the
// next ids do not fill) and with another user's rows in between, inside a
// create's transaction and outside one.
func TestInsertedIDs(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b := mustUser(t, db, "a@example.com"), mustUser(t, db, "b@example.com")
	gone := mustCommitment(t, db, a.ID, "Gone")
	mustStep(t, db, gone, followup.KindDeliver, "gone@followup", t0.Add(time.Hour))
	mustStep(t, db, mustCommitment(t, db, b.ID, "Other"), followup.KindDeliver, "other@followup", t0.Add(time.Hour))
	if err := db.DeleteCommitment(ctx, a.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	steps := func(prefix string) []followup.Step {
		var out []followup.Step
		for i, kind := range []followup.StepKind{followup.KindRefresher, followup.KindDeliver, followup.KindNudge, followup.KindLetGo} {
			start := t0.Add(time.Duration(i+1) * time.Hour)
			out = append(out, followup.Step{UserID: a.ID, Kind: kind, Status: followup.StepPlanned, Start: start,
				End: start.Add(15 * time.Minute), NotBefore: t0, Due: t0.Add(24 * time.Hour),
				UID: fmt.Sprintf("%s-%d@followup", prefix, i), RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0})
		}
		return out
	}
	check := func(what string, c followup.Commitment, steps []followup.Step) {
		t.Helper()
		if got, err := db.Commitment(ctx, a.ID, c.ID); err != nil || got.Contact.Name != c.Contact.Name {
			t.Errorf("%s: commitment id %d reads back %q (%v), want %q", what, c.ID, got.Contact.Name, err, c.Contact.Name)
		}
		for _, s := range steps {
			got, err := db.StepByUID(ctx, s.UID)
			if err != nil || got.ID != s.ID || got.CommitmentID != c.ID {
				t.Errorf("%s: step %s given id %d of commitment %d, stored as %d of %d (%v)", what, s.UID, s.ID, c.ID, got.ID, got.CommitmentID, err)
			}
		}
	}
	plain := followup.Commitment{UserID: a.ID, Contact: followup.Contact{Name: "Plain"}, MetAt: t0, Promise: "p",
		Direction: followup.Mine, Due: t0.Add(48 * time.Hour), Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
	plainSteps := steps("plain")
	if err := db.InsertCommitmentWithSteps(ctx, &plain, plainSteps); err != nil {
		t.Fatal(err)
	}
	check("on its own", plain, plainSteps)

	mark, err := db.PlanMark(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	created := plain
	created.Contact.Name = "Created"
	createdSteps := steps("created")
	err = db.InTx(followup.ForUser(ctx, a.ID), func(q followup.Queries) error {
		if ok, err := q.ClaimAndInsert(ctx, mark, &created, createdSteps, nil); err != nil || !ok {
			t.Fatalf("ClaimAndInsert = %v, %v", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("in a create's transaction", created, createdSteps)
}

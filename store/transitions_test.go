package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// TestTransitionsRecordedOnce: transitions are stored and read back in
// order; a second transition of a kind, or a second change of status, of
// one commitment is refused (ECONFLICT) and rolls its transaction back;
// another commitment is not affected; deleting the commitment deletes its
// history.
func TestTransitionsRecordedOnce(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	u := mustUser(t, db, "ada@example.com")
	c := mustCommitment(t, db, u.ID, "Jane")
	other := mustCommitment(t, db, u.ID, "Joe")
	refresher := mustStep(t, db, c, followup.KindRefresher, "r1", t0.Add(time.Hour))
	at := t0.Add(2 * time.Hour)

	first := []followup.Transition{
		{UserID: u.ID, CommitmentID: c.ID, StepID: refresher.ID, Kind: followup.TransitionDelivered, From: followup.StatusOpen, To: followup.StatusOpen, At: at},
		{UserID: u.ID, CommitmentID: c.ID, Kind: followup.TransitionContacted, From: followup.StatusOpen, To: followup.StatusOpen, At: at},
	}
	if err := db.InTx(ctx, func(q followup.Queries) error { return q.RecordTransitions(ctx, first) }); err != nil {
		t.Fatal(err)
	}
	if first[0].ID == 0 || first[1].ID <= first[0].ID {
		t.Fatalf("ids %d, %d: want set and rising", first[0].ID, first[1].ID)
	}
	got, err := db.Transitions(ctx, u.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Fatalf("read back (-want +got):\n%s", diff)
	}

	letGo := func(id int64, kind followup.TransitionKind) followup.Transition {
		return followup.Transition{UserID: u.ID, CommitmentID: id, Kind: kind, From: followup.StatusOpen, To: followup.StatusLetGo, At: at}
	}
	ending := letGo(c.ID, followup.TransitionLetGo)
	if err := db.RecordTransitions(ctx, []followup.Transition{ending}); err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		t    followup.Transition
	}{
		{"the same kind again", followup.Transition{UserID: u.ID, CommitmentID: c.ID, Kind: followup.TransitionContacted, From: followup.StatusOpen, To: followup.StatusOpen, At: at}},
		{"a second let-go", letGo(c.ID, followup.TransitionLetGo)},
		{"a second change of status", letGo(c.ID, followup.TransitionClose)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			err := db.InTx(ctx, func(q followup.Queries) error {
				// Written with it in the transaction: rolled back with it.
				if err := q.RecordTransitions(ctx, []followup.Transition{letGo(other.ID, followup.TransitionLetGo)}); err != nil {
					return err
				}
				return q.RecordTransitions(ctx, []followup.Transition{tc.t})
			})
			if followup.ErrorCode(err) != followup.ECONFLICT {
				t.Fatalf("second record: %v, want ECONFLICT", err)
			}
			if got, _ := db.Transitions(ctx, u.ID, other.ID); len(got) != 0 {
				t.Fatalf("the other commitment's transition stayed: %+v", got)
			}
		})
	}
	if got, _ := db.Transitions(ctx, u.ID, c.ID); len(got) != 3 {
		t.Fatalf("%d transitions recorded, want 3", len(got))
	}
	if got, _ := db.Transitions(ctx, u.ID+1, c.ID); len(got) != 0 {
		t.Fatalf("another user reads %d transitions", len(got))
	}
	if err := db.DeleteCommitment(ctx, u.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Transitions(ctx, u.ID, c.ID); len(got) != 0 {
		t.Fatalf("%d transitions outlive the commitment", len(got))
	}
}

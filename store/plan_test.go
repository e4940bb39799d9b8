package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// TestPlanVersion checks the compare and swap a create commits with, and
// that every write that changes what planning reads raises the version:
// the feed touch that follows a change of blocks, a step's update, the
// settings and the busy sources. Another user's version stays.
func TestPlanVersion(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b := mustUser(t, db, "a@example.com"), mustUser(t, db, "b@example.com")
	c := mustCommitment(t, db, a.ID, "Jane")
	step := mustStep(t, db, c, followup.KindRefresher, "uid-1", t0.Add(time.Hour))
	version := func(userID int64) int64 {
		t.Helper()
		v, err := db.PlanVersion(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	writes := []struct {
		name  string
		write func() error
	}{
		{"TouchFeed", func() error { return db.TouchFeed(ctx, a.ID, t0) }},
		{"UpdateStep", func() error { step.Start = step.Start.Add(time.Hour); return db.UpdateStep(ctx, &step) }},
		{"PutSettings", func() error { return db.PutSettings(ctx, a.ID, followup.DefaultSettings("America/New_York")) }},
		{"PutBusySource", func() error {
			return db.PutBusySource(ctx, followup.BusySource{UserID: a.ID, URL: "https://cal.example/busy", Kind: "ics", UpdatedAt: t0})
		}},
		{"DeleteBusySources", func() error { return db.DeleteBusySources(ctx, a.ID, nil) }},
	}
	for _, w := range writes {
		before, other := version(a.ID), version(b.ID)
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if got := version(a.ID); got <= before {
			t.Errorf("%s: plan version %d, want above %d", w.name, got, before)
		}
		if got := version(b.ID); got != other {
			t.Errorf("%s: the other user's plan version moved from %d to %d", w.name, other, got)
		}
	}
	seen := version(a.ID)
	if ok, err := db.ClaimPlan(ctx, a.ID, seen); err != nil || !ok {
		t.Fatalf("ClaimPlan(%d) = %v, %v; want it claimed", seen, ok, err)
	}
	if ok, err := db.ClaimPlan(ctx, a.ID, seen); err != nil || ok {
		t.Errorf("ClaimPlan(%d) again = %v, %v; want it refused: the version moved", seen, ok, err)
	}
	if _, err := db.PlanVersion(ctx, 999); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("PlanVersion of no user: %v, want ENOTFOUND", err)
	}
}

// TestPlanningWindow reads the pending steps that start in a window with
// their commitments' planning facts, and leaves out closes, let-gos,
// finished and unplaced steps and other users' steps.
func TestPlanningWindow(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b := mustUser(t, db, "a@example.com"), mustUser(t, db, "b@example.com")
	c := mustCommitment(t, db, a.ID, "Jane")
	other := mustCommitment(t, db, b.ID, "Joe")
	in := mustStep(t, db, c, followup.KindRefresher, "in", t0.Add(2*time.Hour))
	mustStep(t, db, c, followup.KindDeliver, "before", t0.Add(-time.Hour))
	mustStep(t, db, c, followup.KindDeliver, "after", t0.Add(10*time.Hour))
	mustStep(t, db, c, followup.KindClose, "close", t0.Add(3*time.Hour))
	mustStep(t, db, other, followup.KindRefresher, "foreign", t0.Add(2*time.Hour))
	unplaced := mustStep(t, db, c, followup.KindConfirm, "unplaced", t0.Add(4*time.Hour))
	unplaced.Unplaced, unplaced.Late = true, true
	if err := db.MoveStep(ctx, &unplaced); err != nil {
		t.Fatal(err)
	}
	done := mustStep(t, db, c, followup.KindChase, "done", t0.Add(5*time.Hour))
	done.Status = followup.StepDone
	if err := db.UpdateStep(ctx, &done); err != nil {
		t.Fatal(err)
	}
	steps, facts, err := db.PlanningWindow(ctx, a.ID, t0, t0.Add(8*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, s := range steps {
		uids = append(uids, s.UID)
	}
	if diff := cmp.Diff([]string{"in"}, uids); diff != "" {
		t.Fatalf("steps (-want +got):\n%s", diff)
	}
	if !steps[0].Start.Equal(in.Start) || steps[0].CommitmentID != c.ID || steps[0].Kind != followup.KindRefresher {
		t.Errorf("step = %+v", steps[0])
	}
	want := followup.Commitment{ID: c.ID, UserID: a.ID, Priority: true, MetAt: c.MetAt, Meeting: &followup.Meeting{Start: c.Meeting.Start, Minutes: 30}}
	if diff := cmp.Diff(map[int64]followup.Commitment{c.ID: want}, facts); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}
	// The full read still sees the unplaced step, which a re-plan places.
	all, err := db.PlanningSteps(ctx, a.ID, t0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range all {
		found = found || (s.UID == "unplaced" && s.Unplaced && s.Late)
	}
	if !found {
		t.Errorf("PlanningSteps lost the unplaced step: %+v", all)
	}
}

// TestReplanWanted is the wish a create leaves for the background re-plan:
// taken once.
func TestReplanWanted(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a := mustUser(t, db, "a@example.com")
	if ok, err := db.TakeReplan(ctx, a.ID); err != nil || ok {
		t.Fatalf("TakeReplan before any wish = %v, %v", ok, err)
	}
	for i := range 2 {
		if isNew, err := db.WantReplan(ctx, a.ID); err != nil || isNew != (i == 0) {
			t.Fatalf("WantReplan #%d = %v, %v; want new only the first time", i, isNew, err)
		}
	}
	if ok, err := db.TakeReplan(ctx, a.ID); err != nil || !ok {
		t.Errorf("TakeReplan = %v, %v; want the wish", ok, err)
	}
	if _, err := db.WantReplan(ctx, a.ID+1000); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("WantReplan of no user: %v, want ENOTFOUND", err)
	}
	if ok, err := db.TakeReplan(ctx, a.ID); err != nil || ok {
		t.Errorf("TakeReplan again = %v, %v; want none left", ok, err)
	}
	if isNew, err := db.WantReplan(ctx, a.ID); err != nil || !isNew {
		t.Errorf("WantReplan after the wish was taken = %v, %v; want new", isNew, err)
	}
}

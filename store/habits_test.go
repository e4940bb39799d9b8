package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

func TestHabitSeriesRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "ada@example.com")
	other := mustUser(t, db, "bob@example.com")
	start := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	s := followup.HabitSeries{
		UserID: u.ID, Kind: followup.HabitCoffees, UID: "c1@followup", Active: true, Spec: "spec",
		Start: start, End: start.Add(45 * time.Minute), Zone: "Europe/Berlin", RRule: "FREQ=MONTHLY;BYDAY=1WE,3WE",
		Sequence: 2, RemoteSequence: -1,
		Overrides: []followup.HabitOverride{{RecurrenceID: start.AddDate(0, 0, 14), Start: start.AddDate(0, 0, 14).Add(time.Hour),
			End: start.AddDate(0, 0, 14).Add(105 * time.Minute), Pinned: true}},
		CreatedAt: t0, UpdatedAt: t0,
	}
	review := s
	review.Kind, review.UID, review.Overrides = followup.HabitWeeklyReview, "r1@followup", nil
	for _, x := range []*followup.HabitSeries{&s, &review} {
		if err := db.PutHabitSeries(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.HabitSeries(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	review.Overrides = []followup.HabitOverride{}
	if diff := cmp.Diff([]followup.HabitSeries{review, s}, got); diff != "" {
		t.Errorf("series in HabitKinds order (-want +got):\n%s", diff)
	}
	// Replacing keeps one row per kind.
	s.Sequence, s.RemoteETag, s.RemoteSequence, s.RemoteHash, s.Active = 3, `"e1"`, 3, "h", false
	if err := db.PutHabitSeries(ctx, &s); err != nil {
		t.Fatal(err)
	}
	back, err := db.HabitSeriesByUID(ctx, "c1@followup")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, back); diff != "" {
		t.Errorf("replaced (-want +got):\n%s", diff)
	}
	// A UID is one series across users.
	dup := s
	dup.UserID = other.ID
	if err := db.PutHabitSeries(ctx, &dup); followup.ErrorCode(err) != followup.ECONFLICT {
		t.Fatalf("same UID for another user: %v", err)
	}
	if err := db.ResetRemote(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.HabitSeriesByUID(ctx, "c1@followup"); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Fatalf("a switched-off series without a calendar left is forgotten on reset: %v", err)
	}
	if r, err := db.HabitSeriesByUID(ctx, "r1@followup"); err != nil || r.RemoteETag != "" || r.RemoteSequence != -1 {
		t.Fatalf("active series after reset: %v %+v", err, r)
	}
	if err := db.Enqueue(ctx, followup.Job{Kind: followup.JobCalDAVHabit, UserID: u.ID, UID: "r1@followup"}); err != nil {
		t.Fatalf("enqueue a habit job: %v", err)
	}
	if err := db.DeleteHabitSeries(ctx, "r1@followup"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.HabitSeries(ctx, u.ID); len(got) != 0 {
		t.Fatalf("left after delete: %+v", got)
	}
}

func TestHabitCommitments(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "ada@example.com")
	open := mustCommitment(t, db, u.ID, "Open One")
	done := mustCommitment(t, db, u.ID, "Done Old")
	done.Status = followup.StatusDone
	if err := db.UpdateCommitment(ctx, &done); err != nil {
		t.Fatal(err)
	}
	got, err := db.HabitCommitmentIDs(ctx, u.ID, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != open.ID {
		t.Fatalf("open only: %+v", got)
	}
	if got, _ := db.HabitCommitmentIDs(ctx, u.ID, t0); len(got) != 2 {
		t.Fatalf("open and created since: %v", got)
	}
}

package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/store"
)

// TestFeedRevision: every write that changes what the feed shows raises
// the user's feed version once per transaction and stamps the steps it
// changed, which StepsChangedSince then returns; writes the feed does not
// show (a calendar write recorded, a let-go step, a late flag) leave the
// version alone; deleted tombstones raise Purged.
func TestFeedRevision(t *testing.T) {
	ctx := context.Background()
	db, u := feedUser(t, "rev@example.com")
	feed := func() followup.Feed {
		f, err := db.FeedByToken(ctx, []byte("tok"))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	c := mustCommitment(t, db, u.ID, "Ann")
	a := mustStep(t, db, c, followup.KindRefresher, "a@followup", t0)
	b := mustStep(t, db, c, followup.KindDeliver, "b@followup", t0.Add(time.Hour))
	other := mustCommitment(t, db, u.ID, "Bob")
	z := mustStep(t, db, other, followup.KindDeliver, "z@followup", t0.Add(2*time.Hour))

	cases := []struct {
		name    string
		write   func() error
		raise   int64    // how much the version rises
		changed []string // the UIDs StepsChangedSince then returns
		purged  bool
	}{
		{"insert a block", func() error {
			mustStep(t, db, c, followup.KindNudge, "n@followup", t0.Add(3*time.Hour))
			return nil
		}, 1, []string{"n@followup"}, false},
		{"insert a let-go step", func() error {
			mustStep(t, db, c, followup.KindLetGo, "l@followup", t0.Add(240*time.Hour))
			return nil
		}, 0, nil, false},
		{"move a block", func() error {
			a.Start, a.End, a.Sequence = a.Start.Add(time.Hour), a.End.Add(time.Hour), a.Sequence+1
			return db.UpdateStep(ctx, &a)
		}, 1, []string{"a@followup"}, false},
		{"record a calendar write", func() error {
			a.Status, a.RemoteETag, a.RemoteSequence = followup.StepSynced, `"e1"`, a.Sequence
			a.PendingWrites = []followup.PendingWrite{{Sequence: 9, Start: t0, End: t0}}
			return db.UpdateStep(ctx, &a)
		}, 0, nil, false},
		{"complete a block", func() error {
			done := t0.Add(10 * time.Hour)
			a.Status, a.CompletedAt = followup.StepDone, &done
			return db.UpdateStep(ctx, &a)
		}, 1, []string{"a@followup"}, false},
		{"a late flag alone", func() error {
			b.Late = true
			return db.MoveStep(ctx, &b)
		}, 0, nil, false},
		{"two moves in one transaction", func() error {
			return db.InTx(ctx, func(q followup.Queries) error {
				b.Start, b.Sequence = b.Start.Add(time.Minute), b.Sequence+1
				z.Start, z.Sequence = z.Start.Add(time.Minute), z.Sequence+1
				if err := q.MoveStep(ctx, &b); err != nil {
					return err
				}
				return q.MoveStep(ctx, &z)
			})
		}, 1, []string{"b@followup", "z@followup"}, false},
		{"late flags alone, by MoveSteps", func() error {
			b.Late, z.Late = false, true
			return db.MoveSteps(ctx, []followup.Step{b, z})
		}, 0, nil, false},
		{"two moves in one MoveSteps, one a late flag", func() error {
			b.Start, b.Sequence = b.Start.Add(time.Minute), b.Sequence+1
			z.Late = false
			return db.MoveSteps(ctx, []followup.Step{z, b})
		}, 1, []string{"b@followup"}, false},
		{"a transaction that fails", func() error {
			err := db.InTx(ctx, func(q followup.Queries) error {
				moved := b
				moved.Start = moved.Start.Add(time.Hour)
				if err := q.MoveStep(ctx, &moved); err != nil {
					return err
				}
				return errors.New("no")
			})
			if err == nil {
				t.Error("the failing transaction committed")
			}
			return nil
		}, 0, nil, false},
		{"update the commitment (its texts)", func() error {
			c.Promise = "Send the new deck"
			return db.UpdateCommitment(ctx, &c)
		}, 1, []string{"a@followup", "b@followup", "l@followup", "n@followup"}, false},
		{"insert a commitment, no habit on", func() error {
			mustCommitment(t, db, u.ID, "Carl")
			return nil
		}, 0, nil, false},
		{"settings", func() error {
			return db.PutSettings(ctx, u.ID, followup.DefaultSettings("America/New_York"))
		}, 1, nil, false},
		{"a habit series", func() error {
			return db.PutHabitSeries(ctx, habitSeries(u.ID, ""))
		}, 1, nil, false},
		{"its calendar write recorded", func() error {
			return db.PutHabitSeries(ctx, habitSeries(u.ID, `"h1"`))
		}, 0, nil, false},
		{"insert a commitment, a habit on", func() error {
			mustCommitment(t, db, u.ID, "Dora")
			return nil
		}, 1, nil, false},
		{"delete the habit series", func() error {
			return db.DeleteHabitSeries(ctx, "habit@followup")
		}, 1, nil, false},
		{"delete a commitment (tombstones deleted)", func() error {
			return db.DeleteCommitment(ctx, u.ID, other.ID)
		}, 1, nil, true},
		{"a calendar switch with tombstones", func() error {
			s := mustStep(t, db, c, followup.KindChase, "t@followup", t0.Add(5*time.Hour))
			s.RemoteETag = `"t"`
			if err := db.UpdateStep(ctx, &s); err != nil {
				return err
			}
			if err := db.DeleteCommitment(ctx, u.ID, c.ID); err != nil {
				return err
			}
			before := feed()
			if err := db.ResetRemote(ctx, u.ID); err != nil {
				return err
			}
			if after := feed(); after.Purged != after.Version || after.Version != before.Version+1 {
				t.Errorf("ResetRemote: %+v -> %+v, want one rise and purged", before, after)
			}
			return nil
		}, 3, nil, true},
	}
	for _, tc := range cases {
		before := feed()
		if err := tc.write(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		after := feed()
		if got := after.Version - before.Version; got != tc.raise {
			t.Errorf("%s: the version rose by %d, want %d", tc.name, got, tc.raise)
		}
		uids := changedUIDs(t, db, u.ID, before.Version)
		if tc.name != "a calendar switch with tombstones" {
			if diff := cmp.Diff(tc.changed, uids); diff != "" {
				t.Errorf("%s: changed steps (-want +got):\n%s", tc.name, diff)
			}
		}
		if purged := after.Purged > before.Version; purged != tc.purged || purged && after.Purged > after.Version {
			t.Errorf("%s: purged %d (versions %d -> %d), want purged %v", tc.name, after.Purged, before.Version, after.Version, tc.purged)
		}
	}
	ids, err := db.StepIDs(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 {
		t.Errorf("StepIDs after every commitment and tombstone went: %v", ids)
	}
}

// habitSeries is a switched-on series of the weekly review, its calendar
// object recorded with etag.
func habitSeries(userID int64, etag string) *followup.HabitSeries {
	return &followup.HabitSeries{
		UserID: userID, Kind: followup.HabitWeeklyReview, UID: "habit@followup", Active: true, Spec: "{}",
		Start: t0, End: t0.Add(30 * time.Minute), Zone: "America/New_York", RRule: "FREQ=WEEKLY;BYDAY=MO",
		Sequence: 1, RemoteETag: etag, RemoteSequence: 1, CreatedAt: t0, UpdatedAt: t0,
	}
}

// TestCommitmentsChangedSince: an update stamps the commitment with the
// feed version it raised; others stay out.
func TestCommitmentsChangedSince(t *testing.T) {
	ctx := context.Background()
	db, u := feedUser(t, "named@example.com")
	a := mustCommitment(t, db, u.ID, "Ann")
	mustCommitment(t, db, u.ID, "Bob")
	f, err := db.FeedByToken(ctx, []byte("tok"))
	if err != nil {
		t.Fatal(err)
	}
	a.Contact.Name = "Anne"
	if err := db.UpdateCommitment(ctx, &a); err != nil {
		t.Fatal(err)
	}
	ids, err := db.CommitmentsChangedSince(ctx, u.ID, f.Version)
	if err != nil || len(ids) != 1 || ids[0] != a.ID {
		t.Errorf("CommitmentsChangedSince = %v, %v; want [%d]", ids, err, a.ID)
	}
	if ids, _ := db.CommitmentsChangedSince(ctx, u.ID, f.Version+1); len(ids) != 0 {
		t.Errorf("changed since the update's own version: %v", ids)
	}
}

// TestInsertCommitmentHabitOn: with a habit series on, a new commitment
// raises the feed version once and is stamped with it, whether the
// transaction raised it before or not; with none on, neither.
func TestInsertCommitmentHabitOn(t *testing.T) {
	ctx := context.Background()
	db, u := feedUser(t, "habits@example.com")
	version := func() int64 {
		t.Helper()
		f, err := db.FeedByToken(ctx, []byte("tok"))
		if err != nil {
			t.Fatal(err)
		}
		return f.Version
	}
	before := version()
	plain := mustCommitment(t, db, u.ID, "Ann")
	if got := version(); got != before {
		t.Errorf("no habit on: the feed version moved from %d to %d", before, got)
	}
	if ids, _ := db.CommitmentsChangedSince(ctx, u.ID, before); len(ids) != 0 {
		t.Errorf("no habit on: changed since %d: %v, want none", before, ids)
	}
	if err := db.PutHabitSeries(ctx, habitSeries(u.ID, "")); err != nil {
		t.Fatal(err)
	}
	before = version()
	on := mustCommitment(t, db, u.ID, "Bob")
	if got := version(); got != before+1 {
		t.Errorf("a habit on: feed version %d, want %d", got, before+1)
	}
	if ids, err := db.CommitmentsChangedSince(ctx, u.ID, before); err != nil || len(ids) != 1 || ids[0] != on.ID {
		t.Errorf("a habit on: changed since %d: %v, %v; want [%d] (not %d)", before, ids, err, on.ID, plain.ID)
	}
	before = version()
	var raised followup.Commitment
	err := db.InTx(followup.ForUser(ctx, u.ID), func(q followup.Queries) error {
		if err := q.TouchFeed(ctx, u.ID, t0); err != nil {
			return err
		}
		raised = followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: "Cleo"}, MetAt: t0, Promise: "p",
			Direction: followup.Mine, Due: t0.Add(48 * time.Hour), Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
		return q.InsertCommitment(ctx, &raised)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := version(); got != before+1 {
		t.Errorf("raised before the insert: feed version %d, want %d", got, before+1)
	}
	if ids, err := db.CommitmentsChangedSince(ctx, u.ID, before); err != nil || len(ids) != 1 || ids[0] != raised.ID {
		t.Errorf("raised before the insert: changed since %d: %v, %v; want [%d]", before, ids, err, raised.ID)
	}
}

// TestCreateStampsCommitmentOnlyWithHabits: a create's commitment (in a
// transaction that raised the feed version, through
// InsertCommitmentWithSteps, one statement on PostgreSQL) carries the
// version only while a habit series of its user is on, the only time a
// feed asks which commitments changed; without one it stays out of
// commitments_feed_rev.
func TestCreateStampsCommitmentOnlyWithHabits(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "stamps@example.com")
	create := func(name string) followup.Commitment {
		t.Helper()
		seen, err := db.PlanVersion(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: name}, MetAt: t0, Promise: "p",
			Direction: followup.Mine, Due: t0.Add(48 * time.Hour), Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
		err = db.InTx(followup.ForUser(ctx, u.ID), func(q followup.Queries) error {
			if ok, err := q.ClaimPlanAndFeed(ctx, u.ID, seen); err != nil || !ok {
				t.Fatalf("ClaimPlanAndFeed = %v, %v", ok, err)
			}
			step := followup.Step{UserID: u.ID, Kind: followup.KindDeliver, Status: followup.StepPlanned,
				Start: t0.Add(time.Hour), End: t0.Add(75 * time.Minute), NotBefore: t0, Due: t0.Add(24 * time.Hour),
				UID: name + "@followup", RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0}
			return q.InsertCommitmentWithSteps(ctx, &c, []followup.Step{step})
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	create("plain")
	if ids, err := db.CommitmentsChangedSince(ctx, u.ID, 0); err != nil || len(ids) != 0 {
		t.Errorf("no habit on: CommitmentsChangedSince(0) = %v, %v; want none", ids, err)
	}
	if err := db.PutHabitSeries(ctx, habitSeries(u.ID, "")); err != nil {
		t.Fatal(err)
	}
	named := create("named")
	if ids, err := db.CommitmentsChangedSince(ctx, u.ID, 0); err != nil || len(ids) != 1 || ids[0] != named.ID {
		t.Errorf("a habit on: CommitmentsChangedSince(0) = %v, %v; want [%d]", ids, err, named.ID)
	}
}

// TestStepsChangedSinceEveryStatus: the steps changed since a version
// come back whatever their status (the query names each status, so that
// its index reads only the changed ones), and the unchanged do not.
func TestStepsChangedSinceEveryStatus(t *testing.T) {
	ctx := context.Background()
	db, u := feedUser(t, "statuses@example.com")
	c := mustCommitment(t, db, u.ID, "Ann")
	for _, status := range []followup.StepStatus{followup.StepPlanned, followup.StepSynced, followup.StepDone, followup.StepCancelled} {
		mustStep(t, db, c, followup.KindDeliver, "old-"+string(status)+"@followup", t0)
	}
	f, err := db.FeedByToken(ctx, []byte("tok"))
	if err != nil {
		t.Fatal(err)
	}
	// In one transaction, which the planned step's insert stamps with a
	// new version: a step stored cancelled alone changes no feed.
	var want []string
	err = db.InTx(ctx, func(q followup.Queries) error {
		for _, status := range []followup.StepStatus{followup.StepPlanned, followup.StepSynced, followup.StepDone, followup.StepCancelled} {
			s := followup.Step{
				CommitmentID: c.ID, UserID: u.ID, Kind: followup.KindDeliver, Status: status, Start: t0, End: t0.Add(15 * time.Minute),
				NotBefore: t0, Due: t0.Add(24 * time.Hour), UID: "new-" + string(status) + "@followup", RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0,
			}
			if status == followup.StepDone {
				s.CompletedAt = &s.End
			}
			if err := q.InsertStep(ctx, &s); err != nil {
				return err
			}
			want = append(want, s.UID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := changedUIDs(t, db, u.ID, f.Version)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("steps changed since version %d: %v, want %v", f.Version, got, want)
	}
}

// changedUIDs returns the UIDs of the user's steps changed since the feed
// version rev, sorted.
func changedUIDs(t *testing.T, db followup.Store, userID, rev int64) []string {
	t.Helper()
	changed, err := db.StepsChangedSince(context.Background(), userID, rev)
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, s := range changed {
		uids = append(uids, s.UID)
	}
	slices.Sort(uids)
	return uids
}

// feedUser opens a database with one user whose feed token is "tok".
func feedUser(t *testing.T, email string) (*store.DB, followup.User) {
	t.Helper()
	db := MustOpenDB(t)
	u := mustUser(t, db, email)
	if err := db.SetFeedToken(context.Background(), u.ID, []byte("tok"), "sealed"); err != nil {
		t.Fatal(err)
	}
	return db, u
}

package service

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/followup/followup"
)

// snapshotOf is a snapshot at version holding n rows and no facts.
func snapshotOf(version int64, n int) *planSnapshot {
	sn := &planSnapshot{version: version, rows: map[int64]followup.Step{}, facts: map[int64]followup.Commitment{}}
	for i := range n {
		sn.rows[int64(i+1)] = followup.Step{ID: int64(i + 1)}
	}
	return sn
}

// TestPlanCacheBound: the snapshots kept stay within the bound, the least
// lately used going first; one larger than the bound is not kept; a
// snapshot is handed out only once.
func TestPlanCacheBound(t *testing.T) {
	pc := &planCache{max: 100, users: map[int64]*planSnapshot{}}
	pc.put(1, snapshotOf(5, 40))
	pc.put(2, snapshotOf(5, 40))
	if sn := pc.takeKept(1); sn == nil || sn.version != 5 {
		t.Fatalf("user 1's snapshot at version 5 not kept: %v", sn)
	} else {
		pc.put(1, sn) // user 1 is now the later used
	}
	pc.put(3, snapshotOf(7, 40))
	if pc.size > pc.max {
		t.Errorf("%d rows kept, bound %d", pc.size, pc.max)
	}
	if _, ok := pc.users[2]; ok {
		t.Error("user 2, the least lately used, is still kept")
	}
	if pc.takeKept(3) == nil || pc.takeKept(3) != nil {
		t.Error("user 3's snapshot not handed out exactly once")
	}
	if pc.takeKept(1) == nil || pc.size != 0 {
		t.Errorf("user 1's snapshot not handed out, or %d rows still counted", pc.size)
	}
	pc.put(4, snapshotOf(1, 101))
	if _, ok := pc.users[4]; ok || pc.size != 0 {
		t.Errorf("a snapshot larger than the bound is kept (%d rows kept)", pc.size)
	}
}

// changesOnly is a followup.Queries that answers PlanningChanges only,
// with the rows and facts it holds, and counts the calls.
type changesOnly struct {
	followup.Queries
	rows  []followup.Step
	facts map[int64]followup.Commitment
	since []int64
}

func (q *changesOnly) PlanningChanges(_ context.Context, _ int64, feed int64) ([]followup.Step, map[int64]followup.Commitment, error) {
	q.since = append(q.since, feed)
	return q.rows, q.facts, nil
}

// TestCatchUp: a snapshot kept at plan version 5 (feed version 9) follows
// the steps changed past feed version 9 when nothing but creates came
// after it (the base at or before 5): a new block enters its rows and its
// calendar with its commitment's facts, a moved one moves, one marked
// unplaced leaves. It reads nothing at its own version, and refuses
// (reading nothing) when another write came after it, when its feed
// version is not known, or when the store is behind it.
func TestCatchUp(t *testing.T) {
	t0 := time.Date(2026, 3, 6, 14, 0, 0, 0, time.UTC)
	st := followup.DefaultSettings("UTC")
	block := func(id, commitment int64, at time.Time) followup.Step {
		return followup.Step{ID: id, UserID: 1, CommitmentID: commitment, Kind: followup.KindDeliver,
			Status: followup.StepPlanned, Start: at, End: at.Add(30 * time.Minute), NotBefore: t0, Due: t0.AddDate(0, 0, 3),
			UID: fmt.Sprint(id) + "@followup"}
	}
	kept := func() *planSnapshot {
		sn := &planSnapshot{version: 5, feed: 9, from: t0.Add(-24 * time.Hour), to: t0.AddDate(5, 0, 0),
			rows:  map[int64]followup.Step{},
			facts: map[int64]followup.Commitment{1: {ID: 1, UserID: 1, MetAt: t0}, 2: {ID: 2, UserID: 1, MetAt: t0}}}
		for _, p := range []followup.Step{block(10, 1, t0.Add(time.Hour)), block(11, 1, t0.Add(2*time.Hour)), block(20, 2, t0.Add(3*time.Hour))} {
			sn.rows[p.ID] = p
		}
		sn.rebuild(st, time.UTC)
		return sn
	}
	moved := block(11, 1, t0.Add(5*time.Hour))
	gone := block(20, 2, t0.Add(3*time.Hour))
	gone.Unplaced = true
	fresh := block(30, 3, t0.Add(4*time.Hour))
	q := &changesOnly{rows: []followup.Step{moved, gone, fresh},
		facts: map[int64]followup.Commitment{1: {ID: 1, UserID: 1, MetAt: t0}, 2: {ID: 2, UserID: 1, MetAt: t0}, 3: {ID: 3, UserID: 1, MetAt: t0, Priority: true}}}

	sn := kept()
	if ok, err := sn.catchUp(context.Background(), q, 1, followup.PlanMark{Version: 7, Feed: 11, Base: 5}); err != nil || !ok {
		t.Fatalf("catchUp after two creates = %v, %v; want true", ok, err)
	}
	if len(q.since) != 1 || q.since[0] != 9 {
		t.Errorf("PlanningChanges read past %v, want once past 9", q.since)
	}
	if sn.version != 7 || sn.feed != 11 {
		t.Errorf("caught up to version %d, feed %d; want 7, 11", sn.version, sn.feed)
	}
	if _, ok := sn.rows[20]; ok {
		t.Error("the block marked unplaced is still a row")
	}
	if got := sn.rows[11].Start; !got.Equal(moved.Start) {
		t.Errorf("the moved block starts at %v, want %v", got, moved.Start)
	}
	if _, ok := sn.rows[30]; !ok || !sn.facts[3].Priority {
		t.Errorf("the new block (row %v) or its commitment's facts (%+v) are missing", ok, sn.facts[3])
	}
	want := kept()
	want.rows = sn.rows
	want.rebuild(st, time.UTC)
	if sn.cal.Len() != 3 || want.cal.Len() != 3 {
		t.Errorf("the calendar holds %d blocks, one made from the rows %d; want 3", sn.cal.Len(), want.cal.Len())
	}

	for _, tc := range []struct {
		name string
		feed int64
		mark followup.PlanMark
		ok   bool
	}{
		{"at its own version", 9, followup.PlanMark{Version: 5, Feed: 9, Base: 5}, true},
		{"at its own version, feed not known", 0, followup.PlanMark{Version: 5, Feed: 9, Base: 2}, true},
		{"an action after it", 9, followup.PlanMark{Version: 7, Feed: 11, Base: 6}, false},
		{"feed version not known", 0, followup.PlanMark{Version: 7, Feed: 11, Base: 5}, false},
		{"the store behind it", 9, followup.PlanMark{Version: 4, Feed: 8, Base: 4}, false},
	} {
		q.since = nil
		sn := kept()
		sn.feed = tc.feed
		if ok, err := sn.catchUp(context.Background(), q, 1, tc.mark); err != nil || ok != tc.ok {
			t.Errorf("%s: catchUp = %v, %v; want %v", tc.name, ok, err, tc.ok)
		}
		if len(q.since) != 0 {
			t.Errorf("%s: PlanningChanges read", tc.name)
		}
	}
}

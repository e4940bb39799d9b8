package service

import (
	"testing"

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
// snapshot is handed out only at its version, and only once.
func TestPlanCacheBound(t *testing.T) {
	pc := &planCache{max: 100, users: map[int64]*planSnapshot{}}
	pc.put(1, snapshotOf(5, 40))
	pc.put(2, snapshotOf(5, 40))
	if sn := pc.take(1, 5); sn == nil {
		t.Fatal("user 1's snapshot at version 5 not kept")
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
	if pc.take(1, 6) != nil {
		t.Error("user 1's snapshot at version 5 handed out for version 6")
	}
	if pc.take(1, 5) != nil {
		t.Error("a snapshot found stale is still kept")
	}
	if pc.take(3, 7) == nil || pc.take(3, 7) != nil {
		t.Error("user 3's snapshot not handed out exactly once")
	}
	pc.put(4, snapshotOf(1, 101))
	if _, ok := pc.users[4]; ok || pc.size != 0 {
		t.Errorf("a snapshot larger than the bound is kept (%d rows kept)", pc.size)
	}
}

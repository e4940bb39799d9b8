package service

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

// DefaultPlanCacheSteps bounds the planning rows (and commitments' facts)
// kept in memory between creates, all users together.
const DefaultPlanCacheSteps = 50_000

// planSnapshot is what a user's creates read of their calendar (issue 13):
// the rows of PlanningWindow whose start lies in [from, to), their
// commitments' planning facts and the calendar made of them (cal), as
// stored at plan version version. A create that reads the same plan
// version uses it instead of reading the rows again; one whose commit
// moves the version applies its own changes and tags it with the version
// its transaction ended at. A write by any other path, here or in another
// process, raises the version in the store, so the snapshot is no longer
// used.
type planSnapshot struct {
	version int64
	// feed is the user's feed version at plan version version (0: not
	// known): the steps another instance's creates change later carry a
	// higher one (see catchUp).
	feed     int64
	built    time.Time
	from, to time.Time
	rows     map[int64]followup.Step
	facts    map[int64]followup.Commitment
	cal      *scheduler.Calendar
	// external and habits are the busy time and habit occurrences the
	// calendar was made with, in the settings st and zone loc.
	external, habits []followup.Interval
	st               followup.Settings
	loc              *time.Location
	// calendar is the user's CalDAV calendar to write blocks to, as
	// enqueueing reads it (UserID and CalendarURL only; nil: none): read
	// with the rows, as connecting and disconnecting raise the plan version.
	calendar *followup.CalDAVConnection
	// dirty is set when the calendar holds a placement that was not stored
	// (its claim found the plan version moved on): it is made again from
	// the rows before it is used.
	dirty bool
	// replanWanted is set once a write at this plan version recorded the
	// wish for the background re-plan. Only TakeReplan clears the wish, and
	// it raises the plan version: while the snapshot holds, the wish stands.
	replanWanted bool
	used         uint64
}

// size is what the snapshot counts against the cache's bound: its rows
// and facts.
func (sn *planSnapshot) size() int { return len(sn.rows) + len(sn.facts) }

// planCache holds the snapshots of the users who created lately, at most
// max rows and facts in all; the least lately used go first.
type planCache struct {
	mu    sync.Mutex
	max   int
	size  int
	clock uint64
	users map[int64]*planSnapshot
}

// plans returns the service's snapshot cache.
func (s *Service) plans() *planCache {
	s.planOnce.Do(func() {
		max := s.PlanCacheSteps
		if max == 0 {
			max = DefaultPlanCacheSteps
		}
		s.planCache = &planCache{max: max, users: map[int64]*planSnapshot{}}
	})
	return s.planCache
}

// takeKept removes and returns the user's snapshot, whatever its version.
func (pc *planCache) takeKept(userID int64) *planSnapshot {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	snap := pc.users[userID]
	if snap != nil {
		delete(pc.users, userID)
		pc.size -= snap.size()
	}
	return snap
}

// drop forgets the user's snapshot: a write here changed the user's blocks
// or settings without bringing it up to date, and the next create is to
// read the calendar, not find the kept one stale in its transaction.
func (pc *planCache) drop(userID int64) { pc.takeKept(userID) }

// put keeps the user's snapshot, dropping the least lately used ones
// while the rows exceed the bound.
func (pc *planCache) put(userID int64, snap *planSnapshot) {
	if pc.max < 0 || snap.size() > pc.max {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if old := pc.users[userID]; old != nil {
		pc.size -= old.size()
	}
	pc.clock++
	snap.used = pc.clock
	pc.users[userID] = snap
	pc.size += snap.size()
	for pc.size > pc.max {
		var oldest int64
		var at uint64
		for id, o := range pc.users {
			if id != userID && (at == 0 || o.used < at) {
				oldest, at = id, o.used
			}
		}
		pc.size -= pc.users[oldest].size()
		delete(pc.users, oldest)
	}
}

// apply brings the snapshot to what a create stored: its commitment c,
// its steps placed (whose calendar keys were keys, by index) and the
// stored steps it moved.
func (sn *planSnapshot) apply(c followup.Commitment, placed []followup.Step, keys []int, moved []followup.Step) {
	sn.facts[c.ID] = planningFacts(c)
	for i, k := range keys {
		if k != 0 {
			sn.cal.Rename(int64(k), placed[i].ID)
		}
	}
	sn.keep(placed)
	sn.keep(moved)
}

// keep puts steps as stored in the snapshot's rows: those PlanningWindow
// reads, and no others.
func (sn *planSnapshot) keep(steps []followup.Step) {
	for _, p := range steps {
		delete(sn.rows, p.ID)
		if row, ok := planningRow(p); ok && !row.Start.Before(sn.from) && row.Start.Before(sn.to) {
			sn.rows[row.ID] = row
		}
	}
}

// planningRow returns a step as PlanningWindow reads it, and whether that
// reads it at all (a placed pending block).
func planningRow(p followup.Step) (followup.Step, bool) {
	if p.Unplaced || !(p.Status == followup.StepPlanned || p.Status == followup.StepSynced) ||
		p.Kind == followup.KindLetGo || p.Kind == followup.KindClose {
		return followup.Step{}, false
	}
	return followup.Step{
		ID: p.ID, UserID: p.UserID, CommitmentID: p.CommitmentID, Kind: p.Kind, Status: p.Status,
		Start: storedTime(p.Start), End: storedTime(p.End), NotBefore: storedTime(p.NotBefore), Due: storedTime(p.Due),
		UID: p.UID, Late: p.Late, Sequence: p.Sequence, Pinned: p.Pinned, RemoteETag: p.RemoteETag,
	}, true
}

// planningFacts returns a commitment's facts as PlanningWindow reads them.
func planningFacts(c followup.Commitment) followup.Commitment {
	out := followup.Commitment{ID: c.ID, UserID: c.UserID, Priority: c.Priority, MetAt: storedTime(c.MetAt)}
	if c.Meeting != nil {
		out.Meeting = &followup.Meeting{Start: storedTime(c.Meeting.Start), Minutes: c.Meeting.Minutes}
	}
	return out
}

// storedTime is t as the store gives it back: UTC, to the microsecond.
func storedTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// keptAt takes the user's kept calendar for a transaction at plan mark m:
// as kept, or caught up with another instance's creates; nil when none is
// kept or it must be read in whole.
func (s *Service) keptAt(ctx context.Context, userID int64, m followup.PlanMark) (*planSnapshot, error) {
	return s.caughtUp(ctx, userID, m, s.plans().takeKept(userID))
}

// caughtUp is keptAt for the kept calendar sn, taken already (nil: none).
func (s *Service) caughtUp(ctx context.Context, userID int64, m followup.PlanMark, sn *planSnapshot) (*planSnapshot, error) {
	if sn == nil {
		return nil, nil
	}
	if ok, err := sn.catchUp(ctx, s.Store, userID, m); err != nil || !ok {
		return nil, err
	}
	return sn, nil
}

// catchUp brings a snapshot kept at an older plan version to the user's
// plan mark m, reading only the steps changed since its feed version
// (followup.PlanMark): another instance's creates. It reports false, and
// reads nothing, when a write of another kind came between, so that the
// calendar is to be read in whole.
func (sn *planSnapshot) catchUp(ctx context.Context, q followup.Queries, userID int64, m followup.PlanMark) (bool, error) {
	if m.Version != sn.version {
		if sn.feed == 0 || m.Base > sn.version || m.Version < sn.version || m.Feed < sn.feed {
			return false, nil
		}
		rows, facts, err := q.PlanningChanges(ctx, userID, sn.feed)
		if err != nil {
			return false, err
		}
		maps.Copy(sn.facts, facts)
		sn.follow(rows)
		sn.version, sn.feed = m.Version, m.Feed
	}
	if sn.dirty {
		sn.rebuild(sn.st, sn.loc)
	}
	return true, nil
}

// follow brings the snapshot's rows and calendar to steps as stored: a
// step no longer placed and pending leaves both, one that is enters them.
// A meeting that changed makes the calendar again, with its busy time.
func (sn *planSnapshot) follow(steps []followup.Step) {
	meeting := false
	for _, p := range steps {
		delete(sn.rows, p.ID)
		meeting = meeting || p.Kind == followup.KindMeeting
		row, ok := planningRow(p)
		if ok && !row.Start.Before(sn.from) && row.Start.Before(sn.to) {
			sn.rows[row.ID] = row
		}
		if sn.dirty {
			continue // made again from the rows before use
		}
		sn.cal.Remove(p.ID)
		if ok && row.Kind != followup.KindMeeting {
			if _, kept := sn.rows[row.ID]; kept {
				sn.cal.Put(sn.entry(row))
			}
		}
	}
	if meeting {
		sn.rebuild(sn.st, sn.loc)
	}
}

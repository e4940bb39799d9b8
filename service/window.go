package service

import (
	"context"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

// How far placing a new commitment's steps looks (issue 13, flat create
// cost): from now to the latest deadline of its steps plus windowSlack.
// A step that finds no slot there (late, in a full calendar) looks further
// in chunks.
const (
	// windowSlack leaves room past the deadlines for a block placed late.
	windowSlack = 24 * time.Hour
	// maxBlockLength is the longest a pending step lasts (an agreed meeting
	// is at most 10 hours): a block overlapping the window starts at most
	// this long before it.
	maxBlockLength = 24 * time.Hour
	// firstChunkDays is the first look past the window, doubled each
	// time, at most maxChunks times; what is still not placed then is left
	// to the background re-plan (JobReplanUser).
	firstChunkDays = 7
	maxChunks      = 1
)

// windowPlan is a new commitment's steps placed in their window.
type windowPlan struct {
	planOutcome
	// replan is set when the window could not keep every rule: the full
	// re-plan runs as a background job.
	replan bool
}

// window is the part of a user's calendar that placeInWindow read: the
// blocks overlapping [from, end).
type window struct {
	ctx      context.Context
	q        followup.Queries
	rows     *snapshotReader
	in       planInput
	external []followup.Interval
	stored   []followup.Step
	seen     map[int64]bool
	from     time.Time
	end      time.Time
}

// placeInWindow places in.fresh among the user's blocks between now and
// the latest deadline of the new steps, reading only that window: the
// blocks there stay put unless a new step needs the slot of a less urgent
// one (incremental), and the full plan of the window is used when that does
// not do. A step that finds no free slot in the window looks past it, a
// chunk at a time; time not read is walled off. What is still not placed
// after maxChunks is left to the background re-plan. It writes nothing; q
// is read at one plan version, which the caller claims when it stores the
// outcome; snap is the user's snapshot at that version (its rows are read
// from q only where it holds none).
func placeInWindow(ctx context.Context, q followup.Queries, in planInput, snap *planSnapshot) (windowPlan, error) {
	external, err := externalBusy(ctx, q, in.userID, in.loc)
	if err != nil {
		return windowPlan{}, err
	}
	w := &window{ctx: ctx, q: q, rows: &snapshotReader{q: q, snap: snap}, in: in, external: external, seen: map[int64]bool{},
		from: in.now, end: in.now}
	limit := in.now.AddDate(0, 0, scheduler.Horizon).Add(windowSlack)
	if err := w.read(earliest(latestDeadline(in.fresh, in.now).Add(windowSlack), limit)); err != nil {
		return windowPlan{}, err
	}
	for chunk := 0; ; chunk++ {
		out, err := w.plan()
		if err != nil {
			return windowPlan{}, err
		}
		if !out.unplaced || !w.end.Before(limit) || chunk == maxChunks {
			plan := windowPlan{planOutcome: out, replan: out.unplaced && w.end.Before(limit)}
			return plan, w.followMovedNudges(&plan.planOutcome)
		}
		if err := w.read(earliest(w.end.AddDate(0, 0, firstChunkDays<<chunk), limit)); err != nil {
			return windowPlan{}, err
		}
	}
}

// read extends the window to end at to, adding the blocks that overlap it.
func (w *window) read(to time.Time) error {
	rows, err := w.rows.window(w.ctx, w.in.userID, w.end.Add(-maxBlockLength), to)
	if err != nil {
		return err
	}
	for _, p := range rows {
		if p.End.After(w.from) && !w.seen[p.ID] {
			w.seen[p.ID] = true
			w.stored = append(w.stored, p)
		}
	}
	w.end = to
	return nil
}

// plan places the new steps among the blocks read, walling off the gaps
// and the time after the window.
func (w *window) plan() (planOutcome, error) {
	in := w.in
	walls := []followup.Interval{{Start: w.end, End: w.end.AddDate(0, 0, scheduler.Horizon+30)}}
	src := planSource{
		stored:   w.stored,
		external: overlapping(w.external, w.from.Add(-maxBlockLength), w.end.Add(maxBlockLength)),
		habits: func() ([]followup.Interval, error) {
			return habitIntervals(w.ctx, w.q, in.userID, in.loc, w.from, w.end)
		},
		facts: w.factsOf,
		walls: walls,
	}
	return computePlan(in, src)
}

// factsOf returns the planning facts of the commitments, reading each once
// (the snapshot keeps them).
func (w *window) factsOf(ids []int64) (map[int64]followup.Commitment, error) {
	facts := w.rows.snap.facts
	var missing []int64
	for _, id := range ids {
		if _, ok := facts[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		got, err := w.q.PlanningFacts(w.ctx, w.in.userID, missing)
		if err != nil {
			return nil, err
		}
		for id, c := range got {
			facts[id] = c
		}
	}
	out := make(map[int64]followup.Commitment, len(ids))
	for _, id := range ids {
		out[id] = facts[id]
	}
	return out, nil
}

// followMovedNudges adds to out.changed the close of each commitment whose
// nudge moved: the window holds no close steps, which come CloseAfterDays
// after their nudge.
func (w *window) followMovedNudges(out *planOutcome) error {
	in := w.in
	for _, moved := range out.changed {
		if moved.Kind != followup.KindNudge {
			continue
		}
		c, err := w.q.Commitment(w.ctx, in.userID, moved.CommitmentID)
		if err != nil {
			return err
		}
		for _, p := range c.Steps {
			if p.Kind != followup.KindClose || !p.Status.Pending() {
				continue
			}
			if at := scheduler.CloseAt(moved.End, in.st, in.loc).UTC(); !p.Start.Equal(at) {
				p.Start, p.End, p.UpdatedAt = at, at, in.now
				out.changed = append(out.changed, p)
			}
		}
	}
	return nil
}

// replanInBackground is the JobReplanUser job: the full re-plan of one
// user's blocks, which no request waits for, if one is still wanted (the
// jobs queued by a burst of creates re-plan once). A user deleted
// meanwhile has nothing to re-plan.
func (s *Service) replanInBackground(ctx context.Context, userID int64) error {
	err := s.Store.InTx(ctx, func(q followup.Queries) error {
		if wanted, err := q.TakeReplan(ctx, userID); err != nil || !wanted {
			return err
		}
		return s.replan(ctx, q, userID, s.now())
	})
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return nil
	}
	return err
}

// latestDeadline returns the latest moment a new step must be placed by:
// its deadline, a confirm's meeting, the end of the meeting itself; at
// least now.
func latestDeadline(fresh []followup.Step, now time.Time) time.Time {
	last := now
	for _, p := range fresh {
		if !p.Kind.IsBlock() {
			continue
		}
		for _, t := range []time.Time{p.Due, p.End, p.NotBefore} {
			if t.After(last) {
				last = t
			}
		}
	}
	return last
}

// overlapping returns the intervals of ivs that overlap [from, to); an
// all-day one is kept if its dates may (it becomes whole local days later).
func overlapping(ivs []followup.Interval, from, to time.Time) []followup.Interval {
	var out []followup.Interval
	for _, iv := range ivs {
		if iv.Start.Before(to) && iv.End.After(from) {
			out = append(out, iv)
		}
	}
	return out
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// earliest returns the earlier of a and b.
func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

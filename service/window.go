package service

import (
	"context"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

// How far placing a new commitment's steps looks (issue 13, flat create
// cost): from now to the latest deadline of its steps plus windowSlack,
// doubled while a step finds no slot in it, up to maxWindowDays.
const (
	// windowSlack leaves room past the deadlines for a block placed late.
	windowSlack = 24 * time.Hour
	// maxWindowDays bounds the window; a step that finds no free slot
	// within it is left to the background re-plan (JobReplanUser).
	maxWindowDays = 21
	// maxBlockLength is the longest a pending step lasts (an agreed meeting
	// is at most 10 hours): a block overlapping the window starts at most
	// this long before it.
	maxBlockLength = 24 * time.Hour
)

// windowPlan is a new commitment's steps placed in their window.
type windowPlan struct {
	planOutcome
	// replan is set when the window could not keep every rule: the full
	// re-plan runs as a background job.
	replan bool
}

// placeInWindow places in.fresh among the user's blocks between now and
// the latest deadline of the new steps, reading only that window: the
// blocks there stay put unless a new step needs the slot of a less urgent
// one (incremental), and the full plan of the window is used when that does
// not do. Time outside the window is walled off. It writes nothing; q is
// read at one plan version, which the caller claims when it stores the
// outcome.
func (s *Service) placeInWindow(ctx context.Context, q followup.Queries, in planInput) (windowPlan, error) {
	external, err := externalBusy(ctx, q, in.userID, in.loc)
	if err != nil {
		return windowPlan{}, err
	}
	from, limit := in.now, in.now.AddDate(0, 0, maxWindowDays)
	to := latestDeadline(in.fresh, in.now).Add(windowSlack)
	for {
		to = earliest(to, limit)
		out, err := s.placeBetween(ctx, q, in, external, from, to)
		if err != nil || !out.unplaced {
			return windowPlan{planOutcome: out}, err
		}
		if !to.Before(limit) {
			return windowPlan{planOutcome: out, replan: true}, nil
		}
		to = from.Add(2 * to.Sub(from))
	}
}

// placeBetween is one try of placeInWindow, on the window [from, to).
func (s *Service) placeBetween(ctx context.Context, q followup.Queries, in planInput, external []followup.Interval, from, to time.Time) (planOutcome, error) {
	rows, err := q.PlanningWindow(ctx, in.userID, from.Add(-maxBlockLength), to)
	if err != nil {
		return planOutcome{}, err
	}
	stored := rows[:0]
	for _, p := range rows {
		if p.End.After(from) {
			stored = append(stored, p)
		}
	}
	src := planSource{
		stored:   stored,
		external: overlapping(external, from.Add(-maxBlockLength), to.Add(maxBlockLength)),
		habits: func() ([]followup.Interval, error) {
			return habitIntervals(ctx, q, in.userID, in.loc, from, to)
		},
		facts: func(ids []int64) (map[int64]followup.Commitment, error) { return q.PlanningFacts(ctx, in.userID, ids) },
		walls: []followup.Interval{{Start: to, End: to.AddDate(0, 0, scheduler.Horizon+maxWindowDays+30)}},
	}
	out, err := computePlan(in, src)
	if err != nil {
		return out, err
	}
	return out, s.followMovedNudges(ctx, q, in, &out)
}

// followMovedNudges adds to out.changed the close of each commitment whose
// nudge moved: the window holds no close steps, which come CloseAfterDays
// after their nudge.
func (s *Service) followMovedNudges(ctx context.Context, q followup.Queries, in planInput, out *planOutcome) error {
	for _, moved := range out.changed {
		if moved.Kind != followup.KindNudge {
			continue
		}
		c, err := q.Commitment(ctx, in.userID, moved.CommitmentID)
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

// earliest returns the earlier of a and b.
func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

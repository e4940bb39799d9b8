package service

import (
	"context"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

// An action or a delete in a calendar that is not small changes one
// commitment's blocks without planning the user's other blocks again
// (issue 13: a full re-plan is a background job, not part of a request):
// the steps it adds (a nudge after a contact) are placed in the user's
// calendar kept in memory, as a create's are, and the time it frees goes
// to the most urgent late blocks that fit there (scheduler.Calendar.Free).
// The kept calendar is brought up to date, so that the next create does
// not read it again. In a small calendar (scheduler.Calendar.Small) the
// transaction plans every block again, which is cheap there and orders
// every block as a plan from scratch does.

// localChange is one such transaction: the calendar it placed in, read at
// the plan version the transaction began at, and what it changed.
type localChange struct {
	s      *Service
	ctx    context.Context
	q      followup.Queries
	userID int64
	now    time.Time
	// snap is the user's calendar as the transaction began (nil until
	// needed, or when the transaction planned every block again); mark is
	// where the transaction leaves the user's plan.
	snap *planSnapshot
	mark followup.PlanMark
	// steps are the stored steps whose rows the calendar must follow.
	steps []followup.Step
	// replan is set when the blocks want the background re-plan.
	replan bool
	// conn is the user's CalDAV connection once read (connRead).
	conn     *followup.CalDAVConnection
	connRead bool
}

// calendar returns the user's CalDAV connection (nil: none), read once
// per transaction.
func (lc *localChange) calendar() (*followup.CalDAVConnection, error) {
	if !lc.connRead && lc.snap != nil {
		lc.conn, lc.connRead = lc.snap.calendar, true
	}
	if !lc.connRead {
		conn, err := calendarOf(lc.ctx, lc.q, lc.userID)
		if err != nil {
			return nil, err
		}
		lc.conn, lc.connRead = conn, true
	}
	return lc.conn, nil
}

// changeLocally runs fn, a transaction of the user's that changes blocks,
// with a localChange, and brings the kept calendar to what it stored.
func (s *Service) changeLocally(ctx context.Context, userID int64, now time.Time, fn func(lc *localChange) error) error {
	unlock := s.lockPlan(userID)
	defer unlock()
	mark, err := s.Store.PlanMark(ctx, userID)
	if err != nil {
		return err
	}
	version := mark.Version
	kept, err := s.keptAt(ctx, userID, mark)
	if err != nil {
		return err
	}
	var lc *localChange
	attempts := 0
	err = s.Store.InTx(ctx, func(q followup.Queries) error {
		attempts++
		lc = &localChange{s: s, ctx: ctx, q: q, userID: userID, now: now}
		// A transaction run again may find the calendar changed by the
		// first run: it reads it again.
		if v, err := q.PlanVersion(ctx, userID); err != nil {
			return err
		} else if v == version && attempts == 1 && kept != nil && now.Sub(kept.built) <= calendarRebuild && !now.Before(kept.built) {
			lc.snap = kept
		}
		if err := fn(lc); err != nil {
			return err
		}
		if lc.replan {
			if err := s.wantReplan(ctx, q, userID); err != nil {
				return err
			}
		}
		if lc.snap == nil {
			return nil
		}
		lc.mark, err = q.PlanMark(ctx, userID)
		return err
	})
	if err == nil && lc.snap != nil {
		lc.snap.version, lc.snap.feed = lc.mark.Version, lc.mark.Feed
		lc.snap.follow(lc.steps)
		s.plans().put(userID, lc.snap)
	}
	return err
}

// planAll reports whether the transaction plans every block again: the
// user's calendar is small. The calendar is read if none was kept.
func (lc *localChange) planAll(st followup.Settings, loc *time.Location) (bool, error) {
	if err := lc.load(st, loc); err != nil {
		return false, err
	}
	if lc.snap.cal.Small() {
		lc.snap = nil
		return true, nil
	}
	return false, nil
}

// load reads the user's calendar in the transaction if none was kept.
func (lc *localChange) load(st followup.Settings, loc *time.Location) error {
	if lc.snap != nil {
		return nil
	}
	sn, err := loadCalendar(lc.ctx, lc.q, lc.userID, st, loc, lc.now)
	lc.snap = sn
	return err
}

// ended notes steps of the commitment as the transaction stored them: the
// calendar follows them, and the time of a block that ended before it
// began goes to late blocks that fit there.
func (lc *localChange) ended(steps []followup.Step, st followup.Settings, loc *time.Location) error {
	lc.steps = append(lc.steps, steps...)
	var gone []int64
	for _, p := range steps {
		if p.Kind.IsBlock() && !p.Status.Pending() && p.Start.After(lc.now) {
			gone = append(gone, p.ID)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	moves, capped := lc.snap.cal.Free(lc.now, gone)
	lc.replan = lc.replan || capped
	return lc.storeMoves(moves, st, loc)
}

// place places new block steps of commitment c, stored already, in the
// calendar and stores where they went, with the blocks they moved; a
// close goes CloseAfterDays after its nudge.
func (lc *localChange) place(c followup.Commitment, steps []followup.Step, st followup.Settings, loc *time.Location) error {
	var tasks []scheduler.Task
	var idx []int
	for i, p := range steps {
		if p.Kind.IsBlock() && p.Kind != followup.KindMeeting {
			tasks = append(tasks, scheduler.NewTask(int(p.ID), p, c, st))
			idx = append(idx, i)
		}
	}
	placements, moves, capped := lc.snap.cal.Place(lc.now, nil, tasks)
	var changed []followup.Step
	var nudgeEnd time.Time
	for j, pl := range placements {
		p := &steps[idx[j]]
		applyPlacement(p, pl, true, st, lc.now)
		changed = append(changed, *p)
		if p.Kind == followup.KindNudge {
			nudgeEnd = p.End
		}
	}
	for i := range steps {
		if p := &steps[i]; p.Kind == followup.KindClose && !nudgeEnd.IsZero() {
			at := scheduler.CloseAt(nudgeEnd, st, loc).UTC()
			p.Start, p.End = at, at
			changed = append(changed, *p)
		}
	}
	lc.replan = lc.replan || capped
	lc.steps = append(lc.steps, changed...)
	if err := lc.q.MoveSteps(lc.ctx, changed); err != nil {
		return err
	}
	if err := lc.storeMoves(moves, st, loc); err != nil {
		return err
	}
	conn, err := lc.calendar()
	if err != nil {
		return err
	}
	return lc.s.enqueueTo(lc.ctx, lc.q, lc.userID, conn, changed)
}

// storeMoves stores the blocks the calendar moved, with the closes of
// moved nudges, and queues their calendar writes.
func (lc *localChange) storeMoves(moves []scheduler.Released, st followup.Settings, loc *time.Location) error {
	in := planInput{userID: lc.userID, st: st, loc: loc, now: lc.now}
	out := planOutcome{}
	for _, m := range moves {
		if p, ok := lc.snap.rows[m.ID]; ok && applyPlacement(&p, m.Placement, false, st, lc.now) {
			out.changed = append(out.changed, p)
		}
	}
	if len(out.changed) == 0 {
		return nil
	}
	if err := followMovedNudges(lc.ctx, lc.q, in, &out); err != nil {
		return err
	}
	lc.steps = append(lc.steps, out.changed...)
	conn, err := lc.calendar()
	if err != nil {
		return err
	}
	in.conn, in.connKnown = conn, true
	return lc.s.storeMoves(lc.ctx, lc.q, in, out.changed)
}

// wantReplan records that the user's blocks want the background re-plan
// and queues its job, unless one is wanted already (and so queued).
func (s *Service) wantReplan(ctx context.Context, q followup.Queries, userID int64) error {
	wanted, err := q.WantReplan(ctx, userID)
	if err != nil || !wanted {
		return err
	}
	return q.Enqueue(ctx, followup.Job{Kind: followup.JobReplanUser, UserID: userID})
}

package service

import (
	"context"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

// busyWindow is how far ahead busy time is read from calendars.
const busyWindow = 90 * 24 * time.Hour

// externalBusy returns the user's busy time from their calendars and ICS
// sources. All-day events, stored as UTC dates, are re-anchored to whole
// local days in the user's zone, and floating times to the same wall clock
// there.
func externalBusy(ctx context.Context, q followup.Queries, userID int64, loc *time.Location) ([]followup.Interval, error) {
	srcs, err := q.BusySources(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []followup.Interval
	for _, src := range srcs {
		if src.Kind == ownKind {
			continue // our own blocks, seen from the server
		}
		for _, iv := range src.Intervals() {
			switch s, e := iv.Start.UTC(), iv.End.UTC(); {
			case iv.AllDay:
				iv.Start = time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, loc)
				iv.End = time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, loc)
			case iv.Floating: // the same wall clock, in the user's zone
				iv.Start, iv.End = wallClock(s, loc), wallClock(e, loc)
				iv.Floating = false
			}
			if iv.End.After(iv.Start) {
				out = append(out, iv)
			}
		}
	}
	return out, nil
}

// wallClock reads a time with no zone, held as a UTC value, as the same
// wall clock in loc (RFC 5545 §3.3.5, form #1). A wall clock that a DST
// change skips is read as time.Date does.
func wallClock(t time.Time, loc *time.Location) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
}

// replan places the user's movable blocks again in free time. A block
// stays put when it has started, when it was written to a calendar (unless
// a busy event now overlaps it), or when the user moved it. Changed steps
// get a higher SEQUENCE, a calendar write and a new feed version.
func (s *Service) replan(ctx context.Context, q followup.Queries, userID int64, now time.Time) error {
	_, err := s.replanSteps(ctx, q, userID, now)
	return err
}

// replanSteps is replan returning the steps it changed.
func (s *Service) replanSteps(ctx context.Context, q followup.Queries, userID int64, now time.Time) ([]followup.Step, error) {
	st, loc, err := settings(ctx, q, userID)
	if err != nil {
		return nil, err
	}
	conn, err := calendarOf(ctx, q, userID)
	if err != nil {
		return nil, err
	}
	habits, err := s.planHabits(ctx, q, userID, st, loc, now)
	if err != nil {
		return nil, err
	}
	if len(habits) > 0 {
		if err := s.enqueueHabits(ctx, q, userID, conn, habits); err != nil {
			return nil, err
		}
	}
	changed, _, err := s.plan(ctx, q, planInput{userID: userID, st: st, loc: loc, now: now, conn: conn, connKnown: true})
	return changed, err
}

// planInput is what plan works on. fresh are the steps of a commitment
// being logged (c), not stored yet: plan places them with the rest and
// returns them placed, for the caller to insert.
type planInput struct {
	userID int64
	st     followup.Settings
	loc    *time.Location
	now    time.Time
	c      *followup.Commitment
	fresh  []followup.Step
	// conn is the user's CalDAV connection (nil: none) when connKnown.
	conn      *followup.CalDAVConnection
	connKnown bool
}

// plan is replan's core. It stores the stored steps it changed and returns
// them, and returns the fresh steps placed.
func (s *Service) plan(ctx context.Context, q followup.Queries, in planInput) (changed, fresh []followup.Step, err error) {
	out, err := s.planOf(ctx, q, &in)
	if err != nil {
		return nil, nil, err
	}
	if err := s.storeMoves(ctx, q, in, out.changed); err != nil {
		return nil, nil, err
	}
	return out.changed, out.fresh, nil
}

// planOf is plan without storing: it reads through q and decides. It
// looks up in.conn unless in.connKnown.
func (s *Service) planOf(ctx context.Context, q followup.Queries, in *planInput) (planOutcome, error) {
	stored, err := q.PlanningSteps(ctx, in.userID, in.now)
	if err != nil {
		return planOutcome{}, err
	}
	if len(stored)+len(in.fresh) == 0 {
		return planOutcome{}, nil
	}
	if !in.connKnown {
		if in.conn, err = calendarOf(ctx, q, in.userID); err != nil {
			return planOutcome{}, err
		}
		in.connKnown = true
	}
	external, err := externalBusy(ctx, q, in.userID, in.loc)
	if err != nil {
		return planOutcome{}, err
	}
	src := planSource{
		stored: stored, external: external,
		habits: func() ([]followup.Interval, error) {
			return habitIntervals(ctx, q, in.userID, in.loc, in.now, in.now.AddDate(0, 0, scheduler.Horizon+30))
		},
		facts: func(ids []int64) (map[int64]followup.Commitment, error) { return q.PlanningFacts(ctx, in.userID, ids) },
	}
	return computePlan(*in, src)
}

// planSource is what a plan reads: the stored pending steps it places or
// goes around (those ending after now), the busy time from calendars, and,
// read only when something is to be placed, the habits' occurrences and
// the facts of the commitments whose steps it places.
type planSource struct {
	stored   []followup.Step
	external []followup.Interval
	habits   func() ([]followup.Interval, error)
	facts    func(ids []int64) (map[int64]followup.Commitment, error)
	// walls are times the plan may not use: outside the window read.
	walls []followup.Interval
}

// planOutcome is what computePlan decided.
type planOutcome struct {
	changed []followup.Step // stored steps moved, their placement set
	fresh   []followup.Step // the new steps, placed
	// unplaced is true when a step found no free slot (within the horizon,
	// or before a wall) and sits late at its earliest moment.
	unplaced bool
}

// computePlan places in.fresh and the movable stored steps of src in free
// time, as plan does; it writes nothing.
func computePlan(in planInput, src planSource) (planOutcome, error) {
	st, loc, now := in.st, in.loc, in.now
	stored := src.stored
	pending := append(append(make([]followup.Step, 0, len(stored)+len(in.fresh)), stored...), in.fresh...)
	isFresh := func(i int) bool { return i >= len(stored) }
	busy := append([]followup.Interval(nil), src.external...)
	for _, p := range pending {
		if p.Kind == followup.KindMeeting {
			busy = append(busy, followup.Interval{Start: p.Start, End: p.End, Source: "meeting"})
		}
	}
	blocks, movable, ids := classify(pending, isFresh, busy, st, now)
	out := planOutcome{fresh: pending[len(stored):]}
	if len(movable) == 0 {
		return out, nil
	}
	// The habits' occurrences stay put: blocks go around them.
	habits, err := src.habits()
	if err != nil {
		return out, err
	}
	blocks = append(append(blocks, habits...), src.walls...)
	meta := map[int64]followup.Commitment{}
	if len(ids) > 0 {
		if meta, err = src.facts(ids); err != nil {
			return out, err
		}
	}
	if in.c != nil {
		meta[in.c.ID] = *in.c
	}
	tasks := make([]scheduler.Task, 0, len(movable))
	for _, i := range movable {
		tasks = append(tasks, scheduler.NewTask(i, pending[i], meta[pending[i].CommitmentID], st))
	}
	req := scheduler.Request{Settings: st, Loc: loc, Now: now, Busy: busy, Blocks: blocks, Tasks: tasks}
	placements := scheduler.Plan(req)
	if len(in.fresh) > 0 {
		if inc, ok := incremental(req, placements, pending, isFresh); ok {
			placements = inc
		}
	}
	touched := map[int]bool{}
	for _, pl := range placements {
		out.unplaced = out.unplaced || !pl.OK
		if applyPlacement(&pending[pl.Key], pl, isFresh(pl.Key), st, now) {
			touched[pl.Key] = true
		}
	}
	followNudges(pending, placements, isFresh, touched, st, loc, now)
	for i := range stored {
		if touched[i] {
			out.changed = append(out.changed, pending[i])
		}
	}
	return out, nil
}

// classify splits the pending steps into the blocks that stay where they
// are and the indexes of those to place (movable), with the commitments of
// the stored ones among these. A block stays when it has started, when the
// user pinned it, or when it was written to a calendar and no busy event
// (from a calendar, or an agreed meeting) now overlaps it.
func classify(pending []followup.Step, isFresh func(int) bool, busy []followup.Interval, st followup.Settings, now time.Time) (blocks []followup.Interval, movable []int, ids []int64) {
	var written []followup.Interval
	var writtenIdx []int
	for i, p := range pending {
		if p.Kind.IsBlock() && p.Kind != followup.KindMeeting && p.Status == followup.StepSynced && !p.Pinned && p.Start.After(now) {
			written = append(written, followup.Interval{Start: p.Start, End: p.End})
			writtenIdx = append(writtenIdx, i)
		}
	}
	mustMove := map[int]bool{}
	for _, w := range scheduler.Conflicts(written, busy, st) {
		mustMove[writtenIdx[w]] = true
	}
	seen := map[int64]bool{}
	for i, p := range pending {
		if !p.Kind.IsBlock() || p.Kind == followup.KindMeeting {
			continue
		}
		fixed := !isFresh(i) && (p.Pinned || (p.Status == followup.StepSynced && !mustMove[i]) ||
			(!p.Start.After(now) && p.End.After(p.Start)))
		if fixed {
			blocks = append(blocks, followup.Interval{Start: p.Start, End: p.End})
			continue
		}
		movable = append(movable, i)
		if !isFresh(i) && !seen[p.CommitmentID] {
			seen[p.CommitmentID] = true
			ids = append(ids, p.CommitmentID)
		}
	}
	return blocks, movable, ids
}

// applyPlacement sets a step's placement and reports whether a stored step
// changed (it then gets a higher SEQUENCE and, if written to a calendar,
// is written again). A step with no free slot within the horizon is never
// dropped: it stays a late block at its earliest moment for the user to see.
func applyPlacement(p *followup.Step, pl scheduler.Placement, fresh bool, st followup.Settings, now time.Time) bool {
	unplaced := !pl.OK
	if unplaced {
		start := p.NotBefore
		if start.Before(now) {
			start = now.Truncate(5 * time.Minute).Add(5 * time.Minute)
		}
		pl = scheduler.Placement{Key: pl.Key, Start: start, End: start.Add(st.Durations.For(p.Kind)), Late: true, OK: true}
	}
	if p.Start.Equal(pl.Start) && p.End.Equal(pl.End) && p.Late == pl.Late && p.Unplaced == unplaced {
		return false
	}
	p.Start, p.End, p.Late, p.Unplaced = pl.Start.UTC(), pl.End.UTC(), pl.Late, unplaced
	if fresh {
		return false
	}
	if p.Status == followup.StepSynced {
		p.Status = followup.StepPlanned // it moves: the calendar copy is rewritten
	}
	p.Sequence++
	p.UpdatedAt = now
	return true
}

// followNudges moves each close that is among pending after its nudge:
// CloseAfterDays after the nudge block.
func followNudges(pending []followup.Step, placements []scheduler.Placement, isFresh func(int) bool, touched map[int]bool, st followup.Settings, loc *time.Location, now time.Time) {
	nudgeEnd := map[int64]time.Time{}
	for _, pl := range placements {
		if p := pending[pl.Key]; p.Kind == followup.KindNudge {
			nudgeEnd[p.CommitmentID] = p.End
		}
	}
	for i := range pending {
		p := &pending[i]
		end, ok := nudgeEnd[p.CommitmentID]
		if p.Kind != followup.KindClose || !ok {
			continue
		}
		if at := scheduler.CloseAt(end, st, loc).UTC(); !p.Start.Equal(at) {
			p.Start, p.End = at, at
			if !isFresh(i) {
				p.UpdatedAt = now
				touched[i] = true
			}
		}
	}
}

// storeMoves stores moved steps and queues their calendar writes (the
// store raises the feed version).
func (s *Service) storeMoves(ctx context.Context, q followup.Queries, in planInput, changed []followup.Step) error {
	if len(changed) == 0 {
		return nil
	}
	if err := q.MoveSteps(ctx, changed); err != nil {
		return err
	}
	if err := s.enqueueTo(ctx, q, in.userID, in.conn, changed); err != nil {
		return err
	}
	return nil
}

// incremental places a new commitment's steps around the blocks already
// placed, which then stay put. The result must lose nothing against the
// full re-plan full: no step late that full places in time, and no new
// refresher or nudge outside a follow-up hour that full gives it. When a
// new step falls short, the least urgent block in its way is released to
// be placed again (a few times at most); if that does not do, the full
// re-plan is used and moves what it must.
func incremental(req scheduler.Request, full []scheduler.Placement, pending []followup.Step, isFresh func(int) bool) ([]scheduler.Placement, bool) {
	fullBy := map[int]scheduler.Placement{}
	task := map[int]scheduler.Task{}
	for i, f := range full {
		fullBy[f.Key] = f
		task[req.Tasks[i].Key] = req.Tasks[i]
	}
	// Existing blocks keep their place while it is still good: in the
	// future and clear of busy time (a new meeting may now overlap it).
	var current []followup.Interval
	var currentKeys []int
	for _, t := range req.Tasks {
		p := pending[t.Key]
		if !isFresh(t.Key) && p.End.After(p.Start) && p.Start.After(req.Now) {
			current = append(current, followup.Interval{Start: p.Start, End: p.End})
			currentKeys = append(currentKeys, t.Key)
		}
	}
	keep := map[int]bool{}
	for _, k := range currentKeys {
		keep[k] = true
	}
	for _, c := range scheduler.Conflicts(current, req.Busy, req.Settings) {
		delete(keep, currentKeys[c])
	}
	claims := scheduler.HourClaims(req)
	priority := scheduler.ComparePriority(req)
	inHour := func(start, end time.Time) bool {
		return scheduler.InFollowupHour(start, end, req.Settings, req.Loc)
	}
	for range 6 {
		inc := req
		inc.Blocks = append([]followup.Interval(nil), req.Blocks...)
		inc.Tasks = nil
		for _, t := range req.Tasks {
			if keep[t.Key] {
				p := pending[t.Key]
				inc.Blocks = append(inc.Blocks, followup.Interval{Start: p.Start, End: p.End})
			} else {
				inc.Tasks = append(inc.Tasks, t)
			}
		}
		placed := map[int]scheduler.Placement{}
		for _, pl := range scheduler.Plan(inc) {
			placed[pl.Key] = pl
		}
		// The first step that falls short, and what it needs.
		short, wantHour := -1, false
		spares := lateInFullOnly(req, fullBy, placed, pending, keep)
		for _, t := range inc.Tasks {
			f, got := fullBy[t.Key], placed[t.Key]
			if !f.OK {
				continue
			}
			if !got.OK || (got.Late && !f.Late && !spares.take(t)) {
				short = t.Key
				break
			}
			if isFresh(t.Key) && claims(t, f) && !claims(t, got) {
				short, wantHour = t.Key, true
				break
			}
		}
		if short < 0 {
			out := make([]scheduler.Placement, len(full))
			for i, f := range full {
				if keep[f.Key] {
					p := pending[f.Key]
					out[i] = scheduler.Placement{Key: f.Key, Start: p.Start, End: p.End, Late: p.Late, OK: true}
				} else {
					out[i] = placed[f.Key]
				}
			}
			// A kept block of lower priority in a slot a block needs more
			// (a starred refresher logged after the hour filled, a late
			// block behind one due later) is released to be placed again.
			_, lower, found := scheduler.Inversion(req, out)
			if !found {
				return out, true
			}
			if !keep[lower] {
				return nil, false
			}
			delete(keep, lower)
			continue
		}
		// Release the least urgent kept block in the way: due after the
		// step that falls short (or due with it but of lower priority, such
		// as unstarred), and lying where that step could go.
		need := task[short]
		from := need.NotBefore
		if req.Now.After(from) {
			from = req.Now
		}
		less := func(t scheduler.Task) bool {
			return t.Due.After(need.Due) || (t.Due.Equal(need.Due) && priority(t, need) > 0)
		}
		victim := -1
		for k := range keep {
			t, p := task[k], pending[k]
			if !less(t) || !p.Start.Before(need.Due) || !p.End.After(from) {
				continue
			}
			if wantHour && !inHour(p.Start, p.End) {
				continue
			}
			if victim < 0 || t.Due.After(task[victim].Due) ||
				(t.Due.Equal(task[victim].Due) && (priority(t, task[victim]) > 0 ||
					(priority(t, task[victim]) == 0 && p.Start.After(pending[victim].Start)))) {
				victim = k
			}
		}
		if victim < 0 {
			return nil, false
		}
		delete(keep, victim)
	}
	return nil, false
}

// spares are tasks that the full re-plan makes late and a grown plan does
// not. A task late in the grown plan but on time in the full one falls short
// only without a spare of the same priority: among equals, which is late is
// no rule, and the full re-plan would move every block after it to choose.
type spares struct {
	same  func(a, b scheduler.Task) bool
	tasks []scheduler.Task
}

// lateInFullOnly returns the spares of a grown plan: the tasks placed
// (placed) or kept (keep, at their stored place) on time that the full
// re-plan (full) makes late.
func lateInFullOnly(req scheduler.Request, full, placed map[int]scheduler.Placement, pending []followup.Step, keep map[int]bool) *spares {
	sp := &spares{same: scheduler.SamePriority(req)}
	for _, t := range req.Tasks {
		f := full[t.Key]
		if !f.OK || !f.Late {
			continue
		}
		if keep[t.Key] {
			if !pending[t.Key].Late {
				sp.tasks = append(sp.tasks, t)
			}
		} else if got := placed[t.Key]; got.OK && !got.Late {
			sp.tasks = append(sp.tasks, t)
		}
	}
	return sp
}

// take uses up a spare of t's priority, if one is left.
func (sp *spares) take(t scheduler.Task) bool {
	for i, o := range sp.tasks {
		if sp.same(t, o) {
			sp.tasks = append(sp.tasks[:i], sp.tasks[i+1:]...)
			return true
		}
	}
	return false
}

// calendarOf returns the user's CalDAV connection, or nil without one.
func calendarOf(ctx context.Context, q followup.Queries, userID int64) (*followup.CalDAVConnection, error) {
	conn, err := q.CalDAV(ctx, userID)
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &conn, nil
}

// enqueueSteps queues a calendar write for each block step, in the caller's
// transaction, when the user has a CalDAV calendar to write to.
func (s *Service) enqueueSteps(ctx context.Context, q followup.Queries, userID int64, steps []followup.Step) error {
	if s.Calendars == nil || len(steps) == 0 {
		return nil
	}
	conn, err := calendarOf(ctx, q, userID)
	if err != nil {
		return err
	}
	return s.enqueueTo(ctx, q, userID, conn, steps)
}

// enqueueTo is enqueueSteps with the connection known (nil: none).
func (s *Service) enqueueTo(ctx context.Context, q followup.Queries, userID int64, conn *followup.CalDAVConnection, steps []followup.Step) error {
	if s.Calendars == nil || conn == nil || conn.CalendarURL == "" {
		return nil
	}
	blocks := 0
	for _, st := range steps {
		if !st.Kind.IsBlock() {
			continue
		}
		blocks++
		if err := q.Enqueue(ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: userID, UID: st.UID}); err != nil {
			return err
		}
	}
	if blocks == 0 {
		return nil
	}
	// Commitments changed: the habits that name people may say otherwise now.
	return s.enqueueHabitTexts(ctx, q, userID)
}

package service

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

// A create places its steps in the user's calendar kept in memory
// (scheduler.Calendar, issue 13, flat create cost): read once per plan
// version, it is brought up to date by each create that stores at that
// version, and read again only after another write.
const (
	// maxBlockLength is the longest a pending step lasts (an agreed meeting
	// is at most 10 hours): a block overlapping now starts at most this
	// long before it.
	maxBlockLength = 24 * time.Hour
	// calendarYears is how far ahead the calendar reads placed blocks: all
	// of them (a confirm may be placed a search horizon after a meeting
	// months ahead).
	calendarYears = 5
	// calendarRebuild is how long a calendar serves before it is read
	// again: the habits' occurrences are read for the search horizon from
	// when it was read.
	calendarRebuild = 24 * time.Hour
	// DefaultReplanQuiet is the ReplanQuiet of the service that cmd wires.
	DefaultReplanQuiet = 10 * time.Second
	// freshKey numbers the new steps in a calendar until they are stored:
	// above every id, as they come after every stored step in Plan's order.
	freshKey = 1 << 62
)

// windowPlan is a new commitment's steps placed in the user's calendar.
type windowPlan struct {
	planOutcome
	// keys are the calendar keys of the placed steps (by index in fresh);
	// zero for a step not in the calendar.
	keys []int
	// replan is set when the placement could not keep every rule: the full
	// re-plan runs as a background job.
	replan bool
	// rebuild is set when the plan is not the calendar's: the calendar is
	// made again from the rows once it is stored.
	rebuild bool
}

// loadCalendar reads the user's calendar: the busy time, the habits'
// occurrences and every placed pending block, with the facts their
// priority needs, and the CalDAV calendar blocks are written to.
func loadCalendar(ctx context.Context, q followup.Queries, userID int64, st followup.Settings, loc *time.Location, now time.Time) (*planSnapshot, error) {
	external, err := externalBusy(ctx, q, userID, loc)
	if err != nil {
		return nil, err
	}
	from, to := now.Add(-maxBlockLength), now.AddDate(calendarYears, 0, 0)
	rows, facts, err := q.PlanningWindow(ctx, userID, from, to)
	if err != nil {
		return nil, err
	}
	habits, err := habitIntervals(ctx, q, userID, loc, now, now.AddDate(0, 0, scheduler.Horizon+30))
	if err != nil {
		return nil, err
	}
	conn, err := calendarOf(ctx, q, userID)
	if err != nil {
		return nil, err
	}
	sn := &planSnapshot{built: now, from: from, to: to, rows: make(map[int64]followup.Step, len(rows)), facts: facts,
		external: external, habits: habits}
	if conn != nil {
		sn.calendar = &followup.CalDAVConnection{UserID: conn.UserID, CalendarURL: conn.CalendarURL}
	}
	for _, p := range rows {
		sn.rows[p.ID] = p
	}
	sn.rebuild(st, loc)
	return sn, nil
}

// rebuild makes the snapshot's calendar from its rows, busy time and
// habits.
func (sn *planSnapshot) rebuild(st followup.Settings, loc *time.Location) {
	sn.st, sn.loc = st, loc
	busy := append([]followup.Interval(nil), sn.external...)
	var entries []scheduler.Entry
	for _, p := range sn.rows {
		if p.Kind == followup.KindMeeting {
			busy = append(busy, followup.Interval{Start: p.Start, End: p.End, Source: "meeting"})
			continue
		}
		entries = append(entries, sn.entry(p))
	}
	sn.cal = scheduler.NewCalendar(st, loc, busy, sn.habits, entries)
	sn.dirty = false
}

// entry is a placed block row as the calendar keeps it.
func (sn *planSnapshot) entry(p followup.Step) scheduler.Entry {
	return scheduler.Entry{
		ID: p.ID, Task: scheduler.NewTask(int(p.ID), p, sn.facts[p.CommitmentID], sn.st),
		Start: p.Start, End: p.End, Late: p.Late,
		Written: p.Status == followup.StepSynced, Pinned: p.Pinned,
	}
}

// placeInCalendar places in.fresh in the user's calendar sn: in free time,
// or in the slot of a less urgent block, which moves (see
// scheduler.Calendar). It changes sn.cal, and writes nothing; the caller
// stores the outcome only if the plan version sn was read at still holds.
func placeInCalendar(ctx context.Context, q followup.Queries, in planInput, sn *planSnapshot) (windowPlan, error) {
	fresh := append([]followup.Step(nil), in.fresh...)
	plan, err := placeLocally(in, sn)
	if err != nil || lateSteps(plan.fresh) == 0 {
		return plan, errors.Join(err, followMovedNudges(ctx, q, in, &plan.planOutcome))
	}
	in.fresh = fresh
	exact, ok, err := planWindowExactly(in, sn)
	if err != nil {
		return windowPlan{}, err
	}
	if ok && !exact.unplaced && lateSteps(exact.fresh) < lateSteps(plan.fresh) {
		// The calendar has the local placement: it is made again from
		// the rows once this plan is stored.
		exact.rebuild = true
		plan = exact
	}
	return plan, followMovedNudges(ctx, q, in, &plan.planOutcome)
}

// maxExactWindow bounds the blocks of a window planned exactly, and
// maxExactCalendar the blocks of a calendar whose windows are (so that
// finding the window does not cost a create more than placing its steps).
const (
	maxExactWindow   = 64
	maxExactCalendar = 256
)

// windowSlack leaves room past the new steps' deadlines in a window
// planned exactly, for a block placed late.
const windowSlack = 24 * time.Hour

// planWindowExactly plans the new steps with every movable block between
// now and their latest deadline (plus windowSlack) again, with computePlan:
// in a small window, a new step is then late only if the full plan has it
// late too, which placing it locally does not promise. ok is false when
// the window holds more than maxExactWindow blocks.
func planWindowExactly(in planInput, sn *planSnapshot) (windowPlan, bool, error) {
	if sn.cal.Len() > maxExactCalendar {
		return windowPlan{}, false, nil
	}
	end := latestDeadline(in.fresh, in.now).Add(windowSlack)
	inWindow := func(p followup.Step) bool { return p.End.After(in.now) && p.Start.Before(end) }
	// Counted before copied: most calendars this far hold too many.
	n := 0
	for _, p := range sn.rows {
		if inWindow(p) {
			if n++; n > maxExactWindow {
				return windowPlan{}, false, nil
			}
		}
	}
	stored := make([]followup.Step, 0, n)
	for _, p := range sn.rows {
		if inWindow(p) {
			stored = append(stored, p)
		}
	}
	slices.SortFunc(stored, func(a, b followup.Step) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.ID, b.ID))
	})
	src := planSource{
		stored:   stored,
		external: sn.external,
		habits:   func() ([]followup.Interval, error) { return sn.habits, nil },
		facts: func(ids []int64) (map[int64]followup.Commitment, error) {
			out := make(map[int64]followup.Commitment, len(ids))
			for _, id := range ids {
				out[id] = sn.facts[id]
			}
			return out, nil
		},
		walls: []followup.Interval{{Start: end, End: end.AddDate(0, 0, scheduler.Horizon+30)}},
	}
	out, err := computePlan(in, src)
	return windowPlan{planOutcome: out}, true, err
}

// lateSteps counts the late block steps of steps.
func lateSteps(steps []followup.Step) int {
	n := 0
	for _, p := range steps {
		if p.Kind.IsBlock() && p.Late {
			n++
		}
	}
	return n
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

// placeLocally places in.fresh in the calendar of sn (see
// placeInCalendar).
func placeLocally(in planInput, sn *planSnapshot) (windowPlan, error) {
	plan := windowPlan{planOutcome: planOutcome{fresh: in.fresh}, keys: make([]int, len(in.fresh))}
	var busy []followup.Interval
	var tasks []scheduler.Task
	var idx []int
	for i, p := range in.fresh {
		switch {
		case p.Kind == followup.KindMeeting:
			busy = append(busy, followup.Interval{Start: p.Start, End: p.End, Source: "meeting"})
		case p.Kind.IsBlock():
			plan.keys[i] = freshKey + i
			tasks = append(tasks, scheduler.NewTask(plan.keys[i], p, *in.c, in.st))
			idx = append(idx, i)
		}
	}
	placements, moves, capped := sn.cal.Place(in.now, busy, tasks)
	plan.replan = capped
	for j, pl := range placements {
		i := idx[j]
		applyPlacement(&plan.fresh[i], pl, true, in.st, in.now)
		if !pl.OK {
			plan.keys[i] = 0
		}
	}
	for _, m := range moves {
		if m.ID >= freshKey {
			// A new step that a more urgent new step released.
			i := int(m.ID - freshKey)
			applyPlacement(&plan.fresh[i], m.Placement, true, in.st, in.now)
			if !m.OK {
				plan.keys[i] = 0
			}
			continue
		}
		p, ok := sn.rows[m.ID]
		if !ok {
			continue
		}
		if applyPlacement(&p, m.Placement, false, in.st, in.now) {
			plan.changed = append(plan.changed, p)
		}
	}
	return plan, nil
}

// followMovedNudges adds to out.changed the close of each commitment whose
// nudge moved: the calendar holds no close steps, which come
// CloseAfterDays after their nudge.
func followMovedNudges(ctx context.Context, q followup.Queries, in planInput, out *planOutcome) error {
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
//
// While the user is logging commitments here (the last one less than
// ReplanQuiet ago), it is put off: a burst of creates is re-planned once,
// after it. Another instance does not know of the creates here and
// re-plans at once.
func (s *Service) replanInBackground(ctx context.Context, userID int64) error {
	if last, ok := s.lastCreates.Load(userID); ok && s.ReplanQuiet > 0 {
		if wait := last.(time.Time).Add(s.ReplanQuiet).Sub(s.now()); wait > 0 {
			return followup.RetryLater(wait, errors.New("service: the user is logging commitments; re-planning after"))
		}
	}
	unlock := s.lockPlan(userID)
	defer unlock()
	defer s.plans().drop(userID)
	err := s.replanOutsideWriter(ctx, userID)
	if errors.Is(err, errPlanStale) || errors.Is(err, errHabitsInWriter) {
		err = s.Store.InTx(ctx, func(q followup.Queries) error {
			if wanted, err := q.TakeReplan(ctx, userID); err != nil || !wanted {
				return err
			}
			return s.replan(ctx, q, userID, s.now())
		})
	}
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return nil
	}
	return err
}

// errHabitsInWriter says that a re-plan places habits too, which it does
// inside the store's writer.
var errHabitsInWriter = errors.New("service: habits are re-planned in the writer")

// replanOutsideWriter is the background re-plan of a user without habits:
// it reads and plans outside the store's single writer, so that creates
// of other users are not held up while a large calendar is planned, and
// stores the moves only if the user's plan version is still the one read
// (errPlanStale otherwise).
func (s *Service) replanOutsideWriter(ctx context.Context, userID int64) error {
	now := s.now()
	version, err := s.Store.PlanVersion(ctx, userID)
	if err != nil {
		return err
	}
	st, loc, err := settings(ctx, s.Store, userID)
	if err != nil {
		return err
	}
	if anyHabitOn(st.Habits) {
		return errHabitsInWriter
	}
	if series, err := s.Store.HabitSeries(ctx, userID); err != nil || len(series) > 0 {
		return cmp.Or(err, errHabitsInWriter)
	}
	in := planInput{userID: userID, st: st, loc: loc, now: now}
	out, err := s.planOf(ctx, s.Store, &in)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(q followup.Queries) error {
		// Claimed first: taking the wish raises the plan version too.
		if ok, err := q.ClaimPlan(ctx, userID, version); err != nil || !ok {
			return cmp.Or(err, errPlanStale)
		}
		if wanted, err := q.TakeReplan(ctx, userID); err != nil || !wanted {
			return err
		}
		conn, err := calendarOf(ctx, q, userID)
		if err != nil {
			return err
		}
		in.conn = conn
		return s.storeMoves(ctx, q, in, out.changed)
	})
}

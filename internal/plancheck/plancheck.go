// Package plancheck states the rules of a plan as cadence.md words them, for
// tests: a plan made from scratch (scheduler.Plan) and one grown commitment
// by commitment (the service's incremental placement) must both keep them,
// even where their blocks differ. It is written apart from the scheduler,
// the slow and obvious way, so that it can catch the scheduler out.
package plancheck

import (
	"cmp"
	"fmt"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

// Check returns a sentence for every rule pls breaks; pls[i] places
// req.Tasks[i]. The rules:
//
//   - No block overlaps another, the fixed blocks or busy time (with the
//     buffer); every block is inside working hours (a late confirm may not
//     be); Late says whether a block ends after its Due.
//   - Earliest deadline first: a late block could not be on time in the
//     slot of a block of lower priority (a refresher or nudge in the
//     follow-up hour keeps its slot against other kinds).
//   - Follow-up hour: a refresher or nudge outside the follow-up hour it
//     could have (before its Due, or on its first working day when it is
//     overdue) does not see one of lower priority there.
//   - Late blocks in priority order: no block of lower priority starts
//     earlier in a slot a late block could take (refreshers and nudges in
//     the follow-up hour aside).
//
// Priority is (day, starred first, Due, MetAt): day is the local date of
// the Due, or of the first working moment when the Due is not after it.
func Check(req scheduler.Request, pls []scheduler.Placement) []string {
	c := newChecker(req, pls)
	var out []string
	out = append(out, c.layout()...)
	for a := range req.Tasks {
		for b := range req.Tasks {
			if a != b && c.pls[a].OK && c.pls[b].OK && c.higher(a, b) {
				out = append(out, c.pair(a, b)...)
			}
		}
	}
	return out
}

// checker holds what Check derives from the request.
type checker struct {
	req  scheduler.Request
	pls  []scheduler.Placement
	loc  *time.Location
	work followup.Span
	hour followup.Span
}

func newChecker(req scheduler.Request, pls []scheduler.Placement) *checker {
	loc := req.Loc
	if loc == nil {
		loc = time.UTC
	}
	return &checker{req: req, pls: pls, loc: loc, work: req.Settings.WorkHours, hour: req.Settings.FollowupHour}
}

// layout checks overlaps, working hours and the Late flags.
func (c *checker) layout() []string {
	var out []string
	buf := time.Duration(c.req.Settings.BufferMinutes) * time.Minute
	var taken []followup.Interval
	for _, b := range c.req.Busy {
		b = scheduler.WholeDays(b, c.loc)
		taken = append(taken, followup.Interval{Start: b.Start.Add(-buf), End: b.End.Add(buf)})
	}
	taken = append(taken, c.req.Blocks...)
	for i, p := range c.pls {
		if !p.OK {
			continue
		}
		t := c.req.Tasks[i]
		block := followup.Interval{Start: p.Start, End: p.End}
		for _, o := range taken {
			if block.Overlaps(o) {
				out = append(out, fmt.Sprintf("%s %d at %v overlaps %v–%v", t.Kind, t.Key, c.at(p.Start), c.at(o.Start), c.at(o.End)))
			}
		}
		taken = append(taken, block)
		lateConfirm := t.Kind == followup.KindConfirm && !t.LateUntil.IsZero() && p.Late
		if !lateConfirm && !c.in(c.work, p.Start, p.End) {
			out = append(out, fmt.Sprintf("%s %d at %v is outside working hours", t.Kind, t.Key, c.at(p.Start)))
		}
		if !lateConfirm && !t.Due.IsZero() && p.Late != p.End.After(t.Due) {
			out = append(out, fmt.Sprintf("%s %d ends %v, due %v, but Late is %v", t.Kind, t.Key, c.at(p.End), c.at(t.Due), p.Late))
		}
	}
	return out
}

// pair checks the rules between task a and task b of lower priority.
func (c *checker) pair(a, b int) []string {
	ta, pa, pb := c.req.Tasks[a], c.pls[a], c.pls[b]
	if ta.Duration > pb.End.Sub(pb.Start) || !c.fits(a, pb.Start) {
		return nil
	}
	tb := c.req.Tasks[b]
	s := pb.Start
	var out []string
	say := func(rule string) {
		out = append(out, fmt.Sprintf("%s: %s %d (starred %v, due %v) at %v, but %s %d (starred %v, due %v) of lower priority has %v",
			rule, ta.Kind, ta.Key, ta.Starred, c.at(ta.Due), c.at(pa.Start), tb.Kind, tb.Key, tb.Starred, c.at(tb.Due), c.at(s)))
	}
	if pa.Late && c.onTime(a, s) && !(c.reserved(b) && !followupKind(ta.Kind)) {
		say("earliest deadline first")
	}
	if followupKind(ta.Kind) && followupKind(tb.Kind) && c.hourFor(a, s) && !c.hourFor(a, pa.Start) {
		say("follow-up hour, starred first")
	}
	if pa.Late && ta.Kind != followup.KindConfirm && !c.reserved(a) && !c.reserved(b) && s.Before(pa.Start) {
		say("late blocks in priority order")
	}
	return out
}

// fits reports whether task a could start at s: not before its earliest
// start, inside working hours and, for a confirm, before the meeting.
func (c *checker) fits(a int, s time.Time) bool {
	t := c.req.Tasks[a]
	end := s.Add(t.Duration)
	if s.Before(c.earliest(a)) || !c.in(c.work, s, end) {
		return false
	}
	return t.LateUntil.IsZero() || !end.After(t.LateUntil)
}

// onTime reports whether task a would end by its Due starting at s.
func (c *checker) onTime(a int, s time.Time) bool {
	t := c.req.Tasks[a]
	return t.Due.IsZero() || !s.Add(t.Duration).After(t.Due)
}

// hourFor reports whether a slot at s is one of the follow-up hours a
// refresher or nudge a may claim: before its Due, or, when it is overdue,
// on its first working day.
func (c *checker) hourFor(a int, s time.Time) bool {
	t := c.req.Tasks[a]
	end := s.Add(t.Duration)
	if t.Due.IsZero() || !c.in(c.hour, s, end) || !c.in(c.work, s, end) {
		return false
	}
	if !end.After(t.Due) {
		return true
	}
	first, ok := c.firstWork(a)
	if !ok || t.Due.After(first) {
		return false
	}
	return c.date(s) == c.date(first)
}

// reserved reports whether task i is a refresher or nudge in a follow-up hour.
func (c *checker) reserved(i int) bool {
	p := c.pls[i]
	return followupKind(c.req.Tasks[i].Kind) && c.in(c.hour, p.Start, p.End) && c.in(c.work, p.Start, p.End)
}

// higher reports whether task a has strictly higher priority than task b.
func (c *checker) higher(a, b int) bool {
	x, y := c.req.Tasks[a], c.req.Tasks[b]
	if d := cmp.Compare(c.day(a), c.day(b)); d != 0 {
		return d < 0
	}
	if x.Starred != y.Starred {
		return x.Starred
	}
	if d := x.Due.Compare(y.Due); d != 0 {
		return d < 0
	}
	return x.MetAt.Before(y.MetAt)
}

// day is the local date task i competes on, as yyyymmdd.
func (c *checker) day(i int) int {
	t := c.req.Tasks[i]
	if t.Due.IsZero() {
		return 1 << 40
	}
	if first, ok := c.firstWork(i); ok && !t.Due.After(first) {
		return c.date(first)
	}
	return c.date(t.Due)
}

// earliest is a task's earliest start: NotBefore or now, whole seconds.
func (c *checker) earliest(i int) time.Time {
	e := c.req.Tasks[i].NotBefore
	if c.req.Now.After(e) {
		e = c.req.Now
	}
	if e.Nanosecond() > 0 {
		e = e.Truncate(time.Second).Add(time.Second)
	}
	return e
}

// firstWork returns the first moment inside working hours at or after task
// i's earliest start.
func (c *checker) firstWork(i int) (time.Time, bool) {
	e := c.earliest(i).In(c.loc)
	y, m, d := e.Date()
	for k := range scheduler.Horizon + 1 {
		ws, we, ok := c.window(c.work, y, m, d+k)
		if ok && we.After(e) {
			if ws.Before(e) {
				return e, true
			}
			return ws, true
		}
	}
	return time.Time{}, false
}

// window returns span sp's window on the local date y-m-d.
func (c *checker) window(sp followup.Span, y int, m time.Month, d int) (start, end time.Time, ok bool) {
	noon := time.Date(y, m, d, 12, 0, 0, 0, c.loc)
	if !sp.Weekdays()[noon.Weekday()] {
		return time.Time{}, time.Time{}, false
	}
	start = time.Date(y, m, d, sp.Start.Hour, sp.Start.Minute, 0, 0, c.loc)
	end = time.Date(y, m, d, sp.End.Hour, sp.End.Minute, 0, 0, c.loc)
	return start, end, end.After(start)
}

// in reports whether [s, e) lies inside one window of sp.
func (c *checker) in(sp followup.Span, s, e time.Time) bool {
	y, m, d := s.In(c.loc).Date()
	ws, we, ok := c.window(sp, y, m, d)
	return ok && !s.Before(ws) && !e.After(we)
}

// date returns t's local date as yyyymmdd.
func (c *checker) date(t time.Time) int {
	y, m, d := t.In(c.loc).Date()
	return y*10000 + int(m)*100 + d
}

// at formats t in the user's zone.
func (c *checker) at(t time.Time) string { return t.In(c.loc).Format("Mon 02 Jan 15:04 MST") }

// followupKind reports whether k prefers the follow-up hour.
func followupKind(k followup.StepKind) bool {
	return k == followup.KindRefresher || k == followup.KindNudge
}

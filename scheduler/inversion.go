package scheduler

import (
	"time"

	"github.com/followup/followup"
)

// Inversion looks for a pair of placements that Plan, placing in priority
// order, would not leave so, and returns the keys: task a holds a worse slot
// than the one task b, of lower priority, holds. pls[i] places req.Tasks[i].
// Worse means one of:
//   - a is late, and would be on time in b's slot (unless b is a refresher
//     or nudge in the follow-up hour and a is not);
//   - a is a refresher or nudge outside the follow-up hour it may claim (before
//     its Due, or on its first working day when overdue) and b's slot is in
//     such an hour;
//   - a is late and b's slot starts earlier (confirms, and refreshers and
//     nudges in the follow-up hour, aside).
//
// In each case a must fit b's slot: no longer than b, not before a's
// earliest start, inside working hours and, for a confirm, before the
// meeting. A plan made by Plan has no inversion; one grown around blocks
// that stayed put may.
func Inversion(req Request, pls []Placement) (a, b int, found bool) {
	p := newPlanner(req)
	keys := make([]sortKey, len(req.Tasks))
	for i, t := range req.Tasks {
		keys[i] = p.sortKey(t)
		keys[i].key = 0 // equal priorities are no inversion
	}
	for i := range req.Tasks {
		for j := range req.Tasks {
			if i != j && pls[i].OK && pls[j].OK && keys[i].compare(keys[j]) < 0 && p.inverted(req, pls, i, j) {
				return req.Tasks[i].Key, req.Tasks[j].Key, true
			}
		}
	}
	return 0, 0, false
}

// inverted reports whether task i, of higher priority, holds a worse slot
// than task j.
func (p *planner) inverted(req Request, pls []Placement, i, j int) bool {
	ti, tj := req.Tasks[i], req.Tasks[j]
	pi, pj := pls[i], pls[j]
	dur := time.Duration(p.duration(ti)) * time.Second
	s := pj.Start
	if dur > pj.End.Sub(pj.Start) || !p.fits(ti, s, dur) {
		return false
	}
	onTime := ti.Due.IsZero() || !s.Add(dur).After(ti.Due)
	if pi.Late && onTime && !(p.inHour(tj, pj.Start, pj.End) && !prefersHour(ti.Kind)) {
		return true
	}
	if prefersHour(ti.Kind) && prefersHour(tj.Kind) && p.claimsHour(ti, s, dur) && !p.claimsHour(ti, pi.Start, pi.End.Sub(pi.Start)) {
		return true
	}
	return pi.Late && ti.Kind != followup.KindConfirm && s.Before(pi.Start) &&
		!p.inHour(ti, pi.Start, pi.End) && !p.inHour(tj, pj.Start, pj.End)
}

// duration is a task's length in seconds.
func (p *planner) duration(t Task) int64 {
	dur, _, _ := p.bounds(t)
	return dur
}

// fits reports whether t could take [s, s+dur): not before its earliest
// start, inside working hours and, for a confirm, before the meeting.
func (p *planner) fits(t Task, s time.Time, dur time.Duration) bool {
	_, earliest, _ := p.bounds(t)
	end := s.Add(dur)
	if s.Unix() < earliest || !p.within(p.work, s, end) {
		return false
	}
	return t.LateUntil.IsZero() || !end.After(t.LateUntil)
}

// claimsHour reports whether [s, s+dur) is a follow-up hour slot refresher
// or nudge t may claim: ending by its Due or, when t is overdue, on its
// first working day.
func (p *planner) claimsHour(t Task, s time.Time, dur time.Duration) bool {
	end := s.Add(dur)
	if t.Due.IsZero() || !p.within(p.follow, s, end) {
		return false
	}
	if !end.After(t.Due) {
		return true
	}
	_, earliest, _ := p.bounds(t)
	at, dayEnd, ok := p.firstWork(earliest)
	return ok && floorUnix(t.Due) <= at && end.Unix() <= dayEnd
}

// inHour reports whether t is a refresher or nudge and [s, e) lies in a
// follow-up hour: such a block keeps its slot against other kinds.
func (p *planner) inHour(t Task, s, e time.Time) bool {
	return prefersHour(t.Kind) && p.within(p.follow, s, e)
}

// within reports whether [s, e) lies inside one window of sp.
func (p *planner) within(sp daySpan, s, e time.Time) bool {
	ws, we, ok := sp.on(s, p.loc)
	return ok && !s.Before(ws) && !e.After(we)
}

// prefersHour reports whether blocks of kind k prefer the follow-up hour.
func prefersHour(k followup.StepKind) bool {
	return k == followup.KindRefresher || k == followup.KindNudge
}

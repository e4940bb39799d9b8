// Package scheduler is the cadence engine of cadence.md as pure functions:
// it derives the steps of a commitment (Steps, AfterContacted) and places
// their blocks in the user's free working time (Plan). It does no I/O and
// never reads the clock: the current time is always a parameter.
//
// All wall-clock arithmetic happens in the user's *time.Location with
// time.Date and AddDate, so that a 09:00 follow-up hour is 09:00 local time
// on both sides of a daylight-saving change. A wall-clock time that does not
// exist (it falls in the spring-forward gap) means the moment the clocks
// jumped; an ambiguous one (the fall-back overlap) means its first occurrence.
//
// The functions assume settings that passed followup.Settings.Validate; they
// never panic on others but may then plan nothing useful.
package scheduler

import (
	"fmt"
	"time"

	"github.com/followup/followup"
)

// dateFormat is how dates appear in person-readable warnings.
const dateFormat = "Mon 2 Jan 2006 15:04 MST"

// Deadline resolves the commitment's deadline: c.Due if set, else met +
// s.DefaultDueDays days (AddDate in loc, same local time). A deadline beyond
// met + s.LetGoAfterDays days (same local time) is clamped to it and a
// warning sentence for the person is returned; otherwise warning is "".
// The deadline is returned in loc.
func Deadline(c followup.Commitment, s followup.Settings, loc *time.Location) (due time.Time, warning string) {
	loc = orUTC(loc)
	met := c.MetAt.In(loc)
	due = c.Due.In(loc)
	if c.Due.IsZero() {
		due = met.AddDate(0, 0, s.DefaultDueDays)
	}
	limit := met.AddDate(0, 0, s.LetGoAfterDays)
	if due.After(limit) {
		warning = fmt.Sprintf("The deadline %s is more than %d days after you met, so it was moved to %s: a promise older than that is let go.",
			due.Format(dateFormat), s.LetGoAfterDays, limit.Format(dateFormat))
		due = limit
	}
	return due, warning
}

// Steps derives the steps of a newly logged commitment whose Due was already
// resolved by Deadline (a zero c.Due is resolved here the same way). Each
// step has Kind, Status planned, NotBefore and Due; the meeting also has
// Start and End at the agreed time, and let_go, a transition rather than a
// block, has Start == End. Block steps are not placed (Plan does that); UID
// and ID are left empty for the caller.
//
// The steps come in this order, each only when it applies:
//   - refresher: NotBefore = max(met, now), Due = met + 1 day.
//   - deliver (direction mine): NotBefore = now, Due = the deadline.
//   - chase (direction theirs): the whole working day after the deadline's
//     local date: NotBefore = its work start, Due = its work end.
//   - meeting (c.Meeting set): Start, End, NotBefore and Due at the agreed time.
//   - confirm (meeting at least 24 h after now, the logging time): the working
//     hours of the last working day strictly before the meeting's local date.
//     Its Task needs LateUntil = the meeting start (NewTask sets it).
//   - let_go: Start = End = NotBefore = Due = met + s.LetGoAfterDays days.
func Steps(c followup.Commitment, s followup.Settings, loc *time.Location, now time.Time) []followup.Step {
	loc = orUTC(loc)
	now = now.In(loc)
	met := c.MetAt.In(loc)
	deadline := c.Due.In(loc)
	if c.Due.IsZero() {
		deadline, _ = Deadline(c, s, loc)
	}
	work := newDaySpan(s.WorkHours)
	var steps []followup.Step

	steps = append(steps, followup.Step{
		Kind: followup.KindRefresher, Status: followup.StepPlanned,
		NotBefore: later(met, now), Due: met.AddDate(0, 0, 1),
	})
	switch c.Direction {
	case followup.Mine:
		steps = append(steps, followup.Step{
			Kind: followup.KindDeliver, Status: followup.StepPlanned,
			NotBefore: now, Due: deadline,
		})
	case followup.Theirs:
		if start, end, ok := work.nextDay(deadline, loc); ok {
			steps = append(steps, followup.Step{
				Kind: followup.KindChase, Status: followup.StepPlanned,
				NotBefore: start, Due: end,
			})
		}
	}
	if m := c.Meeting; m != nil {
		start, end := m.Start.In(loc), m.End().In(loc)
		steps = append(steps, followup.Step{
			Kind: followup.KindMeeting, Status: followup.StepPlanned,
			Start: start, End: end, NotBefore: start, Due: end,
		})
		if start.Sub(now) >= 24*time.Hour {
			if ws, we, ok := work.prevDay(start, loc); ok {
				steps = append(steps, followup.Step{
					Kind: followup.KindConfirm, Status: followup.StepPlanned,
					NotBefore: ws, Due: we,
				})
			}
		}
	}
	letGo := met.AddDate(0, 0, s.LetGoAfterDays)
	steps = append(steps, followup.Step{
		Kind: followup.KindLetGo, Status: followup.StepPlanned,
		Start: letGo, End: letGo, NotBefore: letGo, Due: letGo,
	})
	return steps
}

// AfterContacted returns the steps that follow marking the contact as
// contacted at contactedAt: the nudge and the close.
//
// The nudge's NotBefore is contactedAt + s.NudgeAfterDays days; when that
// moment is outside working hours, or less than the nudge's length of working
// time is left that day, it moves to the start of the next working day. Its
// Due is the end of that working day; Plan prefers the follow-up hour for it.
// The close has Start = End = NotBefore = Due = CloseAt(the nudge's Due); the
// caller may recompute it from the placed nudge's end. The steps depend only
// on the settings and contactedAt; c is taken for symmetry with Steps.
func AfterContacted(c followup.Commitment, s followup.Settings, loc *time.Location, contactedAt time.Time) []followup.Step {
	loc = orUTC(loc)
	work := newDaySpan(s.WorkHours)
	at := contactedAt.In(loc).AddDate(0, 0, s.NudgeAfterDays)
	need := s.Durations.For(followup.KindNudge)
	notBefore, due := at, time.Time{}
	ws, we, ok := work.on(at, loc)
	switch {
	case ok && at.Before(ws):
		notBefore, due = ws, we
	case ok && at.Before(we) && we.Sub(at) >= need:
		due = we
	default:
		if ws, we, ok := work.nextDay(at, loc); ok {
			notBefore, due = ws, we
		} else {
			// No working day at all: keep the moment and give it a day.
			due = at.AddDate(0, 0, 1)
		}
	}
	closeAt := CloseAt(due, s, loc)
	return []followup.Step{
		{Kind: followup.KindNudge, Status: followup.StepPlanned, NotBefore: notBefore, Due: due},
		{Kind: followup.KindClose, Status: followup.StepPlanned, Start: closeAt, End: closeAt, NotBefore: closeAt, Due: closeAt},
	}
}

// CloseAt returns when an unanswered cycle closes: nudgeEnd +
// s.CloseAfterDays days, same local time in loc.
func CloseAt(nudgeEnd time.Time, s followup.Settings, loc *time.Location) time.Time {
	return nudgeEnd.In(orUTC(loc)).AddDate(0, 0, s.CloseAfterDays)
}

// NewTask builds the Task that places step st of commitment c: Duration from
// s.Durations for the step's kind, NotBefore and Due from the step,
// LateUntil = the meeting start for a confirm, Starred = c.Priority and
// MetAt = c.MetAt.
func NewTask(key int, st followup.Step, c followup.Commitment, s followup.Settings) Task {
	t := Task{
		Key:       key,
		Kind:      st.Kind,
		Duration:  s.Durations.For(st.Kind),
		NotBefore: st.NotBefore,
		Due:       st.Due,
		Starred:   c.Priority,
		MetAt:     c.MetAt,
	}
	if st.Kind == followup.KindConfirm && c.Meeting != nil {
		t.LateUntil = c.Meeting.Start
	}
	return t
}

// orUTC returns loc, or UTC when loc is nil.
func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// daySpan is a followup.Span ready for lookups: a daily wall-clock window on
// some weekdays.
type daySpan struct {
	days       [7]bool
	start, end followup.Clock
}

// newDaySpan converts a settings span.
func newDaySpan(sp followup.Span) daySpan {
	return daySpan{days: sp.Weekdays(), start: sp.Start, end: sp.End}
}

// intersect returns the span of the days and times both spans cover.
func (d daySpan) intersect(o daySpan) daySpan {
	var r daySpan
	for i := range d.days {
		r.days[i] = d.days[i] && o.days[i]
	}
	r.start, r.end = d.start, d.end
	if o.start.Minutes() > r.start.Minutes() {
		r.start = o.start
	}
	if o.end.Minutes() < r.end.Minutes() {
		r.end = o.end
	}
	return r
}

// empty reports whether the span has no window on any day.
func (d daySpan) empty() bool {
	return d.days == [7]bool{} || d.end.Minutes() <= d.start.Minutes()
}

// window returns the span's window on the local date y-m-d (d may be out of
// range; time.Date normalizes it). ok is false when the date is not one of
// the span's days or the window is empty.
func (d daySpan) window(y int, m time.Month, day int, loc *time.Location) (start, end time.Time, ok bool) {
	// Noon is never in a DST transition, so it names the date's weekday.
	if !d.days[time.Date(y, m, day, 12, 0, 0, 0, loc).Weekday()] {
		return time.Time{}, time.Time{}, false
	}
	start, end = wall(y, m, day, d.start, loc), wall(y, m, day, d.end, loc)
	return start, end, end.After(start)
}

// on returns the span's window on t's local date.
func (d daySpan) on(t time.Time, loc *time.Location) (start, end time.Time, ok bool) {
	y, m, day := t.In(loc).Date()
	return d.window(y, m, day, loc)
}

// nextDay returns the window of the first span day strictly after t's local
// date, looking at most two weeks ahead.
func (d daySpan) nextDay(t time.Time, loc *time.Location) (start, end time.Time, ok bool) {
	y, m, day := t.In(loc).Date()
	for i := 1; i <= 14; i++ {
		if start, end, ok = d.window(y, m, day+i, loc); ok {
			return start, end, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// prevDay returns the window of the last span day strictly before t's local
// date, looking at most two weeks back.
func (d daySpan) prevDay(t time.Time, loc *time.Location) (start, end time.Time, ok bool) {
	y, m, day := t.In(loc).Date()
	for i := 1; i <= 14; i++ {
		if start, end, ok = d.window(y, m, day-i, loc); ok {
			return start, end, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// wall returns the wall-clock time c on the local date y-m-d in loc. 24:00
// is midnight at the end of the day. A time in a spring-forward gap is the
// moment the clocks jumped (time.Date alone would answer a time an hour
// early); an ambiguous time in a fall-back overlap is its first occurrence.
func wall(y int, m time.Month, d int, c followup.Clock, loc *time.Location) time.Time {
	h, mi := c.Hour, c.Minute
	if h >= 24 {
		d, h, mi = d+1, 0, 0
	}
	t := time.Date(y, m, d, h, mi, 0, 0, loc)
	if t.Hour() != h || t.Minute() != mi {
		// The wall clock skipped this time. time.Date resolved it in the zone
		// period before or after the jump; the jump is that period's end or
		// start.
		start, end := t.ZoneBounds()
		switch {
		case !end.IsZero() && end.After(t) && end.Sub(t) <= 3*time.Hour:
			t = end.In(loc)
		case !start.IsZero() && !start.After(t) && t.Sub(start) <= 3*time.Hour:
			t = start.In(loc)
		}
	}
	return t
}

// InFollowupHour reports whether the block [start, end) lies inside a daily
// follow-up hour (within working hours) in loc.
func InFollowupHour(start, end time.Time, s followup.Settings, loc *time.Location) bool {
	loc = orUTC(loc)
	sp := newDaySpan(s.WorkHours).intersect(newDaySpan(s.FollowupHour))
	ws, we, ok := sp.on(start, loc)
	return ok && !start.Before(ws) && !end.After(we)
}

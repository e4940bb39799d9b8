package scheduler

import (
	"time"

	"github.com/followup/followup"
)

// SeriesProbe is how many first occurrences choose a series' time of day:
// the time that leaves the fewest of them on busy time.
const SeriesProbe = 8

// SeriesRequest is the input of PlaceSeries.
type SeriesRequest struct {
	Habit followup.Habit
	// Settings gives the buffer around busy time and the working hours an
	// occurrence falls back to when its window is full that day.
	Settings followup.Settings
	// Loc is the user's zone; nil means UTC.
	Loc *time.Location
	Now time.Time
	// Until ends the planning window: occurrences starting before it are
	// checked against busy time and moved off it.
	Until time.Time
	// Busy are events with a buffer around them, Blocks the service's own
	// blocks that stay put, as in Request.
	Busy   []followup.Interval
	Blocks []followup.Interval
	// Clock, when set, is the series' time of day already chosen: only the
	// first occurrence and the moves are worked out again.
	Clock *followup.Clock
}

// SeriesPlacement is where a series went.
type SeriesPlacement struct {
	// Clock is the series' local time of day.
	Clock followup.Clock
	// First is the first occurrence after Now (DTSTART); zero when the
	// habit falls on no day within a year.
	First time.Time
	// Moves are the occurrences before Until that collide with busy time,
	// each moved to the free slot nearest its time on the same day: in the
	// habit's window, else in working hours. One without a free slot that
	// day stays where it is.
	Moves []Move
}

// Move is one occurrence of a series placed elsewhere.
type Move struct {
	// Original is the occurrence's start in the series (its RECURRENCE-ID).
	Original   time.Time
	Start, End time.Time
}

// PlaceSeries places a habit's recurring event in free time: it chooses
// the time of day in the habit's window (on the 5-minute grid) that the
// fewest of the first SeriesProbe occurrences find busy, the earliest of
// equals, and moves each later collision alone.
func PlaceSeries(req SeriesRequest) SeriesPlacement {
	loc := orUTC(req.Loc)
	occ := buildSpans(req.Busy, int64(req.Settings.BufferMinutes)*60, req.Blocks, loc)
	h := req.Habit
	clock := h.Start
	if req.Clock != nil {
		clock = *req.Clock
	} else {
		clock = bestClock(h, occ, loc, req.Now)
	}
	out := SeriesPlacement{Clock: clock}
	days := Occurrences(h, clock, loc, req.Now, req.Now.AddDate(1, 0, 0))
	if len(days) == 0 {
		return out
	}
	out.First = days[0]
	for _, start := range days {
		if !start.Before(req.Until) {
			break
		}
		end := start.Add(h.Duration())
		if free(occ, start, end) {
			continue
		}
		if s, ok := nearestFree(occ, start, h, req.Settings.WorkHours, loc); ok {
			out.Moves = append(out.Moves, Move{Original: start, Start: s, End: s.Add(h.Duration())})
		}
	}
	return out
}

// Occurrences returns the starts of a habit's occurrences at clock, in
// loc, that start after from and before to. Each is clock on its local
// date, so it keeps its local time across DST changes.
func Occurrences(h followup.Habit, clock followup.Clock, loc *time.Location, from, to time.Time) []time.Time {
	loc = orUTC(loc)
	var out []time.Time
	l := from.In(loc)
	for d := time.Date(l.Year(), l.Month(), l.Day(), 12, 0, 0, 0, loc); d.Before(to.Add(24 * time.Hour)); d = d.AddDate(0, 0, 1) {
		if !h.Occurs(d) {
			continue
		}
		start := clock.On(d.Year(), d.Month(), d.Day(), loc)
		if start.After(from) && start.Before(to) {
			out = append(out, start)
		}
	}
	return out
}

// bestClock is the time of day in the habit's window whose first
// occurrences collide least with occ.
func bestClock(h followup.Habit, occ []span, loc *time.Location, now time.Time) followup.Clock {
	best, bestHits := h.Start, -1
	for m := h.Start.Minutes(); m+h.Minutes <= h.End.Minutes(); m += slotSeconds / 60 {
		c := followup.Clock{Hour: m / 60, Minute: m % 60}
		hits := 0
		for i, start := range Occurrences(h, c, loc, now, now.AddDate(0, 3, 0)) {
			if i == SeriesProbe {
				break
			}
			if !free(occ, start, start.Add(h.Duration())) {
				hits++
			}
		}
		if bestHits < 0 || hits < bestHits {
			best, bestHits = c, hits
		}
		if hits == 0 {
			break
		}
	}
	return best
}

// free reports whether [start, end) overlaps no span of occ.
func free(occ []span, start, end time.Time) bool {
	lo, hi := floorUnix(start), ceilUnix(end)
	j := firstEndAfter(occ, lo)
	return j >= len(occ) || occ[j].s >= hi
}

// nearestFree finds the free start nearest to start on its local day: in
// the habit's window, else in working hours.
func nearestFree(occ []span, start time.Time, h followup.Habit, work followup.Span, loc *time.Location) (time.Time, bool) {
	l := start.In(loc)
	for _, w := range [][2]followup.Clock{{h.Start, h.End}, {work.Start, work.End}} {
		var best time.Time
		for m := w[0].Minutes(); m+h.Minutes <= w[1].Minutes(); m += slotSeconds / 60 {
			s := followup.Clock{Hour: m / 60, Minute: m % 60}.On(l.Year(), l.Month(), l.Day(), loc)
			if !free(occ, s, s.Add(h.Duration())) {
				continue
			}
			if best.IsZero() || s.Sub(start).Abs() < best.Sub(start).Abs() {
				best = s
			}
		}
		if !best.IsZero() {
			return best, true
		}
	}
	return time.Time{}, false
}

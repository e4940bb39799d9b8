package followup

import (
	"fmt"
	"time"
)

// ZoneObservance is one STANDARD or DAYLIGHT component of a VTIMEZONE
// (RFC 5545 §3.6.5): the onsets at which the zone switches to an offset.
type ZoneObservance struct {
	Daylight bool
	// Name is the zone's abbreviation after the onset (TZNAME), e.g. "CEST".
	Name string
	// OffsetFrom and OffsetTo are the UTC offsets before and after the
	// onset, in seconds east of UTC (TZOFFSETFROM, TZOFFSETTO).
	OffsetFrom, OffsetTo int
	// Start is the first onset as local wall-clock time before it (in
	// OffsetFrom), held in a UTC value: DTSTART is written without zone.
	Start time.Time
	// RRule is the yearly rule of the later onsets when they follow one,
	// e.g. "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"; otherwise RDates lists them,
	// as local wall-clock times like Start.
	RRule  string
	RDates []time.Time
}

// ZoneObservances describes loc as VTIMEZONE components from Go's tzdata,
// for the onsets from the start of from's year through the end of the
// year years later. When the onsets of one kind follow a yearly rule (the
// same month, weekday and week of the month, or the last such weekday, at
// the same local time every year), it is written as an RRULE, which
// covers the years after too; otherwise each onset is an RDATE. A zone
// without onsets in that time gets one STANDARD component with its
// offset from 1970.
func ZoneObservances(loc *time.Location, from time.Time, years int) []ZoneObservance {
	y := from.In(loc).Year()
	start := time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	end := time.Date(y+years+1, 1, 1, 0, 0, 0, 0, loc)
	type onset struct {
		at       time.Time
		from, to int
		name     string
		dst      bool
	}
	var onsets []onset
	for t := start; ; {
		_, next := t.In(loc).ZoneBounds()
		if next.IsZero() || !next.Before(end) {
			break
		}
		_, off0 := t.In(loc).Zone()
		name, off1 := next.In(loc).Zone()
		onsets = append(onsets, onset{at: next, from: off0, to: off1, name: name, dst: next.In(loc).IsDST()})
		t = next
	}
	if len(onsets) == 0 {
		name, off := from.In(loc).Zone()
		return []ZoneObservance{{Name: name, OffsetFrom: off, OffsetTo: off, Start: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)}}
	}
	var out []ZoneObservance
	index := map[string]int{}
	for _, o := range onsets {
		wall := o.at.Add(time.Duration(o.from) * time.Second).UTC()
		key := fmt.Sprint(o.dst, o.name, o.from, o.to)
		i, ok := index[key]
		if !ok {
			index[key] = len(out)
			out = append(out, ZoneObservance{Daylight: o.dst, Name: o.name, OffsetFrom: o.from, OffsetTo: o.to, Start: wall})
			continue
		}
		out[i].RDates = append(out[i].RDates, wall)
	}
	for i := range out {
		if rule, ok := yearlyRule(out[i].Start, out[i].RDates); ok {
			out[i].RRule, out[i].RDates = rule, nil
		}
	}
	return out
}

// yearlyRule returns the RRULE that yields first and then rest, one a
// year, when there is one.
func yearlyRule(first time.Time, rest []time.Time) (string, bool) {
	if len(rest) == 0 {
		return "", false
	}
	nth := func(t time.Time) int { return (t.Day()-1)/7 + 1 }
	last := func(t time.Time) bool { return t.AddDate(0, 0, 7).Month() != t.Month() }
	allNth, allLast := true, true
	prev := first
	for _, t := range rest {
		if t.Year() != prev.Year()+1 || t.Month() != first.Month() || t.Weekday() != first.Weekday() ||
			t.Hour() != first.Hour() || t.Minute() != first.Minute() || t.Second() != first.Second() {
			return "", false
		}
		allNth = allNth && nth(t) == nth(first)
		allLast = allLast && last(t) && last(first)
		prev = t
	}
	day := rruleDays[first.Weekday()]
	switch {
	case allLast:
		return fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=-1%s", int(first.Month()), day), true
	case allNth:
		return fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", int(first.Month()), nth(first), day), true
	}
	return "", false
}

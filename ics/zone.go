package ics

import (
	"strconv"
	"time"

	"github.com/followup/followup"
)

// ZoneYears is how many years after the first event's a VTIMEZONE spells
// out when its onsets follow no yearly rule (those that do are written as
// an RRULE, which covers every later year).
const ZoneYears = 10

// usedZone is a zone the events use, and the earliest time they write in it.
type usedZone struct {
	loc  *time.Location
	from time.Time
}

// zonesOf returns the zones of the events (and their overrides), in the
// order they first appear.
func zonesOf(events []followup.Event) []usedZone {
	var out []usedZone
	seen := map[string]int{}
	add := func(ev *followup.Event) {
		if ev.Zone == nil {
			return
		}
		i, ok := seen[ev.Zone.String()]
		if !ok {
			seen[ev.Zone.String()] = len(out)
			out = append(out, usedZone{loc: ev.Zone, from: ev.Start})
			return
		}
		if ev.Start.Before(out[i].from) {
			out[i].from = ev.Start
		}
	}
	for i := range events {
		add(&events[i])
		for j := range events[i].Overrides {
			add(&events[i].Overrides[j])
		}
	}
	return out
}

// timezone appends the VTIMEZONE of loc (RFC 5545 §3.6.5) from Go's tzdata,
// covering the year before from and the ZoneYears after it.
func (e *encoder) timezone(loc *time.Location, from time.Time) {
	e.raw("BEGIN:VTIMEZONE\r\n")
	e.text("TZID", loc.String())
	for _, o := range followup.ZoneObservances(loc, from.AddDate(-1, 0, 0), ZoneYears) {
		kind := "STANDARD"
		if o.Daylight {
			kind = "DAYLIGHT"
		}
		e.raw("BEGIN:" + kind + "\r\n")
		e.buf = appendLocal(append(e.buf, "DTSTART:"...), o.Start)
		e.raw("\r\nTZOFFSETFROM:" + UTCOffset(o.OffsetFrom) + "\r\nTZOFFSETTO:" + UTCOffset(o.OffsetTo) + "\r\n")
		if o.RRule != "" {
			e.raw("RRULE:" + o.RRule + "\r\n")
		}
		for _, r := range o.RDates {
			e.buf = appendLocal(append(e.buf, "RDATE:"...), r)
			e.raw("\r\n")
		}
		e.text("TZNAME", o.Name)
		e.raw("END:" + kind + "\r\n")
	}
	e.raw("END:VTIMEZONE\r\n")
}

// localTime appends a DATE-TIME property in local time with its TZID
// (§3.3.5 form 3), e.g. "DTSTART;TZID=Europe/Berlin:20261130T100000".
func (e *encoder) localTime(name string, t time.Time, loc *time.Location) {
	e.tmp = append(append(append(e.tmp[:0], name...), ";TZID="...), paramValue(loc.String())...)
	e.tmp = appendLocal(append(e.tmp, ':'), t.In(loc))
	e.buf = appendFolded(e.buf, e.tmp)
}

// paramValue quotes a parameter value that holds ":", ";" or "," (§3.2).
func paramValue(v string) string {
	for _, c := range v {
		if c == ':' || c == ';' || c == ',' || c < 0x20 || c == '"' {
			return `"` + stripQuotes(v) + `"`
		}
	}
	return v
}

func stripQuotes(v string) string {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] != '"' && v[i] >= 0x20 {
			b = append(b, v[i])
		}
	}
	return string(b)
}

// appendLocal appends the wall clock of t as YYYYMMDDTHHMMSS (§3.3.5 form 1 and 3).
func appendLocal(b []byte, t time.Time) []byte {
	u := appendDateTime(b, time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC))
	return u[:len(u)-1] // without the "Z"
}

// UTCOffset formats an offset in seconds as a UTC-OFFSET (§3.3.14):
// "+0100", "-0500", "+0530", with seconds only when there are any.
func UTCOffset(secs int) string {
	sign := "+"
	if secs < 0 {
		sign, secs = "-", -secs
	}
	two := func(n int) string { return strconv.Itoa(n/10) + strconv.Itoa(n%10) }
	s := sign + two(secs/3600) + two(secs/60%60)
	if secs%60 != 0 {
		s += two(secs % 60)
	}
	return s
}

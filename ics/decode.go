package ics

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	goics "github.com/arran4/golang-ical"

	"github.com/followup/followup"
)

// MaxDecodeSize is the largest document Decode reads.
const MaxDecodeSize = 16 << 20

// maxDepth is the deepest BEGIN nesting Decode accepts. golang-ical parses
// nested components recursively, so unbounded nesting would grow the stack
// without limit; a feed needs three levels (VCALENDAR, VEVENT, VALARM).
const maxDepth = 8

// Decode parses an iCalendar document (RFC 5545) and returns its VEVENTs as
// events, in document order, with times in UTC: DTSTAMP is Stamp, the first
// VALARM's TRIGGER gives AlarmMinutes (-1 when there is none or it is not a
// relative duration before the start), all CATEGORIES properties are
// joined, and a missing DTEND makes End equal Start.
//
// Decode is for tests and round-trips of Encode's output. It never panics:
// bad input, including input golang-ical would panic on, is an EINVALID
// error.
func Decode(r io.Reader) (evs []followup.Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			evs, err = nil, followup.Errorf(followup.EINVALID, "", "The calendar cannot be parsed: %v.", p)
		}
	}()
	data, err := io.ReadAll(io.LimitReader(r, MaxDecodeSize+1))
	if err != nil {
		return nil, fmt.Errorf("ics: read: %w", err)
	}
	if len(data) > MaxDecodeSize {
		return nil, followup.Errorf(followup.EINVALID, "", "The calendar is larger than %d bytes.", MaxDecodeSize)
	}
	if err := checkNesting(data); err != nil {
		return nil, err
	}
	cal, err := goics.ParseCalendar(bytes.NewReader(data))
	if err != nil {
		return nil, followup.WrapError(followup.EINVALID, "", "The calendar cannot be parsed.", err)
	}
	if cal == nil {
		return nil, followup.Errorf(followup.EINVALID, "", "The calendar is empty.")
	}
	for _, ve := range cal.Events() {
		ev, err := event(ve)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// maxParamWork bounds semicolons times line length in one content line.
// golang-ical copies the rest of the line for every parameter it parses,
// so a long line with many parameters costs quadratic time; Encode never
// writes an unescaped semicolon.
const maxParamWork = 1 << 26

// checkNesting looks at the unfolded content lines (§3.1, as golang-ical
// unfolds them) before golang-ical does. It rejects documents that do not
// start with BEGIN:VCALENDAR or never close it (§3.4), whose BEGIN lines
// nest deeper than maxDepth (golang-ical recurses into each), or with a
// line whose parameters would take golang-ical quadratic time.
func checkNesting(data []byte) error {
	depth, lines, closed := 0, 0, false
	var line []byte // the logical line being unfolded
	semis := 0      // its unescaped semicolons
	first := true
	end := func() error {
		if len(line) == 0 {
			return nil
		}
		defer func() { line, semis = line[:0], 0 }()
		if semis > 0 && semis*len(line) > maxParamWork {
			return followup.Errorf(followup.EINVALID, "", "A line of the calendar has too many parameters.")
		}
		lines++
		if lines == 1 && !hasPrefixFold(line, "BEGIN:VCALENDAR") {
			return followup.Errorf(followup.EINVALID, "", "The document does not start with BEGIN:VCALENDAR.")
		}
		switch {
		case hasPrefixFold(line, "BEGIN:"):
			depth++
			if depth > maxDepth {
				return followup.Errorf(followup.EINVALID, "", "The calendar nests components deeper than %d levels.", maxDepth)
			}
		case hasPrefixFold(line, "END:"):
			depth = max(depth-1, 0)
			closed = closed || depth == 0
		}
		return nil
	}
	for rest := data; len(rest) > 0; {
		phys := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			phys, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		phys = bytes.TrimSuffix(phys, []byte("\r"))
		if len(phys) > 0 && (phys[0] == ' ' || phys[0] == '\t') && !first {
			phys = phys[1:] // golang-ical unfolds after blank lines too
		} else if err := end(); err != nil {
			return err
		}
		first = false
		for i := 0; i < len(phys); i++ {
			switch phys[i] {
			case '\\':
				i++
			case ';':
				semis++
			}
		}
		line = append(line, phys...)
	}
	if err := end(); err != nil {
		return err
	}
	if !closed {
		return followup.Errorf(followup.EINVALID, "", "The calendar ends before END:VCALENDAR.")
	}
	return nil
}

// hasPrefixFold reports whether b starts with prefix, ignoring ASCII case
// (property names are case-insensitive, §3.1).
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

// event converts one parsed VEVENT.
func event(ve *goics.VEvent) (followup.Event, error) {
	ev := followup.Event{AlarmMinutes: -1}
	ev.UID = value(&ve.ComponentBase, goics.ComponentPropertyUniqueId)
	if NormalizeText(ev.UID) == "" {
		return ev, followup.Errorf(followup.EINVALID, "uid", "A VEVENT has no UID (§3.8.4.7).")
	}
	if s := value(&ve.ComponentBase, goics.ComponentPropertySequence); s != "" {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return ev, followup.Errorf(followup.EINVALID, "sequence", "Event %q has SEQUENCE %q, not a non-negative integer.", ev.UID, s)
		}
		ev.Sequence = n
	}
	ev.Summary = value(&ve.ComponentBase, goics.ComponentPropertySummary)
	ev.Description = value(&ve.ComponentBase, goics.ComponentPropertyDescription)
	ev.Location = value(&ve.ComponentBase, goics.ComponentPropertyLocation)
	ev.URL = value(&ve.ComponentBase, goics.ComponentPropertyUrl)
	var err error
	if ev.Start, err = dateTime(&ve.ComponentBase, goics.ComponentPropertyDtStart, ev.UID, true); err != nil {
		return ev, err
	}
	if ev.End, err = dateTime(&ve.ComponentBase, goics.ComponentPropertyDtEnd, ev.UID, false); err != nil {
		return ev, err
	}
	if ev.End.IsZero() {
		ev.End = ev.Start
	}
	if ev.Stamp, err = dateTime(&ve.ComponentBase, goics.ComponentPropertyDtstamp, ev.UID, false); err != nil {
		return ev, err
	}
	if ev.Created, err = dateTime(&ve.ComponentBase, goics.ComponentPropertyCreated, ev.UID, false); err != nil {
		return ev, err
	}
	for _, p := range ve.GetProperties(goics.ComponentPropertyCategories) {
		// golang-ical has already unescaped the value, so a comma inside
		// one category cannot be told from the list separator.
		for c := range strings.SplitSeq(p.Value, ",") {
			if c != "" {
				ev.Categories = append(ev.Categories, c)
			}
		}
	}
	if alarms := ve.Alarms(); len(alarms) > 0 {
		if tr := value(&alarms[0].ComponentBase, goics.ComponentPropertyTrigger); tr != "" {
			if m, ok := triggerMinutes(tr); ok {
				ev.AlarmMinutes = m
			}
		}
	}
	return ev, nil
}

// value returns the value of the first property named p, or "".
func value(c *goics.ComponentBase, p goics.ComponentProperty) string {
	if prop := c.GetProperty(p); prop != nil {
		return prop.Value
	}
	return ""
}

// dateTime parses a DATE-TIME or DATE property (§3.3.5, §3.3.4) into UTC.
// A TZID parameter names an IANA zone; floating times are read as UTC.
// A missing property gives the zero time, or an error when required.
func dateTime(c *goics.ComponentBase, p goics.ComponentProperty, uid string, required bool) (time.Time, error) {
	prop := c.GetProperty(p)
	if prop == nil {
		if required {
			return time.Time{}, followup.Errorf(followup.EINVALID, strings.ToLower(string(p)), "Event %q has no %s.", uid, p)
		}
		return time.Time{}, nil
	}
	loc := time.UTC
	if tz := prop.ICalParameters[string(goics.ParameterTzid)]; len(tz) > 0 {
		l, err := followup.LoadLocation(tz[0])
		if err != nil {
			return time.Time{}, followup.WrapError(followup.EINVALID, strings.ToLower(string(p)), fmt.Sprintf("Event %q has an unknown TZID.", uid), err)
		}
		loc = l
	}
	v := strings.TrimSpace(prop.Value)
	var t time.Time
	var err error
	switch {
	case len(v) == 16 && v[15] == 'Z':
		t, err = time.ParseInLocation("20060102T150405Z", v, time.UTC)
	case len(v) == 15:
		t, err = time.ParseInLocation("20060102T150405", v, loc)
	case len(v) == 8:
		t, err = time.ParseInLocation("20060102", v, loc)
	default:
		err = fmt.Errorf("bad length")
	}
	if err != nil {
		return time.Time{}, followup.WrapError(followup.EINVALID, strings.ToLower(string(p)), fmt.Sprintf("Event %q has %s %q, not a DATE-TIME.", uid, p, v), err)
	}
	return t.UTC(), nil
}

// triggerMinutes reads a TRIGGER relative to the start (§3.8.6.3) that
// lies at or before it, e.g. "-PT10M", "-P1D", "PT0S", as minutes before
// the start, rounded down.
func triggerMinutes(v string) (int, bool) {
	v = strings.TrimSpace(v)
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimLeft(v, "+-")
	if !strings.HasPrefix(v, "P") {
		return 0, false
	}
	v = v[1:]
	secs := 0
	inTime := false
	num := -1
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			if num < 0 {
				num = 0
			}
			if num > 1e7 {
				return 0, false
			}
			num = num*10 + int(c-'0')
		case c == 'T' && !inTime && num < 0:
			inTime = true
		case num >= 0 && !inTime && (c == 'W' || c == 'D'):
			secs += num * unitSeconds(c)
			num = -1
		case num >= 0 && inTime && (c == 'H' || c == 'M' || c == 'S'):
			secs += num * unitSeconds(c)
			num = -1
		default:
			return 0, false
		}
	}
	if num >= 0 || secs > 1e9 {
		return 0, false
	}
	if secs != 0 && !neg {
		return 0, false // after the start: not a reminder before it
	}
	return secs / 60, true
}

// unitSeconds returns the seconds in one dur-value unit (§3.3.6).
func unitSeconds(c byte) int {
	switch c {
	case 'W':
		return 604800
	case 'D':
		return 86400
	case 'H':
		return 3600
	case 'M':
		return 60
	}
	return 1
}

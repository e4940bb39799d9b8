package caldav

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"

	"github.com/followup/followup"
)

// maxIterations bounds the recurrence instances generated for one event, so
// that a hostile or absurd RRULE cannot stall a busy read.
const maxIterations = 20000

// decodeCalendar parses an iCalendar stream (RFC 5545). go-ical can panic on
// bad input, so a panic is recovered and returned as an error.
func decodeCalendar(data []byte) (cal *ical.Calendar, err error) {
	defer func() {
		if p := recover(); p != nil {
			cal, err = nil, fmt.Errorf("caldav: ical decoder panicked: %v", p)
		}
	}()
	// Tolerate a UTF-8 byte order mark and bare LF line ends, both common in
	// published feeds.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cal, err = ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		return nil, fmt.Errorf("caldav: decode calendar: %w", err)
	}
	if cal == nil || cal.Component == nil || cal.Name != ical.CompCalendar {
		return nil, fmt.Errorf("caldav: not a VCALENDAR")
	}
	return cal, nil
}

// occurrence is one span of an event; all-day spans are UTC-naive dates at
// 00:00 UTC.
type occurrence struct {
	start, end time.Time
	allDay     bool
	// floating marks a local time with no zone (RFC 5545 §3.3.5, form #1),
	// or with a TZID we do not know: its wall clock is kept in a UTC value.
	floating bool
}

// zones caches time.LoadLocation by TZID.
var zones sync.Map // string -> *time.Location (nil when unknown)

// windowsZones maps the Windows zone names Outlook and Exchange write as
// TZID to IANA names (CLDR windowsZones.xml, the common ones).
var windowsZones = map[string]string{
	"UTC":                            "UTC",
	"GMT Standard Time":              "Europe/London",
	"Greenwich Standard Time":        "Atlantic/Reykjavik",
	"W. Europe Standard Time":        "Europe/Berlin",
	"Romance Standard Time":          "Europe/Paris",
	"Central Europe Standard Time":   "Europe/Budapest",
	"Central European Standard Time": "Europe/Warsaw",
	"E. Europe Standard Time":        "Europe/Chisinau",
	"FLE Standard Time":              "Europe/Kiev",
	"GTB Standard Time":              "Europe/Bucharest",
	"Russian Standard Time":          "Europe/Moscow",
	"Eastern Standard Time":          "America/New_York",
	"Central Standard Time":          "America/Chicago",
	"Mountain Standard Time":         "America/Denver",
	"US Mountain Standard Time":      "America/Phoenix",
	"Pacific Standard Time":          "America/Los_Angeles",
	"Alaskan Standard Time":          "America/Anchorage",
	"Hawaiian Standard Time":         "Pacific/Honolulu",
	"Atlantic Standard Time":         "America/Halifax",
	"E. South America Standard Time": "America/Sao_Paulo",
	"India Standard Time":            "Asia/Kolkata",
	"China Standard Time":            "Asia/Shanghai",
	"Tokyo Standard Time":            "Asia/Tokyo",
	"Singapore Standard Time":        "Asia/Singapore",
	"AUS Eastern Standard Time":      "Australia/Sydney",
	"New Zealand Standard Time":      "Pacific/Auckland",
	"Israel Standard Time":           "Asia/Jerusalem",
	"Arabian Standard Time":          "Asia/Dubai",
	"South Africa Standard Time":     "Africa/Johannesburg",
}

// loadZone resolves a TZID parameter (RFC 5545 §3.2.19) by name: an IANA
// name, a Windows name, or a prefixed name such as
// "/mozilla.org/20050126_1/Europe/Berlin". The VTIMEZONE definition itself
// is not read. It returns nil for an unknown TZID; callers then read the
// time as UTC.
func loadZone(tzid string) *time.Location {
	tzid = strings.Trim(strings.TrimSpace(tzid), `"`)
	if tzid == "" {
		return nil
	}
	if v, ok := zones.Load(tzid); ok {
		return v.(*time.Location)
	}
	var loc *time.Location
	try := func(name string) bool {
		if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
			return false
		}
		l, err := time.LoadLocation(name)
		if err != nil || (l == time.UTC && !strings.EqualFold(name, "UTC")) {
			return false
		}
		loc = l
		return true
	}
	if name, ok := windowsZones[tzid]; !ok || !try(name) {
		if !try(tzid) {
			parts := strings.Split(strings.Trim(tzid, "/"), "/")
			for i := len(parts) - 3; i < len(parts)-1; i++ {
				if i >= 0 && try(strings.Join(parts[i:], "/")) {
					break
				}
			}
		}
	}
	zones.Store(tzid, loc)
	return loc
}

// parseDateTime reads one DATE or DATE-TIME value (RFC 5545 §3.3.4, §3.3.5).
// A DATE is all-day, returned at 00:00 UTC. A DATE-TIME ending in Z is UTC;
// one with a TZID is read in that zone, or as UTC when the zone is unknown;
// a floating one (no Z, no TZID) is read as UTC.
func parseDateTime(value string, params ical.Params) (time.Time, bool, error) {
	value = strings.TrimSpace(value)
	isDate := strings.EqualFold(params.Get(ical.ParamValue), string(ical.ValueDate)) || len(value) == 8
	if isDate {
		t, err := time.ParseInLocation("20060102", value, time.UTC)
		return t, true, err
	}
	if strings.HasSuffix(value, "Z") {
		t, err := time.ParseInLocation("20060102T150405Z", value, time.UTC)
		return t, false, err
	}
	loc := time.UTC
	if l := loadZone(params.Get(ical.PropTimezoneID)); l != nil {
		loc = l
	}
	t, err := time.ParseInLocation("20060102T150405", value, loc)
	return t, false, err
}

// isFloating reports whether a DATE-TIME has no zone we can apply: no Z,
// and no TZID or one we do not know.
func isFloating(value string, params ical.Params) bool {
	value = strings.TrimSpace(value)
	if strings.HasSuffix(value, "Z") {
		return false
	}
	tzid := params.Get(ical.PropTimezoneID)
	return tzid == "" || loadZone(tzid) == nil
}

// readOccurrence reads DTSTART and DTEND, or DURATION, of a component
// (RFC 5545 §3.6.1): without either, an all-day event lasts one day and a
// timed one takes no time.
func readOccurrence(comp *ical.Component) (occurrence, error) {
	sp := comp.Props.Get(ical.PropDateTimeStart)
	if sp == nil {
		return occurrence{}, fmt.Errorf("caldav: VEVENT without DTSTART")
	}
	start, allDay, err := parseDateTime(sp.Value, sp.Params)
	if err != nil {
		return occurrence{}, fmt.Errorf("caldav: DTSTART: %w", err)
	}
	o := occurrence{start: start, end: start, allDay: allDay, floating: !allDay && isFloating(sp.Value, sp.Params)}
	if ep := comp.Props.Get(ical.PropDateTimeEnd); ep != nil {
		end, _, err := parseDateTime(ep.Value, ep.Params)
		if err != nil {
			return occurrence{}, fmt.Errorf("caldav: DTEND: %w", err)
		}
		if allDay {
			end = time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
		}
		o.end = end
	} else if dp := comp.Props.Get(ical.PropDuration); dp != nil {
		d, err := dp.Duration()
		if err != nil {
			return occurrence{}, fmt.Errorf("caldav: DURATION: %w", err)
		}
		if allDay {
			o.end = start.AddDate(0, 0, int(d/(24*time.Hour)))
		} else {
			o.end = start.Add(d)
		}
	} else if allDay {
		o.end = start.AddDate(0, 0, 1)
	}
	return o, nil
}

// isBusy reports whether a VEVENT blocks time: not TRANSP:TRANSPARENT
// (RFC 5545 §3.8.2.7) and not STATUS:CANCELLED (§3.8.1.11).
func isBusy(comp *ical.Component) bool {
	if p := comp.Props.Get(ical.PropTransparency); p != nil && strings.EqualFold(strings.TrimSpace(p.Value), "TRANSPARENT") {
		return false
	}
	if p := comp.Props.Get(ical.PropStatus); p != nil && strings.EqualFold(strings.TrimSpace(p.Value), "CANCELLED") {
		return false
	}
	return true
}

// instanceKey identifies an instance for EXDATE and RECURRENCE-ID matching:
// the date for all-day values, the instant otherwise.
func instanceKey(t time.Time, allDay bool) string {
	if allDay {
		return t.Format("20060102")
	}
	return fmt.Sprint(t.Unix())
}

// dateList reads the comma-separated values of all props named name
// (EXDATE §3.8.5.1, RDATE §3.8.5.2). A PERIOD value (§3.3.9) comes back with
// its end; other values with a zero end.
func dateList(comp *ical.Component, name string) ([]occurrence, error) {
	var out []occurrence
	for _, p := range comp.Props.Values(name) {
		for _, v := range strings.Split(p.Value, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			startStr, endStr, isPeriod := strings.Cut(v, "/")
			params := p.Params
			if isPeriod {
				params = ical.Params{}
				if tz := p.Params.Get(ical.PropTimezoneID); tz != "" {
					params.Set(ical.PropTimezoneID, tz)
				}
			}
			t, allDay, err := parseDateTime(startStr, params)
			if err != nil {
				return nil, fmt.Errorf("caldav: %s: %w", name, err)
			}
			o := occurrence{start: t, allDay: allDay}
			if isPeriod {
				if strings.HasPrefix(endStr, "P") || strings.HasPrefix(endStr, "+P") {
					dp := ical.NewProp("DURATION")
					dp.Value = strings.TrimPrefix(endStr, "+")
					d, err := dp.Duration()
					if err != nil {
						return nil, fmt.Errorf("caldav: %s period: %w", name, err)
					}
					o.end = t.Add(d)
				} else if e, _, err := parseDateTime(endStr, params); err == nil {
					o.end = e
				} else {
					return nil, fmt.Errorf("caldav: %s period: %w", name, err)
				}
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// instances returns the occurrences of a master VEVENT that start before
// windowEnd and end after windowStart: DTSTART, the RRULE (RFC 5545
// §3.8.5.3, expanded with rrule-go in DTSTART's zone so wall-clock times
// survive DST) and RDATEs, minus EXDATEs. Rules with FREQ finer than DAILY
// are not expanded (only DTSTART counts), and at most maxIterations
// instances are generated.
func instances(comp *ical.Component, windowStart, windowEnd time.Time) ([]occurrence, error) {
	base, err := readOccurrence(comp)
	if err != nil {
		return nil, err
	}
	days := 0
	if base.allDay {
		days = int(base.end.Sub(base.start).Hours()+12) / 24
	}
	dur := base.end.Sub(base.start)
	mk := func(start time.Time) occurrence {
		if base.allDay {
			start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
			return occurrence{start: start, end: start.AddDate(0, 0, days), allDay: true}
		}
		return occurrence{start: start, end: start.Add(dur), floating: base.floating}
	}

	exdates, err := dateList(comp, ical.PropExceptionDates)
	if err != nil {
		return nil, err
	}
	excluded := map[string]bool{}
	for _, ex := range exdates {
		excluded[instanceKey(ex.start, ex.allDay || base.allDay)] = true
		if ex.allDay && !base.allDay {
			excluded["date:"+ex.start.Format("20060102")] = true
		}
	}
	isExcluded := func(o occurrence) bool {
		return excluded[instanceKey(o.start, o.allDay)] ||
			(!o.allDay && excluded["date:"+o.start.Format("20060102")])
	}

	var out []occurrence
	seen := map[string]bool{}
	add := func(o occurrence) {
		k := instanceKey(o.start, o.allDay)
		if seen[k] || isExcluded(o) {
			return
		}
		seen[k] = true
		out = append(out, o)
	}

	rp := comp.Props.Get(ical.PropRecurrenceRule)
	expanded := false
	if rp != nil {
		opt, err := rrule.StrToROptionInLocation(strings.TrimPrefix(strings.TrimSpace(rp.Value), "RRULE:"), base.start.Location())
		if err != nil {
			return nil, fmt.Errorf("caldav: RRULE: %w", err)
		}
		if opt.Freq <= rrule.DAILY {
			opt.Dtstart = base.start
			limit := windowEnd.Add(24 * time.Hour)
			if opt.Until.IsZero() || opt.Until.After(limit) {
				opt.Until = limit
			}
			rule, err := rrule.NewRRule(*opt)
			if err != nil {
				return nil, fmt.Errorf("caldav: RRULE: %w", err)
			}
			next := rule.Iterator()
			for i := 0; i < maxIterations; i++ {
				t, ok := next()
				if !ok || !t.Before(windowEnd.Add(24*time.Hour)) {
					break
				}
				add(mk(t))
			}
			expanded = true
		}
	}
	if !expanded {
		add(base)
	}
	rdates, err := dateList(comp, ical.PropRecurrenceDates)
	if err != nil {
		return nil, err
	}
	for _, rd := range rdates {
		o := mk(rd.start)
		if !rd.end.IsZero() && rd.end.After(rd.start) {
			o.end = rd.end
		}
		add(o)
	}
	return out, nil
}

// expandCalendar returns the busy intervals of every VEVENT in cal that
// overlap [from, to), sorted by start.
//
// Recurring events are expanded here (see instances); an instance replaced
// by an override with the same UID and a matching RECURRENCE-ID
// (RFC 5545 §3.8.4.4) is taken from the override instead. Events that are
// TRANSP:TRANSPARENT or STATUS:CANCELLED do not block time.
//
// All-day events (DTSTART;VALUE=DATE) block whole days: they are returned
// with AllDay set and Start/End at 00:00 UTC of their first day and of the
// day after their last, as UTC-naive dates; the caller re-anchors them in
// the user's zone. They are kept when they come within a day of the window,
// since the window is absolute and the user's zone is not known here.
//
// A floating DATE-TIME, or one whose TZID names no zone we know, keeps its
// wall clock in a UTC value and is returned with Floating set, for the
// caller to read in the user's zone. An event whose dates cannot be read is
// skipped rather than failing the calendar.
func expandCalendar(cal *ical.Calendar, from, to time.Time) (ivs []followup.Interval, err error) {
	defer func() {
		if p := recover(); p != nil {
			ivs, err = nil, fmt.Errorf("caldav: recurrence expansion panicked: %v", p)
		}
	}()
	type group struct {
		master    *ical.Component
		overrides []*ical.Component
	}
	groups := map[string]*group{}
	var order []string
	for i, comp := range cal.Children {
		if comp.Name != ical.CompEvent {
			continue
		}
		uid := fmt.Sprintf("#%d", i)
		if p := comp.Props.Get(ical.PropUID); p != nil && p.Value != "" {
			uid = p.Value
		}
		g := groups[uid]
		if g == nil {
			g = &group{}
			groups[uid] = g
			order = append(order, uid)
		}
		if comp.Props.Get(ical.PropRecurrenceID) != nil {
			g.overrides = append(g.overrides, comp)
		} else if g.master == nil {
			g.master = comp
		}
	}

	dayFrom, dayTo := from.Add(-24*time.Hour), to.Add(24*time.Hour)
	keep := func(o occurrence) {
		if !o.end.After(o.start) {
			return
		}
		if o.allDay || o.floating {
			// Wall-clock values: the caller places them in the user's zone,
			// so keep those within a day of the window.
			if o.start.Before(dayTo) && o.end.After(dayFrom) {
				ivs = append(ivs, followup.Interval{Start: o.start.UTC(), End: o.end.UTC(), AllDay: o.allDay, Floating: o.floating})
			}
			return
		}
		if o.start.Before(to) && o.end.After(from) {
			ivs = append(ivs, followup.Interval{Start: o.start.UTC(), End: o.end.UTC()})
		}
	}
	for _, uid := range order {
		g := groups[uid]
		replaced := map[string]bool{}
		for _, ov := range g.overrides {
			rid := ov.Props.Get(ical.PropRecurrenceID)
			t, allDay, err := parseDateTime(rid.Value, rid.Params)
			if err != nil {
				continue
			}
			replaced[instanceKey(t, allDay)] = true
			if isBusy(ov) {
				if o, err := readOccurrence(ov); err == nil {
					keep(o)
				}
			}
		}
		if g.master == nil || !isBusy(g.master) {
			continue
		}
		occs, err := instances(g.master, dayFrom, dayTo)
		if err != nil {
			continue
		}
		for _, o := range occs {
			if replaced[instanceKey(o.start, o.allDay)] {
				continue
			}
			keep(o)
		}
	}
	sort.Slice(ivs, func(i, j int) bool {
		if !ivs[i].Start.Equal(ivs[j].Start) {
			return ivs[i].Start.Before(ivs[j].Start)
		}
		return ivs[i].End.Before(ivs[j].End)
	})
	return ivs, nil
}

// parseBusy decodes an iCalendar stream and expands its busy time in
// [from, to); see expandCalendar. It never panics.
func parseBusy(data []byte, from, to time.Time) ([]followup.Interval, error) {
	cal, err := decodeCalendar(data)
	if err != nil {
		return nil, err
	}
	return expandCalendar(cal, from, to)
}

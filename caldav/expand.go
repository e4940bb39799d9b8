package caldav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"

	"github.com/followup/followup"
)

// decodeCalendar parses an iCalendar stream (RFC 5545). go-ical can panic on
// bad input, so a panic is recovered and returned as an error.
// A cancelled ctx stops the decoding with ctx's error.
func decodeCalendar(ctx context.Context, data []byte) (cal *ical.Calendar, err error) {
	defer func() {
		if p := recover(); p != nil {
			cal, err = nil, fmt.Errorf("caldav: ical decoder panicked: %v", p)
		}
	}()
	// Tolerate a UTF-8 byte order mark and bare LF line ends, both common in
	// published feeds.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cal, err = ical.NewDecoder(ctxReader{ctx, bytes.NewReader(data)}).Decode()
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
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
type instanceKey struct {
	unix int64 // seconds; for a date, its 00:00 UTC
	date bool
}

func keyOf(t time.Time, allDay bool) instanceKey {
	if allDay {
		return instanceKey{civilOf(t).unix(), true}
	}
	return instanceKey{t.Unix(), false}
}

func (c civilDay) unix() int64 { return int64(c) * 86400 }

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

// Limits of one read of a source. The work unit is one day looked at, or
// one time of day generated, while expanding recurrences: about 30 ns.
const (
	// maxSourceInstances bounds the busy intervals kept from one source.
	maxSourceInstances = 20_000
	// maxSourceWork bounds the expansion work for one source.
	maxSourceWork = 10_000_000
	// maxSpan bounds how long before the window an instance may start and
	// still be looked for: the duration of longer events counts as this.
	maxSpan = 366 * 24 * time.Hour
)

// limits bound the reading of one source.
type limits struct {
	instances int // busy intervals kept
	work      int // recurrence expansion work (see maxSourceWork)
}

// sourceLimits are the limits of every source read.
var sourceLimits = limits{instances: maxSourceInstances, work: maxSourceWork}

// readStats is what reading one source met.
type readStats struct {
	events int // VEVENTs, overrides included
	// truncated: the instance limit was reached, and the events after it
	// were not read.
	truncated bool
	// skipped counts recurring events given up because expanding them
	// would cost more than maxEventWork, or than the source's work left.
	skipped int
}

// add sums the stats of two reads.
func (s readStats) add(o readStats) readStats {
	return readStats{events: s.events + o.events, truncated: s.truncated || o.truncated, skipped: s.skipped + o.skipped}
}

// errFull stops an expansion at the instance limit.
var errFull = errors.New("caldav: instance limit reached")

// expander expands the events of one source into busy intervals.
type expander struct {
	from, to       time.Time // the window
	dayFrom, dayTo time.Time // the window widened by a day, for wall-clock values
	lim            *limits
	ivs            []followup.Interval
	stats          readStats
	rules          map[ruleKey]*rrule.ROption
	scratch        scratch
}

// maxRuleCache bounds the RRULE values remembered while reading a source.
const maxRuleCache = 1000

type ruleKey struct {
	value string
	loc   *time.Location
}

// ruleOptions reads an RRULE value, remembering it: many events of a
// calendar share their rule.
func (x *expander) ruleOptions(value string, loc *time.Location) (*rrule.ROption, error) {
	k := ruleKey{value, loc}
	if opt, ok := x.rules[k]; ok {
		return opt, nil
	}
	opt, err := ruleOptions(value, loc)
	if err != nil {
		return nil, err
	}
	if x.rules == nil {
		x.rules = map[ruleKey]*rrule.ROption{}
	}
	if len(x.rules) < maxRuleCache {
		x.rules[k] = opt
	}
	return opt, nil
}

// keep appends an occurrence that overlaps the window, and returns errFull
// at the instance limit.
func (x *expander) keep(o occurrence) error {
	if !o.end.After(o.start) {
		return nil
	}
	if o.allDay || o.floating {
		// Wall-clock values: the caller places them in the user's zone,
		// so keep those within a day of the window.
		if !o.start.Before(x.dayTo) || !o.end.After(x.dayFrom) {
			return nil
		}
	} else if !o.start.Before(x.to) || !o.end.After(x.from) {
		return nil
	}
	if x.lim.instances <= 0 {
		x.stats.truncated = true
		return errFull
	}
	x.lim.instances--
	x.ivs = append(x.ivs, followup.Interval{Start: o.start.UTC(), End: o.end.UTC(), AllDay: o.allDay, Floating: o.floating})
	return nil
}

// exclusions are a series' EXDATEs (RFC 5545 §3.8.5.1).
type exclusions struct {
	keys map[instanceKey]bool
	days map[civilDay]bool // EXDATE;VALUE=DATE on a timed series
}

func readExclusions(comp *ical.Component, allDay bool) (exclusions, error) {
	exdates, err := dateList(comp, ical.PropExceptionDates)
	if err != nil || len(exdates) == 0 {
		return exclusions{}, err
	}
	ex := exclusions{keys: make(map[instanceKey]bool, len(exdates)), days: map[civilDay]bool{}}
	for _, e := range exdates {
		ex.keys[keyOf(e.start, e.allDay || allDay)] = true
		if e.allDay && !allDay {
			ex.days[civilOf(e.start)] = true
		}
	}
	return ex, nil
}

func (ex exclusions) has(o occurrence) bool {
	return ex.keys[keyOf(o.start, o.allDay)] || (!o.allDay && len(ex.days) > 0 && ex.days[civilOf(o.start)])
}

// series expands a master VEVENT: DTSTART, the RRULE (see rule) and RDATEs,
// minus EXDATEs and the instances an override replaces. Rules with FREQ
// finer than DAILY are not expanded (only DTSTART counts). An event whose
// dates cannot be read is skipped.
func (x *expander) series(master *ical.Component, replaced map[instanceKey]bool) error {
	base, err := readOccurrence(master)
	if err != nil {
		return nil
	}
	rp := master.Props.Get(ical.PropRecurrenceRule)
	_, hasRDate := master.Props[ical.PropRecurrenceDates]
	_, hasExDate := master.Props[ical.PropExceptionDates]
	if rp == nil && !hasRDate && !hasExDate && len(replaced) == 0 {
		return x.keep(base) // a one-off event
	}
	ex, err := readExclusions(master, base.allDay)
	if err != nil {
		return nil
	}
	days, dur := 0, base.end.Sub(base.start)
	if base.allDay {
		days = int(dur.Hours()+12) / 24
	}
	mk := func(start time.Time) occurrence {
		if base.allDay {
			start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
			return occurrence{start: start, end: start.AddDate(0, 0, days), allDay: true}
		}
		return occurrence{start: start, end: start.Add(dur), floating: base.floating}
	}
	seen := map[instanceKey]bool{}
	add := func(o occurrence) error {
		k := keyOf(o.start, o.allDay)
		if seen[k] || replaced[k] || ex.has(o) {
			return nil
		}
		seen[k] = true
		return x.keep(o)
	}
	if err := x.recur(rp, base, min(dur, maxSpan), mk, add); err != nil {
		return err
	}
	rdates, err := dateList(master, ical.PropRecurrenceDates)
	if err != nil {
		return nil
	}
	for _, rd := range rdates {
		o := mk(rd.start)
		if !rd.end.IsZero() && rd.end.After(rd.start) {
			o.end = rd.end
		}
		if err := add(o); err != nil {
			return err
		}
	}
	return nil
}

// recur adds the instances of the RRULE rp, or DTSTART alone when there is
// none or it is not expanded. A rule that cannot be read or costs too much
// drops the event's rule instances.
func (x *expander) recur(rp *ical.Prop, base occurrence, span time.Duration, mk func(time.Time) occurrence, add func(occurrence) error) error {
	if rp == nil {
		return add(base)
	}
	opt, err := x.ruleOptions(rp.Value, base.start.Location())
	if err != nil {
		return nil
	}
	r, ok, err := newRule(opt, base.start)
	if err != nil {
		return nil
	}
	if !ok {
		return add(base)
	}
	var stop error
	err = r.between(x.dayFrom.Add(-span), x.dayTo, &x.lim.work, &x.scratch, func(t time.Time) bool {
		stop = add(mk(t))
		return stop == nil
	})
	if errors.Is(err, errBudget) {
		x.stats.skipped++
		return nil
	}
	return stop
}

// expandCalendar returns the busy intervals of every VEVENT in cal that
// overlap [from, to), sorted by start, within lim, which it spends.
//
// Recurring events are expanded here (see series); an instance replaced
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
//
// Events are read in the order of the file until lim.instances intervals
// are kept; the stats say so. The context is checked between events: a
// cancelled read returns its error.
func expandCalendar(ctx context.Context, cal *ical.Calendar, from, to time.Time, lim *limits) (ivs []followup.Interval, stats readStats, err error) {
	defer func() {
		if p := recover(); p != nil {
			ivs, err = nil, fmt.Errorf("caldav: recurrence expansion panicked: %v", p)
		}
	}()
	x := &expander{from: from, to: to, dayFrom: from.Add(-24 * time.Hour), dayTo: to.Add(24 * time.Hour), lim: lim}
	order := groupEvents(cal)
	for _, g := range order {
		x.stats.events += 1 + len(g.overrides)
	}
	for _, g := range order {
		if err := ctx.Err(); err != nil {
			return nil, x.stats, err
		}
		if err := x.group(g); errors.Is(err, errFull) {
			break
		}
	}
	slices.SortFunc(x.ivs, func(a, b followup.Interval) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return a.End.Compare(b.End)
	})
	return x.ivs, x.stats, nil
}

// eventGroup is a recurring event's master and its overrides, by UID.
type eventGroup struct {
	master    *ical.Component
	overrides []*ical.Component
}

// groupEvents groups the VEVENTs of cal by UID, in the order of the file.
func groupEvents(cal *ical.Calendar) []*eventGroup {
	groups := make(map[string]*eventGroup, len(cal.Children))
	order := make([]*eventGroup, 0, len(cal.Children))
	for i, comp := range cal.Children {
		if comp.Name != ical.CompEvent {
			continue
		}
		uid := ""
		if p := comp.Props.Get(ical.PropUID); p != nil && p.Value != "" {
			uid = p.Value
		} else {
			uid = "#" + strconv.Itoa(i)
		}
		g := groups[uid]
		if g == nil {
			g = &eventGroup{}
			groups[uid] = g
			order = append(order, g)
		}
		if comp.Props.Get(ical.PropRecurrenceID) != nil {
			g.overrides = append(g.overrides, comp)
		} else if g.master == nil {
			g.master = comp
		}
	}
	return order
}

// group expands one event with its overrides.
func (x *expander) group(g *eventGroup) error {
	var replaced map[instanceKey]bool
	for _, ov := range g.overrides {
		rid := ov.Props.Get(ical.PropRecurrenceID)
		t, allDay, err := parseDateTime(rid.Value, rid.Params)
		if err != nil {
			continue
		}
		if replaced == nil {
			replaced = map[instanceKey]bool{}
		}
		replaced[keyOf(t, allDay)] = true
		if isBusy(ov) {
			if o, err := readOccurrence(ov); err == nil {
				if err := x.keep(o); err != nil {
					return err
				}
			}
		}
	}
	if g.master == nil || !isBusy(g.master) {
		return nil
	}
	return x.series(g.master, replaced)
}

// ctxReader fails its reads once ctx is done, so that decoding a large
// calendar stops promptly when the request is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// readBusy decodes an iCalendar stream and expands its busy time in
// [from, to) within lim, which it spends; see expandCalendar. It never panics. A cancelled
// ctx stops it between reads and between events, with ctx's error.
func readBusy(ctx context.Context, data []byte, from, to time.Time, lim *limits) ([]followup.Interval, readStats, error) {
	cal, err := decodeCalendar(ctx, data)
	if err != nil {
		return nil, readStats{}, err
	}
	return expandCalendar(ctx, cal, from, to, lim)
}

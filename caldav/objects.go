package caldav

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	webdavcaldav "github.com/emersion/go-webdav/caldav"

	"github.com/followup/followup"
)

// prodID is the PRODID of every object we write (RFC 5545 §3.7.3).
const prodID = "-//followup//followup//EN"

// encodeEvent builds one calendar object resource: a VCALENDAR with the
// event's VEVENT, whose UID is ev.UID, and no METHOD property (RFC 4791
// §4.1). Times are written in UTC (RFC 5545 §3.3.5 form 2), or, for an
// event with a Zone, as local times with its TZID and a VTIMEZONE
// (§3.3.5 form 3, §3.6.5) so that a series (RRULE, §3.8.5.3) keeps its
// local time across DST changes; the series' overrides follow as VEVENTs
// with the same UID and a RECURRENCE-ID (§3.8.4.4). The VALARM (§3.6.6) is
// a DISPLAY alarm AlarmMinutes before the start, left out when negative.
func encodeEvent(ev followup.Event) ([]byte, error) {
	if ev.UID == "" {
		return nil, followup.Errorf(followup.EINVALID, "uid", "The event has no UID.")
	}
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, prodID)
	if ev.Zone != nil {
		cal.Children = append(cal.Children, timezone(ev.Zone, ev.Start))
	}
	for _, e := range append([]followup.Event{ev}, ev.Overrides...) {
		if !e.End.After(e.Start) {
			return nil, followup.Errorf(followup.EINVALID, "end", "The event ends before it starts.")
		}
		e.UID, e.Zone = ev.UID, ev.Zone
		cal.Children = append(cal.Children, vevent(e))
	}
	if _, _, err := webdavcaldav.ValidateCalendarObject(cal); err != nil {
		return nil, fmt.Errorf("caldav: encode %s: %w", ev.UID, err)
	}
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("caldav: encode %s: %w", ev.UID, err)
	}
	return buf.Bytes(), nil
}

// vevent builds the VEVENT of one event or override.
func vevent(ev followup.Event) *ical.Component {
	stamp := ev.Stamp
	if stamp.IsZero() {
		stamp = ev.Created
	}
	if stamp.IsZero() {
		stamp = ev.Start
	}
	local := func(t time.Time) time.Time {
		if ev.Zone != nil {
			return t.In(ev.Zone)
		}
		return t.UTC()
	}
	ve := ical.NewEvent()
	ve.Props.SetText(ical.PropUID, ev.UID) // RFC 5545 §3.8.4.7
	ve.Props.SetDateTime(ical.PropDateTimeStamp, stamp.UTC())
	if !ev.Created.IsZero() {
		ve.Props.SetDateTime(ical.PropCreated, ev.Created.UTC())
	}
	if !ev.Stamp.IsZero() {
		ve.Props.SetDateTime(ical.PropLastModified, ev.Stamp.UTC())
	}
	seq := ical.NewProp(ical.PropSequence) // RFC 5545 §3.8.7.4
	seq.SetValueType(ical.ValueInt)
	seq.Value = strconv.Itoa(max(ev.Sequence, 0))
	ve.Props.Set(seq)
	ve.Props.SetDateTime(ical.PropDateTimeStart, local(ev.Start))
	ve.Props.SetDateTime(ical.PropDateTimeEnd, local(ev.End))
	if !ev.RecurrenceID.IsZero() {
		ve.Props.SetDateTime(ical.PropRecurrenceID, local(ev.RecurrenceID))
	}
	if ev.RRule != "" {
		rule := ical.NewProp(ical.PropRecurrenceRule)
		rule.SetValueType(ical.ValueRecurrence)
		rule.Value = ev.RRule
		ve.Props.Set(rule)
	}
	ve.Props.SetText(ical.PropSummary, ev.Summary)
	if ev.Description != "" {
		ve.Props.SetText(ical.PropDescription, ev.Description)
	}
	if ev.Location != "" {
		ve.Props.SetText(ical.PropLocation, ev.Location)
	}
	if ev.URL != "" {
		if u, err := url.Parse(ev.URL); err == nil && u.Scheme != "" {
			ve.Props.SetURI(ical.PropURL, u)
		}
	}
	if len(ev.Categories) > 0 {
		cat := ical.NewProp(ical.PropCategories)
		cat.SetTextList(ev.Categories)
		ve.Props.Set(cat)
	}
	ve.Props.SetText(ical.PropTransparency, "OPAQUE")
	if ev.AlarmMinutes >= 0 {
		alarm := ical.NewComponent(ical.CompAlarm)
		alarm.Props.SetText(ical.PropAction, "DISPLAY")
		desc := ev.Summary
		if desc == "" {
			desc = "Reminder"
		}
		alarm.Props.SetText(ical.PropDescription, desc)
		trig := ical.NewProp(ical.PropTrigger)
		trig.SetValueType(ical.ValueDuration)
		trig.Value = fmt.Sprintf("-PT%dM", ev.AlarmMinutes)
		alarm.Props.Set(trig)
		ve.Children = append(ve.Children, alarm)
	}
	return ve.Component
}

// zoneYears is how many years a VTIMEZONE spells out when its onsets
// follow no yearly rule (those that do are an RRULE, covering every year).
const zoneYears = 10

// timezone builds the VTIMEZONE of loc (RFC 5545 §3.6.5) from Go's
// tzdata, from the year before from on.
func timezone(loc *time.Location, from time.Time) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, loc.String())
	wall := func(t time.Time) string { return t.Format("20060102T150405") }
	for _, o := range followup.ZoneObservances(loc, from.AddDate(-1, 0, 0), zoneYears) {
		kind := ical.CompTimezoneStandard
		if o.Daylight {
			kind = ical.CompTimezoneDaylight
		}
		c := ical.NewComponent(kind)
		start := ical.NewProp(ical.PropDateTimeStart)
		start.Value = wall(o.Start)
		c.Props.Set(start)
		for _, p := range []struct {
			name string
			secs int
		}{{ical.PropTimezoneOffsetFrom, o.OffsetFrom}, {ical.PropTimezoneOffsetTo, o.OffsetTo}} {
			prop := ical.NewProp(p.name)
			prop.SetValueType(ical.ValueUTCOffset)
			prop.Value = utcOffset(p.secs)
			c.Props.Set(prop)
		}
		if o.RRule != "" {
			rule := ical.NewProp(ical.PropRecurrenceRule)
			rule.SetValueType(ical.ValueRecurrence)
			rule.Value = o.RRule
			c.Props.Set(rule)
		}
		for _, r := range o.RDates {
			rd := ical.NewProp(ical.PropRecurrenceDates)
			rd.Value = wall(r)
			c.Props.Add(rd)
		}
		c.Props.SetText(ical.PropTimezoneName, o.Name)
		tz.Children = append(tz.Children, c)
	}
	return tz
}

// utcOffset formats seconds east of UTC as a UTC-OFFSET (RFC 5545 §3.3.14).
func utcOffset(secs int) string {
	sign := "+"
	if secs < 0 {
		sign, secs = "-", -secs
	}
	s := fmt.Sprintf("%s%02d%02d", sign, secs/3600, secs/60%60)
	if secs%60 != 0 {
		s += fmt.Sprintf("%02d", secs%60)
	}
	return s
}

// PutEvent writes ev as one calendar object at calendarURL + escaped UID +
// ".ics" (RFC 4791 §5.3.2). With ifMatch "" it creates with
// If-None-Match: *, else it updates with If-Match: ifMatch (RFC 9110
// §13.1.1). It returns the object's new ETag, reading DAV:getetag when the
// PUT response carries none (RFC 4791 §5.3.4 lets servers leave it out).
//
// Errors: ECONFLICT for 412 (the object exists, or changed); EREMOTE with
// field "password" for 401; *RetryAfterError for 429/503 with Retry-After;
// EREMOTE otherwise.
func (c *Client) PutEvent(ctx context.Context, acct followup.CalDAVAccount, calendarURL string, ev followup.Event, ifMatch string) (string, error) {
	col, err := parseCollection(calendarURL)
	if err != nil {
		return "", err
	}
	href, err := objectURL(col, ev.UID)
	if err != nil {
		return "", err
	}
	body, err := encodeEvent(ev)
	if err != nil {
		return "", err
	}
	hdr := http.Header{"Content-Type": {"text/calendar; charset=utf-8"}}
	if ifMatch == "" {
		hdr.Set("If-None-Match", "*")
	} else {
		hdr.Set("If-Match", quoteETag(ifMatch))
	}
	s := c.session(acct)
	r, err := s.do(ctx, http.MethodPut, href.String(), hdr, body)
	if err != nil {
		return "", err
	}
	switch r.status {
	case http.StatusOK, http.StatusCreated, http.StatusNoContent:
	case http.StatusPreconditionFailed:
		if ifMatch == "" {
			return "", conflict(r, "A calendar object for this block already exists on %s.")
		}
		return "", conflict(r, "The calendar object for this block changed on %s since we last wrote it.")
	case http.StatusNotFound, http.StatusConflict:
		return "", remoteError(fmt.Errorf("caldav: PUT %s: HTTP %d", href.Redacted(), r.status),
			"The calendar was not found on %s (HTTP %d); choose another calendar.", r.url.Host, r.status)
	case http.StatusForbidden:
		return "", remoteError(fmt.Errorf("caldav: PUT %s: HTTP 403", href.Redacted()),
			"%s refused to write the event to this calendar (HTTP 403); is it read-only?", r.url.Host)
	case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return "", remoteError(fmt.Errorf("caldav: PUT %s: HTTP %d: %.200s", href.Redacted(), r.status, r.body),
			"%s rejected the event (HTTP %d).", r.url.Host, r.status)
	default:
		return "", statusError(r, "calendar")
	}
	if etag := r.header.Get("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		return quoteETag(etag), nil
	}
	return s.getETag(ctx, href)
}

// conflict is the ECONFLICT error for a 412 Precondition Failed.
func conflict(r *reply, format string) error {
	e := followup.Errorf(followup.ECONFLICT, "", format, r.url.Host)
	e.Err = fmt.Errorf("caldav: %s %s: HTTP %d", r.method, r.where(), r.status)
	return e
}

// getETag reads DAV:getetag of one resource (RFC 4918 §15.6); "" when the
// server has none.
func (s *session) getETag(ctx context.Context, href *url.URL) (string, error) {
	r, err := s.do(ctx, "PROPFIND", href.String(), http.Header{"Depth": {"0"}}, propfindBody("d:getetag"))
	if err != nil {
		return "", err
	}
	if r.status != http.StatusMultiStatus {
		return "", statusError(r, "calendar object")
	}
	ms, err := parseMultistatus(r)
	if err != nil {
		return "", err
	}
	for _, resp := range ms.Responses {
		if p := resp.props(); p.ETag != nil {
			return quoteETag(*p.ETag), nil
		}
	}
	return "", nil
}

// GetEvent reads the object for uid. Errors: ENOTFOUND when it is missing;
// EREMOTE when it cannot be read.
func (c *Client) GetEvent(ctx context.Context, acct followup.CalDAVAccount, calendarURL, uid string) (followup.RemoteEvent, error) {
	col, err := parseCollection(calendarURL)
	if err != nil {
		return followup.RemoteEvent{}, err
	}
	href, err := objectURL(col, uid)
	if err != nil {
		return followup.RemoteEvent{}, err
	}
	s := c.session(acct)
	r, err := s.do(ctx, http.MethodGet, href.String(), http.Header{"Accept": {ical.MIMEType}}, nil)
	if err != nil {
		return followup.RemoteEvent{}, err
	}
	switch r.status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusGone:
		e := followup.Errorf(followup.ENOTFOUND, "", "The calendar object for this block is not on %s.", r.url.Host)
		e.Err = fmt.Errorf("caldav: GET %s: HTTP %d", href.Redacted(), r.status)
		return followup.RemoteEvent{}, e
	default:
		return followup.RemoteEvent{}, statusError(r, "calendar object")
	}
	ev, err := remoteEvent(ctx, r.url.Host, r.body)
	if err != nil {
		return followup.RemoteEvent{}, err
	}
	ev.Href = r.url.String()
	ev.ETag = quoteETag(r.header.Get("ETag"))
	return ev, nil
}

// remoteEvent reads UID, SEQUENCE, DTSTART and DTEND of the master VEVENT
// of a calendar object, or of its first VEVENT when it holds only
// overrides, and the RECURRENCE-ID and times of each override. Times with
// no zone we know come back Floating.
func remoteEvent(ctx context.Context, host string, data []byte) (followup.RemoteEvent, error) {
	cal, err := decodeCalendar(ctx, data)
	if err != nil {
		return followup.RemoteEvent{}, unreadable(host, err)
	}
	var first *ical.Component
	var overrides []followup.RemoteOverride
	for _, comp := range cal.Children {
		if comp.Name != ical.CompEvent {
			continue
		}
		if first == nil {
			first = comp
		}
		rid := comp.Props.Get(ical.PropRecurrenceID)
		if rid == nil {
			first = comp
			continue
		}
		at, _, err := parseDateTime(rid.Value, rid.Params)
		if err != nil {
			return followup.RemoteEvent{}, unreadable(host, fmt.Errorf("caldav: RECURRENCE-ID: %w", err))
		}
		o, err := readOccurrence(comp)
		if err != nil {
			return followup.RemoteEvent{}, unreadable(host, err)
		}
		overrides = append(overrides, followup.RemoteOverride{RecurrenceID: at.UTC(), Start: o.start.UTC(), End: o.end.UTC()})
	}
	if comp := first; comp != nil {
		var ev followup.RemoteEvent
		if p := comp.Props.Get(ical.PropUID); p != nil {
			ev.UID = p.Value
		}
		o, err := readOccurrence(comp)
		if err != nil {
			return followup.RemoteEvent{}, unreadable(host, err)
		}
		ev.Start, ev.End, ev.Floating, ev.Overrides = o.start, o.end, o.floating, overrides
		ev.Sequence = sequence(comp)
		return ev, nil
	}
	return followup.RemoteEvent{}, unreadable(host, fmt.Errorf("caldav: no VEVENT in calendar object"))
}

// sequence reads a component's SEQUENCE (RFC 5545 §3.8.7.4): 0 when it is
// absent, as the RFC defaults it, or not a non-negative integer.
func sequence(comp *ical.Component) int {
	p := comp.Props.Get(ical.PropSequence)
	if p == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(p.Value))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// DeleteEvent removes the object for uid (RFC 4918 §9.6); with ifMatch set
// the delete is conditional. A missing object (404, 410) is not an error.
// Errors: ECONFLICT for 412; EREMOTE otherwise.
func (c *Client) DeleteEvent(ctx context.Context, acct followup.CalDAVAccount, calendarURL, uid, ifMatch string) error {
	col, err := parseCollection(calendarURL)
	if err != nil {
		return err
	}
	href, err := objectURL(col, uid)
	if err != nil {
		return err
	}
	var hdr http.Header
	if ifMatch != "" {
		hdr = http.Header{"If-Match": {quoteETag(ifMatch)}}
	}
	s := c.session(acct)
	r, err := s.do(ctx, http.MethodDelete, href.String(), hdr, nil)
	if err != nil {
		return err
	}
	switch r.status {
	case http.StatusOK, http.StatusNoContent, http.StatusAccepted, http.StatusNotFound, http.StatusGone:
		return nil
	case http.StatusPreconditionFailed:
		return conflict(r, "The calendar object for this block changed on %s since we last wrote it.")
	default:
		return statusError(r, "calendar object")
	}
}

// ListEvents lists the VEVENT objects in the calendar with a calendar-query
// REPORT (RFC 4791 §7.8) asking for getetag and calendar-data. A 404 or 410
// inside the 207 (an object removed meanwhile) is skipped; any other error
// for one object, or an object without calendar-data, is listed Unreadable
// rather than failing the whole listing (RFC 4918 §13).
func (c *Client) ListEvents(ctx context.Context, acct followup.CalDAVAccount, calendarURL string) ([]followup.RemoteEvent, error) {
	col, err := parseCollection(calendarURL)
	if err != nil {
		return nil, err
	}
	s := c.session(acct)
	r, err := s.report(ctx, col, calendarQueryBody(time.Time{}, time.Time{}, true))
	if err != nil {
		return nil, err
	}
	ms, err := parseMultistatus(r)
	if err != nil {
		return nil, err
	}
	out := []followup.RemoteEvent{}
	for _, resp := range ms.Responses {
		u, ok := resp.href(r.url)
		if !ok {
			continue
		}
		if st := resp.status(); st == http.StatusNotFound || st == http.StatusGone {
			continue // removed between listing and reading
		}
		p := resp.props()
		if resp.status()/100 != 2 || p.CalendarData == nil {
			// It exists, but we cannot tell which block it is: callers must
			// not take its absence from the readable ones as a deletion.
			ev := followup.RemoteEvent{Href: u.String(), Unreadable: true}
			if p.ETag != nil {
				ev.ETag = quoteETag(*p.ETag)
			}
			out = append(out, ev)
			continue
		}
		ev, err := remoteEvent(ctx, r.url.Host, []byte(*p.CalendarData))
		if err != nil {
			return nil, err
		}
		ev.Href = u.String()
		if p.ETag != nil {
			ev.ETag = quoteETag(*p.ETag)
		}
		out = append(out, ev)
	}
	return out, nil
}

// report sends a REPORT with Depth 1 to a collection and expects a 207.
func (s *session) report(ctx context.Context, col *url.URL, body []byte) (*reply, error) {
	r, err := s.do(ctx, "REPORT", col.String(), http.Header{"Depth": {"1"}}, body)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusMultiStatus {
		if r.status == http.StatusNotFound {
			return nil, remoteError(fmt.Errorf("caldav: REPORT %s: HTTP 404", col.Redacted()),
				"The calendar was not found on %s (HTTP 404).", r.url.Host)
		}
		return nil, statusError(r, "calendar")
	}
	return r, nil
}

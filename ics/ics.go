// Package ics writes a user's follow-up blocks as an iCalendar feed
// (RFC 5545) for calendar subscriptions, and reads such a feed back.
//
// Encode writes the feed itself: the feed is served for every subscribed
// calendar poll, so its hot path is a small, allocation-light writer that
// folds (§3.1) and escapes (§3.3.11) as it goes. Decode parses with
// github.com/arran4/golang-ical, which the tests also use to cross-check
// every encoded property.
//
// What golang-ical's own serializer gets wrong, and this package does not:
//   - a carriage return in TEXT is written raw, though §3.3.11 excludes
//     control characters from TEXT; here CR LF and lone CR become the
//     escaped newline "\n", and other controls except HTAB are dropped;
//   - CATEGORIES is a list of TEXT values (§3.8.1.2), but its serializer
//     escapes the whole value, so "a,b" becomes the single category "a\,b";
//     here each category is escaped alone and the list joined with ",";
//   - invalid UTF-8 is copied through, though §3.1 makes UTF-8 the charset
//     of the stream; here invalid bytes become U+FFFD;
//   - on Unix its default line break is a bare LF, though §3.1 requires
//     CR LF (golang-ical's WithNewLineWindows fixes that);
//   - it is about 30 times slower on a 10,000-event feed
//     (BenchmarkGolangICal against BenchmarkEncode10000).
//
// Folding in golang-ical does count octets and never splits a UTF-8
// sequence; this package folds the same way (at 75 octets, §3.1) but
// without looking for word boundaries.
package ics

import (
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/followup/followup"
)

// ProductID is the PRODID of the feed (RFC 5545 §3.7.3).
const ProductID = "-//followup//followup//EN"

// DefaultRefreshInterval is the refresh interval written when a Feed has none.
const DefaultRefreshInterval = 15 * time.Minute

// maxLine is the longest content line, in octets, excluding the line break
// (RFC 5545 §3.1).
const maxLine = 75

// flushAt is the buffered size at which Encode writes to its writer.
const flushAt = 32 << 10

// Feed is one user's calendar feed.
type Feed struct {
	// Name is the calendar's display name (X-WR-CALNAME), e.g. "Follow-ups".
	Name   string
	Events []followup.Event
	// RefreshInterval is how often clients should poll, written as
	// REFRESH-INTERVAL;VALUE=DURATION (RFC 7986 §5.7) and X-PUBLISHED-TTL.
	// Zero or negative means DefaultRefreshInterval.
	RefreshInterval time.Duration
	// Now is the DTSTAMP of events without a Stamp (RFC 5545 §3.8.7.2).
	Now time.Time
}

// Encode writes the feed as one VCALENDAR (RFC 5545 §3.4) with PRODID
// ProductID, VERSION 2.0, CALSCALE GREGORIAN and METHOD PUBLISH
// (RFC 5546 §3.2.1), and one VEVENT (§3.6.1) per event in f.Events, in order.
//
// Each VEVENT has UID (§3.8.4.7), SEQUENCE (§3.8.7.4), DTSTAMP (§3.8.7.2),
// CREATED and LAST-MODIFIED when known, DTSTART and DTEND in UTC (§3.3.5
// form 2), SUMMARY, DESCRIPTION, LOCATION, URL and CATEGORIES when not
// empty, STATUS:CONFIRMED, TRANSP:OPAQUE, and a display VALARM (§3.6.6)
// AlarmMinutes before the start unless AlarmMinutes is negative. A DTEND not
// after DTSTART is left out, so the event takes no time (§3.6.1).
//
// Lines end in CR LF and are folded at 75 octets, never inside a UTF-8
// sequence (§3.1); TEXT values are escaped as §3.3.11 says, see NormalizeText.
// Encode fails with EINVALID for an event without UID or start, or with a
// time outside the years 0000-9999, before writing anything; otherwise
// only with w's error.
func Encode(w io.Writer, f Feed) error {
	if err := checkFeed(f); err != nil {
		return err
	}
	e := encoder{w: w, buf: make([]byte, 0, flushAt+4096)}
	e.header(f)
	for i := range f.Events {
		e.eventWithOverrides(&f.Events[i], f.Now)
		if e.err != nil {
			return e.err
		}
	}
	e.raw(Footer)
	e.flush()
	return e.err
}

// Footer ends the calendar: what Encode writes after the last event.
const Footer = "END:VCALENDAR\r\n"

// AppendHeader appends to b what Encode writes of f before its first
// event: the calendar's properties, and a VTIMEZONE for each zone that
// f.Events use (only events with a Zone matter, so a feed assembled from
// pieces may pass only those). It fails as Encode does for an invalid event
// or f.Now, leaving b as it was.
//
// AppendHeader, AppendEvent for each event and Footer, concatenated, are
// byte for byte what Encode writes for the same Feed.
func AppendHeader(b []byte, f Feed) ([]byte, error) {
	if err := checkFeed(f); err != nil {
		return b, err
	}
	e := encoder{buf: b}
	e.header(f)
	return e.buf, nil
}

// AppendEvent appends to b the VEVENT of ev and those of its overrides, as
// Encode writes them among a feed's events; now is the DTSTAMP of those
// without a Stamp. It fails as Encode does for an invalid event, leaving b
// as it was.
func AppendEvent(b []byte, ev *followup.Event, now time.Time) ([]byte, error) {
	if err := checkEvent(ev, now); err != nil {
		return b, err
	}
	e := encoder{buf: b}
	e.eventWithOverrides(ev, now)
	return e.buf, nil
}

// checkFeed validates every event of f and f.Now before anything is written.
func checkFeed(f Feed) error {
	for i := range f.Events {
		if err := checkEvent(&f.Events[i], time.Time{}); err != nil {
			return err
		}
	}
	return checkNow(f.Now)
}

// checkEvent validates ev, its overrides and now.
func checkEvent(ev *followup.Event, now time.Time) error {
	if err := check(ev); err != nil {
		return err
	}
	for j := range ev.Overrides {
		if err := check(&ev.Overrides[j]); err != nil {
			return err
		}
	}
	return checkNow(now)
}

// checkNow validates the DTSTAMP of events without a Stamp, when set.
func checkNow(now time.Time) error {
	if now.IsZero() {
		return nil
	}
	_, err := dateTimeOK(now, "now")
	return err
}

// header appends the calendar's properties and the VTIMEZONEs of f's events.
func (e *encoder) header(f Feed) {
	e.raw("BEGIN:VCALENDAR\r\n" +
		"VERSION:2.0\r\n" +
		"PRODID:" + ProductID + "\r\n" +
		"CALSCALE:GREGORIAN\r\n" +
		"METHOD:PUBLISH\r\n")
	if f.Name != "" {
		e.text("X-WR-CALNAME", f.Name)
	}
	ttl := f.RefreshInterval
	if ttl <= 0 {
		ttl = DefaultRefreshInterval
	}
	d := string(appendDuration(nil, ttl))
	e.raw("REFRESH-INTERVAL;VALUE=DURATION:" + d + "\r\n" + "X-PUBLISHED-TTL:" + d + "\r\n")
	for _, z := range zonesOf(f.Events) {
		e.timezone(z.loc, z.from)
	}
}

// eventWithOverrides appends the VEVENT of ev, then those of its overrides.
func (e *encoder) eventWithOverrides(ev *followup.Event, now time.Time) {
	e.event(ev, now)
	for j := range ev.Overrides {
		e.event(&ev.Overrides[j], now)
	}
}

// check validates what Encode needs of an event.
func check(ev *followup.Event) error {
	if NormalizeText(ev.UID) == "" {
		return followup.Errorf(followup.EINVALID, "uid", "An event has no UID.")
	}
	if ev.Start.IsZero() {
		return followup.Errorf(followup.EINVALID, "start", "Event %q has no start.", ev.UID)
	}
	for _, t := range []struct {
		field string
		v     time.Time
	}{{"start", ev.Start}, {"end", ev.End}, {"stamp", ev.Stamp}, {"created", ev.Created}} {
		if t.v.IsZero() {
			continue
		}
		if _, err := dateTimeOK(t.v, t.field); err != nil {
			return err
		}
	}
	return nil
}

// dateTimeOK checks that t fits the four-digit year of DATE-TIME (§3.3.5).
func dateTimeOK(t time.Time, field string) (time.Time, error) {
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return u, followup.Errorf(followup.EINVALID, field, "Time %s is outside the years 0000-9999.", t.Format(time.RFC3339))
	}
	return u, nil
}

// encoder buffers the feed and remembers the first write error.
type encoder struct {
	w   io.Writer // nil: append to buf only
	buf []byte
	tmp []byte // escaped value of the line being written
	err error
}

// flush writes the buffer out; without a writer (AppendEvent,
// AppendHeader) the buffer is the result and keeps growing.
func (e *encoder) flush() {
	if e.w == nil {
		return
	}
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

// raw appends lines that are already complete, short and escaped.
func (e *encoder) raw(s string) { e.buf = append(e.buf, s...) }

// event appends one VEVENT.
func (e *encoder) event(ev *followup.Event, now time.Time) {
	e.raw("BEGIN:VEVENT\r\n")
	e.text("UID", ev.UID)
	e.tmp = strconv.AppendInt(append(e.tmp[:0], "SEQUENCE:"...), int64(max(ev.Sequence, 0)), 10)
	e.buf = append(append(e.buf, e.tmp...), "\r\n"...)
	stamp := ev.Stamp
	if stamp.IsZero() {
		stamp = now
	}
	e.dateTime("DTSTAMP:", stamp)
	if !ev.Created.IsZero() {
		e.dateTime("CREATED:", ev.Created)
	}
	if !ev.Stamp.IsZero() {
		e.dateTime("LAST-MODIFIED:", ev.Stamp)
	}
	switch {
	case ev.Zone != nil:
		e.localTime("DTSTART", ev.Start, ev.Zone)
		if ev.End.After(ev.Start) {
			e.localTime("DTEND", ev.End, ev.Zone)
		}
		if !ev.RecurrenceID.IsZero() {
			e.localTime("RECURRENCE-ID", ev.RecurrenceID, ev.Zone)
		}
		if ev.RRule != "" {
			e.uri("RRULE", ev.RRule) // §3.8.5.3: a RECUR value, written as is
			for _, x := range ev.ExDates {
				e.localTime("EXDATE", x, ev.Zone) // §3.8.5.1
			}
		}
	default:
		e.dateTime("DTSTART:", ev.Start)
		if ev.End.After(ev.Start) {
			e.dateTime("DTEND:", ev.End)
		}
		if !ev.RecurrenceID.IsZero() {
			e.dateTime("RECURRENCE-ID:", ev.RecurrenceID)
		}
	}
	if ev.Summary != "" {
		e.text("SUMMARY", ev.Summary)
	}
	if ev.Description != "" {
		e.text("DESCRIPTION", ev.Description)
	}
	if ev.Location != "" {
		e.text("LOCATION", ev.Location)
	}
	if ev.URL != "" {
		e.uri("URL", ev.URL)
	}
	e.categories(ev.Categories)
	e.raw("STATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\n")
	if ev.AlarmMinutes >= 0 {
		e.raw("BEGIN:VALARM\r\nACTION:DISPLAY\r\n")
		desc := ev.Summary
		if strings.TrimSpace(NormalizeText(desc)) == "" {
			desc = "Reminder"
		}
		e.text("DESCRIPTION", desc)
		e.tmp = strconv.AppendInt(append(e.tmp[:0], "TRIGGER:-PT"...), int64(ev.AlarmMinutes), 10)
		e.buf = append(append(e.buf, e.tmp...), "M\r\nEND:VALARM\r\n"...)
	}
	e.raw("END:VEVENT\r\n")
	if len(e.buf) >= flushAt {
		e.flush()
	}
}

// dateTime appends a UTC DATE-TIME property, e.g. "DTSTART:20261125T150000Z"
// (§3.3.5 form 2). name includes the colon.
func (e *encoder) dateTime(name string, t time.Time) {
	e.buf = appendDateTime(append(e.buf, name...), t)
	e.buf = append(e.buf, "\r\n"...)
}

// appendDateTime appends t in UTC as YYYYMMDDTHHMMSSZ (§3.3.5). The year
// must be within 0-9999 (see check).
func appendDateTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return append(b,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		byte('0'+mo/10), byte('0'+mo%10), byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), byte('0'+mi/10), byte('0'+mi%10),
		byte('0'+s/10), byte('0'+s%10), 'Z')
}

// appendDuration appends d, rounded to whole seconds and at least one,
// as a positive dur-value (§3.3.6), e.g. PT15M, PT1H30M, P1DT0H0M5S.
func appendDuration(b []byte, d time.Duration) []byte {
	secs := int64((d + time.Second/2) / time.Second)
	secs = max(secs, 1)
	days, rest := secs/86400, secs%86400
	h, m, s := rest/3600, rest/60%60, rest%60
	b = append(b, 'P')
	if days > 0 {
		b = append(strconv.AppendInt(b, days, 10), 'D')
		if rest == 0 {
			return b
		}
	}
	b = append(b, 'T')
	// dur-time is dur-hour [dur-minute [dur-second]] or dur-minute
	// [dur-second] or dur-second: no unit may be skipped in between.
	switch {
	case h > 0 || days > 0 && (m > 0 || s > 0):
		b = append(strconv.AppendInt(b, h, 10), 'H')
		if m > 0 || s > 0 {
			b = append(strconv.AppendInt(b, m, 10), 'M')
		}
	case m > 0:
		b = append(strconv.AppendInt(b, m, 10), 'M')
	}
	if s > 0 {
		b = append(strconv.AppendInt(b, s, 10), 'S')
	}
	return b
}

// text appends a TEXT property (§3.3.11), escaped and folded, unless its
// value is empty once normalized (see NormalizeText).
func (e *encoder) text(name, v string) {
	e.tmp = appendText(append(append(e.tmp[:0], name...), ':'), v)
	if len(e.tmp) == len(name)+1 {
		return // nothing left after normalizing: leave the property out
	}
	e.buf = appendFolded(e.buf, e.tmp)
}

// uri appends a URI property (§3.3.13). URIs are not escaped; control
// characters, which no URI contains, are dropped.
func (e *encoder) uri(name, v string) {
	e.tmp = append(append(e.tmp[:0], name...), ':')
	v = validUTF8(v)
	for i := 0; i < len(v); i++ {
		if c := v[i]; c >= 0x20 && c != 0x7f {
			e.tmp = append(e.tmp, c)
		}
	}
	if len(e.tmp) == len(name)+1 {
		return
	}
	e.buf = appendFolded(e.buf, e.tmp)
}

// categories appends CATEGORIES (§3.8.1.2), a comma-separated list of
// TEXT values each escaped on its own. Empty categories are skipped.
func (e *encoder) categories(cs []string) {
	e.tmp = append(e.tmp[:0], "CATEGORIES:"...)
	n := 0
	for _, c := range cs {
		if NormalizeText(c) == "" {
			continue
		}
		if n > 0 {
			e.tmp = append(e.tmp, ',')
		}
		e.tmp = appendText(e.tmp, c)
		n++
	}
	if n > 0 {
		e.buf = appendFolded(e.buf, e.tmp)
	}
}

// special marks the bytes that appendText cannot copy as they are.
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t'
	}
	t[0x7f] = true
	t['\\'], t[';'], t[','] = true, true, true
	return t
}()

// appendText appends v escaped as a TEXT value (§3.3.11): backslash,
// semicolon and comma get a backslash, a newline (LF, CR LF or a lone CR)
// becomes "\n", and the other control characters except HTAB, which TEXT
// does not allow, are dropped. Invalid UTF-8 becomes U+FFFD.
func appendText(b []byte, v string) []byte {
	v = validUTF8(v)
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !special[c] {
			continue
		}
		b = append(b, v[start:i]...)
		start = i + 1
		switch c {
		case '\\', ';', ',':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'n')
			if i+1 < len(v) && v[i+1] == '\n' {
				i++
				start = i + 1
			}
		}
	}
	return append(b, v[start:]...)
}

// validUTF8 returns v with invalid UTF-8 replaced by U+FFFD.
func validUTF8(v string) string {
	if utf8.ValidString(v) {
		return v
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}

// appendFolded appends line, which is valid UTF-8, as a content line folded
// at 75 octets (§3.1): a line break and a single space are inserted before
// the octet that would overflow, moved back to the start of its UTF-8
// sequence so that no character is split, and before a backslash that
// starts an escape pair (§3.3.11). The line ends in CR LF.
func appendFolded(b, line []byte) []byte {
	limit := maxLine
	for len(line) > limit {
		n := limit
		for n > 0 && !utf8.RuneStart(line[n]) {
			n--
		}
		// Keep an escape pair such as "\n" on one line: §3.1 allows the
		// split, but some clients unescape before unfolding.
		k := n - 1
		for k >= 0 && line[k] == '\\' {
			k--
		}
		if (n-1-k)%2 == 1 {
			n--
		}
		b = append(append(b, line[:n]...), "\r\n "...)
		line = line[n:]
		limit = maxLine - 1 // the leading space counts
	}
	return append(append(b, line...), "\r\n"...)
}

// NormalizeText returns what a TEXT value (§3.3.11) written by Encode
// decodes to: CR LF and lone CR become LF, control characters other than
// LF and HTAB are dropped and invalid UTF-8 becomes U+FFFD. Encode then
// Decode gives back exactly NormalizeText(s) for every text s.
func NormalizeText(s string) string {
	s = validUTF8(s)
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; special[c] && c != '\n' && c != '\\' && c != ';' && c != ',' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\r':
			b.WriteByte('\n')
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		case c == '\n' || c == '\t' || !special[c] || c == '\\' || c == ';' || c == ',':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FeedEncoder renders a whole feed with Encode, or in pieces with
// AppendHeader, AppendEvent and Footer; it is the feed encoder the service
// is given.
type FeedEncoder struct{}

// AppendHeader appends the feed's opening (see AppendHeader), with the
// VTIMEZONEs of the zoned events among events.
func (FeedEncoder) AppendHeader(b []byte, name string, events []followup.Event, now time.Time) ([]byte, error) {
	return AppendHeader(b, Feed{Name: name, Events: events, Now: now})
}

// AppendEvent appends one event as the feed holds it (see AppendEvent).
func (FeedEncoder) AppendEvent(b []byte, ev *followup.Event, now time.Time) ([]byte, error) {
	return AppendEvent(b, ev, now)
}

// Footer returns the feed's closing line (Footer).
func (FeedEncoder) Footer() string { return Footer }

// EncodeFeed writes the feed named name with events, DTSTAMP falling back
// to now.
func (FeedEncoder) EncodeFeed(w io.Writer, name string, events []followup.Event, now time.Time) error {
	return Encode(w, Feed{Name: name, Events: events, Now: now})
}

// Package duetext turns a deadline in words ("by Friday", "in 3 days",
// "Dec 3", "tomorrow 3pm") into a time in the user's zone.
//
// # Why not github.com/olebedev/when
//
// The module is in go.mod, but its English rules (v1.1.0) are unsafe for
// deadlines: "tomorrow", "in 3 days" and weekdays add multiples of 24 h
// (rules/context.go adds Context.Duration), which is an hour off across a DST
// change; "in 1 month" computes (month+1)%12, so in November it yields month 0,
// which time.Date normalises to December of the previous year; "this Friday"
// said on a Saturday goes back to the day before; a zero reference time falls
// back to time.Now; and rules match anywhere in the text, so "call Bob Friday
// re: 3 pm slides" yields something rather than an error. A deadline that is
// silently wrong is worse than a clear "not understood", so this package is a
// small explicit parser: every phrase it knows is listed below, anything else
// is rejected with EINVALID.
//
// # Meanings
//
// "now" is the reference time seen in the user's zone; "today" is its local
// date; endOfDay is the end of the user's working day (e.g. 17:00). Words and
// dates without a time of day mean endOfDay on that local date; calendar
// arithmetic is done on local dates, so "tomorrow" is 17:00 local even when
// the clocks change overnight.
//
//   - "today", "tonight", "eod", "end of day", "cob": today at endOfDay; if
//     that has already passed (said in the evening), 23:59 today.
//   - "asap": today at endOfDay while that is still ahead, else endOfDay
//     tomorrow (the package knows no working days, so "the next working
//     moment" is approximated by the next day's end of day).
//   - "tomorrow", "day after tomorrow"; "in 3 days", "in a day", "in 2 weeks",
//     "in a month" (same day of month, clamped to the month's last day), also
//     "3 days from now" and "within 3 days".
//   - "in an hour", "in 3 hours", "in 30 minutes": exactly that long after
//     now, not end of day.
//   - "Friday", "fri", "by Friday", "this Friday", "on Friday": the next
//     Friday whose deadline is still ahead, which is today when said on Friday
//     before endOfDay (a demanding user saying "by Friday" on Friday morning
//     means today), and a week later when said on Friday evening.
//   - "next Friday", "Friday next week": the Friday of next week, weeks
//     running Monday to Sunday (ISO 8601). Said on Monday it is 11 days away;
//     said on a Saturday or Sunday it is the coming Friday.
//   - "this week", "end of week", "eow", "by the weekend": the same as
//     "Friday" (this week's Friday, or the coming one at a weekend).
//   - "next week", "end of next week": endOfDay on the Friday of next week.
//   - "end of month", "end of the month", "eom", "this month": the last day of
//     this month, or of next month once that has passed; "end of next month",
//     "next month": the last day of next month. "end of year", "eoy": Dec 31.
//   - Dates: "Dec 3", "3 Dec", "December 3rd", "3rd of December", "Dec 3 2026",
//     "Dec 3, 2026", "2026-12-03", and "the 3rd" (the next 3rd of a month). A
//     month and day without a year that is before today means next year
//     (Feb 29 means the next Feb 29). Numeric forms like "12/3" are rejected
//     as ambiguous between US and European order.
//   - Exact times: RFC 3339 "2026-12-03T15:00:00-05:00" (kept as given),
//     "2026-12-03 15:00" and "2026-12-03T15:00" (local).
//   - A time of day may follow or precede any date phrase except "in N
//     hours" and "asap": "tomorrow 3pm", "by tomorrow at 15:00", "Friday
//     noon", "3:30 pm on Dec 3". A time of day alone ("by 3pm") means today
//     at that time, or tomorrow if it has passed.
//
// Leading "by", "due", "before", "until", "on" and a trailing "at the latest"
// are ignored, as are case, extra spaces, "the", and trailing punctuation.
package duetext

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/followup/followup"
)

// MaxLen is the longest deadline text accepted, in characters.
const MaxLen = 100

// Years outside [minYear, maxYear] are rejected as absurd.
const (
	minYear = 1970
	maxYear = 2200
)

// earliest and latest bound an accepted deadline, in UTC.
var (
	earliest = time.Date(minYear, time.January, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(maxYear+1, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// field is the input field errors name.
const field = "due_text"

// examples are named in the error a person sees when a phrase is not understood.
const examples = `"tomorrow", "by Friday", "in 3 days", "next week", "end of month", "Dec 3", "2026-12-03" or "tomorrow 3pm"`

// date is a local calendar date.
type date struct {
	y int
	m time.Month
	d int
}

// civil returns the local date of t.
func civil(t time.Time) date {
	y, m, d := t.Date()
	return date{y, m, d}
}

// addDays returns the date n days after dt, normalised.
func (dt date) addDays(n int) date {
	return civil(time.Date(dt.y, dt.m, dt.d+n, 12, 0, 0, 0, time.UTC))
}

// addMonths returns the date n months after dt, clamping the day to the
// length of the target month (Jan 31 + 1 month = Feb 28).
func (dt date) addMonths(n int) date {
	first := time.Date(dt.y, dt.m+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
	d := min(dt.d, daysIn(first.Year(), first.Month()))
	return date{first.Year(), first.Month(), d}
}

// lastOfMonth returns the last day of dt's month.
func (dt date) lastOfMonth() date {
	return date{dt.y, dt.m, daysIn(dt.y, dt.m)}
}

// before reports whether dt is an earlier day than o.
func (dt date) before(o date) bool {
	if dt.y != o.y {
		return dt.y < o.y
	}
	if dt.m != o.m {
		return dt.m < o.m
	}
	return dt.d < o.d
}

// weekday returns the day of the week of dt.
func (dt date) weekday() time.Weekday {
	return time.Date(dt.y, dt.m, dt.d, 12, 0, 0, 0, time.UTC).Weekday()
}

// daysIn returns the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

// clock is a time of day found in the text.
type clock struct {
	h, min int
}

// kind says how a phrase's date turns into a time.
type kind int

const (
	kindDate  kind = iota // endOfDay (or the given time) on the date
	kindExact             // an exact instant; no time of day may be added
	kindToday             // today; endOfDay, or 23:59 once that has passed
	kindASAP              // endOfDay today, or tomorrow once that has passed
	kindTime              // only a time of day: today, or tomorrow once passed
)

// phrase is the meaning of a date phrase before the time of day is applied.
type phrase struct {
	kind  kind
	day   date
	exact time.Time
	// roll, if set, gives the next candidate date when the deadline on day
	// has already passed ("Friday" said on Friday evening is next Friday).
	roll func(date) date
}

// Parse resolves a deadline phrase, relative to now in loc. Words and bare
// dates mean endOfDay (the end of the user's working day, e.g. 17:00) on that
// local date. "in 3 days", "tomorrow" and weekday names count from the local
// day of now. See the package documentation for every phrase and its meaning.
// Errors are EINVALID with field due_text and a message a person can act on.
// A nil loc means UTC.
func Parse(text string, now time.Time, loc *time.Location, endOfDay followup.Clock) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	if utf8.RuneCountInString(text) > MaxLen {
		return time.Time{}, followup.Errorf(followup.EINVALID, field,
			"The deadline is longer than %d characters. Write it shorter, such as %s.", MaxLen, examples)
	}
	s := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(text), ".!?,;:"))
	if s == "" {
		return time.Time{}, followup.Errorf(followup.EINVALID, field,
			"The deadline is empty. Write one such as %s.", examples)
	}
	now = now.In(loc)
	t, err := parse(s, now, loc, endOfDay)
	if err != nil {
		return time.Time{}, err
	}
	if t.Before(earliest) || !t.Before(latest) {
		return time.Time{}, followup.Errorf(followup.EINVALID, field,
			"The deadline %q is not between the years %d and %d.", text, minYear, maxYear)
	}
	return t, nil
}

// notUnderstood is the error for a phrase this package does not know.
func notUnderstood(text string) error {
	return followup.Errorf(followup.EINVALID, field,
		"The deadline %q was not understood. Try a phrase such as %s.", text, examples)
}

// exactLayouts are the machine-readable forms, tried before any words.
var exactLayouts = []struct {
	layout string
	local  bool // no offset in the text: the user's zone
}{
	{time.RFC3339Nano, false},
	{"2006-01-02T15:04", true},
	{"2006-01-02T15:04:05", true},
	{"2006-01-02 15:04", true},
	{"2006-01-02 15:04:05", true},
	{"2006-01-02 15:04Z07:00", false},
	{"2006-01-02 15:04:05Z07:00", false},
}

// parse does the work of Parse on trimmed, non-empty text.
func parse(text string, now time.Time, loc *time.Location, eod followup.Clock) (time.Time, error) {
	if len(text) >= 16 && isDigits(text[:4]) && text[4] == '-' {
		up := strings.ToUpper(text)
		for _, l := range exactLayouts {
			var t time.Time
			var err error
			if l.local {
				t, err = time.ParseInLocation(l.layout, up, loc)
			} else {
				t, err = time.Parse(l.layout, up)
			}
			if err == nil {
				return t.In(loc), nil
			}
		}
	}

	toks := tokens(text)
	toks = stripFillers(toks)
	var tod *clock
	toks, tod = splitClock(toks)
	if tod == nil {
		toks = stripEOD(toks)
	}
	if len(toks) == 0 && tod == nil {
		return time.Time{}, notUnderstood(text)
	}

	today := civil(now)
	var p phrase
	if len(toks) == 0 {
		p = phrase{kind: kindTime, day: today, roll: func(d date) date { return d.addDays(1) }}
	} else {
		var ok bool
		p, ok = datePhrase(toks, now, today)
		if !ok {
			return time.Time{}, notUnderstood(text)
		}
	}

	switch p.kind {
	case kindExact:
		if tod != nil {
			return time.Time{}, notUnderstood(text)
		}
		return p.exact, nil
	case kindASAP:
		if tod != nil {
			return time.Time{}, notUnderstood(text)
		}
		t := at(today, eod, loc)
		if !t.After(now) {
			t = at(today.addDays(1), eod, loc)
		}
		return t, nil
	case kindToday:
		if tod != nil {
			return on(today, *tod, loc), nil
		}
		t := at(today, eod, loc)
		if !t.After(now) {
			t = on(today, clock{23, 59}, loc)
		}
		return t, nil
	}

	mk := func(d date) time.Time {
		if tod != nil {
			return on(d, *tod, loc)
		}
		return at(d, eod, loc)
	}
	t := mk(p.day)
	if p.roll != nil && !t.After(now) {
		t = mk(p.roll(p.day))
	}
	return t, nil
}

// at returns endOfDay on local date d.
func at(d date, eod followup.Clock, loc *time.Location) time.Time {
	return eod.On(d.y, d.m, d.d, loc)
}

// on returns the time of day c on local date d. A time in a DST gap comes
// out as time.Date makes it, an hour early (02:30 on 2026-03-08 in New York
// is 01:30 EST): the safe side for a deadline.
func on(d date, c clock, loc *time.Location) time.Time {
	return time.Date(d.y, d.m, d.d, c.h, c.min, 0, 0, loc)
}

// meridiem spells "a.m." and "p.m." (with or without the last dot) as
// "am" and "pm". Made once: a Replacer builds its lookup table at its
// first use, which cost each parse more than the rest of it allocated.
var meridiem = strings.NewReplacer("a.m.", "am", "p.m.", "pm", "a.m", "am", "p.m", "pm")

// tokens lowercases s, spells out "a.m."/"p.m.", splits it at spaces and
// commas, trims dots off each word and drops the word "the".
func tokens(s string) []string {
	s = strings.ToLower(s)
	s = meridiem.Replace(s)
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	}) {
		f = strings.Trim(f, ".")
		if f == "" || f == "the" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// stripFillers drops words that add nothing to a deadline: a leading "by",
// "due", "before", "until", "no later than", and a trailing "at the latest".
func stripFillers(toks []string) []string {
	for {
		switch {
		case len(toks) > 0 && oneOf(toks[0], "by", "on", "due", "before", "until", "till", "til", "deadline", "deadline:", "due:"):
			toks = toks[1:]
		case hasPrefix(toks, "no", "later", "than"):
			toks = toks[3:]
		case hasSuffix(toks, "at", "latest"):
			toks = toks[:len(toks)-2]
		case len(toks) > 0 && toks[len(toks)-1] == "latest":
			toks = toks[:len(toks)-1]
		default:
			return toks
		}
	}
}

// stripEOD drops "eod"/"end of day" around another date phrase:
// "Friday eod", "eod tomorrow", "end of day Friday", "end of Friday".
func stripEOD(toks []string) []string {
	if len(toks) < 2 {
		return toks
	}
	for _, w := range [][]string{{"eod"}, {"cob"}, {"eob"}, {"end", "of", "day"}, {"close", "of", "business"}, {"end", "of", "business"}} {
		if len(toks) > len(w) && hasPrefix(toks, w...) {
			toks = toks[len(w):]
			if len(toks) > 1 && toks[0] == "on" {
				toks = toks[1:]
			}
			return toks
		}
		if len(toks) > len(w) && hasSuffix(toks, w...) {
			return toks[:len(toks)-len(w)]
		}
	}
	// "end of Friday", "end of tomorrow".
	if len(toks) == 3 && toks[0] == "end" && toks[1] == "of" {
		if _, ok := weekdays[toks[2]]; ok || oneOf(toks[2], "today", "tomorrow", "tmrw", "tmr") {
			return toks[2:]
		}
	}
	return toks
}

var (
	reClock24   = regexp.MustCompile(`^([01]?[0-9]|2[0-3])[:h]([0-5][0-9])$`)
	reClockAMPM = regexp.MustCompile(`^(1[0-2]|0?[1-9])(?:[:.]([0-5][0-9]))?(am|pm)$`)
	reHour      = regexp.MustCompile(`^(1[0-2]|0?[1-9])(?:[:.]([0-5][0-9]))?$`)
)

// splitClock removes a time of day from the end ("tomorrow at 3pm") or the
// start ("3pm on Friday") of toks and returns it.
func splitClock(toks []string) ([]string, *clock) {
	// At the end.
	if c, n := clockAtEnd(toks); c != nil {
		rest := toks[:len(toks)-n]
		if len(rest) > 0 && oneOf(rest[len(rest)-1], "at", "@", "by", "before", "around") {
			rest = rest[:len(rest)-1]
		}
		return rest, c
	}
	// At the start.
	for n := 2; n >= 1; n-- {
		if len(toks) < n {
			continue
		}
		if c := readClock(toks[:n]); c != nil {
			rest := toks[n:]
			if len(rest) > 1 && oneOf(rest[0], "on", "by") {
				rest = rest[1:]
			}
			return rest, c
		}
	}
	return toks, nil
}

// clockAtEnd reads a time of day from the last one or two tokens.
func clockAtEnd(toks []string) (*clock, int) {
	for n := 2; n >= 1; n-- {
		if len(toks) < n {
			continue
		}
		if c := readClock(toks[len(toks)-n:]); c != nil {
			return c, n
		}
	}
	return nil, 0
}

// readClock reads "3pm", "3 pm", "3:30pm", "15:00", "15h30", "noon" or
// "midday" from exactly the given tokens.
func readClock(ts []string) *clock {
	switch len(ts) {
	case 1:
		w := ts[0]
		if w == "noon" || w == "midday" {
			return &clock{12, 0}
		}
		if m := reClock24.FindStringSubmatch(w); m != nil {
			h, _ := strconv.Atoi(m[1])
			mi, _ := strconv.Atoi(m[2])
			return &clock{h, mi}
		}
		if m := reClockAMPM.FindStringSubmatch(w); m != nil {
			return ampm(m[1], m[2], m[3])
		}
	case 2:
		if ts[1] != "am" && ts[1] != "pm" {
			return nil
		}
		if m := reHour.FindStringSubmatch(ts[0]); m != nil {
			return ampm(m[1], m[2], ts[1])
		}
	}
	return nil
}

// ampm converts a 12-hour clock: 12am is midnight, 12pm is noon.
func ampm(hs, ms, half string) *clock {
	h, _ := strconv.Atoi(hs)
	mi := 0
	if ms != "" {
		mi, _ = strconv.Atoi(ms)
	}
	h %= 12
	if half == "pm" {
		h += 12
	}
	return &clock{h, mi}
}

// weekdays maps names and common abbreviations to days of the week.
var weekdays = map[string]time.Weekday{
	"monday": time.Monday, "mon": time.Monday,
	"tuesday": time.Tuesday, "tue": time.Tuesday, "tues": time.Tuesday,
	"wednesday": time.Wednesday, "wed": time.Wednesday, "weds": time.Wednesday,
	"thursday": time.Thursday, "thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday,
	"friday": time.Friday, "fri": time.Friday,
	"saturday": time.Saturday, "sat": time.Saturday,
	"sunday": time.Sunday, "sun": time.Sunday,
}

// months maps names and abbreviations to months.
var months = map[string]time.Month{
	"january": time.January, "jan": time.January,
	"february": time.February, "feb": time.February,
	"march": time.March, "mar": time.March,
	"april": time.April, "apr": time.April,
	"may":  time.May,
	"june": time.June, "jun": time.June,
	"july": time.July, "jul": time.July,
	"august": time.August, "aug": time.August,
	"september": time.September, "sep": time.September, "sept": time.September,
	"october": time.October, "oct": time.October,
	"november": time.November, "nov": time.November,
	"december": time.December, "dec": time.December,
}

// numbers are the counts accepted in "in N days".
var numbers = map[string]int{
	"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
	"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
	"couple": 2, "few": 3,
}

// datePhrase interprets the tokens left once fillers and a time of day are gone.
func datePhrase(toks []string, now time.Time, today date) (phrase, bool) {
	s := strings.Join(toks, " ")
	untilFriday := func(from date) date {
		return from.addDays((int(time.Friday) - int(from.weekday()) + 7) % 7)
	}
	weekRoll := func(d date) date { return d.addDays(7) }
	// mondayNext is the Monday that starts next ISO week.
	mondayNext := today.addDays(7 - (int(today.weekday())+6)%7)

	switch s {
	case "today", "tonight", "eod", "end of day", "end of today", "cob", "close of business", "eob", "end of business", "this evening", "this afternoon":
		return phrase{kind: kindToday, day: today}, true
	case "asap", "as soon as possible", "now", "immediately", "right away":
		return phrase{kind: kindASAP, day: today}, true
	case "tomorrow", "tmrw", "tmr", "tomorow", "tommorow", "tommorrow", "tomorrow eod", "end of tomorrow":
		return phrase{day: today.addDays(1)}, true
	case "day after tomorrow", "overmorrow":
		return phrase{day: today.addDays(2)}, true
	case "this week", "end of week", "end of this week", "eow", "week end", "weekend", "this weekend":
		return phrase{day: untilFriday(today), roll: weekRoll}, true
	case "next week", "end of next week", "friday next week":
		return phrase{day: mondayNext.addDays(4)}, true
	case "end of month", "eom", "this month", "end of this month":
		return phrase{day: today.lastOfMonth(), roll: func(d date) date { return d.addMonths(1).lastOfMonth() }}, true
	case "next month", "end of next month":
		return phrase{day: date{today.y, today.m, 1}.addMonths(1).lastOfMonth()}, true
	case "end of year", "eoy", "this year", "end of this year":
		return phrase{day: date{today.y, time.December, 31}, roll: func(d date) date { return date{d.y + 1, time.December, 31} }}, true
	}

	// Weekdays: "friday", "this friday", "on friday", "this coming friday",
	// "next friday", "friday next week".
	{
		ts := toks
		next := false
		switch {
		case len(ts) == 3 && ts[1] == "next" && ts[2] == "week":
			next, ts = true, ts[:1]
		case len(ts) == 3 && ts[0] == "this" && ts[1] == "coming":
			ts = ts[2:]
		case len(ts) == 2 && oneOf(ts[0], "this", "on", "coming"):
			ts = ts[1:]
		case len(ts) == 2 && ts[0] == "next":
			next, ts = true, ts[1:]
		}
		if len(ts) == 1 {
			if wd, ok := weekdays[ts[0]]; ok {
				if next {
					return phrase{day: mondayNext.addDays((int(wd) + 6) % 7)}, true
				}
				off := (int(wd) - int(today.weekday()) + 7) % 7
				p := phrase{day: today.addDays(off)}
				if off == 0 {
					p.roll = weekRoll
				}
				return p, true
			}
		}
	}

	// "in 3 days", "within 2 weeks", "3 days from now", "in a couple of days".
	if p, ok := relative(toks, now, today); ok {
		return p, true
	}

	// Calendar dates.
	if d, ok := calendarDate(toks, today); ok {
		return phrase{day: d}, true
	}
	return phrase{}, false
}

// relative reads "in N unit", "within N unit" and "N unit from now".
func relative(toks []string, now time.Time, today date) (phrase, bool) {
	var ts []string
	switch {
	case len(toks) >= 3 && oneOf(toks[0], "in", "within"):
		ts = toks[1:]
	case len(toks) >= 4 && hasSuffix(toks, "from", "now"):
		ts = toks[:len(toks)-2]
	case len(toks) >= 4 && hasSuffix(toks, "from", "today"):
		ts = toks[:len(toks)-2]
	default:
		return phrase{}, false
	}
	// "a couple of days", "a few days", "couple days".
	if len(ts) >= 3 && oneOf(ts[0], "a") && oneOf(ts[1], "couple", "few") {
		ts = ts[1:]
	}
	if len(ts) == 3 && ts[1] == "of" && ts[0] == "couple" {
		ts = []string{ts[0], ts[2]}
	}
	if len(ts) != 2 {
		return phrase{}, false
	}
	n, ok := numbers[ts[0]]
	if !ok {
		if !isDigits(ts[0]) || len(ts[0]) > 6 {
			return phrase{}, false
		}
		n, _ = strconv.Atoi(ts[0])
	}
	if n == 0 {
		return phrase{}, false
	}
	switch ts[1] {
	case "minute", "minutes", "min", "mins":
		return phrase{kind: kindExact, exact: now.Add(time.Duration(n) * time.Minute)}, true
	case "hour", "hours", "hr", "hrs", "h":
		return phrase{kind: kindExact, exact: now.Add(time.Duration(n) * time.Hour)}, true
	case "day", "days":
		return phrase{day: today.addDays(n)}, true
	case "week", "weeks", "wk", "wks":
		return phrase{day: today.addDays(7 * n)}, true
	case "month", "months":
		return phrase{day: today.addMonths(n)}, true
	}
	return phrase{}, false
}

var (
	reISODate = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)
	reDay     = regexp.MustCompile(`^(\d{1,2})(st|nd|rd|th)?$`)
)

// calendarDate reads "2026-12-03", "dec 3", "3 dec", "december 3rd 2026",
// "3rd of december", and "3rd" (the next 3rd of a month).
func calendarDate(toks []string, today date) (date, bool) {
	if len(toks) == 1 {
		if m := reISODate.FindStringSubmatch(toks[0]); m != nil {
			y, _ := strconv.Atoi(m[1])
			mo, _ := strconv.Atoi(m[2])
			d, _ := strconv.Atoi(m[3])
			if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, time.Month(mo)) {
				return date{}, false
			}
			return date{y, time.Month(mo), d}, true
		}
		// "3rd": needs an ordinal suffix, a bare "3" is too vague.
		if m := reDay.FindStringSubmatch(toks[0]); m != nil && m[2] != "" {
			d, _ := strconv.Atoi(m[1])
			if d < 1 || d > 31 {
				return date{}, false
			}
			first := date{today.y, today.m, 1}
			for i := range 12 {
				c := first.addMonths(i)
				if d > daysIn(c.y, c.m) {
					continue
				}
				if c = (date{c.y, c.m, d}); !c.before(today) {
					return c, true
				}
			}
		}
		return date{}, false
	}

	ts := toks
	year := 0
	if last := ts[len(ts)-1]; len(last) == 4 && isDigits(last) {
		year, _ = strconv.Atoi(last)
		ts = ts[:len(ts)-1]
	}
	var mo time.Month
	var dayTok string
	switch {
	case len(ts) == 2:
		if m, ok := months[ts[0]]; ok {
			mo, dayTok = m, ts[1]
		} else if m, ok := months[ts[1]]; ok {
			mo, dayTok = m, ts[0]
		}
	case len(ts) == 3 && ts[1] == "of":
		if m, ok := months[ts[2]]; ok {
			mo, dayTok = m, ts[0]
		}
	}
	if mo == 0 {
		return date{}, false
	}
	m := reDay.FindStringSubmatch(dayTok)
	if m == nil {
		return date{}, false
	}
	d, _ := strconv.Atoi(m[1])
	if d < 1 || d > 31 {
		return date{}, false
	}
	if year != 0 {
		if d > daysIn(year, mo) {
			return date{}, false
		}
		return date{year, mo, d}, true
	}
	// No year: the next such date on or after today (Feb 29 waits for a
	// leap year).
	for y := today.y; y <= today.y+8; y++ {
		if d > daysIn(y, mo) {
			continue
		}
		if c := (date{y, mo, d}); !c.before(today) {
			return c, true
		}
	}
	return date{}, false
}

// isDigits reports whether s is non-empty and all ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// oneOf reports whether s is one of opts.
func oneOf(s string, opts ...string) bool {
	for _, o := range opts {
		if s == o {
			return true
		}
	}
	return false
}

// hasPrefix reports whether toks starts with the words w.
func hasPrefix(toks []string, w ...string) bool {
	if len(toks) < len(w) {
		return false
	}
	for i := range w {
		if toks[i] != w[i] {
			return false
		}
	}
	return true
}

// hasSuffix reports whether toks ends with the words w.
func hasSuffix(toks []string, w ...string) bool {
	if len(toks) < len(w) {
		return false
	}
	return hasPrefix(toks[len(toks)-len(w):], w...)
}

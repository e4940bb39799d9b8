package caldav

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// errBudget stops an expansion whose work budget is spent.
var errBudget = errors.New("caldav: recurrence expansion over its budget")

// maxInterval bounds a rule's INTERVAL: a larger one leaves only its first
// period in any calendar we read.
const maxInterval = 1 << 20

// rule is an RRULE (RFC 5545 §3.3.10) ready to expand in a window. The
// RRULE text is read by rrule-go; the expansion is ours, because rrule-go
// walks every period from DTSTART and, for a rule that never matches again,
// on to the year 9999. Ours jumps to the period next to the window and stops
// at the window's end.
//
// Every BYxxx part is applied as a filter on the days of a period (the day,
// the week from WKST, the month, the year), as rrule-go and python-dateutil
// do; the time of day comes from BYHOUR, BYMINUTE and BYSECOND, each
// defaulting to DTSTART's. BYSETPOS then picks from the period's sorted
// occurrences.
type rule struct {
	freq     rrule.Frequency
	interval int
	count    int       // 0: unbounded
	until    time.Time // zero: none
	dtstart  time.Time
	wkst     time.Weekday

	months, monthDays, yearDays, weekNos, setPos []int
	weekdays                                     []time.Weekday // BYDAY without ordinal
	nthWeekdays                                  []nthWeekday   // BYDAY with one (MONTHLY, YEARLY)
	clock                                        []clockTime    // sorted

	week1Cache map[int]civilDay // by year, for BYWEEKNO

	// DTSTART's date, read once: with some zones, reading it takes a while.
	y0   int
	m0   time.Month
	day0 civilDay
}

type nthWeekday struct {
	n  int
	wd time.Weekday
}

type clockTime struct{ h, m, s int }

// parseRule reads the value of an RRULE for a series starting at dtstart.
// ok is false for a rule we do not expand: FREQ finer than DAILY and
// BYEASTER (only DTSTART then counts, as before).
func parseRule(value string, dtstart time.Time) (r *rule, ok bool, err error) {
	opt, err := ruleOptions(value, dtstart.Location())
	if err != nil {
		return nil, false, err
	}
	return newRule(opt, dtstart)
}

// ruleOptions reads an RRULE value, its UNTIL in loc when floating.
func ruleOptions(value string, loc *time.Location) (*rrule.ROption, error) {
	return rrule.StrToROptionInLocation(strings.TrimPrefix(strings.TrimSpace(value), "RRULE:"), loc)
}

// newRule makes the rule of opt for a series starting at dtstart; see
// parseRule. It does not change opt.
func newRule(opt *rrule.ROption, dtstart time.Time) (r *rule, ok bool, err error) {
	if opt.Freq > rrule.DAILY || len(opt.Byeaster) > 0 {
		return nil, false, nil
	}
	if err := checkBounds(opt); err != nil {
		return nil, false, err
	}
	r = &rule{freq: opt.Freq, interval: max(opt.Interval, 1), count: max(opt.Count, 0), until: opt.Until,
		dtstart: dtstart.Truncate(time.Second), wkst: toWeekday(opt.Wkst),
		months: uniq(opt.Bymonth), monthDays: uniq(opt.Bymonthday), yearDays: uniq(opt.Byyearday),
		weekNos: uniq(opt.Byweekno), setPos: uniq(opt.Bysetpos)}
	if r.interval > maxInterval {
		return nil, false, fmt.Errorf("INTERVAL=%d is too large", opt.Interval)
	}
	for _, w := range opt.Byweekday {
		if w.N() == 0 || r.freq > rrule.MONTHLY {
			r.weekdays = append(r.weekdays, toWeekday(w))
		} else {
			r.nthWeekdays = append(r.nthWeekdays, nthWeekday{w.N(), toWeekday(w)})
		}
	}
	r.weekdays = uniq(r.weekdays)
	y, m, d := r.dtstart.Date()
	r.y0, r.m0, r.day0 = y, m, civil(y, m, d)
	r.defaults()
	hours, minutes, seconds := orDefault(opt.Byhour, r.dtstart.Hour()), orDefault(opt.Byminute, r.dtstart.Minute()), orDefault(opt.Bysecond, r.dtstart.Second())
	for _, h := range hours {
		for _, m := range minutes {
			for _, s := range seconds {
				r.clock = append(r.clock, clockTime{h, m, s})
			}
		}
	}
	return r, true, nil
}

// defaults fills in the day parts a rule takes from DTSTART when it names
// none (RFC 5545 §3.3.10, as rrule-go reads it).
func (r *rule) defaults() {
	if len(r.weekNos) > 0 || len(r.yearDays) > 0 || len(r.monthDays) > 0 || len(r.weekdays) > 0 || len(r.nthWeekdays) > 0 {
		return
	}
	switch r.freq {
	case rrule.YEARLY:
		if len(r.months) == 0 {
			r.months = []int{int(r.dtstart.Month())}
		}
		r.monthDays = []int{r.dtstart.Day()}
	case rrule.MONTHLY:
		r.monthDays = []int{r.dtstart.Day()}
	case rrule.WEEKLY:
		r.weekdays = []time.Weekday{r.dtstart.Weekday()}
	}
}

// checkBounds rejects BYxxx values outside RFC 5545's ranges.
func checkBounds(opt *rrule.ROption) error {
	for _, b := range []struct {
		name     string
		vals     []int
		lo, hi   int
		negative bool
	}{
		{"BYSECOND", opt.Bysecond, 0, 60, false}, {"BYMINUTE", opt.Byminute, 0, 59, false}, {"BYHOUR", opt.Byhour, 0, 23, false},
		{"BYMONTHDAY", opt.Bymonthday, 1, 31, true}, {"BYYEARDAY", opt.Byyearday, 1, 366, true},
		{"BYWEEKNO", opt.Byweekno, 1, 53, true}, {"BYMONTH", opt.Bymonth, 1, 12, false}, {"BYSETPOS", opt.Bysetpos, 1, 366, true},
	} {
		for _, v := range b.vals {
			if !(v >= b.lo && v <= b.hi) && !(b.negative && -v >= b.lo && -v <= b.hi) {
				return fmt.Errorf("%s=%d is out of range", b.name, v)
			}
		}
	}
	for _, w := range opt.Byweekday {
		if w.N() > 53 || w.N() < -53 {
			return fmt.Errorf("BYDAY ordinal %d is out of range", w.N())
		}
	}
	return nil
}

func toWeekday(w rrule.Weekday) time.Weekday { return time.Weekday((w.Day() + 1) % 7) }

func uniq[T int | time.Weekday](vs []T) []T {
	out := slices.Clone(vs)
	slices.Sort(out)
	return slices.Compact(out)
}

func orDefault(vs []int, v int) []int {
	if len(vs) == 0 {
		return []int{v}
	}
	return uniq(vs)
}

// A civil day is a count of days since 1970-01-01 in the proleptic
// Gregorian calendar, with no zone.
type civilDay int64

func civil(y int, m time.Month, d int) civilDay {
	return civilDay(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func civilOf(t time.Time) civilDay { return civil(t.Date()) }

func (c civilDay) date() (int, time.Month, int) { return time.Unix(int64(c)*86400, 0).UTC().Date() }

func (c civilDay) weekday() time.Weekday { return time.Weekday(((int64(c) % 7) + 7 + 4) % 7) } // 1970-01-01 was a Thursday

// weekStart is the first day of the week (from wkst) that holds c.
func (c civilDay) weekStart(wkst time.Weekday) civilDay {
	return c - civilDay((int(c.weekday())-int(wkst)+7)%7)
}

// periodStart returns the first day of the rule's k-th period.
func (r *rule) periodStart(k int64) civilDay {
	y, m := r.y0, r.m0
	step := k * int64(r.interval)
	switch r.freq {
	case rrule.DAILY:
		return r.day0 + civilDay(step)
	case rrule.WEEKLY:
		return r.day0.weekStart(r.wkst) + civilDay(7*step)
	case rrule.MONTHLY:
		mi := int64(y)*12 + int64(m-1) + step
		return civil(int(mi/12), time.Month(mi%12+1), 1)
	}
	return civil(y+int(step), 1, 1)
}

// periodEnd returns the day after the last day of the period that starts at p.
func (r *rule) periodEnd(p civilDay) civilDay {
	switch r.freq {
	case rrule.DAILY:
		return p + 1
	case rrule.WEEKLY:
		return p + 7
	case rrule.MONTHLY:
		y, m, _ := p.date()
		return civil(y, m+1, 1)
	}
	y, _, _ := p.date()
	return civil(y+1, 1, 1)
}

// periodOf returns the index of the last period that starts on or before
// day (0 when day is before DTSTART).
func (r *rule) periodOf(day civilDay) int64 {
	var n int64
	y0, m0 := r.y0, r.m0
	switch r.freq {
	case rrule.DAILY:
		n = int64(day - r.day0)
	case rrule.WEEKLY:
		n = int64(day-r.day0.weekStart(r.wkst)) / 7
	case rrule.MONTHLY:
		y, m, _ := day.date()
		n = int64(y-y0)*12 + int64(m-m0)
	default:
		y, _, _ := day.date()
		n = int64(y - y0)
	}
	if n < 0 {
		return 0
	}
	return n / int64(r.interval)
}

// dayInfo is what the filters of a rule ask about one day.
type dayInfo struct {
	y                 int
	m                 time.Month
	d, monthLen, yday int
	yearLen           int
	wd                time.Weekday
	day               civilDay
}

func infoOf(c civilDay) dayInfo {
	t := time.Unix(int64(c)*86400, 0).UTC()
	y, m, d := t.Date()
	return dayInfo{y: y, m: m, d: d, day: c, wd: c.weekday(), yday: t.YearDay(),
		yearLen: 365 + leap(y), monthLen: monthLen(y, m)}
}

// next moves to the following day.
func (di *dayInfo) next() {
	di.day++
	di.d++
	di.yday++
	di.wd = (di.wd + 1) % 7
	if di.d <= di.monthLen {
		return
	}
	di.d, di.m = 1, di.m+1
	if di.m > time.December {
		di.m, di.y, di.yday = time.January, di.y+1, 1
		di.yearLen = 365 + leap(di.y)
	}
	di.monthLen = monthLen(di.y, di.m)
}

func leap(y int) int {
	if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		return 1
	}
	return 0
}

func monthLen(y int, m time.Month) int {
	switch m {
	case time.February:
		return 28 + leap(y)
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// matches reports whether the rule's day filters keep the day.
func (r *rule) matches(di *dayInfo) bool {
	if len(r.months) > 0 && !slices.Contains(r.months, int(di.m)) {
		return false
	}
	if len(r.monthDays) > 0 && !slices.Contains(r.monthDays, di.d) && !slices.Contains(r.monthDays, di.d-di.monthLen-1) {
		return false
	}
	if len(r.yearDays) > 0 && !slices.Contains(r.yearDays, di.yday) && !slices.Contains(r.yearDays, di.yday-di.yearLen-1) {
		return false
	}
	if len(r.weekdays) > 0 || len(r.nthWeekdays) > 0 {
		if !slices.Contains(r.weekdays, di.wd) && !r.nthMatches(di) {
			return false
		}
	}
	if len(r.weekNos) > 0 && !r.weekNoMatches(di) {
		return false
	}
	return true
}

// nthMatches reports whether the day is one of the rule's nth weekdays:
// within its month for MONTHLY and for YEARLY with BYMONTH, else within its
// year.
func (r *rule) nthMatches(di *dayInfo) bool {
	pos, neg := (di.d-1)/7+1, -((di.monthLen-di.d)/7 + 1)
	if r.freq == rrule.YEARLY && len(r.months) == 0 {
		pos, neg = (di.yday-1)/7+1, -((di.yearLen-di.yday)/7 + 1)
	}
	for _, nw := range r.nthWeekdays {
		if nw.wd == di.wd && (nw.n == pos || nw.n == neg) {
			return true
		}
	}
	return false
}

// weekNoMatches reports whether the day's week number (RFC 5545 §3.3.10:
// week 1 is the first week from WKST with at least four days of the year)
// is in BYWEEKNO.
func (r *rule) weekNoMatches(di *dayInfo) bool {
	ws := di.day.weekStart(r.wkst)
	wy, jan1 := di.y, di.day-civilDay(di.yday-1)
	if ws+3 < jan1 {
		wy--
	} else if ws+3 >= jan1+civilDay(di.yearLen) {
		wy++
	}
	first := r.week1(wy)
	n := int(ws-first)/7 + 1
	weeks := int(r.week1(wy+1)-first) / 7
	for _, w := range r.weekNos {
		if w == n || (w < 0 && weeks+w+1 == n) {
			return true
		}
	}
	return false
}

// week1 returns the first day of week 1 of year y: the week that holds
// January 4th.
func (r *rule) week1(y int) civilDay {
	if r.week1Cache == nil {
		r.week1Cache = map[int]civilDay{}
	}
	if c, ok := r.week1Cache[y]; ok {
		return c
	}
	c := civil(y, 1, 4).weekStart(r.wkst)
	r.week1Cache[y] = c
	return c
}

// periodCost is the work a period costs beyond its days: about as much as
// a few days looked at.
const periodCost = 4

// candidate is an occurrence before it becomes a time: a date and an
// index into the rule's clock. It holds no pointer, so a period's many
// candidates cost the garbage collector nothing.
type candidate struct {
	y     int32
	m, d  int8
	clock int32
}

// occurrencesIn appends to out the occurrences of the period starting at p
// whose days lie in [lo, hi), in order, before DTSTART and UNTIL are
// applied. With BYSETPOS the whole period is read whatever lo and hi say.
// Each day looked at, and each time generated, spends one unit of *work,
// and the period periodCost more;
// it returns errBudget when that runs out. cands is scratch space, returned
// for reuse.
func (r *rule) occurrencesIn(p, lo, hi civilDay, work *int, cands []candidate, out []time.Time) ([]candidate, []time.Time, error) {
	end := r.periodEnd(p)
	if len(r.setPos) == 0 {
		p, end = max(p, lo), min(end, hi)
	}
	cands = cands[:0]
	if *work -= periodCost; *work < 0 {
		return cands, out, errBudget
	}
	for di := infoOf(p); di.day < end; di.next() {
		if *work--; *work < 0 {
			return cands, out, errBudget
		}
		if !r.matches(&di) {
			continue
		}
		if *work -= len(r.clock); *work < 0 {
			return cands, out, errBudget
		}
		for i := range r.clock {
			cands = append(cands, candidate{int32(di.y), int8(di.m), int8(di.d), int32(i)})
		}
	}
	if len(r.setPos) == 0 {
		for _, c := range cands {
			out = append(out, r.timeOf(c))
		}
		return cands, out, nil
	}
	return cands, r.pick(cands, out), nil
}

func (r *rule) timeOf(c candidate) time.Time {
	ct := r.clock[c.clock]
	return time.Date(int(c.y), time.Month(c.m), int(c.d), ct.h, ct.m, ct.s, 0, r.dtstart.Location())
}

// pick appends to out the period's candidates that BYSETPOS names, in
// order and each once.
func (r *rule) pick(cands []candidate, out []time.Time) []time.Time {
	start := len(out)
	for _, pos := range r.setPos {
		i := pos - 1
		if pos < 0 {
			i = len(cands) + pos
		}
		if i < 0 || i >= len(cands) {
			continue
		}
		if t := r.timeOf(cands[i]); !slices.ContainsFunc(out[start:], t.Equal) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out[start:], func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// maxEventWork bounds the work one recurring event may cost (see
// occurrencesIn): about 50 ms. It bounds in particular the walk from
// DTSTART of a COUNT rule whose occurrences before the window cannot be
// counted arithmetically (see countBefore): some 550 years of a daily rule,
// 2,400 of a monthly one.
const maxEventWork = 1_000_000

// between calls yield with the start of every occurrence in [from, to), in
// order, until yield returns false. It spends *work (see occurrencesIn) and
// returns errBudget when that runs out; no event may spend more than
// maxEventWork.
//
// It starts at the period next to from rather than at DTSTART. A COUNT
// then needs the number of occurrences before that period: countBefore
// computes it for rules with as many occurrences in every period, and the
// walk starts at DTSTART for the others, within the budget.
func (r *rule) between(from, to time.Time, work *int, sc *scratch, yield func(time.Time) bool) error {
	if !r.until.IsZero() && r.until.Before(from) || !to.After(r.dtstart) {
		return nil
	}
	loc := r.dtstart.Location()
	budget := min(*work, maxEventWork)
	start := budget
	defer func() { *work -= start - budget }()
	lo := civilOf(from.In(loc)) - 1 // a day early: from may be in another zone
	k := r.periodOf(lo)
	left := -1 // occurrences the COUNT still allows; -1 for no COUNT
	if r.count > 0 {
		before, ok, err := r.countBefore(k, &budget)
		if err != nil {
			return err
		}
		if !ok {
			k, before = 0, 0
		}
		left, lo = r.count-int(min(before, int64(r.count))), r.periodStart(k)
	}
	last := civilOf(to.In(loc)) + 1
	if sc == nil {
		sc = &scratch{}
	}
	for ; left != 0; k++ {
		p := r.periodStart(k)
		if p > last {
			return nil
		}
		var err error
		if sc.cands, sc.times, err = r.occurrencesIn(p, lo, last+1, &budget, sc.cands, sc.times[:0]); err != nil {
			return err
		}
		for _, t := range sc.times {
			switch {
			case t.Before(r.dtstart):
				continue
			case !r.until.IsZero() && t.After(r.until), !t.Before(to):
				return nil
			}
			if left > 0 {
				left--
			}
			if !t.Before(from) && !yield(t) {
				return nil
			}
			if left == 0 {
				return nil
			}
		}
	}
	return nil
}

// scratch is space an expansion reuses from one event to the next.
type scratch struct {
	cands []candidate
	times []time.Time
}

// countBefore returns the number of occurrences in the periods before the
// k-th, counted arithmetically: the first period (which may start before
// DTSTART) is read, and every later one holds perPeriod occurrences. ok is
// false for a rule whose periods differ.
func (r *rule) countBefore(k int64, work *int) (n int64, ok bool, err error) {
	per, ok := r.perPeriod()
	if !ok || k == 0 {
		return 0, ok, nil
	}
	p := r.periodStart(0)
	_, first, err := r.occurrencesIn(p, p, r.periodEnd(p), work, nil, nil)
	if err != nil {
		return 0, false, err
	}
	for _, t := range first {
		if !t.Before(r.dtstart) && (r.until.IsZero() || !t.After(r.until)) {
			n++
		}
	}
	return n + (k-1)*per, true, nil
}

// perPeriod returns the number of occurrences in every period of the rule,
// when that is the same for all: the rules with no BYSETPOS, BYYEARDAY,
// BYWEEKNO or nth weekday, whose days are the same in every period.
func (r *rule) perPeriod() (int64, bool) {
	if len(r.setPos) > 0 || len(r.yearDays) > 0 || len(r.weekNos) > 0 || len(r.nthWeekdays) > 0 {
		return 0, false
	}
	clock := int64(len(r.clock))
	switch r.freq {
	case rrule.DAILY:
		return clock, len(r.months) == 0 && len(r.monthDays) == 0 && len(r.weekdays) == 0
	case rrule.WEEKLY:
		return int64(len(r.weekdays)) * clock, len(r.months) == 0 && len(r.monthDays) == 0 && len(r.weekdays) > 0
	case rrule.MONTHLY:
		return int64(len(r.monthDays)) * clock, len(r.months) == 0 && len(r.weekdays) == 0 && everyMonthHas(r.monthDays)
	}
	months := int64(len(r.months))
	if months == 0 {
		months = 12
	}
	return months * int64(len(r.monthDays)) * clock, len(r.weekdays) == 0 && everyMonthHas(r.monthDays)
}

// everyMonthHas reports whether every month has each of the given month
// days, and as distinct days: all within the first 28, or all within the
// last 28.
func everyMonthHas(days []int) bool {
	if len(days) == 0 {
		return false
	}
	pos := days[0] > 0
	for _, d := range days {
		if d > 28 || d < -28 || (d > 0) != pos {
			return false
		}
	}
	return true
}

package scheduler

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/followup/followup"
)

// Horizon is how far after a task's effective earliest start Plan searches
// for a slot, in days.
const Horizon = 90

// slotSeconds is the grid block starts are rounded up to: 5 minutes.
const slotSeconds = 5 * 60

// Task is one block to place.
type Task struct {
	// Key is the caller's index, returned in Placement.
	Key  int
	Kind followup.StepKind
	// Duration is the block's length; zero means the default for Kind from
	// Settings.Durations, and 5 minutes when that is zero too.
	Duration  time.Duration
	NotBefore time.Time
	// Due is when the block should end by. A zero Due means no deadline: the
	// block goes to the first free working slot and is never late.
	Due time.Time
	// LateUntil is optional: if set, a late placement must end by it (a
	// confirm: the meeting start).
	LateUntil time.Time
	Starred   bool
	// MetAt breaks ties: oldest first.
	MetAt time.Time
}

// Request is the input of Plan.
type Request struct {
	Settings followup.Settings
	// Loc is the user's zone; nil means UTC.
	Loc *time.Location
	Now time.Time
	// Busy are events that block time with a buffer of
	// Settings.BufferMinutes around them: agreed meetings and events from the
	// user's busy calendars (incl. expanded recurring events). An AllDay
	// interval blocks the whole local days it names (see WholeDays).
	Busy []followup.Interval
	// Blocks are the service's own blocks that stay put (already written to
	// a calendar, or pinned by the user); no buffer around them.
	Blocks []followup.Interval
	Tasks  []Task
}

// Placement is where a task went.
type Placement struct {
	Key        int
	Start, End time.Time
	// Late is set when the block ends after the task's Due (for a confirm:
	// when it missed its day).
	Late bool
	// OK is false only if no slot exists within the search horizon (Horizon
	// days after the effective earliest start; for a confirm, before its
	// LateUntil). Start and End are then zero.
	OK bool
}

// Plan places every task in free time and returns one Placement per task,
// in the same order as req.Tasks (Placement i is for req.Tasks[i]).
//
// Blocks go only inside working hours (Settings.WorkHours in Loc), never
// overlapping Busy (each widened by Settings.BufferMinutes on both sides),
// Blocks, or blocks placed earlier in the same call. A task's effective
// earliest start is max(NotBefore, Now); starts are rounded up to 5-minute
// boundaries.
//
// Tasks are placed in the order (day, starred first, Due, MetAt, Key), so
// the earliest deadlines go first and, among one day's deadlines, starred
// contacts first, then the oldest. A task's day is the local date of its Due,
// or, for a task that is overdue (its Due is not after the first working
// moment at or after its earliest start), the date of that working moment:
// the day it can first be done. So the refreshers of an evening whose
// deadlines all pass before the next working day compete on that day, starred
// first, whichever calendar date their deadlines fell on.
//
// Where a task goes:
//   - refresher and nudge: the first free slot inside a follow-up hour
//     (Settings.FollowupHour, within working hours) ending by Due, or, when
//     overdue, inside the follow-up hour of the first working day, Late;
//     else the first free working slot ending by Due; else the first free
//     working slot after Due, flagged Late.
//   - confirm with LateUntil: the first free working slot ending by Due; else
//     the first free working slot on the local date of LateUntil ending by
//     LateUntil, Late; else the latest free slot at any hour ending by
//     LateUntil minus the buffer, Late.
//   - every other kind: the first free working slot ending by Due, else the
//     first after it, Late.
//
// A late block is never dropped: OK is false only when the search horizon
// holds no free slot at all.
//
// Cost: the busy time is sorted and merged once, O(B log B) for B intervals.
// Each slot is found by binary search and a walk over the occupied spans
// between the task's earliest start and its slot; a memo per window kind and
// block length lets a task skip the days an earlier task of the same length
// found full, so many tasks free from the same moment do not walk the same
// days again. Placed blocks are kept apart from the busy spans, so recording
// one moves at most the blocks already placed.
func Plan(req Request) []Placement {
	p := newPlanner(req)
	order := make([]int, len(req.Tasks))
	keys := make([]sortKey, len(req.Tasks))
	for i, t := range req.Tasks {
		order[i] = i
		keys[i] = p.sortKey(t)
	}
	slices.SortFunc(order, func(a, b int) int { return keys[a].compare(keys[b]) })
	out := make([]Placement, len(req.Tasks))
	// The follow-up hour belongs to refreshers and nudges first (cadence.md
	// "Daily follow-up hour"): they take it in placement order, so that the
	// hour fills with starred contacts, then the oldest, before any other
	// block may use what is left of it.
	placed := make([]bool, len(req.Tasks))
	for _, i := range order {
		if pl, ok := p.placeInFollowupHour(req.Tasks[i]); ok {
			out[i], placed[i] = pl, true
		}
	}
	for _, i := range order {
		if !placed[i] {
			out[i] = p.place(req.Tasks[i])
		}
	}
	return out
}

// placeInFollowupHour places a refresher or nudge with a deadline in a
// follow-up hour before it, if one has room; an overdue one in the
// follow-up hour of its first working day, late.
func (p *planner) placeInFollowupHour(t Task) (Placement, bool) {
	if (t.Kind != followup.KindRefresher && t.Kind != followup.KindNudge) || t.Due.IsZero() {
		return Placement{}, false
	}
	dur, earliest, horizon := p.bounds(t)
	until, late := floorUnix(t.Due), false
	if at, dayEnd, ok := p.firstWork(earliest); ok && until <= at {
		until, late = dayEnd, true
	}
	start, ok := p.first(followWindows, earliest, until, dur, horizon)
	if !ok {
		return Placement{}, false
	}
	return p.record(t, start, dur, late), true
}

// firstWork returns the first moment at or after t inside working hours
// and the end of its working window, looking Horizon days ahead; busy time
// is not considered.
func (p *planner) firstWork(t int64) (at, windowEnd int64, ok bool) {
	if r, seen := p.firstWorks[t]; seen {
		return r.at, r.windowEnd, r.ok
	}
	at, windowEnd, ok = p.findFirstWork(t)
	p.firstWorks[t] = workStart{at, windowEnd, ok}
	return at, windowEnd, ok
}

// findFirstWork is firstWork without the memo.
func (p *planner) findFirstWork(t int64) (at, windowEnd int64, ok bool) {
	if p.work.empty() {
		return 0, 0, false
	}
	y, m, d := time.Unix(t, 0).In(p.loc).Date()
	for i := range Horizon + 1 {
		if ws, we, ok := p.work.window(y, m, d+i, p.loc); ok && we.Unix() > t {
			return max(ws.Unix(), t), we.Unix(), true
		}
	}
	return 0, 0, false
}

// bounds returns a task's length in seconds, its earliest start and the
// end of its search horizon.
func (p *planner) bounds(t Task) (dur, earliest, horizon int64) {
	dur = int64((t.Duration + time.Second - 1) / time.Second)
	if dur <= 0 {
		dur = int64(p.durs.For(t.Kind) / time.Second)
	}
	if dur <= 0 {
		dur = slotSeconds
	}
	earliest = max(ceilUnix(t.NotBefore), p.now)
	horizon = time.Unix(earliest, 0).In(p.loc).AddDate(0, 0, Horizon).Unix()
	return dur, earliest, horizon
}

// record takes [start, start+dur) for t.
func (p *planner) record(t Task, start, dur int64, late bool) Placement {
	p.placed = insertSpan(p.placed, span{start, start + dur})
	return Placement{
		Key:   t.Key,
		Start: time.Unix(start, 0).In(p.loc),
		End:   time.Unix(start+dur, 0).In(p.loc),
		Late:  late,
		OK:    true,
	}
}

// Conflicts returns the indexes, ascending, of the blocks that overlap any
// busy interval widened by s.BufferMinutes on both sides; the caller moves
// those. Intervals are taken as given: pass AllDay ones through WholeDays
// first.
func Conflicts(blocks []followup.Interval, busy []followup.Interval, s followup.Settings) []int {
	occ := buildSpans(busy, int64(s.BufferMinutes)*60, nil, nil)
	var out []int
	for i, b := range blocks {
		lo, hi := floorUnix(b.Start), ceilUnix(b.End)
		j := firstEndAfter(occ, lo)
		// A zero-length block is a point: it conflicts inside a span.
		if j < len(occ) && occ[j].s < max(hi, lo+1) {
			out = append(out, i)
		}
	}
	return out
}

// WholeDays returns the all-day interval iv as the whole local days in loc it
// names: from midnight of its first date to midnight after its last. The
// dates are read in iv.Start's and iv.End's own location, as all-day values
// are floating dates (RFC 5545 §3.3.4), unless the times already are local
// midnights in loc. An interval that is not AllDay is returned unchanged.
func WholeDays(iv followup.Interval, loc *time.Location) followup.Interval {
	if !iv.AllDay {
		return iv
	}
	loc = orUTC(loc)
	day := func(t time.Time) time.Time {
		if l := t.In(loc); l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 && l.Nanosecond() == 0 {
			t = l
		}
		y, m, d := t.Date()
		return wall(y, m, d, followup.Clock{}, loc)
	}
	out := iv
	out.Start = day(iv.Start)
	out.End = day(iv.End)
	if !out.End.After(out.Start) {
		y, m, d := out.Start.Date()
		out.End = wall(y, m, d+1, followup.Clock{}, loc)
	}
	return out
}

// span is a half-open interval [s, e) in Unix seconds.
type span struct{ s, e int64 }

// planner holds the free-time state of one Plan call. busy (Busy with buffer
// plus Blocks) and placed (blocks of this call) are each sorted, disjoint and
// coalesced, so the spans' ends are sorted too and both can be searched by
// binary search; placed stays separate so that inserting a block moves at
// most the placed blocks, not the 10,000 busy spans.
type planner struct {
	loc     *time.Location
	now     int64
	buffer  int64
	durs    followup.Durations
	work    daySpan
	follow  daySpan // follow-up hour within working hours
	busy    []span
	placed  []span
	memo    map[memoKey]memo
	noBound int64
	// firstWorks memoizes firstWork by its argument: many tasks share an
	// earliest start (now, or the moment they met).
	firstWorks map[int64]workStart
}

// workStart is a result of firstWork.
type workStart struct {
	at, windowEnd int64
	ok            bool
}

// newPlanner prepares the free-time state of req.
func newPlanner(req Request) *planner {
	loc := orUTC(req.Loc)
	buf := int64(req.Settings.BufferMinutes) * 60
	work := newDaySpan(req.Settings.WorkHours)
	return &planner{
		loc:     loc,
		now:     ceilUnix(req.Now),
		buffer:  buf,
		durs:    req.Settings.Durations,
		work:    work,
		follow:  work.intersect(newDaySpan(req.Settings.FollowupHour)),
		busy:    buildSpans(req.Busy, buf, req.Blocks, loc),
		placed:  make([]span, 0, len(req.Tasks)),
		memo:    make(map[memoKey]memo),
		noBound: math.MaxInt64 / 2,

		firstWorks: make(map[int64]workStart),
	}
}

// buildSpans returns busy widened by buf on both sides plus blocks, sorted,
// with overlapping or touching spans merged. Empty intervals are skipped.
// With a loc, AllDay busy intervals become whole local days (WholeDays).
func buildSpans(busy []followup.Interval, buf int64, blocks []followup.Interval, loc *time.Location) []span {
	out := make([]span, 0, len(busy)+len(blocks))
	for _, iv := range busy {
		if iv.AllDay && loc != nil {
			iv = WholeDays(iv, loc)
		}
		if iv.End.After(iv.Start) {
			out = append(out, span{floorUnix(iv.Start) - buf, ceilUnix(iv.End) + buf})
		}
	}
	for _, iv := range blocks {
		if iv.End.After(iv.Start) {
			out = append(out, span{floorUnix(iv.Start), ceilUnix(iv.End)})
		}
	}
	slices.SortFunc(out, func(a, b span) int { return cmp.Compare(a.s, b.s) })
	merged := out[:0]
	for _, x := range out {
		if n := len(merged); n > 0 && x.s <= merged[n-1].e {
			merged[n-1].e = max(merged[n-1].e, x.e)
			continue
		}
		merged = append(merged, x)
	}
	return merged
}

// sortKey is the placement order of a task.
type sortKey struct {
	date    int // local date of Due as yyyymmdd; MaxInt without a Due
	starred bool
	due     time.Time
	met     time.Time
	key     int
}

// sortKey computes t's placement order.
func (p *planner) sortKey(t Task) sortKey {
	k := sortKey{date: math.MaxInt, starred: t.Starred, due: t.Due, met: t.MetAt, key: t.Key}
	if !t.Due.IsZero() {
		day := t.Due
		_, earliest, _ := p.bounds(t)
		if at, _, ok := p.firstWork(earliest); ok && floorUnix(t.Due) <= at {
			day = time.Unix(at, 0)
		}
		y, m, d := day.In(p.loc).Date()
		k.date = y*10000 + int(m)*100 + d
	}
	return k
}

// compare orders keys: date, starred first, due, met, key.
func (k sortKey) compare(o sortKey) int {
	if c := cmp.Compare(k.date, o.date); c != 0 {
		return c
	}
	if k.starred != o.starred {
		if k.starred {
			return -1
		}
		return 1
	}
	if c := k.due.Compare(o.due); c != 0 {
		return c
	}
	if c := k.met.Compare(o.met); c != 0 {
		return c
	}
	return cmp.Compare(k.key, o.key)
}

// place finds a slot for t, records it and returns the placement.
func (p *planner) place(t Task) Placement {
	dur, earliest, horizon := p.bounds(t)
	due, hasDue := p.noBound, !t.Due.IsZero()
	if hasDue {
		due = floorUnix(t.Due)
	}

	var (
		start int64
		ok    bool
		late  bool
	)
	switch {
	case t.Kind == followup.KindConfirm && !t.LateUntil.IsZero():
		until := floorUnix(t.LateUntil)
		if start, ok = p.first(workWindows, earliest, min(due, until), dur, horizon); !ok {
			late = true
			y, m, d := t.LateUntil.In(p.loc).Date()
			dayStart := wall(y, m, d, followup.Clock{}, p.loc).Unix()
			if start, ok = p.first(workWindows, max(earliest, dayStart), until, dur, horizon); !ok {
				start, ok = p.last(earliest, until-p.buffer, dur)
			}
		}
	case t.Kind == followup.KindRefresher || t.Kind == followup.KindNudge:
		if hasDue {
			start, ok = p.first(followWindows, earliest, due, dur, horizon)
		}
		if !ok {
			start, ok = p.first(workWindows, earliest, due, dur, horizon)
		}
		if !ok && hasDue {
			start, ok = p.first(workWindows, earliest, p.noBound, dur, horizon)
			late = ok
		}
	default:
		if start, ok = p.first(workWindows, earliest, due, dur, horizon); !ok && hasDue {
			start, ok = p.first(workWindows, earliest, p.noBound, dur, horizon)
			late = ok
		}
	}
	if !ok {
		return Placement{Key: t.Key}
	}
	return p.record(t, start, dur, late)
}

// windowKind names the daily windows a search uses.
type windowKind int

// Window kinds.
const (
	workWindows   windowKind = iota // working hours
	followWindows                   // the follow-up hour within working hours
)

// memoKey names what a search knows: the window kind and block length.
type memoKey struct {
	kind windowKind
	dur  int64
}

// memo records that no free slot of the key's length starts in [from, to)
// inside the key's windows. Placing blocks only removes free time, so this
// stays true for the rest of the Plan call; a search starting in [from, to)
// resumes at to. This keeps many tasks with the same earliest start (a
// conference evening, a full re-plan) from walking the same filled days again.
type memo struct{ from, to int64 }

// first returns the earliest free slot of dur seconds starting at or after
// from on a 5-minute boundary, inside one window of kind and ending by until,
// looking at windows that start up to horizon.
func (p *planner) first(kind windowKind, from, until, dur, horizon int64) (int64, bool) {
	key := memoKey{kind, dur}
	m, known := p.memo[key]
	if known && m.from <= from && from < m.to {
		from = m.to
	} else {
		m = memo{from: from}
	}
	s, ok := p.scan(kind, from, until, dur, horizon)
	if ok {
		// No slot started in [m.from, s), and [s, s+dur) is now taken.
		p.memo[key] = memo{m.from, s + dur}
	}
	return s, ok
}

// scan is first without the memo.
func (p *planner) scan(kind windowKind, from, until, dur, horizon int64) (int64, bool) {
	sp := &p.work
	if kind == followWindows {
		sp = &p.follow
	}
	if sp.empty() {
		return 0, false
	}
	y, m, d := time.Unix(from, 0).In(p.loc).Date()
	for i := 0; ; i++ {
		ws, we, ok := sp.window(y, m, d+i, p.loc)
		if !ok {
			// Stop once even the day's midnight is past the bounds.
			if md := wall(y, m, d+i, followup.Clock{}, p.loc).Unix(); md > horizon || md > until {
				return 0, false
			}
			continue
		}
		if ws.Unix() > horizon || ws.Unix() >= until {
			return 0, false
		}
		if s, ok := p.fit(max(ws.Unix(), from), min(we.Unix(), until), dur); ok {
			return s, true
		}
	}
}

// fit returns the first 5-minute boundary s >= lo with [s, s+dur) free and
// s+dur <= hi. It finds its place in the two span lists by binary search,
// then walks them with cursors, one occupied span per turn.
func (p *planner) fit(lo, hi, dur int64) (int64, bool) {
	t := roundUp(lo)
	if t+dur > hi {
		return 0, false
	}
	busy, placed := p.busy, p.placed
	i, j := firstEndAfter(busy, t), firstEndAfter(placed, t)
	for t+dur <= hi {
		for i < len(busy) && busy[i].e <= t {
			i++
		}
		for j < len(placed) && placed[j].e <= t {
			j++
		}
		next := p.noBound
		if i < len(busy) {
			if busy[i].s <= t {
				t = roundUp(busy[i].e)
				continue
			}
			next = busy[i].s
		}
		if j < len(placed) {
			if placed[j].s <= t {
				t = roundUp(placed[j].e)
				continue
			}
			next = min(next, placed[j].s)
		}
		if next-t >= dur {
			return t, true
		}
		t = next
	}
	return 0, false
}

// last returns the latest 5-minute boundary s >= lo with [s, s+dur) free and
// s+dur <= hi, at any hour.
func (p *planner) last(lo, hi, dur int64) (int64, bool) {
	e := hi
	for {
		s := roundDown(e - dur)
		if s < lo {
			return 0, false
		}
		c, hit := p.conflict(s, s+dur)
		if !hit {
			return s, true
		}
		e = c
	}
}

// conflict reports whether [s, e) overlaps an occupied span and, if so, the
// earliest start among the overlapping spans nearest to e (a free slot
// ending by e must end by that start).
func (p *planner) conflict(s, e int64) (int64, bool) {
	at, hit := int64(0), false
	for _, list := range [2][]span{p.busy, p.placed} {
		// The last span starting before e has the largest end of those.
		if i := firstStartAtOrAfter(list, e) - 1; i >= 0 && list[i].e > s {
			if !hit || list[i].s < at {
				at = list[i].s
			}
			hit = true
		}
	}
	return at, hit
}

// firstEndAfter returns the index of the first span of list ending after t.
func firstEndAfter(list []span, t int64) int {
	lo, hi := 0, len(list)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if list[mid].e > t {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// firstStartAtOrAfter returns the index of the first span of list starting
// at or after t.
func firstStartAtOrAfter(list []span, t int64) int {
	lo, hi := 0, len(list)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if list[mid].s >= t {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// insertSpan adds x, which overlaps no span of list, keeping list sorted and
// coalescing x with the spans it touches.
func insertSpan(list []span, x span) []span {
	i := firstStartAtOrAfter(list, x.s)
	prev := i > 0 && list[i-1].e >= x.s
	next := i < len(list) && list[i].s <= x.e
	switch {
	case prev && next:
		list[i-1].e = max(list[i].e, x.e)
		return slices.Delete(list, i, i+1)
	case prev:
		list[i-1].e = max(list[i-1].e, x.e)
	case next:
		list[i].s = min(list[i].s, x.s)
		list[i].e = max(list[i].e, x.e)
	default:
		list = slices.Insert(list, i, x)
	}
	return list
}

// floorUnix returns t in whole Unix seconds, rounded down.
func floorUnix(t time.Time) int64 { return t.Unix() }

// ceilUnix returns t in whole Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// roundUp rounds t up to a 5-minute boundary. Boundaries are taken in Unix
// time, which equals local time for every zone whose offset is a multiple of
// 5 minutes (all current IANA zones).
func roundUp(t int64) int64 {
	r := t % slotSeconds
	switch {
	case r == 0:
		return t
	case r < 0:
		return t - r
	default:
		return t - r + slotSeconds
	}
}

// roundDown rounds t down to a 5-minute boundary.
func roundDown(t int64) int64 {
	r := t % slotSeconds
	if r < 0 {
		r += slotSeconds
	}
	return t - r
}

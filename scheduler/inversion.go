package scheduler

import (
	"cmp"
	"math/bits"
	"slices"
	"time"

	"github.com/followup/followup"
)

// Inversion looks for a pair of placements that Plan, placing in priority
// order, would not leave so, and returns the keys: task a holds a worse slot
// than the one task b, of lower priority, holds; of the tasks a is so
// inverted with, b is the one of lowest priority, and of several such the
// one that starts first: the slot a would take, so that releasing b to be
// placed again moves a once instead of one slot at a time. pls[i] places
// req.Tasks[i].
// Worse means one of:
//   - a is late, and would be on time in b's slot (unless b is a refresher
//     or nudge in the follow-up hour and a is not);
//   - a is a refresher or nudge outside the follow-up hour it may claim (before
//     its Due, or on its first working day when overdue) and b's slot is in
//     such an hour;
//   - a is late and b's slot starts earlier (confirms, and refreshers and
//     nudges in the follow-up hour, aside).
//
// In each case a must fit b's slot: no longer than b, not before a's
// earliest start, inside working hours and, for a confirm, before the
// meeting. A plan made by Plan has no inversion; one grown around blocks
// that stayed put may.
func Inversion(req Request, pls []Placement) (a, b int, found bool) {
	p := newPlanner(req)
	facts := make([]placed, len(req.Tasks))
	byStart := make([]int, 0, len(req.Tasks))
	for i, t := range req.Tasks {
		facts[i] = p.facts(t, pls[i])
		if facts[i].ok {
			byStart = append(byStart, i)
		}
	}
	slices.SortFunc(byStart, func(x, y int) int { return cmp.Compare(facts[x].start, facts[y].start) })
	lowest := newLowestTable(facts, byStart)
	for i := range facts {
		f := &facts[i]
		if !f.wantsBetter() {
			continue
		}
		// Of the tasks i is inverted with, the one of lowest priority: the
		// one a plan made from scratch would place last. Only blocks that
		// start between i's earliest start and the last start any rule
		// could prefer are looked at, and only when one of them has a lower
		// priority than i (every rule asks for one).
		lo, hi := f.earliest, f.lastBetterStart()
		first, _ := slices.BinarySearchFunc(byStart, lo, func(x int, t int64) int { return cmp.Compare(facts[x].start, t) })
		end, _ := slices.BinarySearchFunc(byStart, hi+1, func(x int, t int64) int { return cmp.Compare(facts[x].start, t) })
		if first >= end || f.key.compare(facts[lowest.query(first, end)].key) >= 0 {
			continue
		}
		last := -1
		for _, j := range byStart[first:end] {
			if i == j || !f.inverted(&facts[j]) {
				continue
			}
			if last < 0 || facts[j].key.compare(facts[last].key) > 0 {
				last = j
			}
		}
		if last >= 0 {
			return req.Tasks[i].Key, req.Tasks[last].Key, true
		}
	}
	return 0, 0, false
}

// lowestTable answers which task of a run of byStart has the lowest
// priority (the greatest sort key) in constant time: a sparse table, row r
// holding the answer for each run of 2^r tasks.
type lowestTable struct {
	facts []placed
	rows  [][]int
}

// newLowestTable builds the table over byStart in O(n log n).
func newLowestTable(facts []placed, byStart []int) *lowestTable {
	t := &lowestTable{facts: facts, rows: [][]int{byStart}}
	for w := 1; 2*w <= len(byStart); w *= 2 {
		prev := t.rows[len(t.rows)-1]
		row := make([]int, len(prev)-w)
		for i := range row {
			row[i] = t.lower(prev[i], prev[i+w])
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// lower returns whichever of tasks a and b has the lower priority.
func (t *lowestTable) lower(a, b int) int {
	if t.facts[b].key.compare(t.facts[a].key) > 0 {
		return b
	}
	return a
}

// query returns the task of lowest priority among byStart[from:to], to > from.
func (t *lowestTable) query(from, to int) int {
	r := bits.Len(uint(to-from)) - 1
	return t.lower(t.rows[r][from], t.rows[r][to-(1<<r)])
}

// placed is what Inversion knows of one task and its placement, in Unix
// seconds.
type placed struct {
	ok           bool
	key          sortKey // without the Key: equal priorities are no inversion
	prefersHour  bool    // a refresher or nudge
	confirm      bool
	dur          int64
	earliest     int64
	hasDue       bool
	due          int64 // noBound without a Due
	lateUntil    int64 // noBound without one
	overdueUntil int64 // for an overdue task, the end of its first working day; else 0
	start, end   int64
	late         bool
	workEnd      int64 // the end of the working window the block starts in; 0: none
	followEnd    int64 // the end of the follow-up hour the block starts in; 0: none
	inFollow     bool  // the block lies inside a follow-up hour
	claimsHour   bool  // a refresher or nudge in a follow-up hour it may claim
}

// facts derives what Inversion compares of task t placed at pl.
func (p *planner) facts(t Task, pl Placement) placed {
	dur, earliest, _ := p.bounds(t)
	f := placed{
		ok: pl.OK, key: p.sortKey(t), prefersHour: prefersHour(t.Kind), confirm: t.Kind == followup.KindConfirm,
		dur: dur, earliest: earliest, due: p.noBound, lateUntil: p.noBound,
		start: floorUnix(pl.Start), end: ceilUnix(pl.End), late: pl.Late,
	}
	f.key.key = 0
	if !t.Due.IsZero() {
		f.hasDue, f.due = true, floorUnix(t.Due)
		if at, dayEnd, ok := p.firstWork(earliest); ok && f.due <= at {
			f.overdueUntil = dayEnd
		}
	}
	if !t.LateUntil.IsZero() {
		f.lateUntil = floorUnix(t.LateUntil)
	}
	if pl.OK {
		f.workEnd = p.windowEnd(p.work, pl.Start)
		f.followEnd = p.windowEnd(p.follow, pl.Start)
		f.inFollow = f.followEnd > 0 && f.end <= f.followEnd
		f.claimsHour = f.prefersHour && f.claims(f.start, f.end-f.start, f.inFollow)
	}
	return f
}

// claims reports whether a block of this refresher or nudge at start,
// lasting dur, inside a follow-up hour or not, is in an hour it may claim:
// ending by its Due or, when overdue, on its first working day.
func (f *placed) claims(start, dur int64, inFollow bool) bool {
	if !inFollow || !f.hasDue {
		return false
	}
	end := start + dur
	return end <= f.due || (f.overdueUntil > 0 && end <= f.overdueUntil)
}

// wantsBetter reports whether any slot could be better for the task: it is
// late, or a refresher or nudge outside a follow-up hour it may claim.
func (f *placed) wantsBetter() bool {
	return f.ok && (f.late || (f.prefersHour && f.hasDue && !f.claimsHour))
}

// lastBetterStart is the latest start of a slot that inverted may find
// better for the task: on time, in a follow-up hour it may claim, or, when
// late, earlier than its own.
func (f *placed) lastBetterStart() int64 {
	hi := f.due - f.dur
	if f.overdueUntil > 0 {
		hi = max(hi, f.overdueUntil-f.dur)
	}
	if f.late {
		hi = max(hi, f.start-1)
	}
	return hi
}

// inverted reports whether this task, of higher priority than task b,
// holds a worse slot than b's, which it could take: no longer than b, not
// before this task's earliest start, inside working hours and, for a
// confirm, before the meeting.
func (f *placed) inverted(b *placed) bool {
	s := b.start
	if !b.ok || f.dur > b.end-b.start || s < f.earliest || s+f.dur > b.workEnd || s+f.dur > f.lateUntil ||
		f.key.compare(b.key) >= 0 {
		return false
	}
	bReserved := b.prefersHour && b.inFollow
	if f.late && s+f.dur <= f.due && !(bReserved && !f.prefersHour) {
		return true
	}
	if f.prefersHour && b.prefersHour && f.claims(s, f.dur, s+f.dur <= b.followEnd) && !f.claimsHour {
		return true
	}
	return f.late && !f.confirm && s < f.start && !(f.prefersHour && f.inFollow) && !bReserved
}

// windowEnd returns the end of the window of sp that holds the moment s,
// or 0 when s is in none.
func (p *planner) windowEnd(sp daySpan, s time.Time) int64 {
	ws, we, ok := sp.on(s, p.loc)
	if !ok || s.Before(ws) || !s.Before(we) {
		return 0
	}
	return we.Unix()
}

// prefersHour reports whether blocks of kind k prefer the follow-up hour.
func prefersHour(k followup.StepKind) bool {
	return k == followup.KindRefresher || k == followup.KindNudge
}

// HourClaims returns a function that reports whether placement pl of task t
// lies in a follow-up hour the task may claim: t is a refresher or nudge and
// the block ends by its Due or, when overdue, on its first working day (the
// hours Plan gives it first). A late block that merely lands in a later
// follow-up hour claims none.
func HourClaims(req Request) func(t Task, pl Placement) bool {
	r := req
	r.Busy, r.Blocks, r.Tasks = nil, nil, nil
	p := newPlanner(r)
	return func(t Task, pl Placement) bool {
		if !prefersHour(t.Kind) || !pl.OK {
			return false
		}
		return p.facts(t, pl).claimsHour
	}
}

// SamePriority returns a function that reports whether tasks a and b of
// req have the same kind and the same priority in Plan's order (day,
// starred, Due, MetAt), their Keys aside: which of two such tasks is late
// is no rule of the plan.
func SamePriority(req Request) func(a, b Task) bool {
	priority := ComparePriority(req)
	return func(a, b Task) bool {
		return a.Kind == b.Kind && a.Duration == b.Duration && priority(a, b) == 0
	}
}

// ComparePriority returns a function that orders tasks of req as Plan
// places them (day, starred, Due, MetAt), their Keys aside: negative when a
// goes before b, zero for the same priority.
func ComparePriority(req Request) func(a, b Task) int {
	r := req
	r.Busy, r.Blocks, r.Tasks = nil, nil, nil
	p := newPlanner(r)
	return func(a, b Task) int {
		ka, kb := p.sortKey(a), p.sortKey(b)
		ka.key, kb.key = 0, 0
		return ka.compare(kb)
	}
}

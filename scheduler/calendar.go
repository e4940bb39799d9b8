package scheduler

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/followup/followup"
)

// Calendar is one user's free time kept between plans (issue 13, flat
// create cost): the busy time and every placed block, each with the task it
// came from, so that a new commitment's steps are placed among them without
// planning the blocks already there again. Finding a slot walks the
// occupied spans from the task's earliest start (binary search, then one
// span per turn); finding a block to release walks the blocks of the
// task's window. Only blocks the new steps displace move.
//
// The rules are those of Plan, applied to one step at a time:
//   - a refresher or nudge goes to the follow-up hour it may claim (by its
//     Due, or on its first working day when overdue): the first free one,
//     or, if earlier, the slot of a block of another kind or of a less
//     urgent refresher or nudge there;
//   - any other step, or one that found no hour, goes by its Due: to the
//     first free working slot or, if earlier, the slot of a less urgent
//     block (starred first, earliest deadline first); blocks of one
//     priority never take each other's slots;
//   - else after its Due, late, the same way; none within the horizon: not
//     placed (OK false).
//
// A block whose slot is taken is released and placed again by the same
// rules, after the new steps' follow-up hours are settled, a few times at
// most (maxReleases). Before a step takes a free slot, a late block after
// it that outranks the step, or a refresher or nudge that claims the slot's
// follow-up hour, moves there (pull). In a calendar of more than
// smallCalendar blocks a late step moves at most maxShift priorities of
// blocks; past that it goes to the free slot and Place reports capped, for
// a full plan to order them. Blocks written to a calendar, pinned or
// started are never released. A Calendar is not safe for concurrent use.
type Calendar struct {
	p      *planner
	blocks []calBlock // sorted by start; p.placed holds their spans, in the same order
	// stale are the blocks busy time overlaps since they were placed,
	// which the next Place moves.
	stale []int64
}

// Entry is a placed block a Calendar starts with. One that does not end
// after it starts (a step not placed yet) is left out.
type Entry struct {
	ID         int64
	Task       Task
	Start, End time.Time
	Late       bool
	// Written blocks stay put (they are in a calendar) unless busy time
	// comes to overlap them; pinned ones stay put whatever comes.
	Written, Pinned bool
}

// Released is where a block a Place released went.
type Released struct {
	ID int64
	Placement
}

// calBlock is a placed block.
type calBlock struct {
	id      int64
	task    Task
	s, e    int64
	late    bool
	written bool
	pinned  bool
	// inWork is set when the block lies inside a working window; hourEnd
	// is the end of the follow-up hour it starts in (0: none).
	inWork  bool
	hourEnd int64
	// key is the block's priority while the first working moment at or
	// after its earliest start is keyAt.
	key   sortKey
	keyAt int64
	keyOK bool
}

// maxReleases bounds how many blocks one Place releases: past it, a
// released block goes to free time only. maxShift bounds how many blocks
// a late block moves to take its place in priority order.
// A calendar of at most smallCalendar blocks is not held to maxShift.
const (
	maxReleases   = 32
	maxShift      = 4
	smallCalendar = 160
)

// NewCalendar returns the calendar of settings st in loc with busy time
// busy (widened by the buffer), other fixed time blocks (habits, no
// buffer) and the placed blocks entries.
func NewCalendar(st followup.Settings, loc *time.Location, busy, blocks []followup.Interval, entries []Entry) *Calendar {
	c := &Calendar{p: newPlanner(Request{Settings: st, Loc: loc, Busy: busy, Blocks: blocks})}
	c.blocks = make([]calBlock, 0, len(entries))
	for _, e := range entries {
		if !e.End.After(e.Start) {
			continue // a step not placed yet holds no time
		}
		e.Task.Key = int(e.ID)
		c.blocks = append(c.blocks, c.block(e.ID, e.Task, floorUnix(e.Start), ceilUnix(e.End), e.Late))
		b := &c.blocks[len(c.blocks)-1]
		b.written, b.pinned = e.Written, e.Pinned
	}
	slices.SortFunc(c.blocks, func(a, b calBlock) int { return cmp.Or(cmp.Compare(a.s, b.s), cmp.Compare(a.id, b.id)) })
	c.p.placed = make([]span, len(c.blocks))
	for i, b := range c.blocks {
		c.p.placed[i] = span{b.s, b.e}
		if j := firstEndAfter(c.p.busy, b.s); !b.pinned && j < len(c.p.busy) && c.p.busy[j].s < max(b.e, b.s+1) {
			c.stale = append(c.stale, b.id)
		}
	}
	return c
}

// Len returns the number of placed blocks.
func (c *Calendar) Len() int { return len(c.blocks) }

// block makes a calBlock, with its place in the day's windows.
func (c *Calendar) block(id int64, t Task, s, e int64, late bool) calBlock {
	b := calBlock{id: id, task: t, s: s, e: e, late: late}
	st := time.Unix(s, 0)
	if ws, we, ok := c.p.work.on(st, c.p.loc); ok && ws.Unix() <= s && e <= we.Unix() {
		b.inWork = true
	}
	b.hourEnd = c.p.windowEnd(c.p.follow, st)
	return b
}

// Remove takes block id out of the calendar, if it is there: its time is
// free.
func (c *Calendar) Remove(id int64) {
	for i := range c.blocks {
		if c.blocks[i].id == id {
			c.blocks = slices.Delete(c.blocks, i, i+1)
			c.p.placed = slices.Delete(c.p.placed, i, i+1)
			clear(c.p.memo)
			return
		}
	}
}

// Put records a placed block, replacing the one with its id.
func (c *Calendar) Put(e Entry) {
	c.Remove(e.ID)
	if !e.End.After(e.Start) {
		return // a step not placed yet holds no time
	}
	e.Task.Key = int(e.ID)
	b := c.block(e.ID, e.Task, floorUnix(e.Start), ceilUnix(e.End), e.Late)
	b.written, b.pinned = e.Written, e.Pinned
	i := firstStartAtOrAfter(c.p.placed, b.s)
	c.blocks = slices.Insert(c.blocks, i, b)
	c.p.placed = slices.Insert(c.p.placed, i, span{b.s, b.e})
}

// Small reports whether the calendar holds at most smallCalendar blocks:
// few enough that planning them all again is cheap.
func (c *Calendar) Small() bool { return len(c.blocks) <= smallCalendar }

// Rename gives the block id the id to, once its step is stored.
func (c *Calendar) Rename(id, to int64) {
	for i := range c.blocks {
		if c.blocks[i].id == id {
			c.blocks[i].id = to
			c.blocks[i].task.Key = int(to)
			c.blocks[i].keyOK = false
			return
		}
	}
}

// Place places tasks, whose Keys are their ids, at now, after adding busy
// (new agreed meetings, widened by the buffer); it records them and
// returns one Placement per task, in order, and the blocks it moved (a
// block a new meeting overlaps, or one a more urgent step released). A
// task not placed (OK false) is not recorded.
//
// capped is set when Place stopped releasing blocks (maxReleases): the
// blocks it released last went to free time only, and a full plan may
// order them better.
func (c *Calendar) Place(now time.Time, busy []followup.Interval, tasks []Task) (placed []Placement, moved []Released, capped bool) {
	c.p.now = ceilUnix(now)
	pl := &placing{c: c, out: make([]Placement, len(tasks)), moved: map[int64]int{}}
	for _, id := range c.stale {
		for i := range c.blocks {
			if c.blocks[i].id == id && c.blocks[i].s > c.p.now {
				pl.release(i)
				break
			}
		}
	}
	c.stale = nil
	for _, iv := range busy {
		pl.addBusy(iv)
	}
	// What the meetings moved competes with the new steps for its slot.
	pl.settle()
	order := make([]int, len(tasks))
	for i := range order {
		order[i] = i
	}
	keys := make([]sortKey, len(tasks))
	for i, t := range tasks {
		keys[i] = c.p.sortKey(t)
	}
	slices.SortFunc(order, func(a, b int) int { return keys[a].compare(keys[b]) })
	// As in Plan, the follow-up hours go to refreshers and nudges first.
	done := make([]bool, len(tasks))
	for _, i := range order {
		if p, ok := pl.inHour(tasks[i], keys[i]); ok {
			pl.out[i], done[i] = p, true
		}
	}
	// What they released goes next, so that a refresher or nudge moved
	// out of its slot finds the hours before other kinds use them.
	pl.settle()
	for _, i := range order {
		if !done[i] {
			pl.out[i] = pl.rest(tasks[i], keys[i])
		}
	}
	pl.settle()
	return pl.out, pl.moves, pl.capped
}

// placing is one Place call: the blocks released and not yet placed again,
// and the moves so far.
type placing struct {
	c        *Calendar
	out      []Placement
	released []calBlock
	releases int
	moves    []Released
	moved    map[int64]int // index in moves by block id
	// pulled is set when pull moved a block into the slot found.
	pulled bool
	// capped is set when a block went to free time without the releases
	// that would have put it in its place (see Place).
	capped bool
}

// addBusy adds busy time (an agreed meeting) and releases the blocks it
// overlaps that may move.
func (pl *placing) addBusy(iv followup.Interval) {
	p := pl.c.p
	if iv.AllDay {
		iv = WholeDays(iv, p.loc)
	}
	if !iv.End.After(iv.Start) {
		return
	}
	x := span{floorUnix(iv.Start) - p.buffer, ceilUnix(iv.End) + p.buffer}
	p.busy = mergeSpan(p.busy, x)
	for i := 0; i < len(pl.c.blocks); {
		b := pl.c.blocks[i]
		if b.s < x.e && b.e > x.s && !b.pinned && b.s > p.now {
			pl.release(i)
			continue
		}
		i++
	}
}

// release takes block i out of the calendar, to be placed again.
func (pl *placing) release(i int) {
	c := pl.c
	pl.released = append(pl.released, c.blocks[i])
	c.blocks = slices.Delete(c.blocks, i, i+1)
	c.p.placed = slices.Delete(c.p.placed, i, i+1)
	// Free time grew: what the memo knew to be full may not be.
	clear(c.p.memo)
}

// settle places the released blocks again, most urgent first.
func (pl *placing) settle() {
	for len(pl.released) > 0 {
		best := 0
		for i := range pl.released {
			if pl.c.key(&pl.released[i]).compare(pl.c.key(&pl.released[best])) < 0 {
				best = i
			}
		}
		b := pl.released[best]
		pl.released = slices.Delete(pl.released, best, best+1)
		key := pl.c.key(&b)
		at, ok := pl.inHour(b.task, key)
		if !ok {
			at = pl.rest(b.task, key)
		}
		at.Key = b.task.Key
		pl.note(b.id, at)
	}
}

// note records where block id went.
func (pl *placing) note(id int64, at Placement) {
	if i, seen := pl.moved[id]; seen {
		pl.moves[i].Placement = at
		return
	}
	pl.moved[id] = len(pl.moves)
	pl.moves = append(pl.moves, Released{ID: id, Placement: at})
}

// inHour places a refresher or nudge with a deadline in a follow-up hour
// it may claim (before its Due, or on its first working day when overdue):
// the first free one, or the hour of an earlier block of another kind or
// of a less urgent refresher or nudge, which is released.
func (pl *placing) inHour(t Task, key sortKey) (Placement, bool) {
	if !prefersHour(t.Kind) || t.Due.IsZero() {
		return Placement{}, false
	}
	p := pl.c.p
	dur, earliest, horizon := p.bounds(t)
	until, late := floorUnix(t.Due), false
	if at, dayEnd, ok := p.firstWork(earliest); ok && until <= at {
		until, late = dayEnd, true
	}
	return pl.earliestOf(t, key, followWindows, earliest, until, dur, horizon, late)
}

// rest places a task outside the follow-up hour it may claim: by its Due
// at the first free working slot or in the slot of an earlier block it
// outranks, which is released; else after its Due the same way, late.
// A confirm that misses its day goes on the meeting's day, else at any
// hour before the meeting.
func (pl *placing) rest(t Task, key sortKey) Placement {
	p := pl.c.p
	dur, earliest, horizon := p.bounds(t)
	due, hasDue := p.noBound, !t.Due.IsZero()
	if hasDue {
		due = floorUnix(t.Due)
	}
	confirm := t.Kind == followup.KindConfirm && !t.LateUntil.IsZero()
	until := due
	if confirm {
		until = min(due, floorUnix(t.LateUntil))
	}
	if at, ok := pl.earliestOf(t, key, workWindows, earliest, until, dur, horizon, false); ok {
		return at
	}
	switch {
	case confirm:
		lateUntil := floorUnix(t.LateUntil)
		y, m, d := t.LateUntil.In(p.loc).Date()
		dayStart := wall(y, m, d, followup.Clock{}, p.loc).Unix()
		if start, ok := pl.free(key, max(earliest, dayStart), lateUntil, dur, horizon); ok {
			return pl.record(t, start, dur, true)
		}
		if start, ok := p.last(earliest, lateUntil-p.buffer, dur); ok {
			return pl.record(t, start, dur, true)
		}
	case hasDue:
		if at, ok := pl.earliestOf(t, key, workWindows, earliest, p.noBound, dur, horizon, true); ok {
			return at
		}
	}
	return Placement{Key: t.Key}
}

// earliestOf places t in the windows of kind, starting at or after
// earliest and ending by until: at the first free slot, or in the slot of
// an earlier block that t may take (victim), which is released. A free
// slot goes first to a late block after it that outranks t and fits there
// (pull); t then looks again.
func (pl *placing) earliestOf(t Task, key sortKey, kind windowKind, earliest, until, dur, horizon int64, late bool) (Placement, bool) {
	p := pl.c.p
	for {
		// The memo takes a slot it found as used: it is kept as it was
		// when t goes elsewhere.
		mk := memoKey{kind, dur}
		m, known := p.memo[mk]
		start, ok := p.first(kind, earliest, until, dur, horizon)
		before := p.noBound
		if ok {
			before = start
		}
		// In its place t would move a block of each priority it
		// outranks between there and the free slot. When that is more
		// than maxShift in a calendar that is not small: on time, t takes
		// the slot of the least urgent one; late, t goes to the free slot
		// and a full plan (in the background) orders them.
		vs := pl.victims(t, key, kind, earliest, before, until, dur, until != p.noBound)
		i := vs.first
		if vs.n > maxShift && len(pl.c.blocks) > smallCalendar {
			if until == p.noBound {
				i, pl.capped = -1, true
			} else {
				i = vs.lowest
			}
		}
		if i >= 0 || ok && pl.pull(key, start) >= 0 {
			if known {
				p.memo[mk] = m
			} else {
				delete(p.memo, mk)
			}
		}
		switch {
		case i >= 0:
			return pl.take(t, i, dur, late || pl.c.blocks[i].s+dur > floorUnix(t.Due) && !t.Due.IsZero()), true
		case !ok:
			return Placement{}, false
		case pl.pulled:
			pl.pulled = false
			continue
		}
		return pl.record(t, start, dur, late), true
	}
}

// free returns the first free working slot of dur seconds starting at or
// after from and ending by until, after giving each such slot first to a
// late block after it that outranks key (pull).
func (pl *placing) free(key sortKey, from, until, dur, horizon int64) (int64, bool) {
	p := pl.c.p
	for {
		mk := memoKey{workWindows, dur}
		m, known := p.memo[mk]
		start, ok := p.first(workWindows, from, until, dur, horizon)
		if !ok || pl.pull(key, start) < 0 {
			return start, ok
		}
		pl.pulled = false
		if known {
			p.memo[mk] = m
		} else {
			delete(p.memo, mk)
		}
	}
}

// victims are the blocks whose slot a task may take: the earliest, the
// least urgent (when asked for), and how many priorities they have, in
// runs of one priority (counted up to maxShift+1 when the least urgent is
// not asked for): taking the first slot moves one block of each run, as
// blocks of one priority do not take each other's slots.
type victims struct {
	first, lowest, n int
}

// victims returns the blocks starting before before whose slot t may
// take: blocks that may move, start after now and at or after earliest,
// leave t room to end by until inside a window of kind, and that t
// outranks. In a follow-up hour a refresher or nudge also takes the slot
// of a block of another kind; outside one, a block of another kind does
// not take that of a refresher or nudge in its hour.
func (pl *placing) victims(t Task, key sortKey, kind windowKind, earliest, before, until, dur int64, lowest bool) victims {
	v := victims{first: -1, lowest: -1}
	if pl.releases >= maxReleases {
		pl.capped = true
		return v
	}
	c := pl.c
	var lowKey, prevKey sortKey
	for i := firstStartAtOrAfter(c.p.placed, max(earliest, c.p.now+1)); i < len(c.blocks); i++ {
		b := &c.blocks[i]
		if b.s >= before || b.s+dur > until {
			break
		}
		if b.written || b.pinned || b.e-b.s < dur || !b.inWork {
			continue
		}
		bk := c.key(b)
		switch {
		case kind == followWindows && b.s+dur > b.hourEnd:
			continue
		case kind == followWindows && !prefersHour(b.task.Kind):
		case !key.outranks(bk):
			continue
		case kind == workWindows && !prefersHour(t.Kind) && prefersHour(b.task.Kind) && b.e <= b.hourEnd:
			continue
		}
		if v.first < 0 || prevKey.outranks(bk) || bk.outranks(prevKey) {
			v.n++
		}
		prevKey = bk
		if v.first < 0 {
			v.first = i
		}
		if lowest && (v.lowest < 0 || lowKey.outranks(bk)) {
			v.lowest, lowKey = i, bk
		}
		if !lowest && v.n > maxShift {
			break
		}
	}
	return v
}

// pull moves into the free slot at s the most urgent late block after it
// that outranks key and fits there, and returns where that block was (-1:
// none moved).
func (pl *placing) pull(key sortKey, s int64) int64 {
	if pl.releases >= maxReleases {
		pl.capped = true
		return -1
	}
	c, p := pl.c, pl.c.p
	best, bestDur := -1, int64(0)
	var bestKey sortKey
	// A late block after s, or a refresher or nudge outside a follow-up
	// hour anywhere when s is in one.
	hourEnd := p.windowEnd(p.follow, time.Unix(s, 0))
	from := s + 1
	if hourEnd > 0 {
		from = p.now + 1
	}
	for i := firstStartAtOrAfter(p.placed, from); i < len(c.blocks); i++ {
		b := &c.blocks[i]
		outOfHour := hourEnd > 0 && prefersHour(b.task.Kind) && b.e > b.hourEnd
		if !(b.late && b.s > s) && !outOfHour || b.written || b.pinned {
			continue
		}
		// Into an hour it claims, a refresher or nudge moves from
		// anywhere; a late block otherwise only forward.
		hourOnly := !(b.late && b.s > s)
		bk := c.key(b)
		if !bk.outranks(key) || best >= 0 && !bk.outranks(bestKey) {
			continue
		}
		dur, earliest, _ := p.bounds(b.task)
		if earliest > s || !b.task.LateUntil.IsZero() && s+dur > floorUnix(b.task.LateUntil) {
			continue
		}
		// A refresher or nudge late in a follow-up hour keeps it unless
		// the slot puts it on time; one on time moves only into an hour.
		onTime := !b.task.Due.IsZero() && s+dur <= floorUnix(b.task.Due)
		if prefersHour(b.task.Kind) && b.e <= b.hourEnd && !onTime || hourOnly && (!pl.claims(b.task, earliest, s+dur) || s+dur > hourEnd) {
			continue
		}
		if ws, we, ok := p.work.on(time.Unix(s, 0), p.loc); !ok || s < ws.Unix() || s+dur > we.Unix() {
			continue
		}
		if at, ok := p.fit(s, s+dur, dur); !ok || at != s {
			continue
		}
		best, bestDur, bestKey = i, dur, bk
	}
	if best < 0 {
		return -1
	}
	b := c.blocks[best]
	pl.release(best)
	pl.released = pl.released[:len(pl.released)-1]
	pl.releases++
	at := pl.record(b.task, s, bestDur, !b.task.Due.IsZero() && s+bestDur > floorUnix(b.task.Due))
	pl.note(b.id, at)
	pl.pulled = true
	return b.s
}

// claims reports whether a refresher or nudge t with earliest start
// earliest may claim a follow-up hour ending at end: by its Due, or, when
// it is overdue, on its first working day.
func (pl *placing) claims(t Task, earliest, end int64) bool {
	if t.Due.IsZero() {
		return false
	}
	until := floorUnix(t.Due)
	if at, dayEnd, ok := pl.c.p.firstWork(earliest); ok && until <= at {
		until = dayEnd
	}
	return end <= until
}

// Free takes blocks ids out of the calendar (a commitment ended or was
// deleted). The time of each that had not started goes to the most urgent
// late block after it that fits there, whose own slot is then filled the
// same way, a few times at most; it returns those moves. capped is set
// when it moved any: a full plan (the background re-plan) orders them.
func (c *Calendar) Free(now time.Time, ids []int64) (moved []Released, capped bool) {
	c.p.now = ceilUnix(now)
	pl := &placing{c: c, moved: map[int64]int{}}
	var freed []int64
	for _, id := range ids {
		for i := range c.blocks {
			if c.blocks[i].id != id {
				continue
			}
			if c.blocks[i].s > c.p.now {
				freed = append(freed, c.blocks[i].s)
			}
			pl.release(i)
			pl.released = nil
			break
		}
	}
	// Every block outranks a task without a deadline: the lowest priority.
	lowest := sortKey{date: math.MaxInt}
	for len(freed) > 0 && !pl.capped {
		s := freed[0]
		freed = freed[1:]
		if from := pl.pull(lowest, s); from >= 0 {
			// What is left at s, and the slot the block left.
			freed = append(freed, s, from)
		}
	}
	// Filling freed time slot by slot keeps no order between the blocks
	// it moves and the rest: a full plan orders them.
	return pl.moves, len(pl.moves) > 0 || pl.capped
}

// take gives t the slot of block i, which is released.
func (pl *placing) take(t Task, i int, dur int64, late bool) Placement {
	start := pl.c.blocks[i].s
	pl.release(i)
	pl.releases++
	return pl.record(t, start, dur, late)
}

// record places t at [start, start+dur).
func (pl *placing) record(t Task, start, dur int64, late bool) Placement {
	c := pl.c
	b := c.block(int64(t.Key), t, start, start+dur, late)
	i := firstStartAtOrAfter(c.p.placed, start)
	c.blocks = slices.Insert(c.blocks, i, b)
	c.p.placed = slices.Insert(c.p.placed, i, span{b.s, b.e})
	return Placement{
		Key:   t.Key,
		Start: time.Unix(start, 0).In(c.p.loc),
		End:   time.Unix(start+dur, 0).In(c.p.loc),
		Late:  late,
		OK:    true,
	}
}

// key returns block b's priority at the calendar's now. It depends on now
// only through the first working moment at or after the task's earliest
// start, which is what the cached key is checked against.
func (c *Calendar) key(b *calBlock) sortKey {
	at, _, _ := c.p.firstWork(max(ceilUnix(b.task.NotBefore), c.p.now))
	if !b.keyOK || b.keyAt != at {
		b.key, b.keyAt, b.keyOK = c.p.sortKey(b.task), at, true
	}
	return b.key
}

// outranks reports whether k goes strictly before o in Plan's order, their
// keys aside: between two tasks of the same priority, which one is late is
// no rule, and neither releases the other.
func (k sortKey) outranks(o sortKey) bool {
	k.key, o.key = 0, 0
	return k.compare(o) < 0
}

// mergeSpan adds x to the sorted, disjoint list, merging it with the spans
// it overlaps or touches.
func mergeSpan(list []span, x span) []span {
	i := firstEndAfter(list, x.s-1) // the first span ending at or after x.s
	j := i
	for j < len(list) && list[j].s <= x.e {
		x.s, x.e = min(x.s, list[j].s), max(x.e, list[j].e)
		j++
	}
	return slices.Replace(list, i, j, x)
}

package scheduler_test

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/internal/plancheck"
	"github.com/followup/followup/scheduler"
	gocmp "github.com/google/go-cmp/cmp"
)

// FuzzPlan plans random scenarios and checks Plan against a brute-force
// reference that tries every 5-minute start, and against the invariants:
// no placement overlaps busy time (with buffer), own blocks or another
// placement; every placement is inside working hours except a late confirm;
// Late means the block ends after its Due.
func FuzzPlan(f *testing.F) {
	zones := seedScenarios(f)
	f.Fuzz(func(t *testing.T, seed uint64) {
		req := randomRequest(seed, zones)
		got := scheduler.Plan(req)
		want := referencePlan(req)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("seed %d: Plan differs from the reference (-want +got):\n%s", seed, diff)
		}
		checkInvariants(t, req, got)
		for _, v := range plancheck.Check(req, got) {
			t.Errorf("seed %d: %s", seed, v)
		}
		if a, b, ok := scheduler.Inversion(req, got); ok {
			t.Errorf("seed %d: Inversion finds task %d worse placed than task %d in Plan's own plan", seed, a, b)
		}
	})
}

// seedScenarios adds the seeds 0–59 of randomRequest to f's corpus and
// returns the zones the scenarios are in.
func seedScenarios(f *testing.F) []*time.Location {
	for seed := range uint64(60) {
		f.Add(seed)
	}
	return []*time.Location{zone(f, "America/New_York"), zone(f, "Europe/Berlin")}
}

// randomRequest builds a small random scenario over two weeks around a DST
// change, with settings whose windows avoid the 02:00-03:00 gap.
func randomRequest(seed uint64, zones []*time.Location) scheduler.Request {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	loc := zones[r.IntN(len(zones))]
	base := []time.Time{
		time.Date(2026, 3, 4, 0, 0, 0, 0, loc),
		time.Date(2026, 3, 25, 0, 0, 0, 0, loc),
		time.Date(2026, 10, 21, 0, 0, 0, 0, loc),
		time.Date(2026, 10, 28, 0, 0, 0, 0, loc),
	}[r.IntN(4)]
	at := func(maxDays int) time.Time {
		return base.AddDate(0, 0, r.IntN(maxDays)).Add(time.Duration(r.IntN(24*3600)) * time.Second)
	}
	s := followup.DefaultSettings(loc.String())
	s.BufferMinutes = r.IntN(4) * 5
	if r.IntN(3) == 0 {
		names := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
		s.WorkHours.Days = nil
		for _, n := range names {
			if r.IntN(2) == 0 {
				s.WorkHours.Days = append(s.WorkHours.Days, n)
			}
		}
		start := 6 + r.IntN(6)
		s.WorkHours.Start = followup.Clock{Hour: start, Minute: 15 * r.IntN(4)}
		s.WorkHours.End = followup.Clock{Hour: start + 2 + r.IntN(10)}
		fs := start + r.IntN(4)
		s.FollowupHour = followup.Span{Days: s.WorkHours.Days, Start: followup.Clock{Hour: fs}, End: followup.Clock{Hour: fs + 1}}
	}
	req := scheduler.Request{Settings: s, Loc: loc, Now: at(3)}
	for range r.IntN(40) {
		start := at(14)
		end := start.Add(time.Duration(5+r.IntN(240)) * time.Minute)
		allDay := r.IntN(15) == 0
		if allDay {
			y, m, d := start.Date()
			start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
			end = start.AddDate(0, 0, 1)
		}
		req.Busy = append(req.Busy, followup.Interval{Start: start, End: end, AllDay: allDay})
	}
	for range r.IntN(8) {
		start := at(14)
		req.Blocks = append(req.Blocks, iv(start, start.Add(time.Duration(5+r.IntN(60))*time.Minute)))
	}
	kinds := []followup.StepKind{followup.KindRefresher, followup.KindDeliver, followup.KindChase, followup.KindConfirm, followup.KindNudge}
	for i := range r.IntN(40) {
		nb := at(7)
		if r.IntN(3) == 0 {
			nb = req.Now // many tasks free from the same moment
		}
		tk := scheduler.Task{
			Key:       100 + i,
			Kind:      kinds[r.IntN(len(kinds))],
			Duration:  []time.Duration{10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Duration(5+r.IntN(60)) * time.Minute}[r.IntN(4)],
			NotBefore: nb,
			Due:       nb.Add(time.Duration(r.IntN(72*60)-6*60) * time.Minute),
			Starred:   r.IntN(4) == 0,
			MetAt:     base.Add(time.Duration(r.IntN(5)) * time.Hour),
		}
		if r.IntN(10) == 0 {
			tk.Due = time.Time{}
		}
		if tk.Kind == followup.KindConfirm && r.IntN(5) > 0 && !tk.Due.IsZero() {
			meet := tk.Due.Add(time.Duration(r.IntN(40*60)) * time.Minute)
			tk.LateUntil = meet
			req.Busy = append(req.Busy, iv(meet, meet.Add(time.Hour)))
		}
		req.Tasks = append(req.Tasks, tk)
	}
	return req
}

// referencePlan is Plan written the slow, obvious way: every 5-minute start
// is tried against every interval.
func referencePlan(req scheduler.Request) []scheduler.Placement {
	loc, s := req.Loc, req.Settings
	buf := time.Duration(s.BufferMinutes) * time.Minute
	var occ []followup.Interval
	for _, b := range req.Busy {
		b = scheduler.WholeDays(b, loc)
		if b.End.After(b.Start) {
			occ = append(occ, iv(b.Start.Add(-buf), b.End.Add(buf)))
		}
	}
	occ = append(occ, req.Blocks...)
	free := func(start, end time.Time) bool {
		for _, o := range occ {
			if start.Before(o.End) && o.Start.Before(end) {
				return false
			}
		}
		return true
	}
	inSpan := func(sp followup.Span, start, end time.Time) bool {
		l := start.In(loc)
		y, m, d := l.Date()
		if !sp.Weekdays()[l.Weekday()] {
			return false
		}
		ws := time.Date(y, m, d, sp.Start.Hour, sp.Start.Minute, 0, 0, loc)
		we := time.Date(y, m, d, sp.End.Hour, sp.End.Minute, 0, 0, loc)
		return !start.Before(ws) && !end.After(we)
	}
	work := func(start, end time.Time) bool { return inSpan(s.WorkHours, start, end) }
	follow := func(start, end time.Time) bool { return work(start, end) && inSpan(s.FollowupHour, start, end) }
	anyTime := func(time.Time, time.Time) bool { return true }
	// scan tries starts from 'from' while the block ends by until.
	scan := func(from, until time.Time, dur time.Duration, ok func(time.Time, time.Time) bool) (time.Time, bool) {
		for st := roundUp5(from); !st.Add(dur).After(until); st = st.Add(5 * time.Minute) {
			if ok(st, st.Add(dur)) && free(st, st.Add(dur)) {
				return st, true
			}
		}
		return time.Time{}, false
	}

	order := make([]int, len(req.Tasks))
	for i := range order {
		order[i] = i
	}
	// A task's day: the date of its Due, or of its first working moment
	// when the Due is not after it (overdue).
	date := func(tk scheduler.Task) int {
		if tk.Due.IsZero() {
			return 1 << 40
		}
		day := tk.Due
		if at, _, ok := firstWorkMoment(req, tk); ok && !tk.Due.After(at) {
			day = at
		}
		y, m, d := day.In(loc).Date()
		return y*10000 + int(m)*100 + d
	}
	slices.SortStableFunc(order, func(a, b int) int {
		x, y := req.Tasks[a], req.Tasks[b]
		if c := cmp.Compare(date(x), date(y)); c != 0 {
			return c
		}
		if x.Starred != y.Starred {
			if x.Starred {
				return -1
			}
			return 1
		}
		if c := x.Due.Compare(y.Due); c != 0 {
			return c
		}
		if c := x.MetAt.Compare(y.MetAt); c != 0 {
			return c
		}
		return cmp.Compare(x.Key, y.Key)
	})

	out := make([]scheduler.Placement, len(req.Tasks))
	// First pass: refreshers and nudges take the follow-up hour.
	done := make([]bool, len(req.Tasks))
	for _, i := range order {
		tk := req.Tasks[i]
		if (tk.Kind != followup.KindRefresher && tk.Kind != followup.KindNudge) || tk.Due.IsZero() {
			continue
		}
		earliest := tk.NotBefore
		if req.Now.After(earliest) {
			earliest = req.Now
		}
		until, late := tk.Due, false
		if at, dayEnd, ok := firstWorkMoment(req, tk); ok && !tk.Due.After(at) {
			until, late = dayEnd, true // overdue: the hour of its first working day
		}
		if st, ok := scan(earliest, until, tk.Duration, follow); ok {
			out[i] = scheduler.Placement{Key: tk.Key, Start: st.In(loc), End: st.Add(tk.Duration).In(loc), Late: late, OK: true}
			occ = append(occ, iv(st, st.Add(tk.Duration)))
			done[i] = true
		}
	}
	for _, i := range order {
		if done[i] {
			continue
		}
		tk := req.Tasks[i]
		dur := tk.Duration
		earliest := tk.NotBefore
		if req.Now.After(earliest) {
			earliest = req.Now
		}
		far := earliest.AddDate(0, 0, scheduler.Horizon+1)
		due := tk.Due
		if due.IsZero() {
			due = far
		}
		var (
			st   time.Time
			ok   bool
			late bool
		)
		switch {
		case tk.Kind == followup.KindConfirm && !tk.LateUntil.IsZero():
			lim := due
			if tk.LateUntil.Before(lim) {
				lim = tk.LateUntil
			}
			if st, ok = scan(earliest, lim, dur, work); !ok {
				late = true
				y, m, d := tk.LateUntil.In(loc).Date()
				from := time.Date(y, m, d, 0, 0, 0, 0, loc)
				if earliest.After(from) {
					from = earliest
				}
				if st, ok = scan(from, tk.LateUntil, dur, work); !ok {
					for c := roundDown5(tk.LateUntil.Add(-buf - dur)); !c.Before(earliest); c = c.Add(-5 * time.Minute) {
						if anyTime(c, c.Add(dur)) && free(c, c.Add(dur)) {
							st, ok = c, true
							break
						}
					}
				}
			}
		default:
			if tk.Kind == followup.KindRefresher || tk.Kind == followup.KindNudge {
				if !tk.Due.IsZero() {
					st, ok = scan(earliest, due, dur, follow)
				}
			}
			if !ok {
				st, ok = scan(earliest, due, dur, work)
			}
			if !ok && !tk.Due.IsZero() {
				st, ok = scan(earliest, far, dur, work)
				late = ok
			}
		}
		if !ok {
			out[i] = scheduler.Placement{Key: tk.Key}
			continue
		}
		out[i] = scheduler.Placement{Key: tk.Key, Start: st.In(loc), End: st.Add(dur).In(loc), Late: late, OK: true}
		occ = append(occ, iv(st, st.Add(dur)))
	}
	return out
}

// firstWorkMoment returns the first moment at or after the task's earliest
// start (whole seconds) inside working hours, and the end of that working
// window, trying every 5 minutes (the windows of randomRequest start on
// quarter hours).
func firstWorkMoment(req scheduler.Request, tk scheduler.Task) (at, windowEnd time.Time, ok bool) {
	earliest := tk.NotBefore
	if req.Now.After(earliest) {
		earliest = req.Now
	}
	if earliest.Nanosecond() > 0 {
		earliest = earliest.Truncate(time.Second).Add(time.Second)
	}
	w := req.Settings.WorkHours
	days := w.Weekdays()
	inWork := func(t time.Time) (time.Time, bool) {
		l := t.In(req.Loc)
		y, m, d := l.Date()
		ws := time.Date(y, m, d, w.Start.Hour, w.Start.Minute, 0, 0, req.Loc)
		we := time.Date(y, m, d, w.End.Hour, w.End.Minute, 0, 0, req.Loc)
		return we, days[time.Date(y, m, d, 12, 0, 0, 0, req.Loc).Weekday()] && !t.Before(ws) && t.Before(we)
	}
	if we, ok := inWork(earliest); ok {
		return earliest, we, true
	}
	for t := earliest.Truncate(5 * time.Minute).Add(5 * time.Minute); t.Before(earliest.AddDate(0, 0, scheduler.Horizon)); t = t.Add(5 * time.Minute) {
		if we, ok := inWork(t); ok {
			return t, we, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// roundUp5 rounds t up to a 5-minute boundary.
func roundUp5(t time.Time) time.Time {
	r := t.Truncate(5 * time.Minute)
	if r.Before(t) {
		r = r.Add(5 * time.Minute)
	}
	return r
}

// roundDown5 rounds t down to a 5-minute boundary.
func roundDown5(t time.Time) time.Time { return t.Truncate(5 * time.Minute) }

// checkInvariants checks what must hold for any plan.
func checkInvariants(t *testing.T, req scheduler.Request, got []scheduler.Placement) {
	t.Helper()
	if len(got) != len(req.Tasks) {
		t.Fatalf("%d placements for %d tasks", len(got), len(req.Tasks))
	}
	buf := time.Duration(req.Settings.BufferMinutes) * time.Minute
	var taken []followup.Interval
	for _, b := range req.Busy {
		b = scheduler.WholeDays(b, req.Loc)
		taken = append(taken, iv(b.Start.Add(-buf), b.End.Add(buf)))
	}
	taken = append(taken, req.Blocks...)
	work := req.Settings.WorkHours
	for i, p := range got {
		tk := req.Tasks[i]
		if p.Key != tk.Key {
			t.Errorf("placement %d has key %d, want %d", i, p.Key, tk.Key)
		}
		if !p.OK {
			if !p.Start.IsZero() || !p.End.IsZero() || p.Late {
				t.Errorf("failed placement %d carries %+v", tk.Key, p)
			}
			continue
		}
		if p.End.Sub(p.Start) != tk.Duration {
			t.Errorf("task %d lasts %v, want %v", tk.Key, p.End.Sub(p.Start), tk.Duration)
		}
		if p.Start.Unix()%300 != 0 {
			t.Errorf("task %d starts at %v, not on 5 minutes", tk.Key, p.Start)
		}
		if p.Start.Before(tk.NotBefore) || p.Start.Before(req.Now) {
			t.Errorf("task %d starts at %v, before its earliest", tk.Key, p.Start)
		}
		block := iv(p.Start, p.End)
		for _, o := range taken {
			if block.Overlaps(o) {
				t.Errorf("task %d at %v-%v overlaps %v-%v", tk.Key, p.Start, p.End, o.Start, o.End)
			}
		}
		taken = append(taken, block)
		l := p.Start.In(req.Loc)
		y, m, d := l.Date()
		inWork := work.Weekdays()[l.Weekday()] &&
			!p.Start.Before(time.Date(y, m, d, work.Start.Hour, work.Start.Minute, 0, 0, req.Loc)) &&
			!p.End.After(time.Date(y, m, d, work.End.Hour, work.End.Minute, 0, 0, req.Loc))
		confirmLate := tk.Kind == followup.KindConfirm && !tk.LateUntil.IsZero() && p.Late
		if !inWork && !confirmLate {
			t.Errorf("task %d at %v-%v outside working hours", tk.Key, p.Start, p.End)
		}
		if !confirmLate && !tk.Due.IsZero() && p.Late != p.End.After(tk.Due) {
			t.Errorf("task %d ends %v, due %v, late %v", tk.Key, p.End, tk.Due, p.Late)
		}
		if !tk.LateUntil.IsZero() && p.End.After(tk.LateUntil) {
			t.Errorf("confirm %d ends %v after the meeting at %v", tk.Key, p.End, tk.LateUntil)
		}
	}
}

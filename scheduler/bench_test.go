package scheduler_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

// benchScenario builds the benchmark's request: 90 days in New York from
// Monday 2 March 2026 (across the 8 March change), nBusy busy intervals and
// nTasks tasks, deterministic for a seed.
//
// Busy time is spread the way several subscribed calendars look: on working
// days two meetings between 08:00 and 18:00, each seen one to five times with
// slightly different times (own, team and room calendars), about a quarter of
// working time including buffers; a few out-of-office all-day events; the
// agreed meetings of the tasks; everything else in evenings, nights and
// weekends (family, shared and subscribed calendars).
//
// Tasks come from networking evenings every two to four days, each with 5 to
// 25 contacts met from 18:00 on: per contact a refresher, a deliver (due 1 to
// 10 days later) or a chase (the working day after), and for one in five a
// confirm for a meeting one to two weeks later. All are planned at once at
// the start, as a full re-plan does. 1,000 tasks of 10 to 30 minutes are
// about 330 hours, close to the free working time of 90 days, and an evening
// with 25 contacts cannot have all its refreshers done the next day: about
// 60 % of the blocks end late (reported as the "late" metric), which makes
// the searches longer than in a calm quarter.
func benchScenario(tb testing.TB, nBusy, nTasks int) scheduler.Request {
	loc := zone(tb, "America/New_York")
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, loc)
	day := func(i int) time.Time { return start.AddDate(0, 0, i) }
	minutes := func(m int) time.Duration { return time.Duration(m) * time.Minute }
	s := followup.DefaultSettings(loc.String())
	req := scheduler.Request{Settings: s, Loc: loc, Now: start}

	for i := 0; i < 90; i++ {
		d := day(i)
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		if r.IntN(30) == 0 {
			req.Busy = append(req.Busy, followup.Interval{Start: d, End: d.AddDate(0, 0, 1), AllDay: true})
			continue
		}
		for range 2 {
			at := d.Add(8*time.Hour + minutes(15*r.IntN(40)))
			length := minutes(30 + 15*r.IntN(3))
			for range 1 + r.IntN(5) {
				jitter := minutes(5 * r.IntN(4))
				req.Busy = append(req.Busy, iv(at.Add(-jitter), at.Add(length+jitter)))
			}
		}
	}
	for len(req.Busy) < nBusy {
		d := day(r.IntN(90))
		var at time.Time
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			at = d.Add(minutes(5 * r.IntN(288)))
		} else if r.IntN(2) == 0 {
			at = d.Add(18*time.Hour + minutes(5*r.IntN(72))) // 18:00-24:00
		} else {
			at = d.Add(minutes(5 * r.IntN(84))) // 00:00-07:00
		}
		req.Busy = append(req.Busy, iv(at, at.Add(minutes(15+5*r.IntN(10)))))
	}

	add := func(tk scheduler.Task) bool {
		if len(req.Tasks) == nTasks {
			return false
		}
		tk.Key = len(req.Tasks)
		tk.Duration = s.Durations.For(tk.Kind)
		req.Tasks = append(req.Tasks, tk)
		return true
	}
	work := s.WorkHours
	var meetings []followup.Interval
	for i := 0; len(req.Tasks) < nTasks; i = (i + 2 + r.IntN(3)) % 88 {
		evening := day(i).Add(18 * time.Hour)
		for c := range 5 + r.IntN(21) {
			met := evening.Add(minutes(5 * c))
			starred := r.IntN(8) == 0
			ok := add(scheduler.Task{Kind: followup.KindRefresher, NotBefore: met, Due: met.AddDate(0, 0, 1), Starred: starred, MetAt: met})
			due := met.AddDate(0, 0, 1+r.IntN(10))
			if r.IntN(3) > 0 {
				ok = ok && add(scheduler.Task{Kind: followup.KindDeliver, NotBefore: met, Due: due, Starred: starred, MetAt: met})
			} else {
				y, m, dd := due.Date()
				next := time.Date(y, m, dd+1, work.Start.Hour, 0, 0, 0, loc)
				for next.Weekday() == time.Saturday || next.Weekday() == time.Sunday {
					next = next.AddDate(0, 0, 1)
				}
				ok = ok && add(scheduler.Task{Kind: followup.KindChase, NotBefore: next, Due: next.Add(8 * time.Hour), Starred: starred, MetAt: met})
			}
			if r.IntN(5) == 0 {
				meet := met.AddDate(0, 0, 7+r.IntN(7))
				y, m, dd := meet.Date()
				meet = time.Date(y, m, dd, 10+r.IntN(6), 0, 0, 0, loc)
				if meet.Weekday() == time.Saturday || meet.Weekday() == time.Sunday {
					meet = meet.AddDate(0, 0, 2)
				}
				meetings = append(meetings, iv(meet, meet.Add(time.Hour)))
				prev := meet.AddDate(0, 0, -1)
				for prev.Weekday() == time.Saturday || prev.Weekday() == time.Sunday {
					prev = prev.AddDate(0, 0, -1)
				}
				y, m, dd = prev.Date()
				ok = ok && add(scheduler.Task{
					Kind: followup.KindConfirm, NotBefore: time.Date(y, m, dd, 9, 0, 0, 0, loc), Due: time.Date(y, m, dd, 17, 0, 0, 0, loc),
					LateUntil: meet, Starred: starred, MetAt: met,
				})
			}
			if !ok {
				break
			}
		}
	}
	// The agreed meetings replace as many of the night-time intervals.
	req.Busy = append(req.Busy[:max(0, nBusy-len(meetings))], meetings...)
	r.Shuffle(len(req.Busy), func(i, j int) { req.Busy[i], req.Busy[j] = req.Busy[j], req.Busy[i] })
	return req
}

// BenchmarkPlan1000Among10000Busy plans 1,000 tasks among 10,000 busy
// intervals spread over 90 days (see benchScenario).
func BenchmarkPlan1000Among10000Busy(b *testing.B) {
	req := benchScenario(b, 10000, 1000)
	var late, failed int
	for _, p := range scheduler.Plan(req) {
		if !p.OK {
			failed++
		} else if p.Late {
			late++
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		scheduler.Plan(req)
	}
	// After the loop: b.Loop resets the timer, which clears metrics.
	b.ReportMetric(float64(late), "late")
	b.ReportMetric(float64(failed), "unplaced")
}

// BenchmarkSortBusy10000 is the reference for the figures above: sorting the
// same 10,000 busy intervals by start.
func BenchmarkSortBusy10000(b *testing.B) {
	req := benchScenario(b, 10000, 0)
	buf := make([]followup.Interval, len(req.Busy))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, req.Busy)
		slices.SortFunc(buf, func(x, y followup.Interval) int { return x.Start.Compare(y.Start) })
	}
}

// TestBenchScenario keeps the benchmark honest: its scenario has the sizes
// it claims and Plan keeps every invariant on it.
func TestBenchScenario(t *testing.T) {
	req := benchScenario(t, 10000, 1000)
	if len(req.Busy) != 10000 || len(req.Tasks) != 1000 {
		t.Fatalf("scenario has %d busy intervals and %d tasks, want 10000 and 1000", len(req.Busy), len(req.Tasks))
	}
	got := scheduler.Plan(req)
	checkInvariants(t, req, got)
	for _, p := range got {
		if !p.OK {
			t.Errorf("task %d not placed", p.Key)
		}
	}
}

// BenchmarkPlan1000SameStart is the worst case of a walk from the same
// moment: 1,000 tasks without deadlines, all free from the start, among the
// same 10,000 busy intervals, so each searches past all blocks placed before
// it.
func BenchmarkPlan1000SameStart(b *testing.B) {
	req := benchScenario(b, 10000, 1000)
	for i := range req.Tasks {
		req.Tasks[i].NotBefore, req.Tasks[i].Due, req.Tasks[i].Kind = req.Now, time.Time{}, followup.KindDeliver
	}
	b.ReportAllocs()
	for b.Loop() {
		scheduler.Plan(req)
	}
}

// BenchmarkPlan0Among10000Busy is Plan's fixed cost: preparing the same
// 10,000 busy intervals with no task to place.
func BenchmarkPlan0Among10000Busy(b *testing.B) {
	req := benchScenario(b, 10000, 1000)
	req.Tasks = nil
	b.ReportAllocs()
	for b.Loop() {
		scheduler.Plan(req)
	}
}

// BenchmarkInversion1000 is the check the service runs on a plan grown
// around blocks that stayed put, at its worst: 1,000 tasks among 10,000
// busy intervals, no inversion to find, so every pair is looked at.
func BenchmarkInversion1000(b *testing.B) {
	req := benchScenario(b, 10000, 1000)
	pls := scheduler.Plan(req)
	if a, c, ok := scheduler.Inversion(req, pls); ok {
		b.Fatalf("Plan's own plan has an inversion: %d over %d", a, c)
	}
	b.ReportAllocs()
	for b.Loop() {
		scheduler.Inversion(req, pls)
	}
}

package scheduler_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
	"github.com/google/go-cmp/cmp"
)

// placed is a successful placement for tests.
func placed(key int, start time.Time, minutes int, late bool) scheduler.Placement {
	return scheduler.Placement{Key: key, Start: start, End: start.Add(time.Duration(minutes) * time.Minute), Late: late, OK: true}
}

// task returns a task with the default duration of its kind.
func task(key int, kind followup.StepKind, notBefore, due time.Time) scheduler.Task {
	return scheduler.Task{Key: key, Kind: kind, Duration: followup.DefaultSettings("UTC").Durations.For(kind), NotBefore: notBefore, Due: due}
}

func TestPlanRules(t *testing.T) {
	ny := zone(t, "America/New_York")
	d := clock(ny)
	allDay := func(y int, m time.Month, day int) followup.Interval {
		return followup.Interval{Start: time.Date(y, m, day, 0, 0, 0, 0, time.UTC), End: time.Date(y, m, day+1, 0, 0, 0, 0, time.UTC), AllDay: true}
	}
	confirm := func(key int, day time.Time, meeting time.Time) scheduler.Task {
		tk := task(key, followup.KindConfirm, day, day.Add(8*time.Hour))
		tk.LateUntil = meeting
		return tk
	}
	tests := []struct {
		name   string
		now    time.Time
		mutate func(*followup.Settings)
		busy   []followup.Interval
		blocks []followup.Interval
		tasks  []scheduler.Task
		want   []scheduler.Placement
	}{
		{
			name:  "refresher prefers the next follow-up hour over an earlier slot",
			now:   d(3, 2, 14, 0),
			tasks: []scheduler.Task{task(1, followup.KindRefresher, d(3, 2, 13, 0), d(3, 3, 13, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 3, 9, 0), 15, false)},
		},
		{
			name:  "refresher falls back to the first working slot when the follow-up hour is busy",
			now:   d(3, 2, 14, 0),
			busy:  []followup.Interval{iv(d(3, 3, 9, 0), d(3, 3, 10, 0))},
			tasks: []scheduler.Task{task(1, followup.KindRefresher, d(3, 2, 13, 0), d(3, 3, 13, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 2, 14, 0), 15, false)},
		},
		{
			name:  "refresher after its deadline is late, at the first working slot",
			now:   d(3, 2, 14, 0),
			busy:  []followup.Interval{iv(d(3, 2, 14, 0), d(3, 3, 16, 0))},
			tasks: []scheduler.Task{task(1, followup.KindRefresher, d(3, 2, 13, 0), d(3, 3, 13, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 3, 16, 5), 15, true)},
		},
		{
			name:  "nudge prefers the follow-up hour",
			now:   d(3, 2, 7, 0),
			busy:  []followup.Interval{iv(d(3, 2, 9, 0), d(3, 2, 9, 30))},
			tasks: []scheduler.Task{task(1, followup.KindNudge, d(3, 2, 8, 0), d(3, 2, 17, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 2, 9, 35), 15, false)},
		},
		{
			name:  "deliver takes the first working slot",
			now:   d(3, 2, 14, 0),
			tasks: []scheduler.Task{task(1, followup.KindDeliver, d(3, 2, 14, 0), d(3, 3, 17, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 2, 14, 0), 30, false)},
		},
		{
			name:  "start rounded up to 5 minutes",
			now:   d(3, 2, 14, 2).Add(17 * time.Second),
			tasks: []scheduler.Task{task(1, followup.KindDeliver, d(3, 2, 14, 0), d(3, 3, 17, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 2, 14, 5), 30, false)},
		},
		{
			name:  "NotBefore later than now",
			now:   d(3, 2, 10, 0),
			tasks: []scheduler.Task{task(1, followup.KindChase, d(3, 4, 9, 0), d(3, 4, 17, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 4, 9, 0), 15, false)},
		},
		{
			name:  "buffer after a busy event",
			now:   d(3, 2, 14, 0),
			busy:  []followup.Interval{iv(d(3, 2, 14, 0), d(3, 2, 15, 0))},
			tasks: []scheduler.Task{task(1, followup.KindDeliver, d(3, 2, 14, 0), d(3, 3, 17, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 2, 15, 5), 30, false)},
		},
		{
			name:  "fits before the buffer of a busy event",
			now:   d(3, 2, 14, 20),
			busy:  []followup.Interval{iv(d(3, 2, 15, 0), d(3, 2, 16, 0))},
			tasks: []scheduler.Task{task(1, followup.KindDeliver, d(3, 2, 14, 0), d(3, 3, 17, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 2, 14, 20), 30, false)},
		},
		{
			name:  "does not fit into the buffer before a busy event",
			now:   d(3, 2, 14, 30),
			busy:  []followup.Interval{iv(d(3, 2, 15, 0), d(3, 2, 16, 0))},
			tasks: []scheduler.Task{task(1, followup.KindDeliver, d(3, 2, 14, 0), d(3, 3, 17, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 2, 16, 5), 30, false)},
		},
		{
			name:   "custom buffer",
			now:    d(3, 2, 14, 0),
			mutate: func(s *followup.Settings) { s.BufferMinutes = 15 },
			busy:   []followup.Interval{iv(d(3, 2, 14, 0), d(3, 2, 15, 0))},
			tasks:  []scheduler.Task{task(1, followup.KindDeliver, d(3, 2, 14, 0), d(3, 3, 17, 0))},
			want:   []scheduler.Placement{placed(1, d(3, 2, 15, 15), 30, false)},
		},
		{
			name:   "own blocks have no buffer",
			now:    d(3, 2, 14, 0),
			blocks: []followup.Interval{iv(d(3, 2, 14, 0), d(3, 2, 14, 30))},
			tasks:  []scheduler.Task{task(1, followup.KindDeliver, d(3, 2, 14, 0), d(3, 3, 17, 0))},
			want:   []scheduler.Placement{placed(1, d(3, 2, 14, 30), 30, false)},
		},
		{
			name: "blocks of one call do not overlap",
			now:  d(3, 2, 14, 0),
			tasks: []scheduler.Task{
				task(1, followup.KindDeliver, d(3, 2, 14, 0), d(3, 3, 17, 0)),
				task(2, followup.KindDeliver, d(3, 2, 14, 0), d(3, 3, 17, 0)),
				task(3, followup.KindChase, d(3, 2, 14, 0), d(3, 3, 17, 0)),
			},
			want: []scheduler.Placement{placed(1, d(3, 2, 14, 0), 30, false), placed(2, d(3, 2, 14, 30), 30, false), placed(3, d(3, 2, 15, 0), 15, false)},
		},
		{
			name: "a block filling the gap between two blocks joins them",
			now:  d(3, 2, 8, 0),
			tasks: []scheduler.Task{
				task(1, followup.KindChase, d(3, 2, 9, 0), d(3, 2, 10, 0)),
				task(2, followup.KindChase, d(3, 2, 9, 30), d(3, 2, 11, 0)),
				task(3, followup.KindChase, d(3, 2, 9, 0), d(3, 2, 12, 0)),
				task(4, followup.KindChase, d(3, 2, 9, 0), d(3, 2, 13, 0)),
			},
			want: []scheduler.Placement{
				placed(1, d(3, 2, 9, 0), 15, false), placed(2, d(3, 2, 9, 30), 15, false),
				placed(3, d(3, 2, 9, 15), 15, false), placed(4, d(3, 2, 9, 45), 15, false),
			},
		},
		{
			name: "working hours until midnight",
			now:  d(3, 2, 23, 45),
			mutate: func(s *followup.Settings) {
				s.WorkHours = followup.Span{Days: []string{"mon", "tue"}, Start: followup.Clock{Hour: 18}, End: followup.Clock{Hour: 24}}
			},
			tasks: []scheduler.Task{
				task(1, followup.KindChase, d(3, 2, 23, 0), d(3, 4, 0, 0)),
				task(2, followup.KindChase, d(3, 2, 23, 0), d(3, 4, 0, 0)),
			},
			want: []scheduler.Placement{placed(1, d(3, 2, 23, 45), 15, false), placed(2, d(3, 3, 18, 0), 15, false)},
		},
		{
			name:  "weekend skipped",
			now:   d(2, 27, 16, 50),
			tasks: []scheduler.Task{task(1, followup.KindDeliver, d(2, 27, 16, 50), d(3, 2, 17, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 2, 9, 0), 30, false)},
		},
		{
			name:  "evening moves to the next morning",
			now:   d(3, 2, 18, 0),
			tasks: []scheduler.Task{task(1, followup.KindDeliver, d(3, 2, 18, 0), d(3, 4, 17, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 3, 9, 0), 30, false)},
		},
		{
			name:  "deadline that cannot be met: late, not dropped",
			now:   d(3, 2, 14, 0),
			busy:  []followup.Interval{iv(d(3, 2, 14, 0), d(3, 2, 17, 0))},
			tasks: []scheduler.Task{task(1, followup.KindDeliver, d(3, 2, 14, 0), d(3, 2, 15, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 3, 9, 0), 30, true)},
		},
		{
			name:  "deadline already past: late",
			now:   d(3, 2, 14, 0),
			tasks: []scheduler.Task{task(1, followup.KindDeliver, d(3, 1, 14, 0), d(3, 2, 12, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 2, 14, 0), 30, true)},
		},
		{
			name:  "all-day busy event blocks the whole local day",
			now:   d(3, 2, 18, 0),
			busy:  []followup.Interval{allDay(2026, 3, 3)},
			tasks: []scheduler.Task{task(1, followup.KindDeliver, d(3, 2, 18, 0), d(3, 5, 17, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 4, 9, 0), 30, false)},
		},
		{
			name: "custom work hours",
			now:  d(3, 2, 12, 0),
			mutate: func(s *followup.Settings) {
				s.WorkHours = followup.Span{Days: []string{"tue", "wed", "thu", "fri", "sat"}, Start: followup.Clock{Hour: 10}, End: followup.Clock{Hour: 18}}
				s.FollowupHour = followup.Span{Days: []string{"tue", "wed", "thu", "fri", "sat"}, Start: followup.Clock{Hour: 10}, End: followup.Clock{Hour: 11}}
			},
			tasks: []scheduler.Task{
				task(1, followup.KindRefresher, d(3, 2, 12, 0), d(3, 3, 12, 0)),
				task(2, followup.KindDeliver, d(3, 6, 17, 50), d(3, 9, 12, 0)),
			},
			want: []scheduler.Placement{placed(1, d(3, 3, 10, 0), 15, false), placed(2, d(3, 7, 10, 0), 30, false)},
		},
		{
			name: "follow-up hour is used only within working hours",
			now:  d(3, 2, 6, 0),
			mutate: func(s *followup.Settings) {
				s.FollowupHour.Start, s.FollowupHour.End = followup.Clock{Hour: 8}, followup.Clock{Hour: 9, Minute: 30}
			},
			busy:  []followup.Interval{iv(d(3, 2, 9, 0), d(3, 2, 9, 10))},
			tasks: []scheduler.Task{task(1, followup.KindRefresher, d(3, 2, 6, 0), d(3, 2, 17, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 2, 9, 15), 15, false)},
		},
		{
			name:   "no follow-up hour configured: first working slot",
			now:    d(3, 2, 14, 0),
			mutate: func(s *followup.Settings) { s.FollowupHour.Days = nil },
			tasks:  []scheduler.Task{task(1, followup.KindRefresher, d(3, 2, 13, 0), d(3, 3, 13, 0))},
			want:   []scheduler.Placement{placed(1, d(3, 2, 14, 0), 15, false)},
		},
		{
			name:  "no deadline: first working slot, never late",
			now:   d(3, 2, 14, 0),
			busy:  []followup.Interval{iv(d(3, 2, 14, 0), d(3, 4, 12, 0))},
			tasks: []scheduler.Task{{Key: 1, Kind: followup.KindDeliver, Duration: 45 * time.Minute, NotBefore: d(3, 2, 14, 0)}},
			want:  []scheduler.Placement{placed(1, d(3, 4, 12, 5), 45, false)},
		},
		{
			name:  "zero duration uses the kind's default",
			now:   d(3, 2, 14, 0),
			tasks: []scheduler.Task{{Key: 1, Kind: followup.KindChase, NotBefore: d(3, 2, 14, 0), Due: d(3, 2, 17, 0)}},
			want:  []scheduler.Placement{placed(1, d(3, 2, 14, 0), 15, false)},
		},
		{
			name:  "no slot within the horizon",
			now:   d(3, 2, 14, 0),
			busy:  []followup.Interval{iv(d(3, 1, 0, 0), d(6, 30, 0, 0))},
			tasks: []scheduler.Task{task(4, followup.KindDeliver, d(3, 2, 14, 0), d(3, 3, 17, 0))},
			want:  []scheduler.Placement{{Key: 4}},
		},
		{
			name:  "confirm on its day",
			now:   d(3, 2, 8, 0),
			busy:  []followup.Interval{iv(d(3, 3, 11, 0), d(3, 3, 11, 30))},
			tasks: []scheduler.Task{confirm(1, d(3, 2, 9, 0), d(3, 3, 11, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 2, 9, 0), 10, false)},
		},
		{
			name:  "confirm late on the meeting day when its day is full",
			now:   d(3, 2, 8, 0),
			busy:  []followup.Interval{iv(d(3, 2, 9, 0), d(3, 2, 17, 0)), iv(d(3, 3, 11, 0), d(3, 3, 11, 30))},
			tasks: []scheduler.Task{confirm(1, d(3, 2, 9, 0), d(3, 3, 11, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 3, 9, 0), 10, true)},
		},
		{
			name: "confirm late over a weekend goes to the meeting day, not Saturday",
			now:  d(3, 6, 8, 0),
			busy: []followup.Interval{
				iv(d(3, 6, 9, 0), d(3, 6, 17, 0)),
				iv(d(3, 9, 9, 0), d(3, 9, 10, 0)),
				iv(d(3, 9, 10, 30), d(3, 9, 11, 0)),
			},
			mutate: func(s *followup.Settings) { s.WorkHours.Days = append(s.WorkHours.Days, "sat") },
			tasks:  []scheduler.Task{confirm(1, d(3, 6, 9, 0), d(3, 9, 10, 30))},
			want:   []scheduler.Placement{placed(1, d(3, 9, 10, 5), 10, true)},
		},
		{
			name:  "confirm last resort before an early meeting, outside working hours",
			now:   d(3, 2, 8, 0),
			busy:  []followup.Interval{iv(d(3, 2, 9, 0), d(3, 2, 17, 0)), iv(d(3, 3, 8, 0), d(3, 3, 8, 30))},
			tasks: []scheduler.Task{confirm(1, d(3, 2, 9, 0), d(3, 3, 8, 0))},
			want:  []scheduler.Placement{placed(1, d(3, 3, 7, 45), 10, true)},
		},
		{
			name: "confirm last resort skips busy time",
			now:  d(3, 2, 8, 0),
			busy: []followup.Interval{
				iv(d(3, 2, 9, 0), d(3, 2, 17, 0)),
				iv(d(3, 3, 8, 0), d(3, 3, 8, 30)),
				iv(d(3, 3, 7, 0), d(3, 3, 7, 50)),
			},
			blocks: []followup.Interval{iv(d(3, 3, 6, 45), d(3, 3, 6, 55))},
			tasks:  []scheduler.Task{confirm(1, d(3, 2, 9, 0), d(3, 3, 8, 0))},
			want:   []scheduler.Placement{placed(1, d(3, 3, 6, 35), 10, true)},
		},
		{
			name:  "confirm with no time before the meeting",
			now:   d(3, 3, 7, 50),
			busy:  []followup.Interval{iv(d(3, 3, 8, 0), d(3, 3, 8, 30))},
			tasks: []scheduler.Task{confirm(1, d(3, 2, 9, 0), d(3, 3, 8, 0))},
			want:  []scheduler.Placement{{Key: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings(ny)
			if tt.mutate != nil {
				tt.mutate(&s)
			}
			got := scheduler.Plan(scheduler.Request{Settings: s, Loc: ny, Now: tt.now, Busy: tt.busy, Blocks: tt.blocks, Tasks: tt.tasks})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
			for _, p := range got {
				if p.OK && p.Start.Location() != ny {
					t.Errorf("placement %d in %v, want %v", p.Key, p.Start.Location(), ny)
				}
			}
		})
	}
}

// TestPlanConferenceEvening logs 12 contacts met one evening, 3 of them
// starred: the follow-up hour fills with the starred ones, then the oldest,
// and the rest spill into the next free slots.
func TestPlanConferenceEvening(t *testing.T) {
	ny := zone(t, "America/New_York")
	d := clock(ny)
	starred := map[int]bool{4: true, 7: true, 10: true}
	var tasks []scheduler.Task
	// Input order shuffled, to show that the order is the rule's, not the input's.
	for _, i := range []int{11, 3, 7, 0, 9, 4, 1, 8, 10, 2, 6, 5} {
		met := d(3, 2, 18, 0).Add(time.Duration(i) * 5 * time.Minute)
		tk := task(i, followup.KindRefresher, met, met.AddDate(0, 0, 1))
		tk.Starred, tk.MetAt = starred[i], met
		tasks = append(tasks, tk)
	}
	got := scheduler.Plan(scheduler.Request{Settings: settings(ny), Loc: ny, Now: d(3, 2, 21, 0), Tasks: tasks})

	wantOrder := []int{4, 7, 10, 0, 1, 2, 3, 5, 6, 8, 9, 11}
	wantStart := map[int]time.Time{}
	for slot, key := range wantOrder {
		wantStart[key] = d(3, 3, 9, 0).Add(time.Duration(slot) * 15 * time.Minute)
	}
	var want []scheduler.Placement
	for _, tk := range tasks {
		want = append(want, placed(tk.Key, wantStart[tk.Key], 15, false))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("placements (-want +got):\n%s", diff)
	}
}

// TestPlanOverdueEvening: twelve people met on a Saturday evening in
// Berlin, the night the clocks go back (2026-10-25), from 23:00 every ten
// minutes, so their refreshers fall due on Sunday or, after midnight, on
// Monday, before any working hour: all are overdue and compete on Monday.
// The starred ones, met last, take Monday's follow-up hour first, then the
// oldest; every block is late.
func TestPlanOverdueEvening(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	d := clock(berlin)
	starred := map[int]bool{9: true, 10: true, 11: true}
	var tasks []scheduler.Task
	for _, i := range []int{5, 11, 0, 9, 3, 10, 1, 8, 2, 7, 4, 6} {
		met := d(10, 24, 23, 0).Add(time.Duration(i) * 10 * time.Minute)
		tk := task(i, followup.KindRefresher, met, met.AddDate(0, 0, 1))
		tk.Starred, tk.MetAt = starred[i], met
		tasks = append(tasks, tk)
	}
	got := scheduler.Plan(scheduler.Request{Settings: settings(berlin), Loc: berlin, Now: d(10, 25, 1, 0), Tasks: tasks})

	wantOrder := []int{9, 10, 11, 0, 1, 2, 3, 4, 5, 6, 7, 8}
	var want []scheduler.Placement
	for _, tk := range tasks {
		slot := slices.Index(wantOrder, tk.Key)
		want = append(want, placed(tk.Key, d(10, 26, 9, 0).Add(time.Duration(slot)*15*time.Minute), 15, true))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("placements (-want +got):\n%s", diff)
	}
}

func TestPlanOrder(t *testing.T) {
	ny := zone(t, "America/New_York")
	d := clock(ny)
	tests := []struct {
		name  string
		tasks []scheduler.Task
		want  []scheduler.Placement
	}{
		{
			name: "earliest deadline day before a starred contact",
			tasks: []scheduler.Task{
				{Key: 1, Kind: followup.KindDeliver, Duration: 30 * time.Minute, NotBefore: d(3, 2, 21, 0), Due: d(3, 4, 17, 0), Starred: true, MetAt: d(3, 2, 18, 0)},
				{Key: 2, Kind: followup.KindDeliver, Duration: 30 * time.Minute, NotBefore: d(3, 2, 21, 0), Due: d(3, 3, 17, 0), MetAt: d(3, 2, 19, 0)},
			},
			want: []scheduler.Placement{placed(1, d(3, 3, 9, 30), 30, false), placed(2, d(3, 3, 9, 0), 30, false)},
		},
		{
			name: "same deadline day: starred first even with a later deadline",
			tasks: []scheduler.Task{
				{Key: 1, Kind: followup.KindRefresher, Duration: 15 * time.Minute, NotBefore: d(3, 2, 21, 0), Due: d(3, 3, 10, 0), MetAt: d(3, 2, 10, 0)},
				{Key: 2, Kind: followup.KindRefresher, Duration: 15 * time.Minute, NotBefore: d(3, 2, 21, 0), Due: d(3, 3, 18, 0), Starred: true, MetAt: d(3, 2, 18, 0)},
			},
			want: []scheduler.Placement{placed(1, d(3, 3, 9, 15), 15, false), placed(2, d(3, 3, 9, 0), 15, false)},
		},
		{
			name: "same day and star: earlier deadline first",
			tasks: []scheduler.Task{
				{Key: 1, Kind: followup.KindDeliver, Duration: 30 * time.Minute, NotBefore: d(3, 2, 21, 0), Due: d(3, 3, 17, 0), MetAt: d(3, 2, 10, 0)},
				{Key: 2, Kind: followup.KindDeliver, Duration: 30 * time.Minute, NotBefore: d(3, 2, 21, 0), Due: d(3, 3, 12, 0), MetAt: d(3, 2, 18, 0)},
			},
			want: []scheduler.Placement{placed(1, d(3, 3, 9, 30), 30, false), placed(2, d(3, 3, 9, 0), 30, false)},
		},
		{
			name: "same deadline: oldest first, then key",
			tasks: []scheduler.Task{
				{Key: 3, Kind: followup.KindChase, Duration: 15 * time.Minute, NotBefore: d(3, 3, 9, 0), Due: d(3, 3, 17, 0), MetAt: d(3, 2, 10, 0)},
				{Key: 2, Kind: followup.KindChase, Duration: 15 * time.Minute, NotBefore: d(3, 3, 9, 0), Due: d(3, 3, 17, 0), MetAt: d(3, 2, 10, 0)},
				{Key: 1, Kind: followup.KindChase, Duration: 15 * time.Minute, NotBefore: d(3, 3, 9, 0), Due: d(3, 3, 17, 0), MetAt: d(3, 2, 12, 0)},
			},
			want: []scheduler.Placement{placed(3, d(3, 3, 9, 15), 15, false), placed(2, d(3, 3, 9, 0), 15, false), placed(1, d(3, 3, 9, 30), 15, false)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scheduler.Plan(scheduler.Request{Settings: settings(ny), Loc: ny, Now: d(3, 2, 21, 0), Tasks: tt.tasks})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlanDST places the follow-up hour on the Friday before and the Monday
// after each 2026 change in New York and Berlin: 09:00 local on both sides.
func TestPlanDST(t *testing.T) {
	for _, tt := range []struct {
		zone   string
		change time.Time // the Sunday of the change, local midnight
		shift  time.Duration
	}{
		{"America/New_York", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), -time.Hour},
		{"America/New_York", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Hour},
		{"Europe/Berlin", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), -time.Hour},
		{"Europe/Berlin", time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), time.Hour},
	} {
		t.Run(fmt.Sprintf("%s %s", tt.zone, tt.change.Format("2006-01-02")), func(t *testing.T) {
			loc := zone(t, tt.zone)
			y, m, sun := tt.change.Date()
			at := func(day, h, mi int) time.Time { return time.Date(y, m, day, h, mi, 0, 0, loc) }
			fri, mon := sun-2, sun+1
			tasks := []scheduler.Task{
				task(1, followup.KindRefresher, at(fri-1, 18, 0), at(fri, 18, 0)),
				task(2, followup.KindRefresher, at(sun, 12, 0), at(mon, 12, 0)),
				task(3, followup.KindDeliver, at(fri, 16, 50), at(mon, 17, 0)),
			}
			got := scheduler.Plan(scheduler.Request{Settings: settings(loc), Loc: loc, Now: at(fri-1, 20, 0), Tasks: tasks})
			want := []scheduler.Placement{
				placed(1, at(fri, 9, 0), 15, false),
				placed(2, at(mon, 9, 0), 15, false),
				placed(3, at(mon, 9, 15), 30, false),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
			// 72 h after Friday 09:00 is not Monday 09:00 on a change weekend.
			if gotShift := got[1].Start.Sub(got[0].Start) - 72*time.Hour; gotShift != tt.shift {
				t.Errorf("Monday - Friday - 72h = %v, want %v", gotShift, tt.shift)
			}
			for _, p := range got[:2] {
				if h, mi, _ := p.Start.Clock(); h != 9 || mi != 0 {
					t.Errorf("placement %d at %02d:%02d local, want 09:00", p.Key, h, mi)
				}
			}
		})
	}
}

// TestPlanDSTTransitionHours uses working hours that contain the change
// itself: the spring-forward gap shortens the window, the fall-back overlap
// lengthens it.
func TestPlanDSTTransitionHours(t *testing.T) {
	ny := zone(t, "America/New_York")
	berlin := zone(t, "Europe/Berlin")
	sunday := func(start, end followup.Clock) func(*followup.Settings) {
		return func(s *followup.Settings) {
			s.WorkHours = followup.Span{Days: []string{"sun"}, Start: start, End: end}
			s.FollowupHour = s.WorkHours
		}
	}
	utc := func(m time.Month, d, h, mi int) time.Time { return time.Date(2026, m, d, h, mi, 0, 0, time.UTC) }
	tests := []struct {
		name   string
		loc    *time.Location
		mutate func(*followup.Settings)
		now    time.Time
		busy   []followup.Interval
		tasks  []scheduler.Task
		want   []time.Time // starts, in UTC
	}{
		{
			name: "New York window starting in the gap opens when clocks jump",
			loc:  ny, mutate: sunday(followup.Clock{Hour: 2, Minute: 30}, followup.Clock{Hour: 4}),
			now:   utc(3, 7, 12, 0),
			tasks: []scheduler.Task{task(1, followup.KindRefresher, utc(3, 7, 12, 0), utc(3, 9, 12, 0))},
			want:  []time.Time{utc(3, 8, 7, 0)}, // 03:00 EDT
		},
		{
			name: "Berlin window across the gap holds one real hour",
			loc:  berlin, mutate: sunday(followup.Clock{Hour: 1, Minute: 30}, followup.Clock{Hour: 3, Minute: 30}),
			now: utc(3, 28, 12, 0),
			tasks: []scheduler.Task{
				{Key: 1, Kind: followup.KindDeliver, Duration: 60 * time.Minute, NotBefore: utc(3, 28, 12, 0), Due: utc(4, 10, 0, 0)},
				{Key: 2, Kind: followup.KindDeliver, Duration: 5 * time.Minute, NotBefore: utc(3, 28, 12, 0), Due: utc(4, 10, 0, 0)},
			},
			// 01:30 CET = 00:30 UTC, 03:30 CEST = 01:30 UTC: one hour, so the
			// second block waits a week (5 April 01:30 CEST = 4 April 23:30 UTC).
			want: []time.Time{utc(3, 29, 0, 30), utc(4, 4, 23, 30)},
		},
		{
			name: "New York overlap: 01:00 is the first one, the second 01:xx is usable",
			loc:  ny, mutate: sunday(followup.Clock{Hour: 1}, followup.Clock{Hour: 2}),
			now:  utc(10, 31, 12, 0),
			busy: []followup.Interval{iv(utc(11, 1, 5, 0), utc(11, 1, 6, 0))}, // 01:00 EDT to 01:00 EST
			tasks: []scheduler.Task{
				task(1, followup.KindRefresher, utc(10, 31, 12, 0), utc(11, 3, 12, 0)),
			},
			want: []time.Time{utc(11, 1, 6, 5)}, // 01:05 EST
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings(tt.loc)
			tt.mutate(&s)
			got := scheduler.Plan(scheduler.Request{Settings: s, Loc: tt.loc, Now: tt.now, Busy: tt.busy, Tasks: tt.tasks})
			var starts []time.Time
			for _, p := range got {
				if !p.OK {
					t.Fatalf("placement %d not OK", p.Key)
				}
				starts = append(starts, p.Start)
			}
			if diff := cmp.Diff(tt.want, starts); diff != "" {
				t.Errorf("starts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNudgeAndCloseAcrossDST plans the nudge AfterContacted derives, 7 days
// after contact across a change, and checks the close 3 days later.
func TestNudgeAndCloseAcrossDST(t *testing.T) {
	for _, tt := range []struct {
		zone      string
		contacted time.Time
		nudge     time.Time
		close     time.Time
	}{
		{"America/New_York", time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 12, 17, 0, 0, 0, time.UTC)},
		{"America/New_York", time.Date(2026, 10, 26, 8, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 5, 17, 0, 0, 0, time.UTC)},
		{"Europe/Berlin", time.Date(2026, 3, 23, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC), time.Date(2026, 4, 2, 17, 0, 0, 0, time.UTC)},
		{"Europe/Berlin", time.Date(2026, 10, 19, 8, 0, 0, 0, time.UTC), time.Date(2026, 10, 26, 9, 0, 0, 0, time.UTC), time.Date(2026, 10, 29, 17, 0, 0, 0, time.UTC)},
	} {
		t.Run(tt.zone+" "+tt.contacted.Format("2006-01-02"), func(t *testing.T) {
			loc := zone(t, tt.zone)
			// The table's times are wall clocks; read them in loc.
			local := func(u time.Time) time.Time {
				return time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), 0, 0, loc)
			}
			s := settings(loc)
			steps := scheduler.AfterContacted(followup.Commitment{Direction: followup.Mine}, s, loc, local(tt.contacted))
			if len(steps) != 2 {
				t.Fatalf("got %d steps, want 2", len(steps))
			}
			nudge := scheduler.NewTask(0, steps[0], followup.Commitment{MetAt: local(tt.contacted)}, s)
			got := scheduler.Plan(scheduler.Request{Settings: s, Loc: loc, Now: local(tt.contacted), Tasks: []scheduler.Task{nudge}})
			if diff := cmp.Diff([]scheduler.Placement{placed(0, local(tt.nudge), 15, false)}, got); diff != "" {
				t.Errorf("nudge (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(local(tt.close), steps[1].Start); diff != "" {
				t.Errorf("close (-want +got):\n%s", diff)
			}
			if got := scheduler.CloseAt(got[0].End, s, loc); !got.Equal(local(tt.nudge).Add(15*time.Minute).AddDate(0, 0, 3)) {
				t.Errorf("CloseAt(placed end) = %v", got)
			}
		})
	}
}

func TestConflicts(t *testing.T) {
	ny := zone(t, "America/New_York")
	d := clock(ny)
	blocks := []followup.Interval{
		iv(d(3, 2, 9, 0), d(3, 2, 9, 15)),   // 0: overlaps busy 9:10
		iv(d(3, 2, 10, 0), d(3, 2, 10, 32)), // 1: ends 3 min before busy 10:35: inside the buffer
		iv(d(3, 2, 11, 0), d(3, 2, 11, 30)), // 2: free
		iv(d(3, 2, 12, 5), d(3, 2, 12, 30)), // 3: starts right after busy + buffer: free
		iv(d(3, 3, 9, 0), d(3, 3, 17, 0)),   // 4: contains a busy event
		iv(d(3, 4, 9, 0), d(3, 4, 9, 0)),    // 5: empty, outside
	}
	busy := []followup.Interval{
		iv(d(3, 2, 11, 50), d(3, 2, 12, 0)),
		iv(d(3, 2, 9, 10), d(3, 2, 9, 40)),
		iv(d(3, 2, 10, 35), d(3, 2, 10, 50)),
		iv(d(3, 3, 12, 0), d(3, 3, 12, 30)),
	}
	tests := []struct {
		name   string
		buffer int
		want   []int
	}{
		{name: "default buffer", buffer: 5, want: []int{0, 1, 4}},
		{name: "no buffer", buffer: 0, want: []int{0, 4}},
		{name: "buffer touching exactly", buffer: 3, want: []int{0, 4}},
		{name: "large buffer", buffer: 25, want: []int{0, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings(ny)
			s.BufferMinutes = tt.buffer
			if diff := cmp.Diff(tt.want, scheduler.Conflicts(blocks, busy, s)); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWholeDays(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	tokyo := zone(t, "Asia/Tokyo")
	for _, tt := range []struct {
		name string
		in   followup.Interval
		loc  *time.Location
		want followup.Interval
	}{
		{
			name: "floating dates in UTC",
			in:   followup.Interval{Start: time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC), AllDay: true},
			loc:  berlin,
			want: followup.Interval{Start: time.Date(2026, 3, 28, 0, 0, 0, 0, berlin), End: time.Date(2026, 3, 30, 0, 0, 0, 0, berlin), AllDay: true},
		},
		{
			name: "local midnights as UTC instants",
			in:   followup.Interval{Start: time.Date(2026, 3, 27, 23, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC), AllDay: true},
			loc:  berlin,
			want: followup.Interval{Start: time.Date(2026, 3, 28, 0, 0, 0, 0, berlin), End: time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), AllDay: true},
		},
		{
			name: "floating date east of UTC",
			in:   followup.Interval{Start: time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC), AllDay: true},
			loc:  tokyo,
			want: followup.Interval{Start: time.Date(2026, 3, 28, 0, 0, 0, 0, tokyo), End: time.Date(2026, 3, 29, 0, 0, 0, 0, tokyo), AllDay: true},
		},
		{
			name: "not all-day: unchanged",
			in:   followup.Interval{Start: time.Date(2026, 3, 28, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 28, 11, 0, 0, 0, time.UTC)},
			loc:  tokyo,
			want: followup.Interval{Start: time.Date(2026, 3, 28, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 28, 11, 0, 0, 0, time.UTC)},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, scheduler.WholeDays(tt.in, tt.loc)); diff != "" {
				t.Errorf("interval (-want +got):\n%s", diff)
			}
		})
	}
}

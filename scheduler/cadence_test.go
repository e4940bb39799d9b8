package scheduler_test

import (
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
	"github.com/google/go-cmp/cmp"
)

func TestDeadline(t *testing.T) {
	ny := zone(t, "America/New_York")
	berlin := zone(t, "Europe/Berlin")
	d := clock(ny)
	b := clock(berlin)
	const clampedNY = "The deadline Sat 14 Mar 2026 19:00 EDT is more than 10 days after you met, so it was moved to Thu 12 Mar 2026 19:00 EDT: a promise older than that is let go."
	tests := []struct {
		name    string
		loc     *time.Location
		met     time.Time
		due     time.Time
		mutate  func(*followup.Settings)
		want    time.Time
		warning string
	}{
		{name: "no deadline is met plus 24 h", loc: ny, met: d(3, 2, 19, 0), want: d(3, 3, 19, 0)},
		{name: "default across spring forward keeps the local time", loc: ny, met: d(3, 7, 19, 0), want: d(3, 8, 19, 0)},
		{name: "custom default due days", loc: ny, met: d(3, 2, 19, 0), mutate: func(s *followup.Settings) { s.DefaultDueDays = 3 }, want: d(3, 5, 19, 0)},
		{name: "stated deadline kept", loc: ny, met: d(3, 2, 19, 0), due: d(3, 6, 17, 0), want: d(3, 6, 17, 0)},
		{name: "deadline exactly on day 10 kept", loc: ny, met: d(3, 2, 19, 0), due: d(3, 12, 19, 0), want: d(3, 12, 19, 0)},
		{name: "deadline after day 10 clamped across DST", loc: ny, met: d(3, 2, 19, 0), due: d(3, 14, 19, 0), want: d(3, 12, 19, 0), warning: clampedNY},
		{
			name: "clamp follows let_go_after_days", loc: berlin, met: b(10, 20, 18, 30), due: b(11, 30, 12, 0),
			mutate: func(s *followup.Settings) { s.LetGoAfterDays = 7 },
			want:   b(10, 27, 18, 30),
			warning: "The deadline Mon 30 Nov 2026 12:00 CET is more than 7 days after you met, so it was moved to " +
				"Tue 27 Oct 2026 18:30 CET: a promise older than that is let go.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings(tt.loc)
			if tt.mutate != nil {
				tt.mutate(&s)
			}
			got, warning := scheduler.Deadline(followup.Commitment{MetAt: tt.met, Due: tt.due}, s, tt.loc)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("due (-want +got):\n%s", diff)
			}
			if got.Location() != tt.loc {
				t.Errorf("due in %v, want %v", got.Location(), tt.loc)
			}
			if warning != tt.warning {
				t.Errorf("warning = %q, want %q", warning, tt.warning)
			}
		})
	}
}

func TestSteps(t *testing.T) {
	ny := zone(t, "America/New_York")
	d := clock(ny)
	planned := followup.StepPlanned
	refresher := func(nb, due time.Time) followup.Step {
		return followup.Step{Kind: followup.KindRefresher, Status: planned, NotBefore: nb, Due: due}
	}
	step := func(k followup.StepKind, nb, due time.Time) followup.Step {
		return followup.Step{Kind: k, Status: planned, NotBefore: nb, Due: due}
	}
	point := func(k followup.StepKind, at time.Time) followup.Step {
		return followup.Step{Kind: k, Status: planned, Start: at, End: at, NotBefore: at, Due: at}
	}
	meeting := func(start time.Time, minutes int) followup.Step {
		end := start.Add(time.Duration(minutes) * time.Minute)
		return followup.Step{Kind: followup.KindMeeting, Status: planned, Start: start, End: end, NotBefore: start, Due: end}
	}
	tests := []struct {
		name string
		c    followup.Commitment
		now  time.Time
		want []followup.Step
	}{
		{
			name: "mine without a meeting",
			c:    followup.Commitment{Direction: followup.Mine, MetAt: d(3, 2, 19, 0), Due: d(3, 3, 19, 0)},
			now:  d(3, 2, 21, 0),
			want: []followup.Step{
				refresher(d(3, 2, 21, 0), d(3, 3, 19, 0)),
				step(followup.KindDeliver, d(3, 2, 21, 0), d(3, 3, 19, 0)),
				point(followup.KindLetGo, d(3, 12, 19, 0)), // across the 8 March change
			},
		},
		{
			name: "logged before the meeting time: refresher from met",
			c:    followup.Commitment{Direction: followup.Mine, MetAt: d(3, 2, 19, 0), Due: d(3, 4, 12, 0)},
			now:  d(3, 2, 18, 0),
			want: []followup.Step{
				refresher(d(3, 2, 19, 0), d(3, 3, 19, 0)),
				step(followup.KindDeliver, d(3, 2, 18, 0), d(3, 4, 12, 0)),
				point(followup.KindLetGo, d(3, 12, 19, 0)),
			},
		},
		{
			name: "zero due is resolved like Deadline",
			c:    followup.Commitment{Direction: followup.Mine, MetAt: d(3, 2, 19, 0)},
			now:  d(3, 2, 21, 0),
			want: []followup.Step{
				refresher(d(3, 2, 21, 0), d(3, 3, 19, 0)),
				step(followup.KindDeliver, d(3, 2, 21, 0), d(3, 3, 19, 0)),
				point(followup.KindLetGo, d(3, 12, 19, 0)),
			},
		},
		{
			name: "theirs due Wednesday: chase all Thursday",
			c:    followup.Commitment{Direction: followup.Theirs, MetAt: d(3, 2, 19, 0), Due: d(3, 4, 12, 0)},
			now:  d(3, 2, 21, 0),
			want: []followup.Step{
				refresher(d(3, 2, 21, 0), d(3, 3, 19, 0)),
				step(followup.KindChase, d(3, 5, 9, 0), d(3, 5, 17, 0)),
				point(followup.KindLetGo, d(3, 12, 19, 0)),
			},
		},
		{
			name: "theirs due Friday evening: chase Monday, after spring forward",
			c:    followup.Commitment{Direction: followup.Theirs, MetAt: d(3, 2, 19, 0), Due: d(3, 6, 23, 30)},
			now:  d(3, 2, 21, 0),
			want: []followup.Step{
				refresher(d(3, 2, 21, 0), d(3, 3, 19, 0)),
				step(followup.KindChase, d(3, 9, 9, 0), d(3, 9, 17, 0)),
				point(followup.KindLetGo, d(3, 12, 19, 0)),
			},
		},
		{
			name: "meeting on Monday: confirm on Friday",
			c: followup.Commitment{
				Direction: followup.Mine, MetAt: d(3, 4, 19, 0), Due: d(3, 5, 19, 0),
				Meeting: &followup.Meeting{Start: d(3, 9, 10, 0), Minutes: 45, Location: "Blue Bottle"},
			},
			now: d(3, 4, 20, 0),
			want: []followup.Step{
				refresher(d(3, 4, 20, 0), d(3, 5, 19, 0)),
				step(followup.KindDeliver, d(3, 4, 20, 0), d(3, 5, 19, 0)),
				meeting(d(3, 9, 10, 0), 45),
				step(followup.KindConfirm, d(3, 6, 9, 0), d(3, 6, 17, 0)),
				point(followup.KindLetGo, d(3, 14, 19, 0)),
			},
		},
		{
			name: "meeting exactly 24 h after logging: confirm the day before",
			c: followup.Commitment{
				Direction: followup.Theirs, MetAt: d(3, 2, 9, 0), Due: d(3, 2, 17, 0),
				Meeting: &followup.Meeting{Start: d(3, 3, 9, 0), Minutes: 30},
			},
			now: d(3, 2, 9, 0),
			want: []followup.Step{
				refresher(d(3, 2, 9, 0), d(3, 3, 9, 0)),
				step(followup.KindChase, d(3, 3, 9, 0), d(3, 3, 17, 0)),
				meeting(d(3, 3, 9, 0), 30),
				step(followup.KindConfirm, d(3, 2, 9, 0), d(3, 2, 17, 0)),
				point(followup.KindLetGo, d(3, 12, 9, 0)),
			},
		},
		{
			name: "meeting less than 24 h after logging: no confirm",
			c: followup.Commitment{
				Direction: followup.Mine, MetAt: d(3, 2, 9, 0), Due: d(3, 2, 17, 0),
				Meeting: &followup.Meeting{Start: d(3, 3, 8, 59), Minutes: 30},
			},
			now: d(3, 2, 9, 0),
			want: []followup.Step{
				refresher(d(3, 2, 9, 0), d(3, 3, 9, 0)),
				step(followup.KindDeliver, d(3, 2, 9, 0), d(3, 2, 17, 0)),
				meeting(d(3, 3, 8, 59), 30),
				point(followup.KindLetGo, d(3, 12, 9, 0)),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scheduler.Steps(tt.c, settings(ny), ny, tt.now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStepsCustomWorkHours(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	b := clock(berlin)
	s := settings(berlin)
	s.WorkHours = followup.Span{Days: []string{"tue", "wed", "thu", "fri", "sat"}, Start: followup.Clock{Hour: 10}, End: followup.Clock{Hour: 18, Minute: 30}}
	c := followup.Commitment{
		Direction: followup.Theirs, MetAt: b(10, 16, 19, 0), Due: b(10, 17, 12, 0), // Saturday
		Meeting: &followup.Meeting{Start: b(10, 20, 11, 0), Minutes: 60}, // Tuesday
	}
	got := scheduler.Steps(c, s, berlin, b(10, 16, 20, 0))
	var chase, confirm followup.Step
	for _, st := range got {
		switch st.Kind {
		case followup.KindChase:
			chase = st
		case followup.KindConfirm:
			confirm = st
		}
	}
	// Sunday and Monday are not working days here.
	wantChase := followup.Step{Kind: followup.KindChase, Status: followup.StepPlanned, NotBefore: b(10, 20, 10, 0), Due: b(10, 20, 18, 30)}
	wantConfirm := followup.Step{Kind: followup.KindConfirm, Status: followup.StepPlanned, NotBefore: b(10, 17, 10, 0), Due: b(10, 17, 18, 30)}
	if diff := cmp.Diff(wantChase, chase); diff != "" {
		t.Errorf("chase (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantConfirm, confirm); diff != "" {
		t.Errorf("confirm (-want +got):\n%s", diff)
	}
}

func TestAfterContacted(t *testing.T) {
	ny := zone(t, "America/New_York")
	berlin := zone(t, "Europe/Berlin")
	d, b := clock(ny), clock(berlin)
	tests := []struct {
		name      string
		loc       *time.Location
		contacted time.Time
		nudgeNB   time.Time
		nudgeDue  time.Time
		close     time.Time
	}{
		{name: "inside working hours, across spring forward", loc: ny, contacted: d(3, 2, 10, 0), nudgeNB: d(3, 9, 10, 0), nudgeDue: d(3, 9, 17, 0), close: d(3, 12, 17, 0)},
		{name: "before work moves to work start", loc: ny, contacted: d(3, 2, 8, 0), nudgeNB: d(3, 9, 9, 0), nudgeDue: d(3, 9, 17, 0), close: d(3, 12, 17, 0)},
		{name: "after work moves to the next working day", loc: ny, contacted: d(3, 2, 18, 0), nudgeNB: d(3, 10, 9, 0), nudgeDue: d(3, 10, 17, 0), close: d(3, 13, 17, 0)},
		{name: "too little of the day left", loc: ny, contacted: d(3, 2, 16, 50), nudgeNB: d(3, 10, 9, 0), nudgeDue: d(3, 10, 17, 0), close: d(3, 13, 17, 0)},
		{name: "Saturday moves to Monday", loc: ny, contacted: d(2, 28, 11, 0), nudgeNB: d(3, 9, 9, 0), nudgeDue: d(3, 9, 17, 0), close: d(3, 12, 17, 0)},
		{name: "across fall back in Berlin", loc: berlin, contacted: b(10, 19, 10, 0), nudgeNB: b(10, 26, 10, 0), nudgeDue: b(10, 26, 17, 0), close: b(10, 29, 17, 0)},
		{name: "across fall back in New York", loc: ny, contacted: d(10, 29, 14, 0), nudgeNB: d(11, 5, 14, 0), nudgeDue: d(11, 5, 17, 0), close: d(11, 8, 17, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scheduler.AfterContacted(followup.Commitment{Direction: followup.Mine}, settings(tt.loc), tt.loc, tt.contacted)
			want := []followup.Step{
				{Kind: followup.KindNudge, Status: followup.StepPlanned, NotBefore: tt.nudgeNB, Due: tt.nudgeDue},
				{Kind: followup.KindClose, Status: followup.StepPlanned, Start: tt.close, End: tt.close, NotBefore: tt.close, Due: tt.close},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCloseAt(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	b := clock(berlin)
	s := settings(berlin)
	for _, tt := range []struct {
		name  string
		end   time.Time
		days  int
		want  time.Time
		naive time.Time
	}{
		{name: "spring forward", end: b(3, 27, 9, 30), days: 3, want: b(3, 30, 9, 30)},
		{name: "fall back", end: b(10, 23, 9, 30), days: 3, want: b(10, 26, 9, 30)},
		{name: "custom days", end: b(10, 23, 9, 30), days: 10, want: b(11, 2, 9, 30)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.CloseAfterDays = tt.days
			got := scheduler.CloseAt(tt.end.UTC(), s, berlin)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("close (-want +got):\n%s", diff)
			}
			if h, m, _ := got.Clock(); h != 9 || m != 30 {
				t.Errorf("close at %02d:%02d local, want 09:30", h, m)
			}
		})
	}
}

func TestNewTask(t *testing.T) {
	ny := zone(t, "America/New_York")
	d := clock(ny)
	c := followup.Commitment{Priority: true, MetAt: d(3, 2, 19, 0), Meeting: &followup.Meeting{Start: d(3, 9, 10, 0), Minutes: 30}}
	st := followup.Step{Kind: followup.KindConfirm, NotBefore: d(3, 6, 9, 0), Due: d(3, 6, 17, 0)}
	got := scheduler.NewTask(7, st, c, settings(ny))
	want := scheduler.Task{
		Key: 7, Kind: followup.KindConfirm, Duration: 10 * time.Minute,
		NotBefore: d(3, 6, 9, 0), Due: d(3, 6, 17, 0), LateUntil: d(3, 9, 10, 0),
		Starred: true, MetAt: d(3, 2, 19, 0),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
	st.Kind = followup.KindDeliver
	got = scheduler.NewTask(8, st, c, settings(ny))
	if got.Duration != 30*time.Minute || !got.LateUntil.IsZero() {
		t.Errorf("deliver task = %+v, want 30 min and no LateUntil", got)
	}
}

func TestInFollowupHour(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	s := followup.DefaultSettings("America/New_York")
	for _, tc := range []struct {
		start time.Time
		min   int
		want  bool
	}{
		{time.Date(2026, 11, 24, 9, 0, 0, 0, ny), 15, true},
		{time.Date(2026, 11, 24, 9, 45, 0, 0, ny), 15, true},
		{time.Date(2026, 11, 24, 9, 50, 0, 0, ny), 15, false},
		{time.Date(2026, 11, 24, 8, 55, 0, 0, ny), 15, false},
		{time.Date(2026, 11, 28, 9, 0, 0, 0, ny), 15, false}, // Saturday
		{time.Date(2026, 3, 9, 9, 0, 0, 0, ny), 15, true},    // Monday after the spring change
	} {
		if got := scheduler.InFollowupHour(tc.start, tc.start.Add(time.Duration(tc.min)*time.Minute), s, ny); got != tc.want {
			t.Errorf("InFollowupHour(%v) = %v, want %v", tc.start, got, tc.want)
		}
	}
}

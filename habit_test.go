package followup_test

import (
	"testing"
	"time"

	"github.com/followup/followup"
)

func TestHabitsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*followup.Habits)
		field string
	}{
		{"defaults", func(*followup.Habits) {}, ""},
		{"too short", func(h *followup.Habits) { h.Coffees.Minutes = 2 }, "habits.coffees.minutes"},
		{"no day", func(h *followup.Habits) { h.DailyCall.Days = nil }, "habits.daily_call.days"},
		{"bad day", func(h *followup.Habits) { h.WeeklyEmail.Days = []string{"friday"} }, "habits.weekly_email.days"},
		{"week five", func(h *followup.Habits) { h.HandwrittenNotes.Weeks = []int{5} }, "habits.handwritten_notes.weeks"},
		{"window shorter than the habit", func(h *followup.Habits) {
			h.WeeklyReview.Start, h.WeeklyReview.End = followup.Clock{Hour: 10}, followup.Clock{Hour: 10, Minute: 20}
		}, "habits.weekly_review.end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := followup.DefaultSettings("Europe/Berlin")
			tc.edit(&s.Habits)
			err := s.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid habits refused: %v", err)
				}
				return
			}
			if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != tc.field {
				t.Fatalf("error %v, want invalid %s", err, tc.field)
			}
		})
	}
}

func TestHabitRRule(t *testing.T) {
	h := followup.DefaultHabits()
	for _, tc := range []struct {
		habit followup.Habit
		want  string
	}{
		{h.WeeklyReview, "FREQ=WEEKLY;BYDAY=MO"},
		{h.DailyCall, "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
		{h.Coffees, "FREQ=MONTHLY;BYDAY=1WE,3WE"},
		{followup.Habit{Days: []string{"sun", "tue"}, Weeks: []int{-1, 2, 2}}, "FREQ=MONTHLY;BYDAY=2TU,-1TU,2SU,-1SU"},
	} {
		if got := tc.habit.RRule(); got != tc.want {
			t.Errorf("RRule() = %q, want %q", got, tc.want)
		}
	}
}

func TestZoneObservances(t *testing.T) {
	load := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		zone string
		want map[string]string // TZNAME -> RRULE
	}{
		{"Europe/Berlin", map[string]string{"CEST": "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "CET": "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"}},
		{"America/New_York", map[string]string{"EDT": "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "EST": "FREQ=YEARLY;BYMONTH=11;BYDAY=1SU"}},
		{"Asia/Kolkata", map[string]string{"IST": ""}},
	} {
		obs := followup.ZoneObservances(load(tc.zone), from, 5)
		if len(obs) != len(tc.want) {
			t.Fatalf("%s: %d observances: %+v", tc.zone, len(obs), obs)
		}
		for _, o := range obs {
			if rule, ok := tc.want[o.Name]; !ok || rule != o.RRule {
				t.Errorf("%s: %s rule %q, want %q", tc.zone, o.Name, o.RRule, rule)
			}
		}
	}
	// Berlin's spring onset: 02:00 local on the last Sunday of March 2026.
	for _, o := range followup.ZoneObservances(load("Europe/Berlin"), from, 5) {
		if o.Daylight && (!o.Start.Equal(time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC)) || o.OffsetFrom != 3600 || o.OffsetTo != 7200) {
			t.Errorf("CEST onset %+v", o)
		}
	}
}

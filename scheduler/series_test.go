package scheduler_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestPlaceSeriesChoosesTheTimeFirstOccurrencesFindFree(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	st := followup.DefaultSettings("Europe/Berlin")
	h := st.Habits.WeeklyReview // Mondays 10:00-12:00, 30 min
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, berlin)
	var busy []followup.Interval
	for _, d := range []int{30, 7, 14} { // three Mondays with a 10:00-11:00 meeting
		m := 11
		if d < 30 {
			m = 12
		}
		busy = append(busy, followup.Interval{Start: time.Date(2026, time.Month(m), d, 10, 0, 0, 0, berlin), End: time.Date(2026, time.Month(m), d, 11, 0, 0, 0, berlin)})
	}
	got := scheduler.PlaceSeries(scheduler.SeriesRequest{Habit: h, Settings: st, Loc: berlin, Now: now, Until: now.AddDate(0, 3, 0), Busy: busy})
	if got.Clock != (followup.Clock{Hour: 11, Minute: 5}) {
		t.Errorf("clock %s, want 11:05 (after the meetings and their 5-minute buffer)", got.Clock)
	}
	if want := time.Date(2026, 11, 30, 11, 5, 0, 0, berlin); !got.First.Equal(want) {
		t.Errorf("first %s, want %s", got.First, want)
	}
	if len(got.Moves) != 0 {
		t.Errorf("moves %+v, want none", got.Moves)
	}
}

func TestPlaceSeriesMovesOnlyTheCollidingOccurrence(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	st := followup.DefaultSettings("America/New_York")
	h := st.Habits.WeeklyReview
	now := time.Date(2026, 2, 25, 12, 0, 0, 0, ny)
	clock := followup.Clock{Hour: 10}
	// A meeting on the Monday after the spring change overlaps 10:00.
	meeting := followup.Interval{Start: time.Date(2026, 3, 9, 9, 30, 0, 0, ny), End: time.Date(2026, 3, 9, 10, 30, 0, 0, ny)}
	got := scheduler.PlaceSeries(scheduler.SeriesRequest{Habit: h, Settings: st, Loc: ny, Now: now, Until: now.AddDate(0, 2, 0),
		Busy: []followup.Interval{meeting}, Clock: &clock})
	want := []scheduler.Move{{
		Original: time.Date(2026, 3, 9, 10, 0, 0, 0, ny),
		Start:    time.Date(2026, 3, 9, 10, 35, 0, 0, ny),
		End:      time.Date(2026, 3, 9, 11, 5, 0, 0, ny),
	}}
	if diff := cmp.Diff(want, got.Moves); diff != "" {
		t.Errorf("moves (-want +got):\n%s", diff)
	}
	if !got.First.Equal(time.Date(2026, 3, 2, 10, 0, 0, 0, ny)) {
		t.Errorf("first %s", got.First)
	}
}

func TestOccurrencesKeepLocalTimeAcrossDST(t *testing.T) {
	for _, tc := range []struct {
		zone     string
		from, to time.Time
	}{
		{"Europe/Berlin", time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)},
		{"Europe/Berlin", time.Date(2026, 10, 19, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)},
		{"America/New_York", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)},
		{"America/New_York", time.Date(2026, 10, 26, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC)},
	} {
		loc := mustZone(t, tc.zone)
		h := followup.DefaultHabits().DailyCall
		occ := scheduler.Occurrences(h, followup.Clock{Hour: 10, Minute: 15}, loc, tc.from, tc.to)
		offsets := map[int]bool{}
		for _, o := range occ {
			l := o.In(loc)
			if l.Hour() != 10 || l.Minute() != 15 || l.Weekday() == time.Saturday || l.Weekday() == time.Sunday {
				t.Errorf("%s: occurrence %s", tc.zone, l)
			}
			_, off := l.Zone()
			offsets[off] = true
		}
		if len(offsets) != 2 || len(occ) < 9 {
			t.Errorf("%s: %d occurrences over %d offsets, want both sides of the change", tc.zone, len(occ), len(offsets))
		}
	}
}

func TestOccurrencesOfWeeksOfTheMonth(t *testing.T) {
	utc := time.UTC
	h := followup.DefaultHabits().Coffees // first and third Wednesday
	h.Weeks = []int{1, -1}
	got := scheduler.Occurrences(h, followup.Clock{Hour: 14}, utc, time.Date(2026, 12, 1, 0, 0, 0, 0, utc), time.Date(2027, 2, 1, 0, 0, 0, 0, utc))
	want := []time.Time{
		time.Date(2026, 12, 2, 14, 0, 0, 0, utc), time.Date(2026, 12, 30, 14, 0, 0, 0, utc),
		time.Date(2027, 1, 6, 14, 0, 0, 0, utc), time.Date(2027, 1, 27, 14, 0, 0, 0, utc),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

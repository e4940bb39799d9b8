package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/followup/followup"
)

// TestStarredFirstWhenAllLate logs twelve people met on a Saturday evening
// in Berlin, one every ten minutes from 23:00, across midnight into the
// Sunday on which the clocks go back (2026-10-25). Every refresher is late
// before the first working hour on Monday; the last three logged are
// starred, and no starred refresher may start after an unstarred one.
func TestStarredFirstWhenAllLate(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	for _, dir := range []followup.Direction{followup.Mine, followup.Theirs} {
		t.Run(string(dir), func(t *testing.T) {
			h := newHarness(t, time.Date(2026, 10, 24, 23, 0, 0, 0, berlin))
			u := h.user("saturday@example.com", "Europe/Berlin")
			var cs []followup.Commitment
			for i := range 12 {
				h.clock.Set(time.Date(2026, 10, 24, 23, 10*i, 0, 0, berlin))
				cs = append(cs, h.create(u.ID, followup.NewCommitment{
					Contact: followup.Contact{Name: fmt.Sprintf("Contact %d", i)}, MetWhere: "Meetup",
					Promise: "Send the slides", Direction: dir, Priority: i >= 9,
				}))
			}
			var lastStarred, firstUnstarred time.Time
			monday := time.Date(2026, 10, 26, 9, 0, 0, 0, berlin)
			for i, c := range cs {
				r := step(t, h.get(u.ID, c.ID), followup.KindRefresher)
				if !r.Late {
					t.Errorf("refresher of contact %d at %v is not late", i, r.Start.In(berlin))
				}
				if c.Priority {
					if r.Start.After(lastStarred) {
						lastStarred = r.Start
					}
					if r.Start.Before(monday) || !r.End.Before(monday.Add(time.Hour)) {
						t.Errorf("starred refresher of contact %d at %v, want Monday's follow-up hour", i, r.Start.In(berlin))
					}
				} else if firstUnstarred.IsZero() || r.Start.Before(firstUnstarred) {
					firstUnstarred = r.Start
				}
			}
			if lastStarred.After(firstUnstarred) {
				t.Errorf("a starred refresher starts at %v, after an unstarred one at %v", lastStarred.In(berlin), firstUnstarred.In(berlin))
			}
		})
	}
}

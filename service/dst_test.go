package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// utc is a UTC time on 2026-m-d.
func utc(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, time.UTC) }

// TestDSTWeekend logs a commitment on a Friday evening before a
// daylight-saving change: the blocks land on Monday at 09:00 local time,
// whose UTC offset differs from Friday's, and the let-go is 10 days later at
// the same local time.
func TestDSTWeekend(t *testing.T) {
	tests := []struct {
		name string
		zone string
		fri  time.Month
		day  int
		want []stepView // in UTC, written out so an hour off shows
	}{{
		name: "New York spring forward 2026-03-08", zone: "America/New_York", fri: time.March, day: 6,
		want: []stepView{
			{Kind: followup.KindRefresher, Start: utc(3, 9, 13, 0), End: utc(3, 9, 13, 15), Late: true},
			{Kind: followup.KindDeliver, Start: utc(3, 9, 13, 15), End: utc(3, 9, 13, 45)},
			{Kind: followup.KindLetGo, Start: utc(3, 16, 22, 0), End: utc(3, 16, 22, 0)},
		},
	}, {
		name: "New York fall back 2026-11-01", zone: "America/New_York", fri: time.October, day: 30,
		want: []stepView{
			{Kind: followup.KindRefresher, Start: utc(11, 2, 14, 0), End: utc(11, 2, 14, 15), Late: true},
			{Kind: followup.KindDeliver, Start: utc(11, 2, 14, 15), End: utc(11, 2, 14, 45)},
			{Kind: followup.KindLetGo, Start: utc(11, 9, 23, 0), End: utc(11, 9, 23, 0)},
		},
	}, {
		name: "Berlin spring forward 2026-03-29", zone: "Europe/Berlin", fri: time.March, day: 27,
		want: []stepView{
			{Kind: followup.KindRefresher, Start: utc(3, 30, 7, 0), End: utc(3, 30, 7, 15), Late: true},
			{Kind: followup.KindDeliver, Start: utc(3, 30, 7, 15), End: utc(3, 30, 7, 45)},
			{Kind: followup.KindLetGo, Start: utc(4, 6, 16, 0), End: utc(4, 6, 16, 0)},
		},
	}, {
		name: "Berlin fall back 2026-10-25", zone: "Europe/Berlin", fri: time.October, day: 23,
		want: []stepView{
			{Kind: followup.KindRefresher, Start: utc(10, 26, 8, 0), End: utc(10, 26, 8, 15), Late: true},
			{Kind: followup.KindDeliver, Start: utc(10, 26, 8, 15), End: utc(10, 26, 8, 45)},
			{Kind: followup.KindLetGo, Start: utc(11, 2, 17, 0), End: utc(11, 2, 17, 0)},
		},
	}}
	h := newHarness(t, utc(1, 1, 0, 0))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := zone(t, tt.zone)
			fri := time.Date(2026, tt.fri, tt.day, 18, 0, 0, 0, loc) // after work
			h.clock.Set(fri)
			u := h.user(fmt.Sprintf("dst%d@example.com", i), tt.zone)
			due := time.Date(2026, tt.fri, tt.day+3, 17, 0, 0, 0, loc) // Monday end of day
			c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", Due: &due})
			got := sortedViews(h.get(u.ID, c.ID).Steps)
			for i := range got {
				got[i].Status = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("steps in UTC (-want +got):\n%s", diff)
			}
			for _, s := range got {
				if l := s.Start.In(loc); s.Kind.IsBlock() && (l.Weekday() != time.Monday || l.Hour() != 9) {
					t.Errorf("%s at %v local, want Monday 09:xx", s.Kind, l)
				}
			}
		})
	}
}

// TestDSTNudge marks a contact as contacted the week before a
// daylight-saving change: the nudge is 7 days later at the same local time.
func TestDSTNudge(t *testing.T) {
	tests := []struct {
		name      string
		zone      string
		contacted time.Time // local wall time, in a zone set below
		nudge     time.Time // UTC
		close     time.Time // UTC: 3 days after the nudge's end, same local time
	}{
		{"New York spring, during the follow-up hour", "America/New_York", time.Date(2026, 3, 5, 9, 30, 0, 0, time.UTC), utc(3, 12, 13, 30), utc(3, 15, 13, 45)},
		{"New York spring, before work", "America/New_York", time.Date(2026, 3, 6, 8, 0, 0, 0, time.UTC), utc(3, 13, 13, 0), utc(3, 16, 13, 15)},
		{"New York fall", "America/New_York", time.Date(2026, 10, 29, 9, 30, 0, 0, time.UTC), utc(11, 5, 14, 30), utc(11, 8, 14, 45)},
		{"Berlin spring", "Europe/Berlin", time.Date(2026, 3, 26, 9, 30, 0, 0, time.UTC), utc(4, 2, 7, 30), utc(4, 5, 7, 45)},
		{"Berlin fall", "Europe/Berlin", time.Date(2026, 10, 22, 9, 30, 0, 0, time.UTC), utc(10, 29, 8, 30), utc(11, 1, 8, 45)},
		// The close crosses the change, not the nudge.
		{"New York, close across the change", "America/New_York", time.Date(2026, 2, 26, 9, 30, 0, 0, time.UTC), utc(3, 5, 14, 30), utc(3, 8, 13, 45)},
	}
	h := newHarness(t, utc(1, 1, 0, 0))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := zone(t, tt.zone)
			c0 := tt.contacted
			contacted := time.Date(c0.Year(), c0.Month(), c0.Day(), c0.Hour(), c0.Minute(), 0, 0, loc)
			logged := time.Date(c0.Year(), c0.Month(), c0.Day()-1, 10, 0, 0, 0, loc)
			h.clock.Set(logged)
			u := h.user(fmt.Sprintf("nudge%d@example.com", i), tt.zone)
			c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", Direction: followup.Theirs})
			h.clock.Set(contacted)
			got := h.act(u.ID, c.ID, followup.ActionContacted)
			want := []stepView{
				{Kind: followup.KindNudge, Status: followup.StepPlanned, Start: tt.nudge, End: tt.nudge.Add(15 * time.Minute)},
				{Kind: followup.KindClose, Status: followup.StepPlanned, Start: tt.close, End: tt.close},
			}
			gotViews := []stepView{view(step(t, got, followup.KindNudge)), view(step(t, got, followup.KindClose))}
			if diff := cmp.Diff(want, gotViews); diff != "" {
				t.Errorf("nudge and close in UTC (-want +got):\n%s", diff)
			}
		})
	}
}

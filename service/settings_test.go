package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// TestPutSettingsReplans changes a user's settings while their blocks are
// still planned: the blocks move into the new hours.
func TestPutSettingsReplans(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(d, hh, mm int) time.Time { return time.Date(2026, 11, d, hh, mm, 0, 0, ny).UTC() }
	logged := at(23, 7, 0) // Monday, before work
	h := newHarness(t, logged)
	defaults := followup.DefaultSettings("America/New_York")

	tests := []struct {
		name      string
		change    func(*followup.Settings)
		refresher stepView
		deliver   stepView
	}{{
		name: "later working day",
		change: func(s *followup.Settings) {
			s.WorkHours.Start, s.WorkHours.End = followup.Clock{Hour: 10}, followup.Clock{Hour: 18}
			s.FollowupHour.Start, s.FollowupHour.End = followup.Clock{Hour: 10}, followup.Clock{Hour: 11}
		},
		refresher: stepView{Kind: followup.KindRefresher, Start: at(23, 10, 0), End: at(23, 10, 15)},
		deliver:   stepView{Kind: followup.KindDeliver, Start: at(23, 10, 15), End: at(23, 10, 45)},
	}, {
		name:      "no work on Mondays: both late on Tuesday",
		change:    func(s *followup.Settings) { s.WorkHours.Days = []string{"tue", "wed", "thu", "fri"} },
		refresher: stepView{Kind: followup.KindRefresher, Start: at(24, 9, 0), End: at(24, 9, 15), Late: true},
		deliver:   stepView{Kind: followup.KindDeliver, Start: at(24, 9, 15), End: at(24, 9, 45), Late: true},
	}, {
		name:      "longer refreshers",
		change:    func(s *followup.Settings) { s.Durations.Refresher = 30 },
		refresher: stepView{Kind: followup.KindRefresher, Start: at(23, 9, 0), End: at(23, 9, 30)},
		deliver:   stepView{Kind: followup.KindDeliver, Start: at(23, 9, 30), End: at(23, 10, 0)},
	}, {
		name: "follow-up hour in the afternoon",
		change: func(s *followup.Settings) {
			s.FollowupHour.Start, s.FollowupHour.End = followup.Clock{Hour: 14}, followup.Clock{Hour: 15}
		},
		refresher: stepView{Kind: followup.KindRefresher, Start: at(23, 14, 0), End: at(23, 14, 15)},
		deliver:   stepView{Kind: followup.KindDeliver, Start: at(23, 9, 0), End: at(23, 9, 30)},
	}, {
		name: "moved to Berlin: Monday 13:00 there, refresher in Tuesday's follow-up hour",
		change: func(s *followup.Settings) {
			s.Timezone = "Europe/Berlin"
		},
		refresher: stepView{Kind: followup.KindRefresher, Start: utc(11, 24, 8, 0), End: utc(11, 24, 8, 15)},
		// Settings change at 07:01 New York, 13:01 Berlin: the next 5-minute slot.
		deliver: stepView{Kind: followup.KindDeliver, Start: utc(11, 23, 12, 5), End: utc(11, 23, 12, 35)},
	}}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.clock.Set(logged)
			u := h.user(fmt.Sprintf("settings%d@example.com", i), "America/New_York")
			c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"})
			r0, d0 := step(t, c, followup.KindRefresher), step(t, c, followup.KindDeliver)
			if !r0.Start.Equal(at(23, 9, 0)) || !d0.Start.Equal(at(23, 9, 15)) {
				t.Fatalf("with defaults: refresher at %v, deliver at %v; want Monday 09:00 and 09:15", r0.Start.In(ny), d0.Start.In(ny))
			}
			v0 := h.feedVersion(u.ID)

			h.clock.Set(logged.Add(time.Minute))
			st := defaults
			st.WorkHours.Days = append([]string(nil), defaults.WorkHours.Days...)
			tt.change(&st)
			saved, err := h.svc.PutSettings(h.ctx, u.ID, st)
			if err != nil {
				t.Fatalf("PutSettings: %v", err)
			}
			stored, err := h.svc.Settings(h.ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(st, stored); diff != "" {
				t.Errorf("stored settings (-put +stored):\n%s", diff)
			}
			if diff := cmp.Diff(st, saved); diff != "" {
				t.Errorf("PutSettings answer (-put +answer):\n%s", diff)
			}
			got := h.get(u.ID, c.ID)
			r, d := step(t, got, followup.KindRefresher), step(t, got, followup.KindDeliver)
			tt.refresher.Status, tt.deliver.Status = followup.StepPlanned, followup.StepPlanned
			if diff := cmp.Diff([]stepView{tt.refresher, tt.deliver}, []stepView{view(r), view(d)}); diff != "" {
				t.Errorf("blocks after PutSettings (-want +got):\n%s", diff)
			}
			for _, p := range []struct{ before, after followup.Step }{{r0, r}, {d0, d}} {
				moved := !p.before.Start.Equal(p.after.Start) || !p.before.End.Equal(p.after.End)
				if moved != (p.after.Sequence > p.before.Sequence) || p.after.Sequence < p.before.Sequence {
					t.Errorf("%s moved %v, Sequence %d -> %d", p.after.Kind, moved, p.before.Sequence, p.after.Sequence)
				}
			}
			if v := h.feedVersion(u.ID); v.ETag == v0.ETag {
				t.Errorf("feed ETag %s did not change with the settings", v.ETag)
			}
		})
	}
}

// TestPutSettingsInvalid checks that invalid settings are EINVALID naming
// the field and change neither the settings nor the blocks.
func TestPutSettingsInvalid(t *testing.T) {
	ny := zone(t, "America/New_York")
	h := newHarness(t, time.Date(2026, 11, 23, 7, 0, 0, 0, ny).UTC())
	u := h.user("badsettings@example.com", "America/New_York")
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"})
	before, err := h.svc.Settings(h.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	v0 := h.feedVersion(u.ID)

	tests := []struct {
		field  string
		change func(*followup.Settings)
	}{
		{"timezone", func(s *followup.Settings) { s.Timezone = "Mars/Olympus_Mons" }},
		{"timezone", func(s *followup.Settings) { s.Timezone = "" }},
		{"work_hours", func(s *followup.Settings) { s.WorkHours.End = followup.Clock{Hour: 8} }},
		{"work_hours.days", func(s *followup.Settings) { s.WorkHours.Days = []string{"mon", "funday"} }},
		{"followup_hour", func(s *followup.Settings) { s.FollowupHour.End = s.FollowupHour.Start }},
		{"durations.refresher", func(s *followup.Settings) { s.Durations.Refresher = 0 }},
		{"durations.nudge", func(s *followup.Settings) { s.Durations.Nudge = 481 }},
		{"buffer_minutes", func(s *followup.Settings) { s.BufferMinutes = -1 }},
		{"let_go_after_days", func(s *followup.Settings) { s.LetGoAfterDays = 0 }},
		{"deleted_means", func(s *followup.Settings) { s.DeletedMeans = "ignored" }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			st := followup.DefaultSettings("America/New_York")
			st.WorkHours.Days = append([]string(nil), st.WorkHours.Days...)
			tt.change(&st)
			_, err := h.svc.PutSettings(h.ctx, u.ID, st)
			errCode(t, err, followup.EINVALID, tt.field)
		})
	}
	after, err := h.svc.Settings(h.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("invalid PutSettings changed the settings (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(c, h.get(u.ID, c.ID)); diff != "" {
		t.Errorf("invalid PutSettings changed the commitment (-before +after):\n%s", diff)
	}
	if v := h.feedVersion(u.ID); v != v0 {
		t.Errorf("invalid PutSettings changed the feed version %+v -> %+v", v0, v)
	}
}

// TestPutSettingsLikeFresh checks that after a change of working hours the
// blocks of a commitment are where they would be had it been logged under
// the new settings: chase and confirm follow the new working days, and are
// not flagged late because their window came from the old hours.
func TestPutSettingsLikeFresh(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(d, hh, mm int) time.Time { return time.Date(2026, 11, d, hh, mm, 0, 0, ny).UTC() }
	logged := at(23, 15, 0) // Monday
	h := newHarness(t, logged)
	in := followup.NewCommitment{
		Contact: followup.Contact{Name: "Jane"}, Promise: "Send me the article", Direction: followup.Theirs,
		Meeting: &followup.Meeting{Start: at(27, 19, 0), Minutes: 30}, // Friday evening
	}
	tests := []struct {
		name   string
		change func(*followup.Settings)
	}{
		{"evening hours", func(s *followup.Settings) {
			s.WorkHours.Start, s.WorkHours.End = followup.Clock{Hour: 18}, followup.Clock{Hour: 22}
			s.FollowupHour.Start, s.FollowupHour.End = followup.Clock{Hour: 18}, followup.Clock{Hour: 19}
		}},
		{"no work on Wednesday and Thursday", func(s *followup.Settings) { s.WorkHours.Days = []string{"mon", "tue", "fri"} }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := followup.DefaultSettings("America/New_York")
			st.WorkHours.Days = append([]string(nil), st.WorkHours.Days...)
			tt.change(&st)

			h.clock.Set(logged)
			changed := h.user(fmt.Sprintf("changed%d@example.com", i), "America/New_York")
			c := h.create(changed.ID, in)
			if _, err := h.svc.PutSettings(h.ctx, changed.ID, st); err != nil {
				t.Fatal(err)
			}
			fresh := h.user(fmt.Sprintf("fresh%d@example.com", i), "America/New_York")
			if _, err := h.svc.PutSettings(h.ctx, fresh.ID, st); err != nil {
				t.Fatal(err)
			}
			want := h.create(fresh.ID, in)
			if diff := cmp.Diff(sortedViews(want.Steps), sortedViews(h.get(changed.ID, c.ID).Steps)); diff != "" {
				t.Errorf("steps after PutSettings (-as if logged under the new settings +got):\n%s", diff)
			}
		})
	}
}

package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// TestAgenda checks which blocks and busy intervals a range returns.
func TestAgenda(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(d, hh, mm int) time.Time { return time.Date(2026, 11, d, hh, mm, 0, 0, ny).UTC() }
	h := newHarness(t, at(23, 15, 0))
	u := h.user("agenda@example.com", "America/New_York")
	other := h.user("agenda-other@example.com", "America/New_York")
	c := h.create(u.ID, followup.NewCommitment{
		Contact: followup.Contact{Name: "Jane Doe"}, Promise: "Send the deck",
		Meeting: &followup.Meeting{Start: at(26, 12, 0), Minutes: 45, Location: "Blue Bottle"},
	})
	h.create(other.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Eve"}, Promise: "Send the deck"})
	external := followup.Interval{Start: at(25, 13, 0), End: at(25, 14, 0), Source: "https://cal.example/work.ics"}
	if err := h.db.PutBusySource(h.ctx, followup.BusySource{
		UserID: u.ID, URL: external.Source, Kind: "ics", ICS: followup.ICSState{Intervals: []followup.Interval{external}},
	}); err != nil {
		t.Fatal(err)
	}
	meeting := followup.Interval{Start: at(26, 12, 0), End: at(26, 12, 45), Source: "meeting"}

	type block struct {
		Kind  followup.StepKind
		Start time.Time
	}
	tests := []struct {
		name     string
		from, to time.Time
		blocks   []block
		busy     []followup.Interval
	}{{
		name: "the week",
		from: at(23, 0, 0), to: at(30, 0, 0),
		blocks: []block{
			{followup.KindDeliver, at(23, 15, 0)},
			{followup.KindRefresher, at(24, 9, 0)},
			{followup.KindConfirm, at(25, 9, 0)},
			{followup.KindMeeting, at(26, 12, 0)},
		},
		busy: []followup.Interval{meeting, external},
	}, {
		name: "Wednesday",
		from: at(25, 0, 0), to: at(26, 0, 0),
		blocks: []block{{followup.KindConfirm, at(25, 9, 0)}},
		busy:   []followup.Interval{external},
	}, {
		name: "during the meeting",
		from: at(26, 12, 30), to: at(26, 13, 0),
		blocks: []block{{followup.KindMeeting, at(26, 12, 0)}},
		busy:   []followup.Interval{meeting},
	}, {
		name: "the week before: empty",
		from: at(16, 0, 0), to: at(23, 0, 0),
		blocks: []block{},
		busy:   []followup.Interval{},
	}, {
		name: "exactly 366 days",
		from: at(23, 0, 0), to: at(23, 0, 0).Add(366 * 24 * time.Hour),
		blocks: []block{
			{followup.KindDeliver, at(23, 15, 0)},
			{followup.KindRefresher, at(24, 9, 0)},
			{followup.KindConfirm, at(25, 9, 0)},
			{followup.KindMeeting, at(26, 12, 0)},
		},
		busy: []followup.Interval{meeting, external},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := h.svc.Agenda(h.ctx, u.ID, tt.from, tt.to)
			if err != nil {
				t.Fatalf("Agenda: %v", err)
			}
			got := []block{}
			for _, b := range a.Blocks {
				got = append(got, block{b.Kind, b.Start.UTC()})
				if b.CommitmentID != c.ID || !strings.Contains(b.Title, "Jane Doe") {
					t.Errorf("%s block: commitment %d, title %q; want %d and a title naming Jane Doe", b.Kind, b.CommitmentID, b.Title, c.ID)
				}
			}
			if diff := cmp.Diff(tt.blocks, got); diff != "" {
				t.Errorf("blocks (-want +got):\n%s", diff)
			}
			busy := []followup.Interval{}
			for _, iv := range a.Busy {
				busy = append(busy, followup.Interval{Start: iv.Start.UTC(), End: iv.End.UTC(), Source: iv.Source, AllDay: iv.AllDay})
			}
			if diff := cmp.Diff(tt.busy, busy); diff != "" {
				t.Errorf("busy (-want +got):\n%s", diff)
			}
			if a.Zone != "America/New_York" || !a.From.Equal(tt.from) || !a.To.Equal(tt.to) {
				t.Errorf("agenda zone %q from %v to %v, want America/New_York %v %v", a.Zone, a.From, a.To, tt.from, tt.to)
			}
		})
	}

	// After the let-go, cancelled blocks leave the agenda.
	t.Run("let go", func(t *testing.T) {
		h.act(u.ID, c.ID, followup.ActionLetGo)
		a, err := h.svc.Agenda(h.ctx, u.ID, at(23, 0, 0), at(30, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Blocks) != 0 {
			t.Errorf("agenda after let-go holds %d blocks, want 0: %+v", len(a.Blocks), a.Blocks)
		}
	})

	bad := []struct {
		name     string
		from, to time.Time
	}{
		{"over 366 days", at(23, 0, 0), at(23, 0, 0).Add(366*24*time.Hour + time.Second)},
		{"two years", at(23, 0, 0), at(23, 0, 0).AddDate(2, 0, 0)},
		{"empty", at(23, 0, 0), at(23, 0, 0)},
		{"reversed", at(24, 0, 0), at(23, 0, 0)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.Agenda(h.ctx, u.ID, tt.from, tt.to)
			errCode(t, err, followup.EINVALID, "to")
		})
	}
}

package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// sortedViews returns the views of ss ordered by start, then kind.
func sortedViews(ss []followup.Step) []stepView {
	return sortViews(summarize(ss))
}

// sortViews orders views by start, then kind, in place, and returns them.
func sortViews(out []stepView) []stepView {
	slices.SortStableFunc(out, func(a, b stepView) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(string(a.Kind), string(b.Kind))
	})
	return out
}

// TestCreateCadence logs one commitment on Monday 2026-11-23 15:00 in New
// York and checks every step cadence.md derives, as stored.
func TestCreateCadence(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, ny).UTC() }
	logged := at(time.November, 23, 15, 0) // Monday
	h := newHarness(t, logged)

	planned := followup.StepPlanned
	refresher := stepView{Kind: followup.KindRefresher, Status: planned, Start: at(11, 24, 9, 0), End: at(11, 24, 9, 15)}
	deliverNow := stepView{Kind: followup.KindDeliver, Status: planned, Start: logged, End: at(11, 23, 15, 30)}
	letGo := stepView{Kind: followup.KindLetGo, Status: planned, Start: at(12, 3, 15, 0), End: at(12, 3, 15, 0)}

	tests := []struct {
		name    string
		in      followup.NewCommitment
		want    []stepView
		wantDue time.Time
		warning bool
	}{{
		name:    "mine without deadline",
		in:      followup.NewCommitment{Promise: "Send the pricing deck"},
		wantDue: at(11, 24, 15, 0),
		want:    []stepView{deliverNow, refresher, letGo},
	}, {
		name:    "theirs without deadline: chase on the working day after",
		in:      followup.NewCommitment{Promise: "Send me the article", Direction: followup.Theirs},
		wantDue: at(11, 24, 15, 0),
		want: []stepView{refresher,
			{Kind: followup.KindChase, Status: planned, Start: at(11, 25, 9, 0), End: at(11, 25, 9, 15)},
			letGo},
	}, {
		name:    "theirs by Friday: chase on Monday",
		in:      followup.NewCommitment{Promise: "Send me the article", Direction: followup.Theirs, DueText: "by Friday"},
		wantDue: at(11, 27, 17, 0),
		want: []stepView{refresher,
			{Kind: followup.KindChase, Status: planned, Start: at(11, 30, 9, 0), End: at(11, 30, 9, 15)},
			letGo},
	}, {
		name: "meeting on Thursday: confirm on Wednesday",
		in: followup.NewCommitment{Promise: "Coffee", Meeting: &followup.Meeting{
			Start: at(11, 26, 12, 0), Minutes: 45, Location: "Blue Bottle"}},
		wantDue: at(11, 24, 15, 0),
		want: []stepView{deliverNow, refresher,
			{Kind: followup.KindConfirm, Status: planned, Start: at(11, 25, 9, 0), End: at(11, 25, 9, 10)},
			{Kind: followup.KindMeeting, Status: planned, Start: at(11, 26, 12, 0), End: at(11, 26, 12, 45)},
			letGo},
	}, {
		name: "meeting on Monday: confirm on Friday",
		in: followup.NewCommitment{Promise: "Coffee", Meeting: &followup.Meeting{
			Start: at(11, 30, 14, 0), Minutes: 30}},
		wantDue: at(11, 24, 15, 0),
		want: []stepView{deliverNow, refresher,
			{Kind: followup.KindConfirm, Status: planned, Start: at(11, 27, 9, 0), End: at(11, 27, 9, 10)},
			{Kind: followup.KindMeeting, Status: planned, Start: at(11, 30, 14, 0), End: at(11, 30, 14, 30)},
			letGo},
	}, {
		name: "meeting less than 24 h after logging: no confirm",
		in: followup.NewCommitment{Promise: "Call", Meeting: &followup.Meeting{
			Start: at(11, 24, 14, 0), Minutes: 30}},
		wantDue: at(11, 24, 15, 0),
		want: []stepView{deliverNow, refresher,
			{Kind: followup.KindMeeting, Status: planned, Start: at(11, 24, 14, 0), End: at(11, 24, 14, 30)},
			letGo},
	}, {
		name:    "deadline beyond met + 10 days is clamped with a warning",
		in:      followup.NewCommitment{Promise: "Write the intro", Due: ptr(at(12, 10, 17, 0))},
		wantDue: at(12, 3, 15, 0),
		warning: true,
		want:    []stepView{deliverNow, refresher, letGo},
	}, {
		name:    "deadline at exactly met + 10 days is kept",
		in:      followup.NewCommitment{Promise: "Write the intro", Due: ptr(at(12, 3, 15, 0))},
		wantDue: at(12, 3, 15, 0),
		want:    []stepView{deliverNow, refresher, letGo},
	}}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := h.user("cadence"+string(rune('a'+i))+"@example.com", "America/New_York")
			tt.in.Contact = followup.Contact{Name: "Jane Doe", Email: "jane@example.com"}
			tt.in.MetWhere = "GopherCon"
			got := h.create(u.ID, tt.in)
			if !got.Due.Equal(tt.wantDue) {
				t.Errorf("Due = %v, want %v", got.Due, tt.wantDue)
			}
			if (len(got.Warnings) > 0) != tt.warning {
				t.Errorf("Warnings = %q, want a warning: %v", got.Warnings, tt.warning)
			}
			if diff := cmp.Diff(tt.want, sortedViews(got.Steps)); diff != "" {
				t.Errorf("steps in response (-want +got):\n%s", diff)
			}
			stored := h.get(u.ID, got.ID)
			if diff := cmp.Diff(tt.want, sortedViews(stored.Steps)); diff != "" {
				t.Errorf("stored steps (-want +got):\n%s", diff)
			}
			if stored.Status != followup.StatusOpen || !stored.MetAt.Equal(logged) || !stored.Due.Equal(tt.wantDue) {
				t.Errorf("stored commitment status %s met %v due %v, want open, %v, %v", stored.Status, stored.MetAt, stored.Due, logged, tt.wantDue)
			}
			// Every block is in the feed with its own UID; close and let_go are not.
			var wantUIDs []string
			for _, s := range stored.Steps {
				if s.Kind.IsBlock() {
					wantUIDs = append(wantUIDs, s.UID)
				}
			}
			slices.Sort(wantUIDs)
			if diff := cmp.Diff(wantUIDs, h.feedUIDs(u.ID)); diff != "" {
				t.Errorf("feed UIDs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCreateInvalid checks that bad input is EINVALID naming the field and
// stores nothing.
func TestCreateInvalid(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, ny)
	h := newHarness(t, now.UTC())
	u := h.user("invalid@example.com", "America/New_York")
	jane := followup.Contact{Name: "Jane"}
	tests := []struct {
		name  string
		in    followup.NewCommitment
		field string
	}{
		{"no name", followup.NewCommitment{Promise: "x"}, "contact.name"},
		{"no promise", followup.NewCommitment{Contact: jane}, "promise"},
		{"bad direction", followup.NewCommitment{Contact: jane, Promise: "x", Direction: "ours"}, "direction"},
		{"due before met", followup.NewCommitment{Contact: jane, Promise: "x", Due: ptr(now.Add(-time.Hour))}, "due"},
		{"unreadable due_text", followup.NewCommitment{Contact: jane, Promise: "x", DueText: "when pigs fly"}, "due_text"},
		{"met in the future", followup.NewCommitment{Contact: jane, Promise: "x", MetAt: ptr(now.AddDate(0, 0, 2))}, "met_at"},
		{"meeting over", followup.NewCommitment{Contact: jane, Promise: "x", Meeting: &followup.Meeting{Start: now.Add(-2 * time.Hour), Minutes: 30}}, "meeting.start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.Create(h.ctx, u.ID, tt.in)
			errCode(t, err, followup.EINVALID, tt.field)
		})
	}
	list, err := h.svc.List(h.ctx, u.ID, followup.CommitmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("List after invalid creates holds %d commitments, want 0", len(list))
	}
}

// TestCreateAroundBusy logs a commitment while the user's calendars hold
// busy time: blocks keep the buffer around it, an all-day event blocks the
// whole local day, and a confirm whose day is full moves to the meeting day,
// flagged late.
func TestCreateAroundBusy(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(d, hh, mm int) time.Time { return time.Date(2026, time.November, d, hh, mm, 0, 0, ny).UTC() }
	logged := at(23, 15, 0) // Monday
	h := newHarness(t, logged)
	planned := followup.StepPlanned
	dec3 := time.Date(2026, time.December, 3, 15, 0, 0, 0, ny).UTC()
	letGo := stepView{Kind: followup.KindLetGo, Status: planned, Start: dec3, End: dec3}
	tests := []struct {
		name string
		busy []followup.Interval
		in   followup.NewCommitment
		want []stepView
	}{{
		name: "follow-up hour busy: refresher in the first free working slot",
		busy: []followup.Interval{{Start: at(24, 9, 0), End: at(24, 10, 0)}},
		in:   followup.NewCommitment{Promise: "Send the deck"},
		want: []stepView{
			{Kind: followup.KindRefresher, Status: planned, Start: at(23, 15, 0), End: at(23, 15, 15)},
			{Kind: followup.KindDeliver, Status: planned, Start: at(23, 15, 15), End: at(23, 15, 45)},
			letGo,
		},
	}, {
		name: "busy this afternoon: deliver after it and its buffer",
		busy: []followup.Interval{{Start: at(23, 14, 0), End: at(23, 16, 0)}},
		in:   followup.NewCommitment{Promise: "Send the deck"},
		want: []stepView{
			{Kind: followup.KindDeliver, Status: planned, Start: at(23, 16, 5), End: at(23, 16, 35)},
			{Kind: followup.KindRefresher, Status: planned, Start: at(24, 9, 0), End: at(24, 9, 15)},
			letGo,
		},
	}, {
		name: "all-day event on Wednesday: confirm on the meeting day, late",
		busy: []followup.Interval{{Start: utc(11, 25, 0, 0), End: utc(11, 26, 0, 0), AllDay: true}},
		in: followup.NewCommitment{Promise: "Coffee", Direction: followup.Theirs, DueText: "tomorrow",
			Meeting: &followup.Meeting{Start: at(26, 12, 0), Minutes: 45}},
		want: []stepView{
			{Kind: followup.KindRefresher, Status: planned, Start: at(24, 9, 0), End: at(24, 9, 15)},
			{Kind: followup.KindChase, Status: planned, Start: at(26, 9, 0), End: at(26, 9, 15), Late: true},
			{Kind: followup.KindConfirm, Status: planned, Start: at(26, 9, 15), End: at(26, 9, 25), Late: true},
			{Kind: followup.KindMeeting, Status: planned, Start: at(26, 12, 0), End: at(26, 12, 45)},
			letGo,
		},
	}}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := h.user(fmt.Sprintf("busy%d@example.com", i), "America/New_York")
			if err := h.db.PutBusySource(h.ctx, followup.BusySource{
				UserID: u.ID, URL: "https://cal.example/work.ics", Kind: "ics", ICS: followup.ICSState{Intervals: tt.busy},
			}); err != nil {
				t.Fatal(err)
			}
			tt.in.Contact = followup.Contact{Name: "Jane"}
			c := h.create(u.ID, tt.in)
			if diff := cmp.Diff(sortViews(tt.want), sortedViews(h.get(u.ID, c.ID).Steps)); diff != "" {
				t.Errorf("stored steps (-want +got):\n%s", diff)
			}
		})
	}
}

package service_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// feedKinds returns the step kinds of the user's feed events, sorted, read
// from the events' categories.
func (h *harness) feedKinds(c followup.Commitment) []followup.StepKind {
	h.t.Helper()
	byUID := map[string]followup.StepKind{}
	for _, s := range c.Steps {
		byUID[s.UID] = s.Kind
	}
	var kinds []followup.StepKind
	for _, uid := range h.feedUIDs(c.UserID) {
		k, ok := byUID[uid]
		if !ok {
			h.t.Fatalf("feed event %s belongs to no step of commitment %d", uid, c.ID)
		}
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

// TestAct applies the user's actions to a commitment logged on Monday
// 2026-11-23 15:00 in New York and checks the stored steps, the status and
// which blocks the feed shows.
func TestAct(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, ny).UTC() }
	logged := at(11, 23, 15, 0)
	h := newHarness(t, logged)

	const (
		planned   = followup.StepPlanned
		done      = followup.StepDone
		cancelled = followup.StepCancelled
	)
	deliver := func(s followup.StepStatus) stepView {
		return stepView{Kind: followup.KindDeliver, Status: s, Start: logged, End: at(11, 23, 15, 30)}
	}
	refresher := func(s followup.StepStatus) stepView {
		return stepView{Kind: followup.KindRefresher, Status: s, Start: at(11, 24, 9, 0), End: at(11, 24, 9, 15)}
	}
	chase := func(s followup.StepStatus) stepView {
		return stepView{Kind: followup.KindChase, Status: s, Start: at(11, 25, 9, 0), End: at(11, 25, 9, 15)}
	}
	letGo := func(s followup.StepStatus) stepView {
		return stepView{Kind: followup.KindLetGo, Status: s, Start: at(12, 3, 15, 0), End: at(12, 3, 15, 0)}
	}
	nudge := func(s followup.StepStatus, start time.Time) stepView {
		return stepView{Kind: followup.KindNudge, Status: s, Start: start, End: start.Add(15 * time.Minute)}
	}
	closeAt := func(s followup.StepStatus, t time.Time) stepView {
		return stepView{Kind: followup.KindClose, Status: s, Start: t, End: t}
	}
	type action struct {
		at time.Time
		a  followup.Action
	}
	tueEarly := at(11, 24, 8, 30) // before the refresher's block
	wedLate := at(11, 25, 10, 0)

	tests := []struct {
		name      string
		dir       followup.Direction
		actions   []action
		status    followup.Status
		want      []stepView
		feed      []followup.StepKind
		contacted bool
		delivered bool
		replied   bool
	}{{
		name:      "contacted before work: nudge a week later in the follow-up hour",
		actions:   []action{{tueEarly, followup.ActionContacted}},
		status:    followup.StatusOpen,
		want:      []stepView{deliver(planned), refresher(done), nudge(planned, at(12, 1, 9, 0)), closeAt(planned, at(12, 4, 9, 15)), letGo(cancelled)},
		feed:      []followup.StepKind{followup.KindDeliver, followup.KindNudge},
		contacted: true,
	}, {
		name:      "contacted mid-morning: nudge a week later at the same time",
		actions:   []action{{at(11, 24, 11, 0), followup.ActionContacted}},
		status:    followup.StatusOpen,
		want:      []stepView{deliver(planned), refresher(done), nudge(planned, at(12, 1, 11, 0)), closeAt(planned, at(12, 4, 11, 15)), letGo(cancelled)},
		feed:      []followup.StepKind{followup.KindDeliver, followup.KindNudge, followup.KindRefresher},
		contacted: true,
	}, {
		name:      "contacted after work: nudge in the next day's follow-up hour",
		actions:   []action{{at(11, 24, 17, 30), followup.ActionContacted}},
		status:    followup.StatusOpen,
		want:      []stepView{deliver(planned), refresher(done), nudge(planned, at(12, 2, 9, 0)), closeAt(planned, at(12, 5, 9, 15)), letGo(cancelled)},
		feed:      []followup.StepKind{followup.KindDeliver, followup.KindNudge, followup.KindRefresher},
		contacted: true,
	}, {
		name:      "contacted then replied: nudge and close cancelled, deliver still pending",
		actions:   []action{{tueEarly, followup.ActionContacted}, {wedLate, followup.ActionReplied}},
		status:    followup.StatusOpen,
		want:      []stepView{deliver(planned), refresher(done), nudge(cancelled, at(12, 1, 9, 0)), closeAt(cancelled, at(12, 4, 9, 15)), letGo(cancelled)},
		feed:      []followup.StepKind{followup.KindDeliver},
		contacted: true, replied: true,
	}, {
		name:      "delivered mine counts as first contact",
		actions:   []action{{tueEarly, followup.ActionDelivered}},
		status:    followup.StatusOpen,
		want:      []stepView{deliver(done), refresher(done), nudge(planned, at(12, 1, 9, 0)), closeAt(planned, at(12, 4, 9, 15)), letGo(cancelled)},
		feed:      []followup.StepKind{followup.KindDeliver, followup.KindNudge},
		contacted: true, delivered: true,
	}, {
		name:      "delivered then replied: nothing pending, done",
		actions:   []action{{tueEarly, followup.ActionDelivered}, {wedLate, followup.ActionReplied}},
		status:    followup.StatusDone,
		want:      []stepView{deliver(done), refresher(done), nudge(cancelled, at(12, 1, 9, 0)), closeAt(cancelled, at(12, 4, 9, 15)), letGo(cancelled)},
		feed:      []followup.StepKind{followup.KindDeliver},
		contacted: true, delivered: true, replied: true,
	}, {
		name:      "delivered theirs completes the chase only",
		dir:       followup.Theirs,
		actions:   []action{{tueEarly, followup.ActionDelivered}},
		status:    followup.StatusOpen,
		want:      []stepView{refresher(planned), chase(done), letGo(planned)},
		feed:      []followup.StepKind{followup.KindRefresher},
		delivered: true,
	}, {
		name:      "replied without contacted settles the refresher and let-go",
		actions:   []action{{tueEarly, followup.ActionReplied}},
		status:    followup.StatusOpen,
		want:      []stepView{deliver(planned), refresher(done), letGo(cancelled)},
		feed:      []followup.StepKind{followup.KindDeliver},
		contacted: true, replied: true,
	}, {
		name:    "let go cancels every pending step",
		actions: []action{{tueEarly, followup.ActionLetGo}},
		status:  followup.StatusLetGo,
		want:    []stepView{deliver(cancelled), refresher(cancelled), letGo(cancelled)},
	}, {
		name:    "let go after contacted cancels nudge and close",
		actions: []action{{tueEarly, followup.ActionContacted}, {wedLate, followup.ActionLetGo}},
		status:  followup.StatusLetGo,
		want:    []stepView{deliver(cancelled), refresher(done), nudge(cancelled, at(12, 1, 9, 0)), closeAt(cancelled, at(12, 4, 9, 15)), letGo(cancelled)},
		// A done block that had not started when it was completed leaves the feed.
		contacted: true,
	}}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.clock.Set(logged)
			u := h.user(fmt.Sprintf("act%d@example.com", i), "America/New_York")
			c := h.create(u.ID, followup.NewCommitment{
				Contact: followup.Contact{Name: "Jane Doe"}, Promise: "Send the pricing deck", Direction: tt.dir,
			})
			var got followup.Commitment
			for _, a := range tt.actions {
				h.clock.Set(a.at)
				got = h.act(u.ID, c.ID, a.a)
			}
			stored := h.get(u.ID, c.ID)
			if diff := cmp.Diff(stored, got); diff != "" {
				t.Errorf("Act's answer differs from the stored commitment (-stored +answer):\n%s", diff)
			}
			if stored.Status != tt.status {
				t.Errorf("Status = %s, want %s", stored.Status, tt.status)
			}
			if diff := cmp.Diff(sortViews(tt.want), sortedViews(stored.Steps)); diff != "" {
				t.Errorf("stored steps (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.feed, h.feedKinds(stored)); diff != "" {
				t.Errorf("feed kinds (-want +got):\n%s", diff)
			}
			last := tt.actions[len(tt.actions)-1].at
			ended := stored.Status != followup.StatusOpen
			if (stored.EndedAt != nil) != ended || (ended && !stored.EndedAt.Equal(last)) {
				t.Errorf("EndedAt = %v, want set to %v: %v", stored.EndedAt, last, ended)
			}
			for _, f := range []struct {
				name string
				got  *time.Time
				want bool
			}{{"ContactedAt", stored.ContactedAt, tt.contacted}, {"DeliveredAt", stored.DeliveredAt, tt.delivered}, {"RepliedAt", stored.RepliedAt, tt.replied}} {
				if (f.got != nil) != f.want {
					t.Errorf("%s = %v, want set: %v", f.name, f.got, f.want)
				}
			}
			// Every step the actions completed or cancelled records when, and
			// its SEQUENCE rose so that calendars see the change.
			for _, s := range stored.Steps {
				if s.Status.Pending() {
					if s.CompletedAt != nil {
						t.Errorf("pending %s has CompletedAt %v", s.Kind, s.CompletedAt)
					}
					continue
				}
				if s.CompletedAt == nil || s.Sequence == 0 {
					t.Errorf("%s %s: CompletedAt %v, Sequence %d; want set and > 0", s.Status, s.Kind, s.CompletedAt, s.Sequence)
				}
			}
		})
	}
}

// TestActErrors checks the actions that do not fit the commitment's state,
// unknown actions and foreign commitments, and that they change nothing.
func TestActErrors(t *testing.T) {
	ny := zone(t, "America/New_York")
	logged := time.Date(2026, 11, 23, 15, 0, 0, 0, ny).UTC()
	h := newHarness(t, logged)
	other := h.user("other@example.com", "Europe/Berlin")

	tests := []struct {
		name   string
		before []followup.Action
		action followup.Action
		code   string
	}{
		{"contacted twice", []followup.Action{followup.ActionContacted}, followup.ActionContacted, followup.ECONFLICT},
		{"replied twice", []followup.Action{followup.ActionReplied}, followup.ActionReplied, followup.ECONFLICT},
		{"delivered twice", []followup.Action{followup.ActionDelivered}, followup.ActionDelivered, followup.ECONFLICT},
		{"let go twice", []followup.Action{followup.ActionLetGo}, followup.ActionLetGo, followup.ECONFLICT},
		{"contacted after let go", []followup.Action{followup.ActionLetGo}, followup.ActionContacted, followup.ECONFLICT},
		{"let go when done", []followup.Action{followup.ActionDelivered, followup.ActionReplied}, followup.ActionLetGo, followup.ECONFLICT},
		{"unknown action", nil, "forgot", followup.EINVALID},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.clock.Set(logged)
			u := h.user(fmt.Sprintf("err%d@example.com", i), "America/New_York")
			c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"})
			h.clock.Set(logged.Add(time.Hour))
			for _, a := range tt.before {
				h.act(u.ID, c.ID, a)
			}
			before := h.get(u.ID, c.ID)
			v := h.feedVersion(u.ID)
			h.clock.Set(logged.Add(2 * time.Hour))
			_, err := h.svc.Act(h.ctx, u.ID, c.ID, tt.action)
			errCode(t, err, tt.code, "action")
			if diff := cmp.Diff(before, h.get(u.ID, c.ID)); diff != "" {
				t.Errorf("a refused action changed the commitment (-before +after):\n%s", diff)
			}
			if got := h.feedVersion(u.ID); got != v {
				t.Errorf("a refused action changed the feed version: %+v -> %+v", v, got)
			}
		})
	}

	t.Run("another user's commitment", func(t *testing.T) {
		h.clock.Set(logged)
		u := h.user("owner@example.com", "America/New_York")
		c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"})
		for _, a := range []followup.Action{followup.ActionContacted, followup.ActionReplied, followup.ActionDelivered, followup.ActionLetGo} {
			_, err := h.svc.Act(h.ctx, other.ID, c.ID, a)
			errCode(t, err, followup.ENOTFOUND, "")
		}
		_, err := h.svc.Get(h.ctx, other.ID, c.ID)
		errCode(t, err, followup.ENOTFOUND, "")
		errCode(t, h.svc.Delete(h.ctx, other.ID, c.ID), followup.ENOTFOUND, "")
		_, err = h.svc.Act(h.ctx, u.ID, c.ID+1000, followup.ActionContacted)
		errCode(t, err, followup.ENOTFOUND, "")
		if diff := cmp.Diff(c, h.get(u.ID, c.ID)); diff != "" {
			t.Errorf("another user's actions changed the commitment (-before +after):\n%s", diff)
		}
	})
}

// TestDelete checks that a deleted commitment is gone with its blocks and
// that the other commitments keep theirs.
func TestDelete(t *testing.T) {
	ny := zone(t, "America/New_York")
	logged := time.Date(2026, 11, 23, 15, 0, 0, 0, ny).UTC()
	h := newHarness(t, logged)
	u := h.user("delete@example.com", "America/New_York")
	keep := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Ann"}, Promise: "Send the deck"})
	gone := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Bob"}, Promise: "Intro to Carol"})
	v := h.feedVersion(u.ID)

	h.clock.Set(logged.Add(time.Minute))
	if err := h.svc.Delete(h.ctx, u.ID, gone.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := h.svc.Get(h.ctx, u.ID, gone.ID)
	errCode(t, err, followup.ENOTFOUND, "")
	errCode(t, h.svc.Delete(h.ctx, u.ID, gone.ID), followup.ENOTFOUND, "")

	var want []string
	for _, s := range h.get(u.ID, keep.ID).Steps {
		if s.Kind.IsBlock() {
			want = append(want, s.UID)
		}
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, h.feedUIDs(u.ID)); diff != "" {
		t.Errorf("feed after Delete (-want +got):\n%s", diff)
	}
	if got := h.feedVersion(u.ID); got.ETag == v.ETag {
		t.Errorf("feed ETag %s did not change on Delete", got.ETag)
	}
}

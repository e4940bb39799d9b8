package service_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/service"
)

// letGoMsg is what Tick logs once per commitment it lets go.
const letGoMsg = "commitment let go"

// blockUIDs returns the UIDs of c's block steps, sorted.
func blockUIDs(c followup.Commitment) []string {
	var out []string
	for _, s := range c.Steps {
		if s.Kind.IsBlock() {
			out = append(out, s.UID)
		}
	}
	slices.Sort(out)
	return out
}

// TestTickLetGo lets time pass beyond met + 10 days without contact.
func TestTickLetGo(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, ny).UTC() }
	logged := at(11, 23, 15, 0)
	h := newHarness(t, logged)
	u := h.user("tick@example.com", "America/New_York")
	c := h.create(u.ID, followup.NewCommitment{
		Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck",
		Meeting: &followup.Meeting{Start: at(12, 10, 12, 0), Minutes: 45},
	})
	h.clock.Set(at(11, 25, 15, 0))
	later := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Bob"}, Promise: "Intro to Carol"})
	otherUser := h.user("tick-other@example.com", "America/New_York")
	h.clock.Set(logged)
	other := h.create(otherUser.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Eve"}, Promise: "Send the deck"})

	// Just before the let-go nothing happens.
	h.clock.Set(at(12, 3, 14, 59))
	before := h.get(u.ID, c.ID)
	v0 := h.feedVersion(u.ID)
	h.tick()
	if diff := cmp.Diff(before, h.get(u.ID, c.ID)); diff != "" {
		t.Fatalf("Tick before the let-go changed the commitment (-before +after):\n%s", diff)
	}
	if v := h.feedVersion(u.ID); v != v0 {
		t.Errorf("Tick before the let-go changed the feed version %+v -> %+v", v0, v)
	}

	now := at(12, 3, 15, 0)
	h.clock.Set(now)
	h.tick()
	got := h.get(u.ID, c.ID)
	if got.Status != followup.StatusLetGo || got.EndedAt == nil || !got.EndedAt.Equal(now) {
		t.Errorf("after Tick: status %s, EndedAt %v; want let_go at %v", got.Status, got.EndedAt, now)
	}
	wantStatus := map[followup.StepKind][]followup.StepStatus{
		followup.KindDeliver:   {followup.StepCancelled},
		followup.KindRefresher: {followup.StepCancelled},
		followup.KindLetGo:     {followup.StepDone},
		followup.KindConfirm:   {followup.StepCancelled},
		followup.KindMeeting:   {followup.StepCancelled},
	}
	if diff := cmp.Diff(wantStatus, kindStatus(got)); diff != "" {
		t.Errorf("step statuses after let-go (-want +got):\n%s", diff)
	}
	// The future blocks (confirm and meeting) left the feed; the later
	// commitment's blocks stay.
	if diff := cmp.Diff(blockUIDs(h.get(u.ID, later.ID)), h.feedUIDs(u.ID)); diff != "" {
		t.Errorf("feed after let-go (-want +got):\n%s", diff)
	}
	if h.get(u.ID, later.ID).Status != followup.StatusOpen {
		t.Errorf("the later commitment was let go too")
	}
	v1 := h.feedVersion(u.ID)
	if v1.ETag == v0.ETag {
		t.Errorf("feed ETag %s did not change on let-go", v1.ETag)
	}
	if got := h.get(otherUser.ID, other.ID); got.Status != followup.StatusLetGo {
		t.Errorf("the other user's commitment, due at the same moment: status %s, want let_go", got.Status)
	}

	// Running Tick again changes nothing, not even timestamps.
	h.clock.Set(now.Add(time.Minute))
	h.tick()
	if diff := cmp.Diff(got, h.get(u.ID, c.ID)); diff != "" {
		t.Errorf("a second Tick changed the commitment (-first +second):\n%s", diff)
	}
	if v := h.feedVersion(u.ID); v != v1 {
		t.Errorf("a second Tick changed the feed version %+v -> %+v", v1, v)
	}
	if n := h.logs.Count(letGoMsg); n != 2 {
		t.Errorf("%q logged %d times, want 2 (one per commitment)", letGoMsg, n)
	}
}

// TestTickClose lets an unanswered nudge close the cycle.
func TestTickClose(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, ny).UTC() }
	logged := at(11, 23, 15, 0)
	h := newHarness(t, logged)
	u := h.user("close@example.com", "America/New_York")
	silent := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"})
	answered := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Bob"}, Promise: "Send the deck"})
	h.clock.Set(at(11, 24, 8, 30))
	h.act(u.ID, silent.ID, followup.ActionContacted)
	h.act(u.ID, answered.ID, followup.ActionContacted)
	h.clock.Set(at(11, 26, 10, 0))
	h.act(u.ID, answered.ID, followup.ActionReplied)

	// The two nudges share Tuesday's follow-up hour; each close is 3 days
	// after its own nudge.
	s := h.get(u.ID, silent.ID)
	nudge, closeStep := step(t, s, followup.KindNudge), step(t, s, followup.KindClose)
	if want := nudge.End.AddDate(0, 0, 3); !closeStep.Start.Equal(want) {
		t.Fatalf("close at %v, want 3 days after the nudge's end %v", closeStep.Start, want)
	}
	if y, m, d := nudge.Start.In(ny).Date(); y != 2026 || m != 12 || d != 1 || nudge.Start.In(ny).Hour() != 9 {
		t.Fatalf("nudge at %v, want in the follow-up hour on Tuesday 1 December", nudge.Start.In(ny))
	}

	h.clock.Set(closeStep.Start.Add(-time.Second))
	h.tick()
	if diff := cmp.Diff(s, h.get(u.ID, silent.ID)); diff != "" {
		t.Fatalf("Tick before the close changed the commitment (-before +after):\n%s", diff)
	}
	answeredBefore := h.get(u.ID, answered.ID)

	h.clock.Set(closeStep.Start.Add(3 * 24 * time.Hour)) // well past the close
	h.tick()
	got := h.get(u.ID, silent.ID)
	if got.Status != followup.StatusLetGo {
		t.Errorf("status after the close = %s, want let_go", got.Status)
	}
	want := map[followup.StepKind][]followup.StepStatus{
		followup.KindDeliver:   {followup.StepCancelled},
		followup.KindRefresher: {followup.StepDone},
		followup.KindNudge:     {followup.StepCancelled},
		followup.KindClose:     {followup.StepDone},
		followup.KindLetGo:     {followup.StepCancelled},
	}
	if diff := cmp.Diff(want, kindStatus(got)); diff != "" {
		t.Errorf("step statuses after the close (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(answeredBefore, h.get(u.ID, answered.ID)); diff != "" {
		t.Errorf("Tick changed the answered commitment (-before +after):\n%s", diff)
	}
	h.tick()
	if diff := cmp.Diff(got, h.get(u.ID, silent.ID)); diff != "" {
		t.Errorf("a second Tick changed the closed commitment (-first +second):\n%s", diff)
	}
}

// TestTickRestart checks that a transition due while the process was down
// is applied once after a restart, and once when two processes tick at once.
func TestTickRestart(t *testing.T) {
	ny := zone(t, "America/New_York")
	logged := time.Date(2026, 11, 23, 15, 0, 0, 0, ny).UTC()
	h := newHarness(t, logged)
	u := h.user("restart@example.com", "America/New_York")
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"})
	letGo := step(t, c, followup.KindLetGo)

	h.clock.Set(letGo.Start.Add(36 * time.Hour))
	h.reopen()
	h.tick()
	got := h.get(u.ID, c.ID)
	after := step(t, got, followup.KindLetGo)
	if got.Status != followup.StatusLetGo || after.Status != followup.StepDone {
		t.Fatalf("after restart and Tick: status %s, let_go step %s; want let_go, done", got.Status, after.Status)
	}
	if after.Sequence != letGo.Sequence+1 || !after.UpdatedAt.Equal(h.clock.Now()) {
		t.Errorf("let_go step Sequence %d UpdatedAt %v, want %d and %v", after.Sequence, after.UpdatedAt, letGo.Sequence+1, h.clock.Now())
	}
	v := h.feedVersion(u.ID)

	h.clock.Set(h.clock.Now().Add(time.Hour))
	h.reopen()
	h.tick()
	if diff := cmp.Diff(got, h.get(u.ID, c.ID)); diff != "" {
		t.Errorf("Tick after a second restart changed the commitment (-first +second):\n%s", diff)
	}
	if got := h.feedVersion(u.ID); got != v {
		t.Errorf("Tick after a second restart changed the feed version %+v -> %+v", v, got)
	}
	if n := h.logs.Count(letGoMsg); n != 1 {
		t.Errorf("%q logged %d times, want 1", letGoMsg, n)
	}
}

// TestTickConcurrent runs Tick in two processes on one database at once:
// every due let-go is applied exactly once.
func TestTickConcurrent(t *testing.T) {
	ny := zone(t, "America/New_York")
	logged := time.Date(2026, 11, 23, 15, 0, 0, 0, ny).UTC()
	h := newHarness(t, logged)
	u := h.user("concurrent@example.com", "America/New_York")
	const n = 12
	var ids []int64
	for i := range n {
		h.clock.Set(logged.Add(time.Duration(i) * time.Minute))
		ids = append(ids, h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"}).ID)
	}
	h.clock.Set(logged.AddDate(0, 0, 11))
	_, second := h.instance()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, svc := range []*service.Service{h.svc, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = svc.Tick(h.ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Tick in process %d: %v", i, err)
		}
	}
	for _, id := range ids {
		c := h.get(u.ID, id)
		if c.Status != followup.StatusLetGo {
			t.Errorf("commitment %d: status %s, want let_go", id, c.Status)
		}
		if s := step(t, c, followup.KindLetGo); s.Status != followup.StepDone || s.Sequence != 1 {
			t.Errorf("commitment %d: let_go step %s with Sequence %d, want done with 1", id, s.Status, s.Sequence)
		}
	}
	if got := h.logs.Count(letGoMsg); got != n {
		t.Errorf("%q logged %d times, want %d: a transition was applied twice or missed", letGoMsg, got, n)
	}
}

// TestTickMeeting checks that past meetings and confirmations are done and
// stay in the feed as a record.
func TestTickMeeting(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, ny).UTC() }
	h := newHarness(t, at(11, 23, 15, 0))
	u := h.user("meeting@example.com", "America/New_York")
	c := h.create(u.ID, followup.NewCommitment{
		Contact: followup.Contact{Name: "Jane"}, Promise: "Coffee",
		Meeting: &followup.Meeting{Start: at(11, 26, 12, 0), Minutes: 45},
	})
	feed := blockUIDs(c)
	if diff := cmp.Diff(feed, h.feedUIDs(u.ID)); diff != "" {
		t.Fatalf("feed after Create (-want +got):\n%s", diff)
	}
	confirm := step(t, c, followup.KindConfirm)
	if !confirm.Start.Equal(at(11, 25, 9, 0)) {
		t.Fatalf("confirm at %v, want Wednesday 09:00", confirm.Start.In(ny))
	}

	type statusAt struct {
		Confirm, Meeting followup.StepStatus
	}
	tests := []struct {
		now  time.Time
		want statusAt
	}{
		{at(11, 25, 9, 5), statusAt{followup.StepPlanned, followup.StepPlanned}},
		{at(11, 25, 9, 10), statusAt{followup.StepDone, followup.StepPlanned}},
		{at(11, 26, 12, 30), statusAt{followup.StepDone, followup.StepPlanned}},
		{at(11, 26, 12, 45), statusAt{followup.StepDone, followup.StepDone}},
		{at(11, 26, 13, 0), statusAt{followup.StepDone, followup.StepDone}},
	}
	for _, tt := range tests {
		h.clock.Set(tt.now)
		h.tick()
		got := h.get(u.ID, c.ID)
		cf, mt := step(t, got, followup.KindConfirm), step(t, got, followup.KindMeeting)
		if diff := cmp.Diff(tt.want, statusAt{cf.Status, mt.Status}); diff != "" {
			t.Errorf("at %v (-want +got):\n%s", tt.now.In(ny), diff)
		}
		for _, s := range []followup.Step{cf, mt} {
			if s.Status == followup.StepDone && (s.CompletedAt == nil || !s.CompletedAt.Equal(s.End)) {
				t.Errorf("at %v: done %s completed at %v, want at its end %v", tt.now.In(ny), s.Kind, s.CompletedAt, s.End)
			}
		}
		if got.Status != followup.StatusOpen {
			t.Errorf("at %v: status %s, want open (refresher and deliver pending)", tt.now.In(ny), got.Status)
		}
		if diff := cmp.Diff(feed, h.feedUIDs(u.ID)); diff != "" {
			t.Errorf("at %v: feed (-want +got):\n%s", tt.now.In(ny), diff)
		}
	}
	final := h.get(u.ID, c.ID)
	h.tick()
	if diff := cmp.Diff(final, h.get(u.ID, c.ID)); diff != "" {
		t.Errorf("a second Tick changed the commitment (-first +second):\n%s", diff)
	}

	// Delivered and replied: nothing pending, so done; the meeting stays as a record.
	h.act(u.ID, c.ID, followup.ActionDelivered)
	done := h.act(u.ID, c.ID, followup.ActionReplied)
	if done.Status != followup.StatusDone {
		t.Errorf("status after delivered and replied = %s, want done", done.Status)
	}
	if diff := cmp.Diff(feed, h.feedUIDs(u.ID)); diff != "" {
		t.Errorf("feed of the done commitment (-want +got):\n%s", diff)
	}
}

package service_test

import (
	"testing"
	"time"

	"github.com/followup/followup"
)

// TestProgress: kept counts in the week of delivery, let go in the week it
// ended, and the median time to first contact in the week of meeting;
// weeks run Monday to Sunday in the user's zone, across a DST change.
func TestProgress(t *testing.T) {
	ny := zone(t, "America/New_York")
	// Monday 2026-10-26, the week before DST ends (Sunday Nov 1).
	h := newHarness(t, time.Date(2026, 10, 26, 10, 0, 0, 0, ny))
	u := h.user("progress@example.com", "America/New_York")
	a := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "A"}, Promise: "Deck"})
	b := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "B"}, Promise: "Intro"})
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "C"}, Promise: "Call"})
	h.clock.Add(2 * time.Hour)
	h.act(u.ID, a.ID, followup.ActionContacted) // 2 h after meeting
	h.clock.Add(4 * time.Hour)
	h.act(u.ID, b.ID, followup.ActionContacted) // 6 h after meeting
	// Sunday Nov 1 23:30 local, after the change: still the first week.
	h.clock.Set(time.Date(2026, 11, 1, 23, 30, 0, 0, ny))
	h.act(u.ID, a.ID, followup.ActionDelivered)
	// Monday Nov 2 00:30 local: the second week.
	h.clock.Set(time.Date(2026, 11, 2, 0, 30, 0, 0, ny))
	h.act(u.ID, c.ID, followup.ActionLetGo)

	p, err := h.svc.Progress(h.ctx, u.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Weeks) != 3 {
		t.Fatalf("%d weeks", len(p.Weeks))
	}
	w1, w2 := p.Weeks[1], p.Weeks[2]
	if !w1.Start.Equal(time.Date(2026, 10, 26, 0, 0, 0, 0, ny)) || !w2.Start.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, ny)) {
		t.Errorf("week starts %v, %v", w1.Start, w2.Start)
	}
	if w1.Kept != 1 || w1.LetGo != 0 || w2.Kept != 0 || w2.LetGo != 1 {
		t.Errorf("kept/let go: week 1 %d/%d, week 2 %d/%d", w1.Kept, w1.LetGo, w2.Kept, w2.LetGo)
	}
	if w1.MedianFirstContact != 4*time.Hour || w1.Contacted != 2 || p.MedianFirstContact != 4*time.Hour || p.Contacted != 2 {
		t.Errorf("median %v over %d (overall %v over %d), want 4h over 2", w1.MedianFirstContact, w1.Contacted, p.MedianFirstContact, p.Contacted)
	}
	for _, weeks := range []int{0, -1, 105} {
		if _, err := h.svc.Progress(h.ctx, u.ID, weeks); followup.ErrorCode(err) != followup.EINVALID {
			t.Errorf("weeks %d: %v", weeks, err)
		}
	}
}

// TestSetupOnlyOnce: Setup creates the first account only.
func TestSetupOnlyOnce(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	if need, err := h.svc.NeedsSetup(h.ctx); err != nil || !need {
		t.Fatalf("NeedsSetup on a fresh database: %v, %v", need, err)
	}
	if _, err := h.svc.Setup(h.ctx, "first@example.com", "a long password", "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Setup(h.ctx, "second@example.com", "a long password", "UTC"); followup.ErrorCode(err) != followup.ECONFLICT {
		t.Fatalf("second Setup: %v", err)
	}
	if need, _ := h.svc.NeedsSetup(h.ctx); need {
		t.Errorf("NeedsSetup after setup")
	}
	// CreateUser (the CLI) still adds accounts.
	h.user("cli@example.com", "UTC")
}

// TestCreateOnceConcurrent: the same key sent at once from many requests
// creates one commitment.
func TestCreateOnceConcurrent(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	u := h.user("once@example.com", "UTC")
	in := followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Deck"}
	ids := make(chan int64, 8)
	for i := 0; i < 8; i++ {
		go func() {
			c, _, err := h.svc.CreateOnce(h.ctx, u.ID, "same-key", in)
			if err != nil {
				t.Error(err)
			}
			ids <- c.ID
		}()
	}
	first := <-ids
	for i := 1; i < 8; i++ {
		if id := <-ids; id != first {
			t.Errorf("ids %d and %d for one key", first, id)
		}
	}
	list, err := h.svc.List(h.ctx, u.ID, followup.CommitmentFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("%d commitments, %v", len(list), err)
	}
}

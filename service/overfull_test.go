package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/internal/plancheck"
)

// TestCreateInOverfullCalendarMovesFew logs commitments for a user whose
// open commitments overfill the working days up to their deadlines, so that
// most blocks are late, as BenchmarkFormSubmit does with 200. Each new
// commitment's refresher is due before the late delivers, so it must go
// ahead of them: the create releases the first of them in its way and
// places it again, instead of re-planning every block (which moved about
// half of them for each create). A starred one takes the slot of an
// unstarred refresher due at the same time. After each create the plan keeps the
// rules (plancheck.Check), and each new commitment is let go again.
func TestCreateInOverfullCalendarMovesFew(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, ny)
	h := newHarness(t, now)
	u := h.user("overfull@example.com", "America/New_York")
	for i := range 60 {
		h.create(u.ID, followup.NewCommitment{
			Contact: followup.Contact{Name: fmt.Sprintf("Contact %d", i)}, Promise: "Send the pricing deck",
			Priority: i%5 == 0, DueText: "in 3 days",
		})
	}
	for i := range 8 {
		before := sequences(t, h, u.ID)
		c := h.create(u.ID, followup.NewCommitment{
			Contact: followup.Contact{Name: fmt.Sprintf("Guest %d", i)}, Promise: "Send the deck", DueText: "by Friday",
			Priority: i%2 == 1,
		})
		moved := 0
		for uid, seq := range sequences(t, h, u.ID) {
			if old, ok := before[uid]; ok && seq != old {
				moved++
			}
		}
		if moved > 6 {
			t.Errorf("create %d moved %d blocks, want at most 6", i, moved)
		}
		req, pls, _ := planState(t, h, u.ID, ny, now)
		for _, v := range plancheck.Check(req, pls) {
			t.Errorf("after create %d: %s", i, v)
		}
		if _, err := h.svc.Act(h.ctx, u.ID, c.ID, followup.ActionLetGo); err != nil {
			t.Fatal(err)
		}
	}
}

// sequences returns the SEQUENCE of each of the user's pending steps by UID.
func sequences(t *testing.T, h *harness, userID int64) map[string]int {
	t.Helper()
	cs, err := h.svc.List(h.ctx, userID, followup.CommitmentFilter{Status: followup.StatusOpen, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, c := range cs {
		for _, s := range h.get(userID, c.ID).Steps {
			if s.Status.Pending() {
				out[s.UID] = s.Sequence
			}
		}
	}
	return out
}

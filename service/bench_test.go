package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/followup/followup"
)

// BenchmarkCreate logs a commitment through the service on SQLite for a
// user who already has open commitments, at several sizes: each create
// replans the user's movable blocks. Sequential, so ns/op is the cost of
// one create.
func BenchmarkCreate(b *testing.B) {
	for _, open := range []int{0, 20, 100} {
		b.Run(fmt.Sprintf("open=%d", open), func(b *testing.B) {
			h := newHarness(b, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))
			users := make([]followup.User, 50)
			for i := range users {
				users[i] = h.user(fmt.Sprintf("u%d@example.com", i), "America/New_York")
				for j := range open {
					h.create(users[i].ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint(j)}, Promise: "Send the deck", DueText: "in 5 days"})
				}
			}
			i := 0
			for b.Loop() {
				// One contact in five is starred, as after an event.
				in := followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "by Friday", Priority: i%5 == 0}
				// Round robin keeps each user near its size.
				if _, err := h.svc.Create(h.ctx, users[i%len(users)].ID, in); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

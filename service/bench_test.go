package service_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/followup/followup"
)

// BenchmarkCreate logs a commitment through the service on SQLite for a
// user who already has open commitments, at several sizes: each create
// places the new blocks among the user's open ones. Sequential, so ns/op
// is the cost of one create. From 100 open commitments on, the working days
// up to the deadlines are overfull and most blocks are late.
func BenchmarkCreate(b *testing.B) {
	for _, open := range []int{0, 20, 100, 200, 1000} {
		b.Run(fmt.Sprintf("open=%d", open), func(b *testing.B) {
			h := newHarness(b, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))
			// Fewer users for the larger sizes keep the setup short.
			users := make([]followup.User, min(50, max(1, 400/max(open, 1))))
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

// BenchmarkCreateParallel logs commitments for 20 users from as many
// goroutines as -cpu says times 4 (b.SetParallelism): on SQLite the
// transactions are committed in groups, on PostgreSQL each runs on its
// own, concurrently (SERIALIZABLE, run again on a conflict). ns/op is the
// wall time per create, the inverse of the throughput.
func BenchmarkCreateParallel(b *testing.B) {
	h := newHarness(b, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))
	users := make([]followup.User, 20)
	for i := range users {
		users[i] = h.user(fmt.Sprintf("u%d@example.com", i), "America/New_York")
	}
	var next atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			in := followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "in 5 days", Priority: i%5 == 0}
			if _, err := h.svc.Create(h.ctx, users[i%int64(len(users))].ID, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

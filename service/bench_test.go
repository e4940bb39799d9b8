package service_test

import (
	"context"
	"fmt"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/followup/followup"
)

// BenchmarkCreate logs commitments through the service on a real SQLite
// file for one user who already has open commitments: 0, and 2,000 (far
// more than the working days up to their deadlines hold, so most of their
// blocks are late). Each timed create is let go afterwards, off the clock,
// so that every create finds the same number open. Besides ns/op (which
// includes the let-go) it reports the median create, the figure of issue
// 13; open=0 is the reference measured in the same run.
func BenchmarkCreate(b *testing.B) {
	benchmarkCreate(b, true)
}

// BenchmarkCreateInARow is BenchmarkCreate with the timed creates one
// after another, none let go, as a user logs them: with -benchtime 100x
// the cases run from 0 to 100 and from 2,000 to 2,100 open. No other write
// comes between two creates, so each finds the window the one before kept.
func BenchmarkCreateInARow(b *testing.B) {
	benchmarkCreate(b, false)
}

// benchmarkCreate times creates at 0 and 2,000 open, letting each go off
// the clock if letGo. The timed creates carry the pprof label phase=timed
// (go tool pprof -tagfocus phase=timed).
func benchmarkCreate(b *testing.B, letGo bool) {
	for _, open := range []int{0, 2000} {
		b.Run(fmt.Sprintf("open=%d", open), func(b *testing.B) {
			h := newHarness(b, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))
			u := h.user("u@example.com", "America/New_York")
			for j := range open {
				h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint(j)}, Promise: "Send the deck", DueText: "in 5 days", Priority: j%5 == 0})
			}
			var took []time.Duration
			i := 0
			for b.Loop() {
				// One contact in five is starred, as after an event.
				in := followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "by Friday", Priority: i%5 == 0}
				var c followup.Commitment
				var err error
				start := time.Now()
				pprof.Do(h.ctx, pprof.Labels("phase", "timed"), func(ctx context.Context) {
					c, err = h.svc.Create(ctx, u.ID, in)
				})
				took = append(took, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if letGo {
					h.act(u.ID, c.ID, followup.ActionLetGo)
				}
				i++
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms/create-p50")
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
	createInParallel(b, h, benchUsers(h), []string{"in 5 days"})
}

// benchUsers makes the 20 users of the parallel benchmarks.
func benchUsers(h *harness) []followup.User {
	users := make([]followup.User, 20)
	for i := range users {
		users[i] = h.user(fmt.Sprintf("u%d@example.com", i), "America/New_York")
	}
	return users
}

// createInParallel times creates for users in turn, with deadlines dues
// in turn, one in five starred.
func createInParallel(b *testing.B, h *harness, users []followup.User, dues []string) {
	var next atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			in := followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: dues[i%int64(len(dues))], Priority: i%5 == 0}
			if _, err := h.svc.Create(h.ctx, users[i%int64(len(users))].ID, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCreateParallelFull is BenchmarkCreateParallel with each of the
// 20 users holding 500 open commitments first (more than their working
// hours hold before the deadlines), as at the end of scripts/load.sh.
func BenchmarkCreateParallelFull(b *testing.B) {
	h := newHarness(b, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))
	users := benchUsers(h)
	dues := []string{"in 3 days", "tomorrow", "in 2 days", "next week", "in 5 days", "in 4 days", ""}
	var wg sync.WaitGroup
	for u := range users {
		wg.Go(func() {
			for j := range 500 {
				in := followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint(j)}, Promise: "Send the deck", DueText: dues[j%len(dues)], Priority: j%5 == 0}
				if _, err := h.svc.Create(h.ctx, users[u].ID, in); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	createInParallel(b, h, users, dues)
}

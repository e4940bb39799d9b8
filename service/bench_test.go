package service_test

import (
	"context"
	"fmt"
	"runtime/pprof"
	"slices"
	"testing"
	"time"

	"github.com/followup/followup"
)

// BenchmarkCreate logs commitments through the service on a real SQLite
// file for one user who already has open commitments: 0, and 2,000 (far
// more than the working days up to their deadlines hold, so most of their
// blocks are late). The timed creates come one after another, as a user
// logs them, so with -benchtime 100x the second case runs from 2,000 to
// 2,100 open. Besides ns/op it reports the median create, the figure of
// issue 13; open=0 is the reference measured in the same run. The timed
// creates carry the pprof label phase=timed (go tool pprof -tagfocus).
func BenchmarkCreate(b *testing.B) {
	for _, open := range []int{0, 2000} {
		b.Run(fmt.Sprintf("open=%d", open), func(b *testing.B) {
			h := newHarness(b, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))
			u := h.user("u@example.com", "America/New_York")
			for j := range open {
				h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint(j)}, Promise: "Send the deck", DueText: "in 5 days", Priority: j%5 == 0})
			}
			var took []time.Duration
			i := 0
			pprof.Do(h.ctx, pprof.Labels("phase", "timed"), func(ctx context.Context) {
				for b.Loop() {
					// One contact in five is starred, as after an event.
					in := followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "by Friday", Priority: i%5 == 0}
					start := time.Now()
					_, err := h.svc.Create(ctx, u.ID, in)
					took = append(took, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms/create-p50")
		})
	}
}

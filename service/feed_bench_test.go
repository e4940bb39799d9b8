package service_test

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/ics"
	"github.com/followup/followup/service"
)

// countWriter counts what is written to it and keeps nothing.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// blocksUser stores n planned blocks for a new user directly through the
// store, n/10 commitments with 10 blocks each, 15 minutes apart, and
// returns the user's feed token and the steps.
func blocksUser(b *testing.B, h *harness, n int) (string, []followup.Step) {
	u := h.user("bench-feed@example.com", "America/New_York")
	now := h.clock.Now().UTC()
	kinds := []followup.StepKind{followup.KindRefresher, followup.KindDeliver, followup.KindConfirm, followup.KindNudge, followup.KindChase}
	var steps []followup.Step
	err := h.db.InTx(h.ctx, func(q followup.Queries) error {
		for i := 0; i < n/10; i++ {
			c := followup.Commitment{
				UserID: u.ID, Contact: followup.Contact{Name: fmt.Sprintf("Contact %d", i), Email: fmt.Sprintf("c%d@example.com", i)},
				MetAt: now, MetWhere: "Conference hall " + strconv.Itoa(i%7), Promise: "Send the pricing deck, version " + strconv.Itoa(i),
				Direction: followup.Mine, Due: now.AddDate(0, 0, 10), Notes: "possible client; met at the booth",
				Status: followup.StatusOpen, CreatedAt: now, UpdatedAt: now,
			}
			if err := q.InsertCommitment(h.ctx, &c); err != nil {
				return err
			}
			for j := range 10 {
				k := i*10 + j
				s := followup.Step{
					CommitmentID: c.ID, UserID: u.ID, Kind: kinds[j%len(kinds)], Status: followup.StepPlanned,
					Start: now.Add(time.Duration(k+1) * 15 * time.Minute), End: now.Add(time.Duration(k+2) * 15 * time.Minute),
					NotBefore: now, Due: now.AddDate(0, 0, 10), UID: fmt.Sprintf("bench-%06d@followup", k),
					Sequence: 1, RemoteSequence: -1, CreatedAt: now, UpdatedAt: now,
				}
				if err := q.InsertStep(h.ctx, &s); err != nil {
					return err
				}
				steps = append(steps, s)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	links, err := h.svc.FeedLinks(h.ctx, u.ID)
	if err != nil {
		b.Fatal(err)
	}
	return tokenOf(b, links), steps
}

// BenchmarkFeedAfterOneChange renders, through the service on a real
// SQLite file, the feed of a user with 10,000 blocks after one of their
// steps moved (a quarter of an hour later, with a higher SEQUENCE, stored
// as the planner stores a move), and in the same loop encodes the same
// 10,000 events with ics.Encode, the reference. It reports the median of
// each and their ratio (target: render ≤ 10 ms and ≤ 1.5× the encode).
// first-render is the render of a service that keeps no render.
func BenchmarkFeedAfterOneChange(b *testing.B) {
	h := newHarness(b, time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC))
	token, steps := blocksUser(b, h, 10000)
	render := func(svc *service.Service) int {
		v, err := svc.FeedVersion(h.ctx, token)
		if err != nil {
			b.Fatal(err)
		}
		body, err := svc.FeedDocument(h.ctx, v)
		if err != nil {
			b.Fatal(err)
		}
		return len(body)
	}
	move := func(i int) {
		p := &steps[i%len(steps)]
		p.Start, p.End = p.Start.Add(15*time.Minute), p.End.Add(15*time.Minute)
		p.Sequence++
		p.UpdatedAt = h.clock.Now().UTC()
		if err := h.db.InTx(h.ctx, func(q followup.Queries) error { return q.MoveStep(h.ctx, p) }); err != nil {
			b.Fatal(err)
		}
	}
	// events returns the feed's events and time, as a render reads them.
	events := func() ([]followup.Event, time.Time) {
		v, err := h.svc.FeedVersion(h.ctx, token)
		if err != nil {
			b.Fatal(err)
		}
		evs, err := h.svc.FeedEvents(h.ctx, v.UserID)
		if err != nil || len(evs) != len(steps) {
			b.Fatalf("%d events, %v; want %d", len(evs), err, len(steps))
		}
		return evs, v.LastModified
	}
	encode := func(evs []followup.Event, now time.Time) int64 {
		w := &countWriter{}
		if err := ics.Encode(w, ics.Feed{Name: "Follow-ups", Events: evs, Now: now}); err != nil {
			b.Fatal(err)
		}
		return w.n
	}
	render(h.svc)

	b.Run("after-one-change", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			move(i)
			b.StartTimer()
			b.SetBytes(int64(render(h.svc)))
		}
	})
	b.Run("ics-encode", func(b *testing.B) {
		evs, now := events()
		for b.Loop() {
			b.SetBytes(encode(evs, now))
		}
	})
	b.Run("first-render", func(b *testing.B) {
		// The same store, settings and clock, and no render kept.
		fresh := &service.Service{Store: h.db, Now: h.svc.Now, BaseURL: h.svc.BaseURL, Encoder: ics.FeedEncoder{}, FeedCacheBytes: -1}
		for b.Loop() {
			b.SetBytes(int64(render(fresh)))
		}
	})
	// The same two, alternately, so that the load of a shared machine
	// weighs on both alike: the figures to compare. Each starts after a
	// garbage collection, so that neither pays for the other's garbage
	// (reading 10,000 events for the encode makes about 100 MB of it).
	b.Run("ratio", func(b *testing.B) {
		var r, e []time.Duration
		for i := 0; b.Loop(); i++ {
			move(i)
			runtime.GC()
			t0 := time.Now()
			render(h.svc)
			r = append(r, time.Since(t0))
			evs, now := events()
			runtime.GC()
			t0 = time.Now()
			encode(evs, now)
			e = append(e, time.Since(t0))
		}
		slices.Sort(r)
		slices.Sort(e)
		mr, me := r[len(r)/2], e[len(e)/2]
		b.ReportMetric(float64(mr.Microseconds())/1000, "ms/render")
		b.ReportMetric(float64(me.Microseconds())/1000, "ms/encode")
		b.ReportMetric(float64(mr)/float64(me), "ratio")
	})
}

// BenchmarkFeedAfterOneChangeHabits is BenchmarkFeedAfterOneChange's
// after-one-change with all six habits on, whose texts name the user's
// 1,000 open commitments: the habits' events are written anew each time.
func BenchmarkFeedAfterOneChangeHabits(b *testing.B) {
	h := newHarness(b, time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC))
	token, steps := blocksUser(b, h, 10000)
	st, err := h.svc.Settings(h.ctx, steps[0].UserID)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range followup.HabitKinds {
		hb := st.Habits.Get(k)
		hb.Enabled = true
		st.Habits.Set(k, hb)
	}
	if _, err := h.svc.PutSettings(h.ctx, steps[0].UserID, st); err != nil {
		b.Fatal(err)
	}
	render := func() int {
		v, err := h.svc.FeedVersion(h.ctx, token)
		if err != nil {
			b.Fatal(err)
		}
		body, err := h.svc.FeedDocument(h.ctx, v)
		if err != nil {
			b.Fatal(err)
		}
		return len(body)
	}
	render()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		p := &steps[i*7919%len(steps)]
		p.Start, p.End, p.Sequence = p.Start.Add(15*time.Minute), p.End.Add(15*time.Minute), p.Sequence+1
		if err := h.db.InTx(h.ctx, func(q followup.Queries) error { return q.MoveStep(h.ctx, p) }); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		b.SetBytes(int64(render()))
	}
}

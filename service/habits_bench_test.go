package service_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/followup/followup"
)

// feedUser is a user with open commitments (two live blocks each) and, when habits is
// set, all six habits on; a daily meeting at 10:00 from the tenth week on,
// beyond the occurrences that choose the time of day, moves the ones it
// hits within the planning window.
func feedUser(b *testing.B, open int, habits bool) (*harness, followup.FeedVersion) {
	ny, _ := time.LoadLocation("America/New_York")
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, ny)
	h := newHarness(b, start.UTC())
	h.svc.FeedCacheBytes = -1 // every render a first one
	u := h.user("bench-habits@example.com", "America/New_York")
	var busy []followup.Interval
	for d := start.AddDate(0, 0, 70); d.Before(start.AddDate(1, 0, 0)); d = d.AddDate(0, 0, 1) {
		busy = append(busy, followup.Interval{Start: time.Date(d.Year(), d.Month(), d.Day(), 10, 0, 0, 0, ny), End: time.Date(d.Year(), d.Month(), d.Day(), 11, 0, 0, 0, ny)})
	}
	if err := h.db.PutBusySource(h.ctx, followup.BusySource{UserID: u.ID, URL: "https://cal.example/w.ics", Kind: "ics",
		ICS: followup.ICSState{Intervals: busy}}); err != nil {
		b.Fatal(err)
	}
	for i := range open {
		h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Contact " + strconv.Itoa(i), Phone: "+1 555 01" + strconv.Itoa(i)},
			Promise: "Send the deck", DueText: "in 5 days", Priority: i%5 == 0})
	}
	if habits {
		st, _ := h.svc.Settings(h.ctx, u.ID)
		for _, k := range followup.HabitKinds {
			hb := st.Habits.Get(k)
			hb.Enabled = true
			st.Habits.Set(k, hb)
		}
		if _, err := h.svc.PutSettings(h.ctx, u.ID, st); err != nil {
			b.Fatal(err)
		}
		events, err := h.svc.FeedEvents(h.ctx, u.ID)
		if err != nil {
			b.Fatal(err)
		}
		series, overrides := 0, 0
		for _, ev := range events {
			if ev.RRule != "" {
				series++
				overrides += len(ev.Overrides)
			}
		}
		if series != 6 || overrides < 10 {
			b.Fatalf("%d series with %d overrides, want 6 with some", series, overrides)
		}
	}
	return h, h.feedVersion(u.ID)
}

// BenchmarkFeedHabits renders the feed (a first render: the service keeps
// no render) of
// the same user without and with all six habits, alternately, so that the
// load of a shared machine weighs on both alike; it reports the median of
// each and their ratio.
func BenchmarkFeedHabits(b *testing.B) {
	for _, open := range []int{100, 400} {
		b.Run(fmt.Sprintf("open=%d", open), func(b *testing.B) {
			without, vWithout := feedUser(b, open, false)
			with, vWith := feedUser(b, open, true)
			render := func(h *harness, v followup.FeedVersion, i int) time.Duration {
				v.ETag = `"bench-` + strconv.Itoa(i) + `"`
				t0 := time.Now()
				if _, err := h.svc.FeedDocument(h.ctx, v); err != nil {
					b.Fatal(err)
				}
				return time.Since(t0)
			}
			var a, c []time.Duration
			for i := 0; b.Loop(); i++ {
				if i%2 == 0 {
					a = append(a, render(without, vWithout, i))
					c = append(c, render(with, vWith, i))
				} else {
					c = append(c, render(with, vWith, i))
					a = append(a, render(without, vWithout, i))
				}
			}
			slices.Sort(a)
			slices.Sort(c)
			ma, mc := a[len(a)/2], c[len(c)/2]
			b.ReportMetric(float64(ma.Microseconds()), "µs/without")
			b.ReportMetric(float64(mc.Microseconds()), "µs/with-habits")
			b.ReportMetric(float64(mc)/float64(ma), "ratio")
		})
	}
}

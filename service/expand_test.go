package service_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// independentPython finds a Python with icalendar and dateutil (Debian's
// python3-icalendar and python3-dateutil), or skips: unless
// FOLLOWUP_REQUIRE_SERVERS=1, which makes its absence a failure.
func independentPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import icalendar, dateutil, pytz").Run() == nil {
			return py
		}
	}
	if os.Getenv("FOLLOWUP_REQUIRE_SERVERS") == "1" {
		t.Fatal("no python3 with icalendar and dateutil (apt-get install python3-icalendar)")
	}
	t.Skip("no python3 with icalendar and dateutil (apt-get install python3-icalendar)")
	return ""
}

// TestFeedHabitsExpandIndependently renders the feed with all six habits
// on, expands it with Python's icalendar and dateutil (zones from the
// feed's own VTIMEZONE), and compares every occurrence across the spring
// and autumn DST changes with the local times expected: each habit's time
// of day on its days, in Berlin and in New York, and a moved occurrence
// after the spring change at its new time.
func TestFeedHabitsExpandIndependently(t *testing.T) {
	py := independentPython(t)
	for _, name := range []string{"Europe/Berlin", "America/New_York"} {
		t.Run(name, func(t *testing.T) {
			loc := zone(t, name)
			at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, loc) }
			h := newHarness(t, at(2, 20, 12, 0).UTC())
			u := h.user("expand@example.com", name)
			// A meeting on a Monday after the spring change (beyond the first
			// occurrences that choose the time of day), over the review's 10:00.
			if err := h.db.PutBusySource(h.ctx, followup.BusySource{UserID: u.ID, URL: "https://cal.example/w.ics", Kind: "ics",
				ICS: followup.ICSState{Intervals: []followup.Interval{{Start: at(4, 20, 9, 30), End: at(4, 20, 10, 30)}}}}); err != nil {
				t.Fatal(err)
			}
			st, _ := h.svc.Settings(h.ctx, u.ID)
			for _, k := range followup.HabitKinds {
				hb := st.Habits.Get(k)
				hb.Enabled = true
				st.Habits.Set(k, hb)
			}
			if _, err := h.svc.PutSettings(h.ctx, u.ID, st); err != nil {
				t.Fatal(err)
			}
			doc, err := h.svc.FeedDocument(h.ctx, h.feedVersion(u.ID))
			if err != nil {
				t.Fatal(err)
			}
			from, to := at(2, 20, 0, 0), at(11, 20, 0, 0)
			cmd := exec.Command(py, "testdata/expand.py", from.UTC().Format("20060102T150405Z"), to.UTC().Format("20060102T150405Z"))
			cmd.Stdin = bytes.NewReader(doc)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			raw, err := cmd.Output()
			if err != nil {
				t.Fatalf("expand.py: %v\n%s", err, stderr.String())
			}
			var got map[string][][2]string
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("expand.py output: %v\n%s", err, raw)
			}
			events, err := h.svc.FeedEvents(h.ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			series := 0
			for _, ev := range events {
				if ev.RRule == "" {
					continue
				}
				series++
				k := followup.HabitKind(ev.Categories[2])
				want := expectedOccurrences(st.Habits.Get(k), ev, loc, from, to)
				if len(want) < 8 {
					t.Fatalf("%s: only %d occurrences expected", k, len(want))
				}
				if diff := cmp.Diff(want, got[ev.UID]); diff != "" {
					t.Errorf("%s %s expanded (-want +got):\n%s", name, k, diff)
				}
			}
			if series != len(followup.HabitKinds) || strings.Count(string(doc), "BEGIN:VTIMEZONE") != 1 {
				t.Fatalf("%d series, %d VTIMEZONE", series, strings.Count(string(doc), "BEGIN:VTIMEZONE"))
			}
			// The review moved off the meeting on 2026-04-20, after both
			// spring changes, at local time.
			review := habitEvent(t, h, u.ID, followup.HabitWeeklyReview)
			moved := [2]string{utcString(at(4, 20, 10, 35)), utcString(at(4, 20, 11, 5))}
			if review.Start.In(loc).Hour() != 10 || review.Start.In(loc).Minute() != 0 || !slices.Contains(got[review.UID], moved) {
				t.Errorf("review at %s; moved occurrence %v not among %v", review.Start.In(loc), moved, got[review.UID])
			}
		})
	}
}

func utcString(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// expectedOccurrences lists a series' occurrences in [from, to) as UTC
// start and end: the master's local time of day on each day the habit
// names (worked out here day by day, not by the code under test), or an
// override's time for the occurrence it replaces.
func expectedOccurrences(h followup.Habit, ev followup.Event, loc *time.Location, from, to time.Time) [][2]string {
	days := map[string]bool{}
	for _, d := range h.Days {
		days[d] = true
	}
	names := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	first := ev.Start.In(loc)
	length := ev.End.Sub(ev.Start)
	var out [][2]string
	for d := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC); d.Before(to.UTC().AddDate(0, 0, 1)); d = d.AddDate(0, 0, 1) {
		if !days[names[d.Weekday()]] {
			continue
		}
		if len(h.Weeks) > 0 {
			week := (d.Day()-1)/7 + 1
			last := d.AddDate(0, 0, 7).Month() != d.Month()
			if !slices.Contains(h.Weeks, week) && !(last && slices.Contains(h.Weeks, -1)) {
				continue
			}
		}
		start := time.Date(d.Year(), d.Month(), d.Day(), first.Hour(), first.Minute(), 0, 0, loc)
		end := start.Add(length)
		for _, o := range ev.Overrides {
			if o.RecurrenceID.Equal(start) {
				start, end = o.Start, o.End
			}
		}
		if !start.Before(from) && start.Before(to) {
			out = append(out, [2]string{utcString(start), utcString(end)})
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

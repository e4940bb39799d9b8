package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// conference logs 12 commitments met during a conference evening (Monday
// 2026-11-23 19:00–21:00 in New York), one every 10 minutes, after the
// event; the last three logged are starred. It returns them in logging
// order and the feed ETag after each.
func conference(h *harness, userID int64, dir followup.Direction, ny *time.Location, afterNine func()) ([]followup.Commitment, []string) {
	h.t.Helper()
	var cs []followup.Commitment
	var etags []string
	for i := range 12 {
		h.clock.Set(time.Date(2026, 11, 23, 21, 30+i, 0, 0, ny))
		met := time.Date(2026, 11, 23, 19, 10*i, 0, 0, ny)
		cs = append(cs, h.create(userID, followup.NewCommitment{
			Contact: followup.Contact{Name: fmt.Sprintf("Contact %d", i)}, MetAt: &met, MetWhere: "DevConf",
			Promise: "Send the slides", Direction: dir, Priority: i >= 9,
		}))
		etags = append(etags, h.feedVersion(userID).ETag)
		if i == 8 && afterNine != nil {
			afterNine()
		}
	}
	return cs, etags
}

// TestReplanConference checks that after a conference the follow-up hour
// holds the starred contacts first, then the oldest, even though the starred
// ones were logged last, and that moved blocks carry a higher SEQUENCE.
func TestReplanConference(t *testing.T) {
	ny := zone(t, "America/New_York")
	tue := func(hh, mm int) time.Time { return time.Date(2026, 11, 24, hh, mm, 0, 0, ny).UTC() }
	// The follow-up hour holds the refreshers of the starred contacts 9,
	// 10, 11, then of the oldest, 0.
	inHour := map[int]time.Time{9: tue(9, 0), 10: tue(9, 15), 11: tue(9, 30), 0: tue(9, 45)}
	// Without deliver blocks (theirs), the rest spill in order of age.
	spill := map[int]time.Time{}
	for i := 1; i <= 8; i++ {
		spill[i] = tue(9, 45).Add(time.Duration(i) * 15 * time.Minute)
	}
	for _, dir := range []followup.Direction{followup.Theirs, followup.Mine} {
		t.Run(string(dir), func(t *testing.T) {
			h := newHarness(t, time.Date(2026, 11, 23, 21, 30, 0, 0, ny).UTC())
			u := h.user("conf@example.com", "America/New_York")
			before := map[string]followup.Step{}
			cs, etags := conference(h, u.ID, dir, ny, func() {
				list, err := h.svc.List(h.ctx, u.ID, followup.CommitmentFilter{})
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range list {
					for _, s := range c.Steps {
						before[s.UID] = s
					}
				}
			})
			got, gotHour := map[int]time.Time{}, map[int]time.Time{}
			for i, c := range cs {
				s := step(t, h.get(u.ID, c.ID), followup.KindRefresher).Start.UTC()
				got[i] = s
				if !s.Before(tue(9, 0)) && s.Before(tue(10, 0)) {
					gotHour[i] = s
				}
			}
			if diff := cmp.Diff(inHour, gotHour); diff != "" {
				t.Errorf("refreshers in the follow-up hour by contact (-want +got):\n%s", diff)
			}
			if dir == followup.Theirs {
				for i := range gotHour {
					delete(got, i)
				}
				if diff := cmp.Diff(spill, got); diff != "" {
					t.Errorf("refreshers after the follow-up hour by contact (-want +got):\n%s", diff)
				}
			}
			// No two blocks overlap, and every block is inside working hours.
			var all []followup.Step
			for _, c := range cs {
				for _, s := range h.get(u.ID, c.ID).Steps {
					if s.Kind.IsBlock() {
						all = append(all, s)
					}
				}
			}
			for i, a := range all {
				l := a.Start.In(ny)
				if l.Hour() < 9 || a.End.In(ny).Hour() > 17 || (a.End.In(ny).Hour() == 17 && a.End.In(ny).Minute() > 0) {
					t.Errorf("%s block %v–%v is outside working hours", a.Kind, l, a.End.In(ny))
				}
				for _, b := range all[i+1:] {
					if (followup.Interval{Start: a.Start, End: a.End}).Overlaps(followup.Interval{Start: b.Start, End: b.End}) {
						t.Errorf("blocks overlap: %s %v and %s %v", a.Kind, a.Start.In(ny), b.Kind, b.Start.In(ny))
					}
				}
			}
			// Moved blocks have a higher SEQUENCE; blocks that stayed keep theirs.
			moved := 0
			for _, s := range all {
				b, ok := before[s.UID]
				if !ok {
					continue
				}
				if b.Start.Equal(s.Start) && b.End.Equal(s.End) {
					if s.Sequence != b.Sequence {
						t.Errorf("%s %s stayed at %v but its Sequence went %d -> %d", s.Kind, s.UID, s.Start, b.Sequence, s.Sequence)
					}
					continue
				}
				moved++
				if s.Sequence <= b.Sequence {
					t.Errorf("%s %s moved %v -> %v but its Sequence went %d -> %d", s.Kind, s.UID, b.Start, s.Start, b.Sequence, s.Sequence)
				}
			}
			if moved == 0 {
				t.Errorf("no block moved when the starred contacts arrived")
			}
			for i := 1; i < len(etags); i++ {
				if etags[i] == etags[i-1] {
					t.Errorf("feed ETag %s did not change when commitment %d was logged", etags[i], i)
				}
			}
		})
	}
}

// TestReplanKeepsWrittenBlocks checks that pinned and synced blocks stay put
// when a starred contact arrives, and that a synced block moves when a busy
// event now overlaps it.
func TestReplanKeepsWrittenBlocks(t *testing.T) {
	ny := zone(t, "America/New_York")
	tue := func(hh, mm int) time.Time { return time.Date(2026, 11, 24, hh, mm, 0, 0, ny).UTC() }
	h := newHarness(t, time.Date(2026, 11, 23, 21, 30, 0, 0, ny).UTC())
	u := h.user("pinned@example.com", "America/New_York")
	newOne := func(i int, starred bool) followup.Commitment {
		h.clock.Set(time.Date(2026, 11, 23, 21, 30+i, 0, 0, ny))
		met := time.Date(2026, 11, 23, 19, 10*i, 0, 0, ny)
		return h.create(u.ID, followup.NewCommitment{
			Contact: followup.Contact{Name: fmt.Sprintf("Contact %d", i)}, MetAt: &met,
			Promise: "Send the slides", Direction: followup.Theirs, Priority: starred,
		})
	}
	c0, c1 := newOne(0, false), newOne(1, false)
	r0, r1 := step(t, h.get(u.ID, c0.ID), followup.KindRefresher), step(t, h.get(u.ID, c1.ID), followup.KindRefresher)
	if !r0.Start.Equal(tue(9, 0)) || !r1.Start.Equal(tue(9, 15)) {
		t.Fatalf("refreshers at %v and %v, want Tuesday 09:00 and 09:15", r0.Start.In(ny), r1.Start.In(ny))
	}
	// The user moved r0 in their calendar app; r1 was written to CalDAV.
	r0.Pinned = true
	r1.Status, r1.RemoteETag, r1.RemoteSequence = followup.StepSynced, `"etag-1"`, r1.Sequence
	for _, s := range []*followup.Step{&r0, &r1} {
		if err := h.db.UpdateStep(h.ctx, s); err != nil {
			t.Fatal(err)
		}
	}

	c2 := newOne(2, true)
	if diff := cmp.Diff(r0, step(t, h.get(u.ID, c0.ID), followup.KindRefresher)); diff != "" {
		t.Errorf("pinned refresher changed when a starred contact arrived (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(r1, step(t, h.get(u.ID, c1.ID), followup.KindRefresher)); diff != "" {
		t.Errorf("synced refresher changed when a starred contact arrived (-before +after):\n%s", diff)
	}
	if got := step(t, h.get(u.ID, c2.ID), followup.KindRefresher).Start; !got.Equal(tue(9, 30)) {
		t.Errorf("starred refresher at %v, want the next free follow-up slot, Tuesday 09:30", got.In(ny))
	}

	// A busy event now overlaps the synced block: it moves, the pinned one stays.
	busy := followup.Interval{Start: tue(9, 15), End: tue(9, 30)}
	if err := h.db.PutBusySource(h.ctx, followup.BusySource{
		UserID: u.ID, URL: "https://cal.example/busy.ics", Kind: "ics",
		ICS: followup.ICSState{Intervals: []followup.Interval{busy}}, UpdatedAt: h.clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	newOne(3, false) // any change replans
	after0 := step(t, h.get(u.ID, c0.ID), followup.KindRefresher)
	if diff := cmp.Diff(r0, after0); diff != "" {
		t.Errorf("pinned refresher changed (-before +after):\n%s", diff)
	}
	after1 := step(t, h.get(u.ID, c1.ID), followup.KindRefresher)
	widened := followup.Interval{Start: busy.Start.Add(-5 * time.Minute), End: busy.End.Add(5 * time.Minute)}
	if widened.Overlaps(followup.Interval{Start: after1.Start, End: after1.End}) {
		t.Errorf("synced refresher still at %v–%v, overlapping the busy event with its buffer", after1.Start.In(ny), after1.End.In(ny))
	}
	if after1.Status != followup.StepPlanned || after1.Sequence <= r1.Sequence {
		t.Errorf("moved refresher: status %s Sequence %d, want planned (to be rewritten) and > %d", after1.Status, after1.Sequence, r1.Sequence)
	}
	for _, c := range []followup.Commitment{c2} {
		s := step(t, h.get(u.ID, c.ID), followup.KindRefresher)
		if widened.Overlaps(followup.Interval{Start: s.Start, End: s.End}) {
			t.Errorf("refresher of %s at %v overlaps the busy event", c.Contact.Name, s.Start.In(ny))
		}
	}
}

package followup_test

import (
	"testing"
	"time"

	"github.com/followup/followup"
)

// TestOwnWrite: an object is one of our writes only with the same SEQUENCE
// and the same instants; a user's move, with SEQUENCE bumped or kept, or
// the same wall clock with no zone, is not.
func TestOwnWrite(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 3, 10, h, 0, 0, 0, time.UTC) }
	s := followup.Step{Sequence: 3, Start: at(15), End: at(16),
		PendingWrites: []followup.PendingWrite{{Sequence: 1, Start: at(9), End: at(10)}, {Sequence: 2, Start: at(11), End: at(12)}}}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		r    followup.RemoteEvent
		want int // the sequence found, -1 for none
	}{
		{"the first write", followup.RemoteEvent{Sequence: 1, Start: at(9), End: at(10)}, 1},
		{"the second write, read in another zone", followup.RemoteEvent{Sequence: 2, Start: at(11).In(berlin), End: at(12).In(berlin)}, 2},
		{"the step as it is now", followup.RemoteEvent{Sequence: 3, Start: at(15), End: at(16)}, 3},
		{"the step's times, sequence bumped", followup.RemoteEvent{Sequence: 4, Start: at(15), End: at(16)}, -1},
		{"moved, sequence kept", followup.RemoteEvent{Sequence: 2, Start: at(13), End: at(14)}, -1},
		{"moved, sequence bumped onto a write of ours", followup.RemoteEvent{Sequence: 2, Start: at(9), End: at(10)}, -1},
		{"made longer", followup.RemoteEvent{Sequence: 1, Start: at(9), End: at(11)}, -1},
		{"same wall clock, no zone", followup.RemoteEvent{Sequence: 1, Start: at(9), End: at(10), Floating: true}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, ok := s.OwnWrite(tc.r)
			got := -1
			if ok {
				got = w.Sequence
			}
			if got != tc.want {
				t.Errorf("OwnWrite = %d, want %d", got, tc.want)
			}
		})
	}
}

package ics_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/ics"
)

// assemble builds f from pieces as the service does: the header with the
// zoned events only, each event apart, the footer.
func assemble(t *testing.T, f ics.Feed) []byte {
	t.Helper()
	var zoned []followup.Event
	for _, ev := range f.Events {
		if ev.Zone != nil {
			zoned = append(zoned, ev)
		}
	}
	head := f
	head.Events = zoned
	b, err := ics.AppendHeader(nil, head)
	if err != nil {
		t.Fatalf("AppendHeader: %v", err)
	}
	for i := range f.Events {
		if b, err = ics.AppendEvent(b, &f.Events[i], f.Now); err != nil {
			t.Fatalf("AppendEvent(%s): %v", f.Events[i].UID, err)
		}
	}
	return append(b, ics.Footer...)
}

// seriesFeed is a feed with blocks and two habit series in two zones, one
// with overrides and EXDATEs, and events without a Stamp.
func seriesFeed() ics.Feed {
	berlin := mustLoad("Europe/Berlin")
	master := followup.Event{
		UID: "habit-1@followup", Sequence: 3, Summary: "Follow-up call", Description: "Call one person",
		Start: time.Date(2026, 3, 2, 10, 0, 0, 0, ny), End: time.Date(2026, 3, 2, 10, 15, 0, 0, ny),
		Stamp: now, AlarmMinutes: 10, Zone: ny, RRule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
		ExDates: []time.Time{time.Date(2026, 3, 11, 10, 0, 0, 0, ny)},
	}
	ov := master
	ov.RRule, ov.ExDates = "", nil
	ov.RecurrenceID, ov.Start, ov.End = time.Date(2026, 3, 10, 10, 0, 0, 0, ny), time.Date(2026, 3, 10, 11, 0, 0, 0, ny), time.Date(2026, 3, 10, 11, 15, 0, 0, ny)
	master.Overrides = []followup.Event{ov}
	weekly := followup.Event{
		UID: "habit-2@followup", Summary: "Weekly review", Start: time.Date(2026, 1, 5, 9, 0, 0, 0, berlin),
		End: time.Date(2026, 1, 5, 9, 30, 0, 0, berlin), AlarmMinutes: -1, Zone: berlin, RRule: "FREQ=WEEKLY;BYDAY=MO",
	}
	unstamped := event()
	unstamped.UID, unstamped.Stamp = "unstamped@followup", time.Time{}
	evs := append(blocks(), unstamped, master, weekly)
	return ics.Feed{Name: "Follow-ups", Events: evs, Now: now}
}

// TestPiecesMatchEncode: a feed assembled from AppendHeader, AppendEvent
// and Footer is byte for byte what Encode writes, for every golden feed and
// one with series in two zones.
func TestPiecesMatchEncode(t *testing.T) {
	feeds := goldenFeeds()
	feeds["series"] = seriesFeed()
	many := ics.Feed{Name: "Follow-ups", Events: benchEvents(300), Now: now} // past Encode's flush size
	feeds["many"] = many
	for name, f := range feeds {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			if err := ics.Encode(&want, f); err != nil {
				t.Fatal(err)
			}
			if got := assemble(t, f); !bytes.Equal(want.Bytes(), got) {
				t.Errorf("assembled feed differs from Encode's:\n--- Encode\n%s\n--- pieces\n%s", want.Bytes(), got)
			}
		})
	}
}

// TestPiecesRefuseInvalid: an invalid event or time fails with EINVALID
// as Encode does, and leaves the buffer as it was.
func TestPiecesRefuseInvalid(t *testing.T) {
	noUID := event()
	noUID.UID = ""
	farOff := event()
	farOff.End = time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC)
	badOverride := seriesFeed().Events[len(blocks())+1]
	badOverride.Overrides[0].Start = time.Time{}
	prefix := []byte("kept")
	for name, ev := range map[string]followup.Event{"no uid": noUID, "year 10001": farOff, "override without start": badOverride} {
		got, err := ics.AppendEvent(prefix, &ev, now)
		if followup.ErrorCode(err) != followup.EINVALID || string(got) != "kept" {
			t.Errorf("%s: AppendEvent = %q, %v; want %q and EINVALID", name, got, err, "kept")
		}
		var buf bytes.Buffer
		if err := ics.Encode(&buf, ics.Feed{Events: []followup.Event{ev}}); followup.ErrorCode(err) != followup.EINVALID {
			t.Errorf("%s: Encode error %v, want EINVALID", name, err)
		}
	}
	ok := event()
	if _, err := ics.AppendEvent(nil, &ok, time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)); followup.ErrorCode(err) != followup.EINVALID {
		t.Errorf("AppendEvent with now in year -1: %v, want EINVALID", err)
	}
	if got, err := ics.AppendHeader(prefix, ics.Feed{Events: []followup.Event{noUID}}); followup.ErrorCode(err) != followup.EINVALID || string(got) != "kept" {
		t.Errorf("AppendHeader with an invalid event = %q, %v; want %q and EINVALID", got, err, "kept")
	}
}

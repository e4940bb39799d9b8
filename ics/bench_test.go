package ics_test

import (
	"encoding/json"
	"io"
	"strconv"
	"testing"
	"time"

	goics "github.com/arran4/golang-ical"

	"github.com/followup/followup"
	"github.com/followup/followup/ics"
)

// benchEvents returns n realistic blocks built by BlockEvent.
func benchEvents(n int) []followup.Event {
	base := blocks()
	evs := make([]followup.Event, n)
	for i := range evs {
		ev := base[i%len(base)]
		ev.UID = "step-" + strconv.Itoa(i) + "@followup"
		ev.Start = ev.Start.Add(time.Duration(i) * time.Hour)
		ev.End = ev.End.Add(time.Duration(i) * time.Hour)
		evs[i] = ev
	}
	return evs
}

// BenchmarkEncode10000 encodes a feed of 10,000 blocks (target: < 25 ms).
func BenchmarkEncode10000(b *testing.B) {
	f := ics.Feed{Name: "Follow-ups", Events: benchEvents(10000), Now: now}
	cw := &countWriter{}
	for b.Loop() {
		if err := ics.Encode(cw, f); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(cw.n / int64(b.N))
}

// BenchmarkReference JSON-encodes the same 10,000 events, so that the
// encoder's speed can be given as a ratio on any machine.
func BenchmarkReference(b *testing.B) {
	evs := benchEvents(10000)
	cw := &countWriter{}
	for b.Loop() {
		if err := json.NewEncoder(cw).Encode(evs); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(cw.n / int64(b.N))
}

// BenchmarkGolangICal builds and serializes the same feed with
// golang-ical, the alternative the hand-written encoder replaces.
func BenchmarkGolangICal(b *testing.B) {
	f := ics.Feed{Name: "Follow-ups", Events: benchEvents(10000), Now: now}
	cw := &countWriter{}
	for b.Loop() {
		if err := libCalendar(f).SerializeTo(cw, goics.WithNewLineWindows); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(cw.n / int64(b.N))
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)

// libCalendar builds the feed with golang-ical's own API, property for
// property in Encode's order, except that each category is its own
// CATEGORIES property (golang-ical would escape the list's commas).
func libCalendar(f ics.Feed) *goics.Calendar {
	cal := goics.NewCalendarFor("x")
	cal.SetProductId(ics.ProductID)
	cal.SetCalscale("GREGORIAN")
	cal.SetMethod(goics.MethodPublish)
	if f.Name != "" {
		cal.SetXWRCalName(f.Name)
	}
	ttl := "PT15M" // whole hours and minutes only
	if d := f.RefreshInterval; d > 0 {
		ttl = "PT"
		if h := int(d / time.Hour); h > 0 {
			ttl += strconv.Itoa(h) + "H"
		}
		if m := int(d % time.Hour / time.Minute); m > 0 {
			ttl += strconv.Itoa(m) + "M"
		}
	}
	cal.SetRefreshInterval(ttl) // adds VALUE=DURATION
	cal.SetXPublishedTTL(ttl)
	for _, ev := range f.Events {
		e := cal.AddEvent(ev.UID)
		e.SetSequence(ev.Sequence)
		stamp := ev.Stamp
		if stamp.IsZero() {
			stamp = f.Now
		}
		e.SetDtStampTime(stamp)
		if !ev.Created.IsZero() {
			e.SetCreatedTime(ev.Created)
		}
		if !ev.Stamp.IsZero() {
			e.SetLastModifiedAt(ev.Stamp)
		}
		e.SetStartAt(ev.Start)
		if ev.End.After(ev.Start) {
			e.SetEndAt(ev.End)
		}
		if ev.Summary != "" {
			e.SetSummary(ev.Summary)
		}
		if ev.Description != "" {
			e.SetDescription(ev.Description)
		}
		if ev.Location != "" {
			e.SetLocation(ev.Location)
		}
		if ev.URL != "" {
			e.SetURL(ev.URL)
		}
		for _, c := range ev.Categories {
			e.AddCategory(c)
		}
		e.SetStatus(goics.ObjectStatusConfirmed)
		e.SetTimeTransparency(goics.TransparencyOpaque)
		if ev.AlarmMinutes >= 0 {
			a := e.AddAlarm()
			a.SetAction(goics.ActionDisplay)
			desc := ev.Summary
			if desc == "" {
				desc = "Reminder"
			}
			a.SetProperty(goics.ComponentPropertyDescription, desc)
			a.SetTrigger("-PT" + strconv.Itoa(ev.AlarmMinutes) + "M")
		}
	}
	return cal
}

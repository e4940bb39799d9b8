package ics_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	goics "github.com/arran4/golang-ical"
	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/ics"
)

// TestSeries writes a habit's series in New York with one override:
// local times with TZID, the RRULE, the override with the same UID and a
// RECURRENCE-ID, and one VTIMEZONE with the zone's yearly rules, as
// golang-ical parses them.
func TestSeries(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(m time.Month, d, h, mi int) time.Time { return time.Date(2026, m, d, h, mi, 0, 0, ny) }
	master := followup.Event{
		UID: "habit-1@followup", Sequence: 3, Summary: "Follow-up call", Start: at(3, 2, 10, 0), End: at(3, 2, 10, 15),
		Stamp: now, AlarmMinutes: 10, Zone: ny, RRule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
	}
	ov := master
	ov.RRule, ov.RecurrenceID, ov.Start, ov.End = "", at(3, 10, 10, 0), at(3, 10, 11, 0), at(3, 10, 11, 15)
	master.Overrides = []followup.Event{ov}
	other := followup.Event{UID: "step-2@followup", Start: at(3, 3, 12, 0), End: at(3, 3, 12, 30), Summary: "Deliver"}
	var buf bytes.Buffer
	if err := ics.Encode(&buf, ics.Feed{Name: "Follow-ups", Events: []followup.Event{master, other}, Now: now}); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, line := range []string{
		"DTSTART;TZID=America/New_York:20260302T100000", "DTEND;TZID=America/New_York:20260302T101500",
		"RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "RECURRENCE-ID;TZID=America/New_York:20260310T100000",
		"DTSTART;TZID=America/New_York:20260310T110000", "DTSTART:20260303T170000Z",
		"TZOFFSETFROM:-0500", "TZOFFSETTO:-0400", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
	} {
		if !strings.Contains(text, "\r\n"+line+"\r\n") {
			t.Errorf("feed lacks %q:\n%s", line, text)
		}
	}
	if n := strings.Count(text, "BEGIN:VTIMEZONE"); n != 1 || strings.Index(text, "BEGIN:VTIMEZONE") > strings.Index(text, "BEGIN:VEVENT") {
		t.Errorf("%d VTIMEZONE, want one before the events", n)
	}
	cal, err := goics.ParseCalendar(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, ev := range cal.Events() {
		uids = append(uids, ev.Id())
	}
	if diff := cmp.Diff([]string{"habit-1@followup", "habit-1@followup", "step-2@followup"}, uids); diff != "" {
		t.Errorf("VEVENT UIDs (-want +got):\n%s", diff)
	}
	start, err := cal.Events()[0].GetStartAt()
	if err != nil || !start.Equal(master.Start) {
		t.Errorf("golang-ical reads DTSTART %v (%v), want %v", start, err, master.Start)
	}
}

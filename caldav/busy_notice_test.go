package caldav_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/followup/followup"
)

// TestBusyNotice: a CalDAV calendar whose events make more busy times than
// a source may hold is cut at the limit and named in the state's notice;
// an incremental read that changes nothing keeps the notice.
func TestBusyNotice(t *testing.T) {
	b := newMemBackend("Work")
	var minutes []string
	for m := 0; m < 60; m += 5 {
		minutes = append(minutes, fmt.Sprint(m))
	}
	// Every five minutes, all day, for 90 days: 25,920 busy times.
	b.putRaw(t, "/alice/calendars/work/a.ics", crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//other client//EN
BEGIN:VEVENT
UID:often@other.test
DTSTAMP:20260201T000000Z
DTSTART:20260301T000000Z
DURATION:PT5M
RRULE:FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=`+strings.Join(minutes, ",")+`
END:VEVENT
END:VCALENDAR
`))
	srv, _ := newMemServer(t, b)
	c := newClient()
	ctx := context.Background()
	calURL := srv.URL + "/alice/calendars/work/"
	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-05-30T00:00:00Z")
	read, err := c.Busy(ctx, account(srv.URL), calURL, from, to, followup.BusyState{})
	if err != nil {
		t.Fatalf("Busy: %v", err)
	}
	want := "busy source " + calURL + ": 1 event; only the first 20,000 busy times inside the planning window were read."
	if read.State.Notice != want || len(read.State.Intervals()) != 20000 {
		t.Errorf("notice %q with %d intervals, want %q with 20000", read.State.Notice, len(read.State.Intervals()), want)
	}
	again, err := c.Busy(ctx, account(srv.URL), calURL, from, to, read.State)
	if err != nil || again.Changed || again.State.Notice != want {
		t.Errorf("Busy again: Changed %v notice %q, %v; want unchanged with the notice", again.Changed, again.State.Notice, err)
	}
}

package caldav

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// parseBusy reads data as a source whole, within the usual limits.
func parseBusy(data []byte, from, to time.Time) ([]followup.Interval, error) {
	lim := sourceLimits
	ivs, _, err := readBusy(context.Background(), data, from, to, &lim)
	return ivs, err
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// vcal wraps VEVENT lines into a VCALENDAR with CRLF line ends.
func vcal(events ...string) string {
	s := "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n"
	for _, e := range events {
		s += "BEGIN:VEVENT\nDTSTAMP:20260101T000000Z\n" + strings.TrimSpace(e) + "\nEND:VEVENT\n"
	}
	s += "END:VCALENDAR\n"
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func iv(start, end string) followup.Interval {
	return followup.Interval{Start: ts(start), End: ts(end)}
}

func floating(start, end string) followup.Interval {
	return followup.Interval{Start: ts(start), End: ts(end), Floating: true}
}

func day(start, end string) followup.Interval {
	return followup.Interval{Start: ts(start + "T00:00:00Z"), End: ts(end + "T00:00:00Z"), AllDay: true}
}

func TestParseBusy(t *testing.T) {
	from, to := ts("2026-03-01T00:00:00Z"), ts("2026-04-01T00:00:00Z")
	for _, tc := range []struct {
		name string
		ics  string
		want []followup.Interval
	}{
		{"one-off UTC", vcal(`UID:a
DTSTART:20260305T130000Z
DTEND:20260305T140000Z`), []followup.Interval{iv("2026-03-05T13:00:00Z", "2026-03-05T14:00:00Z")}},
		{"DURATION instead of DTEND", vcal(`UID:a
DTSTART:20260305T130000Z
DURATION:PT45M`), []followup.Interval{iv("2026-03-05T13:00:00Z", "2026-03-05T13:45:00Z")}},
		{"outside the window", vcal(`UID:a
DTSTART:20260405T130000Z
DTEND:20260405T140000Z`), nil},
		{"overlapping the window start", vcal(`UID:a
DTSTART:20260228T230000Z
DTEND:20260301T010000Z`), []followup.Interval{iv("2026-02-28T23:00:00Z", "2026-03-01T01:00:00Z")}},
		{"timed without end takes no time", vcal(`UID:a
DTSTART:20260305T130000Z`), nil},
		{"transparent", vcal(`UID:a
DTSTART:20260305T130000Z
DTEND:20260305T140000Z
TRANSP:TRANSPARENT`), nil},
		{"cancelled", vcal(`UID:a
DTSTART:20260305T130000Z
DTEND:20260305T140000Z
STATUS:CANCELLED`), nil},
		{"TZID New York", vcal(`UID:a
DTSTART;TZID=America/New_York:20260305T090000
DTEND;TZID=America/New_York:20260305T100000`), []followup.Interval{iv("2026-03-05T14:00:00Z", "2026-03-05T15:00:00Z")}},
		{"Windows TZID", vcal(`UID:a
DTSTART;TZID=Pacific Standard Time:20260305T090000
DTEND;TZID=Pacific Standard Time:20260305T100000`), []followup.Interval{iv("2026-03-05T17:00:00Z", "2026-03-05T18:00:00Z")}},
		{"prefixed TZID", vcal(`UID:a
DTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260305T090000
DTEND;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260305T100000`), []followup.Interval{iv("2026-03-05T08:00:00Z", "2026-03-05T09:00:00Z")}},
		{"unknown TZID is floating", vcal(`UID:a
DTSTART;TZID=Mars/Olympus_Mons:20260305T090000
DTEND;TZID=Mars/Olympus_Mons:20260305T100000`), []followup.Interval{floating("2026-03-05T09:00:00Z", "2026-03-05T10:00:00Z")}},
		{"floating keeps its wall clock", vcal(`UID:a
DTSTART:20260305T090000
DTEND:20260305T100000`), []followup.Interval{floating("2026-03-05T09:00:00Z", "2026-03-05T10:00:00Z")}},
		{"floating weekly", vcal(`UID:a
DTSTART:20260302T090000
DTEND:20260302T093000
RRULE:FREQ=WEEKLY;COUNT=2`), []followup.Interval{floating("2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z"), floating("2026-03-09T09:00:00Z", "2026-03-09T09:30:00Z")}},
		{"all-day", vcal(`UID:a
DTSTART;VALUE=DATE:20260310
DTEND;VALUE=DATE:20260312`), []followup.Interval{day("2026-03-10", "2026-03-12")}},
		{"all-day without DTEND is one day", vcal(`UID:a
DTSTART;VALUE=DATE:20260310`), []followup.Interval{day("2026-03-10", "2026-03-11")}},
		{"all-day just before the window is kept for the caller", vcal(`UID:a
DTSTART;VALUE=DATE:20260228
DTEND;VALUE=DATE:20260301`), []followup.Interval{day("2026-02-28", "2026-03-01")}},
		{"all-day weekly with DURATION", vcal(`UID:a
DTSTART;VALUE=DATE:20260302
DURATION:P1D
RRULE:FREQ=WEEKLY;UNTIL=20260316`), []followup.Interval{day("2026-03-02", "2026-03-03"), day("2026-03-09", "2026-03-10"), day("2026-03-16", "2026-03-17")}},
		{"daily across New York DST", vcal(`UID:a
DTSTART;TZID=America/New_York:20260307T090000
DTEND;TZID=America/New_York:20260307T093000
RRULE:FREQ=DAILY;COUNT=3`), []followup.Interval{
			iv("2026-03-07T14:00:00Z", "2026-03-07T14:30:00Z"),
			iv("2026-03-08T13:00:00Z", "2026-03-08T13:30:00Z"),
			iv("2026-03-09T13:00:00Z", "2026-03-09T13:30:00Z"),
		}},
		{"EXDATE list and RDATE", vcal(`UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE:20260309T100000Z,20260316T100000Z
RDATE:20260304T150000Z`), []followup.Interval{
			iv("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
			iv("2026-03-04T15:00:00Z", "2026-03-04T16:00:00Z"),
			iv("2026-03-23T10:00:00Z", "2026-03-23T11:00:00Z"),
		}},
		{"RDATE period", vcal(`UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RDATE;VALUE=PERIOD:20260304T150000Z/20260304T170000Z,20260305T080000Z/PT30M`), []followup.Interval{
			iv("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
			iv("2026-03-04T15:00:00Z", "2026-03-04T17:00:00Z"),
			iv("2026-03-05T08:00:00Z", "2026-03-05T08:30:00Z"),
		}},
		{"EXDATE as a date on a timed series", vcal(`UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RRULE:FREQ=DAILY;COUNT=3
EXDATE;VALUE=DATE:20260303`), []followup.Interval{
			iv("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
			iv("2026-03-04T10:00:00Z", "2026-03-04T11:00:00Z"),
		}},
		{"override moves, another cancels", vcal(`UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RRULE:FREQ=WEEKLY;COUNT=3`, `UID:a
RECURRENCE-ID:20260309T100000Z
DTSTART:20260310T160000Z
DTEND:20260310T170000Z`, `UID:a
RECURRENCE-ID:20260316T100000Z
DTSTART:20260316T100000Z
DTEND:20260316T110000Z
STATUS:CANCELLED`), []followup.Interval{
			iv("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
			iv("2026-03-10T16:00:00Z", "2026-03-10T17:00:00Z"),
		}},
		{"cancelled series keeps a confirmed override", vcal(`UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RRULE:FREQ=WEEKLY;COUNT=3
STATUS:CANCELLED`, `UID:a
RECURRENCE-ID:20260309T100000Z
DTSTART:20260309T100000Z
DTEND:20260309T110000Z
STATUS:CONFIRMED`), []followup.Interval{iv("2026-03-09T10:00:00Z", "2026-03-09T11:00:00Z")}},
		{"override before its master in the file", vcal(`UID:a
RECURRENCE-ID;TZID=Europe/Berlin:20260309T100000
DTSTART;TZID=Europe/Berlin:20260309T120000
DTEND;TZID=Europe/Berlin:20260309T130000`, `UID:a
DTSTART;TZID=Europe/Berlin:20260302T100000
DTEND;TZID=Europe/Berlin:20260302T110000
RRULE:FREQ=WEEKLY;UNTIL=20260310T000000Z`), []followup.Interval{
			iv("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
			iv("2026-03-09T11:00:00Z", "2026-03-09T12:00:00Z"),
		}},
		{"series started long ago", vcal(`UID:a
DTSTART:20000103T100000Z
DTEND:20000103T110000Z
RRULE:FREQ=WEEKLY;BYDAY=MO`), []followup.Interval{
			iv("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
			iv("2026-03-09T10:00:00Z", "2026-03-09T11:00:00Z"),
			iv("2026-03-16T10:00:00Z", "2026-03-16T11:00:00Z"),
			iv("2026-03-23T10:00:00Z", "2026-03-23T11:00:00Z"),
			iv("2026-03-30T10:00:00Z", "2026-03-30T11:00:00Z"),
		}},
		{"hourly rule counts only DTSTART", vcal(`UID:a
DTSTART:20260302T100000Z
DTEND:20260302T101500Z
RRULE:FREQ=HOURLY`), []followup.Interval{iv("2026-03-02T10:00:00Z", "2026-03-02T10:15:00Z")}},
		{"bad event skipped, good kept", vcal(`UID:bad
DTSTART:garbage`, `UID:good
DTSTART:20260305T130000Z
DTEND:20260305T140000Z`), []followup.Interval{iv("2026-03-05T13:00:00Z", "2026-03-05T14:00:00Z")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseBusy([]byte(tc.ics), from, to)
			if err != nil {
				t.Fatalf("parseBusy: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parseBusy (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseBusyErrors(t *testing.T) {
	for _, tc := range []struct{ name, ics string }{
		{"empty", ""},
		{"HTML", "<html><body>hi</body></html>"},
		{"unterminated", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"},
		{"not a calendar", "BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseBusy([]byte(tc.ics), ts("2026-03-01T00:00:00Z"), ts("2026-04-01T00:00:00Z")); err == nil {
				t.Errorf("parseBusy(%q) succeeded, want an error", tc.ics)
			}
		})
	}
}

// FuzzParseBusy feeds arbitrary text to the ICS parser and the recurrence
// expansion: no panics, no hangs, no empty intervals, never more than a
// source may hold.
func FuzzParseBusy(f *testing.F) {
	f.Add(vcal("UID:a\nDTSTART:20260302T100000Z\nDTEND:20260302T110000Z\nRRULE:FREQ=WEEKLY;COUNT=4\nEXDATE:20260309T100000Z"))
	f.Add(vcal("UID:a\nDTSTART;VALUE=DATE:20260302\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"))
	f.Add(vcal("UID:a\nDTSTART;TZID=Europe/Berlin:20260302T100000\nDURATION:P1DT2H\nRDATE;VALUE=PERIOD:20260304T150000Z/PT1H"))
	f.Add(vcal("UID:a\nDTSTART:20260302T100000Z\nDTEND:20260302T110000Z\nRRULE:FREQ=DAILY;BYSETPOS=-400;BYDAY=MO"))
	f.Add(vcal("UID:a\nRECURRENCE-ID:20260309T100000Z\nDTSTART:20260309T100000Z\nDTEND:20260301T110000Z"))
	f.Add(vcal("UID:a\nDTSTART:19000101T090000Z\nDURATION:PT30M\nRRULE:FREQ=DAILY;COUNT=46070"))
	f.Add(vcal("UID:a\nDTSTART;TZID=America/New_York:16000101T090000\nDURATION:PT1H\nRRULE:FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13;COUNT=900"))
	f.Add(vcal("UID:a\nDTSTART:19000101T090000Z\nDURATION:PT1H\nRRULE:FREQ=YEARLY;BYWEEKNO=-1,1,53;BYDAY=MO;WKST=SU;BYSETPOS=2,-1"))
	f.Add(vcal("UID:a\nDTSTART:00010101T000000Z\nDURATION:PT1H\nRRULE:FREQ=WEEKLY;INTERVAL=1000000;BYYEARDAY=-366,366"))
	f.Add(vcal("UID:a\nDTSTART:99991231T230000Z\nDURATION:P400Y\nRRULE:FREQ=DAILY;BYHOUR=0,23;BYMINUTE=0,59;BYSECOND=0,60"))
	f.Add("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;;;=:\r\n")
	from, to := ts("2026-03-01T00:00:00Z"), ts("2026-04-01T00:00:00Z")
	f.Fuzz(func(t *testing.T, data string) {
		start := time.Now()
		ivs, err := parseBusy([]byte(data), from, to)
		if err != nil {
			return
		}
		for _, iv := range ivs {
			if !iv.End.After(iv.Start) {
				t.Errorf("empty or reversed interval %v", iv)
			}
		}
		if len(ivs) > maxSourceInstances {
			t.Errorf("%d intervals, more than a source may hold", len(ivs))
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("parseBusy took %v", d)
		}
	})
}

func TestObjectURL(t *testing.T) {
	col, _ := url.Parse("https://cal.example.com/alice/follow-ups/")
	for _, tc := range []struct{ uid, want string }{
		{"step-12@followup", "https://cal.example.com/alice/follow-ups/step-12%40followup.ics"},
		{"a/b c", "https://cal.example.com/alice/follow-ups/a%2Fb%20c.ics"},
		{"..", "https://cal.example.com/alice/follow-ups/%2E..ics"},
		{"Ünï", "https://cal.example.com/alice/follow-ups/%C3%9Cn%C3%AF.ics"},
	} {
		u, err := objectURL(col, tc.uid)
		if err != nil {
			t.Fatalf("objectURL(%q): %v", tc.uid, err)
		}
		if got := u.String(); got != tc.want {
			t.Errorf("objectURL(%q) = %s, want %s", tc.uid, got, tc.want)
		}
	}
	if _, err := objectURL(col, ""); followup.ErrorCode(err) != followup.EINVALID {
		t.Errorf("objectURL(\"\"): %v, want EINVALID", err)
	}
}

func TestEncodeEvent(t *testing.T) {
	ev := followup.Event{
		UID: "s1@f", Sequence: 3, Summary: "Send deck; v2, final", Description: "Line 1\nLine 2",
		Start: ts("2026-03-10T14:00:00+01:00"), End: ts("2026-03-10T14:30:00+01:00"),
		Stamp: ts("2026-03-01T08:00:00Z"), AlarmMinutes: -1, Categories: []string{"followup", "chase"},
	}
	b, err := encodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, line := range []string{"UID:s1@f", "SEQUENCE:3", "DTSTART:20260310T130000Z", "DTEND:20260310T133000Z",
		"DTSTAMP:20260301T080000Z", `SUMMARY:Send deck\; v2\, final`, `DESCRIPTION:Line 1\nLine 2`, "CATEGORIES:followup,chase"} {
		if !strings.Contains(s, line+"\r\n") {
			t.Errorf("object lacks %q:\n%s", line, s)
		}
	}
	if strings.Contains(s, "VALARM") || strings.Contains(s, "METHOD") {
		t.Errorf("object has a VALARM or METHOD:\n%s", s)
	}
	ev.End = ev.Start
	if _, err := encodeEvent(ev); followup.ErrorCode(err) != followup.EINVALID {
		t.Errorf("encodeEvent with End == Start: %v, want EINVALID", err)
	}
}

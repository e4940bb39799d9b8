package duetext

import (
	"strings"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/google/go-cmp/cmp"
)

var eod = followup.Clock{Hour: 17, Minute: 0}

func mustLoc(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// mustTime parses an RFC 3339 time.
func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

type parseCase struct {
	text string
	want string // RFC 3339 in the zone of the test
}

// run checks each case against Parse at now in zone, comparing RFC 3339
// strings so the offset is part of the check.
func run(t *testing.T, zone, now string, cases []parseCase) {
	t.Helper()
	loc := mustLoc(t, zone)
	n := mustTime(t, now)
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			got, err := Parse(tc.text, n, loc, eod)
			if err != nil {
				t.Fatalf("Parse(%q) at %s: %v", tc.text, now, err)
			}
			if diff := cmp.Diff(tc.want, got.In(loc).Format(time.RFC3339)); diff != "" {
				t.Errorf("Parse(%q) at %s (-want +got):\n%s", tc.text, now, diff)
			}
		})
	}
}

// TestParseWednesday covers every phrase from a Wednesday morning in New
// York (2026-11-25 10:00 EST, the contract's example week).
func TestParseWednesday(t *testing.T) {
	run(t, "America/New_York", "2026-11-25T10:00:00-05:00", []parseCase{
		{"today", "2026-11-25T17:00:00-05:00"},
		{"  TODAY!! ", "2026-11-25T17:00:00-05:00"},
		{"tonight", "2026-11-25T17:00:00-05:00"},
		{"eod", "2026-11-25T17:00:00-05:00"},
		{"EOD.", "2026-11-25T17:00:00-05:00"},
		{"by end of day", "2026-11-25T17:00:00-05:00"},
		{"asap", "2026-11-25T17:00:00-05:00"},
		{"ASAP!", "2026-11-25T17:00:00-05:00"},
		{"tomorrow", "2026-11-26T17:00:00-05:00"},
		{"by   tomorrow", "2026-11-26T17:00:00-05:00"},
		{"tmrw", "2026-11-26T17:00:00-05:00"},
		{"end of tomorrow", "2026-11-26T17:00:00-05:00"},
		{"day after tomorrow", "2026-11-27T17:00:00-05:00"},
		{"in 3 days", "2026-11-28T17:00:00-05:00"},
		{"In 3 Days.", "2026-11-28T17:00:00-05:00"},
		{"within 3 days", "2026-11-28T17:00:00-05:00"},
		{"3 days from now", "2026-11-28T17:00:00-05:00"},
		{"in three days", "2026-11-28T17:00:00-05:00"},
		{"in a couple of days", "2026-11-27T17:00:00-05:00"},
		{"in a day", "2026-11-26T17:00:00-05:00"},
		{"in 1 day", "2026-11-26T17:00:00-05:00"},
		{"in 2 weeks", "2026-12-09T17:00:00-05:00"},
		{"in a week", "2026-12-02T17:00:00-05:00"},
		{"in a month", "2026-12-25T17:00:00-05:00"},
		{"in an hour", "2026-11-25T11:00:00-05:00"},
		{"in 3 hours", "2026-11-25T13:00:00-05:00"},
		{"in 30 minutes", "2026-11-25T10:30:00-05:00"},
		{"by Friday", "2026-11-27T17:00:00-05:00"},
		{"Friday", "2026-11-27T17:00:00-05:00"},
		{"fri", "2026-11-27T17:00:00-05:00"},
		{"this friday", "2026-11-27T17:00:00-05:00"},
		{"on Friday.", "2026-11-27T17:00:00-05:00"},
		{"this coming friday", "2026-11-27T17:00:00-05:00"},
		{"by friday at the latest", "2026-11-27T17:00:00-05:00"},
		{"wednesday", "2026-11-25T17:00:00-05:00"},
		{"monday", "2026-11-30T17:00:00-05:00"},
		{"tues", "2026-12-01T17:00:00-05:00"},
		{"next Friday", "2026-12-04T17:00:00-05:00"},
		{"friday next week", "2026-12-04T17:00:00-05:00"},
		{"next monday", "2026-11-30T17:00:00-05:00"},
		{"next wednesday", "2026-12-02T17:00:00-05:00"},
		{"next week", "2026-12-04T17:00:00-05:00"},
		{"by the end of next week", "2026-12-04T17:00:00-05:00"},
		{"this week", "2026-11-27T17:00:00-05:00"},
		{"end of week", "2026-11-27T17:00:00-05:00"},
		{"by the end of the week", "2026-11-27T17:00:00-05:00"},
		{"eow", "2026-11-27T17:00:00-05:00"},
		{"end of month", "2026-11-30T17:00:00-05:00"},
		{"by the end of the month", "2026-11-30T17:00:00-05:00"},
		{"eom", "2026-11-30T17:00:00-05:00"},
		{"end of next month", "2026-12-31T17:00:00-05:00"},
		{"next month", "2026-12-31T17:00:00-05:00"},
		{"end of year", "2026-12-31T17:00:00-05:00"},
		{"Dec 3", "2026-12-03T17:00:00-05:00"},
		{"dec. 3", "2026-12-03T17:00:00-05:00"},
		{"3 Dec", "2026-12-03T17:00:00-05:00"},
		{"December 3rd", "2026-12-03T17:00:00-05:00"},
		{"3rd of December", "2026-12-03T17:00:00-05:00"},
		{"on the 3rd of december", "2026-12-03T17:00:00-05:00"},
		{"Dec 3 2026", "2026-12-03T17:00:00-05:00"},
		{"Dec 3, 2026", "2026-12-03T17:00:00-05:00"},
		{"3 December 2027", "2027-12-03T17:00:00-05:00"},
		{"Nov 25", "2026-11-25T17:00:00-05:00"},
		{"Nov 1", "2027-11-01T17:00:00-04:00"},
		{"Jan 15", "2027-01-15T17:00:00-05:00"},
		{"Feb 29", "2028-02-29T17:00:00-05:00"},
		{"Dec 3 2025", "2025-12-03T17:00:00-05:00"},
		{"the 3rd", "2026-12-03T17:00:00-05:00"},
		{"by the 30th", "2026-11-30T17:00:00-05:00"},
		{"the 25th", "2026-11-25T17:00:00-05:00"},
		{"the 31st", "2026-12-31T17:00:00-05:00"},
		{"2026-12-03", "2026-12-03T17:00:00-05:00"},
		{"2026-12-03T15:00:00-05:00", "2026-12-03T15:00:00-05:00"},
		{"2026-12-03T20:00:00Z", "2026-12-03T15:00:00-05:00"},
		{"2026-12-03t20:00:00z", "2026-12-03T15:00:00-05:00"},
		{"2026-12-03 15:00", "2026-12-03T15:00:00-05:00"},
		{"2026-12-03T15:00", "2026-12-03T15:00:00-05:00"},
		{"by tomorrow 3pm", "2026-11-26T15:00:00-05:00"},
		{"tomorrow at 15:00", "2026-11-26T15:00:00-05:00"},
		{"tomorrow at 3:30 p.m.", "2026-11-26T15:30:00-05:00"},
		{"3pm tomorrow", "2026-11-26T15:00:00-05:00"},
		{"tomorrow noon", "2026-11-26T12:00:00-05:00"},
		{"tomorrow 12am", "2026-11-26T00:00:00-05:00"},
		{"tomorrow 12pm", "2026-11-26T12:00:00-05:00"},
		{"tomorrow 9 am", "2026-11-26T09:00:00-05:00"},
		{"friday 3pm", "2026-11-27T15:00:00-05:00"},
		{"3pm on friday", "2026-11-27T15:00:00-05:00"},
		{"Dec 3 at 10:15", "2026-12-03T10:15:00-05:00"},
		{"in 2 days at 9am", "2026-11-27T09:00:00-05:00"},
		{"today at 4pm", "2026-11-25T16:00:00-05:00"},
		{"by 3pm", "2026-11-25T15:00:00-05:00"},
		{"at 15:00", "2026-11-25T15:00:00-05:00"},
		{"by 9am", "2026-11-26T09:00:00-05:00"},
		{"friday eod", "2026-11-27T17:00:00-05:00"},
		{"eod friday", "2026-11-27T17:00:00-05:00"},
		{"end of day on friday", "2026-11-27T17:00:00-05:00"},
		{"end of friday", "2026-11-27T17:00:00-05:00"},
		{"tomorrow eod", "2026-11-26T17:00:00-05:00"},
	})
}

// TestParseEvening checks phrases said after the end of the working day.
func TestParseEvening(t *testing.T) {
	run(t, "America/New_York", "2026-11-25T18:30:00-05:00", []parseCase{
		{"today", "2026-11-25T23:59:00-05:00"},
		{"tonight", "2026-11-25T23:59:00-05:00"},
		{"eod", "2026-11-25T23:59:00-05:00"},
		{"asap", "2026-11-26T17:00:00-05:00"},
		{"wednesday", "2026-12-02T17:00:00-05:00"},
		{"by 3pm", "2026-11-26T15:00:00-05:00"},
		{"today at 9pm", "2026-11-25T21:00:00-05:00"},
		{"Nov 25", "2026-11-25T17:00:00-05:00"},
	})
}

// TestParseFriday pins "by Friday" said on a Friday: today while the working
// day lasts, next week's Friday after it.
func TestParseFriday(t *testing.T) {
	t.Run("morning", func(t *testing.T) {
		run(t, "America/New_York", "2026-11-27T09:00:00-05:00", []parseCase{
			{"by Friday", "2026-11-27T17:00:00-05:00"},
			{"fri", "2026-11-27T17:00:00-05:00"},
			{"this friday", "2026-11-27T17:00:00-05:00"},
			{"next friday", "2026-12-04T17:00:00-05:00"},
			{"this week", "2026-11-27T17:00:00-05:00"},
			{"next week", "2026-12-04T17:00:00-05:00"},
			{"friday 3pm", "2026-11-27T15:00:00-05:00"},
			{"friday 8am", "2026-12-04T08:00:00-05:00"},
			{"monday", "2026-11-30T17:00:00-05:00"},
			{"tomorrow", "2026-11-28T17:00:00-05:00"},
		})
	})
	t.Run("evening", func(t *testing.T) {
		run(t, "America/New_York", "2026-11-27T18:00:00-05:00", []parseCase{
			{"by Friday", "2026-12-04T17:00:00-05:00"},
			{"this week", "2026-12-04T17:00:00-05:00"},
			{"next week", "2026-12-04T17:00:00-05:00"},
			{"friday 3pm", "2026-12-04T15:00:00-05:00"},
		})
	})
}

// TestParseWeekend checks weekday and week phrases said on Saturday and Sunday.
func TestParseWeekend(t *testing.T) {
	t.Run("saturday", func(t *testing.T) {
		run(t, "America/New_York", "2026-11-28T10:00:00-05:00", []parseCase{
			{"friday", "2026-12-04T17:00:00-05:00"},
			{"next friday", "2026-12-04T17:00:00-05:00"},
			{"this week", "2026-12-04T17:00:00-05:00"},
			{"next week", "2026-12-04T17:00:00-05:00"},
			{"saturday", "2026-11-28T17:00:00-05:00"},
			{"sunday", "2026-11-29T17:00:00-05:00"},
			{"tomorrow", "2026-11-29T17:00:00-05:00"},
			{"monday", "2026-11-30T17:00:00-05:00"},
			{"next monday", "2026-11-30T17:00:00-05:00"},
			{"end of month", "2026-11-30T17:00:00-05:00"},
		})
	})
	t.Run("sunday", func(t *testing.T) {
		run(t, "America/New_York", "2026-11-29T10:00:00-05:00", []parseCase{
			{"friday", "2026-12-04T17:00:00-05:00"},
			{"next friday", "2026-12-04T17:00:00-05:00"},
			{"next week", "2026-12-04T17:00:00-05:00"},
			{"sunday", "2026-11-29T17:00:00-05:00"},
			{"next sunday", "2026-12-06T17:00:00-05:00"},
			{"in 1 week", "2026-12-06T17:00:00-05:00"},
		})
	})
}

// TestParseMonths checks month ends and month arithmetic, including the
// December roll-over that olebedev/when gets wrong.
func TestParseMonths(t *testing.T) {
	t.Run("last day evening", func(t *testing.T) {
		run(t, "America/New_York", "2026-11-30T18:00:00-05:00", []parseCase{
			{"end of month", "2026-12-31T17:00:00-05:00"},
			{"end of next month", "2026-12-31T17:00:00-05:00"},
			{"the 30th", "2026-11-30T17:00:00-05:00"},
		})
	})
	t.Run("december", func(t *testing.T) {
		run(t, "America/New_York", "2026-12-15T10:00:00-05:00", []parseCase{
			{"next month", "2027-01-31T17:00:00-05:00"},
			{"in a month", "2027-01-15T17:00:00-05:00"},
			{"in 2 months", "2027-02-15T17:00:00-05:00"},
			{"Jan 2", "2027-01-02T17:00:00-05:00"},
			{"the 10th", "2027-01-10T17:00:00-05:00"},
			{"end of year", "2026-12-31T17:00:00-05:00"},
		})
	})
	t.Run("clamped", func(t *testing.T) {
		run(t, "America/New_York", "2027-01-31T10:00:00-05:00", []parseCase{
			{"in a month", "2027-02-28T17:00:00-05:00"},
			{"the 30th", "2027-03-30T17:00:00-04:00"},
		})
	})
}

// TestParseDST checks that day arithmetic is on local dates across both
// clock changes, while "in N hours" stays exact.
func TestParseDST(t *testing.T) {
	t.Run("new york spring forward", func(t *testing.T) {
		run(t, "America/New_York", "2026-03-07T12:00:00-05:00", []parseCase{
			{"tomorrow", "2026-03-08T17:00:00-04:00"},
			{"in 2 days", "2026-03-09T17:00:00-04:00"},
			{"sunday", "2026-03-08T17:00:00-04:00"},
			{"monday", "2026-03-09T17:00:00-04:00"},
			{"in 24 hours", "2026-03-08T13:00:00-04:00"},
			{"tomorrow 9am", "2026-03-08T09:00:00-04:00"},
			// 02:30 does not exist that night; time.Date gives 01:30 EST.
			{"tomorrow 2:30am", "2026-03-08T01:30:00-05:00"},
		})
	})
	t.Run("berlin fall back", func(t *testing.T) {
		run(t, "Europe/Berlin", "2026-10-24T12:00:00+02:00", []parseCase{
			{"tomorrow", "2026-10-25T17:00:00+01:00"},
			{"monday", "2026-10-26T17:00:00+01:00"},
			{"in 24 hours", "2026-10-25T11:00:00+01:00"},
			{"today", "2026-10-24T17:00:00+02:00"},
		})
	})
	t.Run("now given in another zone", func(t *testing.T) {
		// 2026-11-26T02:00Z is still the 25th in New York.
		run(t, "America/New_York", "2026-11-26T02:00:00Z", []parseCase{
			{"tomorrow", "2026-11-26T17:00:00-05:00"},
			{"today", "2026-11-25T23:59:00-05:00"},
		})
	})
}

// TestParseEndOfDayClock checks that endOfDay is used, not a fixed 17:00.
func TestParseEndOfDayClock(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	now := mustTime(t, "2026-11-25T10:00:00+01:00")
	for _, tc := range []struct {
		clock followup.Clock
		text  string
		want  string
	}{
		{followup.Clock{Hour: 18, Minute: 30}, "tomorrow", "2026-11-26T18:30:00+01:00"},
		{followup.Clock{Hour: 24}, "today", "2026-11-26T00:00:00+01:00"},
		{followup.Clock{Hour: 9}, "today", "2026-11-25T23:59:00+01:00"},
		{followup.Clock{Hour: 9}, "asap", "2026-11-26T09:00:00+01:00"},
	} {
		got, err := Parse(tc.text, now, loc, tc.clock)
		if err != nil {
			t.Fatalf("Parse(%q, %v): %v", tc.text, tc.clock, err)
		}
		if diff := cmp.Diff(tc.want, got.Format(time.RFC3339)); diff != "" {
			t.Errorf("Parse(%q, %v) (-want +got):\n%s", tc.text, tc.clock, diff)
		}
	}
}

// TestParseNilLocation checks that a nil zone means UTC, not a panic.
func TestParseNilLocation(t *testing.T) {
	got, err := Parse("tomorrow", mustTime(t, "2026-11-25T10:00:00Z"), nil, eod)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("2026-11-26T17:00:00Z", got.Format(time.RFC3339)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestParseErrors checks that nonsense, vague and absurd deadlines are
// EINVALID on due_text with a message that quotes the phrase or says why.
func TestParseErrors(t *testing.T) {
	loc := mustLoc(t, "America/New_York")
	now := mustTime(t, "2026-11-25T10:00:00-05:00")
	for _, tc := range []struct {
		text    string
		message string // a substring of the message
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"?!", "empty"},
		{"soon", `"soon" was not understood`},
		{"whenever", "not understood"},
		{"yesterday", "not understood"},
		{"12/3", "not understood"},
		{"3", "not understood"},
		{"Feb 30", "not understood"},
		{"Feb 29 2027", "not understood"},
		{"2026-02-30", "not understood"},
		{"2026-13-01", "not understood"},
		{"2026-02-30 15:00", "not understood"},
		{"in 0 days", "not understood"},
		{"in -1 days", "not understood"},
		{"in 3 fortnights", "not understood"},
		{"in 1234567 days", "not understood"},
		{"in 3 hours at 5pm", "not understood"},
		{"asap 3pm", "not understood"},
		{"25:00", "not understood"},
		{"13pm", "not understood"},
		{"tomorrow 13pm", "not understood"},
		{"call bob friday", "not understood"},
		{"friday friday", "not understood"},
		{"the 32nd", "not understood"},
		{"Dec 0", "not understood"},
		{"Dec 3 1969", "between the years 1970 and 2200"},
		{"Dec 3 2201", "between the years 1970 and 2200"},
		{"1969-12-31T23:00:00Z", "between the years 1970 and 2200"},
		{"2201-01-01", "between the years 1970 and 2200"},
		{"in 999999 days", "between the years 1970 and 2200"},
		{"in 99999 months", "between the years 1970 and 2200"},
		{strings.Repeat("a", 101), "longer than 100 characters"},
		{"by friday" + strings.Repeat(" ", 100), "longer than 100 characters"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			got, err := Parse(tc.text, now, loc, eod)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tc.text, got)
			}
			if code := followup.ErrorCode(err); code != followup.EINVALID {
				t.Errorf("code = %q, want %q", code, followup.EINVALID)
			}
			if f := followup.ErrorField(err); f != "due_text" {
				t.Errorf("field = %q, want due_text", f)
			}
			if msg := followup.ErrorMessage(err); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q does not contain %q", msg, tc.message)
			}
		})
	}
}

// TestParseLongButValid checks that 100 characters are still accepted.
func TestParseLongButValid(t *testing.T) {
	text := "by friday" + strings.Repeat(" ", 91)
	if _, err := Parse(text, mustTime(t, "2026-11-25T10:00:00-05:00"), time.UTC, eod); err != nil {
		t.Fatalf("Parse(100 characters): %v", err)
	}
}

// fuzzZones are the zones FuzzParse picks from.
var fuzzZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata"}

// FuzzParse checks that Parse never panics, fails only with EINVALID on
// due_text, and succeeds only with a time in the accepted range.
func FuzzParse(f *testing.F) {
	f.Add("by Friday", int64(1795618800), uint8(1), uint8(17))
	locs := make([]*time.Location, len(fuzzZones))
	for i, z := range fuzzZones {
		locs[i] = mustLoc(f, z)
	}
	f.Fuzz(func(t *testing.T, text string, unix int64, zone uint8, hour uint8) {
		// Keep now within the years the service runs in.
		now := time.Unix(1e9+unix%(4e9), 0)
		loc := locs[int(zone)%len(locs)]
		clock := followup.Clock{Hour: int(hour) % 25}
		got, err := Parse(text, now, loc, clock)
		if err != nil {
			if code := followup.ErrorCode(err); code != followup.EINVALID {
				t.Fatalf("Parse(%q): code %q, want %q: %v", text, code, followup.EINVALID, err)
			}
			if f := followup.ErrorField(err); f != "due_text" {
				t.Fatalf("Parse(%q): field %q, want due_text", text, f)
			}
			if followup.ErrorMessage(err) == "" {
				t.Fatalf("Parse(%q): empty message", text)
			}
			return
		}
		if got.Before(time.Unix(0, 0)) || got.Year() > 2201 {
			t.Fatalf("Parse(%q) = %v, outside 1970..2200", text, got)
		}
		if got.Location() != loc {
			t.Fatalf("Parse(%q) = %v, not in %v", text, got, loc)
		}
	})
}

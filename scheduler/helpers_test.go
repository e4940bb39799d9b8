package scheduler_test

import (
	"testing"
	"time"

	"github.com/followup/followup"
)

// zone loads an IANA zone or fails the test.
func zone(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// clock returns a function giving wall-clock times in 2026 in loc.
func clock(loc *time.Location) func(month time.Month, day, hour, min int) time.Time {
	return func(month time.Month, day, hour, min int) time.Time {
		return time.Date(2026, month, day, hour, min, 0, 0, loc)
	}
}

// settings returns the defaults of cadence.md in loc.
func settings(loc *time.Location) followup.Settings {
	return followup.DefaultSettings(loc.String())
}

// iv returns a busy interval.
func iv(start, end time.Time) followup.Interval {
	return followup.Interval{Start: start, End: end}
}

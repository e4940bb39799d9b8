package ics_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/ics"
)

// FuzzDecode feeds arbitrary documents to Decode, which must not panic and
// must answer either events or an EINVALID error. Its seed corpus is
// testdata/fuzz/FuzzDecode plus the golden feeds.
func FuzzDecode(f *testing.F) {
	for _, feed := range goldenFeeds() {
		var buf bytes.Buffer
		if err := ics.Encode(&buf, feed); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := ics.Decode(bytes.NewReader(data))
		if err != nil {
			if code := followup.ErrorCode(err); code != followup.EINVALID {
				t.Fatalf("Decode error %v has code %q, want %q", err, code, followup.EINVALID)
			}
			return
		}
		// What decodes must encode again.
		for i := range evs {
			if evs[i].Start.IsZero() { // DTSTART:00010101T000000Z
				evs[i].Start = now
			}
			evs[i].Start = clampYear(evs[i].Start)
			evs[i].End = clampYear(evs[i].End)
			evs[i].Stamp = clampYear(evs[i].Stamp)
			evs[i].Created = clampYear(evs[i].Created)
		}
		var buf bytes.Buffer
		if err := ics.Encode(&buf, ics.Feed{Events: evs, Now: now}); err != nil {
			t.Fatalf("Encode of decoded events: %v", err)
		}
		validate(t, buf.Bytes())
	})
}

// clampYear keeps a decoded time within what Encode accepts: TZID offsets
// can push year 0000 or 9999 across the edge.
func clampYear(t time.Time) time.Time {
	switch {
	case t.IsZero():
		return t
	case t.Year() < 0:
		return time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	case t.Year() > 9999:
		return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	}
	return t
}

// FuzzRoundTrip checks that arbitrary summary, description, location and
// category text comes back from Encode then Decode as NormalizeText says,
// in a feed that is structurally valid.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{
		"Hi; see, you\nthere",
		"a\\b\r\nc\rd",
		strings.Repeat("🎉é", 60),
		"END:VEVENT\nBEGIN:VEVENT",
		"\x00\x7f\xff",
		"",
	} {
		f.Add(s, s+s, s, s)
	}
	f.Fuzz(func(t *testing.T, summary, description, location, category string) {
		ev := event()
		ev.Summary, ev.Description, ev.Location = summary, description, location
		ev.Categories = []string{category}
		got := roundTrip(t, ev)
		want := expected(ev, now)
		if got.Summary != want.Summary || got.Description != want.Description || got.Location != want.Location {
			t.Errorf("got %q, %q, %q; want %q, %q, %q", got.Summary, got.Description, got.Location, want.Summary, want.Description, want.Location)
		}
		if strings.Join(got.Categories, "|") != strings.Join(want.Categories, "|") {
			t.Errorf("categories %q, want %q", got.Categories, want.Categories)
		}
	})
}

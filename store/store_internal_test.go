package store

import (
	"testing"
	"time"
)

func TestParseFixed(t *testing.T) {
	for _, in := range []string{"2026-11-23T20:00:00.000000Z", "1970-01-01T00:00:00.000001Z", "2026-03-08T07:30:59.999999Z"} {
		got, ok := parseFixed(in)
		want, err := time.Parse(tsFormat, in)
		if !ok || err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseFixed(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "2026-02-30T00:00:00.000000Z", "2026-13-01T00:00:00.000000Z", "2026-11-23 20:00:00.000000Z", "2026-11-23T20:00:00.00000xZ", "2026-11-23T24:00:00.000000Z"} {
		if _, ok := parseFixed(in); ok {
			t.Errorf("parseFixed(%q) accepted", in)
		}
	}
}

func FuzzParseTS(f *testing.F) {
	f.Add("2026-11-23T20:00:00.000000Z")
	f.Add("2026-02-29T00:00:00.000000Z")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseFixed(s)
		want, err := time.Parse(tsFormat, s)
		if ok && (err != nil || !got.Equal(want)) {
			t.Fatalf("parseFixed(%q) = %v, time.Parse = %v %v", s, got, want, err)
		}
	})
}

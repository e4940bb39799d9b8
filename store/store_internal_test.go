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

// TestTS checks the hand-written format against time.Format, in other
// zones too and at the ends of the years it writes itself.
func TestTS(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []time.Time{
		time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 29, 2, 30, 59, 999999999, berlin), // in the DST gap
		time.Date(2026, 10, 25, 2, 30, 0, 1500, berlin),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC),
		{},
	} {
		if got, want := ts(in), in.UTC().Format(tsFormat); got != want {
			t.Errorf("ts(%v) = %q, want %q", in, got, want)
		}
	}
}

func FuzzTS(f *testing.F) {
	f.Add(int64(1795464000), int64(0))
	f.Add(int64(-62135596800), int64(999999999))
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		in := time.Unix(sec, nsec)
		if got, want := ts(in), in.UTC().Format(tsFormat); got != want {
			t.Fatalf("ts(%v) = %q, want %q", in, got, want)
		}
	})
}

func BenchmarkTS(b *testing.B) {
	in := time.Date(2026, 11, 23, 20, 0, 0, 123456789, time.UTC)
	b.Run("ts", func(b *testing.B) {
		for b.Loop() {
			_ = ts(in)
		}
	})
	b.Run("Format", func(b *testing.B) {
		for b.Loop() {
			_ = in.UTC().Format(tsFormat)
		}
	})
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

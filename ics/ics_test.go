package ics_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goics "github.com/arran4/golang-ical"
	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/ics"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// now is the fixed clock of the golden files.
var now = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

// ny is the zone of the test user.
var ny = mustLoad("America/New_York")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// event returns a typical block.
func event() followup.Event {
	return followup.Event{
		UID:          "step-1@followup",
		Sequence:     2,
		Summary:      "Send the pricing deck — Jane Doe",
		Description:  "Hi Jane,\n\nAs promised, here is the pricing deck; see you, soon.\n\nmailto:jane@example.com",
		Location:     "Blue Bottle, Market St",
		URL:          "http://127.0.0.1:8080/commitments/42",
		Start:        time.Date(2026, 11, 24, 9, 0, 0, 0, ny),
		End:          time.Date(2026, 11, 24, 9, 30, 0, 0, ny),
		Stamp:        time.Date(2026, 11, 23, 20, 5, 7, 0, time.UTC),
		Created:      time.Date(2026, 11, 23, 20, 5, 0, 0, time.UTC),
		AlarmMinutes: 10,
		Categories:   []string{"followup", "deliver"},
	}
}

// blocks returns one BlockEvent per block kind of a full commitment.
func blocks() []followup.Event {
	contacted := time.Date(2026, 11, 24, 11, 0, 0, 0, ny)
	c := followup.Commitment{
		ID:        42,
		Contact:   followup.Contact{Name: "Jane Doe", Email: "jane@example.com", Phone: "+1 555 123 4567", Company: "Acme, Inc.", URL: "https://example.com/in/jane"},
		MetAt:     time.Date(2026, 11, 23, 15, 0, 0, 0, ny),
		MetWhere:  "SaaStr, booth 12",
		Promise:   "Send the pricing deck; the 2027 one",
		Direction: followup.Mine,
		Due:       time.Date(2026, 11, 27, 17, 0, 0, 0, ny),
		Meeting:   &followup.Meeting{Start: time.Date(2026, 11, 30, 10, 0, 0, 0, ny), Minutes: 30, Location: "Blue Bottle, Market St"},
		Notes:     "Possible client;\nintroduced by Bob, CTO",
		CreatedAt: time.Date(2026, 11, 23, 20, 5, 0, 0, time.UTC),

		ContactedAt: &contacted,
	}
	s := followup.DefaultSettings("America/New_York")
	var evs []followup.Event
	for i, k := range []followup.StepKind{followup.KindRefresher, followup.KindDeliver, followup.KindChase, followup.KindConfirm, followup.KindMeeting, followup.KindNudge} {
		start := time.Date(2026, 11, 24+i, 9, 0, 0, 0, ny)
		if k == followup.KindMeeting {
			start = c.Meeting.Start
		}
		cc := c
		if k == followup.KindChase {
			cc.Direction = followup.Theirs
			cc.Promise = "send me the case study"
		}
		st := followup.Step{
			ID: int64(i + 1), Kind: k, Status: followup.StepPlanned,
			Start: start, End: start.Add(15 * time.Minute),
			UID: "step-" + string(k) + "@followup", Sequence: i, UpdatedAt: now.Add(time.Duration(i) * time.Minute),
		}
		evs = append(evs, followup.BlockEvent(cc, st, s, ny, "http://127.0.0.1:8080"))
	}
	return evs
}

// goldenFeeds are the feeds kept in testdata/NAME.ics.
func goldenFeeds() map[string]ics.Feed {
	long := event()
	long.UID = "long@followup"
	long.Summary = strings.Repeat("Grüße aus München — 日本語のテキスト 🎉 ", 4)
	long.Description = "Line one\r\nline two\rline three\nx" + strings.Repeat("é", 80) + "\\ back; semi, comma\ttab"
	long.Location = strings.Repeat("🎉", 30)
	long.Categories = []string{"followup", "a,b", "c;d", ""}
	long.URL = "https://example.com/a?b=c,d;e"
	bare := followup.Event{
		UID:          "bare@followup",
		Start:        time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC),
		End:          time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC), // not after start: no DTEND
		AlarmMinutes: -1,
	}
	return map[string]ics.Feed{
		"feed":     {Name: "Follow-ups", Events: []followup.Event{event(), bare}, Now: now},
		"empty":    {Name: "", Now: now, RefreshInterval: 90 * time.Minute},
		"escaping": {Name: "Follow-ups; mine, all", Events: []followup.Event{long}, Now: now, RefreshInterval: time.Hour},
		"blocks":   {Name: "Follow-ups", Events: blocks(), Now: now},
	}
}

// TestGolden byte-compares the encoded feeds with testdata/*.ics; run
// "go test ./ics -update" to rewrite them, then review the diff.
func TestGolden(t *testing.T) {
	for name, f := range goldenFeeds() {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := ics.Encode(&buf, f); err != nil {
				t.Fatal(err)
			}
			validate(t, buf.Bytes())
			path := filepath.Join("testdata", name+".ics")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestGoldenRoundTrip decodes every golden feed and compares the events
// with the ones encoded, normalized as Encode promises.
func TestGoldenRoundTrip(t *testing.T) {
	for name, f := range goldenFeeds() {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := ics.Encode(&buf, f); err != nil {
				t.Fatal(err)
			}
			got, err := ics.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			var want []followup.Event
			for _, ev := range f.Events {
				want = append(want, expected(ev, f.Now))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// expected returns what Decode gives back for an encoded event.
func expected(ev followup.Event, now time.Time) followup.Event {
	out := followup.Event{
		UID:          ics.NormalizeText(ev.UID),
		Sequence:     ev.Sequence,
		Summary:      ics.NormalizeText(ev.Summary),
		Description:  ics.NormalizeText(ev.Description),
		Location:     ics.NormalizeText(ev.Location),
		URL:          ev.URL,
		Start:        ev.Start.UTC().Truncate(time.Second),
		End:          ev.End.UTC().Truncate(time.Second),
		Stamp:        ev.Stamp.UTC().Truncate(time.Second),
		AlarmMinutes: max(ev.AlarmMinutes, -1),
	}
	if !ev.End.After(ev.Start) {
		out.End = out.Start
	}
	if ev.Stamp.IsZero() {
		out.Stamp = now.UTC().Truncate(time.Second)
	}
	if !ev.Created.IsZero() {
		out.Created = ev.Created.UTC().Truncate(time.Second)
	}
	for _, c := range ev.Categories {
		// Decode splits on commas that golang-ical has already unescaped.
		for p := range strings.SplitSeq(ics.NormalizeText(c), ",") {
			if p != "" {
				out.Categories = append(out.Categories, p)
			}
		}
	}
	return out
}

// TestParsedFields parses the feed with golang-ical itself and checks the
// value of every calendar, VEVENT and VALARM property.
func TestParsedFields(t *testing.T) {
	ev := event()
	ev.Summary = "Hi; see, you\nthere \\o/"
	var buf bytes.Buffer
	if err := ics.Encode(&buf, ics.Feed{Name: "Follow-ups", Events: []followup.Event{ev}, Now: now, RefreshInterval: 30 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	cal, err := goics.ParseCalendar(&buf)
	if err != nil {
		t.Fatal(err)
	}
	calProps := map[string]string{}
	for _, p := range cal.CalendarProperties {
		calProps[p.IANAToken+params(p.ICalParameters)] = p.Value
	}
	wantCal := map[string]string{
		"VERSION":                         "2.0",
		"PRODID":                          "-//followup//followup//EN",
		"CALSCALE":                        "GREGORIAN",
		"METHOD":                          "PUBLISH",
		"X-WR-CALNAME":                    "Follow-ups",
		"REFRESH-INTERVAL;VALUE=DURATION": "PT30M",
		"X-PUBLISHED-TTL":                 "PT30M",
	}
	if diff := cmp.Diff(wantCal, calProps); diff != "" {
		t.Errorf("calendar properties (-want +got):\n%s", diff)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("got %d VEVENTs, want 1", len(events))
	}
	wantEvent := map[string]string{
		"UID":           "step-1@followup",
		"SEQUENCE":      "2",
		"DTSTAMP":       "20261123T200507Z",
		"CREATED":       "20261123T200500Z",
		"LAST-MODIFIED": "20261123T200507Z",
		"DTSTART":       "20261124T140000Z",
		"DTEND":         "20261124T143000Z",
		"SUMMARY":       "Hi; see, you\nthere \\o/",
		"DESCRIPTION":   ev.Description,
		"LOCATION":      "Blue Bottle, Market St",
		"URL":           "http://127.0.0.1:8080/commitments/42",
		"CATEGORIES":    "followup,deliver",
		"STATUS":        "CONFIRMED",
		"TRANSP":        "OPAQUE",
	}
	if diff := cmp.Diff(wantEvent, props(&events[0].ComponentBase)); diff != "" {
		t.Errorf("VEVENT properties (-want +got):\n%s", diff)
	}
	alarms := events[0].Alarms()
	if len(alarms) != 1 {
		t.Fatalf("got %d VALARMs, want 1", len(alarms))
	}
	wantAlarm := map[string]string{"ACTION": "DISPLAY", "DESCRIPTION": ev.Summary, "TRIGGER": "-PT10M"}
	if diff := cmp.Diff(wantAlarm, props(&alarms[0].ComponentBase)); diff != "" {
		t.Errorf("VALARM properties (-want +got):\n%s", diff)
	}
	// golang-ical's own time parsing agrees with ours.
	start, err := events[0].GetStartAt()
	if err != nil || !start.Equal(ev.Start) {
		t.Errorf("GetStartAt = %v, %v; want %v", start, err, ev.Start)
	}
	end, err := events[0].GetEndAt()
	if err != nil || !end.Equal(ev.End) {
		t.Errorf("GetEndAt = %v, %v; want %v", end, err, ev.End)
	}
}

// props returns a component's properties by name (with parameters); a
// repeated property fails the comparison by getting a "#2" key.
func props(c *goics.ComponentBase) map[string]string {
	m := map[string]string{}
	for _, p := range c.Properties {
		k := p.IANAToken + params(p.ICalParameters)
		for n := 2; ; n++ {
			if _, dup := m[k]; !dup {
				break
			}
			k = p.IANAToken + "#" + string(rune('0'+n))
		}
		m[k] = p.Value
	}
	return m
}

func params(ps map[string][]string) string {
	var s string
	for k, v := range ps {
		s += ";" + k + "=" + strings.Join(v, ",")
	}
	return s
}

// TestRoundTripText checks that tricky text survives Encode then Decode.
func TestRoundTripText(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string // "" means the same as in
	}{
		{name: "brief example", in: "Hi; see, you\nthere"},
		{name: "backslashes", in: `a\b\\c\n\,\;`},
		{name: "CR LF", in: "one\r\ntwo", want: "one\ntwo"},
		{name: "lone CR", in: "one\rtwo\r", want: "one\ntwo\n"},
		{name: "CR CR LF", in: "a\r\r\nb", want: "a\n\nb"},
		{name: "controls", in: "a\x00b\x07c\x1bd\x7fe\tf", want: "abcde\tf"},
		{name: "invalid UTF-8", in: "a\xffb\xc3", want: "a\uFFFDb\uFFFD"},
		{name: "emoji", in: strings.Repeat("👩‍💻🎉", 40)},
		{name: "multibyte at fold", in: strings.Repeat("x", 64) + strings.Repeat("ü", 50)},
		{name: "three-byte", in: strings.Repeat("日本語", 50)},
		{name: "leading and trailing space", in: "  padded  "},
		{name: "colon and quotes", in: `DTSTART:19700101T000000Z "quoted" 'single'`},
		{name: "injection", in: "x\nEND:VEVENT\r\nBEGIN:VEVENT\nUID:evil", want: "x\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil"},
		{name: "long line", in: strings.Repeat("a,b;c\\ ", 300)},
		{name: "only newlines", in: "\n\n"},
		{name: "tab", in: "\t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if got := ics.NormalizeText(tc.in); got != want {
				t.Errorf("NormalizeText(%q) = %q, want %q", tc.in, got, want)
			}
			ev := event()
			ev.Summary, ev.Description, ev.Location = tc.in, tc.in, tc.in
			got := roundTrip(t, ev)
			if got.Summary != want || got.Description != want || got.Location != want {
				t.Errorf("round trip of %q gave summary %q, description %q, location %q; want %q", tc.in, got.Summary, got.Description, got.Location, want)
			}
		})
	}
}

// roundTrip encodes one event, validates the output and decodes it.
func roundTrip(t *testing.T, ev followup.Event) followup.Event {
	t.Helper()
	var buf bytes.Buffer
	if err := ics.Encode(&buf, ics.Feed{Name: "x", Events: []followup.Event{ev}, Now: now}); err != nil {
		t.Fatal(err)
	}
	validate(t, buf.Bytes())
	got, err := ics.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, buf.Bytes())
	}
	if len(got) != 1 {
		t.Fatalf("decoded %d events, want 1", len(got))
	}
	return got[0]
}

// TestEmptyFields checks that empty optional fields leave no empty
// property lines behind.
func TestEmptyFields(t *testing.T) {
	ev := followup.Event{UID: "u", Start: now, End: now.Add(time.Minute), Summary: "\x01", Categories: []string{"", "\x02"}, AlarmMinutes: 0}
	var buf bytes.Buffer
	if err := ics.Encode(&buf, ics.Feed{Events: []followup.Event{ev}, Now: now}); err != nil {
		t.Fatal(err)
	}
	validate(t, buf.Bytes())
	for _, line := range strings.Split(buf.String(), "\r\n") {
		if strings.HasSuffix(line, ":") {
			t.Errorf("empty property %q", line)
		}
		for _, p := range []string{"SUMMARY", "LOCATION", "URL", "CATEGORIES", "CREATED", "LAST-MODIFIED", "X-WR-CALNAME"} {
			if strings.HasPrefix(line, p) {
				t.Errorf("unexpected %q", line)
			}
		}
	}
	if n := strings.Count(buf.String(), "DESCRIPTION"); n != 1 {
		t.Errorf("%d DESCRIPTION properties, want only the alarm's", n)
	}
	for _, want := range []string{"DESCRIPTION:Reminder\r\n", "TRIGGER:-PT0M\r\n", "DTSTAMP:20261123T200000Z\r\n"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("missing %q in\n%s", want, buf.String())
		}
	}
}

// TestFolding checks line lengths at and around the 75-octet limit.
func TestFolding(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		lines []string // physical lines of the SUMMARY property
	}{
		{name: "fits", text: strings.Repeat("a", 67), lines: []string{"SUMMARY:" + strings.Repeat("a", 67)}},
		{name: "one over", text: strings.Repeat("a", 68), lines: []string{"SUMMARY:" + strings.Repeat("a", 67), " a"}},
		{name: "two folds", text: strings.Repeat("a", 67+74+1), lines: []string{"SUMMARY:" + strings.Repeat("a", 67), " " + strings.Repeat("a", 74), " a"}},
		{name: "two-byte straddles", text: strings.Repeat("a", 66) + "éb", lines: []string{"SUMMARY:" + strings.Repeat("a", 66), " éb"}},
		{name: "four-byte straddles", text: strings.Repeat("a", 65) + "🎉b", lines: []string{"SUMMARY:" + strings.Repeat("a", 65), " 🎉b"}},
		{name: "four-byte fits", text: strings.Repeat("a", 63) + "🎉b", lines: []string{"SUMMARY:" + strings.Repeat("a", 63) + "🎉", " b"}},
		{name: "escape straddles", text: strings.Repeat("a", 66) + ";", lines: []string{"SUMMARY:" + strings.Repeat("a", 66), ` \;`}},
		{name: "escaped backslash fits", text: strings.Repeat("a", 65) + `\`, lines: []string{"SUMMARY:" + strings.Repeat("a", 65) + `\\`}},
		{name: "backslash pair then escape straddles", text: strings.Repeat("a", 64) + `\;`, lines: []string{"SUMMARY:" + strings.Repeat("a", 64) + `\\`, ` \;`}},
		{name: "escape before multibyte", text: strings.Repeat("a", 65) + ",é", lines: []string{"SUMMARY:" + strings.Repeat("a", 65) + `\,`, " é"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := event()
			ev.Summary = tc.text
			ev.AlarmMinutes = -1
			var buf bytes.Buffer
			if err := ics.Encode(&buf, ics.Feed{Events: []followup.Event{ev}, Now: now}); err != nil {
				t.Fatal(err)
			}
			validate(t, buf.Bytes())
			var got []string
			in := false
			for _, l := range strings.Split(buf.String(), "\r\n") {
				switch {
				case strings.HasPrefix(l, "SUMMARY:"):
					in = true
				case !strings.HasPrefix(l, " "):
					in = false
				}
				if in {
					got = append(got, l)
				}
			}
			if diff := cmp.Diff(tc.lines, got); diff != "" {
				t.Errorf("SUMMARY lines (-want +got):\n%s", diff)
			}
			if dec := roundTrip(t, ev); dec.Summary != tc.text {
				t.Errorf("round trip gave %q, want %q", dec.Summary, tc.text)
			}
		})
	}
}

// TestRefreshInterval checks the dur-value grammar of §3.3.6.
func TestRefreshInterval(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{0, "PT15M"},
		{-time.Hour, "PT15M"},
		{time.Millisecond, "PT1S"},
		{15 * time.Minute, "PT15M"},
		{time.Hour, "PT1H"},
		{90 * time.Minute, "PT1H30M"},
		{time.Hour + 5*time.Second, "PT1H0M5S"},
		{24 * time.Hour, "P1D"},
		{25 * time.Hour, "P1DT1H"},
		{24*time.Hour + 5*time.Second, "P1DT0H0M5S"},
		{24*time.Hour + time.Minute, "P1DT0H1M"},
		{45 * time.Second, "PT45S"},
	} {
		var buf bytes.Buffer
		if err := ics.Encode(&buf, ics.Feed{RefreshInterval: tc.in, Now: now}); err != nil {
			t.Fatal(err)
		}
		want := "REFRESH-INTERVAL;VALUE=DURATION:" + tc.want + "\r\nX-PUBLISHED-TTL:" + tc.want + "\r\n"
		if !strings.Contains(buf.String(), want) {
			t.Errorf("RefreshInterval %v: want %q in\n%s", tc.in, want, buf.String())
		}
	}
}

// TestEncodeInvalid checks the events Encode refuses, before writing.
func TestEncodeInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ev    func(*followup.Event)
		field string
	}{
		{"no UID", func(e *followup.Event) { e.UID = "" }, "uid"},
		{"UID of controls", func(e *followup.Event) { e.UID = "\x01" }, "uid"},
		{"no start", func(e *followup.Event) { e.Start = time.Time{} }, "start"},
		{"year 10000", func(e *followup.Event) { e.End = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "end"},
		{"negative year", func(e *followup.Event) { e.Stamp = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }, "stamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := event()
			tc.ev(&ev)
			var buf bytes.Buffer
			err := ics.Encode(&buf, ics.Feed{Events: []followup.Event{event(), ev}, Now: now})
			if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != tc.field {
				t.Errorf("err = %v, want EINVALID on %s", err, tc.field)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n--; w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// TestEncodeWriteError checks that a writer's error is returned, also
// after the first buffered write.
func TestEncodeWriteError(t *testing.T) {
	evs := make([]followup.Event, 500)
	for i := range evs {
		evs[i] = event()
	}
	for _, n := range []int{0, 1, 3} {
		err := ics.Encode(&failWriter{n: n}, ics.Feed{Events: evs, Now: now})
		if err == nil || err.Error() != "disk full" {
			t.Errorf("after %d writes: err = %v, want disk full", n, err)
		}
	}
}

// TestDecodeInvalid checks Decode's errors on bad documents.
func TestDecodeInvalid(t *testing.T) {
	ok := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTART:20261124T140000Z\r\n%sEND:VEVENT\r\nEND:VCALENDAR\r\n"
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"blank lines", "\r\n\r\n"},
		{"truncated", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTART:20261124T140000Z\r\nEND:VEVENT\r\n"},
		{"lowercase", "begin:vcalendar\r\nend:vcalendar\r\n"},
		{"not a calendar", "hello"},
		{"no UID", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261124T140000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"},
		{"no DTSTART", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"},
		{"bad DTSTART", strings.Replace(ok, "20261124T140000Z", "2026-11-24", 1)},
		{"bad DTEND", strings.Replace(ok, "%s", "DTEND:tomorrow\r\n", 1)},
		{"bad SEQUENCE", strings.Replace(ok, "%s", "SEQUENCE:-1\r\n", 1)},
		{"unknown TZID", strings.Replace(ok, "%s", "DTEND;TZID=Mars/Olympus:20261124T140000\r\n", 1)},
		{"path TZID", strings.Replace(ok, "%s", "DTEND;TZID=../../etc/passwd:20261124T140000\r\n", 1)},
		{"unbalanced", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"},
		{"deep", "BEGIN:VCALENDAR\r\n" + strings.Repeat("BEGIN:X\r\n", 100000)},
		{"deep and folded", "BEGIN:VCALENDAR\r\n" + strings.Repeat("BEG\r\n IN:X\r\n", 100000)},
		{"deep after blank lines", "BEGIN:VCALENDAR\r\n" + strings.Repeat("\r\n BEGIN:X", 100000)},
		{"many parameters", strings.Replace(ok, "%s", "X"+strings.Repeat(";A=b", 20000)+":v\r\n", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := ics.Decode(strings.NewReader(tc.in))
			if followup.ErrorCode(err) != followup.EINVALID {
				t.Errorf("Decode = %v, %v; want an EINVALID error", evs, err)
			}
		})
	}
}

// TestDecodeForeign reads forms Encode does not write: TZID and floating
// times, DATE values, a missing DTEND, other TRIGGER forms, unfolding with
// a tab and LF line ends.
func TestDecodeForeign(t *testing.T) {
	in := "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\n" +
		"BEGIN:VEVENT\nUID:a\nDTSTART;TZID=Europe/Berlin:20260329T030000\nDTEND:20260329T020000\nSUMMARY:fol\n\tded\nCATEGORIES:x\nCATEGORIES:y,z\n" +
		"BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-P1DT2H\nEND:VALARM\nEND:VEVENT\n" +
		"BEGIN:VEVENT\nUID:b\nDTSTART;VALUE=DATE:20261201\nBEGIN:VALARM\nTRIGGER:PT5M\nEND:VALARM\nEND:VEVENT\n" +
		"BEGIN:VEVENT\nUID:c\nDTSTART:20261201T100000Z\nBEGIN:VALARM\nTRIGGER;VALUE=DATE-TIME:20261201T090000Z\nEND:VALARM\nEND:VEVENT\n" +
		"BEGIN:VTODO\nUID:t\nEND:VTODO\nEND:VCALENDAR\n"
	got, err := ics.Decode(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []followup.Event{
		{UID: "a", Summary: "folded", Start: time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC), AlarmMinutes: 26 * 60, Categories: []string{"x", "y", "z"}},
		{UID: "b", Start: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), AlarmMinutes: -1},
		{UID: "c", Start: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), AlarmMinutes: -1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
}

// validate checks the structure of an encoded feed: CR LF line ends,
// lines of at most 75 octets that are each valid UTF-8 (§3.1), balanced
// BEGIN/END, and the required properties of VCALENDAR (§3.6), VEVENT
// (§3.6.1) and a display VALARM (§3.6.6), each exactly once.
func validate(t *testing.T, data []byte) {
	t.Helper()
	s := string(data)
	if !strings.HasSuffix(s, "\r\n") {
		t.Fatalf("feed does not end in CR LF")
	}
	phys := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	var lines []string // unfolded
	for i, l := range phys {
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, l)
		}
		if len(l) > 75 {
			t.Errorf("line %d has %d octets: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d is not valid UTF-8 on its own: %q", i+1, l)
		}
		for _, c := range []byte(l) {
			if c < 0x20 && c != '\t' || c == 0x7f {
				t.Errorf("line %d has control character %#x", i+1, c)
			}
		}
		if strings.HasPrefix(l, " ") {
			if len(lines) == 0 {
				t.Fatalf("feed starts with a continuation line")
			}
			if len(l) == 1 {
				t.Errorf("line %d is an empty continuation", i+1)
			}
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	type comp struct {
		name  string
		props map[string]int
	}
	required := map[string][]string{
		"VCALENDAR": {"VERSION", "PRODID", "CALSCALE", "METHOD", "REFRESH-INTERVAL", "X-PUBLISHED-TTL"},
		"VEVENT":    {"UID", "DTSTAMP", "DTSTART", "SEQUENCE", "STATUS", "TRANSP"},
		"VALARM":    {"ACTION", "TRIGGER", "DESCRIPTION"},
	}
	parent := map[string]string{"VCALENDAR": "", "VEVENT": "VCALENDAR", "VALARM": "VEVENT"}
	var stack []comp
	closed := 0
	for i, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Errorf("line %d has no colon: %q", i+1, l)
			continue
		}
		name, _, _ = strings.Cut(name, ";")
		switch name {
		case "BEGIN":
			p, known := parent[value]
			if !known {
				t.Errorf("line %d: unexpected component %s", i+1, value)
			}
			top := ""
			if len(stack) > 0 {
				top = stack[len(stack)-1].name
			}
			if top != p || closed > 0 {
				t.Errorf("line %d: %s inside %q", i+1, value, top)
			}
			stack = append(stack, comp{value, map[string]int{}})
		case "END":
			if len(stack) == 0 || stack[len(stack)-1].name != value {
				t.Fatalf("line %d: END:%s does not close the open component", i+1, value)
			}
			c := stack[len(stack)-1]
			for _, p := range required[c.name] {
				if c.props[p] != 1 {
					t.Errorf("%s ending at line %d has %d %s properties, want 1", c.name, i+1, c.props[p], p)
				}
			}
			for p, n := range c.props {
				if n > 1 && p != "CATEGORIES" { // §3.8.1.2 may repeat
					t.Errorf("%s ending at line %d repeats %s", c.name, i+1, p)
				}
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				closed++
			}
		default:
			if len(stack) == 0 {
				t.Errorf("line %d outside any component: %q", i+1, l)
				continue
			}
			stack[len(stack)-1].props[name]++
		}
	}
	if len(stack) != 0 || closed != 1 {
		t.Errorf("feed has %d unclosed components and %d VCALENDARs", len(stack), closed)
	}
}

// TestCrossCheckGolangICal builds the same feeds with golang-ical's own
// API and serializer and compares the unfolded content lines: they must
// agree except on CATEGORIES (one list here, one property per category
// there) and where golang-ical writes a raw CR (no such text here).
func TestCrossCheckGolangICal(t *testing.T) {
	feeds := goldenFeeds()
	for _, name := range []string{"feed", "blocks", "empty"} {
		t.Run(name, func(t *testing.T) {
			f := feeds[name]
			var buf bytes.Buffer
			if err := ics.Encode(&buf, f); err != nil {
				t.Fatal(err)
			}
			lib := libCalendar(f).Serialize(goics.WithNewLineWindows)
			validate(t, []byte(lib)) // golang-ical folds within 75 octets too
			if diff := cmp.Diff(unfold(lib), unfold(buf.String())); diff != "" {
				t.Errorf("golang-ical vs Encode (-lib +ours):\n%s", diff)
			}
			libEvents, err := ics.Decode(strings.NewReader(lib))
			if err != nil {
				t.Fatal(err)
			}
			ours, err := ics.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(libEvents, ours); diff != "" {
				t.Errorf("decoded golang-ical vs Encode (-lib +ours):\n%s", diff)
			}
		})
	}
}

// unfold returns the logical content lines of a document, without the
// CATEGORIES lines.
func unfold(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if strings.HasPrefix(l, " ") {
			out[len(out)-1] += l[1:]
			continue
		}
		out = append(out, l)
	}
	kept := out[:0]
	for _, l := range out {
		if !strings.HasPrefix(l, "CATEGORIES") {
			kept = append(kept, l)
		}
	}
	return kept
}

package quickadd_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/quickadd"
)

// TestParseParts compares the whole reading of the example: every
// part, its source and its span.
func TestParseParts(t *testing.T) {
	cx := at(t, "America/New_York", 2026, 11, 23, 15, 0)
	line := "Jane Doe (Acme) — send pricing deck by Friday * met at SaaStr"
	r, err := quickadd.Parse(line, cx)
	if err != nil {
		t.Fatal(err)
	}
	line_ := followup.FromLine
	want := []followup.QuickPart{
		{Field: "contact.name", Value: "Jane Doe", Source: line_, Text: "Jane Doe", Start: 0, End: 8},
		{Field: "contact.company", Value: "Acme", Source: line_, Text: "(Acme)", Start: 9, End: 15},
		{Field: "promise", Value: "Send pricing deck", Source: line_, Text: "send pricing deck", Start: 18, End: 35},
		{Field: "due_text", Value: "by Friday", Source: line_, Text: "by Friday", Start: 36, End: 45},
		{Field: "priority", Value: "true", Source: line_, Text: "*", Start: 46, End: 47},
		{Field: "met_where", Value: "SaaStr", Source: line_, Text: "met at SaaStr", Start: 48, End: 61},
		{Field: "direction", Value: "mine", Source: followup.FromDefault},
	}
	if diff := cmp.Diff(want, r.Parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	due := time.Date(2026, 11, 27, 17, 0, 0, 0, cx.Loc)
	if r.Due == nil || !r.Due.Equal(due) || r.Text != line {
		t.Errorf("due %v, text %q", r.Due, r.Text)
	}
}

// TestParseRefuses: an empty or ambiguous line is EINVALID naming the
// line, and the message says which part was not understood.
func TestParseRefuses(t *testing.T) {
	cx := at(t, "America/New_York", 2026, 11, 23, 15, 0)
	for _, tc := range []struct{ line, says string }{
		{"", "empty"},
		{"   \t ", "empty"},
		{"send the deck by Friday", "Who this is about"},
		{"Jane Doe", "Who this is about"},
		{"I'll send Jane the deck", "name"},
		{"he: send the deck", "name"},
		{"Met Jane at SaaStr, she'll send the deck", "Who this is about"},
		{"(Acme) — send the deck", "name is missing"},
		{"— send the deck", "name is missing"},
		{"Jane () — send the deck", "company"},
		{"Jane (Acme) Smith — send the deck", "name"},
		{"so I met this really nice person at the bar: send deck", "name"},
		{"1234 — send the deck", "no letters"},
		{"Jane <jane@@example.com> — send the deck", "email address mistyped"},
		{"Jane jane@example — send the deck", "email address mistyped"},
		{"Jane:", "promise is missing"},
		{"Jane — * met at SaaStr", "promise is missing"},
		{"Jane — by Friday", "promise is missing"},
		{"Jane — send the deck by Friday and call on Monday", "deadline is ambiguous"},
		{"Jane — send the deck tomorrow, then call next week", "deadline is ambiguous"},
		{"Jane — send the deck by 2026-11-20", `deadline "by 2026-11-20" is already past`},
		{"Jane — send the deck 2026-11-23T14:00:00-05:00", "already past"},
		{"Jane a@example.com — cc b@example.com", "two email addresses"},
		{"Jane +1 555 010 0100 — call +1 555 010 0199", "two phone numbers"},
		{"Jane https://a.example — see https://b.example", "two web addresses"},
		{"Jane met at SaaStr — send deck met at Web Summit", "twice where you met"},
		{"Jane — send deck met at ", "Where you met is empty"},
		{"Jane — send deck @", "Where you met is empty"},
		{"Jane — send\nBob — call", "control character"},
		{"Jane — se\x00nd", "control character"},
		{"Jane — s\xffend", "UTF-8"},
		{"Jane — " + strings.Repeat("x", followup.MaxQuickLen), "longer than"},
		{"Jane — send " + strings.Repeat("by ", 300), "too many date words"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			r, err := quickadd.Parse(tc.line, cx)
			if err == nil {
				t.Fatalf("read as %+v, want an error", r.Commitment)
			}
			if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != quickadd.Field {
				t.Fatalf("error %v: code %q field %q, want invalid naming text", err, followup.ErrorCode(err), followup.ErrorField(err))
			}
			if msg := followup.ErrorMessage(err); !strings.Contains(msg, tc.says) {
				t.Errorf("message %q does not say %q", msg, tc.says)
			}
		})
	}
}

// TestParseWithoutDeadlines: with no ParseDue every word stays in the promise.
func TestParseWithoutDeadlines(t *testing.T) {
	cx := at(t, "America/New_York", 2026, 11, 23, 15, 0)
	cx.ParseDue = nil
	r, err := quickadd.Parse("Jane — send the deck by Friday", cx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Commitment.Promise != "Send the deck by Friday" || r.Due != nil {
		t.Errorf("read as %+v", r.Commitment)
	}
}

// FuzzParse: no line panics; a refusal is EINVALID naming the line; a
// reading has a name and a promise, a direction, and parts whose spans name
// their text. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Jane Doe (Acme) — send pricing deck by Friday * met at SaaStr",
		"Bob: he'll intro me to Sam next week",
		"Li Wei from Globex - I'll send the case study tomorrow 3pm, li@globex.cn +86 10 1234 5678 (starred)",
		"Anna, Siemens: waiting for the signed NDA by Dec 3 @ Web Summit",
		"Bob will intro me to Sam",
		"",
	} {
		f.Add(s, false)
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string, known bool) {
		cx := at(t, "Europe/Berlin", 2026, 3, 28, 23, 50)
		if known {
			cx.Known = followup.Contact{Name: "Jane Doe"}
		}
		r, err := quickadd.Parse(line, cx)
		if err != nil {
			if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != quickadd.Field || followup.ErrorMessage(err) == "" {
				t.Fatalf("error %v is not invalid naming text", err)
			}
			return
		}
		c := r.Commitment
		if (c.Contact.Name == "" && !known) || c.Promise == "" || c.Direction == "" {
			t.Fatalf("%q read without a name, promise or direction: %+v", line, c)
		}
		if !utf8.ValidString(c.Promise) || !utf8.ValidString(c.Contact.Name) {
			t.Fatalf("invalid UTF-8 read from %q", line)
		}
		if (c.Due == nil) != (c.DueText == "") || c.Due != nil && c.Due.Location().String() != loc.String() {
			t.Fatalf("due %v, due_text %q", c.Due, c.DueText)
		}
		checkSpans(t, line, r)
	})
}

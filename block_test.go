package followup_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

var ny = func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return loc
}()

// commitment is Jane Doe's commitment from the contract: met at SaaStr on
// Monday 2026-11-23, deck due Friday, coffee agreed for Monday 2026-11-30.
func commitment() followup.Commitment {
	contacted := time.Date(2026, 11, 24, 11, 0, 0, 0, ny)
	return followup.Commitment{
		ID:        42,
		Contact:   followup.Contact{Name: "Jane Doe", Email: "jane@example.com", Phone: "+1 (555) 123-4567", Company: "Acme Inc", URL: "https://example.com/in/jane"},
		MetAt:     time.Date(2026, 11, 23, 15, 0, 0, 0, ny),
		MetWhere:  "SaaStr, booth 12",
		Promise:   "Send the pricing deck",
		Direction: followup.Mine,
		Due:       time.Date(2026, 11, 27, 17, 0, 0, 0, ny),
		Meeting:   &followup.Meeting{Start: time.Date(2026, 11, 30, 10, 0, 0, 0, ny), Minutes: 30, Location: "Blue Bottle, Market St"},
		Notes:     "possible client",
		CreatedAt: time.Date(2026, 11, 23, 20, 5, 0, 0, time.UTC),

		ContactedAt: &contacted,
	}
}

// step returns a block of kind k on the given local day and hour.
func step(k followup.StepKind, day, hour int) followup.Step {
	start := time.Date(2026, 11, day, hour, 0, 0, 0, ny)
	return followup.Step{
		ID: 7, CommitmentID: 42, Kind: k, Status: followup.StepPlanned,
		Start: start, End: start.Add(15 * time.Minute),
		UID: "step-7@followup", Sequence: 3,
		UpdatedAt: time.Date(2026, 11, 23, 20, 6, 0, 0, time.UTC),
	}
}

type blockCase struct {
	name string
	c    followup.Commitment
	st   followup.Step
	s    followup.Settings
	loc  *time.Location
	base string
}

// The facts that close every description for Jane, as the test
// commitments log them, after the draft.
const (
	janeFacts = "---\n" +
		"Jane Doe, Acme Inc\n" +
		"Email: mailto:jane@example.com\n" +
		"Phone: +1 (555) 123-4567 (tel:+15551234567)\n" +
		"Profile: https://example.com/in/jane\n"
	janeLink        = "Why it matters: possible client\n" + "Open in followup: http://127.0.0.1:8080/commitments/42"
	janeMineFacts   = janeFacts + "You promised: Send the pricing deck, due Friday, November 27\n" + janeLink
	janeTheirsFacts = janeFacts + "They promised: send me the case study, due Friday, November 27\n" + janeLink
)

func blockCases() []blockCase {
	theirs := func(promise string) followup.Commitment {
		c := commitment()
		c.Direction = followup.Theirs
		c.Promise = promise
		return c
	}
	noMeeting := func(c followup.Commitment) followup.Commitment {
		c.Meeting = nil
		return c
	}
	notContacted := func(c followup.Commitment) followup.Commitment {
		c.ContactedAt = nil
		return c
	}
	minimal := followup.Commitment{ID: 9, Contact: followup.Contact{Name: "  Bo  "}, Promise: "intro to the CFO", Direction: followup.Mine}
	tricky := commitment()
	tricky.Contact = followup.Contact{Name: "Jane;\nDoe, Jr.", Email: " jane@example.com\n", Phone: "n/a", Company: "A; B, C"}
	tricky.Promise = "send you the deck;\r\nand the notes, too"
	tricky.MetWhere = "Hall 1;\nstand 3, left"
	tricky.Notes = "line one;\r\nline two, with comma\\backslash\n"
	tricky.Meeting.Location = "Room 4;\nfloor 2, east"
	long := commitment()
	long.Promise = strings.Repeat("prepare a detailed proposal ", 5)
	return []blockCase{
		{name: "refresher mine", c: commitment(), st: step(followup.KindRefresher, 24, 9)},
		{name: "refresher theirs without meeting", c: noMeeting(theirs("send me the case study")), st: step(followup.KindRefresher, 24, 9)},
		{name: "deliver", c: commitment(), st: step(followup.KindDeliver, 25, 14)},
		{name: "deliver without send verb or met facts", c: minimal, st: step(followup.KindDeliver, 25, 14)},
		{name: "chase", c: theirs("send me the case study"), st: step(followup.KindChase, 28, 9)},
		{name: "chase without send verb", c: theirs("Intro to their CFO"), st: step(followup.KindChase, 28, 9)},
		{name: "meeting", c: commitment(), st: step(followup.KindMeeting, 30, 10)},
		{name: "confirm the working day before", c: commitment(), st: step(followup.KindConfirm, 27, 9)},
		{name: "confirm the day before", c: commitment(), st: step(followup.KindConfirm, 29, 9)},
		{name: "confirm late, on the day", c: commitment(), st: step(followup.KindConfirm, 30, 9)},
		{name: "nudge", c: commitment(), st: step(followup.KindNudge, 30, 9)},
		{name: "nudge theirs, not contacted", c: notContacted(theirs("send me the case study")), st: step(followup.KindNudge, 30, 9)},
		{name: "minimal commitment without base URL", c: minimal, st: step(followup.KindRefresher, 24, 9), base: "-"},
		{name: "user text with semicolons commas and newlines", c: tricky, st: step(followup.KindConfirm, 29, 9)},
		{name: "long promise", c: long, st: step(followup.KindDeliver, 25, 14)},
		{name: "nil location is UTC", c: commitment(), st: step(followup.KindConfirm, 29, 22), loc: nil},
	}
}

// withDefaults fills a case's settings, zone and base URL ("-" means none).
func withDefaults(tc blockCase, i int) blockCase {
	tc.s = followup.DefaultSettings("America/New_York")
	if tc.name != "nil location is UTC" {
		tc.loc = ny
	}
	switch tc.base {
	case "":
		tc.base = "http://127.0.0.1:8080/"
	case "-":
		tc.base = ""
	}
	return tc
}

// blockWants are the texts of each case, by name.
var blockWants = map[string]followup.Event{
	"refresher mine": {
		Summary: "Send a thank-you note — Jane Doe",
		URL:     "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"Thank you for the conversation yesterday at SaaStr, booth 12 — it was great to meet you.\n" +
			"\n" +
			"As promised, I will get the pricing deck to you by Friday, November 27.\n" +
			"\n" +
			"Looking forward to our meeting on Monday at 10:00 EST at Blue Bottle, Market St.\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			janeMineFacts,
	},
	"refresher theirs without meeting": {
		Summary: "Send a thank-you note — Jane Doe",
		URL:     "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"Thank you for the conversation yesterday at SaaStr, booth 12 — it was great to meet you.\n" +
			"\n" +
			"Thanks as well for offering to send me the case study — I am looking forward to it.\n" +
			"\n" +
			"I would be glad to continue the conversation — would a short call in the next few days work for you?\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			janeTheirsFacts,
	},
	"deliver": {
		Summary: "Send the pricing deck — Jane Doe",
		URL:     "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"As promised when we met on Monday at SaaStr, booth 12, here is the pricing deck.\n" +
			"\n" +
			"I hope it helps. Let me know if you have any questions.\n" +
			"\n" +
			"Looking forward to our meeting on Monday at 10:00 EST at Blue Bottle, Market St.\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			janeMineFacts,
	},
	"deliver without send verb or met facts": {
		Summary: "Intro to the CFO — Bo",
		URL:     "http://127.0.0.1:8080/commitments/9",
		Description: "Hi Bo,\n" +
			"\n" +
			"As promised, here is what we talked about: intro to the CFO.\n" +
			"\n" +
			"I hope it helps. Let me know if you have any questions.\n" +
			"\n" +
			"I would be glad to continue the conversation — would a short call in the next few days work for you?\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			"---\n" +
			"Bo\n" +
			"You promised: intro to the CFO\n" +
			"Open in followup: http://127.0.0.1:8080/commitments/9",
	},
	"chase": {
		Summary: "Check the case study arrived — Jane Doe",
		URL:     "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"I hope you are well. When we met on Monday at SaaStr, booth 12, you kindly offered to send me the case study.\n" +
			"\n" +
			"I wanted to check whether it is on its way, as I have not seen it yet. No rush, and thanks again!\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			janeTheirsFacts,
	},
	"chase without send verb": {
		Summary: "Chase: Intro to their CFO — Jane Doe",
		URL:     "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"I hope you are well. When we met on Monday at SaaStr, booth 12, you kindly offered this: intro to their CFO.\n" +
			"\n" +
			"I wanted to check whether it is on its way, as I have not seen it yet. No rush, and thanks again!\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			"---\n" +
			"Jane Doe, Acme Inc\n" +
			"Email: mailto:jane@example.com\n" +
			"Phone: +1 (555) 123-4567 (tel:+15551234567)\n" +
			"Profile: https://example.com/in/jane\n" +
			"They promised: Intro to their CFO, due Friday, November 27\n" +
			"Why it matters: possible client\n" +
			"Open in followup: http://127.0.0.1:8080/commitments/42",
	},
	"meeting": {
		Summary:  "Meeting with Jane Doe at Blue Bottle, Market St",
		Location: "Blue Bottle, Market St",
		URL:      "http://127.0.0.1:8080/commitments/42",
		Description: "Agreed when you met on Monday, November 23 at SaaStr, booth 12.\n" +
			"\n" +
			janeMineFacts,
	},
	"confirm the working day before": {
		Summary:  "Confirm Monday's meeting — Jane Doe",
		Location: "Blue Bottle, Market St",
		URL:      "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"Just confirming our meeting on Monday, November 30 at 10:00 EST at Blue Bottle, Market St. Does that still work for you?\n" +
			"\n" +
			"See you then!\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			janeMineFacts,
	},
	"confirm the day before": {
		Summary:  "Confirm tomorrow's meeting — Jane Doe",
		Location: "Blue Bottle, Market St",
		URL:      "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"Just confirming our meeting tomorrow, Monday, November 30, at 10:00 EST at Blue Bottle, Market St. Does that still work for you?\n" +
			"\n" +
			"See you then!\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			janeMineFacts,
	},
	"confirm late, on the day": {
		Summary:  "Confirm today's meeting — Jane Doe",
		Location: "Blue Bottle, Market St",
		URL:      "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"Just confirming our meeting today, Monday, November 30, at 10:00 EST at Blue Bottle, Market St. Does that still work for you?\n" +
			"\n" +
			"See you then!\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			janeMineFacts,
	},
	"nudge": {
		Summary: "Nudge — Jane Doe",
		URL:     "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"After we met on Monday, November 23 at SaaStr, booth 12, I wrote to you on Tuesday and have not heard back — I wanted to make sure my note did not get lost.\n" +
			"\n" +
			"I am still interested in continuing the conversation. Would a short call in the next few weeks work for you?\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			janeMineFacts,
	},
	"nudge theirs, not contacted": {
		Summary: "Nudge — Jane Doe",
		URL:     "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"After we met on Monday, November 23 at SaaStr, booth 12, I wrote to you and have not heard back — I wanted to make sure my note did not get lost.\n" +
			"\n" +
			"I am still interested in continuing the conversation. Would a short call in the next few weeks work for you?\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			janeTheirsFacts,
	},
	"minimal commitment without base URL": {
		Summary: "Send a thank-you note — Bo",
		Description: "Hi Bo,\n" +
			"\n" +
			"Thank you for the conversation — it was great to meet you.\n" +
			"\n" +
			"As promised, I will follow up on what we talked about: intro to the CFO.\n" +
			"\n" +
			"I would be glad to continue the conversation — would a short call in the next few days work for you?\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			"---\n" +
			"Bo\n" +
			"You promised: intro to the CFO",
	},
	"user text with semicolons commas and newlines": {
		Summary:  "Confirm tomorrow's meeting — Jane; Doe, Jr.",
		Location: "Room 4; floor 2, east",
		URL:      "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"Just confirming our meeting tomorrow, Monday, November 30, at 10:00 EST at Room 4; floor 2, east. Does that still work for you?\n" +
			"\n" +
			"See you then!\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			"---\n" +
			"Jane; Doe, Jr., A; B, C\n" +
			"Email: mailto:jane@example.com\n" +
			"You promised: send you the deck;\nand the notes, too, due Friday, November 27\n" +
			"Why it matters: line one;\n" +
			"line two, with comma\\backslash\n" +
			"Open in followup: http://127.0.0.1:8080/commitments/42",
	},
	"long promise": {
		Summary: "Prepare a detailed proposal prepare a detailed proposal prepare a detailed… — Jane Doe",
		URL:     "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"As promised when we met on Monday at SaaStr, booth 12, here is what we talked about: prepare a detailed proposal prepare a detailed proposal prepare a detailed proposal prepare a detailed proposal prepare a detailed proposal.\n" +
			"\n" +
			"I hope it helps. Let me know if you have any questions.\n" +
			"\n" +
			"Looking forward to our meeting on Monday at 10:00 EST at Blue Bottle, Market St.\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			"---\n" +
			"Jane Doe, Acme Inc\n" +
			"Email: mailto:jane@example.com\n" +
			"Phone: +1 (555) 123-4567 (tel:+15551234567)\n" +
			"Profile: https://example.com/in/jane\n" +
			"You promised: prepare a detailed proposal prepare a detailed proposal prepare a detailed proposal prepare a detailed proposal prepare a detailed proposal, due Friday, November 27\n" +
			"Why it matters: possible client\n" +
			"Open in followup: http://127.0.0.1:8080/commitments/42",
	},
	"nil location is UTC": {
		Summary:  "Confirm today's meeting — Jane Doe",
		Location: "Blue Bottle, Market St",
		URL:      "http://127.0.0.1:8080/commitments/42",
		Description: "Hi Jane,\n" +
			"\n" +
			"Just confirming our meeting today, Monday, November 30, at 15:00 UTC at Blue Bottle, Market St. Does that still work for you?\n" +
			"\n" +
			"See you then!\n" +
			"\n" +
			"Best regards\n" +
			"\n" +
			janeMineFacts,
	},
}

// TestBlockEvent compares the whole event of every case: the texts of
// blockWants and the fields that come from the step, commitment and
// settings.
func TestBlockEvent(t *testing.T) {
	for i, tc := range blockCases() {
		t.Run(tc.name, func(t *testing.T) {
			tc = withDefaults(tc, i)
			want, ok := blockWants[tc.name]
			if !ok {
				t.Fatalf("no want for %q", tc.name)
			}
			want.UID = "step-7@followup"
			want.Sequence = 3
			want.Start = tc.st.Start
			want.End = tc.st.Start.Add(15 * time.Minute)
			want.Stamp = time.Date(2026, 11, 23, 20, 6, 0, 0, time.UTC)
			want.Created = tc.c.CreatedAt
			want.AlarmMinutes = 10
			want.Categories = []string{"followup", string(tc.st.Kind)}
			got := followup.BlockEvent(tc.c, tc.st, tc.s, tc.loc, tc.base)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("BlockEvent (-want +got):\n%s", diff)
			}
			if strings.ContainsAny(got.Summary, "\r\n") || strings.ContainsAny(got.Location, "\r\n") {
				t.Errorf("summary %q or location %q is not one line", got.Summary, got.Location)
			}
			for _, line := range strings.Split(got.Description, "\n") {
				if strings.HasSuffix(strings.TrimSpace(line), ":") || strings.Contains(line, "\r") {
					t.Errorf("description has an empty or broken line %q", line)
				}
			}
		})
	}
}

// TestBlockEventSettings checks the fields taken from settings and the
// step, with a custom alarm and the real commitment timestamps.
func TestBlockEventSettings(t *testing.T) {
	c := commitment()
	st := step(followup.KindNudge, 30, 9)
	st.Sequence = 0
	s := followup.DefaultSettings("America/New_York")
	s.AlarmMinutes = 25
	got := followup.BlockEvent(c, st, s, ny, "https://followup.example.com")
	want := struct {
		UID          string
		Sequence     int
		Stamp        time.Time
		Created      time.Time
		AlarmMinutes int
		Categories   []string
		URL          string
		Location     string
	}{"step-7@followup", 0, st.UpdatedAt, c.CreatedAt, 25, []string{"followup", "nudge"}, "https://followup.example.com/commitments/42", ""}
	gotFields := want
	gotFields.UID, gotFields.Sequence, gotFields.Stamp, gotFields.Created = got.UID, got.Sequence, got.Stamp, got.Created
	gotFields.AlarmMinutes, gotFields.Categories, gotFields.URL, gotFields.Location = got.AlarmMinutes, got.Categories, got.URL, got.Location
	if diff := cmp.Diff(want, gotFields); diff != "" {
		t.Errorf("BlockEvent fields (-want +got):\n%s", diff)
	}
}

// TestBlockTitle checks titles for every kind and the promise clean-up.
func TestBlockTitle(t *testing.T) {
	base := commitment()
	with := func(f func(*followup.Commitment)) followup.Commitment {
		c := commitment()
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		c    followup.Commitment
		kind followup.StepKind
		day  int
		want string
	}{
		{"refresher", base, followup.KindRefresher, 24, "Send a thank-you note — Jane Doe"},
		{"deliver", base, followup.KindDeliver, 25, "Send the pricing deck — Jane Doe"},
		{"deliver upper-cases", with(func(c *followup.Commitment) { c.Promise = "  élan report\n for Q3 " }), followup.KindDeliver, 25, "Élan report for Q3 — Jane Doe"},
		{"deliver empty promise", with(func(c *followup.Commitment) { c.Promise = " " }), followup.KindDeliver, 25, "Deliver what you promised — Jane Doe"},
		{"deliver long", with(func(c *followup.Commitment) { c.Promise = strings.Repeat("ab ", 40) }), followup.KindDeliver, 25, "Ab" + strings.Repeat(" ab", 25) + "… — Jane Doe"},
		{"deliver long word", with(func(c *followup.Commitment) { c.Promise = strings.Repeat("é", 100) }), followup.KindDeliver, 25, "É" + strings.Repeat("é", 78) + "… — Jane Doe"},
		{"chase with send verb", with(func(c *followup.Commitment) {
			c.Direction = followup.Theirs
			c.Promise = "Forward us the contract by Friday"
		}), followup.KindChase, 28, "Check the contract arrived — Jane Doe"},
		{"chase without", with(func(c *followup.Commitment) { c.Direction = followup.Theirs; c.Promise = "an intro to Bob" }), followup.KindChase, 28, "Chase: An intro to Bob — Jane Doe"},
		{"chase empty", with(func(c *followup.Commitment) { c.Promise = "" }), followup.KindChase, 28, "Check what they promised arrived — Jane Doe"},
		{"meeting", base, followup.KindMeeting, 30, "Meeting with Jane Doe at Blue Bottle, Market St"},
		{"meeting without location", with(func(c *followup.Commitment) { c.Meeting.Location = "" }), followup.KindMeeting, 30, "Meeting with Jane Doe"},
		{"confirm tomorrow", base, followup.KindConfirm, 29, "Confirm tomorrow's meeting — Jane Doe"},
		{"confirm weekday", base, followup.KindConfirm, 27, "Confirm Monday's meeting — Jane Doe"},
		{"confirm without meeting", with(func(c *followup.Commitment) { c.Meeting = nil }), followup.KindConfirm, 27, "Confirm the meeting — Jane Doe"},
		{"nudge", base, followup.KindNudge, 30, "Nudge — Jane Doe"},
		{"no name", with(func(c *followup.Commitment) { c.Contact.Name = "\n" }), followup.KindNudge, 30, "Nudge — your contact"},
		{"close", base, followup.KindClose, 30, "Close the follow-up — Jane Doe"},
		{"let go", base, followup.KindLetGo, 30, "Let go — Jane Doe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := followup.BlockTitle(tc.c, step(tc.kind, tc.day, 9)); got != tc.want {
				t.Errorf("BlockTitle = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestBlockEventZones checks that dates and times are written in the
// user's zone, across a daylight-saving change.
func TestBlockEventZones(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	c := commitment()
	// Met late Monday evening in New York: already Tuesday in UTC and Berlin.
	c.MetAt = time.Date(2026, 3, 23, 22, 0, 0, 0, ny)
	c.Due = time.Date(2026, 3, 27, 17, 0, 0, 0, ny)
	// Berlin moves to CEST on 2026-03-29; New York moved on 2026-03-08.
	c.Meeting.Start = time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC)
	confirm := followup.Step{Kind: followup.KindConfirm, Start: time.Date(2026, 3, 27, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 27, 9, 10, 0, 0, time.UTC)}
	refresher := followup.Step{Kind: followup.KindRefresher, Start: time.Date(2026, 3, 24, 13, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 24, 13, 15, 0, 0, time.UTC)}
	s := followup.DefaultSettings("UTC")
	for _, tc := range []struct {
		name string
		st   followup.Step
		loc  *time.Location
		want []string
	}{
		{"confirm in Berlin", confirm, berlin, []string{"Confirm Monday's meeting", "on Monday, March 30 at 10:00 CEST"}},
		{"confirm in New York", confirm, ny, []string{"Confirm Monday's meeting", "on Monday, March 30 at 04:00 EDT"}},
		{"refresher in New York", refresher, ny, []string{"conversation yesterday at SaaStr", "by Friday, March 27.", "on Monday at 04:00 EDT"}},
		{"refresher in Berlin", refresher, berlin, []string{"conversation today at SaaStr", "by Friday, March 27.", "on Monday at 10:00 CEST"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := followup.BlockEvent(c, tc.st, s, tc.loc, "")
			text := ev.Summary + "\n" + ev.Description
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("%q not in\n%s", w, text)
				}
			}
		})
	}
}

package quickadd_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/duetext"
	"github.com/followup/followup/quickadd"
)

func zone(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// at returns a context logged at the wall time given in zone, with the
// working day ending at 17:00 and deadlines read by duetext.
func at(tb testing.TB, zoneName string, y int, m time.Month, d, h, min int) quickadd.Context {
	loc := zone(tb, zoneName)
	return quickadd.Context{Now: time.Date(y, m, d, h, min, 0, 0, loc), Loc: loc, EndOfDay: followup.Clock{Hour: 17}, ParseDue: duetext.Parse}
}

// reading is what a line becomes, compactly: the deadline in the user's
// zone with its offset.
type reading struct {
	Name, Company, Email, Phone, URL string
	Promise                          string
	Dir                              followup.Direction
	DueText, Due                     string
	Star                             bool
	Met                              string
}

func readingOf(r followup.QuickReading, loc *time.Location) reading {
	c := r.Commitment
	out := reading{
		Name: c.Contact.Name, Company: c.Contact.Company, Email: c.Contact.Email, Phone: c.Contact.Phone, URL: c.Contact.URL,
		Promise: c.Promise, Dir: c.Direction, DueText: c.DueText, Star: c.Priority, Met: c.MetWhere,
	}
	if c.Due != nil {
		out.Due = c.Due.In(loc).Format("Mon 2006-01-02 15:04 -0700")
	}
	return out
}

func TestParse(t *testing.T) {
	// Monday 2026-11-23, 15:00 in New York: the harness's day.
	ny := at(t, "America/New_York", 2026, 11, 23, 15, 0)
	// Around midnight in Berlin: 23:50 CET is 22:50 UTC, the same day;
	// 00:30 CET is 23:30 UTC, the day before in UTC.
	berlin2350 := at(t, "Europe/Berlin", 2026, 11, 26, 23, 50)
	berlin0030 := at(t, "Europe/Berlin", 2026, 11, 27, 0, 30)
	// 23:30 in New York is 04:30 UTC the next day.
	nyLate := at(t, "America/New_York", 2026, 11, 23, 23, 30)
	// The night before Berlin springs forward (2026-03-29), the Friday
	// before it, and the night New York falls back (2026-11-01).
	berlinSpring := at(t, "Europe/Berlin", 2026, 3, 28, 23, 50)
	berlinSpringFri := at(t, "Europe/Berlin", 2026, 3, 27, 10, 0)
	nyFall := at(t, "America/New_York", 2026, 10, 31, 23, 50)
	known := ny
	known.Known = followup.Contact{Name: "Jane Doe", Company: "Acme"}

	for _, tc := range []struct {
		cx   quickadd.Context
		line string
		want reading
	}{
		{ny, "Jane Doe (Acme) — send pricing deck by Friday * met at SaaStr",
			reading{Name: "Jane Doe", Company: "Acme", Promise: "Send pricing deck", Dir: "mine", DueText: "by Friday", Due: "Fri 2026-11-27 17:00 -0500", Star: true, Met: "SaaStr"}},
		{ny, "Bob: he'll intro me to Sam next week",
			reading{Name: "Bob", Promise: "Intro me to Sam", Dir: "theirs", DueText: "next week", Due: "Fri 2026-12-04 17:00 -0500"}},
		{ny, "Bob will intro me to Sam next week",
			reading{Name: "Bob", Promise: "Intro me to Sam", Dir: "theirs", DueText: "next week", Due: "Fri 2026-12-04 17:00 -0500"}},
		{ny, "Maria Garcia, Initech: I'll send the API docs tomorrow",
			reading{Name: "Maria Garcia", Company: "Initech", Promise: "Send the API docs", Dir: "mine", DueText: "tomorrow", Due: "Tue 2026-11-24 17:00 -0500"}},
		{ny, "Tom from Hooli - waiting for the signed NDA by Dec 3",
			reading{Name: "Tom", Company: "Hooli", Promise: "The signed NDA", Dir: "theirs", DueText: "by Dec 3", Due: "Thu 2026-12-03 17:00 -0500"}},
		{ny, "Priya (Stripe) — coffee intro to our CTO in 3 days !",
			reading{Name: "Priya", Company: "Stripe", Promise: "Coffee intro to our CTO", Dir: "mine", DueText: "in 3 days", Due: "Thu 2026-11-26 17:00 -0500", Star: true}},
		{ny, "Ken Adams: owes me the Q3 numbers by end of week",
			reading{Name: "Ken Adams", Promise: "The Q3 numbers", Dir: "theirs", DueText: "by end of week", Due: "Fri 2026-11-27 17:00 -0500"}},
		{ny, "Lena Fischer @ Web Summit — share the hiring playbook asap",
			reading{Name: "Lena Fischer", Promise: "Share the hiring playbook", Dir: "mine", DueText: "asap", Due: "Mon 2026-11-23 17:00 -0500", Met: "Web Summit"}},
		{ny, "Sam Lee <sam@lee.example> — send the recording",
			reading{Name: "Sam Lee", Email: "sam@lee.example", Promise: "Send the recording", Dir: "mine"}},
		{ny, "Chris: call him back tomorrow 3pm (starred)",
			reading{Name: "Chris", Promise: "Call him back", Dir: "mine", DueText: "tomorrow 3pm", Due: "Tue 2026-11-24 15:00 -0500", Star: true}},
		{ny, "Dr. Aisha Khan (Mayo Clinic): she'll send the study protocol next Friday",
			reading{Name: "Dr. Aisha Khan", Company: "Mayo Clinic", Promise: "Send the study protocol", Dir: "theirs", DueText: "next Friday", Due: "Fri 2026-12-04 17:00 -0500"}},
		{ny, "Jean-Luc Picard - send the slides by Dec 1st",
			reading{Name: "Jean-Luc Picard", Promise: "Send the slides", Dir: "mine", DueText: "by Dec 1st", Due: "Tue 2026-12-01 17:00 -0500"}},
		{ny, "Omar, Acme Corp: follow up on the pilot by 2026-12-02",
			reading{Name: "Omar", Company: "Acme Corp", Promise: "Follow up on the pilot", Dir: "mine", DueText: "by 2026-12-02", Due: "Wed 2026-12-02 17:00 -0500"}},
		{ny, "Yuki: they'll send the contract by Wednesday noon",
			reading{Name: "Yuki", Promise: "Send the contract", Dir: "theirs", DueText: "by Wednesday noon", Due: "Wed 2026-11-25 12:00 -0500"}},
		{ny, "Anna Schmidt — intro her to our designer, anna@schmidt.example, +49 151 2345 6789",
			reading{Name: "Anna Schmidt", Email: "anna@schmidt.example", Phone: "+49 151 2345 6789", Promise: "Intro her to our designer", Dir: "mine"}},
		{ny, "Mike (Globex) — send the case study in 2 weeks * @ AWS re:Invent",
			reading{Name: "Mike", Company: "Globex", Promise: "Send the case study", Dir: "mine", DueText: "in 2 weeks", Due: "Mon 2026-12-07 17:00 -0500", Star: true, Met: "AWS re:Invent"}},
		{ny, "Sofia: I will review her deck tonight",
			reading{Name: "Sofia", Promise: "Review her deck", Dir: "mine", DueText: "tonight", Due: "Mon 2026-11-23 17:00 -0500"}},
		{ny, "Raj Patel from Infosys — let me check pricing options by Thursday",
			reading{Name: "Raj Patel", Company: "Infosys", Promise: "Check pricing options", Dir: "mine", DueText: "by Thursday", Due: "Thu 2026-11-26 17:00 -0500"}},
		{ny, "Emma: waiting on feedback about the proposal",
			reading{Name: "Emma", Promise: "Feedback about the proposal", Dir: "theirs"}},
		{ny, "Lucas (Nubank): send the deck by Friday 9am!",
			reading{Name: "Lucas", Company: "Nubank", Promise: "Send the deck", Dir: "mine", DueText: "by Friday 9am", Due: "Fri 2026-11-27 09:00 -0500"}},
		{ny, "Zoe — send thank-you note",
			reading{Name: "Zoe", Promise: "Send thank-you note", Dir: "mine"}},
		{ny, "Carlos Mendez: intro to Sarah at Sequoia by end of month",
			reading{Name: "Carlos Mendez", Promise: "Intro to Sarah at Sequoia", Dir: "mine", DueText: "by end of month", Due: "Mon 2026-11-30 17:00 -0500"}},
		// "Monday" said on a Monday before the end of the day is today.
		{ny, "Hannah Lee — ping about the beta on Monday",
			reading{Name: "Hannah Lee", Promise: "Ping about the beta", Dir: "mine", DueText: "on Monday", Due: "Mon 2026-11-23 17:00 -0500"}},
		{ny, "Nina: send portfolio link https://nina.example/work by Tuesday",
			reading{Name: "Nina", URL: "https://nina.example/work", Promise: "Send portfolio link", Dir: "mine", DueText: "by Tuesday", Due: "Tue 2026-11-24 17:00 -0500"}},
		{ny, "Victor (Acme) - he will send pricing before Dec 10",
			reading{Name: "Victor", Company: "Acme", Promise: "Send pricing", Dir: "theirs", DueText: "before Dec 10", Due: "Thu 2026-12-10 17:00 -0500"}},
		{ny, "Greta — book a coffee with her next week ⭐",
			reading{Name: "Greta", Promise: "Book a coffee with her", Dir: "mine", DueText: "next week", Due: "Fri 2026-12-04 17:00 -0500", Star: true}},
		{ny, "Paul: I'll send him the recording within 2 days",
			reading{Name: "Paul", Promise: "Send him the recording", Dir: "mine", DueText: "within 2 days", Due: "Wed 2026-11-25 17:00 -0500"}},
		{ny, "李伟 (阿里巴巴) — send the deck by Friday",
			reading{Name: "李伟", Company: "阿里巴巴", Promise: "Send the deck", Dir: "mine", DueText: "by Friday", Due: "Fri 2026-11-27 17:00 -0500"}},
		{ny, "José Álvarez, Telefónica: send the proposal by tomorrow at 10am",
			reading{Name: "José Álvarez", Company: "Telefónica", Promise: "Send the proposal", Dir: "mine", DueText: "by tomorrow at 10am", Due: "Tue 2026-11-24 10:00 -0500"}},
		{ny, "Ben: Ben will send the intro email by Thursday",
			reading{Name: "Ben", Promise: "Send the intro email", Dir: "theirs", DueText: "by Thursday", Due: "Thu 2026-11-26 17:00 -0500"}},
		{ny, "Omar Haddad — she's going to send the term sheet by Friday",
			reading{Name: "Omar Haddad", Promise: "Send the term sheet", Dir: "theirs", DueText: "by Friday", Due: "Fri 2026-11-27 17:00 -0500"}},
		// Amounts and references are not phone numbers; "I'd" is no cue.
		{ny, "Jane Doe (Acme Corp.) — I'd pitch the €2.500.000 round, invoice #12345678",
			reading{Name: "Jane Doe", Company: "Acme Corp.", Promise: "I'd pitch the €2.500.000 round, invoice #12345678", Dir: "mine"}},
		{ny, "Jane — call 555-0100 tomorrow",
			reading{Name: "Jane", Phone: "555-0100", Promise: "Call", Dir: "mine", DueText: "tomorrow", Due: "Tue 2026-11-24 17:00 -0500"}},
		{ny, "Jane ! — send the deck * (starred)",
			reading{Name: "Jane", Promise: "Send the deck", Dir: "mine", Star: true}},
		{ny, "Kate Miller: she owes me a reference letter",
			reading{Name: "Kate Miller", Promise: "A reference letter", Dir: "theirs"}},
		{ny, "Fatima (UNICEF) — send the report end of next week",
			reading{Name: "Fatima", Company: "UNICEF", Promise: "Send the report", Dir: "mine", DueText: "end of next week", Due: "Fri 2026-12-04 17:00 -0500"}},
		{ny, "Ola: send the notes eod",
			reading{Name: "Ola", Promise: "Send the notes", Dir: "mine", DueText: "eod", Due: "Mon 2026-11-23 17:00 -0500"}},
		{ny, "Jane Doe — send the deck by Dec 3, 2026",
			reading{Name: "Jane Doe", Promise: "Send the deck", Dir: "mine", DueText: "by Dec 3, 2026", Due: "Thu 2026-12-03 17:00 -0500"}},
		{ny, "Max: I promised to send the white paper by the 1st",
			reading{Name: "Max", Promise: "Send the white paper", Dir: "mine", DueText: "by the 1st", Due: "Tue 2026-12-01 17:00 -0500"}},
		{ny, "Rosa – call about the partnership Friday",
			reading{Name: "Rosa", Promise: "Call about the partnership", Dir: "mine", DueText: "Friday", Due: "Fri 2026-11-27 17:00 -0500"}},
		{ny, "Tim -- send invoice in 5 days",
			reading{Name: "Tim", Promise: "Send invoice", Dir: "mine", DueText: "in 5 days", Due: "Sat 2026-11-28 17:00 -0500"}},
		{ny, "Sven Berg: send the deck by Friday * met at Slush, Helsinki",
			reading{Name: "Sven Berg", Promise: "Send the deck", Dir: "mine", DueText: "by Friday", Due: "Fri 2026-11-27 17:00 -0500", Star: true, Met: "Slush, Helsinki"}},
		// "Sun" and "may" are words, not deadlines, without a date.
		{ny, "Dana — send the Sun article, may forward it to Sam",
			reading{Name: "Dana", Promise: "Send the Sun article, may forward it to Sam", Dir: "mine"}},
		{berlin2350, "Jonas: send the offer by tomorrow",
			reading{Name: "Jonas", Promise: "Send the offer", Dir: "mine", DueText: "by tomorrow", Due: "Fri 2026-11-27 17:00 +0100"}},
		{berlin0030, "Jonas: send the offer by tomorrow",
			reading{Name: "Jonas", Promise: "Send the offer", Dir: "mine", DueText: "by tomorrow", Due: "Sat 2026-11-28 17:00 +0100"}},
		{berlin0030, "Klara — send the notes today",
			reading{Name: "Klara", Promise: "Send the notes", Dir: "mine", DueText: "today", Due: "Fri 2026-11-27 17:00 +0100"}},
		{berlin0030, "Klara — send the notes by Thursday",
			reading{Name: "Klara", Promise: "Send the notes", Dir: "mine", DueText: "by Thursday", Due: "Thu 2026-12-03 17:00 +0100"}},
		{nyLate, "Jane — send the deck by tomorrow",
			reading{Name: "Jane", Promise: "Send the deck", Dir: "mine", DueText: "by tomorrow", Due: "Tue 2026-11-24 17:00 -0500"}},
		{nyLate, "Jane — send the deck tonight",
			reading{Name: "Jane", Promise: "Send the deck", Dir: "mine", DueText: "tonight", Due: "Mon 2026-11-23 23:59 -0500"}},
		{berlinSpring, "Jonas: send the offer by tomorrow",
			reading{Name: "Jonas", Promise: "Send the offer", Dir: "mine", DueText: "by tomorrow", Due: "Sun 2026-03-29 17:00 +0200"}},
		{berlinSpringFri, "Jonas — send the offer in 3 days",
			reading{Name: "Jonas", Promise: "Send the offer", Dir: "mine", DueText: "in 3 days", Due: "Mon 2026-03-30 17:00 +0200"}},
		{nyFall, "Bob: he'll send the slides tomorrow",
			reading{Name: "Bob", Promise: "Send the slides", Dir: "theirs", DueText: "tomorrow", Due: "Sun 2026-11-01 17:00 -0500"}},
		{nyFall, "Bob: he'll send the slides in 2 hours",
			reading{Name: "Bob", Promise: "Send the slides", Dir: "theirs", DueText: "in 2 hours", Due: "Sun 2026-11-01 01:50 -0400"}},
		{known, "send the pricing deck by Friday",
			reading{Promise: "Send the pricing deck", Dir: "mine", DueText: "by Friday", Due: "Fri 2026-11-27 17:00 -0500"}},
		// With a vCard for Jane Doe: "Jane" names her, and the name is the
		// card's; a colon that names no one is part of the promise.
		{known, "Jane (Acme Labs): send the deck",
			reading{Name: "Jane Doe", Company: "Acme Labs", Promise: "Send the deck", Dir: "mine"}},
		{known, "send the deck: the new one",
			reading{Promise: "Send the deck: the new one", Dir: "mine"}},
		{known, "he'll send the contract next week",
			reading{Promise: "Send the contract", Dir: "theirs", DueText: "next week", Due: "Fri 2026-12-04 17:00 -0500"}},
	} {
		t.Run(tc.line, func(t *testing.T) {
			r, err := quickadd.Parse(tc.line, tc.cx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, readingOf(r, tc.cx.Loc)); diff != "" {
				t.Errorf("reading (-want +got):\n%s", diff)
			}
			checkSpans(t, tc.line, r)
		})
	}
}

// checkSpans checks that every part read from the line names its own text,
// that each field appears once, and that two spans are apart or one holds
// the other (the promise runs from its first word to its last and may hold
// a deadline; a name may hold a star).
func checkSpans(t *testing.T, line string, r followup.QuickReading) {
	t.Helper()
	runes := []rune(line)
	seen := map[string]bool{}
	var spans []followup.QuickPart
	for _, p := range r.Parts {
		if seen[p.Field] {
			t.Errorf("field %s read twice: %+v", p.Field, r.Parts)
		}
		seen[p.Field] = true
		if p.Source != followup.FromLine {
			if p.Text != "" || p.Start != 0 || p.End != 0 {
				t.Errorf("part %+v not from the line has a span", p)
			}
			continue
		}
		if p.Start < 0 || p.End > len(runes) || p.Start >= p.End || string(runes[p.Start:p.End]) != p.Text {
			t.Errorf("part %+v: span does not name its text in %q", p, line)
			continue
		}
		for _, o := range spans {
			apart := p.End <= o.Start || o.End <= p.Start
			nested := p.Start <= o.Start && o.End <= p.End || o.Start <= p.Start && p.End <= o.End
			if !apart && !nested {
				t.Errorf("parts %+v and %+v cross", o, p)
			}
		}
		spans = append(spans, p)
	}
}

package followup

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxCoffeeSuggestions is how many starred contacts a coffee block suggests.
const maxCoffeeSuggestions = 5

// maxReviewLines is how many commitments the weekly review lists, starred
// ones first; the others are counted.
const maxReviewLines = 12

// HabitEvent builds the recurring event of a habit series: the master with
// the series' RRULE in its zone, and one override per moved occurrence,
// all with the series' UID and SEQUENCE.
//
// The text names people ("Habits that name people"), and describes the
// upcoming occurrence, next: the weekly review lists the commitments
// created in the seven days before it; the daily call names the most
// urgent open commitment with a phone number (earliest deadline, starred
// first among equals); the coffee block suggests starred open commitments
// without an agreed meeting. The overrides carry the same text. So the
// text changes only when what the next occurrence should say changes;
// such a change rewrites the event without a new SEQUENCE, since SUMMARY
// and DESCRIPTION do not reschedule it (RFC 5546 §2.1.4), and past
// occurrences are never rewritten one by one.
//
// cs are the user's commitments that the text may name (open ones and
// recent ones; see Queries.HabitCommitments).
func HabitEvent(hs HabitSeries, next time.Time, cs []Commitment, s Settings, loc *time.Location, baseURL string) Event {
	if loc == nil {
		loc = time.UTC
	}
	summary, desc := habitText(hs.Kind, next, cs, loc, strings.TrimRight(strings.TrimSpace(baseURL), "/"))
	ev := Event{
		UID: hs.UID, Sequence: hs.Sequence, Summary: summary, Description: desc,
		Start: hs.Start, End: hs.End, Stamp: hs.UpdatedAt, Created: hs.CreatedAt,
		AlarmMinutes: s.AlarmMinutes, Categories: []string{"followup", "habit", string(hs.Kind)},
		Zone: loc, RRule: hs.RRule,
	}
	for _, o := range hs.Overrides {
		ov := ev
		ov.RRule, ov.Overrides = "", nil
		ov.Start, ov.End, ov.RecurrenceID = o.Start, o.End, o.RecurrenceID
		ev.Overrides = append(ev.Overrides, ov)
	}
	return ev
}

// habitText returns the title and description of a habit's event.
func habitText(k HabitKind, next time.Time, cs []Commitment, loc *time.Location, base string) (string, string) {
	title := HabitTitle(k)
	var lines []string
	switch k {
	case HabitWeeklyReview:
		lines = reviewLines(next, cs, loc, base)
	case HabitDailyCall:
		if c, ok := mostUrgentCall(cs); ok {
			title += " — " + clip(oneLine(c.Contact.Name), maxTitleText)
			lines = callLines(c, loc, next, base)
		} else {
			lines = []string{"No open commitment has a phone number: call someone you met recently."}
		}
	case HabitCoffees:
		lines = coffeeLines(cs)
	case HabitWeeklyEmail:
		lines = []string{"Write one follow-up email to someone you have not heard from."}
	case HabitMonthlyScan:
		lines = []string{"Ten minutes in your social contacts: pick five people to get back in touch with."}
	case HabitHandwrittenNotes:
		lines = []string{"Write one handwritten note: a thank-you, a congratulation, a reminder of a conversation."}
	}
	if base != "" {
		lines = append(lines, "", "Open followup: "+base+"/")
	}
	return title, strings.Join(lines, "\n")
}

// reviewLines lists the commitments created in the week before next.
func reviewLines(next time.Time, cs []Commitment, loc *time.Location, base string) []string {
	if next.IsZero() {
		return []string{"Review last week's new contacts."}
	}
	l := next.In(loc)
	to := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	from := to.AddDate(0, 0, -7)
	var week []Commitment
	for _, c := range cs {
		if !c.CreatedAt.Before(from) && c.CreatedAt.Before(to) {
			week = append(week, c)
		}
	}
	slices.SortStableFunc(week, func(a, b Commitment) int {
		if a.Priority != b.Priority {
			if a.Priority {
				return -1
			}
			return 1
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	head := "Last week's new commitments (" + from.Format("Jan 2") + " – " + to.AddDate(0, 0, -1).Format("Jan 2") + "):"
	if len(week) == 0 {
		return []string{head, "none logged."}
	}
	lines := []string{head}
	for i, c := range week {
		if i == maxReviewLines {
			lines = append(lines, "… and "+strconv.Itoa(len(week)-i)+" more.")
			break
		}
		lines = append(lines, "- "+commitmentLine(c, base))
	}
	return lines
}

// commitmentLine is one commitment in a list: star, name, company, the
// promise and its state.
func commitmentLine(c Commitment, base string) string {
	who := oneLine(c.Contact.Name)
	if co := oneLine(c.Contact.Company); co != "" {
		who += " (" + co + ")"
	}
	if c.Priority {
		who = "★ " + who
	}
	verb := "you promised"
	if c.Direction == Theirs {
		verb = "they promised"
	}
	line := who + ": " + verb + " " + clip(lowerFirst(oneLine(c.Promise)), maxTitleText)
	if c.Status != StatusOpen && c.Status != "" {
		line += " [" + strings.ReplaceAll(string(c.Status), "_", " ") + "]"
	}
	if base != "" {
		line += " " + base + "/commitments/" + strconv.FormatInt(c.ID, 10)
	}
	return line
}

// mostUrgentCall is the open commitment with a phone number whose deadline
// comes first, starred first among equals, then the oldest.
func mostUrgentCall(cs []Commitment) (Commitment, bool) {
	var best Commitment
	found := false
	for _, c := range cs {
		if c.Status != StatusOpen || telURI(c.Contact.Phone) == "" {
			continue
		}
		if !found || urgency(c, best) < 0 {
			best, found = c, true
		}
	}
	return best, found
}

// urgency orders commitments for the call: earliest deadline, starred,
// oldest, lowest id.
func urgency(a, b Commitment) int {
	if c := a.Due.Compare(b.Due); c != 0 {
		return c
	}
	if a.Priority != b.Priority {
		if a.Priority {
			return -1
		}
		return 1
	}
	if c := a.MetAt.Compare(b.MetAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// callLines describe the call: whom, the number as a tel: link, what was promised.
func callLines(c Commitment, loc *time.Location, ref time.Time, base string) []string {
	lines := []string{"Call " + oneLine(c.Contact.Name) + ": " + oneLine(c.Contact.Phone) + " (" + telURI(c.Contact.Phone) + ")"}
	w := writer{c: c, st: Step{Start: ref}, loc: loc}
	if met := w.met(); met != "" {
		lines = append(lines, "You met "+met+".")
	}
	lines = append(lines, commitmentLine(c, base)+w.due(", due "))
	return lines
}

// coffeeLines suggest starred open commitments without an agreed meeting.
func coffeeLines(cs []Commitment) []string {
	var pick []Commitment
	for _, c := range cs {
		if c.Status == StatusOpen && c.Priority && c.Meeting == nil {
			pick = append(pick, c)
		}
	}
	slices.SortStableFunc(pick, func(a, b Commitment) int { return a.MetAt.Compare(b.MetAt) })
	if len(pick) == 0 {
		return []string{"Invite someone you met recently for coffee."}
	}
	lines := []string{"Starred contacts with no meeting yet — invite one:"}
	for i, c := range pick {
		if i == maxCoffeeSuggestions {
			break
		}
		line := "- " + oneLine(c.Contact.Name)
		if co := oneLine(c.Contact.Company); co != "" {
			line += " (" + co + ")"
		}
		if e := oneLine(c.Contact.Email); e != "" {
			line += " mailto:" + strings.ReplaceAll(e, " ", "")
		}
		if tel := telURI(c.Contact.Phone); tel != "" {
			line += " " + tel
		}
		lines = append(lines, line)
	}
	return lines
}

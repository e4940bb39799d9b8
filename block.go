package followup

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxTitleText is the longest promise or location, in characters, that a
// block title quotes before cutting it with an ellipsis.
const maxTitleText = 80

// BlockEvent builds the calendar event for a block step of commitment c
// ("What a block says" in cadence.md): the title of BlockTitle, and a
// description holding a ready-to-send draft written from the logged facts,
// then the contact's details (email as a mailto: link, phone as a tel:
// link, company, profile URL), the notes and a link back to the commitment.
//
// baseURL is FOLLOWUP_BASE_URL (e.g. "http://127.0.0.1:8080"); the event URL
// and the description link to baseURL + "/commitments/{id}". With an empty
// baseURL there is no link. Dates in the text are in loc (UTC when nil).
// Start, End, UID and Sequence come from the step, Stamp is st.UpdatedAt,
// Created is c.CreatedAt, AlarmMinutes is s.AlarmMinutes, Categories are
// "followup" and the step kind, and meeting and confirm blocks carry the
// meeting's location.
func BlockEvent(c Commitment, st Step, s Settings, loc *time.Location, baseURL string) Event {
	if loc == nil {
		loc = time.UTC
	}
	ev := Event{
		UID:          st.UID,
		Sequence:     st.Sequence,
		Summary:      blockTitle(c, st, loc),
		Start:        st.Start,
		End:          st.End,
		Stamp:        st.UpdatedAt,
		Created:      c.CreatedAt,
		AlarmMinutes: s.AlarmMinutes,
		Categories:   []string{"followup", string(st.Kind)},
	}
	if c.Meeting != nil && (st.Kind == KindMeeting || st.Kind == KindConfirm) {
		ev.Location = oneLine(c.Meeting.Location)
	}
	if base := strings.TrimRight(strings.TrimSpace(baseURL), "/"); base != "" {
		ev.URL = base + "/commitments/" + strconv.FormatInt(c.ID, 10)
	}
	w := writer{c: c, st: st, loc: loc}
	draft := w.draft()
	details := w.details(ev.URL)
	switch {
	case draft == "":
		ev.Description = details
	case details == "":
		ev.Description = draft
	default:
		ev.Description = draft + "\n\n---\n" + details
	}
	return ev
}

// BlockTitle returns the title of a block, "Action — Name", e.g.
// "Send the pricing deck — Jane Doe". The action depends on the step kind:
// the promise itself for deliver, "Check … arrived" (or "Chase: …") for
// chase, "Send a thank-you note" for refresher, "Nudge" for nudge, "Confirm
// tomorrow's meeting" for confirm, and "Meeting with Name at Location" for
// a meeting. Dates for confirm are compared in the zone of the meeting's
// start time; BlockEvent uses the user's zone instead.
func BlockTitle(c Commitment, st Step) string {
	loc := time.UTC
	if c.Meeting != nil {
		loc = c.Meeting.Start.Location()
	}
	return blockTitle(c, st, loc)
}

// blockTitle is BlockTitle with dates compared in loc.
func blockTitle(c Commitment, st Step, loc *time.Location) string {
	name := clip(oneLine(c.Contact.Name), maxTitleText)
	if name == "" {
		name = "your contact"
	}
	promise := titleCase(clip(oneLine(c.Promise), maxTitleText))
	var action string
	switch st.Kind {
	case KindRefresher:
		action = "Send a thank-you note"
	case KindDeliver:
		action = promise
		if action == "" {
			action = "Deliver what you promised"
		}
	case KindChase:
		switch obj := object(c.Promise); {
		case obj != "":
			action = "Check " + clip(obj, maxTitleText) + " arrived"
		case promise != "":
			action = "Chase: " + promise
		default:
			action = "Check what they promised arrived"
		}
	case KindMeeting:
		t := "Meeting with " + name
		if c.Meeting != nil {
			if where := clip(oneLine(c.Meeting.Location), maxTitleText); where != "" {
				t += " at " + where
			}
		}
		return t
	case KindConfirm:
		action = "Confirm the meeting"
		if c.Meeting != nil {
			action = "Confirm " + possessive(relativeDay(c.Meeting.Start, st.Start, loc)) + " meeting"
		}
	case KindNudge:
		action = "Nudge"
	case KindClose:
		action = "Close the follow-up"
	case KindLetGo:
		action = "Let go"
	default:
		action = "Follow up"
	}
	return action + " — " + name
}

// Draft returns the ready-to-send message of a block step, as its calendar
// description starts; "" for kinds that send nothing. Dates are in loc.
func Draft(c Commitment, st Step, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	if st.Kind == KindMeeting {
		return ""
	}
	return writer{c: c, st: st, loc: loc}.draft()
}

// writer writes the description of one block.
type writer struct {
	c   Commitment
	st  Step
	loc *time.Location
}

// draft returns the ready-to-send message for the step's kind; for a
// meeting, which sends nothing, where it was agreed; "" for other kinds.
func (w writer) draft() string {
	c := w.c
	var p []string // paragraphs
	hi := "Hi,"
	if first := firstName(c.Contact.Name); first != "" {
		hi = "Hi " + first + ","
	}
	promise := lowerFirst(oneLine(c.Promise))
	obj := object(c.Promise)
	met := w.met()
	switch w.st.Kind {
	case KindRefresher:
		if met != "" {
			p = append(p, "Thank you for the conversation "+met+" — it was great to meet you.")
		} else {
			p = append(p, "Thank you for the conversation — it was great to meet you.")
		}
		if promise != "" {
			switch {
			case c.Direction == Theirs && obj != "":
				p = append(p, "Thanks as well for offering to "+promise+" — I am looking forward to it.")
			case c.Direction == Theirs:
				p = append(p, "Thanks as well for offering this: "+promise+" — I am looking forward to it.")
			case obj != "":
				p = append(p, "As promised, I will get "+obj+" to you"+w.due(" by ")+".")
			default:
				p = append(p, "As promised, I will follow up on what we talked about: "+promise+w.due(", by ")+".")
			}
		}
		p = append(p, w.nextStep())
	case KindDeliver:
		switch {
		case obj != "" && met != "":
			p = append(p, "As promised when we met "+met+", here is "+obj+".")
		case obj != "":
			p = append(p, "As promised, here is "+obj+".")
		case met != "":
			p = append(p, "As promised when we met "+met+", here is what we talked about: "+promise+".")
		default:
			p = append(p, "As promised, here is what we talked about: "+promise+".")
		}
		p = append(p, "I hope it helps. Let me know if you have any questions.", w.nextStep())
	case KindChase:
		intro := "When we talked"
		if met != "" {
			intro = "When we met " + met
		}
		what := "you kindly offered this: " + promise
		if obj != "" {
			what = "you kindly offered to " + promise
		}
		p = append(p, "I hope you are well. "+intro+", "+what+".",
			"I wanted to check whether it is on its way, as I have not seen it yet. No rush, and thanks again!")
	case KindConfirm:
		if m := c.Meeting; m != nil {
			line := "Just confirming our meeting " + w.when(m.Start)
			if where := oneLine(m.Location); where != "" {
				line += " at " + where
			}
			p = append(p, line+". Does that still work for you?", "See you then!")
		} else {
			p = append(p, "Just confirming our meeting. Does the time we agreed still work for you?")
		}
	case KindNudge:
		wrote := "I wrote to you"
		if met != "" {
			wrote = "After we met " + met + ", I wrote to you"
		}
		if c.ContactedAt != nil {
			wrote += " " + onDay(*c.ContactedAt, w.st.Start, w.loc)
		}
		p = append(p, wrote+" and have not heard back — I wanted to make sure my note did not get lost.",
			"I am still interested in continuing the conversation. Would a short call in the next few weeks work for you?")
	case KindMeeting:
		if met != "" {
			return "Agreed when you met " + met + "."
		}
		return ""
	default:
		return ""
	}
	return hi + "\n\n" + strings.Join(p, "\n\n") + "\n\nBest regards"
}

// nextStep is the closing line that shows interest in the next step: the
// agreed meeting when there is one.
func (w writer) nextStep() string {
	m := w.c.Meeting
	if m == nil || m.Start.IsZero() {
		return "I would be glad to continue the conversation — would a short call in the next few days work for you?"
	}
	line := "Looking forward to our meeting " + onDay(m.Start, w.st.Start, w.loc) + " at " + clock(m.Start, w.loc)
	if where := oneLine(m.Location); where != "" {
		line += " at " + where
	}
	return line + "."
}

// met returns where and when you met, e.g. "on Monday at SaaStr, booth 12",
// or "" when neither is known.
func (w writer) met() string {
	var parts []string
	if !w.c.MetAt.IsZero() {
		parts = append(parts, onDay(w.c.MetAt, w.st.Start, w.loc))
	}
	if where := oneLine(w.c.MetWhere); where != "" {
		parts = append(parts, "at "+where)
	}
	return strings.Join(parts, " ")
}

// due returns prefix and the deadline, e.g. ", by Friday, November 27",
// or "" without one.
func (w writer) due(prefix string) string {
	if w.c.Due.IsZero() {
		return ""
	}
	return prefix + weekdayDate(w.c.Due, w.st.Start, w.loc)
}

// details returns the contact's details, the notes and the link back, one
// per line, leaving out what is not known.
func (w writer) details(link string) string {
	c := w.c
	var l []string
	who := oneLine(c.Contact.Name)
	if co := oneLine(c.Contact.Company); co != "" {
		if who != "" {
			who += ", " + co
		} else {
			who = co
		}
	}
	if who != "" {
		l = append(l, who)
	}
	if e := oneLine(c.Contact.Email); e != "" {
		l = append(l, "Email: mailto:"+strings.ReplaceAll(e, " ", ""))
	}
	if tel := telURI(c.Contact.Phone); tel != "" {
		l = append(l, "Phone: "+oneLine(c.Contact.Phone)+" ("+tel+")")
	}
	if u := oneLine(c.Contact.URL); u != "" {
		l = append(l, "Profile: "+u)
	}
	// The promise is quoted as logged, line breaks included.
	if promise := strings.TrimSpace(normalizeNewlines(c.Promise)); promise != "" {
		who := "You promised"
		if c.Direction == Theirs {
			who = "They promised"
		}
		l = append(l, who+": "+promise+w.due(", due "))
	}
	if n := strings.TrimSpace(normalizeNewlines(c.Notes)); n != "" {
		l = append(l, "Why it matters: "+n)
	}
	if link != "" {
		l = append(l, "Open in followup: "+link)
	}
	return strings.Join(l, "\n")
}

// telURI returns phone as a tel: URI (RFC 3966): the digits with a leading
// "+" when there is one, or "" when there are no digits.
func telURI(phone string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(phone) {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	if s := b.String(); strings.TrimPrefix(s, "+") != "" {
		return "tel:" + s
	}
	return ""
}

// normalizeNewlines turns CR LF and lone CR into LF.
func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// oneLine returns s trimmed, with every run of white space, newlines
// included, made a single space.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
}

// clip cuts s to at most n characters, at a word boundary when one is near,
// ending it with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut, count := 0, 0
	for i := range s {
		if count == n {
			break
		}
		cut = i
		count++
	}
	if sp := strings.LastIndexByte(s[:cut], ' '); sp > cut*2/3 {
		cut = sp
	}
	return strings.TrimRight(s[:cut], " ,;:.-") + "…"
}

// titleCase upper-cases the first letter of s.
func titleCase(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || !unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// lowerFirst lower-cases the first letter of s unless the first word looks
// like a name or an acronym (a second capital letter, or "I").
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || !unicode.IsUpper(r) {
		return s
	}
	word, _, _ := strings.Cut(s, " ")
	if word == "I" || strings.HasPrefix(word, "I'") || strings.IndexFunc(word[n:], unicode.IsUpper) >= 0 {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// firstName returns the first word of a contact's name without trailing
// punctuation.
func firstName(name string) string {
	f, _, _ := strings.Cut(oneLine(name), " ")
	return strings.TrimRightFunc(f, unicode.IsPunct)
}

// sendVerbs start promises whose object can be handed over: "Send the
// pricing deck" promises "the pricing deck".
var sendVerbs = []string{"send", "share", "forward", "email", "e-mail", "mail", "give", "get"}

// recipients may follow a send verb: "send you the deck", "send me …".
var recipients = []string{"you", "me", "us", "him", "her", "them"}

// object returns what a promise hands over, "the pricing deck" for "Send
// the pricing deck" or "send me the case study", or "" when the promise
// does not start with a verb of sending.
func object(promise string) string {
	words := strings.Fields(oneLine(promise))
	if len(words) < 2 {
		return ""
	}
	verb := strings.ToLower(words[0])
	found := false
	for _, v := range sendVerbs {
		if verb == v {
			found = true
		}
	}
	if !found {
		return ""
	}
	words = words[1:]
	for _, r := range recipients {
		if len(words) > 1 && strings.EqualFold(words[0], r) {
			words = words[1:]
			break
		}
	}
	if len(words) > 0 && strings.EqualFold(words[0], "over") {
		words = words[1:]
	}
	obj := strings.TrimRight(strings.Join(words, " "), ".!")
	// Stop at a deadline or aside: "the deck by Friday" hands over "the deck".
	for _, stop := range []string{" by ", " before ", " until ", " tomorrow", " next ", " this ", " on ", " in ", ", ", "; "} {
		if i := strings.Index(strings.ToLower(obj), stop); i > 0 {
			obj = obj[:i]
		}
	}
	return strings.TrimSpace(obj)
}

// date returns the local calendar date of t in loc.
func date(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysBetween returns the number of local calendar days from ref to t.
func daysBetween(t, ref time.Time, loc *time.Location) int {
	return int(date(t, loc).Sub(date(ref, loc)).Hours() / 24)
}

// relativeDay names t's date seen from ref: "today", "tomorrow",
// "yesterday", or its weekday and date.
func relativeDay(t, ref time.Time, loc *time.Location) string {
	switch daysBetween(t, ref, loc) {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	case -1:
		return "yesterday"
	}
	return weekdayDate(t, ref, loc)
}

// onDay is relativeDay as a phrase after a verb: "today", "yesterday",
// "on Monday" within the week around ref, else "on Monday, November 23".
func onDay(t, ref time.Time, loc *time.Location) string {
	switch d := daysBetween(t, ref, loc); {
	case d >= -1 && d <= 1:
		return relativeDay(t, ref, loc)
	case d >= -6 && d <= 6:
		return "on " + t.In(loc).Weekday().String()
	}
	return "on " + weekdayDate(t, ref, loc)
}

// weekdayDate returns e.g. "Monday, November 23", with the year when it is
// not ref's year.
func weekdayDate(t, ref time.Time, loc *time.Location) string {
	if t.In(loc).Year() != ref.In(loc).Year() {
		return t.In(loc).Format("Monday, January 2, 2006")
	}
	return t.In(loc).Format("Monday, January 2")
}

// when returns the day and time of t seen from the step, e.g. "tomorrow,
// Wednesday, November 25, at 10:00 EST" or "on Monday, November 30 at
// 10:00 EST".
func (w writer) when(t time.Time) string {
	if d := daysBetween(t, w.st.Start, w.loc); d == 0 || d == 1 {
		return relativeDay(t, w.st.Start, w.loc) + ", " + weekdayDate(t, w.st.Start, w.loc) + ", at " + clock(t, w.loc)
	}
	return "on " + weekdayDate(t, w.st.Start, w.loc) + " at " + clock(t, w.loc)
}

// clock returns the local time of day with the zone's abbreviation, e.g.
// "10:00 EST".
func clock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("15:04 MST")
}

// possessive returns the possessive of a day: "tomorrow's" for "tomorrow",
// "Monday's" for "Monday, November 30".
func possessive(day string) string {
	if w, _, ok := strings.Cut(day, ","); ok {
		day = w
	}
	return day + "'s"
}

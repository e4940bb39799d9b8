package quickadd

import (
	"regexp"
	"strings"
	"unicode"
)

var (
	reEmail = regexp.MustCompile(`<?[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}>?`)
	reURL   = regexp.MustCompile(`(?i)<?\bhttps?://[^\s<>]+>?`)
	// A phone number: an optional +, then digits with spaces, dots,
	// dashes, slashes and parentheses between them; seven digits at least
	// (checked in phones).
	rePhone   = regexp.MustCompile(`\+?\(?[0-9][0-9 ()./\-]{5,}[0-9]`)
	reISODate = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}`)
)

// links takes the contact's email address and web address out of the line.
func (r *reader) links() error {
	for _, l := range []struct {
		re          *regexp.Regexp
		field, name string
		dst         *string
	}{
		{reURL, "contact.url", "web addresses", &r.in.Contact.URL},
		{reEmail, "contact.email", "email addresses", &r.in.Contact.Email},
	} {
		ms := r.find(l.re, 0, len(r.line))
		if len(ms) > 1 {
			return invalid("The line has two %s, %q and %q; keep the contact's one.", l.name, string(r.line[ms[0][0]:ms[0][1]]), string(r.line[ms[1][0]:ms[1][1]]))
		}
		if len(ms) == 1 {
			sp := span{ms[0][0], ms[0][1]}
			value := strings.TrimRight(strings.Trim(string(r.line[sp.start:sp.end]), "<>"), ".,;:)")
			sp.end = sp.start + len([]rune(strings.TrimRight(string(r.line[sp.start:sp.end]), ".,;:)")))
			*l.dst = value
			r.take(l.field, value, sp.start, sp.end)
		}
	}
	return nil
}

// phones takes a phone number out of the line: seven digits or more that
// are not a date, and not glued to a word.
func (r *reader) phones() error {
	var found []span
	for _, m := range r.find(rePhone, 0, len(r.line)) {
		s := string(r.line[m[0]:m[1]])
		if reISODate.MatchString(strings.TrimLeft(s, "+(")) || digits(s) < 7 {
			continue
		}
		if m[0] > 0 && notPhoneBefore(r.line[m[0]-1]) || m[1] < len(r.line) && notPhoneAfter(r.line[m[1]]) {
			continue
		}
		found = append(found, span{m[0], m[1]})
	}
	if len(found) > 1 {
		return invalid("The line has two phone numbers, %q and %q; keep the contact's one.", string(r.line[found[0].start:found[0].end]), string(r.line[found[1].start:found[1].end]))
	}
	if len(found) == 1 {
		value := strings.TrimSpace(string(r.line[found[0].start:found[0].end]))
		r.in.Contact.Phone = value
		r.take("contact.phone", value, found[0].start, found[0].end)
	}
	return nil
}

// digits counts the ASCII digits of s.
func digits(s string) int {
	n := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			n++
		}
	}
	return n
}

// isWordRune reports a letter, digit or connector that makes a number part
// of a longer word.
func isWordRune(c rune) bool {
	return unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '-' || c == '/'
}

// notPhoneBefore reports a rune that makes the number after it something
// else: part of a word, an amount ("€2.500.000") or a reference ("#1234567").
func notPhoneBefore(c rune) bool {
	return isWordRune(c) || unicode.Is(unicode.Sc, c) || c == '#' || c == '.' || c == ','
}

// notPhoneAfter reports a rune that makes the number before it something
// else: part of a word, or a share or an amount ("1.000.000%", "2.500.000€").
func notPhoneAfter(c rune) bool {
	return isWordRune(c) || unicode.Is(unicode.Sc, c) || c == '%'
}

var (
	reStar    = regexp.MustCompile(`(?i)\((?:starred|star|priority)\)|(?:^|\s)([*!★⭐]+)(?:\s|$)`)
	reMetAt   = regexp.MustCompile(`(?i)(?:^|[\s,;(])(met\s+(?:at|@|in|during)(?:\s+|$)|@\s*)`)
	metEnders = []string{" — ", " – ", " -- ", " - ", "—", "–", ";", " | ", "(", ")"}
)

// stars takes the star out of the line; several marks still mean one star.
func (r *reader) stars() error {
	for _, m := range r.find(reStar, 0, len(r.line)) {
		start, end := m[0], m[1]
		if m[2] >= 0 {
			start, end = m[2], m[3]
		}
		if r.in.Priority { // a second mark: out of the promise, no second part
			r.drop(start, end)
			continue
		}
		r.take("priority", "true", start, end)
		r.in.Priority = true
	}
	return nil
}

// metWhere takes "met at X" or "@ X" out of the line: X runs to a dash, a
// semicolon, a parenthesis, a colon ending a word, a part already taken (a
// star, an email) or the end of the line.
func (r *reader) metWhere() error {
	ms := r.find(reMetAt, 0, len(r.line))
	if len(ms) > 1 {
		return invalid("The line says twice where you met (%q and %q); keep one.", string(r.line[ms[0][2]:ms[0][3]]), string(r.line[ms[1][2]:ms[1][3]]))
	}
	if len(ms) == 0 {
		return nil
	}
	start, placeStart := ms[0][2], ms[0][3]
	end := placeStart
	for end < len(r.line) && !r.used[end] && !r.metEndsAt(end) {
		end++
	}
	place := r.trimmed(placeStart, end, ",.:")
	if place.start >= place.end {
		return invalid("Where you met is empty after %q.", strings.TrimSpace(string(r.line[start:placeStart])))
	}
	r.in.MetWhere = string(r.line[place.start:place.end])
	r.take("met_where", r.in.MetWhere, start, place.end)
	return nil
}

// metEndsAt reports whether the place where you met ends before rune i.
func (r *reader) metEndsAt(i int) bool {
	rest := string(r.line[i:min(i+4, len(r.line))])
	for _, e := range metEnders {
		if strings.HasPrefix(rest, e) {
			return true
		}
	}
	return r.line[i] == ':' && (i+1 == len(r.line) || unicode.IsSpace(r.line[i+1]))
}

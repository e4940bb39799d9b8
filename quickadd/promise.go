package quickadd

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/followup/followup"
)

// maxNameWords bounds a name: more words before the dash is a sentence, not
// a name.
const maxNameWords = 6

const example = `"Jane Doe (Acme) — send the pricing deck by Friday"`

var (
	// reSeparator is the dash or colon between who and what. A colon
	// between digits is a time of day; a hyphen without spaces joins words.
	reSeparator = regexp.MustCompile(`\s+(?:—|–|--|-)\s+|\s*[—–]\s*|\s--\s*|[^\s0-9:]\s*(:)(?:\s|$)|^\s*(:)`)
	// reTheirsCue is "<name> will…" in a line without a dash.
	reTheirsCue = regexp.MustCompile(`(?i)(\s+(?:will|owes|promised(?:\s+to)?|is\s+going\s+to|is\s+gonna|is\s+sending|said\s+(?:he|she|they)(?:'ll|’ll|\s+will|'d|’d|\s+would))\b|(?:'ll|’ll)\b)`)
	reParens    = regexp.MustCompile(`\(([^()]*)\)`)
	reFrom      = regexp.MustCompile(`(?i)\s(?:from|at|of)\s|,`)
)

// split separates who from what and reads both.
func (r *reader) split() error {
	head, body, theirs, err := r.halves()
	if err != nil {
		return err
	}
	if err := r.contact(head); err != nil {
		return err
	}
	return r.promise(body, theirs)
}

// halves returns the spans of who and of what. With a dash or colon they
// are its two sides; without, "Bob will…" splits before "will", which is
// returned as theirs (else theirs is {-1, -1}); with a known contact the
// whole line is what.
func (r *reader) halves() (head, body, theirs span, err error) {
	none := span{-1, -1}
	if sep, ok := r.separator(); ok && (r.cx.Known.Name == "" || r.namesKnown(span{0, sep.start})) {
		return span{0, sep.start}, span{sep.end, len(r.line)}, none, nil
	}
	if r.cx.Known.Name != "" {
		return span{0, 0}, span{0, len(r.line)}, none, nil
	}
	notUnderstood := invalid("Who this is about was not understood: start with the name, then a dash or a colon, as in %s.", example)
	m := r.find(reTheirsCue, 0, len(r.line))
	if len(m) == 0 {
		return none, none, none, notUnderstood
	}
	// "Met Jane at SaaStr, she'll…": the one who will is not named.
	if words := strings.Fields(r.view(0, m[0][0])); len(words) > 0 && pronoun(words[len(words)-1]) {
		return none, none, none, notUnderstood
	}
	return span{0, m[0][0]}, span{m[0][0], len(r.line)}, r.trimmed(m[0][2], m[0][3], ""), nil
}

// separator finds the first dash or colon between who and what; ok is
// false when there is none. The span returned is the separator's.
func (r *reader) separator() (span, bool) {
	for _, m := range r.find(reSeparator, 0, len(r.line)) {
		for g := 2; g+1 < len(m); g += 2 {
			if m[g] >= 0 { // a colon: only the colon, not the word before it
				return span{m[g], m[g+1]}, true
			}
		}
		return span{m[0], m[1]}, true
	}
	return span{}, false
}

// contact reads the name and company from the part before the dash.
func (r *reader) contact(head span) error {
	h := r.trimmed(head.start, head.end, ",;")
	if h.start >= h.end {
		if r.cx.Known.Name != "" {
			return nil
		}
		return invalid("The name is missing: start with who this is about, as in %s.", example)
	}
	name := h
	if m := r.find(reParens, h.start, h.end); len(m) > 0 {
		company := r.trimmed(m[0][2], m[0][3], ",;")
		if company.start >= company.end {
			return invalid("The company in %q is empty.", string(r.line[m[0][0]:m[0][1]]))
		}
		if rest := r.trimmed(m[0][1], h.end, ",;"); rest.start < rest.end {
			return invalid("The name was not understood: %q follows the company %q.", r.text(rest.start, rest.end), r.text(company.start, company.end))
		}
		r.takeCompany(company, m[0][0], m[0][1])
		name = r.trimmed(h.start, m[0][0], ",;")
	} else if m := r.find(reFrom, h.start, h.end); len(m) > 0 {
		company := r.trimmed(m[0][1], h.end, ",;")
		name = r.trimmed(h.start, m[0][0], ",;")
		if company.start < company.end {
			r.takeCompany(company, r.trimmed(m[0][0], m[0][1], "").start, company.end)
		}
	}
	return r.name(name)
}

// takeCompany records the company, whose part spans [start, end).
func (r *reader) takeCompany(company span, start, end int) {
	value := r.text(company.start, company.end)
	r.in.Contact.Company = value
	r.take("contact.company", value, start, end)
}

// name records the contact's name, refusing what cannot be one.
func (r *reader) name(sp span) error {
	value := r.text(sp.start, sp.end)
	words := strings.Fields(value)
	switch {
	case len(words) == 0 && r.cx.Known.Name != "":
		return nil
	case len(words) == 0:
		return invalid("The name is missing: start with who this is about, as in %s.", example)
	case len(words) > maxNameWords:
		return invalid("The name was not understood: %q is too long for a name; put a dash or a colon after the name, as in %s.", value, example)
	case !strings.ContainsFunc(value, unicode.IsLetter):
		return invalid("The name was not understood: %q has no letters.", value)
	case strings.ContainsAny(value, "@<>"):
		return invalid("The name was not understood: %q holds an @ or angle brackets; is an email address mistyped?", value)
	case len(words) == 1 && pronoun(words[0]):
		return invalid("The name was not understood: %q is not a name; start with who this is about, as in %s.", value, example)
	}
	if r.cx.Known.Name != "" {
		value = r.cx.Known.Name
	}
	r.in.Contact.Name = value
	r.take("contact.name", value, sp.start, sp.end)
	return nil
}

// namesKnown reports whether head shares a word with the known contact's
// name, ignoring case.
func (r *reader) namesKnown(head span) bool {
	known := strings.Fields(strings.ToLower(r.cx.Known.Name))
	for _, w := range strings.FieldsFunc(strings.ToLower(r.view(head.start, head.end)), func(c rune) bool {
		return !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '-' && c != '\''
	}) {
		for _, k := range known {
			if w == strings.Trim(k, ".,") {
				return true
			}
		}
	}
	return false
}

// pronoun reports a word that stands for someone without naming them.
func pronoun(w string) bool {
	switch strings.ToLower(strings.Trim(w, ".,;:!?")) {
	case "i", "me", "he", "she", "they", "him", "her", "them", "we", "you", "someone", "somebody":
		return true
	}
	return false
}

// promise reads the body: the deadline, then the direction, and what is
// left is the promise. theirs is the span of a cue that already made the
// promise theirs ("Bob will…"), or {-1, -1}.
func (r *reader) promise(body, theirs span) error {
	if theirs.start >= 0 {
		r.direction(followup.Theirs, theirs)
	}
	if err := r.deadline(body); err != nil {
		return err
	}
	if theirs.start < 0 {
		r.cue(body)
	}
	p := r.trimmed(body.start, body.end, ",;:.!?-—–")
	value := titleCase(r.text(p.start, p.end))
	if value == "" {
		return invalid("The promise is missing: after the name and a dash, write what was promised, as in %s.", example)
	}
	r.in.Promise = value
	r.take("promise", value, p.start, p.end)
	return nil
}

// direction records who promised, from the cue at sp.
func (r *reader) direction(d followup.Direction, sp span) {
	r.in.Direction = d
	r.take("direction", string(d), sp.start, sp.end)
}

// cues open a promise and say whose it is; the longest that matches wins.
var cues = []struct {
	re  *regexp.Regexp
	dir followup.Direction
}{
	{regexp.MustCompile(`(?i)^\s*(?:he|she|they|we)\s*(?:'ll|’ll|\s+will|(?:'s|’s|'re|’re|\s+is|\s+are)\s+going\s+to|\s+is\s+gonna|\s+promised(?:\s+to)?|\s+owes?\s+me|\s+said\s+(?:he|she|they)(?:'ll|’ll|\s+will|'d|’d|\s+would))\s`), followup.Theirs},
	{regexp.MustCompile(`(?i)^\s*(?:waiting\s+(?:for|on)|expecting|owes\s+me|they\s+owe\s+me)\s`), followup.Theirs},
	{regexp.MustCompile(`(?i)^\s*(?:i\s*(?:'ll|’ll|\s+will|'m\s+going\s+to|’m\s+going\s+to|\s+am\s+going\s+to|'m\s+gonna|\s+promised(?:\s+to)?|\s+need\s+to|\s+have\s+to|\s+must|\s+should)|let\s+me|me\s*:)\s`), followup.Mine},
}

// cue reads the direction from the words that open the promise, taking
// them out of it; without a cue the promise is mine ("send the deck").
func (r *reader) cue(body span) {
	start := r.trimmed(body.start, body.end, ",;:.-—–").start
	for _, c := range cues {
		if m := r.find(c.re, start, body.end); len(m) > 0 {
			r.direction(c.dir, r.trimmed(m[0][0], m[0][1], ""))
			return
		}
	}
	if name := r.in.Contact.Name; name != "" {
		first := strings.Fields(name)[0]
		re := regexp.MustCompile(`(?i)^\s*(?:` + regexp.QuoteMeta(name) + `|` + regexp.QuoteMeta(first) + `)(?:'ll|’ll|\s+will|\s+is\s+going\s+to|\s+promised(?:\s+to)?|\s+owes\s+me)\s`)
		if m := r.find(re, start, body.end); len(m) > 0 {
			r.direction(followup.Theirs, r.trimmed(m[0][0], m[0][1], ""))
			return
		}
	}
	r.in.Direction = followup.Mine
	r.parts = append(r.parts, followup.QuickPart{Field: "direction", Value: string(followup.Mine), Source: followup.FromDefault})
}

// titleCase upper-cases the first letter of s.
func titleCase(s string) string {
	c, n := utf8.DecodeRuneInString(s)
	if n == 0 || !unicode.IsLower(c) {
		return s
	}
	return string(unicode.ToUpper(c)) + s[n:]
}

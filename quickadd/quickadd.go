// Package quickadd reads a commitment from one line of text, as a person
// types it right after meeting someone:
//
//	Jane Doe (Acme) — send pricing deck by Friday * met at SaaStr
//	Bob: he'll intro me to Sam next week
//
// # The line
//
// A line names the contact first, then, after a dash ("—", "–", "--" or a
// spaced "-") or a colon, what was promised. Around that, in any order:
//
//   - the company: "Jane Doe (Acme)", "Jane Doe, Acme", "Jane Doe from
//     Acme" or "Jane Doe at Acme" before the dash;
//   - the deadline: any phrase the deadline parser understands ("by
//     Friday", "next week", "tomorrow 3pm") that starts with a deadline
//     word ("by", "in", "next", "tomorrow", a weekday or month name, …),
//     the longest found; two deadlines apart make the line ambiguous, and a
//     deadline already past is refused;
//   - the direction: "I'll…", "I will…" or a plain verb ("send…", "intro
//     them to…") are mine; "he'll/she'll/they'll/<name> will…", "owes me…",
//     "waiting for…" are theirs;
//   - the star: a standalone "*", "!" or "★", or "(starred)";
//   - where you met: "met at SaaStr, booth 12", "met in Berlin" or "@
//     SaaStr", up to a dash, a semicolon, a parenthesis, a star or the end
//     of the line;
//   - an email address, a phone number (seven digits or more, not a date
//     or an amount) and a web address, which go to the contact.
//
// Without a dash or colon, "<name> will…", "<name>'ll…" and "<name> owes
// me…" still say who (and that the promise is theirs). When a vCard gives
// the contact (Context.Known), the line may be the promise alone, and a
// name before a dash counts only when it is the card's person.
//
// The package is pure: the deadline phrases are resolved by the function
// the caller passes (the service passes duetext.Parse), against the clock
// and zone it passes.
package quickadd

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/followup/followup"
)

// Field is the input field every error names: the line itself.
const Field = "text"

// Context is what a line is read against.
type Context struct {
	// Now is when the line is logged; Loc the user's zone; EndOfDay the end
	// of the user's working day, which deadlines in words mean.
	Now      time.Time
	Loc      *time.Location
	EndOfDay followup.Clock
	// ParseDue resolves a deadline phrase (duetext.Parse); nil reads no
	// deadline, so that every word stays in the promise.
	ParseDue func(text string, now time.Time, loc *time.Location, endOfDay followup.Clock) (time.Time, error)
	// Known is the contact a vCard names. When its Name is set, the line
	// may leave the name out, and what comes before a dash or colon is read
	// as who only when it shares a word with that name ("Jane: send…" for
	// Jane Doe); the name read is then the card's.
	Known followup.Contact
}

// Parse reads a line. The reading lists every part found with its span;
// its Commitment is the input the line becomes (Due resolved, DueText the
// phrase). Errors are EINVALID with field "text", their message naming the
// part that was not understood.
func Parse(text string, cx Context) (followup.QuickReading, error) {
	if err := check(text); err != nil {
		return followup.QuickReading{}, err
	}
	if cx.Loc == nil {
		cx.Loc = time.UTC
	}
	r := &reader{cx: cx, line: []rune(text)}
	r.used = make([]bool, len(r.line))
	for _, step := range []func() error{r.links, r.phones, r.stars, r.metWhere, r.split} {
		if err := step(); err != nil {
			return followup.QuickReading{}, err
		}
	}
	return r.reading(text), nil
}

// check refuses a line that cannot be read at all.
func check(text string) error {
	switch {
	case !utf8.ValidString(text):
		return invalid("The line is not valid UTF-8 text.")
	case utf8.RuneCountInString(text) > followup.MaxQuickLen:
		return invalid("The line is longer than %d characters; log the details with the full form.", followup.MaxQuickLen)
	case strings.TrimSpace(text) == "":
		return invalid(`The line is empty. Write who, then what was promised, as in "Jane Doe (Acme) — send the pricing deck by Friday".`)
	}
	for _, c := range text {
		if unicode.IsControl(c) && c != '\t' {
			return invalid("The line holds a control character; write it on one line.")
		}
	}
	return nil
}

// invalid is the error for a line, or a part of it, that was not understood.
func invalid(format string, args ...any) error {
	return followup.Errorf(followup.EINVALID, Field, format, args...)
}

// reader holds a line while its parts are taken out of it. Spans are rune
// indexes into line; a rune taken by a part is marked used, and later steps
// see it as a space.
type reader struct {
	cx    Context
	line  []rune
	used  []bool
	parts []followup.QuickPart
	in    followup.NewCommitment
	due   *time.Time
}

// take records a part over [start, end) and marks its runes used.
func (r *reader) take(field, value string, start, end int) {
	r.drop(start, end)
	r.parts = append(r.parts, followup.QuickPart{Field: field, Value: value, Source: followup.FromLine, Text: string(r.line[start:end]), Start: start, End: end})
}

// drop marks [start, end) used without a part of its own.
func (r *reader) drop(start, end int) {
	for i := start; i < end; i++ {
		r.used[i] = true
	}
}

// view returns [start, end) of the line with used runes as spaces, so that
// rune indexes into it are rune indexes into the line.
func (r *reader) view(start, end int) string {
	var b strings.Builder
	for i := start; i < end; i++ {
		if r.used[i] {
			b.WriteRune(' ')
		} else {
			b.WriteRune(r.line[i])
		}
	}
	return b.String()
}

// span is a rune range [start, end) of the line.
type span struct{ start, end int }

// find returns the rune spans of re's matches (and submatches) in [start,
// end) of the view: m[2k], m[2k+1] as regexp's Index functions do, -1 for
// a group that did not take part.
func (r *reader) find(re *regexp.Regexp, start, end int) [][]int {
	s := r.view(start, end)
	byteToRune := make([]int, len(s)+1)
	n := 0
	for i := range s {
		byteToRune[i] = n
		n++
	}
	byteToRune[len(s)] = n
	for i := 1; i < len(s); i++ { // inside a multi-byte rune: the rune's index
		if !utf8.RuneStart(s[i]) {
			byteToRune[i] = byteToRune[i-1]
		}
	}
	var out [][]int
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		rm := make([]int, len(m))
		for k, b := range m {
			rm[k] = -1
			if b >= 0 {
				rm[k] = start + byteToRune[b]
			}
		}
		out = append(out, rm)
	}
	return out
}

// trimmed narrows [start, end) to its first and last rune that is unused
// and not in cut.
func (r *reader) trimmed(start, end int, cut string) span {
	skip := func(i int) bool {
		return r.used[i] || unicode.IsSpace(r.line[i]) || strings.ContainsRune(cut, r.line[i])
	}
	for start < end && skip(start) {
		start++
	}
	for end > start && skip(end-1) {
		end--
	}
	return span{start, end}
}

// text returns the unused runes of [start, end) with runs of space
// collapsed.
func (r *reader) text(start, end int) string {
	return strings.Join(strings.Fields(r.view(start, end)), " ")
}

// reading assembles the result: parts in the order of the line, defaults last.
func (r *reader) reading(text string) followup.QuickReading {
	parts := slices.Clone(r.parts)
	if !r.in.Priority {
		parts = append(parts, followup.QuickPart{Field: "priority", Value: "false", Source: followup.FromDefault})
	}
	slices.SortStableFunc(parts, func(a, b followup.QuickPart) int {
		if (a.Source == followup.FromLine) != (b.Source == followup.FromLine) {
			if a.Source == followup.FromLine {
				return -1
			}
			return 1
		}
		return a.Start - b.Start
	})
	return followup.QuickReading{Text: text, Parts: parts, Due: r.due, Commitment: r.in}
}

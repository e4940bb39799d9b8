package quickadd

import (
	"regexp"
	"strings"
	"time"
)

// maxDueWords bounds a deadline phrase, in words ("no later than Friday
// Dec 3 2026 at 3 pm" is nine).
const maxDueWords = 9

// maxDueTries bounds the phrases tried on one line: a real line has a few
// deadline words, not the hundred a line of "by by by…" has.
const maxDueTries = 400

// dueStarts are the words a deadline phrase may start with. A phrase must
// start with one, so that "send the Sun article" is not due on Sunday and
// "intro me to Sam" has no deadline "to".
var dueStarts = map[string]bool{
	"by": true, "before": true, "until": true, "till": true, "due": true, "on": true, "in": true,
	"within": true, "next": true, "this": true, "end": true, "no": true,
	"eod": true, "eow": true, "eom": true, "eoy": true, "cob": true, "asap": true,
	"today": true, "tonight": true, "tomorrow": true, "tmrw": true, "overmorrow": true, "day": true,
	"monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true, "saturday": true, "sunday": true,
	"mon": true, "tue": true, "tues": true, "thu": true, "thur": true, "thurs": true, "fri": true,
	"january": true, "february": true, "march": true, "april": true, "may": true, "june": true, "july": true,
	"august": true, "september": true, "october": true, "november": true, "december": true,
	"jan": true, "feb": true, "apr": true, "jun": true, "jul": true, "aug": true, "sep": true, "sept": true,
	"oct": true, "nov": true, "dec": true,
}

var (
	reWord    = regexp.MustCompile(`\S+`)
	reISODay  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}`)
	trailPunc = ",;:.!?"
)

// candidate is a deadline phrase found in the body.
type candidate struct {
	sp    span
	words int
	due   time.Time
}

// deadline finds the deadline phrase in the body: the longest run of words
// that starts with a deadline word and that ParseDue understands, the later
// one of two as long. A second phrase apart from it makes the line
// ambiguous; a deadline already past is refused.
func (r *reader) deadline(body span) error {
	if r.cx.ParseDue == nil {
		return nil
	}
	found, ok := r.dueCandidates(body)
	if !ok {
		return invalid("The deadline was not understood: the line has too many date words; write it shorter.")
	}
	if len(found) == 0 {
		return nil
	}
	best := longest(found)
	if err := r.secondDeadline(found, best); err != nil {
		return err
	}
	phrase := string(r.line[best.sp.start:best.sp.end])
	if !best.due.After(r.cx.Now) {
		return invalid("The deadline %q is already past.", phrase)
	}
	due := best.due.In(r.cx.Loc)
	r.due = &due
	r.in.Due = &due
	r.in.DueText = phrase
	r.take("due_text", phrase, best.sp.start, best.sp.end)
	return nil
}

// dueCandidates returns every run of up to maxDueWords words of the body
// that starts with a deadline word, holds no part already taken, and that
// ParseDue understands; ok is false when that takes more than maxDueTries
// phrases.
func (r *reader) dueCandidates(body span) (found []candidate, ok bool) {
	words := r.find(reWord, body.start, body.end)
	tries := 0
	for i, w := range words {
		if !startsDue(string(r.line[w[0]:w[1]])) {
			continue
		}
		for j := i; j < len(words) && j-i < maxDueWords; j++ {
			sp := r.trimmed(w[0], words[j][1], trailPunc)
			if r.anyUsed(span{w[0], words[j][1]}) {
				break
			}
			if tries++; tries > maxDueTries {
				return nil, false
			}
			due, err := r.cx.ParseDue(string(r.line[sp.start:sp.end]), r.cx.Now, r.cx.Loc, r.cx.EndOfDay)
			if err == nil {
				found = append(found, candidate{sp: sp, words: j - i + 1, due: due})
			}
		}
	}
	return found, true
}

// longest returns the candidate with the most words, the later of two as long.
func longest(found []candidate) candidate {
	best := found[0]
	for _, c := range found[1:] {
		if c.words > best.words || c.words == best.words && c.sp.start > best.sp.start {
			best = c
		}
	}
	return best
}

// secondDeadline refuses a line with a deadline apart from best.
func (r *reader) secondDeadline(found []candidate, best candidate) error {
	for _, c := range found {
		if c.sp.end > best.sp.start && c.sp.start < best.sp.end {
			continue // a part of best, or best itself
		}
		first, second := c, best
		if best.sp.start < c.sp.start {
			first, second = best, c
		}
		return invalid("The deadline is ambiguous: the line says both %q and %q; keep one.",
			string(r.line[first.sp.start:first.sp.end]), string(r.line[second.sp.start:second.sp.end]))
	}
	return nil
}

// startsDue reports whether a word may open a deadline phrase.
func startsDue(w string) bool {
	w = strings.ToLower(strings.TrimRight(w, trailPunc))
	return dueStarts[w] || reISODay.MatchString(w)
}

// anyUsed reports whether a rune of sp belongs to a part already taken.
func (r *reader) anyUsed(sp span) bool {
	for i := sp.start; i < sp.end; i++ {
		if r.used[i] {
			return true
		}
	}
	return false
}

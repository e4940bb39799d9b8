package followup

import (
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// NewCommitment is a commitment as logged by the API, the web form or the
// CLI, before the service resolves its deadline and plans its steps.
type NewCommitment struct {
	Contact   Contact
	MetAt     *time.Time // nil means now
	MetWhere  string
	Promise   string
	Direction Direction // "" means mine
	Due       *time.Time
	DueText   string
	Priority  bool
	Meeting   *Meeting
	Notes     string
}

// Limits on logged text, in characters.
const (
	MaxNameLen    = 200
	MaxPromiseLen = 2000
	MaxNotesLen   = 10000
	MaxShortLen   = 500
)

// Validate checks a new commitment against now, answering EINVALID naming
// the first bad field.
func (n *NewCommitment) Validate(now time.Time) error {
	n.Contact.Name = strings.TrimSpace(n.Contact.Name)
	n.Promise = strings.TrimSpace(n.Promise)
	n.Contact.Email = strings.TrimSpace(n.Contact.Email)
	n.Contact.URL = strings.TrimSpace(n.Contact.URL)
	n.DueText = strings.TrimSpace(n.DueText)
	for _, f := range []struct {
		field, value string
		max          int
	}{
		{"contact.name", n.Contact.Name, MaxNameLen},
		{"contact.email", n.Contact.Email, MaxShortLen},
		{"contact.phone", n.Contact.Phone, MaxShortLen},
		{"contact.company", n.Contact.Company, MaxShortLen},
		{"contact.url", n.Contact.URL, 2000},
		{"met_where", n.MetWhere, MaxShortLen},
		{"promise", n.Promise, MaxPromiseLen},
		{"due_text", n.DueText, 100},
		{"notes", n.Notes, MaxNotesLen},
	} {
		if !utf8.ValidString(f.value) || strings.ContainsRune(f.value, 0) {
			return Errorf(EINVALID, f.field, "%s is not valid UTF-8 text.", f.field)
		}
		if utf8.RuneCountInString(f.value) > f.max {
			return Errorf(EINVALID, f.field, "%s is longer than %d characters.", f.field, f.max)
		}
	}
	if n.Contact.Name == "" {
		return Errorf(EINVALID, "contact.name", "contact.name is required: who did you promise something to?")
	}
	if n.Promise == "" {
		return Errorf(EINVALID, "promise", "promise is required: what exactly was promised?")
	}
	if n.Contact.Email != "" {
		if a, err := mail.ParseAddress(n.Contact.Email); err != nil || a.Address != n.Contact.Email {
			return Errorf(EINVALID, "contact.email", "contact.email %q is not an email address.", n.Contact.Email)
		}
	}
	if n.Contact.URL != "" {
		u, err := url.Parse(n.Contact.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Errorf(EINVALID, "contact.url", "contact.url must be an http or https address.")
		}
	}
	switch n.Direction {
	case "":
		n.Direction = Mine
	case Mine, Theirs:
	default:
		return Errorf(EINVALID, "direction", "direction must be %q or %q.", Mine, Theirs)
	}
	if n.MetAt == nil {
		t := now
		n.MetAt = &t
	}
	if n.MetAt.After(now.Add(24 * time.Hour)) {
		return Errorf(EINVALID, "met_at", "met_at is in the future; log a commitment after you met.")
	}
	if n.MetAt.Before(now.AddDate(-1, 0, 0)) {
		return Errorf(EINVALID, "met_at", "met_at is more than a year ago.")
	}
	if n.Due != nil && !n.Due.After(*n.MetAt) {
		return Errorf(EINVALID, "due", "due must be after met_at.")
	}
	if n.Due != nil && n.Due.After(now.AddDate(1, 0, 0)) {
		return Errorf(EINVALID, "due", "due is more than a year away.")
	}
	if m := n.Meeting; m != nil {
		if m.Start.IsZero() {
			return Errorf(EINVALID, "meeting.start", "meeting.start is required for a meeting.")
		}
		if m.Minutes == 0 {
			m.Minutes = 30
		}
		if m.Minutes < 5 || m.Minutes > 600 {
			return Errorf(EINVALID, "meeting.minutes", "meeting.minutes must be between 5 and 600.")
		}
		if !m.End().After(now) {
			return Errorf(EINVALID, "meeting.start", "The meeting is already over.")
		}
		if m.Start.After(now.AddDate(1, 0, 0)) {
			return Errorf(EINVALID, "meeting.start", "meeting.start is more than a year away.")
		}
		if utf8.RuneCountInString(m.Location) > MaxShortLen || !utf8.ValidString(m.Location) {
			return Errorf(EINVALID, "meeting.location", "meeting.location is longer than %d characters.", MaxShortLen)
		}
	}
	return nil
}

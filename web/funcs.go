package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/followup/followup"
)

// fieldIDs makes a form field's name an element id ("contact.name" is
// "contact-name").
var fieldIDs = strings.NewReplacer(".", "-", "_", "-")

// funcs are the template functions. Times are shown in the zone passed.
var funcs = template.FuncMap{
	"day":      func(t time.Time, loc *time.Location) string { return t.In(loc).Format("Mon 2 Jan") },
	"clock":    func(t time.Time, loc *time.Location) string { return t.In(loc).Format("15:04") },
	"datetime": func(t time.Time, loc *time.Location) string { return t.In(loc).Format("Mon 2 Jan 2006, 15:04") },
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"span":     span,
	"minutes":  func(d time.Duration) string { return humanDuration(d) },
	"kind":     kindName,
	"status":   statusName,
	"field": func(errs map[string]string, name string) string {
		return errs[name]
	},
	"fieldID": func(name string) string { return fieldIDs.Replace(name) },
	"has": func(list []string, v string) bool {
		for _, x := range list {
			if strings.EqualFold(x, v) {
				return true
			}
		}
		return false
	},
	"add":    func(a, b int) int { return a + b },
	"plural": plural,
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	},
}

// plural picks the word for n things: plural(1, "promise", "promises")
// is "promise", and 0 or 2 take the plural.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// span formats a block's time: "Tue 24 Nov, 09:00–09:15".
func span(start, end time.Time, loc *time.Location) string {
	s, e := start.In(loc), end.In(loc)
	if !e.After(s) {
		return s.Format("Mon 2 Jan, 15:04")
	}
	if s.YearDay() == e.YearDay() && s.Year() == e.Year() {
		return s.Format("Mon 2 Jan, 15:04") + "–" + e.Format("15:04")
	}
	return s.Format("Mon 2 Jan, 15:04") + " – " + e.Format("Mon 2 Jan, 15:04")
}

// humanDuration says a duration in plain words: "3 h 20 min", "2 days 4 h".
func humanDuration(d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	m := int(d.Round(time.Minute).Minutes())
	days, hours, mins := m/(24*60), m/60%24, m%60
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case days > 0:
		return fmt.Sprintf("%d d", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%d h %d min", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%d h", hours)
	}
	return fmt.Sprintf("%d min", mins)
}

// kindName names a step kind for people.
func kindName(k followup.StepKind) string {
	switch k {
	case followup.KindRefresher:
		return "Thank-you note"
	case followup.KindDeliver:
		return "Deliver"
	case followup.KindChase:
		return "Chase"
	case followup.KindMeeting:
		return "Meeting"
	case followup.KindConfirm:
		return "Confirm meeting"
	case followup.KindNudge:
		return "Nudge"
	case followup.KindClose:
		return "Close"
	case followup.KindLetGo:
		return "Let go"
	}
	return string(k)
}

// statusName names a commitment or step status for people.
func statusName(s string) string {
	switch s {
	case "open":
		return "open"
	case "done":
		return "done"
	case "let_go":
		return "let go"
	case "planned":
		return "planned"
	case "synced":
		return "in your calendar"
	case "cancelled":
		return "cancelled"
	}
	return s
}

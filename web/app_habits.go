package web

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/followup/followup"
)

// habitForm is one standing habit on the settings page, as stored or as
// posted.
type habitForm struct {
	Kind    followup.HabitKind
	Title   string
	Hint    string
	Enabled bool
	// Days and Weeks are the boxes ticked.
	Days, Weeks []string
	// Field is the form-name prefix of the habit's fields: habits.KIND.
	Field string
}

// habitTitles name the habits as cadence.md does, with what each block is for.
var habitTitles = map[followup.HabitKind][2]string{
	followup.HabitWeeklyReview:     {"Weekly review", "Look back at last week's new contacts; the event lists them."},
	followup.HabitDailyCall:        {"A follow-up call a day", "The event names the most urgent open promise with a phone number."},
	followup.HabitWeeklyEmail:      {"A follow-up email", "A short follow-up email, once a week by default."},
	followup.HabitMonthlyScan:      {"Scan your contacts", "A few minutes to find five people to get back in touch with."},
	followup.HabitCoffees:          {"Coffee meetings", "The event suggests starred contacts who have no meeting yet."},
	followup.HabitHandwrittenNotes: {"Handwritten notes", "A note written by hand; four a month by default."},
}

// weekChoice is one week of the month a habit can fall in.
type weekChoice struct{ Value, Label string }

// monthWeeks are the weeks of the month a habit can fall in: the first to
// the fourth, and -1 for the last.
var monthWeeks = []weekChoice{{"1", "1st"}, {"2", "2nd"}, {"3", "3rd"}, {"4", "4th"}, {"-1", "last"}}

// habitValues puts the stored habits into the form's values.
func habitValues(v url.Values, h followup.Habits) {
	for _, k := range followup.HabitKinds {
		hb, p := h.Get(k), "habits."+string(k)+"."
		if hb.Enabled {
			v.Set(p+"enabled", "on")
		}
		v[p+"days"] = slices.Clone(hb.Days)
		v[p+"weeks"] = nil
		for _, w := range hb.Weeks {
			v.Add(p+"weeks", strconv.Itoa(w))
		}
		v.Set(p+"start", hb.Start.String())
		v.Set(p+"end", hb.End.String())
		v.Set(p+"minutes", strconv.Itoa(hb.Minutes))
	}
}

// habitForms lists the habits as the form's values hold them.
func habitForms(v url.Values) []habitForm {
	var out []habitForm
	for _, k := range followup.HabitKinds {
		p := "habits." + string(k)
		t := habitTitles[k]
		out = append(out, habitForm{
			Kind: k, Title: t[0], Hint: t[1], Field: p,
			Enabled: v.Get(p+".enabled") != "", Days: v[p+".days"], Weeks: v[p+".weeks"],
		})
	}
	return out
}

// habitsOfPost applies the posted habits onto the stored ones; domain
// validation (Habits.Validate, through PutSettings) judges the result.
func habitsOfPost(h followup.Habits, f url.Values) (followup.Habits, error) {
	for _, k := range followup.HabitKinds {
		hb, p := h.Get(k), "habits."+string(k)+"."
		if _, sent := f[p+"start"]; !sent {
			continue // a post without the habit's fields keeps it as stored
		}
		hb.Enabled = f.Get(p+"enabled") != ""
		hb.Days = f[p+"days"]
		hb.Weeks = []int{}
		for _, w := range f[p+"weeks"] {
			n, err := strconv.Atoi(w)
			if err != nil || !slices.ContainsFunc(monthWeeks, func(c weekChoice) bool { return c.Value == w }) {
				return h, followup.Errorf(followup.EINVALID, p+"weeks", "Tick the weeks of the month: first to fourth, or last.")
			}
			hb.Weeks = append(hb.Weeks, n)
		}
		for _, c := range []struct {
			name string
			dst  *followup.Clock
		}{{p + "start", &hb.Start}, {p + "end", &hb.End}} {
			clock, err := followup.ParseClock(strings.TrimSpace(f.Get(c.name)))
			if err != nil {
				return h, followup.Errorf(followup.EINVALID, c.name, "Enter a time of day such as 09:00.")
			}
			*c.dst = clock
		}
		n, err := strconv.Atoi(strings.TrimSpace(f.Get(p + "minutes")))
		if err != nil {
			return h, followup.Errorf(followup.EINVALID, p+"minutes", "Enter a whole number of minutes.")
		}
		hb.Minutes = n
		h.Set(k, hb)
	}
	return h, nil
}

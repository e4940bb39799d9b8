package followup

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// HabitKind names one of the standing habits; it is also the habit's key
// in the settings (habits.weekly_review, …).
type HabitKind string

// Habit kinds (cadence.md "The standing habits").
const (
	HabitWeeklyReview     HabitKind = "weekly_review"
	HabitDailyCall        HabitKind = "daily_call"
	HabitWeeklyEmail      HabitKind = "weekly_email"
	HabitMonthlyScan      HabitKind = "monthly_scan"
	HabitCoffees          HabitKind = "coffees"
	HabitHandwrittenNotes HabitKind = "handwritten_notes"
)

// HabitKinds lists every habit, in the order of the settings.
var HabitKinds = []HabitKind{
	HabitWeeklyReview, HabitDailyCall, HabitWeeklyEmail,
	HabitMonthlyScan, HabitCoffees, HabitHandwrittenNotes,
}

// DefaultHabits returns the habits of cadence.md, all switched off: the
// review on Mondays, a call every working day, the email on Fridays, the
// scan on the first Friday, coffees on the first and third Wednesday and
// notes on the first four Thursdays of each month.
func DefaultHabits() Habits {
	workdays := []string{"mon", "tue", "wed", "thu", "fri"}
	return Habits{
		WeeklyReview:     Habit{Minutes: 30, Days: []string{"mon"}, Weeks: []int{}, Start: Clock{10, 0}, End: Clock{12, 0}},
		DailyCall:        Habit{Minutes: 15, Days: workdays, Weeks: []int{}, Start: Clock{10, 0}, End: Clock{12, 0}},
		WeeklyEmail:      Habit{Minutes: 15, Days: []string{"fri"}, Weeks: []int{}, Start: Clock{14, 0}, End: Clock{16, 0}},
		MonthlyScan:      Habit{Minutes: 10, Days: []string{"fri"}, Weeks: []int{1}, Start: Clock{15, 0}, End: Clock{17, 0}},
		Coffees:          Habit{Minutes: 45, Days: []string{"wed"}, Weeks: []int{1, 3}, Start: Clock{14, 0}, End: Clock{17, 0}},
		HandwrittenNotes: Habit{Minutes: 15, Days: []string{"thu"}, Weeks: []int{1, 2, 3, 4}, Start: Clock{16, 0}, End: Clock{17, 0}},
	}
}

// Get returns the habit of kind k (the zero Habit for an unknown kind).
func (h Habits) Get(k HabitKind) Habit {
	if p := h.ptr(k); p != nil {
		return *p
	}
	return Habit{}
}

// Set replaces the habit of kind k.
func (h *Habits) Set(k HabitKind, v Habit) {
	if p := h.ptr(k); p != nil {
		*p = v
	}
}

func (h *Habits) ptr(k HabitKind) *Habit {
	switch k {
	case HabitWeeklyReview:
		return &h.WeeklyReview
	case HabitDailyCall:
		return &h.DailyCall
	case HabitWeeklyEmail:
		return &h.WeeklyEmail
	case HabitMonthlyScan:
		return &h.MonthlyScan
	case HabitCoffees:
		return &h.Coffees
	case HabitHandwrittenNotes:
		return &h.HandwrittenNotes
	}
	return nil
}

// Validate checks every habit, switched on or not, answering EINVALID
// naming the first bad field, e.g. "habits.coffees.weeks".
func (h Habits) Validate() error {
	for _, k := range HabitKinds {
		if err := h.Get(k).validate("habits." + string(k)); err != nil {
			return err
		}
	}
	return nil
}

func (h Habit) validate(field string) error {
	if h.Minutes < 5 || h.Minutes > 480 {
		return Errorf(EINVALID, field+".minutes", "%s.minutes must be between 5 and 480.", field)
	}
	if len(h.Days) == 0 {
		return Errorf(EINVALID, field+".days", "%s.days needs at least one day.", field)
	}
	for _, d := range h.Days {
		if _, ok := weekdayNames[strings.ToLower(d)]; !ok {
			return Errorf(EINVALID, field+".days", "Day %q is not one of mon, tue, wed, thu, fri, sat, sun.", d)
		}
	}
	for _, w := range h.Weeks {
		if w != -1 && (w < 1 || w > 4) {
			return Errorf(EINVALID, field+".weeks", "%s.weeks holds weeks of the month: 1 to 4, or -1 for the last.", field)
		}
	}
	if h.End.Minutes()-h.Start.Minutes() < h.Minutes {
		return Errorf(EINVALID, field+".end", "%s must end at least %d minutes (its length) after it starts.", field, h.Minutes)
	}
	return nil
}

// Duration returns the length of one occurrence.
func (h Habit) Duration() time.Duration { return time.Duration(h.Minutes) * time.Minute }

// Occurs reports whether the habit falls on the local date of day
// (year, month and day are read in day's location).
func (h Habit) Occurs(day time.Time) bool {
	if !h.weekdays()[day.Weekday()] {
		return false
	}
	if len(h.Weeks) == 0 {
		return true
	}
	nth := (day.Day()-1)/7 + 1
	last := day.AddDate(0, 0, 7).Month() != day.Month()
	for _, w := range h.Weeks {
		if w == nth || (w == -1 && last) {
			return true
		}
	}
	return false
}

func (h Habit) weekdays() [7]bool { return Span{Days: h.Days}.Weekdays() }

// rruleDays are the two-letter weekdays of RFC 5545 §3.3.10, by time.Weekday.
var rruleDays = [7]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

// RRule returns the recurrence rule of the habit (RFC 5545 §3.3.10):
// FREQ=WEEKLY;BYDAY=MO,TU for every week, FREQ=MONTHLY;BYDAY=1WE,3WE for
// weeks of the month. It matches Occurs day for day.
func (h Habit) RRule() string {
	days := h.weekdays()
	var by []string
	weeks := slices.Clone(h.Weeks)
	slices.Sort(weeks)
	weeks = slices.Compact(weeks)
	if len(weeks) > 0 && weeks[0] == -1 { // the last week after the numbered ones
		weeks = append(weeks[1:], -1)
	}
	for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if !days[wd] {
			continue
		}
		if len(weeks) == 0 {
			by = append(by, rruleDays[wd])
			continue
		}
		for _, w := range weeks {
			by = append(by, strconv.Itoa(w)+rruleDays[wd])
		}
	}
	if len(weeks) == 0 {
		return "FREQ=WEEKLY;BYDAY=" + strings.Join(by, ",")
	}
	return "FREQ=MONTHLY;BYDAY=" + strings.Join(by, ",")
}

// HabitTitle is the title of a habit's event.
func HabitTitle(k HabitKind) string {
	switch k {
	case HabitWeeklyReview:
		return "Weekly review of last week's contacts"
	case HabitDailyCall:
		return "Follow-up call"
	case HabitWeeklyEmail:
		return "Follow-up email"
	case HabitMonthlyScan:
		return "Scan your social contacts: five people to reconnect with"
	case HabitCoffees:
		return "Coffee meeting"
	case HabitHandwrittenNotes:
		return "Handwritten note"
	}
	return "Habit"
}

// HabitSeries is a switched-on habit as calendars see it: one recurring
// event with a stable UID, its time of day chosen in free time, and the
// occurrences that had to move (or that the user moved) as overrides.
// Active is false once the habit is switched off: the series then waits
// until its calendar object is deleted (RemoteETag "").
type HabitSeries struct {
	UserID int64
	Kind   HabitKind
	UID    string
	Active bool
	// Spec is the habit and zone the series was placed for; a change of
	// the settings that alters it places the series again.
	Spec string
	// Start is the first occurrence (DTSTART), End its end.
	Start time.Time
	End   time.Time
	// Zone is the IANA zone the series keeps its local time in.
	Zone string
	// RRule is the recurrence rule (Habit.RRule).
	RRule string
	// Sequence rises on every change of the series' times (RFC 5545 §3.8.7.4).
	Sequence int
	// RemoteETag and RemoteSequence are as for a Step; RemoteHash is the
	// hash of the object last written, whose text (the people a habit
	// names) may change without a new Sequence.
	RemoteETag     string
	RemoteSequence int
	RemoteHash     string
	Overrides      []HabitOverride
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// HabitOverride is one occurrence of a series that is not at the series'
// time: moved off a busy event, or moved by the user (Pinned).
type HabitOverride struct {
	// RecurrenceID is the start the occurrence has in the series (RFC 5545 §3.8.4.4).
	RecurrenceID time.Time `json:"recurrence_id"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	// Pinned marks the user's own edit in their calendar app: it is kept.
	Pinned bool `json:"pinned,omitempty"`
}

// Location loads the series' zone.
func (s HabitSeries) Location() (*time.Location, error) { return LoadLocation(s.Zone) }

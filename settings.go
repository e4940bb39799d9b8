package followup

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Clock is a wall-clock time of day, written "HH:MM".
type Clock struct {
	Hour   int
	Minute int
}

// ParseClock parses "HH:MM" (24-hour). "24:00" is accepted as the end of a day.
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return Clock{}, fmt.Errorf("time of day %q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return Clock{}, fmt.Errorf("time of day %q is not HH:MM", s)
	}
	return Clock{Hour: hh, Minute: mm}, nil
}

// String returns "HH:MM".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// Minutes returns the minutes since midnight.
func (c Clock) Minutes() int { return c.Hour*60 + c.Minute }

// On returns the clock time on the given local date in loc.
func (c Clock) On(year int, month time.Month, day int, loc *time.Location) time.Time {
	return time.Date(year, month, day, c.Hour, c.Minute, 0, 0, loc)
}

// MarshalText implements encoding.TextMarshaler.
func (c Clock) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Span is a daily span of wall-clock time on some weekdays.
type Span struct {
	Days  []string `json:"days"` // "mon".."sun"
	Start Clock    `json:"start"`
	End   Clock    `json:"end"`
}

// weekdayNames maps the three-letter names used in settings to weekdays.
var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Weekdays returns the span's days as a set indexed by time.Weekday.
func (s Span) Weekdays() [7]bool {
	var set [7]bool
	for _, d := range s.Days {
		if wd, ok := weekdayNames[strings.ToLower(d)]; ok {
			set[wd] = true
		}
	}
	return set
}

// Durations are the default lengths of blocks, in minutes.
type Durations struct {
	Refresher int `json:"refresher"`
	Deliver   int `json:"deliver"`
	Chase     int `json:"chase"`
	Confirm   int `json:"confirm"`
	Nudge     int `json:"nudge"`
}

// For returns the duration of a block of kind k, zero for non-block kinds
// and meetings (which last as agreed).
func (d Durations) For(k StepKind) time.Duration {
	m := 0
	switch k {
	case KindRefresher:
		m = d.Refresher
	case KindDeliver:
		m = d.Deliver
	case KindChase:
		m = d.Chase
	case KindConfirm:
		m = d.Confirm
	case KindNudge:
		m = d.Nudge
	}
	return time.Duration(m) * time.Minute
}

// Habit is one of the optional standing habits (cadence.md "monthly
// plan"). Switched on, it becomes one recurring event: on Days (in the
// weeks of the month Weeks names, or every week), at one time of day
// between Start and End in the user's zone, Minutes long.
type Habit struct {
	Enabled bool `json:"enabled"`
	// Minutes is the length of each occurrence.
	Minutes int `json:"minutes"`
	// Days are the weekdays it falls on: "mon" … "sun".
	Days []string `json:"days"`
	// Weeks are the weeks of the month it falls in, 1 to 4 or -1 for the
	// last; empty means every week. [1, 3] with days ["wed"] is the first
	// and third Wednesday of each month.
	Weeks []int `json:"weeks"`
	// Start and End are the time window the occurrences are placed in.
	Start Clock `json:"start"`
	End   Clock `json:"end"`
}

// Habits are the standing habits a user can switch on.
type Habits struct {
	WeeklyReview     Habit `json:"weekly_review"`
	DailyCall        Habit `json:"daily_call"`
	WeeklyEmail      Habit `json:"weekly_email"`
	MonthlyScan      Habit `json:"monthly_scan"`
	Coffees          Habit `json:"coffees"`
	HandwrittenNotes Habit `json:"handwritten_notes"`
}

// Deleted-block meanings for Settings.DeletedMeans.
const (
	DeletedMeansDone      = "done"
	DeletedMeansDismissed = "dismissed"
)

// Settings are a user's preferences. Every number of cadence.md is here.
type Settings struct {
	Timezone       string    `json:"timezone"`
	WorkHours      Span      `json:"work_hours"`
	FollowupHour   Span      `json:"followup_hour"`
	Durations      Durations `json:"durations"`
	BufferMinutes  int       `json:"buffer_minutes"`
	AlarmMinutes   int       `json:"alarm_minutes"`
	DefaultDueDays int       `json:"default_due_days"` // deadline when none is given: met + this many days (1 = 24 h)
	NudgeAfterDays int       `json:"nudge_after_days"`
	CloseAfterDays int       `json:"close_after_days"`
	LetGoAfterDays int       `json:"let_go_after_days"`
	// DeletedMeans says what a block the user deleted in their calendar means:
	// "done" (default) or "dismissed".
	DeletedMeans string `json:"deleted_means"`
	Habits       Habits `json:"habits"`
}

// DefaultSettings returns the defaults of cadence.md in the given zone.
func DefaultSettings(timezone string) Settings {
	if timezone == "" {
		timezone = "UTC"
	}
	return Settings{
		Timezone:       timezone,
		WorkHours:      Span{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: Clock{9, 0}, End: Clock{17, 0}},
		FollowupHour:   Span{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: Clock{9, 0}, End: Clock{10, 0}},
		Durations:      Durations{Refresher: 15, Deliver: 30, Chase: 15, Confirm: 10, Nudge: 15},
		BufferMinutes:  5,
		AlarmMinutes:   10,
		DefaultDueDays: 1,
		NudgeAfterDays: 7,
		CloseAfterDays: 3,
		LetGoAfterDays: 10,
		DeletedMeans:   DeletedMeansDone,
		Habits:         DefaultHabits(),
	}
}

// Location loads the settings' time zone.
func (s Settings) Location() (*time.Location, error) {
	loc, err := LoadLocation(s.Timezone)
	if err != nil {
		return nil, err
	}
	return loc, nil
}

// locations caches loaded zones: time.LoadLocation reads and parses tzdata
// on every call.
var locations sync.Map

// LoadLocation loads an IANA zone, answering EINVALID for an unknown name.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" || strings.ContainsAny(name, "\x00\\") || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, Errorf(EINVALID, "timezone", "Time zone %q is not an IANA zone such as Europe/Berlin.", name)
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, Errorf(EINVALID, "timezone", "Time zone %q is not an IANA zone such as Europe/Berlin.", name)
	}
	locations.Store(name, loc)
	return loc, nil
}

// Validate checks the settings, answering EINVALID naming the first bad field.
func (s Settings) Validate() error {
	if _, err := LoadLocation(s.Timezone); err != nil {
		return err
	}
	for _, sp := range []struct {
		field string
		span  Span
	}{{"work_hours", s.WorkHours}, {"followup_hour", s.FollowupHour}} {
		for _, d := range sp.span.Days {
			if _, ok := weekdayNames[strings.ToLower(d)]; !ok {
				return Errorf(EINVALID, sp.field+".days", "Day %q is not one of mon, tue, wed, thu, fri, sat, sun.", d)
			}
		}
		if sp.span.End.Minutes() <= sp.span.Start.Minutes() {
			return Errorf(EINVALID, sp.field, "%s must end after it starts.", sp.field)
		}
		if len(sp.span.Days) == 0 {
			return Errorf(EINVALID, sp.field+".days", "%s needs at least one day.", sp.field)
		}
	}
	for _, d := range []struct {
		field string
		v     int
		min   int
		max   int
	}{
		{"durations.refresher", s.Durations.Refresher, 5, 480},
		{"durations.deliver", s.Durations.Deliver, 5, 480},
		{"durations.chase", s.Durations.Chase, 5, 480},
		{"durations.confirm", s.Durations.Confirm, 5, 480},
		{"durations.nudge", s.Durations.Nudge, 5, 480},
		{"buffer_minutes", s.BufferMinutes, 0, 120},
		{"alarm_minutes", s.AlarmMinutes, 0, 1440},
		{"default_due_days", s.DefaultDueDays, 1, 30},
		{"nudge_after_days", s.NudgeAfterDays, 1, 60},
		{"close_after_days", s.CloseAfterDays, 1, 60},
		{"let_go_after_days", s.LetGoAfterDays, 1, 90},
	} {
		if d.v < d.min || d.v > d.max {
			return Errorf(EINVALID, d.field, "%s must be between %d and %d.", d.field, d.min, d.max)
		}
	}
	overlap := false
	work, follow := s.WorkHours.Weekdays(), s.FollowupHour.Weekdays()
	for d := range work {
		overlap = overlap || (work[d] && follow[d])
	}
	if !overlap || s.FollowupHour.Start.Minutes() >= s.WorkHours.End.Minutes() || s.FollowupHour.End.Minutes() <= s.WorkHours.Start.Minutes() {
		return Errorf(EINVALID, "followup_hour", "The follow-up hour must fall within working hours on at least one working day.")
	}
	longest := max(s.Durations.Refresher, s.Durations.Deliver, s.Durations.Chase, s.Durations.Confirm, s.Durations.Nudge)
	if s.WorkHours.End.Minutes()-s.WorkHours.Start.Minutes() < longest {
		return Errorf(EINVALID, "work_hours", "Working hours must be at least as long as the longest block (%d minutes).", longest)
	}
	if s.DeletedMeans != DeletedMeansDone && s.DeletedMeans != DeletedMeansDismissed {
		return Errorf(EINVALID, "deleted_means", "deleted_means must be %q or %q.", DeletedMeansDone, DeletedMeansDismissed)
	}
	return s.Habits.Validate()
}

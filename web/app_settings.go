package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// weekdays are the day values of working hours, Monday first.
var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// settingsForm is the settings form as shown: the stored settings, or the
// user's input after a refused post.
type settingsForm struct {
	// Timezone, Zones and DetectZone feed the zone picker.
	Timezone   string
	Zones      []string
	DetectZone bool
	Days       []string
	// Values are the other fields by form name.
	Values url.Values
	// WorkDays and FollowDays are the days ticked.
	WorkDays, FollowDays []string
	// Habits are the standing habits; MonthWeeks the weeks they can take.
	Habits     []habitForm
	MonthWeeks []weekChoice
}

// settingsInts are the whole-number settings of the form, by form name.
var settingsInts = []string{
	"durations.refresher", "durations.deliver", "durations.chase", "durations.confirm", "durations.nudge",
	"buffer_minutes", "alarm_minutes",
}

// intSetting returns a pointer to the setting a form name stands for.
func intSetting(st *followup.Settings, name string) *int {
	switch name {
	case "durations.refresher":
		return &st.Durations.Refresher
	case "durations.deliver":
		return &st.Durations.Deliver
	case "durations.chase":
		return &st.Durations.Chase
	case "durations.confirm":
		return &st.Durations.Confirm
	case "durations.nudge":
		return &st.Durations.Nudge
	case "buffer_minutes":
		return &st.BufferMinutes
	case "alarm_minutes":
		return &st.AlarmMinutes
	}
	return nil
}

// formOfSettings shows stored settings.
func formOfSettings(st followup.Settings) settingsForm {
	v := url.Values{}
	v.Set("work_hours.start", st.WorkHours.Start.String())
	v.Set("work_hours.end", st.WorkHours.End.String())
	v.Set("followup_hour.start", st.FollowupHour.Start.String())
	v.Set("followup_hour.end", st.FollowupHour.End.String())
	for _, name := range settingsInts {
		v.Set(name, strconv.Itoa(*intSetting(&st, name)))
	}
	habitValues(v, st.Habits)
	return settingsForm{
		Timezone: st.Timezone, Zones: zoneChoices(st.Timezone), Days: weekdays, Values: v,
		WorkDays: st.WorkHours.Days, FollowDays: st.FollowupHour.Days,
		Habits: habitForms(v), MonthWeeks: monthWeeks,
	}
}

// formOfPost shows posted input as typed.
func formOfPost(f url.Values) settingsForm {
	return settingsForm{
		Timezone: f.Get("timezone"), Zones: zoneChoices(f.Get("timezone")), Days: weekdays, Values: f,
		WorkDays: f["work_hours.days"], FollowDays: f["followup_hour.days"],
		Habits: habitForms(f), MonthWeeks: monthWeeks,
	}
}

// settingsOfPost applies the form onto the stored settings: domain
// validation (Settings.Validate, through PutSettings) judges the result.
func settingsOfPost(st followup.Settings, f url.Values) (followup.Settings, error) {
	st.Timezone = strings.TrimSpace(f.Get("timezone"))
	st.WorkHours.Days, st.FollowupHour.Days = f["work_hours.days"], f["followup_hour.days"]
	for _, c := range []struct {
		name string
		dst  *followup.Clock
	}{
		{"work_hours.start", &st.WorkHours.Start}, {"work_hours.end", &st.WorkHours.End},
		{"followup_hour.start", &st.FollowupHour.Start}, {"followup_hour.end", &st.FollowupHour.End},
	} {
		clock, err := followup.ParseClock(strings.TrimSpace(f.Get(c.name)))
		if err != nil {
			return st, followup.Errorf(followup.EINVALID, c.name, "Enter a time of day such as 09:00.")
		}
		*c.dst = clock
	}
	for _, name := range settingsInts {
		n, err := strconv.Atoi(strings.TrimSpace(f.Get(name)))
		if err != nil {
			return st, followup.Errorf(followup.EINVALID, name, "Enter a whole number of minutes.")
		}
		*intSetting(&st, name) = n
	}
	var err error
	st.Habits, err = habitsOfPost(st.Habits, f)
	return st, err
}

// settingsData is the settings page.
type settingsData struct {
	settingsForm
	Tokens []followup.APIToken
	// NewToken is a token just created, shown this once.
	NewToken string
}

func (s *Server) settingsPage(c echo.Context) error {
	st, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	v := view{Title: "Settings", Nav: "settings", Loc: loc}
	if c.QueryParam("saved") != "" {
		v.Notice = "Settings saved. Blocks not yet in your calendar were planned again."
	}
	return s.renderSettings(c, http.StatusOK, v, formOfSettings(st), "")
}

// renderSettings shows the settings page with the user's tokens.
func (s *Server) renderSettings(c echo.Context, status int, v view, form settingsForm, newToken string) error {
	tokens, err := s.Service.APITokens(c.Request().Context(), s.webSession(c).User.ID)
	if err != nil {
		return err
	}
	v.Data = settingsData{settingsForm: form, Tokens: tokens, NewToken: newToken}
	return s.render(c, status, "settings", v)
}

// postSettings saves the settings: 303 back with a notice, or 422 with the
// input kept and the message beside its field.
func (s *Server) postSettings(c echo.Context) error {
	st, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	f, err := c.FormParams()
	if err != nil {
		return followup.Errorf(followup.EINVALID, "", "Malformed form body.")
	}
	next, err := settingsOfPost(st, f)
	if err == nil {
		_, err = s.Service.PutSettings(c.Request().Context(), s.webSession(c).User.ID, next)
	}
	if followup.ErrorCode(err) == followup.EINVALID {
		errs, msg := fieldErrors(err)
		v := view{Title: "Settings", Nav: "settings", Loc: loc, Errors: errs, Error: msg}
		return s.renderSettings(c, http.StatusUnprocessableEntity, v, formOfPost(f), "")
	} else if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/settings?saved=1")
}

// createTokenPage makes an API token and shows it once.
func (s *Server) createTokenPage(c echo.Context) error {
	st, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	w := s.webSession(c)
	name := strings.TrimSpace(c.FormValue("name"))
	if name == "" {
		name = "web"
	}
	v := view{Title: "Settings", Nav: "settings", Loc: loc}
	if len(name) > 100 {
		v.Errors = map[string]string{"name": "The name is longer than 100 characters."}
		return s.renderSettings(c, http.StatusUnprocessableEntity, v, formOfSettings(st), "")
	}
	token, err := s.Service.CreateToken(c.Request().Context(), w.User.Email, name)
	if err != nil {
		return err
	}
	v.Notice = "New API token created. Copy it now: it is not shown again."
	return s.renderSettings(c, http.StatusOK, v, formOfSettings(st), token)
}

// revokeTokenPage revokes one of the user's API tokens.
func (s *Server) revokeTokenPage(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return followup.Errorf(followup.ENOTFOUND, "", "Token not found.")
	}
	if err := s.Service.RevokeAPIToken(c.Request().Context(), s.webSession(c).User.ID, id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/settings#tokens")
}

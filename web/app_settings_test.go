package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/followup/followup"
)

// settingsForm is a complete settings post.
func settingsForm() url.Values {
	return url.Values{
		"timezone":        {"Europe/Berlin"},
		"work_hours.days": {"mon", "tue", "wed", "thu"}, "work_hours.start": {"08:30"}, "work_hours.end": {"16:00"},
		"followup_hour.days": {"mon", "tue"}, "followup_hour.start": {"08:30"}, "followup_hour.end": {"09:15"},
		"durations.refresher": {"20"}, "durations.deliver": {"45"}, "durations.chase": {"10"}, "durations.confirm": {"5"}, "durations.nudge": {"15"},
		"buffer_minutes": {"10"}, "alarm_minutes": {"30"},
	}
}

// TestSettingsPage: the form shows the settings, saves a valid post and
// refuses an invalid one with a clear message beside its field.
func TestSettingsPage(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "settings@example.com")
	p := b.get(t, "/settings")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `<option value="America/New_York" selected>`, `id="zone-search"`, `name="work_hours.start" type="time" value="09:00"`,
		`name="work_hours.days" value="fri" checked`, `<label for="durations-deliver">`, `<label for="alarm-minutes">`)
	wantRedirect(t, b.post(t, "/settings", settingsForm()), "/settings?saved=1")
	st, err := h.svc.Settings(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Timezone != "Europe/Berlin" || st.WorkHours.Start != (followup.Clock{Hour: 8, Minute: 30}) || len(st.WorkHours.Days) != 4 ||
		st.Durations.Deliver != 45 || st.AlarmMinutes != 30 || st.BufferMinutes != 10 || st.FollowupHour.End != (followup.Clock{Hour: 9, Minute: 15}) {
		t.Errorf("stored %+v", st)
	}
	wantContains(t, b.get(t, "/settings?saved=1"), "Settings saved")

	for _, tc := range []struct {
		name, field, value, id string
	}{
		{"unknown zone", "timezone", "Mars/Olympus", "timezone-error"},
		{"bad clock", "work_hours.start", "nine am", "work-hours-start-error"},
		{"deliver too short", "durations.deliver", "1", "durations-deliver-error"},
		{"alarm not a number", "alarm_minutes", "ten", "alarm-minutes-error"},
		{"alarm too far", "alarm_minutes", "5000", "alarm-minutes-error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := settingsForm()
			f.Set(tc.field, tc.value)
			p := b.post(t, "/settings", f)
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, `id="`+tc.id+`"`, `value="`+tc.value+`"`)
		})
	}
	for _, tc := range []struct {
		name string
		edit func(url.Values)
		want string
	}{
		{"no work days", func(f url.Values) { f.Del("work_hours.days") }, "needs at least one day"},
		{"ends before it starts", func(f url.Values) { f.Set("work_hours.end", "08:00") }, "must end after it starts"},
		{"follow-up hour outside", func(f url.Values) { f.Set("followup_hour.start", "18:00"); f.Set("followup_hour.end", "19:00") }, "within working hours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := settingsForm()
			tc.edit(f)
			p := b.post(t, "/settings", f)
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, tc.want)
		})
	}
	if after, _ := h.svc.Settings(t.Context(), u.ID); after.AlarmMinutes != 30 || after.Timezone != "Europe/Berlin" {
		t.Errorf("refused posts changed the settings: %+v", after)
	}
}

// TestSettingsCSRF: a post without the token is refused and changes nothing.
func TestSettingsCSRF(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "settings-csrf@example.com")
	b.get(t, "/settings")
	before := h.fingerprint(t, u)
	for _, csrf := range []string{"-", "x"} {
		f := settingsForm()
		f.Set("csrf", csrf)
		wantStatus(t, b.post(t, "/settings", f), http.StatusForbidden)
	}
	if after := h.fingerprint(t, u); after != before {
		t.Errorf("a refused post changed the store")
	}
}

package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// habitsForm is a complete settings post with the coffees switched on:
// the first and last Tuesday and Thursday, 13:00 to 16:00, 40 minutes.
func habitsForm() url.Values {
	f := settingsForm()
	for _, k := range followup.HabitKinds {
		hb, p := followup.DefaultHabits().Get(k), "habits."+string(k)+"."
		f[p+"days"] = hb.Days
		for _, w := range hb.Weeks {
			f.Add(p+"weeks", itoa(int64(w)))
		}
		f.Set(p+"start", hb.Start.String())
		f.Set(p+"end", hb.End.String())
		f.Set(p+"minutes", itoa(int64(hb.Minutes)))
	}
	f.Set("habits.coffees.enabled", "on")
	f["habits.coffees.days"] = []string{"tue", "thu"}
	f["habits.coffees.weeks"] = []string{"1", "-1"}
	f.Set("habits.coffees.start", "13:00")
	f.Set("habits.coffees.end", "16:00")
	f.Set("habits.coffees.minutes", "40")
	return f
}

// TestSettingsHabits: the settings page shows every standing habit with
// its switch, days, weeks, window and length, each labelled, and saves
// them; a habit's fields left out of a post keep it as stored.
func TestSettingsHabits(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "habits@example.com")
	p := b.get(t, "/settings")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "<legend>Standing habits</legend>", `name="habits.coffees.weeks" value="1" checked`, `name="habits.coffees.weeks" value="3" checked`,
		`name="habits.weekly_review.days" value="mon" checked`, `name="habits.daily_call.days" value="fri" checked`)
	for _, k := range followup.HabitKinds {
		p0, id := "habits."+string(k), "habits-"+strings.ReplaceAll(string(k), "_", "-")
		wantContains(t, p, `name="`+p0+`.enabled" value="on">`, // off by default
			`<label for="`+id+`-start">`, `<label for="`+id+`-end">`, `<label for="`+id+`-minutes">`)
	}

	wantRedirect(t, b.post(t, "/settings", habitsForm()), "/settings?saved=1")
	st, err := h.svc.Settings(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := followup.Habit{Enabled: true, Minutes: 40, Days: []string{"tue", "thu"}, Weeks: []int{1, -1},
		Start: followup.Clock{Hour: 13}, End: followup.Clock{Hour: 16}}
	if diff := cmp.Diff(want, st.Habits.Coffees); diff != "" {
		t.Errorf("coffees (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(followup.DefaultHabits().DailyCall, st.Habits.DailyCall); diff != "" {
		t.Errorf("the daily call changed (-want +got):\n%s", diff)
	}
	page := b.get(t, "/settings")
	wantContains(t, page, `name="habits.coffees.enabled" value="on" checked`, `name="habits.coffees.weeks" value="-1" checked`,
		`name="habits.coffees.start" type="time" value="13:00"`, `name="habits.coffees.minutes" type="number" value="40"`)

	off := habitsForm()
	off.Del("habits.coffees.enabled")
	wantRedirect(t, b.post(t, "/settings", off), "/settings?saved=1")
	if st, _ := h.svc.Settings(t.Context(), u.ID); st.Habits.Coffees.Enabled {
		t.Errorf("the coffees stay on after their switch was cleared")
	}
	wantRedirect(t, b.post(t, "/settings", habitsForm()), "/settings?saved=1")
	wantRedirect(t, b.post(t, "/settings", settingsForm()), "/settings?saved=1")
	if st, _ := h.svc.Settings(t.Context(), u.ID); !st.Habits.Coffees.Enabled || st.Habits.Coffees.Minutes != 40 {
		t.Errorf("a post without the habits' fields changed them: %+v", st.Habits.Coffees)
	}
}

// TestSettingsHabitsInvalid: a bad habit answers 422 with the input kept
// and the message beside its field, and changes nothing.
func TestSettingsHabitsInvalid(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "badhabits@example.com")
	b.get(t, "/settings")
	before, err := h.svc.Settings(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(url.Values)
		id    string
		value string
	}{
		{"length not a number", func(f url.Values) { f.Set("habits.coffees.minutes", "an hour") }, "habits-coffees-minutes-error", `value="an hour"`},
		{"length too long", func(f url.Values) { f.Set("habits.daily_call.minutes", "600") }, "habits-daily-call-minutes-error", `value="600"`},
		{"window shorter than the length", func(f url.Values) { f.Set("habits.coffees.end", "13:30") }, "habits-coffees-end-error", `value="13:30"`},
		{"bad time", func(f url.Values) { f.Set("habits.weekly_review.start", "ten") }, "habits-weekly-review-start-error", `value="ten"`},
		{"no day", func(f url.Values) { f.Del("habits.weekly_email.days") }, "weekly_email.days", "Standing habits"},
		{"unknown day", func(f url.Values) { f["habits.coffees.days"] = []string{"tue", "someday"} }, "coffees.days", `value="tue" checked`},
		{"bad week", func(f url.Values) { f["habits.monthly_scan.weeks"] = []string{"5"} }, "monthly_scan.weeks", "Tick the weeks of the month"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := habitsForm()
			tc.edit(f)
			p := b.post(t, "/settings", f)
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, tc.value, `class="field-error"`, `value="13:00"`) // the coffees' start as typed
			if strings.HasSuffix(tc.id, "-error") {
				wantContains(t, p, `id="`+tc.id+`"`)
			} else if !strings.Contains(between(p.Body, `name="habits.`+tc.id+`"`, "</fieldset>"), `class="field-error"`) {
				t.Errorf("no message beside habits.%s", tc.id)
			}
		})
	}
	after, err := h.svc.Settings(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("refused posts changed the settings (-before +after):\n%s", diff)
	}
}

// TestSettingsHabitsCSRF: a post without the token, or with another,
// answers 403 and switches nothing on.
func TestSettingsHabitsCSRF(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "csrfhabits@example.com")
	b.get(t, "/settings")
	for _, csrf := range []string{"-", "forged"} {
		f := habitsForm()
		f.Set("csrf", csrf)
		wantStatus(t, b.post(t, "/settings", f), http.StatusForbidden)
	}
	if st, _ := h.svc.Settings(t.Context(), u.ID); st.Habits.Coffees.Enabled || st.Timezone != "America/New_York" {
		t.Errorf("refused posts changed the settings: %+v", st.Habits.Coffees)
	}
}

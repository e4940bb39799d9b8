package followup_test

import (
	"testing"

	"github.com/followup/followup"
)

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*followup.Settings)
		field string
	}{
		{"defaults", func(*followup.Settings) {}, ""},
		{"unknown zone", func(s *followup.Settings) { s.Timezone = "Mars/Olympus" }, "timezone"},
		{"path as zone", func(s *followup.Settings) { s.Timezone = "../../etc/passwd" }, "timezone"},
		{"no working days", func(s *followup.Settings) { s.WorkHours.Days = nil }, "work_hours.days"},
		{"bad day", func(s *followup.Settings) { s.WorkHours.Days = []string{"funday"} }, "work_hours.days"},
		{"ends before it starts", func(s *followup.Settings) { s.WorkHours.End = followup.Clock{Hour: 8} }, "work_hours"},
		{"shorter than a block", func(s *followup.Settings) {
			s.WorkHours.Start, s.WorkHours.End = followup.Clock{Hour: 9}, followup.Clock{Hour: 9, Minute: 20}
		}, "work_hours"},
		{"no follow-up days", func(s *followup.Settings) { s.FollowupHour.Days = []string{} }, "followup_hour.days"},
		{"follow-up hour before work", func(s *followup.Settings) {
			s.FollowupHour.Start, s.FollowupHour.End = followup.Clock{Hour: 7}, followup.Clock{Hour: 8}
		}, "followup_hour"},
		{"follow-up hour on no working day", func(s *followup.Settings) { s.FollowupHour.Days = []string{"sun"} }, "followup_hour"},
		{"tiny block", func(s *followup.Settings) { s.Durations.Deliver = 1 }, "durations.deliver"},
		{"negative buffer", func(s *followup.Settings) { s.BufferMinutes = -5 }, "buffer_minutes"},
		{"deleted means", func(s *followup.Settings) { s.DeletedMeans = "ignored" }, "deleted_means"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := followup.DefaultSettings("Europe/Berlin")
			tc.edit(&s)
			err := s.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid settings refused: %v", err)
				}
				return
			}
			if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != tc.field {
				t.Fatalf("error %v, want invalid %s", err, tc.field)
			}
		})
	}
}

func TestParseClock(t *testing.T) {
	for in, ok := range map[string]bool{"09:00": true, "9:30": true, "24:00": true, "24:01": false, "12:60": false, "noon": false, "": false, "-1:00": false, "09:5": false} {
		if _, err := followup.ParseClock(in); (err == nil) != ok {
			t.Errorf("ParseClock(%q): %v", in, err)
		}
	}
}

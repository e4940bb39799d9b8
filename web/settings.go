package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

func (s *Server) getSettings(c echo.Context) error {
	st, err := s.Service.Settings(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// putSettings applies the fields sent onto the current settings: a field
// left out keeps its value.
func (s *Server) putSettings(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := s.Service.Settings(ctx, userID(c))
	if err != nil {
		return err
	}
	body, err := readBody(c.Request().Body)
	if err != nil {
		return err
	}
	if err := decodeJSONBytes(body, &st); err != nil {
		if f := badClock(body); f != "" && followup.ErrorField(err) == "" {
			return followup.Errorf(followup.EINVALID, f, "%s must be a time of day HH:MM, such as 09:00.", f)
		}
		return err
	}
	st, err = s.Service.PutSettings(ctx, userID(c), st)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// agenda serves GET /api/v1/agenda?from=&to= (default: the next 7 days).
func (s *Server) agenda(c echo.Context) error {
	var from, to optTime
	if err := timeField("from", &from, c.QueryParam("from")); err != nil {
		return err
	}
	if err := timeField("to", &to, c.QueryParam("to")); err != nil {
		return err
	}
	if !from.set {
		from.t = s.Now().Truncate(time.Minute)
	}
	if !to.set {
		to.t = from.t.AddDate(0, 0, 7)
	}
	a, err := s.Service.Agenda(c.Request().Context(), userID(c), from.t, to.t)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// badClock names the first time of day in a settings body that does not
// parse: encoding/json reports a failed UnmarshalText without its field.
func badClock(body []byte) string {
	type span struct{ Start, End json.RawMessage }
	var probe struct {
		WorkHours    span            `json:"work_hours"`
		FollowupHour span            `json:"followup_hour"`
		Habits       map[string]span `json:"habits"`
	}
	if json.Unmarshal(body, &probe) != nil {
		return ""
	}
	type field struct {
		name string
		raw  json.RawMessage
	}
	fields := []field{
		{"work_hours.start", probe.WorkHours.Start}, {"work_hours.end", probe.WorkHours.End},
		{"followup_hour.start", probe.FollowupHour.Start}, {"followup_hour.end", probe.FollowupHour.End},
	}
	for _, k := range followup.HabitKinds {
		sp := probe.Habits[string(k)]
		fields = append(fields, field{"habits." + string(k) + ".start", sp.Start}, field{"habits." + string(k) + ".end", sp.End})
	}
	for _, f := range fields {
		var v string
		if len(f.raw) == 0 || json.Unmarshal(f.raw, &v) != nil {
			continue
		}
		if _, err := followup.ParseClock(v); err != nil {
			return f.name
		}
	}
	return ""
}

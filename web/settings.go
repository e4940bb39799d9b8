package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
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
	if err := decodeJSON(c, &st); err != nil {
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

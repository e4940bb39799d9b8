package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// caldavRequest is PUT /api/v1/caldav.
type caldavRequest struct {
	URL           string   `json:"url"`
	Username      string   `json:"username"`
	Password      string   `json:"password"`
	Calendar      string   `json:"calendar"`
	BusyCalendars []string `json:"busy_calendars"`
	BusyICS       []string `json:"busy_ics"`
}

func (s *Server) putCalDAV(c echo.Context) error {
	var req caldavRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	conn, err := s.Service.ConnectCalDAV(c.Request().Context(), userID(c), followup.CalDAVInput{
		URL: req.URL, Username: req.Username, Password: req.Password, Calendar: req.Calendar,
		BusyCalendars: req.BusyCalendars, BusyICS: req.BusyICS,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conn)
}

func (s *Server) getCalDAV(c echo.Context) error {
	conn, err := s.Service.CalDAV(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conn)
}

func (s *Server) deleteCalDAV(c echo.Context) error {
	if err := s.Service.DisconnectCalDAV(c.Request().Context(), userID(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) sync(c echo.Context) error {
	rep, err := s.Service.Sync(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

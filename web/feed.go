package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

func (s *Server) getFeed(c echo.Context) error {
	links, err := s.Service.FeedLinks(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, links)
}

func (s *Server) rotateFeed(c echo.Context) error {
	links, err := s.Service.RotateFeed(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, links)
}

// feed serves GET /feeds/{token}.ics. The token is the only credential. A
// conditional request is answered from the feed's version alone (one
// indexed row), with 304 when it matches (RFC 9110 §13.1.1, §13.1.3).
func (s *Server) feed(c echo.Context) error {
	token, ok := strings.CutSuffix(c.Param("file"), ".ics")
	if !ok {
		return followup.Errorf(followup.ENOTFOUND, "", "Feed not found.")
	}
	ctx := c.Request().Context()
	v, err := s.Service.FeedVersion(ctx, token)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("ETag", v.ETag)
	h.Set("Last-Modified", v.LastModified.UTC().Format(http.TimeFormat))
	h.Set("Cache-Control", "private, no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if notModified(c.Request(), v) {
		return c.NoContent(http.StatusNotModified)
	}
	body, err := s.Service.FeedDocument(ctx, v)
	if err != nil {
		return err
	}
	h.Set("Content-Disposition", `inline; filename="followups.ics"`)
	if c.Request().Method == http.MethodHead {
		h.Set("Content-Type", "text/calendar; charset=utf-8")
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, "text/calendar; charset=utf-8", body)
}

// notModified evaluates If-None-Match, or If-Modified-Since when absent
// (RFC 9110 §13.2.2).
func notModified(r *http.Request, v followup.FeedVersion) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == v.ETag {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !v.LastModified.Truncate(time.Second).After(t)
	}
	return false
}

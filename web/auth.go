package web

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

const userKey = "followup.user"

// authenticate requires a valid API token (Authorization: Bearer TOKEN).
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return followup.Errorf(followup.EUNAUTHORIZED, "", "Send an API token as Authorization: Bearer TOKEN (make one with: followup token create --email you@example.com).")
		}
		u, err := s.Service.Authenticate(c.Request().Context(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		c.Set(userKey, u)
		return next(c)
	}
}

// userID returns the authenticated user's id.
func userID(c echo.Context) int64 {
	return c.Get(userKey).(followup.User).ID
}

func (s *Server) apiNotFound(c echo.Context) error {
	return followup.Errorf(followup.ENOTFOUND, "", "No API route %s %s.", c.Request().Method, c.Request().URL.Path)
}

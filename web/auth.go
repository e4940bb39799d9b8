package web

import (
	"net/http"
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

// apiNotFound answers API paths no route takes: 405 with Allow when the
// path exists for other methods (RFC 9110 §15.5.6), else 404.
func (s *Server) apiNotFound(c echo.Context) error {
	path := c.Request().URL.Path
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if m == c.Request().Method {
			continue
		}
		probe := s.Echo.NewContext(c.Request(), nil)
		s.Echo.Router().Find(m, path, probe)
		if p := probe.Path(); p != "" && !strings.HasSuffix(p, "/*") {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		c.Response().Header().Set("Allow", strings.Join(allow, ", "))
		return echo.NewHTTPError(http.StatusMethodNotAllowed)
	}
	return followup.Errorf(followup.ENOTFOUND, "", "No API route %s %s.", c.Request().Method, path)
}

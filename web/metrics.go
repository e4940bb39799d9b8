package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// feedRoute is the feed's route pattern; the token it matches is a secret.
const feedRoute = "/feeds/:file"

// observe tells the Observer about every answer: its method, route pattern
// (never the path, which holds ids and feed tokens), status and time. It
// is the outermost middleware, so the status is the one written, errors
// and recovered panics included.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.Observer == nil {
			return next(c)
		}
		route := c.Path()
		done := s.Observer.ObserveHTTP(c.Request().Method, route)
		if err := next(c); err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		done(status)
		if route == feedRoute {
			s.Observer.ObserveFeed(status)
		}
		return nil
	}
}

// metrics serves GET /metrics (Prometheus text format): 404 while metrics
// are off (Server.Metrics nil); with a MetricsToken, 401 unless the request
// sends it as Authorization: Bearer TOKEN.
func (s *Server) metrics(c echo.Context) error {
	if s.Metrics == nil {
		return followup.Errorf(followup.ENOTFOUND, "", "Not found.")
	}
	if s.MetricsToken != "" && !sameSecret(bearer(c.Request()), s.MetricsToken) {
		return followup.Errorf(followup.EUNAUTHORIZED, "", "Send the metrics token as Authorization: Bearer TOKEN.")
	}
	s.Metrics.ServeHTTP(c.Response(), c.Request())
	return nil
}

// bearer returns the token of an Authorization: Bearer header, or "".
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// sameSecret compares in constant time, the length included.
func sameSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return got != "" && subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageCSP is the Content-Security-Policy of every page: scripts, styles
// and images from this server only, no inline code.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"manifest-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Cookie names of the web app.
const (
	sessionCookie = "followup_session"
	// csrfCookie carries the double-submit token of signed-out forms
	// (setup, login); signed-in forms use a token derived from the session.
	csrfCookie = "followup_csrf"
)

// pages holds one template set per page, each the layout plus the page.
type pages map[string]*template.Template

// loadPages parses every page template with the layout.
func loadPages() (pages, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := pages{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", base, err)
		}
		p[strings.TrimSuffix(base, ".html")] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title string
	// Nav names the current section for the menu.
	Nav  string
	User *followup.User
	CSRF string
	// Loc is the user's zone, for times.
	Loc *time.Location
	// Notice is a confirmation at the top of the page.
	Notice string
	// Error is a message not tied to a field.
	Error string
	// Errors are messages by form field name.
	Errors map[string]string
	// Quick is the one-line form at the top of the page, on the pages
	// that show it.
	Quick *quickForm
	Data  any
}

// render writes a page with the security headers every page gets.
func (s *Server) render(c echo.Context, status int, name string, v view) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	if v.Loc == nil {
		v.Loc = time.UTC
	}
	if w := s.webSession(c); w != nil {
		v.User = &w.User
	}
	if v.CSRF == "" {
		v.CSRF = s.csrfToken(c)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	pageHeaders(c)
	return c.HTMLBlob(status, buf.Bytes())
}

// pageHeaders sets the headers of every HTML page.
func pageHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// webSession is a signed-in browser.
type webSession struct {
	User    followup.User
	Session followup.Session
	Token   string
}

const webSessionKey = "followup.web_session"

// loadSession reads the session cookie, if any, for every page.
func (s *Server) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(sessionCookie)
		if err == nil && ck.Value != "" {
			u, sess, err := s.Service.SessionUser(c.Request().Context(), ck.Value)
			switch followup.ErrorCode(err) {
			case "":
				c.Set(webSessionKey, &webSession{User: u, Session: sess, Token: ck.Value})
			case followup.EUNAUTHORIZED:
				s.clearCookie(c, sessionCookie)
			default:
				return err
			}
		}
		return next(c)
	}
}

// webSession returns the signed-in browser, or nil.
func (s *Server) webSession(c echo.Context) *webSession {
	w, _ := c.Get(webSessionKey).(*webSession)
	return w
}

// signedIn requires a session: a page asks to sign in and comes back; a
// form post without one is refused (403) and changes nothing.
func (s *Server) signedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.webSession(c) != nil {
			return next(c)
		}
		if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead {
			return followup.Errorf(errForbidden, "", "Your session has ended; sign in again.")
		}
		return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
}

// errForbidden is the code of a refused form post (CSRF); only web pages use it.
const errForbidden = "forbidden"

// csrfToken returns the token the page's forms carry: derived from the
// session token when signed in, else the double-submit cookie's value
// (set here when missing).
func (s *Server) csrfToken(c echo.Context) string {
	if w := s.webSession(c); w != nil {
		return sessionCSRF(w.Token)
	}
	if v, ok := c.Get(csrfCookie).(string); ok {
		return v
	}
	if ck, err := c.Cookie(csrfCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	token := randomString()
	c.Set(csrfCookie, token)
	c.SetCookie(&http.Cookie{
		Name: csrfCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure(c),
		SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600,
	})
	return token
}

// sessionCSRF derives a session's CSRF token: only the cookie's holder
// (HttpOnly, so not even page scripts) can compute it.
func sessionCSRF(sessionToken string) string {
	h := sha256.Sum256([]byte("followup csrf\x00" + sessionToken))
	return hex.EncodeToString(h[:])
}

// checkCSRF refuses a form post whose csrf field does not match (403).
func (s *Server) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		got := c.FormValue("csrf")
		var want string
		if w := s.webSession(c); w != nil {
			want = sessionCSRF(w.Token)
		} else if ck, err := c.Cookie(csrfCookie); err == nil {
			want = ck.Value
		}
		if want == "" || len(got) != len(want) || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return followup.Errorf(errForbidden, "csrf", "This form has expired or did not come from this site; reload the page and try again.")
		}
		return next(c)
	}
}

// secure reports whether cookies must be Secure: over TLS, or behind a
// proxy when the configured base URL is https.
func (s *Server) secure(c echo.Context) bool {
	return c.Request().TLS != nil || strings.HasPrefix(strings.ToLower(s.BaseURL), "https://")
}

func (s *Server) setSessionCookie(c echo.Context, token string, expires time.Time) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure(c),
		SameSite: http.SameSiteLaxMode, MaxAge: max(int(expires.Sub(s.Now()).Seconds()), 1),
	})
}

func (s *Server) clearCookie(c echo.Context, name string) {
	c.SetCookie(&http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// randomString returns 256 random bits, base64url.
func randomString() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// localPath returns p when it is a path on this site, else def: a "next"
// or "back" parameter must not send the browser elsewhere.
func localPath(p, def string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n\x00") {
		return def
	}
	return p
}

// userZone loads the signed-in user's settings and zone.
func (s *Server) userZone(c echo.Context) (followup.Settings, *time.Location, error) {
	st, err := s.Service.Settings(c.Request().Context(), s.webSession(c).User.ID)
	if err != nil {
		return st, nil, err
	}
	loc, err := st.Location()
	if err != nil {
		return st, time.UTC, nil
	}
	return st, loc, nil
}

// fieldErrors maps a validation error to its field for the form; an
// error without a field is the page's message.
func fieldErrors(err error) (map[string]string, string) {
	if f := followup.ErrorField(err); f != "" {
		return map[string]string{f: followup.ErrorMessage(err)}, ""
	}
	return nil, followup.ErrorMessage(err)
}

// isPage reports whether a path belongs to the web app (HTML answers),
// not the API, the feeds, the health checks or the metrics.
func isPage(p string) bool {
	for _, prefix := range []string{"/api/", "/feeds/", "/healthz", "/readyz", "/metrics"} {
		if strings.HasPrefix(p, prefix) {
			return false
		}
	}
	return true
}

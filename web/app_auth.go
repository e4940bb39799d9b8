package web

import (
	"bufio"
	"bytes"
	_ "embed"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

//go:embed static/zones.txt
var zonesText []byte

// zones are the IANA zones offered in time zone pickers.
var zones = func() []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(zonesText))
	for sc.Scan() {
		if z := strings.TrimSpace(sc.Text()); z != "" {
			out = append(out, z)
		}
	}
	return out
}()

// zoneChoices returns the zones with the current one included.
func zoneChoices(current string) []string {
	if current == "" || slices.Contains(zones, current) {
		return zones
	}
	return append([]string{current}, zones...)
}

// setupForm is the first-account form.
type setupForm struct {
	Email      string
	Timezone   string
	Zones      []string
	DetectZone bool
}

// setupAllowed answers 404 once an account exists: /setup is for a fresh
// install only.
func (s *Server) setupAllowed(c echo.Context) error {
	need, err := s.Service.NeedsSetup(c.Request().Context())
	if err != nil {
		return err
	}
	if !need {
		return followup.Errorf(followup.ENOTFOUND, "", "followup is set up already; sign in.")
	}
	return nil
}

func (s *Server) setupPage(c echo.Context) error {
	if err := s.setupAllowed(c); err != nil {
		if followup.ErrorCode(err) == followup.ENOTFOUND {
			return c.Redirect(http.StatusSeeOther, "/login")
		}
		return err
	}
	return s.render(c, http.StatusOK, "setup", view{Title: "Set up", Data: setupForm{Timezone: "UTC", Zones: zones, DetectZone: true}})
}

func (s *Server) setup(c echo.Context) error {
	if err := s.setupAllowed(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	form := setupForm{Email: c.FormValue("email"), Timezone: c.FormValue("timezone")}
	form.Zones = zoneChoices(form.Timezone)
	u, err := s.Service.Setup(ctx, form.Email, c.FormValue("password"), form.Timezone)
	if followup.ErrorCode(err) == followup.EINVALID {
		errs, msg := fieldErrors(err)
		return s.render(c, http.StatusUnprocessableEntity, "setup", view{Title: "Set up", Errors: errs, Error: msg, Data: form})
	} else if err != nil {
		return err
	}
	return s.signIn(c, u, "/")
}

// signIn starts a session for u and sends the browser to next.
func (s *Server) signIn(c echo.Context, u followup.User, next string) error {
	token, sess, err := s.Service.StartSession(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, token, sess.ExpiresAt)
	s.clearCookie(c, csrfCookie)
	return c.Redirect(http.StatusSeeOther, localPath(next, "/"))
}

// loginForm is the sign-in form.
type loginForm struct {
	Email string
	Next  string
}

func (s *Server) loginPage(c echo.Context) error {
	if s.webSession(c) != nil {
		return c.Redirect(http.StatusSeeOther, localPath(c.QueryParam("next"), "/"))
	}
	need, err := s.Service.NeedsSetup(c.Request().Context())
	if err != nil {
		return err
	}
	if need {
		return c.Redirect(http.StatusSeeOther, "/setup")
	}
	return s.render(c, http.StatusOK, "login", view{Title: "Sign in", Data: loginForm{Next: localPath(c.QueryParam("next"), "")}})
}

func (s *Server) login(c echo.Context) error {
	form := loginForm{Email: c.FormValue("email"), Next: localPath(c.FormValue("next"), "")}
	u, err := s.Service.Login(c.Request().Context(), form.Email, c.FormValue("password"), c.RealIP())
	switch followup.ErrorCode(err) {
	case "":
		return s.signIn(c, u, form.Next)
	case followup.EUNAUTHORIZED, followup.EINVALID:
		return s.render(c, http.StatusUnauthorized, "login", view{Title: "Sign in", Error: followup.ErrorMessage(err), Data: form})
	case followup.ERATELIMIT:
		c.Response().Header().Set("Retry-After", "900")
		return s.render(c, http.StatusTooManyRequests, "login", view{Title: "Sign in", Error: followup.ErrorMessage(err), Data: form})
	}
	return err
}

func (s *Server) logout(c echo.Context) error {
	if err := s.Service.EndSession(c.Request().Context(), s.webSession(c).Token); err != nil {
		return err
	}
	s.clearCookie(c, sessionCookie)
	return c.Redirect(http.StatusSeeOther, "/login")
}

// homeData is the start page: today's blocks.
type homeData struct {
	Today  time.Time
	Blocks []followup.AgendaBlock
	Next   *followup.AgendaBlock
	Back   string
}

// home answers /: signed out, the way in; signed in, today's blocks.
func (s *Server) home(c echo.Context) error {
	if s.webSession(c) == nil {
		need, err := s.Service.NeedsSetup(c.Request().Context())
		if err != nil {
			return err
		}
		if need {
			return c.Redirect(http.StatusSeeOther, "/setup")
		}
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	_, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	now := s.Now().In(loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	a, err := s.Service.Agenda(c.Request().Context(), s.webSession(c).User.ID, day, day.AddDate(0, 0, 8))
	if err != nil {
		return err
	}
	d := homeData{Today: now, Back: "/"}
	tomorrow := day.AddDate(0, 0, 1)
	for i, b := range a.Blocks {
		if b.Start.Before(tomorrow) {
			d.Blocks = append(d.Blocks, b)
		} else if d.Next == nil && b.Status.Pending() {
			d.Next = &a.Blocks[i]
		}
	}
	return s.render(c, http.StatusOK, "home", view{Title: "Today", Nav: "today", Loc: loc, Quick: newQuickForm(), Data: d})
}

package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"rsc.io/qr"

	"github.com/followup/followup"
)

// feedData is the feed page.
type feedData struct {
	Links followup.FeedLinks
	// Webcal is the webcal:// link, which html/template would otherwise
	// refuse as an unknown scheme.
	Webcal template.URL
	QR     template.HTML
}

func (s *Server) feedPage(c echo.Context) error {
	return s.showFeed(c, http.StatusOK, view{})
}

func (s *Server) showFeed(c echo.Context, status int, v view) error {
	links, err := s.Service.FeedLinks(c.Request().Context(), s.webSession(c).User.ID)
	if err != nil {
		return err
	}
	code, err := qrSVG(links.Webcal)
	if err != nil {
		return err
	}
	d := feedData{Links: links, QR: code}
	if strings.HasPrefix(links.Webcal, "webcal://") {
		d.Webcal = template.URL(links.Webcal) // made by the service from the base URL
	}
	v.Title, v.Nav, v.Data = "Calendar feed", "feed", d
	if c.QueryParam("rotated") != "" && v.Notice == "" && v.Error == "" {
		v.Notice = "The feed has a new address. The old one no longer works: subscribe again with the new one."
	}
	return s.render(c, status, "feed", v)
}

// rotateFeedPage gives the feed a new address once the user confirmed
// that the old one stops working.
func (s *Server) rotateFeedPage(c echo.Context) error {
	if c.FormValue("confirm") != "yes" {
		return s.showFeed(c, http.StatusUnprocessableEntity, view{
			Errors: map[string]string{"confirm": "Tick the box to confirm: every calendar subscribed to the old address stops updating."},
		})
	}
	if _, err := s.Service.RotateFeed(c.Request().Context(), s.webSession(c).User.ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/feed?rotated=1")
}

// qrSVG draws text as a QR code (medium error correction) in SVG: one
// path of unit squares, with the four-module quiet zone.
func qrSVG(text string) (template.HTML, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fmt.Errorf("web: qr code: %w", err)
	}
	n := code.Size + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="qr" viewBox="0 0 %d %d" role="img" aria-label="QR code of the webcal address" xmlns="http://www.w3.org/2000/svg" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+4, y+4)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil
}

// calendarData is the CalDAV page.
type calendarData struct {
	Conn      *followup.CalDAVConnection
	URL       string
	Username  string
	Report    *followup.SyncReport
	Connected bool
}

func (s *Server) calendarPage(c echo.Context) error {
	return s.showCalendar(c, http.StatusOK, view{}, nil)
}

// showCalendar shows the connection, if any, with its calendars to pick
// from, the last sync and the last error in plain words.
func (s *Server) showCalendar(c echo.Context, status int, v view, report *followup.SyncReport) error {
	_, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	d := calendarData{Report: report}
	conn, err := s.Service.CalDAV(c.Request().Context(), s.webSession(c).User.ID)
	switch followup.ErrorCode(err) {
	case "":
		d.Conn, d.Connected, d.URL, d.Username = &conn, true, conn.URL, conn.Username
	case followup.ENOTFOUND:
	default:
		return err
	}
	if f, _ := c.FormParams(); c.Request().Method == http.MethodPost && f != nil {
		d.URL, d.Username = f.Get("url"), f.Get("username")
	}
	if c.QueryParam("connected") != "" && v.Notice == "" {
		v.Notice = "Connected. Pick the calendar for your blocks and the calendars that count as busy."
	}
	v.Title, v.Nav, v.Loc, v.Data = "Calendar", "calendar", loc, d
	return s.render(c, status, "calendar", v)
}

// connectCalendarPage checks the account by discovery and stores it; a
// second post with "pick" set chooses the calendars.
func (s *Server) connectCalendarPage(c echo.Context) error {
	f, err := c.FormParams()
	if err != nil {
		return followup.Errorf(followup.EINVALID, "", "Malformed form body.")
	}
	in := followup.CalDAVInput{
		URL: strings.TrimSpace(f.Get("url")), Username: strings.TrimSpace(f.Get("username")), Password: f.Get("password"),
		Calendar: f.Get("calendar"),
	}
	if f.Get("pick") != "" {
		// The checkboxes were shown: none ticked means no busy calendar.
		in.BusyCalendars = append([]string{}, f["busy_calendars"]...)
	}
	_, err = s.Service.ConnectCalDAV(c.Request().Context(), s.webSession(c).User.ID, in)
	if code := followup.ErrorCode(err); code == followup.EINVALID || code == followup.EREMOTE || code == followup.ECONFLICT || code == followup.EUNAVAILABLE {
		errs, msg := fieldErrors(err)
		status := http.StatusUnprocessableEntity
		if code == followup.EUNAVAILABLE {
			status = http.StatusServiceUnavailable
		}
		return s.showCalendar(c, status, view{Errors: errs, Error: msg}, nil)
	} else if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/calendar?connected=1")
}

// syncCalendarPage runs one sync now and shows what it did.
func (s *Server) syncCalendarPage(c echo.Context) error {
	rep, err := s.Service.Sync(c.Request().Context(), s.webSession(c).User.ID)
	switch code := followup.ErrorCode(err); code {
	case "":
		return s.showCalendar(c, http.StatusOK, view{Notice: "Synced."}, &rep)
	case followup.EREMOTE, followup.EUNAVAILABLE, followup.ECONFLICT, followup.EINVALID, followup.ENOTFOUND:
		return s.showCalendar(c, codes[code], view{Error: "The sync failed: " + followup.ErrorMessage(err)}, nil)
	}
	return err
}

// disconnectCalendarPage forgets the CalDAV account.
func (s *Server) disconnectCalendarPage(c echo.Context) error {
	if err := s.Service.DisconnectCalDAV(c.Request().Context(), s.webSession(c).User.ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/calendar")
}

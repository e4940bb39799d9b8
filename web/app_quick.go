package web

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// quickForm is the one-line form ("Log in one line") at the top of the
// start page and of the log form.
type quickForm struct {
	Line string
	// Key is the idempotency key this rendering of the form carries.
	Key string
	// Err is the message beside the line when it was refused.
	Err string
}

func newQuickForm() *quickForm { return &quickForm{Key: randomString()} }

// quickPageFields are the fields of the one-line form.
var quickPageFields = map[string]bool{"csrf": true, "idempotency_key": true, "text": true}

// quickCookie carries the line just logged to the commitment's page, which
// shows how it was read. It lives as long as that page confirms the
// planned blocks.
const quickCookie = "followup_quick"

// maxQuickCookie is the longest value the cookie takes; a longer line is
// logged all the same, and its page shows the commitment without the
// reading. Browsers keep cookies of up to 4096 bytes with their name.
const maxQuickCookie = 3800

// postQuickPage logs a commitment from one line: 303 to its page, which
// shows how the line was read; or 422 with the log page again, the line
// kept and the message naming the part that was not understood.
func (s *Server) postQuickPage(c echo.Context) error {
	f, err := formValues(c, quickPageFields)
	if err != nil {
		return err
	}
	form := &quickForm{Line: f.Get("text"), Key: f.Get("idempotency_key")}
	if form.Key == "" {
		form.Key = randomString()
	}
	res, _, err := s.Service.QuickAddOnce(c.Request().Context(), s.webSession(c).User.ID, form.Key, followup.QuickInput{Text: form.Line})
	switch followup.ErrorCode(err) {
	case "":
	case followup.EINVALID:
		form.Err = followup.ErrorMessage(err)
		return s.refuseQuick(c, form)
	case followup.ECONFLICT:
		// The key belongs to another line: this rendering gets a new one.
		form.Key, form.Err = randomString(), "This form was already used to log another line; check it and send it again to log this one too."
		return s.refuseQuick(c, form)
	default:
		return err
	}
	s.keepQuickLine(c, res.ID, form.Line)
	return c.Redirect(http.StatusSeeOther, "/commitments/"+strconv.FormatInt(res.ID, 10))
}

// refuseQuick answers 422 with the log page, the refused line in the
// one-line form at its top and the full form below, empty.
func (s *Server) refuseQuick(c echo.Context, form *quickForm) error {
	_, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusUnprocessableEntity, "new", view{
		Title: "Log a promise", Nav: "new", Loc: loc, Quick: form, Data: s.freshLogForm(c, loc),
	})
}

// keepQuickLine sets the cookie that takes the line to the commitment's page.
func (s *Server) keepQuickLine(c echo.Context, id int64, line string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10) + "\n" + line))
	if len(v) > maxQuickCookie {
		return
	}
	c.SetCookie(&http.Cookie{
		Name: quickCookie, Value: v, Path: "/commitments/", HttpOnly: true, Secure: s.secure(c),
		SameSite: http.SameSiteLaxMode, MaxAge: int(justLogged.Seconds()),
	})
}

// quickLine returns the line the cookie carries for commitment id, if any.
func quickLine(c echo.Context, id int64) (string, bool) {
	ck, err := c.Cookie(quickCookie)
	if err != nil {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return "", false
	}
	idText, line, ok := strings.Cut(string(b), "\n")
	if !ok || idText != strconv.FormatInt(id, 10) {
		return "", false
	}
	return line, true
}

// readingView is how a line just logged was read, for the commitment's page.
type readingView struct {
	Line  string
	Parts []partView
}

// partView is one part of a reading, in words.
type partView struct {
	Label  string               `json:"label"`
	Value  string               `json:"value"`
	Source followup.QuickSource `json:"source"`
	Text   string               `json:"text"`
}

// partLabels name the fields a line is read into.
var partLabels = map[string]string{
	"contact.name": "Name", "contact.company": "Company", "contact.email": "Email", "contact.phone": "Phone",
	"contact.url": "Web address", "promise": "Promise", "due_text": "Deadline", "direction": "Who promised",
	"priority": "Starred", "met_where": "Where you met",
}

// partValues put the values of direction and priority in words.
var partValues = map[string]string{
	"direction=mine": "I did", "direction=theirs": "They did", "priority=true": "Yes", "priority=false": "No",
}

// quickReading reads again the line that was just logged as commitment id,
// as it was read then; nil when there is none, or it no longer reads.
func (s *Server) quickReading(c echo.Context, id int64) *readingView {
	line, ok := quickLine(c, id)
	if !ok {
		return nil
	}
	r, err := s.Service.ReadQuick(c.Request().Context(), s.webSession(c).User.ID, followup.QuickInput{Text: line})
	if err != nil {
		return nil
	}
	return &readingView{Line: line, Parts: partViews(r)}
}

// partViews puts a reading's parts in words.
func partViews(r followup.QuickReading) []partView {
	var parts []partView
	for _, p := range r.Parts {
		label := partLabels[p.Field]
		if label == "" {
			label = p.Field
		}
		value := p.Value
		if w, ok := partValues[p.Field+"="+p.Value]; ok {
			value = w
		}
		parts = append(parts, partView{Label: label, Value: value, Source: p.Source, Text: p.Text})
	}
	return parts
}

// previewAnswer is how a line would be read, for the live preview.
type previewAnswer struct {
	Parts []partView `json:"parts,omitempty"`
	Error string     `json:"error,omitempty"`
}

// previewQuick answers how the one-line form's line would be read, as
// the user types it (the form's script asks): 200 with its parts, or 422
// with the message naming the part not understood. Nothing is stored.
func (s *Server) previewQuick(c echo.Context) error {
	f, err := formValues(c, map[string]bool{"csrf": true, "text": true})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	r, err := s.Service.ReadQuick(c.Request().Context(), s.webSession(c).User.ID, followup.QuickInput{Text: f.Get("text")})
	if followup.ErrorCode(err) == followup.EINVALID {
		return c.JSON(http.StatusUnprocessableEntity, previewAnswer{Error: followup.ErrorMessage(err)})
	} else if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, previewAnswer{Parts: partViews(r)})
}

package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// logForm is the log form as shown: the user's input kept as typed.
type logForm struct {
	Values url.Values
	// Key is the idempotency key this rendering of the form carries.
	Key       string
	EventMode bool
}

// pageFields are the log form's fields beside the commitment's own.
var pageFields = map[string]bool{"csrf": true, "idempotency_key": true, "event_mode": true, vcardFile: true, readCard: true}

// inputTime is how datetime-local inputs show a time.
const inputTime = "2006-01-02T15:04"

func (s *Server) newCommitmentPage(c echo.Context) error {
	_, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "new", view{Title: "Log a promise", Nav: "new", Loc: loc, Quick: newQuickForm(), Data: s.freshLogForm(c, loc)})
}

// freshLogForm is the log form as first shown: empty but for where and
// when the user met people when event mode is on.
func (s *Server) freshLogForm(c echo.Context, loc *time.Location) logForm {
	form := logForm{Values: url.Values{}, Key: randomString()}
	if e := s.webSession(c).Session.Event; e != nil {
		form.EventMode = true
		form.Values.Set("met_where", e.Where)
		form.Values.Set("met_at", e.At.In(loc).Format(inputTime))
	}
	return form
}

// postCommitment logs a commitment from the form: 303 to its page, or 422
// with the form again, the input kept and the message beside its field.
// A vCard sent with it fills the contact fields left empty; "Read card"
// instead shows the form again with the card's contact filled in.
func (s *Server) postCommitment(c echo.Context) error {
	_, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	f, err := c.FormParams()
	if err != nil {
		return followup.Errorf(followup.EINVALID, "", "Malformed form body.")
	}
	form := logForm{Values: f, Key: f.Get("idempotency_key"), EventMode: f.Get("event_mode") != ""}
	if form.Key == "" {
		form.Key = randomString()
	}
	reading := f.Get(readCard) != ""
	f.Del(readCard)
	card, err := s.cardOfForm(c, f)
	if err != nil {
		return s.refuseLog(c, loc, form, err)
	}
	if card != nil {
		fillContact(f, *card, reading)
	}
	if reading {
		return s.showReadCard(c, loc, form, card)
	}
	res, err := s.logCommitment(c, f, form.Key, loc)
	if err != nil {
		return s.refuseLog(c, loc, form, err)
	}
	if err := s.rememberEvent(c, form, res); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/commitments/"+strconv.FormatInt(res.ID, 10))
}

// refuseLog answers 422 with the form again, the input kept and the
// message beside its field, for invalid input or a reused key; any
// other error goes to the error handler.
func (s *Server) refuseLog(c echo.Context, loc *time.Location, form logForm, err error) error {
	code := followup.ErrorCode(err)
	if code != followup.EINVALID && code != followup.ECONFLICT {
		return err
	}
	errs, msg := fieldErrors(err)
	if code == followup.ECONFLICT {
		// The old key belongs to another commitment: this rendering gets
		// a new one, so sending it again logs this one.
		form.Key, errs = randomString(), nil
		msg = "This form was already used to log another commitment; check it and send it again to log this one too."
	}
	return s.render(c, http.StatusUnprocessableEntity, "new", view{Title: "Log a promise", Nav: "new", Loc: loc, Quick: newQuickForm(), Errors: errs, Error: msg, Data: form})
}

// showReadCard shows the form again with the card's contact filled in.
func (s *Server) showReadCard(c echo.Context, loc *time.Location, form logForm, card *followup.Contact) error {
	if card == nil {
		return s.refuseLog(c, loc, form, followup.Errorf(followup.EINVALID, "vcard", "Choose a card file (.vcf) or paste the card's text, then read it."))
	}
	notice := "Read the card of " + card.Name + ": check the contact details, then log the promise."
	if card.Name == "" {
		notice = "Read the card: check the contact details, then log the promise."
	}
	return s.render(c, http.StatusOK, "new", view{Title: "Log a promise", Nav: "new", Loc: loc, Quick: newQuickForm(), Notice: notice, Data: form})
}

// rememberEvent keeps where and when the user met people for the next
// entry while event mode is on, and forgets it once it is turned off.
func (s *Server) rememberEvent(c echo.Context, form logForm, res followup.Commitment) error {
	w := s.webSession(c)
	var event *followup.EventMemory
	if form.EventMode {
		event = &followup.EventMemory{Where: res.MetWhere, At: res.MetAt}
	}
	if event == nil && w.Session.Event == nil {
		return nil
	}
	return s.Service.RememberEvent(c.Request().Context(), w.Token, event)
}

// logCommitment maps the form to domain input and creates the commitment
// once per idempotency key.
func (s *Server) logCommitment(c echo.Context, f url.Values, key string, loc *time.Location) (followup.Commitment, error) {
	fields := url.Values{}
	for name, v := range f {
		if pageFields[name] {
			continue
		}
		if !formFields[name] {
			return followup.Commitment{}, followup.Errorf(followup.EINVALID, "", "Unknown field %q.", name)
		}
		fields[name] = v
	}
	if err := localTimes(fields, loc); err != nil {
		return followup.Commitment{}, err
	}
	req, err := requestOfForm(fields)
	if err != nil {
		return followup.Commitment{}, err
	}
	in, err := req.commitment()
	if err != nil {
		return followup.Commitment{}, err
	}
	if err := s.vcardContact(c, req, &in); err != nil {
		return followup.Commitment{}, err
	}
	res, _, err := s.Service.CreateOnce(c.Request().Context(), s.webSession(c).User.ID, key, in)
	return res, err
}

var (
	reLocalTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$`)
	reDate      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// localTimes reads the form's date and time pickers in the user's zone:
// a datetime-local value becomes RFC 3339; a bare date as the deadline is
// the end of that working day, as the same date in words is.
func localTimes(f url.Values, loc *time.Location) error {
	for _, name := range []string{"met_at", "meeting.start", "due"} {
		v := strings.TrimSpace(f.Get(name))
		if !reLocalTime.MatchString(v) {
			continue
		}
		layout := inputTime
		if len(v) > len(inputTime) {
			layout += ":05"
		}
		t, err := time.ParseInLocation(layout, v, loc)
		if err != nil {
			return followup.Errorf(followup.EINVALID, name, "%s %q is not a date and time.", name, truncate(v, 40))
		}
		f.Set(name, t.Format(time.RFC3339))
	}
	if due := strings.TrimSpace(f.Get("due")); reDate.MatchString(due) {
		if strings.TrimSpace(f.Get("due_text")) != "" {
			return followup.Errorf(followup.EINVALID, "due", "Give the deadline in words or as a date, not both.")
		}
		f.Del("due")
		f.Set("due_text", due)
	}
	return nil
}

// stepView is one step of the timeline.
type stepView struct {
	followup.Step
	Draft string
}

// commitmentData is the commitment page.
type commitmentData struct {
	C     followup.Commitment
	Steps []stepView
	// Planned are the blocks placed, shown as a confirmation right after
	// the commitment was logged.
	Planned []followup.Step
	// Reading is how the line was read, right after a quick-add.
	Reading *readingView
	Event   *followup.EventMemory
	Back    string
}

// justLogged is how long after logging the commitment page confirms where
// the blocks landed.
const justLogged = 2 * time.Minute

// commitmentPage shows one of the signed-in user's commitments: the link
// in every calendar block. Another user's id is not found.
func (s *Server) commitmentPage(c echo.Context) error {
	return s.showCommitment(c, http.StatusOK, "")
}

func (s *Server) showCommitment(c echo.Context, status int, message string) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	_, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	w := s.webSession(c)
	cm, err := s.Service.Get(c.Request().Context(), w.User.ID, id)
	if err != nil {
		return err
	}
	d := commitmentData{C: cm, Event: w.Session.Event, Back: "/commitments/" + strconv.FormatInt(id, 10)}
	fresh := s.Now().Sub(cm.CreatedAt) < justLogged
	if fresh {
		d.Reading = s.quickReading(c, id)
	}
	for _, st := range cm.Steps {
		if fresh && st.Kind.IsBlock() && st.Status.Pending() {
			d.Planned = append(d.Planned, st)
		}
		v := stepView{Step: st}
		if st.Status.Pending() && st.Kind.IsBlock() {
			v.Draft = followup.Draft(cm, st, loc)
		}
		d.Steps = append(d.Steps, v)
	}
	return s.render(c, status, "commitment", view{Title: cm.Contact.Name, Nav: "list", Loc: loc, Error: message, Data: d})
}

// actOnCommitmentPage records contacted, replied, delivered or let go,
// then goes back to the page the button was on.
func (s *Server) actOnCommitmentPage(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	action := c.FormValue("action")
	if action == "" {
		return followup.Errorf(followup.EINVALID, "action", "Choose an action: contacted, replied, delivered or let go.")
	}
	_, err = s.Service.Act(c.Request().Context(), s.webSession(c).User.ID, id, followup.Action(action))
	if followup.ErrorCode(err) == followup.ECONFLICT {
		return s.showCommitment(c, http.StatusConflict, followup.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, localPath(c.FormValue("back"), "/commitments/"+strconv.FormatInt(id, 10)))
}

func (s *Server) deleteCommitmentPage(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	if err := s.Service.Delete(c.Request().Context(), s.webSession(c).User.ID, id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/commitments")
}

// listData is the commitments list with its filters.
type listData struct {
	Status    string
	Starred   bool
	Direction string
	Query     string
	List      []followup.Commitment
	More      bool
	Offset    int
	NextQuery string
}

// listPageSize is how many commitments one list page shows.
const listPageSize = 50

func (s *Server) listPage(c echo.Context) error {
	_, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	d := listData{
		Status: c.QueryParam("status"), Starred: c.QueryParam("starred") != "",
		Direction: c.QueryParam("direction"), Query: strings.TrimSpace(c.QueryParam("q")),
	}
	if d.Direction != "" && d.Direction != string(followup.Mine) && d.Direction != string(followup.Theirs) {
		return followup.Errorf(followup.EINVALID, "direction", "direction must be mine or theirs.")
	}
	if len(d.Query) > 200 {
		return followup.Errorf(followup.EINVALID, "q", "The search is longer than 200 characters.")
	}
	if o := c.QueryParam("offset"); o != "" {
		if d.Offset, err = strconv.Atoi(o); err != nil || d.Offset < 0 {
			return followup.Errorf(followup.EINVALID, "offset", "offset must be a whole number.")
		}
	}
	list, err := s.Service.List(c.Request().Context(), s.webSession(c).User.ID, followup.CommitmentFilter{
		Status: followup.Status(d.Status), Starred: d.Starred, Direction: followup.Direction(d.Direction),
		Search: d.Query, Limit: listPageSize + 1, Offset: d.Offset,
	})
	if err != nil {
		return err
	}
	if len(list) > listPageSize {
		d.More, list = true, list[:listPageSize]
		q := c.QueryParams()
		q.Set("offset", strconv.Itoa(d.Offset+listPageSize))
		d.NextQuery = q.Encode()
	}
	d.List = list
	return s.render(c, http.StatusOK, "list", view{Title: "Commitments", Nav: "list", Loc: loc, Data: d})
}

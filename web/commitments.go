package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// commitmentRequest is a commitment as posted; never bound into domain types.
type commitmentRequest struct {
	Contact struct {
		Name    string `json:"name"`
		Email   string `json:"email"`
		Phone   string `json:"phone"`
		Company string `json:"company"`
		URL     string `json:"url"`
	} `json:"contact"`
	MetAt     string          `json:"met_at"`
	MetWhere  string          `json:"met_where"`
	Promise   string          `json:"promise"`
	Direction string          `json:"direction"`
	Due       string          `json:"due"`
	DueText   string          `json:"due_text"`
	Priority  bool            `json:"priority"`
	Meeting   *meetingRequest `json:"meeting"`
	Notes     string          `json:"notes"`
	// VCard is the contact as a vCard, instead of Contact.
	VCard string `json:"vcard"`
}

type meetingRequest struct {
	Start    string `json:"start"`
	Minutes  int    `json:"minutes"`
	Location string `json:"location"`
}

// commitment maps the request to domain input.
func (r commitmentRequest) commitment() (followup.NewCommitment, error) {
	n := followup.NewCommitment{
		Contact: followup.Contact{
			Name: r.Contact.Name, Email: r.Contact.Email, Phone: r.Contact.Phone,
			Company: r.Contact.Company, URL: r.Contact.URL,
		},
		MetWhere: r.MetWhere, Promise: r.Promise, Direction: followup.Direction(r.Direction),
		DueText: r.DueText, Priority: r.Priority, Notes: r.Notes,
	}
	var met, due optTime
	if err := timeField("met_at", &met, r.MetAt); err != nil {
		return n, err
	}
	if err := timeField("due", &due, r.Due); err != nil {
		return n, err
	}
	n.MetAt, n.Due = met.ptr(), due.ptr()
	if m := r.Meeting; m != nil && (m.Start != "" || m.Minutes != 0 || m.Location != "") {
		var start optTime
		if err := timeField("meeting.start", &start, m.Start); err != nil {
			return n, err
		}
		if !start.set {
			return n, followup.Errorf(followup.EINVALID, "meeting.start", "meeting.start is required for a meeting.")
		}
		n.Meeting = &followup.Meeting{Start: start.t, Minutes: m.Minutes, Location: m.Location}
	}
	return n, nil
}

// formFields are the form names of a commitment, as in the JSON; a form
// with any other is refused, as JSON with an unknown field is.
var formFields = map[string]bool{
	"contact.name": true, "contact.email": true, "contact.phone": true, "contact.company": true, "contact.url": true,
	"met_at": true, "met_where": true, "promise": true, "direction": true, "due": true, "due_text": true,
	"priority": true, "meeting.start": true, "meeting.minutes": true, "meeting.location": true, "notes": true,
	"vcard": true,
}

// formCommitment reads the same names from an HTML form.
func formCommitment(c echo.Context) (commitmentRequest, error) {
	var r commitmentRequest
	f, err := formValues(c, formFields)
	if err != nil {
		return r, err
	}
	return requestOfForm(f)
}

// requestOfForm maps form values named as the API's fields to a request.
func requestOfForm(f url.Values) (commitmentRequest, error) {
	var r commitmentRequest
	r.Contact.Name, r.Contact.Email, r.Contact.Phone = f.Get("contact.name"), f.Get("contact.email"), f.Get("contact.phone")
	r.Contact.Company, r.Contact.URL = f.Get("contact.company"), f.Get("contact.url")
	r.MetAt, r.MetWhere, r.Promise, r.Direction = f.Get("met_at"), f.Get("met_where"), f.Get("promise"), f.Get("direction")
	r.Due, r.DueText, r.Notes, r.VCard = f.Get("due"), f.Get("due_text"), f.Get("notes"), f.Get("vcard")
	switch strings.ToLower(f.Get("priority")) {
	case "", "0", "false", "off", "no":
	case "1", "true", "on", "yes":
		r.Priority = true
	default:
		return r, followup.Errorf(followup.EINVALID, "priority", "priority must be true or false.")
	}
	if f.Get("meeting.start") != "" || f.Get("meeting.minutes") != "" || f.Get("meeting.location") != "" {
		r.Meeting = &meetingRequest{Start: f.Get("meeting.start"), Location: f.Get("meeting.location")}
		if m := f.Get("meeting.minutes"); m != "" {
			n, err := strconv.Atoi(m)
			if err != nil {
				return r, followup.Errorf(followup.EINVALID, "meeting.minutes", "meeting.minutes must be a whole number.")
			}
			r.Meeting.Minutes = n
		}
	}
	return r, nil
}

func (s *Server) createCommitment(c echo.Context) error {
	var req commitmentRequest
	var err error
	if isForm(c) {
		req, err = formCommitment(c)
	} else {
		err = decodeJSON(c, &req)
	}
	if err != nil {
		return err
	}
	in, err := req.commitment()
	if err != nil {
		return err
	}
	if err := s.vcardContact(c, req, &in); err != nil {
		return err
	}
	// An Idempotency-Key makes a retried request answer the commitment the
	// first one created (draft-ietf-httpapi-idempotency-key-header).
	res, replayed, err := s.Service.CreateOnce(c.Request().Context(), userID(c), c.Request().Header.Get("Idempotency-Key"), in)
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	c.Response().Header().Set("Location", "/api/v1/commitments/"+strconv.FormatInt(res.ID, 10))
	return c.JSON(http.StatusCreated, res)
}

// vcardContact reads the contact from the request's vCard, if it sent one
// instead of contact fields.
func (s *Server) vcardContact(c echo.Context, req commitmentRequest, in *followup.NewCommitment) error {
	if req.VCard == "" {
		return nil
	}
	if in.Contact != (followup.Contact{}) {
		return followup.Errorf(followup.EINVALID, "vcard", "Send the contact either as contact or as vcard, not both.")
	}
	var err error
	in.Contact, err = s.Service.ContactFromVCard(c.Request().Context(), []byte(req.VCard))
	return err
}

// commitmentList is GET /api/v1/commitments's answer.
type commitmentList struct {
	Commitments []followup.Commitment `json:"commitments"`
}

func (s *Server) listCommitments(c echo.Context) error {
	f := followup.CommitmentFilter{Status: followup.Status(c.QueryParam("status"))}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &f.Limit}, {"offset", &f.Offset}} {
		if v := c.QueryParam(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return followup.Errorf(followup.EINVALID, p.name, "%s must be a whole number.", p.name)
			}
			*p.dst = n
		}
	}
	list, err := s.Service.List(c.Request().Context(), userID(c), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, commitmentList{Commitments: list})
}

// idParam reads the :id path parameter; an id that cannot exist is not found.
func idParam(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, followup.Errorf(followup.ENOTFOUND, "", "Commitment not found.")
	}
	return id, nil
}

func (s *Server) getCommitment(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	res, err := s.Service.Get(c.Request().Context(), userID(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

type actionRequest struct {
	Action string `json:"action"`
}

func (s *Server) actOnCommitment(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var req actionRequest
	if isForm(c) {
		req.Action = c.FormValue("action")
	} else if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Action == "" {
		return followup.Errorf(followup.EINVALID, "action", "action is required: contacted, replied, delivered or let_go.")
	}
	res, err := s.Service.Act(c.Request().Context(), userID(c), id, followup.Action(req.Action))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (s *Server) deleteCommitment(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	if err := s.Service.Delete(c.Request().Context(), userID(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

package web

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// quickRequest is a commitment as one line, with an optional vCard.
type quickRequest struct {
	Text  string `json:"text"`
	VCard string `json:"vcard"`
}

// quickFormFields are the form names of a quick-add post.
var quickFormFields = map[string]bool{"text": true, "vcard": true}

// createQuick logs a commitment from one line: POST /api/v1/commitments/quick.
func (s *Server) createQuick(c echo.Context) error {
	var req quickRequest
	if isForm(c) {
		f, err := formValues(c, quickFormFields)
		if err != nil {
			return err
		}
		req.Text, req.VCard = f.Get("text"), f.Get("vcard")
	} else if err := decodeJSON(c, &req); err != nil {
		return err
	}
	res, err := s.Service.QuickAdd(c.Request().Context(), userID(c), followup.QuickInput{Text: req.Text, VCard: req.VCard})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/commitments/"+strconv.FormatInt(res.ID, 10))
	return c.JSON(http.StatusCreated, res)
}

// vcardTypes are the media types of a vCard sent as the body itself
// (RFC 6350 §10.1; text/x-vcard and text/directory from older phones).
var vcardTypes = map[string]bool{"text/vcard": true, "text/x-vcard": true, "text/directory": true}

// vcardRequest is a pasted vCard in a JSON body.
type vcardRequest struct {
	VCard string `json:"vcard"`
}

// parseContact answers the contact of a vCard: POST /api/v1/contacts/parse
// with the card as a text/vcard body, as {"vcard": "…"}, or uploaded as
// the form field "vcard".
func (s *Server) parseContact(c echo.Context) error {
	card, err := vcardBody(c)
	if err != nil {
		return err
	}
	contact, err := s.Service.ContactFromVCard(c.Request().Context(), card)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, contact)
}

// vcardBody reads the vCard from a request in any of parseContact's forms.
func vcardBody(c echo.Context) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	switch {
	case vcardTypes[mt]:
		return readBody(c.Request().Body)
	case mt == "multipart/form-data":
		return uploadedVCard(c)
	case isForm(c):
		f, err := formValues(c, map[string]bool{"vcard": true})
		if err != nil {
			return nil, err
		}
		return []byte(f.Get("vcard")), nil
	}
	var req vcardRequest
	if err := decodeJSON(c, &req); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.VCard) == "" {
		return nil, followup.Errorf(followup.EINVALID, "vcard", "vcard is required: the text of a vCard, BEGIN:VCARD to END:VCARD.")
	}
	return []byte(req.VCard), nil
}

// uploadedVCard reads the file (or text) field "vcard" of a multipart form.
func uploadedVCard(c echo.Context) ([]byte, error) {
	fh, err := c.FormFile("vcard")
	if err != nil {
		if tooLarge(err) {
			return nil, followup.Errorf(followup.ETOOLARGE, "", "The request body is larger than 1 MiB.")
		}
		if v := c.FormValue("vcard"); v != "" {
			return []byte(v), nil
		}
		return nil, followup.Errorf(followup.EINVALID, "vcard", "Upload the vCard as the form field \"vcard\".")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, followup.Errorf(followup.EINVALID, "vcard", "The uploaded vCard could not be read.")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, followup.MaxVCardLen+1))
	if err != nil {
		return nil, followup.Errorf(followup.EINVALID, "vcard", "The uploaded vCard could not be read.")
	}
	return data, nil
}

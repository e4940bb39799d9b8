package web

import (
	"io"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// The log form's vCard fields: a file to upload (vcardFile), or the card
// pasted as text ("vcard"), and the "Read card" button (readCard) that
// fills the contact fields from it without logging.
const (
	vcardFile = "vcard_file"
	readCard  = "read_card"
)

// cardOfForm reads the contact of the vCard the log form carries, an
// uploaded file first, else the pasted text; nil when it carries none.
// Errors: EINVALID with field "vcard".
func (s *Server) cardOfForm(c echo.Context, f url.Values) (*followup.Contact, error) {
	data, err := formVCard(c, f)
	if err != nil || len(data) == 0 {
		return nil, err
	}
	contact, err := s.Service.ContactFromVCard(c.Request().Context(), data)
	if err != nil {
		return nil, err
	}
	return &contact, nil
}

// formVCard returns the uploaded card's bytes, else the pasted card's.
func formVCard(c echo.Context, f url.Values) ([]byte, error) {
	fh, err := c.FormFile(vcardFile)
	if err != nil || fh.Size == 0 {
		return []byte(strings.TrimSpace(f.Get("vcard"))), nil
	}
	file, err := fh.Open()
	if err != nil {
		return nil, followup.Errorf(followup.EINVALID, "vcard", "The uploaded card could not be read.")
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, followup.MaxVCardLen+1))
	if err != nil {
		return nil, followup.Errorf(followup.EINVALID, "vcard", "The uploaded card could not be read.")
	}
	return data, nil
}

// fillContact puts the card's contact into the form's contact fields:
// over what they hold when the user asked to read the card, else only
// into the empty ones (what the user typed wins). The card is then used
// up: the form no longer carries it.
func fillContact(f url.Values, card followup.Contact, overwrite bool) {
	for _, fl := range []struct{ name, value string }{
		{"contact.name", card.Name}, {"contact.email", card.Email}, {"contact.phone", card.Phone},
		{"contact.company", card.Company}, {"contact.url", card.URL},
	} {
		if fl.value != "" && (overwrite || strings.TrimSpace(f.Get(fl.name)) == "") {
			f.Set(fl.name, fl.value)
		}
	}
	f.Del("vcard")
}

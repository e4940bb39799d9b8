// Package vcard reads the contact of a vCard 3.0 (RFC 2426) or 4.0
// (RFC 6350), such as a phone shares after scanning a business card. It is
// the only importer of github.com/emersion/go-vcard.
package vcard

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	govcard "github.com/emersion/go-vcard"

	"github.com/followup/followup"
)

// field is the input field errors name.
const field = "vcard"

// Decoder implements followup.CardDecoder.
type Decoder struct{}

var _ followup.CardDecoder = Decoder{}

// DecodeContact reads the first card of data: the name from FN, else from
// N; the preferred EMAIL, TEL and URL; the organisation's name, the first
// component of ORG. Errors are EINVALID naming the field "vcard".
func (Decoder) DecodeContact(data []byte) (followup.Contact, error) {
	if len(data) > followup.MaxVCardLen {
		return followup.Contact{}, invalid("The vCard is larger than %d KiB.", followup.MaxVCardLen>>10)
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return followup.Contact{}, invalid("The vCard is not UTF-8 text.")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return followup.Contact{}, invalid("The vCard is empty.")
	}
	card, err := govcard.NewDecoder(bytes.NewReader(data)).Decode()
	switch {
	case errors.Is(err, io.EOF):
		return followup.Contact{}, invalid("No vCard found: the text must start with BEGIN:VCARD.")
	case err != nil:
		return followup.Contact{}, invalid("The vCard is malformed (%s).", strings.TrimPrefix(err.Error(), "vcard: "))
	}
	if err := checkVersion(card); err != nil {
		return followup.Contact{}, err
	}
	c := followup.Contact{
		Name:    name(card),
		Email:   strings.TrimSpace(strings.TrimPrefix(card.PreferredValue(govcard.FieldEmail), "mailto:")),
		Phone:   phone(card.PreferredValue(govcard.FieldTelephone)),
		Company: strings.TrimSpace(components(card.PreferredValue(govcard.FieldOrganization))[0]),
		URL:     strings.TrimSpace(card.PreferredValue(govcard.FieldURL)),
	}
	if c.Name == "" {
		return followup.Contact{}, invalid("The vCard has no name (FN or N).")
	}
	return c, nil
}

// invalid is the error for a vCard that cannot be used.
func invalid(format string, args ...any) error {
	return followup.Errorf(followup.EINVALID, field, format, args...)
}

// checkVersion accepts vCard 3.0 and 4.0. A 2.1 card may carry
// QUOTED-PRINTABLE values that this package does not decode; RFC 6350 §6.7.9
// makes VERSION required.
func checkVersion(card govcard.Card) error {
	switch v := strings.TrimSpace(card.Value(govcard.FieldVersion)); v {
	case "3.0", "4.0":
		return nil
	case "":
		return invalid("The vCard has no VERSION; vCard 3.0 and 4.0 are understood.")
	default:
		if len(v) > 10 {
			v = v[:10] + "…"
		}
		return invalid("vCard version %q is not understood; export the card as vCard 3.0 or 4.0.", v)
	}
}

// name returns FN, or the name built from N (RFC 6350 §6.2.2: family;
// given; additional; prefixes; suffixes) in the order people write it.
func name(card govcard.Card) string {
	if fn := oneLine(card.PreferredValue(govcard.FieldFormattedName)); fn != "" {
		return fn
	}
	f := card.Preferred(govcard.FieldName)
	if f == nil {
		return ""
	}
	n := append(components(f.Value), "", "", "", "", "")
	var parts []string
	for _, p := range []string{n[3], n[1], n[2], n[0], n[4]} {
		if p = oneLine(strings.ReplaceAll(p, ",", " ")); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

// components splits a structured value at the semicolons that are not
// escaped (RFC 6350 §3.4), and unescapes "\;". It returns at least one
// component.
func components(v string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v) && v[i+1] == ';':
			b.WriteByte(';')
			i++
		case v[i] == ';':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(v[i])
		}
	}
	return append(out, b.String())
}

// phone returns a telephone number without a "tel:" URI scheme (vCard 4.0
// writes TEL;VALUE=uri:tel:+1-555-0100).
func phone(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 4 && strings.EqualFold(v[:4], "tel:") {
		v = v[4:]
	}
	if i := strings.IndexByte(v, ';'); i >= 0 { // tel: URI parameters (RFC 3966 §3)
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// oneLine joins the lines of a value with spaces and trims it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

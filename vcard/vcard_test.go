package vcard_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/vcard"
)

// crlf writes a card with the CRLF line ends of RFC 6350 §3.2.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

func TestDecodeContact(t *testing.T) {
	for _, tc := range []struct {
		name string
		card string
		want followup.Contact
	}{
		{"iPhone 3.0", crlf(
			"BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//iPhone OS 17.0//EN",
			"N:Doe;Jane;;;", "FN:Jane Doe", "ORG:Acme Inc.;Sales;",
			"EMAIL;type=INTERNET;type=WORK;type=pref:jane@acme.example",
			"TEL;type=CELL;type=VOICE;type=pref:+1 (555) 010-0123",
			"item1.URL;type=pref:https://acme.example/jane", "item1.X-ABLabel:_$!<HomePage>!$_",
			"END:VCARD"),
			followup.Contact{Name: "Jane Doe", Email: "jane@acme.example", Phone: "+1 (555) 010-0123", Company: "Acme Inc.", URL: "https://acme.example/jane"}},
		{"4.0 with tel URI and PREF", crlf(
			"BEGIN:VCARD", "VERSION:4.0", "FN:Dr. Sam Lee", "N:Lee;Sam;;Dr.;",
			"ORG:Globex", "EMAIL;TYPE=home:sam@home.example", "EMAIL;PREF=1;TYPE=work:sam@globex.example",
			"TEL;VALUE=uri;TYPE=\"voice,cell\":tel:+49-30-1234567;ext=12",
			"URL:https://globex.example", "END:VCARD"),
			followup.Contact{Name: "Dr. Sam Lee", Email: "sam@globex.example", Phone: "+49-30-1234567", Company: "Globex", URL: "https://globex.example"}},
		{"name from N only", crlf(
			"BEGIN:VCARD", "VERSION:3.0", "N:García Márquez;Ana;María;Ms.;PhD", "END:VCARD"),
			followup.Contact{Name: "Ms. Ana María García Márquez PhD"}},
		{"escaped comma and semicolon", crlf(
			"BEGIN:VCARD", "VERSION:4.0", `FN:Bob\, the builder`, `ORG:Smith\; Sons;Works`, "END:VCARD"),
			followup.Contact{Name: "Bob, the builder", Company: "Smith; Sons"}},
		{"folded line and LF ends", "BEGIN:VCARD\nVERSION:3.0\nFN:Maximilian\n  Mustermann\nEMAIL:max@example.com\nEND:VCARD\n",
			followup.Contact{Name: "Maximilian Mustermann", Email: "max@example.com"}},
		{"lowercase keys and group", crlf(
			"begin:vcard", "version:3.0", "fn:Li Wei", "card1.email:li@example.cn", "end:vcard"),
			followup.Contact{Name: "Li Wei", Email: "li@example.cn"}},
		{"two cards: the first", crlf(
			"BEGIN:VCARD", "VERSION:3.0", "FN:First One", "END:VCARD",
			"BEGIN:VCARD", "VERSION:3.0", "FN:Second One", "END:VCARD"),
			followup.Contact{Name: "First One"}},
		{"mailto email", crlf("BEGIN:VCARD", "VERSION:4.0", "FN:Kim", "EMAIL:mailto:kim@example.org", "END:VCARD"),
			followup.Contact{Name: "Kim", Email: "kim@example.org"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := vcard.Decoder{}.DecodeContact([]byte(tc.card))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("contact (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeContactRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, card, msg string
	}{
		{"empty", "", "empty"},
		{"blank", " \r\n ", "empty"},
		{"not a vCard", "Jane Doe, jane@example.com", "BEGIN:VCARD"},
		{"iCalendar", crlf("BEGIN:VCALENDAR", "VERSION:2.0", "END:VCALENDAR"), "malformed"},
		{"no END", crlf("BEGIN:VCARD", "VERSION:3.0", "FN:Jane"), "malformed"},
		{"no version", crlf("BEGIN:VCARD", "FN:Jane", "END:VCARD"), "VERSION"},
		{"version 2.1", crlf("BEGIN:VCARD", "VERSION:2.1", "FN;ENCODING=QUOTED-PRINTABLE:J=C3=A9r=C3=B4me", "END:VCARD"), "2.1"},
		{"no name", crlf("BEGIN:VCARD", "VERSION:4.0", "EMAIL:x@example.com", "END:VCARD"), "no name"},
		{"blank name", crlf("BEGIN:VCARD", "VERSION:4.0", "FN: ", "N:;;;;", "END:VCARD"), "no name"},
		{"invalid UTF-8", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:J\xffne\r\nEND:VCARD\r\n", "UTF-8"},
		{"NUL", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:J\x00ne\r\nEND:VCARD\r\n", "UTF-8"},
		{"too large", crlf("BEGIN:VCARD", "VERSION:3.0", "FN:Jane", "NOTE:"+strings.Repeat("x", followup.MaxVCardLen), "END:VCARD"), "larger"},
		{"bad quoted param", crlf("BEGIN:VCARD", `VERSION;X="\`, "FN:Jane", "END:VCARD"), "VERSION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vcard.Decoder{}.DecodeContact([]byte(tc.card))
			if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != "vcard" {
				t.Fatalf("error %v (code %q, field %q), want invalid naming vcard", err, followup.ErrorCode(err), followup.ErrorField(err))
			}
			if !strings.Contains(followup.ErrorMessage(err), tc.msg) {
				t.Errorf("message %q does not say %q", followup.ErrorMessage(err), tc.msg)
			}
		})
	}
}

// FuzzDecodeContact: any input gives a contact with a name or an EINVALID
// error naming vcard, never a panic.
func FuzzDecodeContact(f *testing.F) {
	for _, s := range []string{
		crlf("BEGIN:VCARD", "VERSION:3.0", "N:Doe;Jane;;;", "FN:Jane Doe", "ORG:Acme;Sales", "EMAIL;type=pref:jane@acme.example", "END:VCARD"),
		crlf("BEGIN:VCARD", "VERSION:4.0", "TEL;VALUE=uri:tel:+1-555-0100", "N:Lee;Sam", "END:VCARD"),
		"BEGIN:VCARD\nVERSION:3.0\nFN:a\n b\nEND:VCARD",
		"BEGIN:VCARD\r\nX;A=\"\\",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := vcard.Decoder{}.DecodeContact(data)
		if err != nil {
			if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != "vcard" {
				t.Fatalf("error %v is not invalid naming vcard", err)
			}
			return
		}
		if c.Name == "" {
			t.Fatal("a contact without a name")
		}
	})
}

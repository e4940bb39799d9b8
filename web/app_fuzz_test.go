package web

import (
	"net/url"
	"testing"
	"time"

	"github.com/followup/followup"
)

// FuzzLogForm runs a posted log form through the path of POST
// /commitments up to the service: the date pickers read in the user's
// zone (localTimes), requestOfForm, .commitment(), then Validate. It never
// panics, and every refusal is EINVALID naming a field or with a message.
func FuzzLogForm(f *testing.F) {
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("contact.name=Jane&promise=Deck&due=2026-11-27&met_at=2026-11-23T14:30")
	f.Add("contact.name=Jane&promise=Deck&meeting.start=2026-11-25T10:00:00&meeting.minutes=30")
	f.Add("contact.name=Jane&promise=Deck&due=2026-11-27T17:00&due_text=friday")
	f.Add("met_at=2026-03-08T02:30&contact.name=Gap&promise=DST")
	f.Fuzz(func(t *testing.T, body string) {
		fields, err := url.ParseQuery(body)
		if err != nil {
			return // the form parser refuses it before this path
		}
		for name := range fields {
			if !formFields[name] {
				return // logCommitment refuses unknown fields first
			}
		}
		err = localTimes(fields, loc)
		var n followup.NewCommitment
		if err == nil {
			var req commitmentRequest
			if req, err = requestOfForm(fields); err == nil {
				if n, err = req.commitment(); err == nil {
					err = n.Validate(now)
				}
			}
		}
		if err == nil {
			if n.Contact.Name == "" || n.Promise == "" {
				t.Fatalf("accepted without name or promise: %q", body)
			}
			return
		}
		if code := followup.ErrorCode(err); code != followup.EINVALID {
			t.Fatalf("%q: code %s (%v)", body, code, err)
		}
		if followup.ErrorMessage(err) == "" {
			t.Fatalf("%q: no message", body)
		}
	})
}

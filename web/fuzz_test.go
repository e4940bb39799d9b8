package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// FuzzDecodeCommitment runs a posted body through the path of POST
// /api/v1/commitments up to the service: decodeJSONReader into
// commitmentRequest, .commitment(), then NewCommitment.Validate. It never
// panics; every refusal is EINVALID (or ETOOLARGE) with a message; what is
// accepted is valid UTF-8 with the required fields, and decodes the same
// again after a round trip. Seeds are in testdata/fuzz/FuzzDecodeCommitment.
func FuzzDecodeCommitment(f *testing.F) {
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	f.Add([]byte(`{"contact":{"name":"Jane"},"promise":"Send the deck","due_text":"by Friday"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req commitmentRequest
		err := decodeJSONReader(bytes.NewReader(body), &req)
		var n followup.NewCommitment
		if err == nil {
			n, err = req.commitment()
		}
		if err == nil {
			err = n.Validate(now)
		}
		if err != nil {
			var fe *followup.Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *followup.Error", err, err)
			}
			if c := followup.ErrorCode(err); c != followup.EINVALID && c != followup.ETOOLARGE {
				t.Fatalf("error code %q, want invalid or too_large: %v", c, err)
			}
			if followup.ErrorMessage(err) == "" {
				t.Fatalf("error without a message: %#v", err)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted a body that is not UTF-8: %q", body)
		}
		for field, v := range map[string]string{"contact.name": n.Contact.Name, "promise": n.Promise} {
			if v == "" || v != strings.TrimSpace(v) || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				t.Fatalf("accepted %s %q", field, v)
			}
		}
		if n.MetAt == nil || n.MetAt.After(now.Add(24*time.Hour)) || n.MetAt.Before(now.AddDate(-1, 0, 0)) {
			t.Fatalf("accepted met_at %v", n.MetAt)
		}
		if n.Direction != followup.Mine && n.Direction != followup.Theirs {
			t.Fatalf("accepted direction %q", n.Direction)
		}
		if n.Due != nil && !n.Due.After(*n.MetAt) {
			t.Fatalf("accepted due %v not after met_at %v", n.Due, n.MetAt)
		}
		if m := n.Meeting; m != nil && (m.Start.IsZero() || m.Minutes < 5 || m.Minutes > 600) {
			t.Fatalf("accepted meeting %+v", m)
		}
		// What was accepted decodes the same after a round trip.
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var req2 commitmentRequest
		if err := decodeJSONReader(bytes.NewReader(again), &req2); err != nil {
			t.Fatalf("re-encoded request %s fails to decode: %v", again, err)
		}
		if diff := cmp.Diff(req, req2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

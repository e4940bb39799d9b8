package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/vcard"
)

// TestQuickAdd logs lines in the user's zone just before midnight: "by
// tomorrow" at 23:50 in Berlin (22:50 UTC) is the next local day.
func TestQuickAdd(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 26, 22, 50, 0, 0, time.UTC))
	u := h.user("quick@example.com", "Europe/Berlin")
	berlin, _ := time.LoadLocation("Europe/Berlin")

	read, err := h.svc.ReadQuick(h.ctx, u.ID, followup.QuickInput{Text: "Jonas (Zalando): send the offer by tomorrow"})
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := h.svc.List(h.ctx, u.ID, followup.CommitmentFilter{}); len(list) != 0 {
		t.Fatalf("reading a line stored %d commitments", len(list))
	}
	res, err := h.svc.QuickAdd(h.ctx, u.ID, followup.QuickInput{Text: "Jonas (Zalando): send the offer by tomorrow"})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 27, 17, 0, 0, 0, berlin)
	if !res.Due.Equal(want) || res.DueText != "by tomorrow" || res.Contact.Company != "Zalando" || res.ID == 0 || len(res.Steps) == 0 {
		t.Errorf("logged %+v, want due %v", res.Commitment, want)
	}
	if len(res.Reading.Parts) != len(read.Parts) || !res.Reading.Due.Equal(want) {
		t.Errorf("reading %+v differs from the preview %+v", res.Reading, read)
	}
	stored, err := h.svc.Get(h.ctx, u.ID, res.ID)
	if err != nil || stored.Promise != "Send the offer" || !stored.Due.Equal(want) {
		t.Errorf("stored %+v, %v", stored, err)
	}
}

// TestQuickAddErrors: whatever the line is read into, a refusal names the
// line; a vCard's refusal names the card.
func TestQuickAddErrors(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 26, 22, 50, 0, 0, time.UTC))
	u := h.user("quickerr@example.com", "Europe/Berlin")
	card := "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Sam Lee\r\nEMAIL:sam@globex.example\r\nEND:VCARD\r\n"
	for _, tc := range []struct {
		name  string
		cards bool
		in    followup.QuickInput
		field string
		says  string
	}{
		{"name too long", true, followup.QuickInput{Text: strings.Repeat("N", 201) + " — send the deck"}, "text", "contact.name is longer"},
		{"bad email", true, followup.QuickInput{Text: "Jane <jane@@example.com> — send"}, "text", "name"},
		{"no vCards wired", false, followup.QuickInput{Text: "send the deck", VCard: card}, "vcard", "not available"},
		{"bad card", true, followup.QuickInput{Text: "send the deck", VCard: "BEGIN:VCARD"}, "vcard", "malformed"},
		{"card email invalid", true, followup.QuickInput{Text: "send the deck", VCard: strings.Replace(card, "sam@globex.example", "not an email", 1)}, "text", "contact.email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.svc.Cards = nil
			if tc.cards {
				h.svc.Cards = vcard.Decoder{}
			}
			_, err := h.svc.QuickAdd(h.ctx, u.ID, tc.in)
			if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != tc.field || !strings.Contains(followup.ErrorMessage(err), tc.says) {
				t.Errorf("error %v (field %q), want invalid naming %s and saying %q", err, followup.ErrorField(err), tc.field, tc.says)
			}
		})
	}
	if list, _ := h.svc.List(h.ctx, u.ID, followup.CommitmentFilter{}); len(list) != 0 {
		t.Errorf("refused lines stored %d commitments", len(list))
	}
}

// TestQuickAddOnce: the same line sent twice with one key logs one
// commitment; another line with that key is a conflict; a refused line
// names the line, a key too long names the key.
func TestQuickAddOnce(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC))
	u := h.user("quickonce@example.com", "Europe/Berlin")
	line := followup.QuickInput{Text: "Jane Doe (Acme) — send pricing deck by Friday"}
	first, replayed, err := h.svc.QuickAddOnce(h.ctx, u.ID, "k1", line)
	if err != nil || replayed || first.ID == 0 || len(first.Reading.Parts) == 0 {
		t.Fatalf("first: %+v replayed %v, %v", first, replayed, err)
	}
	again, replayed, err := h.svc.QuickAddOnce(h.ctx, u.ID, "k1", line)
	if err != nil || !replayed || again.ID != first.ID {
		t.Errorf("repeat: id %d replayed %v, %v; want id %d replayed", again.ID, replayed, err, first.ID)
	}
	_, _, err = h.svc.QuickAddOnce(h.ctx, u.ID, "k1", followup.QuickInput{Text: "Bob: send the intro"})
	if followup.ErrorCode(err) != followup.ECONFLICT {
		t.Errorf("another line with the key: %v, want a conflict", err)
	}
	_, _, err = h.svc.QuickAddOnce(h.ctx, u.ID, "k2", followup.QuickInput{Text: "   "})
	if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != "text" {
		t.Errorf("empty line: %v (field %q), want invalid text", err, followup.ErrorField(err))
	}
	_, _, err = h.svc.QuickAddOnce(h.ctx, u.ID, strings.Repeat("k", 201), line)
	if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != "idempotency_key" {
		t.Errorf("long key: %v (field %q), want invalid idempotency_key", err, followup.ErrorField(err))
	}
	if list, _ := h.svc.List(h.ctx, u.ID, followup.CommitmentFilter{}); len(list) != 1 {
		t.Errorf("stored %d commitments, want 1", len(list))
	}
}

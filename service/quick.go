package service

import (
	"context"

	"github.com/followup/followup"
	"github.com/followup/followup/quickadd"
)

// QuickAdd logs a commitment written as one line ("Jane Doe (Acme) — send
// pricing deck by Friday * met at SaaStr"), read in the user's zone, with
// an optional vCard that supplies the contact: the card's name stays, a
// company, email, phone or URL in the line wins, and the card fills the
// rest. It answers the stored commitment and how the line was read.
// Errors: EINVALID with field "text" naming the part that was not
// understood, or field "vcard" for a card that cannot be used.
func (s *Service) QuickAdd(ctx context.Context, userID int64, in followup.QuickInput) (followup.QuickResult, error) {
	reading, err := s.ReadQuick(ctx, userID, in)
	if err != nil {
		return followup.QuickResult{}, err
	}
	c, err := s.Create(ctx, userID, reading.Commitment)
	if err != nil {
		return followup.QuickResult{}, asQuickError(err)
	}
	return followup.QuickResult{Commitment: c, Reading: reading}, nil
}

// QuickAddOnce logs a quick-add line as QuickAdd does, once per
// idempotency key as CreateOnce does: a repeat of the same line with the
// same key answers the commitment the first one logged (replayed true).
// Errors as QuickAdd's, EINVALID with field "idempotency_key" for a key
// that is too long, and ECONFLICT for a key already used for another
// commitment.
func (s *Service) QuickAddOnce(ctx context.Context, userID int64, key string, in followup.QuickInput) (res followup.QuickResult, replayed bool, err error) {
	reading, err := s.ReadQuick(ctx, userID, in)
	if err != nil {
		return res, false, err
	}
	c, replayed, err := s.CreateOnce(ctx, userID, key, reading.Commitment)
	if err != nil {
		return res, false, asQuickError(err)
	}
	return followup.QuickResult{Commitment: c, Reading: reading}, replayed, nil
}

// ReadQuick reads a quick-add line as QuickAdd does, without storing
// anything: for a preview. Errors as QuickAdd's.
func (s *Service) ReadQuick(ctx context.Context, userID int64, in followup.QuickInput) (followup.QuickReading, error) {
	var card followup.Contact
	if in.VCard != "" {
		var err error
		if card, err = s.ContactFromVCard(ctx, []byte(in.VCard)); err != nil {
			return followup.QuickReading{}, err
		}
	}
	st, err := s.Store.Settings(ctx, userID)
	if err != nil {
		return followup.QuickReading{}, err
	}
	loc, err := st.Location()
	if err != nil {
		return followup.QuickReading{}, err
	}
	reading, err := quickadd.Parse(in.Text, quickadd.Context{
		Now: s.now(), Loc: loc, EndOfDay: st.WorkHours.End, ParseDue: s.ParseDue, Known: card,
	})
	if err != nil {
		return followup.QuickReading{}, err
	}
	fillFromCard(&reading, card)
	return reading, nil
}

// fillFromCard gives the reading's contact the card's fields that the line
// left empty, each listed as a part from the vCard.
func fillFromCard(r *followup.QuickReading, card followup.Contact) {
	c := &r.Commitment.Contact
	for _, f := range []struct {
		field    string
		dst      *string
		fromCard string
	}{
		{"contact.name", &c.Name, card.Name},
		{"contact.email", &c.Email, card.Email},
		{"contact.phone", &c.Phone, card.Phone},
		{"contact.company", &c.Company, card.Company},
		{"contact.url", &c.URL, card.URL},
	} {
		if *f.dst == "" && f.fromCard != "" {
			*f.dst = f.fromCard
			r.Parts = append(r.Parts, followup.QuickPart{Field: f.field, Value: f.fromCard, Source: followup.FromVCard})
		}
	}
}

// asQuickError names the line in an invalid-input error about one of the
// fields it was read into: the line is the only field the caller sent.
func asQuickError(err error) error {
	if followup.ErrorCode(err) != followup.EINVALID {
		return err
	}
	switch followup.ErrorField(err) {
	case quickadd.Field, "vcard", "idempotency_key":
		return err
	}
	return followup.Errorf(followup.EINVALID, quickadd.Field, "%s", followup.ErrorMessage(err))
}

// ContactFromVCard reads the contact of a vCard 3.0 or 4.0. Errors:
// EINVALID with field "vcard".
func (s *Service) ContactFromVCard(_ context.Context, data []byte) (followup.Contact, error) {
	if s.Cards == nil {
		return followup.Contact{}, followup.Errorf(followup.EINVALID, "vcard", "Contacts from vCards are not available here; send the contact's fields.")
	}
	return s.Cards.DecodeContact(data)
}

package followup

import (
	"time"
)

// MaxQuickLen is the longest quick-add line accepted, in characters.
const MaxQuickLen = 1000

// MaxVCardLen is the largest vCard accepted, in bytes: a business card is a
// few hundred bytes, but a phone may inline a contact photo of some hundred
// kilobytes (RFC 6350 §6.2.4 PHOTO), which is read past and not kept.
const MaxVCardLen = 1 << 20

// QuickInput is a commitment logged as one line of text ("Jane Doe (Acme)
// — send the pricing deck by Friday * met at SaaStr"), with an optional
// vCard that supplies the contact.
type QuickInput struct {
	Text string
	// VCard, if set, is a vCard 3.0 or 4.0 whose contact fills what the
	// line does not name; the line may then leave out the name.
	VCard string
}

// QuickPart is one part of a quick-add line as it was read: the field it
// fills, the value, where it came from and, for a part of the line, the
// span it was read from. Start and End count characters (Unicode code
// points) from the start of the line, End exclusive; a part that is not in
// the line has an empty span.
type QuickPart struct {
	Field  string      `json:"field"`
	Value  string      `json:"value"`
	Source QuickSource `json:"source"`
	Text   string      `json:"text"`
	Start  int         `json:"start"`
	End    int         `json:"end"`
}

// QuickSource says where a part of a quick-add reading came from.
type QuickSource string

// Sources of a quick-add part.
const (
	FromLine    QuickSource = "line"    // read from the line
	FromDefault QuickSource = "default" // the line said nothing: the default
	FromVCard   QuickSource = "vcard"   // taken from the vCard sent with the line
)

// QuickReading is how a quick-add line was read, and the commitment it
// becomes before the service stores it.
type QuickReading struct {
	Text  string      `json:"text"`
	Parts []QuickPart `json:"parts"`
	// Due is the deadline the due_text part resolved to, in the user's
	// zone; nil when the line names none (the default deadline applies).
	Due *time.Time `json:"due,omitempty"`
	// Commitment is the input the line becomes.
	Commitment NewCommitment `json:"-"`
}

// Part returns the part that fills field, and whether there is one.
func (r QuickReading) Part(field string) (QuickPart, bool) {
	for _, p := range r.Parts {
		if p.Field == field {
			return p, true
		}
	}
	return QuickPart{}, false
}

// QuickResult is a commitment logged by quick-add: the stored commitment,
// as POST /api/v1/commitments answers it, and how the line was read.
type QuickResult struct {
	Commitment
	Reading QuickReading `json:"reading"`
}

// CardDecoder reads the contact of a vCard (vcard.Decoder implements it).
type CardDecoder interface {
	// DecodeContact reads name (FN, else N), email, phone, company (ORG)
	// and URL from the first card of data. Errors: EINVALID with field
	// "vcard" for anything that is not a usable vCard 3.0 or 4.0.
	DecodeContact(data []byte) (Contact, error)
}

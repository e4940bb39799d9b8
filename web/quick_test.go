package web_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// janeCard is a vCard 3.0 as an iPhone shares it.
const janeCard = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\nFN:Jane Doe\r\nORG:Acme Inc.;Sales;\r\n" +
	"EMAIL;type=INTERNET;type=WORK;type=pref:jane@acme.example\r\nTEL;type=CELL;type=pref:+1 555 010 0123\r\n" +
	"URL:https://acme.example/jane\r\nEND:VCARD\r\n"

// janeContact is janeCard's contact as the API answers it.
var janeContact = contact{Name: "Jane Doe", Email: "jane@acme.example", Phone: "+1 555 010 0123", Company: "Acme Inc.", URL: "https://acme.example/jane"}

// quickAnswer is POST /api/v1/commitments/quick's answer.
type quickAnswer struct {
	commitment
	Reading struct {
		Text  string `json:"text"`
		Parts []struct {
			Field  string `json:"field"`
			Value  string `json:"value"`
			Source string `json:"source"`
			Text   string `json:"text"`
			Start  int    `json:"start"`
			End    int    `json:"end"`
		} `json:"parts"`
		Due *time.Time `json:"due"`
	} `json:"reading"`
}

// part returns "source:value@text" of the reading's part for field.
func (q quickAnswer) part(field string) string {
	for _, p := range q.Reading.Parts {
		if p.Field == field {
			if string([]rune(q.Reading.Text)[p.Start:p.End]) != p.Text {
				return "span does not match text"
			}
			return p.Source + ":" + p.Value + "@" + p.Text
		}
	}
	return ""
}

func TestQuickAdd(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "quick@example.com")
	ny := mustZone("America/New_York")

	var jane quickAnswer
	res := h.mustAPI(t, http.StatusCreated, "POST", "/api/v1/commitments/quick", u.Token,
		map[string]string{"text": "Jane Doe (Acme) — send pricing deck by Friday * met at SaaStr"}, &jane)
	if loc := res.Header.Get("Location"); loc != "/api/v1/commitments/"+strconv.FormatInt(jane.ID, 10) {
		t.Errorf("Location %q", loc)
	}
	got := map[string]any{
		"contact": jane.Contact, "promise": jane.Promise, "direction": jane.Direction, "due": jane.Due.In(ny),
		"due_text": jane.DueText, "priority": jane.Priority, "met_where": jane.MetWhere, "kinds": jane.kinds(),
		"name": jane.part("contact.name"), "company": jane.part("contact.company"), "due part": jane.part("due_text"),
		"star": jane.part("priority"), "met": jane.part("met_where"), "dir": jane.part("direction"),
	}
	want := map[string]any{
		"contact": contact{Name: "Jane Doe", Company: "Acme"}, "promise": "Send pricing deck", "direction": "mine",
		"due": time.Date(2026, 11, 27, 17, 0, 0, 0, ny), "due_text": "by Friday", "priority": true, "met_where": "SaaStr",
		"kinds": map[string]string{"refresher": "planned", "deliver": "planned", "let_go": "planned"},
		"name":  "line:Jane Doe@Jane Doe", "company": "line:Acme@(Acme)", "due part": "line:by Friday@by Friday",
		"star": "line:true@*", "met": "line:SaaStr@met at SaaStr", "dir": "default:mine@",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("quick-add of Jane (-want +got):\n%s", diff)
	}
	// The stored commitment is the one answered.
	var stored commitment
	h.mustAPI(t, http.StatusOK, "GET", "/api/v1/commitments/"+strconv.FormatInt(jane.ID, 10), u.Token, nil, &stored)
	if diff := cmp.Diff(jane.commitment, stored); diff != "" {
		t.Errorf("stored (-answered +stored):\n%s", diff)
	}

	var bob quickAnswer
	h.mustAPI(t, http.StatusCreated, "POST", "/api/v1/commitments/quick", u.Token,
		map[string]string{"text": "Bob: he'll intro me to Sam next week"}, &bob)
	if bob.Direction != "theirs" || bob.Promise != "Intro me to Sam" || bob.kinds()["chase"] == "" || bob.part("direction") != "line:theirs@he'll" {
		t.Errorf("Bob's line read as %+v, parts %+v", bob.commitment, bob.Reading.Parts)
	}

	// A form post, as the web app's one-field form sends it.
	form := url.Values{"text": {"Li Wei, Globex - I'll send the case study tomorrow 3pm li@globex.example"}}
	res = h.send(t, request{Method: "POST", Path: "/api/v1/commitments/quick", Token: u.Token, Body: strings.NewReader(form.Encode()), ContentType: "application/x-www-form-urlencoded"})
	var li quickAnswer
	if err := json.Unmarshal(res.Body, &li); err != nil || res.Status != http.StatusCreated {
		t.Fatalf("form: status %d %s", res.Status, res.Body)
	}
	if want := (contact{Name: "Li Wei", Email: "li@globex.example", Company: "Globex"}); li.Contact != want || !li.Due.Equal(time.Date(2026, 11, 24, 15, 0, 0, 0, ny)) {
		t.Errorf("form line read as %+v due %v", li.Contact, li.Due)
	}
}

func TestQuickAddWithVCard(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "quickcard@example.com")
	var q quickAnswer
	h.mustAPI(t, http.StatusCreated, "POST", "/api/v1/commitments/quick", u.Token,
		map[string]string{"text": "send the pricing deck by Friday", "vcard": janeCard}, &q)
	if q.Contact != janeContact || q.Promise != "Send the pricing deck" {
		t.Errorf("read as %+v", q.commitment)
	}
	if got := q.part("contact.email"); got != "vcard:jane@acme.example@" {
		t.Errorf("email part %q, want it from the vCard", got)
	}
	// "Jane" names the card's Jane Doe; the line's company wins over the card's.
	h.mustAPI(t, http.StatusCreated, "POST", "/api/v1/commitments/quick", u.Token,
		map[string]string{"text": "Jane (Acme Labs): send the deck", "vcard": janeCard}, &q)
	if q.Contact.Name != "Jane Doe" || q.Contact.Company != "Acme Labs" || q.Contact.Email != janeContact.Email {
		t.Errorf("line and card merged as %+v", q.Contact)
	}
}

func TestParseContact(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "parse@example.com")
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	fw, _ := w.CreateFormFile("vcard", "jane.vcf")
	_, _ = fw.Write([]byte(janeCard))
	_ = w.Close()
	jsonBody, _ := json.Marshal(map[string]string{"vcard": janeCard})
	for _, tc := range []struct {
		name, ct string
		body     []byte
	}{
		{"text/vcard", "text/vcard; charset=utf-8", []byte(janeCard)},
		{"text/x-vcard", "text/x-vcard", []byte(janeCard)},
		{"json", "application/json", jsonBody},
		{"upload", w.FormDataContentType(), mp.Bytes()},
		{"pasted in a form", "application/x-www-form-urlencoded", []byte(url.Values{"vcard": {janeCard}}.Encode())},
		{"with a photo", "text/vcard", []byte(strings.Replace(janeCard, "END:VCARD", "PHOTO;ENCODING=b;TYPE=JPEG:"+strings.Repeat("QUFB", 150<<10/4)+"\r\nEND:VCARD", 1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.send(t, request{Method: "POST", Path: "/api/v1/contacts/parse", Token: u.Token, Body: bytes.NewReader(tc.body), ContentType: tc.ct})
			var got contact
			if err := json.Unmarshal(res.Body, &got); err != nil || res.Status != http.StatusOK {
				t.Fatalf("status %d: %s", res.Status, res.Body)
			}
			if diff := cmp.Diff(janeContact, got); diff != "" {
				t.Errorf("contact (-want +got):\n%s", diff)
			}
		})
	}
	// The answer is the contact a commitment takes, and a commitment takes
	// the vCard itself in its place.
	c := h.create(t, u, map[string]any{"vcard": janeCard, "promise": "Send the deck"})
	if c.Contact != janeContact {
		t.Errorf("commitment with a vcard has contact %+v", c.Contact)
	}
}

// TestGarbageVCardBodies sends bad vCards in each form parse takes.
func TestGarbageVCardBodies(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "vcardgarbage@example.com")
	before := h.fingerprint(t, u)
	for _, tc := range []struct {
		name, ct string
		body     string
		status   int
		field    string
	}{
		{"empty text/vcard", "text/vcard", "", 400, "vcard"},
		{"binary text/vcard", "text/vcard", "\x89PNG\r\n\x1a\n\x00\x00", 400, "vcard"},
		{"iCalendar as vCard", "text/vcard", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", 400, "vcard"},
		{"unterminated", "text/vcard", "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Jane\r\n", 400, "vcard"},
		{"version 2.1", "text/vcard", "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Jane\r\nEND:VCARD\r\n", 400, "vcard"},
		{"over 1 MiB", "text/vcard", "BEGIN:VCARD\r\nNOTE:" + strings.Repeat("x", 1<<20) + "\r\nEND:VCARD\r\n", 413, ""},
		{"upload without the field", "multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.vcf\"\r\n\r\nBEGIN:VCARD\r\n--X--\r\n", 400, "vcard"},
		{"broken multipart", "multipart/form-data; boundary=X", "--Y\r\ngarbage", 400, "vcard"},
		{"form unknown field", "application/x-www-form-urlencoded", "card=x", 400, "card"},
		{"form empty", "application/x-www-form-urlencoded", "vcard=", 400, "vcard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.send(t, request{Method: "POST", Path: "/api/v1/contacts/parse", Token: u.Token, Body: strings.NewReader(tc.body), ContentType: tc.ct})
			wantError(t, res, tc.status, tc.field)
		})
	}
	// A commitment with a bad card, or a card and a contact, stores nothing.
	for _, tc := range []struct{ name, body, field string }{
		{"bad card", `{"vcard":"hello","promise":"x"}`, "vcard"},
		{"card and contact", `{"vcard":` + quoteJSON(janeCard) + `,"contact":{"name":"Jane"},"promise":"x"}`, "vcard"},
		{"card number", `{"vcard":5,"promise":"x"}`, "vcard"},
	} {
		t.Run("commitment/"+tc.name, func(t *testing.T) {
			wantError(t, h.send(t, request{Method: "POST", Path: "/api/v1/commitments", Token: u.Token, Body: strings.NewReader(tc.body)}), 400, tc.field)
		})
	}
	if after := h.fingerprint(t, u); after != before {
		t.Errorf("a refused vCard changed the store:\n%s", cmp.Diff(before, after))
	}
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// quickGarbage is what POST /api/v1/commitments/quick must refuse, naming
// the line (or the vCard) and saying which part was not understood.
var quickGarbage = []garbage{
	{"empty object", `{}`, "text"},
	{"null", `null`, "text"},
	{"empty text", `{"text":""}`, "text"},
	{"blank text", `{"text":" \t "}`, "text"},
	{"text number", `{"text":5}`, "text"},
	{"text list", `{"text":["Jane — send"]}`, "text"},
	{"no name", `{"text":"send the deck by Friday"}`, "text"},
	{"name only", `{"text":"Jane Doe"}`, "text"},
	{"no promise", `{"text":"Jane Doe (Acme): * met at SaaStr"}`, "text"},
	{"pronoun for a name", `{"text":"he: send the deck"}`, "text"},
	{"sentence for a name", `{"text":"so I met this really nice person yesterday evening at the bar: send deck"}`, "text"},
	{"only a company", `{"text":"(Acme) — send the deck"}`, "text"},
	{"empty company", `{"text":"Jane () — send the deck"}`, "text"},
	{"two deadlines", `{"text":"Jane — send the deck by Friday and call on Monday"}`, "text"},
	{"two emails", `{"text":"Jane a@example.com — cc b@example.com"}`, "text"},
	{"two places", `{"text":"Jane met at SaaStr — send deck met at Web Summit"}`, "text"},
	{"deadline past", `{"text":"Jane — send the deck by 2026-11-20"}`, "text"},
	{"name too long", `{"text":"` + strings.Repeat("N", 201) + ` — send"}`, "text"},
	{"line too long", `{"text":"Jane — ` + strings.Repeat("x", 1000) + `"}`, "text"},
	{"NUL", `{"text":"Jane — se\u0000nd"}`, "text"},
	{"newline", `{"text":"Jane — send\nBob — call"}`, "text"},
	{"bad vcard", `{"text":"Jane — send","vcard":"BEGIN:VCARD"}`, "vcard"},
	{"vcard number", `{"text":"Jane — send","vcard":1}`, "vcard"},
	{"unknown field", `{"text":"Jane — send","contact":{"name":"Jane"}}`, "contact"},
}

// contactParseGarbage is what POST /api/v1/contacts/parse must refuse as JSON.
var contactParseGarbage = []garbage{
	{"empty object", `{}`, "vcard"},
	{"null", `null`, "vcard"},
	{"empty vcard", `{"vcard":""}`, "vcard"},
	{"vcard number", `{"vcard":5}`, "vcard"},
	{"not a vcard", `{"vcard":"Jane Doe, jane@example.com"}`, "vcard"},
	{"no version", `{"vcard":"BEGIN:VCARD\nFN:Jane\nEND:VCARD"}`, "vcard"},
	{"no name", `{"vcard":"BEGIN:VCARD\nVERSION:4.0\nEMAIL:j@example.com\nEND:VCARD"}`, "vcard"},
	{"unknown field", `{"text":"Jane"}`, "text"},
}

// TestGarbageQuickForms posts malformed forms to quick-add.
func TestGarbageQuickForms(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "quickforms@example.com")
	before := h.fingerprint(t, u)
	for _, tc := range []struct{ name, body, field string }{
		{"no text", "", "text"},
		{"empty text", "text=", "text"},
		{"unknown field", "text=Jane+-+send&contact.name=Jane", "contact.name"},
		{"bad escape", "text=%zz", ""},
		{"no name", "text=send+the+deck", "text"},
		{"bad vcard", "text=send+the+deck&vcard=BEGIN%3AVCARD", "vcard"},
		{"invalid UTF-8", "text=Jane+-+s%FFend", "text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.send(t, request{Method: "POST", Path: "/api/v1/commitments/quick", Token: u.Token, Body: strings.NewReader(tc.body), ContentType: "application/x-www-form-urlencoded"})
			wantError(t, res, http.StatusBadRequest, tc.field)
		})
	}
	if after := h.fingerprint(t, u); after != before {
		t.Errorf("a refused form changed the store:\n%s", cmp.Diff(before, after))
	}
}

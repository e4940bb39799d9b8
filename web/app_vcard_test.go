package web_test

import (
	"bytes"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/followup/followup"
)

// scannedCard is a vCard 3.0 as a phone shares it after scanning a business card.
const scannedCard = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\nFN:Jane Doe\r\nORG:Acme Inc.\r\n" +
	"EMAIL;TYPE=work:jane@acme.example\r\nTEL;TYPE=cell:+1 555 0100\r\nURL:https://acme.example/jane\r\nEND:VCARD\r\n"

// postMultipart sends the form as multipart/form-data, as the log form
// does, with file the content of the field vcard_file (none when empty).
func (b *browser) postMultipart(tb testing.TB, path string, form url.Values, file string) page {
	tb.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	for k, vs := range form {
		for _, v := range vs {
			if err := w.WriteField(k, v); err != nil {
				tb.Fatal(err)
			}
		}
	}
	name := "jane.vcf"
	if file == "" {
		name = "" // a file input left empty sends an empty part without a name
	}
	fw, err := w.CreateFormFile("vcard_file", name)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := fw.Write([]byte(file)); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, b.h.ts.URL+path, &body)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(tb, req)
}

// TestLogFormReadCard: "Read card" with an uploaded or a pasted vCard
// shows the form again with the contact fields filled from it, what else
// was typed kept, and logs nothing; then the form logs with that contact.
func TestLogFormReadCard(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "card@example.com")
	p := b.get(t, "/commitments/new")
	wantContains(t, p, `enctype="multipart/form-data"`, `<label for="vcard-file">`, `name="vcard_file" type="file" accept=".vcf,`,
		`<label for="vcard">`, `name="read_card"`, `formnovalidate`)
	for _, tc := range []struct {
		name, file, pasted string
	}{
		{"uploaded", scannedCard, ""},
		{"pasted", "", scannedCard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := b.logForm(t)
			p := b.postMultipart(t, "/commitments", url.Values{
				"idempotency_key": {key}, "read_card": {"1"}, "vcard": {tc.pasted},
				"contact.name": {"J."}, "promise": {"Send the pricing deck"},
			}, tc.file)
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, "Read the card of Jane Doe",
				`name="contact.name" type="text" value="Jane Doe"`, `name="contact.email" type="email" value="jane@acme.example"`,
				`name="contact.phone" type="tel" value="&#43;1 555 0100"`, `name="contact.company" type="text" value="Acme Inc."`,
				`name="contact.url" type="url" value="https://acme.example/jane"`,
				`name="promise" type="text" value="Send the pricing deck"`, `name="idempotency_key" value="`+key+`"`)
			if !regexp.MustCompile(`name="vcard"[^>]*></textarea>`).MatchString(p.Body) {
				t.Errorf("the card stays in the form after it was read")
			}
			if n := h.countRows(t, "commitments"); n != 0 {
				t.Fatalf("reading a card stored %d commitments", n)
			}
		})
	}
	key := b.logForm(t)
	p = b.postMultipart(t, "/commitments", url.Values{
		"idempotency_key": {key}, "contact.name": {"Jane D."}, "promise": {"Send the pricing deck"},
	}, scannedCard)
	wantStatus(t, p, http.StatusSeeOther)
	list, err := h.svc.List(t.Context(), u.ID, followup.CommitmentFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("stored %d commitments, %v", len(list), err)
	}
	want := followup.Contact{Name: "Jane D.", Email: "jane@acme.example", Phone: "+1 555 0100", Company: "Acme Inc.", URL: "https://acme.example/jane"}
	if list[0].Contact != want {
		t.Errorf("logged with a card: contact %+v, want %+v (the typed name wins)", list[0].Contact, want)
	}
}

// TestLogFormBadCard: a malformed card answers 422 with the form again,
// the pasted text kept and the message beside the card; a read without
// any card says what to do; nothing is stored.
func TestLogFormBadCard(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "badcard@example.com")
	for _, tc := range []struct {
		name         string
		form         url.Values
		file, pasted string
		says         string
	}{
		{"pasted malformed", url.Values{"read_card": {"1"}}, "", "BEGIN:VCARD\r\nFN:<b>Jane</b>\r\n", "vCard"},
		{"uploaded not a card", url.Values{"read_card": {"1"}}, "\x89PNG\r\n\x1a\n", "", "vCard"},
		{"logged with a malformed card", url.Values{"contact.name": {"Jane"}, "promise": {"Deck"}}, "", "END:VCARD", "vCard"},
		{"read without a card", url.Values{"read_card": {"1"}}, "", "", "Choose a card file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := b.logForm(t)
			tc.form.Set("idempotency_key", key)
			tc.form.Set("vcard", tc.pasted)
			p := b.postMultipart(t, "/commitments", tc.form, tc.file)
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, `id="vcard-error" class="field-error">`, `aria-describedby="vcard-error"`, `<details class="card" open>`)
			if tc.pasted != "" {
				wantContains(t, p, ">"+html.EscapeString(tc.pasted)+"</textarea>")
			}
			if msg := between(p.Body, `id="vcard-error" class="field-error">`, "<"); !strings.Contains(msg, tc.says) {
				t.Errorf("message %q, want one saying %q", msg, tc.says)
			}
		})
	}
	if n := h.countRows(t, "commitments"); n != 0 {
		t.Errorf("refused cards stored %d commitments", n)
	}
}

// TestLogFormCardCSRF: a multipart post without the token, or with
// another, answers 403 and logs nothing; a body over 1 MiB answers 413.
func TestLogFormCardCSRF(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "cardcsrf@example.com")
	key := b.logForm(t)
	for _, csrf := range []string{"", "forged"} {
		p := b.postMultipart(t, "/commitments", url.Values{"csrf": {csrf}, "idempotency_key": {key}, "contact.name": {"Jane"}, "promise": {"Deck"}}, scannedCard)
		wantStatus(t, p, http.StatusForbidden)
	}
	big := b.postMultipart(t, "/commitments", url.Values{"idempotency_key": {key}, "contact.name": {"Jane"}, "promise": {"Deck"}},
		scannedCard+"NOTE:"+strings.Repeat("x", 1<<20)+"\r\n")
	wantStatus(t, big, http.StatusRequestEntityTooLarge)
	if n := h.countRows(t, "commitments"); n != 0 {
		t.Errorf("refused posts stored %d commitments", n)
	}
}

// between returns the text of s after the first start, up to end.
func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return html.UnescapeString(v)
}

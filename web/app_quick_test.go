package web_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

var quickKeyField = regexp.MustCompile(`action="/commitments/quick"[^>]*>\s*<input type="hidden" name="csrf" value="[^"]+">\s*<input type="hidden" name="idempotency_key" value="([^"]+)"`)

// quickForm reads a page with the one-line form and returns its idempotency key.
func (b *browser) quickForm(tb testing.TB, path string) string {
	tb.Helper()
	p := b.get(tb, path)
	wantStatus(tb, p, http.StatusOK)
	wantContains(tb, p, `<label for="quick-text">Log in one line</label>`, `id="quick-text" name="text"`)
	m := quickKeyField.FindStringSubmatch(p.Body)
	if m == nil {
		tb.Fatalf("%s has no one-line form with an idempotency key:\n%s", path, p.Body)
	}
	return m[1]
}

// TestQuickFormLogs: the one-line form at the top of the start page logs
// the line; the commitment's page shows how it was read beside the
// planned blocks; sent twice with its key, it logs once.
func TestQuickFormLogs(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "quick@example.com")
	b.quickForm(t, "/commitments/new")
	key := b.quickForm(t, "/")
	line := "Jane Doe (Acme) — send pricing deck by Friday * met at SaaStr"
	p := b.post(t, "/commitments/quick", url.Values{"idempotency_key": {key}, "text": {line}})
	list, err := h.svc.List(t.Context(), u.ID, followup.CommitmentFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("stored %d commitments, %v", len(list), err)
	}
	c := list[0]
	wantRedirect(t, p, "/commitments/"+itoa(c.ID))
	if c.Contact.Name != "Jane Doe" || c.Contact.Company != "Acme" || !c.Priority || c.MetWhere != "SaaStr" ||
		!c.Due.Equal(time.Date(2026, 11, 27, 17, 0, 0, 0, mustZone("America/New_York"))) {
		t.Errorf("logged %+v", c)
	}
	again := b.post(t, "/commitments/quick", url.Values{"idempotency_key": {key}, "text": {line}})
	wantRedirect(t, again, p.Location)
	if n := h.countRows(t, "commitments"); n != 1 {
		t.Errorf("the form sent twice stored %d commitments, want 1", n)
	}

	page := b.get(t, p.Location)
	wantStatus(t, page, http.StatusOK)
	wantContains(t, page, "<strong>Read as:</strong> “"+html.EscapeString(line)+"”",
		"<dt>Name</dt><dd>Jane Doe <span class=\"hint\">from “Jane Doe”</span>",
		"<dt>Company</dt><dd>Acme ", "<dt>Deadline</dt><dd>by Friday ", "<dt>Starred</dt><dd>Yes ",
		"<dt>Where you met</dt><dd>SaaStr ", "<dt>Who promised</dt><dd>I did <span class=\"hint\">(default)</span>",
		"<strong>Logged.</strong>")
	h.clock.Add(10 * time.Minute)
	if later := b.get(t, p.Location); strings.Contains(later.Body, "Read as:") {
		t.Errorf("the reading stays after the moment")
	}
}

// TestQuickFormRefused: an empty or ambiguous line answers 422 with the
// log page, the line kept and the message beside it naming the part not
// understood; nothing is stored.
func TestQuickFormRefused(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "quickbad@example.com")
	for _, tc := range []struct {
		name, line, says string
	}{
		{"empty", "   ", "The line is empty"},
		{"two deadlines", "Jane — send the <b>deck</b> by Friday and call on Monday", "deadline is ambiguous"},
		{"no promise", "Jane (Acme) — by Friday", "promise is missing"},
		{"no name", "send the deck by Friday", "Who this is about"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := b.quickForm(t, "/")
			p := b.post(t, "/commitments/quick", url.Values{"idempotency_key": {key}, "text": {tc.line}})
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, `value="`+html.EscapeString(tc.line)+`"`, `id="quick-text-error"`, `aria-invalid="true"`,
				`name="contact.name"`) // the full form below
			errMsg := regexp.MustCompile(`id="quick-text-error" class="field-error">([^<]*)<`).FindStringSubmatch(p.Body)
			if errMsg == nil || !strings.Contains(html.UnescapeString(errMsg[1]), tc.says) {
				t.Errorf("message %q, want one saying %q", errMsg, tc.says)
			}
		})
	}
	if n := h.countRows(t, "commitments"); n != 0 {
		t.Errorf("refused lines stored %d commitments", n)
	}
	b.quickForm(t, "/")
	p := b.post(t, "/commitments/quick", url.Values{"text": {"Jane — send the deck"}, "notes": {"x"}})
	wantStatus(t, p, http.StatusBadRequest)
}

// TestQuickFormCSRF: a post without the token, or with another, answers
// 403 and logs nothing.
func TestQuickFormCSRF(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "quickcsrf@example.com")
	key := b.quickForm(t, "/")
	for _, csrf := range []string{"-", "", "forged" + strings.Repeat("0", 58)} {
		p := b.post(t, "/commitments/quick", url.Values{"csrf": {csrf}, "idempotency_key": {key}, "text": {"Jane — send the deck"}})
		wantStatus(t, p, http.StatusForbidden)
	}
	signedOut := h.browser(t)
	signedOut.get(t, "/login")
	wantStatus(t, signedOut.post(t, "/commitments/quick", url.Values{"text": {"Jane — send the deck"}}), http.StatusForbidden)
	if n := h.countRows(t, "commitments"); n != 0 {
		t.Errorf("refused posts stored %d commitments", n)
	}
}

// TestQuickReadingOwnOnly: the reading shows only on the page of the
// commitment the line logged, and another user's commitment is not found
// whatever the browser carries.
func TestQuickReadingOwnOnly(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "quickown@example.com")
	key := b.quickForm(t, "/")
	p := b.post(t, "/commitments/quick", url.Values{"idempotency_key": {key}, "text": {"Jane — send the deck"}})
	wantStatus(t, p, http.StatusSeeOther)
	b.logForm(t)
	other := b.post(t, "/commitments", url.Values{"contact.name": {"Bob"}, "promise": {"Intro to Sam"}})
	wantStatus(t, other, http.StatusSeeOther)
	page := b.get(t, other.Location)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.Body, "Read as:") {
		t.Errorf("the page of a commitment from the full form shows another line's reading")
	}

	_, intruder := h.signedIn(t, "intruder@example.com")
	for _, ck := range b.client.Jar.Cookies(mustURL(t, h.ts.URL+p.Location)) {
		if ck.Name == "followup_quick" {
			ck.Path = "/commitments/"
			intruder.client.Jar.SetCookies(mustURL(t, h.ts.URL+"/commitments/"), []*http.Cookie{ck})
		}
	}
	wantStatus(t, intruder.get(t, p.Location), http.StatusNotFound)
}

// TestQuickPreview: the live preview answers how a line would be read
// (200 with its parts) or why it cannot be (422 with the message), stores
// nothing, and refuses a post without the CSRF token (403).
func TestQuickPreview(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "preview@example.com")
	b.quickForm(t, "/")
	p := b.post(t, "/commitments/quick/preview", url.Values{"text": {"Jane Doe (Acme) — send pricing deck by Friday"}})
	wantStatus(t, p, http.StatusOK)
	var ok struct {
		Parts []struct{ Label, Value, Source, Text string }
		Error string
	}
	if err := json.Unmarshal([]byte(p.Body), &ok); err != nil {
		t.Fatalf("%v: %s", err, p.Body)
	}
	got := map[string]string{}
	for _, part := range ok.Parts {
		got[part.Label] = part.Value + " / " + part.Source
	}
	want := map[string]string{
		"Name": "Jane Doe / line", "Company": "Acme / line", "Promise": "Send pricing deck / line",
		"Deadline": "by Friday / line", "Who promised": "I did / default", "Starred": "No / default",
	}
	if diff := cmp.Diff(want, got); diff != "" || ok.Error != "" {
		t.Errorf("preview (-want +got):\n%s%s", diff, ok.Error)
	}
	bad := b.post(t, "/commitments/quick/preview", url.Values{"text": {"Jane — send the deck by Friday and call on Monday"}})
	wantStatus(t, bad, http.StatusUnprocessableEntity)
	if !strings.Contains(bad.Body, "deadline is ambiguous") {
		t.Errorf("refused preview: %s", bad.Body)
	}
	wantStatus(t, b.post(t, "/commitments/quick/preview", url.Values{"csrf": {"-"}, "text": {"Jane — send the deck"}}), http.StatusForbidden)
	if n := h.countRows(t, "commitments"); n != 0 {
		t.Errorf("previews stored %d commitments", n)
	}
}

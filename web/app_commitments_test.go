package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/followup/followup"
)

var keyField = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)

// logForm reads the log form and returns its idempotency key.
func (b *browser) logForm(tb testing.TB) string {
	tb.Helper()
	p := b.get(tb, "/commitments/new")
	wantStatus(tb, p, http.StatusOK)
	m := keyField.FindStringSubmatch(p.Body)
	if m == nil {
		tb.Fatalf("the log form carries no idempotency key:\n%s", p.Body)
	}
	return m[1]
}

// TestLogFormFields: the form names its fields as the API does, each with a label.
func TestLogFormFields(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "fields@example.com")
	p := b.get(t, "/commitments/new")
	wantStatus(t, p, http.StatusOK)
	for _, name := range []string{"contact.name", "contact.email", "contact.phone", "contact.company", "promise", "due_text", "due",
		"met_at", "met_where", "meeting.start", "meeting.minutes", "meeting.location", "notes"} {
		id := strings.NewReplacer(".", "-", "_", "-").Replace(name)
		wantContains(t, p, `name="`+name+`"`, `id="`+id+`"`, `<label for="`+id+`">`)
	}
	wantContains(t, p, `name="direction" value="mine"`, `name="direction" value="theirs"`, `name="priority"`, `type="date"`, `name="event_mode"`)
	inputs := strings.Count(p.Body, "<input") - strings.Count(p.Body, `type="hidden"`)
	if labels := strings.Count(p.Body, "<label"); labels < inputs {
		t.Errorf("%d visible inputs but %d labels", inputs, labels)
	}
}

// TestLogCommitment: a valid post answers 303 to the commitment's page,
// which shows the planned blocks and where they landed, in the user's zone.
func TestLogCommitment(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "log@example.com")
	key := b.logForm(t)
	p := b.post(t, "/commitments", url.Values{
		"idempotency_key": {key}, "contact.name": {"Jane Doe"}, "contact.email": {"jane@example.com"},
		"promise": {"Send the pricing deck"}, "due_text": {"by Friday"}, "priority": {"true"},
		"met_where": {"SaaStr, booth 12"}, "met_at": {"2026-11-23T14:30"},
		"meeting.start": {"2026-11-25T10:00"}, "meeting.minutes": {"30"}, "meeting.location": {"Blue Bottle"},
		"notes": {"possible client"}, "direction": {"mine"},
	})
	list, err := h.svc.List(t.Context(), u.ID, followup.CommitmentFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("stored %d commitments, %v", len(list), err)
	}
	c := list[0]
	wantRedirect(t, p, "/commitments/"+strconv.FormatInt(c.ID, 10))
	ny := mustZone("America/New_York")
	if want := time.Date(2026, 11, 23, 14, 30, 0, 0, ny); !c.MetAt.Equal(want) {
		t.Errorf("met_at %v, want %v (the picker's time in the user's zone)", c.MetAt, want)
	}
	if c.Meeting == nil || !c.Meeting.Start.Equal(time.Date(2026, 11, 25, 10, 0, 0, 0, ny)) {
		t.Errorf("meeting %+v", c.Meeting)
	}
	if want := time.Date(2026, 11, 27, 17, 0, 0, 0, ny); !c.Due.Equal(want) {
		t.Errorf("due %v, want %v", c.Due, want)
	}
	page := b.get(t, p.Location)
	wantStatus(t, page, http.StatusOK)
	wantContains(t, page, "Jane Doe", "Send the pricing deck", "Steps", "Drafted message", `data-copy="draft-`, "Contacted", "Let go", "Delete",
		"<strong>Logged.</strong>", "Thank-you note: ", "Meeting: Wed 25 Nov, 10:00–10:30")
	h.clock.Add(10 * time.Minute)
	if later := b.get(t, p.Location); strings.Contains(later.Body, "<strong>Logged.</strong>") {
		t.Errorf("the confirmation stays after the moment")
	}
	for _, st := range c.Steps {
		if st.Kind.IsBlock() {
			wantContains(t, page, st.Start.In(ny).Format("Mon 2 Jan, 15:04"))
		}
	}
}

// TestLogCommitmentDate: the date picker's bare date is the end of that
// working day; a date and words together are refused.
func TestLogCommitmentDate(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "date@example.com")
	b.logForm(t)
	p := b.post(t, "/commitments", url.Values{"contact.name": {"Ann"}, "promise": {"Intro to Bob"}, "due": {"2026-11-26"}})
	wantStatus(t, p, http.StatusSeeOther)
	list, _ := h.svc.List(t.Context(), u.ID, followup.CommitmentFilter{})
	if want := time.Date(2026, 11, 26, 17, 0, 0, 0, mustZone("America/New_York")); len(list) != 1 || !list[0].Due.Equal(want) {
		t.Fatalf("due %v, want %v", list[0].Due, want)
	}
	b.logForm(t)
	both := b.post(t, "/commitments", url.Values{"contact.name": {"Ann"}, "promise": {"Intro"}, "due": {"2026-11-26"}, "due_text": {"friday"}})
	wantStatus(t, both, http.StatusUnprocessableEntity)
	wantContains(t, both, `id="due-error"`)
}

// TestLogCommitmentInvalid: an invalid post answers 422 with the form
// again, the input kept and the message beside its field; nothing stored.
func TestLogCommitmentInvalid(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "invalid@example.com")
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no name", url.Values{"promise": {"Send the deck"}, "notes": {"kept <b>note</b>"}}, "contact-name"},
		{"no promise", url.Values{"contact.name": {"Jane"}}, "promise"},
		{"bad email", url.Values{"contact.name": {"Jane"}, "promise": {"x"}, "contact.email": {"not an email"}}, "contact-email"},
		{"bad deadline", url.Values{"contact.name": {"Jane"}, "promise": {"x"}, "due_text": {"when pigs fly"}}, "due-text"},
		{"bad meeting minutes", url.Values{"contact.name": {"Jane"}, "promise": {"x"}, "meeting.start": {"2026-11-25T10:00"}, "meeting.minutes": {"lots"}}, "meeting-minutes"},
		{"meeting without start", url.Values{"contact.name": {"Jane"}, "promise": {"x"}, "meeting.location": {"Cafe"}}, "meeting-start"},
		{"met in the future", url.Values{"contact.name": {"Jane"}, "promise": {"x"}, "met_at": {"2027-06-01T10:00"}}, "met-at"},
		{"garbage time", url.Values{"contact.name": {"Jane"}, "promise": {"x"}, "met_at": {"yesterday-ish"}}, "met-at"},
		{"bad direction", url.Values{"contact.name": {"Jane"}, "promise": {"x"}, "direction": {"both"}}, "direction"},
		{"bad priority", url.Values{"contact.name": {"Jane"}, "promise": {"x"}, "priority": {"maybe"}}, "priority"},
		{"unknown field", url.Values{"contact.name": {"Jane"}, "promise": {"x"}, "bogus": {"1"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.logForm(t)
			p := b.post(t, "/commitments", tc.form)
			wantStatus(t, p, http.StatusUnprocessableEntity)
			if tc.field == "direction" || tc.field == "priority" {
				wantContains(t, p, `class="field-error"`)
			} else if tc.field != "" {
				wantContains(t, p, `id="`+tc.field+`-error"`, `aria-invalid="true"`)
			} else {
				wantContains(t, p, `class="error"`)
			}
			for name, v := range tc.form {
				if name != "bogus" && name != "direction" && name != "priority" {
					wantContains(t, p, strings.ReplaceAll(strings.ReplaceAll(v[0], "<", "&lt;"), ">", "&gt;"))
				}
			}
		})
	}
	if n := h.countRows(t, "commitments"); n != 0 {
		t.Fatalf("invalid posts stored %d commitments", n)
	}
}

// TestLogCommitmentCSRF: without the session's token the post is refused
// with 403 and nothing is stored; so is a post without a session.
func TestLogCommitmentCSRF(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "csrf-log@example.com")
	b.logForm(t)
	form := url.Values{"contact.name": {"Jane"}, "promise": {"Send the deck"}}
	for _, csrf := range []string{"-", "", "wrong", strings.Repeat("a", 64)} {
		f := url.Values{"csrf": {csrf}}
		for k, v := range form {
			f[k] = v
		}
		wantStatus(t, b.post(t, "/commitments", f), http.StatusForbidden)
		wantStatus(t, b.post(t, "/commitments/new", f), http.StatusForbidden)
	}
	// Another user's token does not fit this session.
	_, other := h.signedIn(t, "csrf-other@example.com")
	other.get(t, "/commitments/new")
	f := url.Values{"csrf": {other.csrf}}
	for k, v := range form {
		f[k] = v
	}
	wantStatus(t, b.post(t, "/commitments", f), http.StatusForbidden)
	anon := h.browser(t)
	anon.get(t, "/login")
	wantStatus(t, anon.post(t, "/commitments", form), http.StatusForbidden)
	if n := h.countRows(t, "commitments"); n != 0 {
		t.Fatalf("refused posts stored %d commitments", n)
	}
}

// TestLogCommitmentTwice: a double submit of one rendered form creates one
// commitment, and both answers lead to it; a new rendering logs anew.
func TestLogCommitmentTwice(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "twice@example.com")
	key := b.logForm(t)
	form := url.Values{"idempotency_key": {key}, "contact.name": {"Jane"}, "promise": {"Send the deck"}}
	first := b.post(t, "/commitments", form)
	second := b.post(t, "/commitments", form)
	wantStatus(t, first, http.StatusSeeOther)
	wantRedirect(t, second, first.Location)
	if n := h.countRows(t, "commitments"); n != 1 {
		t.Fatalf("a double submit stored %d commitments", n)
	}
	// The same key with other content is refused, naming the reason.
	changed := b.post(t, "/commitments", url.Values{"idempotency_key": {key}, "contact.name": {"Bob"}, "promise": {"Other"}})
	wantStatus(t, changed, http.StatusUnprocessableEntity)
	wantContains(t, changed, "already used", "Bob")
	form.Set("idempotency_key", b.logForm(t))
	wantStatus(t, b.post(t, "/commitments", form), http.StatusSeeOther)
	if n := h.countRows(t, "commitments"); n != 2 {
		t.Fatalf("%d commitments, want 2", n)
	}
}

// TestEventMode: with event mode on, where and when stay filled in for
// the next entry, until it is switched off.
func TestEventMode(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "event@example.com")
	b.logForm(t)
	wantStatus(t, b.post(t, "/commitments", url.Values{"contact.name": {"Ann"}, "promise": {"Deck"}, "met_where": {"SaaStr, booth 12"},
		"met_at": {"2026-11-23T11:00"}, "event_mode": {"on"}}), http.StatusSeeOther)
	p := b.get(t, "/commitments/new")
	wantContains(t, p, `value="SaaStr, booth 12"`, `value="2026-11-23T11:00"`, `name="event_mode" value="on" checked`)
	b.logForm(t)
	wantStatus(t, b.post(t, "/commitments", url.Values{"contact.name": {"Bob"}, "promise": {"Intro"}, "met_where": {"SaaStr, booth 12"},
		"met_at": {"2026-11-23T11:00"}}), http.StatusSeeOther)
	p = b.get(t, "/commitments/new")
	if strings.Contains(p.Body, `value="SaaStr`) || strings.Contains(p.Body, `value="on" checked`) {
		t.Errorf("event mode stayed on after it was switched off")
	}
	// Event mode lives in this session only.
	_, other := h.signedIn(t, "event-other@example.com")
	if strings.Contains(other.get(t, "/commitments/new").Body, `value="SaaStr`) {
		t.Errorf("another user's form shows the event")
	}
}

// TestCommitmentActions: the buttons record what happened and go back;
// another user's commitment is not found and stays as it was.
func TestCommitmentActions(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "act@example.com")
	c := h.create(t, u, validCommitment("", ""))
	path := "/commitments/" + strconv.FormatInt(c.ID, 10)
	b.get(t, path)
	wantRedirect(t, b.post(t, path+"/actions", url.Values{"action": {"contacted"}, "back": {"/agenda"}}), "/agenda")
	got, _ := h.svc.Get(t.Context(), u.ID, c.ID)
	if got.ContactedAt == nil {
		t.Fatalf("contacted not recorded")
	}
	again := b.post(t, path+"/actions", url.Values{"action": {"contacted"}})
	wantStatus(t, again, http.StatusConflict)
	wantContains(t, again, "already marked")
	wantStatus(t, b.post(t, path+"/actions", url.Values{"action": {"dance"}}), http.StatusBadRequest)
	wantStatus(t, b.post(t, path+"/actions", url.Values{}), http.StatusBadRequest)
	wantRedirect(t, b.post(t, path+"/actions", url.Values{"action": {"replied"}, "back": {"https://evil.example/"}}), path)

	_, other := h.signedIn(t, "act-other@example.com")
	other.get(t, "/")
	wantStatus(t, other.post(t, path+"/actions", url.Values{"action": {"let_go"}}), http.StatusNotFound)
	wantStatus(t, other.post(t, path+"/delete", nil), http.StatusNotFound)
	wantStatus(t, b.post(t, path+"/delete", url.Values{"csrf": {"-"}}), http.StatusForbidden)
	wantStatus(t, b.post(t, path+"/actions", url.Values{"action": {"let_go"}, "csrf": {"bad"}}), http.StatusForbidden)
	if got, _ := h.svc.Get(t.Context(), u.ID, c.ID); got.Status != followup.StatusOpen {
		t.Fatalf("refused posts changed the commitment: %s", got.Status)
	}
	wantRedirect(t, b.post(t, path+"/delete", nil), "/commitments")
	wantStatus(t, b.get(t, path), http.StatusNotFound)
}

// TestCommitmentList: filters by status, star and direction, and a search by name.
func TestCommitmentList(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "list@example.com")
	mk := func(name string, starred bool, dir string) commitment {
		return h.create(t, u, map[string]any{"contact": map[string]any{"name": name}, "promise": "Send it", "priority": starred, "direction": dir})
	}
	mk("Ann Archer", true, "mine")
	bob := mk("Bob Baker", false, "theirs")
	mk("Cy 100%_done", false, "mine")
	h.mustAPI(t, http.StatusOK, "POST", "/api/v1/commitments/"+strconv.FormatInt(bob.ID, 10)+"/actions", u.Token, map[string]string{"action": "let_go"}, nil)
	for _, tc := range []struct {
		query     string
		want, not []string
	}{
		{"", []string{"Ann Archer", "Bob Baker", "Cy 100%_done"}, nil},
		{"?status=open", []string{"Ann Archer", "Cy"}, []string{"Bob Baker"}},
		{"?status=let_go", []string{"Bob Baker"}, []string{"Ann Archer"}},
		{"?status=done", nil, []string{"Ann Archer", "Bob Baker"}},
		{"?starred=1", []string{"Ann Archer"}, []string{"Bob Baker", "Cy"}},
		{"?direction=theirs", []string{"Bob Baker"}, []string{"Ann Archer"}},
		{"?q=bak", []string{"Bob Baker"}, []string{"Ann Archer"}},
		{"?q=100%25_", []string{"Cy 100%_done"}, []string{"Ann Archer"}},
		{"?q=%25", []string{"Cy 100%_done"}, []string{"Ann Archer", "Bob Baker"}},
	} {
		p := b.get(t, "/commitments"+tc.query)
		wantStatus(t, p, http.StatusOK)
		for _, s := range tc.want {
			if !strings.Contains(p.Body, s) {
				t.Errorf("%s: lacks %q", tc.query, s)
			}
		}
		for _, s := range tc.not {
			if strings.Contains(p.Body, s) {
				t.Errorf("%s: shows %q", tc.query, s)
			}
		}
	}
	for _, bad := range []string{"?status=bogus", "?direction=both", "?offset=-1", "?offset=x", "?q=" + strings.Repeat("a", 300)} {
		wantStatus(t, b.get(t, "/commitments"+bad), http.StatusBadRequest)
	}
	_, other := h.signedIn(t, "list-other@example.com")
	if p := other.get(t, "/commitments"); strings.Contains(p.Body, "Ann Archer") {
		t.Errorf("another user's list shows Ann")
	}
}

// TestAPIIdempotencyKey: the API answers a repeated Idempotency-Key with
// the commitment the first request created, and refuses the key for
// another commitment.
func TestAPIIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "idem@example.com")
	post := func(key, body string) response {
		return h.send(t, request{Method: "POST", Path: "/api/v1/commitments", Token: u.Token, Body: strings.NewReader(body),
			Header: map[string]string{"Idempotency-Key": key}})
	}
	body := validCommitment("", "")
	first := post("k-1", body)
	second := post("k-1", body)
	if first.Status != http.StatusCreated || second.Status != http.StatusCreated {
		t.Fatalf("statuses %d, %d", first.Status, second.Status)
	}
	if first.Header.Get("Location") != second.Header.Get("Location") || second.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: Location %q vs %q, Idempotent-Replayed %q", first.Header.Get("Location"), second.Header.Get("Location"), second.Header.Get("Idempotent-Replayed"))
	}
	if n := h.storedCommitments(t, u.ID); n != 1 {
		t.Fatalf("%d commitments after a replay", n)
	}
	wantError(t, post("k-1", validCommitment("promise", `"Something else"`)), http.StatusConflict, "idempotency_key")
	wantError(t, post(strings.Repeat("k", 201), body), http.StatusBadRequest, "idempotency_key")
	// Keys are per user.
	v := h.newUser(t, "idem-other@example.com")
	res := h.send(t, request{Method: "POST", Path: "/api/v1/commitments", Token: v.Token, Body: strings.NewReader(body), Header: map[string]string{"Idempotency-Key": "k-1"}})
	if res.Status != http.StatusCreated || h.storedCommitments(t, v.ID) != 1 {
		t.Fatalf("another user's same key: %d", res.Status)
	}
	if post("k-2", body).Status != http.StatusCreated || h.storedCommitments(t, u.ID) != 2 {
		t.Fatalf("a new key did not create")
	}
}

package web_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestCommitmentPage: the link in every block asks a signed-out reader
// to sign in (and comes back), shows nothing of the commitment to them,
// shows it to its owner, and is not found for anyone else.
func TestCommitmentPage(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "page@example.com")
	c := h.create(t, u, validCommitment("", ""))
	path := "/commitments/" + strconv.FormatInt(c.ID, 10)
	r := h.browser(t).get(t, path)
	wantRedirect(t, r, "/login?next=%2Fcommitments%2F"+strconv.FormatInt(c.ID, 10))
	if strings.Contains(r.Body, c.Promise) || strings.Contains(r.Body, "Jane") {
		t.Errorf("the page shows the commitment to an unauthenticated reader")
	}
	p := b.get(t, path)
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "Jane Doe", "Send the deck")
	_, other := h.signedIn(t, "other@example.com")
	wantStatus(t, other.get(t, path), http.StatusNotFound)
	for _, bad := range []string{"/commitments/abc", "/commitments/-1", "/commitments/0", "/commitments/99999"} {
		if p := b.get(t, bad); p.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", bad, p.Status)
		}
	}
}

// TestFormUnknownField: a form with a name the API does not know is
// refused like JSON with an unknown field, naming it, and stores nothing.
func TestFormUnknownField(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "form@example.com")
	r := h.send(t, request{Method: "POST", Path: "/api/v1/commitments", Token: u.Token, ContentType: "application/x-www-form-urlencoded",
		Body: strings.NewReader("contact.name=Jane&promise=Send+the+deck&promis=typo")})
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"promis"`) {
		t.Fatalf("unknown form field: %d %s", r.Status, r.Body)
	}
	list := h.send(t, request{Method: "GET", Path: "/api/v1/commitments", Token: u.Token})
	if strings.Contains(string(list.Body), "Jane") {
		t.Error("a refused form stored a commitment")
	}
}

// TestMethodNotAllowed: a known API path with another method answers 405
// with Allow; an unknown path 404.
func TestMethodNotAllowed(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "methods@example.com")
	r := h.send(t, request{Method: "PATCH", Path: "/api/v1/commitments/1", Token: u.Token})
	if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, DELETE" || !strings.Contains(string(r.Body), "method_not_allowed") {
		t.Errorf("PATCH: %d Allow %q %s", r.Status, r.Header.Get("Allow"), r.Body)
	}
	r = h.send(t, request{Method: "PUT", Path: "/api/v1/commitments", Token: u.Token})
	if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, POST" {
		t.Errorf("PUT list: %d Allow %q", r.Status, r.Header.Get("Allow"))
	}
	if r := h.send(t, request{Method: "GET", Path: "/api/v1/nothing", Token: u.Token}); r.Status != http.StatusNotFound {
		t.Errorf("unknown path: %d", r.Status)
	}
}

package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var newToken = regexp.MustCompile(`id="new-token" type="text" readonly value="(fu_[^"]+)"`)

// TestSettingsTokens: a token created on the settings page is shown once
// and works; revoking it stops it at once; another user's token is not found.
func TestSettingsTokens(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "tokens-page@example.com")
	b.get(t, "/settings")
	p := b.post(t, "/settings/tokens", url.Values{"name": {"laptop script"}})
	wantStatus(t, p, http.StatusOK)
	m := newToken.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no new token shown:\n%s", p.Body)
	}
	token := m[1]
	wantContains(t, p, `data-copy="new-token"`, "not shown again")
	if r := h.send(t, request{Method: "GET", Path: "/api/v1/settings", Token: token}); r.Status != http.StatusOK {
		t.Fatalf("the new token answers %d", r.Status)
	}
	list := b.get(t, "/settings")
	wantContains(t, list, "laptop script", "never")
	if strings.Contains(list.Body, token) {
		t.Errorf("the token is shown again")
	}
	wantStatus(t, b.post(t, "/settings/tokens", url.Values{"name": {strings.Repeat("n", 101)}}), http.StatusUnprocessableEntity)
	wantStatus(t, b.post(t, "/settings/tokens", url.Values{"name": {"x"}, "csrf": {"-"}}), http.StatusForbidden)

	ids := regexp.MustCompile(`/settings/tokens/(\d+)/revoke`).FindAllStringSubmatch(list.Body, -1)
	if len(ids) != 2 { // newUser's and the new one
		t.Fatalf("%d revoke buttons, want 2", len(ids))
	}
	_, other := h.signedIn(t, "tokens-other@example.com")
	other.get(t, "/settings")
	for _, id := range ids {
		wantStatus(t, other.post(t, "/settings/tokens/"+id[1]+"/revoke", nil), http.StatusNotFound)
		wantStatus(t, b.post(t, "/settings/tokens/"+id[1]+"/revoke", url.Values{"csrf": {"-"}}), http.StatusForbidden)
	}
	if r := h.send(t, request{Method: "GET", Path: "/api/v1/settings", Token: token}); r.Status != http.StatusOK {
		t.Fatalf("refused revocations revoked: %d", r.Status)
	}
	for _, id := range ids {
		wantRedirect(t, b.post(t, "/settings/tokens/"+id[1]+"/revoke", nil), "/settings#tokens")
	}
	if r := h.send(t, request{Method: "GET", Path: "/api/v1/settings", Token: token}); r.Status != http.StatusUnauthorized {
		t.Errorf("a revoked token answers %d", r.Status)
	}
	if r := h.send(t, request{Method: "GET", Path: "/api/v1/settings", Token: u.Token}); r.Status != http.StatusUnauthorized {
		t.Errorf("a revoked token answers %d", r.Status)
	}
	wantStatus(t, b.post(t, "/settings/tokens/abc/revoke", nil), http.StatusNotFound)
}

package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

type tokenJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// tokens lists the user's tokens through the API.
func (h *harness) tokens(tb testing.TB, token string) ([]tokenJSON, response) {
	tb.Helper()
	var out struct{ Tokens []tokenJSON }
	res := h.mustAPI(tb, http.StatusOK, "GET", "/api/v1/tokens", token, nil, &out)
	return out.Tokens, res
}

// TestTokens lists and revokes API tokens: the list shows when each was
// last used (recorded at most once a minute), never a token; a revoked
// token is refused at once; another user's token cannot be revoked.
func TestTokens(t *testing.T) {
	h := newHarness(t)
	a := h.newUser(t, "a@example.com")
	b := h.newUser(t, "b@example.com")
	laptop, err := h.svc.CreateToken(context.Background(), a.Email, "laptop")
	if err != nil {
		t.Fatal(err)
	}

	list, res := h.tokens(t, a.Token)
	if len(list) != 2 || list[0].Name != "test" || list[1].Name != "laptop" {
		t.Fatalf("tokens %+v, want test and laptop", list)
	}
	for _, secret := range []string{a.Token, laptop, strings.TrimPrefix(a.Token, "fu_"), strings.TrimPrefix(laptop, "fu_")} {
		if strings.Contains(string(res.Body), secret) {
			t.Fatalf("the token list shows a token: %s", res.Body)
		}
	}
	if !list[0].CreatedAt.Equal(start) {
		t.Errorf("created_at %v, want %v", list[0].CreatedAt, start)
	}
	if list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(start) {
		t.Errorf("last_used_at of the token in use: %v, want %v", list[0].LastUsedAt, start)
	}
	if list[1].LastUsedAt != nil {
		t.Errorf("last_used_at of an unused token: %v, want null", list[1].LastUsedAt)
	}

	// Within a minute a use is not recorded again; after it, it is.
	h.clock.Add(40 * time.Second)
	if list, _ = h.tokens(t, a.Token); !list[0].LastUsedAt.Equal(start) {
		t.Errorf("last_used_at after 40 s: %v, want %v (once a minute)", list[0].LastUsedAt, start)
	}
	h.clock.Add(30 * time.Second)
	if list, _ = h.tokens(t, a.Token); !list[0].LastUsedAt.Equal(start.Add(70 * time.Second)) {
		t.Errorf("last_used_at after 70 s: %v, want %v", list[0].LastUsedAt, start.Add(70*time.Second))
	}

	// B cannot revoke A's token, and cannot tell it from a missing one.
	missing := h.api(t, "DELETE", "/api/v1/tokens/999999", b.Token, nil, nil)
	wantError(t, missing, http.StatusNotFound, "")
	foreign := h.api(t, "DELETE", "/api/v1/tokens/"+strconv.FormatInt(list[1].ID, 10), b.Token, nil, nil)
	wantError(t, foreign, http.StatusNotFound, "")
	if string(foreign.Body) != string(missing.Body) {
		t.Errorf("another user's token answers %s, a missing one %s", foreign.Body, missing.Body)
	}
	wantError(t, h.api(t, "DELETE", "/api/v1/tokens/abc", a.Token, nil, nil), http.StatusNotFound, "")
	h.mustAPI(t, http.StatusOK, "GET", "/api/v1/settings", laptop, nil, nil)

	// A revokes the laptop's token: refused at once, the other still works.
	laptopID := list[1].ID
	h.mustAPI(t, http.StatusNoContent, "DELETE", "/api/v1/tokens/"+strconv.FormatInt(list[1].ID, 10), a.Token, nil, nil)
	wantError(t, h.api(t, "GET", "/api/v1/settings", laptop, nil, nil), http.StatusUnauthorized, "")
	wantError(t, h.api(t, "DELETE", "/api/v1/tokens/"+strconv.FormatInt(list[1].ID, 10), a.Token, nil, nil), http.StatusNotFound, "")
	if list, _ = h.tokens(t, a.Token); len(list) != 1 || list[0].Name != "test" {
		t.Errorf("tokens after revoking one: %+v", list)
	}
	if bl, _ := h.tokens(t, b.Token); len(bl) != 1 {
		t.Errorf("B's tokens: %+v", bl)
	}

	// A token can revoke itself.
	h.mustAPI(t, http.StatusNoContent, "DELETE", "/api/v1/tokens/"+strconv.FormatInt(list[0].ID, 10), a.Token, nil, nil)
	wantError(t, h.api(t, "GET", "/api/v1/tokens", a.Token, nil, nil), http.StatusUnauthorized, "")

	// Revoked ids are never handed out again, though the laptop's was the
	// newest: a retried revoke cannot reach the next token.
	phone, err := h.svc.CreateToken(context.Background(), a.Email, "phone")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := h.tokens(t, phone)
	if len(got) != 1 || got[0].ID == list[0].ID || got[0].ID <= laptopID {
		t.Errorf("the next token is %+v, after the revoked ids %d and %d", got, list[0].ID, laptopID)
	}
	wantError(t, h.api(t, "DELETE", "/api/v1/tokens/"+strconv.FormatInt(laptopID, 10), phone, nil, nil), http.StatusNotFound, "")
	h.mustAPI(t, http.StatusOK, "GET", "/api/v1/settings", phone, nil, nil)
}

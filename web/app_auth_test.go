package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSetupFirstAccount: a fresh install sends / to /setup, which creates
// the first account in the chosen zone and signs in; afterwards /setup is
// closed.
func TestSetupFirstAccount(t *testing.T) {
	h := newHarness(t)
	b := h.browser(t)
	wantRedirect(t, b.get(t, "/"), "/setup")
	wantRedirect(t, b.get(t, "/login"), "/setup")
	p := b.get(t, "/setup")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `<label for="timezone">`, `<option value="Europe/Berlin"`, `data-detect`, `<label for="email">`, `<label for="password">`)
	if p.Header.Get("Content-Security-Policy") == "" || strings.Contains(p.Header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Errorf("CSP %q", p.Header.Get("Content-Security-Policy"))
	}

	bad := b.post(t, "/setup", url.Values{"email": {"me@example.com"}, "password": {"short"}, "timezone": {"Europe/Berlin"}})
	wantStatus(t, bad, http.StatusUnprocessableEntity)
	wantContains(t, bad, `id="password-error"`, `value="me@example.com"`, `<option value="Europe/Berlin" selected>`)
	bad = b.post(t, "/setup", url.Values{"email": {"me@example.com"}, "password": {"a long password"}, "timezone": {"Mars/Olympus"}})
	wantStatus(t, bad, http.StatusUnprocessableEntity)
	wantContains(t, bad, `id="timezone-error"`)
	if n := h.countRows(t, "users"); n != 0 {
		t.Fatalf("refused setups stored %d users", n)
	}

	ok := b.post(t, "/setup", url.Values{"email": {"me@example.com"}, "password": {"a long password"}, "timezone": {"Europe/Berlin"}})
	wantRedirect(t, ok, "/")
	ck := sessionCookie(t, ok)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Errorf("session cookie over http: HttpOnly %v SameSite %v Secure %v", ck.HttpOnly, ck.SameSite, ck.Secure)
	}
	home := b.get(t, "/")
	wantStatus(t, home, http.StatusOK)
	wantContains(t, home, "Log a promise", "Today")
	st, err := h.svc.Settings(t.Context(), 1)
	if err != nil || st.Timezone != "Europe/Berlin" {
		t.Errorf("settings %+v, %v", st, err)
	}

	other := h.browser(t)
	wantRedirect(t, other.get(t, "/setup"), "/login")
	other.get(t, "/login")
	closed := other.post(t, "/setup", url.Values{"email": {"second@example.com"}, "password": {"a long password"}, "timezone": {"UTC"}})
	wantStatus(t, closed, http.StatusNotFound)
	if n := h.countRows(t, "users"); n != 1 {
		t.Fatalf("%d users after a second setup", n)
	}
}

func sessionCookie(tb testing.TB, p page) *http.Cookie {
	tb.Helper()
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == "followup_session" {
			return c
		}
	}
	tb.Fatalf("no session cookie in %v", p.Header)
	return nil
}

// TestSessionCookieSecure: with an https base URL the cookie is Secure.
func TestSessionCookieSecure(t *testing.T) {
	h := newHarness(t)
	h.srv.BaseURL = "https://followup.example"
	u := h.newUser(t, "secure@example.com")
	b := h.browser(t)
	b.get(t, "/login")
	p := b.post(t, "/login", url.Values{"email": {u.Email}, "password": {"correct horse battery"}})
	wantStatus(t, p, http.StatusSeeOther)
	if ck := sessionCookie(t, p); !ck.Secure || !ck.HttpOnly {
		t.Errorf("cookie Secure %v HttpOnly %v", ck.Secure, ck.HttpOnly)
	}
}

// TestLoginLogout: signing in goes back where the user wanted to go; the
// session is stored hashed; signing out ends it on the server too.
func TestLoginLogout(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "login@example.com")
	b := h.browser(t)
	wantRedirect(t, b.get(t, "/commitments?status=open"), "/login?next=%2Fcommitments%3Fstatus%3Dopen")
	p := b.get(t, "/login?next=%2Fagenda")
	wantContains(t, p, `name="next" value="/agenda"`)
	wrong := b.post(t, "/login", url.Values{"email": {u.Email}, "password": {"wrong password"}, "next": {"/agenda"}})
	wantStatus(t, wrong, http.StatusUnauthorized)
	wantContains(t, wrong, "Wrong email or password")
	ok := b.post(t, "/login", url.Values{"email": {u.Email}, "password": {"correct horse battery"}, "next": {"/agenda"}})
	wantRedirect(t, ok, "/agenda")
	token := sessionCookie(t, ok).Value
	var stored int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM sessions WHERE token_hash = ?`, token).Scan(&stored); err != nil || stored != 0 {
		t.Errorf("the session token is stored in clear (%d, %v)", stored, err)
	}
	if len(token) < 43 {
		t.Errorf("session token %d characters, want 256 bits", len(token))
	}

	offsite := h.browser(t)
	offsite.get(t, "/login")
	wantRedirect(t, offsite.post(t, "/login", url.Values{"email": {u.Email}, "password": {"correct horse battery"}, "next": {"//evil.example/"}}), "/")

	b.get(t, "/")
	wantRedirect(t, b.post(t, "/logout", nil), "/login")
	if n := h.countRows(t, "sessions"); n != 1 { // offsite's
		t.Errorf("%d sessions after sign-out, want 1", n)
	}
	// The old cookie no longer works even if a copy was kept.
	replay := h.browser(t)
	replay.client.Jar.SetCookies(mustURL(t, h.ts.URL), []*http.Cookie{{Name: "followup_session", Value: token}})
	wantRedirect(t, replay.get(t, "/commitments"), "/login?next=%2Fcommitments")
}

// TestSessionExpires: a session older than its lifetime signs out.
func TestSessionExpires(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "expire@example.com")
	wantStatus(t, b.get(t, "/commitments"), http.StatusOK)
	h.clock.Add(31 * 24 * time.Hour)
	wantRedirect(t, b.get(t, "/commitments"), "/login?next=%2Fcommitments")
}

// TestLoginRateLimit: five failures lock the account for fifteen minutes,
// even with the right password; twenty lock the address.
func TestLoginRateLimit(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "limit@example.com")
	b := h.browser(t)
	b.get(t, "/login")
	for i := 0; i < 5; i++ {
		wantStatus(t, b.post(t, "/login", url.Values{"email": {u.Email}, "password": {"guess"}}), http.StatusUnauthorized)
	}
	locked := b.post(t, "/login", url.Values{"email": {u.Email}, "password": {"correct horse battery"}})
	wantStatus(t, locked, http.StatusTooManyRequests)
	wantContains(t, locked, "Too many failed sign-ins")
	h.clock.Add(16 * time.Minute)
	wantStatus(t, b.post(t, "/login", url.Values{"email": {u.Email}, "password": {"correct horse battery"}}), http.StatusSeeOther)

	// Per address: guesses spread over many accounts.
	a := h.browser(t)
	a.get(t, "/login")
	for i := 0; i < 20; i++ {
		email := "nobody" + string(rune('a'+i)) + "@example.com"
		wantStatus(t, a.post(t, "/login", url.Values{"email": {email}, "password": {"guess"}}), http.StatusUnauthorized)
	}
	other := h.newUser(t, "other@example.com")
	wantStatus(t, a.post(t, "/login", url.Values{"email": {other.Email}, "password": {"correct horse battery"}}), http.StatusTooManyRequests)
}

// TestLoginCSRF: the sign-in form needs its double-submit token.
func TestLoginCSRF(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "csrf@example.com")
	b := h.browser(t)
	b.get(t, "/login")
	wantStatus(t, b.post(t, "/login", url.Values{"email": {u.Email}, "password": {"correct horse battery"}, "csrf": {"-"}}), http.StatusForbidden)
	wantStatus(t, b.post(t, "/login", url.Values{"email": {u.Email}, "password": {"correct horse battery"}, "csrf": {"wrong"}}), http.StatusForbidden)
	// A fresh client with no cookie cannot post either.
	fresh := h.browser(t)
	fresh.csrf = b.csrf
	wantStatus(t, fresh.post(t, "/login", url.Values{"email": {u.Email}, "password": {"correct horse battery"}}), http.StatusForbidden)
	if n := h.countRows(t, "sessions"); n != 0 {
		t.Fatalf("%d sessions after refused sign-ins", n)
	}
}

// TestLogoutCSRF: signing out is a form too.
func TestLogoutCSRF(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "out@example.com")
	wantStatus(t, b.post(t, "/logout", url.Values{"csrf": {"-"}}), http.StatusForbidden)
	wantStatus(t, b.post(t, "/logout", url.Values{"csrf": {strings.Repeat("0", 64)}}), http.StatusForbidden)
	if n := h.countRows(t, "sessions"); n != 1 {
		t.Fatalf("refused sign-out changed sessions: %d", n)
	}
}

// TestStaticAssets: CSS, JS, icons and the manifest come from the binary.
func TestStaticAssets(t *testing.T) {
	h := newHarness(t)
	b := h.browser(t)
	for path, ctype := range map[string]string{
		"/static/app.css":       "text/css",
		"/static/app.js":        "text/javascript",
		"/static/icon.svg":      "image/svg+xml",
		"/icons/icon-192.png":   "image/png",
		"/icons/icon-512.png":   "image/png",
		"/manifest.webmanifest": "application/manifest+json",
	} {
		p := b.get(t, path)
		if p.Status != http.StatusOK || !strings.HasPrefix(p.Header.Get("Content-Type"), ctype) || len(p.Body) == 0 {
			t.Errorf("GET %s: %d %q", path, p.Status, p.Header.Get("Content-Type"))
		}
	}
	wantStatus(t, b.get(t, "/static/nothing.css"), http.StatusNotFound)
	wantStatus(t, b.get(t, "/icons/icon-1.png"), http.StatusNotFound)
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// TestLoginRateLimitBehindProxy: behind a proxy on this machine, failures
// count per client address (X-Forwarded-For), so one client's guesses do
// not lock out the others.
func TestLoginRateLimitBehindProxy(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "proxy@example.com")
	b := h.browser(t)
	b.get(t, "/login")
	post := func(addr, email, password string) int {
		f := url.Values{"csrf": {b.csrf}, "email": {email}, "password": {password}}
		req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/login", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", addr)
		return b.do(t, req).Status
	}
	for i := 0; i < 20; i++ {
		post("203.0.113.7", "nobody"+strconv.Itoa(i)+"@example.com", "guess")
	}
	if got := post("203.0.113.7", u.Email, "correct horse battery"); got != http.StatusTooManyRequests {
		t.Errorf("the guessing address: %d, want 429", got)
	}
	if got := post("198.51.100.9", u.Email, "correct horse battery"); got != http.StatusSeeOther {
		t.Errorf("another client behind the proxy: %d, want 303", got)
	}
}

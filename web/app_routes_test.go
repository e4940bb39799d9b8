package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// webRoutes is every route of the web app (routes.go pageRoutes).
// TestRoutesCovered keeps it in step; TestPagesSignedOut walks it.
var webRoutes = []route{
	{"GET", "/manifest.webmanifest", false},
	{"GET", "/icons/:file", false},
	{"GET", "/", false},
	{"GET", "/setup", false},
	{"POST", "/setup", true},
	{"GET", "/login", false},
	{"POST", "/login", true},
	{"POST", "/logout", true},
	{"GET", "/commitments/new", false},
	{"POST", "/commitments", true},
	{"POST", "/commitments/new", true},
	{"POST", "/commitments/quick", true},
	{"POST", "/commitments/quick/preview", true},
	{"GET", "/commitments", false},
	{"GET", "/commitments/:id", false},
	{"POST", "/commitments/:id/actions", true},
	{"POST", "/commitments/:id/delete", true},
	{"GET", "/agenda", false},
	{"GET", "/settings", false},
	{"POST", "/settings", true},
	{"POST", "/settings/tokens", true},
	{"POST", "/settings/tokens/:id/revoke", true},
	{"GET", "/progress", false},
	{"GET", "/feed", false},
	{"POST", "/feed/rotate", true},
	{"GET", "/calendar", false},
	{"POST", "/calendar", true},
	{"POST", "/calendar/sync", true},
	{"POST", "/calendar/disconnect", true},
}

// TestPagesSignedOut: every page of a signed-in user asks a signed-out
// browser to sign in, and every form post without a session is refused
// (403) without changing anything.
func TestPagesSignedOut(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "walk@example.com")
	c := h.create(t, u, validCommitment("", ""))
	open := map[string]bool{"/": true, "/setup": true, "/login": true, "/manifest.webmanifest": true, "/icons/:file": true}
	before := h.fingerprint(t, u)
	for _, r := range webRoutes {
		path := strings.NewReplacer(":id", strconv.FormatInt(c.ID, 10), ":file", "icon-192.png").Replace(r.Path)
		b := h.browser(t)
		b.get(t, "/login")
		switch {
		case r.Method == "GET" && !open[r.Path]:
			p := b.get(t, path)
			wantRedirect(t, p, "/login?next="+url.QueryEscape(path))
		case r.Method == "POST" && r.Path != "/login" && r.Path != "/setup":
			if p := b.post(t, path, url.Values{"action": {"let_go"}, "confirm": {"yes"}}); p.Status != http.StatusForbidden {
				t.Errorf("POST %s signed out: %d, want 403", path, p.Status)
			}
		}
	}
	if after := h.fingerprint(t, u); after != before {
		t.Errorf("signed-out posts changed the store:\n%s", cmp.Diff(before, after))
	}
}

// TestGarbagePages: malformed bodies, queries and methods on every page
// never answer 5xx, and posts without the CSRF token change nothing.
func TestGarbagePages(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "garbage-pages@example.com")
	c := h.create(t, u, validCommitment("", ""))
	b.get(t, "/")
	before := h.fingerprint(t, u)
	bodies := []string{"", "%", "a=%zz", "csrf", strings.Repeat("x", 2000), "\x00\xff", "contact.name=" + strings.Repeat("J", 5000)}
	for _, r := range webRoutes {
		path := strings.NewReplacer(":id", strconv.FormatInt(c.ID, 10), ":file", "x.png").Replace(r.Path)
		for _, body := range bodies {
			req, _ := http.NewRequest(r.Method, h.ts.URL+path+"?week=%zz&offset=-&status=%00", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			p := b.do(t, req)
			if p.Status >= 500 {
				t.Errorf("%s %s %q: %d", r.Method, path, body, p.Status)
			}
			if r.Method == "POST" && r.Path != "/login" && r.Path != "/setup" && p.Status != http.StatusForbidden {
				t.Errorf("%s %s %q without CSRF: %d, want 403", r.Method, path, body, p.Status)
			}
		}
	}
	if after := h.fingerprint(t, u); after != before {
		t.Errorf("garbage changed the store:\n%s", cmp.Diff(before, after))
	}
	if strings.Contains(h.logs.String(), `"level":"ERROR"`) {
		t.Errorf("garbage caused internal errors:\n%s", h.logs.String())
	}
}

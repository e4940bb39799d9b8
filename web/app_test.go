package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// browser is a client with cookies that does not follow redirects, so
// tests see each answer.
type browser struct {
	h      *harness
	client *http.Client
	// csrf is the token of the last page read.
	csrf string
}

func (h *harness) browser(tb testing.TB) *browser {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &browser{h: h, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is an answer of the web app.
type page struct {
	Status   int
	Location string
	Header   http.Header
	Body     string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(tb testing.TB, req *http.Request) page {
	tb.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	p := page{Status: res.StatusCode, Location: res.Header.Get("Location"), Header: res.Header, Body: string(body)}
	if m := csrfField.FindStringSubmatch(p.Body); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return p
}

func (b *browser) get(tb testing.TB, path string) page {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, b.h.ts.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return b.do(tb, req)
}

// post sends a form with the CSRF token of the last page read, unless
// the form sets csrf itself.
func (b *browser) post(tb testing.TB, path string, form url.Values) page {
	tb.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	if _, ok := f["csrf"]; !ok {
		f.Set("csrf", b.csrf)
	}
	if f.Get("csrf") == "-" {
		f.Del("csrf")
	}
	req, err := http.NewRequest(http.MethodPost, b.h.ts.URL+path, strings.NewReader(f.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(tb, req)
}

// signIn signs the browser in as the user (password of newUser).
func (b *browser) signIn(tb testing.TB, u user) {
	tb.Helper()
	b.get(tb, "/login")
	p := b.post(tb, "/login", url.Values{"email": {u.Email}, "password": {"correct horse battery"}})
	if p.Status != http.StatusSeeOther {
		tb.Fatalf("sign in: %d %s", p.Status, p.Body)
	}
}

// signedIn returns a harness user and a browser signed in as them.
func (h *harness) signedIn(tb testing.TB, email string) (user, *browser) {
	tb.Helper()
	u := h.newUser(tb, email)
	b := h.browser(tb)
	b.signIn(tb, u)
	return u, b
}

func wantStatus(tb testing.TB, p page, status int) {
	tb.Helper()
	if p.Status != status {
		tb.Fatalf("status %d, want %d; Location %q\n%s", p.Status, status, p.Location, p.Body)
	}
}

func wantRedirect(tb testing.TB, p page, location string) {
	tb.Helper()
	if p.Status != http.StatusSeeOther || p.Location != location {
		tb.Fatalf("answer %d to %q, want 303 to %q\n%s", p.Status, p.Location, location, p.Body)
	}
}

func wantContains(tb testing.TB, p page, parts ...string) {
	tb.Helper()
	for _, s := range parts {
		if !strings.Contains(p.Body, s) {
			tb.Errorf("page lacks %q", s)
		}
	}
}

// countRows counts a table's rows, to show that a refused form changed nothing.
func (h *harness) countRows(tb testing.TB, table string) int {
	tb.Helper()
	var n int
	if err := h.db.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

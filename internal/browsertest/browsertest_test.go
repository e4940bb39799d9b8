package browsertest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// strictCSP is the policy the app serves: scripts from the origin only.
const strictCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// pages are served by the site the harness is tested against.
var pages = map[string]string{
	"/clean": `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Clean</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><script src="/app.js"></script></head>
<body><main><h1>Log a promise</h1><form method="post" action="/clean">
<label for="n">Name</label><input id="n" name="contact.name">
<button type="submit">Save</button></form></main></body></html>`,
	// broken has an image without alt text and an input without a label
	// (both critical in axe-core) and an inline script the policy refuses.
	"/broken": `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Broken</title></head>
<body><main><h1>Broken</h1><img src="/pixel.png"><input name="promise">
<script>document.title = "inline ran"</script></main></body></html>`,
	"/app.js": `document.documentElement.dataset.js = "on";`,
	"/confirm": `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ask</title>
<script src="/confirm.js" defer></script></head><body><main><button id="ask" type="button">Ask</button></main></body></html>`,
	"/confirm.js": `document.getElementById("ask").addEventListener("click", () => { document.title = String(window.confirm("Sure?")); });`,
}

func site(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", strictCSP)
		if strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript")
		} else {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAxeUnderStrictCSP checks that axe-core, injected over the DevTools
// protocol, runs on a page whose policy allows scripts from its own origin
// only, finds the violations a broken page has and none on a clean one, and
// that the page's own refused inline script is reported as a problem.
func TestAxeUnderStrictCSP(t *testing.T) {
	srv := site(t)
	b := Start(t)
	p := b.NewPage(t, PageOptions{Width: 360, Height: 740, Mobile: true, TimeZone: "America/New_York"})

	if status := p.Open(srv.URL + "/broken"); status != 200 {
		t.Fatalf("GET /broken: %d", status)
	}
	vs, err := p.Axe()
	if err != nil {
		t.Fatal(err)
	}
	var blocking []string
	for _, v := range vs {
		if v.Blocking() {
			blocking = append(blocking, v.ID)
		}
	}
	for _, id := range []string{"image-alt", "label"} {
		if !slices.Contains(blocking, id) {
			t.Errorf("axe-core did not report %s as serious or critical; it reported %v", id, vs)
		}
	}
	if title := Value(p, chromedp.Title()); title != "Broken" {
		t.Errorf("the inline script ran despite the policy: title %q", title)
	}
	probs := p.Problems()
	if !slices.ContainsFunc(probs, func(s string) bool { return strings.Contains(s, "Content Security Policy") }) {
		t.Errorf("the refused inline script was not reported; problems: %q", probs)
	}

	if status := p.Open(srv.URL + "/clean"); status != 200 {
		t.Fatalf("GET /clean: %d", status)
	}
	p.CheckAxe("/clean")
	p.CheckProblems("/clean")
	if js := Value(p, chromedp.Evaluate[string](`document.documentElement.dataset.js`)); js != "on" {
		t.Errorf("the page's own script did not run: %q", js)
	}
	zone := Value(p, chromedp.Evaluate[string](`Intl.DateTimeFormat().resolvedOptions().timeZone`))
	if zone != "America/New_York" {
		t.Errorf("page time zone %q", zone)
	}
	if w := Value(p, chromedp.Evaluate[int](`window.innerWidth`)); w != 360 {
		t.Errorf("viewport width %d", w)
	}
	if status := p.Open(srv.URL + "/nothing"); status != 404 {
		t.Errorf("GET /nothing: %d", status)
	}
	if probs := p.Problems(); len(probs) != 0 {
		t.Errorf("a 404 document counted as a page problem: %q", probs)
	}
}

// TestDialogsAccepted checks that a page's window.confirm is answered OK
// and its message kept.
func TestDialogsAccepted(t *testing.T) {
	srv := site(t)
	p := Start(t).NewPage(t, PageOptions{})
	p.Open(srv.URL + "/confirm")
	p.Do(chromedp.Click(chromedp.CSS("#ask")))
	Value(p, chromedp.Poll[bool](`document.title === "true"`))
	if got := p.Dialogs(); !slices.Equal(got, []string{"Sure?"}) {
		t.Errorf("dialogs %q", got)
	}
}

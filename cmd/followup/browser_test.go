package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
	"github.com/followup/followup/internal/browsertest"
	"github.com/followup/followup/internal/davtest"
	"github.com/followup/followup/internal/testclock"
	"github.com/followup/followup/internal/testenv"
)

// The browser tests run the real app with the clock stopped at browserNow,
// a Monday afternoon in the user's zone, so that what the pages show does
// not depend on when the tests run.
const browserZone = "America/New_York"

var browserNow = time.Date(2026, 11, 23, 14, 30, 0, 0, mustZone(browserZone))

// Viewports: a phone (the log form's home) and a desktop.
var (
	phone   = browsertest.PageOptions{Width: 360, Height: 740, Mobile: true, TimeZone: browserZone}
	desktop = browsertest.PageOptions{Width: 1280, Height: 800, TimeZone: browserZone}
)

// runBrowserApp starts the app as MustRunMain does, with its clock stopped
// at now.
func runBrowserApp(tb testing.TB, now time.Time, extra map[string]string) *testApp {
	tb.Helper()
	return runBrowserAppClock(tb, testclock.New(now), nil, extra)
}

// runBrowserAppClock starts the app as MustRunMain does, reading clock and
// taking its tokens from random (crypto/rand when nil).
func runBrowserAppClock(tb testing.TB, clock *testclock.Clock, random io.Reader, extra map[string]string) *testApp {
	tb.Helper()
	dir := tb.TempDir()
	_, cfg := parseTestConfig(tb, env(dir, extra))
	logs := &testenv.SyncBuffer{}
	m := NewMain(cfg, io.Discard, logs)
	m.Now = clock.Now
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		tb.Fatal(err)
	}
	if random != nil {
		m.Service.Random = random
	}
	if err := m.Listen(); err != nil {
		tb.Fatal(err)
	}
	app := &testApp{Main: m, dir: dir, cancel: cancel, done: make(chan error, 1), logs: logs}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("followup log:\n%s", logs.String())
		}
	})
	go func() { app.done <- m.Serve(ctx) }()
	tb.Cleanup(app.stop)
	return app
}

// webUser is a person using the app in one browser tab.
type webUser struct {
	t    testing.TB
	p    *browsertest.Page
	base string
}

// in returns the same person reporting to a subtest.
func (u *webUser) in(t testing.TB) *webUser {
	return &webUser{t: t, p: u.p.For(t), base: u.base}
}

// field is the CSS selector of the form control named name.
func field(name string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`[name=%q]`, name))
}

// open loads path and checks its status, then checks the page (see check).
func (u *webUser) open(path string, want int64) {
	u.t.Helper()
	if got := u.p.Open(u.base + path); got != want {
		u.t.Fatalf("GET %s: %d, want %d", path, got, want)
	}
	u.check(path)
}

// submit clicks the button sel, waits for the answer and checks its status
// and the page it shows.
func (u *webUser) submit(sel chromedp.CSS, want int64, label string) {
	u.t.Helper()
	if got := u.p.Load(chromedp.Click(sel)); got != want {
		u.t.Fatalf("%s: answered %d, want %d, at %s", label, got, want, u.p.Location())
	}
	u.check(label)
}

// check holds every page to the same standard: no serious or critical
// accessibility violation, no script error or refused resource, and nothing
// wider than the viewport.
func (u *webUser) check(label string) {
	u.t.Helper()
	u.p.CheckAxe(label)
	u.p.CheckProblems(label)
	overflow := browsertest.Value(u.p, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	if overflow > 0 {
		u.t.Errorf("%s: the page is %d px wider than the %d px viewport", label, overflow,
			browsertest.Value(u.p, chromedp.Evaluate[int](`window.innerWidth`)))
	}
}

// path is the path of the page the tab shows.
func (u *webUser) path() string {
	u.t.Helper()
	return strings.TrimPrefix(u.p.Location(), u.base)
}

// text is the visible text of the page.
func (u *webUser) text() string {
	u.t.Helper()
	return browsertest.Value(u.p, chromedp.Text(chromedp.CSS("body")))
}

// value is the current value of the form control named name.
func (u *webUser) value(name string) string {
	u.t.Helper()
	return browsertest.Value(u.p, chromedp.Value(field(name)))
}

// typeInto replaces the text of the control named name by typing v.
func (u *webUser) typeInto(name, v string) {
	u.t.Helper()
	u.p.Do(chromedp.Clear(field(name)), chromedp.SendKeys(field(name), v))
}

var commitmentPath = regexp.MustCompile(`^/commitments/([0-9]+)$`)

// TestBrowserFlows walks through the web app in headless Chromium at phone
// width, as a person at a conference would: create the first account, log
// three promises in event mode (one by a double submit), work the agenda,
// connect a CalDAV calendar and rotate the feed. Every page visited passes
// axe-core with no serious or critical violation.
func TestBrowserFlows(t *testing.T) {
	b := browsertest.Start(t)
	radicale := davtest.Radicale(t)
	app := runBrowserApp(t, browserNow, map[string]string{"FOLLOWUP_ALLOW_PRIVATE_HOSTS": "true", "FOLLOWUP_SYNC_INTERVAL": "0"})
	u := &webUser{t: t, p: b.NewPage(t, phone), base: app.URL()}

	step := func(name string, f func(u *webUser)) {
		finished := false
		t.Run(name, func(t *testing.T) {
			f(u.in(t))
			finished = true
		})
		if !finished {
			t.FailNow() // each flow builds on the one before it
		}
	}
	step("setup", func(u *webUser) { u.setup("ada@example.com", "correct horse battery") })
	var ids []string
	step("log in event mode", func(u *webUser) { ids = u.logInEventMode() })
	step("agenda", func(u *webUser) { u.agenda(ids) })
	step("connect CalDAV", func(u *webUser) { u.connectCalDAV(app, radicale) })
	step("rotate the feed", func(u *webUser) { u.rotateFeed() })
	step("every page", func(u *webUser) { u.everyPage(ids[0]) })
	wide := &webUser{t: t, p: b.NewPage(t, desktop), base: u.base} // the same browser: signed in too
	step("every page at desktop width", func(u *webUser) { wide.in(u.t).everyPage(ids[0]) })
	step("phone layout", func(u *webUser) { u.phoneLayout() })
	step("bad input", func(u *webUser) { u.badInput() })
	step("keyboard only", func(u *webUser) { u.keyboardOnly() })
	step("one line by keyboard", func(u *webUser) { u.quickAdd() })
	step("contact from a card", func(u *webUser) { u.contactFromCard() })
	step("a standing habit", func(u *webUser) { u.standingHabit() })
	step("sign out and in", func(u *webUser) { u.signOutAndIn("ada@example.com", "correct horse battery") })
}

// setup creates the first account on a fresh install, which the app sends
// every page to, and lands signed in.
func (u *webUser) setup(email, password string) {
	u.open("/", 200)
	if got := u.path(); got != "/setup" {
		u.t.Fatalf("a fresh install sent / to %s, want /setup", got)
	}
	if zone := u.value("timezone"); zone != browserZone {
		u.t.Errorf("time zone preselected %q, want the browser's %s", zone, browserZone)
	}
	u.typeInto("email", email)
	u.typeInto("password", password)
	u.submit(`form[action="/setup"] [type=submit]`, 200, "POST /setup")
	if got := u.path(); got != "/" {
		u.t.Fatalf("after setup the app shows %s, want /", got)
	}
	if resp, err := http.Get(u.base + "/setup"); err != nil {
		u.t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != 404 && !strings.HasSuffix(resp.Request.URL.Path, "/login") {
		u.t.Errorf("GET /setup after setup: %d at %s, want 404 or /login", resp.StatusCode, resp.Request.URL)
	}
}

// promise is what one commitment is logged with.
type promise struct{ name, promise, due string }

var conference = []promise{
	{"Jane Doe", "Send the pricing deck", "by Friday"},
	{"Bob Builder", "Intro to our CTO", "tomorrow"},
	{"Carol Danvers", "Share the case study", "in 3 days"},
}

// The event the conference promises were made at, given once.
const eventWhere, eventWhen = "SaaStr, booth 12", "2026-11-23T10:00"

// logInEventMode logs the three conference promises from the log form,
// giving where and when they met only once: event mode keeps them for the
// next entry. The third goes in by a double submit of one rendered form
// and must still be one commitment. It returns the commitments' ids.
func (u *webUser) logInEventMode() []string {
	var ids []string
	for i, c := range conference {
		u.open("/commitments/new", 200)
		if i == 0 {
			u.startEvent()
		} else {
			u.checkEventKept(i + 1)
		}
		u.typeInto("contact.name", c.name)
		u.typeInto("promise", c.promise)
		u.typeInto("due_text", c.due)
		if i == len(conference)-1 {
			u.doubleSubmit()
		} else {
			u.submit(`form[action="/commitments"] [type=submit]`, 200, "log "+c.name)
		}
		ids = append(ids, u.loggedPage(c))
	}
	u.open("/commitments", 200)
	txt := u.text()
	for _, c := range conference {
		if n := strings.Count(txt, c.promise); n != 1 {
			u.t.Errorf("the list shows %q %d times, want once:\n%s", c.promise, n, txt)
		}
	}
	return ids
}

// eventMode reports whether the log form's event mode box is ticked.
func (u *webUser) eventMode() bool {
	u.t.Helper()
	return browsertest.Value(u.p, chromedp.Evaluate[bool](`document.querySelector('[name=event_mode]').checked`))
}

// startEvent fills in where and when on the log form and turns event mode on.
func (u *webUser) startEvent() {
	u.t.Helper()
	u.typeInto("met_where", eventWhere)
	u.p.Do(chromedp.SetValue(field("met_at"), eventWhen))
	if !u.eventMode() {
		u.p.Do(chromedp.Click(field("event_mode")))
	}
}

// checkEventKept checks that the log form for entry n came with where and
// when filled in and event mode still on.
func (u *webUser) checkEventKept(n int) {
	u.t.Helper()
	if got := u.value("met_where"); got != eventWhere {
		u.t.Fatalf("entry %d: met_where is %q, want %q kept from the entry before", n, got, eventWhere)
	}
	if got := u.value("met_at"); got != eventWhen {
		u.t.Errorf("entry %d: met_at is %q, want %q kept from the entry before", n, got, eventWhen)
	}
	if !u.eventMode() {
		u.t.Errorf("entry %d: event mode is off again", n)
	}
}

// doubleSubmit sends the filled-in form several times: two posts of its
// data at once, then a double click on its button.
func (u *webUser) doubleSubmit() {
	u.t.Helper()
	u.postTwiceAtOnce()
	u.p.Do(chromedp.DoubleClick(chromedp.CSS(`form[action="/commitments"] [type=submit]`)))
	u.waitForPath(commitmentPath)
}

// loggedPage checks the page shown after logging c, which must be c's, and
// returns c's id.
func (u *webUser) loggedPage(c promise) string {
	u.t.Helper()
	m := commitmentPath.FindStringSubmatch(u.path())
	if m == nil {
		u.t.Fatalf("after logging %s the app shows %s, want its page", c.name, u.path())
	}
	u.check("commitment page of " + c.name)
	if txt := u.text(); !strings.Contains(txt, c.name) || !strings.Contains(txt, c.promise) {
		u.t.Errorf("the page after logging %s does not show it:\n%s", c.name, txt)
	}
	return m[1]
}

// postTwiceAtOnce posts the rendered form's data, idempotency key and
// CSRF token included, twice at the same moment from the page, as a
// flaky connection's retry would.
func (u *webUser) postTwiceAtOnce() {
	u.t.Helper()
	const js = `(async () => {
		const f = document.querySelector('form[action="/commitments"]');
		const post = () => fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f))});
		const rs = await Promise.all([post(), post()]);
		return rs.map(r => r.status + " " + new URL(r.url).pathname);
	})()`
	got := browsertest.Value(u.p, chromedp.Evaluate[[]string](js, chromedp.EvalAwaitPromise))
	if len(got) != 2 || got[0] != got[1] || !commitmentPath.MatchString(strings.TrimPrefix(got[0], "200 ")) {
		u.t.Errorf("two posts of one form answered %q, want the same commitment page twice", got)
	}
}

// waitForPath waits until the tab shows a page whose path matches re.
func (u *webUser) waitForPath(re *regexp.Regexp) {
	u.t.Helper()
	deadline := time.Now().Add(browsertest.StepTimeout)
	for !re.MatchString(u.path()) {
		if time.Now().After(deadline) {
			u.t.Fatalf("the tab shows %s, want a page matching %s", u.path(), re)
		}
		time.Sleep(50 * time.Millisecond)
	}
	u.p.Do(chromedp.WaitReady(chromedp.CSS(`body`)))
}

// agenda finds the logged promises' blocks on the agenda and marks the
// first one contacted there.
func (u *webUser) agenda(ids []string) {
	u.open("/agenda", 200)
	txt := u.text()
	for _, c := range conference {
		if !strings.Contains(txt, c.name) {
			u.t.Errorf("the agenda does not show %s:\n%s", c.name, txt)
		}
	}
	sel := chromedp.CSS(fmt.Sprintf(`form[action="/commitments/%s/actions"] button[value=contacted]`, ids[0]))
	u.submit(sel, 200, "mark "+conference[0].name+" contacted")
	if got := u.path(); got != "/agenda" {
		u.t.Errorf("after the action the app shows %s, want the agenda again", got)
	}
	u.open("/commitments/"+ids[0], 200)
	const contacted = `[...document.querySelectorAll("dt")].some(e => e.textContent.trim() === "Contacted")`
	if !browsertest.Value(u.p, chromedp.Evaluate[bool](contacted)) {
		u.t.Errorf("the commitment page does not say when it was contacted:\n%s", u.text())
	}
	u.open("/commitments/"+ids[1], 200)
	if browsertest.Value(u.p, chromedp.Evaluate[bool](contacted)) {
		u.t.Errorf("%s was marked contacted too", conference[1].name)
	}
}

// connectCalDAV connects the account on the CalDAV form against a real
// Radicale that already has a "Work" and a "Personal" calendar: the form
// finds the calendars, then the person keeps the blocks in the calendar
// followup made, counts Work as busy time and not Personal, and syncs.
func (u *webUser) connectCalDAV(app *testApp, srv davtest.Server) {
	acct := followup.CalDAVAccount{URL: srv.URL, Username: srv.Username, Password: srv.Password}
	work := u.makeCalendar(acct, "Work")
	personal := u.makeCalendar(acct, "Personal")

	u.open("/calendar", 200)
	u.typeInto("url", srv.URL)
	u.typeInto("username", srv.Username)
	u.typeInto("password", srv.Password)
	u.submit(`form[action="/calendar"] [type=submit]`, 200, "connect")
	if txt := u.text(); !strings.Contains(txt, "Work") || !strings.Contains(txt, "Personal") {
		u.t.Fatalf("the calendars found do not include Work and Personal:\n%s", txt)
	}
	const pick = `form[action="/calendar"]:has([name=pick])`
	blocks := browsertest.Value(u.p, chromedp.Evaluate[string](`document.querySelector('`+pick+` [name=calendar]:checked').parentElement.textContent.trim()`))
	if blocks != "Follow-ups" {
		u.t.Errorf("blocks go to %q by default, want the calendar followup made, Follow-ups", blocks)
	}
	u.setChecked(chromedp.CSS(fmt.Sprintf(`%s [name=busy_calendars][value=%q]`, pick, work.URL)), true)
	u.setChecked(chromedp.CSS(fmt.Sprintf(`%s [name=busy_calendars][value=%q]`, pick, personal.URL)), false)
	u.submit(pick+` [type=submit]`, 200, "save calendars")

	conn := u.connection(app)
	if !slices.Equal(conn.BusyCalendars, []string{work.URL}) {
		u.t.Errorf("busy calendars %v, want only Work (%s)", conn.BusyCalendars, work.URL)
	}
	if conn.CalendarURL == "" || conn.CalendarURL == work.URL || conn.CalendarURL == personal.URL {
		u.t.Fatalf("blocks go to %q, want a calendar of their own", conn.CalendarURL)
	}
	u.submit(`form[action="/calendar/sync"] [type=submit]`, 200, "sync now")
	u.checkBlocksOn(acct, conn.CalendarURL)
}

// makeCalendar creates a calendar on the account as another client would.
func (u *webUser) makeCalendar(acct followup.CalDAVAccount, name string) followup.Calendar {
	u.t.Helper()
	return makeCalendar(u.t, acct, name)
}

// connection is the stored CalDAV connection of the signed-in user.
func (u *webUser) connection(app *testApp) followup.CalDAVConnection {
	u.t.Helper()
	ctx := context.Background()
	user, err := app.DB.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		u.t.Fatal(err)
	}
	conn, err := app.Service.CalDAV(ctx, user.ID)
	if err != nil {
		u.t.Fatalf("no CalDAV connection after the form: %v", err)
	}
	return conn
}

// checkBlocksOn checks that the calendar holds followup's blocks, read
// with another client, and that the page reports no sync error.
func (u *webUser) checkBlocksOn(acct followup.CalDAVAccount, calURL string) {
	u.t.Helper()
	evs, err := caldav.New(http.DefaultClient).ListEvents(context.Background(), acct, calURL)
	if err != nil {
		u.t.Fatal(err)
	}
	if len(evs) < len(conference) {
		u.t.Errorf("the Follow-ups calendar holds %d events, want the blocks of %d commitments", len(evs), len(conference))
	}
	for _, ev := range evs {
		if !strings.HasSuffix(ev.UID, "@followup") {
			u.t.Errorf("event %s on the Follow-ups calendar is not followup's", ev.UID)
		}
	}
	if txt := u.text(); strings.Contains(txt, "Problem:") {
		u.t.Errorf("the sync reported a problem:\n%s", txt)
	}
}

// setChecked clicks the checkbox sel if it is not in the state want.
func (u *webUser) setChecked(sel chromedp.CSS, want bool) {
	u.t.Helper()
	if browsertest.Value(u.p, chromedp.JavascriptAttribute[bool](sel, "checked")) != want {
		u.p.Do(chromedp.Click(sel))
	}
}

var feedURL = regexp.MustCompile(`https?://[^\s"<>]+/feeds/[^\s"<>]+\.ics`)

// rotateFeed reads the feed URL on the feed page, rotates it behind the
// confirmation, and checks that the old URL is dead at once and the new one
// answers.
func (u *webUser) rotateFeed() {
	u.open("/feed", 200)
	old := feedURL.FindString(u.html())
	if old == "" {
		u.t.Fatalf("the feed page shows no feed URL:\n%s", u.text())
	}
	if status := httpStatus(u.t, old); status != 200 {
		u.t.Fatalf("GET the feed: %d", status)
	}
	// Without the confirmation ticked (a browser that skips the required
	// check), the server refuses and the address lives on.
	const unconfirmed = `(async () => {
		const f = document.querySelector('form[action="/feed/rotate"]');
		const data = new URLSearchParams(new FormData(f));
		data.delete("confirm");
		return (await fetch(f.action, {method: "POST", body: data})).status;
	})()`
	if status := browsertest.Value(u.p, chromedp.Evaluate[int](unconfirmed, chromedp.EvalAwaitPromise)); status/100 != 4 {
		u.t.Errorf("rotation without the confirmation answered %d, want a 4xx", status)
	}
	if status := httpStatus(u.t, old); status != 200 {
		u.t.Fatalf("an unconfirmed rotation killed the feed: %d", status)
	}
	u.p.Dialogs()
	u.setChecked(field("confirm"), true)
	u.submit(`form[action="/feed/rotate"] [type=submit]`, 200, "rotate the feed")
	if d := u.p.Dialogs(); len(d) != 1 {
		u.t.Errorf("the rotation asked %q, want one confirmation", d)
	}
	fresh := feedURL.FindString(u.html())
	if fresh == "" || fresh == old {
		u.t.Fatalf("after rotation the page shows the feed URL %q (was %q)", fresh, old)
	}
	if status := httpStatus(u.t, old); status != 404 {
		u.t.Errorf("GET the old feed URL: %d, want 404", status)
	}
	if status := httpStatus(u.t, fresh); status != 200 {
		u.t.Errorf("GET the new feed URL: %d, want 200", status)
	}
}

// html is the page's markup.
func (u *webUser) html() string {
	u.t.Helper()
	return browsertest.Value(u.p, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
}

// httpStatus answers the status of a GET of url outside the browser.
func httpStatus(tb testing.TB, url string) int {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// screenshotDir is where TestScreenshots writes, relative to this package.
const screenshotDir = "../../docs/screenshots"

// TestScreenshots renders the main pages at phone and desktop width into
// docs/screenshots/ as PNG files, with the clock stopped and the same data
// every run. It runs only when FOLLOWUP_SCREENSHOTS=1:
//
//	FOLLOWUP_SCREENSHOTS=1 go test ./cmd/followup -run TestScreenshots
func TestScreenshots(t *testing.T) {
	if os.Getenv("FOLLOWUP_SCREENSHOTS") != "1" {
		t.Skip("FOLLOWUP_SCREENSHOTS=1 writes the screenshots in docs/screenshots/")
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := browsertest.Start(t)
	clock := testclock.New(browserNow)
	// A public base URL, so that feed links look as they would and do not
	// carry the test's random port.
	// Seeded tokens, so that the feed address and its QR code are the same
	// every run too.
	random := rand.NewChaCha8([32]byte{'f', 'o', 'l', 'l', 'o', 'w', 'u', 'p'})
	app := runBrowserAppClock(t, clock, random, map[string]string{"FOLLOWUP_BASE_URL": "https://followup.example.com"})
	views := []struct {
		name string
		u    *webUser
	}{
		{"phone", &webUser{t: t, p: b.NewPage(t, phone), base: app.URL()}},
		{"desktop", &webUser{t: t, p: b.NewPage(t, desktop), base: app.URL()}},
	}
	shoot := func(name, path string) {
		for _, v := range views {
			v.u.open(path, 200)
			v.u.p.Screenshot(filepath.Join(screenshotDir, name+"-"+v.name+".png"))
		}
	}
	shoot("setup", "/setup")
	views[0].u.setup("ada@example.com", "correct horse battery") // the tabs share the session cookie
	id := screenshotData(t, app, clock)
	for _, pg := range []struct{ name, path string }{
		{"today", "/"},
		{"log", "/commitments/new"},
		{"commitment", "/commitments/" + id},
		{"commitments", "/commitments"},
		{"agenda", "/agenda"},
		{"progress", "/progress"},
		{"settings", "/settings"},
		{"feed", "/feed"},
		{"calendar", "/calendar"},
	} {
		shoot(pg.name, pg.path)
	}
}

// screenshotData logs the same commitments every run, over the API: two a
// week before the stopped clock (one kept and answered, one let go) and
// five today, one of them already contacted and one with a long name and a
// long promise. It returns the id of the first of today's.
func screenshotData(t *testing.T, app *testApp, clock *testclock.Clock) string {
	t.Helper()
	clock.Set(browserNow.AddDate(0, 0, -7))
	token, err := app.Service.CreateToken(context.Background(), "ada@example.com", "screenshots")
	if err != nil {
		t.Fatal(err)
	}
	post := func(body map[string]any) int64 {
		var c commitmentJSON
		if resp := do(t, "POST", app.URL()+"/api/v1/commitments", token, body, &c); resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %v: %d", body, resp.StatusCode)
		}
		return c.ID
	}
	act := func(id int64, action string) {
		if resp := do(t, "POST", app.URL()+"/api/v1/commitments/"+itoa(id)+"/actions", token, map[string]string{"action": action}, nil); resp.StatusCode != 200 {
			t.Fatalf("%s %d: %d", action, id, resp.StatusCode)
		}
	}
	kept := post(map[string]any{"contact": map[string]any{"name": "Grace Hopper", "company": "Navy"}, "promise": "Send the compiler notes", "due_text": "tomorrow", "met_where": "Web Summit"})
	lost := post(map[string]any{"contact": map[string]any{"name": "Alan Turing"}, "promise": "Follow up about the reading group", "due_text": "in 3 days", "met_where": "Web Summit"})
	clock.Set(browserNow.AddDate(0, 0, -6))
	act(kept, "contacted")
	act(kept, "delivered")
	act(kept, "replied")
	clock.Set(browserNow.AddDate(0, 0, -4))
	act(lost, "let_go")

	clock.Set(browserNow.Add(-3 * time.Hour))
	met := browserNow.Add(-4 * time.Hour).Format(time.RFC3339)
	first := post(map[string]any{"contact": map[string]any{"name": "Jane Doe", "email": "jane@example.com", "company": "Acme"}, "promise": "Send the pricing deck",
		"due_text": "by Friday", "priority": true, "met_where": "SaaStr, booth 12", "met_at": met, "notes": "Possible client; wants the annual plan."})
	post(map[string]any{"contact": map[string]any{"name": "Bob Builder"}, "promise": "Send the intro to their designer", "direction": "theirs", "due_text": "tomorrow", "met_where": "SaaStr, booth 12", "met_at": met})
	post(map[string]any{"contact": map[string]any{"name": "Carol Danvers"}, "promise": "Coffee to talk about the pilot", "due_text": "in 3 days", "met_where": "SaaStr, booth 12", "met_at": met,
		"meeting": map[string]any{"start": browserNow.AddDate(0, 0, 2).Add(-4*time.Hour - 30*time.Minute).Format(time.RFC3339), "minutes": 30, "location": "Blue Bottle, Market St"}})
	post(map[string]any{"contact": map[string]any{"name": "Maximiliane Wolfeschlegelsteinhausenbergerdorff", "company": "Internationale Handelsgesellschaft"},
		"promise":  "Send the full write-up of the procurement workflow, with the three vendor comparisons and https://example.com/a-very-long-link-without-spaces",
		"due_text": "next week", "met_where": "SaaStr, booth 12", "met_at": met})
	dan := post(map[string]any{"contact": map[string]any{"name": "Dan Abramov"}, "promise": "Share the case study", "due_text": "in 2 days", "met_where": "SaaStr, booth 12", "met_at": met})
	clock.Set(browserNow.Add(-time.Hour))
	act(dan, "contacted")
	clock.Set(browserNow)
	return itoa(first)
}

// everyPage visits the pages the flows did not, each held to check's
// standard.
func (u *webUser) everyPage(id string) {
	for _, path := range []string{
		"/", "/commitments?status=open&starred=1", "/commitments?direction=theirs&q=Bob",
		"/commitments/" + id, "/progress", "/settings", "/feed", "/calendar",
	} {
		if got := u.p.Open(u.base + path); got != 200 {
			u.t.Errorf("GET %s: %d, want 200", path, got)
			continue
		}
		u.check(path)
	}
}

// phoneLayout holds the pages to a phone's screen: the menu is one row
// with the current page in view, nothing is wider than the screen, the
// charts' text is big enough to read and inside the chart, and Tab never
// leaves a menu link hidden under "+ Log" or past the edge.
func (u *webUser) phoneLayout() {
	for _, path := range []string{"/", "/agenda", "/commitments", "/progress", "/settings", "/feed"} {
		u.open(path, 200)
		if msg := browsertest.Value(u.p, chromedp.Evaluate[string](phoneLayoutJS)); msg != "" {
			u.t.Errorf("%s at phone width: %s", path, msg)
		}
	}
	u.open("/settings", 200)
	for i := 0; i < 14; i++ {
		u.p.Do(chromedp.KeyEvent(kb.Tab))
		if msg := browsertest.Value(u.p, chromedp.Evaluate[string](menuFocusJS)); msg != "" {
			u.t.Errorf("Tab %d on /settings: %s", i+1, msg)
		}
	}
}

// phoneLayoutJS answers what is wrong with the page's layout, "" if nothing.
const phoneLayoutJS = `(() => {
	const bad = [];
	const header = document.querySelector("header").getBoundingClientRect();
	if (header.height > 80) bad.push("the header is " + Math.round(header.height) + " px high");
	if (document.documentElement.scrollWidth > innerWidth) bad.push("the page is " + document.documentElement.scrollWidth + " px wide");
	const ul = document.querySelector("nav ul"), cur = ul.querySelector('[aria-current="page"]');
	if (cur) {
		const r = cur.getBoundingClientRect(), box = ul.getBoundingClientRect();
		if (r.left < box.left || r.right > box.right - 16) bad.push("the current page's link is out of view");
	}
	const small = [...document.querySelectorAll(".chart text")].find(t => t.getBoundingClientRect().height < 10);
	if (small) bad.push("chart text " + JSON.stringify(small.textContent) + " is " + small.getBoundingClientRect().height.toFixed(1) + " px high");
	const cut = [...document.querySelectorAll(".chart text")].find(t => {
		const r = t.getBoundingClientRect(), svg = t.ownerSVGElement.getBoundingClientRect();
		return r.left < svg.left || r.right > svg.right;
	});
	if (cut) bad.push("chart text " + JSON.stringify(cut.textContent) + " is cut at the chart's edge");
	return bad.join("; ");
})()`

// menuFocusJS answers where a focused menu link hides, "" if it does not.
const menuFocusJS = `(() => {
	const a = document.activeElement, ul = document.querySelector("nav ul");
	if (!ul.contains(a) || ul.firstElementChild.contains(a)) return "";
	const r = a.getBoundingClientRect(), box = ul.getBoundingClientRect();
	const first = ul.firstElementChild.getBoundingClientRect();
	if (r.left < first.right || r.right > box.right) return JSON.stringify(a.textContent) + " is focused at x " + Math.round(r.left) + "–" + Math.round(r.right) + ", out of view";
	return "";
})()`

// badInput posts the log form with a deadline nobody can read: the form
// comes back with 422, the message beside the field and the input kept.
func (u *webUser) badInput() {
	u.open("/commitments/new", 200)
	u.typeInto("contact.name", "Erin Example")
	u.typeInto("promise", "Send the slides")
	u.typeInto("due_text", "when pigs fly")
	u.submit(`form[action="/commitments"] [type=submit]`, 422, "log with a bad deadline")
	if got := u.value("contact.name"); got != "Erin Example" {
		u.t.Errorf("the name was not kept: %q", got)
	}
	if got := u.value("due_text"); got != "when pigs fly" {
		u.t.Errorf("the deadline was not kept: %q", got)
	}
	invalid := browsertest.Value(u.p, chromedp.Evaluate[string](`document.querySelector('[name=due_text]').getAttribute("aria-invalid") || ""`))
	if invalid != "true" {
		u.t.Errorf("the deadline field is not marked invalid")
	}
	msg := browsertest.Value(u.p, chromedp.Evaluate[string](`(() => {
		const f = document.querySelector('[name=due_text]');
		const ids = (f.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
		return ids.map(id => document.getElementById(id)?.textContent || "").join(" ").trim();
	})()`))
	if msg == "" {
		u.t.Errorf("the deadline field names no message (aria-describedby)")
	}
}

// signOutAndIn signs out with the menu's button and back in on /login.
func (u *webUser) signOutAndIn(email, password string) {
	u.submit(`form[action="/logout"] [type=submit]`, 200, "sign out")
	u.open("/agenda", 200)
	if got := u.path(); !strings.HasPrefix(got, "/login") {
		u.t.Fatalf("signed out, /agenda shows %s, want /login", got)
	}
	u.typeInto("email", email)
	u.typeInto("password", password)
	u.submit(`form[action="/login"] [type=submit]`, 200, "sign in")
	if got := u.path(); got != "/agenda" && got != "/" {
		u.t.Errorf("signed in, the app shows %s", got)
	}
}

// keyboardOnly logs a promise without the mouse: the skip link, Tab from
// field to field, typing, and Enter to send.
func (u *webUser) keyboardOnly() {
	u.open("/commitments/new", 200)
	focused := u.focused
	u.skipToMain()
	if got := focused(); got != "text" {
		u.t.Fatalf("skip link then Tab focuses %q, want the one-line field", got)
	}
	u.p.Do(chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
	if got := focused(); got != "contact.name" {
		u.t.Fatalf("the one-line form then Tab focuses %q, want the name field", got)
	}
	u.p.Do(chromedp.KeyEvent("Kim Keyboard"), chromedp.KeyEvent(kb.Tab))
	if got := focused(); got != "promise" {
		u.t.Fatalf("Tab from the name focuses %q, want the promise", got)
	}
	u.p.Do(chromedp.KeyEvent("Send the keyboard notes"))
	for i := 0; focused() != "due_text"; i++ {
		if i == 5 {
			u.t.Fatalf("five Tabs from the promise do not reach the deadline; focus is on %q", focused())
		}
		u.p.Do(chromedp.KeyEvent(kb.Tab))
	}
	u.p.Do(chromedp.KeyEvent("tomorrow"))
	if got := u.p.Load(chromedp.KeyEvent(kb.Enter)); got != 200 {
		u.t.Fatalf("Enter in the form answered %d", got)
	}
	if !commitmentPath.MatchString(u.path()) || !strings.Contains(u.text(), "Kim Keyboard") {
		u.t.Fatalf("Enter led to %s, want Kim Keyboard's page", u.path())
	}
	u.check("commitment logged by keyboard")
}

// focused names the focused element: its name, else its href, else its tag.
func (u *webUser) focused() string {
	u.t.Helper()
	return browsertest.Value(u.p, chromedp.Evaluate[string](`(e => e.getAttribute("name") || e.getAttribute("href") || e.tagName)(document.activeElement)`))
}

// skipToMain tabs to the skip link, follows it, and tabs into the page's
// content.
func (u *webUser) skipToMain() {
	u.t.Helper()
	u.p.Do(chromedp.KeyEvent(kb.Tab))
	if got := u.focused(); got != "#main" {
		u.t.Fatalf("the first Tab focuses %q, want the skip link to #main", got)
	}
	u.p.Do(chromedp.KeyEvent(kb.Enter), chromedp.KeyEvent(kb.Tab))
}

// quickAdd logs a promise in one line from the start page without the
// mouse: the skip link, Tab to the line, typing, and Enter; the page that
// follows is the commitment's and shows how the line was read.
func (u *webUser) quickAdd() {
	u.open("/", 200)
	u.skipToMain()
	if got := u.focused(); got != "text" {
		u.t.Fatalf("skip link then Tab on the start page focuses %q, want the one-line field", got)
	}
	u.p.Do(chromedp.KeyEvent("Quinn Quick (Initech): send the roadmap by Friday *"))
	preview := func() string {
		return browsertest.Value(u.p, chromedp.Evaluate[string](`document.getElementById("quick-preview").textContent`))
	}
	for i := 0; !strings.Contains(preview(), "Initech"); i++ {
		if i == 100 {
			u.t.Fatalf("the live preview does not show the company after 10 s: %q", preview())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := u.p.Load(chromedp.KeyEvent(kb.Enter)); got != 200 {
		u.t.Fatalf("Enter in the one-line form answered %d", got)
	}
	if !commitmentPath.MatchString(u.path()) {
		u.t.Fatalf("Enter led to %s, want the commitment's page", u.path())
	}
	txt := u.text()
	for _, want := range []string{"Read as:", "Quinn Quick", "Initech", "Send the roadmap", "by Friday"} {
		if !strings.Contains(txt, want) {
			u.t.Errorf("the page after a one-line log lacks %q:\n%s", want, txt)
		}
	}
	u.check("commitment logged in one line")
}

// contactFromCard picks a vCard file on the log form: the page's script
// reads it at once (the "Read card" button without script), the contact
// fields come back filled and what was typed is kept; the form then logs
// the promise with that contact.
func (u *webUser) contactFromCard() {
	card := filepath.Join(u.t.TempDir(), "carla.vcf")
	vcf := "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Carla Card\r\nORG:Globex\r\nEMAIL:carla@globex.example\r\nEND:VCARD\r\n"
	if err := os.WriteFile(card, []byte(vcf), 0o600); err != nil {
		u.t.Fatal(err)
	}
	u.open("/commitments/new", 200)
	u.typeInto("promise", "Send the card reader demo")
	u.p.Do(chromedp.Click(chromedp.CSS("details.card summary")))
	if got := u.p.Load(chromedp.SetUploadFiles(field("vcard_file"), []string{card})); got != 200 {
		u.t.Fatalf("picking a card answered %d, want the form again (200)", got)
	}
	u.check("log form with a card read")
	for name, want := range map[string]string{"contact.name": "Carla Card", "contact.company": "Globex", "contact.email": "carla@globex.example", "promise": "Send the card reader demo"} {
		if got := u.value(name); got != want {
			u.t.Errorf("after reading the card, %s is %q, want %q", name, got, want)
		}
	}
	u.submit(`form[action="/commitments"] [type=submit]`, 200, "log with the card's contact")
	if txt := u.text(); !commitmentPath.MatchString(u.path()) || !strings.Contains(txt, "carla@globex.example") {
		u.t.Errorf("logging with the card's contact led to %s:\n%s", u.path(), txt)
	}
}

// standingHabit switches the weekly review on in the settings, on Tuesdays
// instead of Mondays, and finds it saved.
func (u *webUser) standingHabit() {
	u.open("/settings", 200)
	u.setChecked(`[name="habits.weekly_review.enabled"]`, true)
	u.setChecked(`[name="habits.weekly_review.days"][value="mon"]`, false)
	u.setChecked(`[name="habits.weekly_review.days"][value="tue"]`, true)
	u.submit(`form[action="/settings"] [type=submit]`, 200, "save a standing habit")
	if txt := u.text(); !strings.Contains(txt, "Settings saved") {
		u.t.Fatalf("saving a habit did not say so:\n%s", txt)
	}
	for sel, want := range map[chromedp.CSS]bool{
		`[name="habits.weekly_review.enabled"]`:           true,
		`[name="habits.weekly_review.days"][value="mon"]`: false,
		`[name="habits.weekly_review.days"][value="tue"]`: true,
	} {
		if got := browsertest.Value(u.p, chromedp.JavascriptAttribute[bool](sel, "checked")); got != want {
			u.t.Errorf("after saving, %s is checked %v, want %v", sel, got, want)
		}
	}
}

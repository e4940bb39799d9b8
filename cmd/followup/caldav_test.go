package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
	"github.com/followup/followup/internal/davtest"
)

// countingProxy sits in front of a CalDAV server and counts requests.
type countingProxy struct {
	*httptest.Server
	n atomic.Int64
}

func newCountingProxy(tb testing.TB, target string) *countingProxy {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &countingProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.n.Add(1)
		rp.ServeHTTP(w, r)
	}))
	tb.Cleanup(p.Close)
	return p
}

// rebase rewrites a URL on the proxy to the same path on the real server.
func rebase(u, from, to string) string {
	return strings.Replace(u, strings.TrimRight(from, "/"), strings.TrimRight(to, "/"), 1)
}

// onServers runs test on Radicale and on Xandikos, each started afresh.
func onServers(t *testing.T, test func(*testing.T, davtest.Server)) {
	for _, start := range []func(testing.TB) davtest.Server{davtest.Radicale, davtest.Xandikos} {
		srv := start(t)
		t.Run(srv.Name, func(t *testing.T) { test(t, srv) })
	}
}

// makeCalendar creates a calendar on the account as another client would.
func makeCalendar(tb testing.TB, acct followup.CalDAVAccount, name string) followup.Calendar {
	tb.Helper()
	ctx := context.Background()
	other := caldav.New(http.DefaultClient)
	disc, err := other.Discover(ctx, acct)
	if err != nil {
		tb.Fatal(err)
	}
	cal, err := other.CreateCalendar(ctx, acct, disc.HomeSet, name)
	if err != nil {
		tb.Fatal(err)
	}
	return cal
}

// calDAVEnv is what the tests against real CalDAV servers run the app
// with: private hosts allowed (the servers listen on 127.0.0.1), and no
// background sync, so that only the syncs a test asks for run.
var calDAVEnv = map[string]string{"FOLLOWUP_ALLOW_PRIVATE_HOSTS": "true", "FOLLOWUP_SYNC_INTERVAL": "0"}

// runCalDAVApp makes the user ada@example.com in zone, with an API token,
// and runs the app with calDAVEnv.
func runCalDAVApp(tb testing.TB, zone string) (*testApp, string) {
	tb.Helper()
	dir := tb.TempDir()
	cli(tb, dir, "user", "add", "--email", "ada@example.com", "--password", "correct horse", "--timezone", zone)
	token := strings.TrimSpace(cli(tb, dir, "token", "create", "--email", "ada@example.com"))
	return MustRunMain(tb, dir, calDAVEnv), token
}

// connectCalDAV connects the user's account on the server at url (the
// server itself or a proxy in front of it) with srv's credentials, through
// the API.
func connectCalDAV(tb testing.TB, base, token, url string, srv davtest.Server) caldavConnJSON {
	tb.Helper()
	var conn caldavConnJSON
	if resp := do(tb, "PUT", base+"/api/v1/caldav", token, map[string]any{"url": url, "username": srv.Username, "password": srv.Password}, &conn); resp.StatusCode != 200 {
		tb.Fatalf("connect: %d %+v", resp.StatusCode, conn)
	}
	return conn
}

type caldavConnJSON struct {
	Calendar      string              `json:"calendar"`
	Calendars     []followup.Calendar `json:"calendars"`
	BusyCalendars []string            `json:"busy_calendars"`
	LastSyncAt    *time.Time          `json:"last_sync_at"`
	LastError     string              `json:"last_error"`
}

// TestCalDAVSync runs the whole app against real CalDAV servers: connect,
// write blocks, read them back with the server's own view, move a block
// with a recurring busy meeting, move and delete events as another client
// would, and let go.
func TestCalDAVSync(t *testing.T) {
	onServers(t, testCalDAVSync)
}

func testCalDAVSync(t *testing.T, srv davtest.Server) {
	ctx := context.Background()
	proxy := newCountingProxy(t, srv.URL)
	other := caldav.New(http.DefaultClient) // another client, straight to the server
	acct := followup.CalDAVAccount{URL: srv.URL, Username: srv.Username, Password: srv.Password}

	// A "Work" calendar with a weekly meeting, before followup connects.
	work := makeCalendar(t, acct, "Work")

	app, token := runCalDAVApp(t, "America/New_York")
	base := app.URL()

	// Wrong password: a 4xx that says so.
	var bad map[string]map[string]string
	resp := do(t, "PUT", base+"/api/v1/caldav", token, map[string]any{"url": proxy.URL, "username": srv.Username, "password": "wrong"}, &bad)
	if resp.StatusCode/100 != 4 || bad["error"]["field"] != "password" {
		t.Fatalf("wrong password: %d %v", resp.StatusCode, bad)
	}

	var conn caldavConnJSON
	resp = do(t, "PUT", base+"/api/v1/caldav", token, map[string]any{"url": proxy.URL, "username": srv.Username, "password": srv.Password}, &conn)
	if resp.StatusCode != 200 || conn.Calendar == "" {
		t.Fatalf("connect: %d %+v", resp.StatusCode, conn)
	}
	calURL := rebase(conn.Calendar, proxy.URL, srv.URL)
	var busy []string
	for _, b := range conn.BusyCalendars {
		busy = append(busy, rebase(b, proxy.URL, srv.URL))
	}
	if !slices.Contains(busy, work.URL) || slices.Contains(busy, calURL) {
		t.Fatalf("busy calendars %v, want the Work calendar %s and not %s", busy, work.URL, calURL)
	}
	raw := do(t, "GET", base+"/api/v1/caldav", token, nil, &conn)
	if raw.StatusCode != 200 {
		t.Fatalf("GET caldav: %d", raw.StatusCode)
	}

	// Commitments: every block appears on the server.
	var created []commitmentJSON
	latencies := []time.Duration{}
	for i, name := range []string{"Jane Doe", "Bob Builder", "Carol Danvers"} {
		var c commitmentJSON
		before := proxy.n.Load()
		t0 := time.Now()
		do(t, "POST", base+"/api/v1/commitments", token, map[string]any{
			"contact": map[string]any{"name": name}, "promise": fmt.Sprintf("Send deck %d", i), "due_text": "in 3 days",
		}, &c)
		if len(c.Steps) == 0 {
			t.Fatalf("no steps: %+v", c)
		}
		waitFor(t, 20*time.Second, func() bool { return countLive(t, other, acct, calURL, c) == liveBlocks(c) })
		latencies = append(latencies, time.Since(t0))
		t.Logf("%s: commitment %d visible after %v with %d CalDAV requests for %d blocks", srv.Name, c.ID, time.Since(t0), proxy.n.Load()-before, liveBlocks(c))
		created = append(created, c)
	}
	remote, err := other.ListEvents(ctx, acct, calURL)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, c := range created {
		want += liveBlocks(c)
	}
	if len(remote) != want {
		t.Fatalf("server holds %d objects, want %d", len(remote), want)
	}

	// The server's own view of one object: UID, times and a reminder.
	first := firstBlock(created[0])
	obj := getRaw(t, srv, calURL, first.UID)
	for _, want := range []string{"UID:" + first.UID, "BEGIN:VALARM", "TRIGGER:-PT10M"} {
		if !strings.Contains(unfold(obj), want) {
			t.Errorf("object lacks %q:\n%s", want, obj)
		}
	}
	got := current(t, base, token, created[0].ID, first.UID)

	// A weekly meeting in the Work calendar over that block moves it. The
	// sync queued by connecting may have been put off while the blocks
	// were written: it runs first, so that the sync below is the one that
	// finds the meeting.
	idle(t, app)
	y, m, d := got.Start.In(mustZone("America/New_York")).Date()
	hh, mm, _ := got.Start.In(mustZone("America/New_York")).Clock()
	meeting := fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:weekly-standup\r\nDTSTAMP:20261101T000000Z\r\n"+
		"DTSTART;TZID=America/New_York:%04d%02d%02dT%02d%02d00\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		y, m, d, hh, mm)
	putRaw(t, srv, work.URL+"weekly-standup.ics", meeting, "")
	var rep followup.SyncReport
	do(t, "POST", base+"/api/v1/sync", token, nil, &rep)
	if rep.Moved == 0 {
		t.Errorf("sync after a new busy meeting moved nothing: %+v", rep)
	}
	moved := current(t, base, token, created[0].ID, first.UID)
	if moved.Start.Equal(got.Start) {
		t.Fatalf("block %s still at %v under the meeting", first.UID, got.Start)
	}
	if r, err := other.GetEvent(ctx, acct, calURL, first.UID); err != nil || !r.Start.Equal(moved.Start) {
		t.Errorf("server shows %v (%v), followup %v", r.Start, err, moved.Start)
	}

	// Another client moves a block: followup keeps the user's time.
	second := firstBlock(created[1])
	userTime := time.Date(y, m, d, 16, 0, 0, 0, mustZone("America/New_York")).AddDate(0, 0, 1)
	editTimes(t, srv, calURL, second.UID, userTime, userTime.Add(20*time.Minute))
	do(t, "POST", base+"/api/v1/sync", token, nil, &rep)
	if rep.Adopted != 1 {
		t.Errorf("adopted %d, want 1: %+v", rep.Adopted, rep)
	}
	if got := current(t, base, token, created[1].ID, second.UID); !got.Start.Equal(userTime) {
		t.Errorf("block moved by the user is at %v, want %v", got.Start, userTime)
	}
	if r, _ := other.GetEvent(ctx, acct, calURL, second.UID); !r.Start.Equal(userTime) {
		t.Errorf("followup overwrote the user's move: server shows %v", r.Start)
	}

	// Another client deletes a block: it counts as done.
	third := firstBlock(created[2])
	deleteRaw(t, srv, calURL, third.UID)
	do(t, "POST", base+"/api/v1/sync", token, nil, &rep)
	if rep.Removed != 1 {
		t.Errorf("removed %d, want 1: %+v", rep.Removed, rep)
	}
	if got := current(t, base, token, created[2].ID, third.UID); got.Status != "done" {
		t.Errorf("deleted block is %s, want done", got.Status)
	}

	// An idle sync costs one request per calendar.
	do(t, "POST", base+"/api/v1/sync", token, nil, &rep)
	before := proxy.n.Load()
	do(t, "POST", base+"/api/v1/sync", token, nil, &rep)
	idle := proxy.n.Load() - before
	cals := int64(len(conn.BusyCalendars) + 1)
	t.Logf("%s: idle sync made %d requests for %d calendars (report %+v)", srv.Name, idle, cals, rep)
	if idle > cals {
		t.Errorf("idle sync made %d requests, want at most %d (one per calendar)", idle, cals)
	}

	// Let go: every future object leaves the server.
	var after commitmentJSON
	do(t, "POST", base+"/api/v1/commitments/"+itoa(created[0].ID)+"/actions", token, map[string]string{"action": "let_go"}, &after)
	waitFor(t, 20*time.Second, func() bool { return countLive(t, other, acct, calURL, created[0]) == 0 })

	// Delete: the same.
	do(t, "DELETE", base+"/api/v1/commitments/"+itoa(created[1].ID), token, nil, nil)
	waitFor(t, 20*time.Second, func() bool { return countLive(t, other, acct, calURL, created[1]) == 0 })

	var final caldavConnJSON
	do(t, "GET", base+"/api/v1/caldav", token, nil, &final)
	if final.LastSyncAt == nil || final.LastError != "" {
		t.Errorf("connection status: last sync %v, last error %q", final.LastSyncAt, final.LastError)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	t.Logf("%s: POST to visible: p50 %v, max %v", srv.Name, latencies[len(latencies)/2], latencies[len(latencies)-1])
}

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// liveBlocks counts a commitment's steps that calendars show.
func liveBlocks(c commitmentJSON) int {
	n := 0
	for _, s := range c.Steps {
		if s.Kind != "let_go" && s.Kind != "close" && (s.Status == "planned" || s.Status == "synced") {
			n++
		}
	}
	return n
}

// firstBlock returns the commitment's first block step.
func firstBlock(c commitmentJSON) stepJSON {
	for _, s := range c.Steps {
		if s.Kind != "let_go" && s.Kind != "close" {
			return s
		}
	}
	panic("no block")
}

// countLive counts the commitment's steps present on the server.
func countLive(tb testing.TB, cl *caldav.Client, acct followup.CalDAVAccount, calURL string, c commitmentJSON) int {
	evs, err := cl.ListEvents(context.Background(), acct, calURL)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		for _, s := range c.Steps {
			if s.UID == ev.UID {
				n++
			}
		}
	}
	return n
}

// current reads one step of a commitment from the API.
func current(tb testing.TB, base, token string, id int64, uid string) stepJSON {
	var c commitmentJSON
	do(tb, "GET", base+"/api/v1/commitments/"+itoa(id), token, nil, &c)
	for _, s := range c.Steps {
		if s.UID == uid {
			return s
		}
	}
	tb.Fatalf("step %s not found", uid)
	return stepJSON{}
}

func waitFor(tb testing.TB, d time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met within %v", d)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// objectHref finds the href of the object with uid on the server.
func objectHref(tb testing.TB, srv davtest.Server, calURL, uid string) (string, string) {
	acct := followup.CalDAVAccount{URL: srv.URL, Username: srv.Username, Password: srv.Password}
	ev, err := caldav.New(http.DefaultClient).GetEvent(context.Background(), acct, calURL, uid)
	if err != nil {
		tb.Fatalf("get %s: %v", uid, err)
	}
	return ev.Href, ev.ETag
}

func rawRequest(tb testing.TB, srv davtest.Server, method, href, body string, header map[string]string) (*http.Response, string) {
	tb.Helper()
	req, _ := http.NewRequest(method, href, strings.NewReader(body))
	req.SetBasicAuth(srv.Username, srv.Password)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func getRaw(tb testing.TB, srv davtest.Server, calURL, uid string) string {
	href, _ := objectHref(tb, srv, calURL, uid)
	_, body := rawRequest(tb, srv, "GET", href, "", nil)
	return body
}

func putRaw(tb testing.TB, srv davtest.Server, href, body, ifMatch string) {
	h := map[string]string{"Content-Type": "text/calendar; charset=utf-8"}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	resp, msg := rawRequest(tb, srv, "PUT", href, body, h)
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("PUT %s: %d %s", href, resp.StatusCode, msg)
	}
}

func deleteRaw(tb testing.TB, srv davtest.Server, calURL, uid string) {
	href, _ := objectHref(tb, srv, calURL, uid)
	resp, msg := rawRequest(tb, srv, "DELETE", href, "", nil)
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("DELETE %s: %d %s", href, resp.StatusCode, msg)
	}
}

var dtLine = regexp.MustCompile(`(?m)^(DTSTART|DTEND)[^:\r\n]*:[0-9TZ]+\r?$`)

// editTimes moves an object as a calendar app would: new DTSTART/DTEND, If-Match.
func editTimes(tb testing.TB, srv davtest.Server, calURL, uid string, start, end time.Time) {
	href, etag := objectHref(tb, srv, calURL, uid)
	_, body := rawRequest(tb, srv, "GET", href, "", nil)
	body = unfold(body)
	body = dtLine.ReplaceAllStringFunc(body, func(line string) string {
		name := "DTSTART"
		t := start
		if strings.HasPrefix(line, "DTEND") {
			name, t = "DTEND", end
		}
		return name + ":" + t.UTC().Format("20060102T150405Z") + "\r"
	})
	putRaw(tb, srv, href, body, etag)
}

func unfold(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n ", ""), "\r\n\t", "")
}

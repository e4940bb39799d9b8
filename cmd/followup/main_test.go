package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/followup/followup/ics"
	"github.com/followup/followup/internal/pgtest"
	"github.com/followup/followup/internal/testenv"
	"github.com/followup/followup/service"
)

// testApp is the real program from this package, serving on 127.0.0.1:0
// with a database in a temp dir.
type testApp struct {
	*Main
	dir    string
	cancel context.CancelFunc
	done   chan error
	logs   *testenv.SyncBuffer
}

// testStart is where a test's clock starts unless the test sets another: a
// Tuesday morning, so that no test depends on the hour it runs at.
var testStart = time.Date(2026, time.November, 17, 8, 30, 0, 0, time.UTC)

// clocks holds each test directory's clock, shared by the CLI code path and
// the server of that directory.
var clocks sync.Map

// setClock starts dir's clock at start; from there it runs at the real pace,
// so that timeouts and leases behave as in production.
func setClock(dir string, start time.Time) func() time.Time {
	real0 := time.Now()
	now := func() time.Time { return start.Add(time.Since(real0)) }
	clocks.Store(dir, now)
	return now
}

// clockFor returns dir's clock, starting one at testStart if none is set.
func clockFor(dir string) func() time.Time {
	if now, ok := clocks.Load(dir); ok {
		return now.(func() time.Time)
	}
	return setClock(dir, testStart)
}

// env returns a getenv for a config in dir plus extra variables.
func env(dir string, extra map[string]string) func(string) string {
	vars := map[string]string{
		"FOLLOWUP_ADDR":        "127.0.0.1:0",
		"FOLLOWUP_DATABASE":    "sqlite:" + filepath.Join(dir, "followup.db"),
		"FOLLOWUP_SECRET_FILE": filepath.Join(dir, "secret.key"),
		"FOLLOWUP_LOG_LEVEL":   "debug",
	}
	for k, v := range extra {
		vars[k] = v
	}
	return func(k string) string { return vars[k] }
}

// MustRunMain starts the app as `followup serve` would, on 127.0.0.1:0.
func MustRunMain(tb testing.TB, dir string, extra map[string]string) *testApp {
	tb.Helper()
	fs, cfg := parseTestConfig(tb, env(dir, extra))
	_ = fs
	logs := &testenv.SyncBuffer{}
	m := NewMain(cfg, io.Discard, logs)
	m.Now = clockFor(dir)
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		tb.Fatal(err)
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

func (a *testApp) stop() {
	if a.cancel == nil {
		return
	}
	a.cancel()
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
	}
	a.Close()
	a.cancel = nil
}

// cli runs a command line through run, the code path of the binary.
func cli(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, sys{stdout: &out, stderr: &errOut, getenv: env(dir, nil), now: clockFor(dir)}); err != nil {
		tb.Fatalf("followup %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// do sends a JSON request and decodes a JSON answer into v (if not nil).
func do(tb testing.TB, method, url, token string, body any, v any) *http.Response {
	tb.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			tb.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp
}

type stepJSON struct {
	ID     int64     `json:"id"`
	Kind   string    `json:"kind"`
	Status string    `json:"status"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	UID    string    `json:"uid"`
	Late   bool      `json:"late"`
}

type commitmentJSON struct {
	ID       int64      `json:"id"`
	Status   string     `json:"status"`
	Steps    []stepJSON `json:"steps"`
	Warnings []string   `json:"warnings"`
}

// TestEndToEnd runs the whole app: a user and token through the CLI code
// path, commitments over HTTP, and the feed read back and parsed. It runs at
// fixed clocks (the app's clock then runs at the real pace): the hours at
// which a later commitment re-plans an earlier one, the nights of both DST
// changes in Berlin and New York, and the turn of the year.
func TestEndToEnd(t *testing.T) {
	berlin, newYork := mustZone("Europe/Berlin"), mustZone("America/New_York")
	for _, tc := range []struct {
		name string
		loc  *time.Location
		at   time.Time
	}{
		{"weekday morning", berlin, time.Date(2026, 11, 17, 8, 30, 0, 0, berlin)},
		{"Friday 16:55", berlin, time.Date(2026, 11, 20, 16, 55, 0, 0, berlin)},
		{"Saturday 23:00", berlin, time.Date(2026, 11, 21, 23, 0, 0, 0, berlin)},
		{"Sunday 21:40", berlin, time.Date(2026, 11, 22, 21, 40, 0, 0, berlin)},
		{"Sunday 21:40 UTC", time.UTC, time.Date(2026, 12, 6, 21, 40, 0, 0, time.UTC)},
		{"Berlin spring forward", berlin, time.Date(2026, 3, 29, 1, 45, 0, 0, berlin)},
		{"Berlin fall back", berlin, time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)}, // 02:30 CEST, the first of two
		{"New York spring forward", newYork, time.Date(2026, 3, 8, 1, 45, 0, 0, newYork)},
		{"New York fall back", newYork, time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)}, // 01:30 EDT, the first of two
		{"Dec 31 23:30", berlin, time.Date(2026, 12, 31, 23, 30, 0, 0, berlin)},
	} {
		t.Run(tc.name, func(t *testing.T) { testEndToEnd(t, tc.loc, tc.at) })
	}
}

func testEndToEnd(t *testing.T, loc *time.Location, at time.Time) {
	dir := t.TempDir()
	now := setClock(dir, at)
	cli(t, dir, "migrate")
	cli(t, dir, "user", "add", "--email", "ada@example.com", "--password", "correct horse", "--timezone", loc.String())
	token := strings.TrimSpace(cli(t, dir, "token", "create", "--email", "ada@example.com"))
	if !strings.HasPrefix(token, "fu_") || len(token) < 40 || strings.Contains(token, "\n") {
		t.Fatalf("token %q is not one line with a long random token", token)
	}
	app := MustRunMain(t, dir, nil)
	base := app.URL()

	if resp := do(t, "GET", base+"/healthz", "", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	if resp := do(t, "GET", base+"/readyz", "", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("readyz: %d", resp.StatusCode)
	}

	var created []commitmentJSON
	for _, body := range []map[string]any{
		{"contact": map[string]any{"name": "Jane Doe", "email": "jane@example.com"}, "promise": "Send the pricing deck", "due_text": "in 3 days", "priority": true, "met_where": "SaaStr, booth 12"},
		{"contact": map[string]any{"name": "Bob; the, builder"}, "promise": "Hi; see, you\nthere", "direction": "theirs", "due_text": "tomorrow"},
		{"contact": map[string]any{"name": "Carol"}, "promise": "Intro to the CTO", "due_text": "next week",
			"meeting": map[string]any{"start": now().AddDate(0, 0, 5).Truncate(time.Hour).Format(time.RFC3339), "minutes": 45, "location": "Café"}},
	} {
		var c commitmentJSON
		resp := do(t, "POST", base+"/api/v1/commitments", token, body, &c)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST: %d %+v", resp.StatusCode, c)
		}
		if len(c.Steps) < 2 {
			t.Fatalf("commitment %d has steps %+v", c.ID, c.Steps)
		}
		created = append(created, c)
	}

	var bad map[string]map[string]string
	if resp := do(t, "POST", base+"/api/v1/commitments", token, map[string]any{"contact": map[string]any{"name": "X"}, "promise": "p", "due_text": "when pigs fly"}, &bad); resp.StatusCode != 400 || bad["error"]["field"] != "due_text" {
		t.Fatalf("bad due_text: %d %v", resp.StatusCode, bad)
	}
	if resp := do(t, "GET", base+"/api/v1/commitments", "", nil, &bad); resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}

	var feed struct{ URL, Webcal string }
	do(t, "GET", base+"/api/v1/feed", token, nil, &feed)
	if !strings.HasPrefix(feed.Webcal, "webcal://") {
		t.Fatalf("webcal link %q", feed.Webcal)
	}
	resp, err := http.Get(feed.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	events, err := ics.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	// A later commitment may re-plan an earlier one's unwritten blocks, so
	// the feed is compared with the steps as they are after the last write.
	want := map[string]stepJSON{}
	for i, c := range created {
		do(t, "GET", base+"/api/v1/commitments/"+itoa(c.ID), token, nil, &created[i])
		for _, s := range created[i].Steps {
			if s.Kind != "let_go" && s.Kind != "close" {
				want[s.UID] = s
			}
		}
	}
	if len(events) != len(want) {
		t.Fatalf("feed has %d events, want %d", len(events), len(want))
	}
	for _, ev := range events {
		s, ok := want[ev.UID]
		if !ok {
			t.Fatalf("feed event %s is no step", ev.UID)
		}
		if !ev.Start.Equal(s.Start) || !ev.End.Equal(s.End) {
			t.Errorf("event %s at %v–%v, step at %v–%v", ev.UID, ev.Start, ev.End, s.Start, s.End)
		}
		if ev.AlarmMinutes != 10 {
			t.Errorf("event %s alarm %d", ev.UID, ev.AlarmMinutes)
		}
		if s.Kind != "meeting" && !inWorkHours(s.Start, s.End, loc) {
			t.Errorf("%s block %s at %v–%v is outside Monday–Friday 09:00–17:00 in %s", s.Kind, s.UID, s.Start.In(loc), s.End.In(loc), loc)
		}
		if s.Start.Before(at) {
			t.Errorf("%s block %s starts at %v, before the clock's %v", s.Kind, s.UID, s.Start.In(loc), at.In(loc))
		}
	}
	roundTrip := false
	for _, ev := range events {
		if strings.Contains(ev.Description, "Hi; see, you\nthere") {
			roundTrip = true
		}
	}
	if !roundTrip {
		t.Errorf("the promise \"Hi; see, you\\nthere\" did not round-trip through the feed")
	}

	// A conditional GET with the ETag is answered 304.
	req, _ := http.NewRequest("GET", feed.URL, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET: %d", resp2.StatusCode)
	}

	// Let go of the first: its blocks leave the feed.
	var after commitmentJSON
	do(t, "POST", base+"/api/v1/commitments/"+itoa(created[0].ID)+"/actions", token, map[string]string{"action": "let_go"}, &after)
	if after.Status != "let_go" {
		t.Fatalf("status after let_go: %s", after.Status)
	}
	resp3, _ := http.Get(feed.URL)
	body3, _ := io.ReadAll(resp3.Body)
	resp3.Body.Close()
	for _, s := range created[0].Steps {
		if bytes.Contains(body3, []byte(s.UID)) {
			t.Errorf("let-go block %s still in the feed", s.UID)
		}
	}
	if resp3.Header.Get("ETag") == resp.Header.Get("ETag") {
		t.Errorf("ETag did not change")
	}

	// Rotation kills the old URL at once.
	var rotated struct{ URL string }
	do(t, "POST", base+"/api/v1/feed/rotate", token, nil, &rotated)
	if r, _ := http.Get(feed.URL); r.StatusCode != 404 {
		t.Errorf("old feed URL: %d", r.StatusCode)
	}
	if r, _ := http.Get(rotated.URL); r.StatusCode != 200 {
		t.Errorf("new feed URL: %d", r.StatusCode)
	}
	logs := app.logs.String()
	if strings.Contains(logs, token) || strings.Contains(logs, strings.TrimSuffix(strings.TrimPrefix(feed.URL, base+"/feeds/"), ".ics")) {
		t.Errorf("logs contain a secret")
	}
	if !strings.Contains(logs, `"request_id"`) {
		t.Errorf("logs lack request ids")
	}
}

// inWorkHours reports whether start–end lies inside the default working
// hours, Monday to Friday 09:00–17:00 in loc.
func inWorkHours(start, end time.Time, loc *time.Location) bool {
	s, e := start.In(loc), end.In(loc)
	y, m, d := s.Date()
	open, closing := time.Date(y, m, d, 9, 0, 0, 0, loc), time.Date(y, m, d, 17, 0, 0, 0, loc)
	wd := s.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !s.Before(open) && !e.After(closing)
}

func itoa(n int64) string { return strconvFormat(n) }

// TestConfigErrors checks that a bad setting is named.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"FOLLOWUP_ADDR": "nope"}, "FOLLOWUP_ADDR"},
		{map[string]string{"FOLLOWUP_DATABASE": "mysql://x"}, "FOLLOWUP_DATABASE"},
		{map[string]string{"FOLLOWUP_BASE_URL": "ftp://x"}, "FOLLOWUP_BASE_URL"},
		{map[string]string{"FOLLOWUP_ALLOW_PRIVATE_HOSTS": "maybe"}, "FOLLOWUP_ALLOW_PRIVATE_HOSTS"},
		{map[string]string{"FOLLOWUP_SYNC_INTERVAL": "1s"}, "FOLLOWUP_SYNC_INTERVAL"},
		{map[string]string{"FOLLOWUP_LOG_LEVEL": "loud"}, "FOLLOWUP_LOG_LEVEL"},
		{map[string]string{"FOLLOWUP_METRICS": "maybe"}, "FOLLOWUP_METRICS"},
		{map[string]string{"FOLLOWUP_METRICS_TOKEN": "short"}, "FOLLOWUP_METRICS_TOKEN"},
		{map[string]string{"FOLLOWUP_JOB_TIMEOUT": "0s"}, "FOLLOWUP_JOB_TIMEOUT"},
		{map[string]string{"FOLLOWUP_JOB_TIMEOUT": "soon"}, "FOLLOWUP_JOB_TIMEOUT"},
		{map[string]string{"FOLLOWUP_FEED_CACHE": "lots"}, "FOLLOWUP_FEED_CACHE"},
		{map[string]string{"FOLLOWUP_FEED_CACHE": "-1MiB"}, "FOLLOWUP_FEED_CACHE"},
		{map[string]string{"FOLLOWUP_FEED_CACHE": "32MB"}, "FOLLOWUP_FEED_CACHE"},
		{map[string]string{"FOLLOWUP_FEED_CACHE": "65GiB"}, "FOLLOWUP_FEED_CACHE"},
		{map[string]string{"FOLLOWUP_PLAN_CACHE": "many"}, "FOLLOWUP_PLAN_CACHE"},
		{map[string]string{"FOLLOWUP_PLAN_CACHE": "-1"}, "FOLLOWUP_PLAN_CACHE"},
		{map[string]string{"FOLLOWUP_PLAN_CACHE": "1000000000"}, "FOLLOWUP_PLAN_CACHE"},
	} {
		dir := t.TempDir()
		err := run(context.Background(), []string{"migrate"}, sys{stdout: io.Discard, stderr: io.Discard, getenv: env(dir, tc.env), now: clockFor(dir)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v does not name %s", tc.env, err, tc.want)
		}
	}
	var out bytes.Buffer
	run(context.Background(), []string{"--help"}, sys{stdout: &out, stderr: io.Discard, getenv: env(t.TempDir(), nil), now: clockFor("")})
	for _, name := range []string{"FOLLOWUP_ADDR", "FOLLOWUP_DATABASE", "FOLLOWUP_BASE_URL", "FOLLOWUP_SECRET_FILE", "FOLLOWUP_ALLOW_PRIVATE_HOSTS", "FOLLOWUP_METRICS_TOKEN", "FOLLOWUP_FEED_CACHE", "FOLLOWUP_PLAN_CACHE", "backup --to", "user add", "token create", "token list", "token revoke", "key rotate", "--password-stdin", "--password-file", "FOLLOWUP_PASSWORD"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("--help lacks %s", name)
		}
	}
	// The secret file is made only while nothing is sealed (see TestKeyMissingOrWrong).
	if help := strings.Join(strings.Fields(out.String()), " "); !strings.Contains(help, "when absent only while the database holds no sealed secret") {
		t.Errorf("--help does not say when the secret file is created:\n%s", out.String())
	}
}

// TestCacheSettings reads the memory bounds of the feed and plan caches:
// the service's defaults unless set, sizes with units, and 0 keeping none,
// as the service it wires takes them.
func TestCacheSettings(t *testing.T) {
	for _, tc := range []struct {
		env        map[string]string
		feed       int64
		plan       int
		feedServed int64
	}{
		{nil, service.DefaultFeedCacheBytes, service.DefaultPlanCacheSteps, service.DefaultFeedCacheBytes},
		{map[string]string{"FOLLOWUP_FEED_CACHE": "64MiB", "FOLLOWUP_PLAN_CACHE": "200000"}, 64 << 20, 200_000, 64 << 20},
		{map[string]string{"FOLLOWUP_FEED_CACHE": " 512 KiB ", "FOLLOWUP_PLAN_CACHE": "10"}, 512 << 10, 10, 512 << 10},
		{map[string]string{"FOLLOWUP_FEED_CACHE": "1048576"}, 1 << 20, service.DefaultPlanCacheSteps, 1 << 20},
		{map[string]string{"FOLLOWUP_FEED_CACHE": "0", "FOLLOWUP_PLAN_CACHE": "0"}, -1, -1, -1},
	} {
		dir := t.TempDir()
		_, cfg := parseTestConfig(t, env(dir, tc.env))
		if cfg.FeedCacheBytes != tc.feed || cfg.PlanCacheRows != tc.plan {
			t.Errorf("%v: feed cache %d, plan cache %d; want %d, %d", tc.env, cfg.FeedCacheBytes, cfg.PlanCacheRows, tc.feed, tc.plan)
		}
		m := NewMain(cfg, io.Discard, io.Discard)
		m.Now = clockFor(dir)
		if err := m.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		if m.Service.FeedCacheBytes != tc.feedServed || m.Service.PlanCacheSteps != tc.plan {
			t.Errorf("%v: the service got feed cache %d, plan cache %d", tc.env, m.Service.FeedCacheBytes, m.Service.PlanCacheSteps)
		}
		m.Close()
	}
}

// TestCLIErrors checks the CLI's answers to mistakes.
func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"user", "add", "--email", "not-an-email", "--password", "longenough"},
		{"user", "add", "--email", "a@example.com", "--password", "short"},
		{"user", "add", "--email", "a@example.com", "--password", "longenough", "--timezone", "Mars/Olympus"},
		{"token", "create", "--email", "nobody@example.com"},
		{"token", "create"},
		{"frobnicate"},
	} {
		if err := run(context.Background(), args, sys{stdout: io.Discard, stderr: io.Discard, getenv: env(dir, nil), now: clockFor(dir)}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	cli(t, dir, "user", "add", "--email", "a@example.com", "--password", "longenough")
	if err := run(context.Background(), []string{"user", "add", "--email", "a@example.com", "--password", "longenough"}, sys{stdout: io.Discard, stderr: io.Discard, getenv: env(dir, nil), now: clockFor(dir)}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("duplicate user: %v", err)
	}
}

// parseTestConfig reads a Config as run does.
func parseTestConfig(tb testing.TB, getenv func(string) string) (any, Config) {
	tb.Helper()
	fs := newFlagSet()
	read := configFlags(fs, getenv)
	if err := fs.Parse(nil); err != nil {
		tb.Fatal(err)
	}
	cfg, err := read()
	if err != nil {
		tb.Fatal(err)
	}
	return fs, cfg
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func TestCommandFirst(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"migrate --addr x", "migrate --addr x"},
		{"--addr 127.0.0.1:9 migrate", "migrate --addr 127.0.0.1:9"},
		{"--database sqlite:x user add --email a@b.c", "user add --database sqlite:x --email a@b.c"},
		{"--allow-private-hosts true caldav show --email a@b.c", "caldav show --allow-private-hosts true --email a@b.c"},
		{"-h migrate", "migrate -h"},
		{"--email sync", "--email sync"},
		{"--addr=x sync --email a@b.c", "sync --addr=x --email a@b.c"},
		{"--addr x", "--addr x"},
	} {
		if got := strings.Join(commandFirst(strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("commandFirst(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

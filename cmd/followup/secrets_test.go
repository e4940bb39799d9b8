package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/internal/davtest"
	"github.com/followup/followup/store"
)

// TestLegacyBusyICSSealedAtStart: a busy_ics address that a version before
// sealing stored in clear is sealed when the program opens the database,
// and `caldav show` shows it masked.
func TestLegacyBusyICSSealedAtStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cli(t, dir, "user", "add", "--email", "ada@example.com", "--password", "correct horse")
	const addr = "https://ada:ics-pass-81be@calendar.example.com/private/s3cr3t-token-7f2a9c/basic.ics"

	db, err := store.Open("sqlite:"+filepath.Join(dir, "followup.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	err = db.PutCalDAV(ctx, followup.CalDAVConnection{UserID: u.ID, URL: "https://dav.example.com", Username: "ada",
		SealedPassword: "v1:unused", SealedBusyICS: []string{addr}, CreatedAt: now, UpdatedAt: now})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	out := cli(t, dir, "caldav", "show", "--email", "ada@example.com")
	if !strings.Contains(out, `"https://calendar.example.com/….ics"`) || strings.Contains(out, "s3cr3t") || strings.Contains(out, "ics-pass") {
		t.Errorf("caldav show:\n%s\nwant the address masked", out)
	}

	db, err = store.Open("sqlite:"+filepath.Join(dir, "followup.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.CalDAV(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(conn.SealedBusyICS) != 1 || strings.Contains(conn.SealedBusyICS[0], "calendar.example.com") {
		t.Errorf("stored busy_ics %q after a start, want it sealed", conn.SealedBusyICS)
	}
}

// TestBusyICSNeverShown connects a real CalDAV server with busy_ics
// addresses whose paths and user info are secrets: one that answers a
// calendar, one that answers 404, one whose server is gone. No answer of
// the API or the CLI, and no log line at debug level, shows a secret part;
// the sync still reads the address that works.
func TestBusyICSNeverShown(t *testing.T) {
	srv := davtest.Radicale(t)
	var fetched atomic.Int64
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/private-okSECRET1/basic.ics" {
			http.NotFound(w, r)
			return
		}
		fetched.Add(1)
		w.Header().Set("Content-Type", "text/calendar")
		io.WriteString(w, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:b1\r\nDTSTAMP:20261123T000000Z\r\n"+
			"DTSTART:20261124T150000Z\r\nDTEND:20261124T160000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	}))
	defer ok.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()
	addrs := []string{
		strings.Replace(ok.URL, "http://", "http://ada:passSECRET2@", 1) + "/private-okSECRET1/basic.ics",
		ok.URL + "/private-missingSECRET3/basic.ics",
		goneURL + "/feed?token=goneSECRET4",
	}
	secrets := []string{"SECRET1", "SECRET2", "SECRET3", "SECRET4"}
	showsSecret := func(what, s string) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Errorf("%s shows %s:\n%s", what, sec, s)
			}
		}
	}

	app, token := runCalDAVApp(t, "America/New_York")
	base := app.URL()

	answer := func(method, path string, body any) string {
		t.Helper()
		var raw json.RawMessage
		resp := do(t, method, base+path, token, body, &raw)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		return string(raw)
	}
	put := answer("PUT", "/api/v1/caldav", map[string]any{"url": srv.URL, "username": srv.Username, "password": srv.Password, "busy_ics": addrs})
	showsSecret("PUT /api/v1/caldav", put)
	showsSecret("POST /api/v1/sync", answer("POST", "/api/v1/sync", nil))
	showsSecret("GET /api/v1/caldav", answer("GET", "/api/v1/caldav", nil))
	for _, args := range [][]string{{"caldav", "show"}, {"sync"}} {
		out, errOut, err := cliWith(app.dir, "", calDAVEnv, append(args, "--email", "ada@example.com")...)
		if err != nil {
			t.Fatalf("followup %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		showsSecret("followup "+strings.Join(args, " "), out+errOut)
	}
	if fetched.Load() == 0 {
		t.Errorf("the working busy_ics address was never read")
	}
	app.stop()
	showsSecret("the log", app.logs.String())
}

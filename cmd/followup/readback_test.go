package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
	"github.com/followup/followup/internal/davtest"
)

// lossyProxy sits in front of a CalDAV server. While lose is set, a PUT
// reaches the server, but its answer is lost: the connection is closed
// instead, as a timeout or a crash would leave it.
type lossyProxy struct {
	*httptest.Server
	lose atomic.Bool
	lost atomic.Int64
}

func newLossyProxy(tb testing.TB, target string) *lossyProxy {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &lossyProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || !p.lose.Load() {
			rp.ServeHTTP(w, r)
			return
		}
		rp.ServeHTTP(httptest.NewRecorder(), r) // the server takes the write
		p.lost.Add(1)
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}))
	tb.Cleanup(p.Close)
	return p
}

// TestLostAnswerThenMove runs the app against real CalDAV servers: a
// block moved by a meeting is written, but the answer is lost; before any
// read-back, an agreed meeting moves it again. The object the server then
// holds is our own earlier write, and must not be taken for a move by the
// user: the block ends up where followup placed it, on the server too.
func TestLostAnswerThenMove(t *testing.T) {
	onServers(t, testLostAnswerThenMove)
}

func testLostAnswerThenMove(t *testing.T, srv davtest.Server) {
	ctx := context.Background()
	proxy := newLossyProxy(t, srv.URL)
	other := caldav.New(http.DefaultClient) // another client, straight to the server
	acct := followup.CalDAVAccount{URL: srv.URL, Username: srv.Username, Password: srv.Password}
	work := makeCalendar(t, acct, "Work")

	app, token := runCalDAVApp(t, "America/New_York")
	base := app.URL()
	conn := connectCalDAV(t, base, token, proxy.URL, srv)
	calURL := rebase(conn.Calendar, proxy.URL, srv.URL)

	var jane commitmentJSON
	do(t, "POST", base+"/api/v1/commitments", token, map[string]any{
		"contact": map[string]any{"name": "Jane Doe"}, "promise": "Send the deck", "due_text": "in 3 days"}, &jane)
	waitFor(t, 20*time.Second, func() bool { return countLive(t, other, acct, calURL, jane) == liveBlocks(jane) })
	// Let the jobs queued so far (the first sync, the blocks' writes) end,
	// so that only the syncs below read the meeting.
	waitFor(t, 20*time.Second, func() bool {
		n, err := app.DB.PendingJobs(ctx)
		return err == nil && n == 0
	})
	block := firstBlock(jane)
	written := current(t, base, token, jane.ID, block.UID)

	// A meeting over the block moves it; the server takes the write, but
	// the answer is lost.
	meeting := fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:review\r\nDTSTAMP:20261101T000000Z\r\n"+
		"DTSTART:%s\r\nDTEND:%s\r\nSUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		written.Start.UTC().Format("20060102T150405Z"), written.End.UTC().Format("20060102T150405Z"))
	putRaw(t, srv, work.URL+"review.ics", meeting, "")
	proxy.lose.Store(true)
	var rep followup.SyncReport
	do(t, "POST", base+"/api/v1/sync", token, nil, &rep)
	moved := current(t, base, token, jane.ID, block.UID)
	if proxy.lost.Load() == 0 {
		t.Fatalf("no answer was lost: %+v", rep)
	}
	if r, err := other.GetEvent(ctx, acct, calURL, block.UID); err != nil || moved.Start.Equal(written.Start) || !r.Start.Equal(moved.Start) {
		t.Fatalf("block at %v, was %v; the server shows %v (%v)", moved.Start, written.Start, r.Start, err)
	}

	// Before any read-back, a coffee agreed with Bob at that time moves
	// the block again.
	var bob commitmentJSON
	do(t, "POST", base+"/api/v1/commitments", token, map[string]any{
		"contact": map[string]any{"name": "Bob Builder"}, "promise": "Intro to Carol",
		"meeting": map[string]any{"start": moved.Start.Format(time.RFC3339), "minutes": 30}}, &bob)
	again := current(t, base, token, jane.ID, block.UID)
	if again.Start.Equal(moved.Start) || again.Start.Equal(written.Start) {
		t.Fatalf("the agreed meeting did not move the block: at %v (was %v, then %v)", again.Start, written.Start, moved.Start)
	}

	// The answers come back: the block stays where followup placed it,
	// and the server shows it there.
	proxy.lose.Store(false)
	waitFor(t, 30*time.Second, func() bool {
		do(t, "POST", base+"/api/v1/sync", token, nil, &rep)
		r, err := other.GetEvent(ctx, acct, calURL, block.UID)
		return err == nil && len(rep.Errors) == 0 && rep.Written == 0 && r.Start.Equal(current(t, base, token, jane.ID, block.UID).Start)
	})
	if got := current(t, base, token, jane.ID, block.UID); !got.Start.Equal(again.Start) {
		t.Errorf("our own lost write was taken for a move by the user: block at %v, want %v (the lost write was at %v)", got.Start, again.Start, moved.Start)
	}
	if r, _ := other.GetEvent(ctx, acct, calURL, block.UID); !r.Start.Equal(again.Start) {
		t.Errorf("server shows %v, want %v", r.Start, again.Start)
	}
}

// TestFloatingMoveRealServers: blocks the user moves in their app to a
// time with no zone keep that wall clock in the user's zone, the day
// before and the day after the next DST change, on Radicale and Xandikos.
func TestFloatingMoveRealServers(t *testing.T) {
	onServers(t, testFloatingMove)
}

func testFloatingMove(t *testing.T, srv davtest.Server) {
	ctx := context.Background()
	ny := mustZone("America/New_York")
	other := caldav.New(http.DefaultClient)
	acct := followup.CalDAVAccount{URL: srv.URL, Username: srv.Username, Password: srv.Password}
	app, token := runCalDAVApp(t, "America/New_York")
	base := app.URL()
	conn := connectCalDAV(t, base, token, srv.URL, srv)
	var jane commitmentJSON
	do(t, "POST", base+"/api/v1/commitments", token, map[string]any{
		"contact": map[string]any{"name": "Jane Doe"}, "promise": "Send the deck", "due_text": "in 3 days"}, &jane)
	waitFor(t, 20*time.Second, func() bool { return countLive(t, other, acct, conn.Calendar, jane) == liveBlocks(jane) })
	waitFor(t, 20*time.Second, func() bool { // only the syncs below read the moves
		n, err := app.DB.PendingJobs(ctx)
		return err == nil && n == 0
	})

	// The local days either side of New York's next DST change after the
	// app's clock, not the real one.
	day := app.Now().In(ny)
	day = time.Date(day.Year(), day.Month(), day.Day(), 12, 0, 0, 0, ny)
	_, offset := day.Zone()
	for _, o := day.AddDate(0, 0, 1).Zone(); o == offset; _, o = day.AddDate(0, 0, 1).Zone() {
		day = day.AddDate(0, 0, 1)
	}
	before, after := day, day.AddDate(0, 0, 2)
	var blocks []stepJSON
	for _, s := range jane.Steps {
		if s.Kind != "let_go" && s.Kind != "close" && len(blocks) < 2 {
			blocks = append(blocks, s)
		}
	}
	if len(blocks) != 2 {
		t.Fatalf("want two blocks to move, have %+v", jane.Steps)
	}
	want := map[string]time.Time{}
	for i, d := range []time.Time{before, after} {
		start := time.Date(d.Year(), d.Month(), d.Day(), 10, 0, 0, 0, ny)
		editFloating(t, srv, conn.Calendar, blocks[i].UID, start, start.Add(30*time.Minute))
		want[blocks[i].UID] = start
	}
	var rep followup.SyncReport
	do(t, "POST", base+"/api/v1/sync", token, nil, &rep)
	if rep.Adopted != 2 {
		t.Errorf("adopted %d, want 2: %+v", rep.Adopted, rep)
	}
	do(t, "POST", base+"/api/v1/sync", token, nil, &rep) // writes them back in UTC
	for uid, start := range want {
		if got := current(t, base, token, jane.ID, uid); !got.Start.Equal(start) || !got.End.Equal(start.Add(30*time.Minute)) {
			t.Errorf("block moved to a floating 10:00 is at %v–%v, want %v (10:00 New York)", got.Start, got.End, start.UTC())
		}
		if r, err := other.GetEvent(ctx, acct, conn.Calendar, uid); err != nil || r.Floating || !r.Start.Equal(start) {
			t.Errorf("server shows %v (floating %v, %v), want %v in UTC", r.Start, r.Floating, err, start.UTC())
		}
	}
}

// editFloating moves an object as a calendar app may: DTSTART and DTEND
// with no zone, in wall clock, with If-Match.
func editFloating(tb testing.TB, srv davtest.Server, calURL, uid string, start, end time.Time) {
	href, etag := objectHref(tb, srv, calURL, uid)
	_, body := rawRequest(tb, srv, "GET", href, "", nil)
	body = dtLine.ReplaceAllStringFunc(unfold(body), func(line string) string {
		if strings.HasPrefix(line, "DTEND") {
			return "DTEND:" + end.Format("20060102T150405") + "\r"
		}
		return "DTSTART:" + start.Format("20060102T150405") + "\r"
	})
	putRaw(tb, srv, href, body, etag)
}

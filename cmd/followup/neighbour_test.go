package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
	"github.com/followup/followup/internal/davtest"
)

// slowProxy sits in front of a CalDAV server and answers each PUT only
// after delay, as an overloaded server does; it counts the PUTs it got.
type slowProxy struct {
	*httptest.Server
	puts atomic.Int64
}

func newSlowProxy(tb testing.TB, target string, delay time.Duration) *slowProxy {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	done := make(chan struct{})
	p := &slowProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			p.puts.Add(1)
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			case <-done:
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		close(done)
		p.Close()
	})
	return p
}

// connect connects the user of token to the CalDAV server at url.
func connect(tb testing.TB, base, token, url string, srv davtest.Server) caldavConnJSON {
	tb.Helper()
	var conn caldavConnJSON
	resp := do(tb, "PUT", base+"/api/v1/caldav", token, map[string]any{"url": url, "username": srv.Username, "password": srv.Password}, &conn)
	if resp.StatusCode != http.StatusOK || conn.Calendar == "" {
		tb.Fatalf("connect: %d %+v", resp.StatusCode, conn)
	}
	return conn
}

// idle waits until the queue holds no job but the periodic ones, or fails
// the test naming the jobs left.
func idle(tb testing.TB, app *testApp) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var left []string
		rows, err := app.DB.SQL().Query(`SELECT kind, state, attempt, args FROM river_job
			WHERE state IN ('available','scheduled','retryable','running','pending') AND kind NOT IN ('tick', 'sync_all')`)
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			var kind, state, args string
			var attempt int
			if err := rows.Scan(&kind, &state, &attempt, &args); err != nil {
				tb.Fatal(err)
			}
			left = append(left, fmt.Sprintf("%s %s (attempt %d) %s", kind, state, attempt, args))
		}
		rows.Close()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("jobs left after 30 s: %s", strings.Join(left, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logCommitment posts a commitment with blocks for the user of token.
func logCommitment(tb testing.TB, base, token, name string) commitmentJSON {
	tb.Helper()
	var c commitmentJSON
	resp := do(tb, "POST", base+"/api/v1/commitments", token, map[string]any{
		"contact": map[string]any{"name": name}, "promise": "Send the deck", "due_text": "in 5 days",
	}, &c)
	if resp.StatusCode != http.StatusCreated || liveBlocks(c) == 0 {
		tb.Fatalf("POST commitment: %d %+v", resp.StatusCode, c)
	}
	return c
}

// TestSlowNeighbour: one user's CalDAV server answers each PUT after 28 s
// while that user has many blocks to write. Another user's block still
// reaches their server within 2 s, and disconnecting the slow account
// answers within 2 s, dropping what its interrupted work would have stored.
func TestSlowNeighbour(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two real CalDAV servers")
	}
	ctx := context.Background()
	slowSrv, fastSrv := davtest.Radicale(t), davtest.Radicale(t)
	slow := newSlowProxy(t, slowSrv.URL, 28*time.Second)
	fast := newCountingProxy(t, fastSrv.URL)

	dir := t.TempDir()
	cli(t, dir, "user", "add", "--email", "slow@example.com", "--password", "correct horse", "--timezone", "Europe/Berlin")
	cli(t, dir, "user", "add", "--email", "fast@example.com", "--password", "correct horse", "--timezone", "America/New_York")
	slowToken := strings.TrimSpace(cli(t, dir, "token", "create", "--email", "slow@example.com"))
	fastToken := strings.TrimSpace(cli(t, dir, "token", "create", "--email", "fast@example.com"))
	app := MustRunMain(t, dir, map[string]string{"FOLLOWUP_ALLOW_PRIVATE_HOSTS": "true", "FOLLOWUP_SYNC_INTERVAL": "0"})
	base := app.URL()
	connect(t, base, slowToken, slow.URL, slowSrv)
	fastConn := connect(t, base, fastToken, fast.URL, fastSrv)
	fastCal := rebase(fastConn.Calendar, fast.URL, fastSrv.URL)
	idle(t, app)

	// The slow user logs eight commitments: sixteen blocks, each a PUT of 28 s.
	for i := range 8 {
		logCommitment(t, base, slowToken, fmt.Sprintf("Slow contact %d", i))
	}
	waitFor(t, 10*time.Second, func() bool { return slow.puts.Load() > 0 })
	time.Sleep(time.Second) // the queue takes up the slow user's jobs

	// The fast user's blocks reach their server at once.
	other := caldav.New(http.DefaultClient)
	fastAcct := followup.CalDAVAccount{URL: fastSrv.URL, Username: fastSrv.Username, Password: fastSrv.Password}
	t0 := time.Now()
	c := logCommitment(t, base, fastToken, "Fast contact")
	firstSeen := time.Duration(0)
	deadline := t0.Add(90 * time.Second)
	for time.Now().Before(deadline) {
		n := countLive(t, other, fastAcct, fastCal, c)
		if n > 0 && firstSeen == 0 {
			firstSeen = time.Since(t0)
		}
		if n == liveBlocks(c) {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	allSeen := time.Since(t0)
	t.Logf("fast user's first block on its server after %v, all %d after %v (slow server: %d PUTs so far)",
		firstSeen, liveBlocks(c), allSeen, slow.puts.Load())
	if firstSeen == 0 || firstSeen > 2*time.Second {
		t.Errorf("the fast user's first block reached its server after %v, want within 2 s", firstSeen)
	}
	if allSeen > 2*time.Second {
		t.Errorf("the fast user's blocks reached their server after %v, want within 2 s", allSeen)
	}

	// Disconnecting the slow account does not wait for its PUT in flight.
	t0 = time.Now()
	resp := do(t, "DELETE", base+"/api/v1/caldav", slowToken, nil, nil)
	took := time.Since(t0)
	t.Logf("DELETE /api/v1/caldav of the slow account answered %d after %v", resp.StatusCode, took)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE /api/v1/caldav: %d", resp.StatusCode)
	}
	if took > 2*time.Second {
		t.Errorf("disconnecting the slow account took %v, want within 2 s", took)
	}
	if resp := do(t, "GET", base+"/api/v1/caldav", slowToken, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/v1/caldav after disconnect: %d, want 404", resp.StatusCode)
	}
	// What the interrupted work wrote is not recorded: no block of the slow
	// user is taken for written, and its queued jobs end without a request.
	puts := slow.puts.Load()
	idle(t, app)
	if n := slow.puts.Load() - puts; n > 0 {
		t.Errorf("%d PUTs to the disconnected account's server", n)
	}
	u, err := app.DB.UserByEmail(ctx, "slow@example.com")
	if err != nil {
		t.Fatal(err)
	}
	steps, err := app.DB.SyncSteps(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.RemoteETag != "" {
			t.Errorf("step %s recorded as written (ETag %q) after the disconnect", s.UID, s.RemoteETag)
		}
	}
}

// rateLimiter sits in front of a CalDAV server. While limiting, it answers
// every request 503 with Retry-After: 2; it records when requests came and
// how often each object was PUT with success.
type rateLimiter struct {
	*httptest.Server
	limiting atomic.Bool
	mu       sync.Mutex
	limited  []time.Time    // requests answered 503
	putOK    map[string]int // path -> PUTs passed to the server
}

func newRateLimiter(tb testing.TB, target string) *rateLimiter {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &rateLimiter{putOK: map[string]int{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		if p.limiting.Load() {
			p.limited = append(p.limited, time.Now())
			p.mu.Unlock()
			w.Header().Set("Retry-After", "2")
			http.Error(w, "slow down", http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodPut {
			p.putOK[r.URL.Path]++
		}
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	tb.Cleanup(p.Close)
	return p
}

// TestRetryAfterPerAccount: a server answering 503 with Retry-After: 2 gets
// at most one request of an account every 2 s, however many jobs that
// account has queued, and once it answers again each object is PUT once.
func TestRetryAfterPerAccount(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real CalDAV server")
	}
	srv := davtest.Radicale(t)
	limiter := newRateLimiter(t, srv.URL)
	dir := t.TempDir()
	cli(t, dir, "user", "add", "--email", "ada@example.com", "--password", "correct horse", "--timezone", "Europe/Berlin")
	token := strings.TrimSpace(cli(t, dir, "token", "create", "--email", "ada@example.com"))
	app := MustRunMain(t, dir, map[string]string{"FOLLOWUP_ALLOW_PRIVATE_HOSTS": "true", "FOLLOWUP_SYNC_INTERVAL": "0"})
	base := app.URL()
	conn := connect(t, base, token, limiter.URL, srv)
	calURL := rebase(conn.Calendar, limiter.URL, srv.URL)
	idle(t, app)

	// Six commitments while the server limits: twelve blocks, each a job.
	limiter.limiting.Store(true)
	var created []commitmentJSON
	for i := range 6 {
		created = append(created, logCommitment(t, base, token, fmt.Sprintf("Contact %d", i)))
	}
	const limitFor = 9 * time.Second
	time.Sleep(limitFor)
	limiter.mu.Lock()
	limiter.limiting.Store(false)
	limited := append([]time.Time(nil), limiter.limited...)
	limiter.mu.Unlock()

	// Requests after the first 503: at most one per started 2 s, with a
	// margin of one for the queue's own timing.
	if len(limited) == 0 {
		t.Fatal("no request while the server limited")
	}
	span := limited[len(limited)-1].Sub(limited[0])
	allowed := int(span/(2*time.Second)) + 1 + 1
	t.Logf("%d requests answered 503 over %v (%.1f per s); allowed %d", len(limited), span.Round(time.Millisecond),
		float64(len(limited))/max(span.Seconds(), 1), allowed)
	if len(limited) > allowed {
		t.Errorf("the server got %d requests in %v while asking for 2 s between them, want at most %d", len(limited), span, allowed)
	}
	for i := 1; i < len(limited); i++ {
		if gap := limited[i].Sub(limited[i-1]); gap < 1500*time.Millisecond {
			t.Errorf("requests %d and %d came %v apart, under the 2 s asked for", i-1, i, gap)
		}
	}

	// Afterwards every block reaches the server, each PUT once.
	other := caldav.New(http.DefaultClient)
	acct := followup.CalDAVAccount{URL: srv.URL, Username: srv.Username, Password: srv.Password}
	want := 0
	for _, c := range created {
		want += liveBlocks(c)
	}
	waitFor(t, 30*time.Second, func() bool {
		n := 0
		for _, c := range created {
			n += countLive(t, other, acct, calURL, c)
		}
		return n == want
	})
	idle(t, app)
	limiter.mu.Lock()
	defer limiter.mu.Unlock()
	if len(limiter.putOK) != want {
		t.Errorf("%d objects PUT, want %d", len(limiter.putOK), want)
	}
	for path, n := range limiter.putOK {
		if n != 1 {
			t.Errorf("%s PUT %d times after the backoff, want once", path, n)
		}
	}
}

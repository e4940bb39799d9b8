package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/duetext"
	"github.com/followup/followup/ics"
	"github.com/followup/followup/internal/testclock"
	"github.com/followup/followup/secret"
	"github.com/followup/followup/service"
	"github.com/followup/followup/store"
	"github.com/followup/followup/vcard"
	"github.com/followup/followup/web"
)

// start is the harness clock's first reading: Monday 2026-11-23, 15:00 in New York.
var start = time.Date(2026, 11, 23, 15, 0, 0, 0, mustZone("America/New_York"))

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// logBuffer collects every log line of the harness, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is the real stack: SQLite in a temp dir, the domain service and
// the HTTP server, on a fixed clock.
type harness struct {
	clock *testclock.Clock
	db    *store.DB
	svc   *service.Service
	srv   *web.Server
	ts    *httptest.Server
	logs  *logBuffer
}

// newHarness wires store, service and server the way cmd/followup does,
// with CalDAV off, and serves them on httptest.
func newHarness(tb testing.TB) *harness {
	tb.Helper()
	h := &harness{clock: testclock.New(start), logs: &logBuffer{}}
	log := slog.New(followup.LogHandler(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	db, err := store.Open("sqlite:"+tb.TempDir()+"/db.sqlite", store.Options{Now: h.clock.Now, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	box, err := secret.NewBox(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	h.db = db
	h.svc = &service.Service{
		Store: db, Now: h.clock.Now, BaseURL: "https://followup.example", Sealer: box,
		Encoder: ics.FeedEncoder{}, ParseDue: duetext.Parse, Cards: vcard.Decoder{}, Log: log,
	}
	h.srv = web.New(h.svc, db.Ping, log)
	h.srv.Now = h.clock.Now
	h.ts = httptest.NewServer(h.srv)
	tb.Cleanup(h.ts.Close)
	return h
}

// user is an account with its API token.
type user struct {
	ID    int64
	Email string
	Token string
}

// newUser creates an account in New York and an API token for it.
func (h *harness) newUser(tb testing.TB, email string) user {
	tb.Helper()
	ctx := context.Background()
	u, err := h.svc.CreateUser(ctx, email, "correct horse battery", "America/New_York")
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := h.svc.CreateToken(ctx, email, "test")
	if err != nil {
		tb.Fatal(err)
	}
	return user{ID: u.ID, Email: email, Token: tok}
}

// response is an HTTP answer read in full.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// request describes one HTTP request to the harness.
type request struct {
	Method string
	Path   string
	Token  string // "" sends no Authorization header
	Body   io.Reader
	// ContentType defaults to application/json when Body is set.
	ContentType string
	Header      map[string]string
	// Chunked hides the body's length so that it is sent chunked.
	Chunked bool
}

func (h *harness) send(tb testing.TB, r request) response {
	tb.Helper()
	body := r.Body
	if r.Chunked && body != nil {
		body = struct{ io.Reader }{body} // no Len: net/http sends it chunked
	}
	req, err := http.NewRequest(r.Method, h.ts.URL+r.Path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if r.Chunked {
		req.ContentLength = -1
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.Body != nil {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	res, err := h.ts.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", r.Method, r.Path, err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// api sends a JSON request (in is marshalled unless it is a string) and
// decodes a 2xx answer into out when out is not nil. It returns the answer.
func (h *harness) api(tb testing.TB, method, path, token string, in, out any) response {
	tb.Helper()
	r := request{Method: method, Path: path, Token: token}
	switch v := in.(type) {
	case nil:
	case string:
		r.Body = strings.NewReader(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		r.Body = bytes.NewReader(b)
	}
	res := h.send(tb, r)
	if out != nil && res.Status/100 == 2 {
		if err := json.Unmarshal(res.Body, out); err != nil {
			tb.Fatalf("%s %s: decode %s: %v", method, path, res.Body, err)
		}
	}
	return res
}

// mustAPI is api that fails the test unless the status is want.
func (h *harness) mustAPI(tb testing.TB, want int, method, path, token string, in, out any) response {
	tb.Helper()
	res := h.api(tb, method, path, token, in, out)
	if res.Status != want {
		tb.Fatalf("%s %s: status %d, want %d; body %s", method, path, res.Status, want, res.Body)
	}
	return res
}

// apiError is the contract's error JSON.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// wantError checks that res is the contract's error JSON with status and
// field, and a code and message, and returns the error.
func wantError(tb testing.TB, res response, status int, field string) apiError {
	tb.Helper()
	var e apiError
	if res.Status != status {
		tb.Errorf("status %d, want %d; body %s", res.Status, status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("Content-Type %q, want application/json", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(res.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		tb.Errorf("error body %q is not the contract's error JSON: %v", res.Body, err)
		return e
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		tb.Errorf("error body %s lacks a code or a message", res.Body)
	}
	if e.Error.Field != field {
		tb.Errorf("error field %q, want %q; body %s", e.Error.Field, field, res.Body)
	}
	return e
}

// commitment is a commitment as the API answers it.
type commitment struct {
	ID          int64      `json:"id"`
	Contact     contact    `json:"contact"`
	MetAt       time.Time  `json:"met_at"`
	MetWhere    string     `json:"met_where"`
	Promise     string     `json:"promise"`
	Direction   string     `json:"direction"`
	Due         time.Time  `json:"due"`
	DueText     string     `json:"due_text"`
	Priority    bool       `json:"priority"`
	Meeting     *meeting   `json:"meeting"`
	Notes       string     `json:"notes"`
	Status      string     `json:"status"`
	ContactedAt *time.Time `json:"contacted_at"`
	RepliedAt   *time.Time `json:"replied_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	EndedAt     *time.Time `json:"ended_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Steps       []step     `json:"steps"`
	Warnings    []string   `json:"warnings"`
}

type contact struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	Phone   string `json:"phone"`
	Company string `json:"company"`
	URL     string `json:"url"`
}

type meeting struct {
	Start    time.Time `json:"start"`
	Minutes  int       `json:"minutes"`
	Location string    `json:"location"`
}

// step is a step as the API answers it: {"id", "kind", "status", "start", "end", "due", "uid", "late"}.
type step struct {
	ID     int64     `json:"id"`
	Kind   string    `json:"kind"`
	Status string    `json:"status"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Due    time.Time `json:"due"`
	UID    string    `json:"uid"`
	Late   bool      `json:"late"`
}

// kinds maps step kinds to statuses, for compact comparisons.
func (c commitment) kinds() map[string]string {
	m := map[string]string{}
	for _, s := range c.Steps {
		m[s.Kind] = s.Status
	}
	return m
}

// stepOf returns the commitment's step of a kind.
func (c commitment) stepOf(tb testing.TB, kind string) step {
	tb.Helper()
	for _, s := range c.Steps {
		if s.Kind == kind {
			return s
		}
	}
	tb.Fatalf("commitment %d has no %s step: %+v", c.ID, kind, c.Steps)
	return step{}
}

// deck is the contract's example commitment, met at the harness's start.
func deck() map[string]any {
	return map[string]any{
		"contact":   map[string]any{"name": "Jane Doe", "email": "jane@example.com", "phone": "", "company": "", "url": ""},
		"met_at":    "2026-11-23T15:00:00-05:00",
		"met_where": "SaaStr, booth 12",
		"promise":   "Send the pricing deck",
		"direction": "mine",
		"due":       "2026-11-27T17:00:00-05:00",
		"priority":  true,
		"meeting":   map[string]any{"start": "2026-11-25T10:00:00-05:00", "minutes": 30, "location": "Blue Bottle, Market St"},
		"notes":     "possible client",
	}
}

// create posts a commitment and answers the stored one.
func (h *harness) create(tb testing.TB, u user, body any) commitment {
	tb.Helper()
	var c commitment
	h.mustAPI(tb, http.StatusCreated, "POST", "/api/v1/commitments", u.Token, body, &c)
	return c
}

// feedURL returns the path of the user's feed.
func (h *harness) feedPath(tb testing.TB, u user) string {
	tb.Helper()
	var links struct {
		URL    string `json:"url"`
		Webcal string `json:"webcal"`
	}
	h.mustAPI(tb, http.StatusOK, "GET", "/api/v1/feed", u.Token, nil, &links)
	p, ok := strings.CutPrefix(links.URL, "https://followup.example")
	if !ok {
		tb.Fatalf("feed url %q is not under the base URL", links.URL)
	}
	return p
}

// feedEvents fetches and decodes the feed at path.
func (h *harness) feedEvents(tb testing.TB, path string) []followup.Event {
	tb.Helper()
	res := h.send(tb, request{Method: "GET", Path: path})
	if res.Status != http.StatusOK {
		tb.Fatalf("GET feed: status %d: %s", res.Status, res.Body)
	}
	evs, err := ics.Decode(bytes.NewReader(res.Body))
	if err != nil {
		tb.Fatalf("decode feed: %v\n%s", err, res.Body)
	}
	return evs
}

// uids returns the events' UIDs.
func uids(evs []followup.Event) map[string]bool {
	m := map[string]bool{}
	for _, ev := range evs {
		m[ev.UID] = true
	}
	return m
}

// storedCommitments counts the user's commitments in the store.
func (h *harness) storedCommitments(tb testing.TB, userID int64) int {
	tb.Helper()
	var n int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM commitments WHERE user_id = ?`, userID).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

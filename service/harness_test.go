package service_test

import (
	"context"
	"log/slog"
	"slices"
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
)

// feedEncoder is ics.FeedEncoder, as cmd/followup wires it, counting
// renders (headers) and the events written.
type feedEncoder struct {
	ics.FeedEncoder
	mu     sync.Mutex
	calls  int
	events int
}

func (e *feedEncoder) AppendHeader(b []byte, name string, events []followup.Event, now time.Time) ([]byte, error) {
	e.mu.Lock()
	e.calls++
	e.mu.Unlock()
	return e.FeedEncoder.AppendHeader(b, name, events, now)
}

func (e *feedEncoder) AppendEvent(b []byte, ev *followup.Event, now time.Time) ([]byte, error) {
	e.mu.Lock()
	e.events++
	e.mu.Unlock()
	return e.FeedEncoder.AppendEvent(b, ev, now)
}

// Calls returns how many feeds were rendered.
func (e *feedEncoder) Calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls
}

// Events returns how many events were written.
func (e *feedEncoder) Events() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.events
}

// logRecorder is a slog.Handler that keeps the messages logged.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}

// Count returns how many times msg was logged.
func (r *logRecorder) Count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// harness is a service on a fresh real database: a SQLite file in a
// temporary directory, or a PostgreSQL database (see testDSN).
type harness struct {
	t     testing.TB
	ctx   context.Context
	dsn   string
	key   []byte
	clock *testclock.Clock
	db    *store.DB
	enc   *feedEncoder
	logs  *logRecorder
	svc   *service.Service
}

// newHarness opens and migrates a fresh database with the clock at start.
func newHarness(t testing.TB, start time.Time) *harness {
	t.Helper()
	key := make([]byte, secret.KeySize)
	for i := range key {
		key[i] = byte(i + 1)
	}
	h := &harness{t: t, ctx: context.Background(), dsn: testDSN(t), key: key, clock: testclock.New(start), logs: &logRecorder{}}
	h.open()
	return h
}

// open opens the store on h.dsn and wires a new service on it.
func (h *harness) open() {
	h.t.Helper()
	h.db, h.svc = h.instance()
	h.enc = h.svc.Encoder.(*feedEncoder)
}

// instance opens another store on h.dsn with its own service, as a second
// process on the same database does. It is closed when the test ends.
func (h *harness) instance() (*store.DB, *service.Service) {
	h.t.Helper()
	db, err := store.Open(h.dsn, store.Options{Now: h.clock.Now})
	if err != nil {
		h.t.Fatalf("store.Open: %v", err)
	}
	if err := db.Migrate(h.ctx); err != nil {
		db.Close()
		h.t.Fatalf("Migrate: %v", err)
	}
	box, err := secret.NewBox(h.key)
	if err != nil {
		h.t.Fatalf("secret.NewBox: %v", err)
	}
	svc := &service.Service{
		Store: db, Now: h.clock.Now, BaseURL: "https://followup.example", Sealer: box,
		Encoder: &feedEncoder{}, ParseDue: duetext.Parse, Log: slog.New(h.logs),
	}
	h.t.Cleanup(func() { db.Close() })
	return db, svc
}

// reopen closes the store and opens a new store and service on the same
// file, as a restart of the process does.
func (h *harness) reopen() {
	h.t.Helper()
	if err := h.db.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.open()
}

// user creates an account in the given zone.
func (h *harness) user(email, zone string) followup.User {
	h.t.Helper()
	u, err := h.svc.CreateUser(h.ctx, email, "correct horse battery", zone)
	if err != nil {
		h.t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

// create logs a commitment and fails the test on error.
func (h *harness) create(userID int64, in followup.NewCommitment) followup.Commitment {
	h.t.Helper()
	c, err := h.svc.Create(h.ctx, userID, in)
	if err != nil {
		h.t.Fatalf("Create(%+v): %v", in, err)
	}
	return c
}

// get reads a commitment back from the store.
func (h *harness) get(userID, id int64) followup.Commitment {
	h.t.Helper()
	c, err := h.svc.Get(h.ctx, userID, id)
	if err != nil {
		h.t.Fatalf("Get(%d): %v", id, err)
	}
	return c
}

// act applies an action and fails the test on error.
func (h *harness) act(userID, id int64, a followup.Action) followup.Commitment {
	h.t.Helper()
	c, err := h.svc.Act(h.ctx, userID, id, a)
	if err != nil {
		h.t.Fatalf("Act(%d, %s): %v", id, a, err)
	}
	return c
}

// tick runs Tick and fails the test on error.
func (h *harness) tick() {
	h.t.Helper()
	if err := h.svc.Tick(h.ctx); err != nil {
		h.t.Fatalf("Tick: %v", err)
	}
}

// feedUIDs returns the UIDs of the user's feed events, sorted.
func (h *harness) feedUIDs(userID int64) []string {
	h.t.Helper()
	evs, err := h.svc.FeedEvents(h.ctx, userID)
	if err != nil {
		h.t.Fatalf("FeedEvents: %v", err)
	}
	var uids []string
	for _, ev := range evs {
		uids = append(uids, ev.UID)
	}
	slices.Sort(uids)
	return uids
}

// feedVersion returns the user's current feed version by way of their token.
func (h *harness) feedVersion(userID int64) followup.FeedVersion {
	h.t.Helper()
	links, err := h.svc.FeedLinks(h.ctx, userID)
	if err != nil {
		h.t.Fatalf("FeedLinks: %v", err)
	}
	v, err := h.svc.FeedVersion(h.ctx, tokenOf(h.t, links))
	if err != nil {
		h.t.Fatalf("FeedVersion: %v", err)
	}
	return v
}

// tokenOf extracts the token from a feed URL ".../feeds/TOKEN.ics".
func tokenOf(t testing.TB, l followup.FeedLinks) string {
	t.Helper()
	const prefix = "https://followup.example/feeds/"
	if len(l.URL) < len(prefix)+4 || l.URL[:len(prefix)] != prefix || l.URL[len(l.URL)-4:] != ".ics" {
		t.Fatalf("feed URL %q is not %sTOKEN.ics", l.URL, prefix)
	}
	return l.URL[len(prefix) : len(l.URL)-4]
}

// zone loads an IANA zone or fails.
func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%s): %v", name, err)
	}
	return loc
}

// steps returns the commitment's steps of kind k.
func steps(c followup.Commitment, k followup.StepKind) []followup.Step {
	var out []followup.Step
	for _, s := range c.Steps {
		if s.Kind == k {
			out = append(out, s)
		}
	}
	return out
}

// step returns the one step of kind k, failing when there is not exactly one.
func step(t testing.TB, c followup.Commitment, k followup.StepKind) followup.Step {
	t.Helper()
	ss := steps(c, k)
	if len(ss) != 1 {
		t.Fatalf("commitment %d has %d %s steps, want 1; steps: %+v", c.ID, len(ss), k, summarize(c.Steps))
	}
	return ss[0]
}

// stepView is what tests compare of a step: kind, status, placement in UTC.
type stepView struct {
	Kind   followup.StepKind
	Status followup.StepStatus
	Start  time.Time
	End    time.Time
	Late   bool
}

func view(s followup.Step) stepView {
	return stepView{Kind: s.Kind, Status: s.Status, Start: s.Start.UTC(), End: s.End.UTC(), Late: s.Late}
}

// summarize returns the views of steps, for failure messages.
func summarize(ss []followup.Step) []stepView {
	out := make([]stepView, len(ss))
	for i, s := range ss {
		out[i] = view(s)
	}
	return out
}

// kindStatus maps each step kind to its statuses, in step order.
func kindStatus(c followup.Commitment) map[followup.StepKind][]followup.StepStatus {
	out := map[followup.StepKind][]followup.StepStatus{}
	for _, s := range c.Steps {
		out[s.Kind] = append(out[s.Kind], s.Status)
	}
	return out
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// errCode asserts err carries the given code (and field when not "").
func errCode(t testing.TB, err error, code, field string) {
	t.Helper()
	if got := followup.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	if field != "" {
		if got := followup.ErrorField(err); got != field {
			t.Fatalf("error field = %q (%v), want %q", got, err, field)
		}
	}
}

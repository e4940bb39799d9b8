package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// fakeICS is an ICSSource that remembers the addresses it was asked for
// and answers one busy hour.
type fakeICS struct {
	mu   sync.Mutex
	urls []string
	prev []followup.ICSState
}

func (f *fakeICS) FetchBusy(_ context.Context, url string, from, to time.Time, prev followup.ICSState) (followup.ICSRead, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls = append(f.urls, url)
	f.prev = append(f.prev, prev)
	start := from.Add(36 * time.Hour)
	return followup.ICSRead{Changed: true, State: followup.ICSState{ETag: `"e1"`, From: from, To: to,
		Intervals: []followup.Interval{{Start: start, End: start.Add(time.Hour)}}}}, nil
}

// fetched returns the addresses asked for so far.
func (f *fakeICS) fetched() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.urls...)
}

// recordingCalDAV is fakeCalDAV whose discovery finds another origin, as
// iCloud's does, and that remembers the origins it was given.
type recordingCalDAV struct {
	*fakeCalDAV
	mu      sync.Mutex
	origins [][]string
}

const otherOrigin = "https://p42-caldav.example.net:443"

func (r *recordingCalDAV) Discover(ctx context.Context, acct followup.CalDAVAccount) (followup.Discovery, error) {
	d, err := r.fakeCalDAV.Discover(ctx, acct)
	d.Origins = []string{otherOrigin}
	return d, err
}

// lastOrigins returns the origins of the last Busy call.
func (r *recordingCalDAV) lastOrigins() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.origins) == 0 {
		return nil
	}
	return r.origins[len(r.origins)-1]
}

func (r *recordingCalDAV) Busy(ctx context.Context, acct followup.CalDAVAccount, cal string, from, to time.Time, prev followup.BusyState) (followup.BusyRead, error) {
	r.mu.Lock()
	r.origins = append(r.origins, acct.Origins)
	r.mu.Unlock()
	return r.fakeCalDAV.Busy(ctx, acct, cal, from, to, prev)
}

// newICSHarness makes a user in Berlin on a new harness whose CalDAV
// account and ICS sources are fakes.
func newICSHarness(t *testing.T, email string) (*harness, *fakeICS, followup.User) {
	t.Helper()
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	h.svc.Calendars = newFakeCalDAV()
	src := &fakeICS{}
	h.svc.ICS = src
	return h, src, h.user(email, "Europe/Berlin")
}

// The secret parts of the address the tests use.
const (
	icsToken    = "s3cr3t-token-7f2a9c"
	icsPassword = "ics-pass-81be"
	icsAddress  = "https://ada:" + icsPassword + "@calendar.example.com/private/" + icsToken + "/basic.ics"
	icsMasked   = "https://calendar.example.com/….ics"
)

// databaseHolds reports whether any file of the SQLite database (the WAL
// included) contains s; on PostgreSQL, whether any row of any table does,
// as text.
func databaseHolds(t *testing.T, h *harness, s string) bool {
	t.Helper()
	if h.db.Dialect() == "postgres" {
		return postgresHolds(t, h, s)
	}
	files, _ := filepath.Glob(h.db.Path() + "*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(s)) {
			return true
		}
	}
	return false
}

// postgresHolds reports whether any row of the database's tables, as text,
// contains s.
func postgresHolds(t *testing.T, h *harness, s string) bool {
	t.Helper()
	rows, err := h.db.SQL().QueryContext(h.ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) == 0 {
		t.Fatal("no tables")
	}
	for _, table := range tables {
		var n int
		q := `SELECT count(*) FROM "` + table + `" AS r WHERE strpos(r::text, $1) > 0`
		if err := h.db.SQL().QueryRowContext(h.ctx, q, s).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return true
		}
	}
	return false
}

// TestBusyICSIsASecret: a busy_ics address is stored sealed (its state too
// is keyed by the sealed value), every answer shows it masked, it can be
// sent back masked to keep it, and the sync still reads the full address.
func TestBusyICSIsASecret(t *testing.T) {
	h, src, u := newICSHarness(t, "ics@example.com")
	in := followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw", BusyICS: []string{icsAddress}}

	conn, err := h.svc.ConnectCalDAV(h.ctx, u.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := h.svc.CalDAV(h.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]followup.CalDAVConnection{"PUT": conn, "GET": shown} {
		if diff := cmp.Diff([]string{icsMasked}, c.BusyICS); diff != "" {
			t.Errorf("%s busy_ics (-want +got):\n%s", name, diff)
		}
		raw, _ := json.Marshal(c)
		if bytes.Contains(raw, []byte(icsToken)) || bytes.Contains(raw, []byte(icsPassword)) {
			t.Errorf("%s answer shows the address: %s", name, raw)
		}
	}

	if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{icsAddress}, src.fetched()); diff != "" {
		t.Errorf("fetched (-want +got):\n%s", diff)
	}
	for _, secret := range []string{icsToken, icsPassword} {
		if databaseHolds(t, h, secret) {
			t.Errorf("the database holds %q in clear", secret)
		}
	}

	// Sent back as answers show it, the address stays, with its state.
	in.Password, in.BusyICS = "", []string{icsMasked}
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, in); err != nil {
		t.Fatalf("reconnect with the masked address: %v", err)
	}
	if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if got := src.fetched(); len(got) != 2 || got[1] != icsAddress || src.prev[1].ETag != `"e1"` {
		t.Errorf("after the reconnect fetched %q with state %+v, want the full address and its state", got, src.prev)
	}

	// A masked address the connection does not have, or a bad one, is
	// refused without echoing it.
	for _, bad := range []string{"https://calendar.example.com/…abcd", "ftp://ada:" + icsPassword + "@example.com/x.ics"} {
		in.BusyICS = []string{bad}
		_, err := h.svc.ConnectCalDAV(h.ctx, u.ID, in)
		if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != "busy_ics" {
			t.Errorf("busy_ics %q: %v, want EINVALID on busy_ics", bad, err)
		}
		if err != nil && strings.Contains(followup.ErrorMessage(err), "example.com") {
			t.Errorf("message %q echoes the address", followup.ErrorMessage(err))
		}
	}
}

// TestSealStoredSecrets: plain busy_ics addresses that an older version
// stored are sealed at start (or by the first sync, should an older
// process store one later), their busy state moves to the sealed key, and
// answers show them masked before and after.
func TestSealStoredSecrets(t *testing.T) {
	for _, atStart := range []bool{true, false} {
		t.Run(map[bool]string{true: "at start", false: "by a sync"}[atStart], func(t *testing.T) {
			h, src, u := newICSHarness(t, "legacy@example.com")
			storeLegacyBusyICS(t, h, u.ID)
			if got, _ := h.svc.CalDAV(h.ctx, u.ID); !cmp.Equal(got.BusyICS, []string{icsMasked}) {
				t.Errorf("a plain stored address shows as %q, want it masked", got.BusyICS)
			}
			if atStart {
				n, err := h.svc.SealStoredSecrets(h.ctx)
				if err != nil || n != 1 {
					t.Fatalf("SealStoredSecrets = %d, %v; want 1 connection", n, err)
				}
				if n, err := h.svc.SealStoredSecrets(h.ctx); err != nil || n != 0 {
					t.Errorf("second SealStoredSecrets = %d, %v; want nothing to do", n, err)
				}
			}
			if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			if got := src.fetched(); len(got) != 1 || got[0] != icsAddress || src.prev[0].ETag != `"old"` {
				t.Errorf("fetched %q with %+v, want the address with its old state", got, src.prev)
			}
			stored, _ := h.db.CalDAV(h.ctx, u.ID)
			if len(stored.SealedBusyICS) != 1 || strings.Contains(stored.SealedBusyICS[0], "example.com") {
				t.Fatalf("stored busy_ics %q, want one sealed address", stored.SealedBusyICS)
			}
			srcs, _ := h.db.BusySources(h.ctx, u.ID)
			var ics []followup.BusySource
			for _, b := range srcs {
				if b.Kind == "ics" {
					ics = append(ics, b)
				}
			}
			if len(ics) != 1 || ics[0].URL != stored.SealedBusyICS[0] {
				t.Errorf("ics busy sources %+v, want one under the sealed key", ics)
			}
			// The old rows' bytes may linger in SQLite's free pages and WAL
			// until reused (VACUUM wipes them); what the store holds is sealed.
			raw, _ := json.Marshal([]any{stored, stored.SealedBusyICS, srcs})
			for _, secret := range []string{icsToken, icsPassword} {
				if bytes.Contains(raw, []byte(secret)) {
					t.Errorf("the store still holds %q in clear: %s", secret, raw)
				}
			}
		})
	}
}

// storeLegacyBusyICS connects the user and then stores what a version
// before sealing left behind: a plain busy_ics address, its busy state
// keyed by it, and no recorded origins.
func storeLegacyBusyICS(t *testing.T, h *harness, userID int64) {
	t.Helper()
	if _, err := h.svc.ConnectCalDAV(h.ctx, userID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	conn, err := h.db.CalDAV(h.ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	conn.SealedBusyICS, conn.Origins = []string{icsAddress}, nil
	if err := h.db.PutCalDAV(h.ctx, conn); err != nil {
		t.Fatal(err)
	}
	state := followup.ICSState{ETag: `"old"`, Intervals: []followup.Interval{}}
	if err := h.db.PutBusySource(h.ctx, followup.BusySource{UserID: userID, URL: icsAddress, Kind: "ics", ICS: state, UpdatedAt: h.clock.Now()}); err != nil {
		t.Fatal(err)
	}
}

// TestCredentialOrigins: the origins discovery found are stored and passed
// on every later call; a connection from before they were recorded trusts
// the https hosts its discovery stored, and nothing beyond them.
func TestCredentialOrigins(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	rec := &recordingCalDAV{fakeCalDAV: newFakeCalDAV()}
	h.svc.Calendars = rec
	u := h.user("origins@example.com", "Europe/Berlin")
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	h.reopen() // read back from the database, not from memory
	h.svc.Calendars = rec
	if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{otherOrigin}, rec.lastOrigins()); diff != "" {
		t.Errorf("origins of a sync (-want +got):\n%s", diff)
	}

	// As an older version stored an iCloud-like account.
	conn, _ := h.db.CalDAV(h.ctx, u.ID)
	home := "https://p43-caldav.example.net:443/123/calendars/"
	conn.Origins, conn.HomeSet = nil, home
	conn.Calendars = append(conn.Calendars, followup.Calendar{URL: "http://plain.example.org/cal/", Name: "Plain"})
	if err := h.db.PutCalDAV(h.ctx, conn); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	got := rec.lastOrigins()
	if !slices.Contains(got, home) || slices.Contains(got, otherOrigin) {
		t.Errorf("legacy origins %q, want the stored home set %s and nothing discovery did not store", got, home)
	}
	for _, o := range got {
		if !strings.HasPrefix(o, "https://") {
			t.Errorf("legacy origins %q hold a plain http address", got)
		}
	}
}

// TestBusyICSMaskedAlike: two secret addresses of one host that mask
// alike (as Google's do, both ending in basic.ics) both stay when sent back
// masked, each with its own state; dropping one of them masked is refused
// as ambiguous rather than dropping either at random.
func TestBusyICSMaskedAlike(t *testing.T) {
	h, src, u := newICSHarness(t, "alike@example.com")
	work := "https://calendar.example.com/private/work-0123456789/basic.ics"
	home := "https://calendar.example.com/private/home-9876543210/basic.ics"
	in := followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw", BusyICS: []string{work, home}}
	conn, err := h.svc.ConnectCalDAV(h.ctx, u.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{icsMasked, icsMasked}, conn.BusyICS); diff != "" {
		t.Fatalf("busy_ics (-want +got):\n%s", diff)
	}

	in.Password, in.BusyICS = "", conn.BusyICS
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, in); err != nil {
		t.Fatalf("reconnect with the masked addresses: %v", err)
	}
	if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	got := src.fetched()
	slices.Sort(got)
	if diff := cmp.Diff([]string{home, work}, got); diff != "" {
		t.Errorf("fetched after the reconnect (-want +got):\n%s", diff)
	}

	in.BusyICS = []string{icsMasked}
	_, err = h.svc.ConnectCalDAV(h.ctx, u.ID, in)
	if followup.ErrorCode(err) != followup.EINVALID || followup.ErrorField(err) != "busy_ics" {
		t.Errorf("one of two alike masked addresses: %v, want EINVALID on busy_ics", err)
	}
	stored, _ := h.db.CalDAV(h.ctx, u.ID)
	if len(stored.SealedBusyICS) != 2 || stored.SealedBusyICS[0] == stored.SealedBusyICS[1] {
		t.Errorf("stored busy_ics %q, want the two addresses", stored.SealedBusyICS)
	}
}

// TestBusyICSKeptWhenNotSent: a reconnect that does not send busy_ics (the
// web page's calendar form, `caldav connect`) keeps the stored addresses
// and their state; an empty list removes them.
func TestBusyICSKeptWhenNotSent(t *testing.T) {
	h, src, u := newICSHarness(t, "kept@example.com")
	in := followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw", BusyICS: []string{icsAddress}}
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, in); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}

	in.Password, in.BusyICS, in.BusyCalendars = "", nil, []string{}
	conn, err := h.svc.ConnectCalDAV(h.ctx, u.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{icsMasked}, conn.BusyICS); diff != "" {
		t.Errorf("busy_ics after a reconnect without it (-want +got):\n%s", diff)
	}
	if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if got := src.fetched(); len(got) != 2 || got[1] != icsAddress || src.prev[1].ETag != `"e1"` {
		t.Errorf("after a reconnect without busy_ics fetched %q with state %+v, want the address and its state", got, src.prev)
	}

	in.BusyICS = []string{}
	if conn, err = h.svc.ConnectCalDAV(h.ctx, u.ID, in); err != nil || len(conn.BusyICS) != 0 {
		t.Errorf("an empty busy_ics: %q, %v; want none kept", conn.BusyICS, err)
	}
}

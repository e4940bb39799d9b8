package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/followup/followup"
	"github.com/followup/followup/store"
)

var t0 = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

// MustOpenDB opens and migrates a fresh real database: a SQLite file in a
// temp dir, or a PostgreSQL database (see testDSN).
func MustOpenDB(tb testing.TB) *store.DB {
	tb.Helper()
	return mustOpenAt(tb, testDSN(tb))
}

func mustOpenAt(tb testing.TB, dsn string) *store.DB {
	tb.Helper()
	db, err := store.Open(dsn, store.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustUser(tb testing.TB, db *store.DB, email string) followup.User {
	tb.Helper()
	u := followup.User{Email: email, PasswordHash: "x", CreatedAt: t0}
	if err := db.CreateUser(context.Background(), &u, followup.DefaultSettings("Europe/Berlin")); err != nil {
		tb.Fatal(err)
	}
	return u
}

func mustCommitment(tb testing.TB, db *store.DB, userID int64, name string) followup.Commitment {
	tb.Helper()
	c := followup.Commitment{
		UserID: userID, Contact: followup.Contact{Name: name, Email: "x@example.com"}, MetAt: t0, MetWhere: "Booth; 12, hall\nB",
		Promise: "Send the deck", Direction: followup.Mine, Due: t0.Add(48 * time.Hour), Priority: true,
		Meeting: &followup.Meeting{Start: t0.Add(72 * time.Hour), Minutes: 30, Location: "Café"},
		Status:  followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0, Warnings: []string{"clamped"},
	}
	if err := db.InsertCommitment(context.Background(), &c); err != nil {
		tb.Fatal(err)
	}
	return c
}

func mustStep(tb testing.TB, q followup.Queries, c followup.Commitment, kind followup.StepKind, uid string, start time.Time) followup.Step {
	tb.Helper()
	s := followup.Step{
		CommitmentID: c.ID, UserID: c.UserID, Kind: kind, Status: followup.StepPlanned, Start: start, End: start.Add(15 * time.Minute),
		NotBefore: t0, Due: t0.Add(24 * time.Hour), UID: uid, RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0,
	}
	if err := q.InsertStep(context.Background(), &s); err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestMigrateTwice(t *testing.T) {
	dsn := emptyDSN(t)
	db := mustOpenAt(t, dsn)
	u := mustUser(t, db, "a@example.com")
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	db.Close()
	db = mustOpenAt(t, dsn) // reopen and migrate again
	if got, err := db.UserByEmail(context.Background(), "a@example.com"); err != nil || got.ID != u.ID {
		t.Errorf("after migrating again: %+v, %v; want the user kept", got, err)
	}
	if next := mustUser(t, db, "b@example.com"); next.ID <= u.ID {
		t.Errorf("the next user got id %d, after %d", next.ID, u.ID)
	}
}

func TestOpenRejectsBadDSN(t *testing.T) {
	for _, dsn := range []string{"sqlite:", "sqlite:a?b", "postgres://alice@127.0.0.1:port/db"} {
		if _, err := store.Open(dsn, store.Options{}); followup.ErrorCode(err) != followup.EINVALID {
			t.Errorf("%q: %v", dsn, err)
		}
	}
}

// TestOpenPostgresHidesPassword: a PostgreSQL URL that is malformed, or
// names a server that does not answer, fails Open with an error that says
// so and never shows the password.
func TestOpenPostgresHidesPassword(t *testing.T) {
	const password = "Hunter2-s3cret"
	for _, tc := range []struct {
		dsn, says string
	}{
		{"postgres://alice:" + password + "@127.0.0.1:notaport/followup", "not a valid PostgreSQL URL"},
		{"postgresql://alice:" + password + "@127.0.0.1:notaport/followup", "not a valid PostgreSQL URL"},
		{"postgres://127.0.0.1:notaport/followup?user=alice&password=" + password, "not a valid PostgreSQL URL"},
		// Port 1 on the loopback: nothing listens, the connection is refused at once.
		{"postgres://alice:" + password + "@127.0.0.1:1/followup?connect_timeout=5", "Cannot connect to postgres://alice:xxxxx@127.0.0.1:1/followup"},
		{"postgres://127.0.0.1:1/followup?user=alice&password=" + password, "Cannot connect to"},
	} {
		db, err := store.Open(tc.dsn, store.Options{})
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", tc.dsn)
			continue
		}
		if strings.Contains(err.Error(), password) || strings.Contains(followup.ErrorMessage(err), password) {
			t.Errorf("Open's error shows the password: %v", err)
		}
		if code := followup.ErrorCode(err); code != followup.EINVALID && code != followup.EUNAVAILABLE {
			t.Errorf("Open's error is %s, want invalid or unavailable: %v", code, err)
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Open's error %q does not say %q", err, tc.says)
		}
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "Ada@Example.com")
	dup := followup.User{Email: "ada@example.com", PasswordHash: "y", CreatedAt: t0}
	if err := db.CreateUser(ctx, &dup, followup.DefaultSettings("UTC")); followup.ErrorCode(err) != followup.ECONFLICT {
		t.Fatalf("duplicate email (other case): %v", err)
	}
	got, err := db.UserByEmail(ctx, "ADA@example.com")
	if err != nil || got.ID != u.ID {
		t.Fatalf("by email: %v %+v", err, got)
	}
	if _, err := db.UserByEmail(ctx, "nobody@example.com"); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Fatalf("unknown email: %v", err)
	}
	if err := db.CreateAPIToken(ctx, u.ID, []byte("hash-1"), "cli"); err != nil {
		t.Fatal(err)
	}
	if got, _, err := db.UserByAPIToken(ctx, []byte("hash-1")); err != nil || got.ID != u.ID {
		t.Fatalf("by token: %v", err)
	}
	if _, _, err := db.UserByAPIToken(ctx, []byte("hash-2")); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Fatalf("unknown token: %v", err)
	}
	st := followup.DefaultSettings("America/New_York")
	st.BufferMinutes = 15
	if err := db.PutSettings(ctx, u.ID, st); err != nil {
		t.Fatal(err)
	}
	back, err := db.Settings(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, back); diff != "" {
		t.Errorf("settings round trip (-want +got):\n%s", diff)
	}
}

func TestFeedToken(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	if err := db.SetFeedToken(ctx, u.ID, []byte("old"), "sealed-old"); err != nil {
		t.Fatal(err)
	}
	f, err := db.FeedByToken(ctx, []byte("old"))
	if err != nil || f.UserID != u.ID {
		t.Fatalf("feed by token: %v", err)
	}
	if err := db.TouchFeed(ctx, u.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	f2, _ := db.FeedByToken(ctx, []byte("old"))
	if f2.Version != f.Version+1 || !f2.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("touch: %+v -> %+v", f, f2)
	}
	if err := db.SetFeedToken(ctx, u.ID, []byte("new"), "sealed-new"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FeedByToken(ctx, []byte("old")); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("old token still works: %v", err)
	}
	if s, _ := db.FeedToken(ctx, u.ID); s != "sealed-new" {
		t.Errorf("sealed token %q", s)
	}
}

// TestCommitmentRoundTrip stores a commitment in another zone and reads it
// back in UTC, identical but for the zone.
func TestCommitmentRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	ny, _ := time.LoadLocation("America/New_York")
	c := mustCommitment(t, db, u.ID, "Jane")
	c.MetAt = c.MetAt.In(ny)
	contacted := t0.Add(time.Hour).In(ny)
	c.ContactedAt = &contacted
	c.UpdatedAt = t0.Add(time.Hour)
	if err := db.UpdateCommitment(ctx, &c); err != nil {
		t.Fatal(err)
	}
	s := mustStep(t, db, c, followup.KindRefresher, "uid-1@followup", t0.Add(13*time.Hour))
	got, err := db.Commitment(ctx, u.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	c.Steps = []followup.Step{s}
	if diff := cmp.Diff(c, got, cmpopts.EquateApproxTime(0)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got.MetAt.Location() != time.UTC {
		t.Errorf("met_at read back in %v, want UTC", got.MetAt.Location())
	}
}

func TestOwnership(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b := mustUser(t, db, "a@example.com"), mustUser(t, db, "b@example.com")
	c := mustCommitment(t, db, a.ID, "Jane")
	if _, err := db.Commitment(ctx, b.ID, c.ID); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("B reads A's commitment: %v", err)
	}
	if err := db.DeleteCommitment(ctx, b.ID, c.ID); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("B deletes A's commitment: %v", err)
	}
	c2 := c
	c2.UserID = b.ID
	if err := db.UpdateCommitment(ctx, &c2); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("B updates A's commitment: %v", err)
	}
	list, err := db.Commitments(ctx, b.ID, followup.CommitmentFilter{})
	if err != nil || len(list) != 0 {
		t.Errorf("B lists %d commitments (%v)", len(list), err)
	}
	if m, _ := db.CommitmentsByID(ctx, b.ID, []int64{c.ID}); len(m) != 0 {
		t.Errorf("B gets A's commitment by id")
	}
}

func TestListNewestFirstAndFilter(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	var ids []int64
	for _, name := range []string{"one", "two", "three"} {
		ids = append(ids, mustCommitment(t, db, u.ID, name).ID)
	}
	c, _ := db.Commitment(ctx, u.ID, ids[1])
	c.Status = followup.StatusDone
	if err := db.UpdateCommitment(ctx, &c); err != nil {
		t.Fatal(err)
	}
	list, err := db.Commitments(ctx, u.ID, followup.CommitmentFilter{Status: followup.StatusOpen})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, c := range list {
		got = append(got, c.ID)
	}
	if diff := cmp.Diff([]int64{ids[2], ids[0]}, got); diff != "" {
		t.Errorf("open, newest first (-want +got):\n%s", diff)
	}
}

// TestDeleteLeavesTombstones: a deleted commitment's steps with an object on
// a calendar stay as cancelled tombstones; the others go.
func TestDeleteLeavesTombstones(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	c := mustCommitment(t, db, u.ID, "Jane")
	written := mustStep(t, db, c, followup.KindRefresher, "w@followup", t0.Add(time.Hour))
	written.RemoteETag, written.RemoteSequence, written.Status = `"e1"`, 0, followup.StepSynced
	if err := db.UpdateStep(ctx, &written); err != nil {
		t.Fatal(err)
	}
	mustStep(t, db, c, followup.KindDeliver, "p@followup", t0.Add(2*time.Hour))
	if err := db.DeleteCommitment(ctx, u.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	tomb, err := db.StepByUID(ctx, "w@followup")
	if err != nil {
		t.Fatalf("tombstone: %v", err)
	}
	if tomb.Status != followup.StepCancelled || tomb.CommitmentID != 0 || tomb.Sequence != 1 {
		t.Errorf("tombstone %+v", tomb)
	}
	if _, err := db.StepByUID(ctx, "p@followup"); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("unwritten step kept: %v", err)
	}
	sync, _ := db.SyncSteps(ctx, u.ID)
	if len(sync) != 1 || sync[0].UID != "w@followup" {
		t.Errorf("sync steps %+v", sync)
	}
	if pending, _ := db.PendingSteps(ctx, u.ID); len(pending) != 0 {
		t.Errorf("pending after delete: %+v", pending)
	}
}

func TestStepQueries(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	c := mustCommitment(t, db, u.ID, "Jane")
	mustStep(t, db, c, followup.KindRefresher, "r@followup", t0.Add(time.Hour))
	letGo := mustStep(t, db, c, followup.KindLetGo, "l@followup", t0.Add(240*time.Hour))
	done := mustStep(t, db, c, followup.KindDeliver, "d@followup", t0.Add(2*time.Hour))
	at := t0.Add(3 * time.Hour) // completed after it started: a record
	done.Status, done.CompletedAt = followup.StepDone, &at
	db.UpdateStep(ctx, &done)
	early := mustStep(t, db, c, followup.KindChase, "e@followup", t0.Add(5*time.Hour))
	at2 := t0.Add(4 * time.Hour) // completed before it started: free again
	early.Status, early.CompletedAt = followup.StepDone, &at2
	db.UpdateStep(ctx, &early)

	uids := func(steps []followup.Step) []string {
		var out []string
		for _, s := range steps {
			out = append(out, s.UID)
		}
		return out
	}
	live, _ := db.LiveBlocks(ctx, u.ID, t0.AddDate(0, 0, -90))
	if diff := cmp.Diff([]string{"r@followup", "d@followup"}, uids(live)); diff != "" {
		t.Errorf("live blocks (-want +got):\n%s", diff)
	}
	recent, _ := db.LiveBlocks(ctx, u.ID, t0.Add(90*time.Minute))
	if diff := cmp.Diff([]string{"d@followup"}, uids(recent)); diff != "" {
		t.Errorf("live blocks ending after the window start (-want +got):\n%s", diff)
	}
	due, _ := db.DueSteps(ctx, []followup.StepKind{followup.KindLetGo}, t0.Add(239*time.Hour), 10)
	if len(due) != 0 {
		t.Errorf("let_go due a hour early: %v", uids(due))
	}
	due, _ = db.DueSteps(ctx, []followup.StepKind{followup.KindLetGo}, letGo.Start, 10)
	if diff := cmp.Diff([]string{"l@followup"}, uids(due)); diff != "" {
		t.Errorf("due (-want +got):\n%s", diff)
	}
	in, _ := db.StepsInRange(ctx, u.ID, t0, t0.Add(90*time.Minute))
	if diff := cmp.Diff([]string{"r@followup"}, uids(in)); diff != "" {
		t.Errorf("in range (-want +got):\n%s", diff)
	}
	dupe := followup.Step{CommitmentID: c.ID, UserID: u.ID, Kind: followup.KindNudge, Status: followup.StepPlanned, UID: "r@followup", Start: t0, End: t0, NotBefore: t0, Due: t0, CreatedAt: t0, UpdatedAt: t0}
	if err := db.InsertStep(ctx, &dupe); followup.ErrorCode(err) != followup.ECONFLICT {
		t.Errorf("duplicate uid: %v", err)
	}
}

// TestOutboxCommitsWithTransaction: a job enqueued in a transaction that
// rolls back is gone with it; one that commits is stored.
func TestOutboxCommitsWithTransaction(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	boom := errors.New("boom")
	err := db.InTx(ctx, func(q followup.Queries) error {
		if err := q.Enqueue(ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: "x@followup"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx: %v", err)
	}
	if n, _ := db.PendingJobs(ctx); n != 0 {
		t.Fatalf("%d jobs after rollback", n)
	}
	err = db.InTx(ctx, func(q followup.Queries) error {
		for range 2 { // the same job twice: both stored, none skipped
			if err := q.Enqueue(ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: "x@followup"}); err != nil {
				return err
			}
		}
		return q.Enqueue(ctx, followup.Job{Kind: followup.JobSyncUser, UserID: u.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := db.PendingJobs(ctx); n != 3 {
		t.Fatalf("%d jobs after commit, want 3", n)
	}
	if err := db.Enqueue(ctx, followup.Job{Kind: "bogus"}); err == nil {
		t.Errorf("unknown job kind accepted")
	}
}

func TestCalDAVConnection(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	if _, err := db.CalDAV(ctx, u.ID); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Fatalf("no connection: %v", err)
	}
	conn := followup.CalDAVConnection{
		UserID: u.ID, URL: "https://dav.example.com", Username: "ada", SealedPassword: "v1:xx",
		CalendarURL: "https://dav.example.com/cal/", Calendars: []followup.Calendar{{URL: "https://dav.example.com/cal/", Name: "Follow-ups", Components: []string{"VEVENT"}}},
		BusyCalendars: []string{"https://dav.example.com/work/"}, SealedBusyICS: []string{"v1:sealed"},
		Origins: []string{"https://p42-dav.example.com:443"}, CreatedAt: t0, UpdatedAt: t0,
	}
	if err := db.PutCalDAV(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if err := db.SetCalDAVStatus(ctx, u.ID, t0.Add(time.Minute), "oops"); err != nil {
		t.Fatal(err)
	}
	got, err := db.CalDAV(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Minute)
	conn.LastSyncAt, conn.LastError = &at, "oops"
	if diff := cmp.Diff(conn, got); diff != "" {
		t.Errorf("connection (-want +got):\n%s", diff)
	}
	src := followup.BusySource{UserID: u.ID, URL: "https://dav.example.com/work/", Kind: "caldav", UpdatedAt: t0,
		CalDAV: followup.BusyState{SyncToken: "tok", Objects: map[string]followup.BusyObject{"a.ics": {ETag: `"1"`, Intervals: []followup.Interval{{Start: t0, End: t0.Add(time.Hour)}}}}}}
	if err := db.PutBusySource(ctx, src); err != nil {
		t.Fatal(err)
	}
	srcs, _ := db.BusySources(ctx, u.ID)
	if len(srcs) != 1 || len(srcs[0].Intervals()) != 1 || srcs[0].CalDAV.SyncToken != "tok" {
		t.Errorf("busy sources %+v", srcs)
	}
	if err := db.DeleteBusySources(ctx, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	if srcs, _ := db.BusySources(ctx, u.ID); len(srcs) != 0 {
		t.Errorf("busy sources left: %+v", srcs)
	}
	if ids, _ := db.CalDAVUsers(ctx); len(ids) != 1 || ids[0] != u.ID {
		t.Errorf("caldav users %v", ids)
	}
	// Origins not recorded (a connection from before 00005) stay nil,
	// apart from none recorded.
	for _, origins := range [][]string{nil, {}} {
		conn.Origins = origins
		if err := db.PutCalDAV(ctx, conn); err != nil {
			t.Fatal(err)
		}
		if got, err := db.CalDAV(ctx, u.ID); err != nil || (got.Origins == nil) != (origins == nil) || len(got.Origins) != 0 {
			t.Errorf("Origins %#v stored, read %#v (%v)", origins, got.Origins, err)
		}
	}
	if err := db.DeleteCalDAV(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteCalDAV(ctx, u.ID); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("second delete: %v", err)
	}
}

func TestPlanningFacts(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b := mustUser(t, db, "a@example.com"), mustUser(t, db, "b@example.com")
	c := mustCommitment(t, db, a.ID, "Jane")
	facts, err := db.PlanningFacts(ctx, a.ID, []int64{c.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := followup.Commitment{ID: c.ID, UserID: a.ID, Priority: true, MetAt: c.MetAt, Meeting: &followup.Meeting{Start: c.Meeting.Start, Minutes: 30}}
	if diff := cmp.Diff(want, facts[c.ID]); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}
	if other, _ := db.PlanningFacts(ctx, b.ID, []int64{c.ID}); len(other) != 0 {
		t.Errorf("B gets A's facts")
	}
}

func TestDatabaseFileMode(t *testing.T) {
	sqliteOnly(t, "PostgreSQL keeps its files")
	path := filepath.Join(t.TempDir(), "followup.db")
	mustOpenAt(t, path)
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want owner only", p, fi.Mode().Perm())
		}
	}
}

func TestUserLock(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	lock := func(owner string, until, now time.Time) bool {
		t.Helper()
		ok, err := db.LockUser(ctx, u.ID, owner, until, now)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !lock("a", t0.Add(time.Minute), t0) {
		t.Fatal("a free lease was refused")
	}
	if lock("b", t0.Add(time.Minute), t0.Add(30*time.Second)) {
		t.Fatal("b took a's live lease")
	}
	if !lock("a", t0.Add(2*time.Minute), t0.Add(30*time.Second)) {
		t.Fatal("a could not renew its lease")
	}
	if !lock("b", t0.Add(4*time.Minute), t0.Add(3*time.Minute)) {
		t.Fatal("b could not take an expired lease")
	}
	if err := db.UnlockUser(ctx, u.ID, "a"); err != nil { // not a's any more: no effect
		t.Fatal(err)
	}
	if lock("c", t0.Add(5*time.Minute), t0.Add(3*time.Minute)) {
		t.Fatal("a released b's lease")
	}
	if err := db.UnlockUser(ctx, u.ID, "b"); err != nil {
		t.Fatal(err)
	}
	if !lock("c", t0.Add(5*time.Minute), t0.Add(3*time.Minute)) {
		t.Fatal("c could not take a released lease")
	}
}

func TestInsertSteps(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	c := mustCommitment(t, db, u.ID, "Jane")
	mk := func(uid string) followup.Step {
		return followup.Step{CommitmentID: c.ID, UserID: u.ID, Kind: followup.KindRefresher, Status: followup.StepPlanned,
			Start: t0, End: t0.Add(15 * time.Minute), NotBefore: t0, Due: t0.Add(time.Hour), UID: uid, RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0}
	}
	steps := []followup.Step{mk("1@followup"), mk("2@followup"), mk("3@followup")}
	if err := db.InsertSteps(ctx, steps); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		got, err := db.StepByUID(ctx, s.UID)
		if err != nil || got.ID != s.ID || s.ID == 0 {
			t.Errorf("step %s: id %d, stored %d (%v)", s.UID, s.ID, got.ID, err)
		}
	}
	if err := db.InsertSteps(ctx, []followup.Step{mk("4@followup"), mk("1@followup")}); followup.ErrorCode(err) != followup.ECONFLICT {
		t.Errorf("duplicate uid: %v", err)
	}
	if err := db.InsertSteps(ctx, nil); err != nil {
		t.Errorf("no steps: %v", err)
	}
}

// TestPendingWrites: the writes whose answer was lost are stored with their
// step, read back by every step query, and forgotten with the remote state.
func TestPendingWrites(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := mustUser(t, db, "a@example.com")
	c := mustCommitment(t, db, u.ID, "Jane")
	s := mustStep(t, db, c, followup.KindRefresher, "r@followup", t0.Add(time.Hour))
	if s, err := db.StepByUID(ctx, "r@followup"); err != nil || s.PendingWrites != nil {
		t.Fatalf("a new step has pending writes %+v, %v", s.PendingWrites, err)
	}
	want := []followup.PendingWrite{
		{Sequence: 1, Start: t0.Add(time.Hour), End: t0.Add(75 * time.Minute)},
		{Sequence: 2, Start: t0.Add(3 * time.Hour), End: t0.Add(195 * time.Minute)},
	}
	s.RemoteETag, s.RemoteSequence, s.PendingWrites = `"e1"`, 0, want
	if err := db.UpdateStep(ctx, &s); err != nil {
		t.Fatal(err)
	}
	got, err := db.StepByUID(ctx, "r@followup")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.PendingWrites); diff != "" {
		t.Errorf("StepByUID pending writes (-want +got):\n%s", diff)
	}
	if sync, _ := db.SyncSteps(ctx, u.ID); len(sync) != 1 || !cmp.Equal(want, sync[0].PendingWrites) {
		t.Errorf("SyncSteps = %+v", sync)
	}
	if err := db.ResetRemote(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = db.StepByUID(ctx, "r@followup")
	if got.PendingWrites != nil || got.RemoteETag != "" || got.RemoteSequence != followup.NoRemoteSequence {
		t.Errorf("after ResetRemote: etag %q, sequence %d, pending %+v", got.RemoteETag, got.RemoteSequence, got.PendingWrites)
	}
}

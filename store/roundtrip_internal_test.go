package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/followup/followup"
	"github.com/followup/followup/internal/pgtest"
)

// statementLog records the statements a store sends to PostgreSQL.
type statementLog struct {
	mu   sync.Mutex
	sent []string
}

func (l *statementLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	l.sent = append(l.sent, strings.Join(strings.Fields(d.SQL), " "))
	l.mu.Unlock()
	return ctx
}

func (*statementLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns the statements recorded since the last take.
func (l *statementLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	sent := l.sent
	l.sent = nil
	return sent
}

// migratedPostgres names a fresh migrated PostgreSQL database, copied from
// the template; the test is skipped when PostgreSQL is not installed.
func migratedPostgres(t *testing.T) string {
	t.Helper()
	if !pgtest.Available() {
		t.Skip("PostgreSQL is not installed")
	}
	return pgtest.DatabaseFrom(t, pgtest.Template(t, "followup_store", func(dsn string) error {
		db, err := Open(dsn, Options{})
		if err != nil {
			return err
		}
		defer db.Close()
		return db.Migrate(context.Background())
	}))
}

// openTraced opens a fresh migrated PostgreSQL database with a user, its
// statements recorded.
func openTraced(t *testing.T) (*DB, *statementLog, followup.User, time.Time) {
	t.Helper()
	dsn := migratedPostgres(t)
	log := &statementLog{}
	t0 := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	db, err := Open(dsn, Options{Now: func() time.Time { return t0 }, tracer: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u := followup.User{Email: "a@example.com", PasswordHash: "x", CreatedAt: t0}
	if err := db.CreateUser(context.Background(), &u, followup.DefaultSettings("UTC")); err != nil {
		t.Fatal(err)
	}
	return db, log, u, t0
}

// TestCreateRoundTrips counts the statements (each a round trip) of a
// create's transaction on PostgreSQL, as the service commits one: the
// user's lock, the compare and swap of the plan version, the commitment,
// its steps, the block it moves and the plan version it leaves. The lock
// is taken with the transaction's BEGIN and given back by its commit, the
// claim, the inserts and the move are one statement (ClaimAndInsert), and
// the plan and feed versions this transaction wrote are known without
// reading them again.
func TestCreateRoundTrips(t *testing.T) {
	db, log, u, t0 := openTraced(t)
	ctx := context.Background()
	c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: "Jane"}, MetAt: t0, Promise: "p",
		Direction: followup.Mine, Due: t0.Add(48 * time.Hour), Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
	step := followup.Step{UserID: u.ID, Kind: followup.KindDeliver, Status: followup.StepPlanned,
		Start: t0.Add(time.Hour), End: t0.Add(75 * time.Minute), NotBefore: t0, Due: t0.Add(24 * time.Hour),
		UID: "rt-0@followup", RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0}
	stored := []followup.Step{step}
	if err := db.InsertCommitmentWithSteps(ctx, &c, stored); err != nil {
		t.Fatal(err)
	}
	// The new step takes the older one's slot, which moves an hour on.
	moved := stored[0]
	moved.Start, moved.End = step.Start.Add(time.Hour), step.End.Add(time.Hour)
	seen, err := db.PlanMark(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	log.take()
	var left followup.PlanMark
	err = db.InTx(followup.ForUser(ctx, u.ID), func(q followup.Queries) error {
		c := c
		step := step
		step.UID = "rt-1@followup"
		if ok, err := q.ClaimAndInsert(ctx, seen, &c, []followup.Step{step}, []followup.Step{moved}); err != nil || !ok {
			t.Fatalf("ClaimAndInsert = %v, %v", ok, err)
		}
		var err error
		left, err = q.PlanMark(ctx, u.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sent := log.take()
	if after, err := db.PlanMark(ctx, u.ID); err != nil || after.Version != left.Version || after.Feed != left.Feed {
		t.Errorf("PlanMark in the transaction %+v, after its commit %+v (%v)", left, after, err)
	}
	// begin with the lock, the claim (raising the feed version) with the
	// commitment, its steps and the move, commit
	const want = 3
	if len(sent) > want {
		t.Errorf("%d statements for a create's transaction, want at most %d:\n%s", len(sent), want, strings.Join(sent, "\n"))
	}

	// Outside a transaction the statement is the transaction, the user's
	// lock in it: one round trip.
	alone, aloneStep := c, step
	aloneStep.UID = "rt-2@followup"
	moved.Start, moved.End = moved.Start.Add(time.Hour), moved.End.Add(time.Hour)
	log.take()
	if ok, err := db.ClaimAndInsert(ctx, left, &alone, []followup.Step{aloneStep}, []followup.Step{moved}); err != nil || !ok {
		t.Fatalf("ClaimAndInsert outside a transaction = %v, %v", ok, err)
	}
	if sent := log.take(); len(sent) != 1 {
		t.Errorf("%d statements for a create outside a transaction, want 1:\n%s", len(sent), strings.Join(sent, "\n"))
	}
}

// TestMoveStepsWritesOnce: moves that change the feed, outside any
// transaction that raised the feed version, write each step once: the
// version is raised before the write, not stamped on the steps after it.
func TestMoveStepsWritesOnce(t *testing.T) {
	db, log, u, t0 := openTraced(t)
	ctx := context.Background()
	c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: "Jane"}, MetAt: t0, Promise: "p",
		Direction: followup.Mine, Due: t0.Add(48 * time.Hour), Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
	if err := db.InsertCommitment(ctx, &c); err != nil {
		t.Fatal(err)
	}
	var steps []followup.Step
	for i := range 3 {
		start := t0.Add(time.Duration(i+1) * time.Hour)
		steps = append(steps, followup.Step{CommitmentID: c.ID, UserID: u.ID, Kind: followup.KindDeliver, Status: followup.StepPlanned,
			Start: start, End: start.Add(15 * time.Minute), NotBefore: t0, Due: t0.Add(24 * time.Hour),
			UID: fmt.Sprintf("once-%d@followup", i), RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0})
	}
	if err := db.InsertSteps(ctx, steps); err != nil {
		t.Fatal(err)
	}
	stored, err := db.PendingSteps(ctx, u.ID)
	if err != nil || len(stored) != len(steps) {
		t.Fatalf("PendingSteps = %d steps, %v", len(stored), err)
	}
	for i := range stored {
		stored[i].Start = stored[i].Start.Add(24 * time.Hour)
		stored[i].End = stored[i].End.Add(24 * time.Hour)
	}
	log.take()
	if err := db.MoveSteps(followup.ForUser(ctx, u.ID), stored); err != nil {
		t.Fatal(err)
	}
	writes := 0
	for _, s := range log.take() {
		if strings.HasPrefix(s, "UPDATE steps") {
			writes++
		}
	}
	if writes != 1 {
		t.Errorf("%d UPDATEs of steps for one MoveSteps, want 1", writes)
	}
	after, err := db.PendingSteps(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := db.StepsChangedSince(ctx, u.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(stored) || len(f) != len(stored) {
		t.Fatalf("%d steps after the move, %d changed in the feed; want %d", len(after), len(f), len(stored))
	}
	for i := range after {
		if !after[i].Start.Equal(stored[i].Start) {
			t.Errorf("step %s starts %s, want %s", after[i].UID, after[i].Start, stored[i].Start)
		}
	}
}

// TestWantReplanInCreate: a create that wishes a re-plan already there
// does not read the user again (its transaction wrote the user's row).
func TestWantReplanInCreate(t *testing.T) {
	db, log, u, _ := openTraced(t)
	ctx := followup.ForUser(context.Background(), u.ID)
	if wanted, err := db.WantReplan(ctx, u.ID); err != nil || !wanted {
		t.Fatalf("WantReplan = %v, %v; want a new wish", wanted, err)
	}
	seen, err := db.PlanVersion(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	log.take()
	err = db.InTx(ctx, func(q followup.Queries) error {
		if ok, err := q.ClaimPlan(ctx, u.ID, seen); err != nil || !ok {
			t.Fatalf("ClaimPlan = %v, %v", ok, err)
		}
		wanted, err := q.WantReplan(ctx, u.ID)
		if wanted {
			t.Error("WantReplan: a new wish, want the one there")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range log.take() {
		if strings.HasPrefix(s, "SELECT 1 FROM users") {
			t.Errorf("the transaction read the user again: %s", s)
		}
	}
	if _, err := db.WantReplan(ctx, 999); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("WantReplan of no user: %v, want ENOTFOUND", err)
	}
}

// TestUserLockFailureLeavesNoTransaction: when the user's lock, sent with
// BEGIN, fails (here PostgreSQL's lock_timeout while another transaction
// of the user holds it), the caller gets the error and the connection
// goes back to the pool outside any transaction, kept (the same server
// process) rather than dropped: the next transactions on it, the only
// one, run. A wait the caller's context ends fails too.
func TestUserLockFailureLeavesNoTransaction(t *testing.T) {
	dsn := migratedPostgres(t)
	holder, err := Open(dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	impatient, err := Open(dsn+sep+"lock_timeout=100", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	impatient.db.SetMaxOpenConns(1)
	ctx := context.Background()
	u := followup.User{Email: "lock@example.com", PasswordHash: "x", CreatedAt: time.Now()}
	if err := holder.CreateUser(ctx, &u, followup.DefaultSettings("UTC")); err != nil {
		t.Fatal(err)
	}
	userCtx := followup.ForUser(ctx, u.ID)
	backend := func() int {
		var pid int
		err := impatient.InTx(userCtx, func(q followup.Queries) error {
			return q.(*queries).ex.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid)
		})
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	before := backend()

	release := holdTx(userCtx, holder)
	ran := false
	err = impatient.InTx(userCtx, func(followup.Queries) error { ran = true; return nil })
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "55P03" || ran {
		t.Errorf("a transaction of the user while another holds the lock: ran %v, error %v; want lock_not_available", ran, err)
	}
	waitCtx, cancel := context.WithTimeout(userCtx, 50*time.Millisecond)
	defer cancel()
	if err := holder.InTx(waitCtx, func(followup.Queries) error { ran = true; return nil }); err == nil || ran {
		t.Errorf("a wait for the lock past the caller's deadline: ran %v, error %v; want an error", ran, err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if after := backend(); after != before {
		t.Errorf("the connection of the failed lock was dropped (server process %d, then %d)", before, after)
	}
	for i := range 3 {
		var n int
		err := impatient.InTx(userCtx, func(q followup.Queries) error {
			return q.(*queries).ex.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, u.ID).Scan(&n)
		})
		if err != nil || n != 1 {
			t.Fatalf("transaction %d after the failed lock: %d, %v", i, n, err)
		}
	}
}

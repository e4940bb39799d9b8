package store

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// TestCreateRoundTrips counts the statements (each a round trip) of a
// create's transaction on PostgreSQL, as the service commits one: the
// user's lock, the compare and swap of the plan version, the commitment,
// its steps and the plan version it leaves. The lock is taken inside the
// transaction and given back by its commit, and the plan version this
// transaction wrote is known without reading it again.
func TestCreateRoundTrips(t *testing.T) {
	if !pgtest.Available() {
		t.Skip("PostgreSQL is not installed")
	}
	ctx := context.Background()
	dsn := pgtest.DatabaseFrom(t, pgtest.Template(t, "followup_store", func(dsn string) error {
		db, err := Open(dsn, Options{})
		if err != nil {
			return err
		}
		defer db.Close()
		return db.Migrate(context.Background())
	}))
	log := &statementLog{}
	t0 := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	db, err := Open(dsn, Options{Now: func() time.Time { return t0 }, tracer: log})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u := followup.User{Email: "a@example.com", PasswordHash: "x", CreatedAt: t0}
	if err := db.CreateUser(ctx, &u, followup.DefaultSettings("UTC")); err != nil {
		t.Fatal(err)
	}
	seen, err := db.PlanVersion(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	log.take()
	var left int64
	err = db.InTx(followup.ForUser(ctx, u.ID), func(q followup.Queries) error {
		if ok, err := q.ClaimPlan(ctx, u.ID, seen); err != nil || !ok {
			t.Fatalf("ClaimPlan = %v, %v", ok, err)
		}
		c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: "Jane"}, MetAt: t0, Promise: "p",
			Direction: followup.Mine, Due: t0.Add(48 * time.Hour), Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
		if err := q.InsertCommitment(ctx, &c); err != nil {
			return err
		}
		step := followup.Step{CommitmentID: c.ID, UserID: u.ID, Kind: followup.KindDeliver, Status: followup.StepPlanned,
			Start: t0.Add(time.Hour), End: t0.Add(75 * time.Minute), NotBefore: t0, Due: t0.Add(24 * time.Hour),
			UID: "rt-1@followup", RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0}
		if err := q.InsertSteps(ctx, []followup.Step{step}); err != nil {
			return err
		}
		left, err = q.PlanVersion(ctx, u.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sent := log.take()
	if after, err := db.PlanVersion(ctx, u.ID); err != nil || after != left {
		t.Errorf("PlanVersion in the transaction %d, after its commit %d (%v)", left, after, err)
	}
	// begin, lock, claim, commitment (and whether a habit is on), feed
	// version, steps, commit
	const want = 7
	if len(sent) > want {
		t.Errorf("%d statements for a create's transaction, want at most %d:\n%s", len(sent), want, strings.Join(sent, "\n"))
	}
}

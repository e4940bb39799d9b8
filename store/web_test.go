package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// TestSessions: a session is found by its token hash until it expires;
// event memory round-trips in UTC; deleting and expiring remove it.
func TestSessions(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	u := mustUser(t, db, "sessions@example.com")
	s := followup.Session{UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := db.CreateSession(ctx, &s, []byte("hash-1")); err != nil || s.ID == 0 {
		t.Fatalf("create: %v, id %d", err, s.ID)
	}
	got, err := db.SessionByToken(ctx, []byte("hash-1"), t0.Add(59*time.Minute))
	if err != nil || got.UserID != u.ID || got.Event != nil {
		t.Fatalf("lookup: %+v, %v", got, err)
	}
	if _, err := db.SessionByToken(ctx, []byte("hash-1"), t0.Add(time.Hour)); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("expired session: %v", err)
	}
	if _, err := db.SessionByToken(ctx, []byte("hash-2"), t0); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("unknown session: %v", err)
	}
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.FixedZone("EST", -5*3600))
	if err := db.SetSessionEvent(ctx, []byte("hash-1"), &followup.EventMemory{Where: "SaaStr", At: at}); err != nil {
		t.Fatal(err)
	}
	got, _ = db.SessionByToken(ctx, []byte("hash-1"), t0)
	if diff := cmp.Diff(&followup.EventMemory{Where: "SaaStr", At: at.UTC()}, got.Event); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	if err := db.SetSessionEvent(ctx, []byte("hash-1"), nil); err != nil {
		t.Fatal(err)
	}
	if got, _ = db.SessionByToken(ctx, []byte("hash-1"), t0); got.Event != nil {
		t.Errorf("event kept after clearing: %+v", got.Event)
	}
	if err := db.SetSessionEvent(ctx, []byte("nope"), nil); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("event of an unknown session: %v", err)
	}
	// A new session removes expired ones.
	later := followup.Session{UserID: u.ID, CreatedAt: t0.Add(2 * time.Hour), ExpiresAt: t0.Add(3 * time.Hour)}
	if err := db.CreateSession(ctx, &later, []byte("hash-3")); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d sessions after expiry, want 1 (%v)", n, err)
	}
	if err := db.DeleteSession(ctx, []byte("hash-3")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionByToken(ctx, []byte("hash-3"), t0); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("deleted session: %v", err)
	}
}

// TestLoginFailures: counted per email (any case) and per address within
// the window; old ones are forgotten; clearing forgets an account's.
func TestLoginFailures(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	add := func(email, addr string, at time.Time) {
		t.Helper()
		if err := db.AddLoginFailure(ctx, email, addr, at, at.Add(-24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	add("a@example.com", "10.0.0.1", t0)
	add("A@example.com", "10.0.0.2", t0.Add(time.Minute))
	add("b@example.com", "10.0.0.1", t0.Add(2*time.Minute))
	got, err := db.LoginFailures(ctx, "a@example.com", "10.0.0.1", t0)
	if err != nil || got != (followup.LoginCounts{Email: 2, Addr: 2}) {
		t.Fatalf("counts %+v, %v", got, err)
	}
	if got, _ = db.LoginFailures(ctx, "a@example.com", "10.0.0.1", t0.Add(90*time.Second)); got != (followup.LoginCounts{Email: 0, Addr: 1}) {
		t.Errorf("window: %+v", got)
	}
	if err := db.ClearLoginFailures(ctx, "A@EXAMPLE.COM"); err != nil {
		t.Fatal(err)
	}
	if got, _ = db.LoginFailures(ctx, "a@example.com", "10.0.0.2", t0); got != (followup.LoginCounts{Email: 0, Addr: 0}) {
		t.Errorf("after clearing: %+v", got)
	}
	add("c@example.com", "10.0.0.3", t0.Add(25*time.Hour)) // forgets the rest
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM login_failures`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d failures kept, want 1 (%v)", n, err)
	}
}

// TestIdempotencyKeys: a key is stored once per user, and goes with its commitment.
func TestIdempotencyKeys(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	u := mustUser(t, db, "idem@example.com")
	v := mustUser(t, db, "idem2@example.com")
	c := mustCommitment(t, db, u.ID, "Jane")
	k := followup.Idempotency{Key: "k1", Fingerprint: "f1", CommitmentID: c.ID}
	if err := db.PutIdempotency(ctx, u.ID, k, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.PutIdempotency(ctx, u.ID, k, t0); followup.ErrorCode(err) != followup.ECONFLICT {
		t.Errorf("second put: %v", err)
	}
	if got, err := db.Idempotency(ctx, u.ID, "k1"); err != nil || got != k {
		t.Errorf("get: %+v, %v", got, err)
	}
	if _, err := db.Idempotency(ctx, v.ID, "k1"); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("another user's key: %v", err)
	}
	if err := db.DeleteCommitment(ctx, u.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Idempotency(ctx, u.ID, "k1"); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("key of a deleted commitment: %v", err)
	}
}

// TestCommitmentFilters: starred, direction and a name search in which
// LIKE's wildcards match only themselves.
func TestCommitmentFilters(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	u := mustUser(t, db, "filters@example.com")
	mustCommitment(t, db, u.ID, "Ann 50%")   // starred, mine
	mustCommitment(t, db, u.ID, "Bob_Baker") // starred, mine
	c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: "Cy"}, MetAt: t0, Promise: "p", Direction: followup.Theirs,
		Due: t0.Add(time.Hour), Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
	if err := db.InsertCommitment(ctx, &c); err != nil {
		t.Fatal(err)
	}
	names := func(f followup.CommitmentFilter) []string {
		t.Helper()
		list, err := db.Commitments(ctx, u.ID, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range list {
			out = append(out, c.Contact.Name)
		}
		return out
	}
	for _, tc := range []struct {
		f    followup.CommitmentFilter
		want []string
	}{
		{followup.CommitmentFilter{Starred: true}, []string{"Bob_Baker", "Ann 50%"}},
		{followup.CommitmentFilter{Direction: followup.Theirs}, []string{"Cy"}},
		{followup.CommitmentFilter{Search: "bob"}, []string{"Bob_Baker"}},
		{followup.CommitmentFilter{Search: "%"}, []string{"Ann 50%"}},
		{followup.CommitmentFilter{Search: "_"}, []string{"Bob_Baker"}},
		{followup.CommitmentFilter{Search: "n_5"}, nil}, // as a wildcard, _ would match "n 5"
		{followup.CommitmentFilter{Search: "Cy", Direction: followup.Mine}, nil},
	} {
		if diff := cmp.Diff(tc.want, names(tc.f)); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", tc.f, diff)
		}
	}
}

package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?' , ? FROM t WHERE x LIKE ? ESCAPE '\'`, `SELECT '?' , $1 FROM t WHERE x LIKE $2 ESCAPE '\'`},
		{`SELECT 'it''s ?', "odd?name", ?`, `SELECT 'it''s ?', "odd?name", $1`},
		{strings.Repeat("?,", 11) + "?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12"},
	} {
		if got := postgresDialect.rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := sqliteDialect.rebind(tc.in); got != tc.in {
			t.Errorf("SQLite: rebind(%q) = %q, want it unchanged", tc.in, got)
		}
	}
}

func FuzzRebind(f *testing.F) {
	f.Add(`SELECT '?', ? FROM "t?" WHERE a = ?`)
	f.Fuzz(func(t *testing.T, q string) {
		out := postgresDialect.rebind(q)
		if strings.Count(q, "?") == 0 && out != q {
			t.Fatalf("rebind(%q) = %q, changed a query with no ?", q, out)
		}
		if n := strings.Count(out, "?"); n > strings.Count(q, "?") {
			t.Fatalf("rebind(%q) = %q added a ?", q, out)
		}
	})
}

func TestArgs(t *testing.T) {
	in := []any{true, "x", false, 3}
	got := postgresDialect.args(in)
	if diff := cmp.Diff([]any{int64(1), "x", int64(0), 3}, got); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if in[0] != true {
		t.Errorf("args changed the caller's slice: %v", in)
	}
	if got := sqliteDialect.args(in); got[0] != true {
		t.Errorf("SQLite: args = %v, want unchanged", got)
	}
}

func TestIsUniqueAndRetryable(t *testing.T) {
	wrap := func(code string) error { return fmt.Errorf("store: x: %w", &pgconn.PgError{Code: code}) }
	if !isUnique(wrap("23505")) || isUnique(wrap("23503")) || isUnique(nil) || isUnique(errors.New("x")) {
		t.Error("isUnique does not tell PostgreSQL's unique_violation")
	}
	if !isUnique(errors.New("constraint failed: UNIQUE constraint failed: users.email (2067)")) {
		t.Error("isUnique does not tell SQLite's")
	}
	if !isRetryable(wrap("40001")) || !isRetryable(wrap("40P01")) || isRetryable(wrap("23505")) || isRetryable(errors.New("40001")) {
		t.Error("isRetryable")
	}
}

func TestMaskPassword(t *testing.T) {
	const pw = "p@ss/w:rd"
	for _, dsn := range []string{
		"postgres://u:" + "p%40ss%2Fw%3Ard" + "@h:5432/db",
		"postgres://h:5432/db?user=u&password=p%40ss%2Fw%3Ard",
	} {
		err := maskPassword(fmt.Errorf("failed for %s and %s", pw, "p%40ss%2Fw%3Ard"), dsn)
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "p%40ss") {
			t.Errorf("%s: %v", dsn, err)
		}
		if red := redactedDSN(dsn); strings.Contains(red, "p%40ss") || strings.Contains(red, pw) || !strings.Contains(red, "xxxxx") {
			t.Errorf("redactedDSN(%s) = %s", dsn, red)
		}
	}
}

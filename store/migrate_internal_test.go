package store

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// TestMigrateIDsKeepsData migrates a database holding data from version 2
// (before ids were kept from reuse) and checks that every row survives with
// its id, the foreign keys hold and act as before, and a deleted newest id
// is not handed out again.
func TestMigrateIDsKeepsData(t *testing.T) {
	ctx := context.Background()
	db, err := Open("sqlite:"+filepath.Join(t.TempDir(), "old.db"), Options{Now: func() time.Time { return time.Unix(0, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsys, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.db.ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	const ts = "2026-11-23T20:00:00.000000Z"
	for _, email := range []string{"a@example.com", "b@example.com"} {
		exec(`INSERT INTO users (email, password_hash, settings, feed_updated_at, created_at) VALUES (?, 'h', '{}', ?, ?)`, email, ts, ts)
	}
	exec(`INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES (1, x'01', ?)`, ts)
	exec(`INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES (1, x'02', ?)`, ts)
	for i, user := range []int{1, 1, 2, 1} {
		exec(`INSERT INTO commitments (user_id, contact_name, met_at, promise, direction, due, status, created_at, updated_at)
			VALUES (?, ?, ?, 'p', 'mine', ?, 'open', ?, ?)`, user, string(rune('A'+i)), ts, ts, ts, ts)
	}
	for i, c := range []int{1, 1, 2, 3, 4, 4} {
		exec(`INSERT INTO steps (commitment_id, user_id, kind, status, start_at, end_at, not_before, due, uid, created_at, updated_at)
			VALUES (?, (SELECT user_id FROM commitments WHERE id = ?), 'deliver', 'planned', ?, ?, ?, ?, ?, ?, ?)`, c, c, ts, ts, ts, ts, string(rune('a'+i))+"@followup", ts, ts)
	}
	exec(`INSERT INTO caldav_accounts (user_id, url, username, password_sealed, created_at, updated_at) VALUES (1, 'u', 'n', 's', ?, ?)`, ts, ts)
	exec(`INSERT INTO busy_sources (user_id, url, kind, state, updated_at) VALUES (1, 'u', 'ics', '{}', ?)`, ts)
	exec(`INSERT INTO user_locks (user_id, owner, until) VALUES (2, 'o', ?)`, ts)
	// The migrations before this one, then some use of what they added.
	if _, err := p.UpTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE api_tokens SET last_used_at = ? WHERE id = 1`, ts)
	before := dump(t, db, nil)

	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	after := dump(t, db, before)
	for table, rows := range before {
		if after[table].rows != rows.rows {
			t.Errorf("%s changed:\n%s\nbecame\n%s", table, rows.rows, after[table].rows)
		}
	}
	for _, conn := range []int{1, 2, 3} { // fresh connections of the pool too
		var on int
		if err := db.db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on); err != nil || on != 1 {
			t.Fatalf("connection %d: foreign_keys = %d (%v), want on", conn, on, err)
		}
	}
	rows, err := db.db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign_key_check reports violations")
	}
	rows.Close()
	var indexes int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN
		('commitments_user_status', 'steps_commitment', 'steps_user_status_rev', 'steps_user_done', 'steps_due_moments', 'steps_due_meetings')`).Scan(&indexes); err != nil || indexes != 6 {
		t.Errorf("%d of 6 indexes (%v)", indexes, err)
	}

	// Deleting a commitment still nulls its steps' link, deleting a user
	// still removes their rows, and the deleted newest id stays unused. (An
	// id deleted before the upgrade left no trace to keep it from reuse.)
	exec(`DELETE FROM commitments WHERE id = 4`)
	exec(`DELETE FROM commitments WHERE id = 3`)
	var orphan int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM steps WHERE commitment_id IS NULL AND uid = 'd@followup'`).Scan(&orphan); err != nil || orphan != 1 {
		t.Errorf("step of a deleted commitment: %d with no commitment (%v), want 1", orphan, err)
	}
	exec(`DELETE FROM users WHERE id = 2`)
	var left int
	if err := db.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM commitments WHERE user_id = 2) + (SELECT count(*) FROM steps WHERE user_id = 2) +
		(SELECT count(*) FROM user_locks WHERE user_id = 2)`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d rows of a deleted user left (%v)", left, err)
	}
	res, err := db.db.ExecContext(ctx, `INSERT INTO commitments (user_id, contact_name, met_at, promise, direction, due, status, created_at, updated_at)
		VALUES (1, 'E', ?, 'p', 'mine', ?, 'open', ?, ?)`, ts, ts, ts, ts)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := res.LastInsertId(); id != 5 {
		t.Errorf("the next commitment got id %d, want 5: ids 3 and 4 were deleted", id)
	}
	exec(`DELETE FROM api_tokens WHERE id = 2`)
	if res, err = db.db.ExecContext(ctx, `INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES (1, x'03', ?)`, ts); err != nil {
		t.Fatal(err)
	}
	if id, _ := res.LastInsertId(); id != 3 {
		t.Errorf("the next token got id %d, want 3: id 2 was revoked", id)
	}
}

// table is a table's columns and its rows as text.
type table struct {
	cols []string
	rows string
}

// dump returns every row of the service's tables, as text, by table: the
// columns of like, when given, so that columns later migrations add do not
// count.
func dump(t *testing.T, db *DB, like map[string]table) map[string]table {
	t.Helper()
	out := map[string]table{}
	for _, name := range []string{"users", "api_tokens", "commitments", "steps", "caldav_accounts", "busy_sources", "user_locks"} {
		cols, from, order := "*", name, "rowid"
		if like != nil {
			cols = strings.Join(like[name].cols, ", ")
			if name == "users" { // its versions moved to user_versions (migration 00054)
				from, order = "users LEFT JOIN user_versions ON user_versions.user_id = users.id", "users.rowid"
			}
		}
		rows, err := db.db.QueryContext(context.Background(), `SELECT `+cols+` FROM `+from+` ORDER BY `+order)
		if err != nil {
			t.Fatal(err)
		}
		names, _ := rows.Columns()
		tb := table{cols: names}
		for rows.Next() {
			vals := make([]any, len(names))
			ptrs := make([]any, len(names))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				tb.rows += names[i] + "=" + fmtValue(v) + " "
			}
			tb.rows += "\n"
		}
		rows.Close()
		out[name] = tb
	}
	return out
}

// fmtValue formats a scanned column value.
func fmtValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return "x'" + string(x) + "'"
	default:
		return fmt.Sprint(x)
	}
}

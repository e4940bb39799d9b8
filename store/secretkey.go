package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// sealedColumns are the columns that hold one value sealed with the secret
// key (secret.Box), by table and primary key. Every such column must be
// listed here, so that the key check sees it and RotateKey re-seals it;
// caldav_accounts.busy_ics, a JSON array of sealed addresses that also key
// busy_sources, is re-sealed by resealBusyICS.
var sealedColumns = []struct{ table, key, column string }{
	{"users", "id", "feed_token_sealed"},
	{"caldav_accounts", "user_id", "password_sealed"},
}

// KeyState is what the database knows of the key its secrets are sealed
// with.
type KeyState struct {
	// KeyID is the recorded key's id; "" when none is recorded (a new
	// database, or one from before the record was kept).
	KeyID string
	// Sample is one sealed value; "" when the database holds none, and only
	// then may a new key be made.
	Sample string
}

// KeyState reads the database's key record and one sealed value. It runs
// before Migrate and changes nothing: a new database has neither, and one
// from before migration 4 has no record.
func (s *DB) KeyState(ctx context.Context) (KeyState, error) {
	var st KeyState
	version, err := s.schemaVersion(ctx)
	if err != nil || version == 0 {
		return st, err
	}
	if version >= 4 {
		err := s.db.QueryRowContext(ctx, `SELECT key_id FROM secret_key WHERE id = 1`).Scan(&st.KeyID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return st, fmt.Errorf("store: key record: %w", err)
		}
	}
	var parts []string
	for _, c := range sealedColumns {
		parts = append(parts, fmt.Sprintf(`SELECT %s AS v FROM %s WHERE %s != ''`, c.column, c.table, c.column))
	}
	err = s.db.QueryRowContext(ctx, `SELECT v FROM (`+strings.Join(parts, " UNION ALL ")+`) AS sealed LIMIT 1`).Scan(&st.Sample)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("store: sealed values: %w", err)
	}
	return st, nil
}

// schemaVersion returns the highest applied migration, 0 for a database
// never migrated.
func (s *DB) schemaVersion(ctx context.Context) (int64, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.tableExists(), "goose_db_version").Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v int64
	err = s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// tableExists is a query counting the tables named $1 (0 or 1), in the
// dialect: PostgreSQL's in the schemas of the search path.
func (s *DB) tableExists() string {
	if s.dialect == postgresDialect {
		return `SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = $1 AND schemaname = ANY (current_schemas(false))`
	}
	return `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
}

// RecordKey records the id of the key the database's secrets are sealed
// with, replacing any record (callers do so only when no value is sealed,
// or when the record is missing and the key opens a sealed value).
func (s *DB) RecordKey(ctx context.Context, keyID string) error {
	_, err := s.q().ex.ExecContext(ctx, `
		INSERT INTO secret_key (id, key_id, updated_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, updated_at = excluded.updated_at`,
		keyID, ts(s.now()))
	if err != nil {
		return fmt.Errorf("store: record key: %w", err)
	}
	return nil
}

// RotateKey re-seals every sealed value with reseal and records the new
// key's id, in one transaction: if any value fails, or the recorded key is
// not from, nothing changes. It returns how many values it re-sealed.
func (s *DB) RotateKey(ctx context.Context, from, to string, reseal func(sealed string) (string, error)) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: rotate key: %w", err)
	}
	defer tx.Rollback()
	ex := stmts{db: s.db, tx: tx, dialect: s.dialect, cache: &s.stmts}
	var recorded string
	if err := tx.QueryRowContext(ctx, `SELECT key_id FROM secret_key WHERE id = 1`).Scan(&recorded); err != nil {
		return 0, fmt.Errorf("store: rotate key: key record: %w", err)
	}
	if recorded != from {
		return 0, fmt.Errorf("store: rotate key: the database records key %s, not %s", recorded, from)
	}
	n := 0
	for _, c := range sealedColumns {
		m, err := resealColumn(ctx, ex, c.table, c.key, c.column, reseal)
		if err != nil {
			return 0, err
		}
		n += m
	}
	m, err := resealBusyICS(ctx, ex, reseal)
	if err != nil {
		return 0, err
	}
	n += m
	if _, err := ex.ExecContext(ctx, `UPDATE secret_key SET key_id = ?, updated_at = ? WHERE id = 1`, to, ts(s.now())); err != nil {
		return 0, fmt.Errorf("store: rotate key: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: rotate key: commit: %w", err)
	}
	return n, nil
}

// resealColumn re-seals the non-empty values of one column inside tx.
func resealColumn(ctx context.Context, tx execer, table, key, column string, reseal func(string) (string, error)) (int, error) {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s != ''`, key, column, table, column))
	if err != nil {
		return 0, fmt.Errorf("store: rotate key: %s.%s: %w", table, column, err)
	}
	type value struct {
		id     int64
		sealed string
	}
	var values []value
	for rows.Next() {
		var v value
		if err := rows.Scan(&v.id, &v.sealed); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: rotate key: %s.%s: %w", table, column, err)
		}
		values = append(values, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: rotate key: %s.%s: %w", table, column, err)
	}
	for _, v := range values {
		resealed, err := reseal(v.sealed)
		if err != nil {
			return 0, fmt.Errorf("store: rotate key: %s.%s of %s %d: %w", table, column, key, v.id, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s = ?`, table, column, key), resealed, v.id); err != nil {
			return 0, fmt.Errorf("store: rotate key: %s.%s: %w", table, column, err)
		}
	}
	return len(values), nil
}

// resealBusyICS re-seals the sealed busy_ics addresses inside tx, and
// re-keys their busy state, which is stored under the sealed address.
func resealBusyICS(ctx context.Context, tx execer, reseal func(string) (string, error)) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT user_id, busy_ics FROM caldav_accounts WHERE busy_ics != '[]'`)
	if err != nil {
		return 0, fmt.Errorf("store: rotate key: busy_ics: %w", err)
	}
	stored := map[int64]string{}
	for rows.Next() {
		var id int64
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: rotate key: busy_ics: %w", err)
		}
		stored[id] = raw
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: rotate key: busy_ics: %w", err)
	}
	n := 0
	for id, raw := range stored {
		var addrs []string
		if err := json.Unmarshal([]byte(raw), &addrs); err != nil {
			return 0, fmt.Errorf("store: rotate key: busy_ics of user_id %d: %w", id, err)
		}
		for i, old := range addrs {
			if addrs[i], err = reseal(old); err != nil {
				return 0, fmt.Errorf("store: rotate key: busy_ics of user_id %d: %w", id, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE busy_sources SET url = ? WHERE user_id = ? AND url = ?`, addrs[i], id, old); err != nil {
				return 0, fmt.Errorf("store: rotate key: busy state of user_id %d: %w", id, err)
			}
		}
		out, err := json.Marshal(addrs)
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE caldav_accounts SET busy_ics = ? WHERE user_id = ?`, string(out), id); err != nil {
			return 0, fmt.Errorf("store: rotate key: busy_ics of user_id %d: %w", id, err)
		}
		n += len(addrs)
	}
	return n, nil
}

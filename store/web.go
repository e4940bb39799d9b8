package store

import (
	"context"
	"fmt"
	"time"

	"github.com/followup/followup"
)

// CountUsers returns how many accounts exist.
func (q *queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := q.ex.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// CreateSession stores a session and removes sessions already expired.
func (q *queries) CreateSession(ctx context.Context, s *followup.Session, tokenHash []byte) error {
	if _, err := q.ex.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ts(s.CreatedAt)); err != nil {
		return fmt.Errorf("store: expire sessions: %w", err)
	}
	err := q.ex.QueryRowContext(ctx, `INSERT INTO sessions (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?) RETURNING id`,
		s.UserID, tokenHash, ts(s.CreatedAt), ts(s.ExpiresAt)).Scan(&s.ID)
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionByToken returns a session that has not expired at now.
func (q *queries) SessionByToken(ctx context.Context, tokenHash []byte, now time.Time) (followup.Session, error) {
	var s followup.Session
	var where string
	var at *time.Time
	err := q.ex.QueryRowContext(ctx, `
		SELECT id, user_id, event_where, event_at, created_at, expires_at
		FROM sessions WHERE token_hash = ? AND expires_at > ?`, tokenHash, ts(now)).
		Scan(&s.ID, &s.UserID, &where, scanTimePtr(&at), scanTime(&s.CreatedAt), scanTime(&s.ExpiresAt))
	if err != nil {
		return s, notFound(err, "Session")
	}
	if at != nil {
		s.Event = &followup.EventMemory{Where: where, At: *at}
	}
	return s, nil
}

// DeleteSession removes a session; a missing one is not an error.
func (q *queries) DeleteSession(ctx context.Context, tokenHash []byte) error {
	if _, err := q.ex.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// SetSessionEvent stores or clears the session's event memory.
func (q *queries) SetSessionEvent(ctx context.Context, tokenHash []byte, e *followup.EventMemory) error {
	where, at := "", any(nil)
	if e != nil {
		where, at = e.Where, ts(e.At)
	}
	return q.execOne(ctx, "Session", `UPDATE sessions SET event_where = ?, event_at = ? WHERE token_hash = ?`, where, at, tokenHash)
}

// AddLoginFailure records a failed sign-in and forgets those before forget.
func (q *queries) AddLoginFailure(ctx context.Context, email, addr string, at, forget time.Time) error {
	if _, err := q.ex.ExecContext(ctx, `DELETE FROM login_failures WHERE at < ?`, ts(forget)); err != nil {
		return fmt.Errorf("store: forget login failures: %w", err)
	}
	if _, err := q.ex.ExecContext(ctx, `INSERT INTO login_failures (email, addr, at) VALUES (?, ?, ?)`, email, addr, ts(at)); err != nil {
		return fmt.Errorf("store: add login failure: %w", err)
	}
	return nil
}

// LoginFailures counts failures since a time, per email and per address.
func (q *queries) LoginFailures(ctx context.Context, email, addr string, since time.Time) (followup.LoginCounts, error) {
	var n followup.LoginCounts
	err := q.ex.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM login_failures WHERE email = ? AND at >= ?),
		       (SELECT count(*) FROM login_failures WHERE addr = ? AND at >= ?)`,
		email, ts(since), addr, ts(since)).Scan(&n.Email, &n.Addr)
	if err != nil {
		return n, fmt.Errorf("store: count login failures: %w", err)
	}
	return n, nil
}

// ClearLoginFailures forgets an account's failures.
func (q *queries) ClearLoginFailures(ctx context.Context, email string) error {
	if _, err := q.ex.ExecContext(ctx, `DELETE FROM login_failures WHERE email = ?`, email); err != nil {
		return fmt.Errorf("store: clear login failures: %w", err)
	}
	return nil
}

// Idempotency returns a stored idempotency key.
func (q *queries) Idempotency(ctx context.Context, userID int64, key string) (followup.Idempotency, error) {
	k := followup.Idempotency{Key: key}
	err := q.ex.QueryRowContext(ctx, `SELECT fingerprint, commitment_id FROM idempotency_keys WHERE user_id = ? AND key = ?`, userID, key).
		Scan(&k.Fingerprint, &k.CommitmentID)
	return k, notFound(err, "Idempotency key")
}

// PutIdempotency stores a key; a key already stored is ECONFLICT.
func (q *queries) PutIdempotency(ctx context.Context, userID int64, k followup.Idempotency, at time.Time) error {
	_, err := q.ex.ExecContext(ctx, `INSERT INTO idempotency_keys (user_id, key, fingerprint, commitment_id, created_at) VALUES (?, ?, ?, ?, ?)`,
		userID, k.Key, k.Fingerprint, k.CommitmentID, ts(at))
	if isUnique(err) {
		return followup.Errorf(followup.ECONFLICT, "idempotency_key", "This idempotency key was already used.")
	} else if err != nil {
		return fmt.Errorf("store: put idempotency key: %w", err)
	}
	return nil
}

// Outcomes returns the user's commitments met since a time, oldest first.
func (q *queries) Outcomes(ctx context.Context, userID int64, since time.Time) ([]followup.Outcome, error) {
	rows, err := q.ex.QueryContext(ctx, `
		SELECT id, status, created_at, met_at, contacted_at, ended_at, delivered_at
		FROM commitments WHERE user_id = ? AND (met_at >= ? OR ended_at >= ?) ORDER BY met_at, id`,
		userID, ts(since), ts(since))
	if err != nil {
		return nil, fmt.Errorf("store: outcomes: %w", err)
	}
	defer rows.Close()
	var out []followup.Outcome
	for rows.Next() {
		var o followup.Outcome
		var status string
		if err := rows.Scan(&o.ID, &status, scanTime(&o.CreatedAt), scanTime(&o.MetAt),
			scanTimePtr(&o.ContactedAt), scanTimePtr(&o.EndedAt), scanTimePtr(&o.DeliveredAt)); err != nil {
			return nil, err
		}
		o.Status = followup.Status(status)
		out = append(out, o)
	}
	return out, rows.Err()
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/followup/followup"
)

// CalDAV returns the user's CalDAV connection, ENOTFOUND when none.
func (q *queries) CalDAV(ctx context.Context, userID int64) (followup.CalDAVConnection, error) {
	var c followup.CalDAVConnection
	var cals, busy, ics string
	var origins sql.NullString
	err := q.ex.QueryRowContext(ctx, `
		SELECT user_id, url, username, password_sealed, endpoint, home_set, calendar_url, calendars, busy_calendars,
			busy_ics, origins, last_sync_at, last_error, created_at, updated_at
		FROM caldav_accounts WHERE user_id = ?`, userID).
		Scan(&c.UserID, &c.URL, &c.Username, &c.SealedPassword, &c.Endpoint, &c.HomeSet, &c.CalendarURL, &cals, &busy,
			&ics, &origins, scanTimePtr(&c.LastSyncAt), &c.LastError, scanTime(&c.CreatedAt), scanTime(&c.UpdatedAt))
	if err != nil {
		return c, notFound(err, "CalDAV connection")
	}
	if origins.Valid {
		c.Origins = []string{} // recorded, even if none
	} else {
		origins.String = "null"
	}
	for _, f := range []struct {
		raw string
		dst any
	}{{cals, &c.Calendars}, {busy, &c.BusyCalendars}, {ics, &c.SealedBusyICS}, {origins.String, &c.Origins}} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return c, fmt.Errorf("store: caldav of user %d: %w", userID, err)
		}
	}
	if c.Calendars == nil {
		c.Calendars = []followup.Calendar{}
	}
	if c.BusyCalendars == nil {
		c.BusyCalendars = []string{}
	}
	return c, nil
}

// PutCalDAV creates or replaces the user's CalDAV connection. It stores
// SealedBusyICS, not BusyICS, and nil Origins as not recorded.
func (q *queries) PutCalDAV(ctx context.Context, c followup.CalDAVConnection) error {
	cals, _ := json.Marshal(orEmpty(c.Calendars))
	busy, _ := json.Marshal(orEmpty(c.BusyCalendars))
	ics, _ := json.Marshal(orEmpty(c.SealedBusyICS))
	var origins sql.NullString
	if c.Origins != nil {
		raw, _ := json.Marshal(c.Origins)
		origins = sql.NullString{String: string(raw), Valid: true}
	}
	_, err := q.ex.ExecContext(ctx, `
		INSERT INTO caldav_accounts (user_id, url, username, password_sealed, endpoint, home_set, calendar_url, calendars,
			busy_calendars, busy_ics, origins, last_sync_at, last_error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET url = excluded.url, username = excluded.username,
			password_sealed = excluded.password_sealed, endpoint = excluded.endpoint, home_set = excluded.home_set,
			calendar_url = excluded.calendar_url, calendars = excluded.calendars, busy_calendars = excluded.busy_calendars,
			busy_ics = excluded.busy_ics, origins = excluded.origins, last_sync_at = excluded.last_sync_at,
			last_error = excluded.last_error, updated_at = excluded.updated_at`,
		c.UserID, c.URL, c.Username, c.SealedPassword, c.Endpoint, c.HomeSet, c.CalendarURL, string(cals), string(busy),
		string(ics), origins, nullTS(c.LastSyncAt), c.LastError, ts(c.CreatedAt), ts(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put caldav: %w", err)
	}
	// The calendar blocks are written to is part of what planning read.
	return q.bumpPlan(ctx, c.UserID)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// DeleteCalDAV removes the user's connection and its busy sources.
func (q *queries) DeleteCalDAV(ctx context.Context, userID int64) error {
	if _, err := q.ex.ExecContext(ctx, `DELETE FROM busy_sources WHERE user_id = ?`, userID); err != nil {
		return err
	}
	if err := q.execOne(ctx, "CalDAV connection", `DELETE FROM caldav_accounts WHERE user_id = ?`, userID); err != nil {
		return err
	}
	return q.bumpPlan(ctx, userID)
}

// CalDAVUsers lists the users with a CalDAV connection.
func (q *queries) CalDAVUsers(ctx context.Context) ([]int64, error) {
	return q.ids(ctx, `SELECT user_id FROM caldav_accounts ORDER BY user_id`)
}

// busyState is the stored JSON of a busy source.
type busyState struct {
	CalDAV *followup.BusyState `json:"caldav,omitempty"`
	ICS    *followup.ICSState  `json:"ics,omitempty"`
}

// BusySources returns the user's busy sources with their last state.
func (q *queries) BusySources(ctx context.Context, userID int64) ([]followup.BusySource, error) {
	rows, err := q.ex.QueryContext(ctx, `SELECT url, kind, state, updated_at FROM busy_sources WHERE user_id = ? ORDER BY url`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []followup.BusySource
	for rows.Next() {
		b := followup.BusySource{UserID: userID}
		var raw string
		if err := rows.Scan(&b.URL, &b.Kind, &raw, scanTime(&b.UpdatedAt)); err != nil {
			return nil, err
		}
		var st busyState
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return nil, fmt.Errorf("store: busy source %s: %w", b.URL, err)
		}
		if st.CalDAV != nil {
			b.CalDAV = *st.CalDAV
		}
		if st.ICS != nil {
			b.ICS = *st.ICS
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// PutBusySource stores a busy source's state.
func (q *queries) PutBusySource(ctx context.Context, b followup.BusySource) error {
	st := busyState{}
	if b.Kind == "ics" {
		st.ICS = &b.ICS
	} else {
		st.CalDAV = &b.CalDAV
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = q.ex.ExecContext(ctx, `
		INSERT INTO busy_sources (user_id, url, kind, state, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, url) DO UPDATE SET kind = excluded.kind, state = excluded.state, updated_at = excluded.updated_at`,
		b.UserID, b.URL, b.Kind, string(raw), ts(b.UpdatedAt))
	if err != nil {
		return err
	}
	return q.bumpPlan(ctx, b.UserID)
}

// DeleteBusySources removes the user's busy sources whose URL is not in keep.
func (q *queries) DeleteBusySources(ctx context.Context, userID int64, keep []string) error {
	srcs, err := q.BusySources(ctx, userID)
	if err != nil {
		return err
	}
	for _, s := range srcs {
		if !slices.Contains(keep, s.URL) {
			if _, err := q.ex.ExecContext(ctx, `DELETE FROM busy_sources WHERE user_id = ? AND url = ?`, userID, s.URL); err != nil {
				return err
			}
			if err := q.bumpPlan(ctx, userID); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetCalDAVStatus records the outcome of a sync.
func (q *queries) SetCalDAVStatus(ctx context.Context, userID int64, at time.Time, lastError string) error {
	return q.execOne(ctx, "CalDAV connection", `UPDATE caldav_accounts SET last_sync_at = ?, last_error = ? WHERE user_id = ?`,
		ts(at), lastError, userID)
}

// LockUser takes or renews the user's lease.
func (q *queries) LockUser(ctx context.Context, userID int64, owner string, until, now time.Time) (bool, error) {
	res, err := q.ex.ExecContext(ctx, `
		INSERT INTO user_locks (user_id, owner, until) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE user_locks.until < ? OR user_locks.owner = excluded.owner`,
		userID, owner, ts(until), ts(now))
	if err != nil {
		return false, fmt.Errorf("store: lock user %d: %w", userID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// UnlockUser gives owner's lease back.
func (q *queries) UnlockUser(ctx context.Context, userID int64, owner string) error {
	_, err := q.ex.ExecContext(ctx, `DELETE FROM user_locks WHERE user_id = ? AND owner = ?`, userID, owner)
	return err
}

// Backoff returns until when the user's jobs leave host alone, the zero
// time when they need not.
func (q *queries) Backoff(ctx context.Context, userID int64, host string) (time.Time, error) {
	var t time.Time
	err := q.ex.QueryRowContext(ctx, `SELECT not_before FROM host_backoffs WHERE user_id = ? AND host = ?`, userID, host).
		Scan(scanTime(&t))
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	} else if err != nil {
		return t, fmt.Errorf("store: backoff of user %d: %w", userID, err)
	}
	return t, nil
}

// PutBackoff makes the user's jobs leave host alone until notBefore, or
// until a later time already stored.
func (q *queries) PutBackoff(ctx context.Context, userID int64, host string, notBefore time.Time) error {
	_, err := q.ex.ExecContext(ctx, `
		INSERT INTO host_backoffs (user_id, host, not_before) VALUES (?, ?, ?)
		ON CONFLICT (user_id, host) DO UPDATE SET not_before = CASE
			WHEN excluded.not_before > host_backoffs.not_before THEN excluded.not_before
			ELSE host_backoffs.not_before END`,
		userID, host, ts(notBefore))
	if err != nil {
		return fmt.Errorf("store: put backoff of user %d: %w", userID, err)
	}
	return nil
}

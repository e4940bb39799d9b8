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

const habitColumns = `user_id, kind, uid, active, spec, start_at, end_at, zone, rrule, sequence,
	remote_etag, remote_sequence, remote_hash, overrides, created_at, updated_at`

func (q *queries) scanHabitSeries(row interface{ Scan(...any) error }) (followup.HabitSeries, error) {
	var s followup.HabitSeries
	var kind, overrides string
	err := row.Scan(&s.UserID, &kind, &s.UID, &s.Active, &s.Spec, scanTime(&s.Start), scanTime(&s.End), &s.Zone, &s.RRule,
		&s.Sequence, &s.RemoteETag, &s.RemoteSequence, &s.RemoteHash, &overrides, scanTime(&s.CreatedAt), scanTime(&s.UpdatedAt))
	if err != nil {
		return s, err
	}
	s.Kind = followup.HabitKind(kind)
	s.Overrides, err = q.db.decodeOverrides(s.UID, overrides)
	return s, err
}

// decodedOverrides is a series' overrides column as last read, and decoded.
type decodedOverrides struct {
	raw  string
	list []followup.HabitOverride
}

// decodeOverrides decodes a series' overrides column, a year of them for a
// daily habit: the feed reads them on every render, and they change
// seldom, so the last decoding of each series is kept. The caller gets
// its own copy.
func (db *DB) decodeOverrides(uid, raw string) ([]followup.HabitOverride, error) {
	if c, ok := db.overrides.Load(uid); ok && c.(decodedOverrides).raw == raw {
		return slices.Clone(c.(decodedOverrides).list), nil
	}
	var list []followup.HabitOverride
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, fmt.Errorf("store: overrides of habit %s: %w", uid, err)
	}
	for i := range list {
		o := &list[i]
		o.RecurrenceID, o.Start, o.End = o.RecurrenceID.UTC(), o.Start.UTC(), o.End.UTC()
	}
	db.overrides.Store(uid, decodedOverrides{raw: raw, list: list})
	return slices.Clone(list), nil
}

// HabitSeries returns the user's habit series in HabitKinds order.
func (q *queries) HabitSeries(ctx context.Context, userID int64) ([]followup.HabitSeries, error) {
	rows, err := q.ex.QueryContext(ctx, `SELECT `+habitColumns+` FROM habit_series WHERE user_id = ?`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: habit series: %w", err)
	}
	defer rows.Close()
	byKind := map[followup.HabitKind]followup.HabitSeries{}
	for rows.Next() {
		s, err := q.scanHabitSeries(rows)
		if err != nil {
			return nil, err
		}
		byKind[s.Kind] = s
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]followup.HabitSeries, 0, len(byKind))
	for _, k := range followup.HabitKinds {
		if s, ok := byKind[k]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// HabitSeriesByUID returns one series.
func (q *queries) HabitSeriesByUID(ctx context.Context, uid string) (followup.HabitSeries, error) {
	s, err := q.scanHabitSeries(q.ex.QueryRowContext(ctx, `SELECT `+habitColumns+` FROM habit_series WHERE uid = ?`, uid))
	return s, notFound(err, "Habit series")
}

// PutHabitSeries inserts or replaces the user's series of s.Kind.
func (q *queries) PutHabitSeries(ctx context.Context, s *followup.HabitSeries) error {
	overrides := s.Overrides
	if overrides == nil {
		overrides = []followup.HabitOverride{}
	}
	for i := range overrides {
		o := &overrides[i]
		o.RecurrenceID, o.Start, o.End = o.RecurrenceID.UTC(), o.Start.UTC(), o.End.UTC()
	}
	raw, err := json.Marshal(overrides)
	if err != nil {
		return err
	}
	return q.atomic(ctx, func(q *queries) error {
		if err := q.raiseForSeries(ctx, s, string(raw)); err != nil {
			return err
		}
		_, err := q.ex.ExecContext(ctx, `
			INSERT INTO habit_series (`+habitColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, kind) DO UPDATE SET uid = excluded.uid, active = excluded.active, spec = excluded.spec,
				start_at = excluded.start_at, end_at = excluded.end_at, zone = excluded.zone, rrule = excluded.rrule,
				sequence = excluded.sequence, remote_etag = excluded.remote_etag, remote_sequence = excluded.remote_sequence,
				remote_hash = excluded.remote_hash, overrides = excluded.overrides, updated_at = excluded.updated_at`,
			s.UserID, string(s.Kind), s.UID, s.Active, s.Spec, ts(s.Start), ts(s.End), s.Zone, s.RRule, s.Sequence,
			s.RemoteETag, s.RemoteSequence, s.RemoteHash, string(raw), ts(s.CreatedAt), ts(s.UpdatedAt))
		if isUnique(err) {
			return followup.Errorf(followup.ECONFLICT, "", "Habit series %s exists.", s.UID)
		} else if err != nil {
			return fmt.Errorf("store: put habit series: %w", err)
		}
		return nil
	})
}

// raiseForSeries raises the feed version unless the stored series of
// s.Kind shows the same in the feed as s, whose overrides encode to
// overrides: the record of a calendar write (remote ETag, sequence and
// hash) leaves the feed's ETag as it was.
func (q *queries) raiseForSeries(ctx context.Context, s *followup.HabitSeries, overrides string) error {
	var uid, start, end, zone, rrule, raw, updated string
	var active bool
	var seq int
	err := q.ex.QueryRowContext(ctx, `SELECT uid, active, start_at, end_at, zone, rrule, sequence, overrides, updated_at
		FROM habit_series WHERE user_id = ? AND kind = ?`, s.UserID, string(s.Kind)).
		Scan(&uid, &active, &start, &end, &zone, &rrule, &seq, &raw, &updated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("store: habit series: %w", err)
	case uid == s.UID && active == s.Active && start == ts(s.Start) && end == ts(s.End) && zone == s.Zone &&
		rrule == s.RRule && seq == s.Sequence && raw == overrides && updated == ts(s.UpdatedAt):
		return q.lockUser(ctx, s.UserID)
	}
	_, err = q.feedRev(ctx, s.UserID)
	return err
}

// DeleteHabitSeries removes the series with uid; the feed version rises
// when it was switched on (in the feed).
func (q *queries) DeleteHabitSeries(ctx context.Context, uid string) error {
	err := q.atomic(ctx, func(q *queries) error {
		var userID int64
		var active bool
		err := q.ex.QueryRowContext(ctx, `SELECT user_id, active FROM habit_series WHERE uid = ?`, uid).Scan(&userID, &active)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		case active:
			_, err = q.feedRev(ctx, userID)
		default:
			err = q.lockUser(ctx, userID)
		}
		if err != nil {
			return err
		}
		_, err = q.ex.ExecContext(ctx, `DELETE FROM habit_series WHERE uid = ?`, uid)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete habit series: %w", err)
	}
	q.db.overrides.Delete(uid)
	return nil
}

// HabitCommitmentIDs returns the ids of the user's open commitments and of
// those created at or after since: two ranges of the index
// commitments_user_status, the first read from the index alone.
func (q *queries) HabitCommitmentIDs(ctx context.Context, userID int64, since time.Time) ([]int64, error) {
	rows, err := q.ex.QueryContext(ctx, `
		SELECT id FROM commitments WHERE user_id = ? AND status = 'open'
		UNION ALL
		SELECT id FROM commitments WHERE user_id = ? AND status IN ('done', 'let_go') AND created_at >= ?`,
		userID, userID, ts(since))
	if err != nil {
		return nil, fmt.Errorf("store: habit commitments: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/followup/followup"
)

// The feed's revision. Every write that changes what a user's feed shows
// raises user_versions.feed_version in its own transaction, once per
// transaction, and stamps the steps it wrote with the new version
// (steps.feed_rev): a feed rendered at version V is brought up to date by
// re-rendering the steps with feed_rev > V. The version is raised by the
// store, so that every writer is covered without remembering to.
//
// The rise also raises user_versions.plan_version, which a create compares
// and swaps (ClaimPlan) to store a plan made outside the writer, and sets
// plan_base to it: the steps' feed versions do not tell what such a write
// changed of the user's calendar (a deleted step, a commitment's facts).
// A create's claim (claimVersions, in ClaimAndInsert) alone leaves
// plan_base, as every step it inserts or moves carries its feed version
// (see PlanMark).
//
// The rise takes the user's row of user_versions (an UPDATE), which
// orders the versions of one user's transactions as they commit, in
// SQLite and in PostgreSQL alike: a reader that sees version V sees every
// step stamped V or lower. Every write takes that row before the rows it
// changes (see lockUser), so that two transactions of one user never wait
// for each other's rows in opposite orders.

// revPending stamps a step changed in a transaction that has not raised
// the version yet; it is replaced by the version before the statement's
// caller returns.
const revPending = -1

// feedRev returns the feed version of this transaction's writes for the
// user, raising it at the first. Outside a transaction it raises it each
// time (see feedWrite).
func (q *queries) feedRev(ctx context.Context, userID int64) (int64, error) {
	return q.feedRevAt(ctx, userID, q.db.now())
}

// feedRevAt is feedRev with now as the feed's time of change.
func (q *queries) feedRevAt(ctx context.Context, userID int64, now time.Time) (int64, error) {
	if rev, ok := q.revs[userID]; ok {
		return rev, nil
	}
	var rev, plan int64
	err := q.ex.QueryRowContext(ctx, `UPDATE user_versions SET feed_version = feed_version + 1, feed_updated_at = ?,
		plan_version = plan_version + 1, plan_base = plan_version + 1 WHERE user_id = ? RETURNING feed_version, plan_version`, ts(now), userID).Scan(&rev, &plan)
	if err != nil {
		return 0, notFound(err, "User")
	}
	q.feedRaised(userID, rev, plan)
	return rev, nil
}

// feedRaised records the feed and plan versions a write of this
// transaction raised the user to: the transaction's later writes stamp
// that feed version.
func (q *queries) feedRaised(userID, rev, plan int64) {
	q.planWritten(userID, plan)
	if q.tx != nil {
		if q.revs == nil {
			q.revs = map[int64]int64{}
		}
		q.revs[userID] = rev
	}
}

// stepRev is the feed version a new step is stored with: the raised one
// for a step the feed shows, else the transaction's if it raised one
// already, else 0 (a step that enters the feed later does so by a write
// that stamps it).
func (q *queries) stepRev(ctx context.Context, s *followup.Step) (int64, error) {
	if s.Live() {
		return q.feedRev(ctx, s.UserID)
	}
	return q.revs[s.UserID], nil
}

// atomic runs fn in a transaction: q's own, or a new one outside InTx, so
// that a write and the rise of the feed version commit together.
func (q *queries) atomic(ctx context.Context, fn func(q *queries) error) error {
	if q.tx != nil {
		return fn(q)
	}
	return q.db.InTx(ctx, func(tq followup.Queries) error { return fn(tq.(*queries)) })
}

// feedWrite runs fn, a write that changes the user's feed, with the feed
// version it stamps its rows with, in one transaction.
func (q *queries) feedWrite(ctx context.Context, userID int64, fn func(q *queries, rev int64) error) error {
	return q.atomic(ctx, func(q *queries) error {
		rev, err := q.feedRev(ctx, userID)
		if err != nil {
			return err
		}
		return fn(q, rev)
	})
}

// updateStep runs an UPDATE of one step whose SET clause ends in
// "feed_rev = CASE WHEN <the feed shows the same> THEN feed_rev ELSE ? END"
// and which returns user_id and feed_rev, with the transaction's version
// for the user as the last SET argument. When the step changed in the
// feed and the version was not raised yet, it is raised and stamped.
func (q *queries) updateStep(ctx context.Context, userID, id int64, query string, args []any) error {
	rev, ok := q.revs[userID]
	if !ok || userID == 0 {
		rev = revPending
		if err := q.lockUser(ctx, userID); err != nil {
			return err
		}
	}
	args = append(args, rev, id)
	var owner, got int64
	err := q.ex.QueryRowContext(ctx, query, args...).Scan(&owner, &got)
	if errors.Is(err, sql.ErrNoRows) {
		return followup.Errorf(followup.ENOTFOUND, "", "Step not found.")
	} else if err != nil {
		return fmt.Errorf("store: update step: %w", err)
	}
	if got != revPending {
		return nil
	}
	if rev, err = q.feedRev(ctx, owner); err != nil {
		return err
	}
	if _, err := q.ex.ExecContext(ctx, `UPDATE steps SET feed_rev = ? WHERE id = ?`, rev, id); err != nil {
		return fmt.Errorf("store: update step: %w", err)
	}
	return nil
}

// lockUser takes the user_versions row of a transaction's user before a
// write that may or may not raise the feed version: an UPDATE, which
// PostgreSQL holds to the end of the transaction (SQLite's one writer
// holds everything already). It raises the plan version: a write that the feed
// does not show (a block written to a calendar is fixed) still changes
// what planning reads. Nothing happens for user 0 (unknown).
func (q *queries) lockUser(ctx context.Context, userID int64) error {
	if userID == 0 {
		return nil
	}
	if err := q.raisePlan(ctx, userID); err != nil {
		return fmt.Errorf("store: lock user: %w", err)
	}
	return nil
}

// feedStatus is a step status as the feed tells them apart: planned and
// synced blocks look the same.
func feedStatus(s followup.StepStatus) string {
	if s == followup.StepSynced {
		return string(followup.StepPlanned)
	}
	return string(s)
}

// sameInFeed compares a step's stored columns with new values (status as
// feedStatus, start, end, sequence, updated_at) that the feed shows.
const sameInFeed = `(CASE status WHEN 'synced' THEN 'planned' ELSE status END) = ? AND start_at = ? AND end_at = ?
	AND sequence = ? AND updated_at = ?`

// purged records that steps of the user left the table for good: a feed
// rendered before this version cannot see them go by their feed_rev.
func (q *queries) purged(ctx context.Context, userID int64) error {
	rev, err := q.feedRev(ctx, userID)
	if err != nil {
		return err
	}
	_, err = q.ex.ExecContext(ctx, `UPDATE user_versions SET feed_purged = ? WHERE user_id = ?`, rev, userID)
	return err
}

// stepsChanged is StepsChangedSince's condition (user, version): naming
// every status lets steps_user_status_rev (user, status, feed version)
// read only the changed steps of each status.
const stepsChanged = `user_id = ? AND status IN ('planned', 'synced', 'done', 'cancelled') AND feed_rev > ? ORDER BY start_at, id`

// StepsChangedSince returns the user's steps stamped with a feed version
// past rev, whatever their status, tombstones included.
func (q *queries) StepsChangedSince(ctx context.Context, userID, rev int64) ([]followup.Step, error) {
	return q.stepsWhere(ctx, stepsChanged, userID, rev)
}

// commitmentsChanged is CommitmentsChangedSince's query (user, version):
// "feed_rev > 0" lets it use the partial commitments_feed_rev.
const commitmentsChanged = `SELECT id FROM commitments WHERE user_id = ? AND feed_rev > 0 AND feed_rev > ?`

// CommitmentsChangedSince returns the ids of the user's commitments
// updated at a feed version past rev, and of those stored past it while a
// habit series of the user was on (the habits' texts name commitments).
func (q *queries) CommitmentsChangedSince(ctx context.Context, userID, rev int64) ([]int64, error) {
	return q.ids(ctx, commitmentsChanged, userID, rev)
}

// StepIDs returns the ids of every step of the user, from an index alone.
func (q *queries) StepIDs(ctx context.Context, userID int64) ([]int64, error) {
	return q.ids(ctx, `SELECT id FROM steps WHERE user_id = ?`, userID)
}

// ids runs a query of one integer column.
func (q *queries) ids(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := q.ex.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: ids: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

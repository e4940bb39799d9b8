package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/followup/followup"
)

// InsertCommitment stores a new commitment (without its steps) and sets
// c.ID. The feed version rises when a habit is on: the habits' texts name
// commitments. Whether one is comes back with the insert, in the same
// round trip; the commitment is then stamped with the raised version.
func (q *queries) InsertCommitment(ctx context.Context, c *followup.Commitment) error {
	return q.atomic(ctx, func(q *queries) error {
		rev, raised := q.revs[c.UserID]
		args := append([]any{c.UserID}, append(commitmentArgs(c), ts(c.CreatedAt), ts(c.UpdatedAt), c.UserID, rev)...)
		insert := `
			INSERT INTO commitments (user_id, contact_name, contact_email, contact_phone, contact_company, contact_url,
				met_at, met_where, promise, direction, due, due_text, priority, meeting_start, meeting_minutes,
				meeting_location, notes, status, contacted_at, replied_at, delivered_at, ended_at, warnings, created_at, updated_at,
				feed_rev)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ` + revIfHabits + `)`
		if raised && q.db.dialect != postgresDialect {
			// The version is stamped already if a habit is on: only the
			// id is wanted, which SQLite tells without RETURNING.
			res, err := q.ex.ExecContext(ctx, insert, args...)
			if err == nil {
				c.ID, err = res.LastInsertId()
			}
			if err != nil {
				return fmt.Errorf("store: insert commitment: %w", err)
			}
			return nil
		}
		var habits bool
		err := q.ex.QueryRowContext(ctx, insert+`
			RETURNING id, EXISTS (SELECT 1 FROM habit_series WHERE user_id = ? AND active = 1)`, append(args, c.UserID)...).Scan(&c.ID, &habits)
		if err != nil {
			return fmt.Errorf("store: insert commitment: %w", err)
		}
		if raised || !habits {
			return nil
		}
		if rev, err = q.feedRev(ctx, c.UserID); err != nil {
			return err
		}
		if _, err := q.ex.ExecContext(ctx, `UPDATE commitments SET feed_rev = ? WHERE id = ?`, rev, c.ID); err != nil {
			return fmt.Errorf("store: insert commitment: %w", err)
		}
		return nil
	})
}

// revIfHabits is a new commitment's feed version (user, version): the
// version only while a habit series of the user is on, whose texts name
// commitments; else 0, which keeps the commitment out of
// commitments_feed_rev (migration 00052).
const revIfHabits = `CASE WHEN EXISTS (SELECT 1 FROM habit_series WHERE user_id = ? AND active = 1) THEN CAST(? AS BIGINT) ELSE 0 END`

// InsertCommitmentWithSteps stores a new commitment and its steps, setting
// their IDs and the steps' CommitmentID. On PostgreSQL, in a transaction
// that raised the user's feed version already (a create's
// ClaimPlanAndFeed), it is one statement: one round trip instead of two.
func (q *queries) InsertCommitmentWithSteps(ctx context.Context, c *followup.Commitment, steps []followup.Step) error {
	rev, raised := q.revs[c.UserID]
	if q.db.dialect != postgresDialect || !raised || len(steps) == 0 {
		if err := q.InsertCommitment(ctx, c); err != nil {
			return err
		}
		for i := range steps {
			steps[i].CommitmentID = c.ID
		}
		return q.InsertSteps(ctx, steps)
	}
	_, err := q.insertWithSteps(ctx, nil, `SELECT CAST(? AS BIGINT) AS feed_version, CAST(? AS BIGINT) AS plan_version`,
		[]any{rev, q.plans[c.UserID]}, c, steps, nil)
	return err
}

// ClaimAndInsert is ClaimPlanAndFeed, InsertCommitmentWithSteps and then
// MoveSteps of moved (steps of c's user), for a create. False when the
// user's versions are no longer seen, and nothing is stored; in a
// transaction the caller then rolls it back. On PostgreSQL the claim, the
// inserts and the moves are one statement (unless this transaction raised
// the user's feed version already), and outside a transaction that
// statement is the whole transaction: it takes the user's lock first, as
// a transaction of the user's does with its BEGIN (lockingConn), so that a
// create is one round trip instead of three. On SQLite, and for what one
// statement cannot hold, outside a transaction it runs in one of the
// user's; a claim that knows the feed version it raises writes without
// reading back.
func (q *queries) ClaimAndInsert(ctx context.Context, seen followup.PlanMark, c *followup.Commitment, steps, moved []followup.Step) (bool, error) {
	oneStatement := q.db.dialect == postgresDialect && len(steps) > 0 && movableWith(c.UserID, moved)
	if q.tx == nil && !oneStatement {
		var ok bool
		err := q.atomic(followup.ForUser(ctx, c.UserID), func(q *queries) error {
			var err error
			ok, err = q.ClaimAndInsert(ctx, seen, c, steps, moved)
			return err
		})
		return ok, err
	}
	if _, raised := q.revs[c.UserID]; !oneStatement || raised {
		if ok, err := q.claimSeen(ctx, c.UserID, seen, raised); err != nil || !ok {
			return ok, err
		}
		if err := q.InsertCommitmentWithSteps(ctx, c, steps); err != nil {
			return true, err
		}
		if len(moved) == 0 {
			return true, nil
		}
		return true, q.MoveSteps(ctx, moved)
	}
	claim, args := claimVersions, []any{ts(q.db.now()), c.UserID, seen.Version}
	if seen.Feed != 0 {
		claim, args = claimPlanAndFeedSeen, append(args, seen.Feed)
	}
	var versions raisedVersions
	var err error
	if q.tx == nil {
		// Its own transaction: run again, as inTxPostgres runs one, when
		// PostgreSQL cannot order it with the others.
		claim += ` AND (SELECT true FROM l)`
		lock := []any{int32(userTxLock), int32(c.UserID)}
		err = retried(ctx, func() (err error) {
			versions, err = q.insertWithSteps(ctx, lock, claim+claimReturning, args, c, steps, moved)
			return err
		})
	} else {
		versions, err = q.insertWithSteps(ctx, nil, claim+claimReturning, args, c, steps, moved)
	}
	if err != nil || !versions.Valid {
		return false, err
	}
	q.feedRaised(c.UserID, versions.feed, versions.plan)
	return true, nil
}

// claimSeen is ClaimAndInsert's claim on its own: ClaimPlanAndFeed, or,
// when the feed version at seen is known and this transaction has not
// raised it, the same compare and swap of both versions, whose raised
// values are then known without RETURNING (every write that raises the
// feed version raises the plan version too, so at plan version
// seen.Version the feed version is seen.Feed).
func (q *queries) claimSeen(ctx context.Context, userID int64, seen followup.PlanMark, raised bool) (bool, error) {
	if seen.Feed == 0 || raised {
		return q.ClaimPlanAndFeed(ctx, userID, seen.Version)
	}
	res, err := q.ex.ExecContext(ctx, claimPlanAndFeedSeen, ts(q.db.now()), userID, seen.Version, seen.Feed)
	if err != nil {
		return false, fmt.Errorf("store: claim plan: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	q.feedRaised(userID, seen.Feed+1, seen.Version+1)
	return true, nil
}

// movableWith reports whether moved can be written in a create's
// statement (insertWithSteps): all of them the user's, in one chunk.
func movableWith(userID int64, moved []followup.Step) bool {
	if len(moved) > moveChunk {
		return false
	}
	for _, s := range moved {
		if s.UserID != userID {
			return false
		}
	}
	return true
}

// raisedVersions are the user's feed and plan versions a statement of
// insertWithSteps stored its rows at; not Valid when its versions query
// gave no row (a claim that failed).
type raisedVersions struct {
	feed, plan int64
	Valid      bool
}

// insertWithSteps stores c and its steps in one statement (PostgreSQL's
// data-modifying WITH), stamped with the feed version that versions, a
// query of one row (feed_version, plan_version) run in the same
// statement, gives; with no row nothing is stored or moved and the
// versions come back not Valid. The same statement writes the placements
// of moved, steps of c's user (see movableWith), stamped with that feed
// version too. With lock (the two keys of an advisory lock) the statement
// first takes that lock in l, which versions is to name.
func (q *queries) insertWithSteps(ctx context.Context, lock []any, versions string, versionArgs []any, c *followup.Commitment, steps, moved []followup.Step) (raisedVersions, error) {
	locked := ``
	if lock != nil {
		locked = `l AS (SELECT pg_advisory_xact_lock(CAST(? AS INTEGER), CAST(? AS INTEGER)) AS held),
		`
	}
	args := append(append(append(append(lock, versionArgs...), c.UserID), commitmentArgs(c)...), ts(c.CreatedAt), ts(c.UpdatedAt), c.UserID)
	rows := make([]string, len(steps))
	for i := range steps {
		// Without the commitment's id, which comes from its row, and the
		// feed version, which comes from versions.
		args = appendStepValues(args, &steps[i])
		rows[i] = "(" + placeholders(17) + ")"
	}
	// The first row's types type the VALUES list's columns.
	rows[0] = `(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT),
		CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS TEXT),
		CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER))`
	moves, movedCount := ``, `0`
	ids := map[int64]bool{}
	if len(moved) > 0 {
		values, moveArgs := moveValues(moved)
		args = append(append(args, moveArgs...), c.UserID)
		for _, s := range moved {
			ids[s.ID] = true
		}
		// As moveSteps writes them in a transaction that raised the feed
		// version: every step stamped with it.
		moves = `,
		m AS (
			UPDATE steps SET status = v.column2, start_at = v.column3, end_at = v.column4, late = v.column5,
				unplaced = v.column6, sequence = v.column7, updated_at = v.column8, feed_rev = r.feed_version
			FROM (VALUES ` + values + `) AS v, r
			WHERE steps.id = v.column1 AND steps.user_id = CAST(? AS BIGINT)
			RETURNING steps.id)`
		movedCount = `(SELECT count(*) FROM m)`
	}
	res, err := q.ex.QueryContext(ctx, `
		WITH `+locked+`r AS (`+versions+`),
		c AS (
			INSERT INTO commitments (user_id, contact_name, contact_email, contact_phone, contact_company, contact_url,
				met_at, met_where, promise, direction, due, due_text, priority, meeting_start, meeting_minutes,
				meeting_location, notes, status, contacted_at, replied_at, delivered_at, ended_at, warnings, created_at, updated_at,
				feed_rev)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
				CASE WHEN EXISTS (SELECT 1 FROM habit_series WHERE user_id = ? AND active = 1) THEN r.feed_version ELSE 0 END
			FROM r
			RETURNING id),
		s AS (
			INSERT INTO steps (`+stepInsertColumns+`)
			SELECT c.id, v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8,
				v.column9, v.column10, v.column11, v.column12, v.column13, v.column14, v.column15, v.column16,
				(SELECT feed_version FROM r), v.column17
			FROM c CROSS JOIN (VALUES `+strings.Join(rows, ", ")+`) AS v
			RETURNING id, uid, commitment_id)`+moves+`
		SELECT s.id, s.uid, s.commitment_id, r.feed_version, r.plan_version, `+movedCount+` FROM s LEFT JOIN r ON true`, args...)
	if err != nil {
		return raisedVersions{}, insertStepsError(err)
	}
	defer res.Close()
	uids := make(map[string]int64, len(steps))
	var v raisedVersions
	var movedRows int
	for res.Next() {
		var id, commitment int64
		var uid string
		var feed, plan sql.NullInt64
		if err := res.Scan(&id, &uid, &commitment, &feed, &plan, &movedRows); err != nil {
			return raisedVersions{}, fmt.Errorf("store: insert steps: %w", err)
		}
		uids[uid], c.ID = id, commitment
		v = raisedVersions{feed: feed.Int64, plan: plan.Int64, Valid: feed.Valid}
	}
	if err := res.Err(); err != nil {
		return raisedVersions{}, insertStepsError(err)
	}
	if v.Valid && movedRows != len(ids) {
		return raisedVersions{}, followup.Errorf(followup.ENOTFOUND, "", "Step not found.")
	}
	for i := range steps {
		steps[i].ID, steps[i].CommitmentID = uids[steps[i].UID], c.ID
	}
	return v, nil
}

// commitmentArgs are the mutable columns, in INSERT/UPDATE order.
func commitmentArgs(c *followup.Commitment) []any {
	var mStart any
	var mMinutes int
	var mLoc string
	if c.Meeting != nil {
		mStart, mMinutes, mLoc = ts(c.Meeting.Start), c.Meeting.Minutes, c.Meeting.Location
	}
	warnings, _ := json.Marshal(c.Warnings)
	if c.Warnings == nil {
		warnings = []byte("[]")
	}
	return []any{
		c.Contact.Name, c.Contact.Email, c.Contact.Phone, c.Contact.Company, c.Contact.URL,
		ts(c.MetAt), c.MetWhere, c.Promise, string(c.Direction), ts(c.Due), c.DueText, c.Priority,
		mStart, mMinutes, mLoc, c.Notes, string(c.Status),
		nullTS(c.ContactedAt), nullTS(c.RepliedAt), nullTS(c.DeliveredAt), nullTS(c.EndedAt), string(warnings),
	}
}

// UpdateCommitment writes every mutable field of c. Its blocks' texts
// come from it: it and its steps are stamped with the new feed version.
func (q *queries) UpdateCommitment(ctx context.Context, c *followup.Commitment) error {
	return q.feedWrite(ctx, c.UserID, func(q *queries, rev int64) error {
		args := append(commitmentArgs(c), ts(c.UpdatedAt), rev, c.ID, c.UserID)
		err := q.execOne(ctx, "Commitment", `
			UPDATE commitments SET contact_name = ?, contact_email = ?, contact_phone = ?, contact_company = ?, contact_url = ?,
				met_at = ?, met_where = ?, promise = ?, direction = ?, due = ?, due_text = ?, priority = ?, meeting_start = ?,
				meeting_minutes = ?, meeting_location = ?, notes = ?, status = ?, contacted_at = ?, replied_at = ?,
				delivered_at = ?, ended_at = ?, warnings = ?, updated_at = ?, feed_rev = ?
			WHERE id = ? AND user_id = ?`, args...)
		if err != nil {
			return err
		}
		return q.stampSteps(ctx, c.UserID, c.ID, rev)
	})
}

// stampSteps stamps every step of a commitment with the feed version rev.
func (q *queries) stampSteps(ctx context.Context, userID, commitmentID, rev int64) error {
	_, err := q.ex.ExecContext(ctx, `UPDATE steps SET feed_rev = ? WHERE commitment_id = ? AND user_id = ?`, rev, commitmentID, userID)
	if err != nil {
		return fmt.Errorf("store: stamp steps: %w", err)
	}
	return nil
}

// DeleteCommitment removes a commitment. Its steps stay behind as cancelled
// tombstones (commitment_id NULL) so that their calendar objects can still
// be deleted by the sync; those with none are deleted, and their going
// recorded for the feed (purged).
func (q *queries) DeleteCommitment(ctx context.Context, userID, id int64) error {
	return q.feedWrite(ctx, userID, func(q *queries, rev int64) error {
		if err := q.stampSteps(ctx, userID, id, rev); err != nil {
			return err
		}
		if _, err := q.ex.ExecContext(ctx, `
			UPDATE steps SET status = 'cancelled', sequence = sequence + 1, updated_at = ?, completed_at = coalesce(completed_at, ?)
			WHERE commitment_id = ? AND user_id = ? AND status IN ('planned', 'synced')`,
			ts(q.db.now()), ts(q.db.now()), id, userID); err != nil {
			return fmt.Errorf("store: delete commitment: %w", err)
		}
		if err := q.execOne(ctx, "Commitment", `DELETE FROM commitments WHERE id = ? AND user_id = ?`, id, userID); err != nil {
			return err
		}
		// Tombstones with nothing on a server are not needed; one with a
		// write whose answer is not known yet waits for its deletion.
		return q.deleteTombstones(ctx, userID, `DELETE FROM steps WHERE commitment_id IS NULL AND user_id = ? AND remote_etag = '' AND pending_writes = ''`)
	})
}

const commitmentColumns = `id, user_id, contact_name, contact_email, contact_phone, contact_company, contact_url,
	met_at, met_where, promise, direction, due, due_text, priority, meeting_start, meeting_minutes, meeting_location,
	notes, status, contacted_at, replied_at, delivered_at, ended_at, warnings, created_at, updated_at`

func scanCommitment(row interface{ Scan(...any) error }) (followup.Commitment, error) {
	var c followup.Commitment
	var mStart *time.Time
	var mMinutes int
	var mLoc, direction, status, warnings string
	err := row.Scan(&c.ID, &c.UserID, &c.Contact.Name, &c.Contact.Email, &c.Contact.Phone, &c.Contact.Company, &c.Contact.URL,
		scanTime(&c.MetAt), &c.MetWhere, &c.Promise, &direction, scanTime(&c.Due), &c.DueText, &c.Priority,
		scanTimePtr(&mStart), &mMinutes, &mLoc, &c.Notes, &status,
		scanTimePtr(&c.ContactedAt), scanTimePtr(&c.RepliedAt), scanTimePtr(&c.DeliveredAt), scanTimePtr(&c.EndedAt),
		&warnings, scanTime(&c.CreatedAt), scanTime(&c.UpdatedAt))
	if err != nil {
		return c, err
	}
	c.Direction, c.Status = followup.Direction(direction), followup.Status(status)
	if mStart != nil {
		c.Meeting = &followup.Meeting{Start: *mStart, Minutes: mMinutes, Location: mLoc}
	}
	if warnings != "" && warnings != "[]" {
		_ = json.Unmarshal([]byte(warnings), &c.Warnings)
	}
	c.Steps = []followup.Step{}
	return c, nil
}

// Commitment returns one of the user's commitments with its steps.
func (q *queries) Commitment(ctx context.Context, userID, id int64) (followup.Commitment, error) {
	c, err := scanCommitment(q.ex.QueryRowContext(ctx, `SELECT `+commitmentColumns+` FROM commitments WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return c, notFound(err, "Commitment")
	}
	steps, err := q.stepsWhere(ctx, `commitment_id = ? ORDER BY start_at, id`, id)
	if err != nil {
		return c, err
	}
	c.Steps = steps
	return c, nil
}

// Commitments lists the user's commitments, newest first, with their steps.
func (q *queries) Commitments(ctx context.Context, userID int64, f followup.CommitmentFilter) ([]followup.Commitment, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	where, args := `user_id = ?`, []any{userID}
	if f.Status != "" {
		where += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.Starred {
		where += ` AND priority = 1`
	}
	if f.Direction != "" {
		where += ` AND direction = ?`
		args = append(args, string(f.Direction))
	}
	if f.Search != "" {
		// lower() on both sides: SQLite's LIKE ignores ASCII case,
		// PostgreSQL's does not.
		where += ` AND lower(contact_name) LIKE lower(?) ESCAPE '\'`
		args = append(args, "%"+likeEscaper.Replace(f.Search)+"%")
	}
	args = append(args, f.Limit, f.Offset)
	rows, err := q.ex.QueryContext(ctx, `SELECT `+commitmentColumns+` FROM commitments WHERE `+where+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list commitments: %w", err)
	}
	defer rows.Close()
	out := []followup.Commitment{}
	index := map[int64]int{}
	for rows.Next() {
		c, err := scanCommitment(rows)
		if err != nil {
			return nil, err
		}
		index[c.ID] = len(out)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]int64, 0, len(out))
	for _, c := range out {
		ids = append(ids, c.ID)
	}
	in, args := inList(nil, ids)
	steps, err := q.stepsWhere(ctx, `commitment_id IN (`+in+`) ORDER BY start_at, id`, args...)
	if err != nil {
		return nil, err
	}
	for _, s := range steps {
		i := index[s.CommitmentID]
		out[i].Steps = append(out[i].Steps, s)
	}
	return out, nil
}

// likeEscaper escapes LIKE's wildcards so that a search matches them literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// CommitmentsByID returns the user's commitments with these ids, without steps.
func (q *queries) CommitmentsByID(ctx context.Context, userID int64, ids []int64) (map[int64]followup.Commitment, error) {
	return q.commitmentsIn(ctx, userID, ids, commitmentColumns, scanCommitment)
}

// commitmentsIn reads the user's commitments with these ids, in chunks that
// keep under SQLite's limit on parameters.
func (q *queries) commitmentsIn(ctx context.Context, userID int64, ids []int64, columns string,
	scan func(interface{ Scan(...any) error }) (followup.Commitment, error)) (map[int64]followup.Commitment, error) {
	out := make(map[int64]followup.Commitment, len(ids))
	for start := 0; start < len(ids); start += 500 {
		in, args := inList([]any{userID}, ids[start:min(start+500, len(ids))])
		rows, err := q.ex.QueryContext(ctx, `SELECT `+columns+` FROM commitments WHERE user_id = ? AND id IN (`+in+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("store: commitments by id: %w", err)
		}
		for rows.Next() {
			c, err := scan(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[c.ID] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// inList returns the placeholders of an IN list of ids (at most 500) and
// args followed by the ids, the list padded by repeating its last id to a
// length of 1, 2, 4, … 256 or 500. Each query text is prepared once per
// pooled connection and kept (stmts): a list of its own length for every
// count of ids would keep up to 500 statements of up to 500 parameters on
// each connection, hundreds of MB over a server's life; padded, a query
// has at most ten.
func inList(args []any, ids []int64) (string, []any) {
	if len(ids) == 0 {
		return "NULL", args // IN (NULL) holds nothing
	}
	n := 1
	for n < len(ids) {
		n *= 2
	}
	n = min(n, max(len(ids), 500))
	for i := range n {
		args = append(args, ids[min(i, len(ids)-1)])
	}
	return placeholders(n), args
}

// PlanningFacts returns ID, Priority, MetAt and Meeting of the user's
// commitments with these ids: planning reads many, and needs no text.
func (q *queries) PlanningFacts(ctx context.Context, userID int64, ids []int64) (map[int64]followup.Commitment, error) {
	return q.commitmentsIn(ctx, userID, ids, `id, priority, met_at, meeting_start, meeting_minutes`,
		func(row interface{ Scan(...any) error }) (followup.Commitment, error) {
			c := followup.Commitment{UserID: userID}
			var mStart *time.Time
			var minutes int
			if err := row.Scan(&c.ID, &c.Priority, scanTime(&c.MetAt), scanTimePtr(&mStart), &minutes); err != nil {
				return c, err
			}
			if mStart != nil {
				c.Meeting = &followup.Meeting{Start: *mStart, Minutes: minutes}
			}
			return c, nil
		})
}

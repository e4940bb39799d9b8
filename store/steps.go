package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/followup/followup"
)

const stepColumns = `id, coalesce(commitment_id, 0), user_id, kind, status, start_at, end_at, not_before, due, uid, late,
	sequence, pinned, remote_etag, remote_sequence, pending_writes, completed_at, created_at, updated_at`

func scanStep(row interface{ Scan(...any) error }) (followup.Step, error) {
	var s followup.Step
	var kind, status, pending string
	err := row.Scan(&s.ID, &s.CommitmentID, &s.UserID, &kind, &status, scanTime(&s.Start), scanTime(&s.End),
		scanTime(&s.NotBefore), scanTime(&s.Due), &s.UID, &s.Late, &s.Sequence, &s.Pinned, &s.RemoteETag,
		&s.RemoteSequence, &pending, scanTimePtr(&s.CompletedAt), scanTime(&s.CreatedAt), scanTime(&s.UpdatedAt))
	if err != nil {
		return s, err
	}
	s.Kind, s.Status = followup.StepKind(kind), followup.StepStatus(status)
	if pending != "" {
		if err := json.Unmarshal([]byte(pending), &s.PendingWrites); err != nil {
			return s, fmt.Errorf("store: pending writes of step %d: %w", s.ID, err)
		}
	}
	return s, nil
}

// pendingWrites encodes a step's pending writes for its column: "" for none.
func pendingWrites(ws []followup.PendingWrite) string {
	if len(ws) == 0 {
		return ""
	}
	b, _ := json.Marshal(ws) // times and ints always encode
	return string(b)
}

// stepsWhere returns the steps that where selects.
func (q *queries) stepsWhere(ctx context.Context, where string, args ...any) ([]followup.Step, error) {
	return q.steps(ctx, `SELECT `+stepColumns+` FROM steps WHERE `+where, args...)
}

// steps returns the steps of query, which selects stepColumns.
func (q *queries) steps(ctx context.Context, query string, args ...any) ([]followup.Step, error) {
	rows, err := q.ex.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: steps: %w", err)
	}
	defer rows.Close()
	out := []followup.Step{}
	for rows.Next() {
		s, err := scanStep(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// InsertStep stores a new step and sets s.ID.
func (q *queries) InsertStep(ctx context.Context, s *followup.Step) error {
	return q.atomic(ctx, func(q *queries) error {
		rev, err := q.stepRev(ctx, s)
		if err != nil {
			return err
		}
		err = q.ex.QueryRowContext(ctx, `
			INSERT INTO steps (commitment_id, user_id, kind, status, start_at, end_at, not_before, due, uid, late,
				sequence, pinned, remote_etag, remote_sequence, completed_at, created_at, updated_at, feed_rev, unplaced)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			s.CommitmentID, s.UserID, string(s.Kind), string(s.Status), ts(s.Start), ts(s.End), ts(s.NotBefore), ts(s.Due),
			s.UID, s.Late, s.Sequence, s.Pinned, s.RemoteETag, s.RemoteSequence, nullTS(s.CompletedAt), ts(s.CreatedAt),
			ts(s.UpdatedAt), rev, s.Unplaced).Scan(&s.ID)
		if isUnique(err) {
			return followup.Errorf(followup.ECONFLICT, "", "Step %s exists.", s.UID)
		} else if err != nil {
			return fmt.Errorf("store: insert step: %w", err)
		}
		return nil
	})
}

// InsertSteps stores new steps in one statement and sets their IDs.
func (q *queries) InsertSteps(ctx context.Context, steps []followup.Step) error {
	if len(steps) == 0 {
		return nil
	}
	return q.atomic(ctx, func(q *queries) error { return q.insertSteps(ctx, steps) })
}

// stepInsertColumns are the columns a new step is stored with, in the
// order of stepRow.
const stepInsertColumns = `commitment_id, user_id, kind, status, start_at, end_at, not_before, due, uid, late,
	sequence, pinned, remote_etag, remote_sequence, completed_at, created_at, updated_at, feed_rev, unplaced`

// stepRow appends a new step's values to args, in stepInsertColumns
// order, with the feed version it is stored at.
func (q *queries) stepRow(ctx context.Context, args []any, s *followup.Step) ([]any, error) {
	rev, err := q.stepRev(ctx, s)
	if err != nil {
		return nil, err
	}
	args = appendStepValues(append(args, s.CommitmentID), s)
	return append(args[:len(args)-1], rev, s.Unplaced), nil
}

// appendStepValues appends a new step's values to args, in
// stepInsertColumns order without the commitment's id and the feed
// version.
func appendStepValues(args []any, s *followup.Step) []any {
	return append(args, s.UserID, string(s.Kind), string(s.Status), ts(s.Start), ts(s.End), ts(s.NotBefore),
		ts(s.Due), s.UID, s.Late, s.Sequence, s.Pinned, s.RemoteETag, s.RemoteSequence, nullTS(s.CompletedAt), ts(s.CreatedAt),
		ts(s.UpdatedAt), s.Unplaced)
}

// insertSteps is InsertSteps inside a transaction.
func (q *queries) insertSteps(ctx context.Context, steps []followup.Step) error {
	const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	values := strings.TrimSuffix(strings.Repeat(row+",", len(steps)), ",")
	args := make([]any, 0, 19*len(steps))
	for i := range steps {
		var err error
		if args, err = q.stepRow(ctx, args, &steps[i]); err != nil {
			return err
		}
	}
	insert := `INSERT INTO steps (` + stepInsertColumns + `) VALUES ` + values
	if q.db.dialect != postgresDialect {
		// SQLite gives the rows of one INSERT consecutive ids in the order
		// of its VALUES (AUTOINCREMENT, one writer at a time): the last
		// one tells them all, without RETURNING's rows, which SQLite
		// buffers and database/sql scans one by one (a tenth of the
		// writer's time under load).
		res, err := q.ex.ExecContext(ctx, insert, args...)
		if err != nil {
			return insertStepsError(err)
		}
		return setInsertedIDs(res, steps)
	}
	rows, err := q.ex.QueryContext(ctx, insert+` RETURNING id, uid, commitment_id`, args...)
	if err != nil {
		return insertStepsError(err)
	}
	_, err = scanInserted(rows, steps)
	return err
}

// setInsertedIDs sets the IDs of steps from the result of their SQLite
// INSERT: consecutive, ending at its last insert id.
func setInsertedIDs(res sql.Result, steps []followup.Step) error {
	last, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("store: insert steps: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(steps)) {
		return fmt.Errorf("store: insert steps: %d of %d rows stored (%v)", n, len(steps), err)
	}
	for i := range steps {
		steps[i].ID = last - int64(len(steps)-1-i)
	}
	return nil
}

// insertStepsError is the error of a failed insert of steps: ECONFLICT
// for a UID stored already.
func insertStepsError(err error) error {
	if isUnique(err) {
		return followup.Errorf(followup.ECONFLICT, "", "A step exists already.")
	}
	return fmt.Errorf("store: insert steps: %w", err)
}

// scanInserted sets the IDs of steps from the rows of their INSERT
// (id, uid, commitment_id) and returns the commitment id of the last.
func scanInserted(rows *sql.Rows, steps []followup.Step) (int64, error) {
	defer rows.Close()
	ids := make(map[string]int64, len(steps))
	var commitment int64
	for rows.Next() {
		var id int64
		var uid string
		var cid sql.NullInt64
		if err := rows.Scan(&id, &uid, &cid); err != nil {
			return 0, err
		}
		ids[uid], commitment = id, cid.Int64
	}
	if err := rows.Err(); err != nil {
		return 0, insertStepsError(err)
	}
	for i := range steps {
		steps[i].ID = ids[steps[i].UID]
	}
	return commitment, nil
}

// UpdateStep writes every mutable field of s. The feed version rises
// only when what the feed shows of the step changed: the record of a
// calendar write (remote ETag and sequence, pending writes, planned to
// synced) leaves the feed's ETag as it was.
func (q *queries) UpdateStep(ctx context.Context, s *followup.Step) error {
	completed := ""
	if s.CompletedAt != nil && !s.CompletedAt.IsZero() {
		completed = ts(*s.CompletedAt)
	}
	return q.atomic(ctx, func(q *queries) error {
		return q.updateStep(ctx, s.UserID, s.ID, `
			UPDATE steps SET status = ?, start_at = ?, end_at = ?, not_before = ?, due = ?, late = ?, sequence = ?, pinned = ?,
				remote_etag = ?, remote_sequence = ?, pending_writes = ?, completed_at = ?, updated_at = ?,
				feed_rev = CASE WHEN `+sameInFeed+` AND coalesce(completed_at, '') = ? THEN feed_rev ELSE ? END
			WHERE id = ? RETURNING user_id, feed_rev`,
			[]any{string(s.Status), ts(s.Start), ts(s.End), ts(s.NotBefore), ts(s.Due), s.Late, s.Sequence, s.Pinned,
				s.RemoteETag, s.RemoteSequence, pendingWrites(s.PendingWrites), nullTS(s.CompletedAt), ts(s.UpdatedAt),
				feedStatus(s.Status), ts(s.Start), ts(s.End), s.Sequence, ts(s.UpdatedAt), completed})
	})
}

// StepByUID finds a step (or a tombstone) by its UID.
func (q *queries) StepByUID(ctx context.Context, uid string) (followup.Step, error) {
	s, err := scanStep(q.ex.QueryRowContext(ctx, `SELECT `+stepColumns+` FROM steps WHERE uid = ?`, uid))
	return s, notFound(err, "Step")
}

// pendingSteps is PendingSteps's condition (user).
const pendingSteps = `user_id = ? AND status IN ('planned', 'synced') AND commitment_id IS NOT NULL ORDER BY start_at, id`

// PendingSteps returns the user's planned and synced steps.
func (q *queries) PendingSteps(ctx context.Context, userID int64) ([]followup.Step, error) {
	return q.stepsWhere(ctx, pendingSteps, userID)
}

// PlanningSteps returns the user's pending steps that end after t, but
// let_go (a moment, never moved): the past does not take part in planning.
func (q *queries) PlanningSteps(ctx context.Context, userID int64, t time.Time) ([]followup.Step, error) {
	rows, err := q.ex.QueryContext(ctx, `SELECT id, commitment_id, kind, status, start_at, end_at, not_before, due, uid,
			late, sequence, pinned, remote_etag, unplaced
		FROM steps WHERE user_id = ? AND status IN ('planned', 'synced') AND commitment_id IS NOT NULL AND end_at > ?
			AND kind != 'let_go'
		ORDER BY start_at, id`, userID, ts(t))
	if err != nil {
		return nil, fmt.Errorf("store: planning steps: %w", err)
	}
	return scanPlanning(rows, userID)
}

// planningWindow is PlanningWindow's query: steps_user_status_rev finds the
// user's pending steps, of which the window (from now to years ahead)
// holds nearly all.
const planningWindow = `SELECT s.id, s.commitment_id, s.kind, s.status, s.start_at, s.end_at, s.not_before,
		s.due, s.uid, s.late, s.sequence, s.pinned, s.remote_etag, c.priority, c.met_at, c.meeting_start, c.meeting_minutes
	FROM steps s JOIN commitments c ON c.id = s.commitment_id
	WHERE s.user_id = ? AND s.unplaced = 0 AND s.start_at >= ? AND s.start_at < ? AND s.status IN ('planned', 'synced')
		AND s.kind NOT IN ('let_go', 'close')
	ORDER BY s.start_at, s.id`

// PlanningWindow returns the user's placed pending steps starting in
// [from, to), let_go, close and unplaced blocks aside, with the columns
// PlanningSteps reads, and the planning facts of their commitments in the
// same read.
func (q *queries) PlanningWindow(ctx context.Context, userID int64, from, to time.Time) ([]followup.Step, map[int64]followup.Commitment, error) {
	rows, err := q.ex.QueryContext(ctx, planningWindow, userID, ts(from), ts(to))
	if err != nil {
		return nil, nil, fmt.Errorf("store: planning window: %w", err)
	}
	return scanWindow(rows, userID, false)
}

// planningChanges is PlanningChanges' query: planningWindow's columns and
// unplaced, for the pending steps stamped past a feed version, which
// steps_user_status_rev finds.
const planningChanges = `SELECT s.id, s.commitment_id, s.kind, s.status, s.start_at, s.end_at, s.not_before,
		s.due, s.uid, s.late, s.sequence, s.pinned, s.remote_etag, c.priority, c.met_at, c.meeting_start, c.meeting_minutes,
		s.unplaced
	FROM steps s JOIN commitments c ON c.id = s.commitment_id
	WHERE s.user_id = ? AND s.status IN ('planned', 'synced') AND s.feed_rev > ?`

// PlanningChanges returns the user's pending steps of a commitment stamped
// at a feed version past feed, whatever their start, kind or placement,
// with the columns PlanningWindow reads and Unplaced, and the planning
// facts of their commitments.
func (q *queries) PlanningChanges(ctx context.Context, userID, feed int64) ([]followup.Step, map[int64]followup.Commitment, error) {
	rows, err := q.ex.QueryContext(ctx, planningChanges, userID, feed)
	if err != nil {
		return nil, nil, fmt.Errorf("store: planning changes: %w", err)
	}
	return scanWindow(rows, userID, true)
}

// scanWindow reads the rows of planningWindow, or with unplaced those of
// planningChanges, and closes them.
func scanWindow(rows *sql.Rows, userID int64, unplaced bool) ([]followup.Step, map[int64]followup.Commitment, error) {
	defer rows.Close()
	var steps []followup.Step
	facts := map[int64]followup.Commitment{}
	for rows.Next() {
		s := followup.Step{UserID: userID}
		c := followup.Commitment{UserID: userID}
		var kind, status string
		var mStart *time.Time
		var minutes int
		dest := []any{&s.ID, &s.CommitmentID, &kind, &status, scanTime(&s.Start), scanTime(&s.End), scanTime(&s.NotBefore),
			scanTime(&s.Due), &s.UID, &s.Late, &s.Sequence, &s.Pinned, &s.RemoteETag,
			&c.Priority, scanTime(&c.MetAt), scanTimePtr(&mStart), &minutes}
		if unplaced {
			dest = append(dest, &s.Unplaced)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, err
		}
		s.Kind, s.Status = followup.StepKind(kind), followup.StepStatus(status)
		steps = append(steps, s)
		if mStart != nil {
			c.Meeting = &followup.Meeting{Start: *mStart, Minutes: minutes}
		}
		c.ID = s.CommitmentID
		facts[c.ID] = c
	}
	return steps, facts, rows.Err()
}

// scanPlanning reads the rows of PlanningSteps and PlanningWindow.
func scanPlanning(rows *sql.Rows, userID int64) ([]followup.Step, error) {
	defer rows.Close()
	var out []followup.Step
	for rows.Next() {
		s := followup.Step{UserID: userID}
		var kind, status string
		if err := rows.Scan(&s.ID, &s.CommitmentID, &kind, &status, scanTime(&s.Start), scanTime(&s.End), scanTime(&s.NotBefore),
			scanTime(&s.Due), &s.UID, &s.Late, &s.Sequence, &s.Pinned, &s.RemoteETag, &s.Unplaced); err != nil {
			return nil, err
		}
		s.Kind, s.Status = followup.StepKind(kind), followup.StepStatus(status)
		out = append(out, s)
	}
	return out, rows.Err()
}

// MoveStep stores a step's placement.
func (q *queries) MoveStep(ctx context.Context, s *followup.Step) error {
	return q.atomic(ctx, func(q *queries) error {
		return q.updateStep(ctx, s.UserID, s.ID, `
			UPDATE steps SET status = ?, start_at = ?, end_at = ?, late = ?, unplaced = ?, sequence = ?, updated_at = ?,
				feed_rev = CASE WHEN `+sameInFeed+` THEN feed_rev ELSE ? END
			WHERE id = ? RETURNING user_id, feed_rev`,
			[]any{string(s.Status), ts(s.Start), ts(s.End), s.Late, s.Unplaced, s.Sequence, ts(s.UpdatedAt),
				feedStatus(s.Status), ts(s.Start), ts(s.End), s.Sequence, ts(s.UpdatedAt)})
	})
}

// moveChunk bounds the rows of one MoveSteps statement (13 parameters
// each), well inside both databases' limit on parameters.
const moveChunk = 400

// MoveSteps stores the placements of many steps, as MoveStep does each,
// in one UPDATE … FROM (VALUES …) per moveChunk steps of a user.
func (q *queries) MoveSteps(ctx context.Context, steps []followup.Step) error {
	return q.atomic(ctx, func(q *queries) error {
		for len(steps) > 0 {
			n := 1
			for n < len(steps) && n < moveChunk && steps[n].UserID == steps[0].UserID {
				n++
			}
			if steps[0].UserID == 0 { // unknown owner: MoveStep finds it
				if err := q.MoveStep(ctx, &steps[0]); err != nil {
					return err
				}
				steps = steps[1:]
				continue
			}
			if err := q.moveSteps(ctx, steps[:n]); err != nil {
				return err
			}
			steps = steps[n:]
		}
		return nil
	})
}

// moveSteps is MoveSteps for steps of one user, in one statement. Like
// updateStep it stamps the steps whose look in the feed changed with the
// transaction's feed version, raising it only if one did. When this
// transaction has not raised it yet, a read first tells whether one will
// change (feedChanges), so that the version is raised before the write and
// each step is written once, not written and then stamped.
func (q *queries) moveSteps(ctx context.Context, steps []followup.Step) error {
	userID := steps[0].UserID
	values, args := moveValues(steps)
	rev, ok := q.revs[userID]
	if !ok || userID == 0 {
		rev = revPending
		changes, err := q.feedChanges(ctx, values, args, userID)
		if err != nil {
			return err
		}
		if changes {
			rev, err = q.feedRev(ctx, userID)
		} else {
			err = q.lockUser(ctx, userID)
		}
		if err != nil {
			return err
		}
	}
	// In a transaction that raised the user's feed version already (a
	// create's), every step moved carries it, whether or not its look
	// changed: the feed's ETag changes anyway, and another instance's kept
	// calendar finds the move by it (PlanMark).
	stamp := `CASE WHEN ` + sameLook + ` THEN steps.feed_rev ELSE ? END`
	if ok && userID != 0 {
		stamp = `?`
	}
	// The user id is compared through a CAST: SQLite marks a bare "col = ?"
	// that no index serves to re-prepare the statement when a rebind
	// changes whether a value is 0 or 1, and all parameters past the 31st
	// share one mark, so the rows' late and unplaced flags (0 or 1) made
	// every execution parse the statement again (modernc keeps integer
	// bindings between executions).
	update := `
		UPDATE steps SET status = v.column2, start_at = v.column3, end_at = v.column4, late = v.column5,
			unplaced = v.column6, sequence = v.column7, updated_at = v.column8, feed_rev = ` + stamp + `
		FROM (VALUES ` + values + `) AS v
		WHERE steps.id = v.column1 AND steps.user_id = CAST(? AS BIGINT)`
	ids := map[int64]bool{}
	for _, s := range steps {
		ids[s.ID] = true
	}
	if ok && userID != 0 {
		// The version is this transaction's: every step is stamped as it
		// is written, and only the count is wanted back.
		res, err := q.ex.ExecContext(ctx, update, append(append([]any{rev}, args...), userID)...)
		if err != nil {
			return fmt.Errorf("store: move steps: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: move steps: %w", err)
		}
		if n != int64(len(ids)) {
			return followup.Errorf(followup.ENOTFOUND, "", "Step not found.")
		}
		return nil
	}
	res, err := q.ex.QueryContext(ctx, update+`
		RETURNING steps.id, steps.feed_rev`, append(append([]any{rev}, args...), userID)...)
	if err != nil {
		return fmt.Errorf("store: move steps: %w", err)
	}
	var pending []int64
	moved := 0
	for res.Next() {
		var id, got int64
		if err := res.Scan(&id, &got); err != nil {
			res.Close()
			return fmt.Errorf("store: move steps: %w", err)
		}
		moved++
		if got == revPending {
			pending = append(pending, id)
		}
	}
	if err := res.Close(); err != nil {
		return fmt.Errorf("store: move steps: %w", err)
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("store: move steps: %w", err)
	}
	if moved != len(ids) {
		return followup.Errorf(followup.ENOTFOUND, "", "Step not found.")
	}
	if len(pending) == 0 {
		return nil
	}
	// A step changed in the feed after all (a writer not holding the
	// user's lock came between the read and the write): stamp it now.
	if rev, err = q.feedRev(ctx, userID); err != nil {
		return err
	}
	in, inArgs := inList([]any{rev}, pending)
	_, err = q.ex.ExecContext(ctx, `UPDATE steps SET feed_rev = ? WHERE id IN (`+in+`)`, inArgs...)
	if err != nil {
		return fmt.Errorf("store: move steps: %w", err)
	}
	return nil
}

// sameLook holds when a stored step (steps) looks in the feed as the row v
// of moveValues would leave it.
const sameLook = `(CASE steps.status WHEN 'synced' THEN 'planned' ELSE steps.status END) = v.column9
	AND steps.start_at = v.column3 AND steps.end_at = v.column4 AND steps.sequence = v.column7
	AND steps.updated_at = v.column8`

// moveValues returns the rows of a VALUES list of the steps' placements
// (id, status, start, end, late, unplaced, sequence, updated_at, the
// status as the feed tells them apart) and their arguments. The first
// row's casts type the columns on PostgreSQL, whose columns are named
// column1… there as in SQLite. The rows are padded to a power of two, so
// that few statement texts are kept prepared, with rows for id 0, which
// no step has: they match nothing, and cost neither a write nor the
// formatting of their times.
func moveValues(steps []followup.Step) (string, []any) {
	row := `(CAST(? AS BIGINT), ?, ?, ?, CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?)`
	n := 1
	for n < len(steps) {
		n *= 2
	}
	n = min(n, max(len(steps), moveChunk))
	rows := make([]string, n)
	args := make([]any, 0, 9*n)
	for i := range n {
		rows[i] = row
		if i > 0 {
			rows[i] = `(?, ?, ?, ?, ?, ?, ?, ?, ?)`
		}
		if i >= len(steps) {
			// Padding: the last row again, for no step (ids start at 1).
			args = append(args, int64(0))
			args = append(args, args[len(args)-9:len(args)-1]...)
			continue
		}
		s := steps[i]
		args = append(args, s.ID, string(s.Status), ts(s.Start), ts(s.End), s.Late, s.Unplaced, s.Sequence,
			ts(s.UpdatedAt), feedStatus(s.Status))
	}
	return strings.Join(rows, ", "), args
}

// feedChanges reports whether writing the rows of moveValues would change
// how one of the user's steps looks in the feed.
func (q *queries) feedChanges(ctx context.Context, values string, args []any, userID int64) (bool, error) {
	var changes bool
	err := q.ex.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM steps JOIN (VALUES `+values+`) AS v ON steps.id = v.column1
			WHERE steps.user_id = CAST(? AS BIGINT) AND NOT (`+sameLook+`))`, append(args, userID)...).Scan(&changes)
	if err != nil {
		return false, fmt.Errorf("store: move steps: %w", err)
	}
	return changes, nil
}

// The pending blocks and the done ones are read through an index each
// (steps_user_status_rev, steps_user_done): a query that asked for either
// status in one WHERE would read the user's every step, cancelled ones
// included, as no index holds both.
const (
	// liveBlocks is LiveBlocks's query (user, since; twice).
	liveBlocks = `SELECT ` + stepColumns + ` FROM steps WHERE user_id = ? AND status IN ('planned', 'synced')
			AND commitment_id IS NOT NULL AND kind NOT IN ('close', 'let_go') AND end_at > ?
		UNION ALL SELECT ` + stepColumns + ` FROM steps WHERE user_id = ? AND status = 'done' AND completed_at >= start_at
			AND commitment_id IS NOT NULL AND kind NOT IN ('close', 'let_go') AND end_at > ?
		ORDER BY start_at, id`
	// stepsInRange is StepsInRange's query (user, to, from; twice).
	stepsInRange = `SELECT ` + stepColumns + ` FROM steps WHERE user_id = ? AND status IN ('planned', 'synced')
			AND commitment_id IS NOT NULL AND kind NOT IN ('close', 'let_go') AND start_at < ? AND end_at > ?
		UNION ALL SELECT ` + stepColumns + ` FROM steps WHERE user_id = ? AND status = 'done'
			AND commitment_id IS NOT NULL AND kind NOT IN ('close', 'let_go') AND start_at < ? AND end_at > ?
		ORDER BY start_at, id`
)

// LiveBlocks returns the steps that calendars show.
func (q *queries) LiveBlocks(ctx context.Context, userID int64, since time.Time) ([]followup.Step, error) {
	return q.steps(ctx, liveBlocks, userID, ts(since), userID, ts(since))
}

// StepsInRange returns the user's block steps overlapping [from, to) that are pending or done.
func (q *queries) StepsInRange(ctx context.Context, userID int64, from, to time.Time) ([]followup.Step, error) {
	return q.steps(ctx, stepsInRange, userID, ts(to), ts(from), userID, ts(to), ts(from))
}

// DueSteps returns pending steps of the given kinds starting at or before t.
func (q *queries) DueSteps(ctx context.Context, kinds []followup.StepKind, t time.Time, limit int) ([]followup.Step, error) {
	where, args := dueWhere(kinds, t, limit)
	return q.stepsWhere(ctx, where, args...)
}

// dueWhere is DueSteps's condition, with its arguments.
func dueWhere(kinds []followup.StepKind, t time.Time, limit int) (string, []any) {
	kindTerm, args := dueKinds(kinds)
	return `status IN ('planned', 'synced') AND ` + kindTerm + ` AND start_at <= ?
		AND commitment_id IS NOT NULL ORDER BY start_at, id LIMIT ?`, append(args, ts(t), limit)
}

// dueIndexes are the kinds of the tick's partial indexes (migration
// 00050), spelled as their WHERE clauses spell them: a query uses one
// only if it names the same kinds in the same words.
var dueIndexes = [][]followup.StepKind{
	{followup.KindLetGo, followup.KindClose},
	{followup.KindMeeting, followup.KindConfirm},
}

// dueKinds is DueSteps's term on kind: the literal list of a partial
// index that holds exactly these kinds, else placeholders with args.
func dueKinds(kinds []followup.StepKind) (string, []any) {
	for _, indexed := range dueIndexes {
		if len(kinds) == len(indexed) && !slices.ContainsFunc(kinds, func(k followup.StepKind) bool { return !slices.Contains(indexed, k) }) {
			quoted := make([]string, len(indexed))
			for i, k := range indexed {
				quoted[i] = "'" + string(k) + "'"
			}
			return "kind IN (" + strings.Join(quoted, ", ") + ")", nil
		}
	}
	args := make([]any, len(kinds))
	for i, k := range kinds {
		args[i] = string(k)
	}
	return "kind IN (" + placeholders(len(kinds)) + ")", args
}

// SyncSteps returns pending blocks and every step with an object on the
// server, or with a write whose answer is not known.
func (q *queries) SyncSteps(ctx context.Context, userID int64) ([]followup.Step, error) {
	return q.stepsWhere(ctx, `user_id = ? AND kind NOT IN ('close', 'let_go')
		AND (remote_etag != '' OR pending_writes != '' OR status IN ('planned', 'synced')) ORDER BY start_at, id`, userID)
}

// ResetRemote forgets the user's calendar objects. The tombstones it
// deletes have left the feed already; their going is recorded (purged).
func (q *queries) ResetRemote(ctx context.Context, userID int64) error {
	return q.atomic(ctx, func(q *queries) error { return q.resetRemote(ctx, userID) })
}

// resetRemote is ResetRemote inside a transaction.
func (q *queries) resetRemote(ctx context.Context, userID int64) error {
	if err := q.lockUser(ctx, userID); err != nil {
		return err
	}
	_, err := q.ex.ExecContext(ctx, `UPDATE steps SET remote_etag = '', remote_sequence = ?, pending_writes = '',
		status = CASE status WHEN 'synced' THEN 'planned' ELSE status END WHERE user_id = ?`, followup.NoRemoteSequence, userID)
	if err != nil {
		return err
	}
	if err := q.deleteTombstones(ctx, userID, `DELETE FROM steps WHERE user_id = ? AND commitment_id IS NULL`); err != nil {
		return err
	}
	if _, err = q.ex.ExecContext(ctx, `UPDATE habit_series SET remote_etag = '', remote_sequence = -1, remote_hash = '' WHERE user_id = ?`, userID); err != nil {
		return err
	}
	_, err = q.ex.ExecContext(ctx, `DELETE FROM habit_series WHERE user_id = ? AND active = 0`, userID)
	return err
}

// deleteTombstones runs a DELETE of the user's tombstones (its only
// argument is the user id) and records their going when there were any.
func (q *queries) deleteTombstones(ctx context.Context, userID int64, query string) error {
	res, err := q.ex.ExecContext(ctx, query, userID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		return q.purged(ctx, userID)
	}
	return nil
}

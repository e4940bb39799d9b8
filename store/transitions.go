package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/followup/followup"
)

// RecordTransitions stores transitions applied to commitments and sets
// their IDs. The table's unique indexes refuse a second transition of a
// kind, or a second change of status, for one commitment: ECONFLICT.
func (q *queries) RecordTransitions(ctx context.Context, list []followup.Transition) error {
	for i := range list {
		t := &list[i]
		var step any
		if t.StepID != 0 {
			step = t.StepID
		}
		err := q.ex.QueryRowContext(ctx, `
			INSERT INTO transitions (user_id, commitment_id, step_id, kind, from_status, to_status, at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			t.UserID, t.CommitmentID, step, string(t.Kind), string(t.From), string(t.To), ts(t.At)).Scan(&t.ID)
		if isUnique(err) {
			return followup.Errorf(followup.ECONFLICT, "", "Commitment %d: %s was applied already.", t.CommitmentID, t.Kind)
		}
		if err != nil {
			return fmt.Errorf("store: record transition: %w", err)
		}
	}
	return nil
}

// Transitions returns the transitions applied to the user's commitment,
// oldest first.
func (q *queries) Transitions(ctx context.Context, userID, commitmentID int64) ([]followup.Transition, error) {
	rows, err := q.ex.QueryContext(ctx, `
		SELECT id, user_id, commitment_id, step_id, kind, from_status, to_status, at
		FROM transitions WHERE user_id = ? AND commitment_id = ? ORDER BY id`, userID, commitmentID)
	if err != nil {
		return nil, fmt.Errorf("store: transitions: %w", err)
	}
	defer rows.Close()
	var out []followup.Transition
	for rows.Next() {
		var t followup.Transition
		var step sql.NullInt64
		var kind, from, to string
		if err := rows.Scan(&t.ID, &t.UserID, &t.CommitmentID, &step, &kind, &from, &to, scanTime(&t.At)); err != nil {
			return nil, fmt.Errorf("store: transitions: %w", err)
		}
		t.StepID, t.Kind, t.From, t.To = step.Int64, followup.TransitionKind(kind), followup.Status(from), followup.Status(to)
		out = append(out, t)
	}
	return out, rows.Err()
}

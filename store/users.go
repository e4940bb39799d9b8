package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/followup/followup"
)

// CreateUser inserts a user with their settings. A taken email is ECONFLICT.
func (q *queries) CreateUser(ctx context.Context, u *followup.User, s followup.Settings) error {
	settings, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return q.atomic(ctx, func(q *queries) error {
		err := q.ex.QueryRowContext(ctx, `
			INSERT INTO users (email, password_hash, settings, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			u.Email, u.PasswordHash, string(settings), ts(u.CreatedAt)).Scan(&u.ID)
		if isUnique(err) {
			return followup.Errorf(followup.ECONFLICT, "email", "A user with email %q already exists.", u.Email)
		} else if err != nil {
			return fmt.Errorf("store: create user: %w", err)
		}
		if _, err := q.ex.ExecContext(ctx, `INSERT INTO user_versions (user_id, feed_updated_at) VALUES (?, ?)`, u.ID, ts(u.CreatedAt)); err != nil {
			return fmt.Errorf("store: create user: %w", err)
		}
		return nil
	})
}

const userColumns = `id, email, password_hash, created_at`

func scanUser(row interface{ Scan(...any) error }) (followup.User, error) {
	var u followup.User
	err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, scanTime(&u.CreatedAt))
	return u, err
}

// UserByEmail finds a user by email, case-insensitively.
func (q *queries) UserByEmail(ctx context.Context, email string) (followup.User, error) {
	u, err := scanUser(q.ex.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	return u, notFound(err, "User")
}

// UserByID finds a user by id.
func (q *queries) UserByID(ctx context.Context, id int64) (followup.User, error) {
	u, err := scanUser(q.ex.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	return u, notFound(err, "User")
}

// CreateAPIToken stores the hash of a new API token.
func (q *queries) CreateAPIToken(ctx context.Context, userID int64, tokenHash []byte, name string) error {
	_, err := q.ex.ExecContext(ctx, `INSERT INTO api_tokens (user_id, token_hash, name, created_at) VALUES (?, ?, ?, ?)`,
		userID, tokenHash, name, ts(q.db.now()))
	if err != nil {
		return fmt.Errorf("store: create token: %w", err)
	}
	return nil
}

// UserByAPIToken finds the user owning a token hash, and the token.
func (q *queries) UserByAPIToken(ctx context.Context, tokenHash []byte) (followup.User, followup.APIToken, error) {
	var u followup.User
	var t followup.APIToken
	err := q.ex.QueryRowContext(ctx, `
		SELECT u.id, u.email, u.password_hash, u.created_at, t.id, t.name, t.created_at, t.last_used_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`, tokenHash).
		Scan(&u.ID, &u.Email, &u.PasswordHash, scanTime(&u.CreatedAt), &t.ID, &t.Name, scanTime(&t.CreatedAt), scanTimePtr(&t.LastUsedAt))
	t.UserID = u.ID
	return u, t, notFound(err, "Token")
}

// APITokens lists the user's tokens, oldest first.
func (q *queries) APITokens(ctx context.Context, userID int64) ([]followup.APIToken, error) {
	rows, err := q.ex.QueryContext(ctx, `
		SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	tokens := []followup.APIToken{}
	for rows.Next() {
		t := followup.APIToken{UserID: userID}
		if err := rows.Scan(&t.ID, &t.Name, scanTime(&t.CreatedAt), scanTimePtr(&t.LastUsedAt)); err != nil {
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		tokens = append(tokens, t)
	}
	return tokens, rows.Err()
}

// DeleteAPIToken removes one of the user's tokens; the next request with it
// finds no row.
func (q *queries) DeleteAPIToken(ctx context.Context, userID, id int64) error {
	return q.execOne(ctx, "Token", `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`, id, userID)
}

// TouchAPIToken records a use of the token at t, unless one at or after
// notBefore is recorded already (RFC 3339 UTC text compares in time order).
func (q *queries) TouchAPIToken(ctx context.Context, id int64, t, notBefore time.Time) error {
	_, err := q.ex.ExecContext(ctx, `
		UPDATE api_tokens SET last_used_at = ?
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, ts(t), id, ts(notBefore))
	if err != nil {
		return fmt.Errorf("store: touch token: %w", err)
	}
	return nil
}

// Settings returns the user's settings.
func (q *queries) Settings(ctx context.Context, userID int64) (followup.Settings, error) {
	var raw string
	if err := q.ex.QueryRowContext(ctx, `SELECT settings FROM users WHERE id = ?`, userID).Scan(&raw); err != nil {
		return followup.Settings{}, notFound(err, "User")
	}
	s := followup.DefaultSettings("UTC")
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return followup.Settings{}, fmt.Errorf("store: settings of user %d: %w", userID, err)
	}
	return s, nil
}

// PutSettings replaces the user's settings. The feed version rises: the
// blocks' texts, times and alarms follow the settings.
func (q *queries) PutSettings(ctx context.Context, userID int64, s followup.Settings) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return q.feedWrite(ctx, userID, func(q *queries, _ int64) error {
		return q.execOne(ctx, "User", `UPDATE users SET settings = ? WHERE id = ?`, string(raw), userID)
	})
}

// SetFeedToken replaces the user's feed token; the old one stops matching at once.
func (q *queries) SetFeedToken(ctx context.Context, userID int64, tokenHash []byte, sealed string) error {
	return q.execOne(ctx, "User", `UPDATE users SET feed_token_hash = ?, feed_token_sealed = ? WHERE id = ?`, tokenHash, sealed, userID)
}

// FeedToken returns the sealed feed token ("" when none was made yet).
func (q *queries) FeedToken(ctx context.Context, userID int64) (string, error) {
	var sealed string
	err := q.ex.QueryRowContext(ctx, `SELECT feed_token_sealed FROM users WHERE id = ?`, userID).Scan(&sealed)
	return sealed, notFound(err, "User")
}

// FeedByToken finds a feed by its token hash: one indexed row, no scan of events.
func (q *queries) FeedByToken(ctx context.Context, tokenHash []byte) (followup.Feed, error) {
	var f followup.Feed
	err := q.ex.QueryRowContext(ctx, `SELECT u.id, v.feed_version, v.feed_purged, v.feed_updated_at
		FROM users u JOIN user_versions v ON v.user_id = u.id WHERE u.feed_token_hash = ?`, tokenHash).
		Scan(&f.UserID, &f.Version, &f.Purged, scanTime(&f.UpdatedAt))
	return f, notFound(err, "Feed")
}

// TouchFeed raises the feed version, once per transaction: writes that
// change the feed raise it themselves.
func (q *queries) TouchFeed(ctx context.Context, userID int64, now time.Time) error {
	return q.atomic(ctx, func(q *queries) error {
		_, err := q.feedRevAt(ctx, userID, now)
		return err
	})
}

// PlanVersion returns the user's plan version. In a transaction that
// wrote it already, the version is known without reading: the write holds
// the user's row of user_versions to the end of the transaction, so that
// nobody else can change it meanwhile.
func (q *queries) PlanVersion(ctx context.Context, userID int64) (int64, error) {
	if v, ok := q.plans[userID]; ok {
		return v, nil
	}
	var v int64
	err := q.ex.QueryRowContext(ctx, `SELECT plan_version FROM user_versions WHERE user_id = ?`, userID).Scan(&v)
	return v, notFound(err, "User")
}

// PlanMark returns the user's plan and feed versions and plan base. In a
// transaction that raised both (a create's claim), they are known without
// reading, and the base is given as the plan version: the safe side, as a
// base past a kept calendar's version only has it read in whole.
func (q *queries) PlanMark(ctx context.Context, userID int64) (followup.PlanMark, error) {
	if v, ok := q.plans[userID]; ok {
		if f, ok := q.revs[userID]; ok {
			return followup.PlanMark{Version: v, Feed: f, Base: v}, nil
		}
	}
	var m followup.PlanMark
	err := q.ex.QueryRowContext(ctx, `SELECT plan_version, feed_version, plan_base FROM user_versions WHERE user_id = ?`,
		userID).Scan(&m.Version, &m.Feed, &m.Base)
	return m, notFound(err, "User")
}

// planWritten records the plan version a write of this transaction left
// the user at, for PlanVersion. Outside a transaction nothing holds it.
func (q *queries) planWritten(userID, v int64) {
	if q.tx == nil {
		return
	}
	if q.plans == nil {
		q.plans = map[int64]int64{}
	}
	q.plans[userID] = v
}

// ClaimPlan raises the plan version from seen (compare and swap).
func (q *queries) ClaimPlan(ctx context.Context, userID, seen int64) (bool, error) {
	res, err := q.ex.ExecContext(ctx, `UPDATE user_versions SET plan_version = plan_version + 1, plan_base = plan_version + 1
		WHERE user_id = ? AND plan_version = ?`, userID, seen)
	if err != nil {
		return false, fmt.Errorf("store: claim plan: %w", err)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 1 {
		q.planWritten(userID, seen+1)
	}
	return n == 1, err
}

// claimVersions raises a user's plan and feed versions from a plan
// version seen (now, user, seen); claimPlanAndFeed is ClaimPlanAndFeed's
// statement, which ClaimAndInsert runs inside its inserts on PostgreSQL.
const (
	claimVersions = `UPDATE user_versions SET feed_version = feed_version + 1, feed_updated_at = ?,
	plan_version = plan_version + 1 WHERE user_id = ? AND plan_version = ?`
	claimReturning   = ` RETURNING feed_version, plan_version`
	claimPlanAndFeed = claimVersions + claimReturning
	// claimPlanAndFeedSeen also requires the feed version seen (a fourth
	// argument), without RETURNING: the raised versions are those seen,
	// plus one.
	claimPlanAndFeedSeen = claimVersions + ` AND feed_version = ?`
)

// ClaimPlanAndFeed raises the plan version from seen and the feed version
// in one statement; the transaction's later writes stamp the raised feed
// version (feedRev) without another.
func (q *queries) ClaimPlanAndFeed(ctx context.Context, userID, seen int64) (bool, error) {
	if _, ok := q.revs[userID]; ok {
		return q.ClaimPlan(ctx, userID, seen) // the feed version rose in this transaction already
	}
	var rev, plan int64
	err := q.ex.QueryRowContext(ctx, claimPlanAndFeed, ts(q.db.now()), userID, seen).Scan(&rev, &plan)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("store: claim plan: %w", err)
	}
	q.feedRaised(userID, rev, plan)
	return true, nil
}

// WantReplan records that the user's blocks need a full re-plan.
func (q *queries) WantReplan(ctx context.Context, userID int64) (bool, error) {
	res, err := q.ex.ExecContext(ctx, `UPDATE user_versions SET replan_wanted = 1 WHERE user_id = ? AND replan_wanted = 0`, userID)
	if err != nil {
		return false, fmt.Errorf("store: want replan: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return n == 1, err
	}
	if _, ok := q.plans[userID]; ok {
		return false, nil // not new: this transaction wrote the user's row
	}
	// Not new, or no such user.
	var one int
	if err := q.ex.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return false, followup.Errorf(followup.ENOTFOUND, "", "User not found.")
	} else if err != nil {
		return false, fmt.Errorf("store: want replan: %w", err)
	}
	return false, nil
}

// TakeReplan clears the re-plan wish and reports whether there was one.
// Taking it raises the plan version, so that a plan read before knows the
// wish may be gone.
func (q *queries) TakeReplan(ctx context.Context, userID int64) (bool, error) {
	var v int64
	err := q.ex.QueryRowContext(ctx, `UPDATE user_versions SET replan_wanted = 0, plan_version = plan_version + 1, plan_base = plan_version + 1
		WHERE user_id = ? AND replan_wanted = 1 RETURNING plan_version`, userID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("store: take replan: %w", err)
	}
	q.planWritten(userID, v)
	return true, nil
}

// bumpPlan raises the plan version of the user a write concerns.
func (q *queries) bumpPlan(ctx context.Context, userID int64) error {
	if err := q.raisePlan(ctx, userID); err != nil {
		return fmt.Errorf("store: plan version: %w", err)
	}
	return nil
}

// raisePlan raises the user's plan version, keeping the new one for
// PlanVersion. An unknown user is no error: nothing changes.
func (q *queries) raisePlan(ctx context.Context, userID int64) error {
	var v int64
	err := q.ex.QueryRowContext(ctx, `UPDATE user_versions SET plan_version = plan_version + 1, plan_base = plan_version + 1
		WHERE user_id = ? RETURNING plan_version`, userID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	q.planWritten(userID, v)
	return nil
}

// execOne runs a statement that must touch exactly one row.
func (q *queries) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := q.ex.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return followup.Errorf(followup.ENOTFOUND, "", "%s not found.", what)
	}
	return nil
}

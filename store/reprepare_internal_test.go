package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/followup/followup"
)

// TestMoveStepsIsNotPreparedAgain runs MoveSteps again and again on one
// connection, as the commit loop does, with the steps' late and unplaced
// flags changing between runs, and counts how often SQLite compiles the
// UPDATE (an authorizer sees every compile, first or again). SQLite marks a
// bare "col = ?" that no index serves to compile the statement again when
// a rebind changes whether a value is 0 or 1, and every parameter past the
// 31st shares one such mark; the driver keeps integer bindings between
// executions, so the 0s and 1s of the rows made each run of a statement of
// 4 rows or more compile again (a 256-row UPDATE parsed once a create).
func TestMoveStepsIsNotPreparedAgain(t *testing.T) {
	ctx := context.Background()
	db, u := migratedWithUser(t, "move@example.com")
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: "C"}, Promise: "P", MetAt: now, Due: now.AddDate(0, 0, 1),
		Direction: followup.Mine, Status: followup.StatusOpen, CreatedAt: now, UpdatedAt: now}
	if err := db.InsertCommitment(ctx, &c); err != nil {
		t.Fatal(err)
	}
	steps := make([]followup.Step, 8)
	for i := range steps {
		steps[i] = followup.Step{CommitmentID: c.ID, UserID: u.ID, Kind: followup.KindRefresher, Status: followup.StepPlanned,
			Start: now.Add(time.Duration(i) * time.Hour), End: now.Add(time.Duration(i)*time.Hour + 30*time.Minute),
			NotBefore: now, Due: now.AddDate(0, 0, 1), UID: fmt.Sprint("move-", i), RemoteSequence: followup.NoRemoteSequence,
			CreatedAt: now, UpdatedAt: now}
		if err := db.InsertStep(ctx, &steps[i]); err != nil {
			t.Fatal(err)
		}
	}

	conn, err := db.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var compiles atomic.Int32
	err = conn.Raw(func(dc any) error {
		return dc.(sqlite.AuthorizerRegisterer).RegisterAuthorizer(func(action sqlite.AuthorizerActionCode, table, column, _, _ string) sqlite.AuthorizerReturnCode {
			if action == sqlite.AuthUpdate && table == "steps" && column == "unplaced" {
				compiles.Add(1)
			}
			return sqlite.AuthorizerOK
		})
	})
	if err != nil {
		t.Fatal(err)
	}

	const runs = 6
	for run := range runs {
		for i := range steps {
			steps[i].Start = steps[i].Start.Add(time.Minute)
			steps[i].End = steps[i].End.Add(time.Minute)
			steps[i].Late = (i+run)%2 == 0
			steps[i].Unplaced = (i+run)%3 == 0
			steps[i].Sequence++
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		q := &queries{db: db, ex: stmts{db: db.db, tx: tx, dialect: db.dialect, cache: &db.stmts}, tx: tx}
		if err := q.MoveSteps(ctx, steps); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// Once on this connection, where the statement is first prepared.
	if n := compiles.Load(); n != 1 {
		t.Errorf("the UPDATE of %d rows was compiled %d times in %d runs on one connection, want once", len(steps), n, runs)
	}
	pending, err := db.PendingSteps(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got followup.Step
	for _, s := range pending {
		if s.ID == steps[3].ID {
			got = s
		}
	}
	if !got.Start.Equal(steps[3].Start) || got.Late != steps[3].Late || got.Unplaced != steps[3].Unplaced || got.Sequence != steps[3].Sequence {
		t.Errorf("step after the moves: start %v late %v unplaced %v sequence %d, want %v %v %v %d",
			got.Start, got.Late, got.Unplaced, got.Sequence, steps[3].Start, steps[3].Late, steps[3].Unplaced, steps[3].Sequence)
	}
}

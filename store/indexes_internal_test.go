package store

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/followup/followup"
)

// TestQueriesUseTheirIndexes asks each database how it runs the queries
// whose indexes migrations 00050 to 00053 changed: the tick's two
// DueSteps queries must use their partial indexes (a query uses one only
// if it names the same kinds in the same words); the planning window, the
// pending steps, the live blocks and the agenda's range must find their
// rows through steps_user_status_rev and steps_user_done, the steps
// changed since a feed version and the planning changes (migration 00055)
// through steps_user_status_rev, and the commitments
// changed for the habits through commitments_feed_rev (on PostgreSQL:
// through an index), not by reading every row. PostgreSQL is asked with
// sequential scans off, so that a small table still shows whether an
// index can serve.
func TestQueriesUseTheirIndexes(t *testing.T) {
	t0 := time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)
	due := func(kinds ...followup.StepKind) (string, []any) {
		where, args := dueWhere(kinds, t0, 10)
		return `SELECT ` + stepColumns + ` FROM steps WHERE ` + where, args
	}
	moments, momentArgs := due(followup.KindClose, followup.KindLetGo) // in either order
	meetings, meetingArgs := due(followup.KindMeeting, followup.KindConfirm)
	cases := []struct {
		name, query, index string
		args               []any
	}{
		{"due moments", moments, "steps_due_moments", momentArgs},
		{"due meetings", meetings, "steps_due_meetings", meetingArgs},
		{"planning window", planningWindow, "steps_user_status_rev", []any{int64(1), ts(t0), ts(t0.AddDate(1, 0, 0))}},
		{"pending steps", `SELECT ` + stepColumns + ` FROM steps WHERE ` + pendingSteps, "steps_user_status_rev", []any{int64(1)}},
		{"live blocks", liveBlocks, "steps_user_status_rev", []any{int64(1), ts(t0), int64(1), ts(t0)}},
		{"live blocks done", liveBlocks, "steps_user_done", []any{int64(1), ts(t0), int64(1), ts(t0)}},
		{"steps in range", stepsInRange, "steps_user_status_rev", []any{int64(1), ts(t0), ts(t0), int64(1), ts(t0), ts(t0)}},
		{"steps in range done", stepsInRange, "steps_user_done", []any{int64(1), ts(t0), ts(t0), int64(1), ts(t0), ts(t0)}},
		{"steps changed", `SELECT ` + stepColumns + ` FROM steps WHERE ` + stepsChanged, "steps_user_status_rev", []any{int64(1), int64(0)}},
		{"planning changes", planningChanges, "steps_user_status_rev", []any{int64(1), int64(0)}},
		{"commitments changed", commitmentsChanged, "commitments_feed_rev", []any{int64(1), int64(0)}},
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			db := indexedDB(t, dialect)
			ctx := context.Background()
			conn, err := db.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			explain := `EXPLAIN QUERY PLAN `
			if dialect == "postgres" {
				explain = `EXPLAIN `
				if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
					t.Fatal(err)
				}
			}
			for _, tc := range cases {
				plan := queryPlan(t, conn, db.dialect.rebind(explain+tc.query), db.dialect.args(tc.args))
				// PostgreSQL picks among the indexes on user_id by cost;
				// that it reads by one of them is what holds on an empty table.
				if !strings.Contains(plan, tc.index) && (dialect == "sqlite" || strings.HasPrefix(tc.name, "due")) {
					t.Errorf("%s: the plan does not use %s:\n%s", tc.name, tc.index, plan)
				}
				if strings.Contains(plan, "SCAN steps") || strings.Contains(plan, "SCAN s ") || strings.Contains(plan, "SCAN commitments") || strings.Contains(plan, "Seq Scan on") {
					t.Errorf("%s: the plan reads every row:\n%s", tc.name, plan)
				}
			}
		})
	}
	// Kinds no index holds still get an answer.
	where, args := dueWhere([]followup.StepKind{followup.KindDeliver}, t0, 10)
	if !strings.Contains(where, "kind IN (?)") || len(args) != 3 || args[0] != string(followup.KindDeliver) {
		t.Errorf("dueWhere(deliver) = %q %v, want the kind as an argument", where, args)
	}
}

// indexedDB is a migrated database of the dialect, skipped when
// PostgreSQL is not installed.
func indexedDB(t *testing.T, dialect string) *DB {
	t.Helper()
	if dialect == "sqlite" {
		db, _ := migratedWithUser(t, "plans@example.com")
		return db
	}
	db, err := Open(migratedPostgres(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// queryPlan is the database's plan of query, its rows' text columns
// joined by lines.
func queryPlan(t *testing.T, conn *sql.Conn, query string, args []any) string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			t.Fatal(err)
		}
		var line []string
		for _, v := range vals {
			if s, ok := (*v.(*any)).(string); ok {
				line = append(line, s)
			}
		}
		lines = append(lines, strings.Join(line, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

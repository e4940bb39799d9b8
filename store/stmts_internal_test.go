package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// TestInListKeepsFewStatements reads commitments by id lists of every
// length from 1 to 500, and lists of commitments with their steps, and
// checks that the statements kept prepared stay few: each is kept on every
// pooled connection, and one per list length kept hundreds of MB. The
// padded lists still answer exactly the commitments asked for.
func TestInListKeepsFewStatements(t *testing.T) {
	ctx := context.Background()
	db, u := migratedWithUser(t, "in@example.com")
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	var ids []int64
	for i := range 7 {
		c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: "C"}, Promise: "P", MetAt: now, Due: now.AddDate(0, 0, 1),
			Direction: followup.Mine, Status: followup.StatusOpen, CreatedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now}
		if err := db.InsertCommitment(ctx, &c); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}

	asked := []int64{ids[1], ids[4], ids[6]} // padded to 4
	got, err := db.CommitmentsByID(ctx, u.ID, asked)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []int64
	for _, id := range ids {
		if c, ok := got[id]; ok && c.ID == id {
			gotIDs = append(gotIDs, id)
		}
	}
	if diff := cmp.Diff(asked, gotIDs); diff != "" || len(got) != len(asked) {
		t.Errorf("CommitmentsByID(%v) answered %d commitments (-want +got):\n%s", asked, len(got), diff)
	}

	many := make([]int64, 500)
	for i := range many {
		many[i] = ids[i%len(ids)]
	}
	for n := 1; n <= len(many); n++ {
		if _, err := db.CommitmentsByID(ctx, u.ID, many[:n]); err != nil {
			t.Fatal(err)
		}
		if _, err := db.PlanningFacts(ctx, u.ID, many[:n]); err != nil {
			t.Fatal(err)
		}
	}
	for limit := 1; limit <= len(ids); limit++ {
		list, err := db.Commitments(ctx, u.ID, followup.CommitmentFilter{Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != limit {
			t.Fatalf("Commitments(limit %d) answered %d", limit, len(list))
		}
	}
	in := 0
	db.stmts.Range(func(k, _ any) bool {
		if strings.Contains(k.(string), " IN (") {
			in++
		}
		return true
	})
	// CommitmentsByID and PlanningFacts: 1, 2, 4, … 256, 500 each; the
	// steps of a list: 1, 2, 4, 8.
	if in > 2*10+4 {
		t.Errorf("%d statements with an IN list are kept prepared, want at most %d", in, 2*10+4)
	}
}

// migratedWithUser opens a migrated SQLite database in a temp dir, closed
// when the test ends, with one user of the given email.
func migratedWithUser(t *testing.T, email string) (*DB, followup.User) {
	t.Helper()
	ctx := context.Background()
	db, _ := migratedSQLite(t)
	u := followup.User{Email: email, PasswordHash: "x"}
	if err := db.CreateUser(ctx, &u, followup.DefaultSettings("UTC")); err != nil {
		t.Fatal(err)
	}
	return db, u
}

// migratedSQLite opens and migrates a SQLite file in a temp dir, closed
// when the test ends, and returns it with the file's path.
func migratedSQLite(t *testing.T) (*DB, string) {
	t.Helper()
	path := t.TempDir() + "/db.sqlite"
	db, err := Open("sqlite:"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, path
}

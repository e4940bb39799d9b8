package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/followup/followup/internal/pgtest"
	"github.com/followup/followup/store"
)

// dialect is the database this run of the suite uses: TestMain runs every
// test on SQLite, then on PostgreSQL.
var dialect string

func TestMain(m *testing.M) { os.Exit(pgtest.Dialects(m, &dialect)) }

// testDSN names a fresh database for the test: a SQLite file in a temp
// dir, or a PostgreSQL database copied from the migrated template (so it
// is migrated already; Migrate on it does nothing).
func testDSN(tb testing.TB) string {
	tb.Helper()
	return pgtest.DSN(tb, dialect, "followup_store", migrateTemplate)
}

// emptyDSN names a fresh database never migrated.
func emptyDSN(tb testing.TB) string {
	tb.Helper()
	if dialect == "postgres" {
		return pgtest.Database(tb)
	}
	return "sqlite:" + filepath.Join(tb.TempDir(), "fresh.db")
}

// migrateTemplate migrates the template database the tests' PostgreSQL
// databases are copied from.
func migrateTemplate(dsn string) error {
	db, err := store.Open(dsn, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Migrate(context.Background())
}

// sqliteOnly skips a test of what only SQLite has (a file, its grouped
// commits).
func sqliteOnly(tb testing.TB, why string) {
	tb.Helper()
	if dialect != "sqlite" {
		tb.Skipf("SQLite only: %s", why)
	}
}

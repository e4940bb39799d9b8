package service_test

import (
	"context"
	"os"
	"testing"

	"github.com/followup/followup/internal/pgtest"
	"github.com/followup/followup/store"
)

// dialect is the database this run of the suite uses: TestMain runs every
// test on SQLite, then on PostgreSQL.
var dialect string

func TestMain(m *testing.M) { os.Exit(pgtest.Dialects(m, &dialect)) }

// testDSN names a fresh database for the test: a SQLite file in a temp
// dir, or a PostgreSQL database copied from the migrated template.
func testDSN(tb testing.TB) string {
	tb.Helper()
	return pgtest.DSN(tb, dialect, "followup_service", migrateTemplate)
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

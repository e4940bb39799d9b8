package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/followup/followup"
)

// Backup writes a consistent copy of the database to path while it is in
// use (SQLite's VACUUM INTO: one read transaction, so writers go on, and a
// compact file with no -wal beside it). path must not exist; the copy is
// readable by the owner only, as the database is. It holds the sealed
// secrets but not the key that opens them.
//
// On PostgreSQL it is EINVALID: the server's own pg_dump makes the backup.
func (s *DB) Backup(ctx context.Context, path string) error {
	if s.dialect == postgresDialect {
		return followup.Errorf(followup.EINVALID, "database",
			"followup backup copies SQLite databases; back up PostgreSQL with pg_dump (pg_dump -Fc -f followup.dump DATABASE_URL) and restore with pg_restore.")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("store: backup: %s exists; name a new file", path)
	}
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	f.Close()
	// VACUUM INTO accepts an existing empty file, which keeps the mode above.
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return nil
}

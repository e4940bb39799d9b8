package store

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/followup/followup"
)

// TestCommitLoopLeavesCheckpointsToTheirLoop writes far more than the
// 1,000 WAL pages at which SQLite checkpoints by itself through InTx, and
// checks that the commit loop's transactions run on its own connection,
// which does not checkpoint: the database file keeps its size until
// checkpointLoop runs, and takes the pages once it does. Before, the
// commit that took the WAL past 1,000 pages copied them into the file
// itself, holding up every transaction queued behind it.
func TestCommitLoopLeavesCheckpointsToTheirLoop(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/db.sqlite"
	db, err := Open("sqlite:"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	db.stopCheckpoints()
	setEvery(db, time.Hour) // no loop's checkpoint during the writes
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()

	u := followup.User{Email: "wal@example.com", PasswordHash: "x"}
	if err := db.CreateUser(ctx, &u, followup.DefaultSettings("UTC")); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	notes := strings.Repeat("n", 3000) // about a page a commitment
	for range 20 {
		err := db.InTx(ctx, func(q followup.Queries) error {
			var autocheckpoint int
			if err := q.(*queries).tx.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&autocheckpoint); err != nil {
				return err
			}
			if autocheckpoint != 0 {
				t.Errorf("the commit loop's connection checkpoints every %d pages, want never", autocheckpoint)
			}
			for range 100 {
				c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: "C"}, Promise: "P", Notes: notes, MetAt: now,
					Due: now.AddDate(0, 0, 1), Direction: followup.Mine, Status: followup.StatusOpen, CreatedAt: now, UpdatedAt: now}
				if err := q.InsertCommitment(ctx, &c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := size(); got != before {
		t.Errorf("the database file went from %d to %d bytes during the commits: a commit checkpointed", before, got)
	}

	// The loop, once running at its pace, takes the 2,000 pages in.
	db.stopCheckpoints()
	setEvery(db, 10*time.Millisecond)
	db.startCheckpoints()
	deadline := time.Now().Add(10 * time.Second)
	for size() < before+2000*3000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := size(); got < before+2000*3000 {
		t.Errorf("the database file holds %d bytes 10 s after the commits, want the checkpoint loop to have copied about 6 MB in (from %d)", got, before)
	}
}

// setEvery sets the checkpoint loop's interval from its next start.
func setEvery(db *DB, every time.Duration) {
	db.ckpt.mu.Lock()
	db.ckpt.every = every
	db.ckpt.mu.Unlock()
}

// TestWALRestartsUnderSteadyWrites keeps the commit loop busy from four
// writers while two readers read without pause, as under scripts/load.sh,
// and checks that the WAL file stays a fraction of what went through it.
// SQLite starts the WAL over from its beginning only at a write whose
// transaction began when every frame had been checkpointed, and under
// steady writes the commit loop always had a commit newer than the last
// checkpoint: the WAL grew by every page written, to 590 MB in one run
// of 10,000 creates on a database of 20 MB.
func TestWALRestartsUnderSteadyWrites(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/db.sqlite"
	db, err := Open("sqlite:"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.stopCheckpoints()
	setEvery(db, 5*time.Millisecond)
	u := followup.User{Email: "wal@example.com", PasswordHash: "x"}
	if err := db.CreateUser(ctx, &u, followup.DefaultSettings("UTC")); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	notes := strings.Repeat("n", 3000) // about a page a commitment
	const writers, each = 4, 1500
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.Settings(ctx, u.ID); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				err := db.InTx(ctx, func(q followup.Queries) error {
					c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: "C"}, Promise: "P", Notes: notes, MetAt: now,
						Due: now.AddDate(0, 0, 1), Direction: followup.Mine, Status: followup.StatusOpen, CreatedAt: now, UpdatedAt: now}
					return q.InsertCommitment(ctx, &c)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	written := int64(writers * each * len(notes))
	t.Logf("WAL file: %d bytes after %d bytes of notes", fi.Size(), written)
	if fi.Size() > written/3 {
		t.Errorf("the WAL file holds %d bytes after %d commits of about a page each (%d bytes of notes): it was not started over", fi.Size(), writers*each, written)
	}
}

package store

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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
	db, path := migratedSQLite(t)
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
// and counts how often the WAL starts over from its first frame (each
// time with new salts in its header). SQLite starts it over only at a
// write whose transaction began when every frame had been checkpointed,
// and under steady writes the commit loop nearly always had a commit newer
// than the last checkpoint: the WAL grew by every page written, to 590 MB
// in one run of 10,000 creates on a database of 20 MB. With the commit
// loop checkpointing the last frames itself (tail), it starts over after
// most of checkpointLoop's checkpoints.
func TestWALRestartsUnderSteadyWrites(t *testing.T) {
	ctx := context.Background()
	db, path := migratedSQLite(t)
	db.stopCheckpoints()
	setEvery(db, 20*time.Millisecond)
	db.ckpt.mu.Lock()
	db.ckpt.restart = 1 // at every checkpoint
	db.ckpt.mu.Unlock()
	db.startCheckpoints()
	u := followup.User{Email: "wal@example.com", PasswordHash: "x"}
	if err := db.CreateUser(ctx, &u, followup.DefaultSettings("UTC")); err != nil {
		t.Fatal(err)
	}
	wal, err := os.Open(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	defer wal.Close()
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	notes := strings.Repeat("n", 3000) // about a page a commitment
	stop := make(chan struct{})
	var background sync.WaitGroup
	for range 2 {
		background.Go(func() {
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
	// The WAL header's salts (bytes 16 to 23) change at each start over.
	restarts := 0
	background.Go(func() {
		var last, salts [8]byte
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if n, _ := wal.ReadAt(salts[:], 16); n == len(salts) && salts != last {
				if last != ([8]byte{}) {
					restarts++
				}
				last = salts
			}
		}
	})
	var writers sync.WaitGroup
	var commits atomic.Int64
	deadline := time.Now().Add(1500 * time.Millisecond)
	for range 4 {
		writers.Go(func() {
			for time.Now().Before(deadline) {
				err := db.InTx(ctx, func(q followup.Queries) error {
					c := followup.Commitment{UserID: u.ID, Contact: followup.Contact{Name: "C"}, Promise: "P", Notes: notes, MetAt: now,
						Due: now.AddDate(0, 0, 1), Direction: followup.Mine, Status: followup.StatusOpen, CreatedAt: now, UpdatedAt: now}
					return q.InsertCommitment(ctx, &c)
				})
				if err != nil {
					t.Error(err)
					return
				}
				commits.Add(1)
			}
		})
	}
	writers.Wait()
	close(stop)
	background.Wait()
	// A checkpoint every 20 ms for 1.5 s: 75 chances to start over. Before
	// tail, 0 to 5 a second were seen; with it, 25 to 35 (14 to 24 with
	// both cores busy elsewhere).
	t.Logf("%d commits, the WAL started over %d times", commits.Load(), restarts)
	if restarts < 10 {
		t.Errorf("the WAL started over %d times in 1.5 s of steady writes (%d commits) with a checkpoint every 20 ms, want at least 10", restarts, commits.Load())
	}
}

package store

import (
	"cmp"
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointEvery is how often checkpointLoop copies the WAL back into the
// database file. A page written several times between two checkpoints is
// copied once: under load (20 users logging, scripts/load.sh) 300 ms took
// 5–10 % less CPU a create than 100 ms (docs/performance.md, session 5),
// and a power loss can take back at most that much of what was committed.
const checkpointEvery = 300 * time.Millisecond

// checkpointer runs the SQLite WAL's checkpoints beside the commit loop.
//
// A checkpoint copies the pages the WAL holds into the database file and,
// with synchronous=NORMAL, syncs both files. SQLite runs one by itself at
// the commit that takes the WAL past 1,000 pages, on the connection that
// committed: that was the commit loop's, the single writer that every
// transaction of this process waits for, which then spent milliseconds
// copying and syncing while the queue of creates grew. The commit loop's
// connection has those automatic checkpoints off; this loop runs a
// PASSIVE checkpoint (it never waits for, or blocks, the writer or a
// reader) on a pooled connection every checkpointEvery instead, on the
// other core. Durability is the same as before: a commit is in the WAL
// when InTx returns, and the WAL is synced at each checkpoint, now at most
// checkpointEvery after the commit instead of at the 1,000th page.
// Other connections (the queue's) keep their automatic checkpoints.
//
// SQLite starts the WAL over from its first frame only at a write whose
// transaction began when every frame was in the database file already.
// Under steady writes the commit loop has always committed again since
// this loop's checkpoint began, so the WAL never started over and grew by
// every page written: 590 MB for 10,000 creates into a database of 20 MB,
// and SQLite looks a page up in more of the WAL's index the longer it is.
// So after a checkpoint of a WAL of restartFrames or more the loop sets
// caughtUp, and the commit loop checkpoints what is left (what readers held
// back, and the few frames committed since) on its own connection before
// its next transaction (tail), which can then start the WAL over. That
// checkpoint holds the commit loop up for its two syncs, about 6 ms under
// load: hence only once the WAL is that long, a few times a second at most.
type checkpointer struct {
	mu       sync.Mutex
	every    time.Duration // checkpointEvery; tests set it
	restart  int64         // restartFrames; tests set it
	stop     chan struct{} // nil until started
	done     chan struct{}
	caughtUp atomic.Bool
}

// restartFrames is the length of the WAL, in frames of a page (4 KiB),
// past which the commit loop has it start over (about 32 MiB).
const restartFrames = 8192

// startCheckpoints starts checkpointLoop once.
func (s *DB) startCheckpoints() {
	s.ckpt.mu.Lock()
	defer s.ckpt.mu.Unlock()
	if s.ckpt.stop != nil {
		return
	}
	every, restart := cmp.Or(s.ckpt.every, checkpointEvery), cmp.Or(s.ckpt.restart, restartFrames)
	s.ckpt.stop, s.ckpt.done = make(chan struct{}), make(chan struct{})
	go s.checkpointLoop(every, restart, s.ckpt.stop, s.ckpt.done)
}

// stopCheckpoints ends checkpointLoop, if it runs, and waits for it.
func (s *DB) stopCheckpoints() {
	s.ckpt.mu.Lock()
	stop, done := s.ckpt.stop, s.ckpt.done
	s.ckpt.stop, s.ckpt.done = nil, nil
	s.ckpt.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// checkpointLoop checkpoints the WAL every interval until stop closes, and
// has the commit loop start it over once it holds restart frames.
func (s *DB) checkpointLoop(every time.Duration, restart int64, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var busy, frames, copied int64
		err := s.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
		if err != nil {
			s.log.Warn("wal checkpoint", "error", err.Error())
			continue
		}
		if busy == 0 && frames >= restart {
			s.ckpt.caughtUp.Store(true)
		}
	}
}

// tail checkpoints, on the commit loop's connection w and before its next
// transaction, the frames left after checkpointLoop's last checkpoint, if
// the loop asked for it (caughtUp): that transaction then starts the WAL
// over unless a reader still reads from it. Only a few groups' pages are
// left to copy.
func (s *DB) tail(ctx context.Context, w *sql.Conn) {
	if !s.ckpt.caughtUp.CompareAndSwap(true, false) {
		return
	}
	var busy, frames, copied int64
	if err := w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		s.log.Warn("wal checkpoint", "error", err.Error())
		return
	}
	if busy != 0 {
		// checkpointLoop's next checkpoint runs: try again after the next
		// group rather than wait for its next one to finish.
		s.ckpt.caughtUp.Store(true)
	}
}

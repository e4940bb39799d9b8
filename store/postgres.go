package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/followup/followup"
)

// connectTimeout bounds how long Open waits for a PostgreSQL server.
const connectTimeout = 10 * time.Second

// maxConns bounds the connections of each of the two pools on PostgreSQL:
// database/sql's for the store, pgx's for the job queue's workers.
const maxConns = 16

// openPostgres connects to the PostgreSQL server of dsn. The store's
// queries go through database/sql (pgx's stdlib driver), so that both
// dialects share them; the job queue's workers use a pgx pool, on which
// River listens for new jobs and elects the leader among instances. Errors
// never show the URL's password. tracer, if not nil, sees the store's
// statements.
func (s *DB) openPostgres(dsn string, tracer pgx.QueryTracer) error {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return followup.Errorf(followup.EINVALID, "database", "Database %s is not a valid PostgreSQL URL: %s",
			redactedDSN(dsn), maskPassword(err, dsn).Error())
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if cfg.MaxConns < maxConns {
		cfg.MaxConns = maxConns
	}
	conf := cfg.ConnConfig.Copy()
	if tracer != nil {
		conf.Tracer = tracer
	}
	db := sql.OpenDB(lockingConnector{stdlib.GetConnector(*conf)})
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return unreachable(dsn, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		db.Close()
		return unreachable(dsn, err)
	}
	s.db, s.pool, s.dialect, s.name = db, pool, postgresDialect, redactedDSN(dsn)
	return nil
}

// unreachable is EUNAVAILABLE for a server that did not let us in, saying
// why without the password.
func unreachable(dsn string, err error) error {
	return followup.Errorf(followup.EUNAVAILABLE, "database", "Cannot connect to %s: %s", redactedDSN(dsn), maskPassword(err, dsn).Error())
}

// migrateLock is the key of the advisory lock under which an instance
// migrates, so that instances starting together migrate one at a time.
const migrateLock = 0x666f6c6c6f7775 // "followu"

// migratePostgres applies the PostgreSQL migrations and River's, holding
// the migration lock.
func (s *DB) migratePostgres(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLock)); err != nil {
		return fmt.Errorf("store: migrate: lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrateLock))
	fsys, err := fs.Sub(migrationsFS, "migrations/postgres")
	if err != nil {
		return err
	}
	if err := s.gooseUp(ctx, goose.DialectPostgres, fsys); err != nil {
		return err
	}
	m, err := rivermigrate.New(riverpgxv5.New(s.pool), nil)
	if err != nil {
		return fmt.Errorf("store: queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("store: migrate queue: %w", err)
	}
	return nil
}

// maxTxAttempts bounds how often a transaction is run again after a
// serialization failure or a deadlock.
const maxTxAttempts = 30

// inTxPostgres runs fn in its own SERIALIZABLE transaction, as SQLite's
// single writer runs every transaction, so that code written for one holds
// on the other: transactions run concurrently, and one that PostgreSQL
// cannot order with the others (40001) or that deadlocked (40P01) is rolled
// back and run again, after a short random wait. fn may thus run more than
// once; its error rolls back, and a panic is an error.
func (s *DB) inTxPostgres(ctx context.Context, fn func(q followup.Queries) error) error {
	return retried(ctx, func() error { return s.txOnce(ctx, fn) })
}

// retried runs once, a transaction of PostgreSQL's, again after a short
// random wait while it fails to be ordered with the others (isRetryable).
func retried(ctx context.Context, once func() error) error {
	var err error
	for attempt := range maxTxAttempts {
		if attempt > 0 {
			if werr := sleepCtx(ctx, retryWait(attempt)); werr != nil {
				return werr
			}
		}
		if err = once(); !isRetryable(err) {
			return err
		}
	}
	return fmt.Errorf("store: transaction gave up after %d attempts: %w", maxTxAttempts, err)
}

// txOnce runs fn in one transaction. As on SQLite, a caller's cancellation
// does not interrupt a statement: fn sees ctx.Err() at its next check, and
// what it returns decides, as for any caller. It never touches another
// caller's transaction.
//
// A transaction of one user (followup.ForUser) first takes the user's
// transaction lock (with its BEGIN, lockingConn) and then runs READ
// COMMITTED: every statement after the lock sees what the user's
// transaction before it committed, and the user's other transactions, in
// this instance or another, wait for its end. (A transaction that reads and writes a
// user's rows without the mark is not ordered with them: mark it.)
// SERIALIZABLE's predicate locks would make it
// conflict with other users' transactions as well: they cover whole pages
// of steps once a transaction reads a few hundred, which a plan does, and
// under load a create was run again until it gave up.
func (s *DB) txOnce(ctx context.Context, fn func(q followup.Queries) error) error {
	isolation := sql.LevelSerializable
	user := followup.UserOf(ctx)
	if user != 0 {
		isolation = sql.LevelReadCommitted
	}
	// The transaction outlives the caller's context; the wait for the
	// user's lock, sent with BEGIN (lockingConn), does not.
	beginCtx := context.WithoutCancel(ctx)
	if user != 0 {
		beginCtx = context.WithValue(beginCtx, userTxLockKey{}, userTxLockReq{user: user, wait: ctx})
	}
	tx, err := s.db.BeginTx(beginCtx, &sql.TxOptions{Isolation: isolation})
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	q := &queries{db: s, ex: stmts{db: s.db, tx: tx, dialect: s.dialect, cache: &s.stmts}, tx: tx}
	if err := call(fn, q); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// userTxLock is the first key of the advisory locks that make the
// transactions of one user (followup.ForUser) run one at a time; the
// second is the user's id.
const userTxLock = 0x666f6c6c // "foll"

// userTxLockKey marks the context of a BeginTx that takes the user's
// transaction lock as it begins (a userTxLockReq).
type userTxLockKey struct{}

// userTxLockReq is the user whose lock a BeginTx takes, and the context
// that ends the wait for it.
type userTxLockReq struct {
	user int64
	wait context.Context
}

// lockingConnector makes the store's connections lockingConns.
type lockingConnector struct{ driver.Connector }

func (c lockingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return lockingConn{conn.(*stdlib.Conn)}, nil
}

// lockingConn is pgx's database/sql connection, whose BeginTx takes the
// user's transaction lock when the context asks for it (userTxLockKey),
// sent with BEGIN as one simple query: one round trip less a transaction
// of a user. The lock is the transaction's: PostgreSQL gives it back when
// the transaction ends, after its commit is visible, so that the waiter's
// next statement sees it; a dead instance's locks go with its
// connections. Waiting ends with the context.
type lockingConn struct{ *stdlib.Conn }

func (c lockingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	req, ok := ctx.Value(userTxLockKey{}).(userTxLockReq)
	if !ok || sql.IsolationLevel(opts.Isolation) != sql.LevelReadCommitted || opts.ReadOnly {
		return c.Conn.BeginTx(ctx, opts)
	}
	conn := c.Conn.Conn()
	if conn.IsClosed() {
		return nil, driver.ErrBadConn
	}
	// Integers only: nothing to quote in the simple query.
	begin := fmt.Sprintf("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(%d, %d)", int32(userTxLock), int32(req.user))
	tx, err := conn.BeginTx(req.wait, pgx.TxOptions{BeginQuery: begin})
	if err != nil {
		// BEGIN ran and the lock failed (a deadlock, say): the
		// connection is inside an aborted transaction.
		if !conn.IsClosed() && conn.PgConn().TxStatus() != 'I' {
			if _, rerr := conn.Exec(ctx, "ROLLBACK"); rerr != nil {
				conn.Close(ctx)
				return nil, driver.ErrBadConn
			}
		}
		return nil, fmt.Errorf("store: lock user: %w", err)
	}
	return lockedTx{ctx: ctx, tx: tx}, nil
}

// lockedTx is a transaction lockingConn began.
type lockedTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t lockedTx) Commit() error   { return t.tx.Commit(t.ctx) }
func (t lockedTx) Rollback() error { return t.tx.Rollback(t.ctx) }

// retryWait is how long to wait before the attempt'th run of a
// transaction: a few milliseconds, doubling, at random so that the
// transactions that collided do not collide again.
func retryWait(attempt int) time.Duration {
	d := time.Millisecond << min(attempt, 7)
	return d/2 + rand.N(d/2+1)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Package store keeps the service's state in SQL: SQLite through the pure-Go
// modernc.org/sqlite driver by default. It implements followup.Store and
// holds the durable job queue (River), whose jobs commit in the same
// transaction as the domain change that caused them.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/followup/followup"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// tsFormat is how times are stored: UTC, fixed width, so that text order
// is time order.
const tsFormat = "2006-01-02T15:04:05.000000Z"

// DB is the database. It implements followup.Store.
type DB struct {
	*queries  // the Queries on the pool, outside any transaction
	db        *sql.DB
	path      string
	queue     *queue
	log       *slog.Logger
	now       func() time.Time
	stmts     sync.Map // query text -> *sql.Stmt, prepared once
	overrides sync.Map // habit series UID -> decodedOverrides, the last read
	txMu      sync.Mutex
	txQueue   []*txRequest // transactions waiting for the commit loop
	txLeading bool         // a commit loop is running
}

// Options configure Open.
type Options struct {
	Logger *slog.Logger
	// Queue configures the job queue's workers.
	Queue QueueOptions
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Open opens the database named by dsn ("sqlite:PATH", or a bare path) and
// prepares its job queue. It does not migrate; call Migrate.
func Open(dsn string, o Options) (*DB, error) {
	path, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", dir, err)
		}
	}
	// The database holds sealed secrets and token hashes: readable by the
	// owner only. SQLite gives its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create %s: %w", path, err)
	}
	f.Close()
	// Pragmas go in the DSN so that every pooled connection gets them.
	// _txlock=immediate makes BEGIN take the write lock at once, so that two
	// writers wait on busy_timeout instead of failing to upgrade a read lock.
	conn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(2)&_txlock=immediate"
	db, err := sql.Open("sqlite", conn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &DB{db: db, path: path, log: o.Logger, now: o.Now}
	s.queries = &queries{db: s, ex: stmts{db: db, cache: &s.stmts}}
	q, err := newQueue(s, o.Queue, o.Logger)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.queue = q
	return s, nil
}

// sqlitePath extracts the file path from a FOLLOWUP_DATABASE value.
func sqlitePath(dsn string) (string, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "", followup.Errorf(followup.EINVALID, "database", "PostgreSQL is not supported by this build yet; use sqlite:PATH.")
	case strings.HasPrefix(dsn, "sqlite:"):
		dsn = strings.TrimPrefix(dsn, "sqlite:")
		dsn = strings.TrimPrefix(dsn, "//")
	}
	if dsn == "" || strings.ContainsAny(dsn, "?#\x00") {
		return "", followup.Errorf(followup.EINVALID, "database", "Database %q is not sqlite:PATH.", dsn)
	}
	return dsn, nil
}

// Path returns the database file's path.
func (s *DB) Path() string { return s.path }

// SQL returns the underlying pool, for tests and benchmarks.
func (s *DB) SQL() *sql.DB { return s.db }

// Close closes the database.
func (s *DB) Close() error {
	s.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// Migrate applies the service's migrations (goose, embedded) and the job
// queue's own (River's migrator).
func (s *DB) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.db, fsys)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	m, err := rivermigrate.New(riversqlite.New(s.db), nil)
	if err != nil {
		return fmt.Errorf("store: queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("store: migrate queue: %w", err)
	}
	return nil
}

// execer is what queries run on: the pool or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements followup.Queries on the pool or on a transaction.
type queries struct {
	db *DB
	ex execer
	tx *sql.Tx // nil outside InTx
	// revs are the feed versions this transaction raised, by user (see
	// feedRev); each transaction of a group has its own.
	revs map[int64]int64
}

// stmts runs every query through a statement prepared once per pooled
// connection: SQLite spends much of a short query parsing it.
type stmts struct {
	db    *sql.DB
	tx    *sql.Tx // nil outside a transaction
	cache *sync.Map
}

// ctx returns the context a statement runs with. Inside a (grouped)
// transaction a caller's cancellation must not interrupt SQLite, which
// would roll back every caller's work in the group: the statement runs to
// its end, and the caller's fn sees ctx.Err() at its next check.
func (s stmts) ctx(ctx context.Context) context.Context {
	if s.tx != nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (s stmts) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	v, ok := s.cache.Load(query)
	if !ok {
		st, err := s.db.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		if prev, loaded := s.cache.LoadOrStore(query, st); loaded {
			st.Close()
			v = prev
		} else {
			v = st
		}
	}
	st := v.(*sql.Stmt)
	if s.tx != nil {
		// Reuses the statement already prepared on the transaction's connection.
		return s.tx.StmtContext(ctx, st), nil
	}
	return st, nil
}

func (s stmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = s.ctx(ctx)
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (s stmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = s.ctx(ctx)
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s stmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = s.ctx(ctx)
	st, err := s.stmt(ctx, query)
	if err != nil {
		// Let the error surface from Scan, as database/sql does.
		var ex execer = s.db
		if s.tx != nil {
			ex = s.tx
		}
		return ex.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

var _ followup.Store = (*DB)(nil)

func (s *DB) q() *queries { return &queries{db: s, ex: s.db} }

// InTx runs fn in a transaction, committing when it returns nil.
//
// SQLite has one writer at a time, and a commit costs more than most
// transactions' work, so transactions of this process are committed in
// groups: callers queue, and one goroutine runs every queued fn in a single
// SQLite transaction, each inside its own savepoint (a fn that fails is
// rolled back alone), then commits once for all. A caller waiting in the
// queue holds no pooled connection.
func (s *DB) InTx(ctx context.Context, fn func(q followup.Queries) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &txRequest{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.txMu.Lock()
	s.txQueue = append(s.txQueue, req)
	if !s.txLeading {
		s.txLeading = true
		go s.commitLoop()
	}
	s.txMu.Unlock()
	return <-req.done
}

// txRequest is one queued transaction.
type txRequest struct {
	ctx  context.Context
	fn   func(q followup.Queries) error
	done chan error
}

// maxGroup bounds how many transactions commit together.
const maxGroup = 64

// commitLoop runs queued transactions in groups until the queue is empty.
func (s *DB) commitLoop() {
	for {
		s.txMu.Lock()
		group := s.txQueue
		if len(group) > maxGroup {
			group, s.txQueue = group[:maxGroup:maxGroup], group[maxGroup:]
		} else {
			s.txQueue = nil
		}
		if len(group) == 0 {
			s.txLeading = false
			s.txMu.Unlock()
			return
		}
		s.txMu.Unlock()
		s.runGroup(group)
	}
}

// runGroup runs a group of transactions in one SQLite transaction.
func (s *DB) runGroup(group []*txRequest) {
	results := make([]error, len(group))
	answer := func() {
		for i, r := range group {
			r.done <- results[i]
		}
	}
	fail := func(err error) {
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
		answer()
	}
	// The transaction outlives any one caller's context.
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("store: begin: %w", err))
		return
	}
	ex := stmts{db: s.db, tx: tx, cache: &s.stmts}
	single := len(group) == 1
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if !single {
			if _, err := tx.Exec(`SAVEPOINT grouped`); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("store: savepoint: %w", err))
				return
			}
		}
		results[i] = call(r.fn, &queries{db: s, ex: ex, tx: tx})
		if single {
			if results[i] != nil {
				tx.Rollback()
				answer()
				return
			}
			break
		}
		if results[i] != nil {
			if _, err := tx.Exec(`ROLLBACK TO grouped`); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("store: rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := tx.Exec(`RELEASE grouped`); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("store: release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("store: commit: %w", err))
		return
	}
	answer()
}

// call runs fn, turning a panic into an error so that one caller's bug
// cannot take the others' transactions down.
func call(fn func(q followup.Queries) error, q followup.Queries) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: transaction panicked: %v", r)
		}
	}()
	return fn(q)
}

// ts formats a time for storage.
func ts(t time.Time) string { return t.UTC().Format(tsFormat) }

// nullTS formats an optional time.
func nullTS(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return ts(*t)
}

// parseTS reads a stored time.
func parseTS(s string) (time.Time, error) {
	if t, ok := parseFixed(s); ok {
		return t, nil
	}
	t, err := time.Parse(tsFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: bad time %q: %w", s, err)
	}
	return t, nil
}

// parseFixed reads tsFormat ("2006-01-02T15:04:05.000000Z") without
// time.Parse's generality: planning reads thousands of stored times.
func parseFixed(s string) (time.Time, bool) {
	if len(s) != len(tsFormat) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	us, ok7 := num(20, 26)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, us*1000, time.UTC)
	if t.Day() != d { // e.g. February 30
		return time.Time{}, false
	}
	return t, true
}

// timeScanner scans a TEXT time column into a time.Time (or *time.Time via ptr).
type timeScanner struct {
	t   *time.Time
	ptr **time.Time
}

func (ts timeScanner) Scan(v any) error {
	if v == nil {
		if ts.ptr != nil {
			*ts.ptr = nil
		}
		return nil
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return fmt.Errorf("store: time column holds %T", v)
	}
	t, err := parseTS(s)
	if err != nil {
		return err
	}
	if ts.ptr != nil {
		*ts.ptr = &t
	} else {
		*ts.t = t
	}
	return nil
}

func scanTime(t *time.Time) timeScanner     { return timeScanner{t: t} }
func scanTimePtr(p **time.Time) timeScanner { return timeScanner{ptr: p} }

// notFound maps sql.ErrNoRows to ENOTFOUND.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return followup.Errorf(followup.ENOTFOUND, "", "%s not found.", what)
	}
	return err
}

// isUnique reports a UNIQUE constraint violation.
func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// Package store keeps the service's state in SQL: SQLite through the pure-Go
// modernc.org/sqlite driver by default, or PostgreSQL through pgx (a
// postgres:// URL). Both run the same queries, through database/sql; what
// differs is in dialect.go, postgres.go and the two sets of migrations. It
// implements followup.Store and holds the durable job queue (River), whose
// jobs commit in the same transaction as the domain change that caused
// them.
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
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/followup/followup"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationsFS embed.FS

// tsFormat is how times are stored: UTC, fixed width, so that text order
// is time order.
const tsFormat = "2006-01-02T15:04:05.000000Z"

// DB is the database. It implements followup.Store.
type DB struct {
	*queries  // the Queries on the pool, outside any transaction
	db        *sql.DB
	dialect   dialect
	pool      *pgxpool.Pool // PostgreSQL only: the job queue's workers
	path      string        // SQLite only: the file
	name      string        // the file, or the URL without its password
	queue     *queue
	log       *slog.Logger
	now       func() time.Time
	stmts     sync.Map // query text -> *sql.Stmt, prepared once
	overrides sync.Map // habit series UID -> decodedOverrides, the last read
	txMu      sync.Mutex
	txQueue   []*txRequest // transactions waiting for the commit loop
	txLeading bool         // a commit loop is running
	// writer is the connection the commit loop runs its groups on (SQLite),
	// kept for it alone: a connection's page cache holds until another
	// connection writes, so the one that does all the writing finds the
	// pages of the last group still cached, where a pooled connection
	// would read them again after every other group's commit. Only the
	// running commit loop touches it.
	writer *sql.Conn
	// savepointGroups counts the groups that ran again with a savepoint
	// for each transaction, one having failed (runGroup).
	savepointGroups atomic.Int64
	ckpt            checkpointer // SQLite: the WAL's checkpoints, off the commit loop
}

// Options configure Open.
type Options struct {
	Logger *slog.Logger
	// Queue configures the job queue's workers.
	Queue QueueOptions
	// Now is the clock (default time.Now).
	Now func() time.Time
	// tracer, when set, sees every statement the store's pool sends to
	// PostgreSQL (for tests that count round trips).
	tracer pgx.QueryTracer
}

// Open opens the database named by dsn ("sqlite:PATH", a bare path, or a
// postgres:// or postgresql:// URL) and prepares its job queue. It does not
// migrate; call Migrate. A PostgreSQL server must answer within
// connectTimeout.
func Open(dsn string, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &DB{log: o.Logger, now: o.Now}
	var err error
	if isPostgresDSN(dsn) {
		err = s.openPostgres(dsn, o.tracer)
	} else {
		err = s.openSQLite(dsn)
	}
	if err != nil {
		return nil, err
	}
	s.queries = &queries{db: s, ex: stmts{db: s.db, dialect: s.dialect, cache: &s.stmts}}
	q, err := newQueue(s, o.Queue, o.Logger)
	if err != nil {
		s.closePools()
		return nil, err
	}
	s.queue = q
	return s, nil
}

// openSQLite opens the SQLite file of dsn, creating it readable by the
// owner only.
func (s *DB) openSQLite(dsn string) error {
	path, err := sqlitePath(dsn)
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("store: create %s: %w", dir, err)
		}
	}
	// The database holds sealed secrets and token hashes: readable by the
	// owner only. SQLite gives its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	f.Close()
	// Pragmas go in the DSN so that every pooled connection gets them.
	// _txlock=immediate makes BEGIN take the write lock at once, so that two
	// writers wait on busy_timeout instead of failing to upgrade a read lock.
	// journal_size_limit cuts the WAL file back to 64 MiB when it starts
	// over after a burst that took it further.
	conn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(2)" +
		"&_pragma=journal_size_limit(67108864)&_txlock=immediate"
	db, err := sql.Open("sqlite", conn)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	// Eight for reads and the queue, and the commit loop's own (writer).
	db.SetMaxOpenConns(9)
	db.SetMaxIdleConns(9)
	db.SetConnMaxIdleTime(0)
	s.db, s.path, s.name, s.dialect = db, path, path, sqliteDialect
	return nil
}

// sqlitePath extracts the file path from a FOLLOWUP_DATABASE value.
func sqlitePath(dsn string) (string, error) {
	if strings.HasPrefix(dsn, "sqlite:") {
		dsn = strings.TrimPrefix(dsn, "sqlite:")
		dsn = strings.TrimPrefix(dsn, "//")
	}
	if dsn == "" || strings.ContainsAny(dsn, "?#\x00") {
		return "", followup.Errorf(followup.EINVALID, "database", "Database %q is not sqlite:PATH.", dsn)
	}
	return dsn, nil
}

// Path returns the database file's path ("" on PostgreSQL).
func (s *DB) Path() string { return s.path }

// Name names the database for people: the SQLite file, or the PostgreSQL
// URL with its password masked.
func (s *DB) Name() string { return s.name }

// Dialect names the database: "sqlite" or "postgres".
func (s *DB) Dialect() string { return s.dialect.String() }

// SQL returns the underlying pool, for tests and benchmarks. Queries on it
// are in the dialect's own SQL: see Rebind.
func (s *DB) SQL() *sql.DB { return s.db }

// Rebind rewrites a query written with ? placeholders for the dialect, for
// tests and tools that use SQL directly.
func (s *DB) Rebind(query string) string { return s.dialect.rebind(query) }

// Close closes the database.
func (s *DB) Close() error {
	s.stopCheckpoints()
	s.txMu.Lock()
	if s.writer != nil {
		s.writer.Close()
		s.writer = nil
	}
	s.txMu.Unlock()
	s.stmts.Range(func(_, v any) bool {
		if st, ok := v.(*sql.Stmt); ok {
			st.Close()
		}
		return true
	})
	return s.closePools()
}

// closePools closes the connection pools.
func (s *DB) closePools() error {
	err := s.db.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// Migrate applies the service's migrations (goose, embedded, one set per
// dialect) and the job queue's own (River's migrator).
func (s *DB) Migrate(ctx context.Context) error {
	if s.dialect == postgresDialect {
		return s.migratePostgres(ctx)
	}
	fsys, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return err
	}
	if err := s.gooseUp(ctx, goose.DialectSQLite3, fsys); err != nil {
		return err
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

// gooseUp applies the migrations in fsys.
func (s *DB) gooseUp(ctx context.Context, d goose.Dialect, fsys fs.FS) error {
	p, err := goose.NewProvider(d, s.db, fsys)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
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
	// plans are the plan versions this transaction left, by user, known
	// from its own writes of them (see PlanVersion).
	plans map[int64]int64
}

// stmts runs every query through a statement prepared once per pooled
// connection: SQLite spends much of a short query parsing it.
//
// On PostgreSQL the query text is rewritten for the dialect once, and cached
// in its place; pgx prepares and caches the statement per connection by
// itself. (Preparing on the pool from inside a transaction, as database/sql's
// *sql.Stmt does, would take a second connection per transaction: with many
// transactions at once, the pool runs dry.)
//
// The cache is keyed by the query as written, with ? placeholders.
type stmts struct {
	db      *sql.DB
	tx      *sql.Tx // nil outside a transaction
	dialect dialect
	cache   *sync.Map
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

// ex returns what runs the query outside a prepared statement: the
// transaction, or the pool.
func (s stmts) ex() execer {
	if s.tx != nil {
		return s.tx
	}
	return s.db
}

// rebound returns the query in PostgreSQL's placeholders, rewritten once.
func (s stmts) rebound(query string) string {
	if v, ok := s.cache.Load(query); ok {
		return v.(string)
	}
	q := s.dialect.rebind(query)
	s.cache.Store(query, q)
	return q
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
	if s.dialect == postgresDialect {
		return s.ex().ExecContext(ctx, s.rebound(query), s.dialect.args(args)...)
	}
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (s stmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = s.ctx(ctx)
	if s.dialect == postgresDialect {
		return s.ex().QueryContext(ctx, s.rebound(query), s.dialect.args(args)...)
	}
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s stmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = s.ctx(ctx)
	if s.dialect == postgresDialect {
		return s.ex().QueryRowContext(ctx, s.rebound(query), s.dialect.args(args)...)
	}
	st, err := s.stmt(ctx, query)
	if err != nil {
		// Let the error surface from Scan, as database/sql does.
		return s.ex().QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

var _ followup.Store = (*DB)(nil)

func (s *DB) q() *queries { return s.queries }

// InTx runs fn in a transaction, committing when it returns nil.
//
// SQLite has one writer at a time, and a commit costs more than most
// transactions' work, so transactions of this process are committed in
// groups: callers queue, and one goroutine runs every queued fn in a single
// SQLite transaction, each inside its own savepoint (a fn that fails is
// rolled back alone), then commits once for all. A caller waiting in the
// queue holds no pooled connection.
//
// On PostgreSQL, which has many writers, each InTx is its own transaction
// instead (inTxPostgres).
func (s *DB) InTx(ctx context.Context, fn func(q followup.Queries) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.dialect == postgresDialect {
		return s.inTxPostgres(ctx, fn)
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
//
// It runs them first as they are: a savepoint for each (two statements,
// and a copy of every page a transaction first writes, for its rollback)
// was 6 % of the commit loop's time under load, and is needed only when
// one fails. When one does, the group is rolled back and runs again with
// a savepoint each, so that the failing one is rolled back alone (fn may
// run more than once: followup.Store).
func (s *DB) runGroup(group []*txRequest) {
	results := make([]error, len(group))
	again, err := s.groupOnce(group, results, false)
	if again {
		s.savepointGroups.Add(1)
		_, err = s.groupOnce(group, results, true)
	}
	for i, r := range group {
		if results[i] == nil {
			results[i] = err
		}
		r.done <- results[i]
	}
}

// groupOnce runs the group in one transaction, each fn's error in
// results, and returns the error that fails them all (begin, savepoint,
// commit). Without savepoints, a failing fn rolls the transaction back and
// again is true (unless the group is that fn alone, whose error is all
// there is).
func (s *DB) groupOnce(group []*txRequest, results []error, savepoints bool) (again bool, err error) {
	clear(results)
	tx, err := s.beginGroup()
	if err != nil {
		return false, fmt.Errorf("store: begin: %w", err)
	}
	ex := stmts{db: s.db, tx: tx, dialect: s.dialect, cache: &s.stmts}
	// The savepoints too run as statements kept prepared.
	bg := context.Background()
	exec := func(stmt string) error {
		if _, err := ex.ExecContext(bg, stmt); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: %s: %w", strings.ToLower(stmt), err)
		}
		return nil
	}
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if savepoints {
			if err := exec(`SAVEPOINT grouped`); err != nil {
				return false, err
			}
		}
		results[i] = call(r.fn, &queries{db: s, ex: ex, tx: tx})
		switch {
		case results[i] == nil && !savepoints:
		case results[i] == nil:
			if err := exec(`RELEASE grouped`); err != nil {
				return false, err
			}
		case !savepoints:
			tx.Rollback()
			return len(group) > 1, nil
		default:
			if err := exec(`ROLLBACK TO grouped`); err != nil {
				return false, err
			}
			if err := exec(`RELEASE grouped`); err != nil {
				return false, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: commit: %w", err)
	}
	return false, nil
}

// beginGroup begins a group's transaction on the writer connection,
// taking a new one from the pool when there is none or it went bad. The
// transaction outlives any one caller's context.
func (s *DB) beginGroup() (*sql.Tx, error) {
	ctx := context.Background()
	s.txMu.Lock() // against Close
	w := s.writer
	s.txMu.Unlock()
	if w != nil {
		s.tail(ctx, w)
		tx, err := w.BeginTx(ctx, nil)
		if err == nil {
			return tx, nil
		}
		w.Close()
		s.setWriter(nil)
	}
	w, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// Its commits do not copy the WAL back into the database file: the
	// checkpoints run beside it (checkpointLoop).
	if _, err := w.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		w.Close()
		return nil, err
	}
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		w.Close()
		return nil, err
	}
	s.setWriter(w)
	s.startCheckpoints()
	return tx, nil
}

// setWriter keeps w as the commit loop's connection.
func (s *DB) setWriter(w *sql.Conn) {
	s.txMu.Lock()
	s.writer = w
	s.txMu.Unlock()
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

// ts formats a time for storage, as t.UTC().Format(tsFormat) does: a
// create formats a dozen times inside the single writer, where
// time.Format's generality cost about 3 % of its time.
func ts(t time.Time) string {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format(tsFormat)
	}
	h, mi, sec := t.Clock()
	var b [len(tsFormat)]byte
	digits := func(at, n, v int) {
		for i := at + n - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	digits(0, 4, y)
	b[4] = '-'
	digits(5, 2, int(mo))
	b[7] = '-'
	digits(8, 2, d)
	b[10] = 'T'
	digits(11, 2, h)
	b[13] = ':'
	digits(14, 2, mi)
	b[16] = ':'
	digits(17, 2, sec)
	b[19] = '.'
	digits(20, 6, t.Nanosecond()/1000)
	b[26] = 'Z'
	return string(b[:])
}

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

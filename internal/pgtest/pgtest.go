// Package pgtest starts a real PostgreSQL server for tests: the Debian
// package's binaries (/usr/lib/postgresql/*/bin), a cluster initialised in
// a temporary directory, listening on 127.0.0.1 on a free port, with its
// unix socket in that directory. One server serves a whole test binary: it
// starts on first use and stops in Run (the package's TestMain), and the
// kernel kills it if the test binary dies first. Each test gets a fresh
// database, copied from a template database that is set up (migrated) once.
//
// When root runs the tests, as CI does, the server runs as the postgres
// system user, since initdb and postgres refuse to run as root.
//
// Without PostgreSQL installed the tests that need it are skipped with a
// message, unless FOLLOWUP_REQUIRE_SERVERS=1 is set, which makes it a
// failure (CI installs the package and sets it).
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/followup/followup/internal/testenv"
)

// startTimeout bounds how long the server may take to answer.
const startTimeout = 60 * time.Second

// Server is a running PostgreSQL server.
type Server struct {
	dir     string // the temporary directory: data, socket, log
	port    int
	cmd     *exec.Cmd
	done    chan struct{} // closed when the server process has exited
	log     testenv.SyncBuffer
	admin   *sql.DB // connected to the postgres database as superuser
	version int     // server_version_num, e.g. 150014

	mu        sync.Mutex
	templates map[string]error    // template database name -> its setup's outcome
	kept      map[string][]string // template -> its tables that hold rows
	free      map[string][]string // template -> emptied copies for the next tests
}

var (
	startOnce sync.Once
	shared    *Server
	startErr  error
	missing   string // why PostgreSQL cannot run here, "" when it can
	dbCounter atomic.Int64
)

// BinDir returns the directory of the newest installed PostgreSQL's
// programs, "" when none is installed.
func BinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	return ""
}

// Available reports whether PostgreSQL is installed.
func Available() bool { return BinDir() != "" }

// Run runs the package's tests (m.Run) and stops the server if one was
// started. Call it from TestMain: os.Exit(pgtest.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the shared server and removes its directory. Safe to call
// when none was started.
func Stop() {
	if shared != nil {
		shared.stop()
	}
}

// server returns the shared server, starting it on first use. It skips
// (or fails, see testenv.Missing) tb when PostgreSQL is not installed.
func server(tb testing.TB) *Server {
	tb.Helper()
	startOnce.Do(func() {
		bin := BinDir()
		if bin == "" {
			missing = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; apt-get install postgresql)"
			return
		}
		shared, startErr = start(bin)
	})
	if missing != "" {
		testenv.Missing(tb, "pgtest: %s", missing)
	}
	if startErr != nil {
		tb.Fatalf("pgtest: %v", startErr)
	}
	return shared
}

// start initialises a cluster in a new temporary directory and starts
// the server on it.
func start(bin string) (*Server, error) {
	removeStale()
	dir, err := os.MkdirTemp("", fmt.Sprintf("followup-pgtest-%d-", os.Getpid()))
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, done: make(chan struct{}), templates: map[string]error{}, kept: map[string][]string{}, free: map[string][]string{}}
	cred, err := runAs(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if s.port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dir,
		// A test server: durability buys nothing, speed does.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=32MB", "-c", "max_locks_per_transaction=256",
		"-c", "max_pred_locks_per_transaction=256")
	// The server dies with the test binary, whatever ends it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// removeStale removes the directories of servers whose test binary is gone
// (killed, or timed out: the kernel killed its server, the directory
// stayed). Each directory's name holds its test binary's pid.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "followup-pgtest-*-*"))
	for _, dir := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(dir), "followup-pgtest-%d-", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}

// runAs returns the credentials to run PostgreSQL's programs with: none
// when we are not root, else the postgres system user's, who is then given
// dir.
func runAs(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres system user to run PostgreSQL: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady waits until the server accepts queries.
func (s *Server) waitReady() error {
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			s.admin = db
			return db.QueryRow(`SELECT current_setting('server_version_num')::int`).Scan(&s.version)
		}
		select {
		case <-s.done:
			db.Close()
			return fmt.Errorf("postgres exited: %s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			db.Close()
			return fmt.Errorf("postgres did not answer within %s: %v\n%s", startTimeout, err, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the server down (fast shutdown) and removes its directory.
func (s *Server) stop() {
	if s.admin != nil {
		s.admin.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	os.RemoveAll(s.dir)
}

// DSN is the URL of database name on the server, as the superuser.
func (s *Server) DSN(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, name)
}

// Log returns what the server has logged so far.
func (s *Server) Log() string { return s.log.String() }

// nameChars are what a database name made from a test's name keeps.
var nameChars = regexp.MustCompile(`[^a-z0-9]+`)

// Database creates a fresh, empty database for the test, dropped when the
// test ends, and returns its URL.
func Database(tb testing.TB) string {
	tb.Helper()
	return DatabaseFrom(tb, "")
}

// DatabaseFrom creates a fresh database for the test as a copy of the
// template database (see Template; "" for an empty one), dropped when the
// test ends, and returns its URL.
//
// A copy of a template is not dropped but emptied when the test ends, and
// the next test of that template gets it: creating a database costs
// hundreds of milliseconds on a loaded machine, emptying one a few. Emptied
// means every table that was empty in the template is emptied again, its
// sequences restarted; tables that had rows there (the migrations'
// records) must stay as they were.
func DatabaseFrom(tb testing.TB, template string) string {
	tb.Helper()
	s := server(tb)
	if template != "" {
		if name, ok := s.takeFree(template); ok {
			tb.Cleanup(func() { s.recycle(tb, template, name) })
			return s.DSN(name)
		}
	}
	name := nameChars.ReplaceAllString(strings.ToLower(tb.Name()), "_")
	name = fmt.Sprintf("t%d_%s", dbCounter.Add(1), name)
	if len(name) > 60 {
		name = name[:60]
	}
	stmt := `CREATE DATABASE ` + quote(name)
	if template != "" {
		stmt += ` TEMPLATE ` + quote(template)
	}
	if s.version >= 150000 {
		// Copying the files took a sixth of the time of WAL_LOG,
		// PostgreSQL 15's default, which writes every page to the WAL:
		// 175 ms against 1.2 s for a template of 40 tables.
		stmt += ` STRATEGY FILE_COPY`
	}
	if _, err := s.admin.Exec(stmt); err != nil {
		tb.Fatalf("pgtest: %s: %v", stmt, err)
	}
	tb.Cleanup(func() {
		if template != "" {
			s.recycle(tb, template, name)
			return
		}
		s.drop(tb, name)
	})
	return s.DSN(name)
}

// takeFree returns an emptied copy of template, if one waits.
func (s *Server) takeFree(template string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	free := s.free[template]
	if len(free) == 0 {
		return "", false
	}
	name := free[len(free)-1]
	s.free[template] = free[:len(free)-1]
	return name, true
}

// recycle empties a copy of template for the next test, or drops it when
// that fails.
func (s *Server) recycle(tb testing.TB, template, name string) {
	s.mu.Lock()
	kept := s.kept[template]
	s.mu.Unlock()
	if err := s.empty(name, kept); err != nil {
		tb.Logf("pgtest: empty database %s (dropped instead): %v", name, err)
		s.drop(tb, name)
		return
	}
	s.mu.Lock()
	s.free[template] = append(s.free[template], name)
	s.mu.Unlock()
}

// empty ends the sessions a test left on database name, deletes the rows
// of its tables but those in kept, and restarts its sequences. DELETE, not
// TRUNCATE: on tables this small it is many times faster (TRUNCATE makes
// new files for each table); the foreign keys' triggers are off meanwhile,
// so the order does not matter.
func (s *Server) empty(name string, kept []string) error {
	if _, err := s.admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
		return err
	}
	db, err := sql.Open("pgx", s.DSN(name))
	if err != nil {
		return err
	}
	defer db.Close()
	tables, err := publicTables(db)
	if err != nil {
		return err
	}
	stmts := []string{`SET lock_timeout = '10s'`, `SET session_replication_role = replica`}
	for _, t := range tables {
		if !slices.Contains(kept, t) {
			stmts = append(stmts, `DELETE FROM `+quote(t))
		}
	}
	// Every sequence of a table that is emptied starts again at 1.
	stmts = append(stmts, `SELECT setval(format('%I.%I', s.schemaname, s.sequencename), 1, false)
		FROM pg_sequences s JOIN pg_depend d ON d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass
		JOIN pg_class c ON c.oid = d.refobjid
		WHERE s.schemaname = 'public' AND NOT c.relname = ANY ('{`+strings.Join(kept, ",")+`}'::text[])`)
	_, err = db.Exec(strings.Join(stmts, "; "))
	return err
}

// drop drops database name, ending its sessions.
func (s *Server) drop(tb testing.TB, name string) {
	if _, err := s.admin.Exec(`DROP DATABASE ` + quote(name) + ` WITH (FORCE)`); err != nil {
		tb.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// publicTables lists the tables of db's public schema.
func publicTables(db *sql.DB) ([]string, error) {
	rows, err := db.Query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	return tables, rows.Err()
}

// tablesWithRows lists the tables of database name's public schema that
// hold a row.
func (s *Server) tablesWithRows(name string) ([]string, error) {
	db, err := sql.Open("pgx", s.DSN(name))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tables, err := publicTables(db)
	if err != nil {
		return nil, err
	}
	var full []string
	for _, t := range tables {
		var any bool
		if err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM ` + quote(t) + `)`).Scan(&any); err != nil {
			return nil, err
		}
		if any {
			full = append(full, t)
		}
	}
	return full, nil
}

// Template makes the template database name once per test binary, by
// running setup on a new database of that name (e.g. to migrate it), and
// returns name for DatabaseFrom. setup must close its connections.
func Template(tb testing.TB, name string, setup func(dsn string) error) string {
	tb.Helper()
	s := server(tb)
	s.mu.Lock()
	defer s.mu.Unlock()
	err, done := s.templates[name]
	if !done {
		err = s.makeTemplate(name, setup)
		s.templates[name] = err
	}
	if err != nil {
		tb.Fatalf("pgtest: template %s: %v", name, err)
	}
	return name
}

func (s *Server) makeTemplate(name string, setup func(dsn string) error) error {
	if _, err := s.admin.Exec(`CREATE DATABASE ` + quote(name)); err != nil {
		return err
	}
	if err := setup(s.DSN(name)); err != nil {
		return err
	}
	kept, err := s.tablesWithRows(name)
	if err != nil {
		return err
	}
	s.kept[name] = kept
	// A template must have no other sessions while it is copied; setup's
	// may linger a moment after it closed them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := s.admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("setup left sessions open")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = s.admin.Exec(`ALTER DATABASE ` + quote(name) + ` WITH IS_TEMPLATE true`)
	return err
}

// quote quotes an identifier.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// Dialects runs the package's tests once per database: on SQLite, then on
// PostgreSQL, setting *dialect to "sqlite" or "postgres" before each run
// (the package's helpers open their databases by it), and stops the server.
// Call it from TestMain: os.Exit(pgtest.Dialects(m, &dialect)).
//
// The PostgreSQL run is left out, with a message, when PostgreSQL is not
// installed, unless FOLLOWUP_REQUIRE_SERVERS=1 (its tests then fail), and
// with -short. FOLLOWUP_TEST_DIALECT=sqlite or =postgres runs one only.
func Dialects(m *testing.M, dialect *string) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	only := os.Getenv("FOLLOWUP_TEST_DIALECT")
	code := 0
	for _, d := range []string{"sqlite", "postgres"} {
		if only != "" && only != d {
			continue
		}
		if d == "postgres" && !Available() && os.Getenv("FOLLOWUP_REQUIRE_SERVERS") != "1" {
			fmt.Println("pgtest: PostgreSQL is not installed: the suite ran on SQLite only")
			continue
		}
		if d == "postgres" && testing.Short() && only == "" {
			continue // -short: the suite once, on SQLite
		}
		*dialect = d
		if testing.Verbose() {
			fmt.Printf("pgtest: the suite on %s\n", d)
		}
		if c := m.Run(); c != 0 {
			fmt.Printf("pgtest: the suite FAILED on %s\n", d)
			code = c
		}
	}
	Stop()
	return code
}

// DSN names a fresh database for a test on dialect ("sqlite" or
// "postgres", as Dialects sets it): a SQLite file in the test's temp dir,
// or a PostgreSQL database copied from the template database template,
// made once by setup. It logs the dialect, so that a failure says which
// run of the suite it is from.
func DSN(tb testing.TB, dialect, template string, setup func(dsn string) error) string {
	tb.Helper()
	tb.Logf("on %s", dialect)
	if dialect == "postgres" {
		return DatabaseFrom(tb, Template(tb, template, setup))
	}
	return "sqlite:" + filepath.Join(tb.TempDir(), "followup.db")
}

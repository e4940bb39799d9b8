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
	dir   string // the temporary directory: data, socket, log
	port  int
	cmd   *exec.Cmd
	done  chan struct{} // closed when the server process has exited
	log   testenv.SyncBuffer
	admin *sql.DB // connected to the postgres database as superuser

	mu        sync.Mutex
	templates map[string]error // template database name -> its setup's outcome
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
	s := &Server{dir: dir, done: make(chan struct{}), templates: map[string]error{}}
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
			return nil
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
func DatabaseFrom(tb testing.TB, template string) string {
	tb.Helper()
	s := server(tb)
	name := nameChars.ReplaceAllString(strings.ToLower(tb.Name()), "_")
	name = fmt.Sprintf("t%d_%s", dbCounter.Add(1), name)
	if len(name) > 60 {
		name = name[:60]
	}
	stmt := `CREATE DATABASE ` + quote(name)
	if template != "" {
		stmt += ` TEMPLATE ` + quote(template)
	}
	if _, err := s.admin.Exec(stmt); err != nil {
		tb.Fatalf("pgtest: %s: %v", stmt, err)
	}
	tb.Cleanup(func() {
		if _, err := s.admin.Exec(`DROP DATABASE ` + quote(name) + ` WITH (FORCE)`); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.DSN(name)
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
	_, err := s.admin.Exec(`ALTER DATABASE ` + quote(name) + ` WITH IS_TEMPLATE true`)
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

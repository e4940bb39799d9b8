// Command followup runs the followup service and its administration
// commands: flags and environment -> Config -> Validate -> wire -> run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // zones load in a scratch image

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
	"github.com/followup/followup/duetext"
	"github.com/followup/followup/ics"
	"github.com/followup/followup/netguard"
	"github.com/followup/followup/secret"
	"github.com/followup/followup/service"
	"github.com/followup/followup/store"
	"github.com/followup/followup/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "followup:", err)
			os.Exit(1)
		}
	}
}

// run parses a command line and runs it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cmd := "serve"
	args = commandFirst(args)
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
		if (cmd == "user" || cmd == "token" || cmd == "caldav") && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			cmd, args = cmd+" "+args[0], args[1:]
		}
	}
	fs := flag.NewFlagSet("followup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := configFlags(fs, getenv)
	email := fs.String("email", "", "the user's email (user add, token create, caldav, sync)")
	password := fs.String("password", "", "password (user add; caldav connect)")
	timezone := fs.String("timezone", "UTC", "IANA time zone, e.g. Europe/Berlin (user add)")
	name := fs.String("name", "cli", "a label for the token (token create)")
	calURL := fs.String("url", "", "CalDAV server URL or host (caldav connect)")
	username := fs.String("username", "", "CalDAV username (caldav connect)")
	calendar := fs.String("calendar", "", "calendar to write blocks to (caldav connect; default Follow-ups)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, fs)
			return err
		}
		usage(stderr, fs)
		return err
	}
	if cmd == "help" {
		usage(stdout, fs)
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see followup --help)", fs.Arg(0))
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	m := NewMain(cfg, stdout, stderr)
	switch cmd {
	case "serve":
		return m.Run(ctx)
	case "migrate", "user add", "token create", "caldav connect", "caldav show", "sync":
	default:
		return fmt.Errorf("unknown command %q (see followup --help)", cmd)
	}
	if err := m.Open(ctx); err != nil {
		return err
	}
	defer m.Close()
	need := func(v, flag string) error {
		if v == "" {
			return fmt.Errorf("%s needs --%s", cmd, flag)
		}
		return nil
	}
	userID := func() (int64, error) {
		if err := need(*email, "email"); err != nil {
			return 0, err
		}
		u, err := m.DB.UserByEmail(ctx, *email)
		if err != nil {
			return 0, errors.New(followup.ErrorMessage(err))
		}
		return u.ID, nil
	}
	switch cmd {
	case "migrate":
		fmt.Fprintln(stdout, "database is up to date")
	case "user add":
		if err := errors.Join(need(*email, "email"), need(*password, "password")); err != nil {
			return err
		}
		u, err := m.Service.CreateUser(ctx, *email, *password, *timezone)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "created user %s (id %d)\n", u.Email, u.ID)
	case "token create":
		if err := need(*email, "email"); err != nil {
			return err
		}
		token, err := m.Service.CreateToken(ctx, *email, *name)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintln(stdout, token)
	case "caldav connect":
		id, err := userID()
		if err != nil {
			return err
		}
		conn, err := m.Service.ConnectCalDAV(ctx, id, followup.CalDAVInput{URL: *calURL, Username: *username, Password: *password, Calendar: *calendar})
		if err != nil {
			return cliError(err)
		}
		return printJSON(stdout, conn)
	case "caldav show":
		id, err := userID()
		if err != nil {
			return err
		}
		conn, err := m.Service.CalDAV(ctx, id)
		if err != nil {
			return cliError(err)
		}
		return printJSON(stdout, conn)
	case "sync":
		id, err := userID()
		if err != nil {
			return err
		}
		rep, err := m.Service.Sync(ctx, id)
		if err != nil {
			return cliError(err)
		}
		return printJSON(stdout, rep)
	}
	return nil
}

// commands are the command words, with the words that may follow them.
var commands = map[string][]string{
	"serve": nil, "migrate": nil, "help": nil, "sync": nil,
	"user": {"add"}, "token": {"create"}, "caldav": {"connect", "show"},
}

// commandFirst moves a command given after flags (followup --addr X
// migrate) to the front, where run reads it. A flag's value that happens to
// be a command word stays where it is: only a word not preceded by a flag
// that takes a value moves.
func commandFirst(args []string) []string {
	if len(args) == 0 || !strings.HasPrefix(args[0], "-") {
		return args
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if !strings.Contains(a, "=") && !isBoolFlag(a) {
				i++ // skip the flag's value
			}
			continue
		}
		subs, ok := commands[a]
		if !ok {
			return args
		}
		n := 1
		if len(subs) > 0 && i+1 < len(args) {
			n = 2
		}
		out := append(append([]string{}, args[i:i+n]...), args[:i]...)
		return append(out, args[i+n:]...)
	}
	return args
}

// isBoolFlag reports a flag that takes no value: every setting takes one,
// only the flag package's own -h and -help do not.
func isBoolFlag(a string) bool {
	name := strings.TrimLeft(a, "-")
	return name == "help" || name == "h"
}

// cliError renders a domain error for a person at a terminal.
func cliError(err error) error {
	if f := followup.ErrorField(err); f != "" {
		return fmt.Errorf("%s: %s", f, followup.ErrorMessage(err))
	}
	if followup.ErrorCode(err) == followup.EINTERNAL {
		return err
	}
	return errors.New(followup.ErrorMessage(err))
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Main is the wired program: database, service and HTTP server.
type Main struct {
	Config  Config
	Stdout  io.Writer
	Log     *slog.Logger
	Now     func() time.Time
	DB      *store.DB
	Service *service.Service
	Server  *web.Server

	ln         net.Listener
	httpServer *http.Server
}

// NewMain returns a program for cfg.
func NewMain(cfg Config, stdout, stderr io.Writer) *Main {
	level, _ := parseLevel(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(stderr, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(stderr, opts)
	}
	return &Main{Config: cfg, Stdout: stdout, Log: slog.New(followup.LogHandler(h)), Now: time.Now}
}

// Open opens and migrates the database and wires the service.
func (m *Main) Open(ctx context.Context) error {
	db, err := store.Open(m.Config.Database, store.Options{
		Logger: m.Log, Now: m.Now,
		Queue: store.QueueOptions{SyncInterval: syncInterval(m.Config.SyncInterval), TickInterval: m.Config.TickInterval},
	})
	if err != nil {
		return errors.New("database (FOLLOWUP_DATABASE): " + followup.ErrorMessage(err))
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return err
	}
	m.DB = db
	key, err := secret.LoadOrCreateKey(m.Config.SecretFile)
	if err != nil {
		return fmt.Errorf("secret-file (FOLLOWUP_SECRET_FILE): %w", err)
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return fmt.Errorf("secret-file (FOLLOWUP_SECRET_FILE): %w", err)
	}
	client := caldav.New(netguard.NewClient(netguard.Options{AllowPrivate: m.Config.AllowPrivateHosts}))
	m.Service = &service.Service{
		Store: db, Now: m.Now, BaseURL: m.Config.BaseURL, Sealer: box, Encoder: ics.FeedEncoder{},
		Calendars: client, ICS: client, ParseDue: duetext.Parse, Log: m.Log,
	}
	// busy_ics addresses stored in clear by older versions: SQL cannot seal them.
	n, err := m.Service.SealStoredSecrets(ctx)
	if err != nil {
		return fmt.Errorf("sealing stored busy_ics addresses: %w", err)
	}
	if n > 0 {
		m.Log.InfoContext(ctx, "busy_ics addresses sealed", "connections", n)
	}
	return nil
}

// syncInterval maps the setting to the queue's option: 0 (off) is negative there.
func syncInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// Listen opens the listener, so that the address (":0" in tests) is known.
func (m *Main) Listen() error {
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("addr (FOLLOWUP_ADDR): %w", err)
	}
	m.ln = ln
	if m.Config.BaseURL == "" {
		m.Config.BaseURL = "http://" + ln.Addr().String()
		m.Service.BaseURL = m.Config.BaseURL
	}
	return nil
}

// URL returns the address the server answers on.
func (m *Main) URL() string { return "http://" + m.ln.Addr().String() }

// Run opens everything, serves until ctx ends, then shuts down gracefully.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Open(ctx); err != nil {
		return err
	}
	defer m.Close()
	if err := m.Listen(); err != nil {
		return err
	}
	return m.Serve(ctx)
}

// Serve starts the job queue and the HTTP server and blocks until ctx ends.
func (m *Main) Serve(ctx context.Context) error {
	if err := m.DB.StartQueue(ctx, m.Service); err != nil {
		return err
	}
	m.Server = web.New(m.Service, m.DB.Ping, m.Log)
	m.Server.Now = m.Now
	m.httpServer = &http.Server{
		Handler:           m.Server,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- m.httpServer.Serve(m.ln) }()
	fmt.Fprintf(m.Stdout, "followup is running: open %s\n", m.Config.BaseURL)
	if u, err := url.Parse(m.Config.BaseURL); err == nil {
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsUnspecified() {
			m.Log.Warn("feed links and blocks point at an address nobody can open; set FOLLOWUP_BASE_URL to the public URL", "base_url", m.Config.BaseURL)
		}
	}
	m.Log.Info("listening", "addr", m.ln.Addr().String(), "database", m.DB.Path())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	m.Log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := m.httpServer.Shutdown(shutCtx)
	if qerr := m.DB.StopQueue(shutCtx); qerr != nil && err == nil {
		err = qerr
	}
	return err
}

// Close closes the database.
func (m *Main) Close() error {
	if m.DB == nil {
		return nil
	}
	return m.DB.Close()
}

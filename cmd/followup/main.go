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
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // zones load in a scratch image

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
	"github.com/followup/followup/duetext"
	"github.com/followup/followup/ics"
	"github.com/followup/followup/metrics"
	"github.com/followup/followup/netguard"
	"github.com/followup/followup/secret"
	"github.com/followup/followup/service"
	"github.com/followup/followup/store"
	"github.com/followup/followup/vcard"
	"github.com/followup/followup/web"
)

// defaultMemoryLimit is the Go runtime's soft memory limit unless
// GOMEMLIMIT sets one: past it the garbage collector runs more often
// instead of letting the heap grow to twice what is live. It bounds the
// peaks of feeds rendered at once; the process's other memory (the binary,
// SQLite's caches) comes on top (docs/performance.md, "Memory").
const defaultMemoryLimit = 96 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], sys{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now}); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "followup:", err)
			os.Exit(1)
		}
	}
}

// sys is what a command line runs with: the process's streams, environment
// and clock (tests pass their own).
type sys struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
}

// run parses a command line and runs it.
func run(ctx context.Context, args []string, p sys) error {
	cmd := "serve"
	args = commandFirst(args)
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
		if len(commands[cmd]) > 0 && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			cmd, args = cmd+" "+args[0], args[1:]
		}
	}
	fs := flag.NewFlagSet("followup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := configFlags(fs, p.getenv)
	f := commandFlags(fs)
	err := fs.Parse(args)
	var words []string
	if err == nil && cmd == "add" {
		words, err = positional(fs)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(p.stdout, fs)
			return err
		}
		usage(p.stderr, fs)
		return err
	}
	if cmd == "help" {
		usage(p.stdout, fs)
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see followup --help)", fs.Arg(0))
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	m := NewMain(cfg, p.stdout, p.stderr)
	m.Now = p.now
	switch cmd {
	case "serve":
		return m.Run(ctx)
	case "migrate", "user add", "token create", "token list", "token revoke", "caldav connect", "caldav show", "sync", "key rotate", "add", "backup":
	default:
		return fmt.Errorf("unknown command %q (see followup --help)", cmd)
	}
	// Read a password before opening anything, so that a bad source changes nothing.
	var password string
	if cmd == "user add" || cmd == "caldav connect" {
		if password, err = readPassword(f, p); err != nil {
			return err
		}
	}
	if err := m.Open(ctx); err != nil {
		return err
	}
	defer m.Close()
	c := command{ctx: ctx, name: cmd, m: m, f: f, out: p.stdout, password: password, line: strings.Join(words, " ")}
	return c.run()
}

// flags are the flags of the administration commands.
type flags struct {
	email, password, passwordFile, timezone, name, url, username, calendar *string
	newSecretFile, vcard, to                                               *string
	passwordStdin                                                          *bool
	id                                                                     *int64
}

// commandFlags registers the administration commands' flags on fs.
func commandFlags(fs *flag.FlagSet) flags {
	return flags{
		email:         fs.String("email", "", "the user's email (user add, token, caldav, sync)"),
		password:      fs.String("password", "", "password (user add, caldav connect); visible to ps and kept in shell history: prefer --password-stdin, --password-file or $FOLLOWUP_PASSWORD"),
		passwordStdin: fs.Bool("password-stdin", false, "read the password from standard input (user add, caldav connect)"),
		passwordFile:  fs.String("password-file", "", "read the password from this file (user add, caldav connect)"),
		timezone:      fs.String("timezone", "UTC", "IANA time zone, e.g. Europe/Berlin (user add)"),
		name:          fs.String("name", "cli", "a label for the token (token create)"),
		id:            fs.Int64("id", 0, "the token's id, as token list shows it (token revoke)"),
		url:           fs.String("url", "", "CalDAV server URL or host (caldav connect)"),
		username:      fs.String("username", "", "CalDAV username (caldav connect)"),
		calendar:      fs.String("calendar", "", "calendar to write blocks to (caldav connect; default Follow-ups)"),
		newSecretFile: fs.String("new-secret-file", "", "where the new key is, or is to be created (key rotate)"),
		vcard:         fs.String("vcard", "", "a vCard file with the contact the line is about (add)"),
		to:            fs.String("to", "", "the file to write, which must not exist (backup)"),
	}
}

// maxPassword bounds a password read from stdin or a file.
const maxPassword = 4096

// readPassword takes the password from the one source given: --password
// (with a warning, as ps and shell history show it), --password-stdin,
// --password-file, else $FOLLOWUP_PASSWORD. One trailing newline of stdin
// or a file is not part of it.
func readPassword(f flags, p sys) (string, error) {
	given := 0
	for _, set := range []bool{*f.password != "", *f.passwordStdin, *f.passwordFile != ""} {
		if set {
			given++
		}
	}
	if given > 1 {
		return "", errors.New("give the password one way: --password, --password-stdin or --password-file")
	}
	switch {
	case *f.password != "":
		fmt.Fprintln(p.stderr, "followup: warning: --password is visible to other users (ps) and kept in shell history; prefer --password-stdin, --password-file or FOLLOWUP_PASSWORD")
		return *f.password, nil
	case *f.passwordStdin:
		return readSecret(p.stdin, "password-stdin", "standard input")
	case *f.passwordFile != "":
		file, err := os.Open(*f.passwordFile)
		if err != nil {
			return "", fmt.Errorf("password-file: %w", err)
		}
		defer file.Close()
		return readSecret(file, "password-file", *f.passwordFile)
	}
	return p.getenv("FOLLOWUP_PASSWORD"), nil
}

// readSecret reads a password of at most maxPassword bytes from r, without
// one trailing newline (LF or CRLF).
func readSecret(r io.Reader, flagName, what string) (string, error) {
	if r == nil {
		return "", fmt.Errorf("%s: no %s", flagName, what)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxPassword+2))
	if err != nil {
		return "", fmt.Errorf("%s: reading %s: %w", flagName, what, err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if len(s) > maxPassword {
		return "", fmt.Errorf("%s: %s holds more than %d bytes", flagName, what, maxPassword)
	}
	if s == "" {
		return "", fmt.Errorf("%s: %s is empty", flagName, what)
	}
	return s, nil
}

// command is one administration command on an opened program.
type command struct {
	ctx      context.Context
	name     string
	m        *Main
	f        flags
	out      io.Writer
	password string
	// line is the text of add.
	line string
}

// run runs the command.
func (c command) run() error {
	switch c.name {
	case "migrate":
		fmt.Fprintln(c.out, "database is up to date")
		return nil
	case "user add":
		return c.userAdd()
	case "token create":
		return c.tokenCreate()
	case "token list":
		return c.tokenList()
	case "token revoke":
		return c.tokenRevoke()
	case "caldav connect":
		return c.caldavConnect()
	case "caldav show":
		return c.caldavShow()
	case "key rotate":
		return c.keyRotate()
	case "add":
		return c.add()
	case "backup":
		return c.backup()
	}
	return c.sync()
}

// need fails when a required flag is empty.
func (c command) need(v, flag string) error {
	if v == "" {
		return fmt.Errorf("%s needs --%s", c.name, flag)
	}
	return nil
}

// userID finds the user that --email names.
func (c command) userID() (int64, error) {
	if err := c.need(*c.f.email, "email"); err != nil {
		return 0, err
	}
	u, err := c.m.DB.UserByEmail(c.ctx, *c.f.email)
	if err != nil {
		return 0, errors.New(followup.ErrorMessage(err))
	}
	return u.ID, nil
}

func (c command) userAdd() error {
	if err := errors.Join(c.need(*c.f.email, "email"), c.need(c.password, "password (or --password-stdin, --password-file, FOLLOWUP_PASSWORD)")); err != nil {
		return err
	}
	u, err := c.m.Service.CreateUser(c.ctx, *c.f.email, c.password, *c.f.timezone)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(c.out, "created user %s (id %d)\n", u.Email, u.ID)
	return nil
}

func (c command) tokenCreate() error {
	if err := c.need(*c.f.email, "email"); err != nil {
		return err
	}
	token, err := c.m.Service.CreateToken(c.ctx, *c.f.email, *c.f.name)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintln(c.out, token)
	return nil
}

// tokenList prints the user's tokens, one a line: id, created, last used, name.
func (c command) tokenList() error {
	id, err := c.userID()
	if err != nil {
		return err
	}
	tokens, err := c.m.Service.APITokens(c.ctx, id)
	if err != nil {
		return cliError(err)
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tCREATED\tLAST USED\tNAME")
	for _, t := range tokens {
		used := "never"
		if t.LastUsedAt != nil {
			used = t.LastUsedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", t.ID, t.CreatedAt.UTC().Format(time.RFC3339), used, t.Name)
	}
	return w.Flush()
}

func (c command) tokenRevoke() error {
	id, err := c.userID()
	if err != nil {
		return err
	}
	if *c.f.id <= 0 {
		return fmt.Errorf("%s needs --id (see followup token list)", c.name)
	}
	if err := c.m.Service.RevokeAPIToken(c.ctx, id, *c.f.id); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(c.out, "revoked token %d of %s\n", *c.f.id, *c.f.email)
	return nil
}

func (c command) caldavConnect() error {
	id, err := c.userID()
	if err != nil {
		return err
	}
	in := followup.CalDAVInput{URL: *c.f.url, Username: *c.f.username, Password: c.password, Calendar: *c.f.calendar}
	conn, err := c.m.Service.ConnectCalDAV(c.ctx, id, in)
	if err != nil {
		return cliError(err)
	}
	return printJSON(c.out, conn)
}

func (c command) caldavShow() error {
	id, err := c.userID()
	if err != nil {
		return err
	}
	conn, err := c.m.Service.CalDAV(c.ctx, id)
	if err != nil {
		return cliError(err)
	}
	return printJSON(c.out, conn)
}

// keyRotate re-seals every secret in the database with the key in
// --new-secret-file, creating that file first when it does not exist, so
// that the new key is on disk before the database changes. The database
// changes in one transaction; the old key file is left as it is.
func (c command) keyRotate() error {
	path := *c.f.newSecretFile
	if err := c.need(path, "new-secret-file"); err != nil {
		return err
	}
	if filepath.Clean(path) == filepath.Clean(c.m.Config.SecretFile) {
		return errors.New("key rotate: --new-secret-file must name another file than FOLLOWUP_SECRET_FILE")
	}
	key, err := secret.ReadKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = secret.CreateKey(path)
	}
	if err != nil {
		return fmt.Errorf("new-secret-file: %w", err)
	}
	next, err := secret.NewBox(key)
	if err != nil {
		return fmt.Errorf("new-secret-file: %w", err)
	}
	from, to := secret.KeyID(c.m.key), secret.KeyID(key)
	if from == to {
		return fmt.Errorf("key rotate: %s holds the key in use (%s)", path, from)
	}
	n, err := c.m.DB.RotateKey(c.ctx, from, to, func(sealed string) (string, error) {
		plain, err := c.m.Sealer.Open(sealed)
		if err != nil {
			return "", err
		}
		return next.Seal(plain)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "re-sealed %d secrets with key %s from %s; set FOLLOWUP_SECRET_FILE=%s (or move it to %s) before the next start, and back it up\n",
		n, to, path, path, c.m.Config.SecretFile)
	return nil
}

func (c command) sync() error {
	id, err := c.userID()
	if err != nil {
		return err
	}
	rep, err := c.m.Service.Sync(c.ctx, id)
	if err != nil {
		return cliError(err)
	}
	return printJSON(c.out, rep)
}

// backup copies the database, while the service runs, to --to.
func (c command) backup() error {
	if err := c.need(*c.f.to, "to"); err != nil {
		return err
	}
	if err := c.m.DB.Backup(c.ctx, *c.f.to); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "backed up %s to %s; back up the key (%s) too, and keep it apart\n", c.m.DB.Name(), *c.f.to, c.m.Config.SecretFile)
	return nil
}

// add logs the command's line as a commitment (quickAdd).
func (c command) add() error {
	id, err := c.userID()
	if err != nil {
		return err
	}
	return quickAdd(c.ctx, c.m.Service, id, c.line, *c.f.vcard, c.out)
}

// positional collects the words of a command's line from among its flags,
// so that `add "…" --email E` works as `add --email E "…"` does.
func positional(fs *flag.FlagSet) ([]string, error) {
	var words []string
	for fs.NArg() > 0 {
		words = append(words, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, err
		}
	}
	return words, nil
}

// commands are the command words, with the words that may follow them.
var commands = map[string][]string{
	"serve": nil, "migrate": nil, "help": nil, "sync": nil, "add": nil, "backup": nil,
	"user": {"add"}, "token": {"create", "list", "revoke"}, "caldav": {"connect", "show"}, "key": {"rotate"},
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

// isBoolFlag reports a flag that takes no value: every setting takes one;
// only --password-stdin and the flag package's own -h and -help do not.
func isBoolFlag(a string) bool {
	name := strings.TrimLeft(a, "-")
	return name == "help" || name == "h" || name == "password-stdin"
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
	// Sealer seals and opens the database's secrets with key.
	Sealer *secret.Box
	// Metrics are served at /metrics; nil while metrics are off.
	Metrics *metrics.Registry

	key        []byte
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

// Open opens and migrates the database and wires the service. It checks
// the secret key against the database first: a missing or wrong key stops
// it before anything is written.
func (m *Main) Open(ctx context.Context) error {
	queue := store.QueueOptions{
		SyncInterval: syncInterval(m.Config.SyncInterval), TickInterval: m.Config.TickInterval,
		// The queue's bound is a backstop behind the service's own.
		JobTimeout: m.Config.JobTimeout + jobTimeoutMargin,
	}
	if m.Config.MetricsOn() {
		m.Metrics = metrics.New(m.Now, m.Log)
		queue.Jobs = m.Metrics
	}
	db, err := store.Open(m.Config.Database, store.Options{Logger: m.Log, Now: m.Now, Queue: queue})
	if err != nil {
		return errors.New("database (FOLLOWUP_DATABASE): " + followup.ErrorMessage(err))
	}
	key, recorded, err := m.checkKey(ctx, db)
	if err == nil {
		err = db.Migrate(ctx)
	}
	if id := secret.KeyID(key); err == nil && id != recorded {
		err = db.RecordKey(ctx, id)
	}
	if err != nil {
		db.Close()
		return err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		db.Close()
		return fmt.Errorf("secret-file (FOLLOWUP_SECRET_FILE): %w", err)
	}
	m.DB, m.Sealer, m.key = db, box, key
	client := caldav.New(netguard.NewClient(netguard.Options{AllowPrivate: m.Config.AllowPrivateHosts}))
	if m.Metrics != nil {
		m.Metrics.CountQueue(db)
		client.Observer = m.Metrics
	}
	m.Service = &service.Service{
		Store: db, Now: m.Now, BaseURL: m.Config.BaseURL, Sealer: box, Encoder: ics.FeedEncoder{},
		Calendars: client, ICS: client, ParseDue: duetext.Parse, Cards: vcard.Decoder{}, Log: m.Log,
		JobTimeout: m.Config.JobTimeout, ReplanQuiet: service.DefaultReplanQuiet,
		FeedCacheBytes: m.Config.FeedCacheBytes, PlanCacheSteps: m.Config.PlanCacheRows,
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

// checkKey returns the key of the secret file once it is known to be the
// one the database's secrets are sealed with, and the key id the database
// records ("" for none). Only while the database holds no sealed value may
// the key be new (and a missing file be created).
func (m *Main) checkKey(ctx context.Context, db *store.DB) (key []byte, recorded string, err error) {
	path := m.Config.SecretFile
	state, err := db.KeyState(ctx)
	if err != nil {
		return nil, "", err
	}
	if state.Sample == "" {
		key, err = secret.LoadOrCreateKey(path)
		if err != nil {
			return nil, "", fmt.Errorf("secret-file (FOLLOWUP_SECRET_FILE): %w", err)
		}
		return key, state.KeyID, nil
	}
	sealedWith := "the key it was first used with"
	if state.KeyID != "" {
		sealedWith = "key " + state.KeyID
	}
	key, err = secret.ReadKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("secret-file (FOLLOWUP_SECRET_FILE): %s does not exist, but the database holds secrets sealed with %s; "+
			"restore that file from your backup or point FOLLOWUP_SECRET_FILE at it (nothing was changed)", path, sealedWith)
	} else if err != nil {
		return nil, "", fmt.Errorf("secret-file (FOLLOWUP_SECRET_FILE): %w", err)
	}
	if id := secret.KeyID(key); state.KeyID != "" && id != state.KeyID {
		return nil, "", fmt.Errorf("secret-file (FOLLOWUP_SECRET_FILE): %s holds key %s, but the database's secrets are sealed with %s; "+
			"point FOLLOWUP_SECRET_FILE at that key (nothing was changed)", path, id, sealedWith)
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return nil, "", fmt.Errorf("secret-file (FOLLOWUP_SECRET_FILE): %w", err)
	}
	if _, err := box.Open(state.Sample); err != nil {
		return nil, "", fmt.Errorf("secret-file (FOLLOWUP_SECRET_FILE): the key in %s does not open the database's secrets, which are sealed with %s; "+
			"point FOLLOWUP_SECRET_FILE at that key (nothing was changed)", path, sealedWith)
	}
	return key, state.KeyID, nil
}

// jobTimeoutMargin is how much longer the queue lets a job run than the
// service lets its calendar work take.
const jobTimeoutMargin = 10 * time.Second

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
	m.Server.BaseURL = m.Config.BaseURL
	if m.Metrics != nil {
		m.Server.Observer, m.Server.Metrics, m.Server.MetricsToken = m.Metrics, m.Metrics.Handler(), m.Config.MetricsToken
		if m.Config.MetricsToken == "" {
			m.Log.Info("metrics served at /metrics without a token; set FOLLOWUP_METRICS_TOKEN unless only your monitoring can reach this address")
		}
	}
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
	m.Log.Info("listening", "addr", m.ln.Addr().String(), "database", m.DB.Name())
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

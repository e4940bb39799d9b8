package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/followup/followup/service"
)

// Config is the service's configuration: flags, with FOLLOWUP_* environment
// variables as fallbacks.
type Config struct {
	Addr              string
	Database          string
	BaseURL           string
	SecretFile        string
	AllowPrivateHosts bool
	SyncInterval      time.Duration
	TickInterval      time.Duration
	// JobTimeout bounds one background job's calendar work.
	JobTimeout time.Duration
	LogLevel   string
	LogFormat  string
	// Metrics serves /metrics; a MetricsToken turns it on as well.
	Metrics      bool
	MetricsToken string
	// FeedCacheBytes bounds the rendered feeds kept in memory and
	// PlanCacheRows the planning rows of users' calendars, all users
	// together, as the service takes them: 0 for its default, negative to
	// keep none (the settings' 0).
	FeedCacheBytes int64
	PlanCacheRows  int
}

// MetricsOn reports whether /metrics is served.
func (c Config) MetricsOn() bool { return c.Metrics || c.MetricsToken != "" }

// maxCacheBytes and maxPlanCacheRows bound the cache settings: past them
// a setting is a typo, not a plan.
const (
	maxCacheBytes    = 64 << 30
	maxPlanCacheRows = 100_000_000
)

// parseBytes reads a size: a number of bytes, or a number with KiB, MiB or
// GiB after it.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	unit := int64(1)
	for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if rest, ok := strings.CutSuffix(s, suffix); ok {
			s, unit = strings.TrimSpace(rest), u
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a size: %q", s)
	}
	if n > maxCacheBytes/unit {
		return maxCacheBytes + 1, nil // Validate names the bound
	}
	return n * unit, nil
}

// minMetricsToken is the shortest metrics token accepted.
const minMetricsToken = 16

// setting is one configuration entry: its flag, its variable and its help.
type setting struct {
	flag, env, def, help string
}

var settings = []setting{
	{"addr", "FOLLOWUP_ADDR", "127.0.0.1:8080", "address to listen on"},
	{"database", "FOLLOWUP_DATABASE", "sqlite:data/followup.db", "database: sqlite:PATH, or a PostgreSQL URL postgres://USER:PASSWORD@HOST:PORT/DB (see README, Operations)"},
	{"base-url", "FOLLOWUP_BASE_URL", "", "public URL used in feed links and blocks (default http://ADDR)"},
	{"secret-file", "FOLLOWUP_SECRET_FILE", "data/secret.key", "key that seals stored CalDAV passwords, busy_ics addresses and feed tokens; created (0600) when absent only while the database holds no sealed secret, else a missing or other key stops the start"},
	{"allow-private-hosts", "FOLLOWUP_ALLOW_PRIVATE_HOSTS", "false", "let users connect CalDAV servers and ICS sources on loopback, private and link-local addresses (self-hosting on a LAN)"},
	{"sync-interval", "FOLLOWUP_SYNC_INTERVAL", "5m", "how often connected calendars are synced; 0 turns the background sync off (changes are still written at once, and POST /api/v1/sync still syncs)"},
	{"tick-interval", "FOLLOWUP_TICK_INTERVAL", "30s", "how often time-based transitions (let-go, close) are applied"},
	{"job-timeout", "FOLLOWUP_JOB_TIMEOUT", "1m", "how long one background job's calendar work may take; the jobs a killed instance was running run again on another instance 25 s to 70 s after this"},
	{"log-level", "FOLLOWUP_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"log-format", "FOLLOWUP_LOG_FORMAT", "json", "json or text"},
	{"metrics", "FOLLOWUP_METRICS", "false", "serve Prometheus metrics at /metrics (off by default: they name users' calendar servers)"},
	{"metrics-token", "FOLLOWUP_METRICS_TOKEN", "", "bearer token that /metrics requires (at least 16 characters); setting it turns metrics on; prefer the variable, as ps shows flags"},
	{"feed-cache", "FOLLOWUP_FEED_CACHE", fmt.Sprintf("%dMiB", service.DefaultFeedCacheBytes>>20), "memory for rendered feeds kept between requests, all users together, in bytes or with KiB, MiB or GiB (0 keeps none)"},
	{"plan-cache", "FOLLOWUP_PLAN_CACHE", strconv.Itoa(service.DefaultPlanCacheSteps), "planning rows (blocks and commitments) of users' calendars kept in memory between creates, all users together, about 0.5 KB each (0 keeps none: every create reads its user's calendar)"},
}

// configFlags registers the settings on fs; the returned function reads
// them into a Config after fs.Parse, with env fallbacks.
func configFlags(fs *flag.FlagSet, getenv func(string) string) func() (Config, error) {
	values := map[string]*string{}
	for _, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		values[s.flag] = fs.String(s.flag, def, s.help+" ($"+s.env+")")
	}
	return func() (Config, error) {
		c := Config{
			Addr: *values["addr"], Database: *values["database"], BaseURL: *values["base-url"],
			SecretFile: *values["secret-file"], LogLevel: *values["log-level"], LogFormat: *values["log-format"],
			MetricsToken: *values["metrics-token"],
		}
		var err error
		if c.AllowPrivateHosts, err = strconv.ParseBool(*values["allow-private-hosts"]); err != nil {
			return c, fmt.Errorf("allow-private-hosts (FOLLOWUP_ALLOW_PRIVATE_HOSTS): %q is not true or false", *values["allow-private-hosts"])
		}
		if c.SyncInterval, err = time.ParseDuration(*values["sync-interval"]); err != nil {
			return c, fmt.Errorf("sync-interval (FOLLOWUP_SYNC_INTERVAL): %q is not a duration such as 5m", *values["sync-interval"])
		}
		if c.Metrics, err = strconv.ParseBool(*values["metrics"]); err != nil {
			return c, fmt.Errorf("metrics (FOLLOWUP_METRICS): %q is not true or false", *values["metrics"])
		}
		if c.TickInterval, err = time.ParseDuration(*values["tick-interval"]); err != nil {
			return c, fmt.Errorf("tick-interval (FOLLOWUP_TICK_INTERVAL): %q is not a duration such as 30s", *values["tick-interval"])
		}
		if c.JobTimeout, err = time.ParseDuration(*values["job-timeout"]); err != nil {
			return c, fmt.Errorf("job-timeout (FOLLOWUP_JOB_TIMEOUT): %q is not a duration such as 1m", *values["job-timeout"])
		}
		if c.FeedCacheBytes, err = parseBytes(*values["feed-cache"]); err != nil {
			return c, fmt.Errorf("feed-cache (FOLLOWUP_FEED_CACHE): %q is not a size such as 32MiB", *values["feed-cache"])
		}
		if c.PlanCacheRows, err = strconv.Atoi(strings.TrimSpace(*values["plan-cache"])); err != nil || c.PlanCacheRows < 0 {
			return c, fmt.Errorf("plan-cache (FOLLOWUP_PLAN_CACHE): %q is not a number of rows such as 50000", *values["plan-cache"])
		}
		if err := c.Validate(); err != nil {
			return c, err
		}
		if c.FeedCacheBytes == 0 {
			c.FeedCacheBytes = -1
		}
		if c.PlanCacheRows == 0 {
			c.PlanCacheRows = -1
		}
		return c, nil
	}
}

// Validate checks the configuration, naming the bad setting.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("addr (FOLLOWUP_ADDR): %q is not host:port", c.Addr)
	}
	switch {
	case strings.HasPrefix(c.Database, "postgres://"), strings.HasPrefix(c.Database, "postgresql://"):
		if _, err := url.Parse(c.Database); err != nil {
			return fmt.Errorf("database (FOLLOWUP_DATABASE): %s is not a PostgreSQL URL", maskDSN(c.Database))
		}
	case !strings.HasPrefix(c.Database, "sqlite:") || len(c.Database) == len("sqlite:"):
		return fmt.Errorf("database (FOLLOWUP_DATABASE): %s is not sqlite:PATH or postgres://…", maskDSN(c.Database))
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("base-url (FOLLOWUP_BASE_URL): %q is not an http(s) URL", c.BaseURL)
		}
	}
	if c.SecretFile == "" {
		return fmt.Errorf("secret-file (FOLLOWUP_SECRET_FILE) must not be empty")
	}
	if c.SyncInterval != 0 && c.SyncInterval < 10*time.Second {
		return fmt.Errorf("sync-interval (FOLLOWUP_SYNC_INTERVAL): %s is shorter than 10s (0 turns the background sync off)", c.SyncInterval)
	}
	if c.TickInterval < time.Second {
		return fmt.Errorf("tick-interval (FOLLOWUP_TICK_INTERVAL): %s is shorter than 1s", c.TickInterval)
	}
	if c.JobTimeout < time.Second || c.JobTimeout > time.Hour {
		return fmt.Errorf("job-timeout (FOLLOWUP_JOB_TIMEOUT): %s is not between 1s and 1h", c.JobTimeout)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("log-format (FOLLOWUP_LOG_FORMAT): %q is not json or text", c.LogFormat)
	}
	if c.FeedCacheBytes < -1 || c.FeedCacheBytes > maxCacheBytes {
		return fmt.Errorf("feed-cache (FOLLOWUP_FEED_CACHE): %d bytes is not between 0 and 64GiB", c.FeedCacheBytes)
	}
	if c.PlanCacheRows < -1 || c.PlanCacheRows > maxPlanCacheRows {
		return fmt.Errorf("plan-cache (FOLLOWUP_PLAN_CACHE): %d is not between 0 and %d rows", c.PlanCacheRows, maxPlanCacheRows)
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < minMetricsToken {
		return fmt.Errorf("metrics-token (FOLLOWUP_METRICS_TOKEN) is shorter than %d characters", minMetricsToken)
	}
	return nil
}

// maskDSN quotes a database setting for a message, its password (a URL's,
// in the userinfo or a password= parameter) masked.
func maskDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		if strings.Contains(dsn, "@") || strings.Contains(dsn, "password") {
			return "the URL given (not shown: it may hold a password)"
		}
		return strconv.Quote(dsn)
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return strconv.Quote(u.String())
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("log-level (FOLLOWUP_LOG_LEVEL): %q is not debug, info, warn or error", s)
	}
	return l, nil
}

// usage prints the help text.
func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `followup turns the promises you make when you meet people into time in your calendar.

Usage:
  followup [serve] [flags]                 run the service (the default)
  followup migrate [flags]                 apply database migrations
  followup user add --email E --password-stdin [--timezone Area/City]
  followup token create --email E [--name N]  print a new API token
  followup token list --email E            the user's tokens: id, created, last used, name
  followup token revoke --email E --id N   revoke a token; requests with it fail at once
  followup caldav connect --email E --url U --username N --password-stdin [--calendar C]
  followup caldav show --email E           show the CalDAV connection
  followup sync --email E                  sync the user's calendars now
  followup add --email E [--vcard FILE] "Jane Doe (Acme) — send the deck by Friday * met at SaaStr"
                                           log a commitment written as one line
  followup key rotate --new-secret-file F  re-seal every secret with the key in F
                                           (created when absent); stop the service first
  followup backup --to FILE                copy the database while the service runs
                                           (the key file is not in it: back it up apart)

Passwords (user add, caldav connect) come from --password-stdin,
--password-file F or $FOLLOWUP_PASSWORD; --password P works too, but ps and
shell history show it.

Flags (every command; environment variables in parentheses):
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("followup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func strconvFormat(n int64) string { return strconv.FormatInt(n, 10) }

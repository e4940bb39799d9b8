package store

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// dialect is the SQL database behind the store. Queries are written once,
// with ? placeholders and SQL that both accept; what differs is said here.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

// String names the dialect as FOLLOWUP_DATABASE's scheme does.
func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// isPostgresDSN reports a FOLLOWUP_DATABASE value that names PostgreSQL.
func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// rebind rewrites a query's ? placeholders for the dialect: $1, $2, … on
// PostgreSQL. A ? inside a quoted string or identifier is left alone.
func (d dialect) rebind(query string) string {
	if d != postgresDialect || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte // the quote we are inside, 0 when none
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens: same result
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// args adapts query arguments to the dialect: PostgreSQL does not take a
// Go bool for the INTEGER 0/1 columns SQLite's driver writes it to.
func (d dialect) args(args []any) []any {
	if d != postgresDialect {
		return args
	}
	copied := false
	for i, a := range args {
		if b, ok := a.(bool); ok {
			if !copied { // the caller's slice stays as it was
				args, copied = append([]any(nil), args...), true
			}
			args[i] = boolInt(b)
		}
	}
	return args
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// isUnique reports a UNIQUE constraint violation, in either dialect.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23505" // unique_violation
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// isRetryable reports a PostgreSQL error after which the whole transaction
// may be run again: a serialization failure or a deadlock.
func isRetryable(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// redactedDSN is dsn with its password, if any, replaced, for messages.
func redactedDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the PostgreSQL URL"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// dsnPassword returns the password a PostgreSQL URL holds, "" when none.
func dsnPassword(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		// An unparsable URL may still hold one: take what sits between
		// the scheme's user and the host.
		rest := dsn[strings.Index(dsn, "://")+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				return rest[colon+1 : at]
			}
		}
		return ""
	}
	if p, ok := u.User.Password(); ok {
		return p
	}
	return u.Query().Get("password")
}

// maskedError hides a password in an error's text and keeps its chain.
type maskedError struct {
	err    error
	secret string
}

// maskPassword wraps err so that its text never shows the DSN's password.
func maskPassword(err error, dsn string) error {
	if err == nil {
		return nil
	}
	p := dsnPassword(dsn)
	if p == "" {
		return err
	}
	return &maskedError{err: err, secret: p}
}

func (e *maskedError) Error() string {
	s := e.err.Error()
	s = strings.ReplaceAll(s, e.secret, "xxxxx")
	if esc := url.QueryEscape(e.secret); esc != e.secret {
		s = strings.ReplaceAll(s, esc, "xxxxx")
	}
	if esc := url.PathEscape(e.secret); esc != e.secret {
		s = strings.ReplaceAll(s, esc, "xxxxx")
	}
	return s
}

func (e *maskedError) Unwrap() error { return e.err }

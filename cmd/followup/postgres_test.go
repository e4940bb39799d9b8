package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/followup/followup/internal/pgtest"
)

// pgPassword is in the test's PostgreSQL URL: the test server lets anyone
// in (trust), so it is never checked, but it must never be shown either.
const pgPassword = "Pg-s3cret-9c41"

// TestPostgres runs the commands on a PostgreSQL database: migrate (twice),
// user add, token create, serve (a commitment posted and read back), and
// backup, which says to use pg_dump. Nothing printed or logged shows the
// URL's password.
func TestPostgres(t *testing.T) {
	dir := t.TempDir()
	dsn := strings.Replace(pgtest.Database(t), "postgres://postgres@", "postgres://postgres:"+pgPassword+"@", 1)
	vars := map[string]string{"FOLLOWUP_DATABASE": dsn}
	var printed bytes.Buffer
	run := func(args ...string) string {
		t.Helper()
		stdout, stderr, err := cliWith(dir, "correct horse battery\n", vars, args...)
		printed.WriteString(stdout + stderr)
		if err != nil {
			printed.WriteString(err.Error())
			t.Fatalf("followup %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return stdout
	}
	run("migrate")
	run("migrate")
	run("user", "add", "--email", "ada@example.com", "--password-stdin", "--timezone", "Europe/Berlin")
	token := strings.TrimSpace(run("token", "create", "--email", "ada@example.com"))

	app := MustRunMain(t, dir, vars)
	base := app.URL()
	if resp := do(t, "GET", base+"/readyz", "", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("readyz: %d", resp.StatusCode)
	}
	var c commitmentJSON
	body := map[string]any{"contact": map[string]any{"name": "Jane Doe"}, "promise": "Send the deck", "due_text": "in 3 days"}
	if resp := do(t, "POST", base+"/api/v1/commitments", token, body, &c); resp.StatusCode != http.StatusCreated || len(c.Steps) < 2 {
		t.Fatalf("POST: %d %+v", resp.StatusCode, c)
	}
	var list struct{ Commitments []commitmentJSON }
	if resp := do(t, "GET", base+"/api/v1/commitments", token, nil, &list); resp.StatusCode != 200 || len(list.Commitments) != 1 || list.Commitments[0].ID != c.ID {
		t.Fatalf("GET: %d %+v", resp.StatusCode, list)
	}
	app.stop()

	stdout, stderr, err := cliWith(dir, "", vars, "backup", "--to", dir+"/copy.db")
	printed.WriteString(stdout + stderr)
	if err == nil || !strings.Contains(err.Error()+stderr, "pg_dump") {
		t.Errorf("backup on PostgreSQL: %v, %q; want an error that says to use pg_dump", err, stderr)
	}
	if err != nil {
		printed.WriteString(err.Error())
	}
	if strings.Contains(printed.String(), pgPassword) || strings.Contains(app.logs.String(), pgPassword) {
		t.Errorf("the database password was shown:\n%s\n%s", printed.String(), app.logs.String())
	}
	if !strings.Contains(app.logs.String(), "postgres://postgres:xxxxx@") {
		t.Errorf("the log does not name the database, masked:\n%s", app.logs.String())
	}
}

// TestPostgresUnreachable: serve on a PostgreSQL URL where nothing listens
// fails with a message naming the setting and the server, without the
// password.
func TestPostgresUnreachable(t *testing.T) {
	dir := t.TempDir()
	dsn := "postgres://followup:" + pgPassword + "@127.0.0.1:1/followup"
	_, stderr, err := cliWith(dir, "", map[string]string{"FOLLOWUP_DATABASE": dsn}, "migrate")
	if err == nil {
		t.Fatal("migrate succeeded with no server")
	}
	msg := err.Error() + stderr
	if strings.Contains(msg, pgPassword) {
		t.Errorf("the error shows the password: %s", msg)
	}
	if !strings.Contains(msg, "FOLLOWUP_DATABASE") || !strings.Contains(msg, "127.0.0.1:1") {
		t.Errorf("the error does not say which setting and server: %s", msg)
	}
}

// TestDatabaseSettingMasked: a malformed database setting is named in the
// error with its password masked.
func TestDatabaseSettingMasked(t *testing.T) {
	for _, dsn := range []string{
		"postgres://followup:" + pgPassword + "@db:port/followup",
		"postgress://followup:" + pgPassword + "@db:5432/followup",
		"mysql://followup:" + pgPassword + "@db/followup",
	} {
		cfg := Config{Addr: "127.0.0.1:0", Database: dsn, SecretFile: "k", TickInterval: 30e9, JobTimeout: 60e9, LogLevel: "info", LogFormat: "json"}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "FOLLOWUP_DATABASE") {
			t.Errorf("%q: %v", dsn, err)
			continue
		}
		if strings.Contains(err.Error(), pgPassword) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	ok := Config{Addr: "127.0.0.1:0", Database: "postgresql://followup:" + pgPassword + "@db:5432/followup", SecretFile: "k", TickInterval: 30e9, JobTimeout: 60e9, LogLevel: "info", LogFormat: "json"}
	if err := ok.Validate(); err != nil {
		t.Errorf("a PostgreSQL URL: %v", err)
	}
}

package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// cliWith runs a command line with stdin and extra environment variables
// and returns what it printed.
func cliWith(dir, stdin string, extra map[string]string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, sys{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		getenv: env(dir, extra), now: clockFor(dir),
	})
	return out.String(), errOut.String(), err
}

// openMain opens dir's database and service, as a command does.
func openMain(tb testing.TB, dir string) *Main {
	tb.Helper()
	_, cfg := parseTestConfig(tb, env(dir, nil))
	m := NewMain(cfg, &bytes.Buffer{}, &bytes.Buffer{})
	m.Now = clockFor(dir)
	if err := m.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// TestPasswordSources creates users with passwords from stdin, a file, the
// environment and the flag, and checks that each password is the one given,
// without its trailing newline; only the flag draws a warning.
func TestPasswordSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("from a file 1\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		email, stdin string
		env          map[string]string
		args         []string
		want         string
		warn         bool
	}{
		{"stdin@example.com", "from stdin 1\n", nil, []string{"--password-stdin"}, "from stdin 1", false},
		{"file@example.com", "", nil, []string{"--password-file", file}, "from a file 1", false},
		{"env@example.com", "", map[string]string{"FOLLOWUP_PASSWORD": "from the env 1"}, nil, "from the env 1", false},
		{"flag@example.com", "", nil, []string{"--password", "from the flag 1"}, "from the flag 1", true},
		{"both@example.com", "stdin wins\n", map[string]string{"FOLLOWUP_PASSWORD": "env loses"}, []string{"--password-stdin"}, "stdin wins", false},
	} {
		args := append([]string{"user", "add", "--email", tc.email}, tc.args...)
		_, stderr, err := cliWith(dir, tc.stdin, tc.env, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if warned := strings.Contains(stderr, "warning: --password"); warned != tc.warn {
			t.Errorf("%v: warning %v, want %v (stderr %q)", args, warned, tc.warn, stderr)
		}
		if strings.Contains(stderr, tc.want) {
			t.Errorf("%v: stderr shows the password: %q", args, stderr)
		}
		m := openMain(t, dir)
		if _, err := m.Service.CheckPassword(context.Background(), tc.email, tc.want); err != nil {
			t.Errorf("%v: password %q does not sign in: %v", args, tc.want, err)
		}
		m.Close()
	}

	// The flag before the command: --password-stdin takes no value.
	if _, _, err := cliWith(dir, "moved flag 1\n", nil, "--password-stdin", "user", "add", "--email", "moved@example.com"); err != nil {
		t.Fatalf("--password-stdin before the command: %v", err)
	}

	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"two sources", "x\n", []string{"--password-stdin", "--password", "longenough"}, "one way"},
		{"empty stdin", "", []string{"--password-stdin"}, "password-stdin"},
		{"missing file", "", []string{"--password-file", filepath.Join(dir, "nope")}, "password-file"},
		{"no password", "", nil, "--password"},
	} {
		args := append([]string{"user", "add", "--email", "bad@example.com"}, tc.args...)
		if _, _, err := cliWith(dir, tc.stdin, nil, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
	if _, err := openMain(t, dir).DB.UserByEmail(context.Background(), "bad@example.com"); err == nil {
		t.Errorf("a refused password source created the user")
	}
}

// TestCalDAVPasswordStdin checks that caldav connect sends the password
// read from stdin to the server.
func TestCalDAVPasswordStdin(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); ok {
			mu.Lock()
			seen = append(seen, pw)
			mu.Unlock()
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cli(t, dir, "user", "add", "--email", "ada@example.com", "--password", "correct horse")
	priv := map[string]string{"FOLLOWUP_ALLOW_PRIVATE_HOSTS": "true"}
	_, _, err := cliWith(dir, "dav secret 1\n", priv, "caldav", "connect", "--email", "ada@example.com", "--url", srv.URL, "--username", "ada", "--password-stdin")
	if err == nil {
		t.Fatal("a server answering 401 connected")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 || seen[0] != "dav secret 1" {
		t.Errorf("the server saw passwords %q, want %q", seen, "dav secret 1")
	}
}

// TestTokenCLI lists and revokes tokens from the command line while the
// service runs: the list shows when a token was last used, and a revoked
// token is refused at once.
func TestTokenCLI(t *testing.T) {
	dir := t.TempDir()
	cli(t, dir, "user", "add", "--email", "ada@example.com", "--password", "correct horse")
	cli(t, dir, "user", "add", "--email", "bob@example.com", "--password", "correct horse")
	first := strings.TrimSpace(cli(t, dir, "token", "create", "--email", "ada@example.com"))
	laptop := strings.TrimSpace(cli(t, dir, "token", "create", "--email", "ada@example.com", "--name", "laptop"))
	app := MustRunMain(t, dir, nil)
	if r := do(t, "GET", app.URL()+"/api/v1/settings", laptop, nil, nil); r.StatusCode != 200 {
		t.Fatalf("settings with the laptop token: %d", r.StatusCode)
	}

	list := cli(t, dir, "token", "list", "--email", "ada@example.com")
	rows := strings.Split(strings.TrimSpace(list), "\n")
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "ID") {
		t.Fatalf("token list:\n%s", list)
	}
	date := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`
	if !regexp.MustCompile(`^1\s+` + date + `\s+never\s+cli$`).MatchString(rows[1]) {
		t.Errorf("unused token's row %q", rows[1])
	}
	if !regexp.MustCompile(`^2\s+` + date + `\s+` + date + `\s+laptop$`).MatchString(rows[2]) {
		t.Errorf("used token's row %q", rows[2])
	}
	if strings.Contains(list, first) || strings.Contains(list, laptop) {
		t.Errorf("token list shows a token:\n%s", list)
	}

	if _, _, err := cliWith(dir, "", nil, "token", "revoke", "--email", "bob@example.com", "--id", "2"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("revoking another user's token: %v", err)
	}
	if _, _, err := cliWith(dir, "", nil, "token", "revoke", "--email", "ada@example.com"); err == nil || !strings.Contains(err.Error(), "--id") {
		t.Errorf("revoke without --id: %v", err)
	}
	if r := do(t, "GET", app.URL()+"/api/v1/settings", laptop, nil, nil); r.StatusCode != 200 {
		t.Fatalf("settings after a refused revoke: %d", r.StatusCode)
	}
	if out := cli(t, dir, "token", "revoke", "--email", "ada@example.com", "--id", "2"); !strings.Contains(out, "revoked token 2") {
		t.Errorf("revoke printed %q", out)
	}
	if r := do(t, "GET", app.URL()+"/api/v1/settings", laptop, nil, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", r.StatusCode)
	}
	if r := do(t, "GET", app.URL()+"/api/v1/settings", first, nil, nil); r.StatusCode != 200 {
		t.Errorf("the other token after a revoke: %d", r.StatusCode)
	}
}

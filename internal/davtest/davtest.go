// Package davtest starts real CalDAV servers for tests: Radicale and
// Xandikos, each on 127.0.0.1 on a free port with temporary storage and a
// known user and password, stopped when the test ends.
//
// When a server's binary is missing the test is skipped with a message,
// unless FOLLOWUP_REQUIRE_SERVERS=1 is set, which makes it a failure (CI
// installs the servers and sets it).
package davtest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/followup/followup/internal/testenv"
)

// Server is a running CalDAV server.
type Server struct {
	// Name is "radicale" or "xandikos".
	Name string
	// URL is the server's root, e.g. "http://127.0.0.1:5232/".
	URL      string
	Username string
	Password string
	// HomeSet is the user's calendar home set as the server names it.
	HomeSet string
}

// Credentials every server is started with.
const (
	Username = "alice"
	Password = "s3cret-Pa55word"
)

// startTimeout bounds how long a server may take to answer.
const startTimeout = 30 * time.Second

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("davtest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs cmd, stops it on cleanup and waits until probe answers.
func start(tb testing.TB, name string, cmd *exec.Cmd, probe string) {
	tb.Helper()
	var log testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		tb.Fatalf("davtest: start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if tb.Failed() {
			tb.Logf("davtest: %s output:\n%s", name, log.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, probe, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-exited:
			tb.Fatalf("davtest: %s exited before it was ready:\n%s", name, log.String())
		case <-ctx.Done():
			tb.Fatalf("davtest: %s not ready after %v:\n%s", name, startTimeout, log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Radicale starts Radicale (https://radicale.org) with htpasswd
// authentication (plain encryption, which every Radicale 3 reads without
// extra modules) and filesystem storage in a temporary directory. The user's
// home set is /alice/ and is created on first use.
func Radicale(tb testing.TB) Server {
	tb.Helper()
	bin, err := exec.LookPath("radicale")
	if err != nil {
		testenv.Missing(tb, "davtest: radicale is not installed (apt-get install radicale)")
	}
	dir := tb.TempDir()
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte(Username+":"+Password+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	port := freePort(tb)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin,
		"--config", "",
		"--server-hosts", addr,
		"--auth-type", "htpasswd",
		"--auth-htpasswd-filename", users,
		"--auth-htpasswd-encryption", "plain",
		"--auth-delay", "0",
		"--rights-type", "owner_only",
		"--storage-filesystem-folder", filepath.Join(dir, "collections"),
		"--logging-level", "warning",
	)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	start(tb, "radicale", cmd, "http://"+addr+"/")
	return Server{
		Name:     "radicale",
		URL:      "http://" + addr + "/",
		Username: Username,
		Password: Password,
		HomeSet:  "http://" + addr + "/" + Username + "/",
	}
}

// Xandikos starts Xandikos (https://www.xandikos.org), which has no
// authentication of its own, behind a reverse proxy in this process that
// checks HTTP Basic credentials (401 with WWW-Authenticate otherwise). Its
// principal is /alice/ and its home set /alice/calendars/, with a default
// calendar created at start.
func Xandikos(tb testing.TB) Server {
	tb.Helper()
	bin, err := exec.LookPath("xandikos")
	if err != nil {
		testenv.Missing(tb, "davtest: xandikos is not installed (apt-get install xandikos)")
	}
	dir := tb.TempDir()
	port := freePort(tb)
	backend := "http://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin,
		"-d", filepath.Join(dir, "data"),
		"--defaults",
		"--current-user-principal", "/"+Username+"/",
		"-l", "127.0.0.1",
		"-p", strconv.Itoa(port),
	)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	start(tb, "xandikos", cmd, backend+"/")

	target, _ := url.Parse(backend)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != Username || p != Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="xandikos"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	return Server{
		Name:     "xandikos",
		URL:      srv.URL + "/",
		Username: Username,
		Password: Password,
		HomeSet:  srv.URL + "/" + Username + "/calendars/",
	}
}

// Servers lists the servers this package starts, for table tests:
//
//	for _, sv := range davtest.Servers {
//		t.Run(sv.Name, func(t *testing.T) { srv := sv.Start(t); ... })
//	}
//
// A missing server skips (or fails) only its own subtest.
var Servers = []struct {
	Name  string
	Start func(testing.TB) Server
}{
	{"radicale", Radicale},
	{"xandikos", Xandikos},
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
	"github.com/followup/followup/internal/davtest"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binary builds the command once per test run and returns its path, or
// returns $FOLLOWUP_TEST_BINARY when set (to measure a build of another
// commit with this package's tests).
func binary(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("FOLLOWUP_TEST_BINARY"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "followup-bin")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(buildDir, "followup"), ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "followup")
}

// process is the real binary running as a child process.
type process struct {
	cmd *exec.Cmd
	url string
}

// startProcess runs the built binary with serve and waits for its URL.
func startProcess(tb testing.TB, bin, dir string) *process {
	tb.Helper()
	return startProcessEnv(tb, bin, dir, nil)
}

// startProcessEnv is startProcess with extra environment variables, which
// win over its own.
func startProcessEnv(tb testing.TB, bin, dir string, extra map[string]string) *process {
	tb.Helper()
	cmd := exec.Command(bin, "serve", "--tick-interval", "1s")
	vars := map[string]string{
		"FOLLOWUP_ADDR":                "127.0.0.1:0",
		"FOLLOWUP_DATABASE":            "sqlite:" + filepath.Join(dir, "followup.db"),
		"FOLLOWUP_SECRET_FILE":         filepath.Join(dir, "secret.key"),
		"FOLLOWUP_ALLOW_PRIVATE_HOSTS": "true",
		"FOLLOWUP_LOG_LEVEL":           "warn",
	}
	maps.Copy(vars, extra)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		tb.Fatalf("no start line: %v", err)
	}
	i := strings.Index(line, "http://")
	if i < 0 {
		tb.Fatalf("start line %q has no URL", line)
	}
	p := &process{cmd: cmd, url: strings.TrimSpace(line[i:])}
	tb.Cleanup(func() { p.kill() })
	return p
}

func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

// TestCrashDuringSync kills the process with SIGKILL again and again while
// commitments arrive and blocks are being written; at the end the server
// holds exactly one object per live block and nothing else.
func TestCrashDuringSync(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	srv := davtest.Radicale(t)
	dir := t.TempDir()
	bin := binary(t)
	cli(t, dir, "user", "add", "--email", "ada@example.com", "--password", "correct horse", "--timezone", "Europe/Berlin")
	token := strings.TrimSpace(cli(t, dir, "token", "create", "--email", "ada@example.com"))

	p := startProcess(t, bin, dir)
	conn := connectCalDAV(t, p.url, token, srv.URL, srv)
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []int64
	for round := range 8 {
		for i := range 4 {
			var c commitmentJSON
			resp := do(t, "POST", p.url+"/api/v1/commitments", token, map[string]any{
				"contact": map[string]any{"name": fmt.Sprintf("Contact %d-%d", round, i)}, "promise": "Send the notes",
				"priority": i == 0, "due_text": "in 4 days",
			}, &c)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST: %d", resp.StatusCode)
			}
			ids = append(ids, c.ID)
		}
		if round%3 == 1 && len(ids) > 2 {
			do(t, "POST", p.url+"/api/v1/commitments/"+itoa(ids[len(ids)-3])+"/actions", token, map[string]string{"action": "let_go"}, nil)
		}
		// Kill it while the queue writes.
		time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		p.kill()
		p = startProcess(t, bin, dir)
	}

	// Let it settle, then compare the server with the API.
	var rep followup.SyncReport
	deadline := time.Now().Add(60 * time.Second)
	for {
		do(t, "POST", p.url+"/api/v1/sync", token, nil, &rep)
		if rep.Written == 0 && rep.Deleted == 0 && len(rep.Errors) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync does not settle: %+v", rep)
		}
	}
	want := map[string]bool{}
	for _, id := range ids {
		var c commitmentJSON
		do(t, "GET", p.url+"/api/v1/commitments/"+itoa(id), token, nil, &c)
		for _, s := range c.Steps {
			if s.Kind != "let_go" && s.Kind != "close" && (s.Status == "planned" || s.Status == "synced") {
				want[s.UID] = true
			}
		}
	}
	acct := followup.CalDAVAccount{URL: srv.URL, Username: srv.Username, Password: srv.Password}
	objs, err := caldav.New(http.DefaultClient).ListEvents(context.Background(), acct, conn.Calendar)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, o := range objs {
		seen[o.UID]++
		if !want[o.UID] {
			t.Errorf("server holds %s, which is no live block", o.UID)
		}
		if seen[o.UID] > 1 {
			t.Errorf("server holds %s twice", o.UID)
		}
	}
	for uid := range want {
		if seen[uid] != 1 {
			t.Errorf("live block %s is on the server %d times", uid, seen[uid])
		}
	}
	t.Logf("after 8 kills: %d live blocks, %d objects on the server", len(want), len(objs))
}

// TestGracefulShutdown sends SIGTERM to the running binary: it stops
// accepting, finishes, and exits 0.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := binary(t)
	p := startProcess(t, bin, dir)
	if resp := do(t, "GET", p.url+"/readyz", "", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("readyz: %d", resp.StatusCode)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20 s after SIGTERM")
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackup copies the database while the service runs and writes, then
// serves the copy with the same key: the user's token and commitments are
// there. A second backup to the same file is refused and leaves it alone.
func TestBackup(t *testing.T) {
	dir := t.TempDir()
	cli(t, dir, "user", "add", "--email", "ada@example.com", "--password", "correct horse", "--timezone", "Europe/Berlin")
	token := strings.TrimSpace(cli(t, dir, "token", "create", "--email", "ada@example.com"))
	app := MustRunMain(t, dir, nil)
	var c commitmentJSON
	if resp := do(t, "POST", app.URL()+"/api/v1/commitments", token, map[string]any{"contact": map[string]any{"name": "Jane"}, "promise": "Send the deck"}, &c); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	// Writes go on during the backup.
	stop := make(chan struct{})
	writes := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				writes <- n
				return
			default:
			}
			req, _ := http.NewRequest("POST", app.URL()+"/api/v1/commitments", strings.NewReader(`{"contact":{"name":"Bob"},"promise":"Intro"}`))
			req.Header.Set("Authorization", "Bearer "+token)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				n++
			}
		}
	}()
	copyPath := filepath.Join(t.TempDir(), "followup-backup.db")
	out := cli(t, dir, "backup", "--to", copyPath)
	close(stop)
	t.Logf("%d writes ran beside the backup", <-writes)
	if !strings.Contains(out, copyPath) || !strings.Contains(out, "secret.key") {
		t.Errorf("backup printed %q", out)
	}
	info, err := os.Stat(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", info.Mode().Perm())
	}
	var stderr bytes.Buffer
	err = run(context.Background(), []string{"backup", "--to", copyPath}, sys{stdout: io.Discard, stderr: &stderr, getenv: env(dir, nil), now: clockFor(dir)})
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup over an existing file: %v", err)
	}
	if after, _ := os.Stat(copyPath); after.Size() != info.Size() || after.ModTime() != info.ModTime() {
		t.Error("the refused backup changed the existing file")
	}
	app.stop()

	restored := MustRunMain(t, t.TempDir(), map[string]string{
		"FOLLOWUP_DATABASE": "sqlite:" + copyPath, "FOLLOWUP_SECRET_FILE": filepath.Join(dir, "secret.key"),
	})
	var got commitmentJSON
	if resp := do(t, "GET", restored.URL()+fmt.Sprintf("/api/v1/commitments/%d", c.ID), token, nil, &got); resp.StatusCode != http.StatusOK || got.ID != c.ID || len(got.Steps) == 0 {
		t.Errorf("restored commitment: %d %+v", resp.StatusCode, got)
	}
}

// TestBackupNeedsTo names the missing flag.
func TestBackupNeedsTo(t *testing.T) {
	dir := t.TempDir()
	err := run(context.Background(), []string{"backup"}, sys{stdout: io.Discard, stderr: io.Discard, getenv: env(dir, nil), now: clockFor(dir)})
	if err == nil || !strings.Contains(err.Error(), "--to") {
		t.Errorf("backup without --to: %v", err)
	}
}

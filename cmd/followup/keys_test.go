package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"

	"github.com/followup/followup"
	"github.com/followup/followup/secret"
)

// files maps each file in dir to a hash of its content.
func files(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		sum := sha256.Sum256(data)
		out[e.Name()] = hex.EncodeToString(sum[:])
	}
	return out
}

// sealedSetup makes a database holding sealed secrets: two users' feed
// tokens, and the first's CalDAV password "dav password 1" and busy_ics
// address secretICS.
func sealedSetup(tb testing.TB, dir string) {
	tb.Helper()
	cli(tb, dir, "user", "add", "--email", "ada@example.com", "--password", "correct horse")
	cli(tb, dir, "user", "add", "--email", "bob@example.com", "--password", "correct horse")
	m := openMain(tb, dir)
	ctx := context.Background()
	u, err := m.DB.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		tb.Fatal(err)
	}
	sealed, err := m.Sealer.Seal("dav password 1")
	if err != nil {
		tb.Fatal(err)
	}
	ics, err := m.Sealer.Seal(secretICS)
	if err != nil {
		tb.Fatal(err)
	}
	now := m.Now()
	conn := followup.CalDAVConnection{UserID: u.ID, URL: "https://dav.example", Username: "ada", SealedPassword: sealed, SealedBusyICS: []string{ics}, CreatedAt: now, UpdatedAt: now}
	if err := m.DB.PutCalDAV(ctx, conn); err != nil {
		tb.Fatal(err)
	}
	m.Close()
}

// secretICS is a busy_ics address, a secret like Google's secret address.
const secretICS = "https://calendar.example/private-4f9a/basic.ics"

// openWith opens dir's program with the secret file path and returns the
// error, closing what opened.
func openWith(dir, secretFile string) error {
	getenv := env(dir, map[string]string{"FOLLOWUP_SECRET_FILE": secretFile})
	err := run(context.Background(), []string{"token", "list", "--email", "ada@example.com"}, sys{stdout: io.Discard, stderr: io.Discard, getenv: getenv, now: clockFor(dir)})
	return err
}

// checkSecrets opens dir with the secret file and checks that every sealed
// secret opens: both feeds and the CalDAV password.
func checkSecrets(tb testing.TB, dir, secretFile string) {
	tb.Helper()
	_, cfg := parseTestConfig(tb, env(dir, map[string]string{"FOLLOWUP_SECRET_FILE": secretFile}))
	m := NewMain(cfg, io.Discard, io.Discard)
	m.Now = clockFor(dir)
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		tb.Fatal(err)
	}
	defer m.Close()
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		u, err := m.DB.UserByEmail(ctx, email)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := m.Service.FeedLinks(ctx, u.ID); err != nil {
			tb.Errorf("%s's feed: %v", email, err)
		}
	}
	u, _ := m.DB.UserByEmail(ctx, "ada@example.com")
	conn, err := m.DB.CalDAV(ctx, u.ID)
	if err != nil {
		tb.Fatal(err)
	}
	if pw, err := m.Sealer.Open(conn.SealedPassword); err != nil || pw != "dav password 1" {
		tb.Errorf("CalDAV password %q, %v", pw, err)
	}
	if len(conn.SealedBusyICS) != 1 {
		tb.Fatalf("busy_ics %q", conn.SealedBusyICS)
	}
	if addr, err := m.Sealer.Open(conn.SealedBusyICS[0]); err != nil || addr != secretICS {
		tb.Errorf("busy_ics address %q, %v", addr, err)
	}
}

// TestKeyMissingOrWrong starts on a database holding sealed secrets with no
// key file and with another key: both stop with a message naming the file
// and leave every file as it was; the right key then opens everything.
func TestKeyMissingOrWrong(t *testing.T) {
	dir := t.TempDir()
	sealedSetup(t, dir)
	keyFile := filepath.Join(dir, "secret.key")
	backup := filepath.Join(t.TempDir(), "backup.key")
	if err := os.Rename(keyFile, backup); err != nil {
		t.Fatal(err)
	}
	before := files(t, dir)

	err := openWith(dir, keyFile)
	if err == nil || !strings.Contains(err.Error(), keyFile) || !strings.Contains(err.Error(), "FOLLOWUP_SECRET_FILE") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("no key file: error %v, want one naming %s and FOLLOWUP_SECRET_FILE", err, keyFile)
	}
	if diff := cmp.Diff(before, files(t, dir)); diff != "" {
		t.Fatalf("a start without the key changed files (-before +after):\n%s", diff)
	}

	if _, err := secret.CreateKey(keyFile); err != nil {
		t.Fatal(err)
	}
	before = files(t, dir)
	err = openWith(dir, keyFile)
	if err == nil || !strings.Contains(err.Error(), keyFile) || !strings.Contains(err.Error(), "sealed with key") {
		t.Fatalf("another key: error %v, want one naming %s and the key", err, keyFile)
	}
	if diff := cmp.Diff(before, files(t, dir)); diff != "" {
		t.Fatalf("a start with another key changed files (-before +after):\n%s", diff)
	}

	checkSecrets(t, dir, backup)
}

// TestKeyRotate re-seals every secret with a new key: afterwards the old
// key is refused and the new one opens everything.
func TestKeyRotate(t *testing.T) {
	dir := t.TempDir()
	sealedSetup(t, dir)
	oldKey := filepath.Join(dir, "secret.key")
	newKey := filepath.Join(t.TempDir(), "new.key")

	if _, _, err := cliWith(dir, "", nil, "key", "rotate", "--new-secret-file", oldKey); err == nil {
		t.Errorf("rotating to the key in use: no error")
	}
	out := cli(t, dir, "key", "rotate", "--new-secret-file", newKey)
	if !strings.Contains(out, "re-sealed 4 secrets") {
		t.Errorf("rotate printed %q, want 4 secrets re-sealed (2 feed tokens, 1 password, 1 busy_ics address)", out)
	}
	if fi, err := os.Stat(newKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new key file: %v %v", fi, err)
	}
	if err := openWith(dir, oldKey); err == nil || !strings.Contains(err.Error(), oldKey) {
		t.Errorf("the old key after rotation: %v, want an error naming %s", err, oldKey)
	}
	checkSecrets(t, dir, newKey)

	// Back to a key made beforehand: an existing file is used as it is.
	third := filepath.Join(t.TempDir(), "third.key")
	k, err := secret.CreateKey(third)
	if err != nil {
		t.Fatal(err)
	}
	getenv := env(dir, map[string]string{"FOLLOWUP_SECRET_FILE": newKey})
	var sb strings.Builder
	if err := run(context.Background(), []string{"key", "rotate", "--new-secret-file", third}, sys{stdout: &sb, stderr: io.Discard, getenv: getenv, now: clockFor(dir)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), secret.KeyID(k)) {
		t.Errorf("rotate printed %q, want the new key's id %s", sb.String(), secret.KeyID(k))
	}
	checkSecrets(t, dir, third)
}

// TestKeyUnrecorded starts on a database from before the key record
// (sealed secrets, no record): another key is refused, as it cannot open
// them, and the right key is accepted and recorded.
func TestKeyUnrecorded(t *testing.T) {
	dir := t.TempDir()
	sealedSetup(t, dir)
	db, err := sql.Open("sqlite", filepath.Join(dir, "followup.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM secret_key`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	other := filepath.Join(t.TempDir(), "other.key")
	if _, err := secret.CreateKey(other); err != nil {
		t.Fatal(err)
	}
	before := files(t, dir)
	if err := openWith(dir, other); err == nil || !strings.Contains(err.Error(), "does not open") || !strings.Contains(err.Error(), other) {
		t.Fatalf("another key on an unrecorded database: %v", err)
	}
	if diff := cmp.Diff(before, files(t, dir)); diff != "" {
		t.Fatalf("a refused start changed files (-before +after):\n%s", diff)
	}
	checkSecrets(t, dir, filepath.Join(dir, "secret.key"))
	if err := openWith(dir, other); err == nil || !strings.Contains(err.Error(), "sealed with key") {
		t.Fatalf("another key once the right one is recorded: %v", err)
	}
}

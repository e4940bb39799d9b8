package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/store"
)

// TestLegacyBusyICSSealedAtStart: a busy_ics address that a version before
// sealing stored in clear is sealed when the program opens the database,
// and `caldav show` shows it masked.
func TestLegacyBusyICSSealedAtStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cli(t, dir, "user", "add", "--email", "ada@example.com", "--password", "correct horse")
	const addr = "https://ada:ics-pass-81be@calendar.example.com/private/s3cr3t-token-7f2a9c/basic.ics"

	db, err := store.Open("sqlite:"+filepath.Join(dir, "followup.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	err = db.PutCalDAV(ctx, followup.CalDAVConnection{UserID: u.ID, URL: "https://dav.example.com", Username: "ada",
		SealedPassword: "v1:unused", SealedBusyICS: []string{addr}, CreatedAt: now, UpdatedAt: now})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	out := cli(t, dir, "caldav", "show", "--email", "ada@example.com")
	if !strings.Contains(out, `"https://calendar.example.com/….ics"`) || strings.Contains(out, "s3cr3t") || strings.Contains(out, "ics-pass") {
		t.Errorf("caldav show:\n%s\nwant the address masked", out)
	}

	db, err = store.Open("sqlite:"+filepath.Join(dir, "followup.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.CalDAV(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(conn.SealedBusyICS) != 1 || strings.Contains(conn.SealedBusyICS[0], "calendar.example.com") {
		t.Errorf("stored busy_ics %q after a start, want it sealed", conn.SealedBusyICS)
	}
}

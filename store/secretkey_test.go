package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/store"
)

// sealedValues reads every sealed value of the database: feed tokens by
// user, then CalDAV passwords and busy_ics addresses by user, then the
// addresses that key busy state.
func sealedValues(tb testing.TB, db *store.DB, users ...int64) []string {
	tb.Helper()
	ctx := context.Background()
	var out []string
	for _, id := range users {
		v, err := db.FeedToken(ctx, id)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, v)
	}
	for _, id := range users {
		c, err := db.CalDAV(ctx, id)
		if followup.ErrorCode(err) == followup.ENOTFOUND {
			continue
		} else if err != nil {
			tb.Fatal(err)
		}
		out = append(out, c.SealedPassword)
		out = append(out, c.SealedBusyICS...)
	}
	for _, id := range users {
		srcs, err := db.BusySources(ctx, id)
		if err != nil {
			tb.Fatal(err)
		}
		for _, b := range srcs {
			out = append(out, "state:"+b.URL)
		}
	}
	return out
}

// TestKeyState reads the key record and a sealed value without changing a
// database, also one never migrated.
func TestKeyState(t *testing.T) {
	ctx := context.Background()
	fresh, err := store.Open(emptyDSN(t), store.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if st, err := fresh.KeyState(ctx); err != nil || st != (store.KeyState{}) {
		t.Fatalf("fresh database: %+v, %v", st, err)
	}
	if st, err := fresh.KeyState(ctx); err != nil || st != (store.KeyState{}) {
		t.Fatalf("fresh database read twice: %+v, %v (the first read changed it)", st, err)
	}

	db := MustOpenDB(t)
	if st, err := db.KeyState(ctx); err != nil || st != (store.KeyState{}) {
		t.Fatalf("migrated, empty: %+v, %v", st, err)
	}
	u := mustUser(t, db, "a@example.com")
	if err := db.PutCalDAV(ctx, followup.CalDAVConnection{UserID: u.ID, URL: "https://dav.example", SealedPassword: "v1:pw", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if st, err := db.KeyState(ctx); err != nil || st != (store.KeyState{Sample: "v1:pw"}) {
		t.Fatalf("a sealed CalDAV password: %+v, %v", st, err)
	}
	if err := db.SetFeedToken(ctx, u.ID, []byte("h"), "v1:feed"); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordKey(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if st, err := db.KeyState(ctx); err != nil || st.KeyID != "k1" || st.Sample == "" {
		t.Fatalf("recorded: %+v, %v", st, err)
	}
}

// TestRotateKey re-seals every sealed value in one transaction: one value
// that fails, or a record of another key, changes nothing.
func TestRotateKey(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b := mustUser(t, db, "a@example.com"), mustUser(t, db, "b@example.com")
	for i, id := range []int64{a.ID, b.ID} {
		if err := db.SetFeedToken(ctx, id, []byte{byte(i)}, "feed-"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutCalDAV(ctx, followup.CalDAVConnection{UserID: b.ID, URL: "https://dav.example", SealedPassword: "pw-b", SealedBusyICS: []string{"ics-1", "ics-2"}, CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutBusySource(ctx, followup.BusySource{UserID: b.ID, URL: "ics-1", Kind: "ics", UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordKey(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	before := sealedValues(t, db, a.ID, b.ID)
	if diff := cmp.Diff([]string{"feed-a", "feed-b", "pw-b", "ics-1", "ics-2", "state:ics-1"}, before); diff != "" {
		t.Fatalf("setup (-want +got):\n%s", diff)
	}

	failing := func(s string) (string, error) {
		if s == "ics-2" {
			return "", errors.New("cannot open")
		}
		return "new:" + s, nil
	}
	if _, err := db.RotateKey(ctx, "k1", "k2", failing); err == nil {
		t.Fatal("a value that cannot be re-sealed: no error")
	}
	if _, err := db.RotateKey(ctx, "k0", "k2", func(s string) (string, error) { return "new:" + s, nil }); err == nil || !strings.Contains(err.Error(), "k1") {
		t.Fatalf("rotating from a key not recorded: %v", err)
	}
	if diff := cmp.Diff(before, sealedValues(t, db, a.ID, b.ID)); diff != "" {
		t.Fatalf("a failed rotation changed values (-before +after):\n%s", diff)
	}
	if st, _ := db.KeyState(ctx); st.KeyID != "k1" {
		t.Fatalf("a failed rotation changed the key record to %q", st.KeyID)
	}

	n, err := db.RotateKey(ctx, "k1", "k2", func(s string) (string, error) { return "new:" + s, nil })
	if err != nil || n != 5 {
		t.Fatalf("rotate: %d, %v; want 5 values", n, err)
	}
	want := []string{"new:feed-a", "new:feed-b", "new:pw-b", "new:ics-1", "new:ics-2", "state:new:ics-1"}
	if diff := cmp.Diff(want, sealedValues(t, db, a.ID, b.ID)); diff != "" {
		t.Fatalf("after rotation (-want +got):\n%s", diff)
	}
	if st, _ := db.KeyState(ctx); st.KeyID != "k2" {
		t.Fatalf("key record after rotation: %q, want k2", st.KeyID)
	}
}

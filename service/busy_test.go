package service_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/followup/followup"
)

// limitedICS serves busy ICS sources: each URL holds n busy times and a
// notice, as caldav.FetchBusy reports them.
type limitedICS struct {
	mu      sync.Mutex
	n       map[string]int
	notice  map[string]string
	fetched []string
	// during, when set, runs inside each fetch (to cancel the sync).
	during func()
}

func (f *limitedICS) FetchBusy(ctx context.Context, url string, from, to time.Time, prev followup.ICSState) (followup.ICSRead, error) {
	f.mu.Lock()
	f.fetched = append(f.fetched, url)
	during := f.during
	f.mu.Unlock()
	if during != nil {
		during()
	}
	if err := ctx.Err(); err != nil {
		return followup.ICSRead{}, err
	}
	if prev.From.Equal(from) {
		return followup.ICSRead{State: prev}, nil
	}
	ivs := make([]followup.Interval, f.n[url])
	for i := range ivs {
		s := from.Add(time.Duration(i) * time.Minute)
		ivs[i] = followup.Interval{Start: s, End: s.Add(time.Minute)}
	}
	return followup.ICSRead{State: followup.ICSState{From: from, To: to, Intervals: ivs, Notice: f.notice[url]}, Changed: true}, nil
}

func (f *limitedICS) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.fetched)
}

// TestSyncBusyLimits: a source over its limit is named in the sync's
// notices and the connection's status, also while it does not change; once
// a sync has read 50,000 busy times, the other sources wait, and are named.
func TestSyncBusyLimits(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	h.svc.Calendars = newFakeCalDAV()
	a, b, c, d := "https://a.example/s3cret/a.ics", "https://b.example/b.ics", "https://c.example/c.ics", "https://ada:pw@d.example/private/d.ics"
	over := "busy source https://a.example/…: 30,000 events; only the first 20,000 busy times inside the planning window were read."
	ics := &limitedICS{n: map[string]int{a: 20000, b: 20000, c: 20000, d: 10}, notice: map[string]string{a: over}}
	h.svc.ICS = ics
	u := h.user("busy@example.com", "Europe/Berlin")
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw", BusyICS: []string{a, b, c, d}}); err != nil {
		t.Fatal(err)
	}
	waited := "busy source https://d.example/….ics was not read: this sync already read 50000 busy times from other sources."
	for i := range 2 {
		rep, err := h.svc.Sync(h.ctx, u.ID)
		if err != nil || len(rep.Errors) != 0 {
			t.Fatalf("sync %d: %+v, %v", i, rep, err)
		}
		if want := []string{over, waited}; !slices.Equal(rep.Notices, want) {
			t.Errorf("sync %d notices %q, want %q", i, rep.Notices, want)
		}
		conn, err := h.svc.CalDAV(h.ctx, u.ID)
		if err != nil || conn.LastError != over+" "+waited {
			t.Errorf("sync %d: status %q, %v; want both notices", i, conn.LastError, err)
		}
		if slices.Contains(ics.calls(), d) {
			t.Errorf("sync %d read %s past the limit", i, d)
		}
		if strings.Contains(conn.LastError, "s3cret") || strings.Contains(conn.LastError, "pw@") {
			t.Errorf("status shows a secret: %q", conn.LastError)
		}
	}
}

// TestSyncCancelledStopsBusyReads: a sync cancelled while it reads a busy
// source reads no further sources and records nothing as an error.
func TestSyncCancelledStopsBusyReads(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	h.svc.Calendars = newFakeCalDAV()
	srcs := []string{"https://a.example/a.ics", "https://b.example/b.ics", "https://c.example/c.ics"}
	ics := &limitedICS{n: map[string]int{}}
	h.svc.ICS = ics
	u := h.user("cancel@example.com", "Europe/Berlin")
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw", BusyICS: srcs}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	ics.during = cancel
	if _, err := h.svc.Sync(ctx, u.ID); err == nil {
		t.Error("cancelled sync succeeded")
	}
	if got := ics.calls(); len(got) != 1 {
		t.Errorf("cancelled sync fetched %v, want only %s", got, srcs[0])
	}
	if conn, _ := h.svc.CalDAV(h.ctx, u.ID); conn.LastError != "" {
		t.Errorf("status %q after a cancelled sync, want none", conn.LastError)
	}
}

package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/followup/followup/caldav"
	"github.com/followup/followup/internal/davtest"
	"github.com/followup/followup/netguard"
)

// TestFeedPage: the feed URL with a copy button, the webcal link and a QR
// code; rotation only behind a confirmation, and the old URL dies at once.
func TestFeedPage(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "feed-page@example.com")
	old := h.feedPath(t, u)
	p := b.get(t, "/feed")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "https://followup.example"+old, `href="webcal://followup.example`+old+`"`, `data-copy="feed-url"`,
		`<svg class="qr"`, `<label for="feed-url">`, `name="confirm" value="yes"`)

	unconfirmed := b.post(t, "/feed/rotate", nil)
	wantStatus(t, unconfirmed, http.StatusUnprocessableEntity)
	wantContains(t, unconfirmed, `id="confirm-error"`)
	wantStatus(t, b.post(t, "/feed/rotate", url.Values{"confirm": {"yes"}, "csrf": {"-"}}), http.StatusForbidden)
	if h.feedPath(t, u) != old {
		t.Fatalf("a refused rotation changed the feed")
	}
	wantRedirect(t, b.post(t, "/feed/rotate", url.Values{"confirm": {"yes"}}), "/feed?rotated=1")
	now := h.feedPath(t, u)
	if now == old {
		t.Fatalf("the feed kept its address")
	}
	if r := h.send(t, request{Method: "GET", Path: old}); r.Status != http.StatusNotFound {
		t.Errorf("old feed answers %d", r.Status)
	}
	wantContains(t, b.get(t, "/feed?rotated=1"), "no longer works", now)
}

// TestQRCode: the QR code is a real one (its modules form the
// finder patterns in three corners) and holds nothing but the webcal link.
func TestQRCode(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "qr@example.com")
	p := b.get(t, "/feed")
	i := strings.Index(p.Body, `<svg class="qr"`)
	if i < 0 {
		t.Fatal("no QR code")
	}
	svg := p.Body[i : i+strings.Index(p.Body[i:], "</svg>")]
	// A version-4+ code at level M has at least 33 modules, plus 8 of quiet zone.
	if !strings.Contains(svg, `viewBox="0 0 `) || strings.Count(svg, "h1v1h-1z") < 300 {
		t.Errorf("QR code too small: %d modules", strings.Count(svg, "h1v1h-1z"))
	}
	// The top-left finder pattern: a 7×7 ring starting at the quiet zone (4,4).
	for x := 4; x < 11; x++ {
		if !strings.Contains(svg, "M"+itoa(int64(x))+" 4h1v1h-1z") {
			t.Errorf("finder pattern lacks module (%d,4)", x)
		}
	}
}

// TestCalendarPage: connect a real CalDAV server (Radicale), see its
// calendars, pick the busy ones, sync now, and read the status in words.
func TestCalendarPage(t *testing.T) {
	srv := davtest.Radicale(t)
	h := newHarness(t)
	client := caldav.New(netguard.NewClient(netguard.Options{AllowPrivate: true}))
	h.svc.Calendars, h.svc.ICS = client, client
	u, b := h.signedIn(t, "cal-page@example.com")
	p := b.get(t, "/calendar")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `<label for="url">`, `<label for="username">`, `<label for="password">`)

	bad := b.post(t, "/calendar", url.Values{"url": {srv.URL}, "username": {srv.Username}, "password": {"wrong"}})
	wantStatus(t, bad, http.StatusUnprocessableEntity)
	wantContains(t, bad, `value="`+srv.URL+`"`)
	if f := h.fingerprint(t, u); f.CalDAV != 0 {
		t.Fatalf("a refused connection was stored")
	}
	wantStatus(t, b.post(t, "/calendar", url.Values{"url": {srv.URL}, "username": {srv.Username}, "password": {srv.Password}, "csrf": {"-"}}), http.StatusForbidden)

	wantRedirect(t, b.post(t, "/calendar", url.Values{"url": {srv.URL}, "username": {srv.Username}, "password": {srv.Password}}), "/calendar?connected=1")
	p = b.get(t, "/calendar?connected=1")
	wantContains(t, p, "Connected.", "Follow-ups", `name="calendar"`, "Sync now", "Last sync", "Last error")
	conn, err := h.svc.CalDAV(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Pick no busy calendar: the checkboxes were shown, none ticked.
	wantRedirect(t, b.post(t, "/calendar", url.Values{"pick": {"1"}, "url": {conn.URL}, "username": {conn.Username}, "calendar": {conn.CalendarURL}}), "/calendar?connected=1")
	if conn, _ = h.svc.CalDAV(t.Context(), u.ID); len(conn.BusyCalendars) != 0 {
		t.Errorf("busy calendars %v, want none", conn.BusyCalendars)
	}
	synced := b.post(t, "/calendar/sync", nil)
	wantStatus(t, synced, http.StatusOK)
	wantContains(t, synced, "Synced.", "This sync wrote")
	if conn, _ = h.svc.CalDAV(t.Context(), u.ID); conn.LastSyncAt == nil {
		t.Errorf("no last sync after sync now")
	}
	_, other := h.signedIn(t, "cal-other@example.com")
	if p := other.get(t, "/calendar"); strings.Contains(p.Body, srv.URL) {
		t.Errorf("another user sees the connection")
	}
	wantRedirect(t, b.post(t, "/calendar/disconnect", nil), "/calendar")
	if f := h.fingerprint(t, u); f.CalDAV != 0 {
		t.Errorf("disconnect kept the account")
	}
}

// TestCalendarSyncWithoutAccount: sync now without a connection says so.
func TestCalendarSyncWithoutAccount(t *testing.T) {
	h := newHarness(t)
	_, b := h.signedIn(t, "nosync@example.com")
	b.get(t, "/calendar")
	p := b.post(t, "/calendar/sync", nil)
	if p.Status < 400 || p.Status >= 500 {
		t.Fatalf("status %d", p.Status)
	}
	wantContains(t, p, "The sync failed")
}

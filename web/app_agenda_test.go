package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAgendaPage: today's and the week's blocks with drafts and buttons,
// the week view with busy time beside the blocks, and late blocks marked.
func TestAgendaPage(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "agenda@example.com")
	h.create(t, u, map[string]any{
		"contact": map[string]any{"name": "Jane Doe"}, "promise": "Send the deck",
		"meeting": map[string]any{"start": "2026-11-25T10:00:00-05:00", "minutes": 45, "location": "Blue Bottle"},
	})
	// A deadline twenty minutes away cannot hold a 30-minute block: late.
	h.create(t, u, map[string]any{
		"contact": map[string]any{"name": "Rushed Person"}, "promise": "Call back",
		"due": start.Add(20 * time.Minute).Format(time.RFC3339),
	})
	p := b.get(t, "/agenda")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "Today", "Week of Mon 23 Nov", "Jane Doe", "Rushed Person", `<svg class="week"`,
		`class="busy"`, `<title>Meeting Wed 10:00–10:45</title>`, `class="blk late"`, "late block", `class="block late"`,
		"Drafted message", `data-copy="week-draft-`, `name="action" value="contacted"`, `name="back" value="/agenda"`)
	// Every block in the week view is a link to its commitment with an
	// accessible name, and a 15-minute thank-you note is tall enough to
	// carry the contact's name.
	short := regexp.MustCompile(`<a href="/commitments/\d+" aria-label="Send a thank-you note — Jane Doe, \w{3} \d\d:\d\d–\d\d:\d\d"><title>[^<]+</title><rect [^>]+/><svg [^>]+><text[^>]*>Jane Doe</text></svg></a>`)
	if !short.MatchString(p.Body) {
		t.Errorf("the week view's 15-minute block is no named link with its contact's name")
	}
	if strings.Count(p.Body, `id="today-draft-`) == 0 {
		t.Errorf("today's blocks carry no drafts")
	}
	next := b.get(t, "/agenda?week=2026-11-30")
	wantStatus(t, next, http.StatusOK)
	wantContains(t, next, "Week of Mon 30 Nov")
	if strings.Contains(next.Body, "<h2>Today</h2>") {
		t.Errorf("another week shows today")
	}
	for _, bad := range []string{"?week=tomorrow", "?week=2026-13-01", "?week=0001-01-01"} {
		wantStatus(t, b.get(t, "/agenda"+bad), http.StatusBadRequest)
	}
	_, other := h.signedIn(t, "agenda-other@example.com")
	if p := other.get(t, "/agenda"); strings.Contains(p.Body, "Jane Doe") {
		t.Errorf("another user's agenda shows Jane")
	}
	wantRedirect(t, h.browser(t).get(t, "/agenda"), "/login?next=%2Fagenda")
}

// TestAgendaMarkContacted: the agenda's button records the action and
// comes back to the agenda.
func TestAgendaMarkContacted(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "agenda-act@example.com")
	c := h.create(t, u, validCommitment("", ""))
	b.get(t, "/agenda")
	wantRedirect(t, b.post(t, "/commitments/"+itoa(c.ID)+"/actions", url.Values{"action": {"contacted"}, "back": {"/agenda"}}), "/agenda")
	got, err := h.svc.Get(t.Context(), u.ID, c.ID)
	if err != nil || got.ContactedAt == nil {
		t.Fatalf("not contacted: %v", err)
	}
}

// TestAgendaWeekViewDST: the week view reads wall clock in the user's
// zone, so a 09:00 block is drawn at 09:00 on both sides of a DST change.
func TestAgendaWeekViewDST(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(time.Date(2026, 10, 30, 15, 0, 0, 0, mustZone("America/New_York"))) // Friday before DST ends (Sunday Nov 1)
	u, b := h.signedIn(t, "dst@example.com")
	h.create(t, u, map[string]any{
		"contact": map[string]any{"name": "After DST"}, "promise": "Meet",
		"meeting": map[string]any{"start": "2026-11-02T09:00:00-05:00", "minutes": 60},
	})
	p := b.get(t, "/agenda?week=2026-11-02")
	wantStatus(t, p, http.StatusOK)
	// 09:00 is one hour below the first hour shown (work hours start at 9:
	// the grid starts at 09:00 → y = header 40).
	wantContains(t, p, `<title>Meeting Mon 09:00–10:00</title>`, `y="40.0"`)
}

// TestHomePage: today's blocks with their drafts and buttons, the log form
// one tap away, and headings in order (h1, then h2 per block).
func TestHomePage(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(time.Date(2026, 11, 24, 8, 0, 0, 0, mustZone("America/New_York"))) // Tuesday before work
	u, b := h.signedIn(t, "home@example.com")
	h.create(t, u, validCommitment("", ""))
	p := b.get(t, "/")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `href="/commitments/new"`, "Today, Tue 24 Nov", `<h2 class="block-title">`, "Send a thank-you note — Jane Doe",
		`name="action" value="contacted"`, `name="back" value="/"`)
	if strings.Contains(p.Body, "<h3") {
		t.Errorf("the start page skips from h1 to h3")
	}
}

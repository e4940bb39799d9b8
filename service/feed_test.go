package service_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// TestFeedLinksAndRotate checks the feed token's life: made with the
// account, stable, and dead at once after a rotation.
func TestFeedLinksAndRotate(t *testing.T) {
	h := newHarness(t, utc(11, 23, 20, 0))
	u := h.user("feed@example.com", "America/New_York")
	other := h.user("feed-other@example.com", "America/New_York")

	links, err := h.svc.FeedLinks(h.ctx, u.ID)
	if err != nil {
		t.Fatalf("FeedLinks: %v", err)
	}
	token := tokenOf(t, links)
	if len(token) != 43 {
		t.Errorf("token %q has %d characters, want 43 (256 bits, base64url)", token, len(token))
	}
	if want := "webcal://followup.example/feeds/" + token + ".ics"; links.Webcal != want {
		t.Errorf("Webcal = %q, want %q", links.Webcal, want)
	}
	again, err := h.svc.FeedLinks(h.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again != links {
		t.Errorf("FeedLinks changed without a rotation: %+v -> %+v", links, again)
	}
	otherLinks, err := h.svc.FeedLinks(h.ctx, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if otherLinks == links {
		t.Errorf("two users share the feed address %s", links.URL)
	}
	v, err := h.svc.FeedVersion(h.ctx, token)
	if err != nil {
		t.Fatalf("FeedVersion: %v", err)
	}
	if v.UserID != u.ID {
		t.Errorf("FeedVersion(token).UserID = %d, want %d", v.UserID, u.ID)
	}

	rotated, err := h.svc.RotateFeed(h.ctx, u.ID)
	if err != nil {
		t.Fatalf("RotateFeed: %v", err)
	}
	newToken := tokenOf(t, rotated)
	if newToken == token {
		t.Fatalf("RotateFeed kept the token")
	}
	_, err = h.svc.FeedVersion(h.ctx, token)
	errCode(t, err, followup.ENOTFOUND, "")
	if v, err := h.svc.FeedVersion(h.ctx, newToken); err != nil || v.UserID != u.ID {
		t.Errorf("FeedVersion(new token) = %+v, %v; want user %d", v, err, u.ID)
	}
	if l, err := h.svc.FeedLinks(h.ctx, u.ID); err != nil || l != rotated {
		t.Errorf("FeedLinks after rotation = %+v, %v; want %+v", l, err, rotated)
	}
	if l, err := h.svc.FeedLinks(h.ctx, other.ID); err != nil || l != otherLinks {
		t.Errorf("another user's feed changed with the rotation: %+v, %v", l, err)
	}
	// A restart keeps the token (it is stored sealed, and opened again).
	h.reopen()
	if l, err := h.svc.FeedLinks(h.ctx, u.ID); err != nil || l != rotated {
		t.Errorf("FeedLinks after a restart = %+v, %v; want %+v", l, err, rotated)
	}

	for _, bad := range []string{"", "short", strings.Repeat("a", 43), strings.Repeat("a", 42) + "/", strings.Repeat("a", 200), token + "x"} {
		_, err := h.svc.FeedVersion(h.ctx, bad)
		errCode(t, err, followup.ENOTFOUND, "")
	}
}

// TestFeedVersionChanges checks that every change the feed shows gives a
// new ETag, and that the document is rendered once per version.
func TestFeedVersionChanges(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, ny).UTC() }
	h := newHarness(t, at(11, 23, 15, 0))
	u := h.user("etag@example.com", "America/New_York")
	links, err := h.svc.FeedLinks(h.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	token := tokenOf(t, links)

	var a, b followup.Commitment
	seen := map[string]string{}
	steps := []struct {
		name   string
		at     time.Time
		change func()
	}{
		{"create", at(11, 23, 15, 0), func() {
			a = h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Ann"}, Promise: "Send the deck"})
		}},
		{"create another", at(11, 23, 15, 5), func() {
			b = h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Bob"}, Promise: "Intro to Carol"})
		}},
		{"contacted", at(11, 24, 8, 30), func() { h.act(u.ID, a.ID, followup.ActionContacted) }},
		{"settings", at(11, 24, 8, 31), func() {
			st := followup.DefaultSettings("America/New_York")
			st.AlarmMinutes = 30
			if _, err := h.svc.PutSettings(h.ctx, u.ID, st); err != nil {
				t.Fatal(err)
			}
		}},
		{"tick lets b go", at(12, 3, 15, 10), func() { h.tick() }},
		{"delete", at(12, 3, 16, 0), func() {
			if err := h.svc.Delete(h.ctx, u.ID, a.ID); err != nil {
				t.Fatal(err)
			}
		}},
	}
	prev, err := h.svc.FeedVersion(h.ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	seen[prev.ETag] = "start"
	calls := h.enc.Calls()
	for _, s := range steps {
		h.clock.Set(s.at)
		s.change()
		v, err := h.svc.FeedVersion(h.ctx, token)
		if err != nil {
			t.Fatalf("%s: FeedVersion: %v", s.name, err)
		}
		if was, ok := seen[v.ETag]; ok {
			t.Errorf("%s: ETag %s is the one after %s", s.name, v.ETag, was)
		}
		seen[v.ETag] = s.name
		if want := s.at.Truncate(time.Second); !v.LastModified.Equal(want) {
			t.Errorf("%s: LastModified %v, want %v", s.name, v.LastModified, want)
		}

		doc, err := h.svc.FeedDocument(h.ctx, v)
		if err != nil {
			t.Fatalf("%s: FeedDocument: %v", s.name, err)
		}
		calls++
		if got := h.enc.Calls(); got != calls {
			t.Errorf("%s: %d renderings, want %d (one per version)", s.name, got, calls)
		}
		again, err := h.svc.FeedDocument(h.ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.enc.Calls(); got != calls || !bytes.Equal(doc, again) {
			t.Errorf("%s: the same version was rendered again (%d renderings) or differs", s.name, got)
		}
		// The document holds exactly the feed's events.
		var wantUIDs []string
		for _, uid := range h.feedUIDs(u.ID) {
			wantUIDs = append(wantUIDs, "UID:"+uid)
		}
		var gotUIDs []string
		for _, line := range strings.Split(string(doc), "\r\n") {
			if strings.HasPrefix(line, "UID:") {
				gotUIDs = append(gotUIDs, line)
			}
		}
		if diff := cmp.Diff(wantUIDs, slices.Sorted(slices.Values(gotUIDs))); diff != "" {
			t.Errorf("%s: UIDs in the document (-want +got):\n%s", s.name, diff)
		}
		if !bytes.HasPrefix(doc, []byte("BEGIN:VCALENDAR\r\n")) {
			t.Errorf("%s: document does not start with BEGIN:VCALENDAR: %.40q", s.name, doc)
		}
	}
	if got := h.get(u.ID, b.ID).Status; got != followup.StatusLetGo {
		t.Errorf("b's status after the tick = %s, want let_go", got)
	}
	if uids := h.feedUIDs(u.ID); len(uids) != 0 {
		t.Errorf("feed after let-go and delete holds %d events, want 0", len(uids))
	}
}

// slowLiveBlocks is a store whose LiveBlocks, the read that starts a
// feed's whole render, takes a while and counts how many run at once.
type slowLiveBlocks struct {
	followup.Store
	mu            sync.Mutex
	running, most int
}

func (s *slowLiveBlocks) LiveBlocks(ctx context.Context, userID int64, since time.Time) ([]followup.Step, error) {
	s.mu.Lock()
	s.running++
	s.most = max(s.most, s.running)
	s.mu.Unlock()
	time.Sleep(30 * time.Millisecond)
	defer func() {
		s.mu.Lock()
		s.running--
		s.mu.Unlock()
	}()
	return s.Store.LiveBlocks(ctx, userID, since)
}

// TestFeedRendersAtOnce asks for six users' feeds at once: no more than
// MaxFeedRenders are rendered at the same time, as each holds its blocks
// in memory until it is written, and every feed is served.
func TestFeedRendersAtOnce(t *testing.T) {
	h := newHarness(t, utc(11, 23, 20, 0))
	var versions []followup.FeedVersion
	for i := range 6 {
		u := h.user(fmt.Sprintf("render%d@example.com", i), "America/New_York")
		h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Ann"}, Promise: "Send the deck"})
		versions = append(versions, h.feedVersion(u.ID))
	}
	store := &slowLiveBlocks{Store: h.db}
	_, svc := h.instance()
	svc.Store, svc.MaxFeedRenders = store, 2
	var wg sync.WaitGroup
	docs := make([][]byte, len(versions))
	for i, v := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			doc, err := svc.FeedDocument(h.ctx, v)
			if err != nil {
				t.Error(err)
			}
			docs[i] = doc
		}()
	}
	wg.Wait()
	if store.most > 2 {
		t.Errorf("%d feeds were rendered at once, want at most MaxFeedRenders = 2", store.most)
	}
	for i, doc := range docs {
		if !bytes.Contains(doc, []byte("BEGIN:VEVENT")) {
			t.Errorf("feed %d has no event:\n%s", i, doc)
		}
	}
}

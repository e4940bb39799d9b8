package service

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/followup/followup/ics"
	"github.com/followup/followup/store"
)

// render is a kept render of size bytes at version rev.
func render(rev int64, size int) *feedRender {
	return &feedRender{rev: rev, body: make([]byte, size)}
}

// TestFeedCacheBound: the renders kept stay within the bound, the least
// recently served going first; one larger than the bound is not kept, and
// a render of an older version does not replace a newer one.
func TestFeedCacheBound(t *testing.T) {
	c := newFeedCache(1000)
	for u := int64(1); u <= 3; u++ {
		c.put(u, render(1, 300))
	}
	c.get(1) // 1 was served last, 2 is the least recent
	c.put(4, render(1, 300))
	if c.get(2) != nil || c.get(1) == nil || c.get(3) == nil || c.get(4) == nil {
		t.Errorf("after a fourth render: 2 kept or another dropped")
	}
	if got := c.bytes(); got > 1000 {
		t.Errorf("%d bytes kept, bound 1000", got)
	}
	c.put(5, render(1, 1001))
	if c.get(5) != nil {
		t.Error("a render larger than the bound was kept")
	}
	c.put(3, render(7, 100))
	c.put(3, render(6, 100))
	if r := c.get(3); r == nil || r.rev != 7 {
		t.Errorf("user 3's render is %+v, want version 7", r)
	}
	c.drop(3)
	if c.get(3) != nil || c.bytes() != 2*(300+0) {
		t.Errorf("after drop: %d bytes kept, want 600", c.bytes())
	}
	off := newFeedCache(-1)
	off.put(1, render(1, 0))
	if off.get(1) != nil {
		t.Error("a cache bounded below zero kept a render")
	}
}

// TestRotateFeedDropsRender: a rotated feed's render is not kept.
func TestRotateFeedDropsRender(t *testing.T) {
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC) }
	db, err := store.Open("sqlite:"+filepath.Join(t.TempDir(), "db.sqlite"), store.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s := &Service{Store: db, Now: clock, BaseURL: "https://followup.example", Encoder: ics.FeedEncoder{}}
	u, err := s.CreateUser(ctx, "rotate@example.com", "correct horse battery", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	links, err := s.FeedLinks(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	token := links.URL[len("https://followup.example/feeds/") : len(links.URL)-len(".ics")]
	v, err := s.FeedVersion(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FeedDocument(ctx, v); err != nil {
		t.Fatal(err)
	}
	if s.feeds().get(u.ID) == nil {
		t.Fatal("the render was not kept")
	}
	if _, err := s.RotateFeed(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if s.feeds().get(u.ID) != nil {
		t.Error("the rotated feed's render is still kept")
	}
}

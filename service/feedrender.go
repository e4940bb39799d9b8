package service

import (
	"context"
	"encoding/json"
	"runtime"
	"slices"
	"time"

	"github.com/followup/followup"
)

// feedName is the calendar's display name (X-WR-CALNAME).
const feedName = "Follow-ups"

// feedBlock is one block of a rendered feed.
type feedBlock struct {
	id         int64 // the step's
	start, end int64 // Unix microseconds: the feed's order (start, id) and window
	off, n     int   // its VEVENT in the render's body
}

// feedBlockBytes is what a feedBlock takes in memory.
const feedBlockBytes = 48

// feedRender is a user's feed as last rendered, kept to render the next
// version from: only the blocks whose steps changed since are written
// again, and the rest is copied from body.
type feedRender struct {
	etag string
	rev  int64  // the feed version (FeedVersion.Revision) its blocks are up to date with
	key  string // the settings and base URL its blocks were written with
	// blocks are in the feed's order, that of LiveBlocks.
	blocks []feedBlock
	// unstamped are the events of blocks without a Stamp, whose DTSTAMP
	// is the feed's time: they are written anew each time.
	unstamped map[int64]followup.Event
	// named are the commitments the habits' texts may name, as read at
	// rev: only those updated since are read again.
	named map[int64]followup.Commitment
	body  []byte
}

// size is about what r takes in memory.
func (r *feedRender) size() int64 {
	return int64(len(r.body)) + int64(len(r.blocks))*feedBlockBytes + int64(len(r.unstamped)+len(r.named))*1024
}

// FeedDocument renders the feed of a version found by FeedVersion. The
// last render of each user is kept (within FeedCacheBytes): the same
// version is served from it, and a later one is rendered from it,
// writing again only the blocks whose steps changed since its version
// (as the store says, whichever process wrote them). A change of the
// settings or of the base URL renders every block again.
//
// At most MaxFeedRenders renders run at once: a render holds its blocks'
// rows and texts until it is assembled (about 10 MB for 2,000 blocks
// rendered whole), and more renders than cores would only hold more of
// them at once. A request that waited finds the render another one made.
func (s *Service) FeedDocument(ctx context.Context, v followup.FeedVersion) ([]byte, error) {
	cache := s.feeds()
	prev := cache.get(v.UserID)
	if prev != nil && prev.etag == v.ETag {
		return prev.body, nil
	}
	release, err := s.renderSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if prev = cache.get(v.UserID); prev != nil && prev.etag == v.ETag {
		return prev.body, nil
	}
	r, err := s.renderFeed(ctx, v, prev)
	if err != nil {
		return nil, err
	}
	cache.put(v.UserID, r)
	return r.body, nil
}

// renderSlot waits for one of the MaxFeedRenders render slots and returns
// its release.
func (s *Service) renderSlot(ctx context.Context) (func(), error) {
	s.renderOnce.Do(func() {
		n := s.MaxFeedRenders
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		s.renders = make(chan struct{}, n)
	})
	select {
	case s.renders <- struct{}{}:
		return func() { <-s.renders }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// renderFeed renders version v, from prev when it can.
func (s *Service) renderFeed(ctx context.Context, v followup.FeedVersion, prev *feedRender) (*feedRender, error) {
	st, loc, err := settings(ctx, s.Store, v.UserID)
	if err != nil {
		return nil, err
	}
	w := &feedWriter{
		s: s, userID: v.UserID, st: st, loc: loc, now: v.LastModified,
		since: feedDay(s.now()).AddDate(0, 0, -FeedHistoryDays),
		r:     &feedRender{etag: v.ETag, rev: v.Revision, key: feedKey(st, s.BaseURL), unstamped: map[int64]followup.Event{}},
	}
	var blocks []piece
	known := map[int64]followup.Commitment{}
	if prev == nil || prev.key != w.r.key || prev.rev > v.Revision {
		blocks, err = w.allBlocks(ctx, known)
	} else {
		blocks, err = w.changedBlocks(ctx, prev, v.Purged)
		if err == nil {
			err = w.keptNamed(ctx, prev, known)
		}
	}
	if err != nil {
		return nil, err
	}
	habits, err := w.habitEvents(ctx, known)
	if err != nil {
		return nil, err
	}
	return w.assemble(blocks, habits)
}

// feedKey is what every block's text depends on besides its step and
// commitment: the settings (zone, alarm) and the base URL of the links.
func feedKey(st followup.Settings, baseURL string) string {
	b, _ := json.Marshal(st) // settings always encode
	return string(b) + "\x00" + baseURL
}

// piece is a block of the feed being rendered: its VEVENT, in the last
// render's body or just written.
type piece struct {
	feedBlock
	b []byte
}

// feedWriter renders one version of a user's feed.
type feedWriter struct {
	s      *Service
	userID int64
	st     followup.Settings
	loc    *time.Location
	now    time.Time // DTSTAMP of events without a Stamp: the feed's Last-Modified
	since  time.Time // blocks that ended before have left the feed
	r      *feedRender
	buf    []byte // where new pieces are written
}

// shows reports whether the feed shows step p, as LiveBlocks selects.
func (w *feedWriter) shows(p followup.Step) bool {
	return p.CommitmentID != 0 && p.Live() && p.End.After(w.since)
}

// allBlocks writes every block of the feed.
func (w *feedWriter) allBlocks(ctx context.Context, known map[int64]followup.Commitment) ([]piece, error) {
	steps, err := w.s.Store.LiveBlocks(ctx, w.userID, w.since)
	if err != nil {
		return nil, err
	}
	return w.newBlocks(ctx, steps, known)
}

// newBlocks writes the blocks of the steps the feed shows, in the feed's
// order, reading their commitments into known.
func (w *feedWriter) newBlocks(ctx context.Context, steps []followup.Step, known map[int64]followup.Commitment) ([]piece, error) {
	var ids []int64
	seen := map[int64]bool{}
	for _, p := range steps {
		if _, ok := known[p.CommitmentID]; !ok && !seen[p.CommitmentID] && w.shows(p) {
			seen[p.CommitmentID] = true
			ids = append(ids, p.CommitmentID)
		}
	}
	if len(ids) > 0 {
		meta, err := w.s.Store.CommitmentsByID(ctx, w.userID, ids)
		if err != nil {
			return nil, err
		}
		for id, c := range meta {
			known[id] = c
		}
	}
	out := make([]piece, 0, len(steps))
	for _, p := range steps {
		c, ok := known[p.CommitmentID]
		if !ok || !w.shows(p) {
			continue
		}
		pc, err := w.block(followup.BlockEvent(c, p, w.st, w.loc, w.s.BaseURL), p.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, pc)
	}
	slices.SortFunc(out, comparePieces)
	return out, nil
}

// comparePieces orders blocks as the feed does: by start, then step id.
func comparePieces(a, b piece) int {
	if a.start != b.start {
		return compareInt(a.start, b.start)
	}
	return compareInt(a.id, b.id)
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// block writes the event of step id.
func (w *feedWriter) block(ev followup.Event, id int64) (piece, error) {
	start := len(w.buf)
	var err error
	if w.buf, err = w.s.Encoder.AppendEvent(w.buf, &ev, w.now); err != nil {
		return piece{}, err
	}
	if ev.Stamp.IsZero() {
		w.r.unstamped[id] = ev
	}
	return piece{
		feedBlock: feedBlock{id: id, start: ev.Start.UnixMicro(), end: ev.End.UnixMicro()},
		b:         w.buf[start:len(w.buf):len(w.buf)],
	}, nil
}

// changedBlocks brings prev's blocks up to date: the steps changed since
// its version are written again (or leave), the blocks whose steps left
// the store leave (when any did since, see Feed.Purged), and so do those
// that ended before the feed's window.
func (w *feedWriter) changedBlocks(ctx context.Context, prev *feedRender, purged int64) ([]piece, error) {
	changed, err := w.s.Store.StepsChangedSince(ctx, w.userID, prev.rev)
	if err != nil {
		return nil, err
	}
	var exists map[int64]bool
	if purged > prev.rev {
		if exists, err = w.stepIDs(ctx); err != nil {
			return nil, err
		}
	}
	gone := make(map[int64]bool, len(changed))
	for _, p := range changed {
		gone[p.ID] = true
	}
	since := w.since.UnixMicro()
	kept := make([]piece, 0, len(prev.blocks)+len(changed))
	for _, b := range prev.blocks {
		if gone[b.id] || b.end <= since || exists != nil && !exists[b.id] {
			continue
		}
		if ev, ok := prev.unstamped[b.id]; ok {
			pc, err := w.block(ev, b.id)
			if err != nil {
				return nil, err
			}
			kept = append(kept, pc)
			continue
		}
		kept = append(kept, piece{feedBlock: b, b: prev.body[b.off : b.off+b.n]})
	}
	fresh, err := w.newBlocks(ctx, changed, map[int64]followup.Commitment{})
	if err != nil {
		return nil, err
	}
	return mergePieces(kept, fresh), nil
}

// stepIDs returns the ids of the user's steps in the store.
func (w *feedWriter) stepIDs(ctx context.Context) (map[int64]bool, error) {
	ids, err := w.s.Store.StepIDs(ctx, w.userID)
	if err != nil {
		return nil, err
	}
	exists := make(map[int64]bool, len(ids))
	for _, id := range ids {
		exists[id] = true
	}
	return exists, nil
}

// mergePieces merges two lists in the feed's order into one.
func mergePieces(a, b []piece) []piece {
	if len(b) == 0 {
		return a
	}
	out := make([]piece, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if comparePieces(a[0], b[0]) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// keptNamed adds to known the commitments prev read for the habits that
// were not updated since.
func (w *feedWriter) keptNamed(ctx context.Context, prev *feedRender, known map[int64]followup.Commitment) error {
	if len(prev.named) == 0 {
		return nil
	}
	changed, err := w.s.Store.CommitmentsChangedSince(ctx, w.userID, prev.rev)
	if err != nil {
		return err
	}
	stale := make(map[int64]bool, len(changed))
	for _, id := range changed {
		stale[id] = true
	}
	for id, c := range prev.named {
		if _, ok := known[id]; !ok && !stale[id] {
			known[id] = c
		}
	}
	return nil
}

// habitEvents returns the events of the user's habit series, which are
// written anew each time: their texts name the commitments of the moment
// and the next occurrence. known holds commitments read already (or
// kept, see keptNamed); the render keeps those the habits may name.
func (w *feedWriter) habitEvents(ctx context.Context, known map[int64]followup.Commitment) ([]followup.Event, error) {
	series, namedIDs, err := w.s.habitFacts(ctx, w.s.Store, w.userID)
	if err != nil || len(series) == 0 {
		return nil, err
	}
	var missing []int64
	for _, id := range namedIDs {
		if _, ok := known[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		meta, err := w.s.Store.CommitmentsByID(ctx, w.userID, missing)
		if err != nil {
			return nil, err
		}
		for id, c := range meta {
			known[id] = c
		}
	}
	named := make([]followup.Commitment, 0, len(namedIDs))
	w.r.named = make(map[int64]followup.Commitment, len(namedIDs))
	for _, id := range namedIDs {
		if c, ok := known[id]; ok {
			named = append(named, c)
			w.r.named[id] = c
		}
	}
	return w.s.habitEvents(series, named, w.st, w.loc), nil
}

// assemble writes the feed: the header (with the habits' zones), the
// blocks in order, the habits' events and the footer, into a buffer of
// exactly their size, and points the render's blocks into it.
func (w *feedWriter) assemble(blocks []piece, habits []followup.Event) (*feedRender, error) {
	enc := w.s.Encoder
	head, err := enc.AppendHeader(nil, feedName, habits, w.now)
	if err != nil {
		return nil, err
	}
	var tail []byte
	for i := range habits {
		if tail, err = enc.AppendEvent(tail, &habits[i], w.now); err != nil {
			return nil, err
		}
	}
	footer := enc.Footer()
	size := len(head) + len(tail) + len(footer)
	for _, p := range blocks {
		size += len(p.b)
	}
	body := append(make([]byte, 0, size), head...)
	w.r.blocks = make([]feedBlock, len(blocks))
	for i, p := range blocks {
		b := p.feedBlock
		b.off, b.n = len(body), len(p.b)
		body = append(body, p.b...)
		w.r.blocks[i] = b
	}
	w.r.body = append(append(body, tail...), footer...)
	return w.r, nil
}

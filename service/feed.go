package service

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/followup/followup"
)

// FeedHistoryDays is how long a past block stays in the feed.
const FeedHistoryDays = 90

// FeedTokenBytes is the feed token's size: 256 random bits.
const FeedTokenBytes = 32

// rotateFeed gives the user a new feed token and returns it.
func (s *Service) rotateFeed(ctx context.Context, q followup.Queries, userID int64) (string, error) {
	token, err := s.randomToken(FeedTokenBytes)
	if err != nil {
		return "", err
	}
	sealed := token
	if s.Sealer != nil {
		if sealed, err = s.Sealer.Seal(token); err != nil {
			return "", err
		}
	}
	if err := q.SetFeedToken(ctx, userID, hashToken(token), sealed); err != nil {
		return "", err
	}
	s.feeds().drop(userID)
	return token, nil
}

// links builds the feed addresses for a token.
func (s *Service) links(token string) followup.FeedLinks {
	base := strings.TrimRight(s.BaseURL, "/")
	u := base + "/feeds/" + token + ".ics"
	webcal := u
	if i := strings.Index(u, "://"); i >= 0 {
		webcal = "webcal" + u[i:]
	}
	return followup.FeedLinks{URL: u, Webcal: webcal}
}

// FeedLinks returns the user's feed addresses, making a token if needed.
func (s *Service) FeedLinks(ctx context.Context, userID int64) (followup.FeedLinks, error) {
	sealed, err := s.Store.FeedToken(ctx, userID)
	if err != nil {
		return followup.FeedLinks{}, err
	}
	if sealed == "" {
		return s.RotateFeed(ctx, userID)
	}
	token := sealed
	if s.Sealer != nil {
		if token, err = s.Sealer.Open(sealed); err != nil {
			return followup.FeedLinks{}, fmt.Errorf("service: open feed token: %w", err)
		}
	}
	return s.links(token), nil
}

// RotateFeed replaces the feed token; the old address stops working at once.
func (s *Service) RotateFeed(ctx context.Context, userID int64) (followup.FeedLinks, error) {
	ctx = followup.ForUser(ctx, userID)
	var token string
	err := s.Store.InTx(ctx, func(q followup.Queries) error {
		var err error
		token, err = s.rotateFeed(ctx, q, userID)
		return err
	})
	if err != nil {
		return followup.FeedLinks{}, err
	}
	return s.links(token), nil
}

// validToken reports whether a feed token has the shape we issue.
func validToken(token string) bool {
	if len(token) < 40 || len(token) > 64 {
		return false
	}
	for _, r := range token {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// FeedVersion finds a feed by token with one indexed lookup and no scan of
// its events. Errors: ENOTFOUND for an unknown token.
func (s *Service) FeedVersion(ctx context.Context, token string) (followup.FeedVersion, error) {
	if !validToken(token) {
		return followup.FeedVersion{}, followup.Errorf(followup.ENOTFOUND, "", "Feed not found.")
	}
	f, err := s.Store.FeedByToken(ctx, hashToken(token))
	if err != nil {
		return followup.FeedVersion{}, err
	}
	day := feedDay(s.now())
	// The feed changes when the user's data does (Version, UpdatedAt),
	// when a day begins, as past blocks leave it, and with the base URL of
	// its links: all are in the ETag, the first two also
	// in Last-Modified, so that If-Modified-Since sees what If-None-Match
	// sees (RFC 9110 §8.8.2, §13.1.3).
	modified := f.UpdatedAt
	if day.After(modified) {
		modified = day
	}
	return followup.FeedVersion{
		UserID: f.UserID,
		ETag: `"` + strconv.FormatInt(f.UserID, 36) + "-" + strconv.FormatInt(f.Version, 36) + "-" +
			strconv.FormatInt(day.Unix()/secondsPerDay, 36) + "-" + s.baseTag() + `"`,
		LastModified: modified.Truncate(time.Second),
		Revision:     f.Version,
		Purged:       f.Purged,
	}, nil
}

// baseTag is a short hash of the base URL, which the feed's links hold.
func (s *Service) baseTag() string {
	h := fnv.New32a()
	h.Write([]byte(s.BaseURL))
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

// secondsPerDay is the length of a UTC day, which has no DST.
const secondsPerDay = 24 * 60 * 60

// feedDay is the start of the UTC day of now. The feed is the same all
// day long: blocks that ended FeedHistoryDays before it have left.
func feedDay(now time.Time) time.Time {
	return time.Unix(now.Unix()/secondsPerDay*secondsPerDay, 0).UTC()
}

// FeedEvents returns the events of every live block of the user, and of
// their habits' series.
func (s *Service) FeedEvents(ctx context.Context, userID int64) ([]followup.Event, error) {
	st, loc, err := settings(ctx, s.Store, userID)
	if err != nil {
		return nil, err
	}
	// Blocks that ended long ago leave the feed: a record, not an archive.
	// They leave as a day begins, when the feed's ETag changes.
	steps, err := s.Store.LiveBlocks(ctx, userID, feedDay(s.now()).AddDate(0, 0, -FeedHistoryDays))
	if err != nil {
		return nil, err
	}
	series, namedIDs, err := s.habitFacts(ctx, s.Store, userID)
	if err != nil {
		return nil, err
	}
	// The commitments the habits may name are mostly those of the blocks:
	// each is read once.
	seen := map[int64]bool{}
	var idList []int64
	for _, p := range steps {
		if !seen[p.CommitmentID] {
			seen[p.CommitmentID] = true
			idList = append(idList, p.CommitmentID)
		}
	}
	for _, id := range namedIDs {
		if !seen[id] {
			seen[id] = true
			idList = append(idList, id)
		}
	}
	meta, err := s.Store.CommitmentsByID(ctx, userID, idList)
	if err != nil {
		return nil, err
	}
	named := make([]followup.Commitment, 0, len(namedIDs))
	for _, id := range namedIDs {
		if c, ok := meta[id]; ok {
			named = append(named, c)
		}
	}
	events := make([]followup.Event, 0, len(steps)+len(series))
	for _, p := range steps {
		c, ok := meta[p.CommitmentID]
		if !ok || !p.Live() {
			continue
		}
		events = append(events, followup.BlockEvent(c, p, st, loc, s.BaseURL))
	}
	return append(events, s.habitEvents(series, named, st, loc)...), nil
}

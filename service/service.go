// Package service is the domain service: it turns logged commitments into
// planned steps, applies the user's actions and the passing of time, serves
// the feed and keeps CalDAV calendars in sync. The HTTP API, the CLI and the
// web app all call it; it reaches storage, calendars and encoders only
// through the interfaces of the root package.
package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/followup/followup"
)

// Sealer encrypts small secrets at rest (secret.Box implements it).
type Sealer interface {
	Seal(plaintext string) (string, error)
	Open(sealed string) (string, error)
}

// FeedEncoder renders a calendar feed (ics.Encoder implements it).
type FeedEncoder interface {
	EncodeFeed(w io.Writer, name string, events []followup.Event, now time.Time) error
}

// Service is the domain service.
type Service struct {
	Store followup.Store
	// Now is the clock; only cmd passes time.Now.
	Now func() time.Time
	// BaseURL is the public URL of the service, for links in blocks and feeds.
	BaseURL string
	Sealer  Sealer
	Encoder FeedEncoder
	// Calendars is the CalDAV client; nil disables CalDAV.
	Calendars followup.CalendarServer
	// ICS fetches plain ICS busy sources; nil disables them.
	ICS followup.ICSSource
	// ParseDue resolves due_text phrases.
	ParseDue func(text string, now time.Time, loc *time.Location, endOfDay followup.Clock) (time.Time, error)
	// Cards reads contacts from vCards (vcard.Decoder); nil refuses them.
	Cards followup.CardDecoder
	Log   *slog.Logger
	// Random is the source of tokens and UIDs (default crypto/rand).
	Random io.Reader

	feedCache sync.Map // user id -> *cachedFeed
	userLocks sync.Map // user id -> *sync.Mutex, serialises syncs per user
	ownerOnce sync.Once
	owner     string // this process's lease owner id
}

// now returns the service clock's time in UTC.
func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// randomToken returns n random bytes, base64url without padding.
func (s *Service) randomToken(n int) (string, error) {
	r := s.Random
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// uidSuffix ends every UID followup makes: objects without it are the
// user's own.
const uidSuffix = "@followup"

// newUID returns a globally unique step UID (RFC 5545 §3.8.4.7).
func (s *Service) newUID() (string, error) {
	r := s.Random
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b) + uidSuffix, nil
}

// hashToken is how tokens are stored: only their SHA-256.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// userLock serialises calendar syncs of one user inside this process.
func (s *Service) userLock(userID int64) *sync.Mutex {
	m, _ := s.userLocks.LoadOrStore(userID, &sync.Mutex{})
	return m.(*sync.Mutex)
}

// Lease timing of lockUser.
const (
	// LeaseTTL is how long a lease lasts unless renewed; its holder renews
	// it every quarter of that while it works, so a crashed holder blocks
	// the account for at most this long.
	LeaseTTL = 20 * time.Second
	// LeaseWait is how long lockUser waits for another process's lease.
	LeaseWait = 30 * time.Second
)

// lockUser serialises calendar work on one user's account: within this
// process with a mutex, and across processes (the CLI, other instances on
// the same database) with a lease in the database. The caller must call
// unlock. Errors: EUNAVAILABLE when another process keeps the lease.
func (s *Service) lockUser(ctx context.Context, userID int64) (unlock func(), err error) {
	mu := s.userLock(userID)
	mu.Lock()
	s.ownerOnce.Do(func() {
		if s.owner, err = s.randomToken(12); err != nil {
			s.owner = ""
		}
	})
	if s.owner == "" {
		mu.Unlock()
		return nil, fmt.Errorf("service: no lease owner id: %w", err)
	}
	timeout := time.After(LeaseWait)
	for {
		now := s.now()
		ok, err := s.Store.LockUser(ctx, userID, s.owner, now.Add(LeaseTTL), now)
		if err != nil {
			mu.Unlock()
			return nil, err
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			mu.Unlock()
			return nil, ctx.Err()
		case <-timeout:
			mu.Unlock()
			return nil, followup.Errorf(followup.EUNAVAILABLE, "", "Another process is syncing this account; try again shortly.")
		case <-time.After(100 * time.Millisecond):
		}
	}
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		tick := time.NewTicker(LeaseTTL / 4)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				now := s.now()
				if _, err := s.Store.LockUser(context.WithoutCancel(ctx), userID, s.owner, now.Add(LeaseTTL), now); err != nil {
					s.log().WarnContext(ctx, "lease not renewed", "user_id", userID, "error", err.Error())
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-renewed
		if err := s.Store.UnlockUser(context.WithoutCancel(ctx), userID, s.owner); err != nil {
			s.log().WarnContext(ctx, "lease not released", "user_id", userID, "error", err.Error())
		}
		mu.Unlock()
	}, nil
}

// settings loads a user's settings and zone.
func settings(ctx context.Context, q followup.Queries, userID int64) (followup.Settings, *time.Location, error) {
	st, err := q.Settings(ctx, userID)
	if err != nil {
		return st, nil, err
	}
	loc, err := st.Location()
	if err != nil {
		return st, nil, err
	}
	return st, loc, nil
}

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
	"encoding/binary"
	"encoding/hex"
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

// FeedEncoder writes a calendar feed in pieces, which the service keeps
// per event and assembles (ics.FeedEncoder implements it): the header,
// each event, the footer, together byte for byte the feed encoded whole.
type FeedEncoder interface {
	// AppendHeader appends the feed's opening, with a VTIMEZONE for each
	// zone that events use; now is the DTSTAMP of events without a Stamp.
	AppendHeader(b []byte, name string, events []followup.Event, now time.Time) ([]byte, error)
	// AppendEvent appends the VEVENT of ev and those of its overrides.
	// Errors: EINVALID for an event that cannot be written.
	AppendEvent(b []byte, ev *followup.Event, now time.Time) ([]byte, error)
	// Footer returns the feed's closing.
	Footer() string
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
	// JobTimeout bounds the calendar work of one queued job (default
	// DefaultJobTimeout).
	JobTimeout time.Duration
	// FeedCacheBytes bounds the rendered feeds kept in memory, all users
	// together (default DefaultFeedCacheBytes; negative keeps none).
	FeedCacheBytes int64
	// PlanCacheSteps bounds the planning rows kept between creates, all
	// users together (default DefaultPlanCacheSteps; negative keeps none).
	PlanCacheSteps int

	// MaxFeedRenders bounds the feeds rendered at once (default
	// GOMAXPROCS, the cores Go uses).
	MaxFeedRenders int
	// ReplanQuiet puts off a user's background full re-plan while the
	// user logged a commitment here less than this long ago (zero: never
	// put off; see DefaultReplanQuiet).
	ReplanQuiet time.Duration
	lastCreates sync.Map // user id → time of the user's last create here
	// contended holds the users whose kept calendar another process's
	// writes made stale lately: user id → time a create here found it so.
	contended sync.Map

	feedOnce   sync.Once
	feedCache  *feedCache
	renderOnce sync.Once
	renders    chan struct{} // a token per render running
	planOnce   sync.Once
	planCache  *planCache
	// planLocks serialise the creates of one user in this process (user id
	// modulo their number): a create plans outside the store's writer.
	planLocks [64]sync.Mutex
	userLocks sync.Map // user id -> chan struct{} (capacity 1), serialises calendar work per user
	work      sync.Map // user id -> *runningWork holding the user's lock
	ownerOnce sync.Once
	owner     string // this process's lease owner id
}

// lockPlan takes the user's planning lock and returns its release.
func (s *Service) lockPlan(userID int64) func() {
	mu := &s.planLocks[uint64(userID)%uint64(len(s.planLocks))]
	mu.Lock()
	return mu.Unlock
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

// inTx runs fn in a transaction (Store.InTx) and, once it committed, the
// effects fn asked for with after, such as logs and report counts: fn may
// run more than once, and only the run that committed counts.
func (s *Service) inTx(ctx context.Context, fn func(q followup.Queries, after func(effect func())) error) error {
	var effects []func()
	err := s.Store.InTx(ctx, func(q followup.Queries) error {
		effects = effects[:0]
		return fn(q, func(effect func()) { effects = append(effects, effect) })
	})
	if err != nil {
		return err
	}
	for _, effect := range effects {
		effect()
	}
	return nil
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

// newUID returns a globally unique step UID (RFC 5545 §3.8.4.7): 32 hex
// digits, of which the first 12 are the clock's milliseconds since 1970
// and the other 20 are random (80 bits), then uidSuffix. The time first
// puts every new UID at the end of the steps' unique index, on the page the
// last ones went to, where random UIDs each dirtied a page of their own
// somewhere in it: a commit of a create wrote about a fifth fewer pages.
func (s *Service) newUID() (string, error) {
	r := s.Random
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(s.now().UnixMilli())<<16)
	if _, err := io.ReadFull(r, b[6:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b) + uidSuffix, nil
}

// hashToken is how tokens are stored: only their SHA-256.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
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

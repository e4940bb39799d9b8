package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/followup/followup"
)

// Session and sign-in limits of the web app.
const (
	// SessionTTL is how long a browser stays signed in.
	SessionTTL = 30 * 24 * time.Hour
	// LoginWindow is how far back failed sign-ins count.
	LoginWindow = 15 * time.Minute
	// MaxLoginFailuresPerAccount is how many failed sign-ins to one
	// account within LoginWindow lock it until the oldest ages out.
	MaxLoginFailuresPerAccount = 5
	// MaxLoginFailuresPerAddr is the same per client address.
	MaxLoginFailuresPerAddr = 20
	// MaxIdempotencyKeyLen bounds an idempotency key.
	MaxIdempotencyKeyLen = 200
)

// NeedsSetup reports whether no account exists yet, so that the web app
// offers to create the first one.
func (s *Service) NeedsSetup(ctx context.Context) (bool, error) {
	n, err := s.Store.CountUsers(ctx)
	return n == 0, err
}

// Setup creates the first account. Errors: as CreateUser; ECONFLICT once
// any account exists.
func (s *Service) Setup(ctx context.Context, email, password, timezone string) (followup.User, error) {
	return s.createUser(ctx, email, password, timezone, true)
}

// Login checks a password, counting failures per account and per client
// address. Errors: ERATELIMIT after too many recent failures (checked
// before the password, so a locked account answers the same either way),
// EUNAUTHORIZED for a wrong email or password.
func (s *Service) Login(ctx context.Context, email, password, addr string) (followup.User, error) {
	email = strings.TrimSpace(email)
	now := s.now()
	n, err := s.Store.LoginFailures(ctx, email, addr, now.Add(-LoginWindow))
	if err != nil {
		return followup.User{}, err
	}
	if n.Email >= MaxLoginFailuresPerAccount || n.Addr >= MaxLoginFailuresPerAddr {
		return followup.User{}, followup.Errorf(followup.ERATELIMIT, "", "Too many failed sign-ins; wait %d minutes and try again.", int(LoginWindow.Minutes()))
	}
	u, err := s.CheckPassword(ctx, email, password)
	if followup.ErrorCode(err) == followup.EUNAUTHORIZED {
		if err := s.Store.AddLoginFailure(ctx, email, addr, now, now.Add(-24*time.Hour)); err != nil {
			return followup.User{}, err
		}
		return followup.User{}, err
	} else if err != nil {
		return followup.User{}, err
	}
	return u, s.Store.ClearLoginFailures(ctx, email)
}

// StartSession signs a browser in: it returns the session's token (256
// random bits, for the cookie; only its hash is stored) and the session.
func (s *Service) StartSession(ctx context.Context, userID int64) (string, followup.Session, error) {
	token, err := s.randomToken(32)
	if err != nil {
		return "", followup.Session{}, err
	}
	now := s.now()
	sess := followup.Session{UserID: userID, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := s.Store.CreateSession(ctx, &sess, hashToken(token)); err != nil {
		return "", followup.Session{}, err
	}
	return token, sess, nil
}

// SessionUser returns the user and session of a session token.
// Errors: EUNAUTHORIZED for an unknown or expired token.
func (s *Service) SessionUser(ctx context.Context, token string) (followup.User, followup.Session, error) {
	if token == "" || len(token) > 200 {
		return followup.User{}, followup.Session{}, followup.Errorf(followup.EUNAUTHORIZED, "", "Please sign in.")
	}
	sess, err := s.Store.SessionByToken(ctx, hashToken(token), s.now())
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return followup.User{}, sess, followup.Errorf(followup.EUNAUTHORIZED, "", "Please sign in.")
	} else if err != nil {
		return followup.User{}, sess, err
	}
	u, err := s.Store.UserByID(ctx, sess.UserID)
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return u, sess, followup.Errorf(followup.EUNAUTHORIZED, "", "Please sign in.")
	}
	return u, sess, err
}

// EndSession signs a browser out.
func (s *Service) EndSession(ctx context.Context, token string) error {
	return s.Store.DeleteSession(ctx, hashToken(token))
}

// RememberEvent keeps where and when the user met people filled in on the
// log form of this session (event mode); nil turns event mode off.
// Errors: EINVALID for an overlong place.
func (s *Service) RememberEvent(ctx context.Context, token string, e *followup.EventMemory) error {
	if e != nil && len(e.Where) > followup.MaxShortLen*4 {
		return followup.Errorf(followup.EINVALID, "met_where", "met_where is too long.")
	}
	return s.Store.SetSessionEvent(ctx, hashToken(token), e)
}

// CreateOnce logs a commitment at most once per idempotency key: a request
// repeated with the same key answers the commitment it created, with
// replayed set. Errors: as Create; EINVALID for an overlong key; ECONFLICT
// when the key was used for a different commitment.
func (s *Service) CreateOnce(ctx context.Context, userID int64, key string, in followup.NewCommitment) (c followup.Commitment, replayed bool, err error) {
	ctx = followup.ForUser(ctx, userID)
	if key == "" {
		c, err = s.Create(ctx, userID, in)
		return c, false, err
	}
	if len(key) > MaxIdempotencyKeyLen {
		return c, false, followup.Errorf(followup.EINVALID, "idempotency_key", "The idempotency key is longer than %d characters.", MaxIdempotencyKeyLen)
	}
	fp := fingerprint(in)
	now := s.now()
	if err := in.Validate(now); err != nil {
		return c, false, err
	}
	replay := func(q followup.Queries) (followup.Commitment, bool, error) {
		replayed = false // the transaction may run again
		k, err := q.Idempotency(ctx, userID, key)
		switch followup.ErrorCode(err) {
		case "":
			if k.Fingerprint != fp {
				return followup.Commitment{}, false, followup.Errorf(followup.ECONFLICT, "idempotency_key", "This idempotency key was already used for another commitment.")
			}
			replayed = true
			c, err := q.Commitment(ctx, userID, k.CommitmentID)
			return c, true, err
		case followup.ENOTFOUND:
			return followup.Commitment{}, false, nil
		default:
			return followup.Commitment{}, false, err
		}
	}
	stored := func(q followup.Queries, c followup.Commitment) error {
		return q.PutIdempotency(ctx, userID, followup.Idempotency{Key: key, Fingerprint: fp, CommitmentID: c.ID}, now)
	}
	c, err = s.createPlanned(ctx, userID, in, now, createHooks{replay: replay, stored: stored})
	return c, replayed, err
}

// fingerprint identifies a commitment request as sent, before defaults.
func fingerprint(in followup.NewCommitment) string {
	b, _ := json.Marshal(in)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Progress returns the user's record over the last weeks (this week
// included): promises kept and let go per week, and the median time to
// first contact. Errors: EINVALID for weeks outside 1 to 104.
func (s *Service) Progress(ctx context.Context, userID int64, weeks int) (followup.Progress, error) {
	if weeks < 1 || weeks > 104 {
		return followup.Progress{}, followup.Errorf(followup.EINVALID, "weeks", "weeks must be between 1 and 104.")
	}
	_, loc, err := settings(ctx, s.Store, userID)
	if err != nil {
		return followup.Progress{}, err
	}
	first := weekStart(s.now(), loc).AddDate(0, 0, -7*(weeks-1))
	outcomes, err := s.Store.Outcomes(ctx, userID, first.UTC())
	if err != nil {
		return followup.Progress{}, err
	}
	return progress(outcomes, first, weeks, loc), nil
}

// progress counts outcomes into weeks starting at first.
func progress(outcomes []followup.Outcome, first time.Time, weeks int, loc *time.Location) followup.Progress {
	p := followup.Progress{Weeks: make([]followup.WeekProgress, weeks)}
	contact := make([][]time.Duration, weeks)
	var all []time.Duration
	for i := range p.Weeks {
		p.Weeks[i].Start = first.AddDate(0, 0, 7*i)
	}
	index := func(t time.Time) int {
		d := weekStart(t, loc)
		for i := range p.Weeks {
			if p.Weeks[i].Start.Equal(d) {
				return i
			}
		}
		return -1
	}
	for _, o := range outcomes {
		if o.DeliveredAt != nil {
			if i := index(*o.DeliveredAt); i >= 0 {
				p.Weeks[i].Kept++
			}
		}
		if o.Status == followup.StatusLetGo && o.EndedAt != nil {
			if i := index(*o.EndedAt); i >= 0 {
				p.Weeks[i].LetGo++
			}
		}
		if o.ContactedAt != nil {
			if i := index(o.MetAt); i >= 0 {
				d := max(o.ContactedAt.Sub(o.MetAt), 0)
				contact[i] = append(contact[i], d)
				all = append(all, d)
			}
		}
	}
	for i := range p.Weeks {
		p.Weeks[i].MedianFirstContact, p.Weeks[i].Contacted = median(contact[i]), len(contact[i])
	}
	p.MedianFirstContact, p.Contacted = median(all), len(all)
	return p
}

// median returns the median duration, 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

// weekStart returns 00:00 on the Monday of t's week in loc.
func weekStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	back := (int(t.Weekday()) + 6) % 7
	return time.Date(t.Year(), t.Month(), t.Day()-back, 0, 0, 0, 0, loc)
}

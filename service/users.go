package service

import (
	"context"
	"net/mail"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/followup/followup"
)

// CreateUser creates an account. Errors: EINVALID for a bad email, a short
// password or an unknown zone; ECONFLICT when the email is taken.
func (s *Service) CreateUser(ctx context.Context, email, password, timezone string) (followup.User, error) {
	return s.createUser(ctx, email, password, timezone, false)
}

// createUser creates an account; with first, only on a database without one.
func (s *Service) createUser(ctx context.Context, email, password, timezone string, first bool) (followup.User, error) {
	email = strings.TrimSpace(email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return followup.User{}, followup.Errorf(followup.EINVALID, "email", "%q is not an email address.", email)
	}
	if len(password) < 8 {
		return followup.User{}, followup.Errorf(followup.EINVALID, "password", "The password must have at least 8 characters.")
	}
	if len(password) > 72 {
		return followup.User{}, followup.Errorf(followup.EINVALID, "password", "The password must have at most 72 bytes.")
	}
	if timezone == "" {
		timezone = "UTC"
	}
	if _, err := followup.LoadLocation(timezone); err != nil {
		return followup.User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return followup.User{}, err
	}
	u := followup.User{Email: email, PasswordHash: string(hash), CreatedAt: s.now()}
	err = s.Store.InTx(ctx, func(q followup.Queries) error {
		if first {
			if n, err := q.CountUsers(ctx); err != nil {
				return err
			} else if n > 0 {
				return followup.Errorf(followup.ECONFLICT, "", "The first account exists already; sign in instead.")
			}
		}
		if err := q.CreateUser(ctx, &u, followup.DefaultSettings(timezone)); err != nil {
			return err
		}
		_, err := s.rotateFeed(ctx, q, u.ID)
		return err
	})
	return u, err
}

// CheckPassword returns the user when email and password match, else EUNAUTHORIZED.
func (s *Service) CheckPassword(ctx context.Context, email, password string) (followup.User, error) {
	u, err := s.Store.UserByEmail(ctx, strings.TrimSpace(email))
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		// Spend the same time as a real check, so timing does not reveal accounts.
		dummyOnce.Do(func() { dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost) })
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return followup.User{}, followup.Errorf(followup.EUNAUTHORIZED, "", "Wrong email or password.")
	} else if err != nil {
		return followup.User{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return followup.User{}, followup.Errorf(followup.EUNAUTHORIZED, "", "Wrong email or password.")
	}
	return u, nil
}

var (
	dummyOnce sync.Once
	dummyHash []byte
)

// apiTokenPrefix marks followup API tokens so that secret scanners can spot them.
const apiTokenPrefix = "fu_"

// CreateToken makes a new API token for the user with that email and returns
// it; only its hash is stored. Errors: ENOTFOUND for an unknown email.
func (s *Service) CreateToken(ctx context.Context, email, name string) (string, error) {
	u, err := s.Store.UserByEmail(ctx, strings.TrimSpace(email))
	if err != nil {
		return "", err
	}
	raw, err := s.randomToken(32) // 256 bits
	if err != nil {
		return "", err
	}
	token := apiTokenPrefix + raw
	if err := s.Store.CreateAPIToken(ctx, u.ID, hashToken(token), name); err != nil {
		return "", err
	}
	return token, nil
}

// Authenticate returns the user owning an API token, else EUNAUTHORIZED. It
// records the token's use when the recorded one is older than
// followup.APITokenTouchEvery, so most requests write nothing.
func (s *Service) Authenticate(ctx context.Context, token string) (followup.User, error) {
	if !strings.HasPrefix(token, apiTokenPrefix) || len(token) > 200 {
		return followup.User{}, followup.Errorf(followup.EUNAUTHORIZED, "", "The API token is not valid.")
	}
	u, tok, err := s.Store.UserByAPIToken(ctx, hashToken(token))
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return followup.User{}, followup.Errorf(followup.EUNAUTHORIZED, "", "The API token is not valid.")
	} else if err != nil {
		return followup.User{}, err
	}
	s.touchAPIToken(ctx, tok)
	return u, nil
}

// touchAPIToken records a use of tok now, unless a recent one is recorded;
// a failure is logged and does not fail the request.
func (s *Service) touchAPIToken(ctx context.Context, tok followup.APIToken) {
	now := s.now()
	stale := now.Add(-followup.APITokenTouchEvery)
	if tok.LastUsedAt != nil && tok.LastUsedAt.After(stale) {
		return
	}
	if err := s.Store.TouchAPIToken(ctx, tok.ID, now, stale); err != nil {
		s.log().WarnContext(ctx, "token use not recorded", "token_id", tok.ID, "error", err.Error())
	}
}

// APITokens lists the user's API tokens, oldest first, with when each was
// last used; never the tokens themselves.
func (s *Service) APITokens(ctx context.Context, userID int64) ([]followup.APIToken, error) {
	return s.Store.APITokens(ctx, userID)
}

// RevokeAPIToken deletes one of the user's API tokens; requests with it are
// refused at once. Errors: ENOTFOUND for an unknown id or another user's token.
func (s *Service) RevokeAPIToken(ctx context.Context, userID, id int64) error {
	return s.Store.DeleteAPIToken(ctx, userID, id)
}

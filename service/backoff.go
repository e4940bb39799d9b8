package service

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/followup/followup"
)

// A server that answers 429 or 503 with Retry-After (RFC 9110 §10.2.3) is
// left alone by all of the user's calendar work until then, not only by
// the job that got the answer: the wait is stored per user and host, and
// every request of that user's work checks it first.

// hostOf returns the host (with port) that rawURL names, lower-cased.
func hostOf(rawURL string) string {
	u, err := url.Parse(withScheme(rawURL))
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// waitForHost returns a RetryLater error while userID's work must leave the
// host of rawURL alone, else nil.
func (s *Service) waitForHost(ctx context.Context, userID int64, rawURL string) error {
	host := hostOf(rawURL)
	notBefore, err := s.Store.Backoff(ctx, userID, host)
	if err != nil {
		return err
	}
	if d := notBefore.Sub(s.now()); d > 0 {
		return followup.RetryLater(d, followup.Errorf(followup.EREMOTE, "",
			"%s asked followup to wait; the next request goes at %s.", host, notBefore.Format(time.RFC3339)))
	}
	return nil
}

// noteRetryAfter stores the wait a server asked for in err, if any, for
// all of userID's work on the host of rawURL.
func (s *Service) noteRetryAfter(ctx context.Context, userID int64, rawURL string, err error) {
	d, ok := followup.RetryAfter(err)
	if !ok || d <= 0 {
		return
	}
	host := hostOf(rawURL)
	if perr := s.Store.PutBackoff(context.WithoutCancel(ctx), userID, host, s.now().Add(d)); perr != nil {
		s.log().WarnContext(ctx, "backoff not saved", "user_id", userID, "host", host, "error", perr.Error())
		return
	}
	s.log().InfoContext(ctx, "server asked to wait", "user_id", userID, "host", host, "after", d.String())
}

// politeCalendars is the CalDAV client for one user's calendar work: no
// request goes to a host while the user's backoff for it runs, and a
// server's Retry-After starts one.
type politeCalendars struct {
	followup.CalendarServer
	s      *Service
	userID int64
}

func (p politeCalendars) PutEvent(ctx context.Context, acct followup.CalDAVAccount, cal string, ev followup.Event, ifMatch string) (string, error) {
	if err := p.s.waitForHost(ctx, p.userID, cal); err != nil {
		return "", err
	}
	etag, err := p.CalendarServer.PutEvent(ctx, acct, cal, ev, ifMatch)
	p.s.noteRetryAfter(ctx, p.userID, cal, err)
	return etag, err
}

func (p politeCalendars) GetEvent(ctx context.Context, acct followup.CalDAVAccount, cal, uid string) (followup.RemoteEvent, error) {
	if err := p.s.waitForHost(ctx, p.userID, cal); err != nil {
		return followup.RemoteEvent{}, err
	}
	ev, err := p.CalendarServer.GetEvent(ctx, acct, cal, uid)
	p.s.noteRetryAfter(ctx, p.userID, cal, err)
	return ev, err
}

func (p politeCalendars) DeleteEvent(ctx context.Context, acct followup.CalDAVAccount, cal, uid, ifMatch string) error {
	if err := p.s.waitForHost(ctx, p.userID, cal); err != nil {
		return err
	}
	err := p.CalendarServer.DeleteEvent(ctx, acct, cal, uid, ifMatch)
	p.s.noteRetryAfter(ctx, p.userID, cal, err)
	return err
}

func (p politeCalendars) ListEvents(ctx context.Context, acct followup.CalDAVAccount, cal string) ([]followup.RemoteEvent, error) {
	if err := p.s.waitForHost(ctx, p.userID, cal); err != nil {
		return nil, err
	}
	evs, err := p.CalendarServer.ListEvents(ctx, acct, cal)
	p.s.noteRetryAfter(ctx, p.userID, cal, err)
	return evs, err
}

func (p politeCalendars) Busy(ctx context.Context, acct followup.CalDAVAccount, cal string, from, to time.Time, prev followup.BusyState) (followup.BusyRead, error) {
	if err := p.s.waitForHost(ctx, p.userID, cal); err != nil {
		return followup.BusyRead{}, err
	}
	res, err := p.CalendarServer.Busy(ctx, acct, cal, from, to, prev)
	p.s.noteRetryAfter(ctx, p.userID, cal, err)
	return res, err
}

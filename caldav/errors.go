package caldav

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/netguard"
)

// RetryAfterError is returned when a server answers 503 Service Unavailable
// or 429 Too Many Requests with a Retry-After header (RFC 9110 §10.2.3).
// Callers detect it without importing this package through
// followup.RetryAfter(err).
//
// Err is an EREMOTE *followup.Error, so followup.ErrorCode still works.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

// Error implements the error interface.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("caldav: retry after %v: %v", e.After, e.Err)
}

// Unwrap returns the underlying error.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter returns how long the server asked us to wait.
func (e *RetryAfterError) RetryAfter() time.Duration { return e.After }

// passwordError is the one error for rejected credentials.
func passwordError() error {
	return followup.Errorf(followup.EREMOTE, "password", "The server rejected the username or password.")
}

// remoteError returns an EREMOTE error with a message for a person and the
// cause kept for logs. Messages name the host only, never the URL's user
// info or the password.
func remoteError(cause error, format string, args ...any) error {
	e := followup.Errorf(followup.EREMOTE, "", format, args...)
	e.Err = cause
	return e
}

// transportError turns a failure to get any HTTP response into a sentence.
func transportError(ctx context.Context, host string, err error) error {
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
		hostErr x509.HostnameError
		recErr  tls.RecordHeaderError
		opErr   *net.OpError
	)
	err = scrub(err)
	switch {
	case ctx.Err() == context.Canceled && !errors.Is(err, context.DeadlineExceeded):
		return remoteError(err, "The request to %s was cancelled.", host)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err):
		return remoteError(err, "%s did not answer in time.", host)
	case errors.Is(err, netguard.ErrForbiddenAddress):
		return remoteError(err, "%s is on a loopback, private or link-local address, which followup does not connect to unless the operator sets FOLLOWUP_ALLOW_PRIVATE_HOSTS=true.", host)
	case errors.Is(err, netguard.ErrTooLarge):
		return remoteError(err, "%s sent a response larger than followup accepts.", host)
	case errors.As(err, &dnsErr):
		return remoteError(err, "The host %s could not be found (DNS lookup failed).", host)
	case errors.As(err, &certErr), errors.As(err, &unkAuth), errors.As(err, &hostErr):
		return remoteError(err, "The TLS certificate of %s could not be verified.", host)
	case errors.As(err, &recErr):
		return remoteError(err, "%s did not answer with TLS (is it an http:// address?).", host)
	case strings.Contains(err.Error(), "tls:"):
		return remoteError(err, "A secure (TLS) connection to %s failed.", host)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return remoteError(err, "Could not connect to %s.", host)
	default:
		return remoteError(err, "The connection to %s failed.", host)
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// scrub removes the URL from *url.Error text so that no user info (or a
// secret ICS address) reaches logs through the cause.
func scrub(err error) error {
	var ue interface {
		Unwrap() error
		Timeout() bool
	}
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// statusError maps an unexpected HTTP status to an error. what names the
// thing asked for, e.g. "the calendar".
func statusError(r *reply, what string) error {
	host := r.url.Host
	cause := fmt.Errorf("caldav: %s %s: HTTP %d", r.method, r.where(), r.status)
	if ra := retryAfter(r); ra != nil {
		return ra
	}
	switch {
	case r.status == http.StatusUnauthorized:
		e := passwordError().(*followup.Error)
		e.Err = cause
		return e
	case r.status == http.StatusForbidden:
		return remoteError(cause, "%s refused access to %s (HTTP 403).", host, what)
	case r.status == http.StatusNotFound:
		return remoteError(cause, "%s has no %s at that address (HTTP 404).", host, what)
	case r.status == http.StatusPreconditionFailed:
		e := followup.Errorf(followup.ECONFLICT, "", "The calendar object changed on %s since we last read it.", host)
		e.Err = cause
		return e
	case r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable:
		return remoteError(cause, "%s is busy (HTTP %d); try again later.", host, r.status)
	case r.status >= 500:
		return remoteError(cause, "%s failed with a server error (HTTP %d); try again later.", host, r.status)
	default:
		return remoteError(cause, "%s answered with an unexpected status (HTTP %d) for %s.", host, r.status, what)
	}
}

// retryAfter returns a *RetryAfterError for a 429 or 503 with a usable
// Retry-After header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date, which
// is measured against the response's Date header so that no clock is read
// here), else nil.
func retryAfter(r *reply) error {
	if r.status != http.StatusTooManyRequests && r.status != http.StatusServiceUnavailable {
		return nil
	}
	v := strings.TrimSpace(r.header.Get("Retry-After"))
	if v == "" {
		return nil
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return nil
		}
		if secs > 7*24*3600 {
			secs = 7 * 24 * 3600
		}
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		date, err := http.ParseTime(r.header.Get("Date"))
		if err != nil {
			d = time.Minute // an HTTP-date without a Date to measure it against
		} else if d = at.Sub(date); d < 0 {
			d = 0
		}
	} else {
		return nil
	}
	cause := fmt.Errorf("caldav: %s %s: HTTP %d", r.method, r.where(), r.status)
	return &RetryAfterError{
		After: d,
		Err:   remoteError(cause, "%s is busy (HTTP %d) and asked us to retry in %v.", r.url.Host, r.status, d),
	}
}

// unreadable is the error for a calendar object or an XML body we could not
// parse.
func unreadable(host string, cause error) error {
	return remoteError(cause, "%s sent a calendar object we could not read.", host)
}

// badXML is the error for a malformed WebDAV response.
func badXML(host string, cause error) error {
	return remoteError(cause, "%s sent a WebDAV response we could not read; is it a CalDAV server?", host)
}

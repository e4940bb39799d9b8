// Package caldav is the service's CalDAV client (RFC 4791) and plain ICS
// fetcher: discovery (RFC 6764, RFC 5397), calendar creation, one calendar
// object per block with conditional writes, and incremental busy reads
// (RFC 6578 sync-collection, else CTag/ETag comparison) with recurrence
// expansion done here.
//
// It is the only importer of github.com/emersion/go-webdav and
// github.com/emersion/go-ical. go-webdav v0.6.0's client is not enough for
// this service, so the WebDAV requests are made here; what it lacks:
//   - FindCalendarHomeSet keeps only the path of the href, losing a home set
//     on another host as iCloud returns (emersion/go-webdav#61);
//   - PutCalendarObject and RemoveAll send no If-Match / If-None-Match
//     (emersion/go-webdav#130, #137);
//   - its errors hide the HTTP status in an internal type, so 401, 404, 412
//     and 503 with Retry-After cannot be told apart;
//   - QueryCalendar and MultiGetCalendar fail the whole listing when one
//     response in a 207 has an error status;
//   - no public sync-collection REPORT, no getctag, no
//     current-user-privilege-set, no MKCALENDAR;
//   - redirects are left to net/http, which turns a 301/302 PROPFIND into a
//     GET (emersion/go-webdav#107, which would have handled it, was closed).
//
// From go-webdav it uses caldav.ValidateCalendarObject (RFC 4791 §4.1) on
// every object it writes; its tests run go-webdav's caldav.Handler on an
// in-memory backend.
//
// go-ical's RecurrenceSet reads RDATE from the EXDATE properties and fails on
// an unknown TZID, so recurrence sets are built here on rrule-go directly.
//
// Busy and FetchBusy read incrementally only while the window [from, to)
// stays the same as in prev; callers should round the window (to whole UTC
// days, say) so that consecutive syncs share it.
package caldav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/followup/followup"
)

// maxBody bounds every response body we read (XML or ICS).
const maxBody = 32 << 20

// maxRedirects bounds the redirects followed for one request.
const maxRedirects = 5

var errTooLarge = errors.New("caldav: response body too large")

// DefaultRequestTimeout bounds one request with its redirects when the
// Client's RequestTimeout is not set.
const DefaultRequestTimeout = 30 * time.Second

// Client implements followup.CalendarServer and followup.ICSSource.
type Client struct {
	hc *http.Client
	// RequestTimeout bounds each request, with its redirects and its
	// answer, whatever the caller's context allows (default
	// DefaultRequestTimeout).
	RequestTimeout time.Duration
	// Observer, when not nil, is told about every request: its host (never
	// the URL), method, status and time.
	Observer followup.RemoteObserver
}

var (
	_ followup.CalendarServer = (*Client)(nil)
	_ followup.ICSSource      = (*Client)(nil)
)

// New returns a client that makes every request with hc (the caller passes a
// guarded *http.Client with timeouts, a size limit and an address guard).
// Redirects are followed by the client itself, not by hc, so that a PROPFIND
// stays a PROPFIND with its body (RFC 4918 has no redirect semantics of its
// own; net/http would turn a 301/302 into a GET).
func New(hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	nc := *hc
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{hc: &nc}
}

// session makes the requests of one operation for one account and counts them.
//
// The credentials go only where the user sent them: to the origin of the
// address they entered (RFC 6454 §4: scheme, host and port), and to the
// https origins that discovery from there was told about over https
// (iCloud names a calendar home on another host). A request to any other
// origin, plain http to the same host included, is refused before it is
// sent, and so is a redirect there (see do).
type session struct {
	c        *Client
	username string
	password string
	// origin is the origin of the address the user entered.
	origin string
	// trusted are the other origins that get the credentials.
	trusted map[string]bool
	n       int
	// hidePath marks requests to a secret address (see reply.hide).
	hidePath bool
	// leaveCredentials follows a redirect to an origin that does not get
	// the credentials without them, where a CalDAV session refuses it.
	leaveCredentials bool
}

func (c *Client) session(acct followup.CalDAVAccount) *session {
	s := &session{c: c, username: acct.Username, password: acct.Password, trusted: map[string]bool{}}
	if u, err := accountURL(acct.URL); err == nil {
		s.origin = origin(u)
	}
	for _, raw := range acct.Origins {
		if u, err := url.Parse(raw); err == nil && u.Scheme == "https" && u.Host != "" {
			s.trusted[origin(u)] = true
		}
	}
	return s
}

// origin returns u's origin as "scheme://host:port", lower case, with the
// default port made explicit (RFC 6454 §4).
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// hasCredentials reports whether the session has anything to protect.
func (s *session) hasCredentials() bool { return s.username != "" || s.password != "" }

// mayAuthenticate reports whether the credentials may go to u.
func (s *session) mayAuthenticate(u *url.URL) bool {
	o := origin(u)
	return o == s.origin || (u.Scheme == "https" && s.trusted[o])
}

// named records that the answer from "from" named u (a principal, a home
// set, a calendar): an https answer from a trusted origin makes u's origin
// trusted too, if u is https.
func (s *session) named(from, u *url.URL) {
	if from.Scheme == "https" && u.Scheme == "https" && s.mayAuthenticate(from) {
		s.trusted[origin(u)] = true
	}
}

// trustedOrigins lists the origins beyond the entered one that get the
// credentials, sorted.
func (s *session) trustedOrigins() []string {
	var out []string
	for o := range s.trusted {
		if o != s.origin {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// mayGoWithout reports whether a request to u, which does not get the
// credentials, may be sent without them: only after a redirect, in a
// session that leaves them behind, and never from https to http.
func (s *session) mayGoWithout(from, u *url.URL) bool {
	return from != nil && s.leaveCredentials && !(from.Scheme == "https" && u.Scheme == "http")
}

// errForeignOrigin is the cause of a request refused because it would have
// sent the credentials to an origin that does not get them.
var errForeignOrigin = errors.New("caldav: credentials not sent to another origin")

// refuse explains why the request to u (first, or after a redirect from
// "from") was not sent with the credentials.
func (s *session) refuse(from, u *url.URL) error {
	switch {
	case from != nil && from.Scheme == "https" && u.Scheme == "http":
		return remoteError(errForeignOrigin, "%s redirected from https to plain http; we will not send the password there.", from.Host)
	case from != nil:
		return remoteError(errForeignOrigin, "%s redirected to %s, another server; followup sends your password only to the server you entered. If %s is your CalDAV server, enter its address instead.", from.Host, u.Host, u.Host)
	case u.Scheme == "http" && strings.HasPrefix(s.origin, "https:"):
		return remoteError(errForeignOrigin, "The server named a plain http address on %s for your calendars; followup does not send your password there unencrypted.", u.Host)
	default:
		return remoteError(errForeignOrigin, "The calendar address is on %s, a server that the one you entered did not name over https; followup does not send your password there.", u.Host)
	}
}

// reply is a fully read response.
type reply struct {
	method string
	url    *url.URL // the URL that answered, after redirects
	status int
	header http.Header
	body   []byte
	// hide keeps the path out of error causes: a published ICS address
	// is a secret.
	hide bool
}

// where names the URL that answered for error causes (never the user info,
// and only the host when the path is a secret).
func (r *reply) where() string {
	if r.hide {
		return r.url.Scheme + "://" + r.url.Host + "/…"
	}
	return r.url.Redacted()
}

// do sends one request, following up to maxRedirects redirects (301, 302,
// 303, 307, 308) with the same method and body, except that 303 and a
// redirected GET become GET without a body. It reads the whole body, bounded
// by maxBody, all within the client's RequestTimeout. The credentials go
// only to origins the session trusts; a request elsewhere is refused
// unsent, and so is a redirect elsewhere unless the session leaves the
// credentials behind on redirects (then never from https to plain http).
// Transport failures come back as EREMOTE errors naming the host; HTTP
// statuses are left to the caller.
func (s *session) do(ctx context.Context, method, rawURL string, hdr http.Header, body []byte) (*reply, error) {
	timeout := s.c.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if s.hidePath {
			return nil, followup.Errorf(followup.EINVALID, "url", "The calendar address is not an http or https URL.")
		}
		return nil, followup.Errorf(followup.EINVALID, "url", "The address %q is not an http or https URL.", redactURL(rawURL))
	}
	u.User = nil
	var from *url.URL // the URL that redirected here
	for hop := 0; ; hop++ {
		auth := s.hasCredentials() && s.mayAuthenticate(u)
		if s.hasCredentials() && !auth && !s.mayGoWithout(from, u) {
			return nil, s.refuse(from, u)
		}
		r, err := s.send(ctx, method, u, hdr, body, auth)
		if err != nil {
			return nil, err
		}
		next, err := redirectTarget(r)
		if err != nil {
			return nil, err
		}
		if next == nil {
			return r, nil
		}
		if hop >= maxRedirects {
			return nil, remoteError(nil, "%s redirected too many times.", u.Host)
		}
		if r.status == http.StatusSeeOther || method == http.MethodGet || method == http.MethodHead {
			if method != http.MethodHead {
				method = http.MethodGet
			}
			body = nil
		}
		from, u = u, next
	}
}

// send makes one request to u, with the credentials when auth is set, and
// reads the whole answer, bounded by maxBody.
func (s *session) send(ctx context.Context, method string, u *url.URL, hdr http.Header, body []byte, auth bool) (*reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, followup.Errorf(followup.EINVALID, "url", "The address on %s is not a valid URL.", u.Host)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if len(body) > 0 && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	}
	if auth {
		req.SetBasicAuth(s.username, s.password)
	}
	s.n++
	done := s.c.observe(u.Host, method)
	resp, err := s.c.hc.Do(req)
	if err != nil {
		done(followup.NoAnswer)
		return nil, transportError(ctx, u.Host, err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	if err == nil && len(data) > maxBody {
		err = errTooLarge
	}
	status := resp.StatusCode
	if err != nil {
		status = followup.NoAnswer // broken off: no usable answer
	}
	done(status)
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return nil, transportError(ctx, u.Host, err)
		}
		return nil, remoteError(scrub(err), "The response from %s was too large or broken off.", u.Host)
	}
	return &reply{method: method, url: u, status: resp.StatusCode, header: resp.Header, body: data, hide: s.hidePath}, nil
}

// observe starts timing a request to host for the Observer.
func (c *Client) observe(host, method string) func(status int) {
	if c.Observer == nil {
		return func(int) {}
	}
	return c.Observer.ObserveRemote(strings.ToLower(host), method)
}

// redirectTarget returns where a redirect (301, 302, 303, 307, 308 with a
// Location) points, without user info; nil for any other answer.
func redirectTarget(r *reply) (*url.URL, error) {
	switch r.status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, nil
	}
	loc := r.header.Get("Location")
	if loc == "" {
		return nil, nil
	}
	next, err := r.url.Parse(loc)
	if err != nil || (next.Scheme != "http" && next.Scheme != "https") {
		return nil, remoteError(nil, "%s redirected to an address we cannot follow.", r.url.Host)
	}
	next.User = nil
	return next, nil
}

// redactURL hides user info and the query, which may hold a secret.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// resolve returns ref resolved against base as an absolute URL.
func resolve(base *url.URL, ref string) (*url.URL, error) {
	r, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return nil, err
	}
	out := base.ResolveReference(r)
	out.User = nil
	out.Fragment = ""
	return out, nil
}

// canonical returns the form of an absolute URL used as a map key: scheme,
// lower-case host and the path re-escaped from its decoded form, so that
// "/a%40b.ics" and "/a@b.ics" are one key.
func canonical(u *url.URL) string {
	p := &url.URL{Path: u.Path}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + p.EscapedPath()
}

// parseCollection parses a collection URL given by the caller and makes sure
// its path ends in a slash.
func parseCollection(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, followup.Errorf(followup.EINVALID, "url", "The calendar address %q is not an http or https URL.", redactURL(raw))
	}
	u.User = nil
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u, nil
}

// objectURL is the href of the calendar object for uid: the collection URL
// plus the UID with every byte outside [A-Za-z0-9._~-] percent-encoded, plus
// ".ics". It depends on the UID alone, so a retried create can never make a
// second object (RFC 4791 §5.3.2 lets the client choose the name).
func objectURL(collection *url.URL, uid string) (*url.URL, error) {
	if uid == "" {
		return nil, followup.Errorf(followup.EINVALID, "uid", "The event has no UID.")
	}
	var b strings.Builder
	for i := 0; i < len(uid); i++ {
		c := uid[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '~' || (c == '.' && i > 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	seg := b.String() + ".ics"
	u := *collection
	u.RawPath = collection.EscapedPath() + seg
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, followup.Errorf(followup.EINVALID, "uid", "The event UID cannot be made into an address.")
	}
	u.Path = p
	return &u, nil
}

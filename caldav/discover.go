package caldav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/followup/followup"
)

// accountURL reads the server address a person typed: a full URL or a bare
// host ("cal.example.com" means https://cal.example.com/).
func accountURL(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, followup.Errorf(followup.EINVALID, "url", "The CalDAV server address is empty.")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, followup.Errorf(followup.EINVALID, "url", "The CalDAV server address %q is not an http or https URL.", redactURL(raw))
	}
	u.User = nil
	u.Fragment = ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// Discover finds the principal, the calendar home set and its calendars.
//
// It follows RFC 6764 §6: for an address without a path it first sends a
// PROPFIND for DAV:current-user-principal (RFC 5397) to /.well-known/caldav,
// following redirects as PROPFIND, and falls back to the address itself when
// that fails (404 and the like); for an address with a path the order is
// reversed. It then reads CALDAV:calendar-home-set (RFC 4791 §6.2.1), which
// may be an absolute URL on another host (iCloud), and lists the calendar
// collections in the home set with their display names, component sets
// (RFC 4791 §5.2.3) and DAV:current-user-privilege-set (RFC 3744 §5.4).
//
// The credentials go to the entered origin, and to an https principal,
// home set or calendar on another origin only when an https answer from a
// trusted origin named it; those origins come back in Discovery.Origins. A
// redirect to another origin, or a home set on plain http named by an https
// server, is refused with a message saying so.
//
// Errors: EINVALID (field "url") for an address that is not a URL; EREMOTE
// with field "password" for 401/403; EREMOTE for everything else.
func (c *Client) Discover(ctx context.Context, acct followup.CalDAVAccount) (followup.Discovery, error) {
	var d followup.Discovery
	base, err := accountURL(acct.URL)
	if err != nil {
		return d, err
	}
	s := c.session(acct)
	wellKnown := &url.URL{Scheme: base.Scheme, Host: base.Host, Path: "/.well-known/caldav"}
	candidates := []*url.URL{wellKnown, base}
	if base.Path != "/" {
		candidates = []*url.URL{base, wellKnown}
	}

	// Find a URL that answers PROPFIND with a multistatus.
	var (
		ep      *reply
		epResp  prop
		lastBad *reply
		refused error // a candidate redirected where the password does not go
	)
	body := propfindBody("d:current-user-principal", "d:resourcetype", "c:calendar-home-set")
	for _, cand := range candidates {
		r, err := s.do(ctx, "PROPFIND", cand.String(), http.Header{"Depth": {"0"}}, body)
		if errors.Is(err, errForeignOrigin) {
			refused = err
			continue
		}
		if err != nil {
			return d, err
		}
		if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
			return d, withCause(passwordError(), r)
		}
		if r.status != http.StatusMultiStatus {
			if ra := retryAfter(r); ra != nil {
				return d, ra
			}
			if r.status >= 500 && cand == base {
				return d, statusError(r, "CalDAV service")
			}
			lastBad = r
			continue
		}
		ms, err := parseMultistatus(r)
		if err != nil {
			if cand == wellKnown {
				lastBad = r
				continue
			}
			return d, err
		}
		var p prop
		if len(ms.Responses) > 0 {
			p = ms.Responses[0].props()
		}
		if ep == nil {
			ep, epResp = r, p
		}
		if p.Principal != nil || p.HomeSet != nil || p.ResourceType.has(nsCalDAV, "calendar") {
			// A useful answer; a bare multistatus is kept only in
			// case no other candidate does better.
			ep, epResp = r, p
			break
		}
	}
	if ep == nil && refused != nil {
		return d, refused
	}
	if ep == nil {
		return d, notCalDAV(lastBad)
	}
	d.Endpoint = ep.url.String()

	// RFC 5397: the principal; without one, the endpoint is taken for it.
	principal := ep.url
	if epResp.Principal != nil && len(epResp.Principal.Hrefs) > 0 && strings.TrimSpace(epResp.Principal.Hrefs[0]) != "" {
		if p, err := resolve(ep.url, epResp.Principal.Hrefs[0]); err == nil {
			principal = p
			s.named(ep.url, principal)
		}
	}
	d.Principal = principal.String()

	// RFC 4791 §6.2.1: the calendar home set, read from the principal.
	var home *url.URL
	if canonical(principal) == canonical(ep.url) && epResp.HomeSet != nil {
		home = firstHref(ep.url, epResp.HomeSet)
		if home != nil {
			s.named(ep.url, home)
		}
	}
	if home == nil {
		r, err := s.do(ctx, "PROPFIND", principal.String(), http.Header{"Depth": {"0"}}, propfindBody("c:calendar-home-set"))
		if err != nil {
			return d, err
		}
		switch {
		case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
			return d, withCause(passwordError(), r)
		case r.status == http.StatusNotFound:
			return d, remoteError(nil, "%s has no principal at %s (HTTP 404).", r.url.Host, r.url.Path)
		case r.status != http.StatusMultiStatus:
			return d, statusError(r, "principal")
		}
		ms, err := parseMultistatus(r)
		if err != nil {
			return d, err
		}
		for _, resp := range ms.Responses {
			if p := resp.props(); p.HomeSet != nil {
				if home = firstHref(r.url, p.HomeSet); home != nil {
					s.named(r.url, home)
				}
				break
			}
		}
	}
	if home == nil {
		// No home set: some servers keep calendars right under the principal.
		home = principal
	}
	if !strings.HasSuffix(home.Path, "/") {
		home.Path += "/"
		home.RawPath = ""
	}
	d.HomeSet = home.String()

	cals, canMk, err := s.listCalendars(ctx, home)
	if err != nil {
		return d, err
	}
	d.Calendars = cals
	d.CanMkCalendar = canMk
	d.Origins = s.trustedOrigins()
	return d, nil
}

// listCalendars lists the calendar collections in a home set (PROPFIND
// Depth 1) and reports whether the home set lets us create one.
func (s *session) listCalendars(ctx context.Context, home *url.URL) ([]followup.Calendar, bool, error) {
	body := propfindBody("d:resourcetype", "d:displayname", "c:calendar-description",
		"c:supported-calendar-component-set", "d:current-user-privilege-set")
	r, err := s.do(ctx, "PROPFIND", home.String(), http.Header{"Depth": {"1"}}, body)
	if err != nil {
		return nil, false, err
	}
	switch {
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		return nil, false, withCause(passwordError(), r)
	case r.status == http.StatusNotFound:
		return nil, false, remoteError(nil, "The calendar home set on %s was not found (HTTP 404).", r.url.Host)
	case r.status != http.StatusMultiStatus:
		return nil, false, statusError(r, "calendar home set")
	}
	ms, err := parseMultistatus(r)
	if err != nil {
		return nil, false, err
	}
	cals := []followup.Calendar{}
	canMk := true
	for _, resp := range ms.Responses {
		u, ok := resp.href(r.url)
		if !ok || resp.status()/100 != 2 {
			continue
		}
		p := resp.props()
		if canonical(u) == canonical(home) || canonical(u) == canonical(r.url) {
			// MKCALENDAR needs DAV:bind on the home set (RFC 4791 §5.3.1,
			// RFC 3744 §3.9); without a privilege set we just try.
			if p.Privileges != nil {
				canMk = canWrite(p.Privileges, "bind")
			}
			if !p.ResourceType.has(nsCalDAV, "calendar") {
				continue
			}
		}
		if !p.ResourceType.has(nsCalDAV, "calendar") {
			continue
		}
		s.named(r.url, u)
		cals = append(cals, calendarFrom(u, p))
	}
	return cals, canMk, nil
}

// canWrite reports whether a privilege set grants priv through itself or an
// aggregate (DAV:all, DAV:write contain bind and write-content, RFC 3744 §3.12).
func canWrite(privs *names, priv string) bool {
	return privs.has(nsDAV, "all") || privs.has(nsDAV, "write") || privs.has(nsDAV, priv)
}

func firstHref(base *url.URL, h *hrefs) *url.URL {
	for _, raw := range h.Hrefs {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		if u, err := resolve(base, raw); err == nil {
			return u
		}
	}
	return nil
}

func lastSegment(u *url.URL) string {
	p := strings.TrimSuffix(u.Path, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// withCause sets the cause of a *followup.Error to the HTTP status in r.
func withCause(err error, r *reply) error {
	if e, ok := err.(*followup.Error); ok {
		e.Err = fmt.Errorf("caldav: %s %s: HTTP %d", r.method, r.where(), r.status)
	}
	return err
}

// notCalDAV explains why no candidate URL answered as a CalDAV server.
func notCalDAV(r *reply) error {
	if r == nil {
		return remoteError(nil, "The server did not answer as a CalDAV server.")
	}
	cause := fmt.Errorf("caldav: %s %s: HTTP %d", r.method, r.where(), r.status)
	ct := strings.ToLower(r.header.Get("Content-Type"))
	switch {
	case r.status/100 == 2 && (strings.Contains(ct, "html") || bytes.Contains(bytes.ToLower(r.body[:min(len(r.body), 512)]), []byte("<html"))):
		return remoteError(cause, "%s answered with a web page, not CalDAV; check the server address.", r.url.Host)
	case r.status >= 500:
		return remoteError(cause, "%s failed with a server error (HTTP %d); try again later.", r.url.Host, r.status)
	default:
		return remoteError(cause, "%s does not look like a CalDAV server (HTTP %d); check the server address.", r.url.Host, r.status)
	}
}

// slug makes a collection name from a display name: lower-case letters,
// digits and dashes ("Follow-ups" -> "follow-ups").
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		out = "calendar"
	}
	return out
}

// CreateCalendar makes a VEVENT calendar named name under the home set with
// MKCALENDAR (RFC 4791 §5.3.1) at homeSet + slug(name) + "/". When the
// server refuses because the collection already exists and it is a calendar
// (a retry), that calendar is returned. When the server does not allow
// MKCALENDAR (403, 405, 409, 501) it returns EREMOTE saying so, so the
// caller can let the user pick an existing calendar.
func (c *Client) CreateCalendar(ctx context.Context, acct followup.CalDAVAccount, homeSet, name string) (followup.Calendar, error) {
	home, err := parseCollection(homeSet)
	if err != nil {
		return followup.Calendar{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return followup.Calendar{}, followup.Errorf(followup.EINVALID, "name", "The calendar name is empty.")
	}
	target, _ := resolve(home, slug(name)+"/")
	s := c.session(acct)
	r, err := s.do(ctx, "MKCALENDAR", target.String(), nil, mkcalendarBody(name))
	if err != nil {
		return followup.Calendar{}, err
	}
	switch r.status {
	case http.StatusCreated, http.StatusOK, http.StatusNoContent:
		return followup.Calendar{URL: target.String(), Name: name, Components: []string{"VEVENT"}}, nil
	case http.StatusUnauthorized:
		return followup.Calendar{}, withCause(passwordError(), r)
	case http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusConflict, http.StatusNotImplemented,
		http.StatusBadRequest, http.StatusMultiStatus:
		// Xandikos answers 207 for an existing collection.
		// 405 is also the answer when the collection exists
		// (RFC 4791 §5.3.1.1 DAV:resource-must-be-null): reuse it then.
		if cal, ok := s.existingCalendar(ctx, target); ok {
			return cal, nil
		}
		return followup.Calendar{}, remoteError(fmt.Errorf("caldav: MKCALENDAR %s: HTTP %d", target.Redacted(), r.status),
			"%s does not let us create a calendar (HTTP %d); choose an existing calendar instead.", target.Host, r.status)
	default:
		return followup.Calendar{}, statusError(r, "calendar home set")
	}
}

// calendarFrom describes the calendar collection at u from its properties:
// its name (displayname, else the last path segment), description,
// component set (RFC 4791 §5.2.3) and whether we may write to it
// (RFC 3744 §5.4 current-user-privilege-set).
func calendarFrom(u *url.URL, p prop) followup.Calendar {
	cal := followup.Calendar{URL: u.String(), Components: []string{}}
	if p.DisplayName != nil {
		cal.Name = strings.TrimSpace(*p.DisplayName)
	}
	if cal.Name == "" {
		cal.Name = lastSegment(u)
	}
	if p.Description != nil {
		cal.Description = strings.TrimSpace(*p.Description)
	}
	if p.Components != nil {
		for _, comp := range p.Components.Comps {
			cal.Components = append(cal.Components, strings.ToUpper(comp.Name))
		}
	}
	if p.Privileges != nil {
		cal.ReadOnly = !canWrite(p.Privileges, "write-content")
	}
	return cal
}

// existingCalendar reads the collection at u and returns it when it is a
// calendar that takes VEVENTs.
func (s *session) existingCalendar(ctx context.Context, u *url.URL) (followup.Calendar, bool) {
	body := propfindBody("d:resourcetype", "d:displayname", "c:supported-calendar-component-set", "d:current-user-privilege-set")
	r, err := s.do(ctx, "PROPFIND", u.String(), http.Header{"Depth": {"0"}}, body)
	if err != nil || r.status != http.StatusMultiStatus {
		return followup.Calendar{}, false
	}
	ms, err := parseMultistatus(r)
	if err != nil || len(ms.Responses) == 0 {
		return followup.Calendar{}, false
	}
	p := ms.Responses[0].props()
	if !p.ResourceType.has(nsCalDAV, "calendar") {
		return followup.Calendar{}, false
	}
	cal := calendarFrom(u, p)
	if !cal.SupportsEvents() {
		return followup.Calendar{}, false
	}
	return cal, true
}

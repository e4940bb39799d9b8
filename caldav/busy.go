package caldav

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/followup/followup"
)

// multigetBatch bounds the hrefs asked for in one calendar-multiget.
const multigetBatch = 100

// maxSyncRounds bounds the sync-collection requests one Busy call makes when
// the server truncates its answer (RFC 6578 §3.6).
const maxSyncRounds = 10

// Busy reads the busy time of a calendar in [from, to), incrementally from
// prev. See expandCalendar for how events become intervals; in particular
// all-day events come back as AllDay intervals at 00:00 UTC of their dates,
// for the caller to re-anchor in the user's zone.
//
// A full read (no prev, a different window, or a stale sync token) costs two
// requests: a PROPFIND of DAV:supported-report-set, DAV:sync-token and
// CS:getctag, then a calendar-query REPORT with a time-range (RFC 4791
// §7.8, §9.9) returning every object in the window with its data. The token
// is read before the query, so a change made in between is seen next time.
//
// An incremental read then costs one request while nothing changed:
//   - with a sync token, a sync-collection REPORT (RFC 6578 §3.2) lists the
//     changed and removed members; changed ones are fetched with
//     calendar-multiget (RFC 4791 §7.9) and removed ones dropped. A token the
//     server rejects (403/409 DAV:valid-sync-token, RFC 6578 §3.2) leads to
//     a full read;
//   - else a PROPFIND of CS:getctag; when the tag changed, a calendar-query
//     for ETags only decides which objects to fetch and which to drop;
//   - else the ETag query alone.
//
// Errors are EREMOTE (field "password" for 401/403), or *RetryAfterError.
func (c *Client) Busy(ctx context.Context, acct followup.CalDAVAccount, calendarURL string, from, to time.Time, prev followup.BusyState) (followup.BusyRead, error) {
	col, err := parseCollection(calendarURL)
	if err != nil {
		return followup.BusyRead{}, err
	}
	if !to.After(from) {
		return followup.BusyRead{}, followup.Errorf(followup.EINVALID, "to", "The busy window ends before it starts.")
	}
	s := c.session(acct)
	b := &busyRead{s: s, col: col, from: from.UTC(), to: to.UTC(), lim: sourceLimits}
	var read followup.BusyRead
	sameWindow := prev.From.Equal(from) && prev.To.Equal(to) && prev.Objects != nil
	switch {
	case sameWindow && prev.SyncToken != "":
		read, err = b.sync(ctx, prev)
	case sameWindow && prev.CTag != "":
		read, err = b.ctag(ctx, prev)
	case sameWindow:
		read, err = b.etags(ctx, prev, "")
	default:
		read, err = b.full(ctx)
	}
	read.Requests = s.n
	if err == nil {
		read.State.Notice = b.notice(prev.Notice)
	}
	return read, err
}

// busyRead is one Busy call.
type busyRead struct {
	s        *session
	col      *url.URL
	from, to time.Time
	lim      limits    // what is left of the call's limits
	stats    readStats // of the objects read
	whole    bool      // a full read, not an incremental one
}

// notice says which limit the objects read went over. An incremental
// read that went over none keeps prev's notice: the objects it did not
// read are as they were. A full read starts over.
func (b *busyRead) notice(prev string) string {
	if n := overLimit(displayCalendar(b.col), b.stats); n != "" || b.whole {
		return n
	}
	return prev
}

// spend takes from the call's instance limit the intervals of the objects
// kept from before, all but those about to be fetched again.
func (b *busyRead) spend(objs map[string]followup.BusyObject, fetch []*url.URL) {
	again := make(map[string]bool, len(fetch))
	for _, u := range fetch {
		again[canonical(u)] = true
	}
	for k, o := range objs {
		if !again[k] {
			b.lim.instances -= len(o.Intervals)
		}
	}
}

func (b *busyRead) state() followup.BusyState {
	return followup.BusyState{From: b.from, To: b.to, Objects: map[string]followup.BusyObject{}}
}

// collectionInfo is what the PROPFIND of the collection tells.
type collectionInfo struct {
	syncToken string // set only when sync-collection is supported
	ctag      string
}

// info reads the collection's sync token (RFC 6578 §4), whether it supports
// the sync-collection report (RFC 3253 §3.1.5) and its CS:getctag.
func (b *busyRead) info(ctx context.Context) (collectionInfo, error) {
	r, err := b.s.do(ctx, "PROPFIND", b.col.String(), http.Header{"Depth": {"0"}},
		propfindBody("d:resourcetype", "d:supported-report-set", "d:sync-token", "cs:getctag"))
	if err != nil {
		return collectionInfo{}, err
	}
	if r.status != http.StatusMultiStatus {
		return collectionInfo{}, busyStatus(r)
	}
	ms, err := parseMultistatus(r)
	if err != nil {
		return collectionInfo{}, err
	}
	var ci collectionInfo
	for _, resp := range ms.Responses {
		p := resp.props()
		if p.Reports.has(nsDAV, "sync-collection") && p.SyncToken != nil {
			ci.syncToken = strings.TrimSpace(*p.SyncToken)
		}
		if p.CTag != nil {
			ci.ctag = strings.TrimSpace(*p.CTag)
		}
		if ci.syncToken != "" || ci.ctag != "" {
			break
		}
	}
	return ci, nil
}

// busyStatus maps an unexpected status on the calendar collection.
func busyStatus(r *reply) error {
	switch r.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return withCause(passwordError(), r)
	case http.StatusNotFound:
		return remoteError(fmt.Errorf("caldav: %s %s: HTTP 404", r.method, r.where()),
			"The calendar was not found on %s (HTTP 404).", r.url.Host)
	}
	return statusError(r, "calendar")
}

// full reads every object in the window.
func (b *busyRead) full(ctx context.Context) (followup.BusyRead, error) {
	b.whole = true
	ci, err := b.info(ctx)
	if err != nil {
		return followup.BusyRead{}, err
	}
	r, err := b.s.report(ctx, b.col, calendarQueryBody(b.from, b.to, true))
	if err != nil {
		return followup.BusyRead{}, err
	}
	st := b.state()
	st.SyncToken, st.CTag = ci.syncToken, ci.ctag
	if st.SyncToken != "" {
		st.CTag = ""
	}
	if err := b.absorb(ctx, r, st.Objects, true); err != nil {
		return followup.BusyRead{}, err
	}
	return followup.BusyRead{State: st, Changed: true}, nil
}

// absorb reads the objects of a calendar-query or calendar-multiget answer
// into objs. Responses with an error status (a 404 for an object removed
// meanwhile) are dropped from objs. keepEmpty keeps objects without busy
// time in the window, so that an ETag comparison does not fetch them again.
//
// The objects share the call's limits: once its instances are spent, the
// objects after are kept without their busy time (see overLimit).
func (b *busyRead) absorb(ctx context.Context, r *reply, objs map[string]followup.BusyObject, keepEmpty bool) error {
	ms, err := parseMultistatus(r)
	if err != nil {
		return err
	}
	for _, resp := range ms.Responses {
		u, ok := resp.href(r.url)
		if !ok {
			continue
		}
		key := canonical(u)
		if key == canonical(b.col) {
			continue
		}
		p := resp.props()
		if resp.status()/100 != 2 || p.CalendarData == nil {
			delete(objs, key)
			continue
		}
		ivs, stats, err := readBusy(ctx, []byte(*p.CalendarData), b.from, b.to, &b.lim)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return remoteError(err, "%s sent a calendar object we could not read (%s).", r.url.Host, u.Path)
		}
		b.stats = b.stats.add(stats)
		if len(ivs) == 0 && !keepEmpty {
			delete(objs, key)
			continue
		}
		obj := followup.BusyObject{Intervals: ivs}
		if obj.Intervals == nil {
			obj.Intervals = []followup.Interval{}
		}
		if p.ETag != nil {
			obj.ETag = quoteETag(*p.ETag)
		}
		objs[key] = obj
	}
	return nil
}

// multiget fetches the given objects (absolute URLs) in batches and absorbs
// them into objs.
func (b *busyRead) multiget(ctx context.Context, hrefs []*url.URL, objs map[string]followup.BusyObject, keepEmpty bool) error {
	for len(hrefs) > 0 {
		n := min(len(hrefs), multigetBatch)
		paths := make([]string, 0, n)
		for _, u := range hrefs[:n] {
			paths = append(paths, u.EscapedPath())
		}
		hrefs = hrefs[n:]
		r, err := b.s.report(ctx, b.col, multigetBody(paths))
		if err != nil {
			return err
		}
		if err := b.absorb(ctx, r, objs, keepEmpty); err != nil {
			return err
		}
	}
	return nil
}

// copyObjects returns a copy of prev's objects to update.
func copyObjects(prev followup.BusyState) map[string]followup.BusyObject {
	objs := make(map[string]followup.BusyObject, len(prev.Objects))
	for k, v := range prev.Objects {
		objs[k] = v
	}
	return objs
}

// sync reads the changes since prev.SyncToken (RFC 6578).
func (b *busyRead) sync(ctx context.Context, prev followup.BusyState) (followup.BusyRead, error) {
	objs := copyObjects(prev)
	token := prev.SyncToken
	changed := false
	var fetch []*url.URL
	for round := 0; ; round++ {
		r, err := b.s.do(ctx, "REPORT", b.col.String(), http.Header{"Depth": {"0"}}, syncCollectionBody(token))
		if err != nil {
			return followup.BusyRead{}, err
		}
		switch {
		case r.status == http.StatusMultiStatus:
		case r.status == http.StatusForbidden || r.status == http.StatusConflict ||
			r.status == http.StatusBadRequest || r.status == http.StatusPreconditionFailed:
			// RFC 6578 §3.2: an invalid or expired token fails the
			// DAV:valid-sync-token precondition; the client must then
			// do a full resync.
			return b.full(ctx)
		case r.status >= 500 && token != "":
			// Xandikos 0.2.8 answers an unknown token with 500
			// (an AssertionError in its git store) instead of the
			// precondition failure; a full read is safe either way
			// and fails on its own if the server is really down.
			return b.full(ctx)
		default:
			return followup.BusyRead{}, busyStatus(r)
		}
		ms, err := parseMultistatus(r)
		if err != nil {
			return followup.BusyRead{}, err
		}
		truncated := false
		for _, resp := range ms.Responses {
			u, ok := resp.href(r.url)
			if !ok {
				continue
			}
			st := resp.status()
			if canonical(u) == canonical(b.col) {
				// RFC 6578 §3.6: a 507 for the collection itself
				// means the answer was truncated.
				truncated = truncated || st == http.StatusInsufficientStorage
				continue
			}
			key := canonical(u)
			if st == http.StatusNotFound || st == http.StatusGone {
				delete(objs, key)
				changed = true
				continue
			}
			if st/100 != 2 {
				continue
			}
			p := resp.props()
			if old, ok := objs[key]; ok && p.ETag != nil && old.ETag == quoteETag(*p.ETag) {
				continue
			}
			changed = true
			fetch = append(fetch, u)
		}
		if ms.SyncToken != "" {
			token = strings.TrimSpace(ms.SyncToken)
		}
		if !truncated || round+1 >= maxSyncRounds {
			break
		}
	}
	b.spend(objs, fetch)
	if err := b.multiget(ctx, dedupe(fetch), objs, false); err != nil {
		return followup.BusyRead{}, err
	}
	st := b.state()
	st.SyncToken, st.Objects = token, objs
	return followup.BusyRead{State: st, Changed: changed}, nil
}

func dedupe(us []*url.URL) []*url.URL {
	seen := map[string]bool{}
	var out []*url.URL
	for _, u := range us {
		if k := canonical(u); !seen[k] {
			seen[k] = true
			out = append(out, u)
		}
	}
	return out
}

// ctag compares CS:getctag with prev's and compares ETags only when it
// changed.
func (b *busyRead) ctag(ctx context.Context, prev followup.BusyState) (followup.BusyRead, error) {
	ci, err := b.info(ctx)
	if err != nil {
		return followup.BusyRead{}, err
	}
	if ci.syncToken != "" {
		// The server now supports sync-collection: start over with it.
		read, err := b.full(ctx)
		return read, err
	}
	if ci.ctag != "" && ci.ctag == prev.CTag {
		st := prev
		st.Objects = copyObjects(prev)
		return followup.BusyRead{State: st, Changed: false}, nil
	}
	return b.etags(ctx, prev, ci.ctag)
}

// etags lists the ETags of the objects in the window and fetches the new and
// changed ones; objects no longer listed are dropped.
func (b *busyRead) etags(ctx context.Context, prev followup.BusyState, ctag string) (followup.BusyRead, error) {
	r, err := b.s.report(ctx, b.col, calendarQueryBody(b.from, b.to, false))
	if err != nil {
		return followup.BusyRead{}, err
	}
	ms, err := parseMultistatus(r)
	if err != nil {
		return followup.BusyRead{}, err
	}
	objs := map[string]followup.BusyObject{}
	var fetch []*url.URL
	changed := false
	for _, resp := range ms.Responses {
		u, ok := resp.href(r.url)
		if !ok || resp.status()/100 != 2 {
			continue
		}
		key := canonical(u)
		if key == canonical(b.col) {
			continue
		}
		p := resp.props()
		if old, ok := prev.Objects[key]; ok && p.ETag != nil && old.ETag == quoteETag(*p.ETag) {
			objs[key] = old
			continue
		}
		fetch = append(fetch, u)
	}
	if len(objs) != len(prev.Objects) || len(fetch) > 0 {
		changed = true
	}
	b.spend(objs, fetch)
	if err := b.multiget(ctx, dedupe(fetch), objs, true); err != nil {
		return followup.BusyRead{}, err
	}
	st := b.state()
	st.CTag, st.Objects = ctag, objs
	return followup.BusyRead{State: st, Changed: changed}, nil
}

// FetchBusy GETs a plain ICS URL (a calendar's secret address) and returns
// its busy intervals in [from, to), expanded as Busy does. webcal:// is read
// as https://. When prev covers the same window the request is conditional
// (If-None-Match, If-Modified-Since; RFC 9110 §13.1) and a 304 Not Modified
// (§15.4.5) returns prev unchanged with Changed false, and so does a body
// whose SHA-256 is prev's: it is not parsed again.
//
// The calendar is read within sourceLimits; State.Notice names a limit it
// went over. A cancelled ctx stops the parsing between events.
//
// Errors: EINVALID (field "url") for an address that is not a URL; EREMOTE
// for everything the server does wrong. Messages name the host, never the
// secret path.
func (c *Client) FetchBusy(ctx context.Context, rawURL string, from, to time.Time, prev followup.ICSState) (followup.ICSRead, error) {
	s := strings.TrimSpace(rawURL)
	if low := strings.ToLower(s); strings.HasPrefix(low, "webcal://") || strings.HasPrefix(low, "webcals://") {
		s = "https://" + s[strings.Index(s, "://")+3:]
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return followup.ICSRead{}, followup.Errorf(followup.EINVALID, "url", "The calendar address is not an http, https or webcal URL.")
	}
	if !to.After(from) {
		return followup.ICSRead{}, followup.Errorf(followup.EINVALID, "to", "The busy window ends before it starts.")
	}
	hdr := http.Header{"Accept": {"text/calendar, */*;q=0.5"}}
	if prev.From.Equal(from) && prev.To.Equal(to) {
		if prev.ETag != "" {
			hdr.Set("If-None-Match", prev.ETag)
		}
		if prev.LastModified != "" {
			hdr.Set("If-Modified-Since", prev.LastModified)
		}
	}
	var user, pass string
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	// The user info goes to this URL's own origin only; a redirect
	// elsewhere is followed without it.
	sess := c.session(followup.CalDAVAccount{URL: u.String(), Username: user, Password: pass})
	sess.hidePath, sess.leaveCredentials = true, true
	r, err := sess.do(ctx, http.MethodGet, u.String(), hdr, nil)
	if err != nil {
		return followup.ICSRead{}, err
	}
	switch r.status {
	case http.StatusOK:
	case http.StatusNotModified:
		return followup.ICSRead{State: prev, Changed: false}, nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return followup.ICSRead{}, remoteError(fmt.Errorf("caldav: GET ICS on %s: HTTP %d", r.url.Host, r.status),
			"%s refused the calendar address (HTTP %d); it may have been revoked.", r.url.Host, r.status)
	case http.StatusNotFound, http.StatusGone:
		return followup.ICSRead{}, remoteError(fmt.Errorf("caldav: GET ICS on %s: HTTP %d", r.url.Host, r.status),
			"%s has no calendar at that address (HTTP %d); it may have been revoked.", r.url.Host, r.status)
	default:
		if ra := retryAfter(r); ra != nil {
			return followup.ICSRead{}, ra
		}
		return followup.ICSRead{}, remoteError(fmt.Errorf("caldav: GET ICS on %s: HTTP %d", r.url.Host, r.status),
			"%s answered the calendar address with HTTP %d.", r.url.Host, r.status)
	}
	sum := sha256.Sum256(r.body)
	hash := hex.EncodeToString(sum[:])
	if prev.Hash == hash && prev.From.Equal(from) && prev.To.Equal(to) {
		// The server sent the calendar again though it did not change.
		return followup.ICSRead{State: prev, Changed: false}, nil
	}
	lim := sourceLimits
	ivs, stats, err := readBusy(ctx, r.body, from, to, &lim)
	if ctx.Err() != nil {
		return followup.ICSRead{}, ctx.Err()
	}
	if err != nil {
		return followup.ICSRead{}, remoteError(err, "%s did not return a calendar we could read at that address.", r.url.Host)
	}
	if ivs == nil {
		ivs = []followup.Interval{}
	}
	st := followup.ICSState{
		ETag:         r.header.Get("ETag"),
		LastModified: r.header.Get("Last-Modified"),
		Hash:         hash,
		From:         from,
		To:           to,
		Intervals:    ivs,
		Notice:       overLimit(followup.MaskAddress(rawURL), stats),
	}
	return followup.ICSRead{State: st, Changed: true}, nil
}

// overLimit says in plain words which limit a source went over, naming it
// by name; "" when none.
func overLimit(name string, st readStats) string {
	var parts []string
	if st.truncated {
		parts = append(parts, fmt.Sprintf("busy source %s: %s; only the first %s busy times inside the planning window were read.",
			name, counted(st.events, "event"), thousands(maxSourceInstances)))
	}
	if st.skipped > 0 {
		parts = append(parts, fmt.Sprintf("busy source %s: %s left out, as repeating in a way too costly to expand.",
			name, counted(st.skipped, "repeating event")))
	}
	return strings.Join(parts, " ")
}

// counted writes n things: "1 event", "20,000 events".
func counted(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return thousands(n) + " " + thing + "s"
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// displayCalendar shows a CalDAV calendar's URL without user or password.
func displayCalendar(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

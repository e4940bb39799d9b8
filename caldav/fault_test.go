package caldav_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	webdavcaldav "github.com/emersion/go-webdav/caldav"
	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
	"github.com/followup/followup/netguard"
)

// checkErr asserts the error's code and field, and that its message is a
// sentence for a person that names neither the password nor a URL's user
// info.
func checkErr(t *testing.T, err error, wantCode, wantField string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", wantCode)
	}
	if got := followup.ErrorCode(err); got != wantCode {
		t.Errorf("code = %q, want %q (%v)", got, wantCode, err)
	}
	if got := followup.ErrorField(err); got != wantField {
		t.Errorf("field = %q, want %q (%v)", got, wantField, err)
	}
	msg := followup.ErrorMessage(err)
	if len(msg) < 15 || !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") {
		t.Errorf("message %q is not a sentence", msg)
	}
	for _, s := range []string{msg, err.Error()} {
		if strings.Contains(s, testPassword) {
			t.Errorf("error text %q contains the password", s)
		}
	}
}

func account(srvURL string) followup.CalDAVAccount {
	return followup.CalDAVAccount{URL: srvURL, Username: testUser, Password: testPassword}
}

func newClient() *caldav.Client {
	return caldav.New(&http.Client{Timeout: 5 * time.Second})
}

// TestDiscoverMemServer discovers go-webdav's own server: its
// /.well-known/caldav answers 308 to the principal.
func TestDiscoverMemServer(t *testing.T) {
	b := newMemBackend("Work", "Home")
	srv, cnt := newMemServer(t, b)
	d, err := newClient().Discover(context.Background(), account(srv.URL))
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	want := followup.Discovery{
		Endpoint:  srv.URL + "/alice/",
		Principal: srv.URL + "/alice/",
		HomeSet:   srv.URL + "/alice/calendars/",
		Calendars: []followup.Calendar{
			{URL: srv.URL + "/alice/calendars/work/", Name: "Work", Components: []string{"VEVENT"}},
			{URL: srv.URL + "/alice/calendars/home/", Name: "Home", Components: []string{"VEVENT"}},
		},
		CanMkCalendar: true,
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("Discover (-want +got):\n%s", diff)
	}
	reqs := cnt.list()
	if len(reqs) < 2 || !strings.HasPrefix(reqs[0], "PROPFIND /.well-known/caldav") || !strings.HasPrefix(reqs[1], "PROPFIND /alice/ ") {
		t.Errorf("requests %q, want PROPFIND well-known then PROPFIND /alice/", reqs)
	}

	// go-webdav's server has no MKCALENDAR: the caller must let the user
	// choose a calendar.
	_, err = newClient().CreateCalendar(context.Background(), account(srv.URL), d.HomeSet, "Follow-ups")
	checkErr(t, err, followup.EREMOTE, "")
	if !strings.Contains(followup.ErrorMessage(err), "create a calendar") {
		t.Errorf("CreateCalendar message %q does not say creating is not allowed", followup.ErrorMessage(err))
	}
}

// TestDiscoverRedirects follows each redirect status of /.well-known/caldav
// as a PROPFIND with its body, and a bare host as https.
func TestDiscoverRedirects(t *testing.T) {
	for _, status := range []int{301, 302, 307, 308} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			b := newMemBackend("Work")
			inner := authed(&webdavcaldav.Handler{Backend: b})
			cnt := &counter{}
			srv := httptest.NewServer(cnt.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/.well-known/caldav" {
					http.Redirect(w, r, "/alice/", status)
					return
				}
				inner.ServeHTTP(w, r)
			})))
			defer srv.Close()
			d, err := newClient().Discover(context.Background(), account(srv.URL))
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if d.HomeSet != srv.URL+"/alice/calendars/" || len(d.Calendars) != 1 {
				t.Errorf("Discover = %+v, want home set /alice/calendars/ with one calendar", d)
			}
			reqs := cnt.list()
			if len(reqs) < 2 || !strings.HasPrefix(reqs[1], "PROPFIND /alice/ ") || strings.HasSuffix(reqs[1], " 0") {
				t.Errorf("after %d the client sent %q, want a PROPFIND with a body to /alice/", status, reqs)
			}
		})
	}
}

// TestDiscoverWellKnownMissing falls back to the address itself when
// /.well-known/caldav is 404 (RFC 6764 §6).
func TestDiscoverWellKnownMissing(t *testing.T) {
	b := newMemBackend("Work")
	inner := authed(&webdavcaldav.Handler{Backend: b})
	cnt := &counter{}
	srv := httptest.NewServer(cnt.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/caldav" {
			http.NotFound(w, r)
			return
		}
		inner.ServeHTTP(w, r)
	})))
	defer srv.Close()
	d, err := newClient().Discover(context.Background(), account(srv.URL))
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if d.Endpoint != srv.URL+"/" || d.HomeSet != srv.URL+"/alice/calendars/" || len(d.Calendars) != 1 {
		t.Errorf("Discover = %+v, want endpoint / and home set /alice/calendars/", d)
	}
	if reqs := cnt.list(); len(reqs) < 2 || !strings.HasPrefix(reqs[1], "PROPFIND / ") {
		t.Errorf("requests %q, want PROPFIND /.well-known/caldav then PROPFIND /", reqs)
	}
}

// TestDiscoverBareHost reads "host:port" as https://host:port/.
func TestDiscoverBareHost(t *testing.T) {
	b := newMemBackend("Work")
	srv := httptest.NewTLSServer(authed(&webdavcaldav.Handler{Backend: b}))
	defer srv.Close()
	hc := srv.Client()
	hc.Timeout = 5 * time.Second
	host := strings.TrimPrefix(srv.URL, "https://")
	d, err := caldav.New(hc).Discover(context.Background(), account(host))
	if err != nil {
		t.Fatalf("Discover(%q): %v", host, err)
	}
	if d.HomeSet != srv.URL+"/alice/calendars/" {
		t.Errorf("home set %q, want %s/alice/calendars/", d.HomeSet, srv.URL)
	}
}

// status answers every request with code, an optional header and body.
func status(code int, hdr map[string]string, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	})
}

// TestDiscoverFaults covers the ways discovery fails.
func TestDiscoverFaults(t *testing.T) {
	homeMissing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/alice/") {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusMultiStatus)
			io.WriteString(w, `<multistatus xmlns="DAV:"><response><href>/</href><propstat><prop>
<current-user-principal><href>/alice/</href></current-user-principal></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`)
			return
		}
		if r.URL.Path == "/alice/" {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusMultiStatus)
			io.WriteString(w, `<multistatus xmlns="DAV:"><response><href>/alice/</href><propstat><prop>
<calendar-home-set xmlns="urn:ietf:params:xml:ns:caldav"><href xmlns="DAV:">/alice/gone/</href></calendar-home-set></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`)
			return
		}
		http.NotFound(w, r)
	})
	for _, tc := range []struct {
		name      string
		h         http.Handler
		field     string
		inMessage string
	}{
		{"401", status(401, map[string]string{"WWW-Authenticate": `Basic realm="x"`}, "no"), "password", "username or password"},
		{"403", status(403, nil, "forbidden"), "password", "username or password"},
		{"404 everywhere", status(404, nil, "not found"), "", "does not look like a CalDAV server"},
		{"HTML page", status(200, map[string]string{"Content-Type": "text/html"}, "<!doctype html><html><body>Welcome</body></html>"), "", "web page"},
		{"500", status(500, nil, "boom"), "", "server error"},
		{"malformed XML", status(207, map[string]string{"Content-Type": "application/xml"}, `<multistatus xmlns="DAV:"><response><href>/</hr`), "", "could not read"},
		{"404 on the home set", homeMissing, "", "home set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.h)
			defer srv.Close()
			_, err := newClient().Discover(context.Background(), account(srv.URL))
			checkErr(t, err, followup.EREMOTE, tc.field)
			if !strings.Contains(followup.ErrorMessage(err), tc.inMessage) {
				t.Errorf("message %q lacks %q", followup.ErrorMessage(err), tc.inMessage)
			}
		})
	}
}

// TestTransportFaults covers failures below HTTP: a closed port, an unknown
// host, an untrusted certificate, a slow server and a body over the limit.
func TestTransportFaults(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tlsSrv := httptest.NewUnstartedServer(status(207, nil, ""))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}))
	defer slow.Close()

	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusMultiStatus)
		io.WriteString(w, `<multistatus xmlns="DAV:">`+strings.Repeat(`<response><href>/x</href></response>`, 5000)+`</multistatus>`)
	}))
	defer big.Close()
	limited := &http.Client{Timeout: 5 * time.Second, Transport: limitTransport{rt: http.DefaultTransport, n: 4096}}

	for _, tc := range []struct {
		name      string
		url       string
		hc        *http.Client
		timeout   time.Duration
		inMessage string
	}{
		{"closed port", closedURL, nil, 0, "Could not connect"},
		{"unknown host", "https://no-such-host.invalid", nil, 0, "no-such-host.invalid"},
		{"untrusted certificate", tlsSrv.URL, nil, 0, "certificate"},
		{"slow server", slow.URL, nil, 100 * time.Millisecond, "did not answer in time"},
		{"body over the limit", big.URL, limited, 0, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc := tc.hc
			if hc == nil {
				hc = &http.Client{Timeout: 5 * time.Second}
			}
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			start := time.Now()
			_, err := caldav.New(hc).Discover(ctx, account(tc.url))
			checkErr(t, err, followup.EREMOTE, "")
			if !strings.Contains(followup.ErrorMessage(err), tc.inMessage) {
				t.Errorf("message %q lacks %q", followup.ErrorMessage(err), tc.inMessage)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// limitTransport stands for the caller's guarded transport: bodies over n
// bytes fail to read.
type limitTransport struct {
	rt http.RoundTripper
	n  int64
}

func (l limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: l.n}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errors.New("http: response body too large")
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// TestObjectFaults covers the status codes of PUT, GET and DELETE.
func TestObjectFaults(t *testing.T) {
	ev := followup.Event{UID: "u1", Summary: "x", Start: utc("2026-03-10T14:00:00Z"), End: utc("2026-03-10T14:30:00Z"), AlarmMinutes: -1}
	for _, tc := range []struct {
		name      string
		h         http.Handler
		code      string
		field     string
		retry     time.Duration
		inMessage string
	}{
		{"401", status(401, nil, ""), followup.EREMOTE, "password", 0, "username or password"},
		{"412", status(412, nil, ""), followup.ECONFLICT, "", 0, "changed"},
		{"500", status(500, nil, "Internal Server Error"), followup.EREMOTE, "", 0, "server error"},
		{"503 Retry-After seconds", status(503, map[string]string{"Retry-After": "120"}, ""), followup.EREMOTE, "", 2 * time.Minute, "retry"},
		{"429 Retry-After date", status(429, map[string]string{
			"Date":        "Tue, 10 Mar 2026 14:00:00 GMT",
			"Retry-After": "Tue, 10 Mar 2026 14:00:30 GMT",
		}, ""), followup.EREMOTE, "", 30 * time.Second, "retry"},
		{"503 without Retry-After", status(503, nil, ""), followup.EREMOTE, "", 0, "busy"},
		{"403 read-only", status(403, nil, ""), followup.EREMOTE, "", 0, "read-only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.h)
			defer srv.Close()
			_, err := newClient().PutEvent(context.Background(), account(srv.URL), srv.URL+"/cal/", ev, `"e1"`)
			checkErr(t, err, tc.code, tc.field)
			if !strings.Contains(followup.ErrorMessage(err), tc.inMessage) {
				t.Errorf("message %q lacks %q", followup.ErrorMessage(err), tc.inMessage)
			}
			after, ok := followup.RetryAfter(err)
			if ok != (tc.retry > 0) {
				t.Fatalf("followup.RetryAfter ok = %v, want %v", ok, tc.retry > 0)
			}
			if after != tc.retry {
				t.Errorf("RetryAfter = %v, want %v", after, tc.retry)
			}
		})
	}

	t.Run("DELETE 412", func(t *testing.T) {
		srv := httptest.NewServer(status(412, nil, ""))
		defer srv.Close()
		err := newClient().DeleteEvent(context.Background(), account(srv.URL), srv.URL+"/cal/", "u1", `"e1"`)
		checkErr(t, err, followup.ECONFLICT, "")
	})
	t.Run("GET malformed ICS", func(t *testing.T) {
		srv := httptest.NewServer(status(200, map[string]string{"Content-Type": "text/calendar"}, "BEGIN:VCALENDAR\r\nthis is not ics\r\n\x00\xff"))
		defer srv.Close()
		_, err := newClient().GetEvent(context.Background(), account(srv.URL), srv.URL+"/cal/", "u1")
		checkErr(t, err, followup.EREMOTE, "")
	})
	t.Run("GET 404", func(t *testing.T) {
		srv := httptest.NewServer(status(404, nil, ""))
		defer srv.Close()
		_, err := newClient().GetEvent(context.Background(), account(srv.URL), srv.URL+"/cal/", "u1")
		checkErr(t, err, followup.ENOTFOUND, "")
	})
}

// TestObjectsMemServer writes, reads and deletes through go-webdav's server,
// and checks the href and headers the client sends.
func TestObjectsMemServer(t *testing.T) {
	b := newMemBackend("Work")
	srv, cnt := newMemServer(t, b)
	c := newClient()
	ctx := context.Background()
	acct := account(srv.URL)
	calURL := srv.URL + "/alice/calendars/work/"
	ev := followup.Event{UID: "step 7/a@b", Summary: "Call", Start: utc("2026-03-10T14:00:00Z"), End: utc("2026-03-10T14:30:00Z"), AlarmMinutes: 10}
	etag, err := c.PutEvent(ctx, acct, calURL, ev, "")
	if err != nil {
		t.Fatalf("PutEvent: %v", err)
	}
	// The UID's slash, space and @ are escaped: one path segment.
	if reqs := cnt.list(); len(reqs) == 0 || !strings.HasPrefix(reqs[len(reqs)-1], "PUT /alice/calendars/work/step%207%2Fa%40b.ics ") {
		t.Errorf("requests %q, want PUT /alice/calendars/work/step%%207%%2Fa%%40b.ics", reqs)
	}
	if _, err := c.PutEvent(ctx, acct, calURL, ev, ""); followup.ErrorCode(err) != followup.ECONFLICT {
		t.Errorf("second create: %v, want ECONFLICT", err)
	}
	got, err := c.GetEvent(ctx, acct, calURL, ev.UID)
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	if got.UID != ev.UID || got.ETag != etag || !got.Start.Equal(ev.Start) || !got.End.Equal(ev.End) {
		t.Errorf("GetEvent = %+v, want UID %q ETag %q", got, ev.UID, etag)
	}
	list, err := c.ListEvents(ctx, acct, calURL)
	if err != nil || len(list) != 1 || list[0].UID != ev.UID {
		t.Errorf("ListEvents = %+v, %v", list, err)
	}
	if err := c.DeleteEvent(ctx, acct, calURL, ev.UID, ""); err != nil {
		t.Errorf("DeleteEvent: %v", err)
	}
	if err := c.DeleteEvent(ctx, acct, calURL, ev.UID, ""); err != nil {
		t.Errorf("DeleteEvent of a missing object: %v", err)
	}
}

// partialMultistatus answers REPORT with one good object and one 404, as a
// server does for an object removed between listing and reading.
func partialMultistatus(data string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(http.StatusMultiStatus)
		switch r.Method {
		case "PROPFIND":
			io.WriteString(w, `<multistatus xmlns="DAV:"><response><href>/cal/</href><propstat><prop><resourcetype><collection/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat>
<propstat><prop><sync-token/></prop><status>HTTP/1.1 404 Not Found</status></propstat></response></multistatus>`)
		default:
			io.WriteString(w, `<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<response><href>/cal/good.ics</href><propstat><prop><getetag>"g1"</getetag><C:calendar-data>`+data+`</C:calendar-data></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/cal/gone.ics</href><status>HTTP/1.1 404 Not Found</status></response>
<response><href>/cal/half.ics</href><propstat><prop><getetag>"h1"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat>
<propstat><prop><C:calendar-data/></prop><status>HTTP/1.1 404 Not Found</status></propstat></response>
</multistatus>`)
		}
	})
}

func TestPartialMultistatus(t *testing.T) {
	srv := httptest.NewServer(partialMultistatus(oneOff))
	defer srv.Close()
	c := newClient()
	ctx := context.Background()
	list, err := c.ListEvents(ctx, account(srv.URL), srv.URL+"/cal/")
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	want := []followup.RemoteEvent{{UID: "oneoff-1@other.test", Href: srv.URL + "/cal/good.ics", ETag: `"g1"`,
		Start: utc("2026-03-05T13:00:00Z"), End: utc("2026-03-05T14:30:00Z")},
		{Href: srv.URL + "/cal/half.ics", ETag: `"h1"`, Unreadable: true}}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("ListEvents (-want +got):\n%s", diff)
	}
	read, err := c.Busy(ctx, account(srv.URL), srv.URL+"/cal/", utc("2026-03-01T00:00:00Z"), utc("2026-04-01T00:00:00Z"), followup.BusyState{})
	if err != nil {
		t.Fatalf("Busy: %v", err)
	}
	wantIvs := []followup.Interval{{Start: utc("2026-03-05T13:00:00Z"), End: utc("2026-03-05T14:30:00Z")}}
	if diff := cmp.Diff(wantIvs, read.State.Intervals()); diff != "" {
		t.Errorf("Busy (-want +got):\n%s", diff)
	}

	t.Run("malformed calendar-data", func(t *testing.T) {
		bad := httptest.NewServer(partialMultistatus("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;;;=:\n"))
		defer bad.Close()
		_, err := c.Busy(ctx, account(bad.URL), bad.URL+"/cal/", utc("2026-03-01T00:00:00Z"), utc("2026-04-01T00:00:00Z"), followup.BusyState{})
		checkErr(t, err, followup.EREMOTE, "")
		_, err = c.ListEvents(ctx, account(bad.URL), bad.URL+"/cal/")
		checkErr(t, err, followup.EREMOTE, "")
	})
}

// TestBusyETags reads go-webdav's server, which has neither sync-collection
// nor getctag: an unchanged calendar costs one calendar-query for ETags.
func TestBusyETags(t *testing.T) {
	b := newMemBackend("Work")
	b.putRaw(t, "/alice/calendars/work/a.ics", oneOff)
	srv, _ := newMemServer(t, b)
	c := newClient()
	ctx := context.Background()
	acct := account(srv.URL)
	calURL := srv.URL + "/alice/calendars/work/"
	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-04-01T00:00:00Z")

	read, err := c.Busy(ctx, acct, calURL, from, to, followup.BusyState{})
	if err != nil {
		t.Fatalf("Busy: %v", err)
	}
	if read.Requests != 2 || len(read.State.Intervals()) != 1 || read.State.SyncToken != "" || read.State.CTag != "" {
		t.Fatalf("Busy full = %+v", read)
	}
	again, err := c.Busy(ctx, acct, calURL, from, to, read.State)
	if err != nil {
		t.Fatalf("Busy again: %v", err)
	}
	if again.Requests != 1 || again.Changed {
		t.Errorf("Busy unchanged: Requests %d Changed %v, want 1 false", again.Requests, again.Changed)
	}
	b.putRaw(t, "/alice/calendars/work/b.ics", strings.ReplaceAll(strings.ReplaceAll(oneOff, "oneoff-1", "oneoff-2"), "20260305T13", "20260306T13"))
	added, err := c.Busy(ctx, acct, calURL, from, to, again.State)
	if err != nil {
		t.Fatalf("Busy after add: %v", err)
	}
	if added.Requests != 2 || !added.Changed || len(added.State.Intervals()) != 2 {
		t.Errorf("Busy after add = Requests %d Changed %v intervals %v", added.Requests, added.Changed, added.State.Intervals())
	}
	if err := b.DeleteCalendarObject(ctx, "/alice/calendars/work/a.ics"); err != nil {
		t.Fatal(err)
	}
	removed, err := c.Busy(ctx, acct, calURL, from, to, added.State)
	if err != nil {
		t.Fatalf("Busy after delete: %v", err)
	}
	want := []followup.Interval{{Start: utc("2026-03-06T13:00:00Z"), End: utc("2026-03-06T14:30:00Z")}}
	if diff := cmp.Diff(want, removed.State.Intervals()); diff != "" || removed.Requests != 1 || !removed.Changed {
		t.Errorf("Busy after delete: Requests %d Changed %v (-want +got):\n%s", removed.Requests, removed.Changed, diff)
	}
}

// TestBusyCTag serves CS:getctag in front of go-webdav's server: an
// unchanged tag costs one PROPFIND; a changed one an ETag query and a
// multiget.
func TestBusyCTag(t *testing.T) {
	b := newMemBackend("Work")
	b.putRaw(t, "/alice/calendars/work/a.ics", oneOff)
	inner := &webdavcaldav.Handler{Backend: b}
	cnt := &counter{}
	srv := httptest.NewServer(cnt.wrap(authed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "PROPFIND" && r.Header.Get("Depth") == "0" && r.URL.Path == "/alice/calendars/work/" {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusMultiStatus)
			io.WriteString(w, `<multistatus xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><response><href>/alice/calendars/work/</href>
<propstat><prop><CS:getctag>ctag-`+strconv.Itoa(b.ctagVersion())+`</CS:getctag><supported-report-set><supported-report><report><sync-collection/></report></supported-report></supported-report-set></prop><status>HTTP/1.1 200 OK</status></propstat>
<propstat><prop><sync-token/></prop><status>HTTP/1.1 404 Not Found</status></propstat></response></multistatus>`)
			return
		}
		inner.ServeHTTP(w, r)
	}))))
	defer srv.Close()
	c := newClient()
	ctx := context.Background()
	acct := account(srv.URL)
	calURL := srv.URL + "/alice/calendars/work/"
	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-04-01T00:00:00Z")

	read, err := c.Busy(ctx, acct, calURL, from, to, followup.BusyState{})
	if err != nil {
		t.Fatalf("Busy: %v", err)
	}
	if read.State.CTag != "ctag-1" || read.State.SyncToken != "" {
		t.Fatalf("Busy full state CTag %q SyncToken %q, want ctag-1 and none", read.State.CTag, read.State.SyncToken)
	}
	again, err := c.Busy(ctx, acct, calURL, from, to, read.State)
	if err != nil {
		t.Fatalf("Busy again: %v", err)
	}
	if again.Requests != 1 || again.Changed || len(again.State.Intervals()) != 1 {
		t.Errorf("Busy unchanged: Requests %d Changed %v intervals %v", again.Requests, again.Changed, again.State.Intervals())
	}
	b.putRaw(t, "/alice/calendars/work/b.ics", strings.ReplaceAll(strings.ReplaceAll(oneOff, "oneoff-1", "oneoff-2"), "20260305T13", "20260306T13"))
	added, err := c.Busy(ctx, acct, calURL, from, to, again.State)
	if err != nil {
		t.Fatalf("Busy after add: %v", err)
	}
	if added.Requests != 3 || !added.Changed || len(added.State.Intervals()) != 2 || added.State.CTag != "ctag-2" {
		t.Errorf("Busy after add = Requests %d Changed %v CTag %q intervals %v", added.Requests, added.Changed, added.State.CTag, added.State.Intervals())
	}
}

// TestBusyStaleSyncToken answers sync-collection with 403
// DAV:valid-sync-token (RFC 6578 §3.2): the client reads everything again.
func TestBusyStaleSyncToken(t *testing.T) {
	b := newMemBackend("Work")
	b.putRaw(t, "/alice/calendars/work/a.ics", oneOff)
	inner := &webdavcaldav.Handler{Backend: b}
	srv := httptest.NewServer(authed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		switch {
		case r.Method == "REPORT" && strings.Contains(string(body), "sync-collection"):
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<error xmlns="DAV:"><valid-sync-token/></error>`)
		case r.Method == "PROPFIND" && r.Header.Get("Depth") == "0" && r.URL.Path == "/alice/calendars/work/":
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusMultiStatus)
			io.WriteString(w, `<multistatus xmlns="DAV:"><response><href>/alice/calendars/work/</href>
<propstat><prop><sync-token>tok-2</sync-token><supported-report-set><supported-report><report><sync-collection/></report></supported-report></supported-report-set></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`)
		default:
			inner.ServeHTTP(w, r)
		}
	})))
	defer srv.Close()
	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-04-01T00:00:00Z")
	prev := followup.BusyState{SyncToken: "tok-1", From: from, To: to, Objects: map[string]followup.BusyObject{}}
	read, err := newClient().Busy(context.Background(), account(srv.URL), srv.URL+"/alice/calendars/work/", from, to, prev)
	if err != nil {
		t.Fatalf("Busy: %v", err)
	}
	if read.Requests != 3 || read.State.SyncToken != "tok-2" || len(read.State.Intervals()) != 1 {
		t.Errorf("Busy = Requests %d token %q intervals %v, want 3 tok-2 and one interval", read.Requests, read.State.SyncToken, read.State.Intervals())
	}
}

// TestFetchBusy reads a published ICS address conditionally.
func TestFetchBusy(t *testing.T) {
	var gotINM, gotIMS string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/secret/basic.ics":
		case "/secret/busy.ics":
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		default:
			http.NotFound(w, r)
			return
		}
		gotINM, gotIMS = r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
		if gotINM == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Sun, 01 Mar 2026 00:00:00 GMT")
		w.Header().Set("Content-Type", "text/calendar")
		io.WriteString(w, weeklyMeeting)
	}))
	defer srv.Close()
	c := caldav.New(srv.Client())
	ctx := context.Background()
	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-03-20T00:00:00Z")
	webcal := "webcal://" + strings.TrimPrefix(srv.URL, "https://") + "/secret/basic.ics"

	read, err := c.FetchBusy(ctx, webcal, from, to, followup.ICSState{})
	if err != nil {
		t.Fatalf("FetchBusy: %v", err)
	}
	want := followup.ICSRead{
		State: followup.ICSState{ETag: `"v1"`, LastModified: "Sun, 01 Mar 2026 00:00:00 GMT", From: from, To: to,
			Hash: fmt.Sprintf("%x", sha256.Sum256([]byte(weeklyMeeting))),
			Intervals: []followup.Interval{
				{Start: utc("2026-03-02T09:00:00Z"), End: utc("2026-03-02T10:00:00Z")},
				{Start: utc("2026-03-16T14:00:00Z"), End: utc("2026-03-16T15:00:00Z")},
			}},
		Changed: true,
	}
	if diff := cmp.Diff(want, read); diff != "" {
		t.Errorf("FetchBusy (-want +got):\n%s", diff)
	}
	if gotINM != "" {
		t.Errorf("first fetch sent If-None-Match %q", gotINM)
	}

	again, err := c.FetchBusy(ctx, webcal, from, to, read.State)
	if err != nil {
		t.Fatalf("FetchBusy again: %v", err)
	}
	if again.Changed || gotINM != `"v1"` || gotIMS != "Sun, 01 Mar 2026 00:00:00 GMT" {
		t.Errorf("FetchBusy again: Changed %v, sent If-None-Match %q If-Modified-Since %q", again.Changed, gotINM, gotIMS)
	}
	if diff := cmp.Diff(read.State, again.State); diff != "" {
		t.Errorf("FetchBusy 304 state (-want +got):\n%s", diff)
	}

	// Another window: unconditional.
	if _, err := c.FetchBusy(ctx, webcal, from, utc("2026-03-10T00:00:00Z"), read.State); err != nil || gotINM != "" {
		t.Errorf("FetchBusy other window: %v, sent If-None-Match %q", err, gotINM)
	}

	for _, tc := range []struct {
		name      string
		path      string
		inMessage string
	}{
		{"404", "/secret/revoked.ics", "no calendar"},
		{"503 Retry-After", "/secret/busy.ics", "retry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.FetchBusy(ctx, srv.URL+tc.path, from, to, followup.ICSState{})
			checkErr(t, err, followup.EREMOTE, "")
			if !strings.Contains(followup.ErrorMessage(err), tc.inMessage) {
				t.Errorf("message %q lacks %q", followup.ErrorMessage(err), tc.inMessage)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the secret path", err)
			}
		})
	}
	t.Run("HTML", func(t *testing.T) {
		html := httptest.NewServer(status(200, map[string]string{"Content-Type": "text/html"}, "<html><body>Sign in</body></html>"))
		defer html.Close()
		_, err := newClient().FetchBusy(ctx, html.URL+"/x.ics", from, to, followup.ICSState{})
		checkErr(t, err, followup.EREMOTE, "")
	})
}

// TestBusySyncTruncated follows a sync-collection answer truncated with a
// 507 for the collection (RFC 6578 §3.6) with a second report, then fetches
// the changed object with calendar-multiget.
func TestBusySyncTruncated(t *testing.T) {
	b := newMemBackend("Work")
	b.putRaw(t, "/alice/calendars/work/a.ics", oneOff)
	inner := &webdavcaldav.Handler{Backend: b}
	cnt := &counter{}
	srv := httptest.NewServer(cnt.wrap(authed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if r.Method != "REPORT" || !strings.Contains(string(body), "sync-collection") {
			inner.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusMultiStatus)
		switch {
		case strings.Contains(string(body), "<d:sync-token>t1<"):
			io.WriteString(w, `<multistatus xmlns="DAV:">
<response><href>/alice/calendars/work/a.ics</href><propstat><prop><getetag>"new"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/alice/calendars/work/</href><status>HTTP/1.1 507 Insufficient Storage</status></response>
<sync-token>t2</sync-token></multistatus>`)
		case strings.Contains(string(body), "<d:sync-token>t2<"):
			io.WriteString(w, `<multistatus xmlns="DAV:">
<response><href>/alice/calendars/work/b.ics</href><status>HTTP/1.1 404 Not Found</status></response>
<sync-token>t3</sync-token></multistatus>`)
		default:
			t.Errorf("unexpected sync-collection body %s", body)
		}
	}))))
	defer srv.Close()
	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-04-01T00:00:00Z")
	old := []followup.Interval{{Start: utc("2026-03-20T10:00:00Z"), End: utc("2026-03-20T11:00:00Z")}}
	prev := followup.BusyState{SyncToken: "t1", From: from, To: to, Objects: map[string]followup.BusyObject{
		strings.ToLower(srv.URL) + "/alice/calendars/work/b.ics": {ETag: `"b1"`, Intervals: old},
	}}
	read, err := newClient().Busy(context.Background(), account(srv.URL), srv.URL+"/alice/calendars/work/", from, to, prev)
	if err != nil {
		t.Fatalf("Busy: %v", err)
	}
	want := []followup.Interval{{Start: utc("2026-03-05T13:00:00Z"), End: utc("2026-03-05T14:30:00Z")}}
	if diff := cmp.Diff(want, read.State.Intervals()); diff != "" {
		t.Errorf("Busy intervals (-want +got):\n%s", diff)
	}
	if read.Requests != 3 || read.State.SyncToken != "t3" || !read.Changed {
		t.Errorf("Busy = Requests %d token %q Changed %v, want 3 t3 true (requests %q)", read.Requests, read.State.SyncToken, read.Changed, cnt.list())
	}
}

// TestGuardedAddress: a server on a private address, refused by the
// outbound guard, is named as such, with the setting that allows it.
func TestGuardedAddress(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := caldav.New(netguard.NewClient(netguard.Options{}))
	_, err := c.Discover(context.Background(), account(srv.URL))
	checkErr(t, err, followup.EREMOTE, "")
	if msg := followup.ErrorMessage(err); !strings.Contains(msg, "FOLLOWUP_ALLOW_PRIVATE_HOSTS") {
		t.Errorf("message %q does not say how to allow private hosts", msg)
	}
}

// TestRequestTimeout: a server that does not answer costs one request
// timeout, even with an HTTP client and a context that allow more.
func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	defer close(release)
	c := caldav.New(&http.Client{}) // no timeout of its own
	c.RequestTimeout = 300 * time.Millisecond
	t0 := time.Now()
	ev := followup.Event{UID: "u1", Summary: "x", Start: utc("2026-03-10T14:00:00Z"), End: utc("2026-03-10T14:30:00Z"), AlarmMinutes: -1}
	_, err := c.PutEvent(context.Background(), account(srv.URL), srv.URL+"/cal/", ev, "")
	elapsed := time.Since(t0)
	checkErr(t, err, followup.EREMOTE, "")
	if !strings.Contains(followup.ErrorMessage(err), "did not answer in time") {
		t.Errorf("message %q does not say the server did not answer in time", followup.ErrorMessage(err))
	}
	if elapsed > 3*time.Second {
		t.Errorf("PutEvent took %v with a request timeout of 300ms", elapsed)
	}
}

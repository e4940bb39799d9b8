package caldav_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	webdavcaldav "github.com/emersion/go-webdav/caldav"
	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
)

// witness records every request a server gets, with its Authorization
// header, so that a test can say whether the credentials arrived there.
type witness struct {
	mu   sync.Mutex
	seen []string // "METHOD /path auth=..."
}

func (w *witness) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.seen = append(w.seen, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization"))
		w.mu.Unlock()
		h.ServeHTTP(rw, r)
	})
}

// requests returns what the server got.
func (w *witness) requests() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.seen...)
}

// credentialed returns the requests that carried an Authorization header.
func (w *witness) credentialed() []string {
	var out []string
	for _, s := range w.requests() {
		if !strings.HasSuffix(s, " auth=") {
			out = append(out, s)
		}
	}
	return out
}

// principalNaming answers every PROPFIND with a principal at
// /123456/principal/ whose calendar home set is home (an absolute URL).
func principalNaming(home func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "PROPFIND" {
			http.Error(w, "no", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(http.StatusMultiStatus)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<multistatus xmlns="DAV:"><response><href>`+r.URL.Path+`</href><propstat><prop>
<current-user-principal><href>/123456/principal/</href></current-user-principal>
<calendar-home-set xmlns="urn:ietf:params:xml:ns:caldav"><href xmlns="DAV:">`+home()+`</href></calendar-home-set>
</prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`)
	})
}

// tlsClient returns a client that trusts httptest's TLS certificate, which
// every httptest.NewTLSServer shares.
func tlsClient(srv *httptest.Server) *caldav.Client {
	hc := srv.Client()
	hc.Timeout = 5 * time.Second
	return caldav.New(hc)
}

// TestDiscoverHomeSetOnAnotherHost follows an absolute calendar-home-set
// href to another host, as iCloud's principal (on caldav.icloud.com) names
// a home set on pNN-caldav.icloud.com: named over https, that host gets the
// credentials, in discovery and in every later call given Origins.
func TestDiscoverHomeSetOnAnotherHost(t *testing.T) {
	b := newMemBackend("Work")
	homeSeen := &witness{}
	homeSrv := httptest.NewTLSServer(homeSeen.wrap(authed(&webdavcaldav.Handler{Backend: b})))
	defer homeSrv.Close()
	principal := httptest.NewTLSServer(authed(principalNaming(func() string { return homeSrv.URL + "/alice/calendars/" })))
	defer principal.Close()
	c := tlsClient(principal)
	ctx := context.Background()

	d, err := c.Discover(ctx, account(principal.URL))
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if d.Principal != principal.URL+"/123456/principal/" {
		t.Errorf("principal %q", d.Principal)
	}
	if d.HomeSet != homeSrv.URL+"/alice/calendars/" {
		t.Errorf("home set %q, want it on the other host %s", d.HomeSet, homeSrv.URL)
	}
	if len(d.Calendars) != 1 || d.Calendars[0].URL != homeSrv.URL+"/alice/calendars/work/" {
		t.Fatalf("calendars %+v, want Work on the other host", d.Calendars)
	}
	// httptest URLs carry their port, so they are origins as they are.
	if diff := cmp.Diff([]string{homeSrv.URL}, d.Origins); diff != "" {
		t.Errorf("Origins (-want +got):\n%s", diff)
	}

	acct := account(principal.URL)
	acct.Origins = d.Origins
	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-03-20T00:00:00Z")
	if _, err := c.Busy(ctx, acct, d.Calendars[0].URL, from, to, followup.BusyState{}); err != nil {
		t.Errorf("Busy on the home set's host with Origins: %v", err)
	}

	// Without the origins discovery found, the other host is a stranger.
	before := len(homeSeen.requests())
	_, err = c.Busy(ctx, account(principal.URL), d.Calendars[0].URL, from, to, followup.BusyState{})
	checkErr(t, err, followup.EREMOTE, "")
	if got := homeSeen.requests()[before:]; len(got) != 0 {
		t.Errorf("without Origins the other host still got %q", got)
	}
}

// TestCredentialsNotToPlainHTTPHomeSet: an https server that names an
// http:// calendar home gets an error, and the http server never sees the
// password (nor any request).
func TestCredentialsNotToPlainHTTPHomeSet(t *testing.T) {
	plainSeen := &witness{}
	plain := httptest.NewServer(plainSeen.wrap(authed(&webdavcaldav.Handler{Backend: newMemBackend("Work")})))
	defer plain.Close()
	secure := httptest.NewTLSServer(authed(principalNaming(func() string { return plain.URL + "/alice/calendars/" })))
	defer secure.Close()

	_, err := tlsClient(secure).Discover(context.Background(), account(secure.URL))
	checkErr(t, err, followup.EREMOTE, "")
	if msg := followup.ErrorMessage(err); !strings.Contains(msg, "plain http") {
		t.Errorf("message %q does not say the home set is plain http", msg)
	}
	if got := plainSeen.credentialed(); len(got) != 0 {
		t.Errorf("the plain http server got the credentials: %q", got)
	}
}

// TestCredentialsNotNamedOverHTTP: an http server (the user entered http)
// that names a home set on another origin does not make it trusted, even
// over https, since the answer could have been altered on the way.
func TestCredentialsNotNamedOverHTTP(t *testing.T) {
	otherSeen := &witness{}
	other := httptest.NewTLSServer(otherSeen.wrap(authed(&webdavcaldav.Handler{Backend: newMemBackend("Work")})))
	defer other.Close()
	entered := httptest.NewServer(authed(principalNaming(func() string { return other.URL + "/alice/calendars/" })))
	defer entered.Close()

	_, err := tlsClient(other).Discover(context.Background(), account(entered.URL))
	checkErr(t, err, followup.EREMOTE, "")
	if got := otherSeen.credentialed(); len(got) != 0 {
		t.Errorf("a home set named over plain http got the credentials: %q", got)
	}
}

// TestCredentialsNotOnRedirectToAnotherOrigin: a redirect to another
// origin, in discovery or in a later call, is refused with a message saying
// so, and the Authorization header never arrives there. The origins differ
// in port only, as a server on the same host name is another origin too.
func TestCredentialsNotOnRedirectToAnotherOrigin(t *testing.T) {
	targetSeen := &witness{}
	target := httptest.NewServer(targetSeen.wrap(authed(&webdavcaldav.Handler{Backend: newMemBackend("Work")})))
	defer target.Close()
	for _, tc := range []struct {
		name      string
		redirect  string // paths that redirect to the same path on target
		call      func(c *caldav.Client, srvURL string) error
		inMessage string
	}{
		{"well-known and the address", "/", func(c *caldav.Client, srvURL string) error {
			_, err := c.Discover(context.Background(), account(srvURL))
			return err
		}, "another server"},
		{"principal", "/alice/", func(c *caldav.Client, srvURL string) error {
			_, err := c.Discover(context.Background(), account(srvURL))
			return err
		}, "another server"},
		{"put", "/alice/calendars/", func(c *caldav.Client, srvURL string) error {
			_, err := c.PutEvent(context.Background(), account(srvURL), srvURL+"/alice/calendars/work/",
				followup.Event{UID: "u1@followup", Summary: "x", Start: utc("2026-03-02T09:00:00Z"), End: utc("2026-03-02T10:00:00Z")}, "")
			return err
		}, "another server"},
		{"busy", "/alice/calendars/", func(c *caldav.Client, srvURL string) error {
			_, err := c.Busy(context.Background(), account(srvURL), srvURL+"/alice/calendars/work/",
				utc("2026-03-01T00:00:00Z"), utc("2026-03-20T00:00:00Z"), followup.BusyState{})
			return err
		}, "another server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := authed(&webdavcaldav.Handler{Backend: newMemBackend("Work")})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, tc.redirect) {
					http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
					return
				}
				inner.ServeHTTP(w, r)
			}))
			defer srv.Close()
			before := len(targetSeen.requests())
			err := tc.call(newClient(), srv.URL)
			checkErr(t, err, followup.EREMOTE, "")
			if msg := followup.ErrorMessage(err); !strings.Contains(msg, tc.inMessage) {
				t.Errorf("message %q lacks %q", msg, tc.inMessage)
			}
			if got := targetSeen.requests()[before:]; len(got) != 0 {
				t.Errorf("the other origin got %q", got)
			}
		})
	}
}

// TestCredentialsNotFromHTTPSToHTTP: a redirect from https to http is
// refused, even when the other end is the same host name.
func TestCredentialsNotFromHTTPSToHTTP(t *testing.T) {
	plainSeen := &witness{}
	plain := httptest.NewServer(plainSeen.wrap(authed(&webdavcaldav.Handler{Backend: newMemBackend("Work")})))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusPermanentRedirect)
	}))
	defer secure.Close()
	_, err := tlsClient(secure).Discover(context.Background(), account(secure.URL))
	checkErr(t, err, followup.EREMOTE, "")
	if msg := followup.ErrorMessage(err); !strings.Contains(msg, "plain http") {
		t.Errorf("message %q does not name plain http", msg)
	}
	if got := plainSeen.requests(); len(got) != 0 {
		t.Errorf("the http server got %q", got)
	}
}

// TestFetchBusyCredentialsStayHome: the user info of a busy_ics address
// goes to its own origin only; a redirect to another origin is followed
// without it, and a redirect to plain http is refused.
func TestFetchBusyCredentialsStayHome(t *testing.T) {
	otherSeen := &witness{}
	other := httptest.NewTLSServer(otherSeen.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/calendar")
		io.WriteString(w, weeklyMeeting)
	})))
	defer other.Close()
	plainSeen := &witness{}
	plain := httptest.NewServer(plainSeen.wrap(http.NotFoundHandler()))
	defer plain.Close()
	homeSeen := &witness{}
	home := httptest.NewTLSServer(homeSeen.wrap(authed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved.ics":
			http.Redirect(w, r, other.URL+"/cal.ics", http.StatusFound)
		case "/insecure.ics":
			http.Redirect(w, r, plain.URL+"/cal.ics", http.StatusFound)
		case "/here.ics":
			http.Redirect(w, r, "/cal.ics", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "text/calendar")
			io.WriteString(w, weeklyMeeting)
		}
	}))))
	defer home.Close()
	c := tlsClient(home)
	ctx := context.Background()
	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-03-20T00:00:00Z")
	withUser := strings.Replace(home.URL, "https://", "https://"+testUser+":"+testPassword+"@", 1)

	read, err := c.FetchBusy(ctx, withUser+"/here.ics", from, to, followup.ICSState{})
	if err != nil || len(read.State.Intervals) != 2 {
		t.Fatalf("FetchBusy on its own origin, redirected there: %v, %d intervals", err, len(read.State.Intervals))
	}
	if got := homeSeen.credentialed(); len(got) != 2 {
		t.Errorf("its own origin got the credentials on %q, want both requests", got)
	}

	read, err = c.FetchBusy(ctx, withUser+"/moved.ics", from, to, followup.ICSState{})
	if err != nil || len(read.State.Intervals) != 2 {
		t.Errorf("FetchBusy redirected to another origin: %v, %d intervals", err, len(read.State.Intervals))
	}
	if got := otherSeen.requests(); len(got) != 1 || got[0] != "GET /cal.ics auth=" {
		t.Errorf("the other origin got %q, want one GET without credentials", got)
	}

	_, err = c.FetchBusy(ctx, withUser+"/insecure.ics", from, to, followup.ICSState{})
	checkErr(t, err, followup.EREMOTE, "")
	if got := plainSeen.requests(); len(got) != 0 {
		t.Errorf("the plain http server got %q", got)
	}
}

// TestDiscoverWellKnownToAnotherOrigin: when /.well-known/caldav redirects
// to another origin, discovery goes on with the address itself (RFC 6764
// §6) and the other origin never gets a request.
func TestDiscoverWellKnownToAnotherOrigin(t *testing.T) {
	targetSeen := &witness{}
	target := httptest.NewServer(targetSeen.wrap(http.NotFoundHandler()))
	defer target.Close()
	inner := authed(&webdavcaldav.Handler{Backend: newMemBackend("Work")})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/caldav" {
			http.Redirect(w, r, target.URL+"/dav/", http.StatusMovedPermanently)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	d, err := newClient().Discover(context.Background(), account(srv.URL))
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if d.HomeSet != srv.URL+"/alice/calendars/" || len(d.Origins) != 0 {
		t.Errorf("Discover = home set %q, origins %q; want /alice/calendars/ on the entered server and no other origin", d.HomeSet, d.Origins)
	}
	if got := targetSeen.requests(); len(got) != 0 {
		t.Errorf("the other origin got %q", got)
	}
}

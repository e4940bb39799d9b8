package netguard

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIsPublic(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		// Public.
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"93.184.216.34", true},
		{"172.15.255.255", true},
		{"172.32.0.0", true},
		{"100.63.255.255", true},
		{"100.128.0.0", true},
		{"169.253.255.255", true},
		{"11.0.0.1", true},
		{"223.255.255.255", true},
		{"2606:4700:4700::1111", true},
		{"2a00:1450:4001:80b::200e", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},  // 6to4 of 8.8.8.8
		// Loopback.
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false},
		// Private.
		{"10.0.0.1", false},
		{"10.255.255.255", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"::ffff:10.1.2.3", false},
		{"::ffff:192.168.0.1", false},
		{"fc00::1", false},
		{"fd12:3456:789a::1", false},
		// Link-local, including cloud metadata.
		{"169.254.169.254", false},
		{"169.254.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"febf:ffff::1", false},
		{"fd00:ec2::254", false}, // AWS IMDS over IPv6 (unique local)
		// Unspecified and "this network".
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"::ffff:0.0.0.0", false},
		// Multicast and broadcast.
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"255.255.255.255", false},
		{"ff02::1", false},
		{"ff05::2", false},
		{"ff01::1", false},
		// CGNAT.
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"::ffff:100.64.0.1", false},
		// Other special purpose.
		{"192.0.0.8", false},
		{"192.0.2.1", false},
		{"198.18.0.1", false},
		{"198.19.255.255", false},
		{"198.51.100.7", false},
		{"203.0.113.9", false},
		{"240.0.0.1", false},
		{"2001:db8::1", false},
		{"2001:0:4136:e378::1", false}, // Teredo
		{"100::1", false},
		{"fec0::1", false},
		{"::127.0.0.1", false},        // IPv4-compatible
		{"::ffff:0:7f00:1", false},    // IPv4-translated 127.0.0.1
		{"64:ff9b::7f00:1", false},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"64:ff9b:1::1", false},
		{"2002:7f00:1::1", false}, // 6to4 of 127.0.0.1
		{"2002:a00:1::1", false},  // 6to4 of 10.0.0.1
	} {
		t.Run(tc.addr, func(t *testing.T) {
			a, err := netip.ParseAddr(tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got := IsPublic(a); got != tc.want {
				t.Errorf("IsPublic(%s) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
	if IsPublic(netip.Addr{}) {
		t.Error("IsPublic(zero Addr) = true")
	}
}

// TestCheckDial covers the dial-time check on the forms of address the
// dialer passes.
func TestCheckDial(t *testing.T) {
	for _, tc := range []struct {
		network, address string
		ok               bool
	}{
		{"tcp4", "8.8.8.8:443", true},
		{"tcp6", "[2606:4700:4700::1111]:443", true},
		{"tcp4", "127.0.0.1:80", false},
		{"tcp6", "[::ffff:127.0.0.1]:80", false},
		{"tcp6", "[::ffff:169.254.169.254]:80", false},
		{"tcp6", "[fe80::1%eth0]:80", false},
		{"udp4", "8.8.8.8:53", false},
		{"tcp", "example.com:80", false},
		{"tcp", "garbage", false},
	} {
		err := checkDial(tc.network, tc.address, IsPublic)
		if tc.ok && err != nil {
			t.Errorf("checkDial(%s, %s) = %v, want nil", tc.network, tc.address, err)
		}
		if !tc.ok && !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("checkDial(%s, %s) = %v, want ErrForbiddenAddress", tc.network, tc.address, err)
		}
	}
}

// get fetches url with c and returns the body or the error.
func get(c *http.Client, url string, header http.Header) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func okServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLoopbackRefusedByDefault(t *testing.T) {
	srv := okServer(t)
	_, err := get(NewClient(Options{}), srv.URL, nil)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("GET %s = %v, want ErrForbiddenAddress", srv.URL, err)
	}
	if got, want := Describe(err), "private, local or reserved network"; !strings.Contains(got, want) {
		t.Errorf("Describe = %q, want it to mention %q", got, want)
	}
	// Also by name: "localhost" resolves to loopback and is refused at dial time.
	u, _ := url.Parse(srv.URL)
	byName := "http://localhost:" + u.Port() + "/"
	if _, err := get(NewClient(Options{}), byName, nil); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("GET %s = %v, want ErrForbiddenAddress", byName, err)
	}
}

func TestLoopbackAllowedWithAllowPrivate(t *testing.T) {
	srv := okServer(t)
	got, err := get(NewClient(Options{AllowPrivate: true}), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("hello", got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestSchemes(t *testing.T) {
	c := NewClient(Options{AllowPrivate: true})
	for _, u := range []string{"ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/"} {
		_, err := get(c, u, nil)
		if !errors.Is(err, ErrUnsupportedScheme) {
			t.Errorf("GET %s = %v, want ErrUnsupportedScheme", u, err)
		}
	}
}

// listenOn starts an httptest server on the given loopback address,
// skipping the test where the system cannot listen there.
func listenOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// only127001 allows 127.0.0.1 and nothing else, so that 127.0.0.2 stands in
// for an internal host.
func only127001(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }

func TestRedirectToForbiddenAddress(t *testing.T) {
	internal := listenOn(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the internal server was reached")
	}))
	mux := http.NewServeMux()
	mux.Handle("/go", http.RedirectHandler(internal.URL+"/secret", http.StatusFound))
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	public := listenOn(t, "127.0.0.1:0", mux)

	c := NewClient(Options{allow: only127001})
	// The policy lets the public server through directly...
	if got, err := get(c, public.URL+"/ok", nil); err != nil || got != "hello" {
		t.Fatalf("GET %s/ok = %q, %v; want hello", public.URL, got, err)
	}
	// ...but not its redirect to the internal one.
	_, err := get(c, public.URL+"/go", nil)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("GET %s/go redirected to %s = %v, want ErrForbiddenAddress", public.URL, internal.URL, err)
	}
}

func TestRedirectCredentials(t *testing.T) {
	seen := make(chan string, 10)
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			seen <- name + " " + r.URL.Path + " auth=" + r.Header.Get("Authorization") + " cookie=" + r.Header.Get("Cookie")
			io.WriteString(w, "ok")
		}
	}
	other := listenOn(t, "127.0.0.2:0", record("other"))
	mux := http.NewServeMux()
	mux.Handle("/same", http.RedirectHandler("/final", http.StatusFound))
	mux.HandleFunc("/cross", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/final", http.StatusFound)
	})
	mux.Handle("/final", record("origin"))
	origin := listenOn(t, "127.0.0.1:0", mux)

	c := NewClient(Options{AllowPrivate: true})
	h := http.Header{"Authorization": {"Basic dTpw"}, "Cookie": {"s=1"}}
	for _, tc := range []struct {
		path string
		want string
	}{
		{"/same", "origin /final auth=Basic dTpw cookie=s=1"},
		{"/cross", "other /final auth= cookie="},
	} {
		if _, err := get(c, origin.URL+tc.path, h); err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		if diff := cmp.Diff(tc.want, <-seen); diff != "" {
			t.Errorf("GET %s: final request (-want +got):\n%s", tc.path, diff)
		}
	}
}

// TestCheckRedirect covers the cases net/http would let through: a
// subdomain, another port and another scheme on the same host name.
func TestCheckRedirect(t *testing.T) {
	mk := func(u string, auth bool) *http.Request {
		r, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth {
			r.Header.Set("Authorization", "Basic dTpw")
		}
		return r
	}
	for _, tc := range []struct {
		from, to string
		keep     bool
		err      error
	}{
		{"https://dav.example.com/a", "https://dav.example.com/b", true, nil},
		{"https://dav.example.com/a", "https://DAV.example.com:443/b", true, nil},
		{"http://dav.example.com/a", "https://dav.example.com/b", false, nil},
		{"https://example.com/a", "https://dav.example.com/b", false, nil},
		{"https://dav.example.com/a", "https://dav.example.com:8443/b", false, nil},
		{"https://dav.example.com/a", "https://evil.example.net/b", false, nil},
		{"https://dav.example.com/a", "http://dav.example.com/b", false, ErrInsecureRedirect},
	} {
		t.Run(tc.from+" to "+tc.to, func(t *testing.T) {
			req := mk(tc.to, true)
			err := checkRedirect(req, []*http.Request{mk(tc.from, true)}, 10)
			if !errors.Is(err, tc.err) {
				t.Fatalf("checkRedirect = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got := req.Header.Get("Authorization") != ""; got != tc.keep {
				t.Errorf("Authorization kept = %v, want %v", got, tc.keep)
			}
		})
	}
}

func TestTooManyRedirects(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/%d", &n)
		if n >= 3 {
			io.WriteString(w, "done")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/%d", n+1), http.StatusFound)
	}))
	defer srv.Close()
	// Three redirects: allowed at 3, refused at 2.
	if _, err := get(NewClient(Options{AllowPrivate: true, MaxRedirects: 3}), srv.URL+"/0", nil); err != nil {
		t.Errorf("3 redirects with MaxRedirects 3: %v", err)
	}
	_, err := get(NewClient(Options{AllowPrivate: true, MaxRedirects: 2}), srv.URL+"/0", nil)
	if !errors.Is(err, ErrTooManyRedirects) {
		t.Errorf("3 redirects with MaxRedirects 2 = %v, want ErrTooManyRedirects", err)
	}
}

func TestBodyLimit(t *testing.T) {
	const limit = 1000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Query().Get("n"), "%d", &n)
		if r.URL.Query().Get("chunked") != "" {
			// Flushing first makes the response chunked: no Content-Length.
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
		} else {
			w.Header().Set("Content-Length", fmt.Sprint(n))
		}
		w.Write([]byte(strings.Repeat("x", n)))
	}))
	defer srv.Close()
	c := NewClient(Options{AllowPrivate: true, MaxBody: limit})
	for _, tc := range []struct {
		query   string
		tooBig  bool
		wantLen int
	}{
		{"n=0", false, 0},
		{"n=1000", false, 1000},
		{"n=1001", true, 0},
		{"n=100000", true, 0},
		{"n=1000&chunked=1", false, 1000},
		{"n=1001&chunked=1", true, 0},
		{"n=100000&chunked=1", true, 0},
	} {
		t.Run(tc.query, func(t *testing.T) {
			body, err := get(c, srv.URL+"/?"+tc.query, nil)
			if tc.tooBig {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("err = %v, want ErrTooLarge", err)
				}
				if got := Describe(err); !strings.Contains(got, "larger") {
					t.Errorf("Describe = %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(body) != tc.wantLen {
				t.Errorf("body is %d bytes, want %d", len(body), tc.wantLen)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	_, err := get(NewClient(Options{AllowPrivate: true, Timeout: 200 * time.Millisecond}), srv.URL, nil)
	if err == nil {
		t.Fatal("no error from a server that never answers")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v with a 200ms timeout", d)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("err = %v, want a timeout", err)
	}
	if got := Describe(err); !strings.Contains(got, "did not answer in time") {
		t.Errorf("Describe = %q", got)
	}
}

func TestDescribeLive(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, err = get(NewClient(Options{AllowPrivate: true}), "http://"+addr+"/", nil)
		if got := Describe(err); !strings.Contains(got, "refused the connection") {
			t.Errorf("Describe(%v) = %q", err, got)
		}
	})
	t.Run("self-signed certificate", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		defer srv.Close()
		_, err := get(NewClient(Options{AllowPrivate: true}), srv.URL, nil)
		if got := Describe(err); !strings.Contains(got, "TLS certificate") {
			t.Errorf("Describe(%v) = %q", err, got)
		}
	})
	t.Run("https to a plain http server", func(t *testing.T) {
		srv := okServer(t)
		_, err := get(NewClient(Options{AllowPrivate: true}), strings.Replace(srv.URL, "http://", "https://", 1), nil)
		if got := Describe(err); !strings.Contains(got, "did not answer with TLS") {
			t.Errorf("Describe(%v) = %q", err, got)
		}
	})
	t.Run("old TLS refused", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		srv.TLS = &tls.Config{MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		defer srv.Close()
		c := NewClient(Options{AllowPrivate: true})
		// Trust the test certificate so only the version can fail.
		c.Transport.(*guard).next.(*http.Transport).TLSClientConfig.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		if _, err := get(c, srv.URL, nil); err == nil {
			t.Error("a TLS 1.1 server was accepted")
		}
	})
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&url.Error{Op: "Get", URL: "https://nope.invalid/", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Name: "nope.invalid", IsNotFound: true}}},
			`The server name "nope.invalid" was not found; check the address for typos.`},
		{&net.DNSError{Name: "x.example", IsTimeout: true}, `Looking up the server name "x.example" timed out; try again later.`},
		{&net.DNSError{Name: "x.example"}, `The server name "x.example" could not be looked up; try again later.`},
		{fmt.Errorf("dial: %w", ErrForbiddenAddress), "The server's address is on a private, local or reserved network, which this service is not allowed to connect to."},
		{fmt.Errorf("read: %w", ErrTooLarge), "The server sent a response larger than this service accepts."},
		{&url.Error{Op: "Get", URL: "x", Err: context.DeadlineExceeded}, "The server did not answer in time; try again later."},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "The server refused the connection; check the address and port."},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, "The server closed the connection unexpectedly; try again later."},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, "The server's TLS certificate is not signed by a trusted authority (self-signed?)."},
		{&tls.CertificateVerificationError{Err: x509.HostnameError{Host: "a"}}, "The server's TLS certificate is for a different name than the address; check the address."},
		{&tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.Expired}}, "The server's TLS certificate has expired or is not yet valid."},
		{fmt.Errorf("x: %w", ErrUnsupportedScheme), "The address must start with https:// or http://."},
		{fmt.Errorf("x: %w", ErrTooManyRedirects), "The server redirected too many times; check the address."},
		{errors.New("something else"), "The server could not be reached."},
	} {
		if diff := cmp.Diff(tc.want, Describe(tc.err)); diff != "" {
			t.Errorf("Describe(%v) (-want +got):\n%s", tc.err, diff)
		}
	}
}

// Package netguard makes outbound HTTP requests to URLs that users supply
// (CalDAV servers, ICS busy feeds) without letting them reach the service's
// own network: loopback, private and link-local addresses (including the
// cloud metadata service at 169.254.169.254) and other special-purpose
// ranges are refused.
//
// The check runs in net.Dialer.Control, on the IP address actually being
// connected to after DNS resolution, so a name that resolves to an internal
// address, a DNS answer that changes between check and use (rebinding), and a
// redirect to an internal host are all refused the same way. The client never
// uses a proxy from the environment, since a proxy would connect on its behalf
// where the check cannot see.
package netguard

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBody      = 10 << 20
	DefaultMaxRedirects = 10
)

var (
	// ErrTooLarge is wrapped by the error reading a response body past
	// Options.MaxBody, or returned at once when Content-Length says so.
	ErrTooLarge = errors.New("netguard: response body too large")
	// ErrForbiddenAddress is wrapped by the error of a connection to an
	// address the policy refuses, such as loopback or a private network.
	ErrForbiddenAddress = errors.New("netguard: address not allowed")
	// ErrUnsupportedScheme is wrapped by the error of a request whose URL
	// is not http or https.
	ErrUnsupportedScheme = errors.New("netguard: only http and https URLs are allowed")
	// ErrTooManyRedirects is wrapped by the error of a request that was
	// redirected more than Options.MaxRedirects times.
	ErrTooManyRedirects = errors.New("netguard: too many redirects")
	// ErrInsecureRedirect is wrapped by the error of a request redirected
	// from https to http, where credentials would travel in clear text.
	ErrInsecureRedirect = errors.New("netguard: redirect from https to http")
)

// Options configure a guarded client.
type Options struct {
	AllowPrivate bool          // FOLLOWUP_ALLOW_PRIVATE_HOSTS: allow loopback/private/link-local (self-hosters on a LAN)
	Timeout      time.Duration // whole-request timeout (default 30s)
	MaxBody      int64         // response body limit in bytes (default 10 MiB); reading past it fails with an error wrapping ErrTooLarge
	MaxRedirects int           // default 10

	// allow replaces the address policy in tests, which can only listen on
	// loopback yet must tell an allowed server from a forbidden one.
	allow func(netip.Addr) bool
}

// NewClient returns an *http.Client whose dialer checks the resolved IP at
// connect time (net.Dialer.Control), so DNS rebinding and redirects to
// internal hosts are refused too. Its transport accepts only http and https,
// negotiates TLS 1.2 or later, limits response bodies to MaxBody, and its
// redirects drop credentials when leaving the original origin.
func NewClient(o Options) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	allow := o.allow
	if allow == nil {
		allow = IsPublic
		if o.AllowPrivate {
			allow = func(netip.Addr) bool { return true }
		}
	}
	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			return checkDial(network, address, allow)
		},
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would connect where Control cannot see
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &http.Client{
		Transport: &guard{next: transport, maxBody: o.MaxBody},
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return checkRedirect(req, via, o.MaxRedirects)
		},
	}
}

// checkDial refuses a connection to an address the policy does not allow.
// address is the resolved "ip:port" the dialer is about to connect to.
func checkDial(network, address string, allow func(netip.Addr) bool) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %s", ErrForbiddenAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrForbiddenAddress, address, err)
	}
	if !allow(ap.Addr().Unmap()) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
	}
	return nil
}

// sensitiveHeaders carry credentials; net/http strips the same set when a
// redirect leaves the original domain.
var sensitiveHeaders = []string{"Authorization", "Www-Authenticate", "Cookie", "Cookie2", "Proxy-Authorization"}

// checkRedirect caps the number of redirects, refuses https to http, and
// keeps credentials only for the original origin. net/http already drops
// them for another host, but keeps them for a subdomain and for the same
// host name on another port or scheme (client.go shouldCopyHeaderOnRedirect
// compares host names only); here the scheme, host and port must all match.
func checkRedirect(req *http.Request, via []*http.Request, max int) error {
	if len(via) > max {
		return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, max)
	}
	prev := via[len(via)-1].URL
	if strings.EqualFold(prev.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
		return fmt.Errorf("%w: %s", ErrInsecureRedirect, redact(req.URL))
	}
	if !sameOrigin(via[0].URL, req.URL) {
		for _, h := range sensitiveHeaders {
			req.Header.Del(h)
		}
	}
	return nil
}

// sameOrigin reports whether a and b have the same scheme, host and port
// (RFC 6454 §4), with default ports made explicit.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		port(a) == port(b)
}

// port returns u's port, or the scheme's default.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// redact returns u without user information, for error messages.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// guard is the client's RoundTripper: it refuses other schemes before any
// connection and wraps every response body in the size limit.
type guard struct {
	next    http.RoundTripper
	maxBody int64
}

// RoundTrip implements http.RoundTripper.
func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if s := strings.ToLower(req.URL.Scheme); s != "http" && s != "https" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedScheme, req.URL.Scheme)
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if req.Method != http.MethodHead && resp.ContentLength > g.maxBody {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s declares %d bytes, the limit is %d", ErrTooLarge, req.URL.Host, resp.ContentLength, g.maxBody)
	}
	resp.Body = &limitedBody{rc: resp.Body, left: g.maxBody, max: g.maxBody, host: req.URL.Host}
	return resp, nil
}

// limitedBody returns the first max bytes of a body, then an error wrapping
// ErrTooLarge if there is more (rather than the silent truncation of
// io.LimitReader, which would let a cut-off calendar parse as complete).
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	max  int64
	host string
}

// Read implements io.Reader.
func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: %s sent more than %d bytes", ErrTooLarge, b.host, b.max)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

// Close implements io.Closer.
func (b *limitedBody) Close() error { return b.rc.Close() }

// special are address ranges that are not ordinary public unicast
// destinations, beyond what netip.Addr's Is* methods cover
// (RFC 6890 special-purpose registries).
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network" (RFC 791); Linux connects 0.x to localhost
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space, CGNAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (RFC 6890 §2.2.2)
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1 (RFC 5737)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking (RFC 2544)
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2 (RFC 5737)
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3 (RFC 5737)
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255 broadcast (RFC 1112, RFC 919)
	netip.MustParsePrefix("::/96"),           // IPv4-compatible, deprecated (RFC 4291 §2.5.5.1)
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated (RFC 2765)
	netip.MustParsePrefix("100::/64"),        // discard-only (RFC 6666)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation (RFC 3849)
	netip.MustParsePrefix("2001::/32"),       // Teredo (RFC 4380): tunnels to an embedded IPv4 peer
	netip.MustParsePrefix("fec0::/10"),       // site-local, deprecated (RFC 3879)
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use IPv4/IPv6 translation (RFC 8215)
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64 prefix (RFC 6052)
	sixToFour = netip.MustParsePrefix("2002::/16")    // 6to4 (RFC 3056), IPv4 in bits 16-47
)

// IsPublic reports whether a is an ordinary public unicast address that a
// guarded client may connect to without Options.AllowPrivate. It refuses
// loopback (127/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7),
// link-local (169.254/16, fe80::/10), unspecified, multicast, CGNAT
// (100.64/10), 0/8, the documentation and reserved ranges above, and IPv6
// forms that embed a refused IPv4 address (IPv4-mapped, NAT64, 6to4).
func IsPublic(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return IsPublic(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(a):
			return IsPublic(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() ||
		a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range special {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// Describe returns a sentence a person can act on for an error from a
// guarded client: DNS not found, connection refused, timeout, TLS
// certificate problems, forbidden address, too large, and a few others. It
// returns "" for nil.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	var (
		dnsErr      *net.DNSError
		unknownCA   x509.UnknownAuthorityError
		hostnameErr x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		verifyErr   *tls.CertificateVerificationError
		recordErr   tls.RecordHeaderError
		netErr      net.Error
	)
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return "The server's address is on a private, local or reserved network, which this service is not allowed to connect to."
	case errors.Is(err, ErrTooLarge):
		return "The server sent a response larger than this service accepts."
	case errors.Is(err, ErrUnsupportedScheme):
		return "The address must start with https:// or http://."
	case errors.Is(err, ErrTooManyRedirects):
		return "The server redirected too many times; check the address."
	case errors.Is(err, ErrInsecureRedirect):
		return "The server redirected from https to plain http, which would expose your credentials; use the server's https address."
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Sprintf("The server name %q was not found; check the address for typos.", dnsErr.Name)
		}
		if dnsErr.IsTimeout {
			return fmt.Sprintf("Looking up the server name %q timed out; try again later.", dnsErr.Name)
		}
		return fmt.Sprintf("The server name %q could not be looked up; try again later.", dnsErr.Name)
	case errors.As(err, &hostnameErr):
		return "The server's TLS certificate is for a different name than the address; check the address."
	case errors.As(err, &unknownCA):
		return "The server's TLS certificate is not signed by a trusted authority (self-signed?)."
	case errors.As(err, &invalidErr):
		if invalidErr.Reason == x509.Expired {
			return "The server's TLS certificate has expired or is not yet valid."
		}
		return "The server's TLS certificate is not valid."
	case errors.As(err, &verifyErr):
		return "The server's TLS certificate could not be verified."
	case errors.As(err, &recordErr),
		// net/http replaces the RecordHeaderError by a plain error when the
		// answer looks like HTTP (transport.go).
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "The server did not answer with TLS; check whether the address should start with http:// rather than https://."
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "The server did not answer in time; try again later."
	case errors.Is(err, syscall.ECONNREFUSED):
		return "The server refused the connection; check the address and port."
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "The server closed the connection unexpectedly; try again later."
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "The server's network cannot be reached from this service."
	case errors.Is(err, context.Canceled):
		return "The request was cancelled."
	}
	return "The server could not be reached."
}

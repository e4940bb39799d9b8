package caldav_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	webdavcaldav "github.com/emersion/go-webdav/caldav"
)

// memBackend is an in-memory go-webdav CalDAV backend: principal /alice/,
// home set /alice/calendars/, honouring If-Match and If-None-Match on PUT.
// It has neither sync-collection nor getctag, so Busy uses ETags with it.
type memBackend struct {
	mu      sync.Mutex
	cals    []webdavcaldav.Calendar
	objs    map[string]*webdavcaldav.CalendarObject
	version int
}

func newMemBackend(cals ...string) *memBackend {
	b := &memBackend{objs: map[string]*webdavcaldav.CalendarObject{}}
	for _, name := range cals {
		b.cals = append(b.cals, webdavcaldav.Calendar{
			Path:                  "/alice/calendars/" + strings.ToLower(name) + "/",
			Name:                  name,
			SupportedComponentSet: []string{"VEVENT"},
		})
	}
	return b
}

func trimSlash(p string) string { return strings.TrimSuffix(p, "/") }

func (b *memBackend) CurrentUserPrincipal(context.Context) (string, error) { return "/alice/", nil }

func (b *memBackend) CalendarHomeSetPath(context.Context) (string, error) {
	return "/alice/calendars/", nil
}

func (b *memBackend) CreateCalendar(_ context.Context, cal *webdavcaldav.Calendar) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cals = append(b.cals, *cal)
	return nil
}

func (b *memBackend) ListCalendars(context.Context) ([]webdavcaldav.Calendar, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]webdavcaldav.Calendar(nil), b.cals...), nil
}

func (b *memBackend) GetCalendar(_ context.Context, p string) (*webdavcaldav.Calendar, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.cals {
		if trimSlash(c.Path) == trimSlash(p) {
			c := c
			return &c, nil
		}
	}
	return nil, webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("no calendar %s", p))
}

func (b *memBackend) GetCalendarObject(_ context.Context, p string, _ *webdavcaldav.CalendarCompRequest) (*webdavcaldav.CalendarObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o, ok := b.objs[p]; ok {
		o := *o
		return &o, nil
	}
	return nil, webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("no object %s", p))
}

func (b *memBackend) ListCalendarObjects(_ context.Context, p string, _ *webdavcaldav.CalendarCompRequest) ([]webdavcaldav.CalendarObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []webdavcaldav.CalendarObject
	for k, o := range b.objs {
		if strings.HasPrefix(k, trimSlash(p)+"/") {
			out = append(out, *o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (b *memBackend) QueryCalendarObjects(ctx context.Context, p string, q *webdavcaldav.CalendarQuery) ([]webdavcaldav.CalendarObject, error) {
	all, err := b.ListCalendarObjects(ctx, p, nil)
	if err != nil {
		return nil, err
	}
	return webdavcaldav.Filter(q, all)
}

func (b *memBackend) PutCalendarObject(_ context.Context, p string, cal *ical.Calendar, opts *webdavcaldav.PutCalendarObjectOptions) (*webdavcaldav.CalendarObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old, exists := b.objs[p]
	if opts != nil && opts.IfNoneMatch.IsWildcard() && exists {
		return nil, webdav.NewHTTPError(http.StatusPreconditionFailed, fmt.Errorf("exists"))
	}
	if opts != nil && opts.IfMatch.IsSet() {
		want, err := opts.IfMatch.ETag()
		if err != nil || !exists || old.ETag != want {
			return nil, webdav.NewHTTPError(http.StatusPreconditionFailed, fmt.Errorf("etag mismatch"))
		}
	}
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, webdav.NewHTTPError(http.StatusBadRequest, err)
	}
	b.version++
	o := &webdavcaldav.CalendarObject{
		Path:          p,
		ETag:          fmt.Sprintf("v%d", b.version),
		ContentLength: int64(buf.Len()),
		Data:          cal,
	}
	b.objs[p] = o
	r := *o
	return &r, nil
}

func (b *memBackend) DeleteCalendarObject(_ context.Context, p string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objs[p]; !ok {
		return webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("no object %s", p))
	}
	delete(b.objs, p)
	b.version++
	return nil
}

// putRaw stores an iCalendar text as another client would.
func (b *memBackend) putRaw(t *testing.T, p, ics string) {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader(ics)).Decode()
	if err != nil {
		t.Fatalf("decode test ICS: %v", err)
	}
	if _, err := b.PutCalendarObject(context.Background(), p, cal, nil); err != nil {
		t.Fatal(err)
	}
}

// ctagVersion is the collection tag of the backend.
func (b *memBackend) ctagVersion() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.version
}

// authed wraps h with Basic auth for the davtest-like test user.
func authed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

const (
	testUser     = "alice"
	testPassword = "Hunter2-secret-pw"
)

// counter counts requests and remembers the method, path and body of each.
type counter struct {
	mu   sync.Mutex
	reqs []string
}

func (c *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		c.mu.Lock()
		c.reqs = append(c.reqs, fmt.Sprintf("%s %s %d", r.Method, r.URL.EscapedPath(), len(body)))
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *counter) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.reqs...)
}

// newMemServer serves the backend behind Basic auth and counts requests.
func newMemServer(t *testing.T, b *memBackend) (*httptest.Server, *counter) {
	t.Helper()
	cnt := &counter{}
	srv := httptest.NewServer(cnt.wrap(authed(&webdavcaldav.Handler{Backend: b})))
	t.Cleanup(srv.Close)
	return srv, cnt
}

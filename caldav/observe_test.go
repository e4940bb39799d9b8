package caldav_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
)

// observer records what a followup.RemoteObserver is told.
type observer struct {
	mu   sync.Mutex
	seen []string // "host METHOD status"
}

func (o *observer) ObserveRemote(host, method string) func(int) {
	return func(status int) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.seen = append(o.seen, fmt.Sprintf("%s %s %d", host, method, status))
	}
}

// TestObserver checks that every request is reported with its host alone
// (never the user info, path or query of a secret address), its method and
// status, and that a request that got no answer is reported as NoAnswer.
func TestObserver(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/secret-path/busy.ics" {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/calendar")
		io.WriteString(w, weeklyMeeting)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	obs := &observer{}
	c := caldav.New(&http.Client{Timeout: 5 * time.Second})
	c.Observer = obs
	ctx := context.Background()
	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-03-20T00:00:00Z")

	if _, err := c.FetchBusy(ctx, "http://alice:s3cret@"+host+"/secret-path/basic.ics?key=k3y", from, to, followup.ICSState{}); err != nil {
		t.Fatalf("FetchBusy: %v", err)
	}
	if _, err := c.FetchBusy(ctx, "http://"+host+"/secret-path/busy.ics", from, to, followup.ICSState{}); err == nil {
		t.Fatal("FetchBusy of a 503: no error")
	}
	srv.Close()
	if _, err := c.FetchBusy(ctx, "http://"+host+"/secret-path/basic.ics", from, to, followup.ICSState{}); err == nil {
		t.Fatal("FetchBusy of a closed server: no error")
	}

	want := []string{host + " GET 200", host + " GET 503", fmt.Sprintf("%s GET %d", host, followup.NoAnswer)}
	if diff := cmp.Diff(want, obs.seen); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
	for _, s := range obs.seen {
		for _, secret := range []string{"alice", "s3cret", "secret-path", "k3y"} {
			if strings.Contains(s, secret) {
				t.Errorf("observed %q holds %q", s, secret)
			}
		}
	}
}

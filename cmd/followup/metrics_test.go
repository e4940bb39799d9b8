package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// metricsToken is the token the metrics tests configure.
const metricsToken = "scrape-me-0123456789"

// scrape reads /metrics with the given Authorization header ("" for none).
func scrape(tb testing.TB, base, auth string) (int, string) {
	tb.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// getFeed fetches the feed, conditionally when etag is set.
func getFeed(tb testing.TB, url, etag string) *http.Response {
	tb.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestMetrics scrapes the real app after some requests: the counts of
// each route, the feed's 304s, the jobs run, and never a feed token or an
// id-bearing path; a scrape without the token is refused.
func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	cli(t, dir, "user", "add", "--email", "ada@example.com", "--password", "correct horse", "--timezone", "Europe/Berlin")
	token := strings.TrimSpace(cli(t, dir, "token", "create", "--email", "ada@example.com"))
	app := MustRunMain(t, dir, map[string]string{"FOLLOWUP_METRICS_TOKEN": metricsToken})
	base := app.URL()

	var c commitmentJSON
	for range 2 {
		if resp := do(t, "POST", base+"/api/v1/commitments", token, map[string]any{"contact": map[string]any{"name": "Jane"}, "promise": "Send the deck"}, &c); resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST: %d", resp.StatusCode)
		}
	}
	do(t, "GET", base+fmt.Sprintf("/api/v1/commitments/%d", c.ID), token, nil, nil)
	var feed struct{ URL string }
	do(t, "GET", base+"/api/v1/feed", token, nil, &feed)
	first := getFeed(t, feed.URL, "")
	if got := getFeed(t, feed.URL, first.Header.Get("ETag")).StatusCode; got != http.StatusNotModified {
		t.Fatalf("conditional feed: %d", got)
	}
	getFeed(t, base+"/feeds/fu_not_a_token.ics", "")

	for _, auth := range []string{"", "Bearer", "Bearer wrong-token-0123456789", "Basic " + metricsToken, "Bearer " + metricsToken + "x", "Bearer \u00e9\u00e9\u00e9 garbage", "Bearer " + strings.Repeat("x", 4000)} {
		if code, body := scrape(t, base, auth); code != http.StatusUnauthorized || strings.Contains(body, "followup_") {
			t.Errorf("scrape with %q: %d %.80s", auth, code, body)
		}
	}

	page := waitForSeries(t, base, `followup_jobs_total{kind="tick",outcome="ok"}`)
	have := map[string]bool{}
	for _, l := range strings.Split(page, "\n") {
		have[l] = true
	}
	for _, l := range []string{
		`followup_http_requests_total{code="201",method="POST",route="/api/v1/commitments"} 2`,
		`followup_http_request_duration_seconds_count{method="POST",route="/api/v1/commitments"} 2`,
		`followup_http_requests_total{code="200",method="GET",route="/api/v1/commitments/:id"} 1`,
		`followup_http_requests_total{code="304",method="GET",route="/feeds/:file"} 1`,
		`followup_http_requests_total{code="404",method="GET",route="/feeds/:file"} 1`,
		`followup_http_requests_total{code="401",method="GET",route="/metrics"} 7`,
		`followup_feed_requests_total{code="200"} 1`,
		`followup_feed_requests_total{code="304"} 1`,
		`followup_feed_requests_total{code="404"} 1`,
	} {
		if !have[l] {
			t.Errorf("missing line %s", l)
		}
	}
	for _, name := range []string{"followup_queue_jobs{", "followup_job_duration_seconds_count{", "process_resident_memory_bytes "} {
		if !strings.Contains(page, "\n"+name) {
			t.Errorf("no %s series", name)
		}
	}
	feedToken := strings.TrimSuffix(feed.URL[strings.LastIndex(feed.URL, "/")+1:], ".ics")
	for _, secret := range []string{feedToken, "fu_not_a_token", token, fmt.Sprintf("/api/v1/commitments/%d", c.ID)} {
		if strings.Contains(page, secret) {
			t.Errorf("the page holds %q", secret)
		}
	}
}

// waitForSeries scrapes until a series appears (the queue's first tick
// runs at start, but asynchronously), and returns the page.
func waitForSeries(t *testing.T, base, series string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, page := scrape(t, base, "Bearer "+metricsToken)
		if code != http.StatusOK {
			t.Fatalf("scrape: %d %s", code, page)
		}
		if strings.Contains(page, "\n"+series) || time.Now().After(deadline) {
			if !strings.Contains(page, "\n"+series) {
				t.Errorf("no %s after 20 s", series)
			}
			return page
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMetricsOff checks that /metrics is not served unless turned on, and
// is served without a token when FOLLOWUP_METRICS=true alone turns it on.
func TestMetricsOff(t *testing.T) {
	off := MustRunMain(t, t.TempDir(), nil)
	if code, body := scrape(t, off.URL(), ""); code != http.StatusNotFound || strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics off: %d %.80s", code, body)
	}
	open := MustRunMain(t, t.TempDir(), map[string]string{"FOLLOWUP_METRICS": "true"})
	if code, body := scrape(t, open.URL(), ""); code != http.StatusOK || !strings.Contains(body, "\ngo_goroutines ") {
		t.Errorf("metrics on without a token: %d %.80s", code, body)
	}
}

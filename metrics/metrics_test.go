package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/internal/testclock"
	"github.com/followup/followup/metrics"
)

// queue is a followup.QueueCounter with fixed counts, or a fixed error.
type queue struct {
	counts []followup.JobCount
	err    error
}

func (q queue) JobCounts(context.Context) ([]followup.JobCount, error) { return q.counts, q.err }

// scrape reads the registry's page as Prometheus would.
func scrape(t *testing.T, r *metrics.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the text format", ct)
	}
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// wantLines fails unless every line is on the page, exactly.
func wantLines(t *testing.T, page string, lines ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(page, "\n") {
		have[l] = true
	}
	for _, l := range lines {
		if !have[l] {
			t.Errorf("missing line %s", l)
		}
	}
}

// TestSeries records requests, calendar requests and jobs on a clock that
// the test moves, and reads back counts and the buckets their times fall in.
func TestSeries(t *testing.T) {
	clock := testclock.New(time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))
	r := metrics.New(clock.Now, nil)
	r.CountQueue(queue{counts: []followup.JobCount{
		{Kind: followup.JobCalDAVStep, State: "available", Jobs: 3},
		{Kind: followup.JobSyncUser, State: "retryable", Jobs: 1},
	}})

	for _, ms := range []time.Duration{10, 40} { // one in the 0.01 bucket, one in 0.05
		done := r.ObserveHTTP("POST", "/api/v1/commitments")
		clock.Add(ms * time.Millisecond)
		done(http.StatusCreated)
	}
	r.ObserveHTTP("GET", "")(http.StatusNotFound)
	r.ObserveFeed(http.StatusOK)
	r.ObserveFeed(http.StatusNotModified)
	r.ObserveFeed(http.StatusNotModified)

	done := r.ObserveRemote("dav.example.com", "PROPFIND")
	clock.Add(200 * time.Millisecond)
	done(207)
	r.ObserveRemote("dav.example.com", "PUT")(followup.NoAnswer)

	job := r.ObserveJob(followup.JobCalDAVStep)
	clock.Add(2 * time.Second)
	job(followup.JobOK)
	r.ObserveJob(followup.JobCalDAVStep)(followup.JobSnoozed)

	page := scrape(t, r)
	wantLines(t, page,
		`followup_http_requests_total{code="201",method="POST",route="/api/v1/commitments"} 2`,
		`followup_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`followup_http_request_duration_seconds_bucket{method="POST",route="/api/v1/commitments",le="0.005"} 0`,
		`followup_http_request_duration_seconds_bucket{method="POST",route="/api/v1/commitments",le="0.01"} 1`,
		`followup_http_request_duration_seconds_bucket{method="POST",route="/api/v1/commitments",le="0.05"} 2`,
		`followup_http_request_duration_seconds_sum{method="POST",route="/api/v1/commitments"} 0.05`,
		`followup_http_request_duration_seconds_count{method="POST",route="/api/v1/commitments"} 2`,
		`followup_feed_requests_total{code="200"} 1`,
		`followup_feed_requests_total{code="304"} 2`,
		`followup_caldav_requests_total{code="207",host="dav.example.com",method="PROPFIND"} 1`,
		`followup_caldav_requests_total{code="none",host="dav.example.com",method="PUT"} 1`,
		`followup_caldav_request_duration_seconds_bucket{host="dav.example.com",method="PROPFIND",le="0.1"} 0`,
		`followup_caldav_request_duration_seconds_bucket{host="dav.example.com",method="PROPFIND",le="0.25"} 1`,
		`followup_jobs_total{kind="caldav_step",outcome="ok"} 1`,
		`followup_jobs_total{kind="caldav_step",outcome="snoozed"} 1`,
		`followup_job_duration_seconds_sum{kind="caldav_step"} 2`,
		`followup_queue_jobs{kind="caldav_step",state="available"} 3`,
		`followup_queue_jobs{kind="sync_user",state="retryable"} 1`,
	)
	for _, name := range []string{"go_goroutines ", "process_resident_memory_bytes "} {
		if !strings.Contains(page, "\n"+name) {
			t.Errorf("no %s series", name)
		}
	}
}

// TestQueueError serves the other metrics when the queue cannot be counted.
func TestQueueError(t *testing.T) {
	r := metrics.New(time.Now, nil)
	r.CountQueue(queue{err: errors.New("database is locked")})
	r.ObserveFeed(http.StatusOK)
	page := scrape(t, r)
	wantLines(t, page, `followup_feed_requests_total{code="200"} 1`)
	if strings.Contains(page, "followup_queue_jobs{") {
		t.Error("queue series served although the count failed")
	}
}

// BenchmarkObserveHTTP is what the middleware adds to every request.
func BenchmarkObserveHTTP(b *testing.B) {
	r := metrics.New(time.Now, nil)
	b.ReportAllocs()
	for b.Loop() {
		r.ObserveHTTP("POST", "/api/v1/commitments")(http.StatusCreated)
	}
}

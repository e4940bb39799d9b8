// Package metrics is the service's /metrics in the Prometheus text format:
// HTTP answers by route, requests to calendar servers by host, jobs by kind
// and outcome, the queue's jobs by kind and state (counted at each scrape),
// and the Go runtime and process. It implements the root's observer ports
// and is the only importer of github.com/prometheus/client_golang.
//
// Labels never hold a request's path or a URL: routes are patterns
// (/feeds/:file, never a feed token) and calendar servers are hosts.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/followup/followup"
)

// Registry holds the service's metrics.
type Registry struct {
	reg *prometheus.Registry
	now func() time.Time

	httpSeconds   *prometheus.HistogramVec
	httpTotal     *prometheus.CounterVec
	feedTotal     *prometheus.CounterVec
	remoteSeconds *prometheus.HistogramVec
	remoteTotal   *prometheus.CounterVec
	jobSeconds    *prometheus.HistogramVec
	jobTotal      *prometheus.CounterVec
	log           *slog.Logger
}

var (
	_ followup.HTTPObserver   = (*Registry)(nil)
	_ followup.RemoteObserver = (*Registry)(nil)
	_ followup.JobObserver    = (*Registry)(nil)
)

// Bucket bounds in seconds: creates take about a millisecond, calendar
// servers answer in tens to hundreds, jobs wait for them.
var (
	httpBuckets   = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	remoteBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	jobBuckets    = []float64{0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120}
)

// New returns the registry. now is the clock that times requests and jobs
// (time.Now; only cmd passes it); log receives scrape errors.
func New(now func() time.Time, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{reg: prometheus.NewRegistry(), now: now, log: log}
	r.httpSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "followup_http_request_duration_seconds", Help: "Time to answer HTTP requests, by method and route pattern.", Buckets: httpBuckets,
	}, []string{"method", "route"})
	r.httpTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "followup_http_requests_total", Help: "HTTP requests answered, by method, route pattern and status.",
	}, []string{"method", "route", "code"})
	r.feedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "followup_feed_requests_total", Help: "ICS feed requests, by status (304: the subscriber's copy was current).",
	}, []string{"code"})
	r.remoteSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "followup_caldav_request_duration_seconds", Help: "Time for requests to CalDAV servers and ICS addresses, by host and method.", Buckets: remoteBuckets,
	}, []string{"host", "method"})
	r.remoteTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "followup_caldav_requests_total", Help: `Requests to CalDAV servers and ICS addresses, by host, method and status ("none": no answer came).`,
	}, []string{"host", "method", "code"})
	r.jobSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "followup_job_duration_seconds", Help: "Time to run background jobs, by kind.", Buckets: jobBuckets,
	}, []string{"kind"})
	r.jobTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "followup_jobs_total", Help: "Background job runs, by kind and outcome (ok, snoozed, failed).",
	}, []string{"kind", "outcome"})
	r.reg.MustRegister(r.httpSeconds, r.httpTotal, r.feedTotal, r.remoteSeconds, r.remoteTotal, r.jobSeconds, r.jobTotal,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// CountQueue counts queue's jobs at each scrape (followup_queue_jobs). Call
// it once.
func (r *Registry) CountQueue(queue followup.QueueCounter) {
	r.reg.MustRegister(queueCollector{queue: queue})
}

// Handler serves the metrics in the Prometheus text format. A metric that
// cannot be read (the queue's, when the database does not answer) is left
// out and logged; the others are served.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      errorLog{r.log},
	})
}

// ObserveHTTP implements followup.HTTPObserver.
func (r *Registry) ObserveHTTP(method, route string) func(status int) {
	if route == "" {
		route = "unmatched"
	}
	start := r.now()
	return func(status int) {
		r.httpSeconds.WithLabelValues(method, route).Observe(r.now().Sub(start).Seconds())
		r.httpTotal.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	}
}

// ObserveFeed implements followup.HTTPObserver.
func (r *Registry) ObserveFeed(status int) {
	r.feedTotal.WithLabelValues(strconv.Itoa(status)).Inc()
}

// ObserveRemote implements followup.RemoteObserver.
func (r *Registry) ObserveRemote(host, method string) func(status int) {
	start := r.now()
	return func(status int) {
		r.remoteSeconds.WithLabelValues(host, method).Observe(r.now().Sub(start).Seconds())
		code := "none"
		if status != followup.NoAnswer {
			code = strconv.Itoa(status)
		}
		r.remoteTotal.WithLabelValues(host, method, code).Inc()
	}
}

// ObserveJob implements followup.JobObserver.
func (r *Registry) ObserveJob(kind string) func(outcome string) {
	start := r.now()
	return func(outcome string) {
		r.jobSeconds.WithLabelValues(kind).Observe(r.now().Sub(start).Seconds())
		r.jobTotal.WithLabelValues(kind, outcome).Inc()
	}
}

// queueCollector reads the queue's job counts at each scrape.
type queueCollector struct {
	queue followup.QueueCounter
}

var queueJobs = prometheus.NewDesc("followup_queue_jobs",
	"Jobs in the queue, by kind and state (available, scheduled, running, retryable, completed, discarded, …), counted at the scrape.",
	[]string{"kind", "state"}, nil)

// scrapeTimeout bounds the queue's count at a scrape.
const scrapeTimeout = 5 * time.Second

func (queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueJobs }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	counts, err := c.queue.JobCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueJobs, err)
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(queueJobs, prometheus.GaugeValue, float64(n.Jobs), n.Kind, n.State)
	}
}

// errorLog hands promhttp's errors to the logger.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) {
	l.log.Warn("metrics scrape", "error", slog.AnyValue(v).String())
}

package followup

import "context"

// HTTPObserver is told about every answer of the HTTP server, for
// operators (the metrics adapter implements it). Its methods return at once
// and are safe for concurrent use.
type HTTPObserver interface {
	// ObserveHTTP starts timing one request that route answers and returns
	// the function that ends it with the status answered. route is the
	// route's pattern (/api/v1/commitments/:id), never the request's path,
	// which may hold ids and the feed token; "" when no route matched.
	ObserveHTTP(method, route string) (done func(status int))
	// ObserveFeed counts one answer of the ICS feed by its status (200,
	// 304, 404, …).
	ObserveFeed(status int)
}

// RemoteObserver is told about every request made to a calendar server or
// an ICS address. Its methods return at once and are safe for concurrent use.
type RemoteObserver interface {
	// ObserveRemote starts timing one request to host (host[:port], never
	// a URL: paths may be secret, URLs may hold credentials) and returns
	// the function that ends it with the status answered, or
	// NoAnswer when none came (refused, timed out, broken off).
	ObserveRemote(host, method string) (done func(status int))
}

// NoAnswer is the status of a remote request that got no HTTP answer.
const NoAnswer = 0

// Job outcomes, as a JobObserver is told them.
const (
	JobOK      = "ok"      // the job did its work
	JobSnoozed = "snoozed" // the server asked to retry later (Retry-After)
	JobFailed  = "failed"  // the job failed; it is retried until its attempts run out
)

// JobObserver is told about every job the queue runs. Its methods return
// at once and are safe for concurrent use.
type JobObserver interface {
	// ObserveJob starts timing one run of a job of kind and returns the
	// function that ends it with its outcome (JobOK, JobSnoozed, JobFailed).
	ObserveJob(kind string) (done func(outcome string))
}

// JobCount is how many jobs of one kind are in one state of the queue
// (available, scheduled, running, retryable, completed, discarded, …).
type JobCount struct {
	Kind  string
	State string
	Jobs  int
}

// QueueCounter counts the queue's jobs, for the metrics read at each scrape.
type QueueCounter interface {
	// JobCounts counts the jobs by kind and state.
	JobCounts(ctx context.Context) ([]JobCount, error)
}

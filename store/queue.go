package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/followup/followup"
)

// QueueOptions configure the job queue.
type QueueOptions struct {
	// Workers is how many calendar jobs run at once (default 16). They
	// mostly wait on remote servers, and a job never waits for another's
	// account: it is snoozed instead.
	Workers int
	// TickInterval is how often time-based transitions are applied (default 30 s).
	TickInterval time.Duration
	// SyncInterval is how often every connected calendar account is synced
	// (default 5 min; negative: never, the periodic sync is off).
	SyncInterval time.Duration
	// PollInterval is how often the queue looks for new jobs (default 200 ms); jobs inserted in a transaction wait for it.
	PollInterval time.Duration
	// MaxAttempts before a job is discarded (default 25, about three weeks of backoff).
	// A discarded calendar write is repaired by the next periodic sync.
	MaxAttempts int
	// Jobs, when not nil, is told the outcome of every job run.
	Jobs followup.JobObserver
}

// Job arguments, one type per kind. Kinds are stored in the queue table.
type stepArgs struct {
	UserID int64  `json:"user_id"`
	UID    string `json:"uid"`
}

func (stepArgs) Kind() string { return followup.JobCalDAVStep }

type habitArgs struct {
	UserID int64  `json:"user_id"`
	UID    string `json:"uid"`
}

func (habitArgs) Kind() string { return followup.JobCalDAVHabit }

type syncArgs struct {
	UserID int64 `json:"user_id"`
}

func (syncArgs) Kind() string { return followup.JobSyncUser }

type replanArgs struct {
	UserID int64 `json:"user_id"`
}

func (replanArgs) Kind() string { return followup.JobReplanUser }

type syncAllArgs struct{}

func (syncAllArgs) Kind() string { return "sync_all" }

type tickArgs struct{}

func (tickArgs) Kind() string { return "tick" }

// clockQueue runs the tick and the enqueueing of periodic syncs: database
// work only, on its own worker, so that no calendar server, however slow,
// delays a let-go or a close. Calendar jobs run on river.QueueDefault.
const clockQueue = "clock"

// uniqueOpts dedupe the periodic jobs while an identical one waits or runs.
var uniqueOpts = river.UniqueOpts{
	ByArgs: true,
	ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	},
}

// queue wraps the River client.
type queue struct {
	client  *river.Client[*sql.Tx]
	handler atomic.Pointer[followup.JobHandler]
	log     *slog.Logger
	opts    QueueOptions
}

func newQueue(s *DB, o QueueOptions, log *slog.Logger) (*queue, error) {
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.TickInterval <= 0 {
		o.TickInterval = 30 * time.Second
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = 5 * time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 25
	}
	q := &queue{log: log, opts: o}
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[stepArgs]) error {
		return q.run(ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: j.Args.UserID, UID: j.Args.UID, Snoozes: snoozes(j.JobRow)})
	}))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[habitArgs]) error {
		return q.run(ctx, followup.Job{Kind: followup.JobCalDAVHabit, UserID: j.Args.UserID, UID: j.Args.UID})
	}))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[syncArgs]) error {
		return q.run(ctx, followup.Job{Kind: followup.JobSyncUser, UserID: j.Args.UserID, Snoozes: snoozes(j.JobRow)})
	}))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[replanArgs]) error {
		return q.run(ctx, followup.Job{Kind: followup.JobReplanUser, UserID: j.Args.UserID})
	}))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[syncAllArgs]) error {
		return q.observe(syncAllArgs{}.Kind(), func() error { return s.enqueueSyncs(ctx) })
	}))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[tickArgs]) error {
		return q.observe(tickArgs{}.Kind(), func() error { return q.tick(ctx) })
	}))
	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(o.TickInterval), func() (river.JobArgs, *river.InsertOpts) {
			return tickArgs{}, &river.InsertOpts{Queue: clockQueue, UniqueOpts: uniqueOpts}
		}, &river.PeriodicJobOpts{RunOnStart: true}),
	}
	if o.SyncInterval > 0 {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(o.SyncInterval), func() (river.JobArgs, *river.InsertOpts) {
			return syncAllArgs{}, &river.InsertOpts{Queue: clockQueue, UniqueOpts: uniqueOpts}
		}, &river.PeriodicJobOpts{RunOnStart: true}))
	}
	client, err := river.NewClient(riversqlite.New(s.db), &river.Config{
		Logger:            log,
		Workers:           workers,
		MaxAttempts:       o.MaxAttempts,
		FetchPollInterval: o.PollInterval,
		FetchCooldown:     min(100*time.Millisecond, o.PollInterval),
		JobTimeout:        2 * time.Minute,
		PeriodicJobs:      periodic,
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: o.Workers},
			// The tick is due every TickInterval: it need not be looked for as often.
			clockQueue: {MaxWorkers: 1, FetchPollInterval: max(o.PollInterval, min(time.Second, o.TickInterval/2))},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("store: queue: %w", err)
	}
	q.client = client
	return q, nil
}

// snoozes returns how often River snoozed the job, from its metadata.
func snoozes(row *rivertype.JobRow) int {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	if err := json.Unmarshal(row.Metadata, &m); err != nil {
		return 0
	}
	return m.Snoozes
}

// enqueueSyncs queues a sync of every user with a CalDAV account.
func (s *DB) enqueueSyncs(ctx context.Context) error {
	users, err := s.q().CalDAVUsers(ctx)
	if err != nil {
		return err
	}
	for _, id := range users {
		if err := s.q().Enqueue(ctx, followup.Job{Kind: followup.JobSyncUser, UserID: id}); err != nil {
			return err
		}
	}
	return nil
}

// tick applies the time-based transitions.
func (q *queue) tick(ctx context.Context) error {
	h := q.handler.Load()
	if h == nil {
		return errors.New("store: no job handler")
	}
	return (*h).Tick(ctx)
}

// run hands a job to the handler, turning a Retry-After into a snooze.
func (q *queue) run(ctx context.Context, j followup.Job) error {
	return q.observe(j.Kind, func() error {
		h := q.handler.Load()
		if h == nil {
			return errors.New("store: no job handler")
		}
		err := (*h).HandleJob(ctx, j)
		if after, ok := followup.RetryAfter(err); ok && after > 0 {
			q.log.DebugContext(ctx, "job snoozed", "kind", j.Kind, "user_id", j.UserID, "after", after.String())
			return river.JobSnooze(after)
		}
		return err
	})
}

// observe runs work as one job of kind and tells the observer its outcome.
func (q *queue) observe(kind string, work func() error) error {
	if q.opts.Jobs == nil {
		return work()
	}
	done := q.opts.Jobs.ObserveJob(kind)
	outcome := followup.JobFailed // also when work panics (River recovers it)
	defer func() { done(outcome) }()
	err := work()
	var snooze *river.JobSnoozeError
	switch {
	case err == nil:
		outcome = followup.JobOK
	case errors.As(err, &snooze):
		outcome = followup.JobSnoozed
	}
	return err
}

// StartQueue starts working jobs with h until ctx ends or StopQueue.
func (s *DB) StartQueue(ctx context.Context, h followup.JobHandler) error {
	s.queue.handler.Store(&h)
	if err := s.queue.client.Start(ctx); err != nil {
		return fmt.Errorf("store: start queue: %w", err)
	}
	return nil
}

// StopQueue stops taking jobs and waits for running ones to finish.
func (s *DB) StopQueue(ctx context.Context) error {
	return s.queue.client.Stop(ctx)
}

// Enqueue adds a job; inside InTx it commits with the transaction.
func (q *queries) Enqueue(ctx context.Context, j followup.Job) error {
	var args river.JobArgs
	switch j.Kind {
	case followup.JobCalDAVStep:
		args = stepArgs{UserID: j.UserID, UID: j.UID}
	case followup.JobCalDAVHabit:
		args = habitArgs{UserID: j.UserID, UID: j.UID}
	case followup.JobSyncUser:
		args = syncArgs{UserID: j.UserID}
	case followup.JobReplanUser:
		args = replanArgs{UserID: j.UserID}
	default:
		return fmt.Errorf("store: unknown job kind %q", j.Kind)
	}
	// No uniqueness for calendar jobs: River keeps a finished job "running"
	// until its completion is flushed, and a unique insert in that window
	// would be skipped, losing the change. Duplicates are harmless: each job
	// reconciles the current state, and jobs of one user run one at a time.
	// A re-plan job does nothing unless a re-plan is still wanted
	// (TakeReplan), so that a burst of them re-plans once.
	opts := &river.InsertOpts{}
	var err error
	if q.tx != nil {
		_, err = q.db.queue.client.InsertTx(context.WithoutCancel(ctx), q.tx, args, opts)
	} else {
		_, err = q.db.queue.client.Insert(ctx, args, opts)
	}
	if err != nil {
		return fmt.Errorf("store: enqueue %s: %w", j.Kind, err)
	}
	return nil
}

// JobCounts counts the queue's jobs by kind and state (implements
// followup.QueueCounter).
func (s *DB) JobCounts(ctx context.Context) ([]followup.JobCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kind, state, count(*) FROM river_job GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("store: count jobs: %w", err)
	}
	defer rows.Close()
	var out []followup.JobCount
	for rows.Next() {
		var n followup.JobCount
		if err := rows.Scan(&n.Kind, &n.State, &n.Jobs); err != nil {
			return nil, fmt.Errorf("store: count jobs: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// PendingJobs counts jobs not yet completed (available, scheduled, retryable,
// running), for tests and /readyz-style introspection.
func (s *DB) PendingJobs(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE state IN ('available','scheduled','retryable','running','pending')`).Scan(&n)
	return n, err
}

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
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
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
	// JobTimeout bounds one job's run (default DefaultJobTimeout); its
	// context ends then. Set it above the handler's own bound, if any.
	JobTimeout time.Duration
	// RescueAfter is how long a job may be running before it counts as
	// stuck: its worker died (an instance killed, or the machine under it
	// lost) and the job is run again, by whichever instance takes it. It is
	// never below JobTimeout (default JobTimeout + RescueMargin). The
	// queue's leader looks for such jobs every 30 s, and a new leader at
	// once, so a dead instance's jobs run again within RescueAfter + 30 s,
	// plus up to 15 s while the instances elect a new leader.
	RescueAfter time.Duration
	// Jobs, when not nil, is told the outcome of every job run.
	Jobs followup.JobObserver
}

// Defaults of the queue's timing.
const (
	// DefaultJobTimeout is QueueOptions.JobTimeout's default: above the
	// one minute the service gives a job's calendar work.
	DefaultJobTimeout = 70 * time.Second
	// RescueMargin is how much longer than JobTimeout a job must have been
	// running to count as stuck, by default: a job that timed out has that
	// long to record its end.
	RescueMargin = 15 * time.Second
)

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

// periodicUnique dedupes a periodic job while an identical one of the same
// period waits or runs. A job of an earlier period does not hold the next
// one back: one that a killed instance was running stays "running" until
// it is rescued (RescueAfter), and the let-gos and closes due meanwhile must
// not wait for that.
func periodicUnique(period time.Duration) river.UniqueOpts {
	return river.UniqueOpts{
		ByArgs:   true,
		ByPeriod: max(period, time.Second), // River's shortest
		ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		},
	}
}

// queue wraps the River clients: one inserts jobs in the store's
// transactions (database/sql), the other works them. On SQLite they are the
// same client; on PostgreSQL the worker runs on River's pgx driver, which
// listens for new jobs and elects one leader among the instances sharing
// the database (it runs the periodic jobs), while the inserter, on River's
// database/sql driver, writes to the same tables and notifies the
// listeners when the transaction commits.
type queue struct {
	inserter *river.Client[*sql.Tx]
	worker   runner
	handler  atomic.Pointer[followup.JobHandler]
	log      *slog.Logger
	opts     QueueOptions
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
	if o.JobTimeout <= 0 {
		o.JobTimeout = DefaultJobTimeout
	}
	if o.RescueAfter <= 0 {
		o.RescueAfter = o.JobTimeout + RescueMargin
	}
	o.RescueAfter = max(o.RescueAfter, o.JobTimeout)
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
		err := q.run(ctx, followup.Job{Kind: followup.JobReplanUser, UserID: j.Args.UserID})
		var snooze *river.JobSnoozeError
		if err != nil && !errors.As(err, &snooze) && j.Attempt >= j.MaxAttempts {
			s.dropReplanWish(ctx, j.Args.UserID, err)
		}
		return err
	}))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[syncAllArgs]) error {
		return q.observe(syncAllArgs{}.Kind(), func() error { return s.enqueueSyncs(ctx) })
	}))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[tickArgs]) error {
		return q.observe(tickArgs{}.Kind(), func() error { return q.tick(ctx) })
	}))
	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(o.TickInterval), func() (river.JobArgs, *river.InsertOpts) {
			return tickArgs{}, &river.InsertOpts{Queue: clockQueue, UniqueOpts: periodicUnique(o.TickInterval)}
		}, &river.PeriodicJobOpts{RunOnStart: true}),
	}
	if o.SyncInterval > 0 {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(o.SyncInterval), func() (river.JobArgs, *river.InsertOpts) {
			return syncAllArgs{}, &river.InsertOpts{Queue: clockQueue, UniqueOpts: periodicUnique(o.SyncInterval)}
		}, &river.PeriodicJobOpts{RunOnStart: true}))
	}
	cfg := &river.Config{
		Logger:            log,
		Workers:           workers,
		MaxAttempts:       o.MaxAttempts,
		FetchPollInterval: o.PollInterval,
		FetchCooldown:     min(100*time.Millisecond, o.PollInterval),
		JobTimeout:        o.JobTimeout,
		// River's default is an hour: a killed instance's running jobs
		// would wait that long for a survivor.
		RescueStuckJobsAfter: o.RescueAfter,
		PeriodicJobs:         periodic,
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: o.Workers},
			// The tick is due every TickInterval: it need not be looked for as often.
			clockQueue: {MaxWorkers: 1, FetchPollInterval: max(o.PollInterval, min(time.Second, o.TickInterval/2))},
		},
	}
	if err := q.clients(s, cfg); err != nil {
		return nil, fmt.Errorf("store: queue: %w", err)
	}
	return q, nil
}

// runner is a River client that works jobs, whatever its driver.
type runner interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// clients makes the queue's River clients for the store's dialect.
func (q *queue) clients(s *DB, cfg *river.Config) error {
	if s.dialect == sqliteDialect {
		client, err := river.NewClient(riversqlite.New(s.db), cfg)
		q.inserter, q.worker = client, client
		return err
	}
	worker, err := river.NewClient(riverpgxv5.New(s.pool), cfg)
	if err != nil {
		return err
	}
	// Without workers or queues a client only inserts; MaxAttempts is
	// written into each job it inserts.
	inserter, err := river.NewClient(riverdatabasesql.New(s.db), &river.Config{
		Logger:      cfg.Logger,
		MaxAttempts: cfg.MaxAttempts,
	})
	q.inserter, q.worker = inserter, worker
	return err
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

// dropReplanWish clears the re-plan wish of a user whose re-plan job failed
// its last attempt and is discarded: while a wish stands, creates queue no
// job (WantReplan), so a wish left behind would stop the user's re-plans
// for good. The next write that wants one records it again.
func (s *DB) dropReplanWish(ctx context.Context, userID int64, cause error) {
	s.log.WarnContext(ctx, "re-plan job discarded after its last attempt", "user_id", userID, "err", cause)
	if _, err := s.TakeReplan(context.WithoutCancel(ctx), userID); err != nil {
		s.log.ErrorContext(ctx, "clear the re-plan wish of a discarded job", "user_id", userID, "err", err)
	}
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
	if err := s.queue.worker.Start(ctx); err != nil {
		return fmt.Errorf("store: start queue: %w", err)
	}
	return nil
}

// StopQueue stops taking jobs and waits for running ones to finish.
func (s *DB) StopQueue(ctx context.Context) error {
	return s.queue.worker.Stop(ctx)
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
		_, err = q.db.queue.inserter.InsertTx(context.WithoutCancel(ctx), q.tx, args, opts)
	} else {
		_, err = q.db.queue.inserter.Insert(ctx, args, opts)
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

package service

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/followup/followup"
)

// Timing of calendar work on an account.
const (
	// LeaseTTL is how long a lease lasts unless renewed; its holder renews
	// it every quarter of that while it works, so a crashed holder blocks
	// the account for at most this long.
	LeaseTTL = 20 * time.Second
	// LeaseWait is how long a person's request (connect, Sync) waits for
	// the account while other work holds it.
	LeaseWait = 30 * time.Second
	// BusySnooze is how long a queued job first waits before it tries an
	// account again that other work holds (a job never holds a worker
	// waiting); each further wait doubles, up to BusySnoozeMax.
	BusySnooze    = 200 * time.Millisecond
	BusySnoozeMax = 5 * time.Second
	// DefaultJobTimeout bounds the calendar work of one queued job unless
	// Service.JobTimeout says otherwise; what it did not finish is retried
	// by the queue with backoff.
	DefaultJobTimeout = time.Minute
)

// errWorkStopped is the cause given to calendar work that a connect or a
// disconnect of its account interrupted.
var errWorkStopped = errors.New("service: the calendar account changed")

// errAccountBusy is what a job gets for an account other work holds, or
// whose work a connect or disconnect interrupted: it looks again shortly.
var errAccountBusy = followup.Errorf(followup.EUNAVAILABLE, "", "Another sync of this account is running; try again shortly.")

// busySnooze is how long a job put off snoozes times already waits before
// it tries a busy account again: between half and all of BusySnooze
// doubled snoozes times (at most BusySnoozeMax), at random, so that the
// jobs put off together do not all come back together.
func busySnooze(snoozes int) time.Duration {
	d := BusySnooze
	for range min(snoozes, 8) {
		d *= 2
	}
	d = min(d, BusySnoozeMax)
	return d/2 + rand.N(d/2+1)
}

// userSlot is the in-process lock of one user's calendar work: a channel
// with room for one, so that taking it can give up.
func (s *Service) userSlot(userID int64) chan struct{} {
	ch, _ := s.userLocks.LoadOrStore(userID, make(chan struct{}, 1))
	return ch.(chan struct{})
}

// lockUser serialises calendar work on one user's account: within this
// process with a slot, and across processes (the CLI, other instances on
// the same database) with a lease in the database. It waits at most wait
// for both, and not at all when wait is 0. The work runs with the returned
// context, which a connect or disconnect of the account cancels
// (stopWork); the caller must call unlock. Errors: EUNAVAILABLE when other
// work keeps the account (errAccountBusy when wait is 0).
func (s *Service) lockUser(ctx context.Context, userID int64, wait time.Duration) (work context.Context, unlock func(), err error) {
	owner, err := s.leaseOwner()
	if err != nil {
		return nil, nil, err
	}
	var busy error = followup.Errorf(followup.EUNAVAILABLE, "", "Another sync of this account is running; try again shortly.")
	if wait == 0 {
		busy = errAccountBusy
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	slot := s.userSlot(userID)
	select {
	case slot <- struct{}{}:
	default:
		if wait == 0 {
			return nil, nil, busy
		}
		select {
		case slot <- struct{}{}:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-deadline.C:
			return nil, nil, busy
		}
	}
	if err := s.takeLease(ctx, userID, owner, wait, deadline.C, busy); err != nil {
		<-slot
		return nil, nil, err
	}
	work, cancel := context.WithCancelCause(followup.ForUser(ctx, userID))
	running := &runningWork{cancel: cancel}
	s.work.Store(userID, running)
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go s.renewLease(ctx, userID, owner, stop, renewed)
	return work, func() {
		s.work.CompareAndDelete(userID, running)
		cancel(nil)
		close(stop)
		<-renewed
		if err := s.Store.UnlockUser(context.WithoutCancel(ctx), userID, owner); err != nil {
			s.log().WarnContext(ctx, "lease not released", "user_id", userID, "error", err.Error())
		}
		<-slot
	}, nil
}

// leaseOwner returns this process's lease owner id.
func (s *Service) leaseOwner() (string, error) {
	var err error
	s.ownerOnce.Do(func() {
		if s.owner, err = s.randomToken(12); err != nil {
			s.owner = ""
		}
	})
	if s.owner == "" {
		return "", fmt.Errorf("service: no lease owner id: %w", err)
	}
	return s.owner, nil
}

// takeLease takes the user's lease in the database, trying again every
// 100 ms until deadline fires (once only when wait is 0).
func (s *Service) takeLease(ctx context.Context, userID int64, owner string, wait time.Duration, deadline <-chan time.Time, busy error) error {
	for {
		now := s.now()
		ok, err := s.Store.LockUser(ctx, userID, owner, now.Add(LeaseTTL), now)
		if err != nil || ok {
			return err
		}
		if wait == 0 {
			return busy
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return busy
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// renewLease renews the user's lease until stop is closed, then closes done.
func (s *Service) renewLease(ctx context.Context, userID int64, owner string, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(LeaseTTL / 4)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			now := s.now()
			if _, err := s.Store.LockUser(context.WithoutCancel(ctx), userID, owner, now.Add(LeaseTTL), now); err != nil {
				s.log().WarnContext(ctx, "lease not renewed", "user_id", userID, "error", err.Error())
			}
		}
	}
}

// runningWork is the calendar work holding a user's lock in this process.
type runningWork struct {
	cancel context.CancelCauseFunc
}

// jobTimeout returns the bound of one job's calendar work.
func (s *Service) jobTimeout() time.Duration {
	if s.JobTimeout > 0 {
		return s.JobTimeout
	}
	return DefaultJobTimeout
}

// stopWork cancels the calendar work on the user's account running in this
// process, if any. Work in other processes notices the change when it
// records what it did (see current).
func (s *Service) stopWork(userID int64) {
	if w, ok := s.work.Load(userID); ok {
		w.(*runningWork).cancel(errWorkStopped)
	}
}

// stopped reports whether work ended because stopWork interrupted it.
func stopped(work context.Context) bool {
	return errors.Is(context.Cause(work), errWorkStopped)
}

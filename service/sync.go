package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/followup/followup"
)

// HandleJob runs one job from the durable queue. It never waits for an
// account that other work holds: it asks to be retried shortly instead
// (followup.RetryAfter), as it does while a server's Retry-After runs. Its
// calendar work is bounded by the service's JobTimeout.
func (s *Service) HandleJob(ctx context.Context, j followup.Job) error {
	ctx, cancel := context.WithTimeout(followup.ForUser(ctx, j.UserID), s.jobTimeout())
	defer cancel()
	var err error
	switch j.Kind {
	case followup.JobCalDAVStep:
		err = s.syncStep(ctx, j.UserID, j.UID)
	case followup.JobCalDAVHabit:
		err = s.syncHabit(ctx, j.UserID, j.UID)
	case followup.JobSyncUser:
		var retry error
		_, retry, err = s.sync(ctx, j.UserID, 0)
		if followup.ErrorCode(err) == followup.ENOTFOUND || errors.Is(err, errConnectionChanged) {
			return nil // disconnected or connected anew meanwhile, which queued its own sync
		} else if err == nil {
			err = retry // the queue retries a failed part with backoff, or after Retry-After
		}
	case followup.JobReplanUser:
		err = s.replanInBackground(ctx, j.UserID)
	default:
		return fmt.Errorf("service: unknown job kind %q", j.Kind)
	}
	if errors.Is(err, errAccountBusy) {
		return followup.RetryLater(busySnooze(j.Snoozes), err)
	}
	return err
}

// ownKind marks the stored state of the Follow-ups calendar itself: it
// tells whether the calendar changed, and is no busy time.
const ownKind = "own"

// account is an opened connection, with the CalDAV client its work uses.
type account struct {
	conn followup.CalDAVConnection
	acct followup.CalDAVAccount
	cal  followup.CalendarServer
	ics  []busyICS
}

// errConnectionChanged is what work on an account gets when it would record
// a result after the account was disconnected or connected anew: the
// result is dropped.
var errConnectionChanged = followup.Errorf(followup.ECONFLICT, "", "The CalDAV connection changed during the sync; the next sync uses the new one.")

// current checks, inside the transaction that records a result of work on
// a, that a's connection is still the stored one.
func current(ctx context.Context, q followup.Queries, a account) error {
	conn, err := q.CalDAV(ctx, a.conn.UserID)
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return errConnectionChanged
	} else if err != nil {
		return err
	}
	if conn.URL != a.conn.URL || conn.Username != a.conn.Username || conn.CalendarURL != a.conn.CalendarURL ||
		!conn.UpdatedAt.Equal(a.conn.UpdatedAt) {
		return errConnectionChanged
	}
	return nil
}

func (s *Service) account(ctx context.Context, userID int64) (account, error) {
	conn, err := s.Store.CalDAV(ctx, userID)
	if err != nil {
		return account{}, err
	}
	if slices.ContainsFunc(conn.SealedBusyICS, isPlainAddress) {
		// Stored by an older version after this one started.
		if _, err := s.sealStoredBusyICS(ctx, userID); err != nil {
			return account{}, err
		}
		if conn, err = s.Store.CalDAV(ctx, userID); err != nil {
			return account{}, err
		}
	}
	pw, err := s.open(conn.SealedPassword)
	if err != nil {
		return account{}, fmt.Errorf("service: open caldav password of user %d: %w", userID, err)
	}
	ics, err := s.openBusyICS(conn.SealedBusyICS)
	if err != nil {
		return account{}, fmt.Errorf("service: open busy_ics of user %d: %w", userID, err)
	}
	return account{
		conn: conn,
		acct: calDAVAccount(conn, pw),
		cal:  politeCalendars{CalendarServer: s.Calendars, s: s, userID: userID},
		ics:  ics,
	}, nil
}

// syncStep writes one step's calendar object (the caldav_step job).
func (s *Service) syncStep(ctx context.Context, userID int64, uid string) error {
	if s.Calendars == nil {
		return nil
	}
	if settled, err := s.stepSettled(ctx, userID, uid); settled || err != nil {
		return err
	}
	work, unlock, err := s.lockUser(ctx, userID, 0)
	if err != nil {
		return err
	}
	defer unlock()
	a, ok, err := s.writableAccount(work, userID)
	if !ok || err != nil {
		return err
	}
	var rep followup.SyncReport
	err = s.reconcile(work, a, uid, &rep)
	if err == nil {
		err = s.reconcilePending(work, a, &rep)
	}
	s.log().DebugContext(ctx, "caldav step", "user_id", userID, "uid", uid, "written", rep.Written, "deleted", rep.Deleted, "error", err != nil)
	return s.jobOutcome(ctx, work, a, err)
}

// writableAccount returns the account of the user's calendar work, and
// false when there is nothing to write to: no connection, or no calendar.
func (s *Service) writableAccount(ctx context.Context, userID int64) (account, bool, error) {
	a, err := s.account(ctx, userID)
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return account{}, false, nil
	} else if err != nil {
		return account{}, false, err
	}
	return a, a.conn.CalendarURL != "", nil
}

// jobOutcome turns the error of a job's calendar work on a held account
// into what the queue gets, and records a failure on the connection.
func (s *Service) jobOutcome(ctx, work context.Context, a account, err error) error {
	switch {
	case errors.Is(err, errConnectionChanged):
		return nil // a sync of the new connection is queued, or there is none
	case stopped(work):
		return errAccountBusy // a connect or disconnect interrupted it: look again
	case err != nil:
		s.recordStatus(ctx, a, err)
		return err
	}
	return nil
}

// connected reports whether the user has a CalDAV connection.
func (s *Service) connected(ctx context.Context, userID int64) (bool, error) {
	_, err := s.Store.CalDAV(ctx, userID)
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

// stepSettled reports, without taking the account, whether a step job has
// nothing left to do: the account is gone, or the block was written
// meanwhile, as the job that held the account does for every waiting
// block. A later change of the step queues a job of its own.
func (s *Service) stepSettled(ctx context.Context, userID int64, uid string) (bool, error) {
	p, err := s.Store.StepByUID(ctx, uid)
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return true, nil
	} else if err != nil {
		return false, err
	}
	if !needsWrite(p) {
		return true, nil
	}
	ok, err := s.connected(ctx, userID)
	return !ok && err == nil, err
}

// reconcilePending writes the user's other blocks that wait for a write,
// while the account is held anyway: their own jobs, put off meanwhile
// because the account was busy, then find nothing left to do, and a
// commitment's blocks reach the server together.
func (s *Service) reconcilePending(ctx context.Context, a account, rep *followup.SyncReport) error {
	steps, err := s.Store.SyncSteps(ctx, a.conn.UserID)
	if err != nil {
		return err
	}
	for _, p := range steps {
		if !needsWrite(p) {
			continue
		}
		if err := s.reconcile(ctx, a, p.UID, rep); err != nil {
			return err
		}
	}
	return nil
}

// recordStatus stores the outcome of calendar work on the connection, if
// it still stands: the error's message, then the notices of busy sources
// over a limit.
func (s *Service) recordStatus(ctx context.Context, a account, err error, notices ...string) {
	var parts []string
	if err != nil {
		parts = append(parts, followup.ErrorMessage(err))
	}
	msg := strings.Join(append(parts, notices...), " ")
	ctx = context.WithoutCancel(ctx) // the outcome of interrupted work too
	serr := s.Store.InTx(ctx, func(q followup.Queries) error {
		if err := current(ctx, q, a); err != nil {
			return err
		}
		return q.SetCalDAVStatus(ctx, a.conn.UserID, s.now(), msg)
	})
	if serr != nil && !errors.Is(serr, errConnectionChanged) {
		s.log().WarnContext(ctx, "caldav status not saved", "user_id", a.conn.UserID, "error", serr.Error())
	}
}

// Sync runs one full sync for the user: it reads busy time, notices what
// the user changed in their calendar app, replans, and writes every block
// that differs from the server. Errors: ENOTFOUND without a connection.
func (s *Service) Sync(ctx context.Context, userID int64) (followup.SyncReport, error) {
	rep, _, err := s.sync(ctx, userID, LeaseWait)
	return rep, err
}

// sync is Sync that also returns, as retry, the first failure of a part of
// the sync (a busy read, a write), preferring one with a Retry-After, for
// the queue to try again. It waits at most wait for the account (see
// lockUser).
func (s *Service) sync(ctx context.Context, userID int64, wait time.Duration) (rep followup.SyncReport, retry error, err error) {
	if s.Calendars == nil {
		return followup.SyncReport{Errors: []string{}, Notices: []string{}}, nil, followup.Errorf(followup.ENOTFOUND, "", "CalDAV is not enabled on this server.")
	}
	work, unlock, err := s.lockUser(ctx, userID, wait)
	if err != nil {
		return followup.SyncReport{Errors: []string{}, Notices: []string{}}, nil, err
	}
	defer unlock()
	rep, retry, err = s.syncAccount(work, userID)
	if stopped(work) {
		// A connect or disconnect interrupted it: look again shortly.
		return rep, nil, errAccountBusy
	}
	return rep, retry, err
}

// syncAccount is sync with the account's lock held: it reads busy time,
// then what the user did to our objects, replans around what it learnt,
// and writes what differs.
func (s *Service) syncAccount(ctx context.Context, userID int64) (rep followup.SyncReport, retry error, err error) {
	r, err := s.startSync(ctx, userID)
	if err != nil {
		return r.rep, r.retry, err
	}
	if err := s.readBusy(ctx, r.a, r.from, r.to, r.prev, r.keeper(ctx, s), &r.rep, r.fail); err != nil {
		return r.rep, r.retry, err
	}
	if err := s.readOwnCalendar(ctx, r); err != nil {
		return r.rep, r.retry, err
	}
	if err := s.replanAfterRead(ctx, r); err != nil {
		return r.rep, r.retry, err
	}
	if err := s.writeDiffering(ctx, r); err != nil {
		return r.rep, r.retry, err
	}
	s.finishSync(ctx, r)
	return r.rep, r.retry, nil
}

// syncRun is one sync of one account.
type syncRun struct {
	a        account
	now      time.Time
	from, to time.Time                      // the busy window
	prev     map[string]followup.BusySource // the busy sources by URL: as stored, or as read by this sync
	rep      followup.SyncReport
	retry    error // the failure for the queue to retry
}

// startSync opens the account and sets the busy window: it moves once a
// day, so that busy reads stay incremental.
func (s *Service) startSync(ctx context.Context, userID int64) (*syncRun, error) {
	r := &syncRun{rep: followup.SyncReport{Errors: []string{}, Notices: []string{}}, prev: map[string]followup.BusySource{}}
	var err error
	if r.a, err = s.account(ctx, userID); err != nil {
		return r, err
	}
	_, loc, err := settings(ctx, s.Store, userID)
	if err != nil {
		return r, err
	}
	r.now = s.now()
	y, m, d := r.now.In(loc).Date()
	r.from = time.Date(y, m, d, 0, 0, 0, 0, loc).AddDate(0, 0, -1)
	r.to = r.from.Add(busyWindow)
	srcs, err := s.Store.BusySources(ctx, userID)
	if err != nil {
		return r, err
	}
	for _, b := range srcs {
		r.prev[b.URL] = b
	}
	return r, nil
}

// fail notes a part of the sync that failed; the queue retries the first,
// or the first with a Retry-After.
func (r *syncRun) fail(e error) {
	r.rep.Errors = append(r.rep.Errors, followup.ErrorMessage(e))
	_, eAsks := followup.RetryAfter(e)
	_, retryAsks := followup.RetryAfter(r.retry)
	if r.retry == nil || (eAsks && !retryAsks) {
		r.retry = e
	}
}

// keeper returns the function that stores a source's new state, while the
// connection stands, and remembers it for this sync.
func (r *syncRun) keeper(ctx context.Context, s *Service) func(followup.BusySource) error {
	return func(b followup.BusySource) error {
		b.UserID, b.UpdatedAt = r.a.conn.UserID, r.now
		r.prev[b.URL] = b
		return s.Store.InTx(ctx, func(q followup.Queries) error {
			if err := current(ctx, q, r.a); err != nil {
				return err
			}
			return q.PutBusySource(ctx, b)
		})
	}
}

// readOwnCalendar reads what the user did to our objects in their calendar
// app. An incremental read of the Follow-ups calendar (one light request)
// tells whether anything changed there since the last complete read-back.
func (s *Service) readOwnCalendar(ctx context.Context, r *syncRun) error {
	cal := r.a.conn.CalendarURL
	if cal == "" {
		return nil
	}
	own := r.prev[cal]
	res, err := r.a.cal.Busy(ctx, r.a.acct, cal, r.from, r.to, own.CalDAV)
	r.rep.Requests += res.Requests
	if err == nil && !res.Changed && own.Kind == ownKind {
		return nil
	}
	complete, err := s.readBack(ctx, r.a, &r.rep)
	if err != nil {
		r.fail(err)
		return nil
	}
	if complete && res.State.From.Equal(r.from) {
		return r.keeper(ctx, s)(followup.BusySource{URL: cal, Kind: ownKind, CalDAV: res.State})
	}
	return nil
}

// replanAfterRead replans around the busy time now known.
func (s *Service) replanAfterRead(ctx context.Context, r *syncRun) error {
	err := s.inTx(ctx, func(q followup.Queries, after func(func())) error {
		changed, err := s.replanSteps(ctx, q, r.a.conn.UserID, r.now)
		for _, c := range changed {
			if c.RemoteETag != "" {
				after(func() { r.rep.Moved++ })
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, b := range r.prev {
		if b.Kind != ownKind {
			r.rep.Busy += len(b.Intervals())
		}
	}
	return nil
}

// writeDiffering writes every block whose object differs from the
// server's, until a server asks us to wait.
func (s *Service) writeDiffering(ctx context.Context, r *syncRun) error {
	if r.a.conn.CalendarURL == "" {
		return nil
	}
	steps, err := s.Store.SyncSteps(ctx, r.a.conn.UserID)
	if err != nil {
		return err
	}
	for _, p := range steps {
		if !needsWrite(p) {
			continue
		}
		if err := s.reconcile(ctx, r.a, p.UID, &r.rep); err != nil {
			r.fail(err)
			if _, ok := followup.RetryAfter(err); ok {
				return nil // the server asked us to wait; the queue retries
			}
		}
	}
	series, err := s.Store.HabitSeries(ctx, r.a.conn.UserID)
	if err != nil {
		return err
	}
	for _, hs := range series {
		if err := s.reconcileHabit(ctx, r.a, hs.UID, &r.rep); err != nil {
			r.fail(err)
			if _, ok := followup.RetryAfter(err); ok {
				return nil
			}
		}
	}
	return nil
}

// finishSync records the sync's outcome on the connection and logs it.
func (s *Service) finishSync(ctx context.Context, r *syncRun) {
	rep := r.rep
	var syncErr error
	if len(rep.Errors) > 0 {
		syncErr = followup.Errorf(followup.EREMOTE, "", "%s", strings.Join(rep.Errors, " "))
	}
	s.recordStatus(ctx, r.a, syncErr, rep.Notices...)
	s.log().InfoContext(ctx, "caldav sync", "user_id", r.a.conn.UserID, "written", rep.Written, "moved", rep.Moved,
		"deleted", rep.Deleted, "adopted", rep.Adopted, "removed", rep.Removed, "read", rep.Read, "requests", rep.Requests, "errors", len(rep.Errors))
}

// maxBusyPerSync bounds the busy intervals one sync reads: once the sources
// read hold as many, the others are not read this time, and keep the busy
// time they had. (Each source is bounded on its own too, by the reader.)
const maxBusyPerSync = 50_000

// readBusy reads every busy source of the account in [from, to),
// incrementally from prev, and keeps the ones that changed. A source that
// fails is passed to fail; one over a limit is named in rep.Notices. A
// cancelled ctx stops it between sources, with ctx's error.
func (s *Service) readBusy(ctx context.Context, a account, from, to time.Time, prev map[string]followup.BusySource,
	keep func(followup.BusySource) error, rep *followup.SyncReport, fail func(error)) error {
	total := 0
	// read reads the source stored as key, shown as shown.
	read := func(key, shown, kind string, fetch func(followup.BusySource) (followup.BusySource, bool, error)) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if total >= maxBusyPerSync {
			rep.Notices = append(rep.Notices, fmt.Sprintf("busy source %s was not read: this sync already read %d busy times from other sources.",
				shown, maxBusyPerSync))
			return nil
		}
		rep.Read++
		src, changed, err := fetch(prev[key])
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			fail(err)
			return nil
		}
		total += len(src.Intervals())
		if n := src.Notice(); n != "" {
			rep.Notices = append(rep.Notices, n)
		}
		if !changed {
			return nil
		}
		rep.Changed++
		src.URL, src.Kind = key, kind
		return keep(src)
	}
	for _, cal := range a.conn.BusyCalendars {
		err := read(cal, cal, "caldav", func(p followup.BusySource) (followup.BusySource, bool, error) {
			res, err := a.cal.Busy(ctx, a.acct, cal, from, to, p.CalDAV)
			rep.Requests += res.Requests
			return followup.BusySource{CalDAV: res.State}, res.Changed, err
		})
		if err != nil {
			return err
		}
	}
	if s.ICS == nil {
		return nil
	}
	for _, src := range a.ics {
		err := read(src.key, followup.MaskAddress(src.url), "ics", func(p followup.BusySource) (followup.BusySource, bool, error) {
			if err := s.waitForHost(ctx, a.conn.UserID, src.url); err != nil {
				return p, false, err
			}
			rep.Requests++
			res, err := s.ICS.FetchBusy(ctx, src.url, from, to, p.ICS)
			s.noteRetryAfter(ctx, a.conn.UserID, src.url, err)
			return followup.BusySource{Kind: "ics", ICS: res.State}, res.Changed, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// needsWrite reports whether a step's calendar object differs from what it should be.
func needsWrite(p followup.Step) bool {
	if wantObject(p) {
		return p.RemoteETag == "" || p.RemoteSequence != p.Sequence
	}
	// An object may be there: recorded, or written with its answer lost.
	return p.RemoteETag != "" || len(p.PendingWrites) > 0
}

// wantObject reports whether the step should have an object on the server:
// a pending block, or a done block that had started and was written already.
func wantObject(p followup.Step) bool {
	if p.CommitmentID == 0 || !p.Live() {
		return false
	}
	return p.Status.Pending() || p.RemoteETag != ""
}

// readBack compares our objects on the server with what we wrote: a
// deleted object counts as done (or dismissed, per settings), a moved one
// keeps the user's time.
// It reports whether the listing was complete.
func (s *Service) readBack(ctx context.Context, a account, rep *followup.SyncReport) (bool, error) {
	remote, err := a.cal.ListEvents(ctx, a.acct, a.conn.CalendarURL)
	rep.Requests++
	if err != nil {
		return false, err
	}
	byUID, complete := indexByUID(remote)
	steps, err := s.Store.SyncSteps(ctx, a.conn.UserID)
	if err != nil {
		return false, err
	}
	if err := s.compareWritten(ctx, a, steps, byUID, complete, rep); err != nil {
		return false, err
	}
	series, err := s.readBackHabits(ctx, a.conn.UserID, byUID, complete, rep)
	if err != nil {
		return false, err
	}
	if err := s.claimUnrecorded(ctx, a, steps, series, byUID, rep); err != nil {
		return false, err
	}
	return complete, nil
}

// indexByUID maps the readable objects by UID, and reports whether every
// object listed was readable.
func indexByUID(remote []followup.RemoteEvent) (map[string]followup.RemoteEvent, bool) {
	byUID := make(map[string]followup.RemoteEvent, len(remote))
	complete := true
	for _, r := range remote {
		if r.Unreadable {
			complete = false
			continue
		}
		byUID[r.UID] = r
	}
	return byUID, complete
}

// compareWritten compares each object we recorded with the server's: one
// gone was deleted by the user, one with another ETag changed.
func (s *Service) compareWritten(ctx context.Context, a account, steps []followup.Step, byUID map[string]followup.RemoteEvent, complete bool, rep *followup.SyncReport) error {
	for _, p := range steps {
		if p.RemoteETag == "" {
			continue
		}
		r, ok := byUID[p.UID]
		switch {
		case !ok && !complete:
			// The server failed to deliver some objects: a missing one may
			// be among them, so nothing is taken as deleted this time.
		case !ok:
			if err := s.removedRemotely(ctx, a, p, rep); err != nil {
				return err
			}
		case r.ETag != p.RemoteETag:
			if err := s.changedRemotely(ctx, a, p, r, rep); err != nil {
				return err
			}
		}
	}
	return nil
}

// claimUnrecorded handles objects with our UIDs that no recorded write
// accounts for: a write whose answer was lost (a timeout, a crash). A
// block that wants its object takes it over; otherwise (the block was let
// go or deleted meanwhile) the object is removed. The habits' series
// (series, by UID) are read back by readBackHabits.
func (s *Service) claimUnrecorded(ctx context.Context, a account, steps []followup.Step, series map[string]bool, byUID map[string]followup.RemoteEvent, rep *followup.SyncReport) error {
	known := make(map[string]followup.Step, len(steps))
	for _, p := range steps {
		known[p.UID] = p
	}
	for uid, r := range byUID {
		if !strings.HasSuffix(uid, uidSuffix) || series[uid] {
			continue // the user's own events, in a calendar they chose; or a series
		}
		if p, ok := known[uid]; ok {
			if p.RemoteETag == "" && wantObject(p) {
				// Ours, written: take it over, and rewrite it with If-Match
				// unless it is the step's current write.
				seq := followup.NoRemoteSequence
				if w, ok := p.OwnWrite(r); ok {
					seq = w.Sequence
				}
				if err := s.recordWrite(ctx, a, uid, seq, r.ETag); err != nil {
					return err
				}
			}
			continue
		}
		st, err := s.Store.StepByUID(ctx, uid)
		if err != nil && followup.ErrorCode(err) != followup.ENOTFOUND {
			return err
		}
		if err == nil && wantObject(st) {
			continue
		}
		if err := a.cal.DeleteEvent(ctx, a.acct, a.conn.CalendarURL, uid, r.ETag); err != nil {
			return err
		}
		rep.Deleted++
		s.log().InfoContext(ctx, "orphan block removed", "user_id", a.conn.UserID, "uid", uid)
	}
	return nil
}

// changedRemotely handles an object whose ETag is not the one we stored:
// one of our own writes whose answer was lost, which the server now holds,
// or an edit by the user.
func (s *Service) changedRemotely(ctx context.Context, a account, p followup.Step, r followup.RemoteEvent, rep *followup.SyncReport) error {
	if w, ok := p.OwnWrite(r); ok {
		s.log().InfoContext(ctx, "own write found", "user_id", p.UserID, "uid", p.UID, "sequence", w.Sequence)
		return s.recordWrite(ctx, a, p.UID, w.Sequence, r.ETag)
	}
	return s.adopt(ctx, a, p.UID, r, rep)
}

// removedRemotely handles a block whose object the user deleted.
func (s *Service) removedRemotely(ctx context.Context, acct account, p followup.Step, rep *followup.SyncReport) error {
	now := s.now()
	return s.inTx(ctx, func(q followup.Queries, after func(func())) error {
		if err := current(ctx, q, acct); err != nil {
			return err
		}
		fresh, err := q.StepByUID(ctx, p.UID)
		if err != nil || fresh.RemoteETag != p.RemoteETag {
			return err // changed meanwhile; the next sync looks again
		}
		fresh.RemoteETag, fresh.RemoteSequence, fresh.PendingWrites = "", followup.NoRemoteSequence, nil
		if !fresh.Status.Pending() || fresh.CommitmentID == 0 {
			return q.UpdateStep(ctx, &fresh) // we wanted it gone too
		}
		a, err := s.newActor(ctx, q, fresh.UserID, fresh.CommitmentID, now)
		if err != nil {
			return err
		}
		c := a.c
		status := followup.StepDone
		if a.st.DeletedMeans == followup.DeletedMeansDismissed {
			status = followup.StepCancelled
		}
		for i := range c.Steps {
			if c.Steps[i].ID == fresh.ID {
				c.Steps[i].RemoteETag, c.Steps[i].RemoteSequence, c.Steps[i].PendingWrites = "", followup.NoRemoteSequence, nil
				c.Steps[i].Status = status
				t := now
				c.Steps[i].CompletedAt = &t
				c.Steps[i].UpdatedAt = now
				a.changed = append(a.changed, c.Steps[i])
			}
		}
		after(func() {
			rep.Removed++
			s.log().InfoContext(ctx, "block deleted in calendar", "user_id", fresh.UserID, "uid", fresh.UID, "as", string(status))
		})
		return a.finish()
	})
}

// adopt keeps the user's edit of a block: their time wins and the block is
// pinned there. Times with no zone are wall clock in the user's zone.
func (s *Service) adopt(ctx context.Context, a account, uid string, r followup.RemoteEvent, rep *followup.SyncReport) error {
	now := s.now()
	return s.inTx(ctx, func(q followup.Queries, after func(func())) error {
		if err := current(ctx, q, a); err != nil {
			return err
		}
		fresh, err := q.StepByUID(ctx, uid)
		if err != nil {
			return err
		}
		// The server holds the user's version now: no write of ours can
		// land on it, as each has its If-Match.
		fresh.RemoteETag, fresh.PendingWrites = r.ETag, nil
		if !fresh.Status.Pending() {
			// A block already done: whatever the user made of it stands.
			fresh.RemoteSequence = fresh.Sequence
			return q.UpdateStep(ctx, &fresh)
		}
		_, loc, err := settings(ctx, q, fresh.UserID)
		if err != nil {
			return err
		}
		start, end := remoteTimes(r, loc)
		if start.IsZero() || !end.After(start) || (start.Equal(fresh.Start) && end.Equal(fresh.End)) {
			return q.UpdateStep(ctx, &fresh) // not moved
		}
		pin(&fresh, start, end, now, r.Floating)
		after(func() {
			rep.Adopted++
			s.log().InfoContext(ctx, "block moved in calendar", "user_id", fresh.UserID, "uid", uid)
		})
		return q.UpdateStep(ctx, &fresh)
	})
}

// remoteTimes returns an object's times as instants: floating ones are
// the same wall clock in the user's zone.
func remoteTimes(r followup.RemoteEvent, loc *time.Location) (start, end time.Time) {
	if r.Floating {
		return wallClock(r.Start, loc), wallClock(r.End, loc)
	}
	return r.Start, r.End
}

// pin moves a pending step to the user's time and keeps it there. With
// rewrite (a time with no zone, which another device may read in another
// zone), the object is written again with the instant kept.
func pin(p *followup.Step, start, end, now time.Time, rewrite bool) {
	p.Start, p.End = start.UTC(), end.UTC()
	p.Pinned = true
	p.Late = p.End.After(p.Due)
	current := p.RemoteSequence == p.Sequence && !rewrite
	p.Sequence++
	if current {
		p.RemoteSequence = p.Sequence // the server already shows it
	} // else a change of ours is still to be written: it is, at the user's time
	p.UpdatedAt = now
}

// maxWritesPerBlock bounds the writes of one block in one reconcile.
const maxWritesPerBlock = 3

// errBlockChanging is what reconcile gets when a block changed during each
// of its writes: the queue tries again later, so that the last change (a
// let-go, say) is not left unwritten.
var errBlockChanging = followup.Errorf(followup.EUNAVAILABLE, "", "A block changed while it was written; it is written again shortly.")

// errStepGone is what put gets when the step was deleted before the write
// was sent: nothing is sent.
var errStepGone = errors.New("service: the step was deleted before its write")

// reconcile makes the server's object for uid match the step: create,
// update, or delete, with preconditions so that a retry never duplicates
// and a 412 never clobbers the user's edit. It repeats while the step
// changed during the write, and fails with errBlockChanging when it kept
// changing.
func (s *Service) reconcile(ctx context.Context, a account, uid string, rep *followup.SyncReport) error {
	cal := a.conn.CalendarURL
	for writes := 0; ; writes++ {
		p, err := s.Store.StepByUID(ctx, uid)
		if followup.ErrorCode(err) == followup.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if !needsWrite(p) {
			return nil
		}
		if writes == maxWritesPerBlock {
			return errBlockChanging
		}
		if !wantObject(p) {
			if err := s.deleteObject(ctx, a, p, rep); err != nil {
				return err
			}
			continue
		}
		c, err := s.Store.Commitment(ctx, p.UserID, p.CommitmentID)
		if err != nil {
			return err
		}
		st, loc, err := settings(ctx, s.Store, p.UserID)
		if err != nil {
			return err
		}
		ev := followup.BlockEvent(c, p, st, loc, s.BaseURL)
		etag, err := s.put(ctx, a, ev, p.RemoteETag)
		if followup.ErrorCode(err) == followup.ECONFLICT {
			var theirs bool
			if etag, theirs, err = s.onConflict(ctx, a, p, ev, rep); theirs {
				return err
			}
		}
		if errors.Is(err, errStepGone) {
			return nil // the commitment was deleted before anything was sent
		} else if err != nil {
			return err
		}
		etag = learnETag(ctx, a, cal, uid, etag)
		rep.Written++
		if err := s.recordWrite(ctx, a, uid, p.Sequence, etag); followup.ErrorCode(err) == followup.ENOTFOUND {
			// The commitment was deleted while we wrote: take it back.
			if etag == followup.UnknownETag {
				etag = ""
			}
			return a.cal.DeleteEvent(ctx, a.acct, cal, uid, etag)
		} else if err != nil {
			return err
		}
	}
}

// deleteObject removes the object of a step that wants none.
func (s *Service) deleteObject(ctx context.Context, a account, p followup.Step, rep *followup.SyncReport) error {
	cal := a.conn.CalendarURL
	err := a.cal.DeleteEvent(ctx, a.acct, cal, p.UID, p.RemoteETag)
	if followup.ErrorCode(err) == followup.ECONFLICT {
		// Edited meanwhile, but the block is over: delete what is there now.
		err = a.cal.DeleteEvent(ctx, a.acct, cal, p.UID, "")
	}
	if err != nil {
		return err
	}
	rep.Deleted++
	return s.recordWrite(ctx, a, p.UID, p.Sequence, "")
}

// onConflict handles a 412 to the write of ev: the object is not the one
// we recorded. Our own earlier write whose answer was lost is taken over,
// and ev written on it, returning the new ETag. With theirs, the user's
// version won (edited or deleted), and nothing is written now.
func (s *Service) onConflict(ctx context.Context, a account, p followup.Step, ev followup.Event, rep *followup.SyncReport) (etag string, theirs bool, err error) {
	remote, err := a.cal.GetEvent(ctx, a.acct, a.conn.CalendarURL, p.UID)
	switch {
	case followup.ErrorCode(err) == followup.ENOTFOUND && p.RemoteETag != "":
		return "", true, s.removedRemotely(ctx, a, p, rep) // deleted by the user
	case err != nil:
		return "", true, err
	case p.RemoteETag == "" || isOwnWrite(p, remote):
		// Our own earlier write whose answer was lost (a crash or a
		// timeout): the UID is ours, so take it over.
		etag, err = s.put(ctx, a, ev, remote.ETag)
		return etag, false, err
	default:
		// The user edited it: keep their version.
		return "", true, s.adopt(ctx, a, p.UID, remote, rep)
	}
}

// maxPendingWrites bounds the writes remembered for a step whose answers
// were lost one after another; the oldest is forgotten first.
const maxPendingWrites = 8

// put writes ev. The write is noted as pending before it is sent, as its
// answer may be lost while the server takes it (a timeout, a crash of this
// process): then the next work on the block knows that its object may be
// there, takes it over when read back, or deletes it when the block ended
// meanwhile. A write recorded (recordWrite) is no longer pending.
func (s *Service) put(ctx context.Context, a account, ev followup.Event, ifMatch string) (string, error) {
	if err := s.notePending(ctx, ev); followup.ErrorCode(err) == followup.ENOTFOUND {
		return "", errStepGone
	} else if err != nil {
		return "", err
	}
	return a.cal.PutEvent(ctx, a.acct, a.conn.CalendarURL, ev, ifMatch)
}

// notePending remembers a write about to be sent, whose answer may be lost.
func (s *Service) notePending(ctx context.Context, ev followup.Event) error {
	w := followup.PendingWrite{Sequence: max(ev.Sequence, 0), Start: ev.Start.UTC().Truncate(time.Second), End: ev.End.UTC().Truncate(time.Second)}
	return s.Store.InTx(ctx, func(q followup.Queries) error {
		p, err := q.StepByUID(ctx, ev.UID)
		if err != nil {
			return err
		}
		if slices.Contains(p.PendingWrites, w) {
			return nil // a retry of the same write
		}
		p.PendingWrites = append(p.PendingWrites, w)
		if n := len(p.PendingWrites); n > maxPendingWrites {
			p.PendingWrites = slices.Clone(p.PendingWrites[n-maxPendingWrites:])
		}
		return q.UpdateStep(ctx, &p)
	})
}

// isOwnWrite reports whether the server's object is exactly a write of
// ours (Step.OwnWrite): one whose answer was lost, or the step as it is.
func isOwnWrite(p followup.Step, r followup.RemoteEvent) bool {
	_, ok := p.OwnWrite(r)
	return ok
}

// recordWrite stores what the server now holds for uid: our write of
// Sequence seq, or nothing when etag is "". Writes of ours older than seq
// can no longer land, as each was sent with its If-Match. Nothing is
// stored when a's connection changed meanwhile (errConnectionChanged).
func (s *Service) recordWrite(ctx context.Context, a account, uid string, seq int, etag string) error {
	return s.Store.InTx(ctx, func(q followup.Queries) error {
		if err := current(ctx, q, a); err != nil {
			return err
		}
		p, err := q.StepByUID(ctx, uid)
		if err != nil {
			return err
		}
		p.RemoteETag, p.RemoteSequence = etag, seq
		if etag == "" {
			p.RemoteSequence, p.PendingWrites = followup.NoRemoteSequence, nil
		}
		p.PendingWrites = slices.DeleteFunc(p.PendingWrites, func(w followup.PendingWrite) bool { return w.Sequence <= seq })
		if etag != "" && p.Status == followup.StepPlanned && p.Sequence == seq {
			p.Status = followup.StepSynced
		}
		return q.UpdateStep(ctx, &p)
	})
}

// learnETag returns the ETag of the object just written for uid: the one
// the PUT answered, else the one a GET reads, else UnknownETag, which the
// next read-back replaces with the real one.
func learnETag(ctx context.Context, a account, cal, uid, etag string) string {
	if etag == "" {
		if remote, err := a.cal.GetEvent(ctx, a.acct, cal, uid); err == nil {
			etag = remote.ETag
		}
	}
	if etag == "" {
		etag = followup.UnknownETag
	}
	return etag
}

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
	ctx, cancel := context.WithTimeout(ctx, s.jobTimeout())
	defer cancel()
	var err error
	switch j.Kind {
	case followup.JobCalDAVStep:
		err = s.syncStep(ctx, j.UserID, j.UID)
	case followup.JobSyncUser:
		var retry error
		_, retry, err = s.sync(ctx, j.UserID, 0)
		if followup.ErrorCode(err) == followup.ENOTFOUND || errors.Is(err, errConnectionChanged) {
			return nil // disconnected or connected anew meanwhile, which queued its own sync
		} else if err == nil {
			err = retry // the queue retries a failed part with backoff, or after Retry-After
		}
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
	a, err := s.account(work, userID)
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if a.conn.CalendarURL == "" {
		return nil
	}
	var rep followup.SyncReport
	err = s.reconcile(work, a, uid, &rep)
	if err == nil {
		err = s.reconcilePending(work, a, &rep)
	}
	s.log().DebugContext(ctx, "caldav step", "user_id", userID, "uid", uid, "written", rep.Written, "deleted", rep.Deleted, "error", err != nil)
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

// stepSettled reports, without taking the account, whether a step job has
// nothing left to do: the account is gone, or the block was written
// meanwhile, as the job that held the account does for every waiting
// block. A later change of the step queues a job of its own.
func (s *Service) stepSettled(ctx context.Context, userID int64, uid string) (bool, error) {
	if _, err := s.Store.CalDAV(ctx, userID); followup.ErrorCode(err) == followup.ENOTFOUND {
		return true, nil
	} else if err != nil {
		return false, err
	}
	p, err := s.Store.StepByUID(ctx, uid)
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return true, nil
	} else if err != nil {
		return false, err
	}
	return !needsWrite(p), nil
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
// it still stands.
func (s *Service) recordStatus(ctx context.Context, a account, err error) {
	msg := ""
	if err != nil {
		msg = followup.ErrorMessage(err)
	}
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
		return followup.SyncReport{Errors: []string{}}, nil, followup.Errorf(followup.ENOTFOUND, "", "CalDAV is not enabled on this server.")
	}
	work, unlock, err := s.lockUser(ctx, userID, wait)
	if err != nil {
		return followup.SyncReport{Errors: []string{}}, nil, err
	}
	defer unlock()
	rep, retry, err = s.syncAccount(work, userID)
	if stopped(work) {
		// A connect or disconnect interrupted it: look again shortly.
		return rep, nil, errAccountBusy
	}
	return rep, retry, err
}

// syncAccount is sync with the account's lock held.
func (s *Service) syncAccount(ctx context.Context, userID int64) (rep followup.SyncReport, retry error, err error) {
	rep = followup.SyncReport{Errors: []string{}}
	fail := func(e error) {
		rep.Errors = append(rep.Errors, followup.ErrorMessage(e))
		_, eAsks := followup.RetryAfter(e)
		_, retryAsks := followup.RetryAfter(retry)
		if retry == nil || (eAsks && !retryAsks) {
			retry = e
		}
	}
	a, err := s.account(ctx, userID)
	if err != nil {
		return rep, retry, err
	}
	_, loc, err := settings(ctx, s.Store, userID)
	if err != nil {
		return rep, retry, err
	}
	now := s.now()
	// The window moves once a day, so that busy reads stay incremental.
	y, m, d := now.In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc).AddDate(0, 0, -1)
	to := from.Add(busyWindow)

	// 1. Busy time, incrementally.
	prev := map[string]followup.BusySource{}
	srcs, err := s.Store.BusySources(ctx, userID)
	if err != nil {
		return rep, retry, err
	}
	for _, b := range srcs {
		prev[b.URL] = b
	}
	// keep stores a source's new state, and remembers it for this sync.
	keep := func(b followup.BusySource) error {
		b.UserID, b.UpdatedAt = userID, now
		prev[b.URL] = b
		return s.Store.InTx(ctx, func(q followup.Queries) error {
			if err := current(ctx, q, a); err != nil {
				return err
			}
			return q.PutBusySource(ctx, b)
		})
	}
	for _, cal := range a.conn.BusyCalendars {
		rep.Read++
		res, err := a.cal.Busy(ctx, a.acct, cal, from, to, prev[cal].CalDAV)
		rep.Requests += res.Requests
		if err != nil {
			fail(err)
			continue
		}
		if res.Changed {
			rep.Changed++
			if err := keep(followup.BusySource{URL: cal, Kind: "caldav", CalDAV: res.State}); err != nil {
				return rep, retry, err
			}
		}
	}
	if s.ICS != nil {
		for _, src := range a.ics {
			rep.Read++
			if err := s.waitForHost(ctx, userID, src.url); err != nil {
				fail(err)
				continue
			}
			rep.Requests++
			res, err := s.ICS.FetchBusy(ctx, src.url, from, to, prev[src.key].ICS)
			s.noteRetryAfter(ctx, userID, src.url, err)
			if err != nil {
				fail(err)
				continue
			}
			if res.Changed {
				rep.Changed++
				if err := keep(followup.BusySource{URL: src.key, Kind: "ics", ICS: res.State}); err != nil {
					return rep, retry, err
				}
			}
		}
	}

	// 2. What the user did to our objects in their calendar app. An
	// incremental read of the Follow-ups calendar (one light request) tells
	// whether anything changed there since the last complete read-back.
	if cal := a.conn.CalendarURL; cal != "" {
		own := prev[cal]
		res, err := a.cal.Busy(ctx, a.acct, cal, from, to, own.CalDAV)
		rep.Requests += res.Requests
		if err != nil || res.Changed || own.Kind != ownKind {
			complete, err := s.readBack(ctx, a, &rep)
			if err != nil {
				fail(err)
			} else if complete && res.State.From.Equal(from) {
				if err := keep(followup.BusySource{URL: cal, Kind: ownKind, CalDAV: res.State}); err != nil {
					return rep, retry, err
				}
			}
		}
	}

	// 3. Replan around the busy time now known.
	err = s.Store.InTx(ctx, func(q followup.Queries) error {
		changed, err := s.replanSteps(ctx, q, userID, now)
		for _, c := range changed {
			if c.RemoteETag != "" {
				rep.Moved++
			}
		}
		return err
	})
	if err != nil {
		return rep, retry, err
	}
	for _, b := range prev {
		if b.Kind != ownKind {
			rep.Busy += len(b.Intervals())
		}
	}

	// 4. Write what differs.
	if a.conn.CalendarURL != "" {
		steps, err := s.Store.SyncSteps(ctx, userID)
		if err != nil {
			return rep, retry, err
		}
		for _, p := range steps {
			if !needsWrite(p) {
				continue
			}
			if err := s.reconcile(ctx, a, p.UID, &rep); err != nil {
				fail(err)
				if _, ok := followup.RetryAfter(err); ok {
					break // the server asked us to wait; the queue retries
				}
			}
		}
	}
	var syncErr error
	if len(rep.Errors) > 0 {
		syncErr = followup.Errorf(followup.EREMOTE, "", "%s", strings.Join(rep.Errors, " "))
	}
	s.recordStatus(ctx, a, syncErr)
	s.log().InfoContext(ctx, "caldav sync", "user_id", userID, "written", rep.Written, "moved", rep.Moved,
		"deleted", rep.Deleted, "adopted", rep.Adopted, "removed", rep.Removed, "read", rep.Read, "requests", rep.Requests, "errors", len(rep.Errors))
	return rep, retry, nil
}

// needsWrite reports whether a step's calendar object differs from what it should be.
func needsWrite(p followup.Step) bool {
	if wantObject(p) {
		return p.RemoteETag == "" || p.RemoteSequence != p.Sequence
	}
	return p.RemoteETag != ""
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
	byUID := make(map[string]followup.RemoteEvent, len(remote))
	complete := true
	for _, r := range remote {
		if r.Unreadable {
			complete = false
			continue
		}
		byUID[r.UID] = r
	}
	steps, err := s.Store.SyncSteps(ctx, a.conn.UserID)
	if err != nil {
		return false, err
	}
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
				return false, err
			}
		case r.ETag != p.RemoteETag:
			if err := s.adopt(ctx, a, p.UID, r, rep); err != nil {
				return false, err
			}
		}
	}
	// Objects with our UIDs that no block accounts for: a write whose answer
	// was lost (a timeout, a crash) before its block was let go or deleted.
	known := make(map[string]followup.Step, len(steps))
	for _, p := range steps {
		known[p.UID] = p
	}
	for uid, r := range byUID {
		if !strings.HasSuffix(uid, uidSuffix) {
			continue // the user's own events, in a calendar they chose
		}
		if p, ok := known[uid]; ok {
			if p.RemoteETag == "" && wantObject(p) {
				// Ours, written: take it over, and rewrite it with If-Match.
				if err := s.recordWrite(ctx, a, uid, -1, r.ETag); err != nil {
					return false, err
				}
			}
			continue
		}
		st, err := s.Store.StepByUID(ctx, uid)
		if err != nil && followup.ErrorCode(err) != followup.ENOTFOUND {
			return false, err
		}
		if err == nil && wantObject(st) {
			continue
		}
		if err := a.cal.DeleteEvent(ctx, a.acct, a.conn.CalendarURL, uid, r.ETag); err != nil {
			return false, err
		}
		rep.Deleted++
		s.log().InfoContext(ctx, "orphan block removed", "user_id", a.conn.UserID, "uid", uid)
	}
	return complete, nil
}

// removedRemotely handles a block whose object the user deleted.
func (s *Service) removedRemotely(ctx context.Context, acct account, p followup.Step, rep *followup.SyncReport) error {
	now := s.now()
	return s.Store.InTx(ctx, func(q followup.Queries) error {
		if err := current(ctx, q, acct); err != nil {
			return err
		}
		fresh, err := q.StepByUID(ctx, p.UID)
		if err != nil || fresh.RemoteETag != p.RemoteETag {
			return err // changed meanwhile; the next sync looks again
		}
		fresh.RemoteETag, fresh.RemoteSequence = "", -1
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
				c.Steps[i].RemoteETag, c.Steps[i].RemoteSequence = "", -1
				c.Steps[i].Status = status
				t := now
				c.Steps[i].CompletedAt = &t
				c.Steps[i].UpdatedAt = now
				a.changed = append(a.changed, c.Steps[i])
			}
		}
		rep.Removed++
		s.log().InfoContext(ctx, "block deleted in calendar", "user_id", fresh.UserID, "uid", fresh.UID, "as", string(status))
		return a.finish()
	})
}

// adopt keeps the user's edit of a block: their time wins and the block is
// pinned there.
func (s *Service) adopt(ctx context.Context, a account, uid string, r followup.RemoteEvent, rep *followup.SyncReport) error {
	now := s.now()
	return s.Store.InTx(ctx, func(q followup.Queries) error {
		if err := current(ctx, q, a); err != nil {
			return err
		}
		fresh, err := q.StepByUID(ctx, uid)
		if err != nil {
			return err
		}
		fresh.RemoteETag = r.ETag
		if !r.Start.IsZero() && r.End.After(r.Start) && (!r.Start.Equal(fresh.Start) || !r.End.Equal(fresh.End)) && fresh.Status.Pending() {
			fresh.Start, fresh.End = r.Start.UTC(), r.End.UTC()
			fresh.Pinned = true
			fresh.Late = fresh.End.After(fresh.Due)
			current := fresh.RemoteSequence == fresh.Sequence
			fresh.Sequence++
			if current {
				fresh.RemoteSequence = fresh.Sequence // the server already shows it
			} // else a change of ours is still to be written: it is, at the user's time
			fresh.UpdatedAt = now
			rep.Adopted++
			s.log().InfoContext(ctx, "block moved in calendar", "user_id", fresh.UserID, "uid", uid)
			if err := q.UpdateStep(ctx, &fresh); err != nil {
				return err
			}
			return q.TouchFeed(ctx, fresh.UserID, now)
		}
		if !fresh.Status.Pending() {
			// A block already done: whatever the user made of it stands.
			fresh.RemoteSequence = fresh.Sequence
		}
		return q.UpdateStep(ctx, &fresh)
	})
}

// reconcile makes the server's object for uid match the step: create,
// update, or delete, with preconditions so that a retry never duplicates
// and a 412 never clobbers the user's edit. It repeats while the step
// changed during the write.
func (s *Service) reconcile(ctx context.Context, a account, uid string, rep *followup.SyncReport) error {
	cal := a.conn.CalendarURL
	for range 3 {
		p, err := s.Store.StepByUID(ctx, uid)
		if followup.ErrorCode(err) == followup.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if !needsWrite(p) {
			return nil
		}
		if !wantObject(p) {
			err := a.cal.DeleteEvent(ctx, a.acct, cal, uid, p.RemoteETag)
			if followup.ErrorCode(err) == followup.ECONFLICT {
				// Edited meanwhile, but the block is over: delete what is there now.
				err = a.cal.DeleteEvent(ctx, a.acct, cal, uid, "")
			}
			if err != nil {
				return err
			}
			rep.Deleted++
			if err := s.recordWrite(ctx, a, uid, p.Sequence, ""); err != nil {
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
		etag, err := a.cal.PutEvent(ctx, a.acct, cal, ev, p.RemoteETag)
		if followup.ErrorCode(err) == followup.ECONFLICT {
			remote, gerr := a.cal.GetEvent(ctx, a.acct, cal, uid)
			switch {
			case followup.ErrorCode(gerr) == followup.ENOTFOUND && p.RemoteETag != "":
				return s.removedRemotely(ctx, a, p, rep) // deleted by the user
			case gerr != nil:
				return gerr
			case p.RemoteETag == "":
				// Our own earlier write whose answer was lost (a crash or a
				// timeout): the UID is ours, so take it over.
				etag, err = a.cal.PutEvent(ctx, a.acct, cal, ev, remote.ETag)
			default:
				// The user edited it: keep their version.
				return s.adopt(ctx, a, uid, remote, rep)
			}
		}
		if err != nil {
			return err
		}
		if etag == "" {
			if remote, err := a.cal.GetEvent(ctx, a.acct, cal, uid); err == nil {
				etag = remote.ETag
			}
		}
		if etag == "" {
			etag = "unknown" // the next read-back learns the real one
		}
		rep.Written++
		if err := s.recordWrite(ctx, a, uid, p.Sequence, etag); followup.ErrorCode(err) == followup.ENOTFOUND {
			// The commitment was deleted while we wrote: take it back.
			if etag == "unknown" {
				etag = ""
			}
			return a.cal.DeleteEvent(ctx, a.acct, cal, uid, etag)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// recordWrite stores what the server now holds for uid, unless a's
// connection changed meanwhile (errConnectionChanged).
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
			p.RemoteSequence = -1
		}
		if etag != "" && p.Status == followup.StepPlanned && p.Sequence == seq {
			p.Status = followup.StepSynced
		}
		return q.UpdateStep(ctx, &p)
	})
}

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

// HandleJob runs one job from the durable queue.
func (s *Service) HandleJob(ctx context.Context, j followup.Job) error {
	switch j.Kind {
	case followup.JobCalDAVStep:
		return s.syncStep(ctx, j.UserID, j.UID)
	case followup.JobCalDAVHabit:
		return s.syncHabit(ctx, j.UserID, j.UID)
	case followup.JobSyncUser:
		_, retry, err := s.sync(ctx, j.UserID)
		if followup.ErrorCode(err) == followup.ENOTFOUND {
			return nil // disconnected meanwhile
		} else if err != nil {
			return err
		}
		return retry // the queue retries a failed part with backoff, or after Retry-After
	}
	return fmt.Errorf("service: unknown job kind %q", j.Kind)
}

// ownKind marks the stored state of the Follow-ups calendar itself: it
// tells whether the calendar changed, and is no busy time.
const ownKind = "own"

// account is an opened connection.
type account struct {
	conn followup.CalDAVConnection
	acct followup.CalDAVAccount
	ics  []busyICS
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
	return account{conn: conn, acct: calDAVAccount(conn, pw), ics: ics}, nil
}

// syncStep writes one step's calendar object (the caldav_step job).
func (s *Service) syncStep(ctx context.Context, userID int64, uid string) error {
	if s.Calendars == nil {
		return nil
	}
	unlock, err := s.lockUser(ctx, userID)
	if err != nil {
		return err
	}
	defer unlock()
	a, err := s.account(ctx, userID)
	if followup.ErrorCode(err) == followup.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if a.conn.CalendarURL == "" {
		return nil
	}
	var rep followup.SyncReport
	err = s.reconcile(ctx, a, uid, &rep)
	s.log().DebugContext(ctx, "caldav step", "user_id", userID, "uid", uid, "written", rep.Written, "deleted", rep.Deleted, "error", err != nil)
	if err != nil {
		s.recordStatus(ctx, userID, err)
		return err
	}
	return nil
}

// recordStatus stores the outcome of calendar work on the connection: the
// error's message, then the notices of busy sources over a limit.
func (s *Service) recordStatus(ctx context.Context, userID int64, err error, notices ...string) {
	var parts []string
	if err != nil {
		parts = append(parts, followup.ErrorMessage(err))
	}
	msg := strings.Join(append(parts, notices...), " ")
	if serr := s.Store.SetCalDAVStatus(ctx, userID, s.now(), msg); serr != nil && followup.ErrorCode(serr) != followup.ENOTFOUND {
		s.log().WarnContext(ctx, "caldav status not saved", "user_id", userID, "error", serr.Error())
	}
}

// Sync runs one full sync for the user: it reads busy time, notices what
// the user changed in their calendar app, replans, and writes every block
// that differs from the server. Errors: ENOTFOUND without a connection.
func (s *Service) Sync(ctx context.Context, userID int64) (followup.SyncReport, error) {
	rep, _, err := s.sync(ctx, userID)
	return rep, err
}

// sync is Sync that also returns, as retry, the first failure of a part of
// the sync (a busy read, a write), preferring one with a Retry-After, for
// the queue to try again.
func (s *Service) sync(ctx context.Context, userID int64) (rep followup.SyncReport, retry error, err error) {
	rep = followup.SyncReport{Errors: []string{}, Notices: []string{}}
	fail := func(e error) {
		rep.Errors = append(rep.Errors, followup.ErrorMessage(e))
		var ra interface{ RetryAfter() time.Duration }
		if retry == nil || (errors.As(e, &ra) && !errors.As(retry, &ra)) {
			retry = e
		}
	}
	if s.Calendars == nil {
		return rep, nil, followup.Errorf(followup.ENOTFOUND, "", "CalDAV is not enabled on this server.")
	}
	unlock, err := s.lockUser(ctx, userID)
	if err != nil {
		return rep, nil, err
	}
	defer unlock()
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
		return s.Store.PutBusySource(ctx, b)
	}
	if err := s.readBusy(ctx, a, from, to, prev, keep, &rep, fail); err != nil {
		return rep, retry, err
	}

	// 2. What the user did to our objects in their calendar app. An
	// incremental read of the Follow-ups calendar (one light request) tells
	// whether anything changed there since the last complete read-back.
	if cal := a.conn.CalendarURL; cal != "" {
		own := prev[cal]
		res, err := s.Calendars.Busy(ctx, a.acct, cal, from, to, own.CalDAV)
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
				var ra interface{ RetryAfter() time.Duration }
				if errors.As(err, &ra) {
					break // the server asked us to wait; the queue retries
				}
			}
		}
		series, err := s.Store.HabitSeries(ctx, userID)
		if err != nil {
			return rep, retry, err
		}
		for _, hs := range series {
			if err := s.reconcileHabit(ctx, a, hs.UID, &rep); err != nil {
				fail(err)
			}
		}
	}
	var syncErr error
	if len(rep.Errors) > 0 {
		syncErr = followup.Errorf(followup.EREMOTE, "", "%s", strings.Join(rep.Errors, " "))
	}
	s.recordStatus(ctx, userID, syncErr, rep.Notices...)
	s.log().InfoContext(ctx, "caldav sync", "user_id", userID, "written", rep.Written, "moved", rep.Moved,
		"deleted", rep.Deleted, "adopted", rep.Adopted, "removed", rep.Removed, "read", rep.Read, "requests", rep.Requests, "errors", len(rep.Errors))
	return rep, retry, nil
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
			res, err := s.Calendars.Busy(ctx, a.acct, cal, from, to, p.CalDAV)
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
			rep.Requests++
			res, err := s.ICS.FetchBusy(ctx, src.url, from, to, p.ICS)
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
	remote, err := s.Calendars.ListEvents(ctx, a.acct, a.conn.CalendarURL)
	rep.Requests++
	if err != nil {
		return false, err
	}
	byUID, complete := indexByUID(remote)
	steps, err := s.Store.SyncSteps(ctx, a.conn.UserID)
	if err != nil {
		return false, err
	}
	if err := s.compareWritten(ctx, steps, byUID, complete, rep); err != nil {
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
func (s *Service) compareWritten(ctx context.Context, steps []followup.Step, byUID map[string]followup.RemoteEvent, complete bool, rep *followup.SyncReport) error {
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
			if err := s.removedRemotely(ctx, p, rep); err != nil {
				return err
			}
		case r.ETag != p.RemoteETag:
			if err := s.changedRemotely(ctx, p, r, rep); err != nil {
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
				if err := s.recordWrite(ctx, uid, seq, r.ETag); err != nil {
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
		if err := s.Calendars.DeleteEvent(ctx, a.acct, a.conn.CalendarURL, uid, r.ETag); err != nil {
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
func (s *Service) changedRemotely(ctx context.Context, p followup.Step, r followup.RemoteEvent, rep *followup.SyncReport) error {
	if w, ok := p.OwnWrite(r); ok {
		s.log().InfoContext(ctx, "own write found", "user_id", p.UserID, "uid", p.UID, "sequence", w.Sequence)
		return s.recordWrite(ctx, p.UID, w.Sequence, r.ETag)
	}
	return s.adopt(ctx, p.UID, r, rep)
}

// removedRemotely handles a block whose object the user deleted.
func (s *Service) removedRemotely(ctx context.Context, p followup.Step, rep *followup.SyncReport) error {
	now := s.now()
	return s.Store.InTx(ctx, func(q followup.Queries) error {
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
		rep.Removed++
		s.log().InfoContext(ctx, "block deleted in calendar", "user_id", fresh.UserID, "uid", fresh.UID, "as", string(status))
		return a.finish()
	})
}

// adopt keeps the user's edit of a block: their time wins and the block is
// pinned there. Times with no zone are wall clock in the user's zone.
func (s *Service) adopt(ctx context.Context, uid string, r followup.RemoteEvent, rep *followup.SyncReport) error {
	now := s.now()
	return s.Store.InTx(ctx, func(q followup.Queries) error {
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
		rep.Adopted++
		s.log().InfoContext(ctx, "block moved in calendar", "user_id", fresh.UserID, "uid", uid)
		if err := q.UpdateStep(ctx, &fresh); err != nil {
			return err
		}
		return q.TouchFeed(ctx, fresh.UserID, now)
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
		if err != nil {
			return err
		}
		if etag == "" {
			if remote, err := s.Calendars.GetEvent(ctx, a.acct, cal, uid); err == nil {
				etag = remote.ETag
			}
		}
		if etag == "" {
			etag = followup.UnknownETag // the next read-back learns the real one
		}
		rep.Written++
		if err := s.recordWrite(ctx, uid, p.Sequence, etag); followup.ErrorCode(err) == followup.ENOTFOUND {
			// The commitment was deleted while we wrote: take it back.
			if etag == followup.UnknownETag {
				etag = ""
			}
			return s.Calendars.DeleteEvent(ctx, a.acct, cal, uid, etag)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// deleteObject removes the object of a step that wants none.
func (s *Service) deleteObject(ctx context.Context, a account, p followup.Step, rep *followup.SyncReport) error {
	cal := a.conn.CalendarURL
	err := s.Calendars.DeleteEvent(ctx, a.acct, cal, p.UID, p.RemoteETag)
	if followup.ErrorCode(err) == followup.ECONFLICT {
		// Edited meanwhile, but the block is over: delete what is there now.
		err = s.Calendars.DeleteEvent(ctx, a.acct, cal, p.UID, "")
	}
	if err != nil {
		return err
	}
	rep.Deleted++
	return s.recordWrite(ctx, p.UID, p.Sequence, "")
}

// onConflict handles a 412 to the write of ev: the object is not the one
// we recorded. Our own earlier write whose answer was lost is taken over,
// and ev written on it, returning the new ETag. With theirs, the user's
// version won (edited or deleted), and nothing is written now.
func (s *Service) onConflict(ctx context.Context, a account, p followup.Step, ev followup.Event, rep *followup.SyncReport) (etag string, theirs bool, err error) {
	remote, err := s.Calendars.GetEvent(ctx, a.acct, a.conn.CalendarURL, p.UID)
	switch {
	case followup.ErrorCode(err) == followup.ENOTFOUND && p.RemoteETag != "":
		return "", true, s.removedRemotely(ctx, p, rep) // deleted by the user
	case err != nil:
		return "", true, err
	case p.RemoteETag == "" || isOwnWrite(p, remote):
		// Our own earlier write whose answer was lost (a crash or a
		// timeout): the UID is ours, so take it over.
		etag, err = s.put(ctx, a, ev, remote.ETag)
		return etag, false, err
	default:
		// The user edited it: keep their version.
		return "", true, s.adopt(ctx, p.UID, remote, rep)
	}
}

// maxPendingWrites bounds the writes remembered for a step whose answers
// were lost one after another; the oldest is forgotten first.
const maxPendingWrites = 8

// put writes ev. When it fails otherwise than by a precondition, its
// answer may be lost while the server took the write: put remembers it, so
// that the object is known as ours when read back.
func (s *Service) put(ctx context.Context, a account, ev followup.Event, ifMatch string) (string, error) {
	etag, err := s.Calendars.PutEvent(ctx, a.acct, a.conn.CalendarURL, ev, ifMatch)
	if err != nil && followup.ErrorCode(err) != followup.ECONFLICT {
		// Noted even when ctx ended: a timeout is the likeliest lost answer.
		if nerr := s.notePending(context.WithoutCancel(ctx), ev); nerr != nil {
			s.log().WarnContext(ctx, "pending write not noted", "uid", ev.UID, "error", nerr.Error())
		}
	}
	return etag, err
}

// notePending remembers a write whose answer was lost.
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
// can no longer land, as each was sent with its If-Match.
func (s *Service) recordWrite(ctx context.Context, uid string, seq int, etag string) error {
	return s.Store.InTx(ctx, func(q followup.Queries) error {
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

package service

import (
	"context"
	"slices"

	"github.com/followup/followup"
)

// namesPeople reports whether a habit's text names people, and so changes
// with the commitments.
func namesPeople(k followup.HabitKind) bool {
	return k == followup.HabitWeeklyReview || k == followup.HabitDailyCall || k == followup.HabitCoffees
}

// enqueueHabitTexts queues a rewrite check of the user's series whose text
// names people, after their commitments changed: one job for them all
// (UID ""), which writes only what now reads differently.
func (s *Service) enqueueHabitTexts(ctx context.Context, q followup.Queries, userID int64) error {
	series, err := q.HabitSeries(ctx, userID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(series, func(hs followup.HabitSeries) bool { return hs.Active && namesPeople(hs.Kind) }) {
		return nil
	}
	return q.Enqueue(ctx, followup.Job{Kind: followup.JobCalDAVHabit, UserID: userID})
}

// syncHabit writes one series' calendar object, or every series of the
// user for an empty uid (the caldav_habit job).
func (s *Service) syncHabit(ctx context.Context, userID int64, uid string) error {
	if s.Calendars == nil {
		return nil
	}
	if ok, err := s.connected(ctx, userID); !ok || err != nil {
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
	return s.jobOutcome(ctx, work, a, s.reconcileHabits(work, a, uid))
}

// reconcileHabits writes one series, or all of the user's for an empty
// uid, on the account held by ctx's work.
func (s *Service) reconcileHabits(ctx context.Context, a account, uid string) error {
	userID := a.conn.UserID
	uids := []string{uid}
	if uid == "" {
		series, err := s.Store.HabitSeries(ctx, userID)
		if err != nil {
			return err
		}
		uids = uids[:0]
		for _, hs := range series {
			uids = append(uids, hs.UID)
		}
	}
	var rep followup.SyncReport
	for _, u := range uids {
		if err := s.reconcileHabit(ctx, a, u, &rep); err != nil {
			return err
		}
	}
	s.log().DebugContext(ctx, "caldav habit", "user_id", userID, "written", rep.Written, "deleted", rep.Deleted)
	return nil
}

// reconcileHabit makes the server's object for a series match it: create,
// update (also when only its text changed), or delete once switched off,
// with the preconditions of reconcile. A 412 on an update means the user
// edited the series: their moved occurrences are kept, then it is written
// again.
func (s *Service) reconcileHabit(ctx context.Context, a account, uid string, rep *followup.SyncReport) error {
	cal := a.conn.CalendarURL
	for range 3 {
		hs, err := s.Store.HabitSeriesByUID(ctx, uid)
		if followup.ErrorCode(err) == followup.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if !hs.Active {
			return s.deleteHabitObject(ctx, a, hs, rep)
		}
		ev, hash, err := s.habitEvent(ctx, s.Store, hs)
		if err != nil {
			return err
		}
		if hs.RemoteETag != "" && hs.RemoteSequence == hs.Sequence && hs.RemoteHash == hash {
			return nil
		}
		etag, err := a.cal.PutEvent(ctx, a.acct, cal, ev, hs.RemoteETag)
		if followup.ErrorCode(err) == followup.ECONFLICT {
			remote, gerr := a.cal.GetEvent(ctx, a.acct, cal, uid)
			switch {
			case followup.ErrorCode(gerr) == followup.ENOTFOUND && hs.RemoteETag != "":
				return s.habitRemovedRemotely(ctx, hs, rep)
			case gerr != nil:
				return gerr
			case hs.RemoteETag == "":
				etag, err = a.cal.PutEvent(ctx, a.acct, cal, ev, remote.ETag) // ours, answer lost
			default:
				if err := s.adoptHabit(ctx, uid, remote, rep); err != nil {
					return err
				}
				continue
			}
		}
		if err != nil {
			return err
		}
		etag = learnETag(ctx, a, cal, uid, etag)
		rep.Written++
		err = s.Store.InTx(ctx, func(q followup.Queries) error {
			if err := current(ctx, q, a); err != nil {
				return err
			}
			fresh, err := q.HabitSeriesByUID(ctx, uid)
			if err != nil {
				return err
			}
			fresh.RemoteETag, fresh.RemoteSequence, fresh.RemoteHash = etag, hs.Sequence, hash
			return q.PutHabitSeries(ctx, &fresh)
		})
		if err != nil && followup.ErrorCode(err) != followup.ENOTFOUND {
			return err
		}
	}
	return nil
}

// deleteHabitObject removes a switched-off series' object, then the series.
func (s *Service) deleteHabitObject(ctx context.Context, a account, hs followup.HabitSeries, rep *followup.SyncReport) error {
	if hs.RemoteETag != "" {
		err := a.cal.DeleteEvent(ctx, a.acct, a.conn.CalendarURL, hs.UID, hs.RemoteETag)
		if followup.ErrorCode(err) == followup.ECONFLICT {
			// Edited meanwhile, but the habit is off: delete what is there.
			err = a.cal.DeleteEvent(ctx, a.acct, a.conn.CalendarURL, hs.UID, "")
		}
		if err != nil {
			return err
		}
		rep.Deleted++
	}
	return s.Store.InTx(ctx, func(q followup.Queries) error {
		if err := current(ctx, q, a); err != nil {
			return err
		}
		fresh, err := q.HabitSeriesByUID(ctx, hs.UID)
		if followup.ErrorCode(err) == followup.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if !fresh.Active {
			return q.DeleteHabitSeries(ctx, hs.UID)
		}
		// Switched on again meanwhile: written anew.
		fresh.RemoteETag, fresh.RemoteSequence, fresh.RemoteHash = "", followup.NoRemoteSequence, ""
		return q.PutHabitSeries(ctx, &fresh)
	})
}

// habitRemovedRemotely handles a series the user deleted in their calendar
// app: the habit is switched off in the settings.
func (s *Service) habitRemovedRemotely(ctx context.Context, hs followup.HabitSeries, rep *followup.SyncReport) error {
	return s.inTx(ctx, func(q followup.Queries, after func(func())) error {
		fresh, err := q.HabitSeriesByUID(ctx, hs.UID)
		if followup.ErrorCode(err) == followup.ENOTFOUND || (err == nil && fresh.RemoteETag != hs.RemoteETag) {
			return nil // changed meanwhile; the next sync looks again
		} else if err != nil {
			return err
		}
		if err := q.DeleteHabitSeries(ctx, hs.UID); err != nil {
			return err
		}
		if fresh.Active {
			st, err := q.Settings(ctx, fresh.UserID)
			if err != nil {
				return err
			}
			h := st.Habits.Get(fresh.Kind)
			h.Enabled = false
			st.Habits.Set(fresh.Kind, h)
			if err := q.PutSettings(ctx, fresh.UserID, st); err != nil {
				return err
			}
			after(func() {
				rep.Removed++
				s.log().InfoContext(ctx, "habit deleted in calendar", "user_id", fresh.UserID, "uid", fresh.UID, "habit", string(fresh.Kind))
			})
		}
		return nil
	})
}

// adoptHabit keeps the user's edits of single occurrences: each occurrence
// the server holds at another time than ours becomes a pinned override,
// which later planning leaves alone.
func (s *Service) adoptHabit(ctx context.Context, uid string, r followup.RemoteEvent, rep *followup.SyncReport) error {
	now := s.now()
	return s.inTx(ctx, func(q followup.Queries, after func(func())) error {
		fresh, err := q.HabitSeriesByUID(ctx, uid)
		if err != nil {
			return err
		}
		fresh.RemoteETag = r.ETag
		if !fresh.Active || !pinRemoteOverrides(&fresh, r) {
			return q.PutHabitSeries(ctx, &fresh)
		}
		current := fresh.RemoteSequence == fresh.Sequence
		fresh.Sequence++
		fresh.UpdatedAt = now
		if current { // the server already shows it
			_, hash, err := s.habitEvent(ctx, q, fresh)
			if err != nil {
				return err
			}
			fresh.RemoteSequence, fresh.RemoteHash = fresh.Sequence, hash
		}
		after(func() {
			rep.Adopted++
			s.log().InfoContext(ctx, "habit occurrence moved in calendar", "user_id", fresh.UserID, "uid", uid)
		})
		return q.PutHabitSeries(ctx, &fresh)
	})
}

// pinRemoteOverrides records the server's overrides that differ from the
// series' as pinned ones, and its EXDATEs as deleted occurrences (an
// EXDATE wins over an override of the same occurrence, which calendars
// then no longer show), and reports whether any did.
func pinRemoteOverrides(hs *followup.HabitSeries, r followup.RemoteEvent) bool {
	var remote []followup.HabitOverride
	for _, ro := range r.Overrides {
		if ro.End.After(ro.Start) && !slices.ContainsFunc(r.ExDates, ro.RecurrenceID.Equal) {
			remote = append(remote, followup.HabitOverride{RecurrenceID: ro.RecurrenceID.UTC(), Start: ro.Start.UTC(), End: ro.End.UTC(), Pinned: true})
		}
	}
	d := hs.End.Sub(hs.Start)
	for _, x := range r.ExDates {
		if x.Before(hs.Start) {
			continue // not an occurrence of ours
		}
		remote = append(remote, followup.HabitOverride{RecurrenceID: x.UTC(), Start: x.UTC(), End: x.Add(d).UTC(), Pinned: true, Deleted: true})
	}
	changed := false
	for _, o := range remote {
		i := slices.IndexFunc(hs.Overrides, func(x followup.HabitOverride) bool { return x.RecurrenceID.Equal(o.RecurrenceID) })
		switch {
		case i >= 0 && hs.Overrides[i].Start.Equal(o.Start) && hs.Overrides[i].End.Equal(o.End) && hs.Overrides[i].Deleted == o.Deleted:
			continue
		case i >= 0:
			hs.Overrides[i] = o
		default:
			hs.Overrides = append(hs.Overrides, o)
		}
		changed = true
	}
	slices.SortFunc(hs.Overrides, func(a, b followup.HabitOverride) int { return a.RecurrenceID.Compare(b.RecurrenceID) })
	return changed
}

// readBackHabits compares the series' objects on the server with what we
// wrote: a deleted series switches its habit off, an edited one keeps the
// user's moved occurrences. byUID holds the objects listed; complete says
// whether the listing had them all.
func (s *Service) readBackHabits(ctx context.Context, userID int64, byUID map[string]followup.RemoteEvent, complete bool, rep *followup.SyncReport) (map[string]bool, error) {
	series, err := s.Store.HabitSeries(ctx, userID)
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(series))
	for _, hs := range series {
		known[hs.UID] = true
		if hs.RemoteETag == "" {
			continue
		}
		r, ok := byUID[hs.UID]
		switch {
		case !ok && !complete:
		case !ok:
			if err := s.habitRemovedRemotely(ctx, hs, rep); err != nil {
				return nil, err
			}
		case r.ETag != hs.RemoteETag:
			if err := s.adoptHabit(ctx, hs.UID, r, rep); err != nil {
				return nil, err
			}
		}
	}
	return known, nil
}

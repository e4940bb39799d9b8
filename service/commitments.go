package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

// Create logs a commitment: it resolves the deadline, derives the steps,
// plans them into free time and stores everything in one transaction.
// Errors: EINVALID naming the field.
func (s *Service) Create(ctx context.Context, userID int64, in followup.NewCommitment) (followup.Commitment, error) {
	now := s.now()
	if err := in.Validate(now); err != nil {
		return followup.Commitment{}, err
	}
	ctx = followup.ForUser(ctx, userID)
	return s.createPlanned(ctx, userID, in, now, createHooks{})
}

// maxPlanAttempts bounds how often a create plans again because another
// write changed the user's blocks meanwhile; then it plans inside the
// store's writer, where nothing can.
const maxPlanAttempts = 3

// errPlanStale says that the user's plan version moved between the reads a
// plan was made from and its commit.
var errPlanStale = errors.New("service: plan version changed")

// createHooks let CreateOnce put its idempotency key in the create's
// transaction.
type createHooks struct {
	// replay runs first in the transaction; done means that the
	// commitment exists already (c), and nothing is created.
	replay func(q followup.Queries) (c followup.Commitment, done bool, err error)
	// stored runs once the commitment is stored, in the same transaction.
	stored func(q followup.Queries, c followup.Commitment) error
}

// createPlanned stores and plans a validated commitment. The reading and
// planning happen outside the store's single writer, under the user's
// lock in this process, so that creates of different users use every core;
// the transaction then stores the outcome only if the user's plan version
// is the one read (another process, or a tick or sync here, may have
// changed the blocks), else the create plans again. The new steps are
// placed in the user's calendar kept in memory (placeInCalendar), not
// planned again with all the user's blocks.
func (s *Service) createPlanned(ctx context.Context, userID int64, in followup.NewCommitment, now time.Time, hooks createHooks) (followup.Commitment, error) {
	unlock := s.lockPlan(userID)
	defer unlock()
	for attempt := range maxPlanAttempts {
		c, err := s.createWindowed(ctx, userID, in, now, hooks, attempt == 0)
		if !errors.Is(err, errPlanStale) {
			return c, err
		}
	}
	var out followup.Commitment
	created := false
	err := s.Store.InTx(ctx, func(q followup.Queries) error {
		created = false // the transaction may run again
		if c, done, err := hooks.replayIn(q); done || err != nil {
			out = c
			return err
		}
		var err error
		if out, err = s.create(ctx, q, userID, in, now); err != nil {
			return err
		}
		created = true
		return hooks.storedIn(q, out)
	})
	if err == nil && created {
		s.logCreatedEnded(ctx, out)
	}
	return out, err
}

// contendedFor is how long a user's creates read the plan version before
// using the calendar kept here, once one found it made stale by another
// process (several instances on one database serving the user).
const contendedFor = time.Minute

// contendedAt reports whether a create of the user found the kept calendar
// stale within contendedFor before now.
func (s *Service) contendedAt(userID int64, now time.Time) bool {
	at, ok := s.contended.Load(userID)
	if !ok {
		return false
	}
	if d := now.Sub(at.(time.Time)); d >= 0 && d < contendedFor {
		return true
	}
	s.contended.Delete(userID)
	return false
}

// logCreatedEnded logs the let-go of a commitment that create stored let go
// already (createEnded), once its transaction committed.
func (s *Service) logCreatedEnded(ctx context.Context, c followup.Commitment) {
	if c.Status != followup.StatusLetGo {
		return
	}
	for _, st := range c.Steps {
		if st.Status == followup.StepDone {
			s.log().InfoContext(ctx, "commitment let go", "commitment_id", c.ID, "user_id", c.UserID, "by", string(st.Kind))
		}
	}
}

// none reports whether there are no hooks.
func (h createHooks) none() bool { return h.replay == nil && h.stored == nil }

// replayIn runs the replay hook, if any.
func (h createHooks) replayIn(q followup.Queries) (followup.Commitment, bool, error) {
	if h.replay == nil {
		return followup.Commitment{}, false, nil
	}
	return h.replay(q)
}

// storedIn runs the stored hook, if any.
func (h createHooks) storedIn(q followup.Queries, c followup.Commitment) error {
	if h.stored == nil {
		return nil
	}
	return h.stored(q, c)
}

// createWindowed is one attempt of createPlanned: errPlanStale when the
// plan version moved. A first attempt trusts the calendar kept here
// (trustKept) without reading the plan version: the transaction's compare
// and swap finds out if another process wrote meanwhile, and the user's
// creates then read the version first for a while (contendedFor). A
// calendar found stale is kept for the next attempt, which catches it up
// when only another instance's creates came between (catchUp).
func (s *Service) createWindowed(ctx context.Context, userID int64, in followup.NewCommitment, now time.Time, hooks createHooks, trustKept bool) (followup.Commitment, error) {
	var snap, kept *planSnapshot
	var mark followup.PlanMark
	var version int64
	if trustKept && !s.contendedAt(userID, now) {
		// A dirty calendar is known to be behind: it is caught up below.
		if kept = s.plans().takeKept(userID); kept != nil && !kept.dirty {
			snap, version = kept, kept.version
		}
	}
	trusted := snap != nil
	if !trusted {
		var err error
		if mark, err = s.Store.PlanMark(ctx, userID); err != nil {
			return followup.Commitment{}, err
		}
		version = mark.Version
		if kept == nil {
			kept = s.plans().takeKept(userID)
		}
		if snap, err = s.caughtUp(ctx, userID, mark, kept); err != nil {
			return followup.Commitment{}, err
		}
	}
	if snap != nil && (now.Sub(snap.built) > calendarRebuild || now.Before(snap.built)) {
		snap = nil
	}
	var err error
	var d draft
	if snap != nil {
		// The settings are those of the plan version: a change raises it.
		d, err = s.draftWith(userID, snap.st, snap.loc, in, now)
	} else {
		d, err = s.draft(ctx, s.Store, userID, in, now)
	}
	if err == nil && d.ended && trusted {
		// A commitment stored let go claims no plan version: the settings
		// it is resolved with are read, not trusted.
		d, err = s.draft(ctx, s.Store, userID, in, now)
	}
	if err != nil {
		return followup.Commitment{}, err
	}
	var plan windowPlan
	if !d.ended {
		if snap == nil {
			if snap, err = loadCalendar(ctx, s.Store, userID, d.st, d.loc, now); err != nil {
				return followup.Commitment{}, err
			}
			if !trusted {
				// Read after the mark: a catch-up from it reads again what
				// came between, which changes nothing.
				snap.version, snap.feed = mark.Version, mark.Feed
			}
		}
		pin := planInput{userID: userID, st: d.st, loc: d.loc, now: now, c: &d.c, fresh: d.steps, connKnown: true}
		if plan, err = placeInCalendar(ctx, s.Store, pin, snap); err != nil {
			return followup.Commitment{}, err
		}
	}
	var out followup.Commitment
	stored, created := false, false
	if hooks.none() && !d.ended && snap.feed != 0 && snap.calendar == nil && (!plan.replan || snap.replanWanted) {
		// Nothing to write but the claim, the commitment, its steps and
		// the moves: ClaimAndInsert alone is the transaction (on
		// PostgreSQL one statement), and the versions it leaves are those
		// seen, plus one.
		if out, err = s.storePlanned(ctx, s.Store, d, plan, snap, version, now); err == nil {
			snap.version, snap.feed = version+1, snap.feed+1
			stored, created = true, true
		}
	} else {
		out, stored, created, err = s.inTxCreate(ctx, userID, d, plan, snap, version, now, hooks)
	}

	if err == nil && created {
		s.logCreatedEnded(ctx, out)
		if d.ended && snap != nil {
			s.plans().put(userID, snap) // stored let go: no block changed
		}
	}
	if errors.Is(err, errPlanStale) {
		s.contended.Store(userID, now)
		if snap != nil {
			// Kept for the next attempt, which catches it up with what
			// came between (another instance's creates).
			snap.dirty = true
			s.plans().put(userID, snap)
		}
	}
	if err == nil && stored {
		s.lastCreates.Store(userID, now)
		snap.apply(out, plan.fresh, plan.keys, plan.changed)
		snap.replanWanted = snap.replanWanted || plan.replan
		if plan.rebuild {
			snap.rebuild(d.st, d.loc)
		}
		s.plans().put(userID, snap)
	}
	return out, err
}

// inTxCreate is createWindowed's transaction with the create's hooks, for
// a commitment stored let go at once, or with writes beside the blocks
// (calendar jobs, the re-plan wish). stored tells that blocks were stored
// and the snapshot holds the versions left; created, that a commitment
// was (not replayed).
func (s *Service) inTxCreate(ctx context.Context, userID int64, d draft, plan windowPlan, snap *planSnapshot, version int64, now time.Time,
	hooks createHooks) (out followup.Commitment, stored, created bool, err error) {
	err = s.Store.InTx(ctx, func(q followup.Queries) error {
		stored, created = false, false // the transaction may run again
		if c, done, err := hooks.replayIn(q); done || err != nil {
			out = c
			return err
		}
		var err error
		if d.ended {
			out, err = s.createEnded(ctx, q, d.c, d.steps, d.endedBy, d.st, d.loc, now)
		} else if out, err = s.storePlanned(ctx, q, d, plan, snap, version, now); err == nil {
			// The versions this transaction leaves, which the snapshot
			// holds once it has this create's changes.
			var m followup.PlanMark
			m, err = q.PlanMark(ctx, userID)
			snap.version, snap.feed = m.Version, m.Feed
			stored = err == nil
		}
		if err != nil {
			return err
		}
		created = true
		return hooks.storedIn(q, out)
	})
	return out, stored, created, err
}

// draft is a new commitment before it is stored: resolved, with its steps
// derived (not placed) and ready to store but for the commitment's id.
type draft struct {
	c     followup.Commitment
	steps []followup.Step
	st    followup.Settings
	loc   *time.Location
	// ended is set when the commitment is too late already: steps[endedBy]
	// is its let-go, due at once (see createEnded).
	ended   bool
	endedBy int
}

// draft resolves a validated commitment's deadline and derives its steps.
func (s *Service) draft(ctx context.Context, q followup.Queries, userID int64, in followup.NewCommitment, now time.Time) (draft, error) {
	st, loc, err := settings(ctx, q, userID)
	if err != nil {
		return draft{}, err
	}
	return s.draftWith(userID, st, loc, in, now)
}

// draftWith is draft with the user's settings st and zone loc known.
func (s *Service) draftWith(userID int64, st followup.Settings, loc *time.Location, in followup.NewCommitment, now time.Time) (draft, error) {
	c := followup.Commitment{
		UserID: userID, Contact: in.Contact, MetAt: in.MetAt.UTC(), MetWhere: in.MetWhere, Promise: in.Promise,
		Direction: in.Direction, DueText: in.DueText, Priority: in.Priority, Notes: in.Notes,
		Status: followup.StatusOpen, CreatedAt: now, UpdatedAt: now,
	}
	if in.Meeting != nil {
		m := *in.Meeting
		m.Start = m.Start.UTC()
		c.Meeting = &m
	}
	switch {
	case in.Due != nil:
		c.Due = in.Due.UTC()
	case in.DueText != "":
		if s.ParseDue == nil {
			return draft{}, followup.Errorf(followup.EINVALID, "due_text", "Deadlines in words are not available; send due as RFC 3339.")
		}
		due, err := s.ParseDue(in.DueText, now, loc, st.WorkHours.End)
		if err != nil {
			return draft{}, err
		}
		if !due.After(c.MetAt) {
			return draft{}, followup.Errorf(followup.EINVALID, "due_text", "%q is already past.", in.DueText)
		}
		c.Due = due.UTC()
	}
	due, warning := scheduler.Deadline(c, st, loc)
	c.Due = due.UTC()
	if warning != "" {
		c.Warnings = append(c.Warnings, warning)
	}
	d := draft{c: c, steps: scheduler.Steps(c, st, loc, now), st: st, loc: loc}
	if k, ok := dueTransition(d.steps, now); ok {
		// Too late already: nothing is planned, queued or added to the feed.
		d.ended, d.endedBy = true, k
		return d, nil
	}
	for i := range d.steps {
		if err := s.prepareStep(c, &d.steps[i], now); err != nil {
			return draft{}, err
		}
	}
	return d, nil
}

// storePlanned claims the plan version the plan was made at (errPlanStale
// when it moved) and stores a drafted commitment with its steps where
// plan put them, the blocks plan moved, their calendar writes and, when
// the window could not keep every rule, a background re-plan; sn is the
// calendar the plan was made in, at that version.
func (s *Service) storePlanned(ctx context.Context, q followup.Queries, d draft, plan windowPlan, sn *planSnapshot, version int64, now time.Time) (followup.Commitment, error) {
	c, placed := d.c, plan.fresh
	c.Warnings = append(c.Warnings, lateWarnings(placed, d.loc)...)
	// The snapshot's feed version is the one at version, where known.
	seen := followup.PlanMark{Version: version, Feed: sn.feed}
	if ok, err := q.ClaimAndInsert(ctx, seen, &c, placed, plan.changed); err != nil || !ok {
		return followup.Commitment{}, cmp.Or(err, errPlanStale)
	}
	conn := sn.calendar
	if err := s.enqueueTo(ctx, q, c.UserID, conn, plan.changed); err != nil {
		return followup.Commitment{}, err
	}
	if err := s.enqueueTo(ctx, q, c.UserID, conn, placed); err != nil {
		return followup.Commitment{}, err
	}
	if plan.replan && !sn.replanWanted {
		// One job for a run of creates: a wish not yet taken is seen to by
		// the job queued with it, which re-plans after this commits. The
		// snapshot knows of a wish its creates recorded.
		if wanted, err := q.WantReplan(ctx, c.UserID); err != nil {
			return followup.Commitment{}, err
		} else if wanted {
			if err := q.Enqueue(ctx, followup.Job{Kind: followup.JobReplanUser, UserID: c.UserID}); err != nil {
				return followup.Commitment{}, err
			}
		}
	}
	// Sorted apart: plan.fresh keeps the order of the calendar's keys.
	c.Steps = slices.Clone(placed)
	slices.SortStableFunc(c.Steps, func(a, b followup.Step) int { return a.Start.Compare(b.Start) })
	return c, nil
}

// create stores and plans a validated commitment inside a transaction,
// placing its steps among all the user's blocks: what createPlanned falls
// back to when other writes keep changing the user's blocks.
func (s *Service) create(ctx context.Context, q followup.Queries, userID int64, in followup.NewCommitment, now time.Time) (followup.Commitment, error) {
	d, err := s.draft(ctx, q, userID, in, now)
	if err != nil {
		return followup.Commitment{}, err
	}
	if d.ended {
		return s.createEnded(ctx, q, d.c, d.steps, d.endedBy, d.st, d.loc, now)
	}
	c := d.c
	if err := q.InsertCommitment(ctx, &c); err != nil {
		return followup.Commitment{}, err
	}
	for i := range d.steps {
		d.steps[i].CommitmentID = c.ID
	}
	// The new steps are placed before they are stored: one write each.
	conn, err := calendarOf(ctx, q, userID)
	if err != nil {
		return followup.Commitment{}, err
	}
	_, placed, err := s.plan(ctx, q, planInput{userID: userID, st: d.st, loc: d.loc, now: now, c: &c, fresh: d.steps, conn: conn, connKnown: true})
	if err != nil {
		return followup.Commitment{}, err
	}
	if err := q.InsertSteps(ctx, placed); err != nil {
		return followup.Commitment{}, err
	}
	if w := lateWarnings(placed, d.loc); len(w) > 0 {
		c.Warnings = append(c.Warnings, w...)
		if err := q.UpdateCommitment(ctx, &c); err != nil {
			return followup.Commitment{}, err
		}
	}
	if err := s.enqueueTo(ctx, q, userID, conn, placed); err != nil {
		return followup.Commitment{}, err
	}
	c.Steps = placed
	slices.SortStableFunc(c.Steps, func(a, b followup.Step) int { return a.Start.Compare(b.Start) })
	return c, nil
}

// dueTransition returns the index of a step of a new commitment that ends
// it and is due already at now: the let-go of a meeting LetGoAfterDays or
// more ago. (The close, the other transition Tick applies, only follows a
// contact; a new meeting's completion is never due, as it cannot be over.)
func dueTransition(steps []followup.Step, now time.Time) (int, bool) {
	for i, st := range steps {
		if st.Kind == followup.KindLetGo && !st.Start.After(now) {
			return i, true
		}
	}
	return 0, false
}

// createEnded stores a new commitment whose step ended is already due, as
// Tick would leave it: let go, the transition done and every other step
// cancelled. Nothing is placed, queued for a calendar or added to the feed.
func (s *Service) createEnded(ctx context.Context, q followup.Queries, c followup.Commitment, steps []followup.Step, ended int, st followup.Settings, loc *time.Location, now time.Time) (followup.Commitment, error) {
	t := now
	c.Status, c.EndedAt = followup.StatusLetGo, &t
	c.Warnings = append(c.Warnings, fmt.Sprintf("You met %d days or more ago (the time to follow up ended on %s), so this commitment is let go at once and nothing was planned.",
		st.LetGoAfterDays, steps[ended].Start.In(loc).Format("Monday, January 2")))
	if err := q.InsertCommitment(ctx, &c); err != nil {
		return followup.Commitment{}, err
	}
	for i := range steps {
		if err := s.prepareStep(c, &steps[i], now); err != nil {
			return followup.Commitment{}, err
		}
		steps[i].Status = followup.StepCancelled
		if i == ended {
			steps[i].Status = followup.StepDone
		}
		steps[i].CompletedAt = &t
	}
	if err := q.InsertSteps(ctx, steps); err != nil {
		return followup.Commitment{}, err
	}
	letGo := []followup.Transition{{UserID: c.UserID, CommitmentID: c.ID, StepID: steps[ended].ID,
		Kind: followup.TransitionLetGo, From: followup.StatusOpen, To: followup.StatusLetGo, At: now}}
	if err := q.RecordTransitions(ctx, letGo); err != nil {
		return followup.Commitment{}, err
	}
	c.Steps = steps // the caller logs the let-go once committed (logCreatedEnded)
	slices.SortStableFunc(c.Steps, func(a, b followup.Step) int { return a.Start.Compare(b.Start) })
	return c, nil
}

// lateWarnings names the blocks that could only be placed after the
// commitment's let-go: they would be removed before anyone saw them.
func lateWarnings(steps []followup.Step, loc *time.Location) []string {
	var letGo time.Time
	for _, st := range steps {
		if st.Kind == followup.KindLetGo {
			letGo = st.Start
		}
	}
	var out []string
	for _, st := range steps {
		if letGo.IsZero() || !st.Kind.IsBlock() || st.Kind == followup.KindMeeting || !st.End.After(letGo) {
			continue
		}
		out = append(out, fmt.Sprintf("The %s block found no free time before %s, when this commitment is let go; free some time in your calendar or move the block.",
			st.Kind, letGo.In(loc).Format("Monday, January 2")))
	}
	return out
}

// prepareStep completes a derived step with ids, a UID and timestamps.
func (s *Service) prepareStep(c followup.Commitment, step *followup.Step, now time.Time) error {
	uid, err := s.newUID()
	if err != nil {
		return err
	}
	step.UID, step.CommitmentID, step.UserID = uid, c.ID, c.UserID
	step.Status = followup.StepPlanned
	step.RemoteSequence = followup.NoRemoteSequence
	step.CreatedAt, step.UpdatedAt = now, now
	if step.Start.IsZero() {
		// Not placed yet; replan places it. Until then it sits at its earliest moment.
		step.Start, step.End = step.NotBefore, step.NotBefore
	}
	// Answers show what the store keeps: UTC.
	step.Start, step.End, step.NotBefore, step.Due = step.Start.UTC(), step.End.UTC(), step.NotBefore.UTC(), step.Due.UTC()
	return nil
}

// insertStep prepares a derived step and stores it; replan places it.
func (s *Service) insertStep(ctx context.Context, q followup.Queries, c followup.Commitment, step *followup.Step, now time.Time) error {
	if err := s.prepareStep(c, step, now); err != nil {
		return err
	}
	return q.InsertStep(ctx, step)
}

// Get returns one of the user's commitments. Errors: ENOTFOUND.
func (s *Service) Get(ctx context.Context, userID, id int64) (followup.Commitment, error) {
	return s.Store.Commitment(ctx, userID, id)
}

// List returns the user's commitments, newest first. Errors: EINVALID for an unknown status.
func (s *Service) List(ctx context.Context, userID int64, f followup.CommitmentFilter) ([]followup.Commitment, error) {
	switch f.Status {
	case "", followup.StatusOpen, followup.StatusDone, followup.StatusLetGo:
	default:
		return nil, followup.Errorf(followup.EINVALID, "status", "status must be open, done or let_go.")
	}
	if f.Limit < 0 || f.Limit > 500 {
		return nil, followup.Errorf(followup.EINVALID, "limit", "limit must be between 1 and 500.")
	}
	if f.Offset < 0 {
		return nil, followup.Errorf(followup.EINVALID, "offset", "offset must not be negative.")
	}
	return s.Store.Commitments(ctx, userID, f)
}

// Delete removes a commitment; its blocks leave the feed and every calendar.
// Errors: ENOTFOUND.
func (s *Service) Delete(ctx context.Context, userID, id int64) error {
	now := s.now()
	ctx = followup.ForUser(ctx, userID)
	return s.changeLocally(ctx, userID, now, func(lc *localChange) error {
		q := lc.q
		c, err := q.Commitment(ctx, userID, id)
		if err != nil {
			return err
		}
		if err := q.DeleteCommitment(ctx, userID, id); err != nil {
			return err
		}
		if err := s.enqueueSteps(ctx, q, userID, c.Steps); err != nil {
			return err
		}
		st, loc, err := settings(ctx, q, userID)
		if err != nil {
			return err
		}
		if all, err := lc.planAll(st, loc); err != nil || all {
			return cmp.Or(err, s.replan(ctx, q, userID, now))
		}
		gone := slices.Clone(c.Steps)
		for i := range gone {
			gone[i].Status = followup.StepCancelled
		}
		return lc.ended(gone, st, loc)
	})
}

// Act applies an action to a commitment and returns it updated.
// Errors: EINVALID for an unknown action, ENOTFOUND, ECONFLICT when the
// action does not fit the commitment's state.
func (s *Service) Act(ctx context.Context, userID, id int64, action followup.Action) (followup.Commitment, error) {
	switch action {
	case followup.ActionContacted, followup.ActionReplied, followup.ActionDelivered, followup.ActionLetGo:
	default:
		return followup.Commitment{}, followup.Errorf(followup.EINVALID, "action", "action must be contacted, replied, delivered or let_go.")
	}
	now := s.now()
	ctx = followup.ForUser(ctx, userID)
	var out followup.Commitment
	err := s.changeLocally(ctx, userID, now, func(lc *localChange) error {
		q := lc.q
		a, err := s.newActor(ctx, q, userID, id, now)
		if err != nil {
			return err
		}
		a.lc = lc
		c := a.c
		if c.Status != followup.StatusOpen {
			return followup.Errorf(followup.ECONFLICT, "action", "This commitment is already %s.", c.Status)
		}
		switch action {
		case followup.ActionContacted:
			if c.ContactedAt != nil {
				return followup.Errorf(followup.ECONFLICT, "action", "You already marked this contact as contacted.")
			}
			err = a.contacted()
		case followup.ActionReplied:
			if c.RepliedAt != nil {
				return followup.Errorf(followup.ECONFLICT, "action", "You already recorded a reply.")
			}
			err = a.replied()
		case followup.ActionDelivered:
			if c.DeliveredAt != nil {
				return followup.Errorf(followup.ECONFLICT, "action", "This promise is already marked delivered.")
			}
			err = a.delivered()
		case followup.ActionLetGo:
			a.record(followup.TransitionLetGo, 0)
			err = a.end(followup.StatusLetGo)
		}
		if err != nil {
			return err
		}
		if err := a.finish(); err != nil {
			return err
		}
		out, err = q.Commitment(ctx, userID, id)
		return err
	})
	return out, err
}

// newActor loads a commitment and its user's settings for transitions.
func (s *Service) newActor(ctx context.Context, q followup.Queries, userID, id int64, now time.Time) (*actor, error) {
	c, err := q.Commitment(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	st, loc, err := settings(ctx, q, userID)
	if err != nil {
		return nil, err
	}
	return &actor{ctx: ctx, s: s, q: q, c: &c, from: c.Status, st: st, loc: loc, now: now}, nil
}

// actor applies transitions to one commitment inside a transaction.
type actor struct {
	ctx     context.Context
	s       *Service
	q       followup.Queries
	c       *followup.Commitment
	from    followup.Status // c's status when loaded
	st      followup.Settings
	loc     *time.Location
	now     time.Time
	changed []followup.Step
	// fresh are the steps added (a nudge and its close), placed by finish.
	fresh []followup.Step
	// applied are the transitions applied, the one that caused the others
	// first; finish records them.
	applied []followup.Transition
	// lc places the fresh steps in the user's calendar kept in memory; nil
	// for transitions the tick or a sync applies, which plan every block
	// again.
	lc *localChange
}

// record notes a transition applied to the commitment, completing the
// step stepID (0: none).
func (a *actor) record(kind followup.TransitionKind, stepID int64) {
	a.applied = append(a.applied, followup.Transition{
		UserID: a.c.UserID, CommitmentID: a.c.ID, StepID: stepID, Kind: kind, At: a.now,
	})
}

// complete marks pending steps of the given kinds done (or cancelled) and
// returns the id of the first, 0 when none was pending.
func (a *actor) complete(status followup.StepStatus, kinds ...followup.StepKind) (first int64) {
	for i := range a.c.Steps {
		step := &a.c.Steps[i]
		if !step.Status.Pending() {
			continue
		}
		for _, k := range kinds {
			if step.Kind == k {
				step.Status = status
				t := a.now
				step.CompletedAt = &t
				step.Sequence++
				step.UpdatedAt = a.now
				a.changed = append(a.changed, *step)
				if first == 0 {
					first = step.ID
				}
			}
		}
	}
	return first
}

// contacted records the first note: the refresher is done, the 10-day
// let-go no longer applies, and the nudge/close pair is planned.
func (a *actor) contacted() error {
	t := a.now
	a.c.ContactedAt = &t
	a.record(followup.TransitionContacted, a.complete(followup.StepDone, followup.KindRefresher))
	a.complete(followup.StepCancelled, followup.KindLetGo)
	if a.c.RepliedAt != nil {
		return nil
	}
	for _, step := range scheduler.AfterContacted(*a.c, a.st, a.loc, a.now) {
		if err := a.s.insertStep(a.ctx, a.q, *a.c, &step, a.now); err != nil {
			return err
		}
		a.c.Steps = append(a.c.Steps, step)
		a.fresh = append(a.fresh, step)
	}
	return nil
}

// replied ends the cycle as successful: nudge and close are cancelled.
// A reply implies contact, so the refresher and let-go are settled too.
func (a *actor) replied() error {
	t := a.now
	a.c.RepliedAt = &t
	a.record(followup.TransitionReplied, 0)
	if a.c.ContactedAt == nil {
		a.c.ContactedAt = &t
		a.record(followup.TransitionContacted, a.complete(followup.StepDone, followup.KindRefresher))
		a.complete(followup.StepCancelled, followup.KindLetGo)
	}
	a.complete(followup.StepCancelled, followup.KindNudge, followup.KindClose)
	return nil
}

// delivered marks the promise kept: deliver (mine) or chase (theirs) is
// done. Delivering my promise is also my first contact.
func (a *actor) delivered() error {
	t := a.now
	a.c.DeliveredAt = &t
	a.record(followup.TransitionDelivered, a.complete(followup.StepDone, followup.KindDeliver, followup.KindChase))
	if a.c.Direction == followup.Mine && a.c.ContactedAt == nil {
		return a.contacted()
	}
	return nil
}

// end closes the commitment: every pending step is cancelled.
func (a *actor) end(status followup.Status) error {
	a.c.Status = status
	t := a.now
	a.c.EndedAt = &t
	for i := range a.c.Steps {
		if a.c.Steps[i].Status.Pending() {
			a.complete(followup.StepCancelled, a.c.Steps[i].Kind)
		}
	}
	return nil
}

// finish stores the commitment and its changed steps, settles its status,
// records the transitions applied, replans the user's blocks and queues
// calendar writes.
func (a *actor) finish() error {
	ctx := a.ctx
	if a.c.Status == followup.StatusOpen {
		pending := false
		for _, st := range a.c.Steps {
			if st.Status.Pending() {
				pending = true
			}
		}
		if !pending {
			a.c.Status = followup.StatusDone
			t := a.now
			a.c.EndedAt = &t
		}
	}
	a.c.UpdatedAt = a.now
	if err := a.q.UpdateCommitment(ctx, a.c); err != nil {
		return err
	}
	if err := a.recordApplied(); err != nil {
		return err
	}
	for i := range a.changed {
		if err := a.q.UpdateStep(ctx, &a.changed[i]); err != nil {
			return err
		}
	}
	if err := a.s.enqueueSteps(ctx, a.q, a.c.UserID, a.changed); err != nil {
		return err
	}
	if a.lc == nil {
		return a.s.replan(ctx, a.q, a.c.UserID, a.now)
	}
	if all, err := a.lc.planAll(a.st, a.loc); err != nil || all {
		return cmp.Or(err, a.s.replan(ctx, a.q, a.c.UserID, a.now))
	}
	if err := a.lc.ended(a.c.Steps, a.st, a.loc); err != nil {
		return err
	}
	if len(a.fresh) == 0 {
		return nil
	}
	return a.lc.place(*a.c, a.fresh, a.st, a.loc)
}

// recordApplied records the transitions applied, in the transaction that
// applied them. The first one, which caused the others, carries the change
// of the commitment's status; a second application of any of them fails
// with ECONFLICT, rolling the whole transaction back.
func (a *actor) recordApplied() error {
	if len(a.applied) == 0 {
		return nil
	}
	for i := range a.applied {
		a.applied[i].From, a.applied[i].To = a.from, a.from
	}
	a.applied[0].To = a.c.Status
	return a.q.RecordTransitions(a.ctx, a.applied)
}

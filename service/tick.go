package service

import (
	"context"
	"fmt"

	"github.com/followup/followup"
)

// tickBatch bounds the work of one transaction in Tick.
const tickBatch = 200

// Tick applies the time-based transitions that are due: let-go at met + 10
// days without contact, close after an unanswered nudge, and meetings (and
// their confirmations) that have taken place. Each commitment changes in
// its own transaction and only while its step is still pending, so a crash
// or a restart neither misses a transition nor applies it twice.
func (s *Service) Tick(ctx context.Context) error {
	now := s.now()
	seen := map[int64]bool{}
	for {
		due, err := s.Store.DueSteps(ctx, []followup.StepKind{followup.KindLetGo, followup.KindClose}, now, tickBatch)
		if err != nil {
			return err
		}
		fresh := 0
		for _, st := range due {
			if seen[st.ID] {
				continue // skipped before: do not loop on it
			}
			seen[st.ID] = true
			fresh++
			if err := s.applyTransition(ctx, st); err != nil {
				return err
			}
		}
		if len(due) < tickBatch || fresh == 0 {
			break
		}
	}
	// Meetings are done once over; their confirmation once they begin.
	for {
		due, err := s.Store.DueSteps(ctx, []followup.StepKind{followup.KindMeeting, followup.KindConfirm}, now, tickBatch)
		if err != nil {
			return err
		}
		n := 0
		for _, st := range due {
			if st.Kind == followup.KindMeeting && st.End.After(now) {
				continue
			}
			if st.Kind == followup.KindConfirm && st.End.After(now) {
				continue
			}
			n++
			if err := s.completePast(ctx, st); err != nil {
				return err
			}
		}
		if n == 0 || len(due) < tickBatch {
			break
		}
	}
	return nil
}

// applyTransition ends a commitment through its due let_go or close step.
func (s *Service) applyTransition(ctx context.Context, due followup.Step) error {
	now := s.now()
	ctx = followup.ForUser(ctx, due.UserID)
	err := s.inTx(ctx, func(q followup.Queries, after func(func())) error {
		a, err := s.newActor(ctx, q, due.UserID, due.CommitmentID, now)
		if err != nil {
			return err
		}
		c := a.c
		var step *followup.Step
		for i := range c.Steps {
			if c.Steps[i].ID == due.ID {
				step = &c.Steps[i]
			}
		}
		if step == nil || !step.Status.Pending() || c.Status != followup.StatusOpen {
			return nil // already applied, by another instance or before a restart
		}
		kind := followup.TransitionLetGo
		if due.Kind == followup.KindClose {
			kind = followup.TransitionClose
		}
		a.record(kind, due.ID)
		a.end(followup.StatusLetGo)
		// The transition itself happened: it is done, not cancelled.
		for i := range a.changed {
			if a.changed[i].ID == due.ID {
				a.changed[i].Status = followup.StepDone
			}
		}
		after(func() {
			s.log().InfoContext(ctx, "commitment let go", "commitment_id", c.ID, "user_id", c.UserID, "by", string(due.Kind))
		})
		return a.finish()
	})
	if err != nil {
		return fmt.Errorf("service: apply %s of commitment %d: %w", due.Kind, due.CommitmentID, err)
	}
	// The let-go freed its blocks' time and re-planned them: the user's
	// next create reads the calendar.
	s.plans().drop(due.UserID)
	return nil
}

// completePast marks a past meeting or confirm step done.
func (s *Service) completePast(ctx context.Context, due followup.Step) error {
	now := s.now()
	ctx = followup.ForUser(ctx, due.UserID)
	return s.Store.InTx(ctx, func(q followup.Queries) error {
		a, err := s.newActor(ctx, q, due.UserID, due.CommitmentID, now)
		if err != nil {
			return err
		}
		c := a.c
		for i := range c.Steps {
			if c.Steps[i].ID == due.ID && c.Steps[i].Status.Pending() {
				step := &c.Steps[i]
				step.Status = followup.StepDone
				// Completed when it ended: a past block stays as a record.
				t := step.End
				step.CompletedAt = &t
				step.UpdatedAt = now
				a.changed = append(a.changed, *step)
			}
		}
		if len(a.changed) == 0 {
			return nil
		}
		return a.finish()
	})
}

package service

import (
	"context"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

// Settings returns the user's settings.
func (s *Service) Settings(ctx context.Context, userID int64) (followup.Settings, error) {
	return s.Store.Settings(ctx, userID)
}

// PutSettings validates and stores the user's settings, then replans the
// blocks that may still move. Errors: EINVALID naming the field.
func (s *Service) PutSettings(ctx context.Context, userID int64, st followup.Settings) (followup.Settings, error) {
	ctx = followup.ForUser(ctx, userID)
	if err := st.Validate(); err != nil {
		return followup.Settings{}, err
	}
	now := s.now()
	err := s.Store.InTx(ctx, func(q followup.Queries) error {
		old, err := q.Settings(ctx, userID)
		if err != nil {
			return err
		}
		if err := q.PutSettings(ctx, userID, st); err != nil {
			return err
		}
		if old.AlarmMinutes != st.AlarmMinutes {
			if err := s.bumpBlocks(ctx, q, userID, now); err != nil {
				return err
			}
		}
		if err := rewindow(ctx, q, userID, st); err != nil {
			return err
		}
		return s.replan(ctx, q, userID, now)
	})
	s.plans().drop(userID)
	return st, err
}

// rewindow recomputes the windows of pending steps that depend on the
// settings (working days and hours, the nudge, close and let-go delays) as
// if their commitments had been logged under the new settings.
func rewindow(ctx context.Context, q followup.Queries, userID int64, st followup.Settings) error {
	loc, err := st.Location()
	if err != nil {
		return err
	}
	pending, err := q.PendingSteps(ctx, userID)
	if err != nil {
		return err
	}
	var ids []int64
	seen := map[int64]bool{}
	for _, p := range pending {
		if !seen[p.CommitmentID] {
			seen[p.CommitmentID] = true
			ids = append(ids, p.CommitmentID)
		}
	}
	meta, err := q.CommitmentsByID(ctx, userID, ids)
	if err != nil {
		return err
	}
	fresh := map[int64]map[followup.StepKind]followup.Step{}
	for id, c := range meta {
		kinds := map[followup.StepKind]followup.Step{}
		for _, fs := range scheduler.Steps(c, st, loc, c.CreatedAt) {
			kinds[fs.Kind] = fs
		}
		if c.ContactedAt != nil {
			for _, fs := range scheduler.AfterContacted(c, st, loc, *c.ContactedAt) {
				kinds[fs.Kind] = fs
			}
		}
		fresh[id] = kinds
	}
	for _, p := range pending {
		f, ok := fresh[p.CommitmentID][p.Kind]
		if !ok {
			continue
		}
		switch p.Kind {
		case followup.KindChase, followup.KindConfirm, followup.KindNudge:
			if p.NotBefore.Equal(f.NotBefore) && p.Due.Equal(f.Due) {
				continue
			}
			p.NotBefore, p.Due = f.NotBefore.UTC(), f.Due.UTC()
		case followup.KindLetGo:
			if p.Start.Equal(f.Start) {
				continue
			}
			p.Start, p.End, p.Due, p.NotBefore = f.Start.UTC(), f.End.UTC(), f.Due.UTC(), f.NotBefore.UTC()
		default:
			continue
		}
		if err := q.UpdateStep(ctx, &p); err != nil {
			return err
		}
	}
	return nil
}

// bumpBlocks raises the SEQUENCE of every pending block, whose calendar
// copy changes (a new alarm), and queues their rewrite.
func (s *Service) bumpBlocks(ctx context.Context, q followup.Queries, userID int64, now time.Time) error {
	pending, err := q.PendingSteps(ctx, userID)
	if err != nil {
		return err
	}
	var changed []followup.Step
	for _, p := range pending {
		if !p.Kind.IsBlock() {
			continue
		}
		p.Sequence++
		p.UpdatedAt = now
		if err := q.UpdateStep(ctx, &p); err != nil {
			return err
		}
		changed = append(changed, p)
	}
	return s.enqueueSteps(ctx, q, userID, changed)
}

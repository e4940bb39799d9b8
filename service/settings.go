package service

import (
	"context"

	"github.com/followup/followup"
)

// Settings returns the user's settings.
func (s *Service) Settings(ctx context.Context, userID int64) (followup.Settings, error) {
	return s.Store.Settings(ctx, userID)
}

// PutSettings validates and stores the user's settings, then replans the
// blocks that may still move. Errors: EINVALID naming the field.
func (s *Service) PutSettings(ctx context.Context, userID int64, st followup.Settings) (followup.Settings, error) {
	if err := st.Validate(); err != nil {
		return followup.Settings{}, err
	}
	now := s.now()
	err := s.Store.InTx(ctx, func(q followup.Queries) error {
		if err := q.PutSettings(ctx, userID, st); err != nil {
			return err
		}
		if err := s.replan(ctx, q, userID, now); err != nil {
			return err
		}
		// Alarm offsets and texts may have changed: the feed changes too.
		return q.TouchFeed(ctx, userID, now)
	})
	return st, err
}

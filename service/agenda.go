package service

import (
	"context"
	"time"

	"github.com/followup/followup"
)

// MaxAgendaSpan bounds an agenda request.
const MaxAgendaSpan = 366 * 24 * time.Hour

// Agenda returns the user's blocks and busy intervals in [from, to).
// Errors: EINVALID for an empty or too long range.
func (s *Service) Agenda(ctx context.Context, userID int64, from, to time.Time) (followup.Agenda, error) {
	if !to.After(from) {
		return followup.Agenda{}, followup.Errorf(followup.EINVALID, "to", "to must be after from.")
	}
	if to.Sub(from) > MaxAgendaSpan {
		return followup.Agenda{}, followup.Errorf(followup.EINVALID, "to", "The range may span at most 366 days.")
	}
	st, loc, err := settings(ctx, s.Store, userID)
	if err != nil {
		return followup.Agenda{}, err
	}
	a := followup.Agenda{From: from.UTC(), To: to.UTC(), Zone: st.Timezone, Blocks: []followup.AgendaBlock{}, Busy: []followup.Interval{}}
	steps, err := s.Store.StepsInRange(ctx, userID, from, to)
	if err != nil {
		return a, err
	}
	var ids []int64
	for _, p := range steps {
		ids = append(ids, p.CommitmentID)
	}
	meta, err := s.Store.CommitmentsByID(ctx, userID, ids)
	if err != nil {
		return a, err
	}
	window := followup.Interval{Start: from, End: to}
	for _, p := range steps {
		if !p.Live() {
			continue
		}
		c := meta[p.CommitmentID]
		a.Blocks = append(a.Blocks, followup.AgendaBlock{
			Step: p, CommitmentID: p.CommitmentID, Title: followup.BlockTitle(c, p),
			Draft: followup.Draft(c, p, loc), Contact: c.Contact.Name,
		})
		if p.Kind == followup.KindMeeting {
			a.Busy = append(a.Busy, followup.Interval{Start: p.Start, End: p.End, Source: "meeting"})
		}
	}
	external, err := externalBusy(ctx, s.Store, userID, loc)
	if err != nil {
		return a, err
	}
	// The habits' occurrences shape the blocks too ("habit:KIND").
	habits, err := habitIntervals(ctx, s.Store, userID, loc, from.Add(-24*time.Hour), to)
	if err != nil {
		return a, err
	}
	for _, iv := range append(external, habits...) {
		if iv.Overlaps(window) {
			a.Busy = append(a.Busy, iv)
		}
	}
	return a, nil
}

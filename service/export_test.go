package service

import (
	"time"

	"github.com/followup/followup"
)

// PlanSnapshot returns the rows of the planning snapshot kept for the
// user, its plan version and the range of starts it holds; ok is false
// when none is kept.
func (s *Service) PlanSnapshot(userID int64) (rows []followup.Step, version int64, from, to time.Time, ok bool) {
	pc := s.plans()
	pc.mu.Lock()
	defer pc.mu.Unlock()
	sn := pc.users[userID]
	if sn == nil {
		return nil, 0, time.Time{}, time.Time{}, false
	}
	for _, p := range sn.rows {
		rows = append(rows, p)
	}
	return rows, sn.version, sn.from, sn.to, true
}

// KeptCalendar returns how many blocks the calendar kept for the user
// holds and whether it is dirty; ok is false when none is kept.
func (s *Service) KeptCalendar(userID int64) (blocks int, dirty, ok bool) {
	pc := s.plans()
	pc.mu.Lock()
	defer pc.mu.Unlock()
	sn := pc.users[userID]
	if sn == nil {
		return 0, false, false
	}
	return sn.cal.Len(), sn.dirty, true
}

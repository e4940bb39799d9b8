package service_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/internal/plancheck"
	"github.com/followup/followup/scheduler"
)

// TestIncrementalKeepsPriorities logs random sequences of commitments
// (random met times, stars, deadlines, directions and meetings, at random
// fixed clocks in weeks with and without a DST change) and checks after
// every one that the unwritten blocks keep the rules of a plan made from
// scratch (plancheck.Check): starred first in the follow-up hour, earliest
// deadline first, late blocks in priority order, no overlaps. The blocks may
// differ from such a plan; the rules may not. A commitment met ten local
// days ago or more is let go at once.
func TestIncrementalKeepsPriorities(t *testing.T) {
	seeds := 24
	if testing.Short() {
		seeds = 6
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			randomCreates(t, seed)
		})
	}
}

// randomCreates runs one random sequence of creates and checks the plan
// after each.
func randomCreates(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	zoneName := []string{"Europe/Berlin", "America/New_York"}[r.IntN(2)]
	loc := zone(t, zoneName)
	starts := []time.Time{
		time.Date(2026, 3, 6, 8, 0, 0, 0, loc),   // the US change is on Sunday the 8th
		time.Date(2026, 3, 27, 16, 0, 0, 0, loc), // the European change is on Sunday the 29th
		time.Date(2026, 10, 23, 20, 0, 0, 0, loc),
		time.Date(2026, 10, 30, 22, 0, 0, 0, loc),
		time.Date(2026, 6, 10, 11, 0, 0, 0, loc),
	}
	now := starts[r.IntN(len(starts))].Add(time.Duration(r.IntN(24*60)) * time.Minute)
	h := newHarness(t, now)
	u := h.user("random@example.com", zoneName)
	for i := range 8 + r.IntN(12) {
		now = now.Add(time.Duration(r.IntN(6*60)) * time.Minute)
		h.clock.Set(now)
		in := randomCommitment(r, i, now)
		c, err := h.svc.Create(h.ctx, u.ID, in)
		if err != nil {
			t.Fatalf("create %d (%+v): %v", i, in, err)
		}
		// Ten days after the meeting, in local time, it is let go at once.
		if tooLate := !in.MetAt.In(loc).AddDate(0, 0, 10).After(now); tooLate != (c.Status == followup.StatusLetGo) {
			t.Errorf("create %d met %v at %v: status %s", i, in.MetAt.In(loc), now.In(loc), c.Status)
		}
		req, pls, names := planState(t, h, u.ID, loc, now)
		for _, v := range plancheck.Check(req, pls) {
			t.Errorf("after create %d at %v: %s", i, now.In(loc), v)
		}
		if t.Failed() {
			for k, p := range pls {
				t.Logf("%d %s %s: %v–%v late %v (starred %v, due %v)", k, names[k], req.Tasks[k].Kind,
					p.Start.In(loc), p.End.In(loc), p.Late, req.Tasks[k].Starred, req.Tasks[k].Due.In(loc))
			}
			return
		}
	}
}

// randomCommitment returns the i-th commitment of a random sequence
// logged at now.
func randomCommitment(r *rand.Rand, i int, now time.Time) followup.NewCommitment {
	met := now.Add(-time.Duration(r.IntN(4*24*60)) * time.Minute)
	if r.IntN(8) == 0 { // around the let-go, ten local days later
		met = now.AddDate(0, 0, -10).Add(time.Duration(r.IntN(4*60)-2*60) * time.Minute)
	}
	in := followup.NewCommitment{
		Contact: followup.Contact{Name: fmt.Sprintf("Contact %d", i)}, Promise: "Send the slides",
		MetAt: &met, Priority: r.IntN(3) == 0,
		Direction: []followup.Direction{followup.Mine, followup.Theirs}[r.IntN(2)],
	}
	if r.IntN(3) == 0 {
		due := now.Add(time.Duration(1+r.IntN(6*24*60)) * time.Minute)
		in.Due = &due
	}
	if r.IntN(4) == 0 {
		start := now.Add(time.Duration(60+r.IntN(6*24*60)) * time.Minute).Truncate(15 * time.Minute)
		in.Meeting = &followup.Meeting{Start: start, Minutes: []int{30, 45, 60}[r.IntN(3)]}
	}
	return in
}

// planState reads back what the service planned, as the request of a plan
// made at now: the pending blocks that have not started are the tasks (and
// their placements), those that have are fixed blocks, meetings are busy.
func planState(t *testing.T, h *harness, userID int64, loc *time.Location, now time.Time) (scheduler.Request, []scheduler.Placement, []string) {
	t.Helper()
	st, err := h.svc.Settings(h.ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := h.svc.List(h.ctx, userID, followup.CommitmentFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	req := scheduler.Request{Settings: st, Loc: loc, Now: now}
	var pls []scheduler.Placement
	var names []string
	for _, c := range cs {
		for _, s := range h.get(userID, c.ID).Steps {
			if !s.Status.Pending() || !s.Kind.IsBlock() || !s.End.After(now) {
				continue
			}
			switch {
			case s.Kind == followup.KindMeeting:
				req.Busy = append(req.Busy, followup.Interval{Start: s.Start, End: s.End})
			case !s.Start.After(now):
				req.Blocks = append(req.Blocks, followup.Interval{Start: s.Start, End: s.End})
			default:
				req.Tasks = append(req.Tasks, scheduler.NewTask(len(pls), s, c, st))
				pls = append(pls, scheduler.Placement{Key: len(pls), Start: s.Start, End: s.End, Late: s.Late, OK: true})
				names = append(names, c.Contact.Name)
			}
		}
	}
	return req, pls, names
}

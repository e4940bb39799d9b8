package service_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/service"
)

// transitionView is what a test compares of a recorded transition: the
// step it completed is named by kind.
type transitionView struct {
	Kind     followup.TransitionKind
	From, To followup.Status
	Step     followup.StepKind // "" for none
}

// transitions reads the commitment's recorded transitions back.
func (h *harness) transitions(c followup.Commitment) []transitionView {
	h.t.Helper()
	got, err := h.db.Transitions(h.ctx, c.UserID, c.ID)
	if err != nil {
		h.t.Fatalf("Transitions: %v", err)
	}
	c = h.get(c.UserID, c.ID)
	kinds := map[int64]followup.StepKind{}
	for _, s := range c.Steps {
		kinds[s.ID] = s.Kind
	}
	var out []transitionView
	for _, tr := range got {
		if tr.UserID != c.UserID || tr.CommitmentID != c.ID || tr.At.IsZero() {
			h.t.Errorf("transition %+v: not of commitment %d or without a time", tr, c.ID)
		}
		out = append(out, transitionView{Kind: tr.Kind, From: tr.From, To: tr.To, Step: kinds[tr.StepID]})
	}
	return out
}

// TestTransitionsRecorded: every action and time-based rule that changes a
// commitment leaves one record of itself, written with the change, naming
// the step it completed; the transition that changes the status carries
// that change.
func TestTransitionsRecorded(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, berlin) // Monday
	const (
		open  = followup.StatusOpen
		done  = followup.StatusDone
		letGo = followup.StatusLetGo
	)
	type event struct {
		after  time.Duration // the clock moves on by this first
		action followup.Action
		tick   bool
	}
	tests := []struct {
		name string
		dir  followup.Direction
		met  time.Duration // before now
		do   []event
		want []transitionView
	}{
		{"contacted", followup.Mine, 0, []event{{action: followup.ActionContacted}},
			[]transitionView{{followup.TransitionContacted, open, open, followup.KindRefresher}}},
		{"delivered mine is also the first contact", followup.Mine, 0, []event{{action: followup.ActionDelivered}},
			[]transitionView{
				{followup.TransitionDelivered, open, open, followup.KindDeliver},
				{followup.TransitionContacted, open, open, followup.KindRefresher},
			}},
		{"their delivery, then a reply, ends it", followup.Theirs, 0, []event{{action: followup.ActionDelivered}, {time.Hour, followup.ActionReplied, false}},
			[]transitionView{
				{followup.TransitionDelivered, open, open, followup.KindChase},
				{followup.TransitionReplied, open, done, ""},
				{followup.TransitionContacted, open, open, followup.KindRefresher},
			}},
		{"let go by the user", followup.Mine, 0, []event{{action: followup.ActionLetGo}},
			[]transitionView{{followup.TransitionLetGo, open, letGo, ""}}},
		{"let go at met + 10 days", followup.Mine, 0, []event{{after: 10*24*time.Hour + time.Minute, tick: true}, {after: time.Minute, tick: true}},
			[]transitionView{{followup.TransitionLetGo, open, letGo, followup.KindLetGo}}},
		{"closed after an unanswered nudge", followup.Mine, 0, []event{{action: followup.ActionContacted}, {after: 14 * 24 * time.Hour, tick: true}, {after: time.Minute, tick: true}},
			[]transitionView{
				{followup.TransitionContacted, open, open, followup.KindRefresher},
				{followup.TransitionClose, open, letGo, followup.KindClose},
			}},
		{"let go when logged", followup.Mine, 11 * 24 * time.Hour, nil,
			[]transitionView{{followup.TransitionLetGo, open, letGo, followup.KindLetGo}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, now)
			u := h.user("ada@example.com", "Europe/Berlin")
			met := now.Add(-tc.met)
			c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, MetAt: &met, Promise: "Send the deck", Direction: tc.dir})
			for _, e := range tc.do {
				h.clock.Add(e.after)
				if e.tick {
					h.tick()
				} else {
					h.act(u.ID, c.ID, e.action)
				}
			}
			if diff := cmp.Diff(tc.want, h.transitions(c)); diff != "" {
				t.Errorf("transitions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTransitionAppliedOnce: two instances on one database apply the same
// due let-gos at once, and two requests let the same commitment go at
// once: each transition is applied and recorded once.
func TestTransitionAppliedOnce(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, berlin)
	h := newHarness(t, now)
	_, other := h.instance()
	instances := []*service.Service{h.svc, other}
	u := h.user("ada@example.com", "Europe/Berlin")
	var due []followup.Commitment
	for range 5 {
		due = append(due, h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"}))
	}
	h.clock.Add(10 * 24 * time.Hour)

	var wg sync.WaitGroup
	for _, svc := range instances {
		for range 2 {
			wg.Go(func() {
				if err := svc.Tick(h.ctx); err != nil {
					t.Errorf("Tick: %v", err)
				}
			})
		}
	}
	wg.Wait()
	once := []transitionView{{followup.TransitionLetGo, followup.StatusOpen, followup.StatusLetGo, followup.KindLetGo}}
	for _, c := range due {
		if diff := cmp.Diff(once, h.transitions(c)); diff != "" {
			t.Errorf("commitment %d: transitions (-want +got):\n%s", c.ID, diff)
		}
	}

	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Joe"}, Promise: "Call"})
	var mu sync.Mutex
	applied, refused := 0, 0
	for _, svc := range instances {
		for range 2 {
			wg.Go(func() {
				_, err := svc.Act(h.ctx, u.ID, c.ID, followup.ActionLetGo)
				mu.Lock()
				defer mu.Unlock()
				switch followup.ErrorCode(err) {
				case "":
					applied++
				case followup.ECONFLICT:
					refused++
				default:
					t.Errorf("Act: %v", err)
				}
			})
		}
	}
	wg.Wait()
	if applied != 1 || refused != 3 {
		t.Errorf("let go applied %d times and refused %d times, want 1 and 3", applied, refused)
	}
	once[0].Step = ""
	if diff := cmp.Diff(once, h.transitions(c)); diff != "" {
		t.Errorf("transitions of the let-go by hand (-want +got):\n%s", diff)
	}
}

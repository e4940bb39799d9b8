package service_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/internal/plancheck"
	"github.com/followup/followup/scheduler"
	"github.com/followup/followup/service"
)

// TestWindowedCreateAgainstFullPlan is the differential test of placing a
// new commitment in its window (issue 13): random sequences of creates, in
// weeks with a DST change in New York and Berlin and in a zone without
// one, dense enough that the follow-up hours fill and blocks run late.
// After each create the stored plan and the full planner's plan of the
// same blocks (scheduler.Plan, from scratch) must both keep every rule of
// cadence.md (plancheck: deadlines and Late, the follow-up hour, starred
// first, no overlap), and the stored plan must not be worse for the new
// commitment: none of its blocks late that the full plan places in time,
// unless the full plan makes another block of the same priority late in
// its stead (which of two equals is late is no rule). Older blocks are not
// compared one by one: a plan grown create by create keeps them where they
// are, and a plan from scratch may shuffle many of them to win one slot,
// which the rules do not ask for (the same sequences give the same
// differences with the placement among all blocks that came before). When the window could not keep the rules it leaves a
// re-plan to the background job: the test runs the job then, and counts
// how often that was needed.
func TestWindowedCreateAgainstFullPlan(t *testing.T) {
	seeds := 18
	if testing.Short() {
		seeds = 6
	}
	zones := []string{"America/New_York", "Europe/Berlin", "Asia/Kolkata"}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			creates, replans := windowedSequence(t, seed, zones[seed%uint64(len(zones))])
			t.Logf("%d creates, %d re-plans left to the background", creates, replans)
			if replans*5 > creates {
				t.Errorf("%d of %d creates left a re-plan to the background, want at most a fifth", replans, creates)
			}
		})
	}
}

// windowedSequence runs one random sequence and returns how many creates
// it made and how many of them wanted the background re-plan.
func windowedSequence(t *testing.T, seed uint64, zoneName string) (creates, replans int) {
	r := rand.New(rand.NewPCG(seed, seed^0xf1a7))
	loc := zone(t, zoneName)
	starts := []time.Time{
		time.Date(2026, 3, 6, 8, 0, 0, 0, loc),   // the US change is on Sunday the 8th
		time.Date(2026, 3, 27, 16, 0, 0, 0, loc), // the European change is on Sunday the 29th
		time.Date(2026, 10, 30, 9, 0, 0, 0, loc), // and back on the 25th (Europe) and November 1st (US)
	}
	now := starts[r.IntN(len(starts))].Add(time.Duration(r.IntN(12*60)) * time.Minute)
	h := newHarness(t, now)
	u := h.user("windowed@example.com", zoneName)
	for i := range 25 + r.IntN(20) {
		now = now.Add(time.Duration(r.IntN(90)) * time.Minute)
		h.clock.Set(now)
		in := randomCommitment(r, i, now)
		if r.IntN(2) == 0 && in.Due == nil { // deadlines in words, soon: the hours fill
			in.DueText = []string{"tomorrow", "in 2 days", "by Friday"}[r.IntN(3)]
		}
		if _, err := h.svc.Create(h.ctx, u.ID, in); err != nil {
			t.Fatalf("create %d (%+v): %v", i, in, err)
		}
		checkSnapshot(t, h, u.ID)
		creates++
		if wanted, err := h.db.TakeReplan(h.ctx, u.ID); err != nil {
			t.Fatal(err)
		} else if wanted {
			replans++
			if _, err := h.db.WantReplan(h.ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			if err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobReplanUser, UserID: u.ID}); err != nil {
				t.Fatal(err)
			}
		}
		req, stored, names := planState(t, h, u.ID, loc, now)
		full := scheduler.Plan(req)
		for _, v := range plancheck.Check(req, stored) {
			t.Errorf("create %d at %v, stored plan: %s", i, now.In(loc), v)
		}
		for _, v := range plancheck.Check(req, full) {
			t.Errorf("create %d at %v, full plan: %s", i, now.In(loc), v)
		}
		for _, k := range lateOnlyInStored(req, stored, full) {
			if names[k] != in.Contact.Name {
				continue
			}
			t.Errorf("create %d at %v: %s %s is late at %v, the full plan has it in time at %v", i, now.In(loc),
				names[k], req.Tasks[k].Kind, stored[k].Start.In(loc), full[k].Start.In(loc))
		}
		if t.Failed() {
			return creates, replans
		}
	}
	return creates, replans
}

// checkSnapshot fails the test unless the planning snapshot kept for the
// user, if it is at the stored plan version, holds what the store holds:
// the rows PlanningWindow reads over its range, field by field.
func checkSnapshot(t *testing.T, h *harness, userID int64) {
	t.Helper()
	checkKept(t, h, h.svc, userID)
}

// checkKept is checkSnapshot for the calendar svc keeps, whose calendar
// holds a block for each of its rows but meetings, and is not dirty.
func checkKept(t *testing.T, h *harness, svc *service.Service, userID int64) {
	t.Helper()
	kept, version, from, to, ok := svc.PlanSnapshot(userID)
	if !ok {
		return
	}
	if v, err := h.db.PlanVersion(h.ctx, userID); err != nil {
		t.Fatal(err)
	} else if v != version {
		return
	}
	stored, _, err := h.db.PlanningWindow(h.ctx, userID, from, to)
	if err != nil {
		t.Fatal(err)
	}
	blocks := 0
	for _, p := range stored {
		if p.Kind != followup.KindMeeting && p.End.After(p.Start) {
			blocks++
		}
	}
	if n, dirty, _ := svc.KeptCalendar(userID); n != blocks || dirty {
		t.Errorf("the calendar kept at version %d holds %d blocks (dirty %v), the store %d", version, n, dirty, blocks)
	}
	byID := map[int64]followup.Step{}
	for _, p := range kept {
		byID[p.ID] = p
	}
	if len(kept) != len(stored) {
		t.Errorf("the snapshot at version %d holds %d rows, the store %d", version, len(kept), len(stored))
	}
	for _, want := range stored {
		got, ok := byID[want.ID]
		if !ok {
			t.Errorf("the snapshot lacks step %d (%s at %v)", want.ID, want.Kind, want.Start)
			continue
		}
		if !samePlanningRow(got, want) {
			t.Errorf("the snapshot holds step %d as %+v, the store as %+v", want.ID, got, want)
		}
	}
}

// samePlanningRow reports whether two rows of PlanningWindow are the same.
func samePlanningRow(a, b followup.Step) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.CommitmentID == b.CommitmentID && a.Kind == b.Kind &&
		a.Status == b.Status && a.Start.Equal(b.Start) && a.End.Equal(b.End) && a.NotBefore.Equal(b.NotBefore) &&
		a.Due.Equal(b.Due) && a.UID == b.UID && a.Late == b.Late && a.Sequence == b.Sequence &&
		a.Pinned == b.Pinned && a.RemoteETag == b.RemoteETag && a.Unplaced == b.Unplaced
}

// lateOnlyInStored returns the tasks late in stored but in time in full for
// which full has no task of the same priority late that stored has in time.
func lateOnlyInStored(req scheduler.Request, stored, full []scheduler.Placement) []int {
	same := scheduler.SamePriority(req)
	used := map[int]bool{}
	var out []int
	for i, t := range req.Tasks {
		if !stored[i].Late || !full[i].OK || full[i].Late {
			continue
		}
		spare := -1
		for j, o := range req.Tasks {
			if !used[j] && full[j].Late && !stored[j].Late && same(t, o) {
				spare = j
				break
			}
		}
		if spare < 0 {
			out = append(out, i)
			continue
		}
		used[spare] = true
	}
	return out
}

// countingStore counts what planning reads: the full read of a user's
// pending steps (PlanningSteps) and the rows of the windowed one. A hook
// may run before the first transaction or create's write, as another
// process's write would.
type countingStore struct {
	followup.Store
	full       atomic.Int64
	windows    atomic.Int64
	windowRows atomic.Int64
	attempts   atomic.Int64
	changes    atomic.Int64
	beforeTx   func()
	hookOnce   sync.Once
}

func (c *countingStore) PlanningSteps(ctx context.Context, userID int64, t time.Time) ([]followup.Step, error) {
	c.full.Add(1)
	return c.Store.PlanningSteps(ctx, userID, t)
}

func (c *countingStore) PlanningWindow(ctx context.Context, userID int64, from, to time.Time) ([]followup.Step, map[int64]followup.Commitment, error) {
	steps, facts, err := c.Store.PlanningWindow(ctx, userID, from, to)
	c.windows.Add(1)
	c.windowRows.Add(int64(len(steps)))
	return steps, facts, err
}

func (c *countingStore) PlanVersion(ctx context.Context, userID int64) (int64, error) {
	c.attempts.Add(1)
	return c.Store.PlanVersion(ctx, userID)
}

func (c *countingStore) PlanMark(ctx context.Context, userID int64) (followup.PlanMark, error) {
	c.attempts.Add(1)
	return c.Store.PlanMark(ctx, userID)
}

func (c *countingStore) PlanningChanges(ctx context.Context, userID, feed int64) ([]followup.Step, map[int64]followup.Commitment, error) {
	c.changes.Add(1)
	return c.Store.PlanningChanges(ctx, userID, feed)
}

// ClaimAndInsert is a create's write when nothing else is written with it
// (no transaction of its own): the hook runs before it too.
func (c *countingStore) ClaimAndInsert(ctx context.Context, seen followup.PlanMark, cm *followup.Commitment, steps, moved []followup.Step) (bool, error) {
	if c.beforeTx != nil {
		c.hookOnce.Do(c.beforeTx)
	}
	return c.Store.ClaimAndInsert(ctx, seen, cm, steps, moved)
}

func (c *countingStore) InTx(ctx context.Context, fn func(q followup.Queries) error) error {
	if c.beforeTx != nil {
		c.hookOnce.Do(c.beforeTx)
	}
	return c.Store.InTx(ctx, func(q followup.Queries) error { return fn(&countingQueries{Queries: q, c: c}) })
}

// countingQueries counts inside a transaction.
type countingQueries struct {
	followup.Queries
	c *countingStore
}

func (q *countingQueries) PlanningSteps(ctx context.Context, userID int64, t time.Time) ([]followup.Step, error) {
	q.c.full.Add(1)
	return q.Queries.PlanningSteps(ctx, userID, t)
}

// TestCreateReadsOnlyItsWindow logs a commitment for a user whose open
// commitments have blocks over the next six weeks (agreed meetings and
// their confirms): the create reads the blocks up to its deadline, not the
// user's other blocks, and never all of them.
func TestCreateReadsOnlyItsWindow(t *testing.T) {
	ny := zone(t, "America/New_York")
	start := time.Date(2026, 9, 1, 9, 0, 0, 0, ny)
	h := newHarness(t, start)
	u := h.user("spread@example.com", "America/New_York")
	now := start
	for i := range 80 {
		now = now.Add(12 * time.Hour)
		h.clock.Set(now)
		meeting := now.AddDate(0, 0, 20+i%20).Truncate(time.Hour)
		h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint(i)}, Promise: "Meet", DueText: "in 2 days",
			Meeting: &followup.Meeting{Start: meeting, Minutes: 30}})
	}
	pending := 0
	cs, err := h.svc.List(h.ctx, u.ID, followup.CommitmentFilter{Status: followup.StatusOpen, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		for _, s := range h.get(u.ID, c.ID).Steps {
			if s.Status.Pending() && s.Kind.IsBlock() && s.End.After(now) {
				pending++
			}
		}
	}
	counting := &countingStore{Store: h.db}
	h.svc.Store = counting
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "tomorrow"})
	if n := counting.full.Load(); n != 0 {
		t.Errorf("the create read all pending steps %d times", n)
	}
	if n := counting.windowRows.Load(); n*4 > int64(pending) {
		t.Errorf("the create read %d blocks of the user's %d pending ones, want at most a quarter", n, pending)
	}
	for _, s := range c.Steps {
		if s.Unplaced {
			t.Errorf("%s unplaced", s.Kind)
		}
	}
	req, pls, _ := planState(t, h, u.ID, ny, now)
	for _, v := range plancheck.Check(req, pls) {
		t.Error(v)
	}
}

// TestCreatePlansAgainWhenBlocksChange lets another process (a second
// service on the same database) log a starred commitment for the same user
// between a create's reads and its transaction: the plan version moved, so
// the create plans again instead of storing blocks over the other's, and
// the starred refresher keeps the follow-up hour.
func TestCreatePlansAgainWhenBlocksChange(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, ny) // Tuesday, before the follow-up hour
	h := newHarness(t, now)
	u := h.user("race@example.com", "America/New_York")
	_, other := h.instance()
	counting := &countingStore{Store: h.db, beforeTx: func() {
		if _, err := other.Create(h.ctx, u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Starred"},
			Promise: "Send the deck", DueText: "tomorrow", Priority: true}); err != nil {
			t.Errorf("the other process's create: %v", err)
		}
	}}
	h.svc.Store = counting
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Plain"}, Promise: "Send the deck", DueText: "tomorrow"})
	if n := counting.attempts.Load(); n != 2 {
		t.Errorf("the create planned %d times, want 2: once more after the other's write", n)
	}
	req, pls, names := planState(t, h, u.ID, ny, now)
	if len(pls) != 4 {
		t.Fatalf("%d blocks, want 4", len(pls))
	}
	for _, v := range plancheck.Check(req, pls) {
		t.Error(v)
	}
	for k, p := range pls {
		if names[k] == "Starred" && req.Tasks[k].Kind == followup.KindRefresher && !p.Start.Equal(time.Date(2026, 11, 24, 9, 0, 0, 0, ny)) {
			t.Errorf("the starred refresher is at %v, want the follow-up hour at 09:00", p.Start.In(ny))
		}
	}
}

// TestFullCalendarLeavesReplanToJob logs commitments for a user whose one
// working hour a day is taken for weeks ahead by blocks of many
// priorities: a new commitment's steps outrank every deliver there, and
// putting them in their place would move more blocks than a create may
// (scheduler's maxReleases). The create moves that many, stores its steps
// and leaves the rest to the background re-plan (replan_user), which a
// second create does not queue again. After the job every rule holds, and
// a second job finds nothing wanted and changes nothing. In a full
// calendar whose blocks all have the priority of the new ones, a create
// places its steps late after them and wants no re-plan.
func TestFullCalendarLeavesReplanToJob(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, ny)
	h := newHarness(t, now)
	u := h.user("full@example.com", "America/New_York")
	st := followup.DefaultSettings("America/New_York")
	st.WorkHours.End = followup.Clock{Hour: 10}
	if _, err := h.svc.PutSettings(h.ctx, u.ID, st); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint(i)}, Promise: "Send the deck", DueText: "tomorrow"})
	}
	queued := pendingJobs(t, h)
	same := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Same"}, Promise: "Send the deck", DueText: "tomorrow"})
	if n := pendingJobs(t, h) - queued; n != 0 {
		t.Errorf("a create among blocks of its own priority queued %d jobs, want none", n)
	}
	for _, s := range same.Steps {
		if s.Kind.IsBlock() && (!s.Late || s.Unplaced) {
			t.Errorf("%s at %v (late %v, unplaced %v), want late after the full days", s.Kind, s.Start.In(ny), s.Late, s.Unplaced)
		}
	}
	for i := range 40 {
		h.clock.Set(now.Add(time.Duration(i+1) * time.Minute))
		h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint("later ", i)}, Promise: "Send the deck", DueText: "in 5 days"})
	}
	runReplan(t, h, u.ID)
	h.clock.Set(now.Add(time.Hour))
	queued = pendingJobs(t, h)
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "tomorrow"})
	if n := pendingJobs(t, h) - queued; n != 1 {
		t.Errorf("the create in a full calendar queued %d jobs, want the re-plan", n)
	}
	// A second create before the job ran queues no second one: the wish
	// is recorded, and the job queued re-plans after both.
	second := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Joe"}, Promise: "Send the deck", DueText: "tomorrow"})
	if n := pendingJobs(t, h) - queued; n != 1 {
		t.Errorf("two creates in a full calendar queued %d jobs, want one re-plan", n)
	}
	if !runReplan(t, h, u.ID) {
		t.Fatal("no re-plan was wanted")
	}
	for _, s := range append(h.get(u.ID, c.ID).Steps, h.get(u.ID, second.ID).Steps...) {
		if s.Unplaced {
			t.Errorf("%s still unplaced after the re-plan", s.Kind)
		}
	}
	req, pls, _ := planState(t, h, u.ID, ny, now.Add(time.Hour))
	for _, v := range plancheck.Check(req, pls) {
		t.Error(v)
	}
	before := sequences(t, h, u.ID)
	if err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobReplanUser, UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, sequences(t, h, u.ID)); diff != "" {
		t.Errorf("a re-plan nobody wanted changed blocks (-before +after):\n%s", diff)
	}
}

// pendingJobs counts the jobs in the queue not yet done.
func pendingJobs(t *testing.T, h *harness) int {
	t.Helper()
	n, err := h.db.PendingJobs(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// runReplan runs the re-plan job if one is wanted, as the queue would, and
// reports whether one was.
func runReplan(t *testing.T, h *harness, userID int64) bool {
	t.Helper()
	wanted, err := h.db.TakeReplan(h.ctx, userID)
	if err != nil || !wanted {
		return false
	}
	if _, err := h.db.WantReplan(h.ctx, userID); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobReplanUser, UserID: userID}); err != nil {
		t.Fatal(err)
	}
	return true
}

// TestConcurrentCreatesKeepTheRules logs commitments for one user from
// several goroutines and from a second process on the same database at
// once: each plans outside the store's writer, and the plan version makes
// a create whose reads went stale plan again (its kept calendar caught up
// or read again), so no two blocks overlap and every rule holds, and each
// process's kept calendar ends as the store has it.
func TestConcurrentCreatesKeepTheRules(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, ny)
	h := newHarness(t, now)
	u := h.user("busy@example.com", "America/New_York")
	_, other := h.instance()
	var wg sync.WaitGroup
	for g := range 6 {
		svc := h.svc
		if g%2 == 1 {
			svc = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				in := followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprintf("%d-%d", g, i)}, Promise: "Send the deck",
					DueText: "tomorrow", Priority: i%3 == 0}
				if _, err := svc.Create(h.ctx, u.ID, in); err != nil {
					t.Errorf("create %d-%d: %v", g, i, err)
				}
			}
		}()
	}
	wg.Wait()
	req, pls, _ := planState(t, h, u.ID, ny, now)
	if len(pls) != 60 {
		t.Errorf("%d blocks, want 60", len(pls))
	}
	for _, v := range plancheck.Check(req, pls) {
		t.Error(v)
	}
	// The calendar each instance kept, if at the stored version, is the
	// store's; one more create on each catches it up or reads it again.
	checkKept(t, h, h.svc, u.ID)
	checkKept(t, h, other, u.ID)
	for i, svc := range []*service.Service{h.svc, other} {
		if _, err := svc.Create(h.ctx, u.ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint("last ", i)},
			Promise: "Send the deck", DueText: "tomorrow"}); err != nil {
			t.Fatal(err)
		}
		checkKept(t, h, svc, u.ID)
	}
}

// TestCreateKeepsItsWindowInMemory: a create keeps the window it read, so
// the user's next create in this process reads none of its rows again
// while the plan version holds; after a create by another process it reads
// only the steps that create changed (PlanningChanges); a let-go here
// moves the version otherwise and the next create reads the window again.
// The kept rows are those of the store and the plan keeps the rules
// throughout.
func TestCreateKeepsItsWindowInMemory(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, ny) // Tuesday
	h := newHarness(t, now)
	u := h.user("kept@example.com", "America/New_York")
	var last followup.Commitment
	for i := range 30 {
		last = h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint(i)}, Promise: "Send the deck", DueText: "in 3 days"})
	}
	_, other := h.instance()
	counting := &countingStore{Store: h.db}
	h.svc.Store = counting
	create := func(name string, wantRead, wantChanges bool) {
		t.Helper()
		before, changes := counting.windowRows.Load(), counting.changes.Load()
		h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: name}, Promise: "Send the deck", DueText: "in 2 days"})
		switch read := counting.windowRows.Load() - before; {
		case wantRead && read == 0:
			t.Errorf("%s: the create read no rows after the plan version moved", name)
		case !wantRead && read != 0:
			t.Errorf("%s: the create read %d rows again", name, read)
		}
		if got := counting.changes.Load() > changes; got != wantChanges {
			t.Errorf("%s: the create read the changes: %v, want %v", name, got, wantChanges)
		}
		checkSnapshot(t, h, u.ID)
	}
	create("kept", false, false)
	create("kept again", false, false)
	if _, err := other.Create(h.ctx, u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Other"},
		Promise: "Send the deck", DueText: "tomorrow", Priority: true}); err != nil {
		t.Fatal(err)
	}
	create("after the other process", false, true)
	create("kept after catching up", false, false)
	h.act(u.ID, last.ID, followup.ActionLetGo)
	create("after a let-go", true, false)
	req, pls, _ := planState(t, h, u.ID, ny, now)
	for _, v := range plancheck.Check(req, pls) {
		t.Error(v)
	}
}

// TestReplanWaitsForQuiet puts the background re-plan off while the user
// is logging commitments here (ReplanQuiet), and runs it once they stop.
func TestReplanWaitsForQuiet(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, ny)
	h := newHarness(t, now)
	h.svc.ReplanQuiet = 10 * time.Second
	u := h.user("quiet@example.com", "America/New_York")
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Ada"}, Promise: "Send the deck", DueText: "tomorrow"})
	if _, err := h.db.WantReplan(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(now.Add(4 * time.Second))
	err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobReplanUser, UserID: u.ID})
	if after, ok := followup.RetryAfter(err); !ok || after != 6*time.Second {
		t.Fatalf("re-plan 4 s after a create: %v, want it put off by 6 s", err)
	}
	h.clock.Set(now.Add(10 * time.Second))
	if err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobReplanUser, UserID: u.ID}); err != nil {
		t.Fatalf("re-plan 10 s after the last create: %v", err)
	}
	if wanted, err := h.db.TakeReplan(h.ctx, u.ID); err != nil || wanted {
		t.Errorf("the re-plan left the wish (%v, %v), want it taken", wanted, err)
	}
}

// TestActInLargeCalendarStaysLocal acts on commitments of a user whose
// calendar holds more than 160 blocks: a contact, a let-go and a delete
// each change the blocks of their commitment only (the nudge is placed in
// the calendar kept in memory, freed time goes to late blocks), not every
// block of the user, and the next create finds the calendar kept. What the
// requests leave out of order (a bound on the blocks one moves) the
// background re-plan orders: after it every rule holds.
func TestActInLargeCalendarStaysLocal(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, ny) // Tuesday
	h := newHarness(t, now)
	u := h.user("large@example.com", "America/New_York")
	var cs []followup.Commitment
	for i := range 170 {
		h.clock.Set(now.Add(time.Duration(i) * time.Minute))
		cs = append(cs, h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint(i)},
			Promise: "Send the deck", DueText: []string{"in 3 days", "tomorrow", "next week"}[i%3], Priority: i%7 == 0}))
	}
	now = now.Add(3 * time.Hour)
	h.clock.Set(now)
	counting := &countingStore{Store: h.db}
	h.svc.Store = counting
	local := func(what string) {
		t.Helper()
		if n := counting.full.Swap(0); n != 0 {
			t.Errorf("%s planned every block again (%d reads)", what, n)
		}
		checkSnapshot(t, h, u.ID)
		// Before the re-plan the layout holds: no overlap, working
		// hours, Late flags.
		req, pls, _ := planState(t, h, u.ID, ny, now)
		for _, v := range plancheck.Check(req, pls) {
			if strings.Contains(v, "overlaps") || strings.Contains(v, "outside working hours") || strings.Contains(v, "but Late is") {
				t.Errorf("after %s: %s", what, v)
			}
		}
	}
	ordered := func(what string) {
		t.Helper()
		runReplan(t, h, u.ID)
		counting.full.Store(0)
		req, pls, _ := planState(t, h, u.ID, ny, now)
		for _, v := range plancheck.Check(req, pls) {
			t.Errorf("after %s and the background re-plan: %s", what, v)
		}

	}
	ordered("the creates")
	c := h.act(u.ID, cs[40].ID, followup.ActionContacted)
	local("contacted")
	nudge := step(t, c, followup.KindNudge)
	if nudge.Unplaced || nudge.End.Sub(nudge.Start) != 15*time.Minute || !nudge.Start.After(c.ContactedAt.AddDate(0, 0, 6)) {
		t.Errorf("nudge at %v–%v (unplaced %v), want a placed 15-minute block a week after the contact", nudge.Start.In(ny), nudge.End.In(ny), nudge.Unplaced)
	}
	ordered("contacted")
	h.act(u.ID, cs[41].ID, followup.ActionContacted) // reads the calendar the re-plan changed
	rows := counting.windowRows.Load()
	h.act(u.ID, cs[1].ID, followup.ActionLetGo)
	local("a let-go")
	if err := h.svc.Delete(h.ctx, u.ID, cs[4].ID); err != nil {
		t.Fatal(err)
	}
	local("a delete")
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "After"}, Promise: "Send the deck", DueText: "tomorrow"})
	local("the create after them")
	if read := counting.windowRows.Load() - rows; read != 0 {
		t.Errorf("the let-go, the delete and the create read %d rows, want the calendar kept", read)
	}
	ordered("a let-go, a delete and a create")
}

// TestReplanPlansOutsideTheWriter runs the background re-plan of a user
// without habits: it plans outside the store's writer, and when a create
// of another process commits between its reads and its write, it plans
// again inside the writer, so that the create's blocks are not lost and
// every rule holds.
func TestReplanPlansOutsideTheWriter(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, ny)
	h := newHarness(t, now)
	u := h.user("outside@example.com", "America/New_York")
	for i := range 12 {
		h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint(i)}, Promise: "Send the deck", DueText: "tomorrow"})
	}
	_, other := h.instance()
	counting := &countingStore{Store: h.db, beforeTx: func() {
		if _, err := other.Create(h.ctx, u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Meanwhile"},
			Promise: "Send the deck", DueText: "tomorrow", Priority: true}); err != nil {
			t.Errorf("the other process's create: %v", err)
		}
	}}
	h.svc.Store = counting
	if _, err := h.db.WantReplan(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobReplanUser, UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	if n := counting.full.Load(); n != 2 {
		t.Errorf("the re-plan read every block %d times, want 2: outside the writer, then inside after the other's create", n)
	}
	if wanted, err := h.db.TakeReplan(h.ctx, u.ID); err != nil || wanted {
		t.Errorf("the re-plan left its wish (%v, %v)", wanted, err)
	}
	req, pls, names := planState(t, h, u.ID, ny, now)
	for _, v := range plancheck.Check(req, pls) {
		t.Error(v)
	}
	if !slices.Contains(names, "Meanwhile") {
		t.Error("the other process's commitment has no blocks")
	}
}

// TestKeptCalendarFollowsCalDAVAndTheWish: a create that finds the user's
// calendar kept in memory takes from it the CalDAV calendar blocks go to
// and whether the background re-plan is wanted already, instead of reading
// them in the writer. Connecting CalDAV, and the re-plan job taking the
// wish, make the kept calendar read again: blocks logged after a connect
// are written to the calendar, and a create after the wish was taken
// queues the re-plan again.
func TestKeptCalendarFollowsCalDAVAndTheWish(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, ny)
	h := newHarness(t, now)
	h.svc.Calendars = newFakeCalDAV()
	u := h.user("kept@example.com", "America/New_York")
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Before"}, Promise: "Send the deck", DueText: "tomorrow"})
	if n := caldavJobs(t, h); n != 0 {
		t.Fatalf("%d calendar writes queued with no calendar connected", n)
	}
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "After"}, Promise: "Send the deck", DueText: "tomorrow"})
	for _, s := range c.Steps {
		if s.Kind.IsBlock() && jobsLike(t, h, followup.JobCalDAVStep, s.UID) != 1 {
			t.Errorf("the %s block of a create after connecting CalDAV has no calendar write queued", s.Kind)
		}
	}

	// A full calendar: each create leaves the re-plan to the job.
	st := followup.DefaultSettings("America/New_York")
	st.WorkHours.End = followup.Clock{Hour: 10}
	if _, err := h.svc.PutSettings(h.ctx, u.ID, st); err != nil {
		t.Fatal(err)
	}
	for i := range 170 {
		h.clock.Set(now.Add(time.Duration(i) * time.Minute))
		h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint(i)}, Promise: "Send the deck",
			DueText: []string{"in 3 days", "tomorrow", "next week"}[i%3], Priority: i%5 == 0})
	}
	runReplan(t, h, u.ID)
	wish := func(what string, want bool) {
		t.Helper()
		queued := jobsLike(t, h, followup.JobReplanUser, "")
		h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: what}, Promise: "Send the deck", DueText: "tomorrow", Priority: true})
		if wanted, err := h.db.WantReplan(h.ctx, u.ID); err != nil || wanted {
			t.Errorf("%s: no re-plan wish recorded (%v)", what, err)
		}
		if got := jobsLike(t, h, followup.JobReplanUser, "") - queued; (got > 0) != want {
			t.Errorf("%s queued %d re-plans, want one queued: %v", what, got, want)
		}
	}
	wish("the first create after the re-plan", true)
	wish("a second create", false)
	// The job takes the wish and finds nothing to move.
	if wanted, err := h.db.TakeReplan(h.ctx, u.ID); err != nil || !wanted {
		t.Fatalf("TakeReplan = %v, %v; want the wish", wanted, err)
	}
	wish("a create after the wish was taken", true)
}

// jobsLike counts the queued jobs of a kind whose arguments hold text.
func jobsLike(t *testing.T, h *harness, kind, text string) int {
	t.Helper()
	var n int
	err := h.db.SQL().QueryRowContext(h.ctx, h.db.Rebind(`SELECT count(*) FROM river_job WHERE kind = ? AND CAST(args AS TEXT) LIKE ?`),
		kind, "%"+text+"%").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCreateTrustsItsKeptCalendar: a create after a create here uses the
// calendar kept in memory without reading the plan version first (the
// transaction's compare and swap checks it). When another process wrote
// the user's blocks meanwhile, the create finds out in its transaction,
// plans again with what the other stored, and the user's creates read the
// version first for a minute; then they trust the kept calendar again.
// The tick's let-go and the background re-plan forget the kept calendar,
// so the create after them reads it instead of finding it stale.
func TestCreateTrustsItsKeptCalendar(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 3, 6, 8, 0, 0, 0, ny) // Friday before the DST change
	h := newHarness(t, now)
	u := h.user("trust@example.com", "America/New_York")
	_, other := h.instance()
	counting := &countingStore{Store: h.db}
	h.svc.Store = counting
	create := func(name string, at time.Time) {
		t.Helper()
		h.clock.Set(at)
		h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: name}, Promise: "Send the deck", DueText: "by Monday"})
	}
	reads := func(what string, want int64) {
		t.Helper()
		if n := counting.attempts.Swap(0); n != want {
			t.Errorf("%s read the plan version %d times, want %d", what, n, want)
		}
	}
	create("first", now)
	reads("the first create (no calendar kept)", 1)
	create("second", now.Add(time.Minute))
	reads("a create after a create here", 0)
	checkSnapshot(t, h, u.ID)

	if _, err := other.Create(h.ctx, u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "elsewhere"},
		Promise: "Send the deck", DueText: "by Monday", Priority: true}); err != nil {
		t.Fatal(err)
	}
	create("after the other's", now.Add(2*time.Minute))
	reads("the create after another process's", 1)
	checkSnapshot(t, h, u.ID)
	create("a minute later", now.Add(2*time.Minute+30*time.Second))
	reads("a create within a minute of finding the calendar stale", 1)
	create("later still", now.Add(4*time.Minute))
	reads("a create minutes after", 0)
	// The tick's let-go of a commitment met 10 days before, and the
	// background re-plan here, forget the kept calendar: the next create
	// reads it (and the version) instead of finding it stale.
	met := now.Add(4*time.Minute).AddDate(0, 0, -10).Add(30 * time.Second)
	old := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "long ago"}, Promise: "Send the deck", MetAt: &met})
	counting.attempts.Store(0)
	h.clock.Set(now.Add(4*time.Minute + time.Hour))
	h.tick()
	if got := h.get(u.ID, old.ID); got.Status != followup.StatusLetGo {
		t.Fatalf("the tick left the commitment met 10 days ago %s", got.Status)
	}
	create("after the tick", now.Add(4*time.Minute+time.Hour))
	reads("the create after the tick's let-go", 1)
	create("after it", now.Add(4*time.Minute+time.Hour+time.Second))
	reads("the create after that", 0)
	if _, err := h.db.WantReplan(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(now.Add(2 * time.Hour))
	if err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobReplanUser, UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	counting.attempts.Store(0)
	create("after the re-plan", now.Add(2*time.Hour))
	reads("the create after a re-plan here", 1)
	create("after that", now.Add(2*time.Hour+time.Second))
	reads("the create after it", 0)

	req, pls, names := planState(t, h, u.ID, ny, now.Add(2*time.Hour))
	for _, v := range plancheck.Check(req, pls) {
		t.Error(v)
	}
	for _, name := range []string{"first", "second", "elsewhere", "after the other's", "a minute later", "later still", "after the tick", "after it", "after the re-plan", "after that"} {
		if !slices.Contains(names, name) {
			t.Errorf("%s has no blocks", name)
		}
	}
}

// TestCreatesCatchUpAcrossInstances: two instances on one database (two
// processes behind a balancer) take turns at random at one user's
// creates, across the US change to summer time. Each keeps the user's
// calendar: after the other's creates it reads only the steps they changed
// (PlanningChanges) and then holds what the store holds; it reads the
// whole calendar again only after a write that is not a create (the
// background re-plan a create asks for, run on either instance), and a
// commitment stored let go at once changes no block. Every stored plan
// keeps the rules. After an action on the other instance, the next create
// reads the calendar in whole.
func TestCreatesCatchUpAcrossInstances(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 3, 7, 20, 0, 0, 0, ny) // Saturday evening before the change
	h := newHarness(t, now)
	u := h.user("two@example.com", "America/New_York")
	_, other := h.instance()
	counts := []*countingStore{{Store: h.svc.Store}, {Store: other.Store}}
	h.svc.Store, other.Store = counts[0], counts[1]
	svcs := []*service.Service{h.svc, other}
	r := rand.New(rand.NewPCG(13, 5))
	// stale[k]: instance k has no calendar kept, or a write other than a
	// create (a re-plan) came since it kept one. A commitment stored let go
	// at once changes no block.
	stale := []bool{true, true}
	caughtUp := 0
	for i := range 60 {
		now = now.Add(time.Duration(r.IntN(25)) * time.Minute)
		h.clock.Set(now)
		k := r.IntN(2)
		in := randomCommitment(r, i, now)
		windows, changes := counts[k].windows.Load(), counts[k].changes.Load()
		c, err := svcs[k].Create(h.ctx, u.ID, in)
		if err != nil {
			t.Fatalf("create %d on instance %d: %v", i, k, err)
		}
		windows, changes = counts[k].windows.Load()-windows, counts[k].changes.Load()-changes
		if c.Status == followup.StatusOpen {
			if want := int64(0); stale[k] {
				want = 1
				if windows != want {
					t.Errorf("create %d on instance %d read the calendar in whole %d times, want %d", i, k, windows, want)
				}
			} else if windows != 0 {
				t.Errorf("create %d on instance %d read the calendar in whole after creates only", i, k)
			} else if changes > 0 {
				caughtUp++
			}
			stale[k] = false
		}
		checkKept(t, h, svcs[k], u.ID)
		// The background re-plan the create asked for, on the instance
		// that takes the job: no create, and that instance forgets its
		// calendar.
		if wanted, err := h.db.TakeReplan(h.ctx, u.ID); err != nil {
			t.Fatal(err)
		} else if wanted {
			stale = []bool{true, true}
			if _, err := h.db.WantReplan(h.ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			if err := svcs[r.IntN(2)].HandleJob(h.ctx, followup.Job{Kind: followup.JobReplanUser, UserID: u.ID}); err != nil {
				t.Fatal(err)
			}
		}
		req, pls, names := planState(t, h, u.ID, ny, now)
		for _, v := range plancheck.Check(req, pls) {
			t.Errorf("create %d on instance %d at %v: %s", i, k, now, v)
		}
		if c.Status == followup.StatusOpen && !slices.Contains(names, in.Contact.Name) {
			t.Errorf("create %d: %s has no blocks", i, in.Contact.Name)
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("60 creates: %d caught up with the other instance's creates; %d whole reads", caughtUp,
		counts[0].windows.Load()+counts[1].windows.Load())
	if caughtUp < 5 {
		t.Errorf("%d creates caught up with the other instance's, want at least 5", caughtUp)
	}

	// An action elsewhere is no create: the calendar is read in whole.
	cs, err := other.List(h.ctx, u.ID, followup.CommitmentFilter{Status: followup.StatusOpen, Limit: 1})
	if err != nil || len(cs) == 0 {
		t.Fatalf("List = %d commitments, %v", len(cs), err)
	}
	if _, err := other.Act(h.ctx, u.ID, cs[0].ID, followup.ActionDelivered); err != nil {
		t.Fatal(err)
	}
	before := counts[0].windows.Load()
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "after the action"}, Promise: "Send the deck", DueText: "by Tuesday"})
	if n := counts[0].windows.Load() - before; n != 1 {
		t.Errorf("the create after another instance's action read the calendar in whole %d times, want 1", n)
	}
	checkKept(t, h, h.svc, u.ID)
}

// TestTrustedCalendarEndedCreateReadsSettings: a commitment too late
// already is stored let go without claiming the plan version, so a create
// that trusted its kept calendar reads the settings it resolves it with:
// after another process gave the user 20 days before a let-go, a
// commitment met 15 days ago is planned, not let go under the kept 10.
func TestTrustedCalendarEndedCreateReadsSettings(t *testing.T) {
	ny := zone(t, "America/New_York")
	now := time.Date(2026, 3, 9, 10, 0, 0, 0, ny) // the Monday after the DST change
	h := newHarness(t, now)
	u := h.user("ended@example.com", "America/New_York")
	_, other := h.instance()
	for i := range 2 {
		h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: fmt.Sprint(i)}, Promise: "Send the deck", DueText: "tomorrow"})
	}
	st := followup.DefaultSettings("America/New_York")
	st.LetGoAfterDays = 20
	if _, err := other.PutSettings(h.ctx, u.ID, st); err != nil {
		t.Fatal(err)
	}
	met := now.AddDate(0, 0, -15)
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Long ago"}, Promise: "Send the deck", MetAt: &met})
	if c.Status != followup.StatusOpen {
		t.Errorf("a commitment met 15 days ago with 20 days before a let-go is %s, want open", c.Status)
	}
}

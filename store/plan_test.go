package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// TestPlanVersion checks the compare and swap a create commits with, and
// that every write that changes what planning reads raises the version:
// the feed touch that follows a change of blocks, a step's update, the
// settings and the busy sources. Another user's version stays.
func TestPlanVersion(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b := mustUser(t, db, "a@example.com"), mustUser(t, db, "b@example.com")
	c := mustCommitment(t, db, a.ID, "Jane")
	step := mustStep(t, db, c, followup.KindRefresher, "uid-1", t0.Add(time.Hour))
	version := func(userID int64) int64 {
		t.Helper()
		v, err := db.PlanVersion(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	writes := []struct {
		name  string
		write func() error
	}{
		{"TouchFeed", func() error { return db.TouchFeed(ctx, a.ID, t0) }},
		{"UpdateStep", func() error { step.Start = step.Start.Add(time.Hour); return db.UpdateStep(ctx, &step) }},
		{"PutSettings", func() error { return db.PutSettings(ctx, a.ID, followup.DefaultSettings("America/New_York")) }},
		{"PutBusySource", func() error {
			return db.PutBusySource(ctx, followup.BusySource{UserID: a.ID, URL: "https://cal.example/busy", Kind: "ics", UpdatedAt: t0})
		}},
		{"DeleteBusySources", func() error { return db.DeleteBusySources(ctx, a.ID, nil) }},
	}
	for _, w := range writes {
		before, other := version(a.ID), version(b.ID)
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if got := version(a.ID); got <= before {
			t.Errorf("%s: plan version %d, want above %d", w.name, got, before)
		}
		if got := version(b.ID); got != other {
			t.Errorf("%s: the other user's plan version moved from %d to %d", w.name, other, got)
		}
	}
	seen := version(a.ID)
	if ok, err := db.ClaimPlan(ctx, a.ID, seen); err != nil || !ok {
		t.Fatalf("ClaimPlan(%d) = %v, %v; want it claimed", seen, ok, err)
	}
	if ok, err := db.ClaimPlan(ctx, a.ID, seen); err != nil || ok {
		t.Errorf("ClaimPlan(%d) again = %v, %v; want it refused: the version moved", seen, ok, err)
	}
	if _, err := db.PlanVersion(ctx, 999); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("PlanVersion of no user: %v, want ENOTFOUND", err)
	}
}

// TestClaimPlanAndFeed: a create's claim raises the plan and feed versions
// in one write; the steps the transaction then stores carry that feed
// version (a feed rendered before sees them) without raising it again; a
// stale claim changes nothing.
func TestClaimPlanAndFeed(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a := mustUser(t, db, "a@example.com")
	c := mustCommitment(t, db, a.ID, "Jane")
	versions := func() (feed, plan int64) {
		t.Helper()
		if err := db.SQL().QueryRowContext(ctx, db.Rebind(`SELECT feed_version, plan_version FROM user_versions WHERE user_id = ?`), a.ID).
			Scan(&feed, &plan); err != nil {
			t.Fatal(err)
		}
		return feed, plan
	}
	feed0, plan0 := versions()
	t0 := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	err := db.InTx(ctx, func(q followup.Queries) error {
		if ok, err := q.ClaimPlanAndFeed(ctx, a.ID, plan0); err != nil || !ok {
			t.Fatalf("ClaimPlanAndFeed(%d) = %v, %v; want it claimed", plan0, ok, err)
		}
		return q.InsertSteps(ctx, []followup.Step{{CommitmentID: c.ID, UserID: a.ID, Kind: followup.KindDeliver,
			Status: followup.StepPlanned, Start: t0.Add(time.Hour), End: t0.Add(75 * time.Minute), NotBefore: t0,
			Due: t0.Add(24 * time.Hour), UID: "claimed@followup", RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0}})
	})
	if err != nil {
		t.Fatal(err)
	}
	feed1, plan1 := versions()
	if feed1 != feed0+1 || plan1 <= plan0 {
		t.Errorf("after the claim and a step: feed version %d → %d (want +1), plan version %d → %d (want above)", feed0, feed1, plan0, plan1)
	}
	changed, err := db.StepsChangedSince(ctx, a.ID, feed0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0].UID != "claimed@followup" {
		t.Errorf("steps changed since feed version %d: %+v, want the stored step", feed0, changed)
	}
	if ok, err := db.ClaimPlanAndFeed(ctx, a.ID, plan0); err != nil || ok {
		t.Errorf("ClaimPlanAndFeed(%d) again = %v, %v; want it refused", plan0, ok, err)
	}
	if feed, plan := versions(); feed != feed1 || plan != plan1 {
		t.Errorf("a refused claim moved the versions to %d, %d from %d, %d", feed, plan, feed1, plan1)
	}
}

// TestPlanMarkAndChanges: a create's claim raises the plan and feed
// versions and leaves the plan base, every step it inserts or moves
// carries its feed version (a move that only marks a block late too), and
// PlanningChanges reads them back past the feed version before, with the
// new commitment's facts, an unplaced block among them, and nothing of
// another user's or of a finished step. In the transaction the mark is
// known, with the base given as the version. A claim naming another feed
// version than the user's is refused. Every other raise of the plan
// version (a move outside a create, a claim of a re-plan, the taking of
// the re-plan wish) sets the base to it.
func TestPlanMarkAndChanges(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b := mustUser(t, db, "a@example.com"), mustUser(t, db, "b@example.com")
	old := mustCommitment(t, db, a.ID, "Jane")
	kept := mustStep(t, db, old, followup.KindDeliver, "kept", t0.Add(2*time.Hour))
	lateOnly := mustStep(t, db, old, followup.KindRefresher, "late-only", t0.Add(3*time.Hour))
	done := mustStep(t, db, old, followup.KindNudge, "done", t0.Add(4*time.Hour))
	foreign := mustStep(t, db, mustCommitment(t, db, b.ID, "Joe"), followup.KindDeliver, "foreign", t0.Add(2*time.Hour))
	before, err := db.PlanMark(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if before.Base > before.Version {
		t.Fatalf("PlanMark = %+v: the base past the version", before)
	}
	if _, err := db.PlanMark(ctx, 999_999); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("PlanMark of no user: %v, want ENOTFOUND", err)
	}

	c := followup.Commitment{UserID: a.ID, Contact: followup.Contact{Name: "New"}, MetAt: t0, Promise: "p",
		Direction: followup.Mine, Due: t0.Add(48 * time.Hour), Priority: true, Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
	fresh := []followup.Step{
		{UserID: a.ID, Kind: followup.KindDeliver, Status: followup.StepPlanned, Start: t0.Add(time.Hour), End: t0.Add(90 * time.Minute),
			NotBefore: t0, Due: t0.Add(24 * time.Hour), UID: "fresh@followup", RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0},
		{UserID: a.ID, Kind: followup.KindChase, Status: followup.StepPlanned, Start: t0.Add(5 * time.Hour), End: t0.Add(5*time.Hour + 15*time.Minute),
			NotBefore: t0, Due: t0.Add(24 * time.Hour), UID: "fresh-unplaced@followup", RemoteSequence: -1, Unplaced: true, CreatedAt: t0, UpdatedAt: t0},
	}
	lateOnly.Late = true // same start, end, sequence and time of change: the same look in the feed
	// A claim that names a feed version other than the user's is refused,
	// as one of a plan version other than theirs.
	errRefused := errors.New("refused")
	for _, wrong := range []followup.PlanMark{{Version: before.Version, Feed: before.Feed + 1}, {Version: before.Version + 1, Feed: before.Feed}} {
		err := db.InTx(followup.ForUser(ctx, a.ID), func(q followup.Queries) error {
			c := c
			if ok, err := q.ClaimAndInsert(ctx, wrong, &c, slices.Clone(fresh), []followup.Step{lateOnly}); err != nil || ok {
				t.Errorf("ClaimAndInsert(%+v) with the user at %+v = %v, %v; want it refused", wrong, before, ok, err)
			}
			return errRefused
		})
		if !errors.Is(err, errRefused) {
			t.Fatal(err)
		}
	}
	if m, err := db.PlanMark(ctx, a.ID); err != nil || m != before {
		t.Fatalf("PlanMark after refused claims = %+v (%v), want %+v", m, err, before)
	}
	var inTx followup.PlanMark
	err = db.InTx(followup.ForUser(ctx, a.ID), func(q followup.Queries) error {
		if ok, err := q.ClaimAndInsert(ctx, before, &c, fresh, []followup.Step{lateOnly}); err != nil || !ok {
			t.Fatalf("ClaimAndInsert = %v, %v", ok, err)
		}
		var err error
		inTx, err = q.PlanMark(ctx, a.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	after, err := db.PlanMark(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version+1 || after.Feed != before.Feed+1 || after.Base != before.Base {
		t.Errorf("PlanMark after a create = %+v, before %+v; want the versions up one and the base as it was", after, before)
	}
	if inTx.Version != after.Version || inTx.Feed != after.Feed || inTx.Base != after.Version {
		t.Errorf("PlanMark in the create's transaction = %+v, want %d, %d and the version as the base", inTx, after.Version, after.Feed)
	}

	steps, facts, err := db.PlanningChanges(ctx, a.ID, before.Feed)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]followup.Step{}
	for _, s := range steps {
		got[s.UID] = s
	}
	for _, uid := range []string{"fresh@followup", "fresh-unplaced@followup", "late-only"} {
		if _, ok := got[uid]; !ok {
			t.Errorf("PlanningChanges past %d lacks %s (got %d steps)", before.Feed, uid, len(steps))
		}
	}
	for _, uid := range []string{kept.UID, done.UID, foreign.UID} {
		if _, ok := got[uid]; ok {
			t.Errorf("PlanningChanges past %d holds %s", before.Feed, uid)
		}
	}
	if s := got["fresh-unplaced@followup"]; !s.Unplaced {
		t.Errorf("the unplaced step reads back placed: %+v", s)
	}
	if s := got["late-only"]; !s.Late || !s.Start.Equal(lateOnly.Start) {
		t.Errorf("the block marked late reads back as %+v", s)
	}
	if f, ok := facts[c.ID]; !ok || !f.Priority || !f.MetAt.Equal(t0) {
		t.Errorf("the new commitment's facts: %+v, %v", f, ok)
	}
	if steps, _, err := db.PlanningChanges(ctx, a.ID, after.Feed); err != nil || len(steps) != 0 {
		t.Errorf("PlanningChanges past the current feed version = %d steps, %v; want none", len(steps), err)
	}

	// Writes other than a create's claim set the base to the version.
	moved := kept
	moved.Start, moved.End, moved.UpdatedAt = kept.Start.Add(time.Hour), kept.End.Add(time.Hour), t0.Add(time.Minute)
	for _, w := range []struct {
		name  string
		write func(m followup.PlanMark) error
	}{
		{"a move", func(followup.PlanMark) error { return db.MoveStep(ctx, &moved) }},
		{"a re-plan's claim", func(m followup.PlanMark) error {
			if ok, err := db.ClaimPlan(ctx, a.ID, m.Version); err != nil || !ok {
				return fmt.Errorf("ClaimPlan = %v, %v", ok, err)
			}
			return nil
		}},
		{"the taking of the re-plan wish", func(followup.PlanMark) error {
			if _, err := db.WantReplan(ctx, a.ID); err != nil {
				return err
			}
			_, err := db.TakeReplan(ctx, a.ID)
			return err
		}},
	} {
		m, err := db.PlanMark(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.write(m); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if got, err := db.PlanMark(ctx, a.ID); err != nil || got.Version <= m.Version || got.Base != got.Version {
			t.Errorf("PlanMark after %s = %+v (%v), before %+v; want the base at the raised version", w.name, got, err, m)
		}
	}
}

// TestClaimAndInsertAlone: outside a transaction ClaimAndInsert is one of
// the user's own (on PostgreSQL one statement that takes the user's lock
// first): claimed, it stores the commitment, its steps and the moves and
// raises both versions once; refused, it stores nothing. It waits for a
// transaction of the user's that holds their lock (before that one wrote
// anything), and is refused when that transaction raised the version.
func TestClaimAndInsertAlone(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a := mustUser(t, db, "a@example.com")
	old := mustCommitment(t, db, a.ID, "Old")
	block := mustStep(t, db, old, followup.KindDeliver, "old@followup", t0.Add(2*time.Hour))
	newCommitment := func(name string) (followup.Commitment, []followup.Step) {
		c := followup.Commitment{UserID: a.ID, Contact: followup.Contact{Name: name}, MetAt: t0, Promise: "p",
			Direction: followup.Mine, Due: t0.Add(48 * time.Hour), Status: followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0}
		return c, []followup.Step{{UserID: a.ID, Kind: followup.KindDeliver, Status: followup.StepPlanned,
			Start: t0.Add(2 * time.Hour), End: t0.Add(150 * time.Minute), NotBefore: t0, Due: t0.Add(24 * time.Hour),
			UID: name + "@followup", RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0}}
	}
	count := func() int {
		t.Helper()
		all, err := db.Commitments(ctx, a.ID, followup.CommitmentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(all)
	}
	mark, err := db.PlanMark(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	moved := block
	moved.Start, moved.End, moved.UpdatedAt = block.Start.Add(time.Hour), block.End.Add(time.Hour), t0.Add(time.Minute)
	c, steps := newCommitment("First")
	if ok, err := db.ClaimAndInsert(ctx, mark, &c, steps, []followup.Step{moved}); err != nil || !ok {
		t.Fatalf("ClaimAndInsert(%+v) = %v, %v; want it claimed", mark, ok, err)
	}
	if got, err := db.StepByUID(ctx, steps[0].UID); err != nil || got.ID != steps[0].ID || got.CommitmentID != c.ID {
		t.Errorf("the new step reads back as %+v (%v), want id %d of commitment %d", got, err, steps[0].ID, c.ID)
	}
	if got, err := db.StepByUID(ctx, block.UID); err != nil || !got.Start.Equal(moved.Start) {
		t.Errorf("the moved block starts at %v (%v), want %v", got.Start, err, moved.Start)
	}
	after, err := db.PlanMark(ctx, a.ID)
	if err != nil || after.Version != mark.Version+1 || after.Feed != mark.Feed+1 || after.Base != mark.Base {
		t.Errorf("PlanMark after = %+v (%v), before %+v; want both versions up one, the base kept", after, err, mark)
	}

	for _, stale := range []followup.PlanMark{mark, {Version: mark.Version}} {
		c, steps := newCommitment(fmt.Sprint("Stale", stale.Feed))
		if ok, err := db.ClaimAndInsert(ctx, stale, &c, steps, []followup.Step{block}); err != nil || ok {
			t.Errorf("ClaimAndInsert(%+v) with the user at %+v = %v, %v; want it refused", stale, after, ok, err)
		}
	}
	if n := count(); n != 2 {
		t.Errorf("%d commitments stored, want 2: the refused claims stored nothing", n)
	}
	if got, err := db.StepByUID(ctx, block.UID); err != nil || !got.Start.Equal(moved.Start) {
		t.Errorf("after the refused claims the block starts at %v (%v), want %v", got.Start, err, moved.Start)
	}

	// A transaction of the user's holds their lock and raises the version:
	// the claim waits for it, and is then refused.
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.InTx(followup.ForUser(ctx, a.ID), func(q followup.Queries) error {
			// The lock alone at first (a transaction still reading), the
			// version raised only after the claim was sent.
			close(held)
			<-release
			return q.TouchFeed(ctx, a.ID, t0)
		})
	}()
	<-held
	claimed := make(chan bool, 1)
	go func() {
		c, steps := newCommitment("Waiting")
		ok, err := db.ClaimAndInsert(ctx, after, &c, steps, nil)
		if err != nil {
			t.Error(err)
		}
		claimed <- ok
	}()
	select {
	case ok := <-claimed:
		t.Fatalf("ClaimAndInsert returned %v while a transaction of the user's held their lock", ok)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ok := <-claimed; ok {
		t.Error("ClaimAndInsert claimed a version another transaction raised while it waited")
	}
	if n := count(); n != 2 {
		t.Errorf("%d commitments stored, want 2", n)
	}
}

// TestPlanningWindow reads the pending steps that start in a window with
// their commitments' planning facts, and leaves out closes, let-gos,
// finished and unplaced steps and other users' steps.
func TestPlanningWindow(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b := mustUser(t, db, "a@example.com"), mustUser(t, db, "b@example.com")
	c := mustCommitment(t, db, a.ID, "Jane")
	other := mustCommitment(t, db, b.ID, "Joe")
	in := mustStep(t, db, c, followup.KindRefresher, "in", t0.Add(2*time.Hour))
	mustStep(t, db, c, followup.KindDeliver, "before", t0.Add(-time.Hour))
	mustStep(t, db, c, followup.KindDeliver, "after", t0.Add(10*time.Hour))
	mustStep(t, db, c, followup.KindClose, "close", t0.Add(3*time.Hour))
	mustStep(t, db, other, followup.KindRefresher, "foreign", t0.Add(2*time.Hour))
	unplaced := mustStep(t, db, c, followup.KindConfirm, "unplaced", t0.Add(4*time.Hour))
	unplaced.Unplaced, unplaced.Late = true, true
	if err := db.MoveStep(ctx, &unplaced); err != nil {
		t.Fatal(err)
	}
	done := mustStep(t, db, c, followup.KindChase, "done", t0.Add(5*time.Hour))
	done.Status = followup.StepDone
	if err := db.UpdateStep(ctx, &done); err != nil {
		t.Fatal(err)
	}
	steps, facts, err := db.PlanningWindow(ctx, a.ID, t0, t0.Add(8*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, s := range steps {
		uids = append(uids, s.UID)
	}
	if diff := cmp.Diff([]string{"in"}, uids); diff != "" {
		t.Fatalf("steps (-want +got):\n%s", diff)
	}
	if !steps[0].Start.Equal(in.Start) || steps[0].CommitmentID != c.ID || steps[0].Kind != followup.KindRefresher {
		t.Errorf("step = %+v", steps[0])
	}
	want := followup.Commitment{ID: c.ID, UserID: a.ID, Priority: true, MetAt: c.MetAt, Meeting: &followup.Meeting{Start: c.Meeting.Start, Minutes: 30}}
	if diff := cmp.Diff(map[int64]followup.Commitment{c.ID: want}, facts); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}
	// The full read still sees the unplaced step, which a re-plan places.
	all, err := db.PlanningSteps(ctx, a.ID, t0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range all {
		found = found || (s.UID == "unplaced" && s.Unplaced && s.Late)
	}
	if !found {
		t.Errorf("PlanningSteps lost the unplaced step: %+v", all)
	}
}

// TestReplanWanted is the wish a create leaves for the background re-plan:
// taken once. Taking it raises the plan version (a calendar kept at the
// version before knows the wish may be gone); finding none does not.
func TestReplanWanted(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a := mustUser(t, db, "a@example.com")
	version := func() int64 {
		t.Helper()
		v, err := db.PlanVersion(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := version()
	if ok, err := db.TakeReplan(ctx, a.ID); err != nil || ok {
		t.Fatalf("TakeReplan before any wish = %v, %v", ok, err)
	}
	for i := range 2 {
		if isNew, err := db.WantReplan(ctx, a.ID); err != nil || isNew != (i == 0) {
			t.Fatalf("WantReplan #%d = %v, %v; want new only the first time", i, isNew, err)
		}
	}
	if v := version(); v != v0 {
		t.Errorf("plan version %d after finding no wish and recording one, want %d", v, v0)
	}
	if ok, err := db.TakeReplan(ctx, a.ID); err != nil || !ok {
		t.Errorf("TakeReplan = %v, %v; want the wish", ok, err)
	}
	if v := version(); v <= v0 {
		t.Errorf("plan version %d after the wish was taken, want above %d", v, v0)
	}
	var left int64
	err := db.InTx(ctx, func(q followup.Queries) error {
		if _, err := q.WantReplan(ctx, a.ID); err != nil {
			return err
		}
		if ok, err := q.TakeReplan(ctx, a.ID); err != nil || !ok {
			t.Errorf("TakeReplan in a transaction = %v, %v; want the wish", ok, err)
		}
		var err error
		left, err = q.PlanVersion(ctx, a.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := version(); v != left {
		t.Errorf("PlanVersion in the transaction that took the wish %d, after it %d", left, v)
	}
	if _, err := db.WantReplan(ctx, a.ID+1000); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("WantReplan of no user: %v, want ENOTFOUND", err)
	}
	if ok, err := db.TakeReplan(ctx, a.ID); err != nil || ok {
		t.Errorf("TakeReplan again = %v, %v; want none left", ok, err)
	}
	if isNew, err := db.WantReplan(ctx, a.ID); err != nil || !isNew {
		t.Errorf("WantReplan after the wish was taken = %v, %v; want new", isNew, err)
	}
}

// TestCalDAVRaisesPlanVersion: connecting, changing and removing the CalDAV
// connection raise the user's plan version, as the calendar blocks are
// written to is read with the user's kept calendar.
func TestCalDAVRaisesPlanVersion(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a := mustUser(t, db, "a@example.com")
	t0 := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	conn := followup.CalDAVConnection{UserID: a.ID, URL: "https://dav.example.com/", Username: "ada", SealedPassword: "sealed",
		CalendarURL: "https://dav.example.com/cal/", CreatedAt: t0, UpdatedAt: t0}
	last, err := db.PlanVersion(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		what string
		do   func() error
	}{
		{"connect", func() error { return db.PutCalDAV(ctx, conn) }},
		{"another calendar", func() error { conn.CalendarURL = "https://dav.example.com/other/"; return db.PutCalDAV(ctx, conn) }},
		{"disconnect", func() error { return db.DeleteCalDAV(ctx, a.ID) }},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		v, err := db.PlanVersion(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v <= last {
			t.Errorf("%s: plan version %d, want above %d", step.what, v, last)
		}
		last = v
	}
}

// TestMoveSteps stores every placement field of many steps at once, as
// MoveStep does one by one, and refuses another user's step.
func TestMoveSteps(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b := mustUser(t, db, "a@example.com"), mustUser(t, db, "b@example.com")
	c := mustCommitment(t, db, a.ID, "Jane")
	var steps []followup.Step
	for i := range 5 {
		steps = append(steps, mustStep(t, db, c, followup.KindRefresher, fmt.Sprint("s", i), t0.Add(time.Duration(i)*time.Hour)))
	}
	for i := range steps {
		s := &steps[i]
		s.Start, s.End = s.Start.Add(24*time.Hour), s.End.Add(25*time.Hour)
		s.Late, s.Unplaced, s.Sequence = i%2 == 0, i == 3, s.Sequence+i+1
		s.UpdatedAt = t0.Add(time.Minute)
		if i == 1 {
			s.Status = followup.StepSynced
		}
	}
	if err := db.MoveSteps(ctx, steps); err != nil {
		t.Fatal(err)
	}
	got, err := db.PlanningSteps(ctx, a.ID, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(steps) {
		t.Fatalf("%d steps read, want %d", len(got), len(steps))
	}
	for i, s := range got {
		w := steps[i]
		if s.ID != w.ID || s.Status != w.Status || !s.Start.Equal(w.Start) || !s.End.Equal(w.End) ||
			s.Late != w.Late || s.Unplaced != w.Unplaced || s.Sequence != w.Sequence {
			t.Errorf("step %d read back as %+v, want %+v", i, s, w)
		}
	}
	foreign := steps[0]
	foreign.UserID = b.ID
	if err := db.MoveSteps(ctx, []followup.Step{foreign}); followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("MoveSteps of another user's step: %v, want ENOTFOUND", err)
	}
	// In a transaction that raised the feed version (a create's), the
	// moves are written without reading them back: the count tells.
	err = db.InTx(followup.ForUser(ctx, b.ID), func(q followup.Queries) error {
		if err := q.TouchFeed(ctx, b.ID, t0); err != nil {
			return err
		}
		return q.MoveSteps(ctx, []followup.Step{foreign})
	})
	if followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("MoveSteps of another user's step after TouchFeed: %v, want ENOTFOUND", err)
	}
}

// BenchmarkMoveSteps stores the moves of 200 steps of one user in one
// transaction after a new step, as a create that shifts them does: one
// MoveStep each (the
// reference, measured in the same run) and one MoveSteps. On PostgreSQL
// every statement is a round trip, which made a create at a few hundred
// open commitments cost tens of milliseconds there; the ratio
// steps/loop is the figure (below 1 is the gain).
func BenchmarkMoveSteps(b *testing.B) {
	ctx := context.Background()
	db := MustOpenDB(b)
	u := mustUser(b, db, "a@example.com")
	c := mustCommitment(b, db, u.ID, "Jane")
	var steps []followup.Step
	for i := range 200 {
		steps = append(steps, mustStep(b, db, c, followup.KindRefresher, fmt.Sprint("s", i), t0.Add(time.Duration(i)*time.Hour)))
	}
	shift := func() {
		for i := range steps {
			steps[i].Start, steps[i].End = steps[i].Start.Add(time.Minute), steps[i].End.Add(time.Minute)
			steps[i].Sequence++
		}
	}
	ways := []struct {
		name string
		move func(q followup.Queries) error
	}{
		{"loop", func(q followup.Queries) error {
			for i := range steps {
				if err := q.MoveStep(ctx, &steps[i]); err != nil {
					return err
				}
			}
			return nil
		}},
		{"steps", func(q followup.Queries) error { return q.MoveSteps(ctx, steps) }},
	}
	took := map[string]time.Duration{}
	n := 0
	for b.Loop() {
		for _, w := range ways {
			shift()
			start := time.Now()
			// A create inserts its steps first, which raises the feed
			// version: the moves are stamped with it as they are written.
			err := db.InTx(ctx, func(q followup.Queries) error {
				mustStep(b, q, c, followup.KindDeliver, fmt.Sprint("new", n, w.name), t0.Add(-time.Hour))
				return w.move(q)
			})
			if err != nil {
				b.Fatal(err)
			}
			took[w.name] += time.Since(start)
		}
		n++
	}
	b.ReportMetric(float64(took["loop"].Microseconds())/float64(n)/1000, "ms/loop")
	b.ReportMetric(float64(took["steps"].Microseconds())/float64(n)/1000, "ms/steps")
	b.ReportMetric(float64(took["steps"])/float64(took["loop"]), "steps/loop")
}

// TestInsertCommitmentWithSteps stores a commitment with its steps as a
// create does (after ClaimPlanAndFeed, one statement on PostgreSQL) and
// outside such a transaction: both read back whole, with the steps linked
// to the commitment and carrying the raised feed version. A step whose
// UID is taken fails the whole create with ECONFLICT and stores nothing.
func TestInsertCommitmentWithSteps(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a := mustUser(t, db, "a@example.com")
	newCommitment := func(name string) followup.Commitment {
		return followup.Commitment{UserID: a.ID, Contact: followup.Contact{Name: name, Email: "x@example.com"}, MetAt: t0,
			MetWhere: "Booth; 12", Promise: "Send the deck", Direction: followup.Mine, Due: t0.Add(48 * time.Hour), Priority: true,
			Meeting: &followup.Meeting{Start: t0.Add(72 * time.Hour), Minutes: 30, Location: "Café"},
			Status:  followup.StatusOpen, CreatedAt: t0, UpdatedAt: t0, Warnings: []string{"clamped"}}
	}
	newSteps := func(prefix string) []followup.Step {
		var steps []followup.Step
		for i, kind := range []followup.StepKind{followup.KindRefresher, followup.KindDeliver, followup.KindLetGo} {
			start := t0.Add(time.Duration(i+1) * time.Hour)
			steps = append(steps, followup.Step{UserID: a.ID, Kind: kind, Status: followup.StepPlanned, Start: start,
				End: start.Add(15 * time.Minute), NotBefore: t0, Due: t0.Add(24 * time.Hour), UID: prefix + fmt.Sprint(i) + "@followup",
				Late: i == 1, RemoteSequence: -1, CreatedAt: t0, UpdatedAt: t0})
		}
		return steps
	}
	check := func(what string, c followup.Commitment, steps []followup.Step) {
		t.Helper()
		got, err := db.Commitment(ctx, a.ID, c.ID)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got.Contact != c.Contact || got.Meeting == nil || *got.Meeting != *c.Meeting || !got.Priority || got.MetWhere != c.MetWhere {
			t.Errorf("%s: commitment read back as %+v", what, got)
		}
		if len(got.Steps) != len(steps) {
			t.Fatalf("%s: %d steps read back, want %d", what, len(got.Steps), len(steps))
		}
		for i, s := range got.Steps {
			want := steps[i]
			if s.ID != want.ID || s.ID == 0 || s.CommitmentID != c.ID || want.CommitmentID != c.ID || s.UID != want.UID ||
				s.Kind != want.Kind || !s.Start.Equal(want.Start) || s.Late != want.Late {
				t.Errorf("%s: step %d read back as %+v, stored %+v", what, i, s, want)
			}
		}
	}

	version, err := db.PlanVersion(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, steps := newCommitment("Created"), newSteps("created-")
	err = db.InTx(followup.ForUser(ctx, a.ID), func(q followup.Queries) error {
		if ok, err := q.ClaimPlanAndFeed(ctx, a.ID, version); err != nil || !ok {
			t.Fatalf("ClaimPlanAndFeed = %v, %v", ok, err)
		}
		return q.InsertCommitmentWithSteps(ctx, &c, steps)
	})
	if err != nil {
		t.Fatal(err)
	}
	check("in a create's transaction", c, steps)

	plain, plainSteps := newCommitment("Plain"), newSteps("plain-")
	if err := db.InsertCommitmentWithSteps(ctx, &plain, plainSteps); err != nil {
		t.Fatal(err)
	}
	check("on its own", plain, plainSteps)

	version, err = db.PlanVersion(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	taken, takenSteps := newCommitment("Taken"), newSteps("created-") // the UIDs of the first
	err = db.InTx(followup.ForUser(ctx, a.ID), func(q followup.Queries) error {
		if ok, err := q.ClaimPlanAndFeed(ctx, a.ID, version); err != nil || !ok {
			t.Fatalf("ClaimPlanAndFeed = %v, %v", ok, err)
		}
		return q.InsertCommitmentWithSteps(ctx, &taken, takenSteps)
	})
	if followup.ErrorCode(err) != followup.ECONFLICT {
		t.Errorf("a create with taken UIDs: %v, want ECONFLICT", err)
	}
	all, err := db.Commitments(ctx, a.ID, followup.CommitmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Errorf("%d commitments stored, want the 2 created: the failed one left nothing", len(all))
	}

	// ClaimAndInsert: the claim and the inserts (one statement on
	// PostgreSQL) raise each version once and stamp the steps with the
	// feed version; a stale claim is refused, and its transaction, rolled
	// back, leaves nothing.
	if err := db.SetFeedToken(ctx, a.ID, []byte("tok"), "sealed"); err != nil {
		t.Fatal(err)
	}
	before, err := db.FeedByToken(ctx, []byte("tok"))
	if err != nil {
		t.Fatal(err)
	}
	if version, err = db.PlanVersion(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	claimed, claimedSteps := newCommitment("Claimed"), newSteps("claimed-")
	var inTx int64
	err = db.InTx(followup.ForUser(ctx, a.ID), func(q followup.Queries) error {
		if ok, err := q.ClaimAndInsert(ctx, followup.PlanMark{Version: version}, &claimed, claimedSteps, nil); err != nil || !ok {
			t.Fatalf("ClaimAndInsert(%d) = %v, %v; want it claimed", version, ok, err)
		}
		var err error
		inTx, err = q.PlanVersion(ctx, a.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check("claimed and inserted", claimed, claimedSteps)
	after, err := db.FeedByToken(ctx, []byte("tok"))
	if err != nil {
		t.Fatal(err)
	}
	if stored, err := db.PlanVersion(ctx, a.ID); err != nil || stored != version+1 || inTx != stored || after.Version != before.Version+1 {
		t.Errorf("plan version %d → %d (%d in the transaction, %v), feed version %d → %d; want each raised once",
			version, stored, inTx, err, before.Version, after.Version)
	}
	if got := changedUIDs(t, db, a.ID, before.Version); len(got) != len(claimedSteps) {
		t.Errorf("steps changed since feed version %d: %v, want the %d claimed", before.Version, got, len(claimedSteps))
	}
	// A stale claim moves nothing either (one statement on PostgreSQL).
	stale, staleSteps := newCommitment("Stale"), newSteps("stale-")
	moved := claimedSteps[0]
	moved.Start, moved.End = moved.Start.Add(time.Hour), moved.End.Add(time.Hour)
	errStale := errors.New("stale")
	err = db.InTx(followup.ForUser(ctx, a.ID), func(q followup.Queries) error {
		if ok, err := q.ClaimAndInsert(ctx, followup.PlanMark{Version: version}, &stale, staleSteps, []followup.Step{moved}); err != nil || ok {
			t.Errorf("ClaimAndInsert(%d) after the version moved = %v, %v; want it refused", version, ok, err)
		}
		return errStale
	})
	if !errors.Is(err, errStale) {
		t.Fatal(err)
	}
	if all, err = db.Commitments(ctx, a.ID, followup.CommitmentFilter{}); err != nil || len(all) != 3 {
		t.Errorf("%d commitments stored (%v), want 3: the refused claim's transaction left nothing", len(all), err)
	}
	if stored, err := db.PlanVersion(ctx, a.ID); err != nil || stored != version+1 {
		t.Errorf("plan version %d after the refused claim (%v), want %d", stored, err, version+1)
	}
	if got, err := db.StepByUID(ctx, moved.UID); err != nil || !got.Start.Equal(claimedSteps[0].Start) {
		t.Errorf("the step the refused claim would move starts at %v (%v), want %v", got.Start, err, claimedSteps[0].Start)
	}

	// A claim that moves a step the user does not have fails whole.
	version++
	gone, goneSteps := newCommitment("Gone"), newSteps("gone-")
	missing := moved
	missing.ID = 999_999
	err = db.InTx(followup.ForUser(ctx, a.ID), func(q followup.Queries) error {
		_, err := q.ClaimAndInsert(ctx, followup.PlanMark{Version: version}, &gone, goneSteps, []followup.Step{moved, missing})
		return err
	})
	if followup.ErrorCode(err) != followup.ENOTFOUND {
		t.Errorf("ClaimAndInsert moving a step not stored: %v, want ENOTFOUND", err)
	}
	if got, err := db.StepByUID(ctx, moved.UID); err != nil || !got.Start.Equal(claimedSteps[0].Start) {
		t.Errorf("after the failed claim the step starts at %v (%v), want %v", got.Start, err, claimedSteps[0].Start)
	}

	// A claim that moves one: stamped with the raised feed version.
	moved.UpdatedAt = moved.UpdatedAt.Add(time.Minute)
	mark, err := db.PlanMark(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	shifted, shiftedSteps := newCommitment("Shifted"), newSteps("shifted-")
	err = db.InTx(followup.ForUser(ctx, a.ID), func(q followup.Queries) error {
		if ok, err := q.ClaimAndInsert(ctx, mark, &shifted, shiftedSteps, []followup.Step{moved}); err != nil || !ok {
			t.Fatalf("ClaimAndInsert with a move = %v, %v; want it claimed", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("claimed, inserted and moved", shifted, shiftedSteps)
	if got, err := db.StepByUID(ctx, moved.UID); err != nil || !got.Start.Equal(moved.Start) {
		t.Errorf("the moved step starts at %v (%v), want %v", got.Start, err, moved.Start)
	}
	if got := changedUIDs(t, db, a.ID, mark.Feed); !slices.Contains(got, moved.UID) || len(got) != len(shiftedSteps)+1 {
		t.Errorf("steps changed since feed version %d: %v, want the %d inserted and the moved %s", mark.Feed, got, len(shiftedSteps), moved.UID)
	}
}

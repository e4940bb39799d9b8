package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/service"
)

// habitEvent returns the feed's event of the habit kind, failing unless
// there is exactly one.
func habitEvent(t *testing.T, h *harness, userID int64, k followup.HabitKind) followup.Event {
	t.Helper()
	evs, err := h.svc.FeedEvents(h.ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	var found []followup.Event
	for _, ev := range evs {
		if len(ev.Categories) == 3 && ev.Categories[1] == "habit" && ev.Categories[2] == string(k) {
			found = append(found, ev)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s events in the feed, want 1", len(found), k)
	}
	return found[0]
}

func habitCount(t *testing.T, h *harness, userID int64) int {
	t.Helper()
	evs, err := h.svc.FeedEvents(h.ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.RRule != "" {
			n++
		}
	}
	return n
}

func putHabit(t *testing.T, h *harness, userID int64, k followup.HabitKind, edit func(*followup.Habit)) {
	t.Helper()
	st, err := h.svc.Settings(h.ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	hb := st.Habits.Get(k)
	edit(&hb)
	st.Habits.Set(k, hb)
	if _, err := h.svc.PutSettings(h.ctx, userID, st); err != nil {
		t.Fatalf("PutSettings: %v", err)
	}
}

// TestHabitSeriesLifecycle: switching a habit on makes one series in free
// time; a meeting on one occurrence moves that occurrence alone; a change
// keeps the UID with a higher SEQUENCE; switching off removes it.
func TestHabitSeriesLifecycle(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	at := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, berlin) }
	h := newHarness(t, at(2026, 11, 23, 20, 0).UTC())
	u := h.user("habits@example.com", "Europe/Berlin")
	// Mondays 10:00-11:00 are taken on the first two Mondays.
	busy := []followup.Interval{
		{Start: at(2026, 11, 30, 10, 0), End: at(2026, 11, 30, 11, 0)},
		{Start: at(2026, 12, 7, 10, 0), End: at(2026, 12, 7, 11, 0)},
	}
	putBusy := func(ivs []followup.Interval) {
		t.Helper()
		if err := h.db.PutBusySource(h.ctx, followup.BusySource{UserID: u.ID, URL: "https://cal.example/work.ics", Kind: "ics",
			ICS: followup.ICSState{Intervals: ivs}}); err != nil {
			t.Fatal(err)
		}
	}
	putBusy(busy)
	if n := habitCount(t, h, u.ID); n != 0 {
		t.Fatalf("%d series before any habit is on", n)
	}
	putHabit(t, h, u.ID, followup.HabitWeeklyReview, func(hb *followup.Habit) { hb.Enabled = true })
	ev := habitEvent(t, h, u.ID, followup.HabitWeeklyReview)
	if ev.RRule != "FREQ=WEEKLY;BYDAY=MO" || ev.Zone == nil || ev.Zone.String() != "Europe/Berlin" || ev.Sequence != 0 {
		t.Fatalf("series %q in %v, sequence %d", ev.RRule, ev.Zone, ev.Sequence)
	}
	if want := at(2026, 11, 30, 11, 5); !ev.Start.Equal(want) || !ev.End.Equal(want.Add(30*time.Minute)) || len(ev.Overrides) != 0 {
		t.Fatalf("series at %s-%s with %d overrides, want 11:05 after the meetings, none moved", ev.Start.In(berlin), ev.End.In(berlin), len(ev.Overrides))
	}
	uid := ev.UID

	// A meeting later lands on one occurrence: it alone moves.
	busy = append(busy, followup.Interval{Start: at(2027, 1, 25, 11, 0), End: at(2027, 1, 25, 11, 30)})
	putBusy(busy)
	putHabit(t, h, u.ID, followup.HabitWeeklyReview, func(*followup.Habit) {})
	ev = habitEvent(t, h, u.ID, followup.HabitWeeklyReview)
	// The nearest free slot in the 10:00-12:00 window is before it.
	want := []followup.Event{{RecurrenceID: at(2027, 1, 25, 11, 5), Start: at(2027, 1, 25, 10, 25), End: at(2027, 1, 25, 10, 55)}}
	got := make([]followup.Event, len(ev.Overrides))
	for i, o := range ev.Overrides {
		got[i] = followup.Event{RecurrenceID: o.RecurrenceID.In(berlin), Start: o.Start.In(berlin), End: o.End.In(berlin)}
		if o.UID != uid || o.RRule != "" {
			t.Errorf("override %d: UID %q, RRULE %q", i, o.UID, o.RRule)
		}
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("overrides (-want +got):\n%s", diff)
	}
	if ev.UID != uid || ev.Sequence != 1 || !ev.Start.Equal(at(2026, 11, 30, 11, 5)) {
		t.Errorf("after the meeting: UID %s, sequence %d, start %s; want the same series, sequence 1", ev.UID, ev.Sequence, ev.Start)
	}

	// A change of the habit: same UID, higher SEQUENCE.
	putHabit(t, h, u.ID, followup.HabitWeeklyReview, func(hb *followup.Habit) { hb.Minutes = 45 })
	ev = habitEvent(t, h, u.ID, followup.HabitWeeklyReview)
	if ev.UID != uid || ev.Sequence != 2 || ev.End.Sub(ev.Start) != 45*time.Minute {
		t.Fatalf("changed: UID %s, sequence %d, %s long", ev.UID, ev.Sequence, ev.End.Sub(ev.Start))
	}
	// Saving unchanged settings changes nothing.
	putHabit(t, h, u.ID, followup.HabitWeeklyReview, func(*followup.Habit) {})
	if ev2 := habitEvent(t, h, u.ID, followup.HabitWeeklyReview); ev2.Sequence != 2 {
		t.Fatalf("unchanged settings raised the sequence to %d", ev2.Sequence)
	}

	// The agenda shows the occurrences as the busy time they are.
	ag, err := h.svc.Agenda(h.ctx, u.ID, at(2027, 1, 25, 0, 0), at(2027, 1, 26, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var habitBusy []followup.Interval
	for _, iv := range ag.Busy {
		if iv.Source == "habit:weekly_review" {
			habitBusy = append(habitBusy, iv)
		}
	}
	// 45 minutes now: 10:10-10:55 is the free slot before the meeting.
	if len(habitBusy) != 1 || !habitBusy[0].Start.Equal(at(2027, 1, 25, 10, 10)) || !habitBusy[0].End.Equal(at(2027, 1, 25, 10, 55)) {
		t.Errorf("agenda's habit time %+v, want the moved review at 10:10", habitBusy)
	}

	// Blocks of commitments go around the series' occurrences.
	h.clock.Set(at(2026, 11, 29, 18, 0).UTC())
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "tomorrow"})
	for _, s := range c.Steps {
		if s.Kind.IsBlock() && s.Start.Before(at(2026, 11, 30, 11, 50)) && s.End.After(at(2026, 11, 30, 11, 5)) {
			t.Errorf("%s block at %s overlaps the review", s.Kind, s.Start.In(berlin))
		}
	}

	// Switched off, the series leaves the feed.
	putHabit(t, h, u.ID, followup.HabitWeeklyReview, func(hb *followup.Habit) { hb.Enabled = false })
	if n := habitCount(t, h, u.ID); n != 0 {
		t.Fatalf("%d series after switching off", n)
	}
}

// TestHabitsNamePeople: the texts name the commitments, follow their
// changes, and such a change keeps the SEQUENCE.
func TestHabitsNamePeople(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(m time.Month, d, hh int) time.Time { return time.Date(2026, m, d, hh, 0, 0, 0, ny) }
	h := newHarness(t, at(11, 18, 15).UTC()) // a Wednesday
	u := h.user("people@example.com", "America/New_York")
	for _, k := range []followup.HabitKind{followup.HabitWeeklyReview, followup.HabitDailyCall, followup.HabitCoffees} {
		putHabit(t, h, u.ID, k, func(hb *followup.Habit) { hb.Enabled = true })
	}
	jane := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane Doe", Phone: "+1 555 0100", Company: "Acme"},
		Promise: "Send the pricing deck", DueText: "in 5 days", Priority: true, MetWhere: "SaaStr"})
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Bob Roe", Phone: "555 0199"},
		Promise: "Intro to Sam", DueText: "in 8 days", Direction: followup.Theirs})
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Carla Diaz", Email: "carla@example.com"},
		Promise: "Share the case study", Priority: true, DueText: "in 3 days",
		Meeting: &followup.Meeting{Start: at(11, 27, 11), Minutes: 30}})

	review := habitEvent(t, h, u.ID, followup.HabitWeeklyReview)
	for _, s := range []string{"Last week's new commitments (Nov 16 – Nov 22)", "★ Jane Doe (Acme): you promised send the pricing deck",
		"Bob Roe: they promised intro to Sam", "Carla Diaz"} {
		if !strings.Contains(review.Description, s) {
			t.Errorf("review lacks %q:\n%s", s, review.Description)
		}
	}
	call := habitEvent(t, h, u.ID, followup.HabitDailyCall)
	if call.Summary != "Follow-up call — Jane Doe" || !strings.Contains(call.Description, "tel:+15550100") {
		t.Errorf("call: %q\n%s", call.Summary, call.Description)
	}
	coffee := habitEvent(t, h, u.ID, followup.HabitCoffees)
	if !strings.Contains(coffee.Description, "- Jane Doe (Acme)") || strings.Contains(coffee.Description, "Carla") || strings.Contains(coffee.Description, "Bob") {
		t.Errorf("coffee suggests starred contacts without a meeting, Jane only:\n%s", coffee.Description)
	}

	// Jane is let go: the call names Bob now, same SEQUENCE.
	h.act(u.ID, jane.ID, followup.ActionLetGo)
	call2 := habitEvent(t, h, u.ID, followup.HabitDailyCall)
	if call2.Summary != "Follow-up call — Bob Roe" || call2.Sequence != call.Sequence || call2.UID != call.UID {
		t.Errorf("after Jane: %q sequence %d (was %d)", call2.Summary, call2.Sequence, call.Sequence)
	}
}

// TestHabitCalDAV: a series is written once; a change of its text is
// written again with the same SEQUENCE; the user's move of one occurrence
// is kept; switching off deletes it; a series the user deletes switches
// its habit off.
func TestHabitCalDAV(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, berlin) }
	h := newHarness(t, at(11, 23, 20, 0).UTC())
	fake := newFakeCalDAV()
	h.svc.Calendars = fake
	u := h.user("habit-dav@example.com", "Europe/Berlin")
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	putHabit(t, h, u.ID, followup.HabitDailyCall, func(hb *followup.Habit) { hb.Enabled = true })
	putHabit(t, h, u.ID, followup.HabitMonthlyScan, func(hb *followup.Habit) { hb.Enabled = true })
	if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	call := habitEvent(t, h, u.ID, followup.HabitDailyCall)
	scan := habitEvent(t, h, u.ID, followup.HabitMonthlyScan)
	if !fake.has(call.UID) || !fake.has(scan.UID) {
		t.Fatal("series not written")
	}
	if rep, _ := h.svc.Sync(h.ctx, u.ID); rep.Written != 0 {
		t.Fatalf("an idle sync wrote %d objects", rep.Written)
	}

	// A commitment with a phone number: the call's text changes, and is
	// written again with the same SEQUENCE.
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane Doe", Phone: "+49 30 1234"}, Promise: "Send the deck"})
	if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	onServer := fake.objs[call.UID].ev
	fake.mu.Unlock()
	if onServer.Summary != "Follow-up call — Jane Doe" || onServer.Sequence != call.Sequence {
		t.Fatalf("server holds %q, sequence %d (was %d)", onServer.Summary, onServer.Sequence, call.Sequence)
	}

	// The user moves Wednesday's call to 16:00: kept, and kept by later planning.
	var rid time.Time
	for d := 25; d < 32; d++ {
		if l := at(11, d, 0, 0); l.Weekday() == time.Wednesday {
			c := call.Start.In(berlin)
			rid = at(11, d, c.Hour(), c.Minute())
		}
	}
	fake.userMoveOccurrence(call.UID, rid, at(11, 25, 16, 0), at(11, 25, 16, 15))
	rep, err := h.svc.Sync(h.ctx, u.ID)
	if err != nil || rep.Adopted != 1 {
		t.Fatalf("adopted %d: %v", rep.Adopted, err)
	}
	putHabit(t, h, u.ID, followup.HabitWeeklyReview, func(hb *followup.Habit) { hb.Enabled = true })
	review := habitEvent(t, h, u.ID, followup.HabitWeeklyReview)
	if err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVHabit, UserID: u.ID, UID: review.UID}); err != nil || !fake.has(review.UID) {
		t.Fatalf("the habit job did not write the series: %v", err)
	}
	h.svc.Sync(h.ctx, u.ID)
	moved := habitEvent(t, h, u.ID, followup.HabitDailyCall)
	found := false
	for _, o := range moved.Overrides {
		found = found || (o.RecurrenceID.Equal(rid) && o.Start.Equal(at(11, 25, 16, 0)))
	}
	if !found {
		t.Fatalf("the user's move is lost: overrides %+v", moved.Overrides)
	}
	fake.mu.Lock()
	kept := len(fake.objs[call.UID].ev.Overrides)
	fake.mu.Unlock()
	if kept == 0 {
		t.Fatal("the rewritten series lost the user's override")
	}

	// Switched off: the object goes.
	putHabit(t, h, u.ID, followup.HabitMonthlyScan, func(hb *followup.Habit) { hb.Enabled = false })
	h.svc.Sync(h.ctx, u.ID)
	if fake.has(scan.UID) {
		t.Fatal("a switched-off series is still on the server")
	}

	// The user deletes the call series: the habit is switched off.
	fake.userDelete(call.UID)
	if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	st, _ := h.svc.Settings(h.ctx, u.ID)
	if st.Habits.DailyCall.Enabled || fake.has(call.UID) {
		t.Fatalf("after the user deleted it: enabled %v, on server %v", st.Habits.DailyCall.Enabled, fake.has(call.UID))
	}
}

// TestHabitOverridesAge: a moved occurrence stays in the series after it
// passed, then leaves it after FeedHistoryDays, as past blocks do.
func TestHabitOverridesAge(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, berlin) }
	h := newHarness(t, at(11, 23, 20, 0).UTC())
	u := h.user("age@example.com", "Europe/Berlin")
	putHabit(t, h, u.ID, followup.HabitWeeklyReview, func(hb *followup.Habit) { hb.Enabled = true })
	if err := h.db.PutBusySource(h.ctx, followup.BusySource{UserID: u.ID, URL: "https://cal.example/w.ics", Kind: "ics",
		ICS: followup.ICSState{Intervals: []followup.Interval{{Start: at(12, 7, 9, 30), End: at(12, 7, 10, 30)}}}}); err != nil {
		t.Fatal(err)
	}
	putHabit(t, h, u.ID, followup.HabitWeeklyReview, func(*followup.Habit) {})
	if n := len(habitEvent(t, h, u.ID, followup.HabitWeeklyReview).Overrides); n != 1 {
		t.Fatalf("%d overrides, want the one off the meeting", n)
	}
	h.clock.Set(at(12, 20, 9, 0).UTC())
	putHabit(t, h, u.ID, followup.HabitWeeklyReview, func(*followup.Habit) {})
	if n := len(habitEvent(t, h, u.ID, followup.HabitWeeklyReview).Overrides); n != 1 {
		t.Fatalf("%d overrides after it passed, want it kept", n)
	}
	h.clock.Set(at(12, 7, 12, 0).AddDate(0, 0, service.FeedHistoryDays).UTC())
	putHabit(t, h, u.ID, followup.HabitWeeklyReview, func(*followup.Habit) {})
	if n := len(habitEvent(t, h, u.ID, followup.HabitWeeklyReview).Overrides); n != 0 {
		t.Fatalf("%d overrides %d days later, want none", n, service.FeedHistoryDays)
	}
}

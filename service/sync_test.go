package service_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/followup/followup"
)

// fakeCalDAV is an in-memory CalendarServer for unit tests of the sync
// logic; the real servers are exercised in cmd/followup and caldav.
type fakeCalDAV struct {
	mu         sync.Mutex
	objs       map[string]fakeObject // by UID
	etag       int
	unreadable bool // ListEvents cannot deliver any object
	puts       int
	version    int // rises with every change, as a collection tag
	deletesIn  map[string]int
	lostPuts   bool // PUTs land on the server but their answer is lost
	// cancelOnPut, when set, is called as a PUT lands: the caller's
	// deadline passes before the answer comes.
	cancelOnPut context.CancelFunc
	busyReads   int
	lists       int
}

type fakeObject struct {
	ev   followup.Event
	etag string
	// floating marks times a calendar app wrote with no zone: ev holds
	// their wall clock as UTC values.
	floating bool
}

const fakeBase = "https://dav.example.com/home/"

// connectedUser makes a user in zone whose CalDAV account is a new
// fakeCalDAV, connected.
func (h *harness) connectedUser(email, zone string) (followup.User, *fakeCalDAV) {
	h.t.Helper()
	fake := newFakeCalDAV()
	h.svc.Calendars = fake
	u := h.user(email, zone)
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw"}); err != nil {
		h.t.Fatal(err)
	}
	return u, fake
}

func newFakeCalDAV() *fakeCalDAV {
	return &fakeCalDAV{objs: map[string]fakeObject{}, deletesIn: map[string]int{}}
}

func (f *fakeCalDAV) nextETag() string {
	f.etag++
	f.version++
	return fmt.Sprintf(`"%d"`, f.etag)
}

func (f *fakeCalDAV) Discover(ctx context.Context, acct followup.CalDAVAccount) (followup.Discovery, error) {
	if acct.Password != "pw" {
		return followup.Discovery{}, followup.Errorf(followup.EREMOTE, "password", "The server rejected the username or password.")
	}
	return followup.Discovery{Endpoint: fakeBase, HomeSet: fakeBase, Calendars: []followup.Calendar{
		{URL: fakeBase + "followups/", Name: "Follow-ups", Components: []string{"VEVENT"}},
		{URL: fakeBase + "work/", Name: "Work", Components: []string{"VEVENT"}},
	}}, nil
}

func (f *fakeCalDAV) CreateCalendar(context.Context, followup.CalDAVAccount, string, string) (followup.Calendar, error) {
	return followup.Calendar{}, followup.Errorf(followup.EREMOTE, "", "not here")
}

func (f *fakeCalDAV) PutEvent(_ context.Context, _ followup.CalDAVAccount, _ string, ev followup.Event, ifMatch string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, exists := f.objs[ev.UID]
	if (ifMatch == "" && exists) || (ifMatch != "" && (!exists || cur.etag != ifMatch)) {
		return "", followup.Errorf(followup.ECONFLICT, "", "precondition failed")
	}
	f.puts++
	o := fakeObject{ev: ev, etag: f.nextETag()}
	f.objs[ev.UID] = o
	if f.lostPuts {
		return "", followup.Errorf(followup.EREMOTE, "", "dav.example.com did not answer in time.")
	}
	if f.cancelOnPut != nil {
		f.cancelOnPut()
		return "", context.Canceled
	}
	return o.etag, nil
}

func (f *fakeCalDAV) remote(uid string, o fakeObject) followup.RemoteEvent {
	r := followup.RemoteEvent{UID: uid, Href: fakeBase + "followups/" + uid + ".ics", ETag: o.etag, Start: o.ev.Start, End: o.ev.End,
		Sequence: o.ev.Sequence, Floating: o.floating, ExDates: o.ev.ExDates}
	for _, ov := range o.ev.Overrides {
		r.Overrides = append(r.Overrides, followup.RemoteOverride{RecurrenceID: ov.RecurrenceID, Start: ov.Start, End: ov.End})
	}
	return r
}

// userMoveOccurrence moves one occurrence of a series as a calendar app
// does: an override with its RECURRENCE-ID, and a new ETag.
func (f *fakeCalDAV) userMoveOccurrence(uid string, rid, start, end time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.objs[uid]
	ov := o.ev
	ov.RRule, ov.Overrides, ov.RecurrenceID, ov.Start, ov.End = "", nil, rid, start, end
	o.ev.Overrides = append(append([]followup.Event(nil), o.ev.Overrides...), ov)
	o.etag = f.nextETag()
	f.objs[uid] = o
}

// userDeleteOccurrence deletes one occurrence of a series as a calendar
// app does: an EXDATE, its override (if any) gone, and a new ETag.
func (f *fakeCalDAV) userDeleteOccurrence(uid string, rid time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.objs[uid]
	o.ev.ExDates = append(append([]time.Time(nil), o.ev.ExDates...), rid)
	o.ev.Overrides = slices.DeleteFunc(slices.Clone(o.ev.Overrides), func(ov followup.Event) bool { return ov.RecurrenceID.Equal(rid) })
	o.etag = f.nextETag()
	f.objs[uid] = o
}

func (f *fakeCalDAV) GetEvent(_ context.Context, _ followup.CalDAVAccount, _ string, uid string) (followup.RemoteEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[uid]
	if !ok {
		return followup.RemoteEvent{}, followup.Errorf(followup.ENOTFOUND, "", "gone")
	}
	return f.remote(uid, o), nil
}

func (f *fakeCalDAV) DeleteEvent(_ context.Context, _ followup.CalDAVAccount, cal string, uid, ifMatch string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletesIn[cal]++
	o, ok := f.objs[uid]
	if ok && ifMatch != "" && o.etag != ifMatch {
		return followup.Errorf(followup.ECONFLICT, "", "precondition failed")
	}
	delete(f.objs, uid)
	f.version++
	return nil
}

func (f *fakeCalDAV) ListEvents(context.Context, followup.CalDAVAccount, string) ([]followup.RemoteEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	var out []followup.RemoteEvent
	for uid, o := range f.objs {
		if f.unreadable {
			out = append(out, followup.RemoteEvent{Href: fakeBase + "followups/" + uid + ".ics", ETag: o.etag, Unreadable: true})
			continue
		}
		out = append(out, f.remote(uid, o))
	}
	return out, nil
}

// Busy reports a change by a collection tag that rises with every write,
// as a server's getctag does; the fake's calendars hold no busy time.
func (f *fakeCalDAV) Busy(_ context.Context, _ followup.CalDAVAccount, _ string, from, to time.Time, prev followup.BusyState) (followup.BusyRead, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.busyReads++
	tag := fmt.Sprint(f.version)
	st := followup.BusyState{CTag: tag, From: from, To: to, Objects: map[string]followup.BusyObject{}}
	return followup.BusyRead{State: st, Changed: prev.CTag != tag || !prev.From.Equal(from), Requests: 1}, nil
}

// userEdit changes an object as a calendar app would: new times, new ETag.
func (f *fakeCalDAV) userEdit(uid string, start, end time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.objs[uid]
	o.ev.Start, o.ev.End, o.etag = start, end, f.nextETag()
	f.objs[uid] = o
}

// userMove moves an object as a calendar app would, leaving SEQUENCE seq
// and, with floating, times with no zone (wall clock held as UTC values).
func (f *fakeCalDAV) userMove(uid string, start, end time.Time, seq int, floating bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.objs[uid]
	o.ev.Start, o.ev.End, o.ev.Sequence, o.floating, o.etag = start, end, seq, floating, f.nextETag()
	f.objs[uid] = o
}

// object returns the server's object for uid.
func (f *fakeCalDAV) object(uid string) (followup.Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[uid]
	return o.ev, ok
}

func (f *fakeCalDAV) userDelete(uid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objs, uid)
	f.version++
}

func (f *fakeCalDAV) has(uid string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.objs[uid]
	return ok
}

// TestSyncReadBack: blocks are written once; an object the server fails to
// deliver is never taken as deleted; a deleted one counts as done; a moved
// one keeps the user's time; a let-go removes the rest.
func TestSyncReadBack(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	fake := newFakeCalDAV()
	h.svc.Calendars = fake
	u := h.user("sync@example.com", "America/New_York")
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "wrong"}); followup.ErrorField(err) != "password" {
		t.Fatalf("wrong password: %v", err)
	}
	conn, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if conn.CalendarURL != fakeBase+"followups/" || len(conn.BusyCalendars) != 1 || conn.SealedPassword == "pw" || !strings.HasPrefix(conn.SealedPassword, "v1:") {
		t.Fatalf("connection %+v", conn)
	}
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "in 3 days"})
	blocks := 0
	for _, s := range c.Steps {
		if s.Kind.IsBlock() {
			blocks++
		}
	}
	rep, err := h.svc.Sync(h.ctx, u.ID)
	if err != nil || rep.Written != blocks || len(rep.Errors) != 0 {
		t.Fatalf("first sync: %+v %v, want %d written", rep, err, blocks)
	}
	if rep, _ := h.svc.Sync(h.ctx, u.ID); rep.Written != 0 {
		t.Fatalf("second sync wrote again: %+v", rep)
	}
	// Idle: the Follow-ups calendar is not listed again, one light read per calendar.
	lists := fake.lists
	if rep, _ := h.svc.Sync(h.ctx, u.ID); fake.lists != lists || rep.Requests != 2 {
		t.Fatalf("idle sync listed the calendar (%d -> %d lists), %d requests for 2 calendars", lists, fake.lists, rep.Requests)
	}
	refresher, deliver := step(t, h.get(u.ID, c.ID), followup.KindRefresher), step(t, h.get(u.ID, c.ID), followup.KindDeliver)
	if refresher.Status != followup.StepSynced || !fake.has(refresher.UID) {
		t.Fatalf("refresher %+v not synced", refresher)
	}

	// The server lists the objects but cannot deliver them, and one is
	// really gone: nothing is taken as deleted while the listing is partial.
	fake.userDelete(refresher.UID)
	fake.unreadable = true
	rep, _ = h.svc.Sync(h.ctx, u.ID)
	if rep.Removed != 0 {
		t.Fatalf("a partial listing removed %d blocks: %+v", rep.Removed, rep)
	}
	if got := step(t, h.get(u.ID, c.ID), followup.KindRefresher); got.Status != followup.StepSynced {
		t.Fatalf("refresher became %s on a partial listing", got.Status)
	}
	fake.unreadable = false
	rep, _ = h.svc.Sync(h.ctx, u.ID)
	if rep.Removed != 1 {
		t.Fatalf("removed %d, want 1: %+v", rep.Removed, rep)
	}
	if got := step(t, h.get(u.ID, c.ID), followup.KindRefresher); got.Status != followup.StepDone {
		t.Fatalf("deleted refresher is %s, want done", got.Status)
	}
	if fake.has(refresher.UID) {
		t.Fatal("the deleted block was written again")
	}

	// The user moves the deliver block: their time wins, and stays.
	userStart := deliver.Start.Add(26 * time.Hour)
	fake.userEdit(deliver.UID, userStart, userStart.Add(45*time.Minute))
	rep, _ = h.svc.Sync(h.ctx, u.ID)
	got := step(t, h.get(u.ID, c.ID), followup.KindDeliver)
	if rep.Adopted != 1 || !got.Start.Equal(userStart) || !got.End.Equal(userStart.Add(45*time.Minute)) {
		t.Fatalf("adopted %d, deliver at %v–%v, want %v", rep.Adopted, got.Start, got.End, userStart)
	}
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Bob"}, Promise: "Intro", DueText: "tomorrow", Priority: true})
	if got2 := step(t, h.get(u.ID, c.ID), followup.KindDeliver); !got2.Start.Equal(userStart) {
		t.Fatalf("a new commitment moved the user's block to %v", got2.Start)
	}

	// Let go: the remaining objects leave the server.
	h.act(u.ID, c.ID, followup.ActionLetGo)
	h.svc.Sync(h.ctx, u.ID)
	if fake.has(deliver.UID) {
		t.Fatal("a let-go block is still on the server")
	}
}

// TestLateWarning: a block that can only be placed after the let-go is
// named in the commitment's warnings.
func TestLateWarning(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	u := h.user("late@example.com", "America/New_York")
	st, err := h.svc.Settings(h.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Work on Sundays only: the first free time is next Sunday, and with
	// a let-go after two days it comes too late.
	st.WorkHours.Days, st.FollowupHour.Days, st.LetGoAfterDays = []string{"sun"}, []string{"sun"}, 2
	if _, err := h.svc.PutSettings(h.ctx, u.ID, st); err != nil {
		t.Fatal(err)
	}
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"})
	if len(c.Warnings) == 0 || !strings.Contains(strings.Join(c.Warnings, " "), "let go") {
		t.Fatalf("warnings %q, want one about the let-go", c.Warnings)
	}
	if got := h.get(u.ID, c.ID); len(got.Warnings) != len(c.Warnings) {
		t.Errorf("stored warnings %q, answered %q", got.Warnings, c.Warnings)
	}
}

// TestSwitchCalendar: moving to another calendar removes the blocks and
// the habits' series from the old one, and writes them to the new one.
func TestSwitchCalendar(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	u, fake := h.connectedUser("switch@example.com", "America/New_York")
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"})
	putHabit(t, h, u.ID, followup.HabitCoffees, func(hb *followup.Habit) { hb.Enabled = true })
	first, _ := h.svc.Sync(h.ctx, u.ID)
	if !fake.has(habitEvent(t, h, u.ID, followup.HabitCoffees).UID) {
		t.Fatal("the coffee series was not written")
	}
	conn, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Calendar: "Work"})
	if err != nil {
		t.Fatal(err)
	}
	if conn.CalendarURL != fakeBase+"work/" || len(conn.BusyCalendars) != 1 || conn.BusyCalendars[0] != fakeBase+"followups/" {
		t.Fatalf("after the switch: calendar %s, busy %v", conn.CalendarURL, conn.BusyCalendars)
	}
	if got := fake.deletesIn[fakeBase+"followups/"]; got != first.Written {
		t.Errorf("%d deletes in the old calendar, want the %d blocks written there", got, first.Written)
	}
	rep, _ := h.svc.Sync(h.ctx, u.ID)
	if rep.Written != first.Written {
		t.Errorf("wrote %d blocks to the new calendar, want %d", rep.Written, first.Written)
	}
}

// TestLostAnswers: PUTs that reached the server but whose answers were lost
// are taken over (no duplicate), and removed when their blocks are let go.
func TestLostAnswers(t *testing.T) {
	for _, letGo := range []bool{false, true} {
		t.Run(fmt.Sprintf("let go %v", letGo), func(t *testing.T) {
			h := newHarness(t, time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
			u, fake := h.connectedUser("lost@example.com", "America/New_York")
			c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"})
			fake.lostPuts = true
			if rep, _ := h.svc.Sync(h.ctx, u.ID); len(rep.Errors) == 0 {
				t.Fatalf("lost answers reported no error: %+v", rep)
			}
			fake.lostPuts = false
			blocks := 0
			for _, st := range c.Steps {
				if st.Kind.IsBlock() {
					blocks++
				}
			}
			if letGo {
				h.act(u.ID, c.ID, followup.ActionLetGo)
				blocks = 0
			}
			h.svc.Sync(h.ctx, u.ID)
			if rep, _ := h.svc.Sync(h.ctx, u.ID); rep.Written != 0 || rep.Deleted != 0 {
				t.Errorf("third sync still had work: %+v", rep)
			}
			fake.mu.Lock()
			n := len(fake.objs)
			fake.mu.Unlock()
			if n != blocks {
				t.Errorf("server holds %d objects, want %d", n, blocks)
			}
		})
	}
}

// TestFloatingBusy: a busy event with no zone blocks the same wall clock in
// the user's zone, across the DST change.
func TestFloatingBusy(t *testing.T) {
	h := newHarness(t, time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC))
	u := h.user("floating@example.com", "Europe/Berlin")
	src := followup.BusySource{UserID: u.ID, URL: "https://ics.example.com/cal.ics", Kind: "ics", UpdatedAt: h.clock.Now(),
		ICS: followup.ICSState{Intervals: []followup.Interval{
			{Start: time.Date(2026, 10, 23, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 10, 23, 11, 0, 0, 0, time.UTC), Floating: true}, // CEST
			{Start: time.Date(2026, 10, 26, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 10, 26, 11, 0, 0, 0, time.UTC), Floating: true}, // CET
		}}}
	if err := h.db.PutBusySource(h.ctx, src); err != nil {
		t.Fatal(err)
	}
	a, err := h.svc.Agenda(h.ctx, u.ID, time.Date(2026, 10, 22, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	for _, b := range a.Busy {
		got = append(got, b.Start.UTC())
	}
	want := []time.Time{time.Date(2026, 10, 23, 8, 0, 0, 0, time.UTC), time.Date(2026, 10, 26, 9, 0, 0, 0, time.UTC)}
	if len(got) != 2 || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) {
		t.Errorf("floating 10:00 busy at %v, want 10:00 Berlin %v", got, want)
	}
}

// TestOwnWriteOrUserMove: a write of ours whose answer was lost, followed by
// another move of ours, is recognised by its SEQUENCE and times when read
// back (by the sync's listing, or by the GET after a 412 of the next
// write) and is not taken for a move by the user; a move by the user on
// top of it, with SEQUENCE bumped or not, still keeps the user's time.
func TestOwnWriteOrUserMove(t *testing.T) {
	for _, path := range []string{"sync", "step job"} {
		for _, user := range []string{"none", "bumps sequence", "keeps sequence"} {
			t.Run(path+", user move "+user, func(t *testing.T) {
				testOwnWriteOrUserMove(t, path, user)
			})
		}
	}
}

func testOwnWriteOrUserMove(t *testing.T, path, user string) {
	// A Saturday: the blocks are placed in the week ahead.
	h := newHarness(t, time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC))
	u, fake := h.connectedUser("own@example.com", "America/New_York")
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "in 3 days"})
	if rep, err := h.svc.Sync(h.ctx, u.ID); err != nil || len(rep.Errors) != 0 {
		t.Fatalf("first sync: %+v %v", rep, err)
	}
	deliver := func() followup.Step { return step(t, h.get(u.ID, c.ID), followup.KindDeliver) }
	written := deliver()
	// busy adds a meeting in a calendar over the block, which must move.
	busy := func(name string, over followup.Step) {
		t.Helper()
		src := followup.BusySource{UserID: u.ID, URL: "https://ics.example.com/" + name + ".ics", Kind: "ics", UpdatedAt: h.clock.Now(),
			ICS: followup.ICSState{Intervals: []followup.Interval{{Start: over.Start, End: over.End}}}}
		if err := h.db.PutBusySource(h.ctx, src); err != nil {
			t.Fatal(err)
		}
	}

	// A meeting moves the written block; the server takes our write, but
	// its answer is lost.
	busy("first", written)
	fake.lostPuts = true
	if rep, _ := h.svc.Sync(h.ctx, u.ID); len(rep.Errors) == 0 {
		t.Fatalf("a lost answer reported no error: %+v", rep)
	}
	fake.lostPuts = false
	lost := deliver()
	if onServer, _ := fake.object(lost.UID); lost.Start.Equal(written.Start) || !onServer.Start.Equal(lost.Start) || onServer.Sequence != lost.Sequence {
		t.Fatalf("the block did not move to %v (SEQUENCE %d) on the server: %+v", lost.Start, lost.Sequence, onServer)
	}

	// The user moves it in their app, on top of our write.
	userStart := written.Start.Add(50 * time.Hour)
	switch user {
	case "bumps sequence":
		fake.userMove(lost.UID, userStart, userStart.Add(45*time.Minute), lost.Sequence+1, false)
	case "keeps sequence":
		fake.userMove(lost.UID, userStart, userStart.Add(45*time.Minute), lost.Sequence, false)
	}

	// Before any read-back, another meeting moves the block again: a new
	// commitment replans it.
	busy("second", lost)
	h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Bob"}, Promise: "Intro to Carol"})
	moved := deliver()
	if moved.Start.Equal(lost.Start) || moved.Start.Equal(written.Start) || moved.Sequence <= lost.Sequence {
		t.Fatalf("the block did not move again: %v (SEQUENCE %d), was %v (%d)", moved.Start, moved.Sequence, lost.Start, lost.Sequence)
	}

	var rep followup.SyncReport
	switch path {
	case "sync":
		var err error
		if rep, err = h.svc.Sync(h.ctx, u.ID); err != nil || len(rep.Errors) != 0 {
			t.Fatalf("sync: %+v %v", rep, err)
		}
	case "step job":
		if err := h.svc.HandleJob(h.ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: moved.UID}); err != nil {
			t.Fatalf("step job: %v", err)
		}
	}
	got := deliver()
	if user == "none" {
		if got.Pinned || rep.Adopted != 0 || !got.Start.Equal(moved.Start) {
			t.Errorf("our own lost write was taken for a move by the user: block at %v (pinned %v, adopted %d), want %v",
				got.Start, got.Pinned, rep.Adopted, moved.Start)
		}
	} else if !got.Pinned || !got.Start.Equal(userStart) || !got.End.Equal(userStart.Add(45*time.Minute)) {
		t.Errorf("the user's move was lost: block at %v–%v (pinned %v), want %v", got.Start, got.End, got.Pinned, userStart)
	}

	// A sync settles the rest (the new commitment's blocks); the server
	// then shows the block where it is, and the next sync has nothing to do.
	if rep, err := h.svc.Sync(h.ctx, u.ID); err != nil || rep.Adopted != 0 || len(rep.Errors) != 0 {
		t.Errorf("settling sync: %+v %v", rep, err)
	}
	if rep, _ := h.svc.Sync(h.ctx, u.ID); rep.Written != 0 || rep.Adopted != 0 || len(rep.Errors) != 0 {
		t.Errorf("the next sync still had work: %+v", rep)
	}
	settled := deliver()
	onServer, _ := fake.object(settled.UID)
	if !settled.Start.Equal(got.Start) || !onServer.Start.Equal(settled.Start) || !onServer.End.Equal(settled.End) || onServer.Sequence != settled.Sequence {
		t.Errorf("server holds %v–%v SEQUENCE %d; the block is at %v–%v SEQUENCE %d, was at %v",
			onServer.Start, onServer.End, onServer.Sequence, settled.Start, settled.End, settled.Sequence, got.Start)
	}
	if settled.Status != followup.StepSynced || len(settled.PendingWrites) != 0 {
		t.Errorf("block %s with %d pending writes, want synced with none", settled.Status, len(settled.PendingWrites))
	}
}

// TestFloatingMove: a block the user moves in their app to a time with no
// zone (or a zone we do not know) keeps that wall clock in the user's zone,
// on both sides of the DST change.
func TestFloatingMove(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	h := newHarness(t, time.Date(2026, 10, 22, 12, 0, 0, 0, time.UTC))
	u, fake := h.connectedUser("floatmove@example.com", "Europe/Berlin")
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "in 5 days"})
	if rep, err := h.svc.Sync(h.ctx, u.ID); err != nil || len(rep.Errors) != 0 {
		t.Fatalf("first sync: %+v %v", rep, err)
	}
	refresher, deliver := step(t, c, followup.KindRefresher), step(t, c, followup.KindDeliver)
	// Wall clock as a calendar app writes it with no zone: held as UTC values.
	floating := func(d, hh int) time.Time { return time.Date(2026, 10, d, hh, 0, 0, 0, time.UTC) }
	fake.userMove(refresher.UID, floating(23, 16), floating(23, 17), refresher.Sequence+1, true) // Friday, CEST
	fake.userMove(deliver.UID, floating(26, 10), floating(26, 11), deliver.Sequence+1, true)     // Monday, CET
	if rep, err := h.svc.Sync(h.ctx, u.ID); err != nil || rep.Adopted != 2 {
		t.Fatalf("sync: %+v %v, want 2 adopted", rep, err)
	}
	got := h.get(u.ID, c.ID)
	for _, tc := range []struct {
		kind       followup.StepKind
		start, end time.Time
	}{
		{followup.KindRefresher, time.Date(2026, 10, 23, 16, 0, 0, 0, berlin), time.Date(2026, 10, 23, 17, 0, 0, 0, berlin)},
		{followup.KindDeliver, time.Date(2026, 10, 26, 10, 0, 0, 0, berlin), time.Date(2026, 10, 26, 11, 0, 0, 0, berlin)},
	} {
		s := step(t, got, tc.kind)
		if !s.Start.Equal(tc.start) || !s.End.Equal(tc.end) || !s.Pinned {
			t.Errorf("%s at %v–%v (pinned %v), want %v–%v Berlin", tc.kind, s.Start.UTC(), s.End.UTC(), s.Pinned, tc.start.UTC(), tc.end.UTC())
		}
	}
	// Written back in UTC, at the user's time: read back, nothing moves again.
	if ev, _ := fake.object(deliver.UID); !ev.Start.Equal(time.Date(2026, 10, 26, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("deliver written back at %v, want 09:00 UTC", ev.Start)
	}
	if rep, _ := h.svc.Sync(h.ctx, u.ID); rep.Adopted != 0 || rep.Written != 0 {
		t.Errorf("the next sync still had work: %+v", rep)
	}
}

// TestLostAnswerOnTimeout: a write whose answer does not come before the
// caller's deadline is remembered as pending all the same.
func TestLostAnswerOnTimeout(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC))
	u, fake := h.connectedUser("timeout@example.com", "America/New_York")
	c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck"})
	p := step(t, c, followup.KindRefresher)
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	fake.cancelOnPut = cancel
	if err := h.svc.HandleJob(ctx, followup.Job{Kind: followup.JobCalDAVStep, UserID: u.ID, UID: p.UID}); err == nil {
		t.Fatal("a write cut off by its deadline reported no error")
	}
	fake.cancelOnPut = nil
	got := step(t, h.get(u.ID, c.ID), followup.KindRefresher)
	want := []followup.PendingWrite{{Sequence: p.Sequence, Start: p.Start, End: p.End}}
	if got.RemoteETag != "" || len(got.PendingWrites) != 1 || !got.PendingWrites[0].Matches(followup.RemoteEvent{Sequence: p.Sequence, Start: p.Start, End: p.End}) {
		t.Errorf("after the deadline: remote ETag %q, pending writes %+v, want %+v", got.RemoteETag, got.PendingWrites, want)
	}
	if rep, err := h.svc.Sync(h.ctx, u.ID); err != nil || len(rep.Errors) != 0 {
		t.Fatalf("sync: %+v %v", rep, err)
	}
	if got := step(t, h.get(u.ID, c.ID), followup.KindRefresher); got.Status != followup.StepSynced || len(got.PendingWrites) != 0 {
		t.Errorf("after a sync the refresher is %s with pending writes %+v, want synced with none", got.Status, got.PendingWrites)
	}
}

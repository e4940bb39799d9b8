package service_test

import (
	"context"
	"fmt"
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
	busyReads  int
	lists      int
}

type fakeObject struct {
	ev   followup.Event
	etag string
}

const fakeBase = "https://dav.example.com/home/"

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
	return o.etag, nil
}

func (f *fakeCalDAV) remote(uid string, o fakeObject) followup.RemoteEvent {
	r := followup.RemoteEvent{UID: uid, Href: fakeBase + "followups/" + uid + ".ics", ETag: o.etag, Start: o.ev.Start, End: o.ev.End}
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
	if conn.CalendarURL != fakeBase+"followups/" || len(conn.BusyCalendars) != 1 || strings.Contains(conn.SealedPassword, "pw") {
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
	fake := newFakeCalDAV()
	h.svc.Calendars = fake
	u := h.user("switch@example.com", "America/New_York")
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
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
			fake := newFakeCalDAV()
			h.svc.Calendars = fake
			u := h.user("lost@example.com", "America/New_York")
			if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw"}); err != nil {
				t.Fatal(err)
			}
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

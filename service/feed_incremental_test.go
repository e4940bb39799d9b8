package service_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/ics"
	"github.com/followup/followup/service"
)

// feedCheck renders a user's feed with the harness's service, which keeps
// its last render, and compares it with the feed encoded from scratch.
type feedCheck struct {
	h     *harness
	user  int64
	token string
	etag  string
	doc   []byte
}

// render checks the next render after a change named name: it must be
// byte for byte the feed encoded whole from FeedEvents; a full one writes
// every event again, an incremental one fewer than all its blocks; a
// change the feed does not show keeps the ETag and the document.
func (fc *feedCheck) render(t *testing.T, name string, full, same bool) {
	t.Helper()
	h := fc.h
	v, err := h.svc.FeedVersion(h.ctx, fc.token)
	if err != nil {
		t.Fatalf("%s: FeedVersion: %v", name, err)
	}
	written := h.enc.Events()
	got, err := h.svc.FeedDocument(h.ctx, v)
	if err != nil {
		t.Fatalf("%s: FeedDocument: %v", name, err)
	}
	written = h.enc.Events() - written
	events, err := h.svc.FeedEvents(h.ctx, fc.user)
	if err != nil {
		t.Fatalf("%s: FeedEvents: %v", name, err)
	}
	var want bytes.Buffer
	if err := ics.Encode(&want, ics.Feed{Name: "Follow-ups", Events: events, Now: v.LastModified}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want.Bytes(), got) {
		t.Errorf("%s: the incremental feed differs from the one encoded whole (-whole +incremental):\n%s", name,
			cmp.Diff(strings.Split(want.String(), "\r\n"), strings.Split(string(got), "\r\n")))
	}
	blocks := 0
	for _, ev := range events {
		if ev.RRule == "" {
			blocks++
		}
	}
	switch {
	case same:
		if v.ETag != fc.etag || written != 0 || !bytes.Equal(got, fc.doc) {
			t.Errorf("%s: the feed changed (ETag %s -> %s, %d events written), though nothing it shows did", name, fc.etag, v.ETag, written)
		}
	case v.ETag == fc.etag:
		t.Errorf("%s: the ETag %s stayed", name, v.ETag)
	case full && written != len(events):
		t.Errorf("%s: %d events written, want all %d", name, written, len(events))
	case !full && blocks >= 10 && written-(len(events)-blocks) >= blocks:
		t.Errorf("%s: %d events written for %d blocks and %d habits: every block again", name, written, blocks, len(events)-blocks)
	}
	t.Logf("%s: %d events (%d blocks), %d written", name, len(events), blocks, written)
	fc.etag, fc.doc = v.ETag, got
}

// TestIncrementalFeedMatchesFull is the guard of the incremental feed:
// after each kind of change, made through the service as users and
// calendars make them (create, actions, delete, sync writes and reads,
// tick, re-plan, habits, settings, another process, a calendar switch,
// the base URL, the days passing), the feed rendered from the last render
// is the feed encoded whole, and only the changed blocks were written
// again, or every one after a change of settings or base URL.
func TestIncrementalFeedMatchesFull(t *testing.T) {
	ny := zone(t, "America/New_York")
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, ny).UTC() }
	h := newHarness(t, at(11, 23, 9, 0))
	u, fake := h.connectedUser("incremental@example.com", "America/New_York")
	links, err := h.svc.FeedLinks(h.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	fc := &feedCheck{h: h, user: u.ID, token: tokenOf(t, links)}
	meeting := at(11, 27, 10, 0)
	var cs []followup.Commitment
	for i := range 8 {
		in := followup.NewCommitment{
			Contact: followup.Contact{Name: fmt.Sprintf("Person %d", i), Email: fmt.Sprintf("p%d@example.com", i)},
			Promise: fmt.Sprintf("Send the deck number %d", i), MetWhere: "Booth 12", DueText: "in 3 days", Notes: "client",
		}
		switch i % 4 {
		case 1:
			in.Direction = followup.Theirs
		case 2:
			in.Meeting = &followup.Meeting{Start: meeting.Add(time.Duration(i) * time.Hour), Minutes: 30, Location: "Blue Bottle"}
		case 3:
			in.Priority = true
		}
		cs = append(cs, h.create(u.ID, in))
	}
	fc.render(t, "first render", true, false)
	fc.render(t, "again", false, true)
	sync := func() {
		if _, err := h.svc.Sync(h.ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	// syncedBlock returns a block of c written to the calendar.
	syncedBlock := func(c followup.Commitment) followup.Step {
		for _, p := range h.get(u.ID, c.ID).Steps {
			if p.Status == followup.StepSynced && p.Kind.IsBlock() {
				return p
			}
		}
		t.Fatalf("commitment %d has no synced block", c.ID)
		return followup.Step{}
	}
	_, other := h.instance()
	other.Calendars = fake
	var unsynced followup.Commitment
	changes := []struct {
		name       string
		at         time.Time
		change     func()
		full, same bool
	}{
		{"sync re-plans, then writes every block", at(11, 23, 9, 0), sync, false, false},
		{"sync again: calendar writes recorded", at(11, 23, 9, 1), sync, false, true},
		{"create", at(11, 23, 9, 5), func() {
			cs = append(cs, h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Newcomer"}, Promise: "Intro to Carol"}))
		}, false, false},
		{"a block without a stamp, stored directly (its DTSTAMP is the feed's time)", at(11, 23, 9, 5), func() {
			p := followup.Step{
				CommitmentID: cs[2].ID, UserID: u.ID, Kind: followup.KindNudge, Status: followup.StepPlanned,
				Start: at(12, 1, 9, 0), End: at(12, 1, 9, 15), NotBefore: at(11, 23, 9, 0), Due: at(12, 2, 17, 0),
				UID: "unstamped@followup", RemoteSequence: followup.NoRemoteSequence, CreatedAt: at(11, 23, 9, 0),
			}
			if err := h.db.InsertStep(h.ctx, &p); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"create starred, moving others", at(11, 23, 9, 6), func() {
			h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Star"}, Promise: "Send the report", Priority: true})
		}, false, false},
		{"contacted", at(11, 23, 11, 0), func() { h.act(u.ID, cs[0].ID, followup.ActionContacted) }, false, false},
		{"replied", at(11, 23, 11, 5), func() { h.act(u.ID, cs[0].ID, followup.ActionReplied) }, false, false},
		{"delivered", at(11, 24, 16, 0), func() { h.act(u.ID, cs[4].ID, followup.ActionDelivered) }, false, false},
		{"let go", at(11, 24, 16, 5), func() { h.act(u.ID, cs[5].ID, followup.ActionLetGo) }, false, false},
		{"sync removes what left", at(11, 24, 16, 6), sync, false, true},
		{"delete a synced commitment (tombstones stay)", at(11, 24, 16, 10), func() {
			if err := h.svc.Delete(h.ctx, u.ID, cs[6].ID); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"create, not synced", at(11, 24, 16, 15), func() {
			unsynced = h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Brief"}, Promise: "Send the brochure"})
		}, false, false},
		{"delete it (its tombstones are deleted)", at(11, 24, 16, 20), func() {
			if err := h.svc.Delete(h.ctx, u.ID, unsynced.ID); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"sync deletes the tombstones' objects", at(11, 24, 16, 21), sync, false, true},
		{"moved in the calendar app", at(11, 24, 16, 30), func() {
			p := syncedBlock(cs[7])
			fake.userMove(p.UID, p.Start.Add(time.Hour), p.End.Add(time.Hour), p.Sequence, false)
			sync()
		}, false, false},
		{"deleted in the calendar app", at(11, 24, 16, 35), func() {
			fake.userDelete(syncedBlock(cs[3]).UID)
			sync()
		}, false, false},
		{"another process acts", at(11, 24, 16, 40), func() {
			if _, err := other.Act(h.ctx, u.ID, cs[1].ID, followup.ActionContacted); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"another process creates", at(11, 24, 16, 45), func() {
			if _, err := other.Create(h.ctx, u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Elsewhere"}, Promise: "Send the slides"}); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"settings: the alarm", at(11, 24, 17, 0), func() {
			st, _ := h.svc.Settings(h.ctx, u.ID)
			st.AlarmMinutes = 25
			if _, err := h.svc.PutSettings(h.ctx, u.ID, st); err != nil {
				t.Fatal(err)
			}
		}, true, false},
		{"habits on", at(11, 24, 17, 5), func() {
			st, _ := h.svc.Settings(h.ctx, u.ID)
			for _, k := range followup.HabitKinds {
				hb := st.Habits.Get(k)
				hb.Enabled = true
				st.Habits.Set(k, hb)
			}
			if _, err := h.svc.PutSettings(h.ctx, u.ID, st); err != nil {
				t.Fatal(err)
			}
		}, true, false},
		{"create with habits on", at(11, 24, 17, 10), func() {
			h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Habitual"}, Promise: "Send the notes"})
		}, false, false},
		// The create placed its blocks where the sync's full plan has them
		// too: writing them changes nothing the feed shows.
		{"sync writes blocks and series", at(11, 24, 17, 10), sync, false, true},
		{"sync again", at(11, 24, 17, 11), sync, false, true},
		{"switch calendar (tombstones deleted)", at(11, 24, 17, 15), func() {
			if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Calendar: "Work"}); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"tick: nudges and let-go", at(12, 4, 9, 0), func() { h.tick() }, false, false},
		{"base URL (of both processes)", at(12, 4, 9, 5), func() {
			h.svc.BaseURL, other.BaseURL = "https://elsewhere.example", "https://elsewhere.example"
		}, true, false},
		{"a day passes", at(12, 5, 9, 0), func() {}, false, false},
		{"a backup restored: the version went back", at(12, 5, 9, 5), func() {
			if _, err := h.db.SQL().Exec(h.db.Rebind(`UPDATE user_versions SET feed_version = 1 WHERE user_id = ?`), u.ID); err != nil {
				t.Fatal(err)
			}
		}, true, false},
		{"blocks before November 25 leave the window", at(11, 25, 12, 0).AddDate(0, 0, service.FeedHistoryDays), func() {}, false, false},
		{"every block has left", at(12, 5, 12, 0).AddDate(0, 0, service.FeedHistoryDays), func() {}, false, false},
	}
	for i, c := range changes {
		h.clock.Set(c.at)
		c.change()
		fc.render(t, c.name, c.full, c.same)
		if i%3 == 2 {
			// The other process keeps a render of its own, some versions behind.
			if got := renderWith(t, other, fc.token); !bytes.Equal(got, fc.doc) {
				t.Errorf("%s: the other process's feed differs (-this +other):\n%s", c.name,
					cmp.Diff(strings.Split(string(fc.doc), "\r\n"), strings.Split(string(got), "\r\n")))
			}
		}
	}
}

// renderWith renders the feed of token with svc.
func renderWith(t *testing.T, svc *service.Service, token string) []byte {
	t.Helper()
	v, err := svc.FeedVersion(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := svc.FeedDocument(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

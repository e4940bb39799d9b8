package service_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// TestLetGoAtCreate: a commitment whose let-go is already due when it is
// logged comes back let go, with nothing planned, queued for the calendar
// or added to the feed; one a minute short of it is planned as usual. The
// ten days are counted in local time across the end of summer time in
// Berlin (2026-10-25), so they last 241 hours.
func TestLetGoAtCreate(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	now := time.Date(2026, 10, 26, 10, 0, 0, 0, berlin) // Monday
	h := newHarness(t, now)
	fake := newFakeCalDAV()
	h.svc.Calendars = fake
	u := h.user("late@example.com", "Europe/Berlin")
	if _, err := h.svc.ConnectCalDAV(h.ctx, u.ID, followup.CalDAVInput{URL: "dav.example.com", Username: "ada", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	etag := h.feedVersion(u.ID).ETag
	jobs := caldavJobs(t, h)

	cases := []struct {
		name  string
		met   time.Time
		letGo bool
	}{
		{"eleven days ago", time.Date(2026, 10, 15, 18, 0, 0, 0, berlin), true},
		{"ten days ago to the minute", time.Date(2026, 10, 16, 10, 0, 0, 0, berlin), true},
		{"a minute short of ten days", time.Date(2026, 10, 16, 10, 1, 0, 0, berlin), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			met := tc.met
			c := h.create(u.ID, followup.NewCommitment{
				Contact: followup.Contact{Name: "Jane"}, MetAt: &met, Promise: "Send the deck",
				Meeting: &followup.Meeting{Start: now.AddDate(0, 0, 2), Minutes: 30},
			})
			if !tc.letGo {
				if c.Status != followup.StatusOpen || step(t, c, followup.KindRefresher).Status != followup.StepPlanned {
					t.Fatalf("commitment %s with steps %+v, want open and planned", c.Status, summarize(c.Steps))
				}
				return
			}
			for _, got := range []followup.Commitment{c, h.get(u.ID, c.ID)} {
				if got.Status != followup.StatusLetGo || got.EndedAt == nil || len(got.Warnings) == 0 {
					t.Errorf("commitment is %s (ended %v, warnings %q), want let_go with a warning", got.Status, got.EndedAt, got.Warnings)
				}
				want := map[followup.StepKind][]followup.StepStatus{
					followup.KindRefresher: {followup.StepCancelled}, followup.KindDeliver: {followup.StepCancelled},
					followup.KindMeeting: {followup.StepCancelled}, followup.KindConfirm: {followup.StepCancelled},
					followup.KindLetGo: {followup.StepDone},
				}
				if diff := cmp.Diff(want, kindStatus(got)); diff != "" {
					t.Errorf("steps (-want +got):\n%s", diff)
				}
			}
			if got := h.feedUIDs(u.ID); len(got) != 0 {
				t.Errorf("the feed holds %v", got)
			}
			if v := h.feedVersion(u.ID).ETag; v != etag {
				t.Errorf("the feed changed: ETag %s -> %s", etag, v)
			}
			if n := caldavJobs(t, h); n != jobs {
				t.Errorf("%d calendar jobs queued", n-jobs)
			}
			if rep, err := h.svc.Sync(h.ctx, u.ID); err != nil || rep.Written != 0 || fake.puts != 0 {
				t.Errorf("sync wrote %d (%d PUTs, %v)", rep.Written, fake.puts, err)
			}
		})
	}
}

// caldavJobs counts the calendar write jobs in the queue.
func caldavJobs(t *testing.T, h *harness) int {
	t.Helper()
	var n int
	if err := h.db.SQL().QueryRowContext(h.ctx, h.db.Rebind(`SELECT count(*) FROM river_job WHERE kind = ?`), followup.JobCalDAVStep).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

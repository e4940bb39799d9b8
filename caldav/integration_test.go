package caldav_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
	"github.com/followup/followup/internal/davtest"
)

// rawDo is "another client": a plain request with the test user's
// credentials. It returns the status, the ETag and the body.
func rawDo(t *testing.T, srv davtest.Server, method, url, body string, hdr map[string]string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(srv.Username, srv.Password)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("ETag"), string(b)
}

func rawPut(t *testing.T, srv davtest.Server, url, ics string) {
	t.Helper()
	status, _, body := rawDo(t, srv, http.MethodPut, url, ics, map[string]string{"Content-Type": "text/calendar; charset=utf-8"})
	if status/100 != 2 {
		t.Fatalf("raw PUT %s: HTTP %d: %s", url, status, body)
	}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// vtimezoneBerlin is the VTIMEZONE servers expect next to a TZID.
const vtimezoneBerlin = `BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
`

// weeklyMeeting is a weekly Monday 10:00 Berlin meeting, six times from
// 2026-03-02, without 03-09 (EXDATE), with 03-16 moved to 15:00 (an
// override), crossing the 2026-03-29 DST change.
var weeklyMeeting = crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//other client//EN
` + vtimezoneBerlin + `BEGIN:VEVENT
UID:weekly-1@other.test
DTSTAMP:20260201T000000Z
DTSTART;TZID=Europe/Berlin:20260302T100000
DTEND;TZID=Europe/Berlin:20260302T110000
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=Europe/Berlin:20260309T100000
SUMMARY:Weekly
END:VEVENT
BEGIN:VEVENT
UID:weekly-1@other.test
DTSTAMP:20260201T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20260316T100000
DTSTART;TZID=Europe/Berlin:20260316T150000
DTEND;TZID=Europe/Berlin:20260316T160000
SUMMARY:Weekly (moved)
END:VEVENT
END:VCALENDAR
`)

var allDay = crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//other client//EN
BEGIN:VEVENT
UID:allday-1@other.test
DTSTAMP:20260201T000000Z
DTSTART;VALUE=DATE:20260320
DTEND;VALUE=DATE:20260321
SUMMARY:Offsite
END:VEVENT
END:VCALENDAR
`)

var transparent = crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//other client//EN
BEGIN:VEVENT
UID:free-1@other.test
DTSTAMP:20260201T000000Z
DTSTART:20260304T120000Z
DTEND:20260304T130000Z
TRANSP:TRANSPARENT
SUMMARY:Lunch (free)
END:VEVENT
END:VCALENDAR
`)

var oneOff = crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//other client//EN
BEGIN:VEVENT
UID:oneoff-1@other.test
DTSTAMP:20260201T000000Z
DTSTART:20260305T130000Z
DURATION:PT90M
SUMMARY:Dentist
END:VEVENT
END:VCALENDAR
`)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func code(err error) string { return followup.ErrorCode(err) }

// TestRealServers runs the client against real Radicale and Xandikos.
func TestRealServers(t *testing.T) {
	for _, sv := range davtest.Servers {
		t.Run(sv.Name, func(t *testing.T) {
			t.Parallel()
			srv := sv.Start(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c := caldav.New(&http.Client{Timeout: 10 * time.Second})
			acct := followup.CalDAVAccount{URL: srv.URL, Username: srv.Username, Password: srv.Password}

			// Discovery from the server root, through /.well-known/caldav.
			d, err := c.Discover(ctx, acct)
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if d.HomeSet != srv.HomeSet {
				t.Errorf("Discover home set = %q, want %q", d.HomeSet, srv.HomeSet)
			}
			if !strings.HasSuffix(d.Principal, "/alice/") {
				t.Errorf("Discover principal = %q, want .../alice/", d.Principal)
			}
			if !d.CanMkCalendar {
				t.Errorf("Discover CanMkCalendar = false, want true")
			}

			// A wrong password is the password error.
			bad := acct
			bad.Password = "wrong-password"
			_, err = c.Discover(ctx, bad)
			if code(err) != followup.EREMOTE || followup.ErrorField(err) != "password" {
				t.Errorf("Discover with a wrong password: %v, want EREMOTE on field password", err)
			}

			cal, err := c.CreateCalendar(ctx, acct, d.HomeSet, "Follow-ups")
			if err != nil {
				t.Fatalf("CreateCalendar: %v", err)
			}
			want := followup.Calendar{URL: d.HomeSet + "follow-ups/", Name: "Follow-ups", Components: []string{"VEVENT"}}
			if diff := cmp.Diff(want, cal); diff != "" {
				t.Errorf("CreateCalendar (-want +got):\n%s", diff)
			}
			if srv.Name == "xandikos" {
				// Xandikos ignores the component set of MKCALENDAR.
				want.Components = []string{"VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY"}
			}
			again, err := c.CreateCalendar(ctx, acct, d.HomeSet, "Follow-ups")
			if err != nil || again.URL != cal.URL || !again.SupportsEvents() {
				t.Errorf("CreateCalendar again = %+v, %v; want the same calendar", again, err)
			}
			d, err = c.Discover(ctx, acct)
			if err != nil {
				t.Fatalf("Discover after MKCALENDAR: %v", err)
			}
			var found *followup.Calendar
			for i := range d.Calendars {
				if d.Calendars[i].URL == cal.URL {
					found = &d.Calendars[i]
				}
			}
			if found == nil {
				t.Fatalf("Discover calendars %+v lack %s", d.Calendars, cal.URL)
			}
			if diff := cmp.Diff(want, *found); diff != "" {
				t.Errorf("discovered calendar (-want +got):\n%s", diff)
			}

			// Discovery from the calendar's own address finds the same home.
			fromCal := acct
			fromCal.URL = cal.URL
			if d2, err := c.Discover(ctx, fromCal); err != nil || d2.HomeSet != d.HomeSet {
				t.Errorf("Discover from %s = home set %q, %v; want %q", cal.URL, d2.HomeSet, err, d.HomeSet)
			}

			t.Run("objects", func(t *testing.T) { testObjects(t, ctx, c, srv, acct, cal.URL) })
			t.Run("busy", func(t *testing.T) { testBusy(t, ctx, c, srv, acct, d.HomeSet) })
			t.Run("app moves", func(t *testing.T) { testAppMoves(t, ctx, c, srv, acct, cal.URL) })
			t.Run("series", func(t *testing.T) { testSeries(t, ctx, c, srv, acct, cal.URL) })
		})
	}
}

func testObjects(t *testing.T, ctx context.Context, c *caldav.Client, srv davtest.Server, acct followup.CalDAVAccount, calURL string) {
	ev := followup.Event{
		UID:          "step-1@followup.test",
		Sequence:     0,
		Summary:      "Send Ana the deck",
		Description:  "Promised at the meetup.",
		Location:     "Desk",
		URL:          "https://followup.example/c/1",
		Start:        utc("2026-03-10T14:00:00Z"),
		End:          utc("2026-03-10T14:30:00Z"),
		Stamp:        utc("2026-03-01T08:00:00Z"),
		Created:      utc("2026-03-01T08:00:00Z"),
		AlarmMinutes: 15,
		Categories:   []string{"followup", "deliver"},
	}
	etag, err := c.PutEvent(ctx, acct, calURL, ev, "")
	if err != nil {
		t.Fatalf("PutEvent create: %v", err)
	}
	if etag == "" {
		t.Fatalf("PutEvent create returned no ETag")
	}

	// The server's own view of the object.
	href := calURL + "step-1%40followup.test.ics"
	status, rawETag, body := rawDo(t, srv, http.MethodGet, href, "", nil)
	if status != http.StatusOK {
		t.Fatalf("raw GET %s: HTTP %d", href, status)
	}
	unfolded := strings.ReplaceAll(body, "\r\n ", "")
	for _, line := range []string{
		"UID:step-1@followup.test", "DTSTART:20260310T140000Z", "DTEND:20260310T143000Z",
		"SEQUENCE:0", "SUMMARY:Send Ana the deck", "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M",
		"CATEGORIES:followup,deliver", "URL:https://followup.example/c/1",
	} {
		if !strings.Contains(unfolded, line+"\r\n") {
			t.Errorf("object on the server lacks %q:\n%s", line, body)
		}
	}
	if strings.Contains(unfolded, "METHOD:") {
		t.Errorf("object on the server has a METHOD property:\n%s", body)
	}
	if rawETag != etag {
		t.Errorf("PutEvent ETag %q, server GET says %q", etag, rawETag)
	}

	got, err := c.GetEvent(ctx, acct, calURL, ev.UID)
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	wantRemote := followup.RemoteEvent{UID: ev.UID, Href: href, ETag: etag, Start: ev.Start, End: ev.End}
	if diff := cmp.Diff(wantRemote, got); diff != "" {
		t.Errorf("GetEvent (-want +got):\n%s", diff)
	}

	// Creating again must not overwrite (If-None-Match: *).
	if _, err := c.PutEvent(ctx, acct, calURL, ev, ""); code(err) != followup.ECONFLICT {
		t.Errorf("PutEvent create twice: %v, want ECONFLICT", err)
	}

	ev.Sequence, ev.Start, ev.End = 1, utc("2026-03-11T09:00:00Z"), utc("2026-03-11T09:30:00Z")
	etag2, err := c.PutEvent(ctx, acct, calURL, ev, etag)
	if err != nil {
		t.Fatalf("PutEvent update: %v", err)
	}
	if etag2 == "" || etag2 == etag {
		t.Errorf("PutEvent update ETag %q, want a new one (old %q)", etag2, etag)
	}
	if _, err := c.PutEvent(ctx, acct, calURL, ev, etag); code(err) != followup.ECONFLICT {
		t.Errorf("PutEvent with a stale If-Match: %v, want ECONFLICT", err)
	}

	list, err := c.ListEvents(ctx, acct, calURL)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	wantList := []followup.RemoteEvent{{UID: ev.UID, Href: href, ETag: etag2, Start: ev.Start, End: ev.End, Sequence: 1}}
	if diff := cmp.Diff(wantList, list); diff != "" {
		t.Errorf("ListEvents (-want +got):\n%s", diff)
	}

	if err := c.DeleteEvent(ctx, acct, calURL, ev.UID, etag); code(err) != followup.ECONFLICT {
		t.Errorf("DeleteEvent with a stale If-Match: %v, want ECONFLICT", err)
	}
	if err := c.DeleteEvent(ctx, acct, calURL, ev.UID, etag2); err != nil {
		t.Errorf("DeleteEvent: %v", err)
	}
	if err := c.DeleteEvent(ctx, acct, calURL, ev.UID, ""); err != nil {
		t.Errorf("DeleteEvent of a missing object: %v, want nil", err)
	}
	if _, err := c.GetEvent(ctx, acct, calURL, ev.UID); code(err) != followup.ENOTFOUND {
		t.Errorf("GetEvent after delete: %v, want ENOTFOUND", err)
	}
}

func testBusy(t *testing.T, ctx context.Context, c *caldav.Client, srv davtest.Server, acct followup.CalDAVAccount, home string) {
	cal, err := c.CreateCalendar(ctx, acct, home, "Work")
	if err != nil {
		t.Fatalf("CreateCalendar Work: %v", err)
	}
	rawPut(t, srv, cal.URL+"weekly.ics", weeklyMeeting)
	rawPut(t, srv, cal.URL+"allday.ics", allDay)
	rawPut(t, srv, cal.URL+"free.ics", transparent)

	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-04-01T00:00:00Z")
	want := []followup.Interval{
		{Start: utc("2026-03-02T09:00:00Z"), End: utc("2026-03-02T10:00:00Z")},
		// 03-09 is an EXDATE; 03-16 is moved to 15:00 Berlin.
		{Start: utc("2026-03-16T14:00:00Z"), End: utc("2026-03-16T15:00:00Z")},
		{Start: utc("2026-03-20T00:00:00Z"), End: utc("2026-03-21T00:00:00Z"), AllDay: true},
		{Start: utc("2026-03-23T09:00:00Z"), End: utc("2026-03-23T10:00:00Z")},
		// After the DST change 10:00 Berlin is 08:00 UTC.
		{Start: utc("2026-03-30T08:00:00Z"), End: utc("2026-03-30T09:00:00Z")},
	}
	read, err := c.Busy(ctx, acct, cal.URL, from, to, followup.BusyState{})
	if err != nil {
		t.Fatalf("Busy full: %v", err)
	}
	if diff := cmp.Diff(want, sorted(read.State.Intervals())); diff != "" {
		t.Errorf("Busy full intervals (-want +got):\n%s", diff)
	}
	if !read.Changed || read.Requests != 2 {
		t.Errorf("Busy full: Changed %v Requests %d, want true 2", read.Changed, read.Requests)
	}
	if read.State.SyncToken == "" {
		t.Errorf("Busy full: no sync token; %s supports sync-collection", srv.Name)
	}

	// Unchanged: exactly one request.
	again, err := c.Busy(ctx, acct, cal.URL, from, to, read.State)
	if err != nil {
		t.Fatalf("Busy unchanged: %v", err)
	}
	if again.Changed || again.Requests != 1 {
		t.Errorf("Busy unchanged: Changed %v Requests %d, want false 1", again.Changed, again.Requests)
	}
	if diff := cmp.Diff(want, sorted(again.State.Intervals())); diff != "" {
		t.Errorf("Busy unchanged intervals (-want +got):\n%s", diff)
	}

	// Another client adds an event.
	rawPut(t, srv, cal.URL+"oneoff.ics", oneOff)
	added, err := c.Busy(ctx, acct, cal.URL, from, to, again.State)
	if err != nil {
		t.Fatalf("Busy after add: %v", err)
	}
	wantAdded := sorted(append([]followup.Interval{{Start: utc("2026-03-05T13:00:00Z"), End: utc("2026-03-05T14:30:00Z")}}, want...))
	if diff := cmp.Diff(wantAdded, sorted(added.State.Intervals())); diff != "" {
		t.Errorf("Busy after add (-want +got):\n%s", diff)
	}
	if !added.Changed || added.Requests != 2 {
		t.Errorf("Busy after add: Changed %v Requests %d, want true 2 (sync + multiget)", added.Changed, added.Requests)
	}

	// ... and deletes it again.
	if status, _, _ := rawDo(t, srv, http.MethodDelete, cal.URL+"oneoff.ics", "", nil); status/100 != 2 {
		t.Fatalf("raw DELETE: HTTP %d", status)
	}
	removed, err := c.Busy(ctx, acct, cal.URL, from, to, added.State)
	if err != nil {
		t.Fatalf("Busy after delete: %v", err)
	}
	if diff := cmp.Diff(want, sorted(removed.State.Intervals())); diff != "" {
		t.Errorf("Busy after delete (-want +got):\n%s", diff)
	}
	if !removed.Changed || removed.Requests != 1 {
		t.Errorf("Busy after delete: Changed %v Requests %d, want true 1", removed.Changed, removed.Requests)
	}

	// A token the server does not know means a full resync.
	stale := removed.State
	stale.SyncToken = strings.TrimSuffix(stale.SyncToken, "/") + "0bad"
	resync, err := c.Busy(ctx, acct, cal.URL, from, to, stale)
	if err != nil {
		t.Fatalf("Busy with a stale token: %v", err)
	}
	if diff := cmp.Diff(want, sorted(resync.State.Intervals())); diff != "" {
		t.Errorf("Busy with a stale token (-want +got):\n%s", diff)
	}
	if resync.Requests != 3 {
		t.Errorf("Busy with a stale token: Requests %d, want 3 (sync, propfind, query)", resync.Requests)
	}

	// Another window is a full read.
	other, err := c.Busy(ctx, acct, cal.URL, from, utc("2026-03-10T00:00:00Z"), removed.State)
	if err != nil {
		t.Fatalf("Busy other window: %v", err)
	}
	if diff := cmp.Diff(want[:1], sorted(other.State.Intervals())); diff != "" {
		t.Errorf("Busy other window (-want +got):\n%s", diff)
	}
}

// testAppMoves reads back our object as calendar apps rewrite it when the
// user moves it: the SEQUENCE they leave (RFC 5545 §3.8.7.4), and times with
// no zone, or in a zone we do not know, as Floating wall clock (§3.3.5).
func testAppMoves(t *testing.T, ctx context.Context, c *caldav.Client, srv davtest.Server, acct followup.CalDAVAccount, calURL string) {
	ev := followup.Event{UID: "step-2@followup.test", Sequence: 3, Summary: "Call Bo",
		Start: utc("2026-03-12T14:00:00Z"), End: utc("2026-03-12T14:15:00Z"), AlarmMinutes: -1}
	etag, err := c.PutEvent(ctx, acct, calURL, ev, "")
	if err != nil {
		t.Fatalf("PutEvent: %v", err)
	}
	href := calURL + "step-2%40followup.test.ics"
	want := followup.RemoteEvent{UID: ev.UID, Href: href, ETag: etag, Start: ev.Start, End: ev.End, Sequence: 3}
	if got, err := c.GetEvent(ctx, acct, calURL, ev.UID); err != nil {
		t.Fatalf("GetEvent: %v", err)
	} else if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("our own write read back (-want +got):\n%s", diff)
	}
	object := func(seq, start, end string) string {
		return crlf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//app//EN\nBEGIN:VEVENT\nUID:step-2@followup.test\nDTSTAMP:20260301T080000Z\n" +
			seq + start + "\n" + end + "\nSUMMARY:Call Bo\nEND:VEVENT\nEND:VCALENDAR\n")
	}
	for _, tc := range []struct {
		name, seq, start, end string
		want                  followup.RemoteEvent
	}{
		{"floating, sequence bumped", "SEQUENCE:4\n", "DTSTART:20260312T100000", "DTEND:20260312T101500",
			followup.RemoteEvent{Start: utc("2026-03-12T10:00:00Z"), End: utc("2026-03-12T10:15:00Z"), Floating: true, Sequence: 4}},
		{"unknown zone, no sequence", "", "DTSTART;TZID=Mars/Olympus_Mons:20260312T110000", "DTEND;TZID=Mars/Olympus_Mons:20260312T111500",
			followup.RemoteEvent{Start: utc("2026-03-12T11:00:00Z"), End: utc("2026-03-12T11:15:00Z"), Floating: true}},
		{"known zone", "SEQUENCE:3\n", "DTSTART;TZID=Europe/Berlin:20260312T110000", "DTEND;TZID=Europe/Berlin:20260312T111500",
			followup.RemoteEvent{Start: utc("2026-03-12T10:00:00Z"), End: utc("2026-03-12T10:15:00Z"), Sequence: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rawPut(t, srv, href, object(tc.seq, tc.start, tc.end))
			got, err := c.GetEvent(ctx, acct, calURL, ev.UID)
			if err != nil {
				t.Fatalf("GetEvent: %v", err)
			}
			tc.want.UID, tc.want.Href, tc.want.ETag = ev.UID, href, got.ETag
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("GetEvent (-want +got):\n%s", diff)
			}
			list, err := c.ListEvents(ctx, acct, calURL)
			if err != nil {
				t.Fatalf("ListEvents: %v", err)
			}
			for _, r := range list {
				if r.UID == ev.UID {
					if diff := cmp.Diff(tc.want, r); diff != "" {
						t.Errorf("ListEvents (-want +got):\n%s", diff)
					}
				}
			}
		})
	}
}

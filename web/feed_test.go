package web_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
	"github.com/followup/followup/ics"
	"github.com/followup/followup/service"
)

// eventView is what the feed tests compare of a VEVENT.
type eventView struct {
	UID          string
	Start, End   time.Time
	AlarmMinutes int
}

// TestFeedHTTP serves the feed: headers, conditional requests (RFC 9110
// §13.1.1, §13.1.3, §13.2.2), and every VEVENT against the API's steps.
func TestFeedHTTP(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "feed@example.com")
	// A follow-up hour of two refreshers, which the first two take: a
	// starred contact logged later must take the plain one's place.
	h.mustAPI(t, http.StatusOK, "PUT", "/api/v1/settings", u.Token, `{"followup_hour":{"days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"09:30"}}`, nil)
	plain := h.create(t, u, validCommitment("", ""))
	withMeeting := h.create(t, u, deck())
	path := h.feedPath(t, u)

	res := h.send(t, request{Method: "GET", Path: path})
	if res.Status != http.StatusOK {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	if got := res.Header.Get("Content-Type"); got != "text/calendar; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/calendar; charset=utf-8", got)
	}
	etag := res.Header.Get("ETag")
	if !regexp.MustCompile(`^"[\x21\x23-\x7e]+"$`).MatchString(etag) {
		t.Errorf("ETag %q is not a strong entity tag (RFC 9110 §8.8.3)", etag)
	}
	lm, err := http.ParseTime(res.Header.Get("Last-Modified"))
	if err != nil || !lm.Equal(start) {
		t.Errorf("Last-Modified %q (%v), want the last change %v", res.Header.Get("Last-Modified"), err, start)
	}
	body := string(res.Body)
	for _, want := range []string{"BEGIN:VCALENDAR\r\n", "\r\nX-WR-CALNAME:Follow-ups\r\n", "\r\nEND:VCALENDAR\r\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("feed lacks %q", want)
		}
	}
	if strings.Contains(strings.ReplaceAll(body, "\r\n", ""), "\n") {
		t.Error("feed has a bare LF line break (RFC 5545 §3.1)")
	}
	for _, line := range strings.Split(body, "\r\n") {
		if len(line) > 75 {
			t.Errorf("line of %d octets, want at most 75 (RFC 5545 §3.1): %q", len(line), line)
		}
	}

	// Every VEVENT is a live block of the API, with its uid and times.
	checkFeedAgainstAPI(t, h, u, res.Body, 10)

	t.Run("HEAD", func(t *testing.T) {
		r := h.send(t, request{Method: "HEAD", Path: path})
		if r.Status != http.StatusOK || len(r.Body) != 0 || r.Header.Get("ETag") != etag || r.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
			t.Errorf("HEAD: %d %v %q", r.Status, r.Header, r.Body)
		}
	})

	lmText := res.Header.Get("Last-Modified")
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"If-None-Match", map[string]string{"If-None-Match": etag}, 304},
		{"If-None-Match weak", map[string]string{"If-None-Match": "W/" + etag}, 304},
		{"If-None-Match list", map[string]string{"If-None-Match": `"other", ` + etag}, 304},
		{"If-None-Match star", map[string]string{"If-None-Match": "*"}, 304},
		{"If-None-Match other", map[string]string{"If-None-Match": `"other"`}, 200},
		{"If-None-Match unquoted", map[string]string{"If-None-Match": strings.Trim(etag, `"`)}, 200},
		{"If-Modified-Since same", map[string]string{"If-Modified-Since": lmText}, 304},
		{"If-Modified-Since later", map[string]string{"If-Modified-Since": start.Add(time.Hour).UTC().Format(http.TimeFormat)}, 304},
		{"If-Modified-Since earlier", map[string]string{"If-Modified-Since": start.Add(-time.Second).UTC().Format(http.TimeFormat)}, 200},
		{"If-Modified-Since garbage", map[string]string{"If-Modified-Since": "yesterday"}, 200},
		{"If-None-Match wins over If-Modified-Since", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": lmText}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.send(t, request{Method: "GET", Path: path, Header: tc.header})
			if r.Status != tc.want {
				t.Fatalf("status %d, want %d", r.Status, tc.want)
			}
			if r.Header.Get("ETag") != etag {
				t.Errorf("ETag %q, want %q", r.Header.Get("ETag"), etag)
			}
			if tc.want == 304 && len(r.Body) != 0 {
				t.Errorf("304 with a body: %q", r.Body)
			}
			if tc.want == 200 && !bytes.Equal(r.Body, res.Body) {
				t.Error("the same version answers a different body")
			}
		})
	}

	// A starred commitment takes the follow-up hour: the plain one's
	// refresher moves, the ETag changes and the moved VEVENT's SEQUENCE rises.
	before := decodeFeed(t, res.Body)
	h.clock.Add(30 * time.Minute)
	star := h.create(t, u, validCommitment("priority", "true"))
	res2 := h.send(t, request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": etag}})
	if res2.Status != http.StatusOK {
		t.Fatalf("after a change, If-None-Match with the old ETag: status %d, want 200", res2.Status)
	}
	etag2 := res2.Header.Get("ETag")
	if etag2 == etag {
		t.Errorf("ETag %s unchanged after a change", etag)
	}
	if lm2, _ := http.ParseTime(res2.Header.Get("Last-Modified")); !lm2.Equal(h.clock.Now()) {
		t.Errorf("Last-Modified %v, want the change's time %v", lm2, h.clock.Now())
	}
	after := decodeFeed(t, res2.Body)
	moved := checkSequences(t, before, after)
	if refresher := plain.stepOf(t, "refresher").UID; !moved[refresher] {
		t.Errorf("the plain commitment's refresher %s did not move for the starred one; moved: %v", refresher, moved)
	}
	checkFeedAgainstAPI(t, h, u, res2.Body, 10)
	if !uids(after)[star.stepOf(t, "refresher").UID] {
		t.Error("the new commitment's refresher is not in the feed")
	}

	// An action changes the feed again; a settings change too.
	h.clock.Add(time.Minute)
	h.act(t, u, withMeeting.ID, "contacted")
	res3 := h.send(t, request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": etag2}})
	if res3.Status != http.StatusOK || res3.Header.Get("ETag") == etag2 {
		t.Errorf("after an action: status %d, ETag %q (was %q); want 200 and a new ETag", res3.Status, res3.Header.Get("ETag"), etag2)
	}
	checkSequences(t, after, decodeFeed(t, res3.Body))
	checkFeedAgainstAPI(t, h, u, res3.Body, 10)
	h.mustAPI(t, http.StatusOK, "PUT", "/api/v1/settings", u.Token, `{"alarm_minutes":25}`, nil)
	res4 := h.send(t, request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": res3.Header.Get("ETag")}})
	if res4.Status != http.StatusOK {
		t.Fatalf("after a settings change: status %d, want 200", res4.Status)
	}
	checkFeedAgainstAPI(t, h, u, res4.Body, 25)
}

// decodeFeed parses a served feed with ics.Decode.
func decodeFeed(tb testing.TB, body []byte) []followup.Event {
	tb.Helper()
	evs, err := ics.Decode(bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("decode feed: %v\n%s", err, body)
	}
	return evs
}

// checkFeedAgainstAPI checks that the feed holds exactly one VEVENT per
// live block of the user's commitments, with the step's uid, times and
// the alarm.
func checkFeedAgainstAPI(t *testing.T, h *harness, u user, body []byte, alarm int) {
	t.Helper()
	want := map[string]eventView{}
	for _, c := range h.list(t, u, "?limit=500") {
		for _, s := range c.Steps {
			if followup.StepKind(s.Kind).IsBlock() && followup.StepStatus(s.Status).Pending() {
				want[s.UID] = eventView{UID: s.UID, Start: s.Start.UTC(), End: s.End.UTC(), AlarmMinutes: alarm}
			}
		}
	}
	evs := decodeFeed(t, body)
	got := map[string]eventView{}
	for _, ev := range evs {
		if _, dup := got[ev.UID]; dup {
			t.Errorf("UID %s twice in the feed", ev.UID)
		}
		got[ev.UID] = eventView{UID: ev.UID, Start: ev.Start.UTC(), End: ev.End.UTC(), AlarmMinutes: ev.AlarmMinutes}
		if ev.Summary == "" || ev.Stamp.IsZero() || ev.Sequence < 0 {
			t.Errorf("event %s lacks SUMMARY or DTSTAMP, or has SEQUENCE %d", ev.UID, ev.Sequence)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("feed events (-API steps +feed):\n%s", diff)
	}
}

// checkSequences compares two versions of a feed: an event whose time or
// text changed has a higher SEQUENCE (RFC 5545 §3.8.7.4), and no SEQUENCE
// falls. It returns the UIDs of events that moved.
func checkSequences(t *testing.T, before, after []followup.Event) map[string]bool {
	t.Helper()
	old := map[string]followup.Event{}
	for _, ev := range before {
		old[ev.UID] = ev
	}
	moved := map[string]bool{}
	for _, ev := range after {
		o, ok := old[ev.UID]
		if !ok {
			continue
		}
		changed := !o.Start.Equal(ev.Start) || !o.End.Equal(ev.End)
		if changed {
			moved[ev.UID] = true
		}
		switch {
		case ev.Sequence < o.Sequence:
			t.Errorf("event %s: SEQUENCE fell from %d to %d", ev.UID, o.Sequence, ev.Sequence)
		case changed && ev.Sequence <= o.Sequence:
			t.Errorf("event %s moved %v–%v → %v–%v with SEQUENCE %d → %d, want it to rise", ev.UID, o.Start, o.End, ev.Start, ev.End, o.Sequence, ev.Sequence)
		case changed && !ev.Stamp.After(o.Stamp):
			t.Errorf("event %s moved but DTSTAMP stayed %v", ev.UID, ev.Stamp)
		}
	}
	return moved
}

// TestFeedNotFound: a feed is found by its exact token alone.
func TestFeedNotFound(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "notfound@example.com")
	h.create(t, u, validCommitment("", ""))
	path := h.feedPath(t, u)
	token := strings.TrimSuffix(strings.TrimPrefix(path, "/feeds/"), ".ics")
	if r := h.send(t, request{Method: "GET", Path: path}); r.Status != http.StatusOK {
		t.Fatalf("own feed: status %d", r.Status)
	}
	flip := []byte(token)
	if flip[0] == 'A' {
		flip[0] = 'B'
	} else {
		flip[0] = 'A'
	}
	unknown := h.send(t, request{Method: "GET", Path: "/feeds/" + string(flip) + ".ics"})
	wantError(t, unknown, http.StatusNotFound, "")
	for _, p := range []string{
		"/feeds/" + token,
		"/feeds/" + token + ".ical",
		"/feeds/" + token + ".ICS",
		"/feeds/" + token + ".ics.ics",
		"/feeds/" + token + ".icsx",
		"/feeds/" + token + "x.ics",
		"/feeds/" + token[:len(token)-1] + ".ics",
		"/feeds/" + strings.ToUpper(token) + ".ics",
		"/feeds/" + token + ".json",
		"/feeds/" + token + "%00.ics",
		"/feeds/" + token + ".ics/",
		"/feeds/" + token + ".ics/x",
		"/feeds/.ics",
		"/feeds/",
		"/feeds/..%2F" + token + ".ics",
		"/feeds/" + strings.Repeat("A", 43) + ".ics",
		"/feeds/" + strings.Repeat("A", 4000) + ".ics",
		"/feeds/" + strings.Repeat("!", 43) + ".ics",
		"/api/v1/feeds/" + token + ".ics",
	} {
		t.Run(strings.TrimPrefix(p, "/feeds/"), func(t *testing.T) {
			if strings.ToUpper(token) == token && strings.Contains(p, strings.ToUpper(token)) {
				t.Skip("token has no lower case")
			}
			r := h.send(t, request{Method: "GET", Path: p})
			if p == "/api/v1/feeds/"+token+".ics" {
				wantError(t, r, http.StatusUnauthorized, "")
				return
			}
			wantError(t, r, http.StatusNotFound, "")
			if p != "/feeds/" && p != "/feeds/"+token+".ics/" && p != "/feeds/"+token+".ics/x" && !bytes.Equal(r.Body, unknown.Body) {
				t.Errorf("answer %s differs from an unknown token's %s", r.Body, unknown.Body)
			}
		})
	}
}

// TestLogsKeepNoTokens exercises the API and the feed, good and bad, and
// greps the logs for the feed token and the API token.
func TestLogsKeepNoTokens(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "logs@example.com")
	c := h.create(t, u, deck())
	path := h.feedPath(t, u)
	token := strings.TrimSuffix(strings.TrimPrefix(path, "/feeds/"), ".ics")
	h.send(t, request{Method: "GET", Path: path})
	h.send(t, request{Method: "HEAD", Path: path})
	h.send(t, request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": "*"}})
	h.send(t, request{Method: "GET", Path: path + "x"})
	h.send(t, request{Method: "GET", Path: "/feeds/" + token})
	h.send(t, request{Method: "GET", Path: path + "?token=" + token})
	h.send(t, request{Method: "GET", Path: "/feeds/" + token + ".ics/extra"})
	h.send(t, request{Method: "POST", Path: path})
	h.send(t, request{Method: "GET", Path: "/api/v1/feed?t=" + u.Token, Token: u.Token})
	h.send(t, request{Method: "GET", Path: "/api/v1/settings", Token: u.Token + "x"})
	h.send(t, request{Method: "GET", Path: "/api/v1/settings", Header: map[string]string{"Authorization": "Basic " + u.Token}})
	h.send(t, request{Method: "POST", Path: idPath(c.ID, "/actions"), Token: u.Token, Body: strings.NewReader(`{"action":"` + u.Token + `"}`)})
	h.send(t, request{Method: "POST", Path: "/api/v1/commitments", Token: u.Token, Body: strings.NewReader(`{"` + token + `":1}`)})
	h.mustAPI(t, http.StatusOK, "POST", "/api/v1/feed/rotate", u.Token, nil, nil)
	h.send(t, request{Method: "GET", Path: path})
	newPath := h.feedPath(t, u)
	h.send(t, request{Method: "GET", Path: newPath})
	newToken := strings.TrimSuffix(strings.TrimPrefix(newPath, "/feeds/"), ".ics")

	logs := h.logs.String()
	if !strings.Contains(logs, `"path":"/feeds/[redacted]"`) || !strings.Contains(logs, `"path":"/api/v1/feed"`) {
		t.Fatalf("the requests were not logged as expected:\n%s", logs)
	}
	for name, secret := range map[string]string{"feed token": token, "new feed token": newToken, "API token": u.Token, "API token body": strings.TrimPrefix(u.Token, "fu_")} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain the %s:\n%s", name, logs)
		}
	}
}

// TestFeedChangesWhenNothingMoves: a new commitment adds its meeting to the
// feed, so the feed version must rise even when replanning moves nothing.
func TestFeedChangesWhenNothingMoves(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "nothing@example.com")
	path := h.feedPath(t, u)
	before := h.send(t, request{Method: "GET", Path: path})
	c := h.create(t, u, deck())
	after := h.send(t, request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": before.Header.Get("ETag")}})
	if after.Status != http.StatusOK {
		t.Fatalf("status %d after a new commitment, want 200 with a new version", after.Status)
	}
	if !uids(decodeFeed(t, after.Body))[c.stepOf(t, "meeting").UID] {
		t.Error("the new meeting is not in the feed")
	}
}

// TestFeedLastModifiedFollowsAgeOut: a block that ends FeedHistoryDays ago
// leaves the feed as a day begins; the ETag and Last-Modified both change
// then, so that a client asking with If-Modified-Since alone gets the new
// feed too (RFC 9110 §13.1.3), and the feed stays the same all day long.
func TestFeedLastModifiedFollowsAgeOut(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "ageout@example.com")
	h.create(t, u, validCommitment("", ""))
	path := h.feedPath(t, u)
	evs := h.feedEvents(t, path)
	if len(evs) == 0 {
		t.Fatal("the feed holds no block")
	}
	first := evs[0]
	for _, ev := range evs {
		if ev.End.Before(first.End) {
			first = ev
		}
	}
	// The UTC day on which the first block has ended FeedHistoryDays ago.
	aged := first.End.UTC().AddDate(0, 0, service.FeedHistoryDays)
	day := time.Date(aged.Year(), aged.Month(), aged.Day(), 0, 0, 0, 0, time.UTC)

	h.clock.Set(day.Add(30 * time.Second))
	before := h.send(t, request{Method: "GET", Path: path})
	if before.Status != http.StatusOK || !uids(decodeFeed(t, before.Body))[first.UID] {
		t.Fatalf("on the day it ages out: status %d, block %s in the feed: %v", before.Status, first.UID, uids(decodeFeed(t, before.Body)))
	}
	etag, lmText := before.Header.Get("ETag"), before.Header.Get("Last-Modified")

	// Later the same day: the same feed, by either validator.
	h.clock.Set(day.Add(23*time.Hour + 59*time.Minute))
	for _, hdr := range []map[string]string{{"If-None-Match": etag}, {"If-Modified-Since": lmText}} {
		if r := h.send(t, request{Method: "GET", Path: path, Header: hdr}); r.Status != http.StatusNotModified || r.Header.Get("ETag") != etag {
			t.Errorf("same day, %v: status %d, ETag %q; want 304 and %q", hdr, r.Status, r.Header.Get("ETag"), etag)
		}
	}
	if r := h.send(t, request{Method: "GET", Path: path}); !bytes.Equal(r.Body, before.Body) {
		t.Error("the feed changed during the day under the same ETag")
	}

	// The next day the block is gone: both validators changed.
	next := day.AddDate(0, 0, 1)
	h.clock.Set(next.Add(10 * time.Minute))
	for _, hdr := range []map[string]string{{"If-None-Match": etag}, {"If-Modified-Since": lmText}} {
		r := h.send(t, request{Method: "GET", Path: path, Header: hdr})
		if r.Status != http.StatusOK {
			t.Fatalf("next day, %v: status %d, want 200", hdr, r.Status)
		}
		if uids(decodeFeed(t, r.Body))[first.UID] {
			t.Errorf("next day, %v: block %s ended %d days ago and is still in the feed", hdr, first.UID, service.FeedHistoryDays)
		}
		lm, err := http.ParseTime(r.Header.Get("Last-Modified"))
		if err != nil || !lm.Equal(next) {
			t.Errorf("next day, %v: Last-Modified %q, want the day's start %v", hdr, r.Header.Get("Last-Modified"), next)
		}
		if r.Header.Get("ETag") == etag {
			t.Errorf("next day, %v: ETag unchanged", hdr)
		}
		// If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
		stale := h.send(t, request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": etag, "If-Modified-Since": r.Header.Get("Last-Modified")}})
		if stale.Status != http.StatusOK {
			t.Errorf("next day, old ETag with the new Last-Modified: status %d, want 200", stale.Status)
		}
		fresh := h.send(t, request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": r.Header.Get("ETag"), "If-Modified-Since": lmText}})
		if fresh.Status != http.StatusNotModified {
			t.Errorf("next day, new ETag with the old Last-Modified: status %d, want 304", fresh.Status)
		}
	}
}

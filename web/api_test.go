package web_test

import (
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/followup/followup"
)

// utc parses an RFC 3339 time for expectations.
func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// idPath is the API path of a commitment.
func idPath(id int64, suffix string) string {
	return "/api/v1/commitments/" + strconv.FormatInt(id, 10) + suffix
}

// act posts an action and answers the updated commitment.
func (h *harness) act(tb testing.TB, u user, id int64, action string) commitment {
	tb.Helper()
	var c commitment
	h.mustAPI(tb, http.StatusOK, "POST", idPath(id, "/actions"), u.Token, map[string]string{"action": action}, &c)
	return c
}

// list answers GET /api/v1/commitments with a query.
func (h *harness) list(tb testing.TB, u user, query string) []commitment {
	tb.Helper()
	var out struct {
		Commitments []commitment `json:"commitments"`
	}
	res := h.mustAPI(tb, http.StatusOK, "GET", "/api/v1/commitments"+query, u.Token, nil, &out)
	if out.Commitments == nil {
		tb.Fatalf("list%s: commitments is not a list: %s", query, res.Body)
	}
	return out.Commitments
}

func ids(cs []commitment) []int64 {
	out := []int64{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// liveUIDs returns the UIDs of a commitment's steps that the feed must show:
// pending blocks, and done blocks completed after they started.
func liveUIDs(cs ...commitment) map[string]bool {
	m := map[string]bool{}
	for _, c := range cs {
		for _, s := range c.Steps {
			if followup.StepKind(s.Kind).IsBlock() && followup.StepStatus(s.Status).Pending() {
				m[s.UID] = true
			}
		}
	}
	return m
}

// allUIDs returns the UIDs of every step of the commitments.
func allUIDs(cs ...commitment) map[string]bool {
	m := map[string]bool{}
	for _, c := range cs {
		for _, s := range c.Steps {
			m[s.UID] = true
		}
	}
	return m
}

// TestOwnership: another user's commitments do not exist for you.
func TestOwnership(t *testing.T) {
	h := newHarness(t)
	a := h.newUser(t, "a@example.com")
	b := h.newUser(t, "b@example.com")
	theirs := validCommitment("direction", `"theirs"`)
	aCs := []commitment{h.create(t, a, deck()), h.create(t, a, theirs)}
	bCs := []commitment{h.create(t, b, validCommitment("", ""))}
	h.act(t, a, aCs[1].ID, "contacted")
	aCs[1] = h.get(t, a, aCs[1].ID)

	missing := h.send(t, request{Method: "GET", Path: "/api/v1/commitments/999999", Token: b.Token})
	for _, c := range aCs {
		for _, r := range []struct{ name, method, suffix, body string }{
			{"get", "GET", "", ""},
			{"contacted", "POST", "/actions", `{"action":"contacted"}`},
			{"replied", "POST", "/actions", `{"action":"replied"}`},
			{"delivered", "POST", "/actions", `{"action":"delivered"}`},
			{"let_go", "POST", "/actions", `{"action":"let_go"}`},
			{"bad action", "POST", "/actions", `{"action":"dance"}`},
			{"delete", "DELETE", "", ""},
		} {
			t.Run(strconv.FormatInt(c.ID, 10)+"/"+r.name, func(t *testing.T) {
				req := request{Method: r.method, Path: idPath(c.ID, r.suffix), Token: b.Token}
				if r.body != "" {
					req.Body = strings.NewReader(r.body)
				}
				res := h.send(t, req)
				if r.name == "bad action" && res.Status == http.StatusBadRequest {
					return // an invalid action may be refused before the lookup
				}
				wantError(t, res, http.StatusNotFound, "")
				// The answer must not tell "not yours" from "does not exist".
				if diff := cmp.Diff(string(missing.Body), string(res.Body)); diff != "" {
					t.Errorf("another user's commitment answers unlike a missing one (-missing +got):\n%s", diff)
				}
			})
		}
		if got := h.get(t, a, c.ID); !cmp.Equal(c, got, cmpopts.IgnoreFields(commitment{}, "Warnings")) {
			t.Errorf("B's requests changed A's commitment %d:\n%s", c.ID, cmp.Diff(c, got, cmpopts.IgnoreFields(commitment{}, "Warnings")))
		}
	}
	for _, q := range []string{"", "?status=open", "?status=done", "?status=let_go", "?limit=500"} {
		if got, want := ids(h.list(t, b, q)), ids(filter(bCs, q)); !cmp.Equal(want, got) {
			t.Errorf("B's list%s = %v, want %v", q, got, want)
		}
	}
	if got := len(h.list(t, a, "")); got != len(aCs) {
		t.Errorf("A lists %d commitments, want %d", got, len(aCs))
	}
	// Feeds and agendas show only their owner's blocks.
	for _, tc := range []struct {
		name         string
		u            user
		mine, others []commitment
	}{{"A", a, aCs, bCs}, {"B", b, bCs, aCs}} {
		t.Run("feed "+tc.name, func(t *testing.T) {
			got := uids(h.feedEvents(t, h.feedPath(t, tc.u)))
			if diff := cmp.Diff(liveUIDs(tc.mine...), got); diff != "" {
				t.Errorf("feed UIDs (-own live blocks +feed):\n%s", diff)
			}
			for uid := range allUIDs(tc.others...) {
				if got[uid] {
					t.Errorf("feed shows the other user's block %s", uid)
				}
			}
		})
		t.Run("agenda "+tc.name, func(t *testing.T) {
			ag := h.agenda(t, tc.u, start.AddDate(0, 0, -1), start.AddDate(0, 0, 30))
			got := map[string]bool{}
			for _, b := range ag.Blocks {
				got[b.UID] = true
			}
			if diff := cmp.Diff(liveUIDs(tc.mine...), got); diff != "" {
				t.Errorf("agenda UIDs (-own live blocks +agenda):\n%s", diff)
			}
		})
	}
}

// filter applies a list query's status to commitments, newest first.
func filter(cs []commitment, query string) []commitment {
	v, _ := url.ParseQuery(strings.TrimPrefix(query, "?"))
	out := []commitment{}
	for i := len(cs) - 1; i >= 0; i-- {
		if s := v.Get("status"); s == "" || cs[i].Status == s {
			out = append(out, cs[i])
		}
	}
	return out
}

// get answers GET /api/v1/commitments/{id}.
func (h *harness) get(tb testing.TB, u user, id int64) commitment {
	tb.Helper()
	var c commitment
	h.mustAPI(tb, http.StatusOK, "GET", idPath(id, ""), u.Token, nil, &c)
	return c
}

// agendaAnswer is GET /api/v1/agenda's answer.
type agendaAnswer struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Zone   string    `json:"timezone"`
	Blocks []struct {
		step
		CommitmentID int64  `json:"commitment_id"`
		Title        string `json:"title"`
	} `json:"blocks"`
	Busy []followup.Interval `json:"busy"`
}

func (h *harness) agenda(tb testing.TB, u user, from, to time.Time) agendaAnswer {
	tb.Helper()
	var a agendaAnswer
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	h.mustAPI(tb, http.StatusOK, "GET", "/api/v1/agenda?"+q.Encode(), u.Token, nil, &a)
	return a
}

// summary is what the create tests compare of a stored commitment.
type summary struct {
	Status    string
	Direction string
	MetAt     time.Time
	Due       time.Time
	DueText   string
	Warnings  int
	Kinds     map[string]string
}

func summarize(c commitment) summary {
	return summary{Status: c.Status, Direction: c.Direction, MetAt: c.MetAt.UTC(), Due: c.Due.UTC(), DueText: c.DueText, Warnings: len(c.Warnings), Kinds: c.kinds()}
}

// TestCreateCommitment posts commitments and checks what is stored: the
// deadline rules of the contract, the steps and the warnings.
func TestCreateCommitment(t *testing.T) {
	now := start.UTC()
	for _, tc := range []struct {
		name string
		body string
		want summary
	}{{
		name: "contract example",
		body: mustJSON(deck()),
		want: summary{Status: "open", Direction: "mine", MetAt: now, Due: utc("2026-11-27T17:00:00-05:00"),
			Kinds: map[string]string{"refresher": "planned", "deliver": "planned", "meeting": "planned", "confirm": "planned", "let_go": "planned"}},
	}, {
		name: "only the required fields",
		body: `{"contact":{"name":"Jane"},"promise":"Send the deck"}`,
		want: summary{Status: "open", Direction: "mine", MetAt: now, Due: now.Add(24 * time.Hour),
			Kinds: map[string]string{"refresher": "planned", "deliver": "planned", "let_go": "planned"}},
	}, {
		name: "deadline beyond day 10 is clamped with a warning",
		body: validCommitment("due", `"2026-12-20T17:00:00-05:00"`),
		want: summary{Status: "open", Direction: "mine", MetAt: now, Due: now.AddDate(0, 0, 10), Warnings: 1,
			Kinds: map[string]string{"refresher": "planned", "deliver": "planned", "let_go": "planned"}},
	}, {
		name: "due_text beyond day 10 is clamped with a warning",
		body: validCommitment("due_text", `"in 3 weeks"`),
		want: summary{Status: "open", Direction: "mine", MetAt: now, Due: now.AddDate(0, 0, 10), DueText: "in 3 weeks", Warnings: 1,
			Kinds: map[string]string{"refresher": "planned", "deliver": "planned", "let_go": "planned"}},
	}, {
		name: "due_text by Friday is the end of the working day",
		body: validCommitment("due_text", `"by Friday"`),
		want: summary{Status: "open", Direction: "mine", MetAt: now, Due: utc("2026-11-27T17:00:00-05:00"), DueText: "by Friday",
			Kinds: map[string]string{"refresher": "planned", "deliver": "planned", "let_go": "planned"}},
	}, {
		name: "due_text in 3 days",
		body: validCommitment("due_text", `"in 3 days"`),
		want: summary{Status: "open", Direction: "mine", MetAt: now, Due: utc("2026-11-26T17:00:00-05:00"), DueText: "in 3 days",
			Kinds: map[string]string{"refresher": "planned", "deliver": "planned", "let_go": "planned"}},
	}, {
		name: "due_text tomorrow",
		body: validCommitment("due_text", `"tomorrow"`),
		want: summary{Status: "open", Direction: "mine", MetAt: now, Due: utc("2026-11-24T17:00:00-05:00"), DueText: "tomorrow",
			Kinds: map[string]string{"refresher": "planned", "deliver": "planned", "let_go": "planned"}},
	}, {
		name: "due_text bare date",
		body: validCommitment("due_text", `"2026-11-30"`),
		want: summary{Status: "open", Direction: "mine", MetAt: now, Due: utc("2026-11-30T17:00:00-05:00"), DueText: "2026-11-30",
			Kinds: map[string]string{"refresher": "planned", "deliver": "planned", "let_go": "planned"}},
	}, {
		name: "met earlier, due in words counts from the day it is logged",
		body: `{"contact":{"name":"Jane"},"promise":"x","met_at":"2026-11-20T12:00:00-05:00","due_text":"tomorrow"}`,
		want: summary{Status: "open", Direction: "mine", MetAt: utc("2026-11-20T12:00:00-05:00"), Due: utc("2026-11-24T17:00:00-05:00"), DueText: "tomorrow",
			Kinds: map[string]string{"refresher": "planned", "deliver": "planned", "let_go": "planned"}},
	}, {
		name: "theirs gets a chase",
		body: validCommitment("direction", `"theirs"`),
		want: summary{Status: "open", Direction: "theirs", MetAt: now, Due: now.Add(24 * time.Hour),
			Kinds: map[string]string{"refresher": "planned", "chase": "planned", "let_go": "planned"}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			u := h.newUser(t, "create@example.com")
			res := h.mustAPI(t, http.StatusCreated, "POST", "/api/v1/commitments", u.Token, tc.body, nil)
			var c commitment
			if err := json.Unmarshal(res.Body, &c); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summarize(c)); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			if got, want := res.Header.Get("Location"), idPath(c.ID, ""); got != want {
				t.Errorf("Location %q, want %q", got, want)
			}
			checkSteps(t, c, now)
			for _, w := range c.Warnings {
				if !strings.Contains(w, "10 days") {
					t.Errorf("warning %q does not say why", w)
				}
			}
			// GET answers what POST did; warnings belong to the POST alone.
			if diff := cmp.Diff(c, h.get(t, u, c.ID), cmpopts.IgnoreFields(commitment{}, "Warnings")); diff != "" {
				t.Errorf("GET differs from POST (-post +get):\n%s", diff)
			}
		})
	}
}

// TestCreateLetGoAtOnce: a commitment logged more than ten days after the
// meeting answers its POST let go, with nothing planned, and stays out of
// the feed; the agenda shows none of its blocks.
func TestCreateLetGoAtOnce(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "late@example.com")
	feed := h.feedPath(t, u)
	before := h.send(t, request{Method: "GET", Path: feed})
	res := h.mustAPI(t, http.StatusCreated, "POST", "/api/v1/commitments", u.Token,
		`{"contact":{"name":"Jane"},"promise":"Send the deck","met_at":"2026-11-12T18:00:00-05:00","direction":"theirs"}`, nil)
	var c commitment
	if err := json.Unmarshal(res.Body, &c); err != nil {
		t.Fatal(err)
	}
	want := summary{Status: "let_go", Direction: "theirs", MetAt: utc("2026-11-12T18:00:00-05:00"), Due: utc("2026-11-13T18:00:00-05:00"), Warnings: 1,
		Kinds: map[string]string{"refresher": "cancelled", "chase": "cancelled", "let_go": "done"}}
	if diff := cmp.Diff(want, summarize(c)); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	if c.EndedAt == nil || !c.EndedAt.Equal(start) {
		t.Errorf("ended_at %v, want %v", c.EndedAt, start)
	}
	if diff := cmp.Diff(c, h.get(t, u, c.ID), cmpopts.IgnoreFields(commitment{}, "Warnings")); diff != "" {
		t.Errorf("GET differs from POST (-post +get):\n%s", diff)
	}
	after := h.send(t, request{Method: "GET", Path: feed})
	if after.Status != http.StatusOK || strings.Contains(string(after.Body), "BEGIN:VEVENT") || after.Header.Get("ETag") != before.Header.Get("ETag") {
		t.Errorf("feed changed (ETag %s -> %s) or holds an event:\n%s", before.Header.Get("ETag"), after.Header.Get("ETag"), after.Body)
	}
	var agenda agendaAnswer
	h.mustAPI(t, http.StatusOK, "GET", "/api/v1/agenda?from=2026-11-23T00:00:00Z&to=2026-12-31T00:00:00Z", u.Token, nil, &agenda)
	if len(agenda.Blocks) != 0 {
		t.Errorf("agenda holds %d blocks", len(agenda.Blocks))
	}
}

// checkSteps checks the invariants of a fresh commitment's steps.
func checkSteps(t *testing.T, c commitment, now time.Time) {
	t.Helper()
	seen := map[string]bool{}
	for _, s := range c.Steps {
		if s.ID <= 0 || s.UID == "" || seen[s.UID] {
			t.Errorf("step %+v: missing id, or missing or repeated uid", s)
		}
		seen[s.UID] = true
		k := followup.StepKind(s.Kind)
		switch {
		case k == followup.KindMeeting:
			if c.Meeting == nil || !s.Start.Equal(c.Meeting.Start) || !s.End.Equal(c.Meeting.Start.Add(time.Duration(c.Meeting.Minutes)*time.Minute)) {
				t.Errorf("meeting step %v–%v does not match the meeting %+v", s.Start, s.End, c.Meeting)
			}
		case k.IsBlock():
			if !s.End.After(s.Start) || s.Start.Before(now) {
				t.Errorf("%s block %v–%v is empty or in the past", s.Kind, s.Start, s.End)
			}
			if !s.Late && k != followup.KindChase && s.End.After(s.Due) {
				t.Errorf("%s block ends %v after its due %v without being late", s.Kind, s.End, s.Due)
			}
			if k == followup.KindDeliver && !s.Due.Equal(c.Due) {
				t.Errorf("deliver due %v, want the commitment's %v", s.Due, c.Due)
			}
			if k == followup.KindChase && !s.Start.After(c.Due) {
				t.Errorf("chase at %v, want after the deadline %v", s.Start, c.Due)
			}
		case k == followup.KindLetGo:
			if want := c.MetAt.AddDate(0, 0, 10); !s.Start.Equal(want) {
				t.Errorf("let_go at %v, want met + 10 days %v", s.Start, want)
			}
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestCreateCommitmentForm posts the contract's example as an HTML form,
// as multipart, and as JSON labelled a form (curl -d): each is stored
// exactly like the JSON.
func TestCreateCommitmentForm(t *testing.T) {
	form := url.Values{
		"contact.name": {"Jane Doe"}, "contact.email": {"jane@example.com"}, "contact.phone": {""},
		"contact.company": {""}, "contact.url": {""},
		"met_at": {"2026-11-23T15:00:00-05:00"}, "met_where": {"SaaStr, booth 12"},
		"promise": {"Send the pricing deck"}, "direction": {"mine"}, "due": {"2026-11-27T17:00:00-05:00"},
		"priority": {"on"}, "meeting.start": {"2026-11-25T10:00:00-05:00"}, "meeting.minutes": {"30"},
		"meeting.location": {"Blue Bottle, Market St"}, "notes": {"possible client"},
	}
	post := func(t *testing.T, body, contentType string) commitment {
		h := newHarness(t)
		h.svc.Random = &counter{} // the same UIDs in every harness
		u := h.newUser(t, "form@example.com")
		res := h.send(t, request{Method: "POST", Path: "/api/v1/commitments", Token: u.Token, Body: strings.NewReader(body), ContentType: contentType})
		if res.Status != http.StatusCreated {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
		var c commitment
		if err := json.Unmarshal(res.Body, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	want := post(t, mustJSON(deck()), "application/json")
	var mp strings.Builder
	w := multipart.NewWriter(&mp)
	for k, vs := range form {
		_ = w.WriteField(k, vs[0])
	}
	w.Close()
	for _, tc := range []struct{ name, body, contentType string }{
		{"urlencoded", form.Encode(), "application/x-www-form-urlencoded"},
		{"urlencoded with charset", form.Encode(), "application/x-www-form-urlencoded; charset=UTF-8"},
		{"multipart", mp.String(), w.FormDataContentType()},
		{"JSON labelled as a form", "\n " + mustJSON(deck()), "application/x-www-form-urlencoded"},
		{"JSON without a label", mustJSON(deck()), "text/plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(want, post(t, tc.body, tc.contentType)); diff != "" {
				t.Errorf("stored unlike the JSON post (-json +%s):\n%s", tc.name, diff)
			}
		})
	}
}

// counter is a deterministic Random for the service: 0, 1, 2, …
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

// TestListCommitments lists newest first and filters by status.
func TestListCommitments(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "list@example.com")
	if got := h.send(t, request{Method: "GET", Path: "/api/v1/commitments", Token: u.Token}); !strings.Contains(string(got.Body), `"commitments":[]`) {
		t.Errorf("empty list answers %s, want an empty JSON list", got.Body)
	}
	var cs []commitment
	for i := range 3 {
		cs = append(cs, h.create(t, u, validCommitment("promise", strconv.Quote("promise "+strconv.Itoa(i)))))
		h.clock.Add(time.Minute)
	}
	h.act(t, u, cs[1].ID, "let_go")
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"", []int64{cs[2].ID, cs[1].ID, cs[0].ID}},
		{"?status=open", []int64{cs[2].ID, cs[0].ID}},
		{"?status=let_go", []int64{cs[1].ID}},
		{"?status=done", []int64{}},
		{"?limit=1", []int64{cs[2].ID}},
		{"?limit=1&offset=1", []int64{cs[1].ID}},
		{"?status=open&offset=1", []int64{cs[0].ID}},
		{"?offset=3", []int64{}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got := h.list(t, u, tc.query)
			if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			for _, c := range got {
				if len(c.Steps) == 0 {
					t.Errorf("commitment %d listed without its steps", c.ID)
				}
			}
		})
	}
}

// TestActions applies actions in sequence and checks the statuses of the
// commitment and of each step, and the feed.
func TestActions(t *testing.T) {
	type act struct {
		action string
		status int // HTTP status
		want   string
		kinds  map[string]string
	}
	const (
		P = "planned"
		D = "done"
		C = "cancelled"
	)
	for _, tc := range []struct {
		name string
		body string
		acts []act
	}{{
		name: "contacted, replied, delivered",
		body: validCommitment("due_text", `"by Friday"`),
		acts: []act{
			{"contacted", 200, "open", map[string]string{"refresher": D, "deliver": P, "let_go": C, "nudge": P, "close": P}},
			{"contacted", 409, "", nil},
			{"replied", 200, "open", map[string]string{"refresher": D, "deliver": P, "let_go": C, "nudge": C, "close": C}},
			{"replied", 409, "", nil},
			{"delivered", 200, "done", map[string]string{"refresher": D, "deliver": D, "let_go": C, "nudge": C, "close": C}},
			{"delivered", 409, "", nil},
			{"let_go", 409, "", nil},
		},
	}, {
		name: "replied first settles the contact",
		body: validCommitment("", ""),
		acts: []act{
			{"replied", 200, "open", map[string]string{"refresher": D, "deliver": P, "let_go": C}},
			{"contacted", 409, "", nil},
			{"delivered", 200, "done", map[string]string{"refresher": D, "deliver": D, "let_go": C}},
		},
	}, {
		name: "delivering my promise is the first contact",
		body: validCommitment("", ""),
		acts: []act{
			{"delivered", 200, "open", map[string]string{"refresher": D, "deliver": D, "let_go": C, "nudge": P, "close": P}},
			{"contacted", 409, "", nil},
			{"replied", 200, "done", map[string]string{"refresher": D, "deliver": D, "let_go": C, "nudge": C, "close": C}},
		},
	}, {
		name: "theirs delivered completes the chase",
		body: validCommitment("direction", `"theirs"`),
		acts: []act{
			{"delivered", 200, "open", map[string]string{"refresher": P, "chase": D, "let_go": P}},
			{"contacted", 200, "open", map[string]string{"refresher": D, "chase": D, "let_go": C, "nudge": P, "close": P}},
		},
	}, {
		name: "let_go removes every future block",
		body: mustJSON(deck()),
		acts: []act{
			{"contacted", 200, "open", map[string]string{"refresher": D, "deliver": P, "meeting": P, "confirm": P, "let_go": C, "nudge": P, "close": P}},
			{"let_go", 200, "let_go", map[string]string{"refresher": D, "deliver": C, "meeting": C, "confirm": C, "let_go": C, "nudge": C, "close": C}},
			{"let_go", 409, "", nil},
			{"replied", 409, "", nil},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			u := h.newUser(t, "act@example.com")
			other := h.create(t, u, validCommitment("promise", `"another promise"`))
			c := h.create(t, u, tc.body)
			feed := h.feedPath(t, u)
			for i, a := range tc.acts {
				h.clock.Add(time.Minute)
				before := h.fingerprint(t, u)
				res := h.api(t, "POST", idPath(c.ID, "/actions"), u.Token, map[string]string{"action": a.action}, nil)
				if a.status != http.StatusOK {
					wantError(t, res, a.status, "action")
					if after := h.fingerprint(t, u); after != before {
						t.Errorf("#%d %s: a refused action changed the store:\n%s", i, a.action, cmp.Diff(before, after))
					}
					continue
				}
				if res.Status != http.StatusOK {
					t.Fatalf("#%d %s: status %d: %s", i, a.action, res.Status, res.Body)
				}
				if err := json.Unmarshal(res.Body, &c); err != nil {
					t.Fatal(err)
				}
				if c.Status != a.want {
					t.Errorf("#%d %s: status %q, want %q", i, a.action, c.Status, a.want)
				}
				if diff := cmp.Diff(a.kinds, c.kinds()); diff != "" {
					t.Errorf("#%d %s: step statuses (-want +got):\n%s", i, a.action, diff)
				}
				if ended := c.Status != "open"; ended != (c.EndedAt != nil) {
					t.Errorf("#%d %s: status %s with ended_at %v", i, a.action, c.Status, c.EndedAt)
				}
				if diff := cmp.Diff(c, h.get(t, u, c.ID)); diff != "" {
					t.Errorf("#%d %s: GET differs from the action's answer (-action +get):\n%s", i, a.action, diff)
				}
				// The feed shows exactly the pending blocks of both commitments
				// (no block has started yet, so no done block stays as a record).
				other = h.get(t, u, other.ID)
				if diff := cmp.Diff(liveUIDs(c, other), uids(h.feedEvents(t, feed))); diff != "" {
					t.Errorf("#%d %s: feed UIDs (-live blocks +feed):\n%s", i, a.action, diff)
				}
			}
			if other.Status != "open" || slices.ContainsFunc(other.Steps, func(s step) bool { return s.Status != P }) {
				t.Errorf("actions on one commitment changed another: %+v", other)
			}
		})
	}
	t.Run("form action", func(t *testing.T) {
		h := newHarness(t)
		u := h.newUser(t, "formact@example.com")
		c := h.create(t, u, validCommitment("", ""))
		res := h.send(t, request{Method: "POST", Path: idPath(c.ID, "/actions"), Token: u.Token, Body: strings.NewReader("action=contacted"), ContentType: "application/x-www-form-urlencoded"})
		if res.Status != http.StatusOK {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
		if got := h.get(t, u, c.ID); got.ContactedAt == nil {
			t.Errorf("form action did not mark the contact: %+v", got)
		}
	})
}

// TestDelete removes a commitment and all its blocks.
func TestDelete(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "delete@example.com")
	keep := h.create(t, u, validCommitment("", ""))
	gone := h.create(t, u, deck())
	feed := h.feedPath(t, u)
	if got := uids(h.feedEvents(t, feed)); !got[gone.stepOf(t, "meeting").UID] {
		t.Fatalf("the feed lacks the meeting before the delete: %v", got)
	}
	res := h.send(t, request{Method: "DELETE", Path: idPath(gone.ID, ""), Token: u.Token})
	if res.Status != http.StatusNoContent || len(res.Body) != 0 {
		t.Fatalf("DELETE: status %d, body %q; want 204 and no body", res.Status, res.Body)
	}
	goneAnswers404 := func() {
		t.Helper()
		for _, r := range []struct{ method, suffix, body string }{
			{"GET", "", ""}, {"DELETE", "", ""}, {"POST", "/actions", `{"action":"replied"}`},
		} {
			req := request{Method: r.method, Path: idPath(gone.ID, r.suffix), Token: u.Token}
			if r.body != "" {
				req.Body = strings.NewReader(r.body)
			}
			wantError(t, h.send(t, req), http.StatusNotFound, "")
		}
	}
	goneAnswers404()
	defer func() {
		// The deleted id is never handed out again, nor its steps' ids: a
		// retried DELETE or action on it, or a removed block's link, cannot
		// reach the next commitment.
		next := h.create(t, u, deck())
		if next.ID == gone.ID {
			t.Errorf("the next commitment got the deleted id %d", gone.ID)
		}
		for _, s := range next.Steps {
			for _, g := range gone.Steps {
				if s.ID == g.ID || s.UID == g.UID {
					t.Errorf("the next commitment's %s step (id %d, uid %s) repeats the id or uid of a deleted %s step (id %d, uid %s)", s.Kind, s.ID, s.UID, g.Kind, g.ID, g.UID)
				}
			}
		}
		goneAnswers404()
	}()
	if got := ids(h.list(t, u, "")); !cmp.Equal(got, []int64{keep.ID}) {
		t.Errorf("list after delete = %v, want [%d]", got, keep.ID)
	}
	keep = h.get(t, u, keep.ID)
	if diff := cmp.Diff(liveUIDs(keep), uids(h.feedEvents(t, feed))); diff != "" {
		t.Errorf("feed after delete (-kept blocks +feed):\n%s", diff)
	}
	ag := h.agenda(t, u, start, start.AddDate(0, 0, 30))
	for _, b := range ag.Blocks {
		if b.CommitmentID == gone.ID || allUIDs(gone)[b.UID] {
			t.Errorf("agenda still shows deleted block %+v", b)
		}
	}
	for _, b := range ag.Busy {
		if b.Source == "meeting" {
			t.Errorf("agenda still shows the deleted meeting as busy: %+v", b)
		}
	}
}

// TestAgenda reads the placed blocks and the busy time in a range.
func TestAgenda(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "agenda@example.com")
	c := h.create(t, u, deck())
	m := c.stepOf(t, "meeting")
	for _, tc := range []struct {
		name     string
		from, to time.Time
		kinds    []string
		busy     []followup.Interval
	}{
		{"week", start.AddDate(0, 0, -1), start.AddDate(0, 0, 7), []string{"confirm", "deliver", "meeting", "refresher"}, []followup.Interval{{Start: m.Start, End: m.End, Source: "meeting"}}},
		{"meeting day", utc("2026-11-25T00:00:00-05:00"), utc("2026-11-26T00:00:00-05:00"), []string{"meeting"}, []followup.Interval{{Start: m.Start, End: m.End, Source: "meeting"}}},
		{"during the meeting", m.Start.Add(10 * time.Minute), m.Start.Add(11 * time.Minute), []string{"meeting"}, []followup.Interval{{Start: m.Start, End: m.End, Source: "meeting"}}},
		{"right after the meeting", m.End, m.End.Add(time.Hour), []string{}, []followup.Interval{}},
		{"later", utc("2026-12-10T00:00:00Z"), utc("2026-12-11T00:00:00Z"), []string{}, []followup.Interval{}},
		{"other zone", utc("2026-11-25T15:00:00+01:00"), utc("2026-11-26T03:00:00+01:00"), []string{"meeting"}, []followup.Interval{{Start: m.Start, End: m.End, Source: "meeting"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := h.agenda(t, u, tc.from, tc.to)
			if !a.From.Equal(tc.from) || !a.To.Equal(tc.to) || a.Zone != "America/New_York" {
				t.Errorf("range %v–%v in %q, want %v–%v in America/New_York", a.From, a.To, a.Zone, tc.from, tc.to)
			}
			kinds := []string{}
			for _, b := range a.Blocks {
				kinds = append(kinds, b.Kind)
				s := c.stepOf(t, b.Kind)
				if b.UID != s.UID || !b.Start.Equal(s.Start) || !b.End.Equal(s.End) || b.CommitmentID != c.ID || b.Title == "" {
					t.Errorf("agenda block %+v does not match step %+v of commitment %d", b, s, c.ID)
				}
			}
			slices.Sort(kinds)
			if diff := cmp.Diff(tc.kinds, kinds); diff != "" {
				t.Errorf("block kinds (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.busy, a.Busy, cmpopts.EquateApproxTime(0)); diff != "" {
				t.Errorf("busy (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("default range is the next 7 days", func(t *testing.T) {
		var a agendaAnswer
		h.mustAPI(t, http.StatusOK, "GET", "/api/v1/agenda", u.Token, nil, &a)
		if !a.From.Equal(start) || !a.To.Equal(start.AddDate(0, 0, 7)) {
			t.Errorf("default range %v–%v, want %v–%v", a.From, a.To, start, start.AddDate(0, 0, 7))
		}
		if len(a.Blocks) != 4 {
			t.Errorf("default range has %d blocks, want 4", len(a.Blocks))
		}
	})
}

// TestSettings reads and changes settings; a PUT keeps what it leaves out.
func TestSettings(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "settings@example.com")
	h.create(t, u, validCommitment("", ""))
	feed := h.feedPath(t, u)
	get := func() followup.Settings {
		var st followup.Settings
		h.mustAPI(t, http.StatusOK, "GET", "/api/v1/settings", u.Token, nil, &st)
		return st
	}
	want := followup.DefaultSettings("America/New_York")
	if diff := cmp.Diff(want, get()); diff != "" {
		t.Fatalf("new user's settings (-defaults +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name   string
		body   string
		status int
		field  string
		change func(*followup.Settings)
	}{
		{"alarm only", `{"alarm_minutes":15}`, 200, "", func(s *followup.Settings) { s.AlarmMinutes = 15 }},
		{"work hours start only", `{"work_hours":{"start":"08:00"}}`, 200, "", func(s *followup.Settings) { s.WorkHours.Start = followup.Clock{Hour: 8} }},
		{"habit", `{"habits":{"coffees":{"enabled":true}}}`, 200, "", func(s *followup.Settings) { s.Habits.Coffees.Enabled = true }},
		{"habit defaults edited", `{"habits":{"handwritten_notes":{"days":["tue"],"weeks":[2,-1],"start":"09:00","end":"10:00","minutes":20}}}`, 200, "",
			func(s *followup.Settings) {
				s.Habits.HandwrittenNotes = followup.Habit{Days: []string{"tue"}, Weeks: []int{2, -1}, Start: followup.Clock{Hour: 9}, End: followup.Clock{Hour: 10}, Minutes: 20}
			}},
		{"habit bad day", `{"habits":{"daily_call":{"days":["someday"]}}}`, 400, "habits.daily_call.days", nil},
		{"habit bad week", `{"habits":{"coffees":{"weeks":[5]}}}`, 400, "habits.coffees.weeks", nil},
		{"habit bad clock", `{"habits":{"weekly_review":{"start":"25:00"}}}`, 400, "habits.weekly_review.start", nil},
		{"habit window too short", `{"habits":{"weekly_email":{"start":"14:00","end":"14:10"}}}`, 400, "habits.weekly_email.end", nil},
		{"days", `{"followup_hour":{"days":["mon","wed"]}}`, 200, "", func(s *followup.Settings) { s.FollowupHour.Days = []string{"mon", "wed"} }},
		{"empty object", `{}`, 200, "", func(*followup.Settings) {}},
		{"invalid timezone", `{"timezone":"Mars/Olympus_Mons"}`, 400, "timezone", nil},
		{"invalid with a valid field", `{"alarm_minutes":20,"timezone":"Nowhere"}`, 400, "timezone", nil},
		{"work hours end before start", `{"work_hours":{"start":"17:00","end":"09:00"}}`, 400, "work_hours", nil},
		{"work hours end before new start", `{"work_hours":{"start":"18:00"}}`, 400, "work_hours", nil},
		{"timezone", `{"timezone":"Europe/Berlin"}`, 200, "", func(s *followup.Settings) { s.Timezone = "Europe/Berlin" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.api(t, "PUT", "/api/v1/settings", u.Token, tc.body, nil)
			if tc.status != http.StatusOK {
				wantError(t, res, tc.status, tc.field)
			} else {
				if res.Status != http.StatusOK {
					t.Fatalf("status %d: %s", res.Status, res.Body)
				}
				tc.change(&want)
				var put followup.Settings
				if err := json.Unmarshal(res.Body, &put); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, put); diff != "" {
					t.Errorf("PUT answer (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(want, get()); diff != "" {
				t.Errorf("settings after PUT (-want +got):\n%s", diff)
			}
		})
	}
	// The feed follows the settings: alarm offset and, for blocks that have
	// not started, the new zone's hours.
	evs := h.feedEvents(t, feed)
	berlin := mustZone("Europe/Berlin")
	future := 0
	for _, ev := range evs {
		if ev.Start.After(start) {
			future++
		}
		if ev.AlarmMinutes != 15 {
			t.Errorf("event %s alarm %d min, want 15", ev.UID, ev.AlarmMinutes)
		}
		if s := ev.Start.In(berlin); ev.Start.After(start) && (s.Hour() < 8 || s.Hour() >= 17) {
			t.Errorf("event %s starts %v, outside 08:00–17:00 Berlin", ev.UID, s)
		}
	}
	if future == 0 {
		t.Errorf("feed has no block after now to check: %+v", evs)
	}
}

// TestFeedLinksAndRotate checks the feed addresses and that rotating the
// token stops the old address at once.
func TestFeedLinksAndRotate(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "rotate@example.com")
	c := h.create(t, u, validCommitment("", ""))
	type links struct {
		URL    string `json:"url"`
		Webcal string `json:"webcal"`
	}
	var l1, l1again, l2, l2again links
	h.mustAPI(t, http.StatusOK, "GET", "/api/v1/feed", u.Token, nil, &l1)
	h.mustAPI(t, http.StatusOK, "GET", "/api/v1/feed", u.Token, nil, &l1again)
	if l1 != l1again {
		t.Errorf("feed links change between reads: %+v, %+v", l1, l1again)
	}
	tok, ok := strings.CutPrefix(l1.URL, "https://followup.example/feeds/")
	tok, ok2 := strings.CutSuffix(tok, ".ics")
	if !ok || !ok2 || len(tok) < 43 || strings.ContainsAny(tok, "/+=") {
		t.Fatalf("feed url %q is not base/feeds/TOKEN.ics with a 256-bit URL-safe token", l1.URL)
	}
	if want := "webcal://followup.example/feeds/" + tok + ".ics"; l1.Webcal != want {
		t.Errorf("webcal %q, want %q", l1.Webcal, want)
	}
	old := strings.TrimPrefix(l1.URL, "https://followup.example")
	before := uids(h.feedEvents(t, old))
	if diff := cmp.Diff(liveUIDs(c), before); diff != "" {
		t.Errorf("feed (-live +feed):\n%s", diff)
	}
	h.mustAPI(t, http.StatusOK, "POST", "/api/v1/feed/rotate", u.Token, nil, &l2)
	h.mustAPI(t, http.StatusOK, "GET", "/api/v1/feed", u.Token, nil, &l2again)
	if l2 == l1 || l2 != l2again {
		t.Errorf("rotate answered %+v, then GET %+v; want a new address, kept", l2, l2again)
	}
	wantError(t, h.send(t, request{Method: "GET", Path: old}), http.StatusNotFound, "")
	wantError(t, h.send(t, request{Method: "GET", Path: old, Header: map[string]string{"If-None-Match": "*"}}), http.StatusNotFound, "")
	if diff := cmp.Diff(before, uids(h.feedEvents(t, strings.TrimPrefix(l2.URL, "https://followup.example")))); diff != "" {
		t.Errorf("the new address serves other blocks (-old +new):\n%s", diff)
	}
}

// TestHealth checks /healthz and /readyz, and that an outage is a 5xx that
// reveals no internals and is logged.
func TestHealth(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "health@example.com")
	for _, p := range []string{"/healthz", "/readyz", "/"} {
		if r := h.send(t, request{Method: "GET", Path: p}); r.Status != http.StatusOK {
			t.Errorf("GET %s: status %d: %s", p, r.Status, r.Body)
		}
	}
	h.db.Close()
	if r := h.send(t, request{Method: "GET", Path: "/healthz"}); r.Status != http.StatusOK {
		t.Errorf("healthz with the database down: status %d, want 200 while the process serves", r.Status)
	}
	e := wantError(t, h.send(t, request{Method: "GET", Path: "/readyz"}), http.StatusServiceUnavailable, "")
	if e.Error.Code != "unavailable" {
		t.Errorf("readyz code %q, want unavailable", e.Error.Code)
	}
	res := h.send(t, request{Method: "GET", Path: "/api/v1/settings", Token: u.Token})
	e = wantError(t, res, http.StatusInternalServerError, "")
	if e.Error.Code != "internal" || strings.Contains(strings.ToLower(e.Error.Message), "sql") {
		t.Errorf("an outage answers %s; want code internal and no internals", res.Body)
	}
	if !strings.Contains(h.logs.String(), `"msg":"internal error"`) {
		t.Errorf("the internal error was not logged:\n%s", h.logs.String())
	}
}

// TestConcurrentActions sends the same action many times at once: exactly
// one applies, the others are conflicts, and the steps are not doubled.
func TestConcurrentActions(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "race@example.com")
	c := h.create(t, u, validCommitment("", ""))
	const n = 8
	statuses := make(chan int, n)
	for range n {
		go func() {
			req, _ := http.NewRequest("POST", h.ts.URL+idPath(c.ID, "/actions"), strings.NewReader(`{"action":"contacted"}`))
			req.Header.Set("Authorization", "Bearer "+u.Token)
			res, err := h.ts.Client().Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	count := map[int]int{}
	for range n {
		count[<-statuses]++
	}
	if diff := cmp.Diff(map[int]int{http.StatusOK: 1, http.StatusConflict: n - 1}, count); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	got := h.get(t, u, c.ID)
	nudges := 0
	for _, s := range got.Steps {
		if s.Kind == "nudge" {
			nudges++
		}
	}
	if nudges != 1 {
		t.Errorf("%d nudge steps after concurrent contacts, want 1: %+v", nudges, got.Steps)
	}
}

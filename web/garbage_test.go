package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup/web"
)

// route is one registered route as the garbage tests exercise it.
type route struct {
	Method, Path string
	// ReadsBody marks routes that decode a request body.
	ReadsBody bool
}

// apiRoutes is every route of web/routes.go. TestRoutesCovered keeps it in step.
var apiRoutes = []route{
	{"GET", "/healthz", false},
	{"GET", "/readyz", false},
	{"GET", "/feeds/:file", false},
	{"HEAD", "/feeds/:file", false},
	{"GET", "/metrics", false},
	{"GET", "/api/v1/openapi.json", false},
	{"POST", "/api/v1/commitments", true},
	{"POST", "/api/v1/commitments/quick", true},
	{"POST", "/api/v1/contacts/parse", true},
	{"GET", "/api/v1/commitments", false},
	{"GET", "/api/v1/commitments/:id", false},
	{"POST", "/api/v1/commitments/:id/actions", true},
	{"DELETE", "/api/v1/commitments/:id", false},
	{"GET", "/api/v1/agenda", false},
	{"GET", "/api/v1/settings", false},
	{"PUT", "/api/v1/settings", true},
	{"GET", "/api/v1/feed", false},
	{"POST", "/api/v1/feed/rotate", false},
	{"GET", "/api/v1/caldav", false},
	{"PUT", "/api/v1/caldav", true},
	{"DELETE", "/api/v1/caldav", false},
	{"POST", "/api/v1/sync", false},
	{"GET", "/api/v1/tokens", false},
	{"DELETE", "/api/v1/tokens/:id", false},
}

// publicAPIPath is the one /api/ route that needs no token: the API's
// description, which holds nothing of anyone's.
const publicAPIPath = "/api/v1/openapi.json"

// TestRoutesCovered fails when routes.go gains a route that the garbage
// tests do not know.
func TestRoutesCovered(t *testing.T) {
	srv := web.New(nil, nil, nil)
	var got, want []string
	for _, r := range srv.Echo.Routes() {
		if strings.HasSuffix(r.Path, "/*") || r.Method == "echo_route_not_found" {
			continue // the API's catch-all 404 and Echo's group marker
		}
		got = append(got, r.Method+" "+r.Path)
	}
	for _, r := range append(append([]route(nil), apiRoutes...), webRoutes...) {
		want = append(want, r.Method+" "+r.Path)
	}
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routes (-garbage table +routes.go):\n%s", diff)
	}
}

// fingerprint is everything a failed request must leave as it was.
type fingerprint struct {
	Commitments, Steps, CalDAV int
	LastChange                 string
	Settings                   string
	FeedVersion                int64
	FeedToken                  string
}

func (h *harness) fingerprint(tb testing.TB, u user) fingerprint {
	tb.Helper()
	var f fingerprint
	db := h.db.SQL()
	var last1, last2 string
	for _, q := range []struct {
		sql string
		dst any
	}{
		{`SELECT count(*) FROM commitments WHERE user_id = ?`, &f.Commitments},
		{`SELECT count(*) FROM steps WHERE user_id = ?`, &f.Steps},
		{`SELECT count(*) FROM caldav_accounts WHERE user_id = ?`, &f.CalDAV},
		{`SELECT coalesce(max(updated_at), '') FROM commitments WHERE user_id = ?`, &last1},
		{`SELECT coalesce(max(updated_at), '') || ':' || coalesce(sum(sequence), 0) FROM steps WHERE user_id = ?`, &last2},
		{`SELECT feed_version FROM user_versions WHERE user_id = ?`, &f.FeedVersion},
		{`SELECT hex(feed_token_hash) FROM users WHERE id = ?`, &f.FeedToken},
	} {
		if err := db.QueryRow(q.sql, u.ID).Scan(q.dst); err != nil {
			tb.Fatalf("%s: %v", q.sql, err)
		}
	}
	f.LastChange = last1 + "/" + last2
	st, err := h.svc.Settings(context.Background(), u.ID)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := json.Marshal(st)
	f.Settings = string(b)
	return f
}

// garbage is a malformed body and the field its 400 must name.
type garbage struct {
	name  string
	body  string
	field string
}

// anyBody is garbage that every body-reading route must refuse alike.
var anyBody = []garbage{
	{"empty", "", ""},
	{"whitespace", " \r\n\t ", ""},
	{"open brace", "{", ""},
	{"truncated", `{"contact":`, ""},
	{"array", "[]", ""},
	{"array of object", `[{}]`, ""},
	{"string", `"hello"`, ""},
	{"number", `42`, ""},
	{"true", `true`, ""},
	{"two objects", `{}{}`, ""},
	{"object and junk", `{} x`, ""},
	{"NUL byte", "\x00", ""},
	{"NUL in string", "{\"a\x00\":1}", ""},
	{"invalid UTF-8", "\xff\xfe{}", ""},
	{"invalid UTF-8 in string", "{\"unknown\xff\":1}", ""},
	{"unknown field", `{"bogus":1}`, "bogus"},
	{"single quotes", `{'a':1}`, ""},
	{"trailing comma", `{"bogus":1,}`, ""},
	{"deep nesting", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), ""},
	{"huge number", `{"bogus":1e999999}`, "bogus"},
	{"xml", `<commitment/>`, ""},
}

// validCommitment returns a minimal valid commitment with one field replaced
// by raw JSON.
func validCommitment(key, raw string) string {
	m := map[string]json.RawMessage{
		"contact": json.RawMessage(`{"name":"Jane Doe"}`),
		"promise": json.RawMessage(`"Send the deck"`),
	}
	if key != "" {
		m[key] = json.RawMessage(raw)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("%s=%s: %v", key, raw, err))
	}
	return string(b)
}

// commitmentGarbage is what POST /api/v1/commitments must refuse, naming the field.
var commitmentGarbage = []garbage{
	{"priority string", `{"priority":"yes"}`, "priority"},
	{"priority number", validCommitment("priority", `1`), "priority"},
	{"meeting minutes string", `{"meeting":{"minutes":"x"}}`, "meeting.minutes"},
	{"meeting minutes float", validCommitment("meeting", `{"start":"2026-11-25T10:00:00-05:00","minutes":1.5}`), "meeting.minutes"},
	{"meeting minutes overflow", validCommitment("meeting", `{"start":"2026-11-25T10:00:00-05:00","minutes":1e400}`), "meeting.minutes"},
	{"meeting array", `{"meeting":[]}`, "meeting"},
	{"meeting string", `{"meeting":"tomorrow"}`, "meeting"},
	{"contact string", `{"contact":"Jane"}`, "contact"},
	{"contact name number", `{"contact":{"name":5}}`, "contact.name"},
	{"contact name object", `{"contact":{"name":{}}}`, "contact.name"},
	{"met_at number", `{"met_at":5}`, "met_at"},
	{"unknown field first", `{"bogus":1,"contact":{"name":"Jane"},"promise":"x"}`, "bogus"},
	// encoding/json reports an unknown nested key without its parent.
	{"unknown nested field", `{"contact":{"nick":"J"}}`, "nick"},
	{"empty object", `{}`, "contact.name"},
	{"null", `null`, "contact.name"},
	{"no promise", `{"contact":{"name":"Jane"}}`, "promise"},
	{"blank name", validCommitment("contact", `{"name":"   "}`), "contact.name"},
	{"blank promise", validCommitment("promise", `" \t "`), "promise"},
	{"escaped NUL in name", validCommitment("contact", `{"name":"Ja\u0000ne"}`), "contact.name"},
	{"escaped NUL in promise", validCommitment("promise", `"\u0000"`), "promise"},
	// RFC 8259 §8.1: JSON text is UTF-8; decoding must not silently alter the text.
	{"invalid UTF-8 promise", "{\"contact\":{\"name\":\"Jane\"},\"promise\":\"\xff\xfe\"}", ""},
	{"long name", validCommitment("contact", `{"name":"`+strings.Repeat("n", 201)+`"}`), "contact.name"},
	{"huge name", validCommitment("contact", `{"name":"`+strings.Repeat("n", 900<<10)+`"}`), "contact.name"},
	{"long promise", validCommitment("promise", `"`+strings.Repeat("é", 2001)+`"`), "promise"},
	{"long notes", validCommitment("notes", `"`+strings.Repeat("x", 10001)+`"`), "notes"},
	{"long met_where", validCommitment("met_where", `"`+strings.Repeat("x", 501)+`"`), "met_where"},
	{"bad email", validCommitment("contact", `{"name":"Jane","email":"not an email"}`), "contact.email"},
	{"email with name", validCommitment("contact", `{"name":"Jane","email":"Jane <jane@example.com>"}`), "contact.email"},
	{"javascript url", validCommitment("contact", `{"name":"Jane","url":"javascript:alert(1)"}`), "contact.url"},
	{"url without host", validCommitment("contact", `{"name":"Jane","url":"https://"}`), "contact.url"},
	{"direction", validCommitment("direction", `"both"`), "direction"},
	{"direction case", validCommitment("direction", `"Mine"`), "direction"},
	{"met_at words", validCommitment("met_at", `"yesterday"`), "met_at"},
	{"met_at no zone", validCommitment("met_at", `"2026-11-23T15:00:00"`), "met_at"},
	{"met_at month 13", validCommitment("met_at", `"2026-13-01T00:00:00Z"`), "met_at"},
	{"met_at year 1", validCommitment("met_at", `"0001-01-01T00:00:00Z"`), "met_at"},
	{"met_at year 9999", validCommitment("met_at", `"9999-12-31T23:59:59Z"`), "met_at"},
	{"met_at future", validCommitment("met_at", `"2026-11-25T15:00:00-05:00"`), "met_at"},
	{"met_at two years ago", validCommitment("met_at", `"2024-11-23T15:00:00-05:00"`), "met_at"},
	{"due words", validCommitment("due", `"Friday"`), "due"},
	{"due bad offset", validCommitment("due", `"2026-11-27T17:00:00+25:00"`), "due"},
	{"due number", validCommitment("due", `20261127`), "due"},
	{"due before met", validCommitment("due", `"2026-11-20T17:00:00-05:00"`), "due"},
	{"due in two years", validCommitment("due", `"2028-11-27T17:00:00-05:00"`), "due"},
	{"due_text nonsense", validCommitment("due_text", `"when pigs fly"`), "due_text"},
	{"due_text too long", validCommitment("due_text", `"by `+strings.Repeat("very ", 30)+`soon"`), "due_text"},
	{"due_text number", validCommitment("due_text", `3`), "due_text"},
	{"meeting start words", validCommitment("meeting", `{"start":"tomorrow 10am"}`), "meeting.start"},
	{"meeting without start", validCommitment("meeting", `{"minutes":30}`), "meeting.start"},
	{"meeting over", validCommitment("meeting", `{"start":"2026-11-20T10:00:00-05:00"}`), "meeting.start"},
	{"meeting too long", validCommitment("meeting", `{"start":"2026-11-25T10:00:00-05:00","minutes":1000}`), "meeting.minutes"},
	{"meeting negative", validCommitment("meeting", `{"start":"2026-11-25T10:00:00-05:00","minutes":-30}`), "meeting.minutes"},
	{"meeting location long", validCommitment("meeting", `{"start":"2026-11-25T10:00:00-05:00","location":"`+strings.Repeat("x", 501)+`"}`), "meeting.location"},
	{"meeting unknown key", validCommitment("meeting", `{"start":"2026-11-25T10:00:00-05:00","room":"B"}`), "room"},
}

// settingsGarbage is what PUT /api/v1/settings must refuse, naming the field.
var settingsGarbage = []garbage{
	{"unknown zone", `{"timezone":"Mars/Olympus_Mons"}`, "timezone"},
	{"zone path", `{"timezone":"../../../etc/passwd"}`, "timezone"},
	{"zone Local", `{"timezone":"Local"}`, "timezone"},
	{"zone empty", `{"timezone":""}`, "timezone"},
	{"zone number", `{"timezone":5}`, "timezone"},
	{"work hours reversed", `{"work_hours":{"start":"17:00","end":"09:00"}}`, "work_hours"},
	{"work hours empty", `{"work_hours":{"start":"09:00","end":"09:00"}}`, "work_hours"},
	{"work hours bad clock", `{"work_hours":{"start":"25:00"}}`, "work_hours.start"},
	{"followup hour bad clock", `{"followup_hour":{"end":"9am"}}`, "followup_hour.end"},
	{"work hours clock number", `{"work_hours":{"start":9}}`, "work_hours.start"},
	{"work hours bad day", `{"work_hours":{"days":["mon","xyz"]}}`, "work_hours.days"},
	{"work hours days string", `{"work_hours":{"days":"mon"}}`, "work_hours.days"},
	{"followup hour reversed", `{"followup_hour":{"start":"10:00","end":"09:30"}}`, "followup_hour"},
	{"alarm negative", `{"alarm_minutes":-1}`, "alarm_minutes"},
	{"alarm string", `{"alarm_minutes":"10"}`, "alarm_minutes"},
	{"alarm overflow", `{"alarm_minutes":1e400}`, "alarm_minutes"},
	{"buffer too big", `{"buffer_minutes":121}`, "buffer_minutes"},
	{"duration zero", `{"durations":{"deliver":0}}`, "durations.deliver"},
	{"duration unknown", `{"durations":{"lunch":30}}`, "lunch"},
	{"deleted_means", `{"deleted_means":"maybe"}`, "deleted_means"},
	{"habit enabled string", `{"habits":{"coffees":{"enabled":"yes"}}}`, "habits.coffees.enabled"},
	{"habit minutes", `{"habits":{"coffees":{"enabled":true,"minutes":1}}}`, "habits.coffees.minutes"},
	{"let go days", `{"let_go_after_days":0}`, "let_go_after_days"},
	{"valid then invalid", `{"alarm_minutes":15,"timezone":"Nowhere/Land"}`, "timezone"},
}

// actionGarbage is what POST /api/v1/commitments/{id}/actions must refuse.
var actionGarbage = []garbage{
	{"unknown action", `{"action":"dance"}`, "action"},
	{"action case", `{"action":"Replied"}`, "action"},
	{"action number", `{"action":5}`, "action"},
	{"action list", `{"action":["replied"]}`, "action"},
	{"no action", `{}`, "action"},
	{"null", `null`, "action"},
	{"extra field", `{"action":"replied","note":"x"}`, "note"},
}

// caldavGarbage is what PUT /api/v1/caldav must refuse; CalDAV is off in
// the harness, which is itself an invalid url.
var caldavGarbage = []garbage{
	{"url number", `{"url":5}`, "url"},
	{"busy calendars string", `{"busy_calendars":"Work"}`, "busy_calendars"},
	{"busy ics object", `{"busy_ics":{}}`, "busy_ics"},
	{"password list", `{"password":[]}`, "password"},
	{"caldav off", `{"url":"https://dav.example.com","username":"u","password":"p"}`, "url"},
}

// TestGarbageBodies posts malformed bodies to every route: each answer is
// a 4xx (never a 5xx) with the contract's error JSON naming the field, and
// a refused request changes nothing.
func TestGarbageBodies(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "garbage@example.com")
	c := h.create(t, u, validCommitment("", ""))
	feed := h.feedPath(t, u)
	id := strconv.FormatInt(c.ID, 10)
	path := func(r route) string {
		p := strings.ReplaceAll(r.Path, ":id", id)
		return strings.ReplaceAll(p, ":file", strings.TrimPrefix(feed, "/feeds/"))
	}
	specific := map[string][]garbage{
		"POST /api/v1/commitments":             commitmentGarbage,
		"PUT /api/v1/settings":                 settingsGarbage,
		"POST /api/v1/commitments/:id/actions": actionGarbage,
		"PUT /api/v1/caldav":                   caldavGarbage,
		"POST /api/v1/commitments/quick":       quickGarbage,
		"POST /api/v1/contacts/parse":          contactParseGarbage,
	}
	before := h.fingerprint(t, u)
	for _, r := range apiRoutes {
		if !r.ReadsBody {
			continue
		}
		cases := append(append([]garbage(nil), anyBody...), specific[r.Method+" "+r.Path]...)
		for _, g := range cases {
			t.Run(r.Method+" "+r.Path+"/"+g.name, func(t *testing.T) {
				res := h.send(t, request{Method: r.Method, Path: path(r), Token: u.Token, Body: strings.NewReader(g.body)})
				wantError(t, res, http.StatusBadRequest, g.field)
				if after := h.fingerprint(t, u); after != before {
					t.Errorf("a refused request changed the store:\n%s", cmp.Diff(before, after))
				}
			})
		}
	}
	// Routes that read no body answer as if it were not there, and never 5xx.
	for _, r := range apiRoutes {
		if r.ReadsBody {
			continue
		}
		for _, g := range anyBody {
			t.Run(r.Method+" "+r.Path+"/"+g.name, func(t *testing.T) {
				p := path(r)
				if r.Method == "DELETE" && strings.Contains(r.Path, ":id") {
					p = "/api/v1/commitments/999999" // keep the fixture
				}
				res := h.send(t, request{Method: r.Method, Path: p, Token: u.Token, Body: strings.NewReader(g.body)})
				if res.Status >= 500 {
					t.Fatalf("status %d: %s", res.Status, res.Body)
				}
				if res.Status >= 400 && r.Method != "HEAD" {
					wantError(t, res, res.Status, followupField(res))
				}
			})
		}
	}
	if strings.Contains(h.logs.String(), `"level":"ERROR"`) {
		t.Errorf("garbage caused internal errors:\n%s", h.logs.String())
	}
}

// followupField returns the field of an error answer, for checks that care
// only about its shape.
func followupField(res response) string {
	var e apiError
	_ = json.Unmarshal(res.Body, &e)
	return e.Error.Field
}

// TestGarbageForms posts malformed HTML forms to the routes that take them.
func TestGarbageForms(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "forms@example.com")
	c := h.create(t, u, validCommitment("", ""))
	valid := url.Values{"contact.name": {"Jane"}, "promise": {"Send the deck"}}
	with := func(kv ...string) string {
		v := url.Values{}
		for k, vs := range valid {
			v[k] = vs
		}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	actions := "/api/v1/commitments/" + strconv.FormatInt(c.ID, 10) + "/actions"
	for _, tc := range []struct {
		name, path, body, field string
	}{
		{"priority", "/api/v1/commitments", with("priority", "maybe"), "priority"},
		{"meeting minutes", "/api/v1/commitments", with("meeting.start", "2026-11-25T10:00:00-05:00", "meeting.minutes", "half an hour"), "meeting.minutes"},
		{"meeting without start", "/api/v1/commitments", with("meeting.location", "Cafe"), "meeting.start"},
		{"met_at", "/api/v1/commitments", with("met_at", "noon"), "met_at"},
		{"due", "/api/v1/commitments", with("due", "2026-11-27"), "due"},
		{"due_text", "/api/v1/commitments", with("due_text", "someday maybe"), "due_text"},
		{"invalid UTF-8 name", "/api/v1/commitments", with("contact.name", "Ja\xffne"), "contact.name"},
		{"NUL in promise", "/api/v1/commitments", with("promise", "a\x00b"), "promise"},
		{"no name", "/api/v1/commitments", "promise=x", "contact.name"},
		{"bad escape", "/api/v1/commitments", "contact.name=%zz&promise=x", ""},
		{"semicolon", "/api/v1/commitments", "contact.name=Jane;promise=x", ""},
		{"unknown action", actions, "action=dance", "action"},
		{"no action", actions, "", "action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.fingerprint(t, u)
			res := h.send(t, request{Method: "POST", Path: tc.path, Token: u.Token, Body: strings.NewReader(tc.body), ContentType: "application/x-www-form-urlencoded"})
			wantError(t, res, http.StatusBadRequest, tc.field)
			if after := h.fingerprint(t, u); after != before {
				t.Errorf("a refused form changed the store:\n%s", cmp.Diff(before, after))
			}
		})
	}
}

// TestGarbageQueries sends malformed query parameters and path ids.
func TestGarbageQueries(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "queries@example.com")
	c := h.create(t, u, validCommitment("", ""))
	for _, tc := range []struct {
		name, path string
		status     int
		field      string
	}{
		{name: "status bogus", path: "/api/v1/commitments?status=bogus", status: 400, field: "status"},
		{name: "status case", path: "/api/v1/commitments?status=OPEN", status: 400, field: "status"},
		{name: "limit word", path: "/api/v1/commitments?limit=ten", status: 400, field: "limit"},
		{name: "limit negative", path: "/api/v1/commitments?limit=-1", status: 400, field: "limit"},
		{name: "limit huge", path: "/api/v1/commitments?limit=501", status: 400, field: "limit"},
		{name: "limit overflow", path: "/api/v1/commitments?limit=99999999999999999999", status: 400, field: "limit"},
		{name: "offset negative", path: "/api/v1/commitments?offset=-5", status: 400, field: "offset"},
		{name: "offset float", path: "/api/v1/commitments?offset=1.5", status: 400, field: "offset"},
		{name: "from word", path: "/api/v1/agenda?from=notatime", status: 400, field: "from"},
		{name: "to word", path: "/api/v1/agenda?to=tomorrow", status: 400, field: "to"},
		{name: "from unescaped plus", path: "/api/v1/agenda?from=2026-11-23T15:00:00+01:00", status: 400, field: "from"},
		{name: "from date only", path: "/api/v1/agenda?from=2026-11-23", status: 400, field: "from"},
		{name: "from year 1", path: "/api/v1/agenda?from=0001-01-01T00:00:00Z", status: 400, field: "from"},
		{name: "to before from", path: "/api/v1/agenda?from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z", status: 400, field: "to"},
		{name: "empty range", path: "/api/v1/agenda?from=2026-11-24T00:00:00Z&to=2026-11-24T00:00:00Z", status: 400, field: "to"},
		{name: "range over a year", path: "/api/v1/agenda?from=2026-01-01T00:00:00Z&to=2027-06-01T00:00:00Z", status: 400, field: "to"},
		{name: "from far past", path: "/api/v1/agenda?from=1900-01-01T00:00:00Z", status: 400, field: "from"},
		{name: "from NUL", path: "/api/v1/agenda?from=%00", status: 400, field: "from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, h.send(t, request{Method: "GET", Path: tc.path, Token: u.Token}), tc.status, tc.field)
		})
	}
	// An id that does not name one of the user's commitments is not found,
	// for every route that takes one.
	before := h.fingerprint(t, u)
	for _, id := range []string{"abc", "0", "-1", "-" + strconv.FormatInt(c.ID, 10), "999999", "1.5", "1e3", "99999999999999999999", "%00", "0x1", strconv.FormatInt(c.ID, 10) + "%20"} {
		for _, r := range []struct{ method, suffix, body string }{
			{"GET", "", ""},
			{"POST", "/actions", `{"action":"replied"}`},
			{"DELETE", "", ""},
		} {
			t.Run(r.method+" "+id+r.suffix, func(t *testing.T) {
				req := request{Method: r.method, Path: "/api/v1/commitments/" + id + r.suffix, Token: u.Token}
				if r.body != "" {
					req.Body = strings.NewReader(r.body)
				}
				wantError(t, h.send(t, req), http.StatusNotFound, "")
			})
		}
	}
	if after := h.fingerprint(t, u); after != before {
		t.Errorf("requests for missing ids changed the store:\n%s", cmp.Diff(before, after))
	}
	// Unknown routes and methods are JSON errors too.
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/nope"},
		{"PATCH", "/api/v1/commitments"},
		{"PUT", "/api/v1/commitments/" + strconv.FormatInt(c.ID, 10)},
		{"POST", "/api/v1/settings"},
		{"GET", "/api/v2/commitments"},
		{"POST", "/healthz"},
		{"DELETE", "/feeds/x.ics"},
	} {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			res := h.send(t, request{Method: r.method, Path: r.path, Token: u.Token})
			if res.Status < 400 || res.Status >= 500 {
				t.Fatalf("status %d, want 4xx: %s", res.Status, res.Body)
			}
			wantError(t, res, res.Status, "")
		})
	}
}

// TestBodyTooLarge sends bodies over 1 MiB, with a Content-Length and
// chunked: each is a 413 with the error JSON, and nothing is stored.
func TestBodyTooLarge(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "large@example.com")
	c := h.create(t, u, validCommitment("", ""))
	// A valid JSON object of exactly n bytes.
	object := func(n int) []byte {
		head, tail := `{"contact":{"name":"Jane"},"promise":"x","notes":"`, `"}`
		return []byte(head + strings.Repeat("n", n-len(head)-len(tail)) + tail)
	}
	form := func(n int) []byte {
		head := "contact.name=Jane&promise=x&notes="
		return []byte(head + strings.Repeat("n", n-len(head)))
	}
	actions := "/api/v1/commitments/" + strconv.FormatInt(c.ID, 10) + "/actions"
	before := h.fingerprint(t, u)
	for _, tc := range []struct {
		name, method, path, contentType string
		body                            []byte
		status                          int
		field                           string
	}{
		{"commitment", "POST", "/api/v1/commitments", "", object(web.MaxBody + 1), 413, ""},
		{"commitment 2 MiB", "POST", "/api/v1/commitments", "", object(2 * web.MaxBody), 413, ""},
		// Exactly the limit is read, and refused for what it says.
		{"commitment at the limit", "POST", "/api/v1/commitments", "", object(web.MaxBody), 400, "notes"},
		{"form", "POST", "/api/v1/commitments", "application/x-www-form-urlencoded", form(web.MaxBody + 1), 413, ""},
		{"settings", "PUT", "/api/v1/settings", "", []byte(`{"timezone":"` + strings.Repeat("x", web.MaxBody) + `"}`), 413, ""},
		{"action", "POST", actions, "", []byte(`{"action":"` + strings.Repeat("x", web.MaxBody) + `"}`), 413, ""},
		{"caldav", "PUT", "/api/v1/caldav", "", []byte(`{"url":"` + strings.Repeat("x", web.MaxBody) + `"}`), 413, ""},
	} {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/chunked=%v", tc.name, chunked), func(t *testing.T) {
				res := h.send(t, request{Method: tc.method, Path: tc.path, Token: u.Token, Body: bytes.NewReader(tc.body), ContentType: tc.contentType, Chunked: chunked})
				e := wantError(t, res, tc.status, tc.field)
				if tc.status == 413 && e.Error.Code != "too_large" {
					t.Errorf("code %q, want too_large", e.Error.Code)
				}
				if after := h.fingerprint(t, u); after != before {
					t.Errorf("a refused body changed the store:\n%s", cmp.Diff(before, after))
				}
			})
		}
	}
}

// TestUnauthorized sends every API route without a valid token.
func TestUnauthorized(t *testing.T) {
	h := newHarness(t)
	u := h.newUser(t, "auth@example.com")
	c := h.create(t, u, validCommitment("", ""))
	for _, auth := range []struct{ name, header string }{
		{"none", ""},
		{"empty bearer", "Bearer "},
		{"bearer only", "Bearer"},
		{"wrong token", "Bearer fu_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"not ours", "Bearer ghp_1234567890"},
		{"token truncated", "Bearer " + u.Token[:len(u.Token)-1]},
		{"token with suffix", "Bearer " + u.Token + "x"},
		{"huge token", "Bearer fu_" + strings.Repeat("A", 4000)},
		{"basic scheme", "Basic " + u.Token},
		{"token scheme", "Token " + u.Token},
		{"no scheme", u.Token},
		{"two tokens", "Bearer " + u.Token + " " + u.Token},
	} {
		for _, r := range apiRoutes {
			if !strings.HasPrefix(r.Path, "/api/") || r.Path == publicAPIPath {
				continue
			}
			t.Run(auth.name+"/"+r.Method+" "+r.Path, func(t *testing.T) {
				req, err := http.NewRequest(r.Method, h.ts.URL+strings.ReplaceAll(r.Path, ":id", strconv.FormatInt(c.ID, 10)), strings.NewReader(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				if auth.header != "" {
					req.Header.Set("Authorization", auth.header)
				}
				res, err := h.ts.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(res.Body)
				e := wantError(t, response{Status: res.StatusCode, Header: res.Header, Body: buf.Bytes()}, http.StatusUnauthorized, "")
				if e.Error.Code != "unauthorized" {
					t.Errorf("code %q, want unauthorized", e.Error.Code)
				}
				if got := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
					t.Errorf("WWW-Authenticate %q, want a Bearer challenge (RFC 6750 §3)", got)
				}
			})
		}
	}
	// The scheme is case-insensitive (RFC 9110 §11.1) and a valid token works.
	for _, header := range []string{"Bearer " + u.Token, "bearer " + u.Token, "BEARER  " + u.Token + " "} {
		req, _ := http.NewRequest("GET", h.ts.URL+"/api/v1/settings", nil)
		req.Header.Set("Authorization", header)
		res, err := h.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("Authorization %q: status %d, want 200", strings.ReplaceAll(header, u.Token, "TOKEN"), res.StatusCode)
		}
	}
	if c := h.storedCommitments(t, u.ID); c != 1 {
		t.Errorf("unauthorized requests left %d commitments, want 1", c)
	}
}

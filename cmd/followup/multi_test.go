package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/caldav"
	"github.com/followup/followup/internal/davtest"
	"github.com/followup/followup/internal/pgtest"
	"github.com/followup/followup/store"
)

// mustCLI runs a command line through run with extra environment
// variables and fails the test on error.
func mustCLI(tb testing.TB, dir string, extra map[string]string, args ...string) string {
	tb.Helper()
	out, errOut, err := cliWith(dir, "", extra, args...)
	if err != nil {
		tb.Fatalf("followup %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// TestSessionAcrossInstances: two instances on one PostgreSQL share
// sessions and sign-in limits. An account set up on A is signed in on B
// with the same cookie, a sign-out on B ends the session on A, and failed
// sign-ins count on both.
func TestSessionAcrossInstances(t *testing.T) {
	dir := t.TempDir()
	shared := map[string]string{"FOLLOWUP_DATABASE": pgtest.Database(t), "FOLLOWUP_BASE_URL": "http://followup.test"}
	a := MustRunMain(t, dir, shared)
	b := MustRunMain(t, dir, shared)
	// Both answer on 127.0.0.1: a cookie jar sends the cookie to both, as
	// a browser does behind the load balancer.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(base, path string) (*http.Response, string) {
		t.Helper()
		res, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	csrfOf := func(body string) string {
		t.Helper()
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatal("the page has no CSRF token")
		}
		return m[1]
	}
	post := func(base, path string, form url.Values) *http.Response {
		t.Helper()
		res, err := client.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}

	_, body := get(a.URL(), "/setup")
	post(a.URL(), "/setup", url.Values{"csrf": {csrfOf(body)}, "email": {"me@example.com"}, "password": {"a long password"}, "timezone": {"Europe/Berlin"}})
	res, body := get(b.URL(), "/")
	if res.Request.URL.Path != "/" || res.StatusCode != http.StatusOK || !strings.Contains(body, "Log a promise") {
		t.Fatalf("B with A's session: %d at %s", res.StatusCode, res.Request.URL)
	}
	// B's form, with the token B rendered, is accepted by A.
	_, body = get(b.URL(), "/commitments/new")
	res = post(a.URL(), "/commitments", url.Values{"csrf": {csrfOf(body)}, "contact.name": {"Jane Doe"}, "promise": {"Send the deck"}})
	if !strings.HasPrefix(res.Request.URL.Path, "/commitments/") || res.StatusCode != http.StatusOK {
		t.Fatalf("A took B's form: %d at %s", res.StatusCode, res.Request.URL)
	}
	_, body = get(a.URL(), "/")
	if res := post(b.URL(), "/logout", url.Values{"csrf": {csrfOf(body)}}); res.Request.URL.Path != "/login" {
		t.Fatalf("sign-out on B ends at %s", res.Request.URL)
	}
	if res, _ := get(a.URL(), "/"); res.Request.URL.Path != "/login" {
		t.Fatalf("A after the sign-out on B: at %s, want /login", res.Request.URL)
	}

	// Five failed sign-ins to one account, on A and B in turn: the sixth,
	// on either, is refused even with the right password.
	for i := range 5 {
		base := []string{a.URL(), b.URL()}[i%2]
		_, body := get(base, "/login")
		if res := post(base, "/login", url.Values{"csrf": {csrfOf(body)}, "email": {"me@example.com"}, "password": {"wrong"}}); res.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("sign-in %d refused already", i+1)
		}
	}
	_, body = get(a.URL(), "/login")
	if res := post(a.URL(), "/login", url.Values{"csrf": {csrfOf(body)}, "email": {"me@example.com"}, "password": {"a long password"}}); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the sixth sign-in after five failures on two instances: %d, want 429", res.StatusCode)
	}
}

// multiCommitment is what TestSeveralInstances reads of a commitment.
type multiCommitment struct {
	ID          int64      `json:"id"`
	Status      string     `json:"status"`
	ContactedAt *time.Time `json:"contacted_at"`
	RepliedAt   *time.Time `json:"replied_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	Steps       []stepJSON `json:"steps"`
}

// instances are the processes of TestSeveralInstances: A until it is
// killed, and B.
type instances struct {
	procs  [2]*process
	killed atomic.Bool
	client *http.Client
}

// pick returns the base URL of the instance for the i'th request: A and B
// in turn while A lives, then B.
func (in *instances) pick(i int) string {
	if i%2 == 0 && !in.killed.Load() {
		return in.procs[0].url
	}
	return in.procs[1].url
}

// send sends a JSON request to the instance for i, and to B again when the
// request failed because A was killed under it. It returns the status and
// decodes a 2xx answer into v.
func (in *instances) send(method string, i int, path, token string, header map[string]string, body, v any) (int, error) {
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	for attempt := 0; ; attempt++ {
		base := in.pick(i + attempt)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		for k, val := range header {
			req.Header.Set(k, val)
		}
		res, err := in.client.Do(req)
		if err != nil {
			if base == in.procs[0].url && in.killed.Load() && attempt < 2 {
				continue // A died with it: B takes it over
			}
			return 0, err
		}
		answer, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode/100 == 2 && v != nil {
			if err := json.Unmarshal(answer, v); err != nil {
				return res.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
			}
		}
		if res.StatusCode/100 != 2 && attempt > 0 && res.StatusCode == http.StatusConflict {
			return res.StatusCode, nil // applied by A before it died: seen from state below
		}
		if res.StatusCode/100 != 2 {
			return res.StatusCode, fmt.Errorf("%s %s on %s: %d %s", method, path, base, res.StatusCode, answer)
		}
		return res.StatusCode, nil
	}
}

// multiUser is one account of TestSeveralInstances.
type multiUser struct {
	email, token string
	id           int64
	calendar     followup.Calendar
}

// The shape of TestSeveralInstances.
const (
	multiUsers       = 40
	multiCommitments = 1000
	multiPosters     = 6
	// Every letGoEvery'th commitment is logged so that its let-go falls
	// due during the run; every actEvery'th (offset by 5) gets an action.
	letGoEvery = 10
	actEvery   = 10
	// letGoIn is how long after its POST such a let-go falls due.
	letGoIn = 20 * time.Second
)

// TestSeveralInstances: two processes of the real binary on one
// PostgreSQL serve the same users while a Radicale server receives their
// blocks. 1,000 commitments are posted to both in turn by a few clients at
// once; some are logged so that their let-go falls due during the run, and
// some get an action. Halfway, A is killed (SIGKILL); posting goes on at B,
// which also takes over the jobs A was running. At the end the queue is
// empty, Radicale holds exactly one object per live block and nothing else
// (without a last sync: the jobs did it), and each transition ran once:
// the durable record holds one per transition the commitments show, and no
// other.
func TestSeveralInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary twice, with PostgreSQL and Radicale")
	}
	dsn := pgtest.Database(t)
	srv := davtest.Radicale(t)
	bin := binary(t)
	dir := t.TempDir()
	shared := map[string]string{
		"FOLLOWUP_DATABASE": dsn, "FOLLOWUP_SECRET_FILE": filepath.Join(dir, "secret.key"),
		"FOLLOWUP_BASE_URL": "http://followup.test", "FOLLOWUP_SYNC_INTERVAL": "0", "FOLLOWUP_JOB_TIMEOUT": "5s",
	}
	mustCLI(t, dir, shared, "migrate")
	acct := followup.CalDAVAccount{URL: srv.URL, Username: srv.Username, Password: srv.Password}
	users := make([]multiUser, multiUsers)
	for i := range users {
		u := &users[i]
		u.email = fmt.Sprintf("user%d@example.com", i)
		mustCLI(t, dir, shared, "user", "add", "--email", u.email, "--password", "correct horse", "--timezone", "UTC")
		u.token = strings.TrimSpace(mustCLI(t, dir, shared, "token", "create", "--email", u.email))
		u.calendar = makeCalendar(t, acct, fmt.Sprintf("Follow-ups %d", i))
	}

	in := &instances{client: &http.Client{Timeout: 60 * time.Second}}
	for i := range in.procs {
		in.procs[i] = startInstance(t, bin, dir, shared)
	}
	for i, u := range users {
		body := map[string]any{"url": srv.URL, "username": srv.Username, "password": srv.Password, "calendar": u.calendar.URL, "busy_calendars": []string{}}
		if _, err := in.send("PUT", i, "/api/v1/caldav", u.token, nil, body, nil); err != nil {
			t.Fatal(err)
		}
	}

	began := time.Now()
	owner := postAll(t, in, users)
	posted := time.Since(began)
	db, err := store.Open(dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t.Logf("%d commitments posted in %v; queue: %v", len(owner), posted.Round(time.Millisecond), jobsLeft(t, db))
	waitForLetGos(t, in, users, owner)
	waitForQueue(t, db)
	drained := time.Since(began)
	strays := strayObjects(t, in, users, acct)
	if strays != 0 {
		t.Errorf("%d objects of ended blocks are on Radicale once the queue is empty, want none before any sync", strays)
	}
	syncAll(t, in, users)
	settled := time.Since(began)

	live, mayStay := checkCalendars(t, in, users, owner, acct)
	checkTransitions(t, in, db, users, owner)
	t.Logf("%d commitments posted in %v (A killed halfway), queue empty after %v, %d objects of ended blocks left then, one sync each later %v; %d live blocks on Radicale, %d done blocks allowed to stay",
		len(owner), posted.Round(time.Millisecond), drained.Round(time.Millisecond), strays, settled.Round(time.Millisecond), live, mayStay)
}

// startInstance starts the binary on a port of its own, with the shared
// settings; its start line names the shared base URL, not its address.
func startInstance(t *testing.T, bin, dir string, shared map[string]string) *process {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	vars := maps.Clone(shared)
	vars["FOLLOWUP_ADDR"] = addr
	p := startProcessEnv(t, bin, dir, vars)
	p.url = "http://" + addr
	return p
}

// postAll posts the commitments and their actions with multiPosters
// clients, killing A when half are posted, and returns each commitment's
// user by id.
func postAll(t *testing.T, in *instances, users []multiUser) map[int64]int {
	var next atomic.Int64
	var mu sync.Mutex
	owner := map[int64]int{}
	var wg sync.WaitGroup
	for range multiPosters {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= multiCommitments || t.Failed() {
					return
				}
				if i == multiCommitments/2 {
					in.killed.Store(true)
					in.procs[0].kill()
				}
				u := i % len(users)
				id, err := postOne(in, i, users[u])
				if err != nil {
					t.Errorf("commitment %d: %v", i, err)
					return
				}
				mu.Lock()
				owner[id] = u
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return owner
}

// actions are given in turn to the commitments that get one.
var actions = []followup.Action{followup.ActionContacted, followup.ActionDelivered, followup.ActionReplied, followup.ActionLetGo}

// postOne posts the i'th commitment, with the same Idempotency-Key on a
// retry, and its action if it gets one (on the other instance).
func postOne(in *instances, i int, u multiUser) (int64, error) {
	body := map[string]any{
		"contact":  map[string]any{"name": fmt.Sprintf("Contact %d", i)},
		"promise":  "Send the notes",
		"priority": i%7 == 0,
		"due_text": []string{"in 2 days", "in 4 days", "in 6 days", "in 9 days"}[(i/multiUsers)%4],
	}
	if i%2 == 1 {
		body["direction"] = "theirs"
	}
	if i%letGoEvery == 3 {
		// Met ten days ago, less letGoIn: let go during the run.
		body["met_at"] = time.Now().UTC().AddDate(0, 0, -10).Add(letGoIn).Format(time.RFC3339Nano)
	}
	var c multiCommitment
	key := map[string]string{"Idempotency-Key": fmt.Sprintf("multi-%d", i)}
	if _, err := in.send("POST", i, "/api/v1/commitments", u.token, key, body, &c); err != nil {
		return 0, err
	}
	if c.Status != string(followup.StatusOpen) {
		return 0, fmt.Errorf("posted %s, want open", c.Status)
	}
	if i%actEvery == 5 {
		a := actions[(i/actEvery)%len(actions)]
		if _, err := in.send("POST", i+1, "/api/v1/commitments/"+itoa(c.ID)+"/actions", u.token, nil, map[string]string{"action": string(a)}, nil); err != nil {
			return 0, err
		}
	}
	return c.ID, nil
}

// commitmentsOf reads a user's commitments from B.
func commitmentsOf(t *testing.T, in *instances, u multiUser) []multiCommitment {
	t.Helper()
	var all []multiCommitment
	for offset := 0; ; offset += 500 {
		var page struct {
			Commitments []multiCommitment `json:"commitments"`
		}
		if _, err := in.send("GET", 1, fmt.Sprintf("/api/v1/commitments?limit=500&offset=%d", offset), u.token, nil, nil, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Commitments...)
		if len(page.Commitments) < 500 {
			return all
		}
	}
}

// waitForLetGos waits until every let-go due has been applied: no open
// commitment has a pending let_go step in the past.
func waitForLetGos(t *testing.T, in *instances, users []multiUser, owner map[int64]int) {
	t.Helper()
	deadline := time.Now().Add(letGoIn + 60*time.Second)
	for {
		due := 0
		for _, u := range users {
			for _, c := range commitmentsOf(t, in, u) {
				for _, s := range c.Steps {
					if s.Kind == string(followup.KindLetGo) && (s.Status == "planned" || s.Status == "synced") && s.Start.Before(time.Now()) {
						due++
					}
				}
			}
		}
		if due == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d let-gos due are not applied", due)
		}
		time.Sleep(time.Second)
	}
}

// waitForQueue waits until no calendar job is left to run: none waiting,
// none running (those A was running when it died included) and none to be
// retried.
func waitForQueue(t *testing.T, db *store.DB) {
	t.Helper()
	deadline := time.Now().Add(150 * time.Second)
	for {
		left := jobsLeft(t, db)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs left in the queue: %v", left)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// jobsLeft counts the calendar jobs not done yet, by kind and state.
func jobsLeft(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	counts, err := db.JobCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]int{}
	for _, c := range counts {
		if c.Kind != "tick" && c.State != "completed" && c.State != "cancelled" {
			left[c.Kind+" "+c.State] += c.Jobs
		}
	}
	return left
}

// strayObjects counts the objects on Radicale that no pending block has,
// once the queue is empty: ended blocks whose object the jobs did not
// remove. There is none: a write is noted as pending before it is sent,
// so that one whose answer was lost (a timeout, an instance killed) is
// deleted by the block's next job when the block ended meanwhile.
func strayObjects(t *testing.T, in *instances, users []multiUser, acct followup.CalDAVAccount) int {
	t.Helper()
	n := 0
	for _, u := range users {
		pending := map[string]bool{}
		for _, c := range commitmentsOf(t, in, u) {
			for _, s := range c.Steps {
				if s.Status == "planned" || s.Status == "synced" || s.Status == "done" {
					pending[s.UID] = true
				}
			}
		}
		objs, err := caldav.New(http.DefaultClient).ListEvents(context.Background(), acct, u.calendar.URL)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if !pending[o.UID] {
				n++
			}
		}
	}
	return n
}

// syncAll syncs each user's account on B until a sync has nothing left
// to do, as the periodic sync would.
func syncAll(t *testing.T, in *instances, users []multiUser) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, u := range users {
		for {
			var rep followup.SyncReport
			if _, err := in.send("POST", 1, "/api/v1/sync", u.token, nil, nil, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Written == 0 && rep.Deleted == 0 && len(rep.Errors) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: sync does not settle: %+v", u.email, rep)
			}
		}
	}
}

// checkCalendars compares each user's Radicale calendar with their blocks:
// one object per live block, at most one for a done block that had
// started, and nothing else. It returns how many of each it saw.
func checkCalendars(t *testing.T, in *instances, users []multiUser, owner map[int64]int, acct followup.CalDAVAccount) (live, mayStay int) {
	t.Helper()
	seen := 0
	now := time.Now()
	for _, u := range users {
		want, allowed, what := map[string]bool{}, map[string]bool{}, map[string]string{}
		for _, c := range commitmentsOf(t, in, u) {
			if _, ok := owner[c.ID]; !ok {
				t.Errorf("%s has commitment %d, which was not posted", u.email, c.ID)
			}
			seen++
			for _, s := range c.Steps {
				what[s.UID] = fmt.Sprintf("the %s block (%s, %s to %s) of commitment %d (%s)", s.Kind, s.Status, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339), c.ID, c.Status)
				if s.Kind == "let_go" || s.Kind == "close" {
					continue
				}
				switch {
				case s.Status == "planned" || s.Status == "synced":
					want[s.UID] = true
				case s.Status == "done" && s.Start.Before(now):
					allowed[s.UID] = true // a done block that had started may stay as a record
				}
			}
		}
		objs, err := caldav.New(http.DefaultClient).ListEvents(context.Background(), acct, u.calendar.URL)
		if err != nil {
			t.Fatal(err)
		}
		on := map[string]int{}
		for _, o := range objs {
			on[o.UID]++
			if !want[o.UID] && !allowed[o.UID] {
				t.Errorf("%s: Radicale holds %s, which is no live block: %s", u.email, o.UID, cmp.Or(what[o.UID], "unknown"))
			}
		}
		for uid, n := range on {
			if n > 1 {
				t.Errorf("%s: Radicale holds %s %d times", u.email, uid, n)
			}
		}
		for uid := range want {
			if on[uid] != 1 {
				t.Errorf("%s: live block %s is on Radicale %d times", u.email, uid, on[uid])
			}
		}
		live += len(want)
		for uid := range allowed {
			mayStay += on[uid]
		}
	}
	if seen != len(owner) {
		t.Errorf("the users have %d commitments, %d were posted", seen, len(owner))
	}
	return live, mayStay
}

// checkTransitions checks the durable record of transitions against what
// each commitment shows: one record of each transition it went through
// (contacted, replied, delivered, and let_go or close when let go), with
// the one change of status, and none else.
func checkTransitions(t *testing.T, in *instances, db *store.DB, users []multiUser, owner map[int64]int) {
	t.Helper()
	ctx := context.Background()
	counts := map[followup.TransitionKind]int{}
	for i, u := range users {
		if users[i].id == 0 {
			acct, err := db.UserByEmail(ctx, u.email)
			if err != nil {
				t.Fatal(err)
			}
			users[i].id = acct.ID
		}
		for _, c := range commitmentsOf(t, in, u) {
			got, err := db.Transitions(ctx, users[i].id, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := transitionsMatch(c, got); err != nil {
				t.Errorf("%s, commitment %d: %v", u.email, c.ID, err)
			}
			for _, tr := range got {
				counts[tr.Kind]++
			}
		}
	}
	if counts[followup.TransitionLetGo] < multiCommitments/letGoEvery {
		t.Errorf("%d let-gos recorded, want at least the %d that fell due", counts[followup.TransitionLetGo], multiCommitments/letGoEvery)
	}
	t.Logf("transitions recorded: %v", counts)
}

// transitionsMatch says how a commitment's recorded transitions differ
// from what it shows, nil when they do not.
func transitionsMatch(c multiCommitment, got []followup.Transition) error {
	want := map[followup.TransitionKind]bool{
		followup.TransitionContacted: c.ContactedAt != nil,
		followup.TransitionReplied:   c.RepliedAt != nil,
		followup.TransitionDelivered: c.DeliveredAt != nil,
	}
	n := map[followup.TransitionKind]int{}
	changes := 0
	var ending followup.TransitionKind
	for _, tr := range got {
		n[tr.Kind]++
		if tr.From != tr.To {
			changes++
			if tr.To != followup.Status(c.Status) {
				return fmt.Errorf("a transition to %s, but the commitment is %s", tr.To, c.Status)
			}
		}
		if tr.Kind == followup.TransitionLetGo || tr.Kind == followup.TransitionClose {
			ending = tr.Kind
		}
	}
	var errs []error
	for kind, happened := range want {
		if happened && n[kind] != 1 || !happened && n[kind] != 0 {
			errs = append(errs, fmt.Errorf("%s recorded %d times (happened: %v)", kind, n[kind], happened))
		}
	}
	if letGo := c.Status == string(followup.StatusLetGo); letGo != (ending != "") || n[followup.TransitionLetGo]+n[followup.TransitionClose] > 1 {
		errs = append(errs, fmt.Errorf("status %s with let_go recorded %d times and close %d times", c.Status, n[followup.TransitionLetGo], n[followup.TransitionClose]))
	}
	if open, letGo := c.Status == string(followup.StatusOpen), c.Status == string(followup.StatusLetGo); open && changes != 0 || letGo && changes != 1 || changes > 1 {
		errs = append(errs, fmt.Errorf("status %s with %d changes of status recorded", c.Status, changes))
	}
	return errors.Join(errs...)
}

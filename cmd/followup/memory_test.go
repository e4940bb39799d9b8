package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/followup/followup"
)

// Memory targets of issue 13: what the process holds in RAM idle, and
// while it serves every user of a database with memoryBlocks blocks.
const (
	idleRSSLimit   = 40 << 20
	loadedRSSLimit = 150 << 20
	memoryUsers    = 50
	memoryBlocks   = 100_000
)

// memoryUser is a user of TestMemory with what it signs in with.
type memoryUser struct {
	email, password, token string
	id                     int64
}

// TestMemory builds the binary and measures its resident memory
// (/proc/PID/status VmRSS, and VmHWM, the peak): after start-up and a few
// requests on a fresh database, then restarted on the same database filled
// with 100,000 blocks of 50 users while it serves each user's feed, agenda
// and commitments pages, API lists and a sync.
func TestMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary, fills 100,000 blocks")
	}
	dir := t.TempDir()
	bin := binary(t)
	users := makeMemoryUsers(t, dir, memoryUsers)

	p := startProcess(t, bin, dir)
	for _, u := range users[:2] {
		for i := range 5 {
			postCommitment(t, p.url, u.token, i)
		}
		serveUser(t, p.url, u)
	}
	idle := readMemory(t, p)
	t.Logf("idle after start-up and %d requests: %s", 2*(5+8), idle)
	if idle.rss >= idleRSSLimit {
		t.Errorf("idle RSS %s, want < %d MiB", idle, idleRSSLimit>>20)
	}
	p.kill()

	start := time.Now()
	fillBlocks(t, dir, users, memoryBlocks)
	t.Logf("filled %d blocks of %d users in %v", memoryBlocks, len(users), time.Since(start).Round(time.Millisecond))

	p = startProcess(t, bin, dir)
	start = time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(users))
	sem := make(chan struct{}, 4)
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := serveUserErr(p.url, u); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	loaded := readMemory(t, p)
	t.Logf("after serving %d users with %d blocks (%v): %s", len(users), memoryBlocks, time.Since(start).Round(time.Millisecond), loaded)
	if loaded.hwm >= loadedRSSLimit {
		t.Errorf("peak RSS with %d blocks %s, want < %d MiB", memoryBlocks, loaded, loadedRSSLimit>>20)
	}
}

// memory is a process's resident set, now and at its peak.
type memory struct{ rss, hwm int64 }

func (m memory) String() string {
	return fmt.Sprintf("VmRSS %.1f MiB, VmHWM %.1f MiB", float64(m.rss)/(1<<20), float64(m.hwm)/(1<<20))
}

// readMemory reads VmRSS and VmHWM from /proc/PID/status.
func readMemory(tb testing.TB, p *process) memory {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		tb.Skipf("no /proc to read the process's memory from: %v", err)
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case err != nil:
		case name == "VmRSS":
			m.rss = kb << 10
		case name == "VmHWM":
			m.hwm = kb << 10
		}
	}
	if m.rss == 0 || m.hwm == 0 {
		tb.Fatalf("no VmRSS or VmHWM in /proc/%d/status", p.cmd.Process.Pid)
	}
	return m
}

// makeMemoryUsers creates n users with an API token each, through the
// program's own wiring (Main.Open), on the database in dir.
func makeMemoryUsers(tb testing.TB, dir string, n int) []memoryUser {
	tb.Helper()
	m := openMainRealClock(tb, dir)
	defer m.Close()
	ctx := context.Background()
	users := make([]memoryUser, n)
	for i := range users {
		u := memoryUser{email: fmt.Sprintf("user%02d@example.com", i), password: fmt.Sprintf("password of user %d", i)}
		created, err := m.Service.CreateUser(ctx, u.email, u.password, "America/New_York")
		if err != nil {
			tb.Fatal(err)
		}
		if u.token, err = m.Service.CreateToken(ctx, u.email, "memory"); err != nil {
			tb.Fatal(err)
		}
		u.id = created.ID
		users[i] = u
	}
	return users
}

// openMainRealClock opens the program on dir's database as `followup serve` wires
// it, on the real clock as the binary runs on, without serving.
func openMainRealClock(tb testing.TB, dir string) *Main {
	tb.Helper()
	_, cfg := parseTestConfig(tb, env(dir, map[string]string{"FOLLOWUP_LOG_LEVEL": "warn"}))
	m := NewMain(cfg, io.Discard, io.Discard)
	m.Now = time.Now
	if err := m.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return m
}

// fillBlocks stores n blocks spread unevenly over the users: commitments with a
// refresher and a deliver block and a let-go step each, met over the last
// five weeks, as the store holds those the service creates. Those met more
// than ten days ago are done; the others are open with their let-go to come.
// The blocks lie between five weeks ago and two weeks ahead, all in the feed.
func fillBlocks(tb testing.TB, dir string, users []memoryUser, n int) {
	tb.Helper()
	m := openMainRealClock(tb, dir)
	defer m.Close()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Minute)
	mean := n / len(users) / 2 // commitments, two blocks each
	span := 49 * 24 * time.Hour
	left := n / 2
	for ui, u := range users {
		// Users hold from half to one and a half times the mean, so that
		// lists and feeds come in many lengths; the last takes the rest.
		perUser := mean/2 + mean*ui/(len(users)-1)
		if ui == len(users)-1 {
			perUser = left
		}
		left -= perUser
		err := m.DB.InTx(ctx, func(q followup.Queries) error {
			for i := range perUser {
				met := now.Add(-35*24*time.Hour + span*time.Duration(i)/time.Duration(perUser))
				if err := insertMemoryCommitment(ctx, q, u.id, ui, i, met, now); err != nil {
					return err
				}
			}
			return q.TouchFeed(ctx, u.id, now)
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// insertMemoryCommitment stores one commitment met at met with its steps.
func insertMemoryCommitment(ctx context.Context, q followup.Queries, userID int64, ui, i int, met, now time.Time) error {
	done := met.AddDate(0, 0, 10).Before(now)
	c := followup.Commitment{
		UserID: userID,
		Contact: followup.Contact{Name: fmt.Sprintf("Contact %d-%d", ui, i), Email: fmt.Sprintf("c%d.%d@example.com", ui, i),
			Company: "Company " + strconv.Itoa(i%37)},
		MetAt: met, MetWhere: "Conference hall " + strconv.Itoa(i%7), Promise: "Send the pricing deck, version " + strconv.Itoa(i),
		Direction: followup.Mine, Due: met.Add(48 * time.Hour), DueText: "in 2 days", Priority: i%5 == 0,
		Notes: "possible client; met at the booth", Status: followup.StatusOpen, CreatedAt: met, UpdatedAt: met,
	}
	if done {
		c.Status, c.EndedAt = followup.StatusDone, &c.Due
	}
	if err := q.InsertCommitment(ctx, &c); err != nil {
		return err
	}
	step := func(kind followup.StepKind, start time.Time, d time.Duration) followup.Step {
		s := followup.Step{
			CommitmentID: c.ID, UserID: userID, Kind: kind, Status: followup.StepPlanned,
			Start: start, End: start.Add(d), NotBefore: met, Due: c.Due, UID: fmt.Sprintf("mem-%d-%d-%s@followup", ui, i, kind),
			Sequence: 1, RemoteSequence: followup.NoRemoteSequence, CreatedAt: met, UpdatedAt: met,
		}
		if done {
			s.Status, s.CompletedAt = followup.StepDone, &c.Due
			if kind == followup.KindLetGo {
				s.Status = followup.StepCancelled
			}
		}
		return s
	}
	steps := []followup.Step{
		step(followup.KindRefresher, met.Add(2*time.Hour), 15*time.Minute),
		step(followup.KindDeliver, met.Add(26*time.Hour), 30*time.Minute),
		step(followup.KindLetGo, met.AddDate(0, 0, 10), 0),
	}
	return q.InsertSteps(ctx, steps)
}

// postCommitment logs the i-th commitment of a user through the API.
func postCommitment(tb testing.TB, base, token string, i int) {
	tb.Helper()
	resp := do(tb, "POST", base+"/api/v1/commitments", token, map[string]any{
		"contact": map[string]any{"name": fmt.Sprintf("Contact %d", i), "email": fmt.Sprintf("c%d@example.com", i)},
		"promise": "Send the notes", "due_text": "in 3 days", "priority": i%3 == 0,
	}, nil)
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("POST /api/v1/commitments: %d", resp.StatusCode)
	}
}

// serveUser asks for what a user reads, and fails the test on an error.
func serveUser(tb testing.TB, base string, u memoryUser) {
	tb.Helper()
	if err := serveUserErr(base, u); err != nil {
		tb.Fatal(err)
	}
}

// serveUserErr asks for what a user reads: the API lists and agenda, the
// feed, a sync, and, signed in, the agenda and commitments pages.
func serveUserErr(base string, u memoryUser) error {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: time.Minute}
	get := func(path string, header map[string]string) (string, error) {
		req, _ := http.NewRequest("GET", base+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return "", err
		}
		if res.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: %d %s", path, res.StatusCode, b)
		}
		return string(b), nil
	}
	bearer := map[string]string{"Authorization": "Bearer " + u.token}
	now := time.Now().UTC()
	for _, path := range []string{
		"/api/v1/commitments?status=open",
		"/api/v1/commitments",
		"/api/v1/agenda?from=" + url.QueryEscape(now.AddDate(0, 0, -7).Format(time.RFC3339)) + "&to=" + url.QueryEscape(now.AddDate(0, 0, 14).Format(time.RFC3339)),
	} {
		if _, err := get(path, bearer); err != nil {
			return err
		}
	}
	feed, err := get("/api/v1/feed", bearer)
	if err != nil {
		return err
	}
	feedURL := regexp.MustCompile(`"url":\s*"[^"]*(/feeds/[^"]+)"`).FindStringSubmatch(feed)
	if feedURL == nil {
		return fmt.Errorf("GET /api/v1/feed: no url in %s", feed)
	}
	if body, err := get(feedURL[1], nil); err != nil {
		return err
	} else if !strings.Contains(body, "BEGIN:VEVENT") {
		return fmt.Errorf("feed of %s has no event", u.email)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/sync", nil)
	req.Header.Set("Authorization", "Bearer "+u.token)
	if res, err := client.Do(req); err != nil {
		return err
	} else {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			return fmt.Errorf("POST /api/v1/sync: %d", res.StatusCode)
		}
	}
	login, err := get("/login", nil)
	if err != nil {
		return err
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(login)
	if csrf == nil {
		return fmt.Errorf("the login form has no CSRF token")
	}
	res, err := client.PostForm(base+"/login", url.Values{"csrf": {csrf[1]}, "email": {u.email}, "password": {u.password}})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Request.URL.Path == "/login" {
		return fmt.Errorf("sign in as %s: %d at %s", u.email, res.StatusCode, res.Request.URL.Path)
	}
	for _, path := range []string{"/agenda", "/commitments"} {
		if _, err := get(path, nil); err != nil {
			return err
		}
	}
	return nil
}

package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/ics"
	"github.com/followup/followup/service"
)

// benchHarness is a harness that logs to nowhere (but still formats every
// line, as the server does) and keeps enough idle connections for
// parallel clients.
func benchHarness(b *testing.B) *harness {
	b.Helper()
	h := newHarness(b)
	h.srv.Log = slog.New(followup.LogHandler(slog.NewJSONHandler(io.Discard, nil)))
	h.ts.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	return h
}

// seedBlocks stores n planned blocks for the user directly through the
// store: n/10 commitments with 10 blocks each, 15 minutes apart.
func seedBlocks(b *testing.B, h *harness, u user, n int) {
	b.Helper()
	ctx := context.Background()
	now := h.clock.Now().UTC()
	kinds := []followup.StepKind{followup.KindRefresher, followup.KindDeliver, followup.KindConfirm, followup.KindNudge, followup.KindChase}
	err := h.db.InTx(ctx, func(q followup.Queries) error {
		for i := 0; i < n/10; i++ {
			c := followup.Commitment{
				UserID: u.ID, Contact: followup.Contact{Name: fmt.Sprintf("Contact %d", i), Email: fmt.Sprintf("c%d@example.com", i)},
				MetAt: now, MetWhere: "Conference hall " + strconv.Itoa(i%7), Promise: "Send the pricing deck, version " + strconv.Itoa(i),
				Direction: followup.Mine, Due: now.AddDate(0, 0, 10), Notes: "possible client; met at the booth",
				Status: followup.StatusOpen, CreatedAt: now, UpdatedAt: now,
			}
			if err := q.InsertCommitment(ctx, &c); err != nil {
				return err
			}
			for j := 0; j < 10; j++ {
				k := i*10 + j
				s := followup.Step{
					CommitmentID: c.ID, UserID: u.ID, Kind: kinds[j%len(kinds)], Status: followup.StepPlanned,
					Start: now.Add(time.Duration(k+1) * 15 * time.Minute), End: now.Add(time.Duration(k+2) * 15 * time.Minute),
					NotBefore: now, Due: now.AddDate(0, 0, 10), UID: fmt.Sprintf("bench-%06d@followup", k),
					Sequence: 1, RemoteSequence: -1, CreatedAt: now, UpdatedAt: now,
				}
				if err := q.InsertStep(ctx, &s); err != nil {
					return err
				}
			}
		}
		return q.TouchFeed(ctx, u.ID, now)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// get sends a GET on a keep-alive connection and returns the status and
// body length.
func (h *harness) fetch(b *testing.B, path string, header map[string]string) (int, int) {
	req, err := http.NewRequest("GET", h.ts.URL+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := h.ts.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, int(n)
}

// BenchmarkFeed10000 renders a feed of 10,000 blocks through the service
// and over HTTP: a new feed version with no block changed (the last
// render's blocks are copied), a first render (a service that keeps no
// render), the parts measured apart, and a GET of the version kept.
func BenchmarkFeed10000(b *testing.B) {
	h := benchHarness(b)
	u := h.newUser(b, "bench@example.com")
	seedBlocks(b, h, u, 10000)
	ctx := context.Background()
	path := h.feedPath(b, u)
	token := strings.TrimSuffix(strings.TrimPrefix(path, "/feeds/"), ".ics")
	v, err := h.svc.FeedVersion(ctx, token)
	if err != nil {
		b.Fatal(err)
	}
	events, err := h.svc.FeedEvents(ctx, u.ID)
	if err != nil {
		b.Fatal(err)
	}
	if len(events) != 10000 {
		b.Fatalf("feed has %d events, want 10000", len(events))
	}

	b.Run("http-new-version", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			if err := h.db.TouchFeed(ctx, u.ID, h.clock.Now()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			status, n := h.fetch(b, path, nil)
			if status != http.StatusOK {
				b.Fatalf("status %d", status)
			}
			b.SetBytes(int64(n))
		}
	})
	b.Run("service-first-render", func(b *testing.B) {
		fresh := &service.Service{Store: h.db, Now: h.svc.Now, BaseURL: h.svc.BaseURL, Encoder: ics.FeedEncoder{}, FeedCacheBytes: -1}
		for b.Loop() {
			body, err := fresh.FeedDocument(ctx, v)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
		}
	})
	b.Run("feed-events", func(b *testing.B) {
		for b.Loop() {
			if _, err := h.svc.FeedEvents(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ics-encode", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := ics.Encode(&buf, ics.Feed{Name: "Follow-ups", Events: events, Now: h.clock.Now()}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(buf.Len()))
		}
	})
	b.Run("http-cached", func(b *testing.B) {
		for b.Loop() {
			if status, _ := h.fetch(b, path, nil); status != http.StatusOK {
				b.Fatalf("status %d", status)
			}
		}
	})
}

// BenchmarkFeed304 answers a conditional GET for a user with 10,000
// blocks; GET /healthz on the same server is the reference round trip.
func BenchmarkFeed304(b *testing.B) {
	h := benchHarness(b)
	u := h.newUser(b, "bench@example.com")
	seedBlocks(b, h, u, 10000)
	path := h.feedPath(b, u)
	res := h.send(b, request{Method: "GET", Path: path})
	etag := res.Header.Get("ETag")
	lm := res.Header.Get("Last-Modified")
	b.Run("if-none-match", func(b *testing.B) {
		hdr := map[string]string{"If-None-Match": etag}
		for b.Loop() {
			if status, _ := h.fetch(b, path, hdr); status != http.StatusNotModified {
				b.Fatalf("status %d, want 304", status)
			}
		}
	})
	b.Run("if-modified-since", func(b *testing.B) {
		hdr := map[string]string{"If-Modified-Since": lm}
		for b.Loop() {
			if status, _ := h.fetch(b, path, hdr); status != http.StatusNotModified {
				b.Fatalf("status %d, want 304", status)
			}
		}
	})
	b.Run("healthz", func(b *testing.B) {
		for b.Loop() {
			if status, _ := h.fetch(b, "/healthz", nil); status != http.StatusOK {
				b.Fatalf("status %d", status)
			}
		}
	})
}

// BenchmarkCreateCommitment posts commitments through the full HTTP stack
// on SQLite from parallel clients and reports requests per second; GET
// /healthz from the same clients is the reference. Every create replans
// its user's pending blocks, so its cost grows with the user's open
// commitments: the posts are spread over 1,000 users, each of whom ends
// with a few, which is the common case.
func BenchmarkCreateCommitment(b *testing.B) {
	h := benchHarness(b)
	ctx := context.Background()
	var tokens []string
	for i := range 1000 {
		email := fmt.Sprintf("u%d@example.com", i)
		// Through the store: bcrypt would dominate the setup.
		usr := followup.User{Email: email, PasswordHash: "x", CreatedAt: h.clock.Now()}
		if err := h.db.CreateUser(ctx, &usr, followup.DefaultSettings("America/New_York")); err != nil {
			b.Fatal(err)
		}
		tok, err := h.svc.CreateToken(ctx, email, "bench")
		if err != nil {
			b.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	body := []byte(`{"contact":{"name":"Jane Doe","email":"jane@example.com"},"met_where":"SaaStr, booth 12","promise":"Send the pricing deck","due_text":"by Friday","priority":true,"notes":"possible client"}`)
	// post runs on RunParallel's goroutines, so it reports with Errorf.
	post := func(b *testing.B, token string) {
		req, err := http.NewRequest("POST", h.ts.URL+"/api/v1/commitments", bytes.NewReader(body))
		if err != nil {
			b.Error(err)
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := h.ts.Client().Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			b.Errorf("status %d", res.StatusCode)
		}
	}
	for _, p := range []int{1, 4} {
		b.Run(fmt.Sprintf("create/parallelism=%d", p), func(b *testing.B) {
			var next atomic.Int64
			b.SetParallelism(p)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					post(b, tokens[next.Add(1)%int64(len(tokens))])
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
	b.Run("healthz/parallelism=4", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("GET", h.ts.URL+"/healthz", nil)
				res, err := h.ts.Client().Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

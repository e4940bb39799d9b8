// Package browsertest drives a real headless Chromium from tests with
// chromedp: one browser per test, pages (tabs) with a viewport, a time zone
// and a record of the page's script errors and Content-Security-Policy
// violations, the vendored axe-core accessibility check, and screenshots.
//
// When Chromium is missing the test is skipped with a message, unless
// FOLLOWUP_REQUIRE_SERVERS=1 is set, which makes it a failure (CI installs
// the Debian package chromium and sets it).
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/followup/followup/internal/testenv"
)

// StepTimeout bounds one call of Page.Do: a page that never loads or a
// selector that never matches fails the test instead of hanging it.
const StepTimeout = 30 * time.Second

// executables are the names Chromium is installed under, in the order tried.
var executables = []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}

// Browser is a headless Chromium with a fresh profile, stopped when the test
// ends.
type Browser struct {
	ctx context.Context
}

// lookPath finds Chromium: FOLLOWUP_CHROMIUM if set, else the first of
// executables on PATH.
func lookPath() (string, error) {
	if p := os.Getenv("FOLLOWUP_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range executables {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// Start starts headless Chromium with a fresh profile in a temp dir. It runs
// without the sandbox, which Chromium cannot use as root (as in CI
// containers); the pages it opens are the test's own.
//
// With -short it skips the test: the browser tests do not read the
// machine's zone (pages get theirs from PageOptions), so the runs of the
// suite in other zones leave them out.
func Start(tb testing.TB) *Browser {
	tb.Helper()
	if testing.Short() {
		tb.Skip("browsertest: -short leaves out the browser tests")
	}
	path, err := lookPath()
	if err != nil {
		testenv.Missing(tb, "browsertest: chromium is not installed (apt-get install chromium, or set FOLLOWUP_CHROMIUM to its path)")
	}
	profile := tb.TempDir() // removed after the browser stops: cleanups run last-in first-out
	out := &testenv.SyncBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.CombinedOutput(out),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	tb.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(ctx, 10*time.Second)
		defer stop()
		chromedp.Cancel(stopCtx)
		cancel()
		cancelAlloc()
		if tb.Failed() {
			tb.Logf("browsertest: chromium output:\n%s", withoutNoise(out.String()))
		}
	})
	// The first action starts the browser; it must not carry a timeout, which
	// would stop the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("browsertest: start %s: %v\n%s", path, err, out.String())
	}
	return &Browser{ctx: ctx}
}

// withoutNoise drops the lines Chromium writes on every start in a
// container: it finds no D-Bus to talk to, which does not matter headless.
func withoutNoise(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, ":ERROR:dbus/") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// PageOptions shape a page's viewport and environment.
type PageOptions struct {
	// Width and Height of the viewport in CSS pixels; 1280×800 when zero.
	Width, Height int64
	// Mobile emulates a phone: a mobile viewport and touch.
	Mobile bool
	// TimeZone is the IANA zone the page's scripts see; the machine's when empty.
	TimeZone string
}

// Page is one tab of the browser, reporting failures to one test.
type Page struct {
	tb  testing.TB
	ctx context.Context
	log *problemLog
}

// problemLog is what went wrong in a tab's scripts, and the dialogs it
// showed, shared by every Page value of the tab.
type problemLog struct {
	ctx      context.Context // the tab, for answering dialogs
	mu       sync.Mutex
	problems []string
	dialogs  []string
}

// For returns the same tab reporting to tb, for use inside a subtest.
func (p *Page) For(tb testing.TB) *Page {
	q := *p
	q.tb = tb
	return &q
}

// NewPage opens a tab with opts applied, closed when the test ends. The tab
// records uncaught script exceptions and the browser's error log entries
// (Content-Security-Policy violations among them; see Problems), and
// accepts the dialogs scripts open (see Dialogs).
func (b *Browser) NewPage(tb testing.TB, opts PageOptions) *Page {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	tb.Cleanup(cancel)
	p := &Page{tb: tb, ctx: ctx, log: &problemLog{ctx: ctx}}
	if err := chromedp.Listen(ctx, p.log.record); err != nil {
		tb.Fatalf("browsertest: listen: %v", err)
	}
	if opts.Width == 0 {
		opts.Width, opts.Height = 1280, 800
	}
	setup := []chromedp.Action[chromedp.Void]{
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, cdplog.Enable, cdp.Empty{})
			return err
		}),
		viewport(opts),
	}
	if opts.TimeZone != "" {
		setup = append(setup, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: opts.TimeZone})
			return err
		}))
	}
	p.Do(setup...)
	return p
}

// viewport is the action that applies the page's size and device kind.
func viewport(opts PageOptions) chromedp.Action[chromedp.Void] {
	var emu []chromedp.EmulateViewportOption
	if opts.Mobile {
		emu = append(emu, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	return chromedp.EmulateViewport(opts.Width, opts.Height, emu...)
}

// record keeps the events that mean the page did not work as written, and
// accepts every dialog (window.confirm) as a person clicking OK would. It
// runs on chromedp's reading goroutine, so it only appends and leaves the
// answer to another goroutine.
func (l *problemLog) record(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		l.mu.Lock()
		l.dialogs = append(l.dialogs, ev.Message)
		l.mu.Unlock()
		go chromedp.Do(l.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			return err
		}))
		return
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		problem = "uncaught exception: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			problem += " " + d.Exception.Description
		}
		problem += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		if e.Level != cdplog.EntryLevelError || e.Source == cdplog.EntrySourceNetwork {
			// A 404 or 422 answer is logged as a network error; the tests
			// check statuses themselves.
			return
		}
		problem = fmt.Sprintf("%s error: %s (%s)", e.Source, e.Text, e.URL)
	default:
		return
	}
	l.mu.Lock()
	l.problems = append(l.problems, problem)
	l.mu.Unlock()
}

// Problems returns and forgets what went wrong in the page's scripts so far:
// uncaught exceptions, console errors and Content-Security-Policy
// violations.
func (p *Page) Problems() []string {
	p.log.mu.Lock()
	defer p.log.mu.Unlock()
	out := p.log.problems
	p.log.problems = nil
	return out
}

// Dialogs returns and forgets the messages of the dialogs the page showed
// (and that were accepted) so far.
func (p *Page) Dialogs() []string {
	p.log.mu.Lock()
	defer p.log.mu.Unlock()
	out := p.log.dialogs
	p.log.dialogs = nil
	return out
}

// CheckProblems fails the test with every problem recorded since the last
// check, naming where the page was.
func (p *Page) CheckProblems(label string) {
	p.tb.Helper()
	if probs := p.Problems(); len(probs) > 0 {
		p.tb.Errorf("%s: the page reported problems:\n  %s", label, strings.Join(probs, "\n  "))
	}
}

// Context returns the tab's chromedp context, for chromedp.Run with actions
// that return a value; derive a timeout from it (see Value).
func (p *Page) Context() context.Context { return p.ctx }

// Do runs the actions in the tab within StepTimeout and fails the test on
// the first error.
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.tb.Fatalf("browsertest: %v (problems: %v)", err, p.Problems())
	}
}

// Value runs one action that returns a value within StepTimeout and fails
// the test on error.
func Value[T any](p *Page, a chromedp.Action[T]) T {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.tb.Fatalf("browsertest: %v (problems: %v)", err, p.Problems())
	}
	return v
}

// Open navigates to url, waits for the page to load and returns the HTTP
// status of the document, after redirects.
func (p *Page) Open(url string) int64 {
	p.tb.Helper()
	return Value(p, chromedp.NavigateResponse(url)).Status
}

// Load runs actions that navigate, such as a click on a submit button,
// waits for the new page to load and returns the HTTP status of its
// document, after redirects.
func (p *Page) Load(actions ...chromedp.Action[chromedp.Void]) int64 {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, StepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		p.tb.Fatalf("browsertest: %v (problems: %v)", err, p.Problems())
	}
	if resp == nil { // a navigation within the document
		return 0
	}
	return resp.Status
}

// Location is the URL of the page's main frame.
func (p *Page) Location() string {
	p.tb.Helper()
	return Value(p, chromedp.Location())
}

// Screenshot writes a PNG of the whole page, beyond the viewport, to path.
func (p *Page) Screenshot(path string) {
	p.tb.Helper()
	png := Value(p, chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.tb.Fatal(err)
	}
}

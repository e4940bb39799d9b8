package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored with its licence in axe/ (see
// axe/README.md for the version).
//
//go:embed axe/axe.min.js
var axeSource string

// Violation is one rule axe-core found broken, with the elements that break it.
type Violation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target         json.RawMessage `json:"target"`
		HTML           string          `json:"html"`
		FailureSummary string          `json:"failureSummary"`
	} `json:"nodes"`
}

// Blocking reports a violation the tests do not let pass: impact serious or
// critical.
func (v Violation) Blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

// String renders the violation for a test log, one line per element.
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s: %s (%s)", v.Impact, v.ID, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n      %s %s", n.Target, n.HTML)
		if n.FailureSummary != "" {
			fmt.Fprintf(&b, "\n        %s", strings.ReplaceAll(n.FailureSummary, "\n", "\n        "))
		}
	}
	return b.String()
}

// axeRun runs every axe-core rule on the whole document and answers the
// violations as JSON.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`

// Axe injects axe-core into the loaded page and returns every violation it
// finds. The script goes in over the DevTools protocol (Runtime.evaluate),
// which the page's Content-Security-Policy does not govern, so a strict
// script-src 'self' neither blocks it nor needs loosening for tests.
func (p *Page) Axe() ([]Violation, error) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 2*StepTimeout)
	defer cancel()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === "object"`))
	if err != nil {
		return nil, fmt.Errorf("axe: %w", err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+"\n;true")); err != nil {
			return nil, fmt.Errorf("axe: inject: %w", err)
		}
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("axe: run: %w", err)
	}
	var vs []Violation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		return nil, fmt.Errorf("axe: results: %w", err)
	}
	return vs, nil
}

// CheckAxe runs axe-core on the loaded page and fails the test on every
// serious or critical violation, printing each with the elements at fault;
// minor and moderate ones are logged. label names the page in the messages.
func (p *Page) CheckAxe(label string) {
	p.tb.Helper()
	vs, err := p.Axe()
	if err != nil {
		p.tb.Fatalf("%s: %v", label, err)
	}
	var blocking, other []string
	for _, v := range vs {
		if v.Blocking() {
			blocking = append(blocking, v.String())
		} else {
			other = append(other, v.String())
		}
	}
	if len(other) > 0 {
		p.tb.Logf("%s: axe-core, minor and moderate:\n  %s", label, strings.Join(other, "\n  "))
	}
	if len(blocking) > 0 {
		p.tb.Errorf("%s: axe-core found %d serious or critical violations:\n  %s", label, len(blocking), strings.Join(blocking, "\n  "))
	}
}

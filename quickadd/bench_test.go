package quickadd_test

import (
	"strings"
	"testing"

	"github.com/followup/followup/quickadd"
)

// BenchmarkParse reads the example, and the longest line full of
// deadline words, which maxDueTries bounds.
func BenchmarkParse(b *testing.B) {
	cx := at(b, "Europe/Berlin", 2026, 3, 28, 23, 50)
	for _, tc := range []struct{ name, line string }{
		{"example", "Jane Doe (Acme) — send pricing deck by Friday * met at SaaStr"},
		{"date words", "Jane — " + strings.Repeat("by ", 330)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				_, _ = quickadd.Parse(tc.line, cx)
			}
		})
	}
}

// Package testenv holds what the test harnesses of real outside programs
// (CalDAV servers, the browser, the built binary) share: the rule for a
// missing program, and a log sink the program writes to while the test
// reads it.
package testenv

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"
)

// Missing skips the test because an outside program is missing, or fails
// it when FOLLOWUP_REQUIRE_SERVERS=1 (as CI sets it).
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("FOLLOWUP_REQUIRE_SERVERS") == "1" {
		tb.Fatalf("%s (FOLLOWUP_REQUIRE_SERVERS=1)", msg)
	}
	tb.Skip(msg)
}

// SyncBuffer is a bytes.Buffer safe for a process to write to while the
// test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

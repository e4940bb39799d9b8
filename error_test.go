package followup_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/followup/followup"
)

// serverBusy is an error with a Retry-After, as caldav.RetryAfterError is.
type serverBusy struct{ after time.Duration }

func (e serverBusy) Error() string             { return "busy" }
func (e serverBusy) RetryAfter() time.Duration { return e.after }

func TestRetryAfter(t *testing.T) {
	remote := followup.Errorf(followup.EREMOTE, "", "The server is busy.")
	tests := []struct {
		name  string
		err   error
		after time.Duration
		ok    bool
	}{
		{"nil", nil, 0, false},
		{"plain", errors.New("x"), 0, false},
		{"followup error", remote, 0, false},
		{"server's", serverBusy{2 * time.Second}, 2 * time.Second, true},
		{"wrapped server's", fmt.Errorf("caldav: put: %w", serverBusy{time.Minute}), time.Minute, true},
		{"RetryLater", followup.RetryLater(3*time.Second, remote), 3 * time.Second, true},
		{"wrapped RetryLater", fmt.Errorf("sync: %w", followup.RetryLater(time.Second, remote)), time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after, ok := followup.RetryAfter(tc.err)
			if after != tc.after || ok != tc.ok {
				t.Errorf("RetryAfter = %v, %v; want %v, %v", after, ok, tc.after, tc.ok)
			}
		})
	}
	// RetryLater keeps the code and the message of what it wraps.
	err := followup.RetryLater(time.Second, remote)
	if followup.ErrorCode(err) != followup.EREMOTE || followup.ErrorMessage(err) != "The server is busy." {
		t.Errorf("RetryLater hides its cause: %q %q", followup.ErrorCode(err), followup.ErrorMessage(err))
	}
}

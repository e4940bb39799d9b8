package followup

import (
	"errors"
	"fmt"
	"time"
)

// Application error codes. The web package maps each to one HTTP status;
// nothing else in the service knows about statuses.
const (
	EINVALID      = "invalid"      // the caller sent something wrong (400)
	EUNAUTHORIZED = "unauthorized" // no valid credentials (401)
	ENOTFOUND     = "not_found"    // missing, or owned by someone else (404)
	ECONFLICT     = "conflict"     // state conflict, e.g. duplicate email or a 412 from CalDAV (409)
	ETOOLARGE     = "too_large"    // request body over the limit (413)
	EREMOTE       = "remote"       // a remote server the user named refused or failed (422)
	ERATELIMIT    = "rate_limited" // slow down (429)
	EINTERNAL     = "internal"     // a bug or an outage on our side (500)
	EUNAVAILABLE  = "unavailable"  // not ready, e.g. database down (503)
)

// Error is the service's error type. Code is machine-readable, Message is
// meant for a person, and Field names the offending input field, if any.
type Error struct {
	Code    string
	Message string
	Field   string
	// Err is an optional underlying error, kept for logs and errors.Is.
	Err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := fmt.Sprintf("followup error: code=%s message=%s", e.Code, e.Message)
	if e.Field != "" {
		s += " field=" + e.Field
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain,
// or a generic message for any other error, so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorField returns the field of the first *Error in err's chain.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// Errorf returns an *Error with the given code and field and a formatted message.
func Errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with the given code and message that keeps err
// as its cause.
func WrapError(code, field, message string, err error) *Error {
	return &Error{Code: code, Field: field, Message: message, Err: err}
}

// RetryAfter reports how long to wait before trying again, from the first
// error in err's chain with a RetryAfter() time.Duration method: a server's
// Retry-After (caldav.RetryAfterError), a backoff still running, or an
// account busy with other work (RetryLater).
func RetryAfter(err error) (time.Duration, bool) {
	var ra interface{ RetryAfter() time.Duration }
	if err == nil || !errors.As(err, &ra) {
		return 0, false
	}
	return ra.RetryAfter(), true
}

// RetryLater returns err marked to be tried again after d; RetryAfter finds
// the delay, and ErrorCode and ErrorMessage still see err.
func RetryLater(d time.Duration, err error) error {
	return &retryLater{after: d, err: err}
}

type retryLater struct {
	after time.Duration
	err   error
}

func (e *retryLater) Error() string             { return fmt.Sprintf("retry after %v: %v", e.after, e.err) }
func (e *retryLater) Unwrap() error             { return e.err }
func (e *retryLater) RetryAfter() time.Duration { return e.after }

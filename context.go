package followup

import (
	"context"
	"log/slog"
)

type contextKey int

const (
	requestIDKey contextKey = iota
	userKey
)

// ForUser marks ctx as work on one user's data. A Store whose transactions
// run concurrently (PostgreSQL, several instances) runs the transactions
// of a context so marked one at a time per user, across instances: two
// transactions of one user (a create and a calendar job recording its
// write) would otherwise conflict and be run again, over and over while
// that user's jobs keep coming.
func ForUser(ctx context.Context, userID int64) context.Context {
	if userID == 0 {
		return ctx
	}
	return context.WithValue(ctx, userKey, userID)
}

// UserOf returns the user that ForUser marked ctx with, 0 when none.
func UserOf(ctx context.Context) int64 {
	id, _ := ctx.Value(userKey).(int64)
	return id
}

// WithRequestID returns a context carrying a request id for logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// LogHandler wraps h so that every record logged with a context carrying a
// request id gets a request_id attribute.
func LogHandler(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

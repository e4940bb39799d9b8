// Package web is the HTTP side of followup: the JSON API, the ICS feed and
// the health checks. It is the only package that uses Echo; handlers bind
// into request structs, map them to domain input and call the Service.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/followup/followup"
)

// Service is the domain service as the handlers use it (service.Service
// implements it).
type Service interface {
	Authenticate(ctx context.Context, token string) (followup.User, error)
	Create(ctx context.Context, userID int64, in followup.NewCommitment) (followup.Commitment, error)
	QuickAdd(ctx context.Context, userID int64, in followup.QuickInput) (followup.QuickResult, error)
	QuickAddOnce(ctx context.Context, userID int64, key string, in followup.QuickInput) (followup.QuickResult, bool, error)
	ReadQuick(ctx context.Context, userID int64, in followup.QuickInput) (followup.QuickReading, error)
	ContactFromVCard(ctx context.Context, data []byte) (followup.Contact, error)
	List(ctx context.Context, userID int64, f followup.CommitmentFilter) ([]followup.Commitment, error)
	Get(ctx context.Context, userID, id int64) (followup.Commitment, error)
	Act(ctx context.Context, userID, id int64, a followup.Action) (followup.Commitment, error)
	Delete(ctx context.Context, userID, id int64) error
	Agenda(ctx context.Context, userID int64, from, to time.Time) (followup.Agenda, error)
	Settings(ctx context.Context, userID int64) (followup.Settings, error)
	PutSettings(ctx context.Context, userID int64, s followup.Settings) (followup.Settings, error)
	FeedLinks(ctx context.Context, userID int64) (followup.FeedLinks, error)
	RotateFeed(ctx context.Context, userID int64) (followup.FeedLinks, error)
	FeedVersion(ctx context.Context, token string) (followup.FeedVersion, error)
	FeedDocument(ctx context.Context, v followup.FeedVersion) ([]byte, error)
	ConnectCalDAV(ctx context.Context, userID int64, in followup.CalDAVInput) (followup.CalDAVConnection, error)
	CalDAV(ctx context.Context, userID int64) (followup.CalDAVConnection, error)
	DisconnectCalDAV(ctx context.Context, userID int64) error
	Sync(ctx context.Context, userID int64) (followup.SyncReport, error)

	// The web app's accounts and sessions.
	NeedsSetup(ctx context.Context) (bool, error)
	Setup(ctx context.Context, email, password, timezone string) (followup.User, error)
	Login(ctx context.Context, email, password, addr string) (followup.User, error)
	StartSession(ctx context.Context, userID int64) (string, followup.Session, error)
	SessionUser(ctx context.Context, token string) (followup.User, followup.Session, error)
	EndSession(ctx context.Context, token string) error
	RememberEvent(ctx context.Context, token string, e *followup.EventMemory) error
	CreateOnce(ctx context.Context, userID int64, key string, in followup.NewCommitment) (followup.Commitment, bool, error)
	Progress(ctx context.Context, userID int64, weeks int) (followup.Progress, error)
	CreateToken(ctx context.Context, email, name string) (string, error)
	APITokens(ctx context.Context, userID int64) ([]followup.APIToken, error)
	RevokeAPIToken(ctx context.Context, userID, id int64) error
}

// Server is the HTTP server.
type Server struct {
	Echo    *echo.Echo
	Service Service
	// Ready reports whether the database answers (for /readyz).
	Ready func(ctx context.Context) error
	Log   *slog.Logger
	// Now is the clock, for defaults such as the agenda's range.
	Now func() time.Time
	// Observer, when not nil, is told about every answer (for /metrics).
	Observer followup.HTTPObserver
	// Metrics serves /metrics; nil answers 404 there (metrics off).
	Metrics http.Handler
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// BaseURL is the public URL; an https one makes cookies Secure even
	// behind a proxy that terminates TLS.
	BaseURL string

	pages pages
}

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// New returns a server with every route registered.
func New(svc Service, ready func(ctx context.Context) error, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := loadPages()
	if err != nil {
		panic(err) // the templates are embedded: a test catches this
	}
	s := &Server{Echo: echo.New(), Service: svc, Ready: ready, Log: log, Now: time.Now, pages: p}
	e := s.Echo
	e.HideBanner, e.HidePort = true, true
	// Addresses count failed sign-ins. X-Forwarded-For is believed only
	// from a proxy on this machine or the private network (Echo's default
	// trust); a client on the internet cannot choose its address.
	e.IPExtractor = echo.ExtractIPFromXFFHeader()
	e.HTTPErrorHandler = s.handleError
	e.Use(s.observe)
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		RequestIDHandler: func(c echo.Context, id string) {
			c.SetRequest(c.Request().WithContext(followup.WithRequestID(c.Request().Context(), id)))
		},
	}))
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true, LogRequestID: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			s.Log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method), slog.String("path", redactPath(v.URIPath)),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency))
			return nil
		},
	}))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true}))
	// "1MiB" is MaxBody; gommon reads "1M" as 1,000,000 bytes.
	e.Use(middleware.BodyLimit("1MiB"))
	s.routes()
	return s
}

// feedPath matches feed URLs, whose token is a secret that logs must not keep.
var feedPath = regexp.MustCompile(`^/feeds/[^/]*`)

func redactPath(p string) string {
	return feedPath.ReplaceAllString(p, "/feeds/[redacted]")
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.Echo.ServeHTTP(w, r) }

package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes lists every route of the service.
func (s *Server) routes() {
	e := s.Echo
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET(feedRoute, s.feed)
	e.HEAD(feedRoute, s.feed)
	e.GET("/metrics", s.metrics)
	e.GET("/api/v1/openapi.json", s.openAPI) // no token: it describes, it holds nothing

	api := e.Group("/api/v1", s.authenticate)
	api.POST("/commitments", s.createCommitment)
	api.POST("/commitments/quick", s.createQuick)
	api.POST("/contacts/parse", s.parseContact)
	api.GET("/commitments", s.listCommitments)
	api.GET("/commitments/:id", s.getCommitment)
	api.POST("/commitments/:id/actions", s.actOnCommitment)
	api.DELETE("/commitments/:id", s.deleteCommitment)
	api.GET("/agenda", s.agenda)
	api.GET("/settings", s.getSettings)
	api.PUT("/settings", s.putSettings)
	api.GET("/feed", s.getFeed)
	api.POST("/feed/rotate", s.rotateFeed)
	api.GET("/caldav", s.getCalDAV)
	api.PUT("/caldav", s.putCalDAV)
	api.DELETE("/caldav", s.deleteCalDAV)
	api.POST("/sync", s.sync)
	api.GET("/tokens", s.listTokens)
	api.DELETE("/tokens/:id", s.revokeToken)
	api.Any("/*", s.apiNotFound)

	s.pageRoutes()
}

// pageRoutes lists the web app's pages. Every page loads the session; a
// form post checks its CSRF token before anything else.
func (s *Server) pageRoutes() {
	e := s.Echo
	e.GET("/static/*", s.static)
	e.GET("/manifest.webmanifest", s.manifest)
	e.GET("/icons/:file", s.icon)

	page := func(m, path string, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
		mw = append([]echo.MiddlewareFunc{s.loadSession}, mw...)
		if m == http.MethodPost {
			mw = append(mw, s.checkCSRF)
		}
		e.Add(m, path, h, mw...)
	}
	get, post := http.MethodGet, http.MethodPost
	page(get, "/", s.home)
	page(get, "/setup", s.setupPage)
	page(post, "/setup", s.setup)
	page(get, "/login", s.loginPage)
	page(post, "/login", s.login)
	page(post, "/logout", s.logout, s.signedIn)

	page(get, "/commitments/new", s.newCommitmentPage, s.signedIn)
	page(post, "/commitments", s.postCommitment, s.signedIn)
	page(post, "/commitments/new", s.postCommitment, s.signedIn)
	page(post, "/commitments/quick", s.postQuickPage, s.signedIn)
	page(post, "/commitments/quick/preview", s.previewQuick, s.signedIn)
	page(get, "/commitments", s.listPage, s.signedIn)
	page(get, "/commitments/:id", s.commitmentPage, s.signedIn)
	page(post, "/commitments/:id/actions", s.actOnCommitmentPage, s.signedIn)
	page(post, "/commitments/:id/delete", s.deleteCommitmentPage, s.signedIn)
	page(get, "/agenda", s.agendaPage, s.signedIn)
	page(get, "/settings", s.settingsPage, s.signedIn)
	page(post, "/settings", s.postSettings, s.signedIn)
	page(post, "/settings/tokens", s.createTokenPage, s.signedIn)
	page(post, "/settings/tokens/:id/revoke", s.revokeTokenPage, s.signedIn)
	page(get, "/progress", s.progressPage, s.signedIn)
	page(get, "/feed", s.feedPage, s.signedIn)
	page(post, "/feed/rotate", s.rotateFeedPage, s.signedIn)
	page(get, "/calendar", s.calendarPage, s.signedIn)
	page(post, "/calendar", s.connectCalendarPage, s.signedIn)
	page(post, "/calendar/sync", s.syncCalendarPage, s.signedIn)
	page(post, "/calendar/disconnect", s.disconnectCalendarPage, s.signedIn)
}

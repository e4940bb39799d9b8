package web

// routes lists every route of the service.
func (s *Server) routes() {
	e := s.Echo
	e.GET("/", s.index)
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/commitments/:id", s.commitmentPage)
	e.GET("/feeds/:file", s.feed)
	e.HEAD("/feeds/:file", s.feed)

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
}

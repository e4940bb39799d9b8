package web_test

// webRoutes is every route of the web app (routes.go pageRoutes).
// TestRoutesCovered keeps it in step; TestPagesSignedOut walks it.
var webRoutes = []route{
	{"GET", "/manifest.webmanifest", false},
	{"GET", "/icons/:file", false},
	{"GET", "/", false},
	{"GET", "/setup", false},
	{"POST", "/setup", true},
	{"GET", "/login", false},
	{"POST", "/login", true},
	{"POST", "/logout", true},
	{"GET", "/commitments/new", false},
	{"POST", "/commitments", true},
	{"POST", "/commitments/new", true},
	{"GET", "/commitments", false},
	{"GET", "/commitments/:id", false},
	{"POST", "/commitments/:id/actions", true},
	{"POST", "/commitments/:id/delete", true},
	{"GET", "/agenda", false},
	{"GET", "/settings", false},
	{"POST", "/settings", true},
	{"GET", "/feed", false},
	{"POST", "/feed/rotate", true},
	{"GET", "/calendar", false},
	{"POST", "/calendar", true},
	{"POST", "/calendar/sync", true},
	{"POST", "/calendar/disconnect", true},
}

package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if s.Ready != nil {
		if err := s.Ready(ctx); err != nil {
			s.Log.WarnContext(ctx, "not ready", "error", err.Error())
			return followup.Errorf(followup.EUNAVAILABLE, "", "The database does not answer.")
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

const indexPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>followup</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 2em auto; line-height: 1.5">
<h1>followup is running</h1>
<p>Turn every promise you make at a meeting into time in your calendar.</p>
<ol>
<li>Create an account: <code>followup user add --email you@example.com --password '…' --timezone Europe/Berlin</code></li>
<li>Make an API token: <code>followup token create --email you@example.com</code></li>
<li>Log a commitment: <code>POST /api/v1/commitments</code> with <code>Authorization: Bearer TOKEN</code></li>
<li>Subscribe to your feed: <code>GET /api/v1/feed</code> gives its <code>webcal://</code> address.</li>
</ol>
<p>Health: <a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a></p>
</body></html>`

func (s *Server) index(c echo.Context) error {
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	return c.HTML(http.StatusOK, indexPage)
}

const commitmentPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Commitment %d · followup</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 2em auto; line-height: 1.5">
<h1>Commitment %d</h1>
<p>This calendar block belongs to commitment %d. The web app that shows it here is coming;
until then, read it and record what happened through the API with your token:</p>
<pre>curl -H "Authorization: Bearer $TOKEN" %s/api/v1/commitments/%d
curl -H "Authorization: Bearer $TOKEN" %s/api/v1/commitments/%d/actions -d '{"action":"contacted"}'</pre>
</body></html>`

// commitmentPage answers the link in every block (/commitments/{id}). It
// shows nothing of the commitment: the link carries no credentials.
func (s *Server) commitmentPage(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	base := c.Scheme() + "://" + c.Request().Host
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	return c.HTML(http.StatusOK, fmt.Sprintf(commitmentPage, id, id, id, html.EscapeString(base), id, html.EscapeString(base), id))
}

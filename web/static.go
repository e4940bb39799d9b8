package web

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"math"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// staticFiles serves the embedded CSS, JavaScript and icons.
var staticFiles = func() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	return http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
}()

func (s *Server) static(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	staticFiles.ServeHTTP(c.Response(), c.Request())
	return nil
}

// manifest is the web app manifest, so that the app can be installed on a
// phone's home screen, opening on the log form.
func (s *Server) manifest(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, "application/manifest+json", []byte(`{
  "name": "followup",
  "short_name": "followup",
  "description": "Turn the promises you make when you meet people into time in your calendar.",
  "start_url": "/commitments/new",
  "scope": "/",
  "display": "standalone",
  "background_color": "#ffffff",
  "theme_color": "#1d4ed8",
  "icons": [
    {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
    {"src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
    {"src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any maskable"}
  ]
}
`))
}

// iconSizes are the PNG icons the manifest names.
var iconSizes = map[string]int{"icon-192.png": 192, "icon-512.png": 512}

var (
	iconMu    sync.Mutex
	iconCache = map[int][]byte{}
)

func (s *Server) icon(c echo.Context) error {
	size, ok := iconSizes[c.Param("file")]
	if !ok {
		return followup.Errorf(followup.ENOTFOUND, "", "No such icon.")
	}
	iconMu.Lock()
	b, ok := iconCache[size]
	if !ok {
		b = iconPNG(size)
		iconCache[size] = b
	}
	iconMu.Unlock()
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Blob(http.StatusOK, "image/png", b)
}

// iconPNG draws the app icon (static/icon.svg's design: a white check on
// blue) at size×size pixels.
func iconPNG(size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	blue := color.NRGBA{0x1d, 0x4e, 0xd8, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	f := float64(size) / 100 // the SVG's 100×100 units
	type pt struct{ x, y float64 }
	check := []pt{{28, 52}, {44, 68}, {74, 34}}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			px, py := (float64(x)+0.5)/f, (float64(y)+0.5)/f
			img.SetNRGBA(x, y, blue)
			for i := 0; i+1 < len(check); i++ {
				if segmentDistance(px, py, check[i].x, check[i].y, check[i+1].x, check[i+1].y) <= 6 {
					img.SetNRGBA(x, y, white)
				}
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // writing to memory cannot fail
	return buf.Bytes()
}

// segmentDistance is the distance from (px, py) to the segment a–b.
func segmentDistance(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := ((px-ax)*dx + (py-ay)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(px-(ax+t*dx), py-(ay+t*dy))
}

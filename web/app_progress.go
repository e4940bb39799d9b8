package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// progressWeeks is how many weeks the progress page shows.
const progressWeeks = 12

// progressData is the progress page.
type progressData struct {
	P       followup.Progress
	Kept    int
	LetGo   int
	Outcome template.HTML // kept and let go per week
	Contact template.HTML // median time to first contact per week
}

// progressPage shows promises kept and let go per week and the median
// time to first contact, as server-drawn SVG charts with the numbers in a
// table beside them.
func (s *Server) progressPage(c echo.Context) error {
	_, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	p, err := s.Service.Progress(c.Request().Context(), s.webSession(c).User.ID, progressWeeks)
	if err != nil {
		return err
	}
	d := progressData{P: p, Outcome: outcomeChart(p), Contact: contactChart(p)}
	for _, w := range p.Weeks {
		d.Kept += w.Kept
		d.LetGo += w.LetGo
	}
	return s.render(c, http.StatusOK, "progress", view{Title: "Progress", Nav: "progress", Loc: loc, Data: d})
}

// Chart geometry, in SVG units.
const (
	chartWidth  = 600.0
	chartHeight = 200.0
	chartLeft   = 52.0 // room for "24 h" at the phone's text size
	chartBottom = 28.0
	chartRight  = 16.0 // room for half the last week's label
	chartTop    = 10.0
)

// chart draws bars per week: each week has one bar per series.
type chart struct {
	strings.Builder
	weeks int
	max   float64
}

func newChart(label, unit string, weeks int, max float64) *chart {
	c := &chart{weeks: weeks, max: max}
	fmt.Fprintf(c, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartWidth, chartHeight, template.HTMLEscapeString(label))
	base := chartHeight - chartBottom
	fmt.Fprintf(c, `<line class="axis" x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f"/>`, chartLeft, base, chartWidth-chartRight, base)
	fmt.Fprintf(c, `<text x="2" y="%.0f">0</text><text x="2" y="%.0f">%s%s</text>`, base, chartTop+10, trimFloat(max), unit)
	return c
}

func trimFloat(f float64) string {
	if f == float64(int(f)) {
		return fmt.Sprintf("%d", int(f))
	}
	return fmt.Sprintf("%.1f", f)
}

// bar draws series i of n in week w with value v.
func (c *chart) bar(w, i, n int, v float64, class, title string) {
	slot := c.slot()
	width := slot * 0.8 / float64(n)
	x := chartLeft + float64(w)*slot + slot*0.1 + float64(i)*width
	h := 0.0
	if c.max > 0 {
		h = v / c.max * (chartHeight - chartBottom - chartTop)
	}
	y := chartHeight - chartBottom - h
	fmt.Fprintf(c, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
		class, x, y, width, h, template.HTMLEscapeString(title))
}

// label writes a week's label under its bars, every other week counted
// back from the last, so that the current week always has one.
func (c *chart) label(w int, text string) {
	if (c.weeks-1-w)%2 != 0 {
		return
	}
	slot := c.slot()
	fmt.Fprintf(c, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, chartLeft+(float64(w)+0.5)*slot, chartHeight-6, template.HTMLEscapeString(text))
}

// slot is the width of one week.
func (c *chart) slot() float64 { return (chartWidth - chartLeft - chartRight) / float64(c.weeks) }

func (c *chart) html() template.HTML {
	c.WriteString(`</svg>`)
	return template.HTML(c.String())
}

// outcomeChart: promises kept (green) and let go (grey) per week.
func outcomeChart(p followup.Progress) template.HTML {
	top := 1
	for _, w := range p.Weeks {
		top = max(top, w.Kept, w.LetGo)
	}
	c := newChart("Promises kept and let go per week", "", len(p.Weeks), float64(top))
	for i, w := range p.Weeks {
		day := w.Start.Format("2 Jan")
		c.bar(i, 0, 2, float64(w.Kept), "kept", fmt.Sprintf("Week of %s: %d kept", day, w.Kept))
		c.bar(i, 1, 2, float64(w.LetGo), "letgo", fmt.Sprintf("Week of %s: %d let go", day, w.LetGo))
		c.label(i, day)
	}
	return c.html()
}

// contactChart: the median hours from meeting to first contact per week.
func contactChart(p followup.Progress) template.HTML {
	top := 1.0
	for _, w := range p.Weeks {
		top = max(top, w.MedianFirstContact.Hours())
	}
	top = float64(int(top + 0.999))
	c := newChart("Median hours to first contact per week", " h", len(p.Weeks), top)
	for i, w := range p.Weeks {
		day := w.Start.Format("2 Jan")
		title := fmt.Sprintf("Week of %s: no contacts yet", day)
		if w.Contacted > 0 {
			title = fmt.Sprintf("Week of %s: median %s over %d %s", day, humanDuration(w.MedianFirstContact), w.Contacted, plural(w.Contacted, "contact", "contacts"))
		}
		c.bar(i, 0, 1, w.MedianFirstContact.Hours(), "contact", title)
		c.label(i, day)
	}
	return c.html()
}

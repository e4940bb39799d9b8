package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// agendaDay is one day of the week with its blocks.
type agendaDay struct {
	Date   time.Time
	Blocks []followup.AgendaBlock
}

// agendaData is the agenda page.
type agendaData struct {
	Week     time.Time // Monday 00:00 in the user's zone
	PrevWeek string
	NextWeek string
	ThisWeek bool
	Today    []followup.AgendaBlock
	Days     []agendaDay
	Late     int
	View     template.HTML // the week drawn as SVG
	Back     string
}

// agendaPage shows today and a week (?week=YYYY-MM-DD, any day of it):
// blocks with their drafted messages and buttons, and a week view that
// draws the blocks beside the busy time that shaped them.
func (s *Server) agendaPage(c echo.Context) error {
	st, loc, err := s.userZone(c)
	if err != nil {
		return err
	}
	now := s.Now().In(loc)
	week := mondayOf(now, loc)
	if w := c.QueryParam("week"); w != "" {
		day, err := time.ParseInLocation("2006-01-02", w, loc)
		if err != nil || day.Year() < 1970 || day.Year() > 2200 {
			return followup.Errorf(followup.EINVALID, "week", "week must be a date such as 2026-11-23.")
		}
		week = mondayOf(day, loc)
	}
	end := week.AddDate(0, 0, 7)
	a, err := s.Service.Agenda(c.Request().Context(), s.webSession(c).User.ID, week, end)
	if err != nil {
		return err
	}
	d := agendaData{
		Week: week, PrevWeek: week.AddDate(0, 0, -7).Format("2006-01-02"), NextWeek: end.Format("2006-01-02"),
		ThisWeek: !now.Before(week) && now.Before(end), Back: c.Request().URL.RequestURI(),
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	for i := 0; i < 7; i++ {
		d.Days = append(d.Days, agendaDay{Date: week.AddDate(0, 0, i)})
	}
	for _, b := range a.Blocks {
		if b.Late && b.Status.Pending() {
			d.Late++
		}
		if !b.Start.Before(today) && b.Start.Before(today.AddDate(0, 0, 1)) {
			d.Today = append(d.Today, b)
		}
		for i := range d.Days {
			next := d.Days[i].Date.AddDate(0, 0, 1)
			if d.Days[i].Date.Equal(today) {
				continue // shown under Today
			}
			if !b.Start.Before(d.Days[i].Date) && b.Start.Before(next) {
				d.Days[i].Blocks = append(d.Days[i].Blocks, b)
			}
		}
	}
	d.View = weekView(a, week, loc, st, now)
	return s.render(c, http.StatusOK, "agenda", view{Title: "Agenda", Nav: "agenda", Loc: loc, Data: d})
}

// mondayOf returns 00:00 on the Monday of t's week in loc.
func mondayOf(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	back := (int(t.Weekday()) + 6) % 7
	return time.Date(t.Year(), t.Month(), t.Day()-back, 0, 0, 0, 0, loc)
}

// Week view geometry, in SVG units.
const (
	viewGutter  = 44.0 // hour labels
	viewColumn  = 110.0
	viewHeader  = 40.0 // day names and all-day busy time
	viewPerHour = 60.0 // a 15-minute block is 15 units: room for its label

	// A block shorter than blockLabel units gets its label in small type,
	// and one shorter than blockMin units is drawn blockMin units high.
	blockLabel = 14.0
	blockMin   = 6.0
)

// weekView draws the week: one column per day, busy time in grey on the
// left of each column and the blocks beside it on the right, late blocks
// red and dashed. Times are wall clock in loc, so a DST day keeps 09:00
// where 09:00 is.
func weekView(a followup.Agenda, week time.Time, loc *time.Location, st followup.Settings, now time.Time) template.HTML {
	first, last := st.WorkHours.Start.Minutes()/60, (st.WorkHours.End.Minutes()+59)/60
	var busy []followup.Interval
	for _, iv := range a.Busy {
		busy = append(busy, wallClock(iv, loc))
	}
	for _, iv := range busy {
		if !iv.AllDay {
			first, last = widen(first, last, iv.Start, iv.End, week, loc)
		}
	}
	for _, b := range a.Blocks {
		first, last = widen(first, last, b.Start, b.End, week, loc)
	}
	v := svgWeek{week: week, loc: loc, first: first, last: last}
	v.grid()
	for _, iv := range busy {
		v.busy(iv)
	}
	for _, b := range a.Blocks {
		v.block(b)
	}
	v.now(now)
	v.WriteString(`</svg>`)
	return template.HTML(v.String())
}

// wallClock turns a floating busy time (wall clock held as UTC) into the
// same wall clock in loc.
func wallClock(iv followup.Interval, loc *time.Location) followup.Interval {
	if !iv.Floating {
		return iv
	}
	at := func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
	}
	iv.Start, iv.End, iv.Floating = at(iv.Start), at(iv.End), false
	return iv
}

// widen extends the hours shown so that [start, end) fits, within the week.
func widen(first, last int, start, end, week time.Time, loc *time.Location) (int, int) {
	if !end.After(week) || !start.Before(week.AddDate(0, 0, 7)) {
		return first, last
	}
	s, e := start.In(loc), end.In(loc)
	if s.YearDay() != e.YearDay() || s.Year() != e.Year() {
		return 0, 24
	}
	first = min(first, s.Hour())
	last = max(last, e.Hour()+boolInt(e.Minute() > 0))
	return max(first, 0), min(last, 24)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// svgWeek builds the week view's SVG.
type svgWeek struct {
	strings.Builder
	week        time.Time
	loc         *time.Location
	first, last int // hours shown
}

func (v *svgWeek) height() float64 { return viewHeader + float64(v.last-v.first)*viewPerHour }

func (v *svgWeek) grid() {
	w := viewGutter + 7*viewColumn
	fmt.Fprintf(v, `<svg class="week" viewBox="0 0 %.0f %.0f" role="group" aria-label="Week view: blocks beside busy time; the list below has the same blocks" xmlns="http://www.w3.org/2000/svg">`, w, v.height())
	for i := 0; i < 7; i++ {
		x := viewGutter + float64(i)*viewColumn
		day := v.week.AddDate(0, 0, i)
		fmt.Fprintf(v, `<text x="%.1f" y="16">%s</text>`, x+4, day.Format("Mon 2"))
		fmt.Fprintf(v, `<line class="grid" x1="%.1f" y1="0" x2="%.1f" y2="%.1f"/>`, x, x, v.height())
	}
	for h := v.first; h <= v.last; h++ {
		y := viewHeader + float64(h-v.first)*viewPerHour
		fmt.Fprintf(v, `<line class="grid" x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f"/>`, viewGutter, y, w, y)
		if h < v.last {
			fmt.Fprintf(v, `<text x="4" y="%.1f">%02d:00</text>`, y+12, h)
		}
	}
}

// segments cuts [start, end) into per-day pieces of the week: the day's
// index and the piece's wall-clock minutes since midnight.
func (v *svgWeek) segments(start, end time.Time) [][3]int {
	var out [][3]int
	for i := 0; i < 7; i++ {
		d0 := v.week.AddDate(0, 0, i)
		d1 := d0.AddDate(0, 0, 1)
		s, e := maxTime(start, d0), minTime(end, d1)
		if !e.After(s) {
			continue
		}
		sl, el := s.In(v.loc), e.In(v.loc)
		from, to := sl.Hour()*60+sl.Minute(), el.Hour()*60+el.Minute()
		if !e.Before(d1) {
			to = 24 * 60
		}
		out = append(out, [3]int{i, from, to})
	}
	return out
}

// y maps wall-clock minutes to the view, clamped to the hours shown.
func (v *svgWeek) y(minutes int) float64 {
	m := min(max(minutes, v.first*60), v.last*60)
	return viewHeader + float64(m-v.first*60)*viewPerHour/60
}

func (v *svgWeek) busy(iv followup.Interval) {
	what := "Busy"
	if iv.Source == "meeting" {
		what = "Meeting"
	}
	for _, seg := range v.segments(iv.Start, iv.End) {
		x := viewGutter + float64(seg[0])*viewColumn
		if iv.AllDay {
			fmt.Fprintf(v, `<rect class="busy" x="%.1f" y="22" width="%.1f" height="14"><title>Busy all day</title></rect>`, x+2, viewColumn-4)
			continue
		}
		y1, y2 := v.y(seg[1]), v.y(seg[2])
		fmt.Fprintf(v, `<rect class="busy" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s</title></rect>`,
			x+2, y1, viewColumn*0.3, max(y2-y1, 2), what, template.HTMLEscapeString(clockSpan(iv.Start, iv.End, v.loc)))
	}
}

func (v *svgWeek) block(b followup.AgendaBlock) {
	class := "blk"
	switch {
	case b.Status == followup.StepDone:
		class += " done"
	case b.Late:
		class += " late"
	}
	label := b.Title
	if b.Late {
		label = "Late: " + label
	}
	name := template.HTMLEscapeString(label + ", " + clockSpan(b.Start, b.End, v.loc))
	for _, seg := range v.segments(b.Start, b.End) {
		x := viewGutter + float64(seg[0])*viewColumn + viewColumn*0.34
		y1, y2 := v.y(seg[1]), v.y(seg[2])
		h := max(y2-y1, blockMin)
		fmt.Fprintf(v, `<a href="/commitments/%d" aria-label="%s"><title>%s</title>`, b.CommitmentID, name, name)
		fmt.Fprintf(v, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3"/>`, class, x, y1, viewColumn*0.64, h)
		v.blockLabel(b.Contact, x, y1, h)
		v.WriteString(`</a>`)
	}
}

// blockLabel writes the contact's name inside a block h units high: in
// small type when the block is short, not at all when it is a sliver. A
// nested svg clips a long name at the block's edge; the name stays whole
// in the text, so that it is part of the link's accessible name.
func (v *svgWeek) blockLabel(contact string, x, y, h float64) {
	if h < 9 {
		return
	}
	fmt.Fprintf(v, `<svg x="%.1f" y="%.1f" width="%.1f" height="%.1f">`, x+3, y, viewColumn*0.64-5, h)
	if h >= blockLabel {
		fmt.Fprintf(v, `<text y="11">%s</text>`, template.HTMLEscapeString(contact))
	} else {
		fmt.Fprintf(v, `<text class="small" y="%.1f">%s</text>`, h-2, template.HTMLEscapeString(contact))
	}
	v.WriteString(`</svg>`)
}

// now draws a line at the current time when it falls in the week.
func (v *svgWeek) now(now time.Time) {
	for _, seg := range v.segments(now, now.Add(time.Minute)) {
		if seg[1] < v.first*60 || seg[1] > v.last*60 {
			continue // outside the hours shown
		}
		x := viewGutter + float64(seg[0])*viewColumn
		y := v.y(seg[1])
		fmt.Fprintf(v, `<line class="now" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"><title>Now</title></line>`, x, y, x+viewColumn, y)
	}
}

func clockSpan(start, end time.Time, loc *time.Location) string {
	return start.In(loc).Format("Mon 15:04") + "–" + end.In(loc).Format("15:04")
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

package ui

import (
	"fmt"
	"html/template"
	"strings"
)

// Bar is one bar of a chart: its category label, its value, and the text shown for it. A bar
// without a value (a small number withheld, nothing to divide by) is drawn as its text alone.
type Bar struct {
	Label   string
	Value   float64
	HasBar  bool
	Display string
}

// BarChart is a chart drawn on the server as SVG: a title and a description for assistive
// technology, each bar with its value written beside it, no script and no inline style (the
// colours are presentation attributes, which the Content-Security-Policy allows). The page puts the
// same figures in a table next to it.
type BarChart struct {
	ID, Title, Description string
	Bars                   []Bar
}

// Chart geometry, in SVG user units; the viewBox scales it to the column it sits in.
const (
	chartLabelWidth = 90
	chartBarHeight  = 22
	chartGap        = 8
	chartPlotWidth  = 420
	chartValueRoom  = 130
)

// HTML draws the chart as horizontal bars, one row per category, so long month names and values
// stay legible at 320 px.
func (c BarChart) HTML() template.HTML {
	maxValue := 0.0
	for _, b := range c.Bars {
		if b.HasBar && b.Value > maxValue {
			maxValue = b.Value
		}
	}
	width := chartLabelWidth + chartPlotWidth + chartValueRoom
	height := len(c.Bars)*(chartBarHeight+chartGap) + chartGap
	var sb strings.Builder
	id := template.HTMLEscapeString(c.ID)
	fmt.Fprintf(&sb, `<svg class="hw-chart" role="img" aria-labelledby="%s-title %s-desc" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" focusable="false">`,
		id, id, width, height)
	fmt.Fprintf(&sb, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, template.HTMLEscapeString(c.Title), id, template.HTMLEscapeString(c.Description))
	for i, b := range c.Bars {
		y := chartGap + i*(chartBarHeight+chartGap)
		mid := y + chartBarHeight/2 + 5
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end" fill="#0b0c0c" font-size="16">%s</text>`, chartLabelWidth-8, mid, template.HTMLEscapeString(b.Label))
		barWidth := 0
		if b.HasBar && maxValue > 0 && b.Value > 0 {
			barWidth = max(1, int(b.Value/maxValue*chartPlotWidth+0.5))
			fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%d" height="%d" fill="#1d70b8"></rect>`, chartLabelWidth, y, barWidth, chartBarHeight)
		}
		fmt.Fprintf(&sb, `<text x="%d" y="%d" fill="#0b0c0c" font-size="16">%s</text>`, chartLabelWidth+barWidth+6, mid, template.HTMLEscapeString(b.Display))
	}
	sb.WriteString(`<line x1="` + fmt.Sprint(chartLabelWidth) + `" y1="0" x2="` + fmt.Sprint(chartLabelWidth) + `" y2="` + fmt.Sprint(height) + `" stroke="#505a5f" stroke-width="1"></line></svg>`)
	return template.HTML(sb.String()) // #nosec G203 -- every text is escaped above
}

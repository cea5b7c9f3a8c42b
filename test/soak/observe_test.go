package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exchange is one finished call.
type exchange struct {
	status int
	etag   string
	body   []byte
	err    error
}

// caller sends JSON as one person over a pool big enough for every client.
type caller struct {
	base, token string
	http        *http.Client
}

func newCaller(base, token string) *caller {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients
	return &caller{base: base, token: token, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *caller) call(method, path string, body any, headers ...string) exchange {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return exchange{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return exchange{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return exchange{err: err}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return exchange{status: resp.StatusCode, etag: resp.Header.Get("ETag"), body: out, err: err}
}

func referralForm(name string) map[string]any {
	return map[string]any{
		"person":   map[string]any{"name": name, "dateOfBirth": "1941-06-30", "nhsNumber": "999 000 0018"},
		"source":   "ward",
		"referrer": map[string]any{"organisation": "Royal Oldham Hospital", "ward": "Ward T5"},
		"consent":  map[string]any{"toRefer": true, "toShare": true}, "tenure": "owner-occupier",
		"needs": []string{"adaptations"}, "priority": "urgent",
	}
}

// process is one service process to watch.
type process struct {
	name, metrics string
	pid           int
}

// series is every process's resident memory (MB) and goroutines, one point a second.
type series struct {
	names      []string
	rss, gorts [][]float64 // by process, by second
}

// sample reads each process's RSS and goroutines every interval until ctx ends, then sends what it read.
func sample(ctx context.Context, t *testing.T, procs []process, interval time.Duration) <-chan series {
	out := make(chan series, 1)
	s := series{rss: make([][]float64, len(procs)), gorts: make([][]float64, len(procs))}
	for _, p := range procs {
		s.names = append(s.names, p.name)
	}
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			for i, p := range procs {
				s.rss[i] = append(s.rss[i], rssMB(p.pid))
				s.gorts[i] = append(s.gorts[i], goroutines(p.metrics))
			}
			select {
			case <-ctx.Done():
				out <- s
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

func rssMB(pid int) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func goroutines(metricsURL string) float64 {
	resp, err := http.Get(metricsURL)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// growth is how much a process grew from the run's second quarter to its last.
type growth struct {
	name             string
	rssFrom, rssTo   float64
	gortFrom, gortTo float64
}

// checkFlat fails the test when a process keeps growing: its median RSS in the last quarter of the
// run more than 25 % (and 10 MB) above that of the second quarter (the first is warm-up), or its
// median goroutines more than 50 above. Memory that settles after warm-up is not growth.
func checkFlat(t *testing.T, s series) []growth {
	t.Helper()
	var out []growth
	for i, name := range s.names {
		n := len(s.rss[i])
		if n < 8 {
			t.Errorf("%s: only %d samples", name, n)
			continue
		}
		g := growth{name: name,
			rssFrom: median(s.rss[i][n/4 : n/2]), rssTo: median(s.rss[i][3*n/4:]),
			gortFrom: median(s.gorts[i][n/4 : n/2]), gortTo: median(s.gorts[i][3*n/4:])}
		out = append(out, g)
		if g.rssFrom == 0 || g.gortFrom == 0 {
			t.Errorf("%s was not sampled: %+v", name, g)
		}
		if g.rssTo > g.rssFrom*1.25 && g.rssTo > g.rssFrom+10 {
			t.Errorf("%s: RSS grew from %.1f to %.1f MB", name, g.rssFrom, g.rssTo)
		}
		if g.gortTo > g.gortFrom+50 {
			t.Errorf("%s: goroutines grew from %.0f to %.0f", name, g.gortFrom, g.gortTo)
		}
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// writeReport writes the run's table and its two charts into dir: soak.md, rss.svg, goroutines.svg.
func writeReport(dir string, duration time.Duration, total, failures int, table [][]string, growth []growth, s series) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Soak run (generated by `make soak`; do not edit)\n\n")
	fmt.Fprintf(&md, "%s, %s: %d clients across 3 tenants (9 service processes, 3 Redis, 3 Kratos), %d calls (%.0f/s), **%d failed**.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), duration, clients, total, float64(total)/duration.Seconds(), failures)
	md.WriteString("| call | calls | p50 | p99 | p99 budget | errors |\n|---|---|---|---|---|---|\n")
	for _, row := range table {
		fmt.Fprintf(&md, "| %s |\n", strings.Join(row, " | "))
	}
	md.WriteString("\n| process | RSS, 2nd quarter → last (MB) | goroutines, 2nd quarter → last |\n|---|---|---|\n")
	for _, g := range growth {
		fmt.Fprintf(&md, "| %s | %.1f → %.1f | %.0f → %.0f |\n", g.name, g.rssFrom, g.rssTo, g.gortFrom, g.gortTo)
	}
	md.WriteString("\n![resident memory of each service process, MB, every second](rss.svg)\n\n![goroutines of each service process, every second](goroutines.svg)\n")
	if err := os.WriteFile(filepath.Join(dir, "soak.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "rss.svg"), []byte(chart("Resident memory (MB)", s.names, s.rss)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "goroutines.svg"), []byte(chart("Goroutines", s.names, s.gorts)), 0o644)
}

// chart draws one line per process against seconds, with a legend: plain SVG, no script.
func chart(title string, names []string, lines [][]float64) string {
	const w, h, left, right, top, bottom = 760.0, 360.0, 50.0, 200.0, 30.0, 30.0
	maxY, maxX := 1.0, 1
	for _, l := range lines {
		maxX = max(maxX, len(l)-1)
		for _, v := range l {
			maxY = max(maxY, v)
		}
	}
	maxY *= 1.1
	colours := []string{"#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92", "#5694ca", "#b58840", "#912b88", "#505a5f"}
	x := func(i int) float64 { return left + float64(i)/float64(maxX)*(w-left-right) }
	y := func(v float64) float64 { return top + (1-v/maxY)*(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<title>%s</title><rect width="100%%" height="100%%" fill="#fff"/>`+"\n", title)
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="13" font-weight="bold">%s, every second</text>`+"\n", left, title)
	for _, frac := range []float64{0, 0.25, 0.5, 0.75, 1} {
		v := frac * maxY
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.0f" y="%.1f" text-anchor="end">%.0f</text>`+"\n", left, w-right, y(v), y(v), left-4, y(v)+4, v)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">%d s</text>`+"\n", w-right, h-10, maxX)
	for i, l := range lines {
		var pts []string
		for j, v := range l {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(j), y(v)))
		}
		c := colours[i%len(colours)]
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", c, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n", w-right+12, top+float64(i)*16, c, w-right+26, top+float64(i)*16+9, names[i])
	}
	b.WriteString("</svg>\n")
	return b.String()
}

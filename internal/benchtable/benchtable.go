// Package benchtable turns the output of Go benchmarks into Homeward's benchmark table: each
// figure next to the baseline measured in the same run, their ratio, and whether the ratio (or,
// for a figure with no baseline, the figure itself) meets its target. Runs are repeated; the table
// shows medians with their ranges.
package benchtable

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Results holds one run's metrics: benchmark name (without the -GOMAXPROCS suffix) → unit → value.
type Results map[string]map[string]float64

var procSuffix = regexp.MustCompile(`-\d+$`)

// Parse reads `go test -bench` output. Lines that are not benchmark results are ignored; a result
// line whose values do not parse is an error, since a table built from half a line would lie.
func Parse(r io.Reader) (Results, error) {
	out := Results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			continue // a log line that starts with a benchmark's name
		}
		if len(fields)%2 != 0 {
			return nil, fmt.Errorf("benchmark line %q: values and units do not pair up", sc.Text())
		}
		name := procSuffix.ReplaceAllString(fields[0], "")
		metrics := out[name]
		if metrics == nil {
			metrics = map[string]float64{}
			out[name] = metrics
		}
		for i := 2; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: %w", sc.Text(), err)
			}
			metrics[fields[i+1]] = v
		}
	}
	return out, sc.Err()
}

// Metric names one reported value: the benchmark (sub-benchmark path included) and its unit.
type Metric struct {
	Bench string
	Unit  string
}

func (m Metric) zero() bool { return m.Bench == "" }

// Lookup returns the metric's value in one run.
func (r Results) Lookup(m Metric) (float64, error) {
	metrics, ok := r[m.Bench]
	if !ok {
		return 0, fmt.Errorf("no result for %s", m.Bench)
	}
	v, ok := metrics[m.Unit]
	if !ok {
		return 0, fmt.Errorf("%s reported no %q", m.Bench, m.Unit)
	}
	return v, nil
}

// Target is what a row must reach: AtLeast or AtMost Value. A zero Target records a figure with
// no target.
type Target struct {
	AtLeast bool
	Value   float64
	Set     bool
}

// AtLeast and AtMost build targets.
func AtLeast(v float64) Target { return Target{AtLeast: true, Value: v, Set: true} }
func AtMost(v float64) Target  { return Target{Value: v, Set: true} }

// Met says whether v meets the target; a row with no target is never "not met".
func (t Target) Met(v float64) bool {
	switch {
	case !t.Set:
		return true
	case t.AtLeast:
		return v >= t.Value
	default:
		return v <= t.Value
	}
}

func (t Target) String() string {
	if !t.Set {
		return "—"
	}
	if t.AtLeast {
		return "≥ " + trim(t.Value)
	}
	return "≤ " + trim(t.Value)
}

// Row is one line of the table. With a Baseline the target applies to Figure ÷ Baseline (or
// Baseline ÷ Figure when Inverse: for latencies and durations, where lower is better, so that
// every ratio reads "service as a share of its baseline"); without one, to the figure itself.
type Row struct {
	Name     string
	Figure   Metric
	Baseline Metric
	Inverse  bool
	Target   Target
	// Unit is how figure and baseline are shown (e.g. "req/s", "ms", "s", "MB").
	Unit string
}

// Summary is a row's outcome over every run.
type Summary struct {
	Row                     Row
	Figure, Baseline, Ratio Spread
	Runs                    int
	HasBaseline             bool
}

// Met says whether the median meets the row's target.
func (s Summary) Met() bool {
	if s.HasBaseline {
		return s.Row.Target.Met(s.Ratio.Median)
	}
	return s.Row.Target.Met(s.Figure.Median)
}

// Spread is the median of a set of values with its range.
type Spread struct{ Median, Min, Max float64 }

// SpreadOf returns the median and range of values (the mean of the two middle values for an even
// count).
func SpreadOf(values []float64) Spread {
	if len(values) == 0 {
		return Spread{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Spread{Median: m, Min: v[0], Max: v[len(v)-1]}
}

// Summarize computes a row over runs. Each run's ratio is taken within that run, so a baseline
// is only ever compared with the figure measured beside it.
func Summarize(row Row, runs []Results) (Summary, error) {
	var figures, baselines, ratios []float64
	for i, r := range runs {
		f, err := r.Lookup(row.Figure)
		if err != nil {
			return Summary{}, fmt.Errorf("%s, run %d: %w", row.Name, i+1, err)
		}
		figures = append(figures, f)
		if row.Baseline.zero() {
			continue
		}
		b, err := r.Lookup(row.Baseline)
		if err != nil {
			return Summary{}, fmt.Errorf("%s, run %d: %w", row.Name, i+1, err)
		}
		baselines = append(baselines, b)
		num, den := f, b
		if row.Inverse {
			num, den = b, f
		}
		if den == 0 {
			return Summary{}, fmt.Errorf("%s, run %d: the ratio's denominator is zero", row.Name, i+1)
		}
		ratios = append(ratios, num/den)
	}
	s := Summary{Row: row, Figure: SpreadOf(figures), Runs: len(runs), HasBaseline: !row.Baseline.zero()}
	if s.HasBaseline {
		s.Baseline, s.Ratio = SpreadOf(baselines), SpreadOf(ratios)
	}
	return s, nil
}

// Markdown renders summaries as a table: figure, baseline, ratio (medians, ranges in brackets
// when there was more than one run), target and whether it is met.
func Markdown(w io.Writer, summaries []Summary) error {
	var b strings.Builder
	b.WriteString("| figure | measured | baseline (same run) | ratio | target | met |\n|---|---|---|---|---|---|\n")
	for _, s := range summaries {
		base, ratio := "—", "—"
		if s.HasBaseline {
			base = spread(s.Baseline, s.Row.Unit, s.Runs)
			ratio = spread(s.Ratio, "×", s.Runs)
		}
		met := "met"
		switch {
		case !s.Row.Target.Set:
			met = "recorded"
		case !s.Met():
			met = "**not met**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", s.Row.Name, spread(s.Figure, s.Row.Unit, s.Runs), base, ratio, targetText(s), met)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func targetText(s Summary) string {
	if !s.Row.Target.Set {
		return "—"
	}
	if s.HasBaseline {
		return s.Row.Target.String() + "×"
	}
	return s.Row.Target.String() + " " + s.Row.Unit
}

func spread(s Spread, unit string, runs int) string {
	sep := " "
	if unit == "×" || unit == "" {
		sep = ""
	}
	if runs < 2 || s.Min == s.Max {
		return trim(s.Median) + sep + unit
	}
	return fmt.Sprintf("%s%s%s (%s–%s)", trim(s.Median), sep, unit, trim(s.Min), trim(s.Max))
}

// trim shows a value with three significant figures, thousands grouped.
func trim(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "?"
	case a >= 1000:
		return group(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1 || a == 0:
		return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(v, 'f', 2, 64), "0"), ".")
	default:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
}

func group(digits string) string {
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// QuickEnv is set (to "1") by `make bench QUICK=1`: benchmarks then use their small sizes, so
// that the whole set runs in a few minutes as a smoke check.
const QuickEnv = "HOMEWARD_BENCH_QUICK"

// Size returns quick when the benchmarks run quick, full otherwise.
func Size(full, quick int) int {
	if os.Getenv(QuickEnv) == "1" {
		return quick
	}
	return full
}

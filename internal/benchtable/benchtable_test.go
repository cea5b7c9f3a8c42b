package benchtable

import (
	"math"
	"strings"
	"testing"
)

const output = `goos: linux
goarch: amd64
pkg: github.com/homeward-dev/homeward/services/referral
BenchmarkReferralAPI/service/create-2         	   20000	    166000 ns/op	      6022 req/s	         6.600 p50-ms	        20.50 p99-ms
    bench_test.go:210: Kratos calls during the service runs: 8
BenchmarkReferralAPI/bare/create-2            	   20000	    125000 ns/op	      7965 req/s	         4.100 p50-ms	        15.10 p99-ms
BenchmarkProvision100Partnerships             	       1	26800000000 ns/op	        26.80 s-to-all-ready	         0 resync-writes
PASS
`

func TestParseReadsEveryResultLine(t *testing.T) {
	r, err := Parse(strings.NewReader(output))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		metric Metric
		want   float64
	}{
		{Metric{"BenchmarkReferralAPI/service/create", "req/s"}, 6022},
		{Metric{"BenchmarkReferralAPI/service/create", "p99-ms"}, 20.5},
		{Metric{"BenchmarkReferralAPI/bare/create", "ns/op"}, 125000},
		{Metric{"BenchmarkProvision100Partnerships", "s-to-all-ready"}, 26.8},
		{Metric{"BenchmarkProvision100Partnerships", "resync-writes"}, 0},
	}
	for _, tt := range tests {
		got, err := r.Lookup(tt.metric)
		if err != nil || got != tt.want {
			t.Errorf("%v = %v, %v; want %v", tt.metric, got, err, tt.want)
		}
	}
	if _, err := r.Lookup(Metric{"BenchmarkReferralAPI/service/get", "req/s"}); err == nil {
		t.Error("a benchmark that did not run was found")
	}
	if _, err := r.Lookup(Metric{"BenchmarkReferralAPI/bare/create", "bookings/s"}); err == nil {
		t.Error("a unit that was not reported was found")
	}
}

func TestParseRefusesAHalfLine(t *testing.T) {
	for _, line := range []string{
		"BenchmarkX-2 10 100 ns/op 5",
		"BenchmarkX-2 10 100 ns/op five req/s",
	} {
		if _, err := Parse(strings.NewReader(line)); err == nil {
			t.Errorf("%q parsed", line)
		}
	}
}

func TestSpreadOf(t *testing.T) {
	tests := []struct {
		in   []float64
		want Spread
	}{
		{[]float64{3, 1, 2}, Spread{2, 1, 3}},
		{[]float64{4, 1, 3, 2}, Spread{2.5, 1, 4}},
		{[]float64{7}, Spread{7, 7, 7}},
	}
	for _, tt := range tests {
		if got := SpreadOf(tt.in); got != tt.want {
			t.Errorf("SpreadOf(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	if got := SpreadOf(nil); !math.IsNaN(got.Median) {
		t.Errorf("SpreadOf(nil) = %+v, want NaN", got)
	}
}

func run(create, bare, p99, bareP99 float64) Results {
	return Results{
		"BenchmarkA/service": {"req/s": create, "p99-ms": p99},
		"BenchmarkA/bare":    {"req/s": bare, "p99-ms": bareP99},
	}
}

func TestSummarizeTakesEachRatioWithinItsRun(t *testing.T) {
	// Run 2 has the slowest service and the slowest baseline: its ratio is the best, which the
	// medians of figure and baseline taken apart would hide.
	runs := []Results{run(900, 1000, 10, 7), run(500, 520, 30, 29), run(800, 1000, 12, 9)}
	throughput := Row{Name: "create", Figure: Metric{"BenchmarkA/service", "req/s"}, Baseline: Metric{"BenchmarkA/bare", "req/s"}, Target: AtLeast(0.9), Unit: "req/s"}
	s, err := Summarize(throughput, runs)
	if err != nil {
		t.Fatal(err)
	}
	if s.Figure != (Spread{800, 500, 900}) || s.Baseline != (Spread{1000, 520, 1000}) {
		t.Errorf("figure %+v baseline %+v", s.Figure, s.Baseline)
	}
	if want := (Spread{0.9, 0.8, 500.0 / 520}); s.Ratio != want {
		t.Errorf("ratio %+v, want %+v", s.Ratio, want)
	}
	if !s.Met() {
		t.Error("a median ratio of 0.9 does not meet ≥ 0.9")
	}

	latency := Row{Name: "p99", Figure: Metric{"BenchmarkA/service", "p99-ms"}, Baseline: Metric{"BenchmarkA/bare", "p99-ms"}, Target: AtMost(1.3), Unit: "ms"}
	s, err = Summarize(latency, runs)
	if err != nil {
		t.Fatal(err)
	}
	if s.Ratio.Median != 12.0/9 || s.Met() {
		t.Errorf("p99 ratio %+v met=%v, want 1.33 not met", s.Ratio, s.Met())
	}
	latency.Inverse = true
	latency.Target = AtLeast(0.75)
	s, _ = Summarize(latency, runs)
	if s.Ratio.Median != 0.75 || !s.Met() {
		t.Errorf("inverse ratio %+v met=%v, want 0.75 met", s.Ratio, s.Met())
	}
}

func TestSummarizeWithoutBaselineHoldsTheFigure(t *testing.T) {
	runs := []Results{{"BenchmarkOp": {"MB-rss": 121}}, {"BenchmarkOp": {"MB-rss": 160}}, {"BenchmarkOp": {"MB-rss": 130}}}
	s, err := Summarize(Row{Name: "rss", Figure: Metric{"BenchmarkOp", "MB-rss"}, Target: AtMost(150), Unit: "MB"}, runs)
	if err != nil || s.HasBaseline || !s.Met() || s.Figure.Median != 130 {
		t.Errorf("summary %+v, %v", s, err)
	}
	if _, err := Summarize(Row{Name: "missing", Figure: Metric{"BenchmarkOp", "writes"}}, runs); err == nil {
		t.Error("a missing metric was summarized")
	}
	zero := []Results{{"BenchmarkA/service": {"req/s": 1}, "BenchmarkA/bare": {"req/s": 0}}}
	if _, err := Summarize(Row{Name: "zero", Figure: Metric{"BenchmarkA/service", "req/s"}, Baseline: Metric{"BenchmarkA/bare", "req/s"}}, zero); err == nil {
		t.Error("a zero baseline gave a ratio")
	}
}

func TestMarkdown(t *testing.T) {
	runs := []Results{run(6022, 7965, 20.5, 15.1), run(5852, 6134, 19.5, 14), run(6042, 8160, 24.8, 16)}
	rows := []Row{
		{Name: "referral create", Figure: Metric{"BenchmarkA/service", "req/s"}, Baseline: Metric{"BenchmarkA/bare", "req/s"}, Target: AtLeast(0.9), Unit: "req/s"},
		{Name: "p99", Figure: Metric{"BenchmarkA/service", "p99-ms"}, Unit: "ms"},
	}
	var summaries []Summary
	for _, row := range rows {
		s, err := Summarize(row, runs)
		if err != nil {
			t.Fatal(err)
		}
		summaries = append(summaries, s)
	}
	var b strings.Builder
	if err := Markdown(&b, summaries); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| referral create | 6,022 req/s (5,852–6,042) | 7,965 req/s (6,134–8,160) | 0.76× (0.74–0.95) | ≥ 0.9× | **not met** |",
		"| p99 | 20.5 ms (19.5–24.8) | — | — | — | recorded |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestTrim(t *testing.T) {
	tests := map[float64]string{0: "0", 0.756: "0.76", 1: "1", 1.25: "1.25", 12.34: "12.3", 123.4: "123", 1234567: "1,234,567", -4500: "-4,500", 0.0123: "0.012"}
	for in, want := range tests {
		if got := trim(in); got != want {
			t.Errorf("trim(%v) = %q, want %q", in, got, want)
		}
	}
}

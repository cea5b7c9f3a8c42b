// Command homeward-bench runs every Homeward benchmark next to its baseline, repeats each run,
// prints one table (figure, baseline, ratio, target, met) and writes it to docs/benchmarks.md.
// `make bench` runs it; `make bench QUICK=1` runs each benchmark once at a small size as a smoke
// check and writes nothing unless --out is given.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	bt "github.com/homeward-dev/homeward/internal/benchtable"
)

func main() {
	quick := flag.Bool("quick", false, "run each benchmark once, at a small size (a smoke check)")
	out := flag.String("out", "", "write the table as markdown here (make bench: docs/benchmarks.md)")
	runs := flag.Int("runs", 3, "runs of each benchmark (at least 3 for the table in docs); --quick makes it 1")
	only := flag.String("only", "", "run only the suites whose name contains this")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *quick {
		*runs = 1
	}
	if err := run(ctx, os.Stderr, options{quick: *quick, runs: *runs, out: *out, only: *only}); err != nil {
		slog.Error("bench", "err", err)
		os.Exit(1)
	}
}

type options struct {
	quick bool
	runs  int
	out   string
	only  string
}

func run(ctx context.Context, progress io.Writer, opts options) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "homeward-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var selected []suite
	for _, s := range suites() {
		if strings.Contains(s.name, opts.only) {
			selected = append(selected, s)
		}
	}
	started := time.Now()
	binaries := map[string]string{}
	var summaries []section
	for i, s := range selected {
		bin, ok := binaries[s.pkg]
		if !ok {
			bin = filepath.Join(work, strings.NewReplacer("/", "_", ".", "_").Replace(s.pkg)+".test")
			fmt.Fprintf(progress, "[bench] building %s\n", s.pkg)
			build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, s.pkg)
			build.Dir = root
			if out, err := build.CombinedOutput(); err != nil {
				return fmt.Errorf("build %s: %w\n%s", s.pkg, err, out)
			}
			binaries[s.pkg] = bin
		}
		n := s.runs(opts)
		var results []bt.Results
		for r := range n {
			fmt.Fprintf(progress, "[bench %d/%d] %s, run %d of %d … ", i+1, len(selected), s.name, r+1, n)
			t0 := time.Now()
			res, err := s.run(ctx, bin, filepath.Join(root, s.pkg), opts.quick, work)
			if err != nil {
				fmt.Fprintln(progress, "failed")
				return fmt.Errorf("%s: %w", s.name, err)
			}
			fmt.Fprintf(progress, "%.0f s\n", time.Since(t0).Seconds())
			results = append(results, res)
		}
		sec := section{suite: s}
		for _, row := range s.rows {
			sum, err := bt.Summarize(row, results)
			if err != nil {
				return err
			}
			sec.summaries = append(sec.summaries, sum)
		}
		summaries = append(summaries, sec)
	}
	took := time.Since(started)
	var all []bt.Summary
	for _, sec := range summaries {
		all = append(all, sec.summaries...)
	}
	var table bytes.Buffer
	if err := bt.Markdown(&table, all); err != nil {
		return err
	}
	fmt.Fprintf(progress, "\n%s\n%d figures, %d not met, in %s\n", table.String(), len(all), notMet(all), took.Round(time.Second))
	if opts.out == "" {
		return nil
	}
	page, err := document(ctx, root, summaries, opts, took)
	if err != nil {
		return err
	}
	return os.WriteFile(opts.out, page, 0o644)
}

type section struct {
	suite     suite
	summaries []bt.Summary
}

func notMet(all []bt.Summary) int {
	n := 0
	for _, s := range all {
		if !s.Met() {
			n++
		}
	}
	return n
}

// run executes the suite's benchmark once, in the package's folder as `go test` would, and
// parses what it reported. Its output is kept in work for a failure's message.
func (s suite) run(ctx context.Context, bin, dir string, quick bool, work string) (bt.Results, error) {
	benchtime, env := s.benchtime, []string(nil)
	if quick {
		benchtime, env = s.quickBenchtime, []string{bt.QuickEnv + "=1"}
	}
	if benchtime == "" {
		benchtime = "1x"
	}
	cmd := exec.CommandContext(ctx, bin, "-test.run=^$", "-test.bench="+s.bench, "-test.benchtime="+benchtime, "-test.timeout=30m")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	log := filepath.Join(work, strings.ReplaceAll(s.name, " ", "-")+".log")
	_ = os.WriteFile(log, out.Bytes(), 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tail(out.String(), 60))
	}
	return bt.Parse(&out)
}

func (s suite) runs(opts options) int {
	if s.once && !opts.quick {
		return 1
	}
	return opts.runs
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(parts[max(0, len(parts)-lines):], "\n")
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("find the module's folder: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// document is docs/benchmarks.md: when and where the table was measured, the table, and each
// suite's note on what its baseline is.
func document(ctx context.Context, root string, sections []section, opts options, took time.Duration) ([]byte, error) {
	var b bytes.Buffer
	commit, _ := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	fmt.Fprintf(&b, "# Benchmarks\n\n<!-- Generated by `make bench` (cmd/homeward-bench); do not edit. -->\n\n")
	fmt.Fprintf(&b, "Measured on %s at commit `%s` on %s (%d cores, %s), %s; %d runs of each benchmark unless a row says otherwise, "+
		"medians with the range over runs in brackets; every ratio is taken within one run, between the figure and the baseline measured beside it, "+
		"then the median of those ratios is shown. `make bench` took %s. How each figure is measured and what the baselines are: "+
		"[performance.md](performance.md).\n\n",
		time.Now().UTC().Format("2 January 2006"), strings.TrimSpace(string(commit)), cpuModel(), runtime.NumCPU(), memory(), runtime.Version(), opts.runs, took.Round(time.Second))
	for _, sec := range sections {
		fmt.Fprintf(&b, "## %s\n\n", sec.suite.name)
		if sec.suite.once {
			fmt.Fprintf(&b, "One run (a capacity measurement; each figure is itself a distribution or a total).\n\n")
		}
		if err := bt.Markdown(&b, sec.summaries); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\n%s\n\n", sec.suite.note)
	}
	return b.Bytes(), nil
}

func cpuModel() string {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(info), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memory() string {
	info, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown memory"
	}
	var kb int
	for _, line := range strings.Split(string(info), "\n") {
		if n, _ := fmt.Sscanf(line, "MemTotal: %d kB", &kb); n == 1 {
			return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown memory"
}

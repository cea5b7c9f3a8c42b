package servicetest

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// LoadResult is what a load run measured.
type LoadResult struct {
	N        int
	Elapsed  time.Duration
	P50, P99 time.Duration
	Errors   int64
}

// PerSecond is the calls completed per second.
func (r LoadResult) PerSecond() float64 { return float64(r.N) / r.Elapsed.Seconds() }

// Report adds the rate and latencies to a benchmark's output, and fails it if any call failed.
func (r LoadResult) Report(b *testing.B) {
	b.ReportMetric(r.PerSecond(), "req/s")
	b.ReportMetric(float64(r.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
	if r.Errors > 0 {
		b.Errorf("%d requests failed", r.Errors)
	}
}

// Load runs n calls of do across workers goroutines and measures each call.
func Load(workers, n int, do func(worker int) error) LoadResult {
	var next atomic.Int64
	var failed atomic.Int64
	latencies := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				if err := do(w); err != nil {
					failed.Add(1)
				}
				latencies[w] = append(latencies[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(latencies...)
	slices.Sort(all)
	pick := func(q float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(q*float64(len(all))))]
	}
	return LoadResult{N: n, Elapsed: elapsed, P50: pick(0.50), P99: pick(0.99), Errors: failed.Load()}
}

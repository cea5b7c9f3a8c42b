package reporting

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
)

// importBenchRows is how many referrals, each with a placement, BenchmarkImport brings in:
// HOMEWARD_IMPORT_BENCH_ROWS, 100,000 by default (the figure).
func importBenchRows(b *testing.B) int {
	n := 100_000
	if v := os.Getenv("HOMEWARD_IMPORT_BENCH_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			b.Fatalf("HOMEWARD_IMPORT_BENCH_ROWS=%q: want a number of at least 100", v)
		}
	}
	return n
}

// peakLiveHeap samples the live heap (as the last collection found it) until stop is called, and
// returns its peak in MB: what the process really held, the collector's headroom set aside.
func peakLiveHeap() (stop func() float64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() float64 {
		close(done)
		<-finished
		return float64(peak.Load()) / (1 << 20)
	}
}

// BenchmarkImport imports a partnership's history — referrals, then a placement for each in 1% as
// many units — through the real referral and housing services, next to the live API's own create
// throughput measured in the same run, then waits for reporting to count it all. Run with
// -benchtime=1x; the figures are rates, so the ratio holds on any machine.
func BenchmarkImport(b *testing.B) {
	rows := importBenchRows(b)
	clock := servicetest.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, calendar.London()))
	st := startServices(b, "nottingham", clock)

	// The live API's own rate: referrals created one by one by 32 clients.
	live := st.refs
	form := map[string]any{"person": map[string]any{"name": "Test Person"}, "source": "ward",
		"referrer": map[string]any{"organisation": "Queen's Medical Centre"}, "consent": map[string]any{"toRefer": true, "toShare": true},
		"tenure": "owner-occupier", "needs": []string{"repairs"}, "priority": "routine"}
	liveN := min(rows, 5000)
	created := servicetest.Load(32, liveN, func(int) error {
		if r := live.Do("POST", "/v1/referrals", form); r.Status != http.StatusCreated {
			return fmt.Errorf("create: %d %s", r.Status, r.Body)
		}
		return nil
	})
	if created.Errors > 0 {
		b.Fatalf("%d live creates failed", created.Errors)
	}

	// The history: referrals over the last five years, each stay three nights in its unit.
	units := max(1, rows/100)
	first := calendar.DateOf(clock.Now()).AddDays(-4*(rows/units) - 30)
	var referralsCSV, unitsCSV, staysCSV strings.Builder
	referralsCSV.WriteString("importKey,receivedAt,name,source,referrerOrganisation,consentToRefer,consentToShare,tenure,needs,priority,history,dischargeDestination\n")
	unitsCSV.WriteString("importKey,scheme,line1,town,postcode,ownerOrganisation,type,bedrooms,weeklyCost,housingBenefitEligible,createdOn\n")
	staysCSV.WriteString("importKey,unit,referral,arrival,departedOn,destination,housingBenefitClaimed\n")
	for u := range units {
		fmt.Fprintf(&unitsCSV, "U%d,Step-down %d,Flat %d Example Court,Nottingham,NG1 1AA,Nottingham City Homes,flat,1,203.77,yes,%s\n", u, u%6, u, first.AddDays(-1))
	}
	for i := range rows {
		arrival := first.AddDays(4 * (i / units))
		received := arrival.AddDays(-2)
		fmt.Fprintf(&referralsCSV, "R%d,%sT10:00,Imported Person %d,ward,Queen's Medical Centre,yes,yes,owner-occupier,repairs,routine,triaged@%s;assessing@%s;ready-for-discharge@%s;discharged@%s,step-down\n",
			i, received, i, received.AddDays(1), received.AddDays(1), arrival, arrival)
		fmt.Fprintf(&staysCSV, "P%d,U%d,R%d,%s,%s,own-home,%s\n", i, i%units, i, arrival, arrival.AddDays(3), map[bool]string{true: "yes", false: "no"}[i%3 == 0])
	}
	send := func(base, layout, body string) (app.ImportReport, time.Duration) {
		started := time.Now()
		var report app.ImportReport
		st.admin(base).Must(http.StatusOK, "POST", "/v1/imports?layout="+layout, body, "Content-Type", "text/csv", "X-Import-File", layout+".csv").JSON(b, &report)
		if report.Imported != report.Rows {
			b.Fatalf("%s: %+v", layout, report)
		}
		return report, time.Since(started)
	}
	send(st.homesURL, "units", unitsCSV.String())
	runtime.GC()
	baseline := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(baseline)
	heap := peakLiveHeap()
	_, referralsTook := send(st.refURL, "referrals", referralsCSV.String())
	_, staysTook := send(st.homesURL, "placements", staysCSV.String())
	peakMB := heap()

	imported := time.Now()
	for {
		var ingest IngestStatus
		st.as(b, "coordinator").Must(http.StatusOK, "GET", "/v1/ingest", nil).JSON(b, &ingest)
		if ingest.Pending == 0 && ingest.Undelivered == 0 && ingest.StreamLength > 0 {
			break
		}
		if time.Since(imported) > 30*time.Minute {
			b.Fatalf("reporting did not catch up: %+v", ingest)
		}
		time.Sleep(100 * time.Millisecond)
	}
	caughtUp := time.Since(imported)

	// The import's rate is records written a second, referrals and placements alike, as the live
	// rate is referrals created a second.
	importRate := float64(2*rows) / (referralsTook + staysTook).Seconds()
	b.ReportMetric(created.PerSecond(), "live-creates/s")
	b.ReportMetric(float64(rows)/referralsTook.Seconds(), "imported-referrals/s")
	b.ReportMetric(float64(rows)/staysTook.Seconds(), "imported-placements/s")
	b.ReportMetric(importRate/created.PerSecond(), "import÷live")
	b.ReportMetric(caughtUp.Seconds(), "reporting-catch-up-s")
	// What the import adds to the live heap: the services', the ingester's and the client's copy of
	// the file it sends; the files built here before are the baseline.
	b.ReportMetric(peakMB-float64(baseline[0].Value.Uint64())/(1<<20), "import-live-heap-MB")
	b.Logf("%d referrals in %s, %d placements in %s; reporting caught up %s later; %d units; files %.1f MB + %.1f MB",
		rows, referralsTook.Round(time.Millisecond), rows, staysTook.Round(time.Millisecond), caughtUp.Round(time.Millisecond), units,
		float64(referralsCSV.Len())/(1<<20), float64(staysCSV.Len())/(1<<20))
}

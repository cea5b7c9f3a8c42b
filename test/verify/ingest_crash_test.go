package verify

// This file: the reporting service, as its own process, killed with SIGKILL again and again while it
// ingests a year of a partnership's events, and restarted each time. Its figures must be the same,
// byte for byte, as those of a reporting service that ingested the same events without a break.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/demo"
	"github.com/homeward-dev/homeward/internal/serviceserver"
	"github.com/homeward-dev/homeward/services/housing"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
	"github.com/homeward-dev/homeward/services/reporting"
)

func TestReportingKilledMidIngestReportsLikeAnUninterruptedRun(t *testing.T) {
	record(t)
	ctx := context.Background()
	const name = "nottingham"
	profile := demo.Profiles()[name]
	policy := config.DefaultPolicy()
	policy.CostModel = &config.CostModel{Currency: "GBP", BedDayCost: "345.00", ResidentialCareWeekly: "536.77", StepDownWeekly: "203.77",
		WaitingListBaselineDays: 129, SchemeAnnualCost: "74375.00", SavingsSplit: config.SavingsSplit{NHS: 30, LocalAuthority: 60, HousingProvider: 10}}
	policyJSON, err := json.Marshal(policy)
	if err != nil {
		t.Fatal(err)
	}

	// Tenant "crashed" gets a year of history through the real import APIs: its event stream.
	crashed := servicetest.StartTenant(t, name)
	_, refSrv := servicetest.Serve(t, crashed.Config(t, referral.Name, policy), app.Options{}, func(a *app.Service) { referral.New(a) })
	_, homeSrv := servicetest.Serve(t, crashed.Config(t, housing.Name, policy), app.Options{}, func(a *app.Service) { housing.New(a) })
	admin := crashed.Person(t, refSrv.URL, "admin@"+name+".example", name, "partnership-admin", "manager")
	files, err := demo.Generate(profile, calendar.DateOf(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		c := admin.As(t)
		if f.Layout != "referrals" {
			c.Base = homeSrv.URL
		}
		c.Must(http.StatusOK, "POST", "/v1/imports?layout="+f.Layout, string(f.Data), "Content-Type", "text/csv", "X-Import-File", f.Name)
	}
	keys := keyspace.For(name)
	entries, err := crashed.Admin.XRange(ctx, keys.Events(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}

	// Tenant "steady" holds the same stream, entry for entry and id for id.
	steady := servicetest.StartTenant(t, name)
	pipe := steady.Admin.Pipeline()
	for _, e := range entries {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: keys.Events(), ID: e.ID, Values: e.Values})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	var steadySvc *reporting.Service
	_, steadySrv := servicetest.Serve(t, steady.Config(t, reporting.Name, policy), app.Options{}, func(a *app.Service) { steadySvc = reporting.New(a) })
	ingestCtx, stopIngest := context.WithCancel(ctx)
	ingesting := make(chan struct{})
	go func() {
		defer close(ingesting)
		_ = steadySvc.Ingest(ingestCtx)
	}()
	t.Cleanup(func() {
		stopIngest()
		<-ingesting
	})
	steadyReader := newCaller(steadySrv.URL, steady.Person(t, steadySrv.URL, "reader@"+name+".example", name, "manager").Token)

	// The crashed tenant's reporting runs as `homeward reporting`, the way both runtimes run it.
	homeward, err := binaries.Path("homeward")
	if err != nil {
		t.Fatal(err)
	}
	cfg := crashed.Config(t, reporting.Name, policy)
	proc, err := serviceserver.Start(ctx, serviceserver.Options{
		Path: homeward, Service: reporting.Name, Partnership: name, Dir: filepath.Join(t.TempDir(), "reporting"),
		RedisAddr: cfg.RedisAddr, RedisPassword: cfg.RedisPassword, PIIKey: cfg.PIIKey, KratosPublicURL: cfg.KratosPublicURL,
		Policy: string(policyJSON),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Stop() })
	crashedReader := newCaller(proc.URL(), admin.Token)
	status := func(c *caller) (reporting.IngestStatus, bool) {
		var st reporting.IngestStatus
		x := c.call("GET", "/v1/ingest", nil)
		return st, x.status == http.StatusOK && json.Unmarshal(x.body, &st) == nil
	}
	total := int64(len(entries))
	// Kill it each time it has applied more (it applies up to 500 events a batch), three times: each
	// restart waits out the dead one's ingest lock (10 s).
	kills, lastKill := 0, int64(-1)
	for kills < 3 {
		st, ok := status(crashedReader)
		if !ok || st.EventsApplied <= lastKill || st.EventsApplied == 0 {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if st.EventsApplied >= total {
			break
		}
		if err := proc.Kill(); err != nil {
			t.Fatal(err)
		}
		kills, lastKill = kills+1, st.EventsApplied
		t.Logf("reporting killed with %d of %d events applied", st.EventsApplied, total)
		restartCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err := proc.Restart(restartCtx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	if kills == 0 {
		t.Fatal("the ingester finished before it could be killed: the test proved nothing")
	}
	caughtUp := func(c *caller) func() bool {
		return func() bool {
			st, ok := status(c)
			return ok && st.EventsApplied == total && st.Pending == 0 && st.Undelivered == 0
		}
	}
	waitFor(t, "the killed ingester to catch up", caughtUp(crashedReader))
	waitFor(t, "the steady ingester to catch up", caughtUp(steadyReader))

	today := calendar.DateOf(time.Now().In(calendar.London()))
	period := fmt.Sprintf("from=%s&to=%s", today.AddDays(-400), today.AddDays(1))
	for _, path := range []string{"/v1/reports?" + period, "/v1/reports?format=csv&" + period, "/v1/reports/monthly?" + period} {
		a, b := crashedReader.call("GET", path, nil), steadyReader.call("GET", path, nil)
		if a.status != http.StatusOK || b.status != http.StatusOK {
			t.Fatalf("%s: %d %s / %d %s", path, a.status, a.body, b.status, b.body)
		}
		if string(a.body) != string(b.body) {
			t.Errorf("%s differs after %d kills:\n%s\nuninterrupted:\n%s", path, kills, tail(string(a.body), 1500), tail(string(b.body), 1500))
		}
	}
	// And underneath: every aggregate counter the same.
	crashedState, _ := status(crashedReader)
	steadyState, _ := status(steadyReader)
	a, b := aggregates(ctx, t, crashed.Admin, keys, crashedState.Generation), aggregates(ctx, t, steady.Admin, keys, steadyState.Generation)
	if !mapsOfMapsEqual(a, b) || len(a) == 0 {
		t.Errorf("the aggregates differ after %d kills: %d keys against %d", kills, len(a), len(b))
	}
	t.Logf("%d events, killed %d times: reports and %d aggregate keys identical", total, kills, len(a))
}

// aggregates reads every counter hash of a generation (not its ingest state).
func aggregates(ctx context.Context, t *testing.T, admin *redis.Client, keys keyspace.Tenant, gen string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	iter := admin.Scan(ctx, 0, keys.AggPrefix(gen)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if key == keys.AggState(gen) || admin.Type(ctx, key).Val() != "hash" {
			continue
		}
		out[strings.TrimPrefix(key, keys.AggPrefix(gen))] = admin.HGetAll(ctx, key).Val()
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mapsOfMapsEqual(a, b map[string]map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, m := range a {
		n, ok := b[k]
		if !ok || len(m) != len(n) {
			return false
		}
		for f, v := range m {
			if n[f] != v {
				return false
			}
		}
	}
	return true
}

package referral

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// concurrency is the number of clients the benchmarks run, as the targets say.
const concurrency = 32

// spanCounter is a span processor that counts finished spans and drops them: tracing is on with
// the default sampler, and nothing leaves the process.
type spanCounter struct{ n atomic.Int64 }

func (c *spanCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c *spanCounter) OnEnd(sdktrace.ReadOnlySpan)                     { c.n.Add(1) }
func (c *spanCounter) Shutdown(context.Context) error                  { return nil }
func (c *spanCounter) ForceFlush(context.Context) error                { return nil }

type benchEnv struct {
	tenant   *servicetest.Tenant
	svc      *Service
	base     string
	sessions []*servicetest.Client
	spans    *spanCounter
}

func newBenchEnv(b *testing.B, sessions int) *benchEnv {
	e := &benchEnv{tenant: servicetest.StartTenant(b, "oldham"), spans: &spanCounter{}}
	cfg := e.tenant.Config(b, Name, config.DefaultPolicy())
	_, srv := servicetest.Serve(b, cfg, app.Options{SpanProcessors: []sdktrace.SpanProcessor{e.spans}}, func(a *app.Service) { e.svc = New(a) })
	e.base = srv.URL
	for i := range sessions {
		e.sessions = append(e.sessions, e.tenant.Person(b, e.base, fmt.Sprintf("coordinator%d@oldham.example", i), "oldham", "coordinator"))
	}
	return e
}

// rawClients opens one keep-alive connection per worker.
func rawClients(b *testing.B, base string) []*rawClient {
	out := make([]*rawClient, concurrency)
	for i := range out {
		c, err := dialRaw(base)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = c
		b.Cleanup(c.close)
	}
	return out
}

// load runs n calls of do across concurrency workers and measures each call.
func load(n int, do func(worker int) error) servicetest.LoadResult {
	return servicetest.Load(concurrency, n, do)
}

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2, MaxConnsPerHost: concurrency * 2}}

func formBody() []byte {
	b, _ := json.Marshal(form("Bench Person"))
	return b
}

// bareHandler is the baseline: net/http and go-redis doing the same Redis work as the service
// (one script with the record, 7 index entries, the NHS index, the event and the audit entry in the
// record's and the actor's trails), without authentication, validation, sealing, tracing or metrics.
// benchActor stands for the signed-in user in the bare handler's audit entries.
const benchActor = "00000000-0000-4000-8000-000000000001"

func bareHandler(e *benchEnv) http.Handler {
	rdb := e.tenant.ServiceClient(Name)
	keys := keyspace.For("oldham")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/referrals", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		now := time.Now()
		id := ids.New(now)
		body["id"] = id
		doc, _ := json.Marshal(body)
		ops := []store.Op{store.SAdd(keys.NHSNumber("bare"), id), store.XAdd(keys.Events(), "type", "referral.received", "referral", id, "at", now.Format(time.RFC3339Nano), "data", string(doc[:min(len(doc), 400)]))}
		ops = append(ops, audit.Ops(keys, auditKind, id, audit.Entry{At: now, Actor: benchActor, Action: audit.ActionCreate})...)
		for _, ix := range []string{"all", "status", "priority", "created-by", "need1", "need2"} {
			ops = append(ops, store.ZAdd(keys.ReferralsByStatus("bare-"+ix), 0, id))
		}
		ops = append(ops, store.ZAdd(keys.ResponseDue(), float64(now.UnixMilli()), id))
		if _, err := store.Apply(r.Context(), rdb, store.Commit{Key: keys.Referral(id), Doc: doc, Ops: ops}); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/v1/referrals/"+id)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(doc)
	})
	mux.HandleFunc("GET /v1/referrals/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		rec, err := store.ReadAudited(r.Context(), rdb, keys.Referral(id), audit.Ops(keys, auditKind, id, audit.Entry{At: time.Now(), Actor: benchActor, Action: audit.ActionRead})...)
		if err != nil {
			http.Error(w, err.Error(), 404)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(rec.Doc)
	})
	return mux
}

// redisBenchmark runs redis-benchmark with 32 clients on the same Redis for the same round trip
// and returns requests per second and p50 / p99 in milliseconds.
func redisBenchmark(b *testing.B, e *benchEnv, n int, args ...string) (rps, p50, p99 float64) {
	path, err := exec.LookPath("redis-benchmark")
	if err != nil {
		b.Fatalf("redis-benchmark: %v (hack/install-deps.sh installs redis-tools)", err)
	}
	host, port, _ := strings.Cut(e.tenant.Redis.Addr(), ":")
	cmd := exec.Command(path, append([]string{"-h", host, "-p", port, "--user", "default", "-a", e.tenant.Redis.AdminPassword(),
		"-c", strconv.Itoa(concurrency), "-n", strconv.Itoa(n), "-r", "1000000", "--csv"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("redis-benchmark: %v", err)
	}
	// The first column repeats the command, quotes unescaped: read the figures from the right.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	cols := strings.Split(lines[len(lines)-1], ",")
	if len(lines) < 2 || len(cols) < 8 {
		b.Fatalf("redis-benchmark output %q", out)
	}
	f := func(i int) float64 { v, _ := strconv.ParseFloat(strings.Trim(cols[len(cols)-i], `"`), 64); return v }
	return f(7), f(4), f(2)
}

// createScript does in one EVAL what a create does in Redis: the hash, 7 sorted-set entries, a
// set entry and two stream entries.
const createScript = `redis.call('HSET', KEYS[1], 'v', '1', 'doc', ARGV[1])
for i = 2, 8 do redis.call('ZADD', KEYS[i], 0, KEYS[1]) end
redis.call('SADD', KEYS[9], KEYS[1])
redis.call('XADD', KEYS[10], '*', 'type', 'referral.received', 'data', ARGV[2])
redis.call('XADD', KEYS[11], '*', 'e', ARGV[3])
return 1`

// BenchmarkReferralAPI measures create and get through the whole service at 32 concurrent
// clients next to the bare handler and redis-benchmark. Run with -benchtime=20000x.
func BenchmarkReferralAPI(b *testing.B) {
	e := newBenchEnv(b, 8)
	body := formBody()
	token := func(w int) string { return e.sessions[w%len(e.sessions)].Token }
	clients := rawClients(b, e.base)
	var made sync.Map
	create := func(w int) error {
		status, location, err := clients[w].do("POST", "/v1/referrals", token(w), body)
		if err != nil || status != 201 {
			return fmt.Errorf("status %d: %v", status, err)
		}
		made.Store(strings.TrimPrefix(location, "/v1/referrals/"), true)
		return nil
	}
	// Warm the session cache and the connection pools.
	for w := range concurrency {
		if err := create(w); err != nil {
			b.Fatal(err)
		}
	}
	checksBefore := testutil.ToFloat64(e.svc.app.Auth.ChecksCounter())
	started := time.Now()
	b.Run("service/create", func(b *testing.B) { load(b.N, create).Report(b) })
	var idList []string
	made.Range(func(k, _ any) bool { idList = append(idList, k.(string)); return true })
	b.Run("service/get", func(b *testing.B) {
		var i atomic.Int64
		load(b.N, func(w int) error {
			id := idList[int(i.Add(1))%len(idList)]
			status, _, err := clients[w].do("GET", "/v1/referrals/"+id, token(w), nil)
			if err != nil || status != 200 {
				return fmt.Errorf("status %d: %v", status, err)
			}
			return nil
		}).Report(b)
	})
	checks := testutil.ToFloat64(e.svc.app.Auth.ChecksCounter()) - checksBefore
	periods := max(1, time.Since(started).Seconds()/30)
	b.Logf("Kratos calls during the service runs: %.0f for %d sessions over %.1f cache periods (%.2f per session per period); %d spans recorded",
		checks, len(e.sessions), periods, checks/float64(len(e.sessions))/periods, e.spans.n.Load())

	bare := httptest.NewServer(bareHandler(e))
	defer bare.Close()
	bareClients := rawClients(b, bare.URL)
	var bareIDs sync.Map
	b.Run("bare/create", func(b *testing.B) {
		load(b.N, func(w int) error {
			status, location, err := bareClients[w].do("POST", "/v1/referrals", "", body)
			if err != nil || status != 201 {
				return fmt.Errorf("status %d: %v", status, err)
			}
			bareIDs.Store(strings.TrimPrefix(location, "/v1/referrals/"), true)
			return nil
		}).Report(b)
	})
	var bareList []string
	bareIDs.Range(func(k, _ any) bool { bareList = append(bareList, k.(string)); return true })
	b.Run("bare/get", func(b *testing.B) {
		var i atomic.Int64
		load(b.N, func(w int) error {
			status, _, err := bareClients[w].do("GET", "/v1/referrals/"+bareList[int(i.Add(1))%len(bareList)], "", nil)
			if err != nil || status != 200 {
				return fmt.Errorf("status %d: %v", status, err)
			}
			return nil
		}).Report(b)
	})

	k := keyspace.For("oldham")
	doc := strings.Repeat("x", 1056) // a stored referral: the form's facts, its workflow fields and the sealed personal data
	b.Run("redis-benchmark/create-round-trip", func(b *testing.B) {
		keys := []string{k.Referral("__rand_int__")}
		for i := range 7 {
			keys = append(keys, k.ReferralsByStatus("rb-"+strconv.Itoa(i)))
		}
		keys = append(keys, k.NHSNumber("rb"), k.Events(), k.Audit("rb", "__rand_int__"))
		event := strings.Repeat("e", 400) // the received event's de-identified facts
		entry := `{"at":"2026-11-23T09:30:00.000000001Z","actor":"ec0be966-e214-459c-af3b-baaace8211ec","actorEmail":"coordinator@oldham.example","roles":["coordinator"],"action":"create","traceId":"0af7651916cd43dd8448eb211c80319c","requestId":"9b551ca12664093a4848913f"}`
		rps, p50, p99 := redisBenchmark(b, e, max(b.N, 1000), append([]string{"EVAL", createScript, strconv.Itoa(len(keys))}, append(keys, doc, event, entry)...)...)
		b.ReportMetric(rps, "req/s")
		b.ReportMetric(p50, "p50-ms")
		b.ReportMetric(p99, "p99-ms")
	})
	b.Run("redis-benchmark/get-round-trip", func(b *testing.B) {
		script := `local d = redis.call('HMGET', KEYS[1], 'v', 'doc') redis.call('XADD', KEYS[2], '*', 'e', ARGV[1]) return d`
		rps, p50, p99 := redisBenchmark(b, e, max(b.N, 1000), "EVAL", script, "2", k.Referral(idList[0]), k.Audit("rb", "__rand_int__"),
			`{"at":"2026-11-23T09:30:00.000000001Z","actor":"ec0be966-e214-459c-af3b-baaace8211ec","roles":["coordinator"],"action":"read","traceId":"0af7651916cd43dd8448eb211c80319c"}`)
		b.ReportMetric(rps, "req/s")
		b.ReportMetric(p50, "p50-ms")
		b.ReportMetric(p99, "p99-ms")
	})
}

// BenchmarkReferralList measures a page of 50 out of 100,000 referrals at 32 concurrent clients.
// Run with -benchtime=5000x.
func BenchmarkReferralList(b *testing.B) {
	e := newBenchEnv(b, 8)
	const total = 100_000
	ctx := context.Background()
	// Fill through the service's own write path, without HTTP, to save time.
	var made atomic.Int64
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for made.Add(1) <= total {
				now := time.Now()
				p := Person{Name: "Bench Person", NHSNumber: "9434765919", Address: "1 Bench Street"}
				ref := &Referral{ID: ids.New(now), Status: StatusReceived, Person: &p,
					Form: Form{Source: "ward", Tenure: "social-rented", Needs: []string{"repairs"}, Priority: "routine"}, ReceivedAt: now, Response: Response{Target: "10 working days", DueAt: now.Add(240 * time.Hour)},
					Notes: []Note{}, Actions: []Action{}, Readmissions: []Readmission{}, FollowUps: []FollowUp{}, History: []Transition{},
					CreatedBy: Staff{ID: "bench"}, CreatedAt: now, UpdatedAt: now}
				if _, err := e.svc.repo.commit(ctx, change{after: ref, audit: audit.Entry{At: now, Action: audit.ActionCreate}}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := e.tenant.Admin.ZCard(ctx, e.svc.repo.keys.AllReferrals()).Val(); n != total {
		b.Fatalf("%d referrals stored, want %d", n, total)
	}
	token := func(w int) string { return e.sessions[w%len(e.sessions)].Token }
	// Follow cursors so pages come from all over the index, not only its newest end.
	var cursors sync.Map
	page := func(w int, query string) error {
		c, _ := cursors.Load(w)
		cursor, _ := c.(string)
		req, _ := http.NewRequest("GET", e.base+"/v1/referrals?limit=50"+query+"&cursor="+cursor, nil)
		req.Header.Set("Authorization", "Bearer "+token(w))
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var p listPage
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != 200 || len(p.Items) != 50 && p.NextCursor != "" {
			return fmt.Errorf("status %d, %d items: %v", resp.StatusCode, len(p.Items), err)
		}
		cursors.Store(w, p.NextCursor) // at the end of the index, start again from the newest
		return nil
	}
	for _, workers := range []int{1, 8, concurrency} {
		b.Run(fmt.Sprintf("page-of-50/clients=%d", workers), func(b *testing.B) {
			cursors.Clear()
			servicetest.Load(workers, b.N, func(w int) error { return page(w, "") }).Report(b)
		})
		b.Run(fmt.Sprintf("filtered-page-of-50/clients=%d", workers), func(b *testing.B) {
			cursors.Clear()
			servicetest.Load(workers, b.N, func(w int) error { return page(w, "&status=received&priority=routine") }).Report(b)
		})
	}
}

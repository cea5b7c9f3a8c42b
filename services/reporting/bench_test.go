package reporting

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/internal/benchtable"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
)

// synthetic makes a year of a tenant's events: referrals received, contacted, half of them
// discharged, some rehoused; placements in 60 units across 6 schemes.
type synthetic struct {
	rng *rand.Rand
	day calendar.Date
}

func (s *synthetic) event(typ string, data map[string]any) Event {
	b, _ := json.Marshal(data)
	return Event{Type: events.Type(typ), Version: events.Version, Data: b}
}

func (s *synthetic) referral() []Event {
	day := s.day.AddDays(s.rng.IntN(365))
	received := day.In(calendar.London(), 9+s.rng.IntN(8), 0, 0, 0)
	due := received.Add(72 * time.Hour)
	out := []Event{
		s.event("referral.received", map[string]any{"source": sources[s.rng.IntN(len(sources))], "tenure": tenures[s.rng.IntN(len(tenures))],
			"priority": priorities[s.rng.IntN(3)], "needs": []string{needs[s.rng.IntN(len(needs))], needs[s.rng.IntN(len(needs))]},
			"receivedAt": received, "responseDueAt": due}),
		s.event("referral.first-contact", map[string]any{"dueAt": due, "met": s.rng.IntN(10) < 8}),
	}
	if s.rng.IntN(2) == 0 {
		delay := s.rng.IntN(15)
		out = append(out, s.event("referral.discharged", map[string]any{"date": day.AddDays(20), "destination": destinations[s.rng.IntN(len(destinations))],
			"delayedDays": delay, "dischargeReadyDate": day.AddDays(20 - delay), "delayReason": "awaiting-equipment-adaptations-to-housing"}))
	}
	if s.rng.IntN(20) == 0 {
		days := 20 + s.rng.IntN(150)
		out = append(out, s.event("rehousing.rehoused", map[string]any{"referralSource": "ward", "moveInOn": day.AddDays(days),
			"daysToRehoused": days, "daysSavedAgainstBaseline": max(0, 129-days)}))
	}
	return out
}

func (s *synthetic) placement(i int) []Event {
	scheme, unit := fmt.Sprintf("Scheme %d", i%6), fmt.Sprintf("unit-%d", i%60)
	arrived := s.day.AddDays(s.rng.IntN(330))
	departed := arrived.AddDays(7 + s.rng.IntN(35))
	base := map[string]any{"placementId": fmt.Sprint("p", i), "unitId": unit, "scheme": scheme, "arrivedOn": arrived, "plannedDeparture": arrived.AddDays(42)}
	departure := map[string]any{"departedOn": departed, "nights": arrived.DaysUntil(departed), "destination": stepDownEnds[s.rng.IntN(len(stepDownEnds))],
		"housingBenefitClaimed": s.rng.IntN(2) == 0}
	for k, v := range base {
		departure[k] = v
	}
	return []Event{s.event("placement.arrived", base), s.event("placement.departed", departure)}
}

// seed applies a tenant's year straight into the aggregates, as ingest would: in order, in batches
// of 500 with increasing ids (a batch at or before the last one applied would be skipped as a
// redelivery), and checks that every event counted.
func seed(b *testing.B, st *store, referrals, placements int) int {
	s := &synthetic{rng: rand.New(rand.NewPCG(3, 4)), day: calendar.Date{Year: 2025, Month: time.January, Day: 1}}
	var events []Event
	for i := range 60 {
		events = append(events, s.event("unit.created", map[string]any{"unitId": fmt.Sprintf("unit-%d", i), "scheme": fmt.Sprintf("Scheme %d", i%6), "createdOn": "2024-06-01"}))
	}
	for range referrals {
		events = append(events, s.referral()...)
	}
	for i := range placements {
		events = append(events, s.placement(i)...)
	}
	ctx := context.Background()
	log := discardLogger()
	for i := range events {
		events[i].ID = fmt.Sprintf("%d-0", i+1)
	}
	for i := 0; i < len(events); i += 500 {
		if _, err := st.apply(ctx, firstGeneration, events[i:min(i+500, len(events))], false, log); err != nil {
			b.Fatal(err)
		}
	}
	applied, err := st.rdb.HGet(ctx, st.keys.AggState(firstGeneration), "events").Int()
	if err != nil || applied != len(events) {
		b.Fatalf("%d of %d events applied (%v)", applied, len(events), err)
	}
	return len(events)
}

// awaitRewrite waits until Redis is not rewriting its append-only file: seeding a large tenant
// grows the file past Redis' rewrite threshold, and a rewrite in a forked child would share the
// two cores with the reports measured next, which belong to a tenant at rest.
func awaitRewrite(b *testing.B, admin *redis.Client) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		info, err := admin.Info(context.Background(), "persistence").Result()
		if err != nil {
			b.Fatal(err)
		}
		if strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("Redis still rewrites its append-only file after two minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// BenchmarkReport asks for a year's report of a small tenant (1,000 referrals) and a large one
// (100,000; 10,000 when quick), each with a fifth as many placements, through the HTTP API: the
// ratio of the two is how flat reports stay as a tenant grows.
func BenchmarkReport(b *testing.B) {
	for _, size := range []struct {
		name      string
		referrals int
	}{{"small", 1000}, {"large", benchtable.Size(100000, 10000)}} {
		b.Run(size.name, func(b *testing.B) {
			tenant := servicetest.StartTenant(b, "nottingham")
			policy := config.DefaultPolicy()
			policy.CostModel = kirkleesCostModel()
			var svc *Service
			_, srv := servicetest.Serve(b, tenant.Config(b, Name, policy), app.Options{}, func(a *app.Service) { svc = New(a) })
			n := seed(b, svc.store, size.referrals, size.referrals/5)
			awaitRewrite(b, tenant.Admin)
			token := tenant.Person(b, srv.URL, "manager@nottingham.example", "nottingham", "manager").Token
			get := func(period string) error {
				req, _ := http.NewRequest("GET", srv.URL+"/v1/reports?"+period, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				var rep Report
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("status %d", resp.StatusCode)
				}
				return json.NewDecoder(resp.Body).Decode(&map[string]any{"received": &rep.Referrals})
			}
			b.Logf("%d referrals, %d events", size.referrals, n)
			// A calendar year reads 12 month hashes; a year from mid-month 11 months and 31 days.
			for name, period := range map[string]string{"year": "from=2025-01-01&to=2026-01-01", "mid-month-year": "from=2025-01-15&to=2026-01-15"} {
				b.Run(name, func(b *testing.B) {
					if err := get(period); err != nil {
						b.Fatal(err)
					}
					servicetest.Load(1, b.N, func(int) error { return get(period) }).Report(b)
				})
			}
		})
	}
}

// BenchmarkIngest appends 2,000 events a second for ten seconds (three when quick) while the
// service ingests, and samples the lag: the age of the oldest event not yet applied. The baseline,
// in the same run, is a reader that only reads the stream and records where it got to.
func BenchmarkIngest(b *testing.B) {
	tenant := servicetest.StartTenant(b, "oldham")
	policy := config.DefaultPolicy()
	var svc *Service
	servicetest.Serve(b, tenant.Config(b, Name, policy), app.Options{}, func(a *app.Service) { svc = New(a) })
	// One client writes and samples both streams (the reader's own position is read by the reader's client).
	writer := tenant.Admin
	s := &synthetic{rng: rand.New(rand.NewPCG(5, 6)), day: calendar.Date{Year: 2026, Month: time.January, Day: 1}}
	rate, seconds := 2000, benchtable.Size(10, 3)
	var pool []Event
	for len(pool) < rate*seconds {
		pool = append(pool, s.referral()...)
		pool = append(pool, s.placement(len(pool))...)
	}
	pool = pool[:rate*seconds]
	stream := svc.store.keys.Events()
	b.Run("service", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = svc.Ingest(ctx) }()
		last := func(ctx context.Context) (string, error) {
			return svc.store.rdb.HGet(ctx, svc.store.keys.AggState("1"), "last").Result()
		}
		offer(b, writer, stream, pool, rate, last)
		applied, _ := svc.store.rdb.HGet(context.Background(), svc.store.keys.AggState("1"), "events").Int64()
		if applied != int64(len(pool)) {
			b.Fatalf("%d events applied, %d written", applied, len(pool))
		}
	})
	b.Run("bare-reader", func(b *testing.B) {
		bare := stream + ":bare"
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var got atomic.Value
		go func() {
			from := "0"
			for ctx.Err() == nil {
				res, err := tenant.Admin.XRead(ctx, &redis.XReadArgs{Streams: []string{bare, from}, Count: 500, Block: time.Second}).Result()
				if err != nil {
					continue
				}
				for _, st := range res {
					if n := len(st.Messages); n > 0 {
						from = st.Messages[n-1].ID
						got.Store(from)
					}
				}
			}
		}()
		offer(b, writer, bare, pool, rate, func(context.Context) (string, error) {
			if v, ok := got.Load().(string); ok {
				return v, nil
			}
			return "", redis.Nil
		})
	})
}

// offer writes the pool to stream at rate events a second — twenty ticks a second, one XADD per
// event as the services write them — while sampling the lag every 50 ms: how long the oldest
// event after last (the reader's position) has waited. It reports the rate the reader kept up
// with and the lag's p99 and maximum.
func offer(b *testing.B, writer *redis.Client, stream string, pool []Event, rate int, last func(context.Context) (string, error)) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var lags []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			lags = append(lags, oldestAfter(ctx, writer, stream, last))
		}
	}()
	perTick := rate / 20
	b.ResetTimer()
	start := time.Now()
	for tick := 0; tick < len(pool)/perTick; tick++ {
		pipe := writer.Pipeline()
		for _, e := range pool[tick*perTick : (tick+1)*perTick] {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"type", string(e.Type), "subject", "", "referral", "", "at", time.Now().UTC().Format(time.RFC3339Nano), "data", string(e.Data)}})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Until(start.Add(time.Duration(tick+1) * 50 * time.Millisecond)))
	}
	for oldestAfter(ctx, writer, stream, last) > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cancel()
	<-done
	slices.Sort(lags)
	b.ReportMetric(float64(len(pool))/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(rate), "offered-events/s")
	b.ReportMetric(lags[len(lags)*99/100].Seconds()*1000, "lag-p99-ms")
	b.ReportMetric(lags[len(lags)-1].Seconds()*1000, "lag-max-ms")
}

// oldestAfter is how long the oldest event after the reader's position has waited (0 when none
// waits).
func oldestAfter(ctx context.Context, rdb *redis.Client, stream string, last func(context.Context) (string, error)) time.Duration {
	start := "-"
	if id, err := last(ctx); err == nil {
		start = "(" + id
	}
	next, err := rdb.XRangeN(ctx, stream, start, "+", 1).Result()
	if err != nil || len(next) == 0 {
		return 0
	}
	return time.Since(streamTime(next[0].ID))
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

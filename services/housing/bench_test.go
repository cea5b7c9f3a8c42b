package housing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/benchtable"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
)

type benchEnv struct {
	tenant *servicetest.Tenant
	svc    *Service
	base   string
	token  string
	clock  *servicetest.Clock
	// client keeps a connection per load client alive, as a load tool would.
	client *http.Client
}

func newBenchEnv(b *testing.B) *benchEnv {
	e := &benchEnv{tenant: servicetest.StartTenant(b, "calderdale"), clock: servicetest.NewClock(monday0930),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	cfg := e.tenant.Config(b, Name, config.DefaultPolicy())
	_, srv := servicetest.Serve(b, cfg, app.Options{Now: e.clock.Now}, func(a *app.Service) { e.svc = New(a) })
	e.base = srv.URL
	e.token = e.tenant.Person(b, e.base, "coordinator@calderdale.example", "calderdale", "coordinator").Token
	return e
}

// seedStock writes units and their placement history straight through the service's repository:
// the same records, indexes and audit entries the API writes, without a year of requests.
func (e *benchEnv) seedStock(b *testing.B, units, placements int, live bool) []*Unit {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	now := e.clock.Now()
	today := e.svc.today()
	entry := audit.Entry{At: now, Actor: "seed", Action: audit.ActionCreate}
	out := make([]*Unit, units)
	for i := range out {
		var features []string
		for _, f := range Features {
			if rng.IntN(4) == 0 {
				features = append(features, f)
			}
		}
		u := &Unit{ID: ids.New(now.Add(time.Duration(i) * time.Millisecond)), UnitFields: UnitFields{
			Scheme: fmt.Sprintf("Scheme %03d", i/20), Address: Address{Line1: fmt.Sprintf("%d Example Court", i), Town: "Halifax", Postcode: "HX1 1AA"},
			OwnerOrganisation: "Calderdale Council", Type: UnitTypes[rng.IntN(len(UnitTypes))], Bedrooms: 1 + rng.IntN(2), Features: features,
			WeeklyCost: fmt.Sprintf("%d.00", 150+rng.IntN(150)), HousingBenefitEligible: rng.IntN(2) == 0, MaxStayDays: 42 + 14*rng.IntN(3),
		}, Status: UnitAvailable, StatusSince: today.AddDays(-400), Bookings: []Booking{}, Periods: []StatusPeriod{}, CreatedOn: today.AddDays(-800), CreatedAt: now}
		if live {
			// One stay under way and one booked ahead, as in a busy scheme.
			from := today.AddDays(rng.IntN(60))
			u.Bookings = append(u.Bookings, Booking{Placement: ids.New(now), From: today.AddDays(-10), To: today.AddDays(rng.IntN(20))},
				Booking{Placement: ids.New(now), From: from, To: from.AddDays(28)})
			u.Status = UnitOccupied
		}
		out[i] = u
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= units+placements {
					return
				}
				var w write
				var err error
				if i < units {
					w, err = e.svc.repo.unitWrite(nil, out[i], 0, &entry)
				} else {
					u := out[i%units]
					arrived := today.AddDays(-800 + (i/units)*14)
					departed := arrived.AddDays(7 + rng.IntN(7))
					nights, turnaround := arrived.DaysUntil(departed), 1
					p := &Placement{ID: ids.New(now.Add(time.Duration(i) * time.Microsecond)), ReferralID: ids.New(now), UnitID: u.ID, Scheme: u.Scheme,
						Status: PlacementDeparted, Arrival: arrived, PlannedDeparture: arrived.AddDays(42), WeeklyCost: u.WeeklyCost,
						ArrivedOn: &arrived, DepartedOn: &departed, Nights: &nights, TurnaroundDays: &turnaround,
						Departure: &Departure{Destination: "own-home", VoidReason: "cleaning"}, Extensions: []Extension{}, History: []Transition{}, CreatedAt: now}
					w, err = e.svc.repo.placementWrite(nil, p, 0, entry)
				}
				if err == nil {
					_, err = e.svc.repo.commit(ctx, change{writes: []write{w}})
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return out
}

func (e *benchEnv) post(path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest("POST", e.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// BenchmarkMatching ranks 2,000 units (each with a stay under way and one booked ahead) over a
// history of 50,000 departed placements, through the HTTP API at one client, next to its Redis
// reads alone and to the same reads and ranking called in process.
func BenchmarkMatching(b *testing.B) {
	e := newBenchEnv(b)
	e.seedStock(b, 2000, benchtable.Size(50000, 5000), true)
	req := MatchRequest{Features: []string{"level-access-shower"}, Bedrooms: 1, Arrival: e.svc.today().AddDays(30), ExpectedStayDays: 28}
	body, _ := json.Marshal(req)
	status, resp, err := e.post("/v1/matches", body)
	if err != nil || status != http.StatusOK {
		b.Fatalf("match: %d %v %s", status, err, resp)
	}
	var res MatchResult
	if err := json.Unmarshal(resp, &res); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d matches, %d excluded, %d bytes", res.MatchCount, len(res.Excluded), len(resp))
	ctx := context.Background()
	b.Run("service", func(b *testing.B) {
		servicetest.Load(1, b.N, func(int) error {
			status, _, err := e.post("/v1/matches", body)
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("status %d", status)
			}
			return err
		}).Report(b)
	})
	b.Run("direct-reads", func(b *testing.B) {
		servicetest.Load(1, b.N, func(int) error {
			ids, err := e.svc.repo.rdb.ZRange(ctx, e.svc.repo.keys.Units(), 0, -1).Result()
			if err != nil {
				return err
			}
			keys := make([]string, len(ids))
			for i, id := range ids {
				keys[i] = e.svc.repo.keys.Unit(id)
			}
			_, err = e.svc.repo.versions(ctx, keys)
			return err
		}).Report(b)
	})
	b.Run("in-process", func(b *testing.B) {
		servicetest.Load(1, b.N, func(int) error {
			units, err := e.svc.repo.allUnits(ctx, false)
			if err != nil {
				return err
			}
			return json.NewEncoder(io.Discard).Encode(rankUnits(units, &req, e.svc.today()))
		}).Report(b)
	})
}

// BenchmarkBookingContention has 32 clients book random week-long stays in 50 units over a year:
// most requests meet a booked unit and are refused, and at the end no unit is double-booked. The
// same requests are then made by driving the service's Redis work for a booking directly.
func BenchmarkBookingContention(b *testing.B) {
	e := newBenchEnv(b)
	const refs = 64
	referrals := make([]string, refs)
	for i := range referrals {
		referrals[i] = ids.New(e.clock.Now())
		summary, _ := json.Marshal(events.ReferralFacts{ID: referrals[i], Status: "received", Source: "ward", ReceivedAt: e.clock.Now()})
		if err := e.tenant.Admin.HSet(context.Background(), e.svc.repo.keys.Referral(referrals[i]), "v", 1, "doc", "{}", "sum", summary).Err(); err != nil {
			b.Fatal(err)
		}
	}
	today := e.svc.today()
	contend := func(b *testing.B, book func(BookRequest) (int, error)) {
		// Each side books its own 50 units, so both start from empty calendars.
		units := e.seedStock(b, 50, 0, false)
		var booked atomic.Int64
		rngs := make([]*rand.Rand, 32)
		for i := range rngs {
			rngs[i] = rand.New(rand.NewPCG(uint64(i), 7))
		}
		b.ResetTimer()
		r := servicetest.Load(32, b.N, func(w int) error {
			rng := rngs[w]
			arrival := today.AddDays(rng.IntN(365))
			status, err := book(BookRequest{ReferralID: referrals[rng.IntN(refs)], UnitID: units[rng.IntN(len(units))].ID,
				Arrival: arrival, PlannedDeparture: ptr(arrival.AddDays(7))})
			switch {
			case err != nil:
				return err
			case status == http.StatusCreated:
				booked.Add(1)
			case status != http.StatusConflict:
				return fmt.Errorf("status %d", status)
			}
			return nil
		})
		b.StopTimer()
		r.Report(b)
		b.ReportMetric(float64(booked.Load())/r.Elapsed.Seconds(), "bookings/s")
		var held int
		for _, u := range units {
			got, _, err := e.svc.repo.loadUnit(context.Background(), u.ID)
			if err != nil {
				b.Fatal(err)
			}
			held += len(got.Bookings)
			for i := 1; i < len(got.Bookings); i++ {
				if got.Bookings[i].From.Before(got.Bookings[i-1].To) {
					b.Fatalf("unit %s double-booked: %+v and %+v", u.ID, got.Bookings[i-1], got.Bookings[i])
				}
			}
		}
		if int64(held) != booked.Load() {
			b.Fatalf("%d bookings acknowledged, %d held by units", booked.Load(), held)
		}
	}
	b.Run("service", func(b *testing.B) {
		contend(b, func(req BookRequest) (int, error) {
			body, _ := json.Marshal(req)
			status, resp, err := e.post("/v1/placements", body)
			if err == nil && status != http.StatusCreated && status != http.StatusConflict {
				err = fmt.Errorf("status %d: %s", status, resp)
			}
			return status, err
		})
	})
	b.Run("direct", func(b *testing.B) {
		contend(b, func(req BookRequest) (int, error) { return e.bookDirect(context.Background(), req) })
	})
}

// bookDirect is the baseline for a booking: the Redis work the service does for one (the
// referral's summary, the unit, the clash check, one atomic commit of placement, unit, event and
// audit entry, again after a clash of unit versions), with no HTTP, authentication, decoding,
// idempotency key or tracing around it. It answers with the status the service would.
func (e *benchEnv) bookDirect(ctx context.Context, req BookRequest) (int, error) {
	ref, err := e.svc.repo.referral(ctx, req.ReferralID)
	if err != nil {
		return 0, err
	}
	if !ref.Open() {
		return http.StatusConflict, nil
	}
	now := e.clock.Now()
	by := Staff{ID: "00000000-0000-4000-8000-000000000001"}
	p := &Placement{ID: ids.New(now), ReferralID: req.ReferralID, UnitID: req.UnitID, Status: PlacementProvisional,
		Arrival: req.Arrival, Extensions: []Extension{}, CreatedBy: by, CreatedAt: now, UpdatedAt: now,
		History: []Transition{{To: string(PlacementProvisional), At: now, By: by}}}
	for attempt := 0; ; attempt++ {
		u, uv, err := e.svc.repo.loadUnit(ctx, req.UnitID)
		if err != nil {
			return 0, err
		}
		if prob := bookingProblem(&req, u); prob != nil {
			return prob.Status, nil
		}
		p.Scheme, p.WeeklyCost, p.HousingBenefit.Eligible = u.Scheme, u.WeeklyCost, u.HousingBenefitEligible
		p.PlannedDeparture = *req.PlannedDeparture
		after, err := app.Copy(u)
		if err != nil {
			return 0, err
		}
		after.setBooking(Booking{Placement: p.ID, From: p.Arrival, To: p.PlannedDeparture})
		after.UpdatedAt = now
		entry := &audit.Entry{At: now, Actor: by.ID, Action: audit.ActionCreate}
		pw, err := e.svc.repo.placementWrite(nil, p, 0, *entry)
		if err != nil {
			return 0, err
		}
		uw, err := e.svc.repo.unitWrite(u, after, uv, nil)
		if err != nil {
			return 0, err
		}
		evs := []event{placementEvent(p, events.PlacementBooked{Placement: placementFacts(p)})}
		stamp(evs, now)
		_, err = e.svc.repo.commit(ctx, change{writes: []write{pw, uw}, events: evs})
		if isConflictOn(err, uw.key) {
			if attempt < e.svc.unitRetries {
				continue
			}
			return http.StatusConflict, nil
		}
		if err != nil {
			return 0, err
		}
		return http.StatusCreated, nil
	}
}

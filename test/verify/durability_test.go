package verify

// This file: redis-server killed with SIGKILL while 200 clients write, with appendfsync always.
// What a client was told was written must be there after the restart, what is there must be whole
// (record, indexes, events and audit together or not at all), and the outage must be told as a 503
// the client may retry, never as a 500.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/services/housing"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
)

// writers is how many clients write at once while Redis is killed.
const writers = 200

// exchange is one finished call.
type exchange struct {
	status     int
	retryAfter string
	problem    string // the problem type, when the answer was one
	body       []byte
	err        error
}

// caller sends JSON as one person over a pool big enough for every writer.
type caller struct {
	base, token string
	http        *http.Client
}

func newCaller(base, token string) *caller {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = writers
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
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return exchange{err: err}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	x := exchange{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: out, err: err}
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		var p struct{ Type string }
		_ = json.Unmarshal(out, &p)
		x.problem = p.Type
	}
	return x
}

// outage kills redis-server once acknowledged writes have reached before, keeps it down for a
// moment so writers meet the outage, restarts it on its append-only file, and returns once
// after more writes have been acknowledged since.
func outage(t *testing.T, tn *servicetest.Tenant, acked *atomic.Int64, before, after int64) {
	t.Helper()
	waitFor(t, "acknowledged writes before the kill", func() bool { return acked.Load() >= before })
	if err := tn.Redis.Kill(); err != nil {
		t.Fatal(err)
	}
	atKill := acked.Load()
	time.Sleep(700 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := tn.Redis.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("redis-server killed after %d acknowledged writes, restarted", atKill)
	waitFor(t, "acknowledged writes after the restart", func() bool { return acked.Load() >= atKill+after })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// judge holds every answer to the rule of an outage: the statuses a write may get, and a 503 only
// as the storage-unavailable (or unit-busy) problem with Retry-After.
func judge(t *testing.T, what string, x exchange, allowed ...int) {
	t.Helper()
	switch {
	case x.err != nil:
		t.Errorf("%s: %v", what, x.err)
	case x.status == http.StatusServiceUnavailable:
		if x.retryAfter == "" || (x.problem != "https://homeward.dev/problems/unavailable" && x.problem != "https://homeward.dev/problems/unit-busy") {
			t.Errorf("%s: 503 with Retry-After %q and problem %q: %s", what, x.retryAfter, x.problem, x.body)
		}
	case !slices.Contains(allowed, x.status):
		t.Errorf("%s: %d, want one of %v or 503: %s", what, x.status, allowed, x.body)
	}
}

func TestAcknowledgedWritesSurviveRedisKilledUnderLoad(t *testing.T) {
	record(t)
	ctx := context.Background()
	tn := servicetest.StartTenant(t, "kirklees")
	keys := keyspace.For("kirklees")
	policy := config.DefaultPolicy()
	_, refSrv := servicetest.Serve(t, tn.Config(t, referral.Name, policy), app.Options{}, func(a *app.Service) { referral.New(a) })
	_, houseSrv := servicetest.Serve(t, tn.Config(t, housing.Name, policy), app.Options{}, func(a *app.Service) { housing.New(a) })
	coordinator := tn.Person(t, refSrv.URL, "coordinator@kirklees.example", "kirklees", "coordinator", "housing-officer")
	refs := newCaller(refSrv.URL, coordinator.Token)
	homes := newCaller(houseSrv.URL, coordinator.Token)

	var created []string // referral ids, for the bookings
	t.Run("referral creates", func(t *testing.T) {
		var acked atomic.Int64
		var stop atomic.Bool
		var mu sync.Mutex
		acknowledged := map[string]string{} // referral id → the name it was created with
		var unavailable atomic.Int64
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for n := 0; !stop.Load(); n++ {
					name := fmt.Sprintf("Durable Person %d-%d", w, n)
					key := fmt.Sprintf("durable-%d-%d", w, n)
					// The documented protocol: a create that got a 503 is retried with the same key
					// until it is answered, and is then made exactly once.
					for {
						x := refs.call("POST", "/v1/referrals", referralForm(name), "Idempotency-Key", key)
						judge(t, "create "+key, x, http.StatusCreated)
						if x.status == http.StatusServiceUnavailable {
							unavailable.Add(1)
							time.Sleep(200 * time.Millisecond)
							continue
						}
						if x.status != http.StatusCreated {
							return
						}
						var ref struct{ ID string }
						if err := json.Unmarshal(x.body, &ref); err != nil || ref.ID == "" {
							t.Errorf("create %s answered %s", key, x.body)
							return
						}
						mu.Lock()
						if other, dup := acknowledged[ref.ID]; dup {
							t.Errorf("%s and %s were both answered with referral %s", other, name, ref.ID)
						}
						acknowledged[ref.ID] = name
						mu.Unlock()
						acked.Add(1)
						break
					}
				}
			})
		}
		outage(t, tn, &acked, writers, writers)
		stop.Store(true)
		wg.Wait()
		if unavailable.Load() == 0 {
			t.Fatal("no writer met the outage: the kill proved nothing")
		}
		t.Logf("%d creates acknowledged, %d answers were 503 during the outage", len(acknowledged), unavailable.Load())

		created = referralsWhole(ctx, t, tn, refs, acknowledged)
	})

	t.Run("placement bookings", func(t *testing.T) {
		if len(created) < writers {
			t.Fatalf("the bookings need the referrals the creates made; there are %d", len(created))
		}
		var units []string
		for i := range 20 {
			x := homes.call("POST", "/v1/units", map[string]any{
				"scheme": "Durable Court", "address": map[string]any{"line1": fmt.Sprint(i+1, " Durable Court"), "town": "Huddersfield", "postcode": "HD1 2AB"},
				"ownerOrganisation": "Kirklees Neighbourhood Housing", "type": "flat", "bedrooms": 1, "features": []string{},
				"weeklyCost": "150.00", "housingBenefitEligible": true,
			})
			var u struct{ ID string }
			if x.status != http.StatusCreated || json.Unmarshal(x.body, &u) != nil {
				t.Fatalf("unit: %d %s", x.status, x.body)
			}
			units = append(units, u.ID)
		}
		today := calendar.DateOf(time.Now())
		var acked atomic.Int64
		var stop atomic.Bool
		var mu sync.Mutex
		booked := map[string]bool{}
		var unavailable, conflicts atomic.Int64
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for n := 0; !stop.Load(); n++ {
					arrival := today.AddDays(1 + rng.IntN(300))
					body := map[string]any{"referralId": created[rng.IntN(len(created))], "unitId": units[rng.IntN(len(units))],
						"arrival": arrival, "plannedDeparture": arrival.AddDays(1 + rng.IntN(6))}
					key := fmt.Sprintf("book-%d-%d", w, n)
					// As for creates: a 503 is retried with the same key until it is answered.
					for {
						x := homes.call("POST", "/v1/placements", body, "Idempotency-Key", key)
						judge(t, "booking "+key, x, http.StatusCreated, http.StatusConflict)
						if x.status == http.StatusServiceUnavailable {
							unavailable.Add(1)
							time.Sleep(200 * time.Millisecond)
							continue
						}
						if x.status == http.StatusConflict {
							conflicts.Add(1)
							break
						}
						if x.status != http.StatusCreated {
							return
						}
						id, err := createdID(x)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						booked[id] = true
						mu.Unlock()
						acked.Add(1)
						break
					}
				}
			})
		}
		outage(t, tn, &acked, writers, writers)
		stop.Store(true)
		wg.Wait()
		if unavailable.Load() == 0 {
			t.Fatal("no booking met the outage: the kill proved nothing")
		}
		t.Logf("%d bookings acknowledged, %d refused as overlapping, %d answers were 503", len(booked), conflicts.Load(), unavailable.Load())

		// Every booking was retried until answered, so Redis holds exactly the acknowledged ones.
		records := scanIDs(ctx, t, tn.Admin, keys.Placement("*"))
		if !sameSet(records, mapKeys(booked)) {
			t.Errorf("Redis holds %d placements, %d were acknowledged", len(records), len(booked))
		}
		if members := tn.Admin.ZRange(ctx, keys.Placements(), 0, -1).Val(); !sameSet(members, records) {
			t.Errorf("the placements index has %d members for %d placements", len(members), len(records))
		}
		// Each unit's own bookings, its index and the placements naming it agree, and never overlap.
		inUnit := map[string][]string{}
		for _, id := range records {
			x := homes.call("GET", "/v1/placements/"+id, nil)
			var p struct{ UnitID string }
			if x.status != http.StatusOK || json.Unmarshal(x.body, &p) != nil {
				t.Fatalf("placement %s: %d %s", id, x.status, x.body)
			}
			inUnit[p.UnitID] = append(inUnit[p.UnitID], id)
		}
		for _, unit := range units {
			x := homes.call("GET", "/v1/units/"+unit, nil)
			var u struct{ Bookings []housing.Booking }
			if x.status != http.StatusOK || json.Unmarshal(x.body, &u) != nil {
				t.Fatalf("unit %s: %d %s", unit, x.status, x.body)
			}
			var onUnit []string
			for i, b := range u.Bookings {
				onUnit = append(onUnit, b.Placement)
				for _, other := range u.Bookings[i+1:] {
					if b.From.Before(other.To) && other.From.Before(b.To) {
						t.Errorf("unit %s: bookings %s and %s overlap", unit, b.Placement, other.Placement)
					}
				}
			}
			index := tn.Admin.ZRange(ctx, keys.PlacementsInUnit(unit), 0, -1).Val()
			if !sameSet(onUnit, inUnit[unit]) || !sameSet(index, inUnit[unit]) {
				t.Errorf("unit %s: its bookings %d, its index %d, placements naming it %d", unit, len(onUnit), len(index), len(inUnit[unit]))
			}
		}
		bookedEvents := map[string]int{}
		for _, e := range streamEvents(ctx, t, tn.Admin, keys.Events()) {
			if e.Type == events.TypePlacementBooked {
				bookedEvents[strings.TrimPrefix(e.Subject, "placement:")]++
			}
		}
		for _, id := range records {
			if bookedEvents[id] != 1 {
				t.Errorf("placement %s has %d booked events, want 1", id, bookedEvents[id])
			}
		}
		if len(bookedEvents) != len(records) {
			t.Errorf("booked events name %d placements, Redis holds %d", len(bookedEvents), len(records))
		}
	})
}

// referralsWhole checks, after a crash, that every acknowledged create (id → name) reads back as it
// was made, that Redis holds those referrals and no others, and that each is whole: in every index
// it belongs in, with one received event and one create entry in its audit trail. It returns the
// ids Redis holds.
func referralsWhole(ctx context.Context, t *testing.T, tn *servicetest.Tenant, refs *caller, acknowledged map[string]string) []string {
	t.Helper()
	keys := keyspace.For(tn.Name)
	for id, name := range acknowledged {
		x := refs.call("GET", "/v1/referrals/"+id, nil)
		var back struct{ Person struct{ Name string } }
		if x.status != http.StatusOK || json.Unmarshal(x.body, &back) != nil || back.Person.Name != name {
			t.Errorf("referral %s (%s) after the restart: %d %s", id, name, x.status, x.body)
		}
	}
	records := scanIDs(ctx, t, tn.Admin, keys.Referral("*"))
	if !sameSet(records, mapKeys(acknowledged)) {
		t.Errorf("Redis holds %d referrals, %d were acknowledged", len(records), len(acknowledged))
	}
	for _, index := range []string{keys.AllReferrals(), keys.ReferralsByStatus("received"), keys.ReferralsByPriority("urgent"), keys.ResponseDue()} {
		if members := tn.Admin.ZRange(ctx, index, 0, -1).Val(); !sameSet(members, records) {
			t.Errorf("index %s has %d members for %d referrals", index, len(members), len(records))
		}
	}
	received := map[string]int{}
	for _, e := range streamEvents(ctx, t, tn.Admin, keys.Events()) {
		if e.Type == events.TypeReferralReceived {
			received[e.Referral]++
		}
	}
	for _, id := range records {
		if received[id] != 1 {
			t.Errorf("referral %s has %d received events, want 1", id, received[id])
		}
		if creates := auditActions(ctx, t, tn.Admin, keys.Audit("referral", id))["create"]; creates != 1 {
			t.Errorf("referral %s has %d create entries in its audit trail, want 1", id, creates)
		}
	}
	if len(received) != len(records) {
		t.Errorf("received events name %d referrals, Redis holds %d", len(received), len(records))
	}
	return records
}

func referralForm(name string) map[string]any {
	return map[string]any{
		"person":   map[string]any{"name": name, "dateOfBirth": "1941-06-30", "nhsNumber": "999 000 0018"},
		"source":   "ward",
		"referrer": map[string]any{"organisation": "Huddersfield Royal Infirmary", "ward": "Ward 8"},
		"consent":  map[string]any{"toRefer": true, "toShare": true}, "tenure": "owner-occupier",
		"needs": []string{"adaptations"}, "priority": "urgent",
	}
}

// scanIDs lists the ids of the records matching a key pattern (the part after the last colon).
func scanIDs(ctx context.Context, t *testing.T, admin *redis.Client, pattern string) []string {
	t.Helper()
	var ids []string
	iter := admin.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		if admin.Type(ctx, iter.Val()).Val() == "hash" {
			ids = append(ids, iter.Val()[strings.LastIndex(iter.Val(), ":")+1:])
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func streamEvents(ctx context.Context, t *testing.T, admin *redis.Client, stream string) []events.Entry {
	t.Helper()
	msgs, err := admin.XRange(ctx, stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]events.Entry, len(msgs))
	for i, m := range msgs {
		out[i] = events.Parse(m.ID, m.Values)
	}
	return out
}

// auditActions counts a record's audit entries by action.
func auditActions(ctx context.Context, t *testing.T, admin *redis.Client, stream string) map[string]int {
	t.Helper()
	msgs, err := admin.XRange(ctx, stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range msgs {
		var e struct{ Action string }
		s, _ := m.Values["e"].(string)
		if err := json.Unmarshal([]byte(s), &e); err != nil {
			t.Errorf("audit entry %s of %s: %v", m.ID, stream, err)
		}
		out[e.Action]++
	}
	return out
}

// sameSet says whether a and b hold the same strings, each once.
func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y) && len(slices.Compact(x)) == len(a)
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// createdID reads the id of what a 201 made.
func createdID(x exchange) (string, error) {
	var made struct{ ID string }
	if err := json.Unmarshal(x.body, &made); err != nil || made.ID == "" {
		return "", fmt.Errorf("a 201 without an id: %s", x.body)
	}
	return made.ID, nil
}

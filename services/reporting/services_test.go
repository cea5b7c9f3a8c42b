package reporting

import (
	"net/http"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/services/housing"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
)

// TestReportingFromServices runs the referral, housing and reporting services of one tenant
// together: the events the real services write are the ones the reports count.
func TestReportingFromServices(t *testing.T) {
	tenant := servicetest.StartTenant(t, "calderdale")
	clock := servicetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, calendar.London()))
	policy := config.DefaultPolicy()
	policy.CostModel = kirkleesCostModel()
	opts := app.Options{Now: clock.Now}
	var rep *Service
	_, refSrv := servicetest.Serve(t, tenant.Config(t, referral.Name, policy), opts, func(a *app.Service) { referral.New(a) })
	_, houseSrv := servicetest.Serve(t, tenant.Config(t, housing.Name, policy), opts, func(a *app.Service) { housing.New(a) })
	_, repSrv := servicetest.Serve(t, tenant.Config(t, Name, policy), opts, func(a *app.Service) { rep = New(a) })
	f := &fixture{tenant: tenant, clock: clock, svc: rep, base: repSrv.URL, name: "calderdale", top: t,
		people: map[string]*servicetest.Client{"coordinator": tenant.Person(t, repSrv.URL, "coordinator@calderdale.example", "calderdale", "coordinator")}}
	f.startIngest(t)
	on := func(base string) *servicetest.Client {
		c := *f.people["coordinator"]
		c.Base = base
		return c.As(t)
	}
	refs, homes := on(refSrv.URL), on(houseSrv.URL)

	var created struct{ ID string }
	refs.Must(http.StatusCreated, "POST", "/v1/referrals", map[string]any{
		"person": map[string]any{"name": "Test Person"}, "source": "ward",
		"referrer": map[string]any{"organisation": "Calderdale Royal Hospital", "ward": "Ward 5"},
		"consent":  map[string]any{"toRefer": true, "toShare": true}, "tenure": "owner-occupier",
		"needs": []string{"adaptations", "repairs"}, "priority": "urgent",
	}).JSON(t, &created)
	var unit struct{ ID string }
	homes.Must(http.StatusCreated, "POST", "/v1/units", map[string]any{
		"scheme": "Heatherstones Court", "address": map[string]any{"line1": "1 Heatherstones Court", "town": "Halifax", "postcode": "HX1 1AA"},
		"ownerOrganisation": "Calderdale Council", "type": "apartment", "bedrooms": 1, "weeklyCost": "203.77", "housingBenefitEligible": true,
	}).JSON(t, &unit)
	r := homes.Must(http.StatusCreated, "POST", "/v1/placements", map[string]any{"referralId": created.ID, "unitId": unit.ID, "arrival": "2026-03-02"})
	var placement struct{ ID string }
	r.JSON(t, &placement)
	etag := r.Header.Get("ETag")
	for _, body := range []map[string]any{{"to": "confirmed"}, {"to": "arrived"}} {
		etag = homes.Must(http.StatusOK, "POST", "/v1/placements/"+placement.ID+"/transitions", body, "If-Match", etag).Header.Get("ETag")
	}
	// Two weeks later the person goes home; no housing benefit was claimed: 2 × £333.00 saved.
	clock.Set(time.Date(2026, 3, 16, 9, 0, 0, 0, calendar.London()))
	homes.Must(http.StatusOK, "POST", "/v1/placements/"+placement.ID+"/transitions", map[string]any{"to": "departed", "destination": "own-home"}, "If-Match", etag)
	clock.Set(time.Date(2026, 4, 1, 9, 0, 0, 0, calendar.London()))
	f.caughtUp(t)

	got := f.report(t, "coordinator", "2026-03-01", "2026-04-01")
	want := map[string]any{
		"referrals.received": 1.0, "referrals.bySource.ward.count": 1.0, "referrals.byNeed.repairs.count": 1.0,
		"responseTargets.due": 1.0, "responseTargets.met": 0.0, "savings.careCostAvoided": "666.00",
		"stepDown.total.units": 1.0, "stepDown.total.occupiedNights": 14.0, "stepDown.total.stays": 1.0,
		"stepDown.total.averageStayNights": 14.0, "stepDown.total.voidNights": 16.0, "stepDown.destinations.own-home.count": 1.0,
	}
	for path, v := range want {
		if g := at(got, path); g != v {
			t.Errorf("%s = %v, want %v", path, g, v)
		}
	}
}

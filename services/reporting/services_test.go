package reporting

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/homeward-dev/homeward/services/housing"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
)

// servicesTenant is one tenant's referral, housing and reporting services, run together.
type servicesTenant struct {
	*fixture
	refs, homes *servicetest.Client // as the coordinator
	admin       func(base string) *servicetest.Client
	refURL      string
	homesURL    string
}

func startServices(t testing.TB, name string, clock *servicetest.Clock) *servicesTenant {
	t.Helper()
	tenant := servicetest.StartTenant(t, name)
	policy := config.DefaultPolicy()
	policy.CostModel = kirkleesCostModel()
	opts := app.Options{Now: clock.Now}
	var rep *Service
	_, refSrv := servicetest.Serve(t, tenant.Config(t, referral.Name, policy), opts, func(a *app.Service) { referral.New(a) })
	_, houseSrv := servicetest.Serve(t, tenant.Config(t, housing.Name, policy), opts, func(a *app.Service) { housing.New(a) })
	_, repSrv := servicetest.Serve(t, tenant.Config(t, Name, policy), opts, func(a *app.Service) { rep = New(a) })
	f := &fixture{tenant: tenant, clock: clock, svc: rep, base: repSrv.URL, name: name, top: t,
		people: map[string]*servicetest.Client{"coordinator": tenant.Person(t, repSrv.URL, "coordinator@"+name+".example", name, "coordinator")}}
	admin := tenant.Person(t, repSrv.URL, "admin@"+name+".example", name, "partnership-admin")
	f.startIngest(t)
	on := func(c *servicetest.Client, base string) *servicetest.Client {
		cp := *c
		cp.Base = base
		return cp.As(t)
	}
	return &servicesTenant{fixture: f, refs: on(f.people["coordinator"], refSrv.URL), homes: on(f.people["coordinator"], houseSrv.URL),
		admin: func(base string) *servicetest.Client { return on(admin, base) }, refURL: refSrv.URL, homesURL: houseSrv.URL}
}

// TestReportingFromServices runs the referral, housing and reporting services of one tenant
// together: the events the real services write are the ones the reports count. The same history is
// then brought into a second tenant from CSV files, and its report must be the same to the penny.
func TestReportingFromServices(t *testing.T) {
	clock := servicetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, calendar.London()))
	live := startServices(t, "calderdale", clock)
	refs, homes := live.refs, live.homes

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
	// The same day a rehousing case opens: a bid, an offer accepted, and a move-in on the 25th.
	var rehousing struct{ ID string }
	r = homes.Must(http.StatusCreated, "POST", "/v1/rehousing-cases", map[string]any{"referralId": created.ID})
	r.JSON(t, &rehousing)
	etag = r.Header.Get("ETag")
	caseStep := func(on time.Time, path string, body map[string]any) *servicetest.Response {
		clock.Set(on)
		r := homes.Must(http.StatusOK, "POST", "/v1/rehousing-cases/"+rehousing.ID+path, body, "If-Match", etag)
		etag = r.Header.Get("ETag")
		return r
	}
	caseStep(time.Date(2026, 3, 16, 10, 0, 0, 0, calendar.London()), "/bids", map[string]any{"landlord": "Calderdale Council", "submittedOn": "2026-03-16"})
	var offered struct{ Offers []struct{ ID string } }
	caseStep(time.Date(2026, 3, 18, 10, 0, 0, 0, calendar.London()), "/offers", map[string]any{"landlord": "Calderdale Council", "property": "3 Example Street", "offeredOn": "2026-03-18"}).JSON(t, &offered)
	caseStep(time.Date(2026, 3, 19, 10, 0, 0, 0, calendar.London()), "/offers/"+offered.Offers[0].ID+"/response", map[string]any{"decision": "accepted", "respondedOn": "2026-03-19"})
	caseStep(time.Date(2026, 3, 25, 10, 0, 0, 0, calendar.London()), "/move-in", map[string]any{"on": "2026-03-25"})
	clock.Set(time.Date(2026, 4, 1, 9, 0, 0, 0, calendar.London()))
	live.caughtUp(t)

	got := live.report(t, "coordinator", "2026-03-01", "2026-04-01")
	want := map[string]any{
		"referrals.received": 1.0, "referrals.bySource.ward.count": 1.0, "referrals.byNeed.repairs.count": 1.0,
		"responseTargets.due": 1.0, "responseTargets.met": 0.0, "savings.careCostAvoided": "666.00",
		"stepDown.total.units": 1.0, "stepDown.total.occupiedNights": 14.0, "stepDown.total.stays": 1.0,
		"stepDown.total.averageStayNights": 14.0, "stepDown.total.voidNights": 16.0, "stepDown.destinations.own-home.count": 1.0,
		"rehousing.medianDaysToRehoused": 23.0,
	}
	for path, v := range want {
		if g := at(got, path); g != v {
			t.Errorf("%s = %v, want %v", path, g, v)
		}
	}

	// Months later a second partnership brings the same history from its old records.
	clock.Set(time.Date(2026, 11, 30, 9, 0, 0, 0, calendar.London()))
	imported := startServices(t, "kirklees", clock)
	for _, file := range []struct{ base, layout, body string }{
		{imported.refURL, "referrals", "importKey,receivedAt,name,source,referrerOrganisation,ward,consentToRefer,consentToShare,tenure,needs,priority\n" +
			"R1,2026-03-02T09:00,Test Person,ward,Calderdale Royal Hospital,Ward 5,yes,yes,owner-occupier,adaptations;repairs,urgent\n"},
		{imported.homesURL, "units", "importKey,scheme,line1,town,postcode,ownerOrganisation,type,bedrooms,weeklyCost,housingBenefitEligible,createdOn\n" +
			"U1,Heatherstones Court,1 Heatherstones Court,Halifax,HX1 1AA,Calderdale Council,apartment,1,203.77,yes,2026-03-02\n"},
		{imported.homesURL, "placements", "importKey,unit,referral,arrival,departedOn,destination,housingBenefitClaimed\n" +
			"P1,U1,R1,2026-03-02,2026-03-16,own-home,no\n"},
		{imported.homesURL, "voids", "importKey,unit,from,reason\nV1,U1,2026-03-16,cleaning\n"},
		{imported.homesURL, "rehousing-cases", "importKey,referral,openedOn,bids,offers,moveInOn\n" +
			"C1,R1,2026-03-16,2026-03-16|Calderdale Council,2026-03-18|Calderdale Council|3 Example Street|accepted|2026-03-19,2026-03-25\n"},
	} {
		imported.admin(file.base).Must(http.StatusOK, "POST", "/v1/imports?layout="+file.layout, file.body, "Content-Type", "text/csv", "X-Import-File", file.layout+".csv")
	}
	imported.caughtUp(t)
	fromImport := imported.report(t, "coordinator", "2026-03-01", "2026-04-01")
	for _, m := range []map[string]any{got, fromImport} {
		delete(m, "generatedAt")
		delete(m, "partnership")
	}
	if diff := cmp.Diff(got, fromImport); diff != "" {
		t.Errorf("the report of the imported history differs from the live one (-live +imported):\n%s", diff)
	}
}

// liveStep is one thing staff did through the live API, at its time.
type liveStep struct {
	at time.Time
	do func()
}

// TestAnImportedYearReportsLikeTheLiveOne runs a Kirklees-like year — seven step-down flats, 40
// stays with housing benefit claimed for a third of them, the voids between stays — and a
// Nottingham-like cohort of eight rehousings, once through the live API day by day and once from
// CSV files, and checks the year's report and each quarter's are the same to the penny.
func TestAnImportedYearReportsLikeTheLiveOne(t *testing.T) {
	start := time.Date(2025, 4, 1, 9, 0, 0, 0, calendar.London())
	clock := servicetest.NewClock(start)
	live := startServices(t, "kirklees", clock)
	rng := rand.New(rand.NewPCG(2025, 4))
	london := func(d calendar.Date, hour int) time.Time { return d.In(calendar.London(), hour, 0, 0, 0) }
	day0 := calendar.DateOf(start)
	destinations := []string{"own-home", "rehoused", "extra-care", "own-home", "sheltered"}

	var steps []liveStep
	var referralsCSV, unitsCSV, staysCSV, voidsCSV, casesCSV strings.Builder
	referralsCSV.WriteString("importKey,receivedAt,name,source,referrerOrganisation,consentToRefer,consentToShare,tenure,needs,priority\n")
	unitsCSV.WriteString("importKey,scheme,line1,town,postcode,ownerOrganisation,type,bedrooms,weeklyCost,housingBenefitEligible,createdOn\n")
	staysCSV.WriteString("importKey,unit,referral,arrival,departedOn,destination,housingBenefitClaimed\n")
	voidsCSV.WriteString("importKey,unit,from,to,reason\n")
	casesCSV.WriteString("importKey,referral,openedOn,offers,moveInOn\n")
	unitIDs, unitETags, refIDs := map[int]string{}, map[int]string{}, map[string]string{}
	homes, refs := live.homes, live.refs
	refer := func(key string, received time.Time) {
		fmt.Fprintf(&referralsCSV, "%s,%s,Test Person,ward,Huddersfield Royal Infirmary,yes,yes,owner-occupier,adaptations,routine\n", key, received.Format("2006-01-02T15:04"))
		steps = append(steps, liveStep{received, func() {
			var r struct{ ID string }
			refs.Must(http.StatusCreated, "POST", "/v1/referrals", map[string]any{"person": map[string]any{"name": "Test Person"}, "source": "ward",
				"referrer": map[string]any{"organisation": "Huddersfield Royal Infirmary"}, "consent": map[string]any{"toRefer": true, "toShare": true},
				"tenure": "owner-occupier", "needs": []string{"adaptations"}, "priority": "routine"}).JSON(t, &r)
			refIDs[key] = r.ID
		}})
	}
	for u := range 7 {
		fmt.Fprintf(&unitsCSV, "U%d,Home from Home,Flat %d Example Court,Huddersfield,HD1 2AB,Kirklees Neighbourhood Housing,flat,1,203.77,yes,%s\n", u, u, day0)
		steps = append(steps, liveStep{start, func() {
			r := homes.Must(http.StatusCreated, "POST", "/v1/units", map[string]any{"scheme": "Home from Home",
				"address":           map[string]any{"line1": fmt.Sprintf("Flat %d Example Court", u), "town": "Huddersfield", "postcode": "HD1 2AB"},
				"ownerOrganisation": "Kirklees Neighbourhood Housing", "type": "flat", "bedrooms": 1, "weeklyCost": "203.77", "housingBenefitEligible": true})
			var unit struct{ ID string }
			r.JSON(t, &unit)
			unitIDs[u], unitETags[u] = unit.ID, r.Header.Get("ETag")
		}})
	}
	// 40 stays, each unit's one after another with a void between.
	free := make([]calendar.Date, 7)
	for u := range free {
		free[u] = day0.AddDays(3 + rng.IntN(10))
	}
	for i := range 40 {
		u := i % 7
		arrival, nights, void := free[u], 7+rng.IntN(35), 2+rng.IntN(9)
		departure := arrival.AddDays(nights)
		ref, hb, dest := fmt.Sprintf("R%d", i), i%3 == 0, destinations[i%len(destinations)]
		refer(ref, london(arrival.AddDays(-2), 10))
		fmt.Fprintf(&staysCSV, "P%d,U%d,%s,%s,%s,%s,%s\n", i, u, ref, arrival, departure, dest, map[bool]string{true: "yes", false: "no"}[hb])
		var id, etag string
		steps = append(steps, liveStep{london(arrival, 11), func() {
			r := homes.Must(http.StatusCreated, "POST", "/v1/placements", map[string]any{"referralId": refIDs[ref], "unitId": unitIDs[u], "arrival": arrival})
			var p struct{ ID string }
			r.JSON(t, &p)
			id, etag = p.ID, r.Header.Get("ETag")
			for _, to := range []string{"confirmed", "arrived"} {
				etag = homes.Must(http.StatusOK, "POST", "/v1/placements/"+id+"/transitions", map[string]any{"to": to}, "If-Match", etag).Header.Get("ETag")
			}
		}}, liveStep{london(departure, 11), func() {
			homes.Must(http.StatusOK, "POST", "/v1/placements/"+id+"/transitions", map[string]any{"to": "departed", "destination": dest,
				"housingBenefitClaimed": hb, "voidReason": "cleaning"}, "If-Match", etag)
		}})
		free[u] = departure.AddDays(void)
		if i+7 < 40 { // another stay follows: the unit is made ready on its day
			ready := free[u]
			fmt.Fprintf(&voidsCSV, "V%d,U%d,%s,%s,cleaning\n", i, u, departure, ready)
			steps = append(steps, liveStep{london(ready, 9), func() {
				var unit struct{ ID string }
				r := homes.Must(http.StatusOK, "GET", "/v1/units/"+unitIDs[u], nil)
				r.JSON(t, &unit)
				homes.Must(http.StatusOK, "POST", "/v1/units/"+unitIDs[u]+"/transitions", map[string]any{"to": "available"}, "If-Match", r.Header.Get("ETag"))
			}})
		} else {
			fmt.Fprintf(&voidsCSV, "V%d,U%d,%s,,cleaning\n", i, u, departure)
		}
	}
	// Eight rehousings, each opened the day after its referral, an offer accepted, and a move-in.
	for i := range 8 {
		received := day0.AddDays(20 + 35*i)
		ref, wait := fmt.Sprintf("H%d", i), 20+rng.IntN(100)
		refer(ref, london(received, 10))
		opened, offered, movedIn := received.AddDays(1), received.AddDays(wait-5), received.AddDays(wait)
		fmt.Fprintf(&casesCSV, "C%d,%s,%s,%s|Kirklees Council|%d Example Road|accepted|%s,%s\n", i, ref, opened, offered, i, offered.AddDays(1), movedIn)
		var id, etag string
		steps = append(steps, liveStep{london(opened, 12), func() {
			r := homes.Must(http.StatusCreated, "POST", "/v1/rehousing-cases", map[string]any{"referralId": refIDs[ref]})
			var c struct{ ID string }
			r.JSON(t, &c)
			id, etag = c.ID, r.Header.Get("ETag")
		}})
		var offerID string
		steps = append(steps, liveStep{london(offered, 12), func() {
			r := homes.Must(http.StatusOK, "POST", "/v1/rehousing-cases/"+id+"/offers", map[string]any{"landlord": "Kirklees Council", "property": fmt.Sprintf("%d Example Road", i), "offeredOn": offered}, "If-Match", etag)
			var c struct{ Offers []struct{ ID string } }
			r.JSON(t, &c)
			offerID, etag = c.Offers[0].ID, r.Header.Get("ETag")
		}})
		steps = append(steps, liveStep{london(offered.AddDays(1), 12), func() {
			etag = homes.Must(http.StatusOK, "POST", "/v1/rehousing-cases/"+id+"/offers/"+offerID+"/response", map[string]any{"decision": "accepted", "respondedOn": offered.AddDays(1)}, "If-Match", etag).Header.Get("ETag")
		}})
		steps = append(steps, liveStep{london(movedIn, 12), func() {
			homes.Must(http.StatusOK, "POST", "/v1/rehousing-cases/"+id+"/move-in", map[string]any{"on": movedIn}, "If-Match", etag)
		}})
	}
	slices.SortStableFunc(steps, func(a, b liveStep) int { return a.at.Compare(b.at) })
	for _, s := range steps {
		clock.Set(s.at)
		s.do()
	}

	clock.Set(time.Date(2026, 11, 30, 9, 0, 0, 0, calendar.London()))
	imported := startServices(t, "calderdale", clock)
	for _, file := range []struct{ base, layout, body string }{
		{imported.refURL, "referrals", referralsCSV.String()}, {imported.homesURL, "units", unitsCSV.String()},
		{imported.homesURL, "placements", staysCSV.String()}, {imported.homesURL, "voids", voidsCSV.String()},
		{imported.homesURL, "rehousing-cases", casesCSV.String()},
	} {
		imported.admin(file.base).Must(http.StatusOK, "POST", "/v1/imports?layout="+file.layout, file.body, "Content-Type", "text/csv", "X-Import-File", file.layout+".csv")
	}
	live.caughtUp(t)
	imported.caughtUp(t)
	for _, period := range [][2]string{{"2025-04-01", "2026-04-01"}, {"2025-04-01", "2025-07-01"}, {"2025-07-01", "2025-10-01"}, {"2025-10-01", "2026-01-01"}, {"2026-01-01", "2026-04-01"}} {
		want, got := live.report(t, "coordinator", period[0], period[1]), imported.report(t, "coordinator", period[0], period[1])
		for _, m := range []map[string]any{want, got} {
			delete(m, "generatedAt")
			delete(m, "partnership")
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s to %s: the imported year's report differs from the live one (-live +imported):\n%s", period[0], period[1], diff)
		}
	}
	year := live.report(t, "coordinator", "2025-04-01", "2026-04-01")
	if at(year, "stepDown.total.stays") != 40.0 || at(year, "stepDown.total.turnarounds") != 33.0 || at(year, "rehousing.medianDaysToRehoused") == nil {
		t.Errorf("the year's report does not hold the history: %v stays, %v turnarounds, %v", at(year, "stepDown.total.stays"),
			at(year, "stepDown.total.turnarounds"), at(year, "rehousing"))
	}
}

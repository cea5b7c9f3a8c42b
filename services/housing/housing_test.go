package housing

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
)

// fixture is one Kirklees tenant with its referral and housing services and a person for every role.
type fixture struct {
	tenant   *servicetest.Tenant
	clock    *servicetest.Clock
	svc      *Service
	base     string
	referral string // the referral service's base URL
	people   map[string]*servicetest.Client
}

// monday0930 is Monday 23 November 2026, 09:30 in London.
var monday0930 = time.Date(2026, 11, 23, 9, 30, 0, 0, calendar.London())

func kirkleesPolicy() config.Policy {
	p := config.DefaultPolicy()
	p.CostModel = &config.CostModel{Currency: "GBP", BedDayCost: "345.00", ResidentialCareWeekly: "536.77", StepDownWeekly: "203.77",
		WaitingListBaselineDays: 180, SchemeAnnualCost: "120000.00", SavingsSplit: config.SavingsSplit{NHS: 50, LocalAuthority: 30, HousingProvider: 20}}
	return p
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{tenant: servicetest.StartTenant(t, "kirklees"), clock: servicetest.NewClock(monday0930), people: map[string]*servicetest.Client{}}
	opts := app.Options{Now: f.clock.Now}
	_, srv := servicetest.Serve(t, f.tenant.Config(t, Name, kirkleesPolicy()), opts, func(a *app.Service) { f.svc = New(a) })
	_, refSrv := servicetest.Serve(t, f.tenant.Config(t, referral.Name, kirkleesPolicy()), opts, func(a *app.Service) { referral.New(a) })
	f.base, f.referral = srv.URL, refSrv.URL
	for _, role := range auth.Roles {
		f.people[string(role)] = f.tenant.Person(t, f.base, string(role)+"@kirklees.example", "kirklees", string(role))
	}
	return f
}

func (f *fixture) as(t *testing.T, who string) *servicetest.Client { return f.people[who].As(t) }

// day is a date relative to the fixture's Monday.
func day(offset int) calendar.Date { return calendar.DateOf(monday0930).AddDays(offset) }

// at moves the clock to 10:00 on a day relative to the fixture's Monday.
func (f *fixture) at(offset int) {
	f.clock.Set(day(offset).In(calendar.London(), 10, 0, 0, 0))
}

// newReferral refers a synthetic person through the real referral service.
func (f *fixture) newReferral(t *testing.T) string {
	t.Helper()
	c := *f.people["coordinator"]
	c.Base = f.referral
	r := c.As(t).Must(http.StatusCreated, "POST", "/v1/referrals", map[string]any{
		"person":   map[string]any{"name": "Test Person", "dateOfBirth": "1944-03-02"},
		"source":   "ward",
		"referrer": map[string]any{"organisation": "Huddersfield Royal Infirmary", "ward": "Ward 8"},
		"consent":  map[string]any{"toRefer": true, "toShare": true}, "tenure": "owner-occupier",
		"needs": []string{"adaptations"}, "priority": "urgent",
	})
	var ref struct{ ID string }
	r.JSON(t, &ref)
	f.clock.Advance(time.Millisecond)
	return ref.ID
}

func unitBody(scheme, typ string, bedrooms int, cost string, features ...string) map[string]any {
	if features == nil {
		features = []string{}
	}
	return map[string]any{
		"scheme": scheme, "address": map[string]any{"line1": "1 Example Court", "town": "Huddersfield", "postcode": "hd1 2ab"},
		"ownerOrganisation": "Kirklees Neighbourhood Housing", "type": typ, "bedrooms": bedrooms, "features": features,
		"weeklyCost": cost, "housingBenefitEligible": true,
	}
}

func (f *fixture) unit(t *testing.T, body map[string]any) (Unit, string) {
	t.Helper()
	r := f.as(t, "housing-officer").Must(http.StatusCreated, "POST", "/v1/units", body)
	var u Unit
	r.JSON(t, &u)
	f.clock.Advance(time.Millisecond)
	return u, r.Header.Get("ETag")
}

func (f *fixture) getUnit(t *testing.T, id string) (Unit, string) {
	t.Helper()
	r := f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/units/"+id, nil)
	var u Unit
	r.JSON(t, &u)
	return u, r.Header.Get("ETag")
}

func (f *fixture) book(t *testing.T, referralID, unitID string, arrival calendar.Date, extra map[string]any) (Placement, string) {
	t.Helper()
	body := map[string]any{"referralId": referralID, "unitId": unitID, "arrival": arrival}
	for k, v := range extra {
		body[k] = v
	}
	r := f.as(t, "coordinator").Must(http.StatusCreated, "POST", "/v1/placements", body)
	var p Placement
	r.JSON(t, &p)
	f.clock.Advance(time.Millisecond)
	return p, r.Header.Get("ETag")
}

// move makes a placement transition and returns the placement and its new ETag.
func (f *fixture) move(t *testing.T, id, etag string, body map[string]any) (Placement, string) {
	t.Helper()
	r := f.as(t, "coordinator").Must(http.StatusOK, "POST", "/v1/placements/"+id+"/transitions", body, "If-Match", etag)
	var p Placement
	r.JSON(t, &p)
	return p, r.Header.Get("ETag")
}

func TestHousingService(t *testing.T) {
	f := newFixture(t)
	t.Run("units", f.testUnits)
	t.Run("placement lifecycle, voids and turnaround", f.testPlacementLifecycle)
	t.Run("every illegal placement move", f.testIllegalPlacementMoves)
	t.Run("every illegal unit move", f.testIllegalUnitMoves)
	t.Run("void and closed units cannot be booked", f.testUnbookable)
	t.Run("concurrent bookings never double-book", f.testConcurrentBooking)
	t.Run("a booking retried with its Idempotency-Key is made once", f.testIdempotentBooking)
	t.Run("over-stays and late housing-benefit claims", f.testFlags)
	t.Run("placement lists", f.testPlacementLists)
	t.Run("matching on Kirklees and Calderdale stock", f.testMatching)
	t.Run("occupancy against hand-computed figures", f.testOccupancy)
	t.Run("rehousing", f.testRehousing)
	t.Run("late entries", f.testLateEntries)
	t.Run("importing units and past stays", f.testImport)
	t.Run("roles", f.testRoles)
	t.Run("bad input writes nothing", f.testBadInput)
	t.Run("audit and sealing", f.testAuditAndSealing)
	t.Run("domain events carry no personal data", f.testEvents)
	t.Run("openapi lists every route", f.testOpenAPI)
}

func (f *fixture) testUnits(t *testing.T) {
	f.at(0)
	u, etag := f.unit(t, unitBody("Home from Home", "flat", 1, "203.77", "wheelchair-accessible", "level-access-shower"))
	want := UnitFields{Scheme: "Home from Home", Address: Address{Line1: "1 Example Court", Town: "Huddersfield", Postcode: "HD1 2AB"},
		OwnerOrganisation: "Kirklees Neighbourhood Housing", Type: "flat", Bedrooms: 1, Features: []string{"level-access-shower", "wheelchair-accessible"},
		WeeklyCost: "203.77", HousingBenefitEligible: true, MaxStayDays: 42}
	if diff := cmp.Diff(want, u.UnitFields); diff != "" {
		t.Errorf("created unit (-want +got):\n%s", diff)
	}
	if u.Status != UnitAvailable || u.CreatedOn != day(0) {
		t.Errorf("new unit %s since %s", u.Status, u.CreatedOn)
	}
	c := f.as(t, "housing-officer")
	body := unitBody("Home from Home", "flat", 2, "250", "wheelchair-accessible")
	body["maxStayDays"] = 56
	if r := c.Do("PUT", "/v1/units/"+u.ID, body); r.Status != http.StatusPreconditionRequired {
		t.Errorf("edit without If-Match: %d", r.Status)
	}
	if r := c.Do("PUT", "/v1/units/"+u.ID, body, "If-Match", `"v9"`); r.Status != http.StatusPreconditionFailed {
		t.Errorf("edit with a stale ETag: %d", r.Status)
	}
	r := c.Must(http.StatusOK, "PUT", "/v1/units/"+u.ID, body, "If-Match", etag)
	var edited Unit
	r.JSON(t, &edited)
	if edited.Bedrooms != 2 || edited.MaxStayDays != 56 || edited.WeeklyCost != "250.00" {
		t.Errorf("edited %+v", edited.UnitFields)
	}
	etag = r.Header.Get("ETag")

	// Staff void, ready, close and reopen a unit; occupied is never theirs to set.
	r = c.Must(http.StatusOK, "POST", "/v1/units/"+u.ID+"/transitions", map[string]any{"to": "void", "reason": "repairs"}, "If-Match", etag)
	etag = r.Header.Get("ETag")
	p := c.Must(http.StatusConflict, "POST", "/v1/units/"+u.ID+"/transitions", map[string]any{"to": "void", "reason": "cleaning"}, "If-Match", etag).Problem(t)
	if fmt.Sprint(p["allowed"]) != "[available closed]" {
		t.Errorf("void → void: %v", p)
	}
	c.Must(http.StatusBadRequest, "POST", "/v1/units/"+u.ID+"/transitions", map[string]any{"to": "occupied"}, "If-Match", etag)
	c.Must(http.StatusBadRequest, "POST", "/v1/units/"+u.ID+"/transitions", map[string]any{"to": "void"}, "If-Match", etag)
	f.at(3)
	r = c.Must(http.StatusOK, "POST", "/v1/units/"+u.ID+"/transitions", map[string]any{"to": "available"}, "If-Match", etag)
	var ready Unit
	r.JSON(t, &ready)
	wantPeriods := []StatusPeriod{{Status: UnitVoid, Reason: "repairs", From: day(0), To: ptr(day(3))}}
	if diff := cmp.Diff(wantPeriods, ready.Periods); diff != "" {
		t.Errorf("void spell (-want +got):\n%s", diff)
	}

	// Lists filter and page.
	for i := range 3 {
		f.unit(t, unitBody("Heatherstones Court", "apartment", 1, fmt.Sprintf("19%d.00", i)))
	}
	var page Page[Unit]
	c.Must(http.StatusOK, "GET", "/v1/units?scheme=heatherstones+court&limit=2", nil).JSON(t, &page)
	if len(page.Items) != 2 || page.Next == "" {
		t.Fatalf("first page %+v", page)
	}
	var rest Page[Unit]
	c.Must(http.StatusOK, "GET", "/v1/units?scheme=heatherstones+court&limit=2&cursor="+page.Next, nil).JSON(t, &rest)
	if len(rest.Items) != 1 || rest.Next != "" || rest.Items[0].ID == page.Items[1].ID {
		t.Errorf("second page %+v", rest)
	}
	c.Must(http.StatusOK, "GET", "/v1/units?feature=wheelchair-accessible&type=flat", nil).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != u.ID {
		t.Errorf("feature filter: %+v", page.Items)
	}
	if p := c.Must(http.StatusBadRequest, "GET", "/v1/units?colour=red", nil).Problem(t); !strings.Contains(fmt.Sprint(p["errors"]), "colour") {
		t.Errorf("unknown filter: %v", p)
	}
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) testPlacementLifecycle(t *testing.T) {
	f.at(0)
	u, _ := f.unit(t, unitBody("Home from Home", "flat", 1, "203.77"))
	ref := f.newReferral(t)
	p, etag := f.book(t, ref, u.ID, day(2), nil)
	if p.Status != PlacementProvisional || p.PlannedDeparture != day(44) || p.Scheme != "Home from Home" || !p.HousingBenefit.Eligible {
		t.Fatalf("booked %+v", p)
	}
	if got, _ := f.getUnit(t, u.ID); len(got.Bookings) != 1 || got.Bookings[0] != (Booking{Placement: p.ID, From: day(2), To: day(44)}) {
		t.Errorf("unit bookings %+v", got.Bookings)
	}
	p, etag = f.move(t, p.ID, etag, map[string]any{"to": "confirmed"})
	f.at(2)
	p, etag = f.move(t, p.ID, etag, map[string]any{"to": "arrived"})
	if p.ArrivedOn == nil || *p.ArrivedOn != day(2) || p.TurnaroundDays != nil {
		t.Errorf("arrived %+v", p)
	}
	if got, _ := f.getUnit(t, u.ID); got.Status != UnitOccupied || got.StatusSince != day(2) {
		t.Errorf("unit after arrival: %s since %s", got.Status, got.StatusSince)
	}
	c := f.as(t, "coordinator")
	if pr := c.Must(http.StatusBadRequest, "POST", "/v1/placements/"+p.ID+"/transitions", map[string]any{"to": "extended", "plannedDeparture": day(50)}, "If-Match", etag).Problem(t); !strings.Contains(fmt.Sprint(pr["errors"]), "reason") {
		t.Errorf("extension without a reason: %v", pr)
	}
	p, etag = f.move(t, p.ID, etag, map[string]any{"to": "extended", "plannedDeparture": day(50), "reason": "Stairlift fitting delayed"})
	if p.PlannedDeparture != day(50) || len(p.Extensions) != 1 || p.Extensions[0].Reason != "Stairlift fitting delayed" || p.Extensions[0].From != day(44) {
		t.Errorf("extended %+v", p)
	}
	f.at(30)
	c.Must(http.StatusBadRequest, "POST", "/v1/placements/"+p.ID+"/transitions", map[string]any{"to": "departed"}, "If-Match", etag)
	c.Must(http.StatusUnprocessableEntity, "POST", "/v1/placements/"+p.ID+"/transitions", map[string]any{"to": "departed", "destination": "own-home", "on": day(31)}, "If-Match", etag)
	p, _ = f.move(t, p.ID, etag, map[string]any{"to": "departed", "destination": "own-home", "voidReason": "repairs"})
	if p.Nights == nil || *p.Nights != 28 || p.Departure.Destination != "own-home" || p.Departure.HousingBenefitClaimed || p.Departure.VoidReason != "repairs" {
		t.Errorf("departed %+v %+v", p, p.Departure)
	}
	got, uEtag := f.getUnit(t, u.ID)
	if got.Status != UnitVoid || got.VoidReason != "repairs" || len(got.Bookings) != 0 || *got.LastDepartureOn != day(30) {
		t.Errorf("unit after departure %+v", got)
	}
	// Void until made ready; then the next arrival records the turnaround.
	ref2 := f.newReferral(t)
	c.Must(http.StatusConflict, "POST", "/v1/placements", map[string]any{"referralId": ref2, "unitId": u.ID, "arrival": day(35)})
	f.at(33)
	f.as(t, "housing-officer").Must(http.StatusOK, "POST", "/v1/units/"+u.ID+"/transitions", map[string]any{"to": "available"}, "If-Match", uEtag)
	p2, etag2 := f.book(t, ref2, u.ID, day(35), map[string]any{"plannedDeparture": day(49), "carerStaying": false})
	p2, etag2 = f.move(t, p2.ID, etag2, map[string]any{"to": "confirmed"})
	f.at(35)
	p2, _ = f.move(t, p2.ID, etag2, map[string]any{"to": "arrived"})
	if p2.TurnaroundDays == nil || *p2.TurnaroundDays != 5 {
		t.Errorf("turnaround %v, want 5 days (departed day 30, arrived day 35)", p2.TurnaroundDays)
	}
	got, _ = f.getUnit(t, u.ID)
	wantPeriods := []StatusPeriod{{Status: UnitVoid, Reason: "repairs", From: day(30), To: ptr(day(33))}}
	if diff := cmp.Diff(wantPeriods, got.Periods); diff != "" {
		t.Errorf("void days (-want +got):\n%s", diff)
	}
}

// placementIn books a placement and walks it to status.
func (f *fixture) placementIn(t *testing.T, status PlacementStatus) (Placement, string) {
	t.Helper()
	f.at(100)
	u, _ := f.unit(t, unitBody("Illegal Moves", "room", 0, "100"))
	p, etag := f.book(t, f.newReferral(t), u.ID, day(100), nil)
	path := map[PlacementStatus][]map[string]any{
		PlacementProvisional: {},
		PlacementConfirmed:   {{"to": "confirmed"}},
		PlacementArrived:     {{"to": "confirmed"}, {"to": "arrived"}},
		PlacementExtended:    {{"to": "confirmed"}, {"to": "arrived"}, {"to": "extended", "plannedDeparture": day(150), "reason": "r"}},
		PlacementDeparted:    {{"to": "confirmed"}, {"to": "arrived"}, {"to": "departed", "destination": "own-home"}},
		PlacementCancelled:   {{"to": "cancelled", "reason": "r"}},
		PlacementNotArrived:  {{"to": "confirmed"}, {"to": "not-arrived", "reason": "r"}},
	}
	for _, body := range path[status] {
		p, etag = f.move(t, p.ID, etag, body)
	}
	return p, etag
}

func (f *fixture) testIllegalPlacementMoves(t *testing.T) {
	bodies := map[PlacementStatus]map[string]any{
		PlacementConfirmed:  {"to": "confirmed"},
		PlacementArrived:    {"to": "arrived"},
		PlacementExtended:   {"to": "extended", "plannedDeparture": day(160), "reason": "r"},
		PlacementDeparted:   {"to": "departed", "destination": "own-home"},
		PlacementCancelled:  {"to": "cancelled", "reason": "r"},
		PlacementNotArrived: {"to": "not-arrived", "reason": "r"},
	}
	for from, allowed := range placementMoves {
		p, etag := f.placementIn(t, from)
		for to, body := range bodies {
			legal := false
			for _, a := range allowed {
				legal = legal || a == to
			}
			if legal {
				continue
			}
			r := f.as(t, "coordinator").Do("POST", "/v1/placements/"+p.ID+"/transitions", body, "If-Match", etag)
			if r.Status != http.StatusConflict {
				t.Errorf("%s → %s: status %d, want 409: %s", from, to, r.Status, r.Body)
				continue
			}
			if pr := r.Problem(t); !strings.HasSuffix(pr["type"].(string), "/illegal-transition") {
				t.Errorf("%s → %s: %v", from, to, pr)
			}
		}
	}
}

func (f *fixture) testUnbookable(t *testing.T) {
	f.at(200)
	c := f.as(t, "housing-officer")
	ref := f.newReferral(t)
	for _, move := range []map[string]any{{"to": "void", "reason": "adaptation-install"}, {"to": "closed"}} {
		u, etag := f.unit(t, unitBody("Unbookable", "flat", 1, "100"))
		c.Must(http.StatusOK, "POST", "/v1/units/"+u.ID+"/transitions", move, "If-Match", etag)
		r := f.as(t, "coordinator").Do("POST", "/v1/placements", map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(201)})
		if pr := r.Problem(t); r.Status != http.StatusConflict || !strings.HasSuffix(pr["type"].(string), "/unit-unavailable") {
			t.Errorf("booking a %v unit: %d %v", move["to"], r.Status, pr)
		}
		if got, _ := f.getUnit(t, u.ID); len(got.Bookings) != 0 {
			t.Errorf("refused booking left %+v", got.Bookings)
		}
	}
	// A unit with a booking cannot be closed under it.
	u, _ := f.unit(t, unitBody("Unbookable", "flat", 1, "100"))
	p, _ := f.book(t, ref, u.ID, day(210), nil)
	_, etag := f.getUnit(t, u.ID)
	if pr := c.Must(http.StatusConflict, "POST", "/v1/units/"+u.ID+"/transitions", map[string]any{"to": "closed"}, "If-Match", etag).Problem(t); !strings.Contains(pr["detail"].(string), p.ID) {
		t.Errorf("closing a booked unit: %v", pr)
	}
}

// rawPost posts JSON as a person without failing the test from another goroutine.
func rawPost(c *servicetest.Client, path string, body any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest("POST", c.Base+path, strings.NewReader(string(b)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (f *fixture) testConcurrentBooking(t *testing.T) {
	f.at(300)
	u, _ := f.unit(t, unitBody("Contended", "flat", 1, "100"))
	refs := make([]string, 32)
	for i := range refs {
		refs[i] = f.newReferral(t)
	}
	c := f.people["coordinator"]
	// 32 people want the same unit for overlapping stays: exactly one gets it.
	statuses := make([]int, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() {
			var err error
			statuses[i], err = rawPost(c, "/v1/placements", map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(301 + i%3)})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusConflict] != len(refs)-1 {
		t.Errorf("overlapping bookings: %v, want one 201 and the rest 409", count)
	}
	// Eight stays of a week each, back to back: all fit, though every one rewrites the same unit.
	u2, _ := f.unit(t, unitBody("Contended", "flat", 1, "100"))
	for i := range 8 {
		wg.Go(func() {
			s, err := rawPost(c, "/v1/placements", map[string]any{"referralId": refs[i], "unitId": u2.ID, "arrival": day(301 + 7*i), "plannedDeparture": day(308 + 7*i)})
			if err != nil || s != http.StatusCreated {
				t.Errorf("back-to-back stay %d: %d %v", i, s, err)
			}
		})
	}
	wg.Wait()
	got, _ := f.getUnit(t, u2.ID)
	if len(got.Bookings) != 8 {
		t.Fatalf("bookings %+v", got.Bookings)
	}
	// With no retries, a booking that loses the race for its unit is refused as busy (503, safe to
	// retry), never a 500 and never a double booking.
	f.svc.unitRetries = 0
	defer func() { f.svc.unitRetries = unitConflictRetries }()
	u3, _ := f.unit(t, unitBody("Contended", "flat", 1, "100"))
	busy := make([]int, 16)
	for i := range busy {
		wg.Go(func() {
			busy[i], _ = rawPost(c, "/v1/placements", map[string]any{"referralId": refs[i], "unitId": u3.ID, "arrival": day(301 + 7*i), "plannedDeparture": day(308 + 7*i)})
		})
	}
	wg.Wait()
	count = map[int]int{}
	for _, s := range busy {
		count[s]++
	}
	t.Logf("without retries: %v", count)
	if count[http.StatusCreated]+count[http.StatusServiceUnavailable] != len(busy) || count[http.StatusCreated] == 0 {
		t.Errorf("without retries: %v, want only 201 and 503", count)
	}
	if got, _ := f.getUnit(t, u3.ID); len(got.Bookings) != count[http.StatusCreated] {
		t.Errorf("%d bookings held, %d acknowledged", len(got.Bookings), count[http.StatusCreated])
	}
	for i := 1; i < len(got.Bookings); i++ {
		if got.Bookings[i].From.Before(got.Bookings[i-1].To) {
			t.Errorf("overlap: %+v then %+v", got.Bookings[i-1], got.Bookings[i])
		}
	}
}

func (f *fixture) testFlags(t *testing.T) {
	f.at(400)
	u, _ := f.unit(t, unitBody("Flags", "flat", 1, "100"))
	p, etag := f.book(t, f.newReferral(t), u.ID, day(400), map[string]any{"plannedDeparture": day(420)})
	p, etag = f.move(t, p.ID, etag, map[string]any{"to": "confirmed"})
	p, etag = f.move(t, p.ID, etag, map[string]any{"to": "arrived"})
	c := f.as(t, "coordinator")
	listed := func(path string) bool {
		var page Page[Placement]
		c.Must(http.StatusOK, "GET", path, nil).JSON(t, &page)
		for _, it := range page.Items {
			if it.ID == p.ID {
				return true
			}
		}
		return false
	}
	// Policy: a claim is due within 14 days of arrival.
	f.at(414)
	if listed("/v1/placements/housing-benefit-unclaimed") {
		t.Error("flagged on day 14")
	}
	f.at(415)
	if !listed("/v1/placements/housing-benefit-unclaimed") {
		t.Error("not flagged on day 15")
	}
	r := c.Must(http.StatusOK, "PUT", "/v1/placements/"+p.ID+"/housing-benefit", map[string]any{"claimedOn": day(415)}, "If-Match", etag)
	etag = r.Header.Get("ETag")
	if listed("/v1/placements/housing-benefit-unclaimed") {
		t.Error("still flagged after the claim")
	}
	if listed("/v1/placements/over-stays") {
		t.Error("over-stay before the planned departure")
	}
	f.at(421)
	if !listed("/v1/placements/over-stays") {
		t.Error("no over-stay the day after the planned departure")
	}
	var got Placement
	c.Must(http.StatusOK, "GET", "/v1/placements/"+p.ID, nil).JSON(t, &got)
	if got.Flags == nil || !got.Flags.OverStay || got.Flags.HousingBenefitClaimOverdue {
		t.Errorf("flags %+v", got.Flags)
	}
	p, _ = f.move(t, p.ID, etag, map[string]any{"to": "departed", "destination": "extra-care"})
	if !p.Departure.HousingBenefitClaimed || listed("/v1/placements/over-stays") {
		t.Errorf("departure %+v", p.Departure)
	}
}

func (f *fixture) testMatching(t *testing.T) {
	// A fresh tenant holds just this stock: Kirklees' seven Home from Home flats and Calderdale's
	// twelve Heatherstones apartments, three with shared kitchens.
	g := newFixture(t)
	g.at(0)
	ids := map[string]string{}
	add := func(name string, body map[string]any) {
		u, _ := g.unit(t, body)
		ids[name] = u.ID
	}
	add("hfh-wheelchair-1", unitBody("Home from Home", "flat", 1, "203.77", "wheelchair-accessible", "level-access-shower", "ground-floor"))
	add("hfh-wheelchair-2", unitBody("Home from Home", "flat", 1, "210.00", "wheelchair-accessible", "level-access-shower", "lift"))
	add("hfh-hoist", unitBody("Home from Home", "flat", 1, "203.77", "wheelchair-accessible", "level-access-shower", "hoist", "ground-floor"))
	add("hfh-carer", unitBody("Home from Home", "flat", 2, "240.00", "two-bedroom-carer", "level-access-shower", "lift"))
	add("hfh-extra-care", unitBody("Home from Home", "flat", 1, "260.00", "on-site-care", "level-access-shower", "lift"))
	add("hfh-retirement", unitBody("Home from Home", "bungalow", 1, "190.00", "ground-floor", "level-access-shower"))
	add("hfh-independent", unitBody("Home from Home", "flat", 1, "180.00", "lift"))
	for i := range 9 {
		add(fmt.Sprintf("hs-%d", i+1), unitBody("Heatherstones Court", "apartment", 1, "175.00", "assistive-technology", "lift"))
	}
	for i := range 3 {
		add(fmt.Sprintf("hs-shared-%d", i+1), unitBody("Heatherstones Court", "shared-apartment", 1, "150.00", "assistive-technology"))
	}
	// Two are taken: one booked over the stay's nights, one void.
	ref := g.newReferral(t)
	g.book(t, ref, ids["hfh-wheelchair-2"], day(5), map[string]any{"plannedDeparture": day(20)})
	u, etag := g.getUnit(t, ids["hfh-retirement"])
	g.as(t, "housing-officer").Must(http.StatusOK, "POST", "/v1/units/"+u.ID+"/transitions", map[string]any{"to": "void", "reason": "cleaning"}, "If-Match", etag)

	var res MatchResult
	g.as(t, "coordinator").Must(http.StatusOK, "POST", "/v1/matches", map[string]any{
		"referralId": ref, "features": []string{"level-access-shower"}, "bedrooms": 1, "arrival": day(10), "expectedStayDays": 28,
	}).JSON(t, &res)
	var order []string
	for _, m := range res.Matches {
		for name, id := range ids {
			if id == m.Unit.ID {
				order = append(order, name)
			}
		}
	}
	// Each free unit with a level-access shower has a specialist feature the person does not
	// need: one each (wheelchair, on-site care, carer's room) rank by spare bedrooms then cost; the
	// hoist flat (two: wheelchair and hoist) comes last.
	want := []string{"hfh-wheelchair-1", "hfh-extra-care", "hfh-carer", "hfh-hoist"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("ranking (-want +got):\n%s", diff)
	}
	excluded := map[string][]string{}
	for _, e := range res.Excluded {
		for name, id := range ids {
			if id == e.UnitID {
				excluded[name] = e.Reasons
			}
		}
	}
	if len(excluded) != len(ids)-len(want) {
		t.Errorf("excluded %d units, want %d", len(excluded), len(ids)-len(want))
	}
	checks := map[string]string{
		"hfh-wheelchair-2": "booked " + day(5).String() + " to " + day(20).String(),
		"hfh-retirement":   "void (cleaning) until made ready",
		"hfh-independent":  "lacks level-access-shower",
		"hs-1":             "lacks level-access-shower",
		"hs-shared-3":      "lacks level-access-shower",
	}
	for name, reason := range checks {
		if !strings.Contains(strings.Join(excluded[name], "; "), reason) {
			t.Errorf("%s excluded for %v, want %q", name, excluded[name], reason)
		}
	}
	// A carer staying and a hoist: only the hoist flat has a hoist, and it has no carer's room.
	g.as(t, "coordinator").Must(http.StatusOK, "POST", "/v1/matches", map[string]any{
		"features": []string{"hoist"}, "carerStaying": true, "arrival": day(10), "expectedStayDays": 60,
	}).JSON(t, &res)
	if len(res.Matches) != 0 {
		t.Errorf("matches %+v", res.Matches)
	}
	for _, e := range res.Excluded {
		if e.UnitID == ids["hfh-hoist"] && (!strings.Contains(strings.Join(e.Reasons, ";"), "no room for a carer") ||
			!strings.Contains(strings.Join(e.Reasons, ";"), "maximum stay 42 nights, shorter than the 60 expected")) {
			t.Errorf("hoist flat excluded for %v", e.Reasons)
		}
	}
}

func (f *fixture) testOccupancy(t *testing.T) {
	// One unit over 20 nights from day 500: created day 500, a stay of nights 502–511 (10), void
	// 512–514 (3, ready day 515), a second stay from day 516 still under way on day 520.
	f.at(500)
	u, _ := f.unit(t, unitBody("Occupancy Court", "flat", 1, "100"))
	p, etag := f.book(t, f.newReferral(t), u.ID, day(502), map[string]any{"plannedDeparture": day(512)})
	p, etag = f.move(t, p.ID, etag, map[string]any{"to": "confirmed"})
	f.at(502)
	p, etag = f.move(t, p.ID, etag, map[string]any{"to": "arrived"})
	f.at(512)
	f.move(t, p.ID, etag, map[string]any{"to": "departed", "destination": "own-home"})
	f.at(515)
	_, uEtag := f.getUnit(t, u.ID)
	f.as(t, "housing-officer").Must(http.StatusOK, "POST", "/v1/units/"+u.ID+"/transitions", map[string]any{"to": "available"}, "If-Match", uEtag)
	p2, etag2 := f.book(t, f.newReferral(t), u.ID, day(516), nil)
	p2, etag2 = f.move(t, p2.ID, etag2, map[string]any{"to": "confirmed"})
	f.at(516)
	f.move(t, p2.ID, etag2, map[string]any{"to": "arrived"})
	f.at(520)

	var rep OccupancyReport
	f.as(t, "commissioner").Must(http.StatusOK, "GET", fmt.Sprintf("/v1/occupancy?from=%s&to=%s&scheme=Occupancy+Court", day(500), day(530)), nil).JSON(t, &rep)
	if rep.CountedTo != day(520) || len(rep.Units) != 1 || len(rep.Schemes) != 1 {
		t.Fatalf("report %+v", rep)
	}
	got := rep.Units[0].Occupancy
	want := Occupancy{Nights: 20, AvailableNights: 20, OccupiedNights: 14, VoidNights: 3, OccupancyPercent: ptr(70.0),
		Stays: 1, AverageStayNights: ptr(10.0), Turnarounds: 1, AverageTurnaroundDays: ptr(4.0)}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Occupancy{})); diff != "" {
		t.Errorf("unit occupancy (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, rep.Schemes[0].Occupancy, cmp.AllowUnexported(Occupancy{})); diff != "" {
		t.Errorf("scheme occupancy (-want +got):\n%s", diff)
	}
	// A window that cuts the first stay: nights 505–509 are 5 occupied of 5.
	f.as(t, "coordinator").Must(http.StatusOK, "GET", fmt.Sprintf("/v1/occupancy?from=%s&to=%s&unit=%s", day(505), day(510), u.ID), nil).JSON(t, &rep)
	if o := rep.Units[0].Occupancy; o.OccupiedNights != 5 || *o.OccupancyPercent != 100 || o.Stays != 0 || o.AverageStayNights != nil {
		t.Errorf("window %+v", o)
	}
	for _, q := range []string{"", "from=2026-01-01", "from=2026-02-01&to=2026-01-01", "from=2020-01-01&to=2026-01-02", "from=2026-02-30&to=2026-03-01", "from=2026-01-01&to=2026-02-01&colour=red"} {
		if r := f.as(t, "coordinator").Do("GET", "/v1/occupancy?"+q, nil); r.Status != http.StatusBadRequest {
			t.Errorf("occupancy?%s: %d", q, r.Status)
		} else {
			r.Problem(t)
		}
	}
}

func (f *fixture) testRehousing(t *testing.T) {
	f.at(600)
	ref := f.newReferral(t)
	c := f.as(t, "housing-officer")
	r := c.Must(http.StatusCreated, "POST", "/v1/rehousing-cases", map[string]any{"referralId": ref})
	var rc RehousingCase
	r.JSON(t, &rc)
	etag := r.Header.Get("ETag")
	if rc.Status != RehousingApplying || rc.ReferralReceivedOn != day(600) || rc.WaitingListBaselineDays != 180 || rc.ReferralSource != "ward" {
		t.Fatalf("opened %+v", rc)
	}
	c.Must(http.StatusConflict, "POST", "/v1/rehousing-cases", map[string]any{"referralId": ref})
	step := func(want int, path string, body any) {
		t.Helper()
		r := c.Must(want, "POST", "/v1/rehousing-cases/"+rc.ID+path, body, "If-Match", etag)
		if want == http.StatusOK {
			r.JSON(t, &rc)
			etag = r.Header.Get("ETag")
		}
	}
	f.at(610)
	step(http.StatusOK, "/bids", map[string]any{"landlord": "Nottingham City Homes", "reference": "NCH-1", "submittedOn": day(610)})
	step(http.StatusConflict, "/move-in", map[string]any{"on": day(610)})
	step(http.StatusOK, "/offers", map[string]any{"landlord": "Nottingham City Homes", "property": "Flat 2, Example House", "offeredOn": day(610)})
	step(http.StatusConflict, "/offers", map[string]any{"landlord": "Other", "property": "Elsewhere", "offeredOn": day(610)})
	first := rc.Offers[0].ID
	step(http.StatusBadRequest, "/offers/"+first+"/response", map[string]any{"decision": "refused", "respondedOn": day(610)})
	step(http.StatusOK, "/offers/"+first+"/response", map[string]any{"decision": "refused", "reason": "Second floor, no lift", "respondedOn": day(610)})
	if rc.Status != RehousingApplying {
		t.Errorf("after a refusal: %s", rc.Status)
	}
	step(http.StatusConflict, "/offers/"+first+"/response", map[string]any{"decision": "accepted", "respondedOn": day(610)})
	f.at(640)
	step(http.StatusOK, "/offers", map[string]any{"landlord": "Nottingham City Homes", "property": "Bungalow 4, Example Close", "offeredOn": day(640)})
	step(http.StatusOK, "/offers/"+rc.Offers[1].ID+"/response", map[string]any{"decision": "accepted", "respondedOn": day(641 - 1)})
	f.at(652)
	step(http.StatusUnprocessableEntity, "/move-in", map[string]any{"on": day(653)})
	step(http.StatusOK, "/move-in", map[string]any{"on": day(650)}) // recorded two days late
	if rc.Status != RehousingRehoused || *rc.DaysToRehoused != 50 || *rc.DaysSavedAgainstBaseline != 130 {
		t.Errorf("rehoused %+v", rc)
	}
	if len(rc.LateEntries) != 1 || rc.LateEntries[0].What != "move-in" || rc.LateEntries[0].On != day(650) {
		t.Errorf("a move-in recorded late: %+v", rc.LateEntries)
	}
	step(http.StatusConflict, "/withdraw", map[string]any{"reason": "changed mind"})
	var page Page[rehousingSummary]
	c.Must(http.StatusOK, "GET", "/v1/rehousing-cases?referral="+ref, nil).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].Status != RehousingRehoused || page.Items[0].Offers != 2 {
		t.Errorf("list %+v", page)
	}
	// A new case may open once the last is closed; of eight opened at once, one opens.
	ref2 := f.newReferral(t)
	statuses := make([]int, 8)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			statuses[i], _ = rawPost(f.people["housing-officer"], "/v1/rehousing-cases", map[string]any{"referralId": ref2})
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusConflict] != 7 {
		t.Errorf("eight opens at once: %v, want one 201 and seven 409", count)
	}
	c.Must(http.StatusCreated, "POST", "/v1/rehousing-cases", map[string]any{"referralId": ref})
}

func (f *fixture) testRoles(t *testing.T) {
	f.at(700)
	u, _ := f.unit(t, unitBody("Roles", "flat", 1, "100"))
	ref := f.newReferral(t)
	cases := []struct {
		who, method, path string
		body              any
		want              int
	}{
		{"referrer", "POST", "/v1/placements", map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(701)}, http.StatusForbidden},
		{"referrer", "GET", "/v1/units", nil, http.StatusForbidden},
		{"commissioner", "GET", "/v1/placements", nil, http.StatusForbidden},
		{"commissioner", "GET", "/v1/units/" + u.ID, nil, http.StatusForbidden},
		{"commissioner", "GET", "/v1/rehousing-cases", nil, http.StatusForbidden},
		{"commissioner", "POST", "/v1/matches", map[string]any{"arrival": day(701), "expectedStayDays": 7}, http.StatusForbidden},
		{"commissioner", "GET", "/v1/occupancy?from=2026-01-01&to=2026-02-01", nil, http.StatusOK},
		{"partnership-admin", "POST", "/v1/units", unitBody("Roles", "flat", 1, "100"), http.StatusForbidden},
		{"housing-officer", "POST", "/v1/placements", map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(701)}, http.StatusCreated},
		{"manager", "GET", "/v1/placements/over-stays", nil, http.StatusOK},
	}
	for _, c := range cases {
		if r := f.as(t, c.who).Do(c.method, c.path, c.body); r.Status != c.want {
			t.Errorf("%s %s %s: %d, want %d: %s", c.who, c.method, c.path, r.Status, c.want, r.Body)
		}
	}
	if r := (&servicetest.Client{Base: f.base}).As(t).Do("GET", "/v1/units", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", r.Status)
	}
}

// housingKeys counts the tenant's housing records and indexes.
func (f *fixture) housingKeys(t *testing.T) int {
	t.Helper()
	keys, err := f.tenant.Admin.Keys(context.Background(), "t:{kirklees}:*housing*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

func (f *fixture) testBadInput(t *testing.T) {
	f.at(800)
	u, _ := f.unit(t, unitBody("Bad Input", "flat", 1, "100"))
	ref := f.newReferral(t)
	before := f.housingKeys(t)
	events, _ := f.tenant.Admin.XLen(context.Background(), "t:{kirklees}:events").Result()
	c := f.as(t, "coordinator")
	bad := []struct {
		path string
		body any
		want int
	}{
		{"/v1/units", `{"scheme":`, http.StatusBadRequest},
		{"/v1/units", map[string]any{"scheme": "X"}, http.StatusBadRequest},
		{"/v1/units", mergeBody(unitBody("X", "castle", 1, "100"), nil), http.StatusBadRequest},
		{"/v1/units", mergeBody(unitBody("X", "flat", 1, "100.001"), nil), http.StatusBadRequest},
		{"/v1/units", mergeBody(unitBody("X", "flat", 1, "100", "jacuzzi"), nil), http.StatusBadRequest},
		{"/v1/units", mergeBody(unitBody("X", "flat", 1, "100"), map[string]any{"maxStayDays": 400}), http.StatusBadRequest},
		{"/v1/units", mergeBody(unitBody("X", "flat", 1, "100"), map[string]any{"colour": "red"}), http.StatusBadRequest},
		{"/v1/placements", map[string]any{"referralId": ref, "unitId": u.ID, "arrival": "2026-13-01"}, http.StatusBadRequest},
		{"/v1/placements", map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(799)}, http.StatusUnprocessableEntity},
		{"/v1/placements", map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(801), "plannedDeparture": day(801)}, http.StatusBadRequest},
		{"/v1/placements", map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(801), "plannedDeparture": day(900)}, http.StatusUnprocessableEntity},
		{"/v1/placements", map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(801), "carerStaying": true}, http.StatusUnprocessableEntity},
		{"/v1/placements", map[string]any{"referralId": "01JZZZZZZZZZZZZZZZZZZZZZZZ", "unitId": u.ID, "arrival": day(801)}, http.StatusUnprocessableEntity},
		{"/v1/placements", map[string]any{"referralId": ref, "unitId": "01JZZZZZZZZZZZZZZZZZZZZZZZ", "arrival": day(801)}, http.StatusUnprocessableEntity},
		{"/v1/matches", map[string]any{"arrival": day(801), "expectedStayDays": 0}, http.StatusBadRequest},
		{"/v1/rehousing-cases", map[string]any{"referralId": "nope"}, http.StatusBadRequest},
	}
	for _, b := range bad {
		r := c.Do("POST", b.path, b.body)
		if r.Status != b.want {
			t.Errorf("POST %s %v: %d, want %d: %s", b.path, b.body, r.Status, b.want, r.Body)
			continue
		}
		r.Problem(t)
	}
	if after := f.housingKeys(t); after != before {
		t.Errorf("refused requests wrote keys: %d → %d", before, after)
	}
	if n, _ := f.tenant.Admin.XLen(context.Background(), "t:{kirklees}:events").Result(); n != events {
		t.Errorf("refused requests wrote %d events", n-events)
	}
	c.Must(http.StatusNotFound, "GET", "/v1/placements/01JZZZZZZZZZZZZZZZZZZZZZZZ", nil)
	c.Must(http.StatusNotFound, "GET", "/v1/units/not-an-id", nil)
}

func mergeBody(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func (f *fixture) testAuditAndSealing(t *testing.T) {
	f.at(900)
	u, _ := f.unit(t, unitBody("Audit", "flat", 1, "100"))
	p, etag := f.book(t, f.newReferral(t), u.ID, day(900), nil)
	f.move(t, p.ID, etag, map[string]any{"to": "cancelled", "reason": "Person chose to go to their daughter's"})
	f.as(t, "manager").Must(http.StatusOK, "GET", "/v1/placements/"+p.ID, nil)
	var trail struct {
		Items []struct{ Action, Actor string }
	}
	f.as(t, "partnership-admin").Must(http.StatusOK, "GET", "/v1/placements/"+p.ID+"/audit", nil).JSON(t, &trail)
	var actions []string
	for _, e := range trail.Items {
		actions = append(actions, e.Action)
	}
	if diff := cmp.Diff([]string{"create", "update", "read"}, actions); diff != "" || trail.Items[2].Actor != f.people["manager"].ID {
		t.Errorf("trail (-want +got):\n%s %+v", diff, trail.Items)
	}
	f.as(t, "coordinator").Must(http.StatusForbidden, "GET", "/v1/placements/"+p.ID+"/audit", nil)
	doc, err := f.tenant.Admin.HGet(context.Background(), "t:{kirklees}:housing:placement:"+p.ID, "doc").Result()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc, "daughter") || strings.Contains(doc, p.ReferralID) {
		t.Error("the placement is stored in the clear")
	}
	// The housing service's Redis user cannot rewrite the trail.
	rdb := f.tenant.ServiceClient(Name)
	defer rdb.Close()
	if err := rdb.Del(context.Background(), "t:{kirklees}:audit:placement:"+p.ID).Err(); err == nil {
		t.Error("the housing user deleted an audit stream")
	}
}

func (f *fixture) testEvents(t *testing.T) {
	msgs, err := f.tenant.Admin.XRange(context.Background(), "t:{kirklees}:events", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		typ, _ := m.Values["type"].(string)
		seen[typ]++
		data, _ := m.Values["data"].(string)
		for _, secret := range []string{"Test Person", "Stairlift", "daughter", "Example House", "no lift"} {
			if strings.Contains(data, secret) {
				t.Errorf("event %s carries %q: %s", typ, secret, data)
			}
		}
		if typ == "placement.departed" {
			var d map[string]any
			if err := json.Unmarshal([]byte(data), &d); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"nights", "destination", "housingBenefitClaimed", "weeklyCost", "unitId", "scheme", "arrivedOn", "departedOn"} {
				if _, ok := d[k]; !ok {
					t.Errorf("placement.departed lacks %s: %s", k, data)
				}
			}
		}
	}
	for _, typ := range []string{"unit.created", "unit.status-changed", "placement.booked", "placement.arrived", "placement.extended",
		"placement.departed", "placement.cancelled", "placement.housing-benefit-claimed", "rehousing.opened", "rehousing.rehoused"} {
		if seen[typ] == 0 {
			t.Errorf("no %s event", typ)
		}
	}
}

func (f *fixture) testPlacementLists(t *testing.T) {
	f.at(1000)
	u, _ := f.unit(t, unitBody("Lists", "flat", 1, "100"))
	ref := f.newReferral(t)
	var booked []string
	for i := range 5 {
		p, _ := f.book(t, ref, u.ID, day(1000+10*i), map[string]any{"plannedDeparture": day(1005 + 10*i)})
		booked = append(booked, p.ID)
	}
	c := f.as(t, "coordinator")
	for _, q := range []string{"referral=" + ref, "unit=" + u.ID, "status=provisional"} {
		var got []string
		cursor := ""
		for pages := 0; pages < 20; pages++ {
			var page Page[Placement]
			c.Must(http.StatusOK, "GET", "/v1/placements?limit=2&"+q+cursor, nil).JSON(t, &page)
			for _, p := range page.Items {
				if p.UnitID == u.ID {
					got = append(got, p.ID)
				}
				if p.Status != PlacementProvisional && strings.HasPrefix(q, "status") {
					t.Errorf("%s listed a %s placement", q, p.Status)
				}
			}
			if page.Next == "" {
				break
			}
			cursor = "&cursor=" + page.Next
		}
		if diff := cmp.Diff(booked, got); diff != "" {
			t.Errorf("%s pages (-want +got):\n%s", q, diff)
		}
	}
	c.Must(http.StatusBadRequest, "GET", "/v1/placements?status=lost", nil)
	c.Must(http.StatusBadRequest, "GET", "/v1/placements?limit=500", nil)
}

func (f *fixture) testIllegalUnitMoves(t *testing.T) {
	f.at(1100)
	c := f.as(t, "housing-officer")
	into := map[UnitStatus]map[string]any{
		UnitAvailable: {"to": "available"},
		UnitVoid:      {"to": "void", "reason": "repairs"},
		UnitClosed:    {"to": "closed"},
	}
	for from := range unitMoves {
		u, etag := f.unit(t, unitBody("Unit Moves", "flat", 1, "100"))
		switch from {
		case UnitVoid, UnitClosed:
			etag = c.Must(http.StatusOK, "POST", "/v1/units/"+u.ID+"/transitions", into[from], "If-Match", etag).Header.Get("ETag")
		case UnitOccupied:
			p, pEtag := f.book(t, f.newReferral(t), u.ID, day(1100), nil)
			p, pEtag = f.move(t, p.ID, pEtag, map[string]any{"to": "confirmed"})
			f.move(t, p.ID, pEtag, map[string]any{"to": "arrived"})
			_, etag = f.getUnit(t, u.ID)
		}
		for to, body := range into {
			legal := false
			for _, a := range unitMoves[from] {
				legal = legal || a == to
			}
			if legal {
				continue
			}
			r := c.Do("POST", "/v1/units/"+u.ID+"/transitions", body, "If-Match", etag)
			if r.Status != http.StatusConflict || !strings.HasSuffix(r.Problem(t)["type"].(string), "/illegal-transition") {
				t.Errorf("%s → %s: %d %s", from, to, r.Status, r.Body)
			}
		}
	}
}

// A stay that began days ago is recorded as arrived, within policy.lateEntryDays, and marked as a late
// entry in the placement and its audit trail; further back, or without arrived, the answer names the rule.
func (f *fixture) testLateEntries(t *testing.T) {
	f.at(40)
	defer f.at(0)
	u, _ := f.unit(t, unitBody("Home from Home", "flat", 1, "203.77"))
	ref := f.newReferral(t)
	c := f.as(t, "coordinator")
	p := c.Must(http.StatusUnprocessableEntity, "POST", "/v1/placements", map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(37)}).Problem(t)
	if !strings.Contains(fmt.Sprint(p["errors"]), "send arrived: true") {
		t.Errorf("a past booking without arrived: %v", p)
	}
	p = c.Must(http.StatusUnprocessableEntity, "POST", "/v1/placements", map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(8), "arrived": true}).Problem(t)
	if !strings.Contains(fmt.Sprint(p["errors"]), "up to 31 days late (policy.lateEntryDays)") {
		t.Errorf("an arrival beyond the window: %v", p)
	}
	if unit, _ := f.getUnit(t, u.ID); unit.Status != UnitAvailable || len(unit.Bookings) != 0 {
		t.Errorf("a refused late booking changed the unit: %s %v", unit.Status, unit.Bookings)
	}
	placed, etag := f.book(t, ref, u.ID, day(37), map[string]any{"arrived": true})
	if placed.Status != PlacementArrived || placed.ArrivedOn == nil || *placed.ArrivedOn != day(37) ||
		len(placed.LateEntries) != 1 || placed.LateEntries[0].What != "arrival" || placed.LateEntries[0].On != day(37) {
		t.Fatalf("a stay recorded late: %s, arrived %v, late %+v", placed.Status, placed.ArrivedOn, placed.LateEntries)
	}
	if unit, _ := f.getUnit(t, u.ID); unit.Status != UnitOccupied {
		t.Errorf("the unit of a stay under way is %s", unit.Status)
	}
	// The departure, two days ago, is late too; today's would not be.
	left, _ := f.move(t, placed.ID, etag, map[string]any{"to": "departed", "on": day(38), "destination": "own-home"})
	if len(left.LateEntries) != 2 || left.LateEntries[1].What != "departure" || left.LateEntries[1].On != day(38) {
		t.Errorf("late entries after the departure: %+v", left.LateEntries)
	}
	var trail struct {
		Items []struct{ Action, Detail string }
	}
	f.as(t, "partnership-admin").Must(http.StatusOK, "GET", "/v1/placements/"+placed.ID+"/audit", nil).JSON(t, &trail)
	var details []string
	for _, e := range trail.Items {
		details = append(details, e.Detail)
	}
	joined := strings.Join(details, " | ")
	if !strings.Contains(joined, "late entry: arrival on "+day(37).String()) || !strings.Contains(joined, "late entry: departure on "+day(38).String()) {
		t.Errorf("the audit trail does not say what was late: %v", details)
	}
}

const (
	unitsHeader      = "importKey,scheme,line1,line2,town,postcode,ownerOrganisation,type,bedrooms,features,weeklyCost,housingBenefitEligible,maxStayDays,createdOn\n"
	placementsHeader = "importKey,unit,referral,arrival,plannedDeparture,departedOn,destination,housingBenefitClaimed,housingBenefitClaimedOn\n"
)

// importCSV sends a file to POST /v1/imports as the partnership admin and returns the answer.
func (f *fixture) importCSV(t *testing.T, base, layout, name, body string, want int) *servicetest.Response {
	t.Helper()
	admin := *f.people["partnership-admin"]
	admin.Base = base
	return admin.As(t).Must(want, "POST", "/v1/imports?layout="+layout, body, "Content-Type", "text/csv", "X-Import-File", name)
}

// A partnership admin brings its units and its past and current stays: the stays land in their
// units with their historical dates, a second send changes nothing, and a file with any problem —
// an overlap with a recorded stay or another row, an unknown unit or referral, a future date —
// writes nothing and names them all.
func (f *fixture) testImport(t *testing.T) {
	f.at(1200)
	defer f.clock.Set(monday0930)
	units := unitsHeader +
		"imp-u1,Imported Court,Flat 1 Imported Court,,Huddersfield,hd1 3xy,Kirklees Neighbourhood Housing,flat,1,ground-floor;level-access-shower,203.77,yes,,2027-01-04\n" +
		"imp-u2,Imported Court,Flat 2 Imported Court,,Huddersfield,HD1 3XY,Kirklees Neighbourhood Housing,flat,2,,250.50,no,56,2027-01-04\n"
	var rep app.ImportReport
	f.importCSV(t, f.base, "units", "units.csv", units, http.StatusOK).JSON(t, &rep)
	if rep.Imported != 2 || rep.Rows != 2 {
		t.Fatalf("units report %+v", rep)
	}
	var page Page[Unit]
	f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/units?scheme=imported+court", nil).JSON(t, &page)
	byLine := map[string]Unit{}
	for _, u := range page.Items {
		byLine[u.Address.Line1] = u
	}
	u1, u2 := byLine["Flat 1 Imported Court"], byLine["Flat 2 Imported Court"]
	if len(page.Items) != 2 || u1.Address.Postcode != "HD1 3XY" || u1.CreatedOn != (calendar.Date{Year: 2027, Month: 1, Day: 4}) ||
		!slices.Equal(u1.Features, []string{"ground-floor", "level-access-shower"}) || u2.MaxStayDays != 56 || u2.HousingBenefitEligible {
		t.Fatalf("imported units %+v", page.Items)
	}

	// One referral is named by its id, the other by the key it was imported with.
	refByID := f.newReferral(t)
	f.importCSV(t, f.referral, "referrals", "referrals.csv", "importKey,receivedAt,name,source,referrerOrganisation,consentToRefer,consentToShare,tenure,needs,priority\n"+
		"imp-r1,"+day(1100).String()+",Imported Person,ward,Huddersfield Royal Infirmary,yes,yes,owner-occupier,adaptations,urgent\n", http.StatusOK)
	stays := placementsHeader +
		"imp-p1,imp-u1,imp-r1," + day(1110).String() + ",," + day(1138).String() + ",own-home,yes,\n" +
		"imp-p2,imp-u1," + refByID + "," + day(1190).String() + "," + day(1210).String() + ",,,," + day(1192).String() + "\n" +
		"imp-p3," + u2.ID + ",imp-r1," + day(1140).String() + "," + day(1150).String() + "," + day(1160).String() + ",rehoused,no,\n"
	keysBefore := f.housingKeys(t)
	f.importCSV(t, f.base, "placements", "stays.csv", stays, http.StatusOK).JSON(t, &rep)
	if rep.Imported != 3 || rep.Unchanged != 0 {
		t.Fatalf("placements report %+v", rep)
	}
	if got, _ := f.getUnit(t, u1.ID); got.Status != UnitOccupied || len(got.Bookings) != 1 || got.LastDepartureOn == nil || *got.LastDepartureOn != day(1138) {
		t.Errorf("the unit of a stay under way: %+v", got)
	}
	var inU2 Page[Placement]
	f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/placements?unit="+u2.ID, nil).JSON(t, &inU2)
	if len(inU2.Items) != 1 || inU2.Items[0].Status != PlacementDeparted || *inU2.Items[0].Nights != 20 || inU2.Items[0].Departure.Destination != "rehoused" {
		t.Errorf("a past stay: %+v", inU2.Items)
	}
	var trail struct {
		Items []struct{ Action, Detail string }
	}
	f.as(t, "partnership-admin").Must(http.StatusOK, "GET", "/v1/placements/"+inU2.Items[0].ID+"/audit", nil).JSON(t, &trail)
	if len(trail.Items) == 0 || trail.Items[0].Detail != "imported from stays.csv (sha256 "+rep.SHA256+") row 4" {
		t.Errorf("the audit trail does not say where the stay came from: %+v", trail.Items)
	}
	// The events carry the historical dates, so reports count the stays in the right periods.
	msgs, err := f.tenant.Admin.XRange(context.Background(), "t:{kirklees}:events", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	departedAt := map[string]string{}
	for _, m := range msgs {
		if m.Values[events.FieldType] == string(events.TypePlacementDeparted) && strings.Contains(fmt.Sprint(m.Values[events.FieldData]), u2.ID) {
			departedAt[u2.ID] = fmt.Sprint(m.Values[events.FieldAt])
		}
	}
	if at, err := time.Parse(time.RFC3339Nano, departedAt[u2.ID]); err != nil || calendar.DateOf(at) != day(1160) {
		t.Errorf("the departure event is at %q, want %s", departedAt[u2.ID], day(1160))
	}

	// Sending the file again changes nothing.
	keysAfter := f.housingKeys(t)
	f.importCSV(t, f.base, "placements", "stays.csv", stays, http.StatusOK).JSON(t, &rep)
	if rep.Imported != 0 || rep.Unchanged != 3 || f.housingKeys(t) != keysAfter || keysAfter <= keysBefore {
		t.Errorf("a second send: %+v, %d keys then %d", rep, keysAfter, f.housingKeys(t))
	}

	bad := placementsHeader +
		"bad-1,imp-u1,imp-r1," + day(1120).String() + ",," + day(1125).String() + ",own-home,,\n" + // overlaps imp-p1
		"bad-2,imp-u2,imp-r1," + day(1165).String() + ",," + day(1175).String() + ",own-home,,\n" +
		"bad-3,imp-u2,imp-r1," + day(1170).String() + ",," + day(1180).String() + ",own-home,,\n" + // overlaps row 3
		"bad-4,nowhere,imp-r1," + day(1100).String() + ",," + day(1101).String() + ",own-home,,\n" +
		"bad-5,imp-u2,nobody," + day(1181).String() + ",," + day(1182).String() + ",own-home,,\n" +
		"bad-6,imp-u2,imp-r1," + day(1183).String() + ",," + day(1201).String() + ",own-home,,\n" + // in the future
		"bad-7,imp-u2,imp-r1," + day(1184).String() + ",," + day(1185).String() + ",,yes,\n" + // no destination
		"bad-8,imp-u2,imp-r1," + day(1186).String() + ",," + day(1187).String() + ",own-home,yes,\n" // unit not eligible
	f.importRefused(t, "placements", bad, "2 arrival", "4 arrival", "5 unit", "6 referral", "7 departedOn", "8 destination", "9 housingBenefitClaimed")
	if f.housingKeys(t) != keysAfter {
		t.Errorf("a file with problems wrote something")
	}

	f.testImportVoids(t, u1.ID, u2.ID)
	f.testImportRehousing(t, refByID)

	// The published examples import cleanly, and docs/import.md describes every column of the layouts.
	root := testenv.RepoRoot(t)
	for _, ex := range []struct{ base, layout string }{{f.referral, "referrals"}, {f.base, "units"}, {f.base, "placements"}, {f.base, "voids"}, {f.base, "rehousing-cases"}} {
		body, err := os.ReadFile(filepath.Join(root, "docs", "examples", ex.layout+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		f.importCSV(t, ex.base, ex.layout, ex.layout+".csv", string(body), http.StatusOK).JSON(t, &rep)
		if rep.Imported == 0 || rep.Imported != rep.Rows {
			t.Errorf("the %s example imported %+v", ex.layout, rep)
		}
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "import.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range slices.Concat(UnitLayout.ColumnNames(), PlacementLayout.ColumnNames(), VoidLayout.ColumnNames(), RehousingLayout.ColumnNames()) {
		if !strings.Contains(string(doc), "`"+c+"`") {
			t.Errorf("docs/import.md does not describe column %s", c)
		}
	}
	f.as(t, "partnership-admin").Must(http.StatusUnsupportedMediaType, "POST", "/v1/imports?layout=units", units)
	f.as(t, "partnership-admin").Must(http.StatusBadRequest, "POST", "/v1/imports?layout=referrals", units, "Content-Type", "text/csv")
	f.as(t, "housing-officer").Must(http.StatusForbidden, "POST", "/v1/imports?layout=units", units, "Content-Type", "text/csv")
}

// Rehousing cases are replayed through the live API's steps at their own dates: a case with bids,
// a refused and an accepted offer and a move-in ends rehoused with its days counted from the
// referral; an open case holds its referral; and a case the workflow would not allow is refused.
func (f *fixture) testImportRehousing(t *testing.T, openRef string) {
	cases := "importKey,referral,openedOn,bids,offers,moveInOn,withdrawnOn,withdrawnReason\n" +
		"imp-c1,imp-r1," + day(1101).String() + "," + day(1102).String() + "|Kirklees Council|KC-1;" + day(1103).String() + "|Yorkshire Housing," +
		day(1110).String() + "|Kirklees Council|1 Example Road|refused|" + day(1112).String() + "|too far from family;" +
		day(1112).String() + "|Yorkshire Housing|2 Example Close|accepted|" + day(1115).String() + "," + day(1130).String() + ",,\n" +
		"imp-c2," + openRef + "," + day(1200).String() + "," + day(1200).String() + "|Kirklees Council,,,,\n"
	var rep app.ImportReport
	f.importCSV(t, f.base, "rehousing-cases", "cases.csv", cases, http.StatusOK).JSON(t, &rep)
	if rep.Imported != 2 {
		t.Fatalf("rehousing report %+v", rep)
	}
	c := f.as(t, "coordinator")
	var rehoused Page[struct {
		ID       string
		MoveInOn *calendar.Date
	}]
	c.Must(http.StatusOK, "GET", "/v1/rehousing-cases?status=rehoused", nil).JSON(t, &rehoused)
	var full RehousingCase
	for _, it := range rehoused.Items {
		if it.MoveInOn != nil && *it.MoveInOn == day(1130) {
			c.Must(http.StatusOK, "GET", "/v1/rehousing-cases/"+it.ID, nil).JSON(t, &full)
		}
	}
	if len(full.Bids) != 2 || len(full.Offers) != 2 || full.Offers[0].Decision != "refused" || full.Offers[0].Reason != "too far from family" ||
		full.Offers[1].Decision != "accepted" || full.DaysToRehoused == nil || *full.DaysToRehoused != 30 || len(full.History) != 6 ||
		calendar.DateOf(full.History[5].At.In(calendar.London())) != day(1130) {
		t.Errorf("imported case %+v", full)
	}
	// The open case holds its referral, as one opened live would.
	c.Must(http.StatusConflict, "POST", "/v1/rehousing-cases", map[string]any{"referralId": openRef})

	bad := "importKey,referral,openedOn,bids,offers,moveInOn,withdrawnOn,withdrawnReason\n" +
		"bad-c1,imp-r1," + day(1101).String() + ",," + day(1110).String() + "|Kirklees Council|1 Example Road|accepted|" + day(1108).String() + ",,,\n" +
		"bad-c2,imp-r1," + day(1101).String() + ",," + day(1110).String() + "|Kirklees Council|1 Example Road;" + day(1111).String() + "|Yorkshire Housing|2 Example Close,,,\n" +
		"bad-c3,imp-r1," + day(1101).String() + ",,," + day(1120).String() + ",,\n" +
		"bad-c4," + openRef + "," + day(1200).String() + ",,,,,\n" +
		"bad-c5,imp-r1," + day(1090).String() + ",,,,,\n" +
		"bad-c6,imp-r1," + day(1101).String() + "," + day(1300).String() + "|Kirklees Council,,,,\n" +
		"bad-c7,imp-r1," + day(1101).String() + ",2026-13-01,,,,\n"
	before := f.housingKeys(t)
	f.importRefused(t, "rehousing-cases", bad, "2 offers", "3 offers", "4 moveInOn", "5 referral", "6 openedOn", "7 bids", "8 bids")
	if f.housingKeys(t) != before {
		t.Errorf("a file of cases with problems wrote something")
	}
}

// importRefused sends a file with problems and checks one is named at each "row column".
func (f *fixture) importRefused(t *testing.T, layout, file string, wants ...string) {
	t.Helper()
	var prob httpapi.Problem
	f.importCSV(t, f.base, layout, "bad.csv", file, http.StatusUnprocessableEntity).JSON(t, &prob)
	var where []string
	for _, e := range prob.ImportErrors {
		where = append(where, fmt.Sprintf("%d %s", e.Row, e.Column))
	}
	for _, want := range wants {
		if !slices.Contains(where, want) {
			t.Errorf("no error at row/column %q: %v", want, prob.ImportErrors)
		}
	}
}

// Void spells join their units' history: an ended one among its stays, one under way makes its
// unit void; a spell over a stay, another spell or another row, or before its unit, is refused.
func (f *fixture) testImportVoids(t *testing.T, occupiedUnit, freeUnit string) {
	voids := "importKey,unit,from,to,reason\n" +
		"imp-v1,imp-u1," + day(1138).String() + "," + day(1145).String() + ",cleaning\n" +
		"imp-v2," + freeUnit + "," + day(1160).String() + ",,repairs\n"
	var rep app.ImportReport
	f.importCSV(t, f.base, "voids", "voids.csv", voids, http.StatusOK).JSON(t, &rep)
	if rep.Imported != 2 {
		t.Fatalf("voids report %+v", rep)
	}
	occupied, _ := f.getUnit(t, occupiedUnit)
	wantPast := []StatusPeriod{{Status: UnitVoid, Reason: "cleaning", From: day(1138), To: ptr(day(1145))}}
	if diff := cmp.Diff(wantPast, occupied.Periods); diff != "" || occupied.Status != UnitOccupied {
		t.Errorf("a past void (-want +got):\n%s status %s", diff, occupied.Status)
	}
	free, _ := f.getUnit(t, freeUnit)
	if free.Status != UnitVoid || free.StatusSince != day(1160) || free.VoidReason != "repairs" {
		t.Errorf("a void under way: %+v", free)
	}
	f.importCSV(t, f.base, "voids", "voids.csv", voids, http.StatusOK).JSON(t, &rep)
	if rep.Imported != 0 || rep.Unchanged != 2 {
		t.Errorf("voids sent again: %+v", rep)
	}
	bad := "importKey,unit,from,to,reason\n" +
		"bad-v1,imp-u1," + day(1120).String() + "," + day(1125).String() + ",cleaning\n" + // over a stay
		"bad-v2,imp-u1," + day(1140).String() + "," + day(1150).String() + ",cleaning\n" + // over imp-v1
		"bad-v3,imp-u1," + day(1146).String() + ",,cleaning\n" + // under way in an occupied unit
		"bad-v4,imp-u1,2026-12-01,2026-12-02,cleaning\n" + // before the unit joined
		"bad-v5,imp-u1," + day(1147).String() + "," + day(1146).String() + ",cleaning\n" +
		"bad-v6,imp-u1," + day(1146).String() + "," + day(1147).String() + ",sofa\n" +
		"bad-v7,imp-u1," + day(1150).String() + "," + day(1155).String() + ",cleaning\n" +
		"bad-v8,imp-u1," + day(1152).String() + "," + day(1157).String() + ",cleaning\n" // over row 8
	before := f.housingKeys(t)
	f.importRefused(t, "voids", bad, "2 from", "3 from", "4 to", "5 from", "6 to", "7 reason", "9 from")
	if f.housingKeys(t) != before {
		t.Errorf("a file of voids with problems wrote something")
	}
}

func (f *fixture) testIdempotentBooking(t *testing.T) {
	u, _ := f.unit(t, unitBody("Home from Home", "flat", 1, "203.77"))
	ref := f.newReferral(t)
	c := f.as(t, "coordinator")
	body := map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(801), "plannedDeparture": day(808)}
	first := c.Must(http.StatusCreated, "POST", "/v1/placements", body, "Idempotency-Key", "book-801")
	var made, again Placement
	first.JSON(t, &made)
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Error("a first booking marked as replayed")
	}
	// The retry a client makes after a lost answer: the same placement, not a clash with itself.
	retry := c.Must(http.StatusCreated, "POST", "/v1/placements", body, "Idempotency-Key", "book-801")
	retry.JSON(t, &again)
	if again.ID != made.ID || retry.Header.Get("Idempotent-Replayed") != "true" || retry.Header.Get("Location") != "/v1/placements/"+made.ID {
		t.Errorf("retry answered %s (replayed %q, %s), first %s", again.ID, retry.Header.Get("Idempotent-Replayed"), retry.Header.Get("Location"), made.ID)
	}
	got, _ := f.getUnit(t, u.ID)
	if len(got.Bookings) != 1 {
		t.Errorf("the unit holds %d bookings after a retried booking: %+v", len(got.Bookings), got.Bookings)
	}
	// The same key for another booking is refused, and the key is the caller's own.
	other := map[string]any{"referralId": ref, "unitId": u.ID, "arrival": day(820)}
	if p := c.Must(http.StatusUnprocessableEntity, "POST", "/v1/placements", other, "Idempotency-Key", "book-801").Problem(t); p["type"] != "https://homeward.dev/problems/idempotency-key-reused" {
		t.Errorf("key reused: %v", p)
	}
	f.as(t, "housing-officer").Must(http.StatusCreated, "POST", "/v1/placements", other, "Idempotency-Key", "book-801")
	c.Must(http.StatusBadRequest, "POST", "/v1/placements", other, "Idempotency-Key", "a key with spaces")
}

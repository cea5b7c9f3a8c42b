package housing

import (
	"slices"
	"strings"
	"testing"

	"github.com/homeward-dev/homeward/services/kit/calendar"
)

func date(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func unit(id string, bedrooms int, cost string, features ...string) *Unit {
	return &Unit{ID: id, UnitFields: UnitFields{Scheme: "Home from Home", Bedrooms: bedrooms, WeeklyCost: cost, Features: features, MaxStayDays: 42},
		Status: UnitAvailable}
}

// The ranking rules of rankUnits, one at a time, and every reason a unit is left out.
func TestRankUnits(t *testing.T) {
	today := date("2026-11-30")
	ask := func(mod func(*MatchRequest)) *MatchRequest {
		r := &MatchRequest{Bedrooms: 1, Arrival: date("2026-12-01"), ExpectedStayDays: 14}
		if mod != nil {
			mod(r)
		}
		return r
	}
	for _, tc := range []struct {
		name      string
		units     []*Unit
		req       *MatchRequest
		wantOrder []string
		excluded  map[string]string // unit → a reason it gives
	}{
		{"scarce features are kept for those who need them", []*Unit{unit("A", 1, "200", "hoist"), unit("B", 1, "300")}, ask(nil), []string{"B", "A"}, nil},
		{"then fewest spare bedrooms", []*Unit{unit("A", 2, "100"), unit("B", 1, "300")}, ask(nil), []string{"B", "A"}, nil},
		{"then the lowest weekly cost", []*Unit{unit("A", 1, "250.50"), unit("B", 1, "250.49")}, ask(nil), []string{"B", "A"}, nil},
		{"then housing benefit", []*Unit{unit("A", 1, "200"), func() *Unit { u := unit("B", 1, "200"); u.HousingBenefitEligible = true; return u }()}, ask(nil), []string{"B", "A"}, nil},
		{"then the oldest unit", []*Unit{unit("B", 1, "200"), unit("A", 1, "200")}, ask(nil), []string{"A", "B"}, nil},
		{"a needed specialist feature is no cost", []*Unit{unit("A", 1, "200", "hoist"), unit("B", 1, "100")}, ask(func(r *MatchRequest) { r.Features = []string{"hoist"} }),
			[]string{"A"}, map[string]string{"B": "lacks hoist"}},
		{"every reason a unit is left out", []*Unit{
			func() *Unit { u := unit("V", 1, "200"); u.Status, u.VoidReason = UnitVoid, "cleaning"; return u }(),
			func() *Unit { u := unit("C", 1, "200"); u.Status = UnitClosed; return u }(),
			func() *Unit { u := unit("S", 1, "200"); u.Scheme = "Elsewhere"; return u }(),
			unit("R", 0, "200"),
			func() *Unit { u := unit("M", 1, "200"); u.MaxStayDays = 7; return u }(),
			unit("E", 1, "900"),
			func() *Unit {
				u := unit("K", 1, "200")
				u.Bookings = []Booking{{Placement: "P", From: date("2026-12-10"), To: date("2026-12-20")}}
				return u
			}(),
			unit("D", 1, "200"),
		}, ask(func(r *MatchRequest) { r.Scheme, r.MaxWeeklyCost, r.CarerStaying = "home from home", "500", false }),
			[]string{"D"}, map[string]string{"V": "void (cleaning)", "C": "closed", "S": "in Elsewhere", "R": "has 0 bedroom(s); 1 needed",
				"M": "maximum stay 7 nights", "E": "costs £900 a week, over £500.00", "K": "booked 2026-12-10 to 2026-12-20 (placement P)"}},
		{"a carer needs a room", []*Unit{unit("A", 1, "200"), unit("B", 2, "200")}, ask(func(r *MatchRequest) { r.CarerStaying = true }),
			[]string{"B"}, map[string]string{"A": "no room for a carer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := rankUnits(tc.units, tc.req, today)
			var order []string
			for i, m := range res.Matches {
				order = append(order, m.Unit.ID)
				if m.Rank != i+1 {
					t.Errorf("%s ranked %d at position %d", m.Unit.ID, m.Rank, i+1)
				}
			}
			if !slices.Equal(order, tc.wantOrder) || res.MatchCount != len(tc.wantOrder) {
				t.Errorf("order %v (%d matching), want %v", order, res.MatchCount, tc.wantOrder)
			}
			for id, reason := range tc.excluded {
				i := slices.IndexFunc(res.Excluded, func(e Exclusion) bool { return e.UnitID == id })
				if i < 0 || !strings.Contains(strings.Join(res.Excluded[i].Reasons, "; "), reason) {
					t.Errorf("%s is not left out because %q: %+v", id, reason, res.Excluded)
				}
			}
			if res.Departure != tc.req.Arrival.AddDays(14) {
				t.Errorf("departure %s", res.Departure)
			}
		})
	}
}

// A unit's nights, as the occupancy report counts them: Kirklees' flat 3 in November 2026.
func TestUnitOccupancy(t *testing.T) {
	from, to := date("2026-11-01"), date("2026-12-01")
	voidTo, arrived, departed := date("2026-11-05"), date("2026-11-05"), date("2026-11-19")
	fourteen, three := 14, 3
	u := unit("U", 1, "203.77")
	u.CreatedOn = date("2026-01-01")
	u.Periods = []StatusPeriod{
		{Status: UnitVoid, From: date("2026-10-30"), To: &voidTo},
		{Status: UnitClosed, From: date("2026-11-25")},
	}
	second := date("2026-11-21")
	placements := []*Placement{
		{ArrivedOn: &arrived, DepartedOn: &departed, Nights: &fourteen, TurnaroundDays: &three},
		{ArrivedOn: &second},                 // still there: counted to the end of the period
		{ArrivedOn: nil, Arrival: second},    // never arrived: no nights
		{ArrivedOn: ptr(date("2026-10-01"))}, // arrived before the period: only its nights inside count
	}
	o := unitOccupancy(u, placements[:3], from, to)
	want := Occupancy{Nights: 30, ClosedNights: 6, AvailableNights: 24, VoidNights: 4, OccupiedNights: 14 + 10, Stays: 1, Turnarounds: 1}
	if o.Nights != want.Nights || o.ClosedNights != want.ClosedNights || o.AvailableNights != want.AvailableNights ||
		o.VoidNights != want.VoidNights || o.OccupiedNights != want.OccupiedNights || o.Stays != want.Stays || o.Turnarounds != want.Turnarounds {
		t.Errorf("got %+v\nwant %+v", o, want)
	}
	o.finish()
	if o.OccupancyPercent == nil || *o.OccupancyPercent != 100 || *o.AverageStayNights != 14 || *o.AverageTurnaroundDays != 3 {
		t.Errorf("ratios %v %v %v", o.OccupancyPercent, o.AverageStayNights, o.AverageTurnaroundDays)
	}
	if got := unitOccupancy(u, placements[3:], from, to).OccupiedNights; got != 30 {
		t.Errorf("a stay from before the period counts %d nights of it, want 30", got)
	}
	for _, tc := range []struct {
		a, b, from, to string
		want           int
	}{
		{"2026-11-01", "2026-11-05", "2026-11-01", "2026-12-01", 4},
		{"2026-10-01", "2026-11-03", "2026-11-01", "2026-12-01", 2},
		{"2026-11-28", "2026-12-05", "2026-11-01", "2026-12-01", 3},
		{"2026-12-01", "2026-12-05", "2026-11-01", "2026-12-01", 0},
		{"2026-11-10", "2026-11-10", "2026-11-01", "2026-12-01", 0},
	} {
		if got := overlap(date(tc.a), date(tc.b), date(tc.from), date(tc.to)); got != tc.want {
			t.Errorf("overlap [%s, %s) in [%s, %s) = %d, want %d", tc.a, tc.b, tc.from, tc.to, got, tc.want)
		}
	}
}

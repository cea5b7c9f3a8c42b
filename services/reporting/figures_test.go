package reporting

import (
	"strings"
	"testing"

	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
)

// The savings figures from the counters, against the case studies' own arithmetic (docs/reporting.md):
// Kirklees' 56 nights in a flat cost £536.77 a week in residential care, £203.77 in step-down.
func TestSavingsFigures(t *testing.T) {
	kirklees := &config.CostModel{BedDayCost: "345", ResidentialCareWeekly: "536.77", StepDownWeekly: "203.77",
		SchemeAnnualCost: "36500", SavingsSplit: config.SavingsSplit{NHS: 50, LocalAuthority: 30, HousingProvider: 20}}
	for _, tc := range []struct {
		name                                  string
		counters                              map[string]int64
		days                                  int
		nhs, care, gross, scheme, net, nhsCut string
		roi                                   string
	}{
		{"56 nights without housing benefit: 8 weeks × £333.00", map[string]int64{fCareNightsNoHB: 56}, 0,
			"0.00", "2664.00", "2664.00", "0.00", "2664.00", "1332.00", ""},
		{"56 nights with housing benefit: 8 weeks × £536.77", map[string]int64{fCareNightsHB: 56}, 0,
			"0.00", "4294.16", "4294.16", "0.00", "4294.16", "2147.08", ""},
		{"bed days saved at £345, a scheme costing £100 a day", map[string]int64{fBedDaysSaved: 10}, 30,
			"3450.00", "0.00", "3450.00", "3000.00", "450.00", "1725.00", "0.15"},
		{"a fraction of a penny rounds once, at the end", map[string]int64{fCareNightsNoHB: 1}, 1,
			"0.00", "47.57", "47.57", "100.00", "-52.43", "23.79", "-0.52"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := figures{}.savings(tc.counters, kirklees, tc.days)
			for name, got := range map[string]Money{"nhs": s.NHSCostAvoided, "care": s.CareCostAvoided, "gross": s.Gross,
				"scheme": s.SchemeCost, "net": s.Net, "nhs share": s.Split.NHS} {
				want := map[string]string{"nhs": tc.nhs, "care": tc.care, "gross": tc.gross, "scheme": tc.scheme, "net": tc.net, "nhs share": tc.nhsCut}[name]
				if got.p.String() != want {
					t.Errorf("%s = %s, want %s", name, got.p.String(), want)
				}
			}
			switch {
			case tc.roi == "" && s.ROI != nil:
				t.Errorf("a return with no scheme cost: %+v", s.ROI)
			case tc.roi != "" && (s.ROI == nil || s.ROI.PerPound != tc.roi || s.ROI.Text != strings.Replace("£"+tc.roi, "£-", "−£", 1)+" per £1"):
				t.Errorf("return %+v, want %s", s.ROI, tc.roi)
			}
		})
	}
}

// Step-down occupancy from the counters of ended spells and the live hash of what is under way:
// nights of units, stays and spells still running are counted up to countedTo, inside the period.
func TestStepDownFigures(t *testing.T) {
	d := func(s string) calendar.Date {
		v, err := calendar.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	in := inputs{from: d("2026-11-01"), to: d("2026-12-01"), countedTo: d("2026-11-21"),
		sum: map[string]int64{"occ:A": 10, "void:A": 2, "st:A:n": 2, "st:A:nights": 10, "ta:A:n": 1, "ta:A:days": 3, "os:A": 1,
			"dep:dest:own-home": 1, "dep:dest:residential-care": 1},
		live: map[string]string{
			"unit:1":   `{"s":"A","c":"2026-01-01"}`,
			"unit:2":   `{"s":"A","c":"2026-11-11"}`, // added in the period: ten nights of it counted
			"unit:3":   `{"s":"B","c":"2026-12-05"}`, // added after the period: not one of its units
			"stay:P":   `{"s":"A","a":"2026-11-15","p":"2026-11-18"}`,
			"closed:2": `{"s":"A","f":"2026-11-19"}`,
		}}
	got := figures{}.stepDown(in)
	if len(got.Schemes) != 1 {
		t.Fatalf("schemes %+v, want only A", got.Schemes)
	}
	a := got.Schemes[0]
	want := SchemeFigures{Scheme: "A", Units: 2, Nights: 20 + 10, ClosedNights: 2, AvailableNights: 28, OccupiedNights: 10 + 6, VoidNights: 2}
	if a.Units != want.Units || a.Nights != want.Nights || a.ClosedNights != want.ClosedNights || a.AvailableNights != want.AvailableNights ||
		a.OccupiedNights != want.OccupiedNights || a.VoidNights != want.VoidNights || a.Stays.N != 2 || a.Turnarounds.N != 1 ||
		a.OverStaysEnded.N != 1 || a.OverStaysNow.N != 1 {
		t.Errorf("got %+v\nwant %+v, 2 stays, 1 turnaround, 1 over-stay ended and 1 now", a, want)
	}
	if v, ok := a.OccupancyPercent.Value(); !ok || v != 57.1 {
		t.Errorf("occupancy %v, want 57.1%% (16 of 28 nights)", v)
	}
	if v, _ := a.AverageStayNights.Value(); v != 5 {
		t.Errorf("average stay %v, want 5", v)
	}
	if got.Total.OccupiedNights != a.OccupiedNights || got.Destinations["own-home"].Count.N != 1 {
		t.Errorf("total %+v, destinations %+v", got.Total, got.Destinations)
	}
}

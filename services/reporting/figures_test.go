package reporting

import (
	"testing"

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
			case tc.roi != "" && (s.ROI == nil || s.ROI.PerPound != tc.roi || s.ROI.Text != "£"+tc.roi+" per £1"):
				t.Errorf("return %+v, want %s", s.ROI, tc.roi)
			}
		})
	}
}

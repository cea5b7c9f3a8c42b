package housing

import (
	"strings"
	"testing"

	"github.com/homeward-dev/homeward/services/kit/calendar"
)

func d(s string) calendar.Date {
	v, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func dp(s string) *calendar.Date {
	v := d(s)
	return &v
}

// TestCalendarNights pins each night's state: spells, a past stay, a booking, someone still there
// past their planned departure, cancelled stays left out, and nights before the unit joined.
func TestCalendarNights(t *testing.T) {
	u := &Unit{CreatedOn: d("2026-10-03"), Periods: []StatusPeriod{
		{Status: UnitVoid, From: d("2026-10-08"), To: dp("2026-10-10")},
		{Status: UnitClosed, From: d("2026-10-20"), To: dp("2026-10-21")},
	}}
	placements := []*Placement{
		{Status: PlacementDeparted, Arrival: d("2026-10-04"), PlannedDeparture: d("2026-10-09"), ArrivedOn: dp("2026-10-04"), DepartedOn: dp("2026-10-08")},
		{Status: PlacementCancelled, Arrival: d("2026-10-10"), PlannedDeparture: d("2026-10-12")},
		{Status: PlacementArrived, Arrival: d("2026-10-11"), PlannedDeparture: d("2026-10-13"), ArrivedOn: dp("2026-10-11")},
		{Status: PlacementConfirmed, Arrival: d("2026-10-17"), PlannedDeparture: d("2026-10-19")},
	}
	got := calendarNights(u, placements, d("2026-10-01"), d("2026-10-21"), d("2026-10-14"))
	short := map[string]string{NightFree: ".", NightBooked: "B", NightOccupied: "O", NightVoid: "V", NightClosed: "C", NightNotInScheme: "-"}
	var b strings.Builder
	for _, n := range got {
		b.WriteString(short[n])
	}
	// Nights 1–20 October: not in the scheme until the 3rd; a stay 4th–7th; void 8th–9th; the 10th
	// free (its booking cancelled); someone arrived on the 11th still there tonight (the 14th) past
	// their planned departure; booked 17th–18th; closed on the 20th.
	if want := "--.OOOOVV.OOOO..BB.C"; b.String() != want {
		t.Errorf("nights %s, want %s", b.String(), want)
	}
}

package reporting

import (
	"slices"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
)

// entry writes p as the services do and reads it back as ingest does.
func entry(t *testing.T, p events.Payload) Event {
	t.Helper()
	fields, err := events.Event{At: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), Payload: p}.Fields()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]any{}
	for i := 0; i < len(fields); i += 2 {
		values[fields[i]] = fields[i+1]
	}
	return events.Parse("1700000000000-0", values)
}

func fieldsOf(o []op) []string {
	var out []string
	for _, x := range o {
		out = append(out, string(x.kind)+" "+x.day.String()+" "+x.field)
	}
	return out
}

// Every event type the services write goes through translate: the ones reports count give their
// aggregate changes, the others none, and none is an error.
func TestEveryEventTypeTranslates(t *testing.T) {
	day := calendar.Date{Year: 2026, Month: 11, Day: 2}
	arrived := calendar.Date{Year: 2026, Month: 10, Day: 30}
	two, five, forty, fifty := 2, 5, 40, 50
	placement := events.Placement{PlacementID: "P", UnitID: "U", Scheme: "S", Arrival: arrived, PlannedDeparture: day.AddDays(10), ArrivedOn: &arrived}
	unit := events.Unit{UnitID: "U", Scheme: "S", CreatedOn: arrived}
	received := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	samples := map[events.Type]struct {
		payload events.Payload
		want    []string // some of the changes, "kind day field"
	}{
		events.TypeReferralReceived: {events.ReferralReceived{Source: "ward", Tenure: "homeless", Priority: "urgent", Needs: []string{"repairs"},
			ReceivedAt: received, ResponseDueAt: received.Add(96 * time.Hour)}, []string{"i 2026-11-02 rcv", "i 2026-11-02 rcv:need:repairs", "i 2026-11-06 due"}},
		events.TypeReferralFirstContact: {events.ReferralFirstContact{At: received, DueAt: received, Met: true}, []string{"i 2026-11-02 due:met"}},
		events.TypeReferralDischarged: {events.ReferralDischarged{Date: day, Destination: "own-home", DelayedDays: &two, DischargeReadyDate: &arrived,
			DelayReason: "awaiting-transport"}, []string{"i 2026-11-02 dis", "i 2026-11-02 delay", "i 2026-11-02 delay:reason:awaiting-transport"}},
		events.TypeReferralReadmitted:       {events.ReferralReadmitted{Date: day, DischargeDate: &arrived, Within30Days: true}, []string{"i 2026-10-30 readm30"}},
		events.TypeReferralFollowUpRecorded: {events.ReferralFollowUpRecorded{Days: 91, DueDate: day, Result: "at-home", Wellbeing: &fifty, WellbeingAtReferral: &forty}, []string{"i 2026-11-02 fu91:home", "i 2026-11-02 wb:91:sum"}},
		events.TypeRehousingRehoused:        {events.RehousingRehoused{Rehousing: events.Rehousing{ReferralSource: "ward", ReferralReceivedOn: arrived}, MoveInOn: day, DaysToRehoused: 30, DaysSavedAgainstBaseline: 60}, []string{"i 2026-11-02 reh", "i 2026-11-02 reh:hosp:saved"}},
		events.TypeUnitCreated:              {events.UnitCreated{Unit: unit}, []string{"s 0000-00-00 unit:U"}},
		events.TypeUnitChanged:              {events.UnitChanged{Unit: unit}, []string{"s 0000-00-00 unit:U"}},
		events.TypeUnitStatusChanged:        {events.UnitStatusChanged{Unit: unit, From: "void", To: "closed", On: day, VoidNights: &two}, []string{"i 2026-10-31 void:S", "i 2026-11-01 void:S", "d 0000-00-00 void:U", "s 0000-00-00 closed:U"}},
		events.TypeUnitVoidRecorded:         {events.UnitVoidRecorded{Unit: unit, Reason: "cleaning", From: arrived, To: day}, []string{"i 2026-10-30 void:S", "i 2026-11-01 void:S"}},
		events.TypePlacementArrived:         {events.PlacementArrived{Placement: placement, TurnaroundDays: &five}, []string{"s 0000-00-00 stay:P", "i 2026-10-30 ta:S:n"}},
		events.TypePlacementExtended:        {events.PlacementExtended{Placement: placement, PreviousPlannedDeparture: day}, []string{"s 0000-00-00 stay:P"}},
		events.TypePlacementDeparted:        {events.PlacementDeparted{Placement: placement, DepartedOn: day, Nights: 3, Destination: "own-home"}, []string{"i 2026-10-30 occ:S", "i 2026-11-01 occ:S", "i 2026-11-02 cc:nohb", "d 0000-00-00 stay:P", "s 0000-00-00 void:U"}},
	}
	for _, p := range events.All() {
		t.Run(string(p.EventType()), func(t *testing.T) {
			sample, counts := samples[p.EventType()]
			if counts {
				p = sample.payload
			}
			got, err := translate(entry(t, p))
			if err != nil {
				t.Fatal(err)
			}
			if !counts && len(got) > 0 {
				t.Fatalf("%s is not counted, yet changes %v", p.EventType(), fieldsOf(got))
			}
			for _, w := range sample.want {
				if !slices.Contains(fieldsOf(got), w) {
					t.Errorf("no %q among %v", w, fieldsOf(got))
				}
			}
		})
	}
	for typ := range samples {
		if _, ok := counted[typ]; !ok {
			t.Errorf("sample for %s, which reports do not count", typ)
		}
	}
	for typ := range counted {
		if _, ok := samples[typ]; !ok {
			t.Errorf("no sample for %s, which reports count", typ)
		}
	}
}

func TestEventsReportsCannotReadAreErrors(t *testing.T) {
	good := entry(t, events.ReferralFirstContact{DueAt: time.Now(), Met: true})
	for name, e := range map[string]Event{
		"unknown type":     {ID: "1-0", Type: "referral.teleported", Version: events.Version, Data: []byte(`{}`)},
		"unknown version":  func() Event { e := good; e.Version = "2"; return e }(),
		"missing a field":  entry(t, events.ReferralFirstContact{Met: true}),
		"data not JSON":    func() Event { e := good; e.Data = []byte(`{`); return e }(),
		"counted, no data": {ID: "1-0", Type: events.TypePlacementDeparted, Version: events.Version},
	} {
		if ops, err := translate(e); err == nil {
			t.Errorf("%s: no error, %d changes", name, len(ops))
		}
	}
}

// A past stay imported from old records counts its nights but does not void its unit now; the same
// departure recorded live does.
func TestAnImportedDepartureLeavesTheUnitAsItIs(t *testing.T) {
	arrived, departed := calendar.Date{Year: 2026, Month: 3, Day: 2}, calendar.Date{Year: 2026, Month: 3, Day: 16}
	placement := events.Placement{PlacementID: "P", UnitID: "U", Scheme: "S", Arrival: arrived, PlannedDeparture: departed, ArrivedOn: &arrived}
	for _, leftAsIs := range []bool{false, true} {
		got, err := translate(entry(t, events.PlacementDeparted{Placement: placement, DepartedOn: departed, Nights: 14, Destination: "own-home", UnitLeftAsIs: leftAsIs}))
		if err != nil {
			t.Fatal(err)
		}
		fields := fieldsOf(got)
		if voids := slices.Contains(fields, "s 0000-00-00 void:U"); voids == leftAsIs || !slices.Contains(fields, "i 2026-03-15 occ:S") {
			t.Errorf("left as is %v: %v", leftAsIs, fields)
		}
	}
}

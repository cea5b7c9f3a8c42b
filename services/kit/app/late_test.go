package app

import (
	"testing"

	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
)

func TestCheckEntryDay(t *testing.T) {
	today := calendar.Date{Year: 2026, Month: 11, Day: 30}
	seven := 7
	for _, tc := range []struct {
		name     string
		on       calendar.Date
		rules    config.Rules
		late, ok bool
	}{
		{"today is not late", today, config.Rules{}, false, true},
		{"yesterday is a late entry", today.AddDays(-1), config.Rules{}, true, true},
		{"the last day of the default 31", today.AddDays(-31), config.Rules{}, true, true},
		{"a day before it is refused", today.AddDays(-32), config.Rules{}, false, false},
		{"a partnership's own window", today.AddDays(-8), config.Rules{LateEntryDays: &seven}, false, false},
		{"tomorrow is refused", today.AddDays(1), config.Rules{}, false, false},
	} {
		late, prob := CheckEntryDay("on", tc.on, today, tc.rules)
		if late != tc.late || (prob == nil) != tc.ok {
			t.Errorf("%s: late %v, problem %v", tc.name, late, prob)
		}
		if prob != nil && (prob.Status != 422 || len(prob.Errors) != 1 || prob.Errors[0].Field != "on") {
			t.Errorf("%s: problem %+v", tc.name, prob)
		}
	}
	if got := LateAudit("POST /x", []LateEntry{{What: "a"}}, []LateEntry{{What: "a"}, {What: "arrival", On: today}}); got != "POST /x; late entry: arrival on 2026-11-30" {
		t.Errorf("audit detail %q", got)
	}
}

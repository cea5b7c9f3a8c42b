package referral

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/services/kit/events"
)

// The housing service reads the list summary stored with a referral as events.ReferralFacts: the
// names of those fields are the contract between the two services.
func TestTheStoredSummaryHoldsTheReferralFactsHousingReads(t *testing.T) {
	received := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	doc, err := json.Marshal(listItem{Summary: Summary{ID: "01KB0000000000000000000000", Status: StatusDeclined, Source: "gp", ReceivedAt: received}})
	if err != nil {
		t.Fatal(err)
	}
	var facts events.ReferralFacts
	if err := json.Unmarshal(doc, &facts); err != nil {
		t.Fatal(err)
	}
	if facts.ID != "01KB0000000000000000000000" || facts.Status != "declined" || facts.Source != "gp" || !facts.ReceivedAt.Equal(received) || facts.Open() {
		t.Errorf("housing reads %+v from %s", facts, doc)
	}
	for _, st := range Statuses {
		if st.Open() != events.ReferralOpen(string(st)) {
			t.Errorf("%s: the services disagree whether it is open", st)
		}
	}
}

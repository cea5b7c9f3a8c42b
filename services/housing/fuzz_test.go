package housing

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/homeward-dev/homeward/services/kit/httpapi"
)

// FuzzRequests: any body sent to a housing route is refused with a 4xx problem or decoded into a
// request that survives its own round trip: written back as JSON and read again, it is accepted and
// unchanged, so what the service keeps is what it checked.
func FuzzRequests(f *testing.F) {
	f.Add(uint8(0), `{"scheme":"Home from Home","address":{"line1":"1 Example Court","town":"Huddersfield","postcode":"HD1 2AB"},"ownerOrganisation":"KNH","type":"flat","bedrooms":1,"features":["lift"],"weeklyCost":"203.77","housingBenefitEligible":true}`)
	f.Add(uint8(1), `{"referralId":"01KB00000000000000000000AA","unitId":"01KB00000000000000000000AB","arrival":"2026-12-01","plannedDeparture":"2026-12-08"}`)
	f.Add(uint8(2), `{"features":["hoist","hoist"],"bedrooms":-1,"arrival":"2026-02-30","expectedStayDays":5,"maxWeeklyCost":"1e9"}`)
	f.Add(uint8(3), `{"to":"departed","on":"2026-12-09","destination":"own-home"}`)
	f.Add(uint8(4), `{"to":"void","voidReason":"repairs"}`)
	f.Add(uint8(5), `{"referralId":"x"}`)
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		kinds := []func() any{
			func() any { return &UnitRequest{} }, func() any { return &BookRequest{} }, func() any { return &MatchRequest{} },
			func() any { return &PlacementTransitionRequest{} }, func() any { return &UnitTransitionRequest{} },
			func() any { return &OpenRehousingRequest{} }, func() any { return &OfferRequest{} }, func() any { return &OfferResponseRequest{} },
			func() any { return &MoveInRequest{} }, func() any { return &HousingBenefitRequest{} }, func() any { return &BidRequest{} },
		}
		newRequest := kinds[int(which)%len(kinds)]
		first := newRequest()
		if p := httpapi.Decode(httptest.NewRequest("POST", "/", strings.NewReader(body)), first, httpapi.DefaultBodyLimit); p != nil {
			if p.Status < 400 || p.Status > 499 {
				t.Fatalf("status %d for %q", p.Status, body)
			}
			return
		}
		written, err := json.Marshal(first)
		if err != nil {
			t.Fatalf("accepted %q but cannot write it: %v", body, err)
		}
		second := newRequest()
		if p := httpapi.Decode(httptest.NewRequest("POST", "/", bytes.NewReader(written)), second, httpapi.DefaultBodyLimit); p != nil {
			t.Fatalf("accepted %q, but not its own JSON %s: %s", body, written, p.Detail)
		}
		if !reflect.DeepEqual(first, second) {
			t.Fatalf("%s read back differently: %+v, then %+v", written, first, second)
		}
	})
}

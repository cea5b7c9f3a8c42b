package referral

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/nhsnumber"
)

// FuzzCreateRequest: any body is either refused with a 4xx problem or yields a referral form that
// keeps every rule: consent to refer, known enumerations, a checked NHS number, ordered dates.
func FuzzCreateRequest(f *testing.F) {
	f.Add(`{"person":{"name":"A","nhsNumber":"943 476 5919"},"source":"ward","referrer":{"organisation":"H"},"consent":{"toRefer":true},"tenure":"other","needs":["repairs"],"priority":"routine"}`)
	f.Add(`{"person":{"name":"A","dateOfBirth":"1940-01-01"},"source":"gp","referrer":{"organisation":"H"},"consent":{"toRefer":true,"toShare":true},"tenure":"homeless","needs":["homelessness","other"],"priority":"emergency","admissionDate":"2026-01-01","dischargeReadyDate":"2026-01-02","wellbeing":40}`)
	f.Add(`{"person":{"name":"A"},"needs":[]}`)
	f.Add(`{"person":{"name":"A","nhsNumber":"9434765918"}}`)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/v1/referrals", strings.NewReader(body))
		var c CreateRequest
		if p := httpapi.Decode(req, &c, httpapi.DefaultBodyLimit); p != nil {
			if p.Status < 400 || p.Status > 499 {
				t.Fatalf("status %d for %q", p.Status, body)
			}
			return
		}
		if !c.Consent.ToRefer || len(c.Needs) == 0 || !slices.Contains(Sources, c.Source) || !slices.Contains(Priorities, c.Priority) || !slices.Contains(Tenures, c.Tenure) {
			t.Fatalf("accepted a form that breaks a rule: %+v", c)
		}
		if c.Person.NHSNumber != "" {
			if n, err := nhsnumber.Normalize(c.Person.NHSNumber); err != nil || n != c.Person.NHSNumber {
				t.Fatalf("accepted NHS number %q", c.Person.NHSNumber)
			}
		}
		if c.AdmissionDate != nil && c.DischargeReadyDate != nil && c.DischargeReadyDate.Before(*c.AdmissionDate) {
			t.Fatalf("accepted dates out of order: %+v", c)
		}
		if strings.TrimSpace(c.Person.Name) == "" {
			t.Fatal("accepted a person without a name")
		}
	})
}

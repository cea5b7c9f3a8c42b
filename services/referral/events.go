package referral

import (
	"time"

	"github.com/homeward-dev/homeward/services/kit/calendar"
)

// receivedData is what reporting needs of a new referral: no name, no NHS number, no contact. A
// struct rather than a map: it is encoded on every create.
type receivedData struct {
	Source               string         `json:"source"`
	Tenure               string         `json:"tenure"`
	Priority             string         `json:"priority"`
	Needs                []string       `json:"needs"`
	ReferrerOrganisation string         `json:"referrerOrganisation"`
	ReceivedAt           time.Time      `json:"receivedAt"`
	ResponseDueAt        time.Time      `json:"responseDueAt"`
	AdmissionDate        *calendar.Date `json:"admissionDate"`
	DischargeReadyDate   *calendar.Date `json:"dischargeReadyDate"`
	DelayReason          string         `json:"delayReason"`
	Wellbeing            *int           `json:"wellbeing"`
	ConsentToShare       bool           `json:"consentToShare"`
}

func receivedEvent(r *Referral) receivedData {
	return receivedData{
		Source: r.Source, Tenure: r.Tenure, Priority: r.Priority, Needs: r.Needs,
		ReferrerOrganisation: r.Referrer.Organisation, ReceivedAt: r.ReceivedAt.UTC(), ResponseDueAt: r.Response.DueAt.UTC(),
		AdmissionDate: r.AdmissionDate, DischargeReadyDate: r.DischargeReadyDate, DelayReason: r.DelayReason,
		Wellbeing: r.Wellbeing, ConsentToShare: r.Consent.ToShare,
	}
}

func dischargedEvent(r *Referral) map[string]any {
	return map[string]any{
		"date": r.Discharge.Date, "destination": r.Discharge.Destination, "delayedDays": r.Discharge.DelayedDays,
		"dischargeReadyDate": r.DischargeReadyDate, "delayReason": r.DelayReason, "source": r.Source,
		"receivedAt": r.ReceivedAt.UTC().Format(time.RFC3339Nano),
	}
}

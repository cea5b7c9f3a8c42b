package referral

import "time"

// receivedEvent is what reporting needs of a new referral: no name, no NHS number, no contact.
func receivedEvent(r *Referral) map[string]any {
	return map[string]any{
		"source": r.Source, "tenure": r.Tenure, "priority": r.Priority, "needs": r.Needs,
		"referrerOrganisation": r.Referrer.Organisation, "receivedAt": r.ReceivedAt.UTC().Format(time.RFC3339Nano),
		"responseDueAt": r.Response.DueAt.UTC().Format(time.RFC3339Nano), "admissionDate": r.AdmissionDate,
		"dischargeReadyDate": r.DischargeReadyDate, "delayReason": r.DelayReason, "wellbeing": r.Wellbeing,
		"consentToShare": r.Consent.ToShare,
	}
}

func dischargedEvent(r *Referral) map[string]any {
	return map[string]any{
		"date": r.Discharge.Date, "destination": r.Discharge.Destination, "delayedDays": r.Discharge.DelayedDays,
		"dischargeReadyDate": r.DischargeReadyDate, "delayReason": r.DelayReason, "source": r.Source,
		"receivedAt": r.ReceivedAt.UTC().Format(time.RFC3339Nano),
	}
}

package referral

import "github.com/homeward-dev/homeward/services/kit/events"

func receivedEvent(r *Referral) events.ReferralReceived {
	return events.ReferralReceived{
		Source: r.Source, Tenure: r.Tenure, Priority: r.Priority, Needs: r.Needs,
		ReferrerOrganisation: r.Referrer.Organisation, ReceivedAt: r.ReceivedAt.UTC(), ResponseDueAt: r.Response.DueAt.UTC(),
		AdmissionDate: r.AdmissionDate, DischargeReadyDate: r.DischargeReadyDate, DelayReason: r.DelayReason,
		Wellbeing: r.Wellbeing, ConsentToShare: r.Consent.ToShare,
	}
}

func dischargedEvent(r *Referral) events.ReferralDischarged {
	return events.ReferralDischarged{
		Date: r.Discharge.Date, Destination: r.Discharge.Destination, DelayedDays: r.Discharge.DelayedDays,
		DischargeReadyDate: r.DischargeReadyDate, DelayReason: r.DelayReason, Source: r.Source, ReceivedAt: r.ReceivedAt.UTC(),
	}
}

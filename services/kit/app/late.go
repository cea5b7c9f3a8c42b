package app

import (
	"fmt"
	"time"

	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
)

// LateEntry marks something recorded after the day it happened ("he arrived on Friday"), in the
// record it changed and in the audit trail.
type LateEntry struct {
	// What happened: "arrival", "first-contact", …
	What string `json:"what"`
	// On is the day it happened; RecordedAt when and By whom it was recorded.
	On         calendar.Date `json:"on"`
	RecordedAt time.Time     `json:"recordedAt"`
	By         auth.Staff    `json:"by"`
}

// Audit is how the audit trail says it.
func (l LateEntry) Audit() string { return "late entry: " + l.What + " on " + l.On.String() }

// CheckEntryDay checks the day something happened, recorded today: not in the future, and not further
// back than the partnership's late-entry window. late says whether it is a late entry (before today).
func CheckEntryDay(field string, on, today calendar.Date, rules config.Rules) (late bool, prob *httpapi.Problem) {
	if today.Before(on) {
		return false, httpapi.Invalid("the day has not come yet", httpapi.FieldError{Field: field, Message: "must not be after " + today.String()})
	}
	if earliest := rules.EarliestEntry(today); on.Before(earliest) {
		return false, httpapi.Invalid("too late to record",
			httpapi.FieldError{Field: field, Message: fmt.Sprintf("must not be before %s: the partnership's policy lets staff record what happened up to %d days late (policy.lateEntryDays)",
				earliest, rules.LateEntryWindow())})
	}
	return on.Before(today), nil
}

// LateAudit is the audit detail of a change: its route, and the late entries it added.
func LateAudit(detail string, before, after []LateEntry) string {
	for _, l := range after[min(len(before), len(after)):] {
		detail += "; " + l.Audit()
	}
	return detail
}

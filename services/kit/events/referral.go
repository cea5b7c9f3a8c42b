package events

import (
	"slices"
	"time"

	"github.com/homeward-dev/homeward/services/kit/calendar"
)

// The referral service's events.
const (
	TypeReferralReceived           Type = "referral.received"
	TypeReferralDetailsChanged     Type = "referral.details-changed"
	TypeReferralStatusChanged      Type = "referral.status-changed"
	TypeReferralKeyWorkerAssigned  Type = "referral.key-worker-assigned"
	TypeReferralFirstContact       Type = "referral.first-contact"
	TypeReferralNoteAdded          Type = "referral.note-added"
	TypeReferralActionCommissioned Type = "referral.action-commissioned"
	TypeReferralActionUpdated      Type = "referral.action-updated"
	TypeReferralDischarged         Type = "referral.discharged"
	TypeReferralReadmitted         Type = "referral.readmitted"
	TypeReferralFollowUpRecorded   Type = "referral.follow-up-recorded"
	TypeReferralErased             Type = "referral.erased"
)

// ReferralReceived is a new referral: what reporting needs of it, and nothing that identifies the person.
type ReferralReceived struct {
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

// ReferralDetailsChanged lists the non-personal details that changed; Contact says that a contact
// detail changed, never which (that itself is personal).
type ReferralDetailsChanged struct {
	Tenure             *string        `json:"tenure,omitempty"`
	Needs              []string       `json:"needs,omitempty"`
	DischargeReadyDate *calendar.Date `json:"dischargeReadyDate,omitempty"`
	DelayReason        *string        `json:"delayReason,omitempty"`
	ConsentToShare     *bool          `json:"consentToShare,omitempty"`
	Contact            bool           `json:"contact,omitempty"`
}

// ReferralStatusChanged is a move through the workflow.
type ReferralStatusChanged struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// ReferralKeyWorkerAssigned names the key worker's identity.
type ReferralKeyWorkerAssigned struct {
	KeyWorker string `json:"keyWorker"`
}

// ReferralFirstContact is the response to a referral, against its deadline.
type ReferralFirstContact struct {
	At       time.Time `json:"at"`
	DueAt    time.Time `json:"dueAt"`
	Met      bool      `json:"met"`
	Priority string    `json:"priority"`
}

// ReferralNoteAdded says a note was added, never what it says.
type ReferralNoteAdded struct {
	Note string `json:"note"`
	By   string `json:"by"`
}

// ReferralActionCommissioned is an action given to an organisation.
type ReferralActionCommissioned struct {
	Action  string    `json:"action"`
	Type    string    `json:"type"`
	Urgency string    `json:"urgency"`
	DueAt   time.Time `json:"dueAt"`
	Owner   string    `json:"owner"`
}

// ReferralActionUpdated is an action started, done or cancelled.
type ReferralActionUpdated struct {
	Action string    `json:"action"`
	Type   string    `json:"type"`
	Status string    `json:"status"`
	DueAt  time.Time `json:"dueAt"`
	OnTime bool      `json:"onTime"`
}

// ReferralDischarged is the person's discharge from hospital, with the delay if the discharge-ready
// date is known.
type ReferralDischarged struct {
	Date               calendar.Date  `json:"date"`
	Destination        string         `json:"destination"`
	DelayedDays        *int           `json:"delayedDays"`
	DischargeReadyDate *calendar.Date `json:"dischargeReadyDate"`
	DelayReason        string         `json:"delayReason"`
	Source             string         `json:"source"`
	ReceivedAt         time.Time      `json:"receivedAt"`
}

// ReferralReadmitted is a return to hospital after discharge.
type ReferralReadmitted struct {
	Date          calendar.Date  `json:"date"`
	DischargeDate *calendar.Date `json:"dischargeDate"`
	Within30Days  bool           `json:"within30Days"`
}

// ReferralFollowUpRecorded is the 30- or 91-day follow-up, with the wellbeing scores when taken.
type ReferralFollowUpRecorded struct {
	Days                int           `json:"days"`
	DueDate             calendar.Date `json:"dueDate"`
	Result              string        `json:"result"`
	Wellbeing           *int          `json:"wellbeing"`
	WellbeingAtReferral *int          `json:"wellbeingAtReferral"`
}

// ReferralErased is a closed referral's personal data erased at the end of its retention.
type ReferralErased struct {
	ClosedAt *time.Time `json:"closedAt"`
}

func (ReferralReceived) EventType() Type           { return TypeReferralReceived }
func (ReferralDetailsChanged) EventType() Type     { return TypeReferralDetailsChanged }
func (ReferralStatusChanged) EventType() Type      { return TypeReferralStatusChanged }
func (ReferralKeyWorkerAssigned) EventType() Type  { return TypeReferralKeyWorkerAssigned }
func (ReferralFirstContact) EventType() Type       { return TypeReferralFirstContact }
func (ReferralNoteAdded) EventType() Type          { return TypeReferralNoteAdded }
func (ReferralActionCommissioned) EventType() Type { return TypeReferralActionCommissioned }
func (ReferralActionUpdated) EventType() Type      { return TypeReferralActionUpdated }
func (ReferralDischarged) EventType() Type         { return TypeReferralDischarged }
func (ReferralReadmitted) EventType() Type         { return TypeReferralReadmitted }
func (ReferralFollowUpRecorded) EventType() Type   { return TypeReferralFollowUpRecorded }
func (ReferralErased) EventType() Type             { return TypeReferralErased }

// ClosedReferralStatuses are the statuses a referral ends in; every other status is open.
var ClosedReferralStatuses = []string{"closed", "declined", "withdrawn"}

// ReferralOpen reports whether a referral in status is still open.
func ReferralOpen(status string) bool { return !slices.Contains(ClosedReferralStatuses, status) }

// ReferralFacts are what the housing service reads of a referral: the referral service's list
// summary, stored with the referral, whose fields of these names are the contract between the two.
type ReferralFacts struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	Source     string    `json:"source"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// Open reports whether the referral is still open.
func (f ReferralFacts) Open() bool { return ReferralOpen(f.Status) }

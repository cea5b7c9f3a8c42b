package referral

import (
	"slices"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"

	"github.com/homeward-dev/homeward/services/kit/auth"

	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
)

// Status is where a referral is in the workflow.
type Status string

// The workflow states.
const (
	StatusReceived          Status = "received"
	StatusTriaged           Status = "triaged"
	StatusAssessing         Status = "assessing"
	StatusActionsInProgress Status = "actions-in-progress"
	StatusReadyForDischarge Status = "ready-for-discharge"
	StatusDischarged        Status = "discharged"
	StatusFollowUp          Status = "follow-up"
	StatusClosed            Status = "closed"
	StatusDeclined          Status = "declined"
	StatusWithdrawn         Status = "withdrawn"
)

// Statuses lists every state in workflow order.
var Statuses = []Status{StatusReceived, StatusTriaged, StatusAssessing, StatusActionsInProgress, StatusReadyForDischarge,
	StatusDischarged, StatusFollowUp, StatusClosed, StatusDeclined, StatusWithdrawn}

// Open reports whether the case is still being worked.
func (s Status) Open() bool { return events.ReferralOpen(string(s)) }

// Enumerations of the referral form. Each list is the complete set of accepted values.
var (
	Sources    = []string{"ward", "community", "care-home", "gp", "self"}
	Tenures    = []string{"social-rented", "owner-occupier", "private-rented", "homeless", "other"}
	Needs      = []string{"repairs", "adaptations", "clearance", "rehousing", "homelessness", "benefits-debt", "mental-health", "substance-use", "no-recourse-to-public-funds", "other"}
	Priorities = []string{"emergency", "urgent", "routine"}
	// DelayReasons follow the acute discharge SitRep; the first two are the housing reasons.
	DelayReasons = []string{
		"awaiting-equipment-adaptations-to-housing", "homeless-no-place-to-discharge",
		"awaiting-medical-decision", "awaiting-therapy-decision", "awaiting-medicines", "awaiting-transport",
		"awaiting-reablement-care", "awaiting-rehab-bed", "awaiting-care-home-bed", "family-not-in-agreement",
		"safeguarding", "repatriation", "awaiting-diagnostics", "infection-control", "other",
	}
	ActionTypes      = []string{"minor-repair", "adaptation", "clearance", "deep-clean", "rehousing", "benefits", "furniture", "utilities", "safeguarding", "other"}
	ActionStatuses   = []string{"open", "in-progress", "done", "cancelled"}
	Destinations     = []string{"own-home", "rehoused", "step-down", "extra-care", "residential-care", "other"}
	FollowUpResults  = []string{"at-home", "in-hospital", "in-care-home", "moved", "died", "not-contactable"}
	housingDelayList = DelayReasons[:2]
)

// HousingDelay reports whether a delay reason is caused by housing.
func HousingDelay(reason string) bool { return slices.Contains(housingDelayList, reason) }

// Person is the referred person: all of it is personal data, sealed at rest.
type Person struct {
	Name        string         `json:"name"`
	DateOfBirth *calendar.Date `json:"dateOfBirth,omitempty"`
	NHSNumber   string         `json:"nhsNumber,omitempty"`
	Address     string         `json:"address,omitempty"`
	Postcode    string         `json:"postcode,omitempty"`
	Phone       string         `json:"phone,omitempty"`
}

// Staff names a member of the partnership's staff.
type Staff = auth.Staff

// Referrer is who referred and from where.
type Referrer struct {
	Organisation string `json:"organisation"`
	Ward         string `json:"ward,omitempty"`
}

// Consent records the person's consent: to refer, and to share beyond the referring organisation.
type Consent struct {
	ToRefer bool `json:"toRefer"`
	ToShare bool `json:"toShare"`
}

// Response is the response target and whether first contact met it.
type Response struct {
	Target         string     `json:"target"`
	DueAt          time.Time  `json:"dueAt"`
	FirstContactAt *time.Time `json:"firstContactAt,omitempty"`
	Met            *bool      `json:"met,omitempty"`
	Overdue        bool       `json:"overdue"`
}

// Note is a case note; its text is personal data.
type Note struct {
	ID   string    `json:"id"`
	At   time.Time `json:"at"`
	By   Staff     `json:"by"`
	Text string    `json:"text"`
}

// Action is work commissioned for a referral from a partner organisation.
type Action struct {
	ID                string     `json:"id"`
	Type              string     `json:"type"`
	Detail            string     `json:"detail,omitempty"`
	OwnerOrganisation string     `json:"ownerOrganisation"`
	Urgency           string     `json:"urgency"`
	DueAt             time.Time  `json:"dueAt"`
	Status            string     `json:"status"`
	Overdue           bool       `json:"overdue"`
	CreatedAt         time.Time  `json:"createdAt"`
	CreatedBy         Staff      `json:"createdBy"`
	CompletedAt       *time.Time `json:"completedAt,omitempty"`
}

func (a Action) open() bool { return a.Status == "open" || a.Status == "in-progress" }

// Discharge is the outcome of the hospital stay.
type Discharge struct {
	Date        calendar.Date `json:"date"`
	Destination string        `json:"destination"`
	// DelayedDays is max(0, discharge date − discharge-ready date), when the latter is known.
	DelayedDays *int `json:"delayedDays,omitempty"`
}

// Readmission is a return to hospital after discharge.
type Readmission struct {
	Date       calendar.Date `json:"date"`
	Within30   bool          `json:"within30Days"`
	RecordedBy Staff         `json:"recordedBy"`
}

// FollowUp is a contact due a number of days after discharge.
type FollowUp struct {
	Days       int           `json:"days"`
	DueDate    calendar.Date `json:"dueDate"`
	Result     string        `json:"result,omitempty"`
	Wellbeing  *int          `json:"wellbeing,omitempty"`
	RecordedAt *time.Time    `json:"recordedAt,omitempty"`
	RecordedBy *Staff        `json:"recordedBy,omitempty"`
}

// Transition is one workflow move.
type Transition struct {
	From   Status    `json:"from"`
	To     Status    `json:"to"`
	At     time.Time `json:"at"`
	By     Staff     `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

// Form is what the referral form says beyond the person: the facts a referral starts from.
type Form struct {
	Source             string         `json:"source"`
	Referrer           Referrer       `json:"referrer"`
	Consent            Consent        `json:"consent"`
	Tenure             string         `json:"tenure"`
	Needs              []string       `json:"needs"`
	Priority           string         `json:"priority"`
	AdmissionDate      *calendar.Date `json:"admissionDate,omitempty"`
	DischargeReadyDate *calendar.Date `json:"dischargeReadyDate,omitempty"`
	DelayReason        string         `json:"delayReason,omitempty"`
	// Wellbeing is a WEMWBS score (14–70) taken at referral, where the scheme records one.
	Wellbeing *int `json:"wellbeing,omitempty"`
}

// Referral is a person referred because housing holds up their discharge.
type Referral struct {
	ID     string  `json:"id"`
	Status Status  `json:"status"`
	Person *Person `json:"person,omitempty"`
	Form
	ReceivedAt   time.Time     `json:"receivedAt"`
	Response     Response      `json:"response"`
	KeyWorker    *Staff        `json:"keyWorker,omitempty"`
	Notes        []Note        `json:"notes"`
	Actions      []Action      `json:"actions"`
	Discharge    *Discharge    `json:"discharge,omitempty"`
	Readmissions []Readmission `json:"readmissions"`
	FollowUps    []FollowUp    `json:"followUps"`
	History      []Transition  `json:"history"`
	CreatedBy    Staff         `json:"createdBy"`
	CreatedAt    time.Time     `json:"createdAt"`
	UpdatedAt    time.Time     `json:"updatedAt"`
	ClosedAt     *time.Time    `json:"closedAt,omitempty"`
	// ErasedAt is when retention removed the personal data; the de-identified facts stay.
	ErasedAt *time.Time `json:"erasedAt,omitempty"`
	// LateEntries are what was recorded after the day it happened.
	LateEntries []app.LateEntry `json:"lateEntries,omitempty"`
	// Allowed are the workflow moves open from the status, filled when the referral is answered so
	// that callers offer only those and never keep a copy of the workflow.
	Allowed []Status `json:"allowed,omitzero"`
}

// Summary is a referral as lists show it.
type Summary struct {
	ID                   string    `json:"id"`
	Status               Status    `json:"status"`
	Name                 string    `json:"name,omitempty"`
	NHSNumber            string    `json:"nhsNumber,omitempty"`
	Priority             string    `json:"priority"`
	Source               string    `json:"source"`
	Needs                []string  `json:"needs"`
	ReferrerOrganisation string    `json:"referrerOrganisation"`
	ReceivedAt           time.Time `json:"receivedAt"`
	ResponseDueAt        time.Time `json:"responseDueAt"`
	Overdue              bool      `json:"overdue"`
	OverdueActions       int       `json:"overdueActions"`
	KeyWorker            *Staff    `json:"keyWorker,omitempty"`
}

// withClock fills the fields that depend on the time of reading.
func (r *Referral) withClock(now time.Time) {
	r.Response.Overdue = r.Status.Open() && r.Response.FirstContactAt == nil && now.After(r.Response.DueAt)
	for i := range r.Actions {
		a := &r.Actions[i]
		a.Overdue = a.open() && now.After(a.DueAt)
	}
}

func (r *Referral) summary() Summary {
	s := Summary{ID: r.ID, Status: r.Status, Priority: r.Priority, Source: r.Source, Needs: r.Needs,
		ReferrerOrganisation: r.Referrer.Organisation, ReceivedAt: r.ReceivedAt, ResponseDueAt: r.Response.DueAt,
		Overdue: r.Response.Overdue, KeyWorker: r.KeyWorker}
	if r.Person != nil {
		s.Name, s.NHSNumber = r.Person.Name, r.Person.NHSNumber
	}
	for _, a := range r.Actions {
		if a.Overdue {
			s.OverdueActions++
		}
	}
	return s
}

package events

import "github.com/homeward-dev/homeward/services/kit/calendar"

// The housing-options service's events.
const (
	TypeUnitCreated       Type = "unit.created"
	TypeUnitChanged       Type = "unit.changed"
	TypeUnitStatusChanged Type = "unit.status-changed"
	TypeUnitVoidRecorded  Type = "unit.void-recorded"

	TypePlacementBooked                Type = "placement.booked"
	TypePlacementConfirmed             Type = "placement.confirmed"
	TypePlacementArrived               Type = "placement.arrived"
	TypePlacementExtended              Type = "placement.extended"
	TypePlacementDeparted              Type = "placement.departed"
	TypePlacementCancelled             Type = "placement.cancelled"
	TypePlacementNotArrived            Type = "placement.not-arrived"
	TypePlacementHousingBenefitClaimed Type = "placement.housing-benefit-claimed"

	TypeRehousingOpened        Type = "rehousing.opened"
	TypeRehousingBid           Type = "rehousing.bid"
	TypeRehousingOffered       Type = "rehousing.offered"
	TypeRehousingOfferAccepted Type = "rehousing.offer-accepted"
	TypeRehousingOfferRefused  Type = "rehousing.offer-refused"
	TypeRehousingRehoused      Type = "rehousing.rehoused"
	TypeRehousingWithdrawn     Type = "rehousing.withdrawn"
)

// Unit is what every unit event carries.
type Unit struct {
	UnitID    string        `json:"unitId"`
	Scheme    string        `json:"scheme"`
	Type      string        `json:"type"`
	Bedrooms  int           `json:"bedrooms"`
	CreatedOn calendar.Date `json:"createdOn"`
}

// UnitCreated is a unit added to a scheme.
type UnitCreated struct {
	Unit
	WeeklyCost string `json:"weeklyCost"`
}

// UnitChanged is a unit's cost or features edited.
type UnitChanged struct {
	Unit
	WeeklyCost string   `json:"weeklyCost"`
	Features   []string `json:"features"`
}

// UnitStatusChanged is a unit made void, ready, closed or reopened; the nights of the void or closed
// spell it ends are given with it.
type UnitStatusChanged struct {
	Unit
	From         string        `json:"from"`
	To           string        `json:"to"`
	Reason       string        `json:"reason"`
	On           calendar.Date `json:"on"`
	VoidNights   *int          `json:"voidNights,omitempty"`
	ClosedNights *int          `json:"closedNights,omitempty"`
}

// UnitVoidRecorded is a void spell that began and ended before it was recorded (imported from a
// partnership's old records): its nights count, and the unit's status now is left as it is.
type UnitVoidRecorded struct {
	Unit
	Reason string        `json:"reason"`
	From   calendar.Date `json:"from"`
	To     calendar.Date `json:"to"`
}

// Placement is what every placement event carries.
type Placement struct {
	PlacementID            string         `json:"placementId"`
	UnitID                 string         `json:"unitId"`
	Scheme                 string         `json:"scheme"`
	Arrival                calendar.Date  `json:"arrival"`
	PlannedDeparture       calendar.Date  `json:"plannedDeparture"`
	WeeklyCost             string         `json:"weeklyCost"`
	HousingBenefitEligible bool           `json:"housingBenefitEligible"`
	ArrivedOn              *calendar.Date `json:"arrivedOn,omitempty"`
}

// PlacementBooked is a provisional booking.
type PlacementBooked struct{ Placement }

// PlacementConfirmed is a booking confirmed.
type PlacementConfirmed struct{ Placement }

// PlacementCancelled is a booking cancelled before arrival.
type PlacementCancelled struct{ Placement }

// PlacementNotArrived is a confirmed booking the person never arrived for.
type PlacementNotArrived struct{ Placement }

// PlacementArrived is the person's arrival, and how long the unit stood empty before it.
type PlacementArrived struct {
	Placement
	TurnaroundDays *int `json:"turnaroundDays"`
}

// PlacementExtended is a stay's planned departure moved later.
type PlacementExtended struct {
	Placement
	PreviousPlannedDeparture calendar.Date `json:"previousPlannedDeparture"`
}

// PlacementDeparted is the end of a stay.
type PlacementDeparted struct {
	Placement
	DepartedOn            calendar.Date `json:"departedOn"`
	Nights                int           `json:"nights"`
	Destination           string        `json:"destination"`
	HousingBenefitClaimed bool          `json:"housingBenefitClaimed"`
	TurnaroundDays        *int          `json:"turnaroundDays"`
	OverStayNights        int           `json:"overStayNights"`
	// UnitLeftAsIs marks a past stay imported from old records: unlike a departure recorded live, it
	// does not make the unit void now (the void spells of its history are imported on their own).
	UnitLeftAsIs bool `json:"unitLeftAsIs,omitempty"`
}

// PlacementHousingBenefitClaimed is housing benefit claimed for a stay.
type PlacementHousingBenefitClaimed struct {
	Placement
	ClaimedOn        calendar.Date `json:"claimedOn"`
	DaysAfterArrival *int          `json:"daysAfterArrival,omitempty"`
}

// Rehousing is what every rehousing event carries.
type Rehousing struct {
	CaseID                  string        `json:"caseId"`
	Status                  string        `json:"status"`
	ReferralSource          string        `json:"referralSource"`
	ReferralReceivedOn      calendar.Date `json:"referralReceivedOn"`
	WaitingListBaselineDays int           `json:"waitingListBaselineDays"`
}

// RehousingOpened is a rehousing case opened for a referral.
type RehousingOpened struct{ Rehousing }

// RehousingBid is a bid for a home.
type RehousingBid struct {
	Rehousing
	BidID       string        `json:"bidId"`
	SubmittedOn calendar.Date `json:"submittedOn"`
}

// RehousingOffered is an offer of a home.
type RehousingOffered struct {
	Rehousing
	OfferID   string        `json:"offerId"`
	OfferedOn calendar.Date `json:"offeredOn"`
}

// RehousingOfferAccepted is an offer accepted.
type RehousingOfferAccepted struct {
	Rehousing
	OfferID     string        `json:"offerId"`
	RespondedOn calendar.Date `json:"respondedOn"`
}

// RehousingOfferRefused is an offer refused.
type RehousingOfferRefused struct {
	Rehousing
	OfferID     string        `json:"offerId"`
	RespondedOn calendar.Date `json:"respondedOn"`
}

// RehousingRehoused is the move into a permanent home, against the waiting-list baseline.
type RehousingRehoused struct {
	Rehousing
	MoveInOn                 calendar.Date `json:"moveInOn"`
	DaysToRehoused           int           `json:"daysToRehoused"`
	DaysSavedAgainstBaseline int           `json:"daysSavedAgainstBaseline"`
}

// RehousingWithdrawn is a case closed without a move.
type RehousingWithdrawn struct{ Rehousing }

func (UnitCreated) EventType() Type                    { return TypeUnitCreated }
func (UnitChanged) EventType() Type                    { return TypeUnitChanged }
func (UnitStatusChanged) EventType() Type              { return TypeUnitStatusChanged }
func (UnitVoidRecorded) EventType() Type               { return TypeUnitVoidRecorded }
func (PlacementBooked) EventType() Type                { return TypePlacementBooked }
func (PlacementConfirmed) EventType() Type             { return TypePlacementConfirmed }
func (PlacementArrived) EventType() Type               { return TypePlacementArrived }
func (PlacementExtended) EventType() Type              { return TypePlacementExtended }
func (PlacementDeparted) EventType() Type              { return TypePlacementDeparted }
func (PlacementCancelled) EventType() Type             { return TypePlacementCancelled }
func (PlacementNotArrived) EventType() Type            { return TypePlacementNotArrived }
func (PlacementHousingBenefitClaimed) EventType() Type { return TypePlacementHousingBenefitClaimed }
func (RehousingOpened) EventType() Type                { return TypeRehousingOpened }
func (RehousingBid) EventType() Type                   { return TypeRehousingBid }
func (RehousingOffered) EventType() Type               { return TypeRehousingOffered }
func (RehousingOfferAccepted) EventType() Type         { return TypeRehousingOfferAccepted }
func (RehousingOfferRefused) EventType() Type          { return TypeRehousingOfferRefused }
func (RehousingRehoused) EventType() Type              { return TypeRehousingRehoused }
func (RehousingWithdrawn) EventType() Type             { return TypeRehousingWithdrawn }

// All is one payload of every event type the services write, for tests that must cover them all.
func All() []Payload {
	return []Payload{
		ReferralReceived{}, ReferralDetailsChanged{}, ReferralStatusChanged{}, ReferralKeyWorkerAssigned{},
		ReferralFirstContact{}, ReferralNoteAdded{}, ReferralActionCommissioned{}, ReferralActionUpdated{},
		ReferralDischarged{}, ReferralReadmitted{}, ReferralFollowUpRecorded{}, ReferralErased{},
		UnitCreated{}, UnitChanged{}, UnitStatusChanged{}, UnitVoidRecorded{},
		PlacementBooked{}, PlacementConfirmed{}, PlacementArrived{}, PlacementExtended{}, PlacementDeparted{},
		PlacementCancelled{}, PlacementNotArrived{}, PlacementHousingBenefitClaimed{},
		RehousingOpened{}, RehousingBid{}, RehousingOffered{}, RehousingOfferAccepted{}, RehousingOfferRefused{},
		RehousingRehoused{}, RehousingWithdrawn{},
	}
}

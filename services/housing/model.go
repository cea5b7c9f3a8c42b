package housing

import (
	"slices"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"

	"github.com/homeward-dev/homeward/services/kit/auth"

	"github.com/homeward-dev/homeward/services/kit/calendar"
)

// Enumerations of the housing API. Each list is the complete set of accepted values.
var (
	UnitTypes    = []string{"flat", "apartment", "shared-apartment", "bungalow", "room"}
	Features     = []string{"wheelchair-accessible", "level-access-shower", "ground-floor", "hoist", "lift", "two-bedroom-carer", "on-site-care", "assistive-technology"}
	VoidReasons  = []string{"cleaning", "repairs", "adaptation-install", "awaiting-allocation", "other"}
	Destinations = []string{"own-home", "rehoused", "extra-care", "sheltered", "residential-care", "hospital", "other"}
)

// specialistFeatures are scarce: matching offers a unit with them last to someone who does not
// need them, so it stays free for someone who does.
var specialistFeatures = []string{"wheelchair-accessible", "hoist", "two-bedroom-carer", "on-site-care"}

// UnitStatus is where a unit stands.
type UnitStatus string

// Unit statuses. Occupied is set only by a placement's arrival; void by a departure or by staff.
const (
	UnitAvailable UnitStatus = "available"
	UnitOccupied  UnitStatus = "occupied"
	UnitVoid      UnitStatus = "void"
	UnitClosed    UnitStatus = "closed"
)

// unitMoves are the status changes staff make directly.
var unitMoves = map[UnitStatus][]UnitStatus{
	UnitAvailable: {UnitVoid, UnitClosed},
	UnitVoid:      {UnitAvailable, UnitClosed},
	UnitClosed:    {UnitAvailable},
	UnitOccupied:  {},
}

// withAllowed fills the moves open from the unit's status.
func (u *Unit) withAllowed() { u.Allowed = append(make([]UnitStatus, 0, 2), unitMoves[u.Status]...) }

// Staff is a member of staff as records name them.
type Staff = auth.Staff

// Address is a unit's address (a building's, not a person's).
type Address struct {
	Line1    string `json:"line1"`
	Line2    string `json:"line2,omitempty"`
	Town     string `json:"town"`
	Postcode string `json:"postcode"`
}

// UnitFields are the editable facts about a unit.
type UnitFields struct {
	Scheme                 string   `json:"scheme"`
	Address                Address  `json:"address"`
	OwnerOrganisation      string   `json:"ownerOrganisation"`
	Type                   string   `json:"type"`
	Bedrooms               int      `json:"bedrooms"`
	Features               []string `json:"features"`
	WeeklyCost             string   `json:"weeklyCost"`
	HousingBenefitEligible bool     `json:"housingBenefitEligible"`
	MaxStayDays            int      `json:"maxStayDays"`
}

// Unit is one step-down unit.
type Unit struct {
	ID string `json:"id"`
	UnitFields
	Status      UnitStatus    `json:"status"`
	VoidReason  string        `json:"voidReason,omitempty"`
	StatusSince calendar.Date `json:"statusSince"`
	// Bookings are the unit's live placements (provisional to extended), nights [from, to).
	Bookings        []Booking      `json:"bookings"`
	LastDepartureOn *calendar.Date `json:"lastDepartureOn,omitempty"`
	// Periods are the unit's void and closed spells, for occupancy figures.
	Periods   []StatusPeriod `json:"periods,omitzero"`
	CreatedOn calendar.Date  `json:"createdOn"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
	// Allowed are the status changes staff may make now, filled when the unit is answered so the
	// portal offers exactly those.
	Allowed []UnitStatus `json:"allowed,omitzero"`
}

// Booking holds a unit for a placement for the nights [From, To).
type Booking struct {
	Placement string        `json:"placement"`
	From      calendar.Date `json:"from"`
	To        calendar.Date `json:"to"`
}

// overlaps reports whether the nights [from, to) meet the booking's.
func (b Booking) overlaps(from, to calendar.Date) bool {
	return b.From.Before(to) && from.Before(b.To)
}

// StatusPeriod is one void or closed spell of a unit; To is nil while it lasts.
type StatusPeriod struct {
	Status UnitStatus     `json:"status"`
	Reason string         `json:"reason,omitempty"`
	From   calendar.Date  `json:"from"`
	To     *calendar.Date `json:"to,omitempty"`
}

// bookable says why a unit cannot take a booking, or "" when it can.
func (u *Unit) bookable() string {
	switch u.Status {
	case UnitVoid:
		return "the unit is void (" + u.VoidReason + ") until it is made ready"
	case UnitClosed:
		return "the unit is closed"
	}
	return ""
}

// clash is the booking of another placement that meets the nights [from, to), if any.
func (u *Unit) clash(from, to calendar.Date, except string) *Booking {
	for i, b := range u.Bookings {
		if b.Placement != except && b.overlaps(from, to) {
			return &u.Bookings[i]
		}
	}
	return nil
}

func (u *Unit) dropBooking(placement string) {
	u.Bookings = slices.DeleteFunc(u.Bookings, func(b Booking) bool { return b.Placement == placement })
}

func (u *Unit) setBooking(b Booking) {
	u.dropBooking(b.Placement)
	u.Bookings = append(u.Bookings, b)
	slices.SortFunc(u.Bookings, func(a, b Booking) int { return a.From.Compare(b.From) })
}

// setStatus moves the unit to status on a day, opening and closing void and closed spells.
func (u *Unit) setStatus(to UnitStatus, reason string, on calendar.Date) {
	if n := len(u.Periods); n > 0 && u.Periods[n-1].To == nil {
		end := on
		u.Periods[n-1].To = &end
	}
	if to == UnitVoid || to == UnitClosed {
		u.Periods = append(u.Periods, StatusPeriod{Status: to, Reason: reason, From: on})
	}
	u.Status, u.StatusSince, u.VoidReason = to, on, ""
	if to == UnitVoid {
		u.VoidReason = reason
	}
}

// PlacementStatus is where a placement stands.
type PlacementStatus string

// Placement statuses.
const (
	PlacementProvisional PlacementStatus = "provisional"
	PlacementConfirmed   PlacementStatus = "confirmed"
	PlacementArrived     PlacementStatus = "arrived"
	PlacementExtended    PlacementStatus = "extended"
	PlacementDeparted    PlacementStatus = "departed"
	PlacementCancelled   PlacementStatus = "cancelled"
	PlacementNotArrived  PlacementStatus = "not-arrived"
)

// placementMoves is the placement workflow: every move a placement may make.
var placementMoves = map[PlacementStatus][]PlacementStatus{
	PlacementProvisional: {PlacementConfirmed, PlacementCancelled},
	PlacementConfirmed:   {PlacementArrived, PlacementCancelled, PlacementNotArrived},
	PlacementArrived:     {PlacementExtended, PlacementDeparted},
	PlacementExtended:    {PlacementExtended, PlacementDeparted},
	PlacementDeparted:    {},
	PlacementCancelled:   {},
	PlacementNotArrived:  {},
}

// withAllowed fills the moves open from the placement's status.
func (p *Placement) withAllowed() {
	p.Allowed = append(make([]PlacementStatus, 0, 3), placementMoves[p.Status]...)
}

// inUnit reports whether the person is staying in the unit.
func (s PlacementStatus) inUnit() bool { return s == PlacementArrived || s == PlacementExtended }

// Placement is a person's stay in a unit, for a referral.
type Placement struct {
	ID               string          `json:"id"`
	ReferralID       string          `json:"referralId"`
	UnitID           string          `json:"unitId"`
	Scheme           string          `json:"scheme"`
	Status           PlacementStatus `json:"status"`
	Arrival          calendar.Date   `json:"arrival"`
	PlannedDeparture calendar.Date   `json:"plannedDeparture"`
	CarerStaying     bool            `json:"carerStaying"`
	WeeklyCost       string          `json:"weeklyCost"`
	ArrivedOn        *calendar.Date  `json:"arrivedOn,omitempty"`
	DepartedOn       *calendar.Date  `json:"departedOn,omitempty"`
	// Nights is the length of a finished stay.
	Nights *int `json:"nights,omitempty"`
	// TurnaroundDays is how long the unit stood empty between its last departure and this arrival.
	TurnaroundDays *int           `json:"turnaroundDays,omitempty"`
	HousingBenefit HousingBenefit `json:"housingBenefit"`
	Extensions     []Extension    `json:"extensions,omitzero"`
	Departure      *Departure     `json:"departure,omitempty"`
	History        []Transition   `json:"history,omitzero"`
	CreatedBy      Staff          `json:"createdBy"`
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt"`
	// LateEntries are what was recorded after the day it happened.
	LateEntries []app.LateEntry `json:"lateEntries,omitempty"`
	Flags       *PlacementFlags `json:"flags,omitempty"`
	// Allowed are the workflow moves open now, filled when the placement is answered.
	Allowed []PlacementStatus `json:"allowed,omitzero"`
}

// PlacementFlags are worked out when a placement is read.
type PlacementFlags struct {
	// OverStay: still in the unit after the planned departure.
	OverStay bool `json:"overStay"`
	// HousingBenefitClaimOverdue: eligible, no claim recorded, and arrived more than the policy's
	// housingBenefitClaimDays ago.
	HousingBenefitClaimOverdue bool `json:"housingBenefitClaimOverdue"`
}

// HousingBenefit records the claim for a stay in an eligible unit.
type HousingBenefit struct {
	Eligible  bool           `json:"eligible"`
	ClaimedOn *calendar.Date `json:"claimedOn,omitempty"`
}

// Extension is one lengthening of a stay.
type Extension struct {
	From   calendar.Date `json:"from"`
	To     calendar.Date `json:"to"`
	Reason string        `json:"reason"`
	At     time.Time     `json:"at"`
	By     Staff         `json:"by"`
}

// Departure is how a stay ended.
type Departure struct {
	Destination           string `json:"destination"`
	HousingBenefitClaimed bool   `json:"housingBenefitClaimed"`
	VoidReason            string `json:"voidReason"`
}

// Transition is one move of a record's workflow.
type Transition struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	By     Staff     `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

// flags works out the read-time flags of a placement on a day.
func (p *Placement) flags(today calendar.Date, claimDays int) *PlacementFlags {
	f := &PlacementFlags{}
	if p.Status.inUnit() {
		f.OverStay = p.PlannedDeparture.Before(today)
		f.HousingBenefitClaimOverdue = p.HousingBenefit.Eligible && p.HousingBenefit.ClaimedOn == nil &&
			p.ArrivedOn != nil && p.ArrivedOn.DaysUntil(today) > claimDays
	}
	return f
}

// RehousingStatus is where a permanent-move case stands.
type RehousingStatus string

// Rehousing statuses.
const (
	RehousingApplying  RehousingStatus = "applying"
	RehousingOffered   RehousingStatus = "offered"
	RehousingAccepted  RehousingStatus = "accepted"
	RehousingRehoused  RehousingStatus = "rehoused"
	RehousingWithdrawn RehousingStatus = "withdrawn"
)

func (s RehousingStatus) open() bool { return s != RehousingRehoused && s != RehousingWithdrawn }

// RehousingCase is the work of moving a person into a permanent home.
type RehousingCase struct {
	ID                 string          `json:"id"`
	ReferralID         string          `json:"referralId"`
	ReferralSource     string          `json:"referralSource"`
	ReferralReceivedOn calendar.Date   `json:"referralReceivedOn"`
	Status             RehousingStatus `json:"status"`
	Bids               []Bid           `json:"bids"`
	Offers             []Offer         `json:"offers"`
	MoveInOn           *calendar.Date  `json:"moveInOn,omitempty"`
	// DaysToRehoused counts from the referral's receipt to the move-in.
	DaysToRehoused *int `json:"daysToRehoused,omitempty"`
	// WaitingListBaselineDays is the cost model's usual wait, kept beside the case's own figure.
	WaitingListBaselineDays  int          `json:"waitingListBaselineDays"`
	DaysSavedAgainstBaseline *int         `json:"daysSavedAgainstBaseline,omitempty"`
	WithdrawnReason          string       `json:"withdrawnReason,omitempty"`
	History                  []Transition `json:"history"`
	CreatedBy                Staff        `json:"createdBy"`
	CreatedAt                time.Time    `json:"createdAt"`
	UpdatedAt                time.Time    `json:"updatedAt"`
	// LateEntries are what was recorded after the day it happened.
	LateEntries []app.LateEntry `json:"lateEntries,omitempty"`
	// Allowed are the steps open now (bid, offer, respond, move-in, withdraw), filled when the case is
	// answered so the portal offers exactly those.
	Allowed []string `json:"allowed,omitzero"`
}

// withAllowed fills the steps open from the case's status: any open case takes bids and may be
// withdrawn; an offer comes while none awaits its answer; the answer while one does; the move-in
// after an offer is accepted.
func (c *RehousingCase) withAllowed() {
	c.Allowed = nil
	if !c.Status.open() {
		return
	}
	c.Allowed = append(c.Allowed, "bid")
	switch c.Status {
	case RehousingApplying:
		c.Allowed = append(c.Allowed, "offer")
	case RehousingOffered:
		c.Allowed = append(c.Allowed, "respond")
	case RehousingAccepted:
		c.Allowed = append(c.Allowed, "move-in")
	}
	c.Allowed = append(c.Allowed, "withdraw")
}

// Bid is an application or bid for a home with a landlord.
type Bid struct {
	ID          string        `json:"id"`
	Landlord    string        `json:"landlord"`
	Reference   string        `json:"reference,omitempty"`
	Scheme      string        `json:"scheme,omitempty"`
	SubmittedOn calendar.Date `json:"submittedOn"`
}

// Offer is a home offered to the person, and their answer.
type Offer struct {
	ID          string         `json:"id"`
	Landlord    string         `json:"landlord"`
	Property    string         `json:"property"`
	OfferedOn   calendar.Date  `json:"offeredOn"`
	Decision    string         `json:"decision,omitempty"`
	Reason      string         `json:"reason,omitempty"`
	RespondedOn *calendar.Date `json:"respondedOn,omitempty"`
}

// pendingOffer is the offer still awaiting an answer, if any.
func (c *RehousingCase) pendingOffer() *Offer {
	for i := range c.Offers {
		if c.Offers[i].Decision == "" {
			return &c.Offers[i]
		}
	}
	return nil
}

// epoch numbers days for sorted-set scores.
var epoch = calendar.Date{Year: 1970, Month: time.January, Day: 1}

func dayNumber(d calendar.Date) float64 { return float64(epoch.DaysUntil(d)) }

package housing

import (
	"slices"
	"strings"
	"unicode"

	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/money"
)

type fields = httpapi.Fields

// UnitRequest creates a unit, or replaces its editable facts. maxStayDays 0 takes the policy's.
type UnitRequest struct {
	UnitFields
}

// maxUnitStay bounds a unit's maximum stay: a step-down unit is never a home.
const maxUnitStay = 365

// Validate checks a unit's facts.
func (u *UnitRequest) Validate() []httpapi.FieldError {
	var e fields
	e.Text("scheme", &u.Scheme, true, 100)
	e.Text("address.line1", &u.Address.Line1, true, 200)
	e.Text("address.line2", &u.Address.Line2, false, 200)
	e.Text("address.town", &u.Address.Town, true, 100)
	e.Text("address.postcode", &u.Address.Postcode, true, 10)
	if u.Address.Postcode != "" && !postcodeShape(u.Address.Postcode) {
		e.Add("address.postcode", "must be a UK postcode such as HD1 2AB")
	}
	e.Text("ownerOrganisation", &u.OwnerOrganisation, true, 200)
	e.OneOf("type", u.Type, UnitTypes, true)
	if u.Bedrooms < 0 || u.Bedrooms > 6 {
		e.Add("bedrooms", "must be 0 (a studio or room) to 6")
	}
	seen := map[string]bool{}
	for _, f := range u.Features {
		switch {
		case seen[f]:
			e.Add("features", "lists %s twice", f)
		case !slices.Contains(Features, f):
			e.Add("features", "must each be one of %s", strings.Join(Features, ", "))
		}
		seen[f] = true
	}
	if u.Features == nil {
		u.Features = []string{}
	}
	if p, err := money.Parse(u.WeeklyCost); err != nil {
		e.Add("weeklyCost", "%v", err)
	} else if p < 0 {
		e.Add("weeklyCost", "must not be negative")
	}
	if u.MaxStayDays < 0 || u.MaxStayDays > maxUnitStay {
		e.Add("maxStayDays", "must be 1 to %d (or left out for the partnership's policy)", maxUnitStay)
	}
	return e
}

// postcodeShape accepts the outward and inward parts of a UK postcode, loosely: letters and
// digits, 5 to 8 characters with one space.
func postcodeShape(s string) bool {
	out, in, ok := strings.Cut(strings.ToUpper(s), " ")
	if !ok || len(out) < 2 || len(out) > 4 || len(in) != 3 {
		return false
	}
	for _, r := range out + in {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return unicode.IsDigit(rune(in[0]))
}

// UnitTransitionRequest voids, readies, closes or reopens a unit.
type UnitTransitionRequest struct {
	To     UnitStatus `json:"to"`
	Reason string     `json:"reason,omitempty"`
}

// Validate checks the move's shape; the workflow checks whether it is allowed.
func (t *UnitTransitionRequest) Validate() []httpapi.FieldError {
	var e fields
	e.OneOf("to", string(t.To), []string{string(UnitAvailable), string(UnitVoid), string(UnitClosed)}, true)
	if t.To == UnitVoid {
		e.OneOf("reason", t.Reason, VoidReasons, true)
	} else {
		e.Text("reason", &t.Reason, false, 500)
	}
	return e
}

// BookRequest books a unit for a referral.
type BookRequest struct {
	ReferralID string        `json:"referralId"`
	UnitID     string        `json:"unitId"`
	Arrival    calendar.Date `json:"arrival"`
	// PlannedDeparture defaults to arrival + the unit's maximum stay.
	PlannedDeparture *calendar.Date `json:"plannedDeparture,omitempty"`
	CarerStaying     bool           `json:"carerStaying"`
	// Arrived records a stay that has already begun: the arrival may then be in the past, within
	// policy.lateEntryDays, and the placement is created as arrived.
	Arrived bool `json:"arrived,omitempty"`
}

// Validate checks a booking's shape.
func (b *BookRequest) Validate() []httpapi.FieldError {
	var e fields
	if !ids.Valid(b.ReferralID) {
		e.Add("referralId", "must be a referral id")
	}
	if !ids.Valid(b.UnitID) {
		e.Add("unitId", "must be a unit id")
	}
	if b.Arrival == (calendar.Date{}) {
		e.Add("arrival", "is required")
	}
	if b.PlannedDeparture != nil && !b.Arrival.Before(*b.PlannedDeparture) {
		e.Add("plannedDeparture", "must be after the arrival")
	}
	return e
}

// PlacementTransitionRequest moves a placement. Which fields apply depends on To.
type PlacementTransitionRequest struct {
	To PlacementStatus `json:"to"`
	// On is the day of an arrival or departure (default today).
	On *calendar.Date `json:"on,omitempty"`
	// PlannedDeparture is the new end of an extended stay.
	PlannedDeparture *calendar.Date `json:"plannedDeparture,omitempty"`
	// Reason is required to extend, cancel or record a no-show.
	Reason string `json:"reason,omitempty"`
	// Destination, HousingBenefitClaimed and VoidReason describe a departure.
	Destination           string `json:"destination,omitempty"`
	HousingBenefitClaimed *bool  `json:"housingBenefitClaimed,omitempty"`
	VoidReason            string `json:"voidReason,omitempty"`
}

var placementTargets = []string{string(PlacementConfirmed), string(PlacementArrived), string(PlacementExtended),
	string(PlacementDeparted), string(PlacementCancelled), string(PlacementNotArrived)}

// Validate checks that a move carries what it needs.
func (t *PlacementTransitionRequest) Validate() []httpapi.FieldError {
	var e fields
	e.OneOf("to", string(t.To), placementTargets, true)
	needsReason := t.To == PlacementExtended || t.To == PlacementCancelled || t.To == PlacementNotArrived
	e.Text("reason", &t.Reason, needsReason, 1000)
	switch t.To {
	case PlacementExtended:
		if t.PlannedDeparture == nil {
			e.Add("plannedDeparture", "is required to extend a stay")
		}
	case PlacementDeparted:
		e.OneOf("destination", t.Destination, Destinations, true)
		e.OneOf("voidReason", t.VoidReason, VoidReasons, false)
	}
	if t.To != PlacementArrived && t.To != PlacementDeparted && t.On != nil {
		e.Add("on", "applies only to an arrival or a departure")
	}
	if t.To != PlacementDeparted && (t.Destination != "" || t.HousingBenefitClaimed != nil || t.VoidReason != "") {
		e.Add("destination", "destination, housingBenefitClaimed and voidReason apply only to a departure")
	}
	if t.To != PlacementExtended && t.PlannedDeparture != nil {
		e.Add("plannedDeparture", "applies only to an extension")
	}
	return e
}

// HousingBenefitRequest records the day a housing-benefit claim was made for a stay.
type HousingBenefitRequest struct {
	ClaimedOn calendar.Date `json:"claimedOn"`
}

// Validate checks the claim's day is given.
func (h *HousingBenefitRequest) Validate() []httpapi.FieldError {
	var e fields
	if h.ClaimedOn == (calendar.Date{}) {
		e.Add("claimedOn", "is required")
	}
	return e
}

// MatchRequest describes what a person needs of a unit.
type MatchRequest struct {
	ReferralID       string        `json:"referralId,omitempty"`
	Features         []string      `json:"features"`
	Bedrooms         int           `json:"bedrooms"`
	CarerStaying     bool          `json:"carerStaying"`
	Arrival          calendar.Date `json:"arrival"`
	ExpectedStayDays int           `json:"expectedStayDays"`
	Scheme           string        `json:"scheme,omitempty"`
	// MaxWeeklyCost, when given, leaves out dearer units.
	MaxWeeklyCost string `json:"maxWeeklyCost,omitempty"`
	// Limit is how many of the best matches to return (default 25).
	Limit int `json:"limit,omitempty"`
}

// Validate checks a match request.
func (m *MatchRequest) Validate() []httpapi.FieldError {
	var e fields
	if m.ReferralID != "" && !ids.Valid(m.ReferralID) {
		e.Add("referralId", "must be a referral id")
	}
	seen := map[string]bool{}
	for _, f := range m.Features {
		if !slices.Contains(Features, f) {
			e.Add("features", "must each be one of %s", strings.Join(Features, ", "))
		} else if seen[f] {
			e.Add("features", "lists %s twice", f)
		}
		seen[f] = true
	}
	if m.Bedrooms < 0 || m.Bedrooms > 6 {
		e.Add("bedrooms", "must be 0 to 6")
	}
	if m.Arrival == (calendar.Date{}) {
		e.Add("arrival", "is required")
	}
	if m.ExpectedStayDays < 1 || m.ExpectedStayDays > maxUnitStay {
		e.Add("expectedStayDays", "must be 1 to %d", maxUnitStay)
	}
	e.Text("scheme", &m.Scheme, false, 100)
	if m.Limit < 0 || m.Limit > 200 {
		e.Add("limit", "must be 1 to 200")
	}
	if m.MaxWeeklyCost != "" {
		if _, err := money.Parse(m.MaxWeeklyCost); err != nil {
			e.Add("maxWeeklyCost", "%v", err)
		}
	}
	return e
}

// OpenRehousingRequest opens a permanent-move case for a referral.
type OpenRehousingRequest struct {
	ReferralID string `json:"referralId"`
}

// Validate checks the referral id.
func (o *OpenRehousingRequest) Validate() []httpapi.FieldError {
	var e fields
	if !ids.Valid(o.ReferralID) {
		e.Add("referralId", "must be a referral id")
	}
	return e
}

// BidRequest records an application or bid with a landlord.
type BidRequest struct {
	Landlord    string        `json:"landlord"`
	Reference   string        `json:"reference,omitempty"`
	Scheme      string        `json:"scheme,omitempty"`
	SubmittedOn calendar.Date `json:"submittedOn"`
}

// Validate checks a bid.
func (b *BidRequest) Validate() []httpapi.FieldError {
	var e fields
	e.Text("landlord", &b.Landlord, true, 200)
	e.Text("reference", &b.Reference, false, 100)
	e.Text("scheme", &b.Scheme, false, 100)
	if b.SubmittedOn == (calendar.Date{}) {
		e.Add("submittedOn", "is required")
	}
	return e
}

// OfferRequest records a home offered.
type OfferRequest struct {
	Landlord  string        `json:"landlord"`
	Property  string        `json:"property"`
	OfferedOn calendar.Date `json:"offeredOn"`
}

// Validate checks an offer.
func (o *OfferRequest) Validate() []httpapi.FieldError {
	var e fields
	e.Text("landlord", &o.Landlord, true, 200)
	e.Text("property", &o.Property, true, 500)
	if o.OfferedOn == (calendar.Date{}) {
		e.Add("offeredOn", "is required")
	}
	return e
}

// OfferResponseRequest records the person's answer to an offer.
type OfferResponseRequest struct {
	Decision    string        `json:"decision"`
	Reason      string        `json:"reason,omitempty"`
	RespondedOn calendar.Date `json:"respondedOn"`
}

// Validate checks the answer; a refusal needs its reason.
func (o *OfferResponseRequest) Validate() []httpapi.FieldError {
	var e fields
	e.OneOf("decision", o.Decision, []string{"accepted", "refused"}, true)
	e.Text("reason", &o.Reason, o.Decision == "refused", 1000)
	if o.RespondedOn == (calendar.Date{}) {
		e.Add("respondedOn", "is required")
	}
	return e
}

// MoveInRequest records the move into the new home.
type MoveInRequest struct {
	On calendar.Date `json:"on"`
}

// Validate checks the day is given.
func (m *MoveInRequest) Validate() []httpapi.FieldError {
	var e fields
	if m.On == (calendar.Date{}) {
		e.Add("on", "is required")
	}
	return e
}

// WithdrawRequest closes a case without a move.
type WithdrawRequest struct {
	Reason string `json:"reason"`
}

// Validate checks the reason is given.
func (w *WithdrawRequest) Validate() []httpapi.FieldError {
	var e fields
	e.Text("reason", &w.Reason, true, 1000)
	return e
}

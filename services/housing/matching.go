package housing

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/money"
)

// Match is a unit free for the whole stay, with why it ranks where it does.
type Match struct {
	Rank int      `json:"rank"`
	Unit *Unit    `json:"unit"`
	Fit  []string `json:"fit"`
}

// Exclusion is a unit that cannot take the stay, with every reason why.
type Exclusion struct {
	UnitID  string   `json:"unitId"`
	Scheme  string   `json:"scheme"`
	Reasons []string `json:"reasons"`
}

// MatchResult ranks the units for a stay of the nights [Arrival, Departure).
type MatchResult struct {
	Arrival   calendar.Date `json:"arrival"`
	Departure calendar.Date `json:"departure"`
	// MatchCount is how many units match; Matches holds the best of them, up to the limit asked.
	MatchCount int         `json:"matchCount"`
	Matches    []Match     `json:"matches"`
	Excluded   []Exclusion `json:"excluded"`
}

// defaultMatches is how many matches a result holds unless the request asks otherwise.
const defaultMatches = 25

// candidate is a unit that passed, with its ranking key.
type candidate struct {
	unit            *Unit
	spareSpecialist []string
	spareBedrooms   int
	cost            money.Pence
}

// rankUnits matches a person's needs against units on a day. A unit is free only if no live
// booking meets the stay's nights and it is neither void nor closed nor held by an over-stay.
// Units that pass rank by: fewest specialist features the person does not need (scarce units stay
// free for those who do), then fewest spare bedrooms, then lowest weekly cost, then housing-benefit
// eligibility, then age (oldest unit first).
func rankUnits(units []*Unit, req *MatchRequest, today calendar.Date) MatchResult {
	departure := req.Arrival.AddDays(req.ExpectedStayDays)
	res := MatchResult{Arrival: req.Arrival, Departure: departure, Matches: []Match{}, Excluded: []Exclusion{}}
	need := req.Bedrooms
	maxCost, limited := money.Pence(0), req.MaxWeeklyCost != ""
	if limited {
		maxCost, _ = money.Parse(req.MaxWeeklyCost) // validated
	}
	var passed []candidate
	for _, u := range units {
		var why []string
		switch u.Status {
		case UnitVoid:
			why = append(why, "void ("+u.VoidReason+") until made ready")
		case UnitClosed:
			why = append(why, "closed")
		case UnitOccupied:
			if end, over := occupantEnd(u, today); over {
				why = append(why, "still occupied after its planned departure on "+end.String())
			}
		}
		if req.Scheme != "" && !strings.EqualFold(u.Scheme, req.Scheme) {
			why = append(why, "in "+u.Scheme+", not "+req.Scheme)
		}
		var missing []string
		for _, f := range req.Features {
			if !slices.Contains(u.Features, f) {
				missing = append(missing, f)
			}
		}
		if len(missing) > 0 {
			why = append(why, "lacks "+strings.Join(missing, ", "))
		}
		if u.Bedrooms < need {
			why = append(why, fmt.Sprintf("has %d bedroom(s); %d needed", u.Bedrooms, need))
		}
		if req.CarerStaying && !hasCarerRoom(u) {
			why = append(why, "no room for a carer to stay")
		}
		if u.MaxStayDays < req.ExpectedStayDays {
			why = append(why, fmt.Sprintf("maximum stay %d nights, shorter than the %d expected", u.MaxStayDays, req.ExpectedStayDays))
		}
		cost, _ := money.Parse(u.WeeklyCost)
		if limited && cost > maxCost {
			why = append(why, "costs £"+u.WeeklyCost+" a week, over £"+maxCost.String())
		}
		for _, b := range u.Bookings {
			if b.overlaps(req.Arrival, departure) {
				why = append(why, "booked "+b.From.String()+" to "+b.To.String()+" (placement "+b.Placement+")")
			}
		}
		if len(why) > 0 {
			res.Excluded = append(res.Excluded, Exclusion{UnitID: u.ID, Scheme: u.Scheme, Reasons: why})
			continue
		}
		c := candidate{unit: u, spareBedrooms: u.Bedrooms - need, cost: cost}
		for _, f := range u.Features {
			if slices.Contains(specialistFeatures, f) && !slices.Contains(req.Features, f) {
				c.spareSpecialist = append(c.spareSpecialist, f)
			}
		}
		passed = append(passed, c)
	}
	slices.SortStableFunc(passed, func(a, b candidate) int {
		return cmp.Or(
			cmp.Compare(len(a.spareSpecialist), len(b.spareSpecialist)),
			cmp.Compare(a.spareBedrooms, b.spareBedrooms),
			cmp.Compare(a.cost, b.cost),
			-cmp.Compare(boolRank(a.unit.HousingBenefitEligible), boolRank(b.unit.HousingBenefitEligible)),
			cmp.Compare(a.unit.ID, b.unit.ID),
		)
	})
	res.MatchCount = len(passed)
	limit := req.Limit
	if limit == 0 {
		limit = defaultMatches
	}
	for i, c := range passed[:min(limit, len(passed))] {
		fit := []string{}
		if len(req.Features) > 0 {
			fit = append(fit, "has "+strings.Join(req.Features, ", "))
		}
		if len(c.spareSpecialist) > 0 {
			fit = append(fit, "its "+strings.Join(c.spareSpecialist, ", ")+" would go unused")
		}
		if c.spareBedrooms > 0 {
			fit = append(fit, fmt.Sprintf("%d bedroom(s) more than needed", c.spareBedrooms))
		}
		fit = append(fit, "£"+c.unit.WeeklyCost+" a week")
		if c.unit.HousingBenefitEligible {
			fit = append(fit, "housing benefit can be claimed")
		}
		res.Matches = append(res.Matches, Match{Rank: i + 1, Unit: c.unit, Fit: fit})
	}
	return res
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// occupantEnd is the planned end of the stay under way in an occupied unit, and whether that
// day has passed with the person still there.
func occupantEnd(u *Unit, today calendar.Date) (calendar.Date, bool) {
	var end calendar.Date
	found := false
	for _, b := range u.Bookings {
		if !today.Before(b.From) && (!found || end.Before(b.To)) {
			end, found = b.To, true
		}
	}
	return end, found && !today.Before(end)
}

func (s *Service) match(w http.ResponseWriter, r *http.Request) {
	var req MatchRequest
	if p := decode(r, &req); p != nil {
		httpapi.WriteProblem(w, r, p)
		return
	}
	today := s.today()
	if req.Arrival.Before(today) {
		httpapi.WriteProblem(w, r, httpapi.Invalid("a stay starts today or later", httpapi.FieldError{Field: "arrival", Message: "must not be before " + today.String()}))
		return
	}
	units, err := s.repo.allUnits(r.Context(), false)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the units")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, rankUnits(units, &req, today))
}

package housing

import (
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
)

// Occupancy is how a unit, a scheme or the whole stock was used over a period's nights. A night
// is the one starting on a date; nights not yet over (today and later) are not counted.
type Occupancy struct {
	// Nights the unit existed in the period.
	Nights          int `json:"nights"`
	ClosedNights    int `json:"closedNights"`
	AvailableNights int `json:"availableNights"`
	OccupiedNights  int `json:"occupiedNights"`
	VoidNights      int `json:"voidNights"`
	// OccupancyPercent is occupied ÷ available nights, to one decimal place.
	OccupancyPercent *float64 `json:"occupancyPercent"`
	// Stays ended in the period, and their mean length.
	Stays             int      `json:"stays"`
	AverageStayNights *float64 `json:"averageStayNights"`
	// Turnarounds are arrivals in the period after an earlier departure: days the unit stood
	// between the two.
	Turnarounds           int      `json:"turnarounds"`
	AverageTurnaroundDays *float64 `json:"averageTurnaroundDays"`

	stayNights, turnaroundDays int
}

func (o *Occupancy) add(p Occupancy) {
	o.Nights += p.Nights
	o.ClosedNights += p.ClosedNights
	o.AvailableNights += p.AvailableNights
	o.OccupiedNights += p.OccupiedNights
	o.VoidNights += p.VoidNights
	o.Stays += p.Stays
	o.Turnarounds += p.Turnarounds
	o.stayNights += p.stayNights
	o.turnaroundDays += p.turnaroundDays
}

// finish works out the ratios once every count is in.
func (o *Occupancy) finish() {
	o.OccupancyPercent = ratio(float64(o.OccupiedNights)*100, o.AvailableNights)
	o.AverageStayNights = ratio(float64(o.stayNights), o.Stays)
	o.AverageTurnaroundDays = ratio(float64(o.turnaroundDays), o.Turnarounds)
}

// ratio is n ÷ d to one decimal place, rounded half away from zero; nil when d is 0.
func ratio(n float64, d int) *float64 {
	if d == 0 {
		return nil
	}
	v := math.Round(n/float64(d)*10) / 10
	return &v
}

// UnitOccupancy is one unit's figures.
type UnitOccupancy struct {
	UnitID string `json:"unitId"`
	Scheme string `json:"scheme"`
	Occupancy
}

// SchemeOccupancy adds up a scheme's units.
type SchemeOccupancy struct {
	Scheme string `json:"scheme"`
	Units  int    `json:"units"`
	Occupancy
}

// OccupancyReport covers the nights [From, To); CountedTo is where counting stopped (To, or
// today when the period has not ended).
type OccupancyReport struct {
	From      calendar.Date     `json:"from"`
	To        calendar.Date     `json:"to"`
	CountedTo calendar.Date     `json:"countedTo"`
	Units     []UnitOccupancy   `json:"units"`
	Schemes   []SchemeOccupancy `json:"schemes"`
	Total     Occupancy         `json:"total"`
}

// overlap counts the nights of [a, b) inside [from, to).
func overlap(a, b, from, to calendar.Date) int {
	start, end := a, b
	if start.Before(from) {
		start = from
	}
	if to.Before(end) {
		end = to
	}
	return max(0, start.DaysUntil(end))
}

// unitOccupancy works out a unit's figures for the nights [from, to) from its spells and its
// placements' history.
func unitOccupancy(u *Unit, placements []*Placement, from, to calendar.Date) Occupancy {
	var o Occupancy
	o.Nights = overlap(u.CreatedOn, to, from, to)
	for _, sp := range u.Periods {
		end := to
		if sp.To != nil {
			end = *sp.To
		}
		n := overlap(sp.From, end, from, to)
		if sp.Status == UnitClosed {
			o.ClosedNights += n
		} else {
			o.VoidNights += n
		}
	}
	o.AvailableNights = o.Nights - o.ClosedNights
	for _, p := range placements {
		if p.ArrivedOn == nil {
			continue
		}
		end := to
		if p.DepartedOn != nil {
			end = *p.DepartedOn
			if !end.Before(from) && end.Before(to) {
				o.Stays++
				o.stayNights += *p.Nights
			}
		}
		o.OccupiedNights += overlap(*p.ArrivedOn, end, from, to)
		if p.TurnaroundDays != nil && !p.ArrivedOn.Before(from) && p.ArrivedOn.Before(to) {
			o.Turnarounds++
			o.turnaroundDays += *p.TurnaroundDays
		}
	}
	return o
}

// occupancyReport puts the units' figures together by scheme and in total.
func occupancyReport(units []*Unit, placements map[string][]*Placement, from, to, countedTo calendar.Date) OccupancyReport {
	rep := OccupancyReport{From: from, To: to, CountedTo: countedTo, Units: []UnitOccupancy{}, Schemes: []SchemeOccupancy{}}
	schemes := map[string]*SchemeOccupancy{}
	for _, u := range units {
		o := unitOccupancy(u, placements[u.ID], from, countedTo)
		sc := schemes[u.Scheme]
		if sc == nil {
			sc = &SchemeOccupancy{Scheme: u.Scheme}
			schemes[u.Scheme] = sc
		}
		sc.Units++
		sc.add(o)
		rep.Total.add(o)
		o.finish()
		rep.Units = append(rep.Units, UnitOccupancy{UnitID: u.ID, Scheme: u.Scheme, Occupancy: o})
	}
	for _, sc := range schemes {
		sc.finish()
		rep.Schemes = append(rep.Schemes, *sc)
	}
	slices.SortFunc(rep.Schemes, func(a, b SchemeOccupancy) int { return strings.Compare(a.Scheme, b.Scheme) })
	rep.Total.finish()
	return rep
}

func (s *Service) occupancy(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var e fields
	for k := range q {
		if !slices.Contains([]string{"from", "to", "scheme", "unit"}, k) {
			e.Add(k, "is not a parameter of this report")
		}
	}
	from, to := dateParam(q, "from", &e), dateParam(q, "to", &e)
	if q.Get("from") == "" {
		e.Add("from", "is required")
	}
	if q.Get("to") == "" {
		e.Add("to", "is required")
	}
	if from != nil && to != nil {
		switch n := from.DaysUntil(*to); {
		case n <= 0:
			e.Add("to", "must be after from")
		case n > calendar.MaxPeriodDays:
			e.Add("to", "a period is at most five years")
		}
	}
	scheme, unit := q.Get("scheme"), q.Get("unit")
	if unit != "" && !ids.Valid(unit) {
		e.Add("unit", "must be a unit id")
	}
	if len(e) > 0 {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("the period is not valid", e...))
		return
	}
	countedTo := *to
	if today := s.today(); today.Before(countedTo) {
		countedTo = today
	}
	units, err := s.repo.allUnits(r.Context(), true)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the units")
		return
	}
	units = slices.DeleteFunc(units, func(u *Unit) bool {
		return scheme != "" && !strings.EqualFold(u.Scheme, scheme) || unit != "" && u.ID != unit
	})
	placements, err := s.placementsBefore(r, units, countedTo)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the placements")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, occupancyReport(units, placements, *from, *to, countedTo))
}

// placementsBefore reads, per unit, the placements planned to arrive before a day.
func (s *Service) placementsBefore(r *http.Request, units []*Unit, before calendar.Date) (map[string][]*Placement, error) {
	ctx := r.Context()
	all, err := s.repo.placementsArrivingBefore(ctx, units, before)
	if err != nil {
		return nil, err
	}
	items, err := s.repo.placementSummaries(ctx, all)
	if err != nil {
		return nil, err
	}
	out := map[string][]*Placement{}
	for _, p := range items {
		out[p.UnitID] = append(out[p.UnitID], p)
	}
	return out, nil
}

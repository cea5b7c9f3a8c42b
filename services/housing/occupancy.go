package housing

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

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

// Night states of the occupancy calendar.
const (
	NightFree     = "free"
	NightBooked   = "booked"
	NightOccupied = "occupied"
	NightVoid     = "void"
	NightClosed   = "closed"
	// NightNotInScheme is a night before the unit joined its scheme.
	NightNotInScheme = "not-in-scheme"
)

// CalendarUnit is one unit's nights in a month, the first night first.
type CalendarUnit struct {
	UnitID string   `json:"unitId"`
	Scheme string   `json:"scheme"`
	Line1  string   `json:"line1"`
	Nights []string `json:"nights"`
}

// OccupancyCalendar is every unit's nights in a month: no person in it, as the occupancy figures.
type OccupancyCalendar struct {
	Month string         `json:"month"`
	From  calendar.Date  `json:"from"`
	Units []CalendarUnit `json:"units"`
}

// calendarNights works out each night of [from, to) for a unit: its void and closed spells, then its
// stays — booked from the planned arrival to the planned departure, occupied from the arrival to
// the departure (or, for someone still there past their planned departure, to tonight).
func calendarNights(u *Unit, placements []*Placement, from, to, today calendar.Date) []string {
	nights := make([]string, from.DaysUntil(to))
	mark := func(start, end calendar.Date, state string) {
		for i := range nights {
			if d := from.AddDays(i); !d.Before(start) && d.Before(end) {
				nights[i] = state
			}
		}
	}
	mark(from, to, NightFree)
	mark(from, u.CreatedOn, NightNotInScheme)
	for _, sp := range u.Periods {
		end := to
		if sp.To != nil {
			end = *sp.To
		}
		state := NightVoid
		if sp.Status == UnitClosed {
			state = NightClosed
		}
		mark(sp.From, end, state)
	}
	for _, p := range placements {
		switch {
		case p.Status == PlacementCancelled || p.Status == PlacementNotArrived:
		case p.ArrivedOn == nil:
			mark(p.Arrival, p.PlannedDeparture, NightBooked)
		default:
			end := p.PlannedDeparture
			if p.DepartedOn != nil {
				end = *p.DepartedOn
			} else if end.Before(today.AddDays(1)) {
				end = today.AddDays(1)
			}
			mark(*p.ArrivedOn, end, NightOccupied)
		}
	}
	return nights
}

func (s *Service) occupancyCalendar(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var e fields
	for k := range q {
		if k != "month" && k != "scheme" {
			e.Add(k, "is not a parameter of the calendar")
		}
	}
	month, err := time.Parse("2006-01", q.Get("month"))
	if err != nil || month.Year() < 2000 || month.Year() > 2200 {
		e.Add("month", "is required, as YYYY-MM")
	}
	if len(e) > 0 {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("the month is not valid", e...))
		return
	}
	from := calendar.Date{Year: month.Year(), Month: month.Month(), Day: 1}
	next := month.AddDate(0, 1, 0)
	to := calendar.Date{Year: next.Year(), Month: next.Month(), Day: 1}
	units, err := s.repo.allUnits(r.Context(), true)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the units")
		return
	}
	scheme := q.Get("scheme")
	units = slices.DeleteFunc(units, func(u *Unit) bool { return scheme != "" && !strings.EqualFold(u.Scheme, scheme) })
	placements, err := s.placementsBefore(r, units, to)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the placements")
		return
	}
	today := s.today()
	out := OccupancyCalendar{Month: month.Format("2006-01"), From: from, Units: make([]CalendarUnit, 0, len(units))}
	for _, u := range units {
		out.Units = append(out.Units, CalendarUnit{UnitID: u.ID, Scheme: u.Scheme, Line1: u.Address.Line1,
			Nights: calendarNights(u, placements[u.ID], from, to, today)})
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

package housing

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/money"
)

// normaliseUnit fills a unit's defaults and canonical forms after validation.
func (s *Service) normaliseUnit(f *UnitFields) {
	if f.MaxStayDays == 0 {
		f.MaxStayDays = s.policy.Rules.MaxStayDays
	}
	f.Address.Postcode = strings.ToUpper(f.Address.Postcode)
	p, _ := money.Parse(f.WeeklyCost) // validated
	f.WeeklyCost = p.String()
	slices.Sort(f.Features)
}

// unitFacts are what every unit event carries.
func unitFacts(u *Unit) events.Unit {
	return events.Unit{UnitID: u.ID, Scheme: u.Scheme, Type: u.Type, Bedrooms: u.Bedrooms, CreatedOn: u.CreatedOn}
}

func unitEvent(u *Unit, payload events.Payload) event {
	return event{Subject: kindUnit + ":" + u.ID, Payload: payload}
}

func (s *Service) createUnit(w http.ResponseWriter, r *http.Request) {
	var req UnitRequest
	if p := decode(r, &req); p != nil {
		httpapi.WriteProblem(w, r, p)
		return
	}
	s.normaliseUnit(&req.UnitFields)
	now, today := s.now(), s.today()
	u := &Unit{ID: ids.New(now), UnitFields: req.UnitFields, Status: UnitAvailable, StatusSince: today,
		Bookings: []Booking{}, Periods: []StatusPeriod{}, CreatedOn: today, CreatedAt: now, UpdatedAt: now}
	entry := s.app.AuditEntry(r, audit.ActionCreate, "")
	wr, err := s.repo.unitWrite(nil, u, 0, &entry)
	if err != nil {
		httpapi.Internal(w, r, err)
		return
	}
	ev := unitEvent(u, events.UnitCreated{Unit: unitFacts(u), WeeklyCost: u.WeeklyCost})
	ev.At = now
	version, err := s.repo.commit(r.Context(), change{writes: []write{wr}, events: []event{ev}})
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the unit")
		return
	}
	w.Header().Set("Location", "/v1/units/"+u.ID)
	writeRecord(w, http.StatusCreated, u, version)
}

func (s *Service) getUnit(w http.ResponseWriter, r *http.Request) {
	id, prob := pathID(r, "id", "unit")
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	u, version, err := s.repo.loadUnit(r.Context(), id)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "unit "+id)
		return
	}
	writeRecord(w, http.StatusOK, u, version)
}

// unitFilter is what GET /v1/units may be filtered by.
type unitFilter struct {
	scheme, status, unitType, feature, owner string
}

func (f unitFilter) match(u *Unit) bool {
	switch {
	case f.scheme != "" && !strings.EqualFold(u.Scheme, f.scheme),
		f.status != "" && string(u.Status) != f.status,
		f.unitType != "" && u.Type != f.unitType,
		f.feature != "" && !slices.Contains(u.Features, f.feature),
		f.owner != "" && !strings.EqualFold(u.OwnerOrganisation, f.owner):
		return false
	}
	return true
}

func (s *Service) listUnits(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, cursor, prob := listQuery(q, "scheme", "status", "type", "feature", "owner")
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	f := unitFilter{scheme: q.Get("scheme"), status: q.Get("status"), unitType: q.Get("type"), feature: q.Get("feature"), owner: q.Get("owner")}
	var e fields
	e.OneOf("status", f.status, []string{string(UnitAvailable), string(UnitOccupied), string(UnitVoid), string(UnitClosed)}, false)
	e.OneOf("type", f.unitType, UnitTypes, false)
	e.OneOf("feature", f.feature, Features, false)
	if len(e) > 0 {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("the filters are not valid", e...))
		return
	}
	units, err := s.repo.allUnits(r.Context(), false)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the units")
		return
	}
	units = slices.DeleteFunc(units, func(u *Unit) bool { return !f.match(u) })
	httpapi.WriteJSON(w, http.StatusOK, pageOf(units, func(u *Unit) string { return u.ID }, cursor, limit))
}

// unitChange loads a unit, checks If-Match, lets m change a copy, and commits it.
func (s *Service) unitChange(w http.ResponseWriter, r *http.Request, m func(u *Unit) ([]event, *httpapi.Problem)) {
	id, prob := pathID(r, "id", "unit")
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	match, prob := app.IfMatch(r, "unit")
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	before, version, err := s.repo.loadUnit(r.Context(), id)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "unit "+id)
		return
	}
	if match != app.ETag(version) {
		app.Stale(w, r, "unit", version)
		return
	}
	after, err := clone(before)
	if err != nil {
		httpapi.Internal(w, r, err)
		return
	}
	events, prob := m(after)
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	now := s.now()
	after.UpdatedAt = now
	for i := range events {
		events[i].At = now
	}
	entry := s.app.AuditEntry(r, audit.ActionUpdate, r.Pattern)
	wr, err := s.repo.unitWrite(before, after, version, &entry)
	if err != nil {
		httpapi.Internal(w, r, err)
		return
	}
	next, err := s.repo.commit(r.Context(), change{writes: []write{wr}, events: events})
	if isConflictOn(err, wr.key) {
		_, current, _ := s.repo.loadUnit(r.Context(), id)
		app.Stale(w, r, "unit", current)
		return
	}
	if err != nil {
		app.WriteStorageProblem(w, r, err, "unit "+id)
		return
	}
	writeRecord(w, http.StatusOK, after, next)
}

func (s *Service) editUnit(w http.ResponseWriter, r *http.Request) {
	s.unitChange(w, r, func(u *Unit) ([]event, *httpapi.Problem) {
		var req UnitRequest
		if p := decode(r, &req); p != nil {
			return nil, p
		}
		s.normaliseUnit(&req.UnitFields)
		u.UnitFields = req.UnitFields
		return []event{unitEvent(u, events.UnitChanged{Unit: unitFacts(u), WeeklyCost: u.WeeklyCost, Features: u.Features})}, nil
	})
}

func (s *Service) moveUnit(w http.ResponseWriter, r *http.Request) {
	s.unitChange(w, r, func(u *Unit) ([]event, *httpapi.Problem) {
		var req UnitTransitionRequest
		if p := decode(r, &req); p != nil {
			return nil, p
		}
		from := u.Status
		if !slices.Contains(unitMoves[from], req.To) {
			prob := conflict("illegal-transition", "Move not allowed", fmt.Sprintf("a unit that is %s cannot move to %s", from, req.To))
			if from == UnitOccupied {
				prob.Detail += "; an occupied unit changes when its placement departs"
			}
			for _, a := range unitMoves[from] {
				prob.Allowed = append(prob.Allowed, string(a))
			}
			return nil, prob
		}
		today := s.today()
		if req.To == UnitClosed && len(u.Bookings) > 0 {
			held := make([]string, len(u.Bookings))
			for i, b := range u.Bookings {
				held[i] = b.Placement
			}
			return nil, conflict("unit-booked", "The unit is booked",
				"move or cancel its placements first: "+strings.Join(held, ", "))
		}
		changed := events.UnitStatusChanged{From: string(from), To: string(req.To), Reason: req.Reason, On: today}
		if n := len(u.Periods); n > 0 && u.Periods[n-1].To == nil {
			nights := u.Periods[n-1].From.DaysUntil(today)
			switch from {
			case UnitVoid:
				changed.VoidNights = &nights
			case UnitClosed:
				changed.ClosedNights = &nights
			}
		}
		reason := req.Reason
		if req.To != UnitVoid {
			reason = ""
		}
		u.setStatus(req.To, reason, today)
		changed.Unit = unitFacts(u)
		return []event{unitEvent(u, changed)}, nil
	})
}

// unitConflictRetries bounds how often a booking is retried when another booking of the same unit
// committed first; each retry re-reads the unit, so a real clash is then refused.
const unitConflictRetries = 16

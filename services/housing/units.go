package housing

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

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
	id, prob := app.PathID(r, "id", "unit")
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

// unitMutation serves a change of a unit through the kit's mutation protocol.
func (s *Service) unitMutation(prepare func(*http.Request) (unitStep, *httpapi.Problem)) http.HandlerFunc {
	return app.Mutation[Unit, event]{
		Kind: "unit",
		ID:   func(r *http.Request) (string, *httpapi.Problem) { return app.PathID(r, "id", "unit") },
		Load: s.repo.loadUnit,
		Commit: func(r *http.Request, before, after *Unit, version int64, evs []event, now time.Time) (int64, error) {
			after.UpdatedAt = now
			stamp(evs, now)
			entry := s.app.AuditEntry(r, audit.ActionUpdate, r.Pattern)
			wr, err := s.repo.unitWrite(before, after, version, &entry)
			if err != nil {
				return 0, err
			}
			next, err := s.repo.commit(r.Context(), change{writes: []write{wr}, events: evs})
			if isConflictOn(err, wr.key) {
				return 0, fmt.Errorf("%w: %w", app.ErrStale, err)
			}
			return next, err
		},
		Reply: func(w http.ResponseWriter, after *Unit, version int64, _ time.Time) {
			writeRecord(w, http.StatusOK, after, version)
		},
		Now: s.now,
	}.Handle(prepare)
}

// unitStep changes a unit.
type unitStep = app.Step[Unit, event]

func (s *Service) editUnit(r *http.Request) (unitStep, *httpapi.Problem) {
	var req UnitRequest
	if p := decode(r, &req); p != nil {
		return nil, p
	}
	s.normaliseUnit(&req.UnitFields)
	return func(u *Unit, _ time.Time) ([]event, *httpapi.Problem) {
		u.UnitFields = req.UnitFields
		return []event{unitEvent(u, events.UnitChanged{Unit: unitFacts(u), WeeklyCost: u.WeeklyCost, Features: u.Features})}, nil
	}, nil
}

func (s *Service) moveUnit(r *http.Request) (unitStep, *httpapi.Problem) {
	var req UnitTransitionRequest
	if p := decode(r, &req); p != nil {
		return nil, p
	}
	return func(u *Unit, now time.Time) ([]event, *httpapi.Problem) {
		from := u.Status
		if !slices.Contains(unitMoves[from], req.To) {
			prob := httpapi.Conflict("illegal-transition", "Move not allowed", fmt.Sprintf("a unit that is %s cannot move to %s", from, req.To))
			if from == UnitOccupied {
				prob.Detail += "; an occupied unit changes when its placement departs"
			}
			for _, a := range unitMoves[from] {
				prob.Allowed = append(prob.Allowed, string(a))
			}
			return nil, prob
		}
		today := londonDay(now)
		if req.To == UnitClosed && len(u.Bookings) > 0 {
			held := make([]string, len(u.Bookings))
			for i, b := range u.Bookings {
				held[i] = b.Placement
			}
			return nil, httpapi.Conflict("unit-booked", "The unit is booked",
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
	}, nil
}

// unitConflictRetries bounds how often a booking is retried when another booking of the same unit
// committed first; each retry re-reads the unit, so a real clash is then refused.
const unitConflictRetries = 16

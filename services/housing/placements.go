package housing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// placementFacts are what every placement event carries.
func placementFacts(p *Placement) events.Placement {
	return events.Placement{PlacementID: p.ID, UnitID: p.UnitID, Scheme: p.Scheme, Arrival: p.Arrival,
		PlannedDeparture: p.PlannedDeparture, WeeklyCost: p.WeeklyCost, HousingBenefitEligible: p.HousingBenefit.Eligible, ArrivedOn: p.ArrivedOn}
}

func placementEvent(p *Placement, payload events.Payload) event {
	return event{Subject: kindPlacement + ":" + p.ID, Referral: p.ReferralID, Payload: payload}
}

// hasCarerRoom reports whether a unit has space for a carer to stay.
func hasCarerRoom(u *Unit) bool {
	return u.Bedrooms >= 2 || slices.Contains(u.Features, "two-bedroom-carer")
}

func (s *Service) book(w http.ResponseWriter, r *http.Request) {
	var req BookRequest
	if p := decode(r, &req); p != nil {
		httpapi.WriteProblem(w, r, p)
		return
	}
	now, today := s.now(), s.today()
	late := false
	switch {
	case req.Arrived:
		// A stay that has begun: the arrival is a fact, recorded within the late-entry window.
		var prob *httpapi.Problem
		if late, prob = app.CheckEntryDay("arrival", req.Arrival, today, s.policy.Rules); prob != nil {
			httpapi.WriteProblem(w, r, prob)
			return
		}
	case req.Arrival.Before(today):
		httpapi.WriteProblem(w, r, httpapi.Invalid("a booking starts today or later",
			httpapi.FieldError{Field: "arrival", Message: "must not be before " + today.String() + "; to record a stay that has already begun, send arrived: true"}))
		return
	}
	idem, prob := s.app.Idempotent(r, kindPlacement, req)
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	if id, prob, replayed, err := s.app.Earlier(r.Context(), idem); err != nil {
		app.WriteStorageProblem(w, r, err, "the Idempotency-Key")
		return
	} else if replayed {
		if prob != nil {
			httpapi.WriteProblem(w, r, prob)
			return
		}
		s.replayBooking(w, r, id)
		return
	}
	ref, ok := s.referralOf(w, r, req.ReferralID)
	if !ok {
		return
	}
	if !ref.Open() {
		httpapi.WriteProblem(w, r, httpapi.Conflict("referral-closed", "The referral is closed", "a "+ref.Status+" referral cannot be placed"))
		return
	}
	p := &Placement{ID: ids.New(now), ReferralID: req.ReferralID, UnitID: req.UnitID, Status: PlacementProvisional,
		Arrival: req.Arrival, CarerStaying: req.CarerStaying, Extensions: []Extension{}, CreatedBy: staffOf(r), CreatedAt: now, UpdatedAt: now}
	p.History = []Transition{{To: string(PlacementProvisional), At: now, By: p.CreatedBy}}
	for attempt := 0; ; attempt++ {
		u, uv, err := s.repo.loadUnit(r.Context(), req.UnitID)
		if errors.Is(err, store.ErrNotFound) {
			httpapi.WriteProblem(w, r, httpapi.Invalid("the unit does not exist", httpapi.FieldError{Field: "unitId", Message: "no such unit"}))
			return
		}
		if err != nil {
			app.WriteStorageProblem(w, r, err, "the unit")
			return
		}
		if prob := bookingProblem(&req, u); prob != nil {
			httpapi.WriteProblem(w, r, prob)
			return
		}
		p.Scheme, p.WeeklyCost, p.HousingBenefit.Eligible = u.Scheme, u.WeeklyCost, u.HousingBenefitEligible
		p.PlannedDeparture = req.Arrival.AddDays(u.MaxStayDays)
		if req.PlannedDeparture != nil {
			p.PlannedDeparture = *req.PlannedDeparture
		}
		after, err := app.Copy(u)
		if err != nil {
			httpapi.Internal(w, r, err)
			return
		}
		after.setBooking(Booking{Placement: p.ID, From: p.Arrival, To: p.PlannedDeparture})
		after.UpdatedAt = now
		evs := []event{placementEvent(p, events.PlacementBooked{Placement: placementFacts(p)})}
		detail := ""
		if req.Arrived {
			if prob := arrive(p, after, req.Arrival); prob != nil {
				httpapi.WriteProblem(w, r, prob)
				return
			}
			p.Status = PlacementArrived
			p.History = append(p.History[:1], Transition{From: string(PlacementProvisional), To: string(PlacementArrived), At: now, By: p.CreatedBy})
			if late {
				p.LateEntries = append(p.LateEntries[:0], app.LateEntry{What: "arrival", On: req.Arrival, RecordedAt: now, By: p.CreatedBy})
				detail = p.LateEntries[0].Audit()
			}
			evs = append(evs, placementEvent(p, events.PlacementArrived{Placement: placementFacts(p), TurnaroundDays: p.TurnaroundDays}))
		}
		entry := s.app.AuditEntry(r, audit.ActionCreate, detail)
		pw, err := s.repo.placementWrite(nil, p, 0, entry)
		if err != nil {
			httpapi.Internal(w, r, err)
			return
		}
		uw, err := s.repo.unitWrite(u, after, uv, nil)
		if err != nil {
			httpapi.Internal(w, r, err)
			return
		}
		stamp(evs, now)
		c := change{writes: []write{pw, uw}, events: evs}
		if idem != nil {
			c.extra = []store.Op{idem.Claim(p.ID)}
		}
		version, err := s.repo.commit(r.Context(), c)
		if id, prob, replayed := idem.Replayed(err); replayed {
			if prob != nil {
				httpapi.WriteProblem(w, r, prob)
				return
			}
			s.replayBooking(w, r, id)
			return
		}
		if isConflictOn(err, uw.key) {
			if attempt < s.unitRetries {
				continue // another booking of this unit landed first: look again
			}
			unitBusy(w, r)
			return
		}
		if err != nil {
			app.WriteStorageProblem(w, r, err, "the placement")
			return
		}
		w.Header().Set("Location", "/v1/placements/"+p.ID)
		p.Flags = p.flags(today, s.policy.Rules.HousingBenefitClaimDays)
		writeRecord(w, http.StatusCreated, p, version)
		return
	}
}

// replayBooking answers a retried booking with the placement the first attempt made.
func (s *Service) replayBooking(w http.ResponseWriter, r *http.Request, id string) {
	p, version, err := s.repo.getPlacement(r.Context(), id, s.app.AuditEntry(r, audit.ActionRead, "idempotent replay"))
	if err != nil {
		app.WriteStorageProblem(w, r, err, "placement "+id)
		return
	}
	w.Header().Set("Location", "/v1/placements/"+p.ID)
	app.MarkReplayed(w)
	p.Flags = p.flags(s.today(), s.policy.Rules.HousingBenefitClaimDays)
	writeRecord(w, http.StatusCreated, p, version)
}

// unitBusy answers a change that lost the race for its unit more often than it retries: nothing
// was written, and trying again is safe.
func unitBusy(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "1")
	httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusServiceUnavailable, "unit-busy", "The unit is busy",
		"other changes to this unit kept landing first; nothing was written, try again"))
}

// bookingProblem says why a unit cannot take a booking as asked, or nil.
func bookingProblem(req *BookRequest, u *Unit) *httpapi.Problem {
	if why := u.bookable(); why != "" {
		return httpapi.Conflict("unit-unavailable", "The unit cannot be booked", why)
	}
	to := req.Arrival.AddDays(u.MaxStayDays)
	if req.PlannedDeparture != nil {
		to = *req.PlannedDeparture
		if n := req.Arrival.DaysUntil(to); n > u.MaxStayDays {
			return httpapi.Invalid("the stay is too long for the unit", httpapi.FieldError{Field: "plannedDeparture",
				Message: fmt.Sprintf("a stay of %d nights is longer than the unit's maximum of %d; book the maximum and extend with a reason", n, u.MaxStayDays)})
		}
	}
	if req.CarerStaying && !hasCarerRoom(u) {
		return httpapi.Invalid("the unit has no room for a carer", httpapi.FieldError{Field: "carerStaying", Message: "the unit has one bedroom and no carer's room"})
	}
	if c := u.clash(req.Arrival, to, ""); c != nil {
		return httpapi.Conflict("double-booking", "The unit is already booked",
			fmt.Sprintf("placement %s holds the unit from %s to %s", c.Placement, c.From, c.To))
	}
	return nil
}

func (s *Service) getPlacement(w http.ResponseWriter, r *http.Request) {
	id, prob := app.PathID(r, "id", "placement")
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	p, version, err := s.repo.getPlacement(r.Context(), id, s.app.AuditEntry(r, audit.ActionRead, ""))
	if err != nil {
		app.WriteStorageProblem(w, r, err, "placement "+id)
		return
	}
	p.Flags = p.flags(s.today(), s.policy.Rules.HousingBenefitClaimDays)
	writeRecord(w, http.StatusOK, p, version)
}

// datedMoves are the moves whose day is a fact that may be recorded late, by what they record.
var datedMoves = map[PlacementStatus]string{PlacementArrived: "arrival", PlacementDeparted: "departure"}

// placed is a placement and its unit, which a change of the placement may change too.
type placed struct {
	P *Placement `json:"p"`
	U *Unit      `json:"u"`
	// unitVersion is the unit's version as loaded; the caller never saw it, so a change of the unit
	// meanwhile is retried rather than refused.
	unitVersion int64
}

// placementStep changes a placement and, when it must, its unit.
type placementStep = app.Step[placed, event]

// placementMutation serves a change of a placement through the kit's mutation protocol: If-Match
// against the placement, and the unit updated in the same atomic step (re-read and retried when
// another change of the unit landed first).
func (s *Service) placementMutation(prepare func(r *http.Request) (placementStep, *httpapi.Problem)) http.HandlerFunc {
	return app.Mutation[placed, event]{
		Kind: "placement",
		ID:   func(r *http.Request) (string, *httpapi.Problem) { return app.PathID(r, "id", "placement") },
		Load: func(ctx context.Context, id string) (*placed, int64, error) {
			p, pv, err := s.repo.loadPlacement(ctx, id)
			if err != nil {
				return nil, 0, err
			}
			u, uv, err := s.repo.loadUnit(ctx, p.UnitID)
			if err != nil {
				return nil, 0, fmt.Errorf("the placement's unit: %w", err)
			}
			return &placed{P: p, U: u, unitVersion: uv}, pv, nil
		},
		Commit: func(r *http.Request, before, after *placed, version int64, evs []event, now time.Time) (int64, error) {
			after.P.UpdatedAt = now
			stamp(evs, now)
			pw, err := s.repo.placementWrite(before.P, after.P, version, s.app.AuditEntry(r, audit.ActionUpdate, app.LateAudit(r.Pattern, before.P.LateEntries, after.P.LateEntries)))
			if err != nil {
				return 0, err
			}
			writes, unitKey := []write{pw}, ""
			if !reflect.DeepEqual(before.U, after.U) {
				after.U.UpdatedAt = now
				uw, err := s.repo.unitWrite(before.U, after.U, before.unitVersion, nil)
				if err != nil {
					return 0, err
				}
				writes, unitKey = append(writes, uw), uw.key
			}
			next, err := s.repo.commit(r.Context(), change{writes: writes, events: evs})
			switch {
			case unitKey != "" && isConflictOn(err, unitKey):
				return 0, fmt.Errorf("%w: %w", app.ErrRetry, err)
			case isConflictOn(err, pw.key):
				return 0, fmt.Errorf("%w: %w", app.ErrStale, err)
			}
			return next, err
		},
		Reply: func(w http.ResponseWriter, after *placed, version int64, now time.Time) {
			after.P.Flags = after.P.flags(londonDay(now), s.policy.Rules.HousingBenefitClaimDays)
			writeRecord(w, http.StatusOK, after.P, version)
		},
		Retries: s.unitRetries,
		Busy:    unitBusy,
		Now:     s.now,
	}.Handle(prepare)
}

func (s *Service) movePlacement(r *http.Request) (placementStep, *httpapi.Problem) {
	var req PlacementTransitionRequest
	if p := decode(r, &req); p != nil {
		return nil, p
	}
	by := staffOf(r)
	return func(pl *placed, now time.Time) ([]event, *httpapi.Problem) {
		p, u, today := pl.P, pl.U, londonDay(now)
		from := p.Status
		if !slices.Contains(placementMoves[from], req.To) {
			prob := httpapi.Conflict("illegal-transition", "Move not allowed", fmt.Sprintf("a placement that is %s cannot move to %s", from, req.To))
			for _, a := range placementMoves[from] {
				prob.Allowed = append(prob.Allowed, string(a))
			}
			return nil, prob
		}
		on := today
		if req.On != nil {
			on = *req.On
		}
		if on.Compare(today) > 0 {
			return nil, httpapi.Invalid("the day has not come yet", httpapi.FieldError{Field: "on", Message: "must not be after " + today.String()})
		}
		if what, dated := datedMoves[req.To]; dated {
			late, prob := app.CheckEntryDay("on", on, today, s.policy.Rules)
			if prob != nil {
				return nil, prob
			}
			if late {
				p.LateEntries = append(p.LateEntries, app.LateEntry{What: what, On: on, RecordedAt: now, By: by})
			}
		}
		// The payload is made once the placement has moved, from its facts then.
		var payload func(events.Placement) events.Payload
		switch req.To {
		case PlacementConfirmed:
			payload = func(f events.Placement) events.Payload { return events.PlacementConfirmed{Placement: f} }
		case PlacementArrived:
			prob := arrive(p, u, on)
			if prob != nil {
				return nil, prob
			}
			payload = func(f events.Placement) events.Payload {
				return events.PlacementArrived{Placement: f, TurnaroundDays: p.TurnaroundDays}
			}
		case PlacementExtended:
			prob := extend(p, u, *req.PlannedDeparture, req.Reason, by, now)
			if prob != nil {
				return nil, prob
			}
			previous := p.Extensions[len(p.Extensions)-1].From
			payload = func(f events.Placement) events.Payload {
				return events.PlacementExtended{Placement: f, PreviousPlannedDeparture: previous}
			}
		case PlacementDeparted:
			if on.Before(*p.ArrivedOn) {
				return nil, httpapi.Invalid("a departure comes after the arrival", httpapi.FieldError{Field: "on", Message: "must not be before the arrival on " + p.ArrivedOn.String()})
			}
			claimed := p.HousingBenefit.ClaimedOn != nil
			if req.HousingBenefitClaimed != nil {
				claimed = *req.HousingBenefitClaimed
			}
			voidReason := req.VoidReason
			if voidReason == "" {
				voidReason = "cleaning"
			}
			nights := p.ArrivedOn.DaysUntil(on)
			p.DepartedOn, p.Nights = &on, &nights
			p.Departure = &Departure{Destination: req.Destination, HousingBenefitClaimed: claimed, VoidReason: voidReason}
			u.dropBooking(p.ID)
			u.setStatus(UnitVoid, voidReason, on)
			u.LastDepartureOn = &on
			departed := events.PlacementDeparted{DepartedOn: on, Nights: nights, Destination: req.Destination,
				HousingBenefitClaimed: claimed, TurnaroundDays: p.TurnaroundDays, OverStayNights: max(0, p.PlannedDeparture.DaysUntil(on))}
			payload = func(f events.Placement) events.Payload {
				departed.Placement = f
				return departed
			}
		case PlacementCancelled:
			u.dropBooking(p.ID)
			payload = func(f events.Placement) events.Payload { return events.PlacementCancelled{Placement: f} }
		case PlacementNotArrived:
			u.dropBooking(p.ID)
			payload = func(f events.Placement) events.Payload { return events.PlacementNotArrived{Placement: f} }
		default:
			return nil, httpapi.Conflict("illegal-transition", "Move not allowed", fmt.Sprintf("a placement cannot move to %s", req.To))
		}
		p.Status = req.To
		p.History = append(p.History, Transition{From: string(from), To: string(req.To), At: now, By: by, Reason: req.Reason})
		return []event{placementEvent(p, payload(placementFacts(p)))}, nil
	}, nil
}

// arrive records the person moving into the unit on a day.
func arrive(p *Placement, u *Unit, on calendar.Date) *httpapi.Problem {
	if on.Before(p.Arrival) {
		return httpapi.Invalid("the arrival is before the booking starts", httpapi.FieldError{Field: "on", Message: "must not be before " + p.Arrival.String() + "; cancel and book again for an earlier start"})
	}
	if !on.Before(p.PlannedDeparture) {
		return httpapi.Invalid("the arrival is after the planned departure", httpapi.FieldError{Field: "on", Message: "must be before " + p.PlannedDeparture.String()})
	}
	switch u.Status {
	case UnitVoid, UnitClosed:
		return httpapi.Conflict("unit-unavailable", "The unit is not ready", u.bookable())
	case UnitOccupied:
		return httpapi.Conflict("unit-occupied", "The unit is still occupied", "the previous stay has not departed yet")
	}
	p.ArrivedOn = &on
	if u.LastDepartureOn != nil {
		days := u.LastDepartureOn.DaysUntil(on)
		p.TurnaroundDays = &days
	}
	u.setBooking(Booking{Placement: p.ID, From: on, To: p.PlannedDeparture})
	u.setStatus(UnitOccupied, "", on)
	return nil
}

// extend lengthens a stay, if nobody else holds the unit on the added nights.
func extend(p *Placement, u *Unit, to calendar.Date, reason string, by Staff, now time.Time) *httpapi.Problem {
	if !p.PlannedDeparture.Before(to) {
		return httpapi.Invalid("an extension lengthens the stay", httpapi.FieldError{Field: "plannedDeparture", Message: "must be after " + p.PlannedDeparture.String()})
	}
	if c := u.clash(*p.ArrivedOn, to, p.ID); c != nil {
		return httpapi.Conflict("double-booking", "The unit is booked on those nights",
			fmt.Sprintf("placement %s holds the unit from %s to %s", c.Placement, c.From, c.To))
	}
	p.Extensions = append(p.Extensions, Extension{From: p.PlannedDeparture, To: to, Reason: reason, At: now, By: by})
	p.PlannedDeparture = to
	u.setBooking(Booking{Placement: p.ID, From: *p.ArrivedOn, To: to})
	return nil
}

func (s *Service) recordClaim(r *http.Request) (placementStep, *httpapi.Problem) {
	var req HousingBenefitRequest
	if p := decode(r, &req); p != nil {
		return nil, p
	}
	return func(pl *placed, now time.Time) ([]event, *httpapi.Problem) {
		p, today := pl.P, londonDay(now)
		if !p.HousingBenefit.Eligible {
			return nil, httpapi.Conflict("not-eligible", "Housing benefit does not apply", "the unit was not eligible for housing benefit when booked")
		}
		if p.Status == PlacementCancelled || p.Status == PlacementNotArrived {
			return nil, httpapi.Conflict("placement-ended", "The placement did not go ahead", "a "+string(p.Status)+" placement has no claim")
		}
		if req.ClaimedOn.Compare(today) > 0 {
			return nil, httpapi.Invalid("the day has not come yet", httpapi.FieldError{Field: "claimedOn", Message: "must not be after " + today.String()})
		}
		p.HousingBenefit.ClaimedOn = &req.ClaimedOn
		claim := events.PlacementHousingBenefitClaimed{Placement: placementFacts(p), ClaimedOn: req.ClaimedOn}
		if p.ArrivedOn != nil {
			after := p.ArrivedOn.DaysUntil(req.ClaimedOn)
			claim.DaysAfterArrival = &after
		}
		return []event{placementEvent(p, claim)}, nil
	}, nil
}

// placementFilter is what GET /v1/placements may be filtered by.
type placementFilter struct{ unit, referral, status string }

func (s *Service) listPlacements(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, cursor, prob := listQuery(q, "unit", "referral", "status")
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	f := placementFilter{unit: q.Get("unit"), referral: q.Get("referral"), status: q.Get("status")}
	var e fields
	statuses := make([]string, 0, len(placementMoves))
	for st := range placementMoves {
		statuses = append(statuses, string(st))
	}
	slices.Sort(statuses)
	e.OneOf("status", f.status, statuses, false)
	if f.unit != "" && !ids.Valid(f.unit) {
		e.Add("unit", "must be a unit id")
	}
	if f.referral != "" && !ids.Valid(f.referral) {
		e.Add("referral", "must be a referral id")
	}
	if len(e) > 0 {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("the filters are not valid", e...))
		return
	}
	keep := func(p *Placement) bool {
		return (f.status == "" || string(p.Status) == f.status) && (f.referral == "" || p.ReferralID == f.referral) &&
			(f.unit == "" || p.UnitID == f.unit)
	}
	var page Page[*Placement]
	var err error
	if f.unit != "" {
		// A unit's placements are indexed by arrival day; a unit holds few enough to read at once.
		var all []string
		all, err = s.repo.members(r.Context(), s.repo.keys.PlacementsInUnit(f.unit))
		if err == nil {
			slices.Sort(all)
			var items []*Placement
			items, err = s.repo.placementSummaries(r.Context(), all)
			items = slices.DeleteFunc(items, func(p *Placement) bool { return !keep(p) })
			page = pageOf(items, func(p *Placement) string { return p.ID }, cursor, limit)
		}
	} else {
		index := s.repo.keys.Placements()
		switch {
		case f.referral != "":
			index = s.repo.keys.PlacementsOfReferral(f.referral)
		case f.status != "":
			index = s.repo.keys.PlacementsByStatus(f.status)
		}
		page, err = s.walk(r.Context(), index, cursor, limit, keep)
	}
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the placements")
		return
	}
	s.writePlacements(w, r, page)
}

// walk reads a page of placements from an index whose members all score 0 (so they sort by id),
// keeping those keep accepts.
func (s *Service) walk(ctx context.Context, index, cursor string, limit int, keep func(*Placement) bool) (Page[*Placement], error) {
	page := Page[*Placement]{Items: []*Placement{}}
	batch := limit * 2
	for {
		members, err := s.repo.idsAfter(ctx, index, cursor, batch)
		if err != nil {
			return page, err
		}
		items, err := s.repo.placementSummaries(ctx, members)
		if err != nil {
			return page, err
		}
		for _, p := range items {
			if !keep(p) {
				continue
			}
			page.Items = append(page.Items, p)
			if len(page.Items) == limit {
				page.Next = p.ID
				return page, nil
			}
		}
		if len(members) < batch {
			return page, nil
		}
		cursor = members[len(members)-1]
	}
}

// writePlacements answers a list of placements, recording that each was shown.
func (s *Service) writePlacements(w http.ResponseWriter, r *http.Request, page Page[*Placement]) {
	placementIDs := make([]string, len(page.Items))
	today := s.today()
	for i, p := range page.Items {
		placementIDs[i] = p.ID
		p.Flags = p.flags(today, s.policy.Rules.HousingBenefitClaimDays)
	}
	if err := s.repo.auditShown(r.Context(), kindPlacement, placementIDs, s.app.AuditEntry(r, audit.ActionList, r.Pattern)); err != nil {
		app.WriteStorageProblem(w, r, err, "the placements")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, page)
}

// overStays lists people still in a unit after their planned departure.
func (s *Service) overStays(w http.ResponseWriter, r *http.Request) {
	s.flagged(w, r, s.repo.keys.StaysUnderWay(), s.today().AddDays(-1))
}

// claimsDue lists stays in eligible units with no housing-benefit claim recorded more than the
// policy's housingBenefitClaimDays after arrival.
func (s *Service) claimsDue(w http.ResponseWriter, r *http.Request) {
	s.flagged(w, r, s.repo.keys.ClaimsPending(), s.today().AddDays(-s.policy.Rules.HousingBenefitClaimDays-1))
}

func (s *Service) flagged(w http.ResponseWriter, r *http.Request, index string, last calendar.Date) {
	limit, cursor, prob := listQuery(r.URL.Query())
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	flaggedIDs, err := s.repo.placementsScored(r.Context(), index, last)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the placements")
		return
	}
	slices.Sort(flaggedIDs)
	items, err := s.repo.placementSummaries(r.Context(), flaggedIDs)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the placements")
		return
	}
	s.writePlacements(w, r, pageOf(items, func(p *Placement) string { return p.ID }, cursor, limit))
}

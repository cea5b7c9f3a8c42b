package housing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/importer"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// UnitLayout is the published layout of a units file (docs/import.md).
var UnitLayout = importer.Layout{Name: "units", Columns: []importer.Column{
	{Name: importer.KeyColumn}, {Name: "scheme", Required: true},
	{Name: "line1", Required: true}, {Name: "line2"}, {Name: "town", Required: true}, {Name: "postcode", Required: true},
	{Name: "ownerOrganisation", Required: true}, {Name: "type", Required: true}, {Name: "bedrooms", Required: true},
	{Name: "features"}, {Name: "weeklyCost", Required: true}, {Name: "housingBenefitEligible", Required: true},
	{Name: "maxStayDays"}, {Name: "createdOn", Required: true},
}}

// PlacementLayout is the published layout of a placements file: past stays and stays under way.
var PlacementLayout = importer.Layout{Name: "placements", Columns: []importer.Column{
	{Name: importer.KeyColumn}, {Name: "unit", Required: true}, {Name: "referral", Required: true},
	{Name: "arrival", Required: true}, {Name: "plannedDeparture"}, {Name: "departedOn"}, {Name: "destination"},
	{Name: "housingBenefitClaimed"}, {Name: "housingBenefitClaimedOn"},
}}

// unitColumns maps the live API's field names to the units layout's columns.
var unitColumns = map[string]string{"address.line1": "line1", "address.line2": "line2", "address.town": "town", "address.postcode": "postcode"}

// importedUnit is a units row made into a unit.
type importedUnit struct {
	key  string
	unit *Unit
}

func (s *Service) unitImport() app.Import[importedUnit] {
	return app.Import[importedUnit]{
		Layout: UnitLayout,
		Row: func(ctx context.Context, rd *importer.Reader, row importer.Row) (importedUnit, bool, error) {
			now := s.now()
			cell := rd.Cells(row, s.today())
			req := UnitRequest{UnitFields: UnitFields{Scheme: row.Get("scheme"),
				Address:           Address{Line1: row.Get("line1"), Line2: row.Get("line2"), Town: row.Get("town"), Postcode: row.Get("postcode")},
				OwnerOrganisation: row.Get("ownerOrganisation"), Type: row.Get("type"), WeeklyCost: row.Get("weeklyCost"),
				HousingBenefitEligible: cell.YesNo("housingBenefitEligible"), Features: cell.List("features"),
				Bedrooms: cell.Int("bedrooms"), MaxStayDays: cell.Int("maxStayDays")}}
			for _, e := range req.Validate() {
				column := e.Field
				if c, ok := unitColumns[column]; ok {
					column = c
				}
				cell.Fail(column, e.Message)
			}
			created := cell.Past("createdOn")
			if cell.Bad {
				return importedUnit{}, true, nil
			}
			s.normaliseUnit(&req.UnitFields)
			u := &Unit{ID: ids.New(now), UnitFields: req.UnitFields, Status: UnitAvailable, StatusSince: *created,
				Bookings: []Booking{}, Periods: []StatusPeriod{}, CreatedOn: *created, CreatedAt: now, UpdatedAt: now}
			return importedUnit{key: row.Key(), unit: u}, false, nil
		},
		Write: func(r *http.Request, file *app.ImportFile, row int, iu importedUnit) (bool, error) {
			entry := s.app.AuditEntry(r, audit.ActionCreate, file.Provenance(row))
			wr, err := s.repo.unitWrite(nil, iu.unit, 0, &entry)
			if err != nil {
				return false, err
			}
			ev := unitEvent(iu.unit, events.UnitCreated{Unit: unitFacts(iu.unit), WeeklyCost: iu.unit.WeeklyCost})
			ev.At = iu.unit.CreatedOn.In(calendar.London(), 0, 0, 0, 0)
			_, err = s.repo.commit(r.Context(), change{writes: []write{wr}, events: []event{ev},
				extra: []store.Op{store.Claim(s.repo.keys.Imported(keyspace.ImportedUnit, iu.key), iu.unit.ID, 0)}})
			return claimedOrErr(err)
		},
	}
}

func claimedOrErr(err error) (bool, error) {
	var claimed *store.ClaimTakenError
	if errors.As(err, &claimed) {
		return true, nil
	}
	return false, err
}

// importedStay is a placements row made into a placement of a unit.
type importedStay struct {
	key       string
	placement *Placement
	unitID    string
}

// resolve finds the id a column names: a Homeward id, or the import key the record was imported with.
func (s *Service) resolve(ctx context.Context, kind, v string) (string, error) {
	if ids.Valid(v) {
		return v, nil
	}
	return s.repo.importedID(ctx, kind, v)
}

// importedBefore reports which keys of a kind were imported before.
func (s *Service) importedBefore(kind string) func(ctx context.Context, keys []string) ([]bool, error) {
	return func(ctx context.Context, keys []string) ([]bool, error) {
		ids, err := s.repo.importedIDs(ctx, kind, keys)
		if err != nil {
			return nil, err
		}
		done := make([]bool, len(ids))
		for i, id := range ids {
			done[i] = id != ""
		}
		return done, nil
	}
}

// namedReferrals reads, for a batch of rows, the referrals their referral columns name, so each row
// finds its referral without a round trip of its own. A name that names no referral maps to nil.
type namedReferrals map[string]*events.ReferralFacts

func (s *Service) prefetchReferrals(named namedReferrals) func(ctx context.Context, rows []importer.Row) error {
	return func(ctx context.Context, rows []importer.Row) error {
		clear(named)
		var byKey []string
		for _, row := range rows {
			if v := row.Get("referral"); !ids.Valid(v) && v != "" {
				byKey = append(byKey, v)
			}
		}
		resolved, err := s.repo.importedIDs(ctx, keyspace.ImportedReferral, byKey)
		if err != nil {
			return err
		}
		idOf := make(map[string]string, len(rows))
		for i, k := range byKey {
			idOf[k] = resolved[i]
		}
		var want []string
		for _, row := range rows {
			v := row.Get("referral")
			id, ok := idOf[v]
			if !ok && ids.Valid(v) {
				id = v
			}
			idOf[v] = id
			if id != "" {
				want = append(want, id)
			}
		}
		found, err := s.repo.referralsByID(ctx, want)
		if err != nil {
			return err
		}
		for v, id := range idOf {
			named[v] = found[id]
		}
		return nil
	}
}

// namedUnit is the unit a row's unit column names, or nil with the problem recorded. Units are read
// once per import (seen, by the column's value): rows are checked against the units as they were
// before the file, and each write re-reads its unit under a version guard.
func (s *Service) namedUnit(ctx context.Context, cell *importer.Cells, seen map[string]*Unit) (*Unit, error) {
	name := cell.Get("unit")
	u, ok := seen[name]
	if !ok {
		id, err := s.resolve(ctx, keyspace.ImportedUnit, name)
		if err != nil {
			return nil, err
		}
		if id != "" {
			if u, _, err = s.repo.loadUnit(ctx, id); errors.Is(err, store.ErrNotFound) {
				u = nil
			} else if err != nil {
				return nil, err
			}
		}
		seen[strings.Clone(name)] = u
	}
	if u == nil {
		cell.Fail("unit", "names no unit: give a unit's id, or the import key of a unit imported before")
	}
	return u, nil
}

// namedReferral is the referral a row's referral column names (read ahead for its batch), or nil
// with the problem recorded.
func namedReferral(cell *importer.Cells, named namedReferrals) *events.ReferralFacts {
	ref := named[cell.Get("referral")]
	if ref == nil {
		cell.Fail("referral", "names no referral: give a referral's id, or the import key of a referral imported before")
	}
	return ref
}

// recordedStays reads each unit's recorded stays once per import: the file's own rows are checked
// against each other by fileSpans, and a stay booked live between the check and the write changes
// its unit, which the write's version guard refuses.
type recordedStays struct {
	repo   *repo
	byUnit map[string][]stay
}

// lastDeparture is the latest departure from the unit on or before a day, recorded or in the file
// (held has every row of the file once the check has read it), so a stay's turnaround does not
// depend on the order of the file's rows.
func (rs *recordedStays) lastDeparture(unit string, held fileSpans, day calendar.Date, row int) *calendar.Date {
	var last *calendar.Date
	later := func(d calendar.Date) {
		if !day.Before(d) && (last == nil || last.Before(d)) {
			last = &d
		}
	}
	for _, st := range rs.byUnit[unit] {
		if st.departed {
			later(st.to)
		}
	}
	for _, h := range held[unit] {
		if h.departed && h.row != row {
			later(h.to)
		}
	}
	return last
}

// clash names a recorded stay of the unit that shares a night with [from, to), if any.
func (rs *recordedStays) clash(ctx context.Context, unit string, from, to calendar.Date) (string, error) {
	stays, ok := rs.byUnit[unit]
	if !ok {
		var err error
		if stays, err = rs.repo.staysIn(ctx, unit); err != nil {
			return "", err
		}
		rs.byUnit[unit] = stays
	}
	for _, st := range stays {
		if from.Before(st.to) && st.from.Before(to) {
			return st.placement, nil
		}
	}
	return "", nil
}

// fileSpans remembers the nights each row of a file holds in each unit, so rows cannot overlap
// either. The check and the write pass read the file alike, so a row meets itself only.
type fileSpans map[string][]fileSpan

type fileSpan struct {
	from, to calendar.Date
	row      int
	departed bool
}

// hold records the nights [from, to) of a row in a unit and returns another row sharing one, or 0.
func (fs fileSpans) hold(unit string, from, to calendar.Date, row int, departed bool) int {
	other := 0
	for _, h := range fs[unit] {
		if h.row != row && from.Before(h.to) && h.from.Before(to) && other == 0 {
			other = h.row
		}
	}
	fs[unit] = append(fs[unit], fileSpan{from: from, to: to, row: row, departed: departed})
	return other
}

// placementImport is a placements import for one file: it remembers the nights each row holds, so
// stays in one file cannot overlap either.
func (s *Service) placementImport() app.Import[importedStay] {
	held, recorded, units, referrals := fileSpans{}, &recordedStays{repo: s.repo, byUnit: map[string][]stay{}}, map[string]*Unit{}, namedReferrals{}
	return app.Import[importedStay]{
		Layout: PlacementLayout,
		Row: func(ctx context.Context, rd *importer.Reader, row importer.Row) (importedStay, bool, error) {
			now, today := s.now(), s.today()
			cell := rd.Cells(row, today)
			fail := cell.Fail
			u, err := s.namedUnit(ctx, cell, units)
			if err != nil {
				return importedStay{}, false, err
			}
			ref := namedReferral(cell, referrals)
			arrival, planned, departed := cell.Past("arrival"), cell.Date("plannedDeparture"), cell.Past("departedOn")
			claimed, claimedOn := cell.YesNo("housingBenefitClaimed"), cell.Past("housingBenefitClaimedOn")
			switch {
			case claimedOn != nil && row.Get("housingBenefitClaimed") != "" && !claimed:
				fail("housingBenefitClaimed", "says no, but housingBenefitClaimedOn gives a date")
			case claimedOn != nil:
				claimed = true
			case claimed && departed == nil:
				fail("housingBenefitClaimedOn", "is needed for a stay under way whose claim was made: the date it was made")
			}
			dest := row.Get("destination")
			switch {
			case departed != nil && !slices.Contains(Destinations, dest):
				fail("destination", "must be one of "+strings.Join(Destinations, ", ")+" for a stay that has ended")
			case departed == nil && dest != "":
				fail("destination", "is for a stay that has ended: give departedOn too")
			}
			if cell.Bad || u == nil || ref == nil || arrival == nil {
				return importedStay{}, true, nil
			}
			if planned == nil {
				p := arrival.AddDays(u.MaxStayDays)
				planned = &p
			}
			// A stay under way holds its unit at least until tomorrow, even past its planned departure.
			end := *planned
			if tomorrow := today.AddDays(1); departed == nil && end.Before(tomorrow) {
				end = tomorrow
			}
			if departed != nil {
				end = *departed
				if departed.Before(*arrival) {
					fail("departedOn", "must not be before the arrival")
				}
			}
			if claimed && !u.HousingBenefitEligible {
				fail("housingBenefitClaimed", "the unit is not eligible for housing benefit")
			}
			if claimedOn != nil && (claimedOn.Before(*arrival) || (departed != nil && departed.Before(*claimedOn))) {
				fail("housingBenefitClaimedOn", "must be during the stay")
			}
			if !arrival.Before(*planned) {
				fail("plannedDeparture", "must be after the arrival")
			}
			if departed == nil && (u.Status != UnitAvailable || len(u.Bookings) > 0) {
				fail("departedOn", "is needed: the unit is "+string(u.Status)+" or booked now, so this stay cannot be under way")
			}
			if spellsClash(u.Periods, *arrival, end) {
				fail("arrival", "overlaps a void or closed spell of the unit")
			}
			clash, err := recorded.clash(ctx, u.ID, *arrival, end)
			if err != nil {
				return importedStay{}, false, err
			}
			if clash != "" {
				fail("arrival", "overlaps placement "+clash+" in the same unit")
			}
			if other := held.hold(u.ID, *arrival, end, row.Number, departed != nil); other != 0 {
				fail("arrival", fmt.Sprintf("overlaps the stay in row %d in the same unit", other))
			}
			if cell.Bad {
				return importedStay{}, true, nil
			}
			by := principalStaff(ctx)
			p := &Placement{ID: ids.New(now), ReferralID: ref.ID, UnitID: u.ID, Scheme: u.Scheme, Status: PlacementArrived,
				Arrival: *arrival, PlannedDeparture: *planned, WeeklyCost: u.WeeklyCost, ArrivedOn: arrival,
				HousingBenefit: HousingBenefit{Eligible: u.HousingBenefitEligible, ClaimedOn: claimedOn}, Extensions: []Extension{}, CreatedBy: by, CreatedAt: now, UpdatedAt: now}
			p.History = []Transition{{To: string(PlacementProvisional), At: now, By: by}, {From: string(PlacementProvisional), To: string(PlacementArrived), At: now, By: by}}
			if prev := recorded.lastDeparture(u.ID, held, *arrival, row.Number); prev != nil {
				days := prev.DaysUntil(*arrival)
				p.TurnaroundDays = &days
			}
			if departed != nil {
				nights := arrival.DaysUntil(*departed)
				p.Status, p.DepartedOn, p.Nights = PlacementDeparted, departed, &nights
				p.Departure = &Departure{Destination: dest, HousingBenefitClaimed: claimed, VoidReason: "cleaning"}
				p.History = append(p.History, Transition{From: string(PlacementArrived), To: string(PlacementDeparted), At: now, By: by})
			}
			return importedStay{key: row.Key(), placement: p, unitID: u.ID}, false, nil
		},
		Done:      s.importedBefore(keyspace.ImportedPlacement),
		Prefetch:  s.prefetchReferrals(referrals),
		Partition: func(st importedStay) string { return st.unitID },
		Write: func(r *http.Request, file *app.ImportFile, row int, st importedStay) (bool, error) {
			ctx := r.Context()
			u, uv, err := s.repo.loadUnit(ctx, st.unitID)
			if err != nil {
				return false, err
			}
			p := st.placement
			after, err := app.Copy(u)
			if err != nil {
				return false, err
			}
			arrivedAt := p.Arrival.In(calendar.London(), 0, 0, 0, 0)
			evs := []event{
				placementEvent(p, events.PlacementBooked{Placement: placementFacts(p)}),
				placementEvent(p, events.PlacementArrived{Placement: placementFacts(p), TurnaroundDays: p.TurnaroundDays}),
			}
			evs[0].At, evs[1].At = arrivedAt, arrivedAt
			if on := p.HousingBenefit.ClaimedOn; on != nil {
				after := p.Arrival.DaysUntil(*on)
				ev := placementEvent(p, events.PlacementHousingBenefitClaimed{Placement: placementFacts(p), ClaimedOn: *on, DaysAfterArrival: &after})
				ev.At = on.In(calendar.London(), 0, 0, 0, 0)
				evs = append(evs, ev)
			}
			if p.DepartedOn == nil {
				after.setBooking(Booking{Placement: p.ID, From: p.Arrival, To: p.PlannedDeparture})
				after.setStatus(UnitOccupied, "", p.Arrival)
			} else {
				if after.LastDepartureOn == nil || after.LastDepartureOn.Before(*p.DepartedOn) {
					after.LastDepartureOn = p.DepartedOn
				}
				ev := placementEvent(p, events.PlacementDeparted{Placement: placementFacts(p), DepartedOn: *p.DepartedOn, Nights: *p.Nights,
					Destination: p.Departure.Destination, HousingBenefitClaimed: p.Departure.HousingBenefitClaimed, TurnaroundDays: p.TurnaroundDays,
					OverStayNights: max(0, p.PlannedDeparture.DaysUntil(*p.DepartedOn)), UnitLeftAsIs: true})
				ev.At = p.DepartedOn.In(calendar.London(), 0, 0, 0, 0)
				evs = append(evs, ev)
			}
			pw, err := s.repo.placementWrite(nil, p, 0, s.app.AuditEntry(r, audit.ActionCreate, file.Provenance(row)))
			if err != nil {
				return false, err
			}
			writes := []write{pw}
			if !unitsEqual(u, after) {
				after.UpdatedAt = s.now()
				uw, err := s.repo.unitWrite(u, after, uv, nil)
				if err != nil {
					return false, err
				}
				writes = append(writes, uw)
			}
			_, err = s.repo.commit(ctx, change{writes: writes, events: evs,
				extra: []store.Op{store.Claim(s.repo.keys.Imported(keyspace.ImportedPlacement, st.key), p.ID, 0)}})
			if isConflictOn(err, s.repo.keys.Unit(u.ID)) {
				return false, fmt.Errorf("unit %s changed since the check: %w", u.ID, app.ErrChangedSinceCheck)
			}
			return claimedOrErr(err)
		},
	}
}

func unitsEqual(a, b *Unit) bool {
	return a.Status == b.Status && slices.Equal(a.Bookings, b.Bookings) &&
		((a.LastDepartureOn == nil) == (b.LastDepartureOn == nil)) && (a.LastDepartureOn == nil || *a.LastDepartureOn == *b.LastDepartureOn)
}

// principalStaff is the signed-in member of staff.
func principalStaff(ctx context.Context) Staff {
	p, _ := auth.From(ctx)
	return p.Staff()
}

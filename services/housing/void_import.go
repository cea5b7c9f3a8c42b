package housing

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/importer"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// VoidLayout is the published layout of a voids file: a unit's void spells, past or under way.
var VoidLayout = importer.Layout{Name: "voids", Columns: []importer.Column{
	{Name: importer.KeyColumn}, {Name: "unit", Required: true}, {Name: "from", Required: true},
	{Name: "to"}, {Name: "reason", Required: true},
}}

// importedVoid is a voids row: a spell to add to a unit.
type importedVoid struct {
	key    string
	unitID string
	spell  StatusPeriod
}

// spellsClash reports whether [from, to) shares a night with a void or closed spell of the unit.
func spellsClash(periods []StatusPeriod, from, to calendar.Date) bool {
	return slices.ContainsFunc(periods, func(p StatusPeriod) bool {
		return p.From.Before(to) && (p.To == nil || from.Before(*p.To))
	})
}

// voidImport is a voids import for one file: a spell shares no night with a stay, another spell of
// its unit or another row of the file, and one under way needs its unit available and unbooked.
func (s *Service) voidImport() app.Import[importedVoid] {
	held, recorded, units := fileSpans{}, &recordedStays{repo: s.repo, byUnit: map[string][]stay{}}, map[string]*Unit{}
	return app.Import[importedVoid]{
		Layout: VoidLayout,
		Row: func(ctx context.Context, rd *importer.Reader, row importer.Row) (importedVoid, bool, error) {
			today := s.today()
			cell := rd.Cells(row, today)
			u, err := s.namedUnit(ctx, cell, units)
			if err != nil {
				return importedVoid{}, false, err
			}
			from, to := cell.Past("from"), cell.Past("to")
			reason := row.Get("reason")
			if !slices.Contains(VoidReasons, reason) {
				cell.Fail("reason", "must be one of "+strings.Join(VoidReasons, ", "))
			}
			if cell.Bad || u == nil || from == nil {
				return importedVoid{}, true, nil
			}
			end := today.AddDays(1) // a spell under way holds its unit at least until tomorrow
			if to != nil {
				end = *to
				if !from.Before(*to) {
					cell.Fail("to", "must be after from")
				}
			} else if u.Status != UnitAvailable || len(u.Bookings) > 0 {
				cell.Fail("to", "is needed: the unit is "+string(u.Status)+" or booked now, so this void cannot be under way")
			}
			if from.Before(u.CreatedOn) {
				cell.Fail("from", "must not be before the unit joined the scheme, "+u.CreatedOn.String())
			}
			if spellsClash(u.Periods, *from, end) {
				cell.Fail("from", "overlaps a void or closed spell of the unit")
			}
			clash, err := recorded.clash(ctx, u.ID, *from, end)
			if err != nil {
				return importedVoid{}, false, err
			}
			if clash != "" {
				cell.Fail("from", "overlaps placement "+clash+": a unit is not void while someone stays in it")
			}
			if other := held.hold(u.ID, *from, end, row.Number, false); other != 0 {
				cell.Fail("from", fmt.Sprintf("overlaps the void in row %d of the same unit", other))
			}
			if cell.Bad {
				return importedVoid{}, true, nil
			}
			return importedVoid{key: row.Key(), unitID: u.ID, spell: StatusPeriod{Status: UnitVoid, Reason: reason, From: *from, To: to}}, false, nil
		},
		Done:      s.importedBefore(keyspace.ImportedVoid),
		Partition: func(iv importedVoid) string { return iv.unitID },
		Write: func(r *http.Request, file *app.ImportFile, row int, iv importedVoid) (bool, error) {
			ctx := r.Context()
			u, version, err := s.repo.loadUnit(ctx, iv.unitID)
			if err != nil {
				return false, err
			}
			after, err := app.Copy(u)
			if err != nil {
				return false, err
			}
			var ev event
			if iv.spell.To == nil {
				after.setStatus(UnitVoid, iv.spell.Reason, iv.spell.From)
				ev = unitEvent(after, events.UnitStatusChanged{Unit: unitFacts(after), From: string(UnitAvailable), To: string(UnitVoid),
					Reason: iv.spell.Reason, On: iv.spell.From})
			} else {
				after.Periods = append(after.Periods, iv.spell)
				slices.SortStableFunc(after.Periods, func(a, b StatusPeriod) int { return a.From.Compare(b.From) })
				ev = unitEvent(after, events.UnitVoidRecorded{Unit: unitFacts(after), Reason: iv.spell.Reason, From: iv.spell.From, To: *iv.spell.To})
			}
			ev.At = iv.spell.From.In(calendar.London(), 0, 0, 0, 0)
			after.UpdatedAt = s.now()
			entry := s.app.AuditEntry(r, audit.ActionUpdate, file.Provenance(row))
			wr, err := s.repo.unitWrite(u, after, version, &entry)
			if err != nil {
				return false, err
			}
			_, err = s.repo.commit(ctx, change{writes: []write{wr}, events: []event{ev},
				extra: []store.Op{store.Claim(s.repo.keys.Imported(keyspace.ImportedVoid, iv.key), u.ID, 0)}})
			if isConflictOn(err, wr.key) {
				return false, fmt.Errorf("unit %s changed since the check: %w", u.ID, app.ErrChangedSinceCheck)
			}
			return claimedOrErr(err)
		},
	}
}

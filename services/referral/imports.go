package referral

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

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

// ImportLayout is the published layout of a referrals file (docs/import.md describes each column).
var ImportLayout = importer.Layout{Name: "referrals", Columns: []importer.Column{
	{Name: "importKey", Required: true, Doc: "the row's own key in the partnership's old records; importing it again changes nothing"},
	{Name: "receivedAt", Required: true, Doc: "when the referral came: YYYY-MM-DD or YYYY-MM-DDTHH:MM, London time"},
	{Name: "name", Required: true, Doc: "the person's full name"},
	{Name: "dateOfBirth", Doc: "YYYY-MM-DD"},
	{Name: "nhsNumber", Doc: "10 digits, checked like the live form's"},
	{Name: "address"}, {Name: "postcode"}, {Name: "phone"},
	{Name: "source", Required: true, Doc: strings.Join(Sources, ", ")},
	{Name: "referrerOrganisation", Required: true},
	{Name: "ward"},
	{Name: "consentToRefer", Required: true, Doc: "yes (a referral needs it)"},
	{Name: "consentToShare", Required: true, Doc: "yes or no"},
	{Name: "tenure", Required: true, Doc: strings.Join(Tenures, ", ")},
	{Name: "needs", Required: true, Doc: "one or more of " + strings.Join(Needs, ", ") + ", separated by ;"},
	{Name: "priority", Required: true, Doc: strings.Join(Priorities, ", ")},
	{Name: "admissionDate"}, {Name: "dischargeReadyDate"},
	{Name: "delayReason", Doc: strings.Join(DelayReasons, ", ")},
	{Name: "wellbeing", Doc: "WEMWBS 14–70 at referral"},
	{Name: "firstContactAt", Doc: "when the referral was first answered"},
	{Name: "history", Doc: "the moves after receipt in order, each status@when, separated by ; (e.g. triaged@2025-01-03;assessing@2025-01-06)"},
	{Name: "dischargeDestination", Doc: "required when the history has discharged: " + strings.Join(Destinations, ", ")},
}}

// importRow is a row made into a referral, with its import key and the events it implies.
type importRow struct {
	key    string
	ref    *Referral
	events []event
}

// referralImport is the referrals layout's import: rows checked with the live API's rules, each
// referral written with its indexes, its events at their historical times, an audit entry naming the
// file, its SHA-256 and the row, and a claim on the row's import key.
func (s *Service) referralImport() app.Import[importRow] {
	return app.Import[importRow]{
		Layout: ImportLayout,
		Row: func(ctx context.Context, rd *importer.Reader, row importer.Row) (importRow, bool, error) {
			principal, _ := auth.From(ctx)
			return s.referralFromRow(ctx, rd, row, principal, s.now())
		},
		Write: func(r *http.Request, file *app.ImportFile, row int, ir importRow) (bool, error) {
			c := change{after: ir.ref, audit: s.auditEntry(r, audit.ActionCreate, file.Provenance(row)), events: ir.events,
				extra: []store.Op{store.Claim(s.repo.keys.Imported(keyspace.ImportedReferral, ir.key), ir.ref.ID, 0)}}
			_, err := s.repo.commit(r.Context(), c)
			var claimed *store.ClaimTakenError
			if errors.As(err, &claimed) {
				return true, nil
			}
			return false, err
		},
	}
}

// formColumns maps the live API's field names to the layout's columns, so a rule's message lands on
// the column it is about.
var formColumns = map[string]string{
	"referrer.organisation": "referrerOrganisation", "referrer.ward": "ward",
	"consent.toRefer": "consentToRefer", "consent.toShare": "consentToShare",
}

func columnOf(field string) string {
	if c, ok := formColumns[field]; ok {
		return c
	}
	field = strings.TrimPrefix(field, "person.")
	if i := strings.IndexByte(field, '['); i >= 0 {
		field = field[:i]
	}
	return field
}

// referralFromRow builds the referral a row describes, recording every problem on the reader; bad is
// true when the row has any.
func (s *Service) referralFromRow(ctx context.Context, rd *importer.Reader, row importer.Row, principal *auth.Principal, now time.Time) (importRow, bool, error) {
	cell := rd.Cells(row, calendar.DateOf(now.In(calendar.London())))
	fail := cell.Fail
	key := row.Get("importKey")
	received, ok := parseWhen(row.Get("receivedAt"))
	switch {
	case !ok:
		fail("receivedAt", "must be YYYY-MM-DD or YYYY-MM-DDTHH:MM")
	case received.After(now):
		fail("receivedAt", "must not be in the future")
	}
	req := CreateRequest{
		Person: Person{Name: row.Get("name"), DateOfBirth: cell.Past("dateOfBirth"), NHSNumber: row.Get("nhsNumber"),
			Address: row.Get("address"), Postcode: row.Get("postcode"), Phone: row.Get("phone")},
		Form: Form{Source: row.Get("source"), Referrer: Referrer{Organisation: row.Get("referrerOrganisation"), Ward: row.Get("ward")},
			Consent: Consent{ToRefer: cell.YesNo("consentToRefer"), ToShare: cell.YesNo("consentToShare")}, Tenure: row.Get("tenure"),
			Priority: row.Get("priority"), AdmissionDate: cell.Past("admissionDate"), DischargeReadyDate: cell.Past("dischargeReadyDate"),
			DelayReason: row.Get("delayReason"), Needs: cell.List("needs")},
	}
	if row.Get("wellbeing") != "" {
		n := cell.Int("wellbeing")
		req.Wellbeing = &n
	}
	for _, e := range req.Validate() {
		fail(columnOf(e.Field), e.Message)
	}
	if cell.Bad {
		return importRow{}, true, nil
	}
	due, target, err := s.dueAt(ctx, received, req.Priority)
	if errors.Is(err, calendar.ErrOutsideCalendar) {
		fail("receivedAt", err.Error())
		return importRow{}, true, nil
	}
	if err != nil {
		return importRow{}, false, err
	}
	by := principal.Staff()
	person := req.Person
	ref := &Referral{
		ID: ids.New(received), Status: StatusReceived, Person: &person, Form: req.Form, ReceivedAt: received,
		Response: Response{Target: target, DueAt: due}, Notes: []Note{}, Actions: []Action{}, Readmissions: []Readmission{},
		FollowUps: []FollowUp{}, History: []Transition{}, CreatedBy: by, CreatedAt: now, UpdatedAt: now,
	}
	evs := []event{{At: received, Payload: receivedEvent(ref)}}
	if v := row.Get("firstContactAt"); v != "" {
		at, ok := parseWhen(v)
		switch {
		case !ok:
			fail("firstContactAt", "must be YYYY-MM-DD or YYYY-MM-DDTHH:MM")
		case at.Before(received) || at.After(now):
			fail("firstContactAt", "must be between the referral's receipt and now")
		default:
			met := !at.After(due)
			ref.Response.FirstContactAt, ref.Response.Met = &at, &met
			evs = append(evs, event{At: at, Payload: events.ReferralFirstContact{At: at, DueAt: due, Met: met, Priority: ref.Priority}})
		}
	}
	moves, ok := s.historyFromRow(row, ref, by, fail)
	if !ok {
		return importRow{}, true, nil
	}
	evs = append(evs, moves...)
	return importRow{key: key, ref: ref, events: evs}, cell.Bad, nil
}

// historyFromRow replays the row's history on the referral: each move allowed by the workflow from
// the one before, in time order, none in the future.
func (s *Service) historyFromRow(row importer.Row, ref *Referral, by Staff, fail func(column, msg string)) ([]event, bool) {
	var evs []event
	last := ref.ReceivedAt
	for i, step := range strings.Split(row.Get("history"), ";") {
		step = strings.TrimSpace(step)
		if step == "" {
			continue
		}
		status, when, found := strings.Cut(step, "@")
		to := Status(strings.TrimSpace(status))
		at, ok := parseWhen(strings.TrimSpace(when))
		switch {
		case !found || !ok:
			fail("history", fmt.Sprintf("move %d (%q) must be status@YYYY-MM-DD", i+1, step))
			return nil, false
		case !CanMove(ref.Status, to):
			fail("history", fmt.Sprintf("move %d: a referral that is %s cannot move to %s", i+1, ref.Status, to))
			return nil, false
		case at.Before(last):
			fail("history", fmt.Sprintf("move %d (%s) is dated before the move or receipt before it", i+1, to))
			return nil, false
		case at.After(s.now()):
			fail("history", fmt.Sprintf("move %d (%s) is in the future", i+1, to))
			return nil, false
		}
		t := Transition{From: ref.Status, To: to, At: at, By: by}
		if needsReason(to) {
			t.Reason = "recorded before Homeward"
		}
		if to == StatusDischarged {
			dest := row.Get("dischargeDestination")
			if !slices.Contains(Destinations, dest) {
				fail("dischargeDestination", "must be one of "+strings.Join(Destinations, ", ")+" when the history has discharged")
				return nil, false
			}
			d := Discharge{Date: calendar.DateOf(at.In(calendar.London())), Destination: dest}
			if ref.DischargeReadyDate != nil {
				delayed := max(0, ref.DischargeReadyDate.DaysUntil(d.Date))
				d.DelayedDays = &delayed
			}
			ref.Discharge = &d
			for _, days := range s.policy.Rules.FollowUpDays {
				ref.FollowUps = append(ref.FollowUps, FollowUp{Days: days, DueDate: d.Date.AddDays(days)})
			}
			evs = append(evs, event{At: at, Payload: dischargedEvent(ref)})
		}
		if !to.Open() {
			closed := at
			ref.ClosedAt = &closed
		}
		evs = append(evs, event{At: at, Payload: events.ReferralStatusChanged{From: string(ref.Status), To: string(to)}})
		ref.History = append(ref.History, t)
		ref.Status, last = to, at
	}
	return evs, true
}

// parseWhen reads a day (taken as its London midnight) or a London date-time.
func parseWhen(v string) (time.Time, bool) {
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04", "2006-01-02 15:04", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, v, calendar.London()); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

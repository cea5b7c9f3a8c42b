package referral

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/importer"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// ImportLayout is the published layout of a referrals file (docs/import.md describes each column).
var ImportLayout = importer.Layout{Name: "referrals", Columns: []importer.Column{
	{Name: importer.KeyColumn, Doc: "the row's own key in the partnership's old records; importing it again changes nothing"},
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
	{Name: "keyWorkerId", Doc: "the key worker's staff id"}, {Name: "keyWorkerName", Doc: "the key worker's name"},
	{Name: "actions", Doc: "commissionedAt|type|ownerOrganisation|urgency[|status|completedAt|detail], separated by ;"},
	{Name: "followUps", Doc: "days|result[|wellbeing|recordedAt], separated by ;"},
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
	key := row.Key()
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
	timeline, discharged := s.historyFromRow(cell, by)
	timeline = append(timeline, s.workFromRow(ctx, cell, ref, discharged, by)...)
	if cell.Bad {
		return importRow{}, true, nil
	}
	// Everything is replayed in time order through the live API's steps; within one moment the
	// referral is assigned, then moves on, then its work and follow-ups, then closes.
	slices.SortStableFunc(timeline, func(a, b timed) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.rank, b.rank)) })
	for _, e := range timeline {
		if e.at.Before(received) {
			fail(e.column, e.label+" is dated before the referral was received")
			break
		}
		more, prob := e.step(ref, e.at)
		if prob != nil {
			msg := prob.Detail
			if len(prob.Errors) > 0 {
				msg = prob.Errors[0].Field + " " + prob.Errors[0].Message
			}
			fail(e.column, e.label+": "+msg)
			break
		}
		evs = append(evs, more...)
	}
	return importRow{key: key, ref: ref, events: evs}, cell.Bad, nil
}

// timed is one thing that happened to a referral, to be replayed at its time.
type timed struct {
	at            time.Time
	rank          int // within one moment: key worker, open moves, work, follow-ups, closing moves
	column, label string
	step          step
}

// Ranks of what happens at one moment.
const (
	rankAssign = iota
	rankMove
	rankWork
	rankWorkDone
	rankFollowUp
	rankClose
)

// historyFromRow reads the row's history: the moves after receipt in the order listed, each dated
// no earlier than the one before and not in the future. Whether the workflow allows each move is
// decided when it is replayed.
func (s *Service) historyFromRow(cell *importer.Cells, by Staff) (moves []timed, discharged *time.Time) {
	var out []timed
	var last time.Time
	for i, move := range cell.List("history") {
		status, when, found := strings.Cut(move, "@")
		to := Status(strings.TrimSpace(status))
		at, ok := parseWhen(strings.TrimSpace(when))
		label := fmt.Sprintf("move %d (%s)", i+1, to)
		switch {
		case !found || !ok:
			cell.Fail("history", fmt.Sprintf("move %d (%q) must be status@YYYY-MM-DD", i+1, move))
			return nil, nil
		case at.Before(last):
			cell.Fail("history", label+" is dated before the move before it")
			return nil, nil
		case at.After(s.now()):
			cell.Fail("history", label+" is in the future")
			return nil, nil
		}
		last = at
		dest := cell.Get("dischargeDestination")
		if to == StatusDischarged && !slices.Contains(Destinations, dest) {
			cell.Fail("dischargeDestination", "must be one of "+strings.Join(Destinations, ", ")+" when the history has discharged")
			return nil, nil
		}
		if to == StatusDischarged {
			discharged = &at
		}
		rank := rankMove
		if !to.Open() {
			rank = rankClose
		}
		out = append(out, timed{at: at, rank: rank, column: "history", label: label, step: s.importedMove(to, dest, by)})
	}
	return out, discharged
}

// importedMove is a workflow move recorded before Homeward; a discharge schedules the follow-ups.
func (s *Service) importedMove(to Status, dest string, by Staff) step {
	return func(ref *Referral, at time.Time) ([]event, *httpapi.Problem) {
		if !CanMove(ref.Status, to) {
			return nil, httpapi.Conflict("illegal-transition", "Move not allowed", fmt.Sprintf("a referral that is %s cannot move to %s", ref.Status, to))
		}
		var evs []event
		t := Transition{From: ref.Status, To: to, At: at, By: by}
		if needsReason(to) {
			t.Reason = "recorded before Homeward"
		}
		if to == StatusDischarged {
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
		ref.Status = to
		return evs, nil
	}
}

// workFromRow reads the row's key worker, actions and follow-up results as steps of the live API.
func (s *Service) workFromRow(ctx context.Context, cell *importer.Cells, ref *Referral, discharged *time.Time, by Staff) []timed {
	var out []timed
	if id, name := cell.Get("keyWorkerId"), cell.Get("keyWorkerName"); id != "" || name != "" {
		req := KeyWorkerRequest{ID: id, Name: name}
		for _, e := range req.Validate() {
			cell.Fail("keyWorker"+strings.ToUpper(e.Field[:1])+e.Field[1:], e.Message)
		}
		out = append(out, timed{at: ref.ReceivedAt, rank: rankAssign, column: "keyWorkerId", label: "the key worker", step: keyWorkerStep(req)})
	}
	for i, parts := range cell.Entries("actions", 4, 7) {
		label := fmt.Sprintf("action %d", i+1)
		at, ok := parseWhen(parts[0])
		if !ok || at.After(s.now()) {
			cell.Fail("actions", label+": "+strconv.Quote(parts[0])+" must be a past YYYY-MM-DD or YYYY-MM-DDTHH:MM")
			continue
		}
		req := ActionRequest{Type: parts[1], OwnerOrganisation: parts[2], Urgency: parts[3], Detail: parts[6]}
		for _, e := range req.Validate() {
			cell.Fail("actions", label+": "+e.Field+" "+e.Message)
		}
		// The update is of this action, whatever was commissioned between.
		var id string
		commission := s.actionStep(ctx, req, by)
		out = append(out, timed{at: at, rank: rankWork, column: "actions", label: label, step: func(ref *Referral, now time.Time) ([]event, *httpapi.Problem) {
			evs, prob := commission(ref, now)
			if prob == nil {
				id = ref.Actions[len(ref.Actions)-1].ID
			}
			return evs, prob
		}})
		status, doneWhen := parts[4], parts[5]
		if status == "" || status == "open" {
			if doneWhen != "" {
				cell.Fail("actions", label+": an open action has no completion time")
			}
			continue
		}
		update := ActionUpdateRequest{Status: status}
		for _, e := range update.Validate() {
			cell.Fail("actions", label+": "+e.Field+" "+e.Message)
		}
		when := at
		if status == "done" || status == "cancelled" {
			var ok bool
			if when, ok = parseWhen(doneWhen); !ok || when.After(s.now()) || when.Before(at) {
				cell.Fail("actions", label+": a "+status+" action needs the past time it was "+status+", after it was commissioned")
				continue
			}
		}
		out = append(out, timed{at: when, rank: rankWorkDone, column: "actions", label: label + " " + status, step: func(ref *Referral, now time.Time) ([]event, *httpapi.Problem) {
			return actionUpdateStep(id, update)(ref, now)
		}})
	}
	for _, parts := range cell.Entries("followUps", 2, 4) {
		days, err := strconv.Atoi(parts[0])
		label := parts[0] + "-day follow-up"
		if err != nil {
			cell.Fail("followUps", strconv.Quote(parts[0])+" must be the follow-up's days, e.g. 30")
			continue
		}
		req := FollowUpRequest{Result: parts[1]}
		if parts[2] != "" {
			n, err := strconv.Atoi(parts[2])
			if err != nil {
				cell.Fail("followUps", label+": the wellbeing score must be a whole number")
			}
			req.Wellbeing = &n
		}
		for _, e := range req.Validate() {
			cell.Fail("followUps", label+": "+e.Field+" "+e.Message)
		}
		var at time.Time
		switch {
		case parts[3] != "":
			var ok bool
			if at, ok = parseWhen(parts[3]); !ok || at.After(s.now()) {
				cell.Fail("followUps", label+": "+strconv.Quote(parts[3])+" must be a past YYYY-MM-DD or YYYY-MM-DDTHH:MM")
				continue
			}
		case discharged == nil:
			cell.Fail("followUps", label+": a follow-up comes after a discharge, and the history has none")
			continue
		default:
			// Recorded on its due day unless the old records say when.
			at = calendar.DateOf(discharged.In(calendar.London())).AddDays(days).In(calendar.London(), 0, 0, 0, 0)
			if at.After(s.now()) {
				cell.Fail("followUps", label+": it is not due yet")
				continue
			}
		}
		out = append(out, timed{at: at, rank: rankFollowUp, column: "followUps", label: label, step: followUpStep(days, req, by)})
	}
	return out
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

package referral

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
)

func (s *Service) details(r *http.Request) (step, *httpapi.Problem) {
	var req DetailsRequest
	if p := decodeInto(r, &req); p != nil {
		return nil, p
	}
	return func(ref *Referral, now time.Time) ([]event, *httpapi.Problem) {
		if !ref.Status.Open() || ref.ErasedAt != nil {
			return nil, httpapi.Conflict("closed", "The referral is closed", "a closed referral's details no longer change")
		}
		var changed events.ReferralDetailsChanged
		if req.Tenure != nil {
			ref.Tenure, changed.Tenure = *req.Tenure, req.Tenure
		}
		if req.Needs != nil {
			ref.Needs, changed.Needs = req.Needs, req.Needs
		}
		if req.DischargeReadyDate != nil {
			if ref.AdmissionDate != nil && req.DischargeReadyDate.Before(*ref.AdmissionDate) {
				return nil, httpapi.BadRequest("dates are not valid", httpapi.FieldError{Field: "dischargeReadyDate", Message: "must not be before the admission date " + ref.AdmissionDate.String()})
			}
			ref.DischargeReadyDate, changed.DischargeReadyDate = req.DischargeReadyDate, req.DischargeReadyDate
		}
		if req.DelayReason != nil {
			ref.DelayReason, changed.DelayReason = *req.DelayReason, req.DelayReason
		}
		if req.ConsentToShare != nil {
			ref.Consent.ToShare, changed.ConsentToShare = *req.ConsentToShare, req.ConsentToShare
		}
		for _, f := range []struct {
			v   *string
			dst *string
		}{{req.Address, &ref.Person.Address}, {req.Postcode, &ref.Person.Postcode}, {req.Phone, &ref.Person.Phone}} {
			if f.v != nil {
				*f.dst = *f.v
				changed.Contact = true // which contact detail changed is itself personal: say only that one did
			}
		}
		return []event{{At: now, Payload: changed}}, nil
	}, nil
}

func (s *Service) transition(r *http.Request) (step, *httpapi.Problem) {
	var req TransitionRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	p, _ := auth.From(r.Context())
	return func(ref *Referral, now time.Time) ([]event, *httpapi.Problem) {
		from := ref.Status
		if !CanMove(from, req.To) {
			prob := httpapi.Conflict("illegal-transition", "Move not allowed", fmt.Sprintf("a referral that is %s cannot move to %s", from, req.To))
			for _, a := range Allowed(from) {
				prob.Allowed = append(prob.Allowed, string(a))
			}
			return nil, prob
		}
		today := calendar.DateOf(now.In(calendar.London()))
		evs := []event{}
		switch req.To {
		case StatusDischarged:
			d := *req.Discharge
			if today.Before(d.Date) {
				return nil, httpapi.BadRequest("dates are not valid", httpapi.FieldError{Field: "discharge.date", Message: "must not be in the future"})
			}
			late, prob := app.CheckEntryDay("discharge.date", d.Date, today, s.policy.Rules)
			if prob != nil {
				return nil, prob
			}
			if late {
				ref.LateEntries = append(ref.LateEntries, app.LateEntry{What: "discharge", On: d.Date, RecordedAt: now, By: staffOf(p)})
			}
			if ref.AdmissionDate != nil && d.Date.Before(*ref.AdmissionDate) {
				return nil, httpapi.BadRequest("dates are not valid", httpapi.FieldError{Field: "discharge.date", Message: "must not be before the admission date " + ref.AdmissionDate.String()})
			}
			if ref.DischargeReadyDate != nil {
				delayed := max(0, ref.DischargeReadyDate.DaysUntil(d.Date))
				d.DelayedDays = &delayed
			}
			ref.Discharge = &d
			ref.FollowUps = []FollowUp{}
			for _, days := range s.policy.Rules.FollowUpDays {
				ref.FollowUps = append(ref.FollowUps, FollowUp{Days: days, DueDate: d.Date.AddDays(days)})
			}
			evs = append(evs, event{At: now, Payload: dischargedEvent(ref)})
		case StatusFollowUp:
			if len(ref.FollowUps) == 0 {
				return nil, httpapi.Conflict("no-follow-ups", "No follow-ups", "the partnership's policy sets no follow-ups; close the referral instead")
			}
		case StatusClosed:
			var pending []string
			for _, f := range ref.FollowUps {
				if f.Result == "" {
					pending = append(pending, strconv.Itoa(f.Days))
				}
			}
			if len(pending) > 0 {
				return nil, httpapi.Conflict("follow-ups-outstanding", "Follow-ups outstanding",
					"record the follow-ups due at "+strings.Join(pending, ", ")+" days before closing")
			}
		}
		ref.Status = req.To
		ref.History = append(ref.History, Transition{From: from, To: req.To, At: now, By: staffOf(p), Reason: req.Reason})
		if !req.To.Open() {
			ref.ClosedAt = &now
		}
		return append(evs, event{At: now, Payload: events.ReferralStatusChanged{From: string(from), To: string(req.To)}}), nil
	}, nil
}

func (s *Service) keyWorker(r *http.Request) (step, *httpapi.Problem) {
	var req KeyWorkerRequest
	if p := decodeInto(r, &req); p != nil {
		return nil, p
	}
	return keyWorkerStep(req), nil
}

// keyWorkerStep assigns the key worker of an open referral.
func keyWorkerStep(req KeyWorkerRequest) step {
	return func(ref *Referral, now time.Time) ([]event, *httpapi.Problem) {
		if !ref.Status.Open() {
			return nil, httpapi.Conflict("closed", "The referral is closed", "a closed referral has no key worker to assign")
		}
		ref.KeyWorker = &Staff{ID: req.ID, Name: req.Name}
		return []event{{At: now, Payload: events.ReferralKeyWorkerAssigned{KeyWorker: req.ID}}}, nil
	}
}

func (s *Service) firstContact(r *http.Request) (step, *httpapi.Problem) {
	var req FirstContactRequest
	if p := decodeInto(r, &req); p != nil {
		return nil, p
	}
	principal, _ := auth.From(r.Context())
	return func(ref *Referral, now time.Time) ([]event, *httpapi.Problem) {
		if ref.Response.FirstContactAt != nil {
			return nil, httpapi.Conflict("already-recorded", "First contact already recorded", "first contact was recorded at "+ref.Response.FirstContactAt.Format(time.RFC3339))
		}
		if !ref.Status.Open() {
			return nil, httpapi.Conflict("closed", "The referral is closed", "first contact can be recorded only on an open referral")
		}
		at := req.At
		if at.Before(ref.ReceivedAt) || at.After(now.Add(time.Minute)) {
			return nil, httpapi.BadRequest("the time is not valid", httpapi.FieldError{Field: "at", Message: "must be between the referral's receipt and now"})
		}
		day := calendar.DateOf(at.In(calendar.London()))
		late, prob := app.CheckEntryDay("at", day, calendar.DateOf(now.In(calendar.London())), s.policy.Rules)
		if prob != nil {
			return nil, prob
		}
		if late {
			ref.LateEntries = append(ref.LateEntries, app.LateEntry{What: "first-contact", On: day, RecordedAt: now, By: staffOf(principal)})
		}
		met := !at.After(ref.Response.DueAt)
		ref.Response.FirstContactAt, ref.Response.Met = &at, &met
		return []event{{At: now, Payload: events.ReferralFirstContact{At: at, DueAt: ref.Response.DueAt, Met: met, Priority: ref.Priority}}}, nil
	}, nil
}

func (s *Service) note(r *http.Request) (step, *httpapi.Problem) {
	var req NoteRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	p, _ := auth.From(r.Context())
	return noteStep(req, staffOf(p)), nil
}

// noteStep adds a note by a member of staff.
func noteStep(req NoteRequest, by Staff) step {
	return func(ref *Referral, now time.Time) ([]event, *httpapi.Problem) {
		if ref.ErasedAt != nil {
			return nil, httpapi.Conflict("erased", "Personal data erased", "the retention period has passed; notes can no longer be added")
		}
		if len(ref.Notes) >= 500 {
			return nil, httpapi.Conflict("too-many-notes", "Too many notes", "a referral holds at most 500 notes")
		}
		note := Note{ID: ids.New(now), At: now, By: by, Text: req.Text}
		ref.Notes = append(ref.Notes, note)
		// The text is personal and stays out of the event: reporting counts contacts, it does not read them.
		return []event{{At: now, Payload: events.ReferralNoteAdded{Note: note.ID, By: note.By.ID}}}, nil
	}
}

func (s *Service) addAction(r *http.Request) (step, *httpapi.Problem) {
	var req ActionRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	p, _ := auth.From(r.Context())
	return s.actionStep(r.Context(), req, staffOf(p)), nil
}

// actionStep commissions an action on an open referral, due by its urgency's target in working time.
func (s *Service) actionStep(ctx context.Context, req ActionRequest, by Staff) step {
	return func(ref *Referral, now time.Time) ([]event, *httpapi.Problem) {
		if !ref.Status.Open() {
			return nil, httpapi.Conflict("closed", "The referral is closed", "actions can be commissioned only on an open referral")
		}
		if !strings.EqualFold(req.OwnerOrganisation, ref.Referrer.Organisation) && !ref.Consent.ToShare {
			return nil, httpapi.Conflict("consent-to-share-required", "Consent to share needed",
				"the person has not consented to sharing beyond "+ref.Referrer.Organisation+"; record consent to share first")
		}
		if len(ref.Actions) >= 200 {
			return nil, httpapi.Conflict("too-many-actions", "Too many actions", "a referral holds at most 200 actions")
		}
		due, _, err := s.dueAt(ctx, now, req.Urgency)
		if err != nil {
			if errors.Is(err, calendar.ErrOutsideCalendar) {
				return nil, httpapi.Invalid(err.Error())
			}
			return nil, app.StorageProblemContext(ctx, err, "the referral")
		}
		a := Action{ID: ids.New(now), Type: req.Type, Detail: req.Detail, OwnerOrganisation: req.OwnerOrganisation,
			Urgency: req.Urgency, DueAt: due, Status: "open", CreatedAt: now, CreatedBy: by}
		ref.Actions = append(ref.Actions, a)
		return []event{{At: now, Payload: events.ReferralActionCommissioned{Action: a.ID, Type: a.Type, Urgency: a.Urgency, DueAt: due, Owner: a.OwnerOrganisation}}}, nil
	}
}

func (s *Service) updateAction(r *http.Request) (step, *httpapi.Problem) {
	var req ActionUpdateRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	return actionUpdateStep(r.PathValue("action"), req), nil
}

// actionUpdateStep moves an action on through its lifecycle.
func actionUpdateStep(id string, req ActionUpdateRequest) step {
	return func(ref *Referral, now time.Time) ([]event, *httpapi.Problem) {
		for i := range ref.Actions {
			a := &ref.Actions[i]
			if a.ID != id {
				continue
			}
			allowed := actionMoves[a.Status]
			if !contains(allowed, req.Status) {
				prob := httpapi.Conflict("illegal-transition", "Move not allowed", fmt.Sprintf("an action that is %s cannot become %s", a.Status, req.Status))
				prob.Allowed = allowed
				return nil, prob
			}
			a.Status = req.Status
			if req.Status == "done" || req.Status == "cancelled" {
				a.CompletedAt = &now
			}
			return []event{{At: now, Payload: events.ReferralActionUpdated{Action: a.ID, Type: a.Type, Status: a.Status, DueAt: a.DueAt, OnTime: !now.After(a.DueAt)}}}, nil
		}
		return nil, httpapi.NotFound("action " + strconv.Quote(id))
	}
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func (s *Service) readmission(r *http.Request) (step, *httpapi.Problem) {
	var req ReadmissionRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	p, _ := auth.From(r.Context())
	return func(ref *Referral, now time.Time) ([]event, *httpapi.Problem) {
		if ref.Discharge == nil {
			return nil, httpapi.Conflict("not-discharged", "Not discharged", "a readmission follows a discharge; this referral has none")
		}
		if req.Date.Before(ref.Discharge.Date) || calendar.DateOf(now.In(calendar.London())).Before(req.Date) {
			return nil, httpapi.BadRequest("the date is not valid", httpapi.FieldError{Field: "date", Message: "must be between the discharge date and today"})
		}
		within := ref.Discharge.Date.DaysUntil(req.Date) <= 30
		ref.Readmissions = append(ref.Readmissions, Readmission{Date: req.Date, Within30: within, RecordedBy: staffOf(p)})
		return []event{{At: now, Payload: events.ReferralReadmitted{Date: req.Date, DischargeDate: &ref.Discharge.Date, Within30Days: within}}}, nil
	}, nil
}

func (s *Service) followUp(r *http.Request) (step, *httpapi.Problem) {
	var req FollowUpRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	p, _ := auth.From(r.Context())
	days, err := strconv.Atoi(r.PathValue("days"))
	if err != nil {
		return nil, httpapi.NotFound("follow-up " + strconv.Quote(r.PathValue("days")))
	}
	return followUpStep(days, req, staffOf(p)), nil
}

// followUpStep records the result of a scheduled follow-up, after discharge and before closing.
func followUpStep(days int, req FollowUpRequest, by Staff) step {
	return func(ref *Referral, now time.Time) ([]event, *httpapi.Problem) {
		if ref.Status != StatusDischarged && ref.Status != StatusFollowUp {
			return nil, httpapi.Conflict("not-in-follow-up", "Not in follow-up", "follow-ups are recorded after discharge and before closing")
		}
		for i := range ref.FollowUps {
			f := &ref.FollowUps[i]
			if f.Days != days {
				continue
			}
			if f.Result != "" {
				return nil, httpapi.Conflict("already-recorded", "Follow-up already recorded", fmt.Sprintf("the %d-day follow-up was recorded as %s", days, f.Result))
			}
			staff := by
			f.Result, f.Wellbeing, f.RecordedAt, f.RecordedBy = req.Result, req.Wellbeing, &now, &staff
			return []event{{At: now, Payload: events.ReferralFollowUpRecorded{
				Days: days, DueDate: f.DueDate, Result: req.Result, Wellbeing: req.Wellbeing, WellbeingAtReferral: ref.Wellbeing}}}, nil
		}
		return nil, httpapi.NotFound(fmt.Sprintf("a %d-day follow-up", days))
	}
}

// actionMoves is the action lifecycle.
var actionMoves = map[string][]string{
	"open":        {"in-progress", "done", "cancelled"},
	"in-progress": {"done", "cancelled"},
}

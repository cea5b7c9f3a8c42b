// Package referral is the referral service: from a ward's referral to a safe discharge and the
// follow-ups after it, for one partnership.
package referral

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// Name is the service's name: its subcommand, Redis user and span prefix.
const Name = "referral"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI is the service's OpenAPI 3.1 description.
func OpenAPI() []byte { return openAPI }

// Service serves the referral API of one partnership.
type Service struct {
	app    *app.Service
	repo   *repo
	policy config.Policy
	now    func() time.Time
}

// New registers the referral API on a kit service.
func New(a *app.Service) *Service {
	s := &Service{
		app:    a,
		repo:   &repo{rdb: a.Redis, keys: a.Keys, pii: a.PII},
		policy: a.Config.Policy,
		now:    a.Now,
	}
	read := []auth.Permission{auth.ReferralRead, auth.ReferralReadOwn}
	a.ServeOpenAPI(openAPI)
	a.API("POST /v1/referrals", s.create, auth.ReferralCreate)
	a.API("GET /v1/referrals", s.list, read...)
	a.API("GET /v1/referrals/counts", s.counts, auth.ReferralRead)
	a.API("POST /v1/referrals/search", s.search, read...)
	a.API("GET /v1/referrals/{id}", s.get, read...)
	a.API("PATCH /v1/referrals/{id}", s.mutation(s.details), auth.ReferralManage)
	a.API("POST /v1/referrals/{id}/transitions", s.mutation(s.transition), auth.ReferralManage)
	a.API("PUT /v1/referrals/{id}/key-worker", s.mutation(s.keyWorker), auth.ReferralManage)
	a.API("POST /v1/referrals/{id}/first-contact", s.mutation(s.firstContact), auth.ReferralManage)
	a.API("POST /v1/referrals/{id}/notes", s.mutation(s.note), auth.ReferralManage, auth.ReferralWork)
	a.API("POST /v1/referrals/{id}/actions", s.mutation(s.addAction), auth.ReferralManage)
	a.API("PATCH /v1/referrals/{id}/actions/{action}", s.mutation(s.updateAction), auth.ReferralManage, auth.ReferralWork)
	a.API("POST /v1/referrals/{id}/readmissions", s.mutation(s.readmission), auth.ReferralManage)
	a.API("PUT /v1/referrals/{id}/follow-ups/{days}", s.mutation(s.followUp), auth.ReferralManage)
	a.API("GET /v1/referrals/{id}/audit", a.AuditTrail(auditKind), auth.AuditRead)
	a.API("GET /v1/actions/overdue", s.overdueActions, read...)
	a.API("GET /v1/follow-ups/due", s.followUpsDue, read...)
	a.API("GET /v1/closure-days", s.getClosureDays, auth.ReferralRead, auth.ReferralReadOwn, auth.CalendarManage)
	a.API("PUT /v1/closure-days", s.putClosureDays, auth.CalendarManage)
	return s
}

func staffOf(p *auth.Principal) Staff { return Staff{ID: p.IdentityID, Name: p.Name, Email: p.Email} }

func (s *Service) auditEntry(r *http.Request, action, detail string) audit.Entry {
	return s.app.AuditEntry(r, action, detail)
}

func writeReferral(w http.ResponseWriter, status int, r *Referral, version int64, now time.Time) {
	r.withClock(now)
	r.Allowed = append(make([]Status, 0, 4), Allowed(r.Status)...)
	w.Header().Set("ETag", app.ETag(version))
	httpapi.WriteJSON(w, status, r)
}

// pathID reads and checks a record id from the path.
func pathID(r *http.Request) (string, *httpapi.Problem) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		return "", httpapi.NotFound("referral " + strconv.Quote(id))
	}
	return id, nil
}

// dueAt is the deadline of a target counted from t.
func (s *Service) dueAt(ctx context.Context, t time.Time, priority string) (time.Time, string, error) {
	var target config.Target
	switch priority {
	case "emergency":
		target = s.policy.Rules.ResponseTargets.Emergency
	case "urgent":
		target = s.policy.Rules.ResponseTargets.Urgent
	default:
		target = s.policy.Rules.ResponseTargets.Routine
	}
	if target.Unit == config.UnitHours {
		return t.Add(time.Duration(target.Value) * time.Hour), target.String(), nil
	}
	cal, err := s.repo.calendar(ctx, s.now())
	if err != nil {
		return time.Time{}, "", err
	}
	due, err := cal.AddWorkingDays(t, target.Value)
	return due, target.String(), err
}

func (s *Service) deadlineProblem(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, calendar.ErrOutsideCalendar) {
		httpapi.WriteProblem(w, r, httpapi.Invalid(err.Error()))
		return
	}
	storageFailed(w, r, err)
}

// storageFailed answers a storage error: Redis failing is a 503, not the caller's fault.
func storageFailed(w http.ResponseWriter, r *http.Request, err error) {
	if store.Unavailable(err) {
		w.Header().Set("Retry-After", "1")
		httpapi.WriteProblem(w, r, httpapi.Unavailable("storage cannot be reached; try again (a create retried with the same Idempotency-Key is never made twice)"))
		return
	}
	app.WriteStorageProblem(w, r, err, "the referral")
}

// storageProblem is storageFailed's answer for a mutator, which returns its problem.
func storageProblem(r *http.Request, err error) *httpapi.Problem {
	return app.StorageProblem(r, err, "the referral")
}

// validIdempotencyKey accepts 1–128 printable ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > 128 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

const idempotencyTTL = 24 * 60 * 60

func (s *Service) create(w http.ResponseWriter, r *http.Request) {
	var req CreateRequest
	if p := httpapi.Decode(r, &req, httpapi.DefaultBodyLimit); p != nil {
		httpapi.WriteProblem(w, r, p)
		return
	}
	now := s.now()
	var e fieldErrors
	notAfter(&e, "admissionDate", req.AdmissionDate, now)
	notAfter(&e, "person.dateOfBirth", req.Person.DateOfBirth, now)
	if len(e) > 0 {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("dates are not valid", e...))
		return
	}
	principal, _ := auth.From(r.Context())
	idemKey := r.Header.Get("Idempotency-Key")
	if idemKey != "" && !validIdempotencyKey(idemKey) {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("Idempotency-Key must be 1–128 printable ASCII characters"))
		return
	}
	var bodyHash string
	if idemKey != "" {
		canonical, err := json.Marshal(req)
		if err != nil {
			httpapi.Internal(w, r, err)
			return
		}
		bodyHash = s.app.PII.Index("idempotency", string(canonical))
	}

	due, target, err := s.dueAt(r.Context(), now, req.Priority)
	if err != nil {
		s.deadlineProblem(w, r, err)
		return
	}
	person := req.Person
	ref := &Referral{
		ID: ids.New(now), Status: StatusReceived, Person: &person, Form: req.Form, ReceivedAt: now, Response: Response{Target: target, DueAt: due},
		Notes: []Note{}, Actions: []Action{}, Readmissions: []Readmission{}, FollowUps: []FollowUp{}, History: []Transition{},
		CreatedBy: staffOf(principal), CreatedAt: now, UpdatedAt: now,
	}
	c := change{after: ref, audit: s.auditEntry(r, audit.ActionCreate, ""), events: []event{{At: now, Payload: receivedEvent(ref)}}}
	if idemKey != "" {
		c.extra = append(c.extra, store.Claim(s.repo.keys.Idempotency(principal.IdentityID, idemKey), bodyHash+" "+ref.ID, idempotencyTTL))
	}
	version, err := s.repo.commit(r.Context(), c)
	var claimed *store.ClaimTakenError
	if errors.As(err, &claimed) {
		s.replay(w, r, claimed.Value, bodyHash)
		return
	}
	if err != nil {
		storageFailed(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/referrals/"+ref.ID)
	writeReferral(w, http.StatusCreated, ref, version, now)
}

// replay answers a retried create with the referral the first attempt made.
func (s *Service) replay(w http.ResponseWriter, r *http.Request, claim, bodyHash string) {
	hash, id, _ := strings.Cut(claim, " ")
	if hash != bodyHash {
		httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusUnprocessableEntity, "idempotency-key-reused",
			"Idempotency-Key reused", "this Idempotency-Key was used with a different body; use a new key for a new referral"))
		return
	}
	ref, version, err := s.repo.get(r.Context(), id, s.auditEntry(r, audit.ActionRead, "idempotent replay"))
	if err != nil {
		storageFailed(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/referrals/"+ref.ID)
	w.Header().Set("Idempotent-Replayed", "true")
	writeReferral(w, http.StatusCreated, ref, version, s.now())
}

// mayRead applies the read-own rule: a referrer sees only the referrals they made.
func mayRead(p *auth.Principal, createdBy string) bool {
	return p.Can(auth.ReferralRead) || p.Can(auth.ReferralReadOwn) && createdBy == p.IdentityID
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	id, prob := pathID(r)
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	principal, _ := auth.From(r.Context())
	if !principal.Can(auth.ReferralRead) {
		// Check ownership before anything is shown or recorded as shown.
		items, err := s.repo.summaries(r.Context(), []string{id}, s.now())
		if err != nil {
			storageFailed(w, r, err)
			return
		}
		if len(items) == 0 || !mayRead(principal, items[0].CreatedByID) {
			httpapi.WriteProblem(w, r, httpapi.NotFound("referral "+id))
			return
		}
	}
	ref, version, err := s.repo.get(r.Context(), id, s.auditEntry(r, audit.ActionRead, ""))
	if err != nil {
		storageFailed(w, r, err)
		return
	}
	writeReferral(w, http.StatusOK, ref, version, s.now())
}

// mutator changes a loaded referral and returns the domain events of the change, or a problem.
type mutator func(r *http.Request, ref *Referral, p *auth.Principal, now time.Time) ([]event, *httpapi.Problem)

// mutation wraps a mutator in the optimistic-concurrency protocol: If-Match is required, checked
// against the stored version, and the write is refused if the record changed meanwhile.
func (s *Service) mutation(m mutator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, prob := pathID(r)
		if prob != nil {
			httpapi.WriteProblem(w, r, prob)
			return
		}
		match, prob := app.IfMatch(r, "referral")
		if prob != nil {
			httpapi.WriteProblem(w, r, prob)
			return
		}
		before, version, err := s.repo.load(r.Context(), id)
		if err != nil {
			storageFailed(w, r, err)
			return
		}
		if match != app.ETag(version) {
			app.Stale(w, r, "referral", version)
			return
		}
		after, err := clone(before)
		if err != nil {
			httpapi.Internal(w, r, err)
			return
		}
		principal, _ := auth.From(r.Context())
		now := s.now()
		events, prob := m(r, after, principal, now)
		if prob != nil {
			httpapi.WriteProblem(w, r, prob)
			return
		}
		after.UpdatedAt = now
		next, err := s.repo.commit(r.Context(), change{before: before, version: version, after: after, events: events,
			audit: s.auditEntry(r, audit.ActionUpdate, r.Pattern)})
		if errors.Is(err, store.ErrVersionConflict) {
			_, current, _ := s.repo.load(r.Context(), id)
			app.Stale(w, r, "referral", current)
			return
		}
		if err != nil {
			storageFailed(w, r, err)
			return
		}
		writeReferral(w, http.StatusOK, after, next, now)
	}
}

func clone(r *Referral) (*Referral, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("copy referral: %w", err)
	}
	var out Referral
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("copy referral: %w", err)
	}
	return &out, nil
}

func conflict(kind, title, detail string) *httpapi.Problem {
	return httpapi.NewProblem(http.StatusConflict, kind, title, detail)
}

func decodeInto(r *http.Request, v any) *httpapi.Problem {
	return httpapi.Decode(r, v, httpapi.DefaultBodyLimit)
}

func (s *Service) details(r *http.Request, ref *Referral, _ *auth.Principal, now time.Time) ([]event, *httpapi.Problem) {
	var req DetailsRequest
	if p := decodeInto(r, &req); p != nil {
		return nil, p
	}
	if !ref.Status.Open() || ref.ErasedAt != nil {
		return nil, conflict("closed", "The referral is closed", "a closed referral's details no longer change")
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
}

func (s *Service) transition(r *http.Request, ref *Referral, p *auth.Principal, now time.Time) ([]event, *httpapi.Problem) {
	var req TransitionRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	from := ref.Status
	if !CanMove(from, req.To) {
		prob := conflict("illegal-transition", "Move not allowed", fmt.Sprintf("a referral that is %s cannot move to %s", from, req.To))
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
			return nil, conflict("no-follow-ups", "No follow-ups", "the partnership's policy sets no follow-ups; close the referral instead")
		}
	case StatusClosed:
		var pending []string
		for _, f := range ref.FollowUps {
			if f.Result == "" {
				pending = append(pending, strconv.Itoa(f.Days))
			}
		}
		if len(pending) > 0 {
			return nil, conflict("follow-ups-outstanding", "Follow-ups outstanding",
				"record the follow-ups due at "+strings.Join(pending, ", ")+" days before closing")
		}
	}
	ref.Status = req.To
	ref.History = append(ref.History, Transition{From: from, To: req.To, At: now, By: staffOf(p), Reason: req.Reason})
	if !req.To.Open() {
		ref.ClosedAt = &now
	}
	return append(evs, event{At: now, Payload: events.ReferralStatusChanged{From: string(from), To: string(req.To)}}), nil
}

func (s *Service) keyWorker(r *http.Request, ref *Referral, _ *auth.Principal, now time.Time) ([]event, *httpapi.Problem) {
	var req KeyWorkerRequest
	if p := decodeInto(r, &req); p != nil {
		return nil, p
	}
	if !ref.Status.Open() {
		return nil, conflict("closed", "The referral is closed", "a closed referral has no key worker to assign")
	}
	ref.KeyWorker = &Staff{ID: req.ID, Name: req.Name}
	return []event{{At: now, Payload: events.ReferralKeyWorkerAssigned{KeyWorker: req.ID}}}, nil
}

func (s *Service) firstContact(r *http.Request, ref *Referral, _ *auth.Principal, now time.Time) ([]event, *httpapi.Problem) {
	var req FirstContactRequest
	if p := decodeInto(r, &req); p != nil {
		return nil, p
	}
	if ref.Response.FirstContactAt != nil {
		return nil, conflict("already-recorded", "First contact already recorded", "first contact was recorded at "+ref.Response.FirstContactAt.Format(time.RFC3339))
	}
	if !ref.Status.Open() {
		return nil, conflict("closed", "The referral is closed", "first contact can be recorded only on an open referral")
	}
	at := req.At
	if at.Before(ref.ReceivedAt) || at.After(now.Add(time.Minute)) {
		return nil, httpapi.BadRequest("the time is not valid", httpapi.FieldError{Field: "at", Message: "must be between the referral's receipt and now"})
	}
	met := !at.After(ref.Response.DueAt)
	ref.Response.FirstContactAt, ref.Response.Met = &at, &met
	return []event{{At: now, Payload: events.ReferralFirstContact{At: at, DueAt: ref.Response.DueAt, Met: met, Priority: ref.Priority}}}, nil
}

func (s *Service) note(r *http.Request, ref *Referral, p *auth.Principal, now time.Time) ([]event, *httpapi.Problem) {
	var req NoteRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	if ref.ErasedAt != nil {
		return nil, conflict("erased", "Personal data erased", "the retention period has passed; notes can no longer be added")
	}
	if len(ref.Notes) >= 500 {
		return nil, conflict("too-many-notes", "Too many notes", "a referral holds at most 500 notes")
	}
	note := Note{ID: ids.New(now), At: now, By: staffOf(p), Text: req.Text}
	ref.Notes = append(ref.Notes, note)
	// The text is personal and stays out of the event: reporting counts contacts, it does not read them.
	return []event{{At: now, Payload: events.ReferralNoteAdded{Note: note.ID, By: note.By.ID}}}, nil
}

func (s *Service) addAction(r *http.Request, ref *Referral, p *auth.Principal, now time.Time) ([]event, *httpapi.Problem) {
	var req ActionRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	if !ref.Status.Open() {
		return nil, conflict("closed", "The referral is closed", "actions can be commissioned only on an open referral")
	}
	if !strings.EqualFold(req.OwnerOrganisation, ref.Referrer.Organisation) && !ref.Consent.ToShare {
		return nil, conflict("consent-to-share-required", "Consent to share needed",
			"the person has not consented to sharing beyond "+ref.Referrer.Organisation+"; record consent to share first")
	}
	if len(ref.Actions) >= 200 {
		return nil, conflict("too-many-actions", "Too many actions", "a referral holds at most 200 actions")
	}
	due, _, err := s.dueAt(r.Context(), now, req.Urgency)
	if err != nil {
		if errors.Is(err, calendar.ErrOutsideCalendar) {
			return nil, httpapi.Invalid(err.Error())
		}
		return nil, storageProblem(r, err)
	}
	a := Action{ID: ids.New(now), Type: req.Type, Detail: req.Detail, OwnerOrganisation: req.OwnerOrganisation,
		Urgency: req.Urgency, DueAt: due, Status: "open", CreatedAt: now, CreatedBy: staffOf(p)}
	ref.Actions = append(ref.Actions, a)
	return []event{{At: now, Payload: events.ReferralActionCommissioned{Action: a.ID, Type: a.Type, Urgency: a.Urgency, DueAt: due, Owner: a.OwnerOrganisation}}}, nil
}

// actionMoves is the action lifecycle.
var actionMoves = map[string][]string{
	"open":        {"in-progress", "done", "cancelled"},
	"in-progress": {"done", "cancelled"},
}

func (s *Service) updateAction(r *http.Request, ref *Referral, _ *auth.Principal, now time.Time) ([]event, *httpapi.Problem) {
	var req ActionUpdateRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	id := r.PathValue("action")
	for i := range ref.Actions {
		a := &ref.Actions[i]
		if a.ID != id {
			continue
		}
		allowed := actionMoves[a.Status]
		if !contains(allowed, req.Status) {
			prob := conflict("illegal-transition", "Move not allowed", fmt.Sprintf("an action that is %s cannot become %s", a.Status, req.Status))
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

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func (s *Service) readmission(r *http.Request, ref *Referral, p *auth.Principal, now time.Time) ([]event, *httpapi.Problem) {
	var req ReadmissionRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	if ref.Discharge == nil {
		return nil, conflict("not-discharged", "Not discharged", "a readmission follows a discharge; this referral has none")
	}
	if req.Date.Before(ref.Discharge.Date) || calendar.DateOf(now.In(calendar.London())).Before(req.Date) {
		return nil, httpapi.BadRequest("the date is not valid", httpapi.FieldError{Field: "date", Message: "must be between the discharge date and today"})
	}
	within := ref.Discharge.Date.DaysUntil(req.Date) <= 30
	ref.Readmissions = append(ref.Readmissions, Readmission{Date: req.Date, Within30: within, RecordedBy: staffOf(p)})
	return []event{{At: now, Payload: events.ReferralReadmitted{Date: req.Date, DischargeDate: &ref.Discharge.Date, Within30Days: within}}}, nil
}

func (s *Service) followUp(r *http.Request, ref *Referral, p *auth.Principal, now time.Time) ([]event, *httpapi.Problem) {
	var req FollowUpRequest
	if prob := decodeInto(r, &req); prob != nil {
		return nil, prob
	}
	days, err := strconv.Atoi(r.PathValue("days"))
	if err != nil {
		return nil, httpapi.NotFound("follow-up " + strconv.Quote(r.PathValue("days")))
	}
	if ref.Status != StatusDischarged && ref.Status != StatusFollowUp {
		return nil, conflict("not-in-follow-up", "Not in follow-up", "follow-ups are recorded after discharge and before closing")
	}
	for i := range ref.FollowUps {
		f := &ref.FollowUps[i]
		if f.Days != days {
			continue
		}
		if f.Result != "" {
			return nil, conflict("already-recorded", "Follow-up already recorded", fmt.Sprintf("the %d-day follow-up was recorded as %s", days, f.Result))
		}
		staff := staffOf(p)
		f.Result, f.Wellbeing, f.RecordedAt, f.RecordedBy = req.Result, req.Wellbeing, &now, &staff
		return []event{{At: now, Payload: events.ReferralFollowUpRecorded{
			Days: days, DueDate: f.DueDate, Result: req.Result, Wellbeing: req.Wellbeing, WellbeingAtReferral: ref.Wellbeing}}}, nil
	}
	return nil, httpapi.NotFound(fmt.Sprintf("a %d-day follow-up", days))
}

func limitParam(r *http.Request, def, max int) (int, *httpapi.Problem) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, httpapi.BadRequest(fmt.Sprintf("limit must be a whole number from 1 to %d", max))
	}
	return n, nil
}

func (s *Service) getClosureDays(w http.ResponseWriter, r *http.Request) {
	days, err := s.repo.closureDays(r.Context())
	if err != nil {
		storageFailed(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"days": days})
}

func (s *Service) putClosureDays(w http.ResponseWriter, r *http.Request) {
	var req ClosureDaysRequest
	if p := decodeInto(r, &req); p != nil {
		httpapi.WriteProblem(w, r, p)
		return
	}
	if err := s.repo.setClosureDays(r.Context(), req.Days); err != nil {
		storageFailed(w, r, err)
		return
	}
	s.getClosureDays(w, r)
}

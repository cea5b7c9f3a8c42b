package referral

import (
	"net/http"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/store"
)

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
	idem, prob := s.app.Idempotent(r, "", req)
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
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
	if idem != nil {
		c.extra = append(c.extra, idem.Claim(ref.ID))
	}
	version, err := s.repo.commit(r.Context(), c)
	if id, prob, replayed := idem.Replayed(err); replayed {
		if prob != nil {
			httpapi.WriteProblem(w, r, prob)
			return
		}
		s.replay(w, r, id)
		return
	}
	if err != nil {
		createFailed(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/referrals/"+ref.ID)
	writeReferral(w, http.StatusCreated, ref, version, now)
}

// replay answers a retried create with the referral the first attempt made.
func (s *Service) replay(w http.ResponseWriter, r *http.Request, id string) {
	ref, version, err := s.repo.get(r.Context(), id, s.auditEntry(r, audit.ActionRead, "idempotent replay"))
	if err != nil {
		createFailed(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/referrals/"+ref.ID)
	app.MarkReplayed(w)
	writeReferral(w, http.StatusCreated, ref, version, s.now())
}

// createFailed answers a create that storage failed: as the kit does, and, when Redis is away, with
// the one thing a caller should know more: a retry with the same Idempotency-Key is safe.
func createFailed(w http.ResponseWriter, r *http.Request, err error) {
	if store.Unavailable(err) {
		w.Header().Set("Retry-After", "1")
		httpapi.WriteProblem(w, r, httpapi.Unavailable("storage cannot be reached; try again (a create retried with the same Idempotency-Key is never made twice)"))
		return
	}
	storageFailed(w, r, err)
}

package referral

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/store"
)

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
		createFailed(w, r, err)
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
		createFailed(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/referrals/"+ref.ID)
	w.Header().Set("Idempotent-Replayed", "true")
	writeReferral(w, http.StatusCreated, ref, version, s.now())
}

// idempotencyTTL is how long (seconds) an Idempotency-Key is remembered.
const idempotencyTTL = 24 * 60 * 60

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

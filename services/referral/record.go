package referral

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/store"
)

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

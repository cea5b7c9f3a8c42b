package referral

import (
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

// step changes a loaded referral at now and returns the domain events of the change, or a problem.
type step = app.Step[Referral, event]

// mutation serves a change of a referral through the kit's mutation protocol: the request read
// first, If-Match against the stored version, the write refused if the referral changed meanwhile.
func (s *Service) mutation(prepare func(*http.Request) (step, *httpapi.Problem)) http.HandlerFunc {
	return app.Mutation[Referral, event]{
		Kind: "referral",
		ID:   pathID,
		Load: s.repo.load,
		Commit: func(r *http.Request, before, after *Referral, version int64, evs []event, now time.Time) (int64, error) {
			after.UpdatedAt = now
			next, err := s.repo.commit(r.Context(), change{before: before, version: version, after: after, events: evs,
				audit: s.auditEntry(r, audit.ActionUpdate, app.LateAudit(r.Pattern, before.LateEntries, after.LateEntries))})
			if errors.Is(err, store.ErrVersionConflict) {
				return 0, fmt.Errorf("%w: %w", app.ErrStale, err)
			}
			return next, err
		},
		Reply: func(w http.ResponseWriter, after *Referral, version int64, now time.Time) {
			writeReferral(w, http.StatusOK, after, version, now)
		},
		Now: s.now,
	}.Handle(prepare)
}

func decodeInto(r *http.Request, v any) *httpapi.Problem {
	return httpapi.Decode(r, v, httpapi.DefaultBodyLimit)
}

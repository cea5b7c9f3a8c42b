package referral

import (
	"net/http"

	"github.com/homeward-dev/homeward/services/kit/httpapi"
)

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

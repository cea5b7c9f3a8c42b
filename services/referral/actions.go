package referral

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
)

// OverdueAction is one line of the overdue-actions worklist.
type OverdueAction struct {
	ReferralID        string `json:"referralId"`
	Name              string `json:"name,omitempty"`
	ActionID          string `json:"actionId"`
	Type              string `json:"type"`
	OwnerOrganisation string `json:"ownerOrganisation"`
	Urgency           string `json:"urgency"`
	DueAt             string `json:"dueAt"`
}

// overdueActions lists open actions past their due time across the partnership's referrals, most
// overdue first: the coordinators' worklist. The cursor is "<due ms>:<referral>/<action>".
func (s *Service) overdueActions(w http.ResponseWriter, r *http.Request) {
	limit, prob := limitParam(r, 50, 200)
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	for k := range r.URL.Query() {
		if k != "limit" && k != "cursor" {
			httpapi.WriteProblem(w, r, httpapi.BadRequest("unknown query parameter", httpapi.FieldError{Field: k, Message: "is not a parameter of this list"}))
			return
		}
	}
	fromScore := "-inf"
	afterMember := ""
	if c := r.URL.Query().Get("cursor"); c != "" {
		ms, member, ok := strings.Cut(c, ":")
		ref, _, ok2 := strings.Cut(member, "/")
		if _, err := strconv.ParseInt(ms, 10, 64); !ok || !ok2 || err != nil || !ids.Valid(ref) {
			httpapi.WriteProblem(w, r, httpapi.BadRequest("cursor is not one this list returned"))
			return
		}
		fromScore, afterMember = ms, member
	}
	now := s.now()
	principal, _ := auth.From(r.Context())
	var out []OverdueAction
	var shown []string
	next, scanned := "", 0
walk:
	for {
		const batch = 100
		zs, err := s.app.Redis.ZRangeArgsWithScores(r.Context(), redis.ZRangeArgs{Key: s.repo.keys.ActionsDue(),
			Start: fromScore, Stop: "(" + strconv.FormatInt(now.UnixMilli(), 10), ByScore: true, Count: batch + 1}).Result()
		if err != nil {
			storageFailed(w, r, err)
			return
		}
		var members []string
		var scores []string
		for _, z := range zs {
			m, _ := z.Member.(string)
			score := strconv.FormatFloat(z.Score, 'f', -1, 64)
			if score == fromScore && m <= afterMember {
				continue // already on an earlier page: equal deadlines order by member
			}
			members, scores = append(members, m), append(scores, score)
		}
		if len(members) == 0 {
			break // nothing left
		}
		refIDs := make([]string, len(members))
		for i, m := range members {
			refIDs[i], _, _ = strings.Cut(m, "/")
		}
		items, err := s.repo.summaries(r.Context(), refIDs, now)
		if err != nil {
			storageFailed(w, r, err)
			return
		}
		byID := make(map[string]*listItem, len(items))
		for _, it := range items {
			byID[it.ID] = it
		}
		for i, m := range members {
			scanned++
			fromScore, afterMember = scores[i], m
			refID, actionID, _ := strings.Cut(m, "/")
			if item := byID[refID]; item != nil && mayRead(principal, item.CreatedByID) {
				for _, a := range item.OpenActions {
					if a.ID == actionID {
						out = append(out, OverdueAction{ReferralID: refID, Name: item.Name, ActionID: a.ID, Type: a.Type,
							OwnerOrganisation: a.Owner, Urgency: a.Urgency, DueAt: a.DueAt.UTC().Format(time.RFC3339Nano)})
						shown = append(shown, refID)
					}
				}
			}
			if len(out) == limit || scanned >= maxScan {
				next = fromScore + ":" + afterMember
				break walk
			}
		}
		if len(zs) <= batch {
			break // the index is exhausted
		}
	}
	if err := s.repo.auditMany(r.Context(), shown, s.auditEntry(r, audit.ActionList, "overdue actions")); err != nil {
		storageFailed(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": orEmpty(out), "nextCursor": next})
}

func orEmpty(v []OverdueAction) []OverdueAction {
	if v == nil {
		return []OverdueAction{}
	}
	return v
}

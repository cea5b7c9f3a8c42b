package referral

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
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
	var out []OverdueAction
	s.dueList(w, r, dueWalk{key: s.repo.keys.ActionsDue(), stop: "(" + strconv.FormatInt(s.now().UnixMilli(), 10), what: "overdue actions"},
		func(item *listItem, refID, actionID string) bool {
			for _, a := range item.OpenActions {
				if a.ID == actionID {
					out = append(out, OverdueAction{ReferralID: refID, Name: item.Name, ActionID: a.ID, Type: a.Type,
						OwnerOrganisation: a.Owner, Urgency: a.Urgency, DueAt: a.DueAt.UTC().Format(time.RFC3339Nano)})
					return true
				}
			}
			return false
		}, func() any { return orEmpty(out) })
}

// DueFollowUp is one line of the follow-ups-due worklist.
type DueFollowUp struct {
	ReferralID string        `json:"referralId"`
	Name       string        `json:"name,omitempty"`
	Days       int           `json:"days"`
	DueDate    calendar.Date `json:"dueDate"`
}

// followUpsDue lists the follow-ups still to record that fall due before a day (the portal asks for
// the week ahead), earliest first, overdue ones included. The cursor is "<due ms>:<referral>/<days>".
func (s *Service) followUpsDue(w http.ResponseWriter, r *http.Request) {
	before, err := calendar.ParseDate(r.URL.Query().Get("before"))
	if err != nil {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("before must be a date", httpapi.FieldError{Field: "before", Message: "is required, as YYYY-MM-DD"}))
		return
	}
	out := []DueFollowUp{}
	s.dueList(w, r, dueWalk{key: s.repo.keys.FollowUpsDue(), stop: "(" + strconv.FormatInt(dayStart(before).UnixMilli(), 10),
		what: "follow-ups due", params: []string{"before"}},
		func(item *listItem, refID, days string) bool {
			for _, f := range item.DueFollowUps {
				if strconv.Itoa(f.Days) == days {
					out = append(out, DueFollowUp{ReferralID: refID, Name: item.Name, Days: f.Days, DueDate: f.DueDate})
					return true
				}
			}
			return false
		}, func() any { return out })
}

// dueWalk is a worklist read from a deadline index whose members are "<referral>/<part>".
type dueWalk struct {
	key, stop, what string
	// params are the list's own query parameters besides limit and cursor.
	params []string
}

// dueList answers a worklist: it walks the index by score up to stop, reads the referrals' list items
// a batch at a time, lets add take each entry the caller may see, and pages with the cursor
// "<score>:<member>". Every referral shown is audited as listed.
func (s *Service) dueList(w http.ResponseWriter, r *http.Request, walk dueWalk, add func(item *listItem, refID, part string) bool, items func() any) {
	limit, prob := limitParam(r, 50, 200)
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	for k := range r.URL.Query() {
		if k != "limit" && k != "cursor" && !slices.Contains(walk.params, k) {
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
	var shown []string
	next, scanned, count := "", 0, 0
walk:
	for {
		const batch = 100
		zs, err := s.repo.byScore(r.Context(), walk.key, fromScore, walk.stop, batch+1)
		if err != nil {
			storageFailed(w, r, err)
			return
		}
		var members []string
		var scores []string
		for _, z := range zs {
			m := z.Member
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
		listed, err := s.repo.summaries(r.Context(), refIDs, now)
		if err != nil {
			storageFailed(w, r, err)
			return
		}
		byID := make(map[string]*listItem, len(listed))
		for _, it := range listed {
			byID[it.ID] = it
		}
		for i, m := range members {
			scanned++
			fromScore, afterMember = scores[i], m
			refID, part, _ := strings.Cut(m, "/")
			if item := byID[refID]; item != nil && mayRead(principal, item.CreatedByID) && add(item, refID, part) {
				shown = append(shown, refID)
				count++
			}
			if count == limit || scanned >= maxScan {
				next = fromScore + ":" + afterMember
				break walk
			}
		}
		if len(zs) <= batch {
			break // the index is exhausted
		}
	}
	if err := s.repo.auditMany(r.Context(), shown, s.auditEntry(r, audit.ActionList, walk.what)); err != nil {
		storageFailed(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items(), "nextCursor": next})
}

func orEmpty(v []OverdueAction) []OverdueAction {
	if v == nil {
		return []OverdueAction{}
	}
	return v
}

package referral

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
)

// listFilter is what GET /v1/referrals may be filtered by.
type listFilter struct {
	status, priority, need, source, delayReason, keyWorker, createdBy string
	open                                                              *bool
	overdue                                                           bool
	order                                                             string
}

// The orders a list can be read in. Newest and oldest walk the id-ordered indexes either way, so any
// filter combines with them; due walks the response-deadline index, which holds only referrals
// awaiting first contact (the others have no response due).
const (
	orderNewest = "newest"
	orderOldest = "oldest"
	orderDue    = "due"
)

// Orders are the values of the list's sort parameter.
var Orders = []string{orderNewest, orderOldest, orderDue}

func parseFilter(q url.Values) (listFilter, *httpapi.Problem) {
	for k := range q {
		if !slices.Contains([]string{"status", "priority", "need", "source", "delayReason", "keyWorker", "open", "overdue", "sort", "limit", "cursor"}, k) {
			return listFilter{}, httpapi.BadRequest("unknown query parameter", httpapi.FieldError{Field: k, Message: "is not a filter of this list"})
		}
	}
	f := listFilter{status: q.Get("status"), priority: q.Get("priority"), need: q.Get("need"), source: q.Get("source"),
		delayReason: q.Get("delayReason"), keyWorker: q.Get("keyWorker"), order: q.Get("sort")}
	var e fieldErrors
	statuses := make([]string, len(Statuses))
	for i, s := range Statuses {
		statuses[i] = string(s)
	}
	e.OneOf("status", f.status, statuses, false)
	e.OneOf("priority", f.priority, Priorities, false)
	e.OneOf("need", f.need, Needs, false)
	e.OneOf("source", f.source, Sources, false)
	e.OneOf("delayReason", f.delayReason, DelayReasons, false)
	e.OneOf("sort", f.order, Orders, false)
	if len(f.keyWorker) > 64 {
		e.Add("keyWorker", "is not an identity id")
	}
	for name, dst := range map[string]*bool{"open": nil, "overdue": &f.overdue} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.Add(name, "must be true or false")
			continue
		}
		if dst != nil {
			*dst = b
		} else {
			f.open = &b
		}
	}
	if len(e) > 0 {
		return listFilter{}, httpapi.BadRequest("the filters are not valid", e...)
	}
	if f.order == "" {
		// Overdue lists have always come most overdue first; every other list newest first.
		f.order = orderNewest
		if f.overdue {
			f.order = orderDue
		}
	}
	return f, nil
}

func (f listFilter) match(r *listItem) bool {
	switch {
	case f.status != "" && string(r.Status) != f.status,
		f.priority != "" && r.Priority != f.priority,
		f.source != "" && r.Source != f.source,
		f.delayReason != "" && r.DelayReason != f.delayReason,
		f.need != "" && !slices.Contains(r.Needs, f.need),
		f.keyWorker != "" && (r.KeyWorker == nil || r.KeyWorker.ID != f.keyWorker),
		f.createdBy != "" && r.CreatedByID != f.createdBy,
		f.open != nil && r.Status.Open() != *f.open,
		f.overdue && !r.Overdue:
		return false
	}
	return true
}

// drivingIndex picks the index a list walks; the other filters are applied to what it yields.
func (s *Service) drivingIndex(f listFilter) string {
	k := s.repo.keys
	switch {
	case f.keyWorker != "":
		return k.ReferralsByKeyWorker(f.keyWorker)
	case f.createdBy != "":
		return k.ReferralsCreatedBy(f.createdBy)
	case f.status != "":
		return k.ReferralsByStatus(f.status)
	case f.need != "":
		return k.ReferralsByNeed(f.need)
	case f.priority != "":
		return k.ReferralsByPriority(f.priority)
	}
	return k.AllReferrals()
}

// maxScan bounds the referrals one list request reads while filtering, so a rare combination of
// filters returns a short page with a cursor instead of reading the whole caseload.
const maxScan = 1000

// listPage is one page of a list.
type listPage struct {
	Items      []Summary `json:"items"`
	NextCursor string    `json:"nextCursor,omitempty"`
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, prob := parseFilter(q)
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	limit, prob := limitParam(r, 50, 200)
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	principal, _ := auth.From(r.Context())
	if !principal.Can(auth.ReferralRead) {
		f.createdBy = principal.IdentityID
	}
	now := s.now()
	var refs []*listItem
	var next string
	var err error
	switch f.order {
	case orderDue:
		refs, next, err = s.walkDue(r.Context(), f, q.Get("cursor"), limit, now)
	default:
		refs, next, err = s.walkLex(r.Context(), s.drivingIndex(f), f, q.Get("cursor"), limit, now)
	}
	var bad *badCursor
	if errors.As(err, &bad) {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("cursor is not one this list returned"))
		return
	}
	if err != nil {
		storageFailed(w, r, err)
		return
	}
	writePage(w, r, s, refs, next, audit.ActionList, "")
}

type badCursor struct{}

func (*badCursor) Error() string { return "bad cursor" }

// walkLex pages an id-ordered index newest (or, for orderOldest, oldest) first, filtering as it goes.
func (s *Service) walkLex(ctx context.Context, key string, f listFilter, cursor string, limit int, now time.Time) ([]*listItem, string, error) {
	if cursor != "" && !ids.Valid(cursor) {
		return nil, "", &badCursor{}
	}
	oldestFirst := f.order == orderOldest
	var out []*listItem
	scanned := 0
	for {
		batch := limit - len(out)
		if batch < 50 && scanned > 0 {
			batch = 50
		}
		idList, err := s.repo.idsAfter(ctx, key, cursor, batch, oldestFirst)
		if err != nil {
			return nil, "", err
		}
		if out, err = s.collect(ctx, idList, f, now, out); err != nil {
			return nil, "", err
		}
		scanned += len(idList)
		if len(idList) > 0 {
			cursor = idList[len(idList)-1]
		}
		switch {
		case len(out) > limit:
			out = out[:limit]
			return out, out[limit-1].ID, nil
		case len(idList) < batch:
			return out, "", nil // the index is exhausted
		case len(out) == limit || scanned >= maxScan:
			return out, cursor, nil
		}
	}
}

// collect appends to out the referrals among idList that pass the filter.
func (s *Service) collect(ctx context.Context, idList []string, f listFilter, now time.Time, out []*listItem) ([]*listItem, error) {
	items, err := s.repo.summaries(ctx, idList, now)
	if err != nil {
		return nil, err
	}
	for _, item := range items {
		if f.match(item) {
			out = append(out, item)
		}
	}
	return out, nil
}

// walkDue pages referrals awaiting first contact by response deadline, soonest (most overdue)
// first; with the overdue filter it stops at the present. Its cursor is "<due ms>:<id>", as ids
// tie-break equal deadlines the way the sorted set orders them.
func (s *Service) walkDue(ctx context.Context, f listFilter, cursor string, limit int, now time.Time) ([]*listItem, string, error) {
	minScore, afterID := math.Inf(-1), ""
	if cursor != "" {
		ms, id, ok := strings.Cut(cursor, ":")
		v, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil || !ids.Valid(id) {
			return nil, "", &badCursor{}
		}
		minScore, afterID = float64(v), id
	}
	var out []*listItem
	scanned := 0
	lastScore, lastID := minScore, afterID
	for {
		minArg := strconv.FormatFloat(lastScore, 'f', -1, 64)
		if math.IsInf(lastScore, -1) {
			minArg = "-inf"
		}
		batch := max(limit, 50)
		maxArg := "+inf"
		if f.overdue {
			maxArg = "(" + strconv.FormatInt(now.UnixMilli(), 10)
		}
		zs, err := s.repo.byScore(ctx, s.repo.keys.ResponseDue(), minArg, maxArg, batch+1)
		if err != nil {
			return nil, "", err
		}
		var idList []string
		for _, z := range zs {
			id := z.Member
			if z.Score == lastScore && id <= lastID {
				continue // already on an earlier page
			}
			idList = append(idList, id)
			lastScore, lastID = z.Score, id
		}
		if out, err = s.collect(ctx, idList, f, now, out); err != nil {
			return nil, "", err
		}
		scanned += len(idList)
		exhausted := len(zs) <= batch
		switch {
		case len(out) > limit:
			out = out[:limit]
			last := out[limit-1]
			return out, strconv.FormatInt(last.ResponseDueAt.UnixMilli(), 10) + ":" + last.ID, nil
		case exhausted || len(idList) == 0:
			return out, "", nil
		case len(out) == limit || scanned >= maxScan:
			return out, strconv.FormatFloat(lastScore, 'f', -1, 64) + ":" + lastID, nil
		}
	}
}

func (s *Service) search(w http.ResponseWriter, r *http.Request) {
	var req SearchRequest
	if p := decodeInto(r, &req); p != nil {
		httpapi.WriteProblem(w, r, p)
		return
	}
	idList, err := s.repo.withNHSNumber(r.Context(), req.NHSNumber)
	if err != nil {
		storageFailed(w, r, err)
		return
	}
	slices.Sort(idList)
	slices.Reverse(idList)
	now := s.now()
	refs, err := s.repo.summaries(r.Context(), idList, now)
	if err != nil {
		storageFailed(w, r, err)
		return
	}
	principal, _ := auth.From(r.Context())
	shown := refs[:0]
	for _, ref := range refs {
		if mayRead(principal, ref.CreatedByID) {
			shown = append(shown, ref)
		}
	}
	writePage(w, r, s, shown, "", audit.ActionSearch, "by NHS number")
}

// writePage records that each referral on the page was shown, then sends the page.
func writePage(w http.ResponseWriter, r *http.Request, s *Service, items []*listItem, next, action, detail string) {
	page := listPage{Items: make([]Summary, len(items)), NextCursor: next}
	shown := make([]string, len(items))
	for i, item := range items {
		page.Items[i], shown[i] = item.Summary, item.ID
	}
	if err := s.repo.auditMany(r.Context(), shown, s.auditEntry(r, action, detail)); err != nil {
		storageFailed(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, page)
}

// StatusCounts is how many of the partnership's referrals are in each status.
type StatusCounts struct {
	ByStatus map[Status]int64 `json:"byStatus"`
	Total    int64            `json:"total"`
}

// counts answers the caseload's tabs: each status's count, read from the status indexes in one
// round trip. Only roles that read every referral may ask (counts of others' referrals are theirs).
func (s *Service) counts(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Query()) > 0 {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("this list takes no parameters"))
		return
	}
	byStatus, err := s.repo.countByStatus(r.Context())
	if err != nil {
		storageFailed(w, r, err)
		return
	}
	out := StatusCounts{ByStatus: byStatus}
	for _, n := range byStatus {
		out.Total += n
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

package portal

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

// homeCard is one card on the home page: what the role does next, with a live count.
type homeCard struct {
	Title, Href, Text string
	Count             int
	Counted           bool
}

func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	who := principalOf(r)
	ctx := withSession(r)
	var cards []homeCard
	if who.Can(auth.ReferralRead) {
		res, err := p.referrals.ListReferrals(ctx, referral.ListReferralsParams{Open: referral.NewOptBool(true), Overdue: referral.NewOptBool(true), Limit: referral.NewOptInt(countLimit)})
		open, ok := expect[referral.Page](p, w, r, res, err)
		if !ok {
			return
		}
		cards = append(cards, homeCard{Title: "Caseload", Href: "/referrals", Count: len(open.Items), Counted: true,
			Text: noun(len(open.Items), "response", "responses") + " overdue" + orMore(open.NextCursor)})
		listed, err := p.referrals.ListOverdueActions(ctx, referral.ListOverdueActionsParams{Limit: referral.NewOptInt(countLimit)})
		late, ok := expect[referral.ListOverdueActionsOK](p, w, r, listed, err)
		if !ok {
			return
		}
		cards = append(cards, homeCard{Title: "Actions overdue", Href: "/actions/overdue", Count: len(late.Items), Counted: true,
			Text: noun(len(late.Items), "action", "actions") + " past their due time" + orMore(late.NextCursor)})
		dueRes, err := p.referrals.ListFollowUpsDue(ctx, referral.ListFollowUpsDueParams{Before: weekAhead(p.app.Now()), Limit: referral.NewOptInt(countLimit)})
		due, ok := expect[referral.ListFollowUpsDueOK](p, w, r, dueRes, err)
		if !ok {
			return
		}
		cards = append(cards, homeCard{Title: "Follow-ups", Href: "/follow-ups/due", Count: len(due.Items), Counted: true,
			Text: noun(len(due.Items), "follow-up", "follow-ups") + " due this week" + orMore(referral.NewOptString(due.NextCursor))})
	}
	if who.Can(auth.ReferralCreate) {
		cards = append(cards, homeCard{Title: "Refer a person", Href: "/refer", Text: "Refer someone whose discharge is held up by housing."})
	}
	if who.Can(auth.AuditRead) {
		cards = append(cards, homeCard{Title: "Audit trail", Href: "/audit", Text: "Who read and changed a referral, by its reference."})
	}
	if who.Has(auth.RoleReferrer) {
		cards = append(cards, homeCard{Title: "My referrals", Href: "/my-referrals", Text: "What you referred, and where it has got to."})
	}
	p.render(w, r, http.StatusOK, "home", view{Title: "Home", Data: cards})
}

// countLimit is the most a home-page card counts; beyond it the card says "or more".
const countLimit = 200

func orMore(next referral.OptString) string {
	if next.Set && next.Value != "" {
		return " (or more)"
	}
	return ""
}

func plural(n int, one, many string) string { return strconv.Itoa(n) + " " + noun(n, one, many) }

// noun is the singular or plural word for a count shown beside it.
func noun(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// boardFilters are the caseload board's GET filters, echoed back into its form.
type boardFilters struct {
	Status, Priority, Need, Source string
	Overdue, Mine                  bool
	Cursor                         string
}

// statusTab is one tab of the caseload: a status and how many referrals are in it.
type statusTab struct {
	Status, Href string
	Count        int
	Current      bool
}

// boardRow is one referral on a list, shaped for the template: the page prints fields, it computes nothing.
type boardRow struct {
	ID, Name, NHSNumber      string
	Status, Priority         ui.Tag
	Received, Due, KeyWorker string
	Overdue                  bool
	OverdueActions           int
}

func boardRows(items []referral.Summary) []boardRow {
	rows := make([]boardRow, len(items))
	for i, it := range items {
		row := boardRow{ID: it.ID, Name: it.Name.Value, Status: tagOf(string(it.Status)), Priority: tagOf(string(it.Priority)),
			Received: formatDate(it.ReceivedAt), Due: formatDateTime(it.ResponseDueAt), Overdue: it.Overdue, OverdueActions: it.OverdueActions}
		if !it.Name.Set {
			row.Name = "Name erased"
		}
		if it.NhsNumber.Set {
			row.NHSNumber = formatNHSNumber(it.NhsNumber.Value)
		}
		if it.KeyWorker.Set {
			row.KeyWorker = it.KeyWorker.Value.Name.Value
		}
		rows[i] = row
	}
	return rows
}

type boardPage struct {
	Tabs       []statusTab
	Heading    string
	Filters    boardFilters
	Items      []boardRow
	Next       string
	Statuses   []string
	Priorities []string
	Needs      []string
	Sources    []string
	Mine       bool
}

var (
	statuses   = []string{"received", "triaged", "assessing", "actions-in-progress", "ready-for-discharge", "discharged", "follow-up", "closed", "declined", "withdrawn"}
	needs      = []string{"repairs", "adaptations", "clearance", "rehousing", "homelessness", "benefits-debt", "mental-health", "substance-use", "no-recourse-to-public-funds", "other"}
	sources    = []string{"ward", "community", "care-home", "gp", "self"}
	tenures    = []string{"social-rented", "owner-occupier", "private-rented", "homeless", "other"}
	priorities = []string{"emergency", "urgent", "routine"}
)

func (p *Portal) board(w http.ResponseWriter, r *http.Request) {
	if !principalOf(r).Can(auth.ReferralRead) {
		p.notAuthorised(w, r)
		return
	}
	p.listPage(w, r, "Caseload", false)
}

func (p *Portal) mine(w http.ResponseWriter, r *http.Request) {
	if !principalOf(r).Can(auth.ReferralReadOwn) {
		p.notAuthorised(w, r)
		return
	}
	p.listPage(w, r, "My referrals", true)
}

// listPage shows one page of referrals through the service's filters and cursors; a filter value
// that is not one of the lists is ignored rather than sent on.
func (p *Portal) listPage(w http.ResponseWriter, r *http.Request, heading string, mine bool) {
	q := r.URL.Query()
	f := boardFilters{Status: pick(q.Get("status"), statuses), Priority: pick(q.Get("priority"), priorities),
		Need: pick(q.Get("need"), needs), Source: pick(q.Get("source"), sources), Overdue: q.Get("overdue") == "true",
		Mine: q.Get("mine") == "true", Cursor: q.Get("cursor")}
	params := referral.ListReferralsParams{Limit: referral.NewOptInt(25)}
	if f.Status != "" {
		params.Status = referral.NewOptStatus(referral.Status(f.Status))
	}
	if f.Priority != "" {
		params.Priority = referral.NewOptPriority(referral.Priority(f.Priority))
	}
	if f.Need != "" {
		params.Need = referral.NewOptNeed(referral.Need(f.Need))
	}
	if f.Source != "" {
		params.Source = referral.NewOptSource(referral.Source(f.Source))
	}
	if f.Overdue {
		params.Overdue = referral.NewOptBool(true)
	}
	if f.Mine {
		params.KeyWorker = referral.NewOptString(principalOf(r).IdentityID)
	}
	if f.Cursor != "" {
		params.Cursor = referral.NewOptString(f.Cursor)
	}
	res, err := p.referrals.ListReferrals(withSession(r), params)
	page, ok := expect[referral.Page](p, w, r, res, err)
	if !ok {
		return
	}
	data := boardPage{Heading: heading, Filters: f, Items: boardRows(page.Items), Statuses: statuses, Priorities: priorities, Needs: needs, Sources: sources, Mine: mine}
	if !mine {
		counted, err := p.referrals.CountReferrals(withSession(r))
		counts, ok := expect[referral.CountReferralsOK](p, w, r, counted, err)
		if !ok {
			return
		}
		data.Tabs = append(data.Tabs, statusTab{Status: "all", Href: "/referrals", Count: counts.Total, Current: f.Status == ""})
		for _, st := range statuses {
			data.Tabs = append(data.Tabs, statusTab{Status: st, Href: "/referrals?status=" + st, Count: counts.ByStatus[st], Current: f.Status == st})
		}
	}
	if page.NextCursor.Set && page.NextCursor.Value != "" {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("cursor", page.NextCursor.Value)
		data.Next = "?" + next.Encode()
	}
	p.render(w, r, http.StatusOK, "board", view{Title: heading, Data: data})
}

func pick(v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return ""
}

var recordTabs = []string{"summary", "actions", "notes", "outcome", "timeline"}

type recordPage struct {
	R            referral.Referral
	Moves        []string
	ETag         string
	Tab          string
	Tabs         []string
	Sent         bool
	MayWork      bool
	Priority     []string
	Destinations []string
	Results      []string
}

func (p *Portal) record(w http.ResponseWriter, r *http.Request) {
	res, err := p.referrals.GetReferral(withSession(r), referral.GetReferralParams{ID: r.PathValue("id")})
	got, ok := expect[referral.GetReferralOKHeaders](p, w, r, res, err)
	if !ok {
		return
	}
	tab := pick(r.URL.Query().Get("tab"), recordTabs)
	if tab == "" {
		tab = "summary"
	}
	v := view{Title: "Referral", Banner: banners[r.URL.Query().Get("done")],
		Data: recordPage{R: got.Response, Moves: movesOf(got.Response.Allowed), ETag: got.ETag.Value, Tab: tab, Tabs: recordTabs, Sent: r.URL.Query().Get("done") == "sent",
			MayWork: principalOf(r).Can(auth.ReferralWork), Priority: priorities, Destinations: destinations, Results: followUpResults}}
	p.render(w, r, http.StatusOK, "record", v)
}

// banners are the success messages a change redirects to (POST → redirect → banner).
var banners = map[string]string{
	"key-worker":         "You are now the key worker.",
	"first-contact":      "First contact recorded.",
	"note":               "Note added.",
	"action":             "Action commissioned.",
	"action-in-progress": "Action marked in progress.",
	"action-done":        "Action marked done.",
	"action-cancelled":   "Action cancelled.",
	"moved":              "The referral has moved on.",
	"follow-up":          "Follow-up recorded.",
	"readmission":        "Readmission recorded.",
}

// change runs one change to a referral against the version the form was read at, then sends the
// browser back to the record with a banner; a refusal shows the service's reason on the record.
func (p *Portal) change(w http.ResponseWriter, r *http.Request, done string, call func(id, etag string) (any, error)) {
	id := r.PathValue("id")
	res, err := call(id, r.PostFormValue("etag"))
	if _, ok := expect[referral.GetReferralOKHeaders](p, w, r, res, err); ok {
		http.Redirect(w, r, "/referrals/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
	}
}

func (p *Portal) assignMe(w http.ResponseWriter, r *http.Request) {
	who := principalOf(r)
	p.change(w, r, "key-worker", func(id, etag string) (any, error) {
		return p.referrals.AssignKeyWorker(withSession(r), &referral.AssignKeyWorkerReq{ID: who.IdentityID, Name: nameOf(who)},
			referral.AssignKeyWorkerParams{ID: id, IfMatch: etag})
	})
}

func nameOf(who *auth.Principal) string {
	if who.Name != "" {
		return who.Name
	}
	return who.Email
}

func (p *Portal) firstContact(w http.ResponseWriter, r *http.Request) {
	p.change(w, r, "first-contact", func(id, etag string) (any, error) {
		return p.referrals.RecordFirstContact(withSession(r), &referral.RecordFirstContactReq{At: p.app.Now().UTC()},
			referral.RecordFirstContactParams{ID: id, IfMatch: etag})
	})
}

func (p *Portal) addNote(w http.ResponseWriter, r *http.Request) {
	text := strings.TrimSpace(r.PostFormValue("text"))
	p.change(w, r, "note", func(id, etag string) (any, error) {
		return p.referrals.AddNote(withSession(r), &referral.AddNoteReq{Text: text}, referral.AddNoteParams{ID: id, IfMatch: etag})
	})
}

func (p *Portal) commission(w http.ResponseWriter, r *http.Request) {
	req := &referral.ActionRequest{Type: referral.ActionRequestType(r.PostFormValue("type")),
		OwnerOrganisation: strings.TrimSpace(r.PostFormValue("owner")), Urgency: referral.Priority(r.PostFormValue("urgency"))}
	if d := strings.TrimSpace(r.PostFormValue("detail")); d != "" {
		req.Detail = referral.NewOptString(d)
	}
	p.change(w, r, "action", func(id, etag string) (any, error) {
		return p.referrals.CommissionAction(withSession(r), req, referral.CommissionActionParams{ID: id, IfMatch: etag})
	})
}

// movesOf are the workflow moves the service offers, as form values.
func movesOf(allowed []referral.Status) []string {
	out := make([]string, len(allowed))
	for i, st := range allowed {
		out[i] = string(st)
	}
	return out
}

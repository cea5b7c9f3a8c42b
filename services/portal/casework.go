package portal

import (
	"html/template"
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
	if who.Can(auth.ReportRead) {
		cards = append(cards, homeCard{Title: "Outcomes", Href: "/outcomes", Text: "Referrals, bed days and money saved, occupancy and where people went, by period."})
	}
	if who.Can(auth.UsersManage) {
		cards = append(cards, homeCard{Title: "Users", Href: "/users", Text: "Invite staff, change their roles, deactivate them."})
	}
	if who.Can(auth.CalendarManage) {
		cards = append(cards, homeCard{Title: "Closure days", Href: "/closure-days", Text: "The partnership's own non-working days, beside the bank holidays."})
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
	Status, Priority, Need, Source, DelayReason string
	Overdue, Mine                               bool
	Sort, Cursor                                string
}

// sortLink is a sortable column's header: the link that sorts by it, what the link does in words
// (for screen readers), and the column's aria-sort state.
type sortLink struct {
	Href, Action, AriaSort string
}

// boardTable is the caseload's table: one row per referral, the Received and Response due headers
// linking to their orders and marked with aria-sort.
func boardTable(items []referral.Summary, caption string, received, due sortLink) ui.Table {
	sortable := func(text string, l sortLink) ui.TableCell {
		return ui.TableCell{HTML: ui.LinkHTML(l.Href, ui.Join(ui.Escape(text), ui.VisuallyHidden(", "+l.Action)), "hw-sort"),
			Attributes: ui.Attributes{"aria-sort": l.AriaSort}}
	}
	t := ui.Table{Caption: caption, CaptionClasses: "govuk-table__caption--s", Classes: "hw-board",
		Head: []ui.TableCell{{Text: "Person"}, {Text: "Status"}, {Text: "Priority"}, sortable("Received", received), sortable("Response due", due), {Text: "Key worker"}}}
	for _, it := range items {
		person := ui.Link("/referrals/"+it.ID, "Name erased")
		if it.Name.Set {
			person = ui.Link("/referrals/"+it.ID, it.Name.Value)
		}
		if it.NhsNumber.Set {
			person = ui.Join(person, ui.LineBreak, ui.Small("NHS "+formatNHSNumber(it.NhsNumber.Value)))
		}
		dueCell := ui.Escape(formatDateTime(it.ResponseDueAt))
		if it.Overdue {
			dueCell = ui.Join(dueCell, " ", ui.Tag{Text: "Overdue", Classes: "govuk-tag--red"}.HTML(), ui.VisuallyHidden(" response overdue"))
		}
		if it.OverdueActions > 0 {
			dueCell = ui.Join(dueCell, ui.LineBreak, ui.Small(plural(it.OverdueActions, "action", "actions")+" overdue"))
		}
		keyWorker := ui.Muted("Not assigned")
		if it.KeyWorker.Set {
			keyWorker = ui.Escape(it.KeyWorker.Value.Name.Value)
		}
		t.Rows = append(t.Rows, []ui.TableCell{
			{HTML: person}, {HTML: tagOf(string(it.Status)).HTML()}, {HTML: tagOf(string(it.Priority)).HTML()},
			{Text: ui.Text(formatDate(it.ReceivedAt))}, {HTML: dueCell}, {HTML: keyWorker},
		})
	}
	return t
}

type boardPage struct {
	Tabs         *ui.SubNavigation
	Heading      string
	Filters      boardFilters
	Table        ui.Table
	Empty        bool
	Next         *ui.Pagination
	Statuses     []string
	Priorities   []string
	Needs        []string
	Sources      []string
	DelayReasons []string
	Mine         bool
	// Order says how the rows are ordered, for the print view's line of filters.
	Order string
}

var (
	statuses   = []string{"received", "triaged", "assessing", "actions-in-progress", "ready-for-discharge", "discharged", "follow-up", "closed", "declined", "withdrawn"}
	needs      = []string{"repairs", "adaptations", "clearance", "rehousing", "homelessness", "benefits-debt", "mental-health", "substance-use", "no-recourse-to-public-funds", "other"}
	sources    = []string{"ward", "community", "care-home", "gp", "self"}
	tenures    = []string{"social-rented", "owner-occupier", "private-rented", "homeless", "other"}
	priorities = []string{"emergency", "urgent", "routine"}
	// delayReasons are the service's own values, in the order its description lists them.
	delayReasons = enumValues(referral.DelayReason("").AllValues())
	sortOrders   = enumValues(referral.ListReferralsSort("").AllValues())
	actionTypes  = enumValues(referral.ActionRequestType("").AllValues())
)

// enumValues turns a generated client's enum values into the strings forms and filters use.
func enumValues[E ~string](values []E) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// orderCaptions say in words how the board's rows are ordered, for the table's caption.
var orderCaptions = map[string]string{
	"newest": "newest first",
	"oldest": "oldest first",
	"due":    "awaiting first contact, response due soonest first",
}

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
		Need: pick(q.Get("need"), needs), Source: pick(q.Get("source"), sources), DelayReason: pick(q.Get("delayReason"), delayReasons),
		Overdue: q.Get("overdue") == "true", Mine: q.Get("mine") == "true", Sort: pick(q.Get("sort"), sortOrders), Cursor: q.Get("cursor")}
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
	if f.DelayReason != "" {
		params.DelayReason = referral.NewOptDelayReason(referral.DelayReason(f.DelayReason))
	}
	if f.Overdue {
		params.Overdue = referral.NewOptBool(true)
	}
	if f.Mine {
		params.KeyWorker = referral.NewOptString(principalOf(r).IdentityID)
	}
	order := f.Sort
	switch {
	case order != "":
	case f.Overdue:
		order = "due" // most overdue first
	default:
		order = "newest"
	}
	params.Sort = referral.NewOptListReferralsSort(referral.ListReferralsSort(order))
	if f.Cursor != "" {
		params.Cursor = referral.NewOptString(f.Cursor)
	}
	// The tabs' counts do not depend on the page: ask for them while the page is read.
	type countsResult struct {
		res referral.CountReferralsRes
		err error
	}
	var counted chan countsResult
	if !mine {
		counted = make(chan countsResult, 1)
		go func() {
			res, err := p.referrals.CountReferrals(withSession(r))
			counted <- countsResult{res, err}
		}()
	}
	res, err := p.referrals.ListReferrals(withSession(r), params)
	var countsRes countsResult
	if counted != nil {
		countsRes = <-counted
	}
	page, ok := expect[referral.Page](p, w, r, res, err)
	if !ok {
		return
	}
	received, due := sortLinks(q, order)
	data := boardPage{Heading: heading, Filters: f, Statuses: statuses, Priorities: priorities, Needs: needs, Sources: sources,
		DelayReasons: delayReasons, Mine: mine, Order: orderCaptions[order], Empty: len(page.Items) == 0,
		Table: boardTable(page.Items, plural(len(page.Items), "referral", "referrals")+" on this page, "+orderCaptions[order], received, due)}
	if !mine {
		counts, ok := expect[referral.CountReferralsOK](p, w, r, countsRes.res, countsRes.err)
		if !ok {
			return
		}
		tab := func(status, href string, count int) ui.SubNavigationItem {
			return ui.SubNavigationItem{Href: href, Active: f.Status == status || (status == "all" && f.Status == ""),
				HTML: ui.Join(ui.Escape(words(status)+" "), `<span class="hw-count">(`, ui.Escape(strconv.Itoa(count)), ui.VisuallyHidden(" referrals"), ")</span>")}
		}
		data.Tabs = &ui.SubNavigation{Label: "Referrals by status", Classes: "hw-no-print", Items: []ui.SubNavigationItem{tab("all", "/referrals", counts.Total)}}
		for _, st := range statuses {
			data.Tabs.Items = append(data.Tabs.Items, tab(st, "/referrals?status="+st, counts.ByStatus[st]))
		}
	}
	if page.NextCursor.Set && page.NextCursor.Value != "" {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("cursor", page.NextCursor.Value)
		data.Next = &ui.Pagination{Next: &ui.PageLink{Href: "?" + next.Encode()}, Classes: "hw-no-print"}
	}
	p.render(w, r, http.StatusOK, "board", view{Title: heading, Data: data})
}

// sortLinks are the sortable headers of the board: Received toggles newest and oldest first, and
// Response due sorts by it. Each keeps the filters and starts again from the first page, as a
// cursor belongs to the order it was read in.
func sortLinks(q url.Values, order string) (received, due sortLink) {
	link := func(to string) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "cursor" && k != "sort" {
				v[k] = vs
			}
		}
		v.Set("sort", to)
		return "?" + v.Encode()
	}
	received = sortLink{Href: link("newest"), Action: "sort newest first", AriaSort: "none"}
	due = sortLink{Href: link("due"), Action: "sort by response due, awaiting first contact only", AriaSort: "none"}
	switch order {
	case "newest":
		received = sortLink{Href: link("oldest"), Action: "sort oldest first", AriaSort: "descending"}
	case "oldest":
		received.AriaSort = "ascending"
	case "due":
		due.AriaSort = "ascending"
	}
	return received, due
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

// recordSections are the record's tabs, the actions and notes counted.
func recordSections(r referral.Referral, current string) ui.SubNavigation {
	nav := ui.SubNavigation{Label: "Referral sections", Classes: "hw-no-print"}
	for _, t := range recordTabs {
		text := strings.ToUpper(t[:1]) + t[1:]
		switch t {
		case "outcome":
			text = "Outcome and follow-ups"
		case "actions":
			text += " (" + strconv.Itoa(len(r.Actions)) + ")"
		case "notes":
			text += " (" + strconv.Itoa(len(r.Notes)) + ")"
		}
		nav.Items = append(nav.Items, ui.SubNavigationItem{Text: text, Href: "?tab=" + t, Active: t == current})
	}
	return nav
}

type recordPage struct {
	R       referral.Referral
	Moves   []string
	ETag    string
	Tab     string
	Sent    bool
	MayWork bool
	// MayHouse: the user may find and book a unit for the person.
	MayHouse     bool
	Priority     []string
	Destinations []string
	Results      []string
	ActionTypes  []string
	// The active tab's list or table, and the tabs, rendered by the ui ports.
	Summary, Outcome ui.SummaryList
	Actions          ui.Table
	Sections         ui.SubNavigation
	StatusTag        template.HTML
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
	data := recordPage{R: got.Response, Moves: movesOf(got.Response.Allowed), ETag: got.ETag.Value, Tab: tab, Sent: r.URL.Query().Get("done") == "sent",
		MayWork: principalOf(r).Can(auth.ReferralWork), MayHouse: principalOf(r).Can(auth.HousingManage), Priority: priorities, Destinations: destinations, Results: followUpResults, ActionTypes: actionTypes}
	data.Sections = recordSections(got.Response, tab)
	data.StatusTag = ui.Join(tagOf(string(got.Response.Status)).HTML(), " ", tagOf(string(got.Response.Priority)).HTML())
	switch tab {
	case "summary":
		data.Summary = recordSummary(got.Response)
	case "actions":
		data.Actions = actionsTable(got.Response, data.MayWork, p.csrfToken(r), data.ETag)
	case "outcome":
		data.Outcome = outcomeSummary(got.Response)
	}
	p.render(w, r, http.StatusOK, "record", view{Title: "Referral", Banner: banners[r.URL.Query().Get("done")], Data: data})
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

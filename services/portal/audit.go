package portal

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/clients/housing"
	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

// auditKinds are the records whose trails the page reads, by the name the services give their kind.
var auditKinds = []string{"referral", "placement", "rehousing"}

var auditKindNames = map[string]string{"referral": "Referral", "placement": "Stay in a unit", "rehousing": "Rehousing case"}

type auditPage struct {
	Kind, Reference, Actor string
	Kinds, People          ui.Select
	Table                  ui.Table
	Next                   string
	Searched               bool
}

// auditRow is one entry, from whichever service's trail.
type auditRow struct {
	At                           time.Time
	HasAt                        bool
	Who, Action, Detail, Request string
	Kind, Record                 string
	Records                      []string
}

// auditTable lists entries oldest first; a person's trail adds what each entry was about, linking
// each record to its own trail.
func auditTable(rows []auditRow, byPerson bool) ui.Table {
	head := []ui.TableCell{{Text: "When"}, {Text: "Who"}, {Text: "What"}, {Text: "Request"}}
	if byPerson {
		head = []ui.TableCell{{Text: "When"}, {Text: "What"}, {Text: "Record"}, {Text: "Request"}}
	}
	t := ui.Table{Caption: "Entries, oldest first", CaptionClasses: "govuk-table__caption--m", Classes: "hw-board", Head: head}
	for _, e := range rows {
		when, what := "", e.Action
		if e.HasAt {
			when = formatDateTime(e.At)
		}
		if e.Detail != "" {
			what += ": " + e.Detail
		}
		if !byPerson {
			t.Rows = append(t.Rows, []ui.TableCell{{Text: ui.Text(when)}, {Text: ui.Text(e.Who)}, {Text: ui.Text(what)}, {Text: ui.Text(e.Request)}})
			continue
		}
		records := e.Records
		if e.Record != "" {
			records = []string{e.Record}
		}
		var links []template.HTML
		for i, id := range records {
			if i > 0 {
				links = append(links, ", ")
			}
			links = append(links, ui.Link("/audit?"+url.Values{"kind": {e.Kind}, "reference": {id}}.Encode(), auditKindNames[e.Kind]+" "+id))
		}
		t.Rows = append(t.Rows, []ui.TableCell{{Text: ui.Text(when)}, {Text: ui.Text(what)}, {HTML: ui.Join(links...)}, {Text: ui.Text(e.Request)}})
	}
	if len(rows) == 0 {
		t.Rows = [][]ui.TableCell{{{Text: "No entries.", Colspan: 4}}}
	}
	return t
}

// audit shows a partnership admin who read and changed a record — a referral, a stay or a rehousing
// case, by its reference — or everything one person read and changed, without showing any record
// itself (the admin's role does not read records).
func (p *Portal) audit(w http.ResponseWriter, r *http.Request) {
	who, ok := p.require(w, r, auth.AuditRead)
	if !ok {
		return
	}
	q := r.URL.Query()
	data := auditPage{Kind: pick(q.Get("kind"), auditKinds), Reference: strings.ToUpper(strings.TrimSpace(q.Get("reference"))), Actor: q.Get("actor")}
	if data.Kind == "" {
		data.Kind = "referral"
	}
	data.Kinds = ui.Select{Field: ui.Field{ID: "kind", Name: "kind", Label: ui.Label{Text: "Kind of record"}}, Value: data.Kind}
	for _, k := range auditKinds {
		data.Kinds.Items = append(data.Kinds.Items, ui.SelectItem{Value: k, Text: auditKindNames[k]})
	}
	if who.Can(auth.UsersManage) {
		staff, err := p.staff(r.Context())
		if err != nil {
			p.fail(w, r, http.StatusServiceUnavailable, err)
			return
		}
		data.People = ui.Select{Field: ui.Field{ID: "actor", Name: "actor", Label: ui.Label{Text: "Person"}}, Value: data.Actor,
			Items: []ui.SelectItem{{Value: "", Text: "Choose a person"}}}
		for _, u := range staff {
			data.People.Items = append(data.People.Items, ui.SelectItem{Value: u.ID, Text: u.Email})
		}
	}
	after := q.Get("after")
	var rows []auditRow
	next := ""
	switch {
	case data.Actor != "":
		params := referral.GetActorAuditParams{ID: data.Actor, Limit: referral.NewOptInt(100)}
		if after != "" {
			params.After = referral.NewOptString(after)
		}
		res, err := p.referrals.GetActorAudit(withSession(r), params)
		if pr, isProblem := problemOf(res); err == nil && isProblem && pr.Status == http.StatusNotFound {
			res, err = &referral.GetActorAuditOK{}, nil // a person who has done nothing yet
		}
		trail, ok := expect[referral.GetActorAuditOK](p, w, r, res, err)
		if !ok {
			return
		}
		rows, next = referralRows(trail.Items), trail.Next.Value
		data.Searched = true
		data.Table = auditTable(rows, true)
		if next != "" {
			data.Next = "?" + url.Values{"actor": {data.Actor}, "after": {next}}.Encode()
		}
	case data.Reference != "":
		if !ids.Valid(data.Reference) {
			p.render(w, r, http.StatusUnprocessableEntity, "audit", view{Title: "Audit trail", Data: data,
				Errors: []fieldError{{Field: "reference", Href: "#reference", Text: "Enter the reference as it appears on the record, 26 letters and digits"}}})
			return
		}
		var ok bool
		if rows, next, ok = p.recordTrail(w, r, data.Kind, data.Reference, after); !ok {
			return
		}
		data.Searched = true
		data.Table = auditTable(rows, false)
		if next != "" {
			data.Next = "?" + url.Values{"kind": {data.Kind}, "reference": {data.Reference}, "after": {next}}.Encode()
		}
	}
	p.render(w, r, http.StatusOK, "audit", view{Title: "Audit trail", Data: data})
}

// recordTrail reads a record's trail from the service that keeps it.
func (p *Portal) recordTrail(w http.ResponseWriter, r *http.Request, kind, id, after string) ([]auditRow, string, bool) {
	ctx := withSession(r)
	if kind == "referral" {
		params := referral.GetReferralAuditParams{ID: id, Limit: referral.NewOptInt(100)}
		if after != "" {
			params.After = referral.NewOptString(after)
		}
		res, err := p.referrals.GetReferralAudit(ctx, params)
		trail, ok := expect[referral.GetReferralAuditOK](p, w, r, res, err)
		if !ok {
			return nil, "", false
		}
		return referralRows(trail.Items), trail.Next.Value, true
	}
	var (
		res any
		err error
	)
	if kind == "placement" {
		params := housing.GetPlacementAuditParams{ID: id, Limit: housing.NewOptInt(100)}
		if after != "" {
			params.After = housing.NewOptString(after)
		}
		res, err = p.housing.GetPlacementAudit(ctx, params)
	} else {
		params := housing.GetRehousingCaseAuditParams{ID: id, Limit: housing.NewOptInt(100)}
		if after != "" {
			params.After = housing.NewOptString(after)
		}
		res, err = p.housing.GetRehousingCaseAudit(ctx, params)
	}
	trail, ok := expect[housing.AuditTrail](p, w, r, res, err)
	if !ok {
		return nil, "", false
	}
	rows := make([]auditRow, 0, len(trail.Items))
	for _, e := range trail.Items {
		rows = append(rows, auditRow{At: e.At.Value, HasAt: e.At.Set, Who: orValue(e.ActorEmail.Value, e.Actor.Value), Action: string(e.Action.Value),
			Detail: e.Detail.Value, Request: e.RequestId.Value})
	}
	return rows, trail.Next.Value, true
}

func referralRows(entries []referral.AuditEntry) []auditRow {
	rows := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, auditRow{At: e.At.Value, HasAt: e.At.Set, Who: orValue(e.ActorEmail.Value, e.Actor.Value), Action: string(e.Action.Value),
			Detail: e.Detail.Value, Request: e.RequestId.Value, Kind: e.Kind.Value, Record: e.Record.Value, Records: e.Records})
	}
	return rows
}

func orValue(v, fallback string) string {
	if v != "" {
		return v
	}
	return fallback
}

package portal

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

type auditPage struct {
	Reference string
	Table     ui.Table
	Next      string
	Searched  bool
}

// auditTable lists a referral's audit entries, oldest first.
func auditTable(entries []referral.AuditEntry) ui.Table {
	t := ui.Table{Caption: "Entries, oldest first", CaptionClasses: "govuk-table__caption--m", Classes: "hw-board",
		Head: []ui.TableCell{{Text: "When"}, {Text: "Who"}, {Text: "What"}, {Text: "Request"}}}
	for _, e := range entries {
		when, who, what := "", e.ActorEmail.Value, string(e.Action.Value)
		if e.At.Set {
			when = formatDateTime(e.At.Value)
		}
		if who == "" {
			who = e.Actor.Value
		}
		if e.Detail.Value != "" {
			what += ": " + e.Detail.Value
		}
		t.Rows = append(t.Rows, []ui.TableCell{{Text: ui.Text(when)}, {Text: ui.Text(who)}, {Text: ui.Text(what)}, {Text: ui.Text(e.RequestId.Value)}})
	}
	if len(entries) == 0 {
		t.Rows = [][]ui.TableCell{{{Text: "No entries.", Colspan: 4}}}
	}
	return t
}

// audit shows a partnership admin who read and changed a referral, by its reference, without
// showing the record itself (the admin's role does not read records).
func (p *Portal) audit(w http.ResponseWriter, r *http.Request) {
	if !principalOf(r).Can(auth.AuditRead) {
		p.notAuthorised(w, r)
		return
	}
	ref := strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("reference")))
	data := auditPage{Reference: ref, Searched: ref != ""}
	if ref == "" {
		p.render(w, r, http.StatusOK, "audit", view{Title: "Audit trail", Data: data})
		return
	}
	if !ids.Valid(ref) {
		p.render(w, r, http.StatusUnprocessableEntity, "audit", view{Title: "Audit trail", Data: data,
			Errors: []fieldError{{Field: "reference", Href: "#reference", Text: "Enter the reference as it appears on the referral, 26 letters and digits"}}})
		return
	}
	params := referral.GetReferralAuditParams{ID: ref, Limit: referral.NewOptInt(100)}
	if after := r.URL.Query().Get("after"); after != "" {
		params.After = referral.NewOptString(after)
	}
	res, err := p.referrals.GetReferralAudit(withSession(r), params)
	trail, ok := expect[referral.GetReferralAuditOK](p, w, r, res, err)
	if !ok {
		return
	}
	data.Table = auditTable(trail.Items)
	if trail.Next.Set && trail.Next.Value != "" {
		data.Next = "?" + url.Values{"reference": {ref}, "after": {trail.Next.Value}}.Encode()
	}
	p.render(w, r, http.StatusOK, "audit", view{Title: "Audit trail", Data: data})
}

package portal

import (
	"html/template"
	"strings"

	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

// summaryRow is a row of a summary list with a text value.
func summaryRow(key, value string) *ui.SummaryRow {
	return &ui.SummaryRow{Key: ui.SummaryText{Text: key}, Value: ui.SummaryText{Text: value}}
}

// summaryHTMLRow is a row of a summary list whose value is HTML built by the ui helpers.
func summaryHTMLRow(key string, value template.HTML) *ui.SummaryRow {
	return &ui.SummaryRow{Key: ui.SummaryText{Text: key}, Value: ui.SummaryText{HTML: value}}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// recordSummary is the record's Summary tab: who referred the person, when, and what they need.
func recordSummary(r referral.Referral) ui.SummaryList {
	received := formatDateTime(r.ReceivedAt) + " from " + r.Referrer.Organisation.Value
	if r.Referrer.Ward.Set {
		received += ", " + r.Referrer.Ward.Value
	}
	var due template.HTML
	if r.Response.DueAt.Set {
		due = ui.Escape(formatDateTime(r.Response.DueAt.Value))
	}
	if r.Response.Overdue.Value {
		due = ui.Join(due, " ", ui.Tag{Text: "Overdue", Classes: "govuk-tag--red"}.HTML())
	}
	if r.Response.FirstContactAt.Set {
		due = ui.Join(due, ui.LineBreak, ui.Escape("First contact "+formatDateTime(r.Response.FirstContactAt.Value)))
	}
	keyWorker := "Not assigned"
	if r.KeyWorker.Set {
		keyWorker = r.KeyWorker.Value.Name.Value
	}
	var needs strings.Builder
	needs.WriteString(`<ul class="govuk-list">`)
	for _, n := range r.Needs {
		needs.WriteString("<li>" + string(ui.Escape(words(n))) + "</li>")
	}
	needs.WriteString("</ul>")
	list := ui.SummaryList{Rows: []*ui.SummaryRow{
		summaryRow("Reference", r.ID),
		summaryRow("Received", received),
		summaryHTMLRow("Response due", due),
		summaryRow("Key worker", keyWorker),
		summaryRow("Source", words(r.Source)),
		summaryRow("Tenure", words(r.Tenure)),
		summaryHTMLRow("Housing needs", template.HTML(needs.String())), // #nosec G203 -- each need escaped above
		summaryRow("Consent", "To refer: "+yesNo(r.Consent.ToRefer.Value)+". To share: "+yesNo(r.Consent.ToShare.Value)+"."),
	}}
	if p, ok := r.Person.Get(); ok {
		list.Rows = append(list.Rows, summaryRow("Address", strings.TrimSpace(p.Address.Value+" "+p.Postcode.Value)))
	}
	return list
}

// outcomeSummary is the discharge and the readmissions on the Outcome tab.
func outcomeSummary(r referral.Referral) ui.SummaryList {
	discharge := "Not discharged yet"
	if d, ok := r.Discharge.Get(); ok {
		discharge = ""
		if d.Date.Set {
			discharge = formatDate(d.Date.Value) + " "
		}
		discharge += "to " + words(d.Destination.Value)
		if d.DelayedDays.Set {
			discharge += "; delayed " + plural(d.DelayedDays.Value, "day", "days")
		}
	}
	readmissions := ui.Escape("None")
	if len(r.Readmissions) > 0 {
		readmissions = ""
		for _, ra := range r.Readmissions {
			line := ""
			if ra.Date.Set {
				line = formatDate(ra.Date.Value)
			}
			if ra.Within30Days.Value {
				line += " (within 30 days)"
			}
			readmissions = ui.Join(readmissions, ui.Escape(line), ui.LineBreak)
		}
	}
	return ui.SummaryList{Rows: []*ui.SummaryRow{summaryRow("Discharge", discharge), summaryHTMLRow("Readmissions", readmissions)}}
}

// changeForm is a POST form that changes the referral at the version the page was read at.
func changeForm(action, csrf, etag, classes string, body template.HTML) template.HTML {
	return ui.Join(`<form method="post" action="`, ui.Escape(action), `" class="`, ui.Escape(classes), `">`,
		`<input type="hidden" name="csrf" value="`, ui.Escape(csrf), `"><input type="hidden" name="etag" value="`, ui.Escape(etag), `">`,
		body, `</form>`)
}

// actionButton submits an action's new status; the visually hidden text says which action.
func actionButton(status, label, actionType string) template.HTML {
	return ui.Join(`<button type="submit" name="status" value="`, ui.Escape(status),
		`" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-1" data-module="govuk-button">`,
		ui.Escape(label), ui.VisuallyHidden(" "+words(actionType)), `</button>`)
}

// actionsTable is the Actions tab's table: each action, and for staff who work referrals the
// buttons that move an open one on.
func actionsTable(r referral.Referral, mayWork bool, csrf, etag string) ui.Table {
	t := ui.Table{Caption: "Actions", CaptionClasses: "govuk-table__caption--m",
		Head: []ui.TableCell{{Text: "Action"}, {Text: "Owner"}, {Text: "Due"}, {Text: "Status"}}}
	for _, a := range r.Actions {
		what := words(a.Type.Value)
		if a.Detail.Set {
			what += ": " + a.Detail.Value
		}
		var due template.HTML
		if a.DueAt.Set {
			due = ui.Escape(formatDateTime(a.DueAt.Value))
		}
		if a.Overdue.Value {
			due = ui.Join(due, " ", ui.Tag{Text: "Overdue", Classes: "govuk-tag--red"}.HTML())
		}
		status := tagOf(string(a.Status.Value)).HTML()
		if open, started := a.Status.Value == referral.ActionStatusOpen, a.Status.Value == referral.ActionStatusInProgress; mayWork && (open || started) {
			var buttons template.HTML
			if open {
				buttons = actionButton("in-progress", "Start", a.Type.Value)
			}
			buttons = ui.Join(buttons, actionButton("done", "Mark done", a.Type.Value))
			status = ui.Join(status, changeForm("/referrals/"+r.ID+"/actions/"+a.ID.Value, csrf, etag, "hw-inline-form hw-no-print", buttons))
		}
		t.Rows = append(t.Rows, []ui.TableCell{{Text: ui.Text(what)}, {Text: ui.Text(a.OwnerOrganisation.Value)}, {HTML: due}, {HTML: status}})
	}
	if len(r.Actions) == 0 {
		t.Rows = [][]ui.TableCell{{{Text: "No actions yet.", Colspan: 4}}}
	}
	return t
}

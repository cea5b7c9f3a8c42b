package portal

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

// worklistPage is a worklist: its table (nil when empty) and the link to its next page.
type worklistPage struct {
	Table  *ui.Table
	Next   *ui.Pagination
	Before time.Time
}

// nextPage links to the page after this one, or is nil on the last.
func nextPage(q url.Values) *ui.Pagination {
	return &ui.Pagination{Next: &ui.PageLink{Href: "?" + q.Encode()}, Classes: "hw-no-print"}
}

// personLink links a worklist row to the tab of the record it is about.
func personLink(id, tab string, name referral.OptString) template.HTML {
	text := "Name erased"
	if name.Set && name.Value != "" {
		text = name.Value
	}
	return ui.Link("/referrals/"+id+"?tab="+tab, text)
}

// overdueActions is the worklist of open actions past their due time, most overdue first, as the
// service orders them.
func (p *Portal) overdueActions(w http.ResponseWriter, r *http.Request) {
	if !principalOf(r).Can(auth.ReferralRead) {
		p.notAuthorised(w, r)
		return
	}
	params := referral.ListOverdueActionsParams{Limit: referral.NewOptInt(50)}
	if c := r.URL.Query().Get("cursor"); c != "" {
		params.Cursor = referral.NewOptString(c)
	}
	res, err := p.referrals.ListOverdueActions(withSession(r), params)
	list, ok := expect[referral.ListOverdueActionsOK](p, w, r, res, err)
	if !ok {
		return
	}
	data := worklistPage{}
	now := p.app.Now()
	if len(list.Items) > 0 {
		data.Table = &ui.Table{Caption: "Open actions past their due time, most overdue first", CaptionClasses: "govuk-table__caption--s", Classes: "hw-board",
			Head: []ui.TableCell{{Text: "Person"}, {Text: "Action"}, {Text: "Owner"}, {Text: "Urgency"}, {Text: "Was due", Attributes: ui.Attributes{"aria-sort": "ascending"}}}}
	}
	for _, item := range list.Items {
		due := template.HTML("")
		if item.DueAt.Set {
			due = ui.Join(ui.Escape(formatDateTime(item.DueAt.Value)), " ", ui.Tag{Text: "Overdue", Classes: "govuk-tag--red"}.HTML(),
				ui.VisuallyHidden(" by "+lateBy(now.Sub(item.DueAt.Value))))
		}
		data.Table.Rows = append(data.Table.Rows, []ui.TableCell{
			{HTML: personLink(item.ReferralId.Value, "actions", item.Name)}, {Text: ui.Text(words(item.Type.Value))},
			{Text: ui.Text(item.OwnerOrganisation.Value)}, {HTML: tagOf(string(item.Urgency.Value)).HTML()}, {HTML: due},
		})
	}
	if list.NextCursor.Set && list.NextCursor.Value != "" {
		data.Next = nextPage(url.Values{"cursor": {list.NextCursor.Value}})
	}
	p.render(w, r, http.StatusOK, "overdue", view{Title: "Actions overdue", Data: data})
}

// lateBy says how long ago a deadline passed, in the largest whole unit.
func lateBy(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return plural(int(d/(24*time.Hour)), "day", "days")
	case d >= time.Hour:
		return plural(int(d/time.Hour), "hour", "hours")
	default:
		return plural(max(1, int(d/time.Minute)), "minute", "minutes")
	}
}

// weekAhead is the first day after this week's follow-ups: today and the six days after it, in London.
func weekAhead(now time.Time) time.Time {
	d := now.In(calendar.London())
	return time.Date(d.Year(), d.Month(), d.Day()+7, 0, 0, 0, 0, time.UTC)
}

// followUpsDue is the worklist of follow-ups to record by the end of this week, overdue ones first.
func (p *Portal) followUpsDue(w http.ResponseWriter, r *http.Request) {
	if !principalOf(r).Can(auth.ReferralRead) {
		p.notAuthorised(w, r)
		return
	}
	params := referral.ListFollowUpsDueParams{Before: weekAhead(p.app.Now()), Limit: referral.NewOptInt(50)}
	if c := r.URL.Query().Get("cursor"); c != "" {
		params.Cursor = referral.NewOptString(c)
	}
	res, err := p.referrals.ListFollowUpsDue(withSession(r), params)
	list, ok := expect[referral.ListFollowUpsDueOK](p, w, r, res, err)
	if !ok {
		return
	}
	data := worklistPage{Before: params.Before.AddDate(0, 0, -1)}
	if len(list.Items) > 0 {
		data.Table = &ui.Table{Caption: plural(len(list.Items), "follow-up", "follow-ups") + " on this page", CaptionClasses: "govuk-table__caption--s", Classes: "hw-board",
			Head: []ui.TableCell{{Text: "Person"}, {Text: "Follow-up"}, {Text: "Due", Attributes: ui.Attributes{"aria-sort": "ascending"}}}}
	}
	for _, item := range list.Items {
		data.Table.Rows = append(data.Table.Rows, []ui.TableCell{
			{HTML: personLink(item.ReferralId, "outcome", item.Name)}, {Text: ui.Text(strconv.Itoa(item.Days) + " days after discharge")},
			{Text: ui.Text(formatDate(item.DueDate))},
		})
	}
	if list.NextCursor != "" {
		data.Next = nextPage(url.Values{"cursor": {list.NextCursor}})
	}
	p.render(w, r, http.StatusOK, "follow-ups", view{Title: "Follow-ups due this week", Data: data})
}

package portal

import (
	"net/http"
	"net/url"
	"time"

	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
)

type overdueRow struct {
	referral.ListOverdueActionsOKItemsItem
	Late string
}

type overduePage struct {
	Rows []overdueRow
	Next string
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
	data := overduePage{}
	now := p.app.Now()
	for _, item := range list.Items {
		row := overdueRow{ListOverdueActionsOKItemsItem: item}
		if item.DueAt.Set {
			row.Late = lateBy(now.Sub(item.DueAt.Value))
		}
		data.Rows = append(data.Rows, row)
	}
	if list.NextCursor.Set && list.NextCursor.Value != "" {
		data.Next = "?" + url.Values{"cursor": {list.NextCursor.Value}}.Encode()
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

type followUpsPage struct {
	Items  []referral.ListFollowUpsDueOKItemsItem
	Before time.Time
	Next   string
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
	data := followUpsPage{Items: list.Items, Before: params.Before.AddDate(0, 0, -1)}
	if list.NextCursor != "" {
		data.Next = "?" + url.Values{"cursor": {list.NextCursor}}.Encode()
	}
	p.render(w, r, http.StatusOK, "follow-ups", view{Title: "Follow-ups due this week", Data: data})
}

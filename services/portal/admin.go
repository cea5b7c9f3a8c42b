package portal

import (
	"net/http"
	"slices"
	"time"

	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

// closureDays lists the partnership's own non-working days beside the bank holidays of the coming
// year, with a form to add one and a button to remove each.
func (p *Portal) closureDays(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.CalendarManage); !ok {
		return
	}
	p.closurePage(w, r, http.StatusOK, nil, dateAnswer{})
}

func (p *Portal) closurePage(w http.ResponseWriter, r *http.Request, status int, errs []fieldError, typed dateAnswer) {
	res, err := p.referrals.GetClosureDays(withSession(r))
	days, ok := expect[referral.ClosureDays](p, w, r, res, err)
	if !ok {
		return
	}
	today := calendar.DateOf(p.app.Now())
	sorted := slices.Clone(days.Days)
	slices.SortFunc(sorted, func(a, b time.Time) int { return a.Compare(b) })
	var rows []map[string]string
	for _, d := range sorted {
		day := calendar.DateOf(d.Add(12 * time.Hour))
		rows = append(rows, map[string]string{"Day": formatDay(day) + weekday(day), "ISO": day.String(), "Past": map[bool]string{true: "yes"}[day.Before(today)]})
	}
	holidays := &ui.Table{Caption: "Bank holidays in the next twelve months", CaptionClasses: "govuk-table__caption--m",
		Head: []ui.TableCell{{Text: "Day"}, {Text: "Bank holiday"}}}
	for d := today; d.Before(today.AddDays(366)); d = d.AddDays(1) {
		if name, ok := calendar.BankHoliday(d); ok {
			holidays.Rows = append(holidays.Rows, []ui.TableCell{{Text: ui.Text(formatDay(d) + weekday(d))}, {Text: ui.Text(name)}})
		}
	}
	p.render(w, r, status, "closure-days", view{Title: "Closure days", Errors: errs, Banner: closureBanners[r.URL.Query().Get("done")],
		Data: map[string]any{"Days": rows, "Holidays": holidays, "Typed": typed}})
}

func weekday(d calendar.Date) string {
	return " (" + time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday().String() + ")"
}

var closureBanners = map[string]string{"added": "Closure day added. Deadlines set from now on skip it.", "removed": "Closure day removed."}

// changeClosureDays adds a day to, or removes one from, the partnership's closure days. The list is
// read and written back whole, as the service takes it.
func (p *Portal) changeClosureDays(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.CalendarManage); !ok {
		return
	}
	res, err := p.referrals.GetClosureDays(withSession(r))
	days, ok := expect[referral.ClosureDays](p, w, r, res, err)
	if !ok {
		return
	}
	done := "added"
	if remove := r.PostFormValue("remove"); remove != "" {
		d, err := calendar.ParseDate(remove)
		if err != nil {
			p.closurePage(w, r, http.StatusUnprocessableEntity, []fieldError{{Href: "#day-day", Text: "That day could not be read; reload the page and try again"}}, dateAnswer{})
			return
		}
		days.Days = slices.DeleteFunc(days.Days, func(t time.Time) bool { return calendar.DateOf(t.Add(12*time.Hour)) == d })
		done = "removed"
	} else {
		typed := dateAnswer{Day: trimTo(r.PostFormValue("day-day"), 2), Month: trimTo(r.PostFormValue("day-month"), 2), Year: trimTo(r.PostFormValue("day-year"), 4)}
		t, ok := typed.date()
		if !ok {
			p.closurePage(w, r, http.StatusUnprocessableEntity, []fieldError{{Field: "day", Href: "#day-day", Text: "Enter the closure day as day, month and year"}}, typed)
			return
		}
		if !slices.ContainsFunc(days.Days, func(d time.Time) bool { return d.Equal(t) }) {
			days.Days = append(days.Days, t)
		}
	}
	put, err := p.referrals.ReplaceClosureDays(withSession(r), days)
	if _, ok := expect[referral.ClosureDays](p, w, r, put, err); ok {
		http.Redirect(w, r, "/closure-days?done="+done, http.StatusSeeOther)
	}
}

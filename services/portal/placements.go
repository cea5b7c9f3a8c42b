package portal

import (
	"crypto/rand"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/clients/housing"
	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

// findForm is the needs a unit is matched against, read from the query so a search is a link.
type findForm struct {
	Referral, Expected, Bedrooms, Scheme string
	Arrival                              dateAnswer
	Features                             []string
	Carer                                bool
}

func findFormOf(q url.Values) findForm {
	f := findForm{Referral: q.Get("referral"), Expected: strings.TrimSpace(q.Get("expected")), Bedrooms: strings.TrimSpace(q.Get("bedrooms")),
		Scheme: strings.TrimSpace(q.Get("scheme")), Carer: q.Get("carer") == "yes",
		Arrival: dateAnswer{Day: trimTo(q.Get("arrival-day"), 2), Month: trimTo(q.Get("arrival-month"), 2), Year: trimTo(q.Get("arrival-year"), 4)}}
	for _, v := range q["features"] {
		if slices.Contains(unitFeatures, v) {
			f.Features = append(f.Features, v)
		}
	}
	return f
}

// findUnit asks the housing-options service for the units free for the whole stay, best first,
// and why each other unit is not offered; each match can be booked from the list.
func (p *Portal) findUnit(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.HousingManage); !ok {
		return
	}
	f := findFormOf(r.URL.Query())
	ctx := withSession(r)
	res, err := p.referrals.GetReferral(ctx, referral.GetReferralParams{ID: f.Referral})
	ref, ok := expect[referral.GetReferralOKHeaders](p, w, r, res, err)
	if !ok {
		return
	}
	data := map[string]any{"F": f, "Features": unitFeatures, "Referral": ref.Response, "Searched": false}
	if f.Arrival.empty() && f.Expected == "" {
		p.render(w, r, http.StatusOK, "find-unit", view{Title: "Find a unit", Data: data})
		return
	}
	var errs []fieldError
	req := &housing.MatchRequest{ReferralId: housing.NewOptString(f.Referral), CarerStaying: housing.NewOptBool(f.Carer)}
	if t, ok := f.Arrival.date(); ok {
		req.Arrival = housing.Date(t)
	} else {
		errs = append(errs, fieldError{Field: "arrival", Href: "#arrival-day", Text: "Enter the arrival date as day, month and year"})
	}
	if n, err := strconv.Atoi(f.Expected); err == nil {
		req.ExpectedStayDays = n
	} else {
		errs = append(errs, fieldError{Field: "expected", Href: "#expected", Text: "Enter the expected stay in days as a whole number"})
	}
	if f.Bedrooms != "" {
		if n, err := strconv.Atoi(f.Bedrooms); err == nil {
			req.Bedrooms = housing.NewOptInt(n)
		} else {
			errs = append(errs, fieldError{Field: "bedrooms", Href: "#bedrooms", Text: "Enter the bedrooms needed as a whole number, or leave it empty"})
		}
	}
	if f.Scheme != "" {
		req.Scheme = housing.NewOptString(f.Scheme)
	}
	for _, feat := range f.Features {
		req.Features = append(req.Features, housing.Feature(feat))
	}
	if len(errs) > 0 {
		p.render(w, r, http.StatusUnprocessableEntity, "find-unit", view{Title: "Find a unit", Errors: errs, Data: data})
		return
	}
	matched, err := p.housing.MatchUnits(ctx, req)
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	result, ok := matched.(*housing.MatchResult)
	if !ok {
		if pr, isProblem := problemOf(matched); isProblem && (pr.Status == http.StatusUnprocessableEntity || pr.Status == http.StatusBadRequest) {
			for _, e := range pr.Errors {
				id := map[string]string{"arrival": "arrival", "expectedStayDays": "expected", "bedrooms": "bedrooms", "scheme": "scheme"}[e.Field.Value]
				if id == "" {
					id = "arrival"
				}
				errs = append(errs, fieldError{Field: id, Href: "#" + id, Text: sentenceCase(e.Field.Value) + " " + e.Message.Value})
			}
			if len(errs) == 0 {
				errs = append(errs, fieldError{Href: "#arrival-day", Text: pr.Detail.Value})
			}
			p.render(w, r, http.StatusUnprocessableEntity, "find-unit", view{Title: "Find a unit", Errors: errs, Data: data})
			return
		}
		p.answerProblem(w, r, matched)
		return
	}
	data["Searched"] = true
	data["Departure"] = day(result.Departure.Value)
	data["Arrival"] = day(result.Arrival.Value)
	data["ArrivalISO"] = dayOf(result.Arrival.Value).String()
	data["DepartureISO"] = dayOf(result.Departure.Value).String()
	// Each booking button sends this key with its unit's id: pressed twice, or sent again after a
	// lost answer, it books once.
	data["BookingKey"] = rand.Text()
	data["Matches"] = result.Matches
	data["MatchCount"] = result.MatchCount.Value
	if len(result.Excluded) > 0 {
		t := &ui.Table{Caption: "Units not offered, and why", CaptionClasses: "govuk-table__caption--m",
			Head: []ui.TableCell{{Text: "Unit"}, {Text: "Scheme"}, {Text: "Why not"}}}
		for _, x := range result.Excluded {
			t.Rows = append(t.Rows, []ui.TableCell{{HTML: ui.Link("/units/"+url.PathEscape(x.UnitId.Value), "Unit "+shortID(x.UnitId.Value))},
				{Text: ui.Text(x.Scheme.Value)}, {Text: ui.Text(strings.Join(x.Reasons, "; "))}})
		}
		data["Excluded"] = t
	}
	p.render(w, r, http.StatusOK, "find-unit", view{Title: "Find a unit", Data: data})
}

// shortID is the end of an id, enough to tell records apart on a page.
func shortID(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}

// book books the chosen unit provisionally for the referral; a clash names the booking it met.
func (p *Portal) book(w http.ResponseWriter, r *http.Request) {
	req := &housing.BookRequest{ReferralId: r.PostFormValue("referral"), UnitId: r.PostFormValue("unit"), CarerStaying: housing.NewOptBool(r.PostFormValue("carer") == "yes")}
	arrival, err1 := calendar.ParseDate(r.PostFormValue("arrival"))
	departure, err2 := calendar.ParseDate(r.PostFormValue("departure"))
	if err1 != nil || err2 != nil {
		p.render(w, r, http.StatusUnprocessableEntity, "problem", view{Title: "The booking could not be made", Message: "The stay's dates were missing. Go back, search again and book from the list."})
		return
	}
	req.Arrival, req.PlannedDeparture = housing.Date(dateOf(arrival)), housing.NewOptDate(housing.Date(dateOf(departure)))
	params := housing.BookPlacementParams{}
	if key := r.PostFormValue("key"); key != "" {
		params.IdempotencyKey = housing.NewOptString(key)
	}
	res, err := p.housing.BookPlacement(withSession(r), req, params)
	if booked, ok := expect[housing.PlacementBookedHeaders](p, w, r, res, err); ok {
		http.Redirect(w, r, "/placements/"+url.PathEscape(booked.Response.ID)+"?done=booked", http.StatusSeeOther)
	}
}

// placementPage shows a stay and the moves its state allows, each with what it needs.
func (p *Portal) placementPage(w http.ResponseWriter, r *http.Request) {
	who, ok := p.require(w, r, auth.HousingRead)
	if !ok {
		return
	}
	ctx := withSession(r)
	res, err := p.housing.GetPlacement(ctx, housing.GetPlacementParams{ID: r.PathValue("id")})
	got, ok := expect[housing.PlacementHeaders](p, w, r, res, err)
	if !ok {
		return
	}
	pl := got.Response
	facts := ui.SummaryList{}
	add := func(k string, v template.HTML) {
		facts.Rows = append(facts.Rows, &ui.SummaryRow{Key: ui.SummaryText{Text: k}, Value: ui.SummaryText{HTML: v}})
	}
	add("State", tagOf(string(pl.Status)).HTML())
	add("Person", ui.Link("/referrals/"+url.PathEscape(pl.ReferralId)+"?tab=summary", "Referral "+shortID(pl.ReferralId)))
	add("Unit", ui.Link("/units/"+url.PathEscape(pl.UnitId), pl.Scheme+", unit "+shortID(pl.UnitId)))
	add("Arrival", ui.Escape(day(pl.Arrival)))
	add("Planned departure", ui.Escape(day(pl.PlannedDeparture)))
	if pl.ArrivedOn.Set {
		add("Arrived", ui.Escape(day(pl.ArrivedOn.Value)))
	}
	if pl.DepartedOn.Set {
		add("Left", ui.Escape(day(pl.DepartedOn.Value)))
	}
	if pl.Departure.Set && pl.Departure.Value.Destination.Set {
		add("Went to", ui.Escape(sentenceCase(string(pl.Departure.Value.Destination.Value))))
	}
	add("Weekly cost", ui.Escape(moneyOf(pl.WeeklyCost)))
	hb := "Not eligible"
	if pl.HousingBenefit.Eligible.Value {
		hb = "Eligible, not claimed yet"
		if pl.HousingBenefit.ClaimedOn.Set {
			hb = "Claimed on " + day(pl.HousingBenefit.ClaimedOn.Value)
		}
	}
	add("Housing benefit", ui.Escape(hb))
	if pl.Flags.Set && pl.Flags.Value.OverStay.Value {
		add("Over-stay", ui.Tag{Text: "Over-stay", Classes: "govuk-tag--red"}.HTML())
	}
	var history []string
	for _, h := range pl.History {
		line := fmt.Sprintf("%s → %s, %s", words(h.From.Value), words(h.To.Value), formatDateTime(h.At.Value))
		if h.By.Set && h.By.Value.Name.Set {
			line += " by " + h.By.Value.Name.Value
		}
		if h.Reason.Set && h.Reason.Value != "" {
			line += ": " + h.Reason.Value
		}
		history = append(history, line)
	}
	allowed := map[string]bool{}
	for _, a := range pl.Allowed {
		allowed[string(a)] = true
	}
	p.render(w, r, http.StatusOK, "placement", view{Title: "Stay", Banner: housingBanners[r.URL.Query().Get("done")], Data: map[string]any{
		"P": pl, "ETag": got.ETag.Value, "Facts": facts.HTML(), "History": history, "Allowed": allowed,
		"MayManage": who.Can(auth.HousingManage), "Destinations": stayEnds, "VoidReasons": voidReasons,
		"Eligible": pl.HousingBenefit.Eligible.Value, "YesNo": []string{"yes", "no"},
	}})
}

// placementTransition moves a stay on: confirm, arrive, extend (new date and reason), depart
// (destination, housing benefit, why the unit is void), cancel, not arrived.
func (p *Portal) placementTransition(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	to := pick(r.PostFormValue("to"), []string{"confirmed", "arrived", "extended", "departed", "cancelled", "not-arrived"})
	req := &housing.PlacementTransition{To: housing.PlacementTransitionTo(to)}
	if reason := strings.TrimSpace(r.PostFormValue("reason")); reason != "" {
		req.Reason = housing.NewOptString(reason)
	}
	switch to {
	case "extended":
		d, ok := formDate(r, "until")
		if !ok {
			p.render(w, r, http.StatusUnprocessableEntity, "problem", view{Title: "Enter the new departure date",
				Message: "Extending a stay needs its new planned departure as day, month and year. Go back and enter it."})
			return
		}
		req.PlannedDeparture = housing.NewOptDate(housing.Date(d))
	case "departed":
		if dest := pick(r.PostFormValue("destination"), stayEnds); dest != "" {
			req.Destination = housing.NewOptDestination(housing.Destination(dest))
		}
		if v := pick(r.PostFormValue("voidReason"), voidReasons); v != "" {
			req.VoidReason = housing.NewOptVoidReason(housing.VoidReason(v))
		}
		if hb := r.PostFormValue("housingBenefit"); hb != "" {
			req.HousingBenefitClaimed = housing.NewOptBool(hb == "yes")
		}
	}
	res, err := p.housing.TransitionPlacement(withSession(r), req, housing.TransitionPlacementParams{ID: id, IfMatch: r.PostFormValue("etag")})
	if _, ok := expect[housing.PlacementHeaders](p, w, r, res, err); ok {
		http.Redirect(w, r, "/placements/"+url.PathEscape(id)+"?done="+to, http.StatusSeeOther)
	}
}

// placementsWorklist is a page of stays the service picked out (over-stays, claims not made).
func (p *Portal) placementsWorklist(w http.ResponseWriter, r *http.Request, title, empty string,
	list func(cursor housing.OptString) (any, error)) {
	if _, ok := p.require(w, r, auth.HousingRead); !ok {
		return
	}
	var cursor housing.OptString
	if c := r.URL.Query().Get("cursor"); c != "" {
		cursor = housing.NewOptString(c)
	}
	res, err := list(cursor)
	page, ok := expect[housing.PlacementPage](p, w, r, res, err)
	if !ok {
		return
	}
	data := map[string]any{"Title": title, "Empty": empty}
	if len(page.Items) > 0 {
		t := &ui.Table{Caption: plural(len(page.Items), "stay", "stays") + " on this page", CaptionClasses: "govuk-table__caption--s", Classes: "hw-board",
			Head: []ui.TableCell{{Text: "Stay"}, {Text: "Scheme"}, {Text: "Arrived"}, {Text: "Planned departure"}, {Text: "Weekly cost", Format: "numeric"}}}
		for _, pl := range page.Items {
			arrived := "–"
			if pl.ArrivedOn.Set {
				arrived = day(pl.ArrivedOn.Value)
			}
			t.Rows = append(t.Rows, []ui.TableCell{{HTML: ui.Link("/placements/"+url.PathEscape(pl.ID), "Stay "+shortID(pl.ID))},
				{Text: ui.Text(pl.Scheme)}, {Text: ui.Text(arrived)}, {Text: ui.Text(day(pl.PlannedDeparture))}, {Text: ui.Text(moneyOf(pl.WeeklyCost)), Format: "numeric"}})
		}
		data["Table"] = t
	}
	if page.Next.Set && page.Next.Value != "" {
		data["Next"] = nextPage(url.Values{"cursor": {page.Next.Value}})
	}
	p.render(w, r, http.StatusOK, "placements", view{Title: title, Data: data})
}

func (p *Portal) overStays(w http.ResponseWriter, r *http.Request) {
	p.placementsWorklist(w, r, "Over-stays", "Nobody is staying past their planned departure.", func(c housing.OptString) (any, error) {
		return p.housing.ListOverStays(withSession(r), housing.ListOverStaysParams{Limit: housing.NewOptInt(50), Cursor: c})
	})
}

func (p *Portal) benefitUnclaimed(w http.ResponseWriter, r *http.Request) {
	p.placementsWorklist(w, r, "Housing benefit not yet claimed", "Every eligible stay has its claim recorded in time.", func(c housing.OptString) (any, error) {
		return p.housing.ListHousingBenefitUnclaimed(withSession(r), housing.ListHousingBenefitUnclaimedParams{Limit: housing.NewOptInt(50), Cursor: c})
	})
}

// calendar is units × nights for a month, as the housing-options service works them out (occupied,
// booked, void, closed, free), with a text key and the same as a table.
func (p *Portal) calendar(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.HousingRead); !ok {
		return
	}
	today := calendar.DateOf(p.app.Now())
	month := calendar.Date{Year: today.Year, Month: today.Month, Day: 1}
	problem := ""
	if m := r.URL.Query().Get("month"); m != "" {
		if t, err := time.Parse("2006-01", m); err == nil && t.Year() >= 2000 && t.Year() <= 2200 {
			month = calendar.Date{Year: t.Year(), Month: t.Month(), Day: 1}
		} else {
			problem = "Enter the month as YYYY-MM, for example 2026-10"
		}
	}
	next := calendar.DateOf(dateOf(month).AddDate(0, 1, 0).Add(12 * time.Hour))
	prev := calendar.DateOf(dateOf(month).AddDate(0, -1, 0).Add(12 * time.Hour))
	res, err := p.housing.GetOccupancyCalendar(withSession(r), housing.GetOccupancyCalendarParams{Month: fmt.Sprintf("%04d-%02d", month.Year, month.Month)})
	cal, ok := expect[housing.GetOccupancyCalendarOK](p, w, r, res, err)
	if !ok {
		return
	}
	days := month.DaysUntil(next)
	head := []ui.TableCell{{Text: "Unit"}}
	for d := range days {
		head = append(head, ui.TableCell{Text: ui.Text(strconv.Itoa(d + 1)), Classes: "hw-cal-day"})
	}
	t := &ui.Table{Caption: fmt.Sprintf("Nights in %s %d, unit by unit", month.Month, month.Year), CaptionClasses: "govuk-table__caption--m",
		Classes: "hw-calendar", FirstCellIsHeader: true, Head: head}
	for _, u := range cal.Units {
		row := []ui.TableCell{{HTML: ui.Link("/units/"+url.PathEscape(u.UnitId), u.Line1)}}
		for _, n := range u.Nights {
			letter := nightLetters[string(n)]
			cell := ui.TableCell{Text: ui.Text(letter), Classes: "hw-cal-day"}
			if letter == "" {
				cell.HTML = ui.VisuallyHidden(words(string(n)))
			} else {
				cell.Classes += " hw-cal-" + letter
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	p.render(w, r, http.StatusOK, "calendar", view{Title: "Occupancy calendar", Data: map[string]any{
		"Table": t, "Month": fmt.Sprintf("%s %d", month.Month, month.Year), "Problem": problem,
		"Prev": fmt.Sprintf("%04d-%02d", prev.Year, prev.Month), "Next": fmt.Sprintf("%04d-%02d", next.Year, next.Month),
		"Units": len(cal.Units),
	}})
}

// nightLetters are the calendar's one-letter marks, each explained in the page's key; a free night
// (or one before the unit joined) is blank, its state said to screen readers.
var nightLetters = map[string]string{"occupied": "O", "booked": "B", "void": "V", "closed": "C"}

package portal

import (
	"context"
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

// require lets the page through when the signed-in user's roles grant perm, and otherwise answers
// that they are not authorised.
func (p *Portal) require(w http.ResponseWriter, r *http.Request, perm auth.Permission) (*auth.Principal, bool) {
	who := principalOf(r)
	if !who.Can(perm) {
		p.notAuthorised(w, r)
		return nil, false
	}
	return who, true
}

// housingSession hands the housing-options service the signed-in user's own session.
type housingSession struct{}

func (housingSession) SessionCookie(ctx context.Context, _ housing.OperationName) (housing.SessionCookie, error) {
	v, _ := ctx.Value(sessionValueKey{}).(string)
	return housing.SessionCookie{APIKey: v}, nil
}

func (housingSession) Bearer(context.Context, housing.OperationName) (housing.Bearer, error) {
	return housing.Bearer{}, skip
}

func (housingSession) SessionToken(context.Context, housing.OperationName) (housing.SessionToken, error) {
	return housing.SessionToken{}, skip
}

// The housing-options service's lists, as the forms offer them.
var (
	unitFeatures = []string{"wheelchair-accessible", "level-access-shower", "ground-floor", "hoist", "lift", "two-bedroom-carer", "on-site-care", "assistive-technology"}
	unitTypes    = []string{"flat", "apartment", "shared-apartment", "bungalow", "room"}
	voidReasons  = []string{"cleaning", "repairs", "adaptation-install", "awaiting-allocation", "other"}
	stayEnds     = []string{"own-home", "rehoused", "extra-care", "sheltered", "residential-care", "hospital", "other"}
)

func day(d housing.Date) string { return formatDay(calendar.DateOf(time.Time(d).Add(12 * time.Hour))) }

func dayOf(d housing.Date) calendar.Date { return calendar.DateOf(time.Time(d).Add(12 * time.Hour)) }

// unitState is a unit's state as staff say it — a tag (available, booked: available with a stay to
// come, occupied, void, closed) and what the tag alone does not say: since when, and why.
func unitState(u housing.Unit, today calendar.Date) (string, ui.Tag) {
	switch u.Status {
	case housing.UnitStatusVoid:
		days := dayOf(u.StatusSince).DaysUntil(today)
		text := "for " + plural(days, "day", "days")
		if u.VoidReason.Set {
			text += " (" + words(string(u.VoidReason.Value)) + ")"
		}
		return text, ui.Tag{Text: "Void", Classes: "govuk-tag--orange"}
	case housing.UnitStatusOccupied:
		return "", ui.Tag{Text: "Occupied", Classes: "govuk-tag--blue"}
	case housing.UnitStatusClosed:
		return "", ui.Tag{Text: "Closed", Classes: "govuk-tag--grey"}
	}
	if len(u.Bookings) > 0 {
		next := u.Bookings[0]
		for _, b := range u.Bookings {
			if dayOf(b.From.Value).Before(dayOf(next.From.Value)) {
				next = b
			}
		}
		return "from " + day(next.From.Value), ui.Tag{Text: "Booked", Classes: "govuk-tag--light-blue"}
	}
	return "", ui.Tag{Text: "Available", Classes: "govuk-tag--green"}
}

func featureTags(fs []housing.Feature) template.HTML {
	parts := make([]template.HTML, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, ui.Tag{Text: words(string(f)), Classes: "govuk-tag--grey hw-feature"}.HTML())
	}
	return ui.Join(parts...)
}

// allUnits reads every unit, page by page (a partnership has dozens, not thousands).
func (p *Portal) allUnits(ctx context.Context) ([]housing.Unit, any, error) {
	var units []housing.Unit
	params := housing.ListUnitsParams{Limit: housing.NewOptInt(200)}
	for {
		res, err := p.housing.ListUnits(ctx, params)
		if err != nil {
			return nil, nil, err
		}
		page, ok := res.(*housing.UnitPage)
		if !ok {
			return nil, res, nil
		}
		units = append(units, page.Items...)
		if !page.Next.Set || page.Next.Value == "" {
			return units, nil, nil
		}
		params.Cursor = housing.NewOptString(page.Next.Value)
	}
}

// schemeTable is one scheme's units.
type schemeTable struct {
	Scheme string
	Table  *ui.Table
}

// units lists every unit by scheme with its state, features and weekly cost.
func (p *Portal) units(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.HousingRead); !ok {
		return
	}
	units, refusal, err := p.allUnits(withSession(r))
	if err != nil || refusal != nil {
		p.answerService(w, r, refusal, err)
		return
	}
	today := calendar.DateOf(p.app.Now())
	byScheme := map[string][]housing.Unit{}
	for _, u := range units {
		byScheme[u.Scheme] = append(byScheme[u.Scheme], u)
	}
	var tables []schemeTable
	for _, scheme := range sortedKeys(byScheme) {
		t := &ui.Table{Caption: scheme, CaptionClasses: "govuk-table__caption--m", Classes: "hw-board",
			Head: []ui.TableCell{{Text: "Unit"}, {Text: "State"}, {Text: "Type"}, {Text: "Features"}, {Text: "Weekly cost", Format: "numeric"}}}
		for _, u := range byScheme[scheme] {
			state, tag := unitState(u, today)
			t.Rows = append(t.Rows, []ui.TableCell{
				{HTML: ui.Link("/units/"+url.PathEscape(u.ID), u.Address.Line1)},
				{HTML: ui.Join(tag.HTML(), " ", ui.Escape(state))},
				{Text: ui.Text(fmt.Sprintf("%s, %s", words(string(u.Type)), plural(u.Bedrooms, "bedroom", "bedrooms")))},
				{HTML: featureTags(u.Features)},
				{Text: ui.Text(moneyOf(u.WeeklyCost)), Format: "numeric"},
			})
		}
		tables = append(tables, schemeTable{Scheme: scheme, Table: t})
	}
	p.render(w, r, http.StatusOK, "units", view{Title: "Units", Banner: housingBanners[r.URL.Query().Get("done")],
		Data: map[string]any{"Schemes": tables, "MayManage": principalOf(r).Can(auth.HousingManage)}})
}

func moneyOf(m housing.Money) string {
	s := string(m)
	if !strings.Contains(s, ".") {
		s += ".00"
	} else if len(s)-strings.Index(s, ".") == 2 {
		s += "0"
	}
	pounds, pence, _ := strings.Cut(s, ".")
	n, err := strconv.Atoi(pounds)
	if err != nil {
		return string(m)
	}
	return "£" + thousands(n) + "." + pence
}

// housingBanners are the success messages the housing pages redirect to.
var housingBanners = map[string]string{
	"unit-added":  "Unit added.",
	"unit-moved":  "The unit's state has changed.",
	"unit-edited": "Unit details saved.",
	"booked":      "Unit booked provisionally. Confirm it once the stay is agreed.",
	"confirmed":   "Booking confirmed.",
	"arrived":     "Arrival recorded.",
	"extended":    "Stay extended.",
	"departed":    "Departure recorded. The unit is now void until it is made ready.",
	"cancelled":   "Booking cancelled.",
	"not-arrived": "Recorded that the person did not arrive.",
}

// answerService shows a service's refusal, or its failure to answer.
func (p *Portal) answerService(w http.ResponseWriter, r *http.Request, refusal any, err error) {
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	p.answerProblem(w, r, refusal)
}

// unitEvent is one line of a unit's history: a stay or a void or closed spell.
type unitEvent struct {
	From    calendar.Date
	Text    string
	Link    string
	LinkFor string
}

// unitPage shows a unit's facts and state, its stays and spells by date, and the changes its state
// allows.
func (p *Portal) unitPage(w http.ResponseWriter, r *http.Request) {
	who, ok := p.require(w, r, auth.HousingRead)
	if !ok {
		return
	}
	ctx := withSession(r)
	res, err := p.housing.GetUnit(ctx, housing.GetUnitParams{ID: r.PathValue("id")})
	got, ok := expect[housing.UnitHeaders](p, w, r, res, err)
	if !ok {
		return
	}
	u := got.Response
	stays, refusal, err := p.placementsOf(ctx, housing.ListPlacementsParams{Unit: housing.NewOptString(u.ID)})
	if err != nil || refusal != nil {
		p.answerService(w, r, refusal, err)
		return
	}
	today := calendar.DateOf(p.app.Now())
	state, tag := unitState(u, today)
	var events []unitEvent
	for _, s := range stays {
		end := "planned to leave " + day(s.PlannedDeparture)
		if s.DepartedOn.Set {
			end = "left " + day(s.DepartedOn.Value)
		}
		events = append(events, unitEvent{From: dayOf(s.Arrival), Text: fmt.Sprintf("Stay from %s, %s (%s)", day(s.Arrival), end, words(string(s.Status))),
			Link: "/placements/" + url.PathEscape(s.ID), LinkFor: "stay from " + day(s.Arrival)})
	}
	for _, sp := range u.Periods {
		text := sentenceCase(string(sp.Status.Value)) + " from " + day(sp.From.Value)
		if sp.To.Set {
			text += " to " + day(sp.To.Value)
		}
		if sp.Reason.Set && sp.Reason.Value != "" {
			text += " (" + words(sp.Reason.Value) + ")"
		}
		events = append(events, unitEvent{From: dayOf(sp.From.Value), Text: text})
	}
	slices.SortStableFunc(events, func(a, b unitEvent) int { return b.From.Compare(a.From) })
	facts := ui.SummaryList{}
	add := func(k, v string) {
		facts.Rows = append(facts.Rows, &ui.SummaryRow{Key: ui.SummaryText{Text: k}, Value: ui.SummaryText{Text: v}})
	}
	add("Scheme", u.Scheme)
	add("Address", strings.Join(nonEmpty(u.Address.Line1, u.Address.Line2.Value, u.Address.Town, u.Address.Postcode), ", "))
	add("Landlord", u.OwnerOrganisation)
	add("Type", fmt.Sprintf("%s, %s", sentenceCase(string(u.Type)), plural(u.Bedrooms, "bedroom", "bedrooms")))
	facts.Rows = append(facts.Rows, &ui.SummaryRow{Key: ui.SummaryText{Text: "Features"}, Value: ui.SummaryText{HTML: featureTags(u.Features)}})
	add("Weekly cost", moneyOf(u.WeeklyCost))
	add("Housing benefit", map[bool]string{true: "Eligible", false: "Not eligible"}[u.HousingBenefitEligible.Value])
	if u.MaxStayDays.Set {
		add("Longest stay", plural(u.MaxStayDays.Value, "day", "days"))
	}
	allowed := make([]string, 0, len(u.Allowed))
	for _, a := range u.Allowed {
		allowed = append(allowed, string(a))
	}
	p.render(w, r, http.StatusOK, "unit", view{Title: "Unit", Banner: housingBanners[r.URL.Query().Get("done")], Data: map[string]any{
		"Unit": u, "ETag": got.ETag.Value, "State": state, "Tag": tag.HTML(), "Facts": facts.HTML(), "Events": events,
		"Allowed": allowed, "MayManage": who.Can(auth.HousingManage), "VoidReasons": voidReasons,
	}})
}

func nonEmpty(parts ...string) []string {
	out := parts[:0]
	for _, s := range parts {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// sentenceCase turns an API value ("awaiting-care-home-bed") into words with a capital.
func sentenceCase(s string) string {
	s = words(s)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// placementsOf reads every placement the params select.
func (p *Portal) placementsOf(ctx context.Context, params housing.ListPlacementsParams) ([]housing.Placement, any, error) {
	params.Limit = housing.NewOptInt(200)
	var out []housing.Placement
	for {
		res, err := p.housing.ListPlacements(ctx, params)
		if err != nil {
			return nil, nil, err
		}
		page, ok := res.(*housing.PlacementPage)
		if !ok {
			return nil, res, nil
		}
		out = append(out, page.Items...)
		if !page.Next.Set || page.Next.Value == "" {
			return out, nil, nil
		}
		params.Cursor = housing.NewOptString(page.Next.Value)
	}
}

// unitTransition voids, makes ready, closes or reopens a unit, as its state allows.
func (p *Portal) unitTransition(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	req := &housing.TransitionUnitReq{To: housing.TransitionUnitReqTo(pick(r.PostFormValue("to"), []string{"available", "void", "closed"}))}
	if reason := pick(r.PostFormValue("reason"), voidReasons); reason != "" && req.To == "void" {
		req.Reason = housing.NewOptString(reason)
	}
	res, err := p.housing.TransitionUnit(withSession(r), req, housing.TransitionUnitParams{ID: id, IfMatch: r.PostFormValue("etag")})
	if _, ok := expect[housing.UnitHeaders](p, w, r, res, err); ok {
		http.Redirect(w, r, "/units/"+url.PathEscape(id)+"?done=unit-moved", http.StatusSeeOther)
	}
}

// unitForm is the add-a-unit form's answers, kept when the service refuses them.
type unitForm struct {
	// ID and ETag are set when the form edits an existing unit, at the version it was read.
	ID, ETag                                                                         string
	Scheme, Line1, Line2, Town, Postcode, Owner, Type, Bedrooms, WeeklyCost, MaxStay string
	Features                                                                         []string
	HousingBenefit                                                                   bool
}

func unitFormOf(r *http.Request) unitForm {
	f := unitForm{ID: r.PathValue("id"), ETag: r.PostFormValue("etag"), Scheme: r.PostFormValue("scheme"), Line1: r.PostFormValue("line1"), Line2: r.PostFormValue("line2"), Town: r.PostFormValue("town"),
		Postcode: r.PostFormValue("postcode"), Owner: r.PostFormValue("owner"), Type: r.PostFormValue("type"), Bedrooms: r.PostFormValue("bedrooms"),
		WeeklyCost: strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("weeklyCost")), "£"), MaxStay: r.PostFormValue("maxStay"),
		HousingBenefit: r.PostFormValue("housingBenefit") == "yes"}
	for _, v := range r.PostForm["features"] {
		if slices.Contains(unitFeatures, v) {
			f.Features = append(f.Features, v)
		}
	}
	return f
}

func (p *Portal) newUnit(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.HousingManage); !ok {
		return
	}
	p.unitFormPage(w, r, http.StatusOK, unitForm{Type: "flat", Bedrooms: "1"}, nil)
}

func (p *Portal) unitFormPage(w http.ResponseWriter, r *http.Request, status int, f unitForm, errs []fieldError) {
	title := "Add a unit"
	if f.ID != "" {
		title = "Change the unit's details"
	}
	p.render(w, r, status, "unit-form", view{Title: title, Errors: errs, Data: map[string]any{
		"F": f, "Types": unitTypes, "Features": unitFeatures}})
}

// editUnit is the unit's form filled with its facts, to be sent back against the version read.
func (p *Portal) editUnit(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.HousingManage); !ok {
		return
	}
	res, err := p.housing.GetUnit(withSession(r), housing.GetUnitParams{ID: r.PathValue("id")})
	got, ok := expect[housing.UnitHeaders](p, w, r, res, err)
	if !ok {
		return
	}
	u := got.Response
	f := unitForm{ID: u.ID, ETag: got.ETag.Value, Scheme: u.Scheme, Line1: u.Address.Line1, Line2: u.Address.Line2.Value, Town: u.Address.Town,
		Postcode: u.Address.Postcode, Owner: u.OwnerOrganisation, Type: string(u.Type), Bedrooms: strconv.Itoa(u.Bedrooms),
		WeeklyCost: string(u.WeeklyCost), HousingBenefit: u.HousingBenefitEligible.Value}
	if u.MaxStayDays.Set {
		f.MaxStay = strconv.Itoa(u.MaxStayDays.Value)
	}
	for _, feat := range u.Features {
		f.Features = append(f.Features, string(feat))
	}
	p.unitFormPage(w, r, http.StatusOK, f, nil)
}

// createUnit sends the form to the service — a new unit, or the unit's new facts against the version
// the form was read at; a refusal is shown on the form with every answer kept.
func (p *Portal) createUnit(w http.ResponseWriter, r *http.Request) {
	f := unitFormOf(r)
	req := &housing.UnitFields{Scheme: strings.TrimSpace(f.Scheme), OwnerOrganisation: strings.TrimSpace(f.Owner), Type: housing.UnitType(pick(f.Type, unitTypes)),
		Address:    housing.UnitFieldsAddress{Line1: strings.TrimSpace(f.Line1), Town: strings.TrimSpace(f.Town), Postcode: strings.TrimSpace(f.Postcode)},
		WeeklyCost: housing.Money(f.WeeklyCost), HousingBenefitEligible: housing.NewOptBool(f.HousingBenefit)}
	if l2 := strings.TrimSpace(f.Line2); l2 != "" {
		req.Address.Line2 = housing.NewOptString(l2)
	}
	var errs []fieldError
	if n, err := strconv.Atoi(strings.TrimSpace(f.Bedrooms)); err == nil {
		req.Bedrooms = n
	} else {
		errs = append(errs, fieldError{Field: "bedrooms", Href: "#bedrooms", Text: "Enter the number of bedrooms as a whole number, 0 for a studio"})
	}
	if v := strings.TrimSpace(f.MaxStay); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			req.MaxStayDays = housing.NewOptInt(n)
		} else {
			errs = append(errs, fieldError{Field: "maxStay", Href: "#maxStay", Text: "Enter the longest stay in days as a whole number, or leave it empty"})
		}
	}
	for _, feat := range f.Features {
		req.Features = append(req.Features, housing.Feature(feat))
	}
	if len(errs) > 0 {
		p.unitFormPage(w, r, http.StatusUnprocessableEntity, f, errs)
		return
	}
	if f.ID != "" {
		p.replaceUnit(w, r, f, req)
		return
	}
	res, err := p.housing.CreateUnit(withSession(r), req)
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	if created, ok := res.(*housing.UnitCreatedHeaders); ok {
		http.Redirect(w, r, "/units/"+url.PathEscape(created.Response.ID)+"?done=unit-added", http.StatusSeeOther)
		return
	}
	if pr, ok := problemOf(res); ok && pr.Status == http.StatusUnprocessableEntity || ok && pr.Status == http.StatusBadRequest {
		p.unitFormPage(w, r, http.StatusUnprocessableEntity, f, unitFieldErrors(pr.Errors, pr.Detail.Value))
		return
	}
	p.answerProblem(w, r, res)
}

// replaceUnit sends an edited unit; a unit changed since the form was read is said so plainly, and
// nothing is saved.
func (p *Portal) replaceUnit(w http.ResponseWriter, r *http.Request, f unitForm, req *housing.UnitFields) {
	res, err := p.housing.ReplaceUnit(withSession(r), req, housing.ReplaceUnitParams{ID: f.ID, IfMatch: f.ETag})
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	if _, ok := res.(*housing.UnitHeaders); ok {
		http.Redirect(w, r, "/units/"+url.PathEscape(f.ID)+"?done=unit-edited", http.StatusSeeOther)
		return
	}
	pr, ok := problemOf(res)
	switch {
	case ok && pr.Status == http.StatusPreconditionFailed:
		p.render(w, r, http.StatusConflict, "problem", view{Title: "Someone changed this unit while you were editing",
			Message: "Nothing you entered was saved. Go back to the unit, which now shows their change, and make yours again."})
	case ok && (pr.Status == http.StatusUnprocessableEntity || pr.Status == http.StatusBadRequest):
		p.unitFormPage(w, r, http.StatusUnprocessableEntity, f, unitFieldErrors(pr.Errors, pr.Detail.Value))
	default:
		p.answerProblem(w, r, res)
	}
}

// unitFieldErrors maps the service's field names onto the form's.
func unitFieldErrors(errs []referral.ProblemErrorsItem, detail string) []fieldError {
	fields := map[string]string{"scheme": "scheme", "address.line1": "line1", "address.line2": "line2", "address.town": "town",
		"address.postcode": "postcode", "ownerOrganisation": "owner", "type": "type", "bedrooms": "bedrooms", "weeklyCost": "weeklyCost",
		"maxStayDays": "maxStay", "features": "features"}
	var out []fieldError
	for _, e := range errs {
		id, ok := fields[e.Field.Value]
		if !ok {
			id = "scheme"
		}
		out = append(out, fieldError{Field: id, Href: "#" + id, Text: sentenceCase(e.Field.Value) + " " + e.Message.Value})
	}
	if len(out) == 0 {
		out = append(out, fieldError{Href: "#scheme", Text: detail})
	}
	return out
}

package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/clients/housing"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

var rehousingStatuses = []string{"applying", "offered", "accepted", "rehoused", "withdrawn"}

// rehousingList lists the permanent-move cases, by status when one is chosen.
func (p *Portal) rehousingList(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.HousingRead); !ok {
		return
	}
	q := r.URL.Query()
	params := housing.ListRehousingCasesParams{Limit: housing.NewOptInt(50)}
	status := pick(q.Get("status"), rehousingStatuses)
	if status != "" {
		params.Status = housing.NewOptRehousingStatus(housing.RehousingStatus(status))
	}
	if c := q.Get("cursor"); c != "" {
		params.Cursor = housing.NewOptString(c)
	}
	res, err := p.housing.ListRehousingCases(withSession(r), params)
	list, ok := expect[housing.ListRehousingCasesOK](p, w, r, res, err)
	if !ok {
		return
	}
	data := map[string]any{"Status": status, "Statuses": rehousingStatuses}
	if len(list.Items) > 0 {
		t := &ui.Table{Caption: plural(len(list.Items), "case", "cases") + " on this page", CaptionClasses: "govuk-table__caption--s", Classes: "hw-board",
			Head: []ui.TableCell{{Text: "Case"}, {Text: "State"}, {Text: "Referred"}, {Text: "Bids", Format: "numeric"}, {Text: "Offers", Format: "numeric"}, {Text: "Days to rehoused"}}}
		for _, c := range list.Items {
			days := "–"
			if c.DaysToRehoused.Set {
				days = fmt.Sprintf("%d (waiting list %d)", c.DaysToRehoused.Value, c.WaitingListBaselineDays.Value)
			}
			t.Rows = append(t.Rows, []ui.TableCell{{HTML: ui.Link("/rehousing/"+url.PathEscape(c.ID.Value), "Case "+shortID(c.ID.Value))},
				{HTML: tagOf(string(c.Status.Value)).HTML()}, {Text: ui.Text(day(c.ReferralReceivedOn.Value))},
				{Text: ui.Text(fmt.Sprint(c.Bids.Value)), Format: "numeric"}, {Text: ui.Text(fmt.Sprint(c.Offers.Value)), Format: "numeric"}, {Text: ui.Text(days)}})
		}
		data["Table"] = t
	}
	if list.Next.Set && list.Next.Value != "" {
		next := url.Values{"cursor": {list.Next.Value}}
		if status != "" {
			next.Set("status", status)
		}
		data["Next"] = nextPage(next)
	}
	p.render(w, r, http.StatusOK, "rehousing-list", view{Title: "Rehousing cases", Data: data})
}

// openRehousing opens a case for a referral (one open case at a time, as the service holds).
func (p *Portal) openRehousing(w http.ResponseWriter, r *http.Request) {
	res, err := p.housing.OpenRehousingCase(withSession(r), &housing.OpenRehousingCaseReq{ReferralId: r.PostFormValue("referral")})
	if opened, ok := expect[housing.RehousingCaseOpenedHeaders](p, w, r, res, err); ok {
		http.Redirect(w, r, "/rehousing/"+url.PathEscape(opened.Response.ID)+"?done=opened", http.StatusSeeOther)
	}
}

var rehousingBanners = map[string]string{
	"opened": "Rehousing case opened.", "bid": "Bid recorded.", "offer": "Offer recorded.", "respond": "Answer recorded.",
	"move-in": "Move-in recorded: the person is rehoused.", "withdraw": "Case closed without a move.",
}

// rehousingPage shows a case: where it stands, days to rehoused beside the waiting-list baseline,
// its bids and offers, and a form for each step the service lists in the case's allowed.
func (p *Portal) rehousingPage(w http.ResponseWriter, r *http.Request) {
	who, ok := p.require(w, r, auth.HousingRead)
	if !ok {
		return
	}
	res, err := p.housing.GetRehousingCase(withSession(r), housing.GetRehousingCaseParams{ID: r.PathValue("id")})
	got, ok := expect[housing.RehousingCaseHeaders](p, w, r, res, err)
	if !ok {
		return
	}
	c := got.Response
	facts := ui.SummaryList{}
	add := func(k, v string) {
		facts.Rows = append(facts.Rows, &ui.SummaryRow{Key: ui.SummaryText{Text: k}, Value: ui.SummaryText{Text: v}})
	}
	facts.Rows = append(facts.Rows, &ui.SummaryRow{Key: ui.SummaryText{Text: "State"}, Value: ui.SummaryText{HTML: tagOf(string(c.Status)).HTML()}},
		&ui.SummaryRow{Key: ui.SummaryText{Text: "Person"}, Value: ui.SummaryText{HTML: ui.Link("/referrals/"+url.PathEscape(c.ReferralId)+"?tab=summary", "Referral "+shortID(c.ReferralId))}})
	add("Referred", day(c.ReferralReceivedOn)+" ("+words(c.ReferralSource)+")")
	if c.MoveInOn.Set {
		add("Moved in", day(c.MoveInOn.Value))
	}
	if c.DaysToRehoused.Set {
		text := fmt.Sprintf("%s, against %s on the waiting list", plural(c.DaysToRehoused.Value, "day", "days"), plural(c.WaitingListBaselineDays, "day", "days"))
		if c.DaysSavedAgainstBaseline.Set && c.DaysSavedAgainstBaseline.Value > 0 {
			text += fmt.Sprintf(" (%s sooner)", plural(c.DaysSavedAgainstBaseline.Value, "day", "days"))
		}
		add("Days to rehoused", text)
	} else {
		add("Waiting-list baseline", plural(c.WaitingListBaselineDays, "day", "days"))
	}
	if c.WithdrawnReason.Set {
		add("Closed because", c.WithdrawnReason.Value)
	}
	var bids, offers []string
	for _, b := range c.Bids {
		line := day(b.SubmittedOn.Value) + ": " + b.Landlord.Value
		if b.Reference.Set && b.Reference.Value != "" {
			line += ", reference " + b.Reference.Value
		}
		bids = append(bids, line)
	}
	awaiting := ""
	for _, o := range c.Offers {
		line := fmt.Sprintf("%s: %s, %s", day(o.OfferedOn.Value), o.Property.Value, o.Landlord.Value)
		if o.Decision.Set {
			line += fmt.Sprintf(" — %s on %s", o.Decision.Value, day(o.RespondedOn.Value))
			if o.Reason.Set && o.Reason.Value != "" {
				line += " (" + o.Reason.Value + ")"
			}
		} else {
			line += " — awaiting an answer"
			awaiting = o.ID.Value
		}
		offers = append(offers, line)
	}
	allowed := map[string]bool{}
	for _, a := range c.Allowed {
		allowed[string(a)] = true
	}
	p.render(w, r, http.StatusOK, "rehousing", view{Title: "Rehousing case", Banner: rehousingBanners[r.URL.Query().Get("done")], Data: map[string]any{
		"C": c, "ETag": got.ETag.Value, "Facts": facts.HTML(), "Bids": bids, "Offers": offers, "Awaiting": awaiting,
		"Allowed": allowed, "MayManage": who.Can(auth.HousingManage), "Answers": []string{"accepted", "refused"},
	}})
}

// rehousingStep records one step of a case, against the version the page was read at.
func (p *Portal) rehousingStep(w http.ResponseWriter, r *http.Request) {
	id, step := r.PathValue("id"), r.PathValue("step")
	etag := r.PostFormValue("etag")
	ctx := withSession(r)
	date := func(prefix string) (time.Time, bool) {
		t, ok := formDate(r, prefix)
		if !ok {
			p.render(w, r, http.StatusUnprocessableEntity, "problem", view{Title: "Enter the date",
				Message: "The date must be a real day, month and year. Go back and enter it."})
		}
		return t, ok
	}
	text := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	var (
		res any
		err error
	)
	switch step {
	case "bid":
		on, ok := date("submitted")
		if !ok {
			return
		}
		req := &housing.RecordBidReq{Landlord: text("landlord"), SubmittedOn: on}
		if ref := text("reference"); ref != "" {
			req.Reference = housing.NewOptString(ref)
		}
		res, err = p.housing.RecordBid(ctx, req, housing.RecordBidParams{ID: id, IfMatch: etag})
	case "offer":
		on, ok := date("offered")
		if !ok {
			return
		}
		res, err = p.housing.RecordOffer(ctx, &housing.RecordOfferReq{Landlord: text("landlord"), Property: text("property"), OfferedOn: on},
			housing.RecordOfferParams{ID: id, IfMatch: etag})
	case "respond":
		on, ok := date("responded")
		if !ok {
			return
		}
		req := &housing.RespondToOfferReq{Decision: housing.RespondToOfferReqDecision(pick(r.PostFormValue("decision"), []string{"accepted", "refused"})), RespondedOn: on}
		if reason := text("reason"); reason != "" {
			req.Reason = housing.NewOptString(reason)
		}
		res, err = p.housing.RespondToOffer(ctx, req, housing.RespondToOfferParams{ID: id, Offer: r.PostFormValue("offer"), IfMatch: etag})
	case "move-in":
		on, ok := date("moved")
		if !ok {
			return
		}
		res, err = p.housing.RecordMoveIn(ctx, &housing.RecordMoveInReq{On: on}, housing.RecordMoveInParams{ID: id, IfMatch: etag})
	case "withdraw":
		res, err = p.housing.WithdrawRehousingCase(ctx, &housing.WithdrawRehousingCaseReq{Reason: text("withdraw-reason")}, housing.WithdrawRehousingCaseParams{ID: id, IfMatch: etag})
	default:
		p.render(w, r, http.StatusNotFound, "problem", view{Title: "Page not found", Message: "There is no such step of a rehousing case."})
		return
	}
	if _, ok := expect[housing.RehousingCaseHeaders](p, w, r, res, err); ok {
		http.Redirect(w, r, "/rehousing/"+url.PathEscape(id)+"?done="+step, http.StatusSeeOther)
	}
}

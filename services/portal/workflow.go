package portal

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/clients/referral"
)

var (
	destinations    = enumValues(referral.TransitionRequestDischargeDestination("").AllValues())
	followUpResults = enumValues(referral.RecordFollowUpReqResult("").AllValues())
)

// formDate reads a GOV.UK date input posted as prefix-day, prefix-month, prefix-year.
func formDate(r *http.Request, prefix string) (time.Time, bool) {
	return dateAnswer{Day: trimTo(r.PostFormValue(prefix+"-day"), 2), Month: trimTo(r.PostFormValue(prefix+"-month"), 2),
		Year: trimTo(r.PostFormValue(prefix+"-year"), 4)}.date()
}

// transition moves a referral on to one of the moves the service offered with the record; the
// service checks the move, the reason and the discharge details.
func (p *Portal) transition(w http.ResponseWriter, r *http.Request) {
	req := &referral.TransitionRequest{To: referral.Status(r.PostFormValue("to"))}
	if reason := strings.TrimSpace(r.PostFormValue("reason")); reason != "" {
		req.Reason = referral.NewOptString(reason)
	}
	if req.To == referral.StatusDischarged {
		date, ok := formDate(r, "discharge")
		if !ok {
			p.render(w, r, http.StatusUnprocessableEntity, "problem", view{Title: "Enter the discharge date",
				Message: "Moving a referral to discharged needs the date of discharge as day, month and year. Go back and enter it."})
			return
		}
		req.Discharge = referral.NewOptTransitionRequestDischarge(referral.TransitionRequestDischarge{
			Date: date, Destination: referral.TransitionRequestDischargeDestination(pick(r.PostFormValue("destination"), destinations))})
	}
	p.change(w, r, "moved", func(id, etag string) (any, error) {
		return p.referrals.TransitionReferral(withSession(r), req, referral.TransitionReferralParams{ID: id, IfMatch: etag})
	})
}

func (p *Portal) updateAction(w http.ResponseWriter, r *http.Request) {
	status := referral.ActionStatus(pick(r.PostFormValue("status"), []string{"in-progress", "done", "cancelled"}))
	p.change(w, r, "action-"+string(status), func(id, etag string) (any, error) {
		return p.referrals.UpdateAction(withSession(r), &referral.UpdateActionReq{Status: status},
			referral.UpdateActionParams{ID: id, Action: r.PathValue("action"), IfMatch: etag})
	})
}

func (p *Portal) followUp(w http.ResponseWriter, r *http.Request) {
	days, err := strconv.Atoi(r.PathValue("days"))
	if err != nil {
		p.render(w, r, http.StatusNotFound, "problem", view{Title: "Page not found", Message: "There is no such follow-up."})
		return
	}
	req := &referral.RecordFollowUpReq{Result: referral.RecordFollowUpReqResult(pick(r.PostFormValue("result"), followUpResults))}
	if v := strings.TrimSpace(r.PostFormValue("wellbeing")); v != "" {
		score, err := strconv.Atoi(v)
		if err != nil {
			p.render(w, r, http.StatusUnprocessableEntity, "problem", view{Title: "The wellbeing score must be a number",
				Message: "Enter the WEMWBS score as a whole number from 14 to 70, or leave it empty. Go back and try again."})
			return
		}
		req.Wellbeing = referral.NewOptWellbeing(referral.Wellbeing(score))
	}
	p.change(w, r, "follow-up", func(id, etag string) (any, error) {
		return p.referrals.RecordFollowUp(withSession(r), req, referral.RecordFollowUpParams{ID: id, Days: days, IfMatch: etag})
	})
}

func (p *Portal) readmission(w http.ResponseWriter, r *http.Request) {
	date, ok := formDate(r, "readmission")
	if !ok {
		p.render(w, r, http.StatusUnprocessableEntity, "problem", view{Title: "Enter the date of readmission",
			Message: "Enter the date the person went back into hospital as day, month and year. Go back and try again."})
		return
	}
	p.change(w, r, "readmission", func(id, etag string) (any, error) {
		return p.referrals.RecordReadmission(withSession(r), &referral.RecordReadmissionReq{Date: date}, referral.RecordReadmissionParams{ID: id, IfMatch: etag})
	})
}

package housing

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// rehousingFacts are what every rehousing event carries.
func rehousingFacts(c *RehousingCase) events.Rehousing {
	return events.Rehousing{CaseID: c.ID, Status: string(c.Status), ReferralSource: c.ReferralSource,
		ReferralReceivedOn: c.ReferralReceivedOn, WaitingListBaselineDays: c.WaitingListBaselineDays}
}

func rehousingEvent(c *RehousingCase, payload events.Payload) event {
	return event{Subject: kindRehousing + ":" + c.ID, Referral: c.ReferralID, Payload: payload}
}

func (s *Service) baselineDays() int {
	if s.policy.CostModel == nil {
		return 0
	}
	return s.policy.CostModel.WaitingListBaselineDays
}

func (s *Service) openRehousing(w http.ResponseWriter, r *http.Request) {
	var req OpenRehousingRequest
	if p := decode(r, &req); p != nil {
		httpapi.WriteProblem(w, r, p)
		return
	}
	ref, ok := s.referralOf(w, r, req.ReferralID)
	if !ok {
		return
	}
	now := s.now()
	c := s.newCase(ref, staffOf(r), now)
	wr, err := s.repo.rehousingWrite(nil, c, 0, s.app.AuditEntry(r, audit.ActionCreate, ""))
	if err != nil {
		httpapi.Internal(w, r, err)
		return
	}
	ev := rehousingEvent(c, events.RehousingOpened{Rehousing: rehousingFacts(c)})
	ev.At = now
	// The claim on the referral's open-case key makes "one open case" hold under concurrent requests.
	version, err := s.repo.commit(r.Context(), change{writes: []write{wr}, events: []event{ev},
		extra: []store.Op{store.Claim(s.repo.keys.RehousingOpen(ref.ID), c.ID, 0)}})
	var taken *store.ClaimTakenError
	if errors.As(err, &taken) {
		httpapi.WriteProblem(w, r, httpapi.Conflict("case-open", "A rehousing case is open", "the referral already has open case "+taken.Value))
		return
	}
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the rehousing case")
		return
	}
	w.Header().Set("Location", "/v1/rehousing-cases/"+c.ID)
	writeRecord(w, http.StatusCreated, c, version)
}

// newCase is a case opened at a time for a referral.
func (s *Service) newCase(ref *events.ReferralFacts, by Staff, now time.Time) *RehousingCase {
	return &RehousingCase{ID: ids.New(now), ReferralID: ref.ID, ReferralSource: ref.Source,
		ReferralReceivedOn: calendar.DateOf(ref.ReceivedAt.In(calendar.London())), Status: RehousingApplying,
		Bids: []Bid{}, Offers: []Offer{}, WaitingListBaselineDays: s.baselineDays(),
		History: []Transition{{To: string(RehousingApplying), At: now, By: by}}, CreatedBy: by, CreatedAt: now, UpdatedAt: now}
}

func (s *Service) rehousingSummaries(r *http.Request, caseIDs []string) ([]*rehousingSummary, error) {
	keys := make([]string, len(caseIDs))
	for i, id := range caseIDs {
		keys[i] = s.repo.keys.RehousingCase(id)
	}
	recs, err := s.repo.summaries(r.Context(), keys)
	if err != nil {
		return nil, err
	}
	out := make([]*rehousingSummary, len(recs))
	for i, rec := range recs {
		out[i] = &rehousingSummary{}
		if err := json.Unmarshal(rec.Doc, out[i]); err != nil {
			return nil, fmt.Errorf("decode rehousing case: %w", err)
		}
	}
	return out, nil
}

func (s *Service) listRehousing(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, cursor, prob := listQuery(q, "referral", "status")
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	referral, status := q.Get("referral"), q.Get("status")
	var e fields
	e.OneOf("status", status, []string{string(RehousingApplying), string(RehousingOffered), string(RehousingAccepted), string(RehousingRehoused), string(RehousingWithdrawn)}, false)
	if referral != "" && !ids.Valid(referral) {
		e.Add("referral", "must be a referral id")
	}
	if len(e) > 0 {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("the filters are not valid", e...))
		return
	}
	index := s.repo.keys.RehousingCases()
	switch {
	case referral != "":
		index = s.repo.keys.RehousingCasesOfReferral(referral)
	case status != "":
		index = s.repo.keys.RehousingCasesByStatus(status)
	}
	caseIDs, err := s.repo.members(r.Context(), index)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the rehousing cases")
		return
	}
	page := pageOf(caseIDs, func(id string) string { return id }, cursor, limit)
	items, err := s.rehousingSummaries(r, page.Items)
	if err == nil {
		items = slices.DeleteFunc(items, func(c *rehousingSummary) bool { return status != "" && string(c.Status) != status })
		err = s.repo.auditShown(r.Context(), kindRehousing, page.Items, s.app.AuditEntry(r, audit.ActionList, r.Pattern))
	}
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the rehousing cases")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, Page[*rehousingSummary]{Items: items, Next: page.Next})
}

func (s *Service) getRehousing(w http.ResponseWriter, r *http.Request) {
	id, prob := app.PathID(r, "id", "rehousing case")
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	c, version, err := s.repo.getRehousing(r.Context(), id, s.app.AuditEntry(r, audit.ActionRead, ""))
	if err != nil {
		app.WriteStorageProblem(w, r, err, "rehousing case "+id)
		return
	}
	writeRecord(w, http.StatusOK, c, version)
}

// rehousingStep changes a case.
type rehousingStep = app.Step[RehousingCase, event]

// rehousingMutation serves a change of an open case through the kit's mutation protocol; a closed
// case no longer changes, and the case that closes frees its referral for a new one.
func (s *Service) rehousingMutation(prepare func(r *http.Request) (rehousingStep, *httpapi.Problem)) http.HandlerFunc {
	return app.Mutation[RehousingCase, event]{
		Kind: "rehousing case",
		ID:   func(r *http.Request) (string, *httpapi.Problem) { return app.PathID(r, "id", "rehousing case") },
		Load: s.repo.loadRehousing,
		Commit: func(r *http.Request, before, c *RehousingCase, version int64, evs []event, now time.Time) (int64, error) {
			c.UpdatedAt = now
			stamp(evs, now)
			wr, err := s.repo.rehousingWrite(before, c, version, s.app.AuditEntry(r, audit.ActionUpdate, app.LateAudit(r.Pattern, before.LateEntries, c.LateEntries)))
			if err != nil {
				return 0, err
			}
			ch := change{writes: []write{wr}, events: evs}
			if !c.Status.open() {
				ch.extra = append(ch.extra, store.Release(s.repo.keys.RehousingOpen(c.ReferralID)))
			}
			next, err := s.repo.commit(r.Context(), ch)
			if isConflictOn(err, wr.key) {
				return 0, fmt.Errorf("%w: %w", app.ErrStale, err)
			}
			return next, err
		},
		Reply: func(w http.ResponseWriter, c *RehousingCase, version int64, _ time.Time) {
			writeRecord(w, http.StatusOK, c, version)
		},
		Now: s.now,
	}.Handle(func(r *http.Request) (rehousingStep, *httpapi.Problem) {
		step, prob := prepare(r)
		if prob != nil {
			return nil, prob
		}
		return func(c *RehousingCase, now time.Time) ([]event, *httpapi.Problem) {
			if !c.Status.open() {
				return nil, httpapi.Conflict("case-closed", "The case is closed", "a "+string(c.Status)+" case no longer changes")
			}
			return step(c, now)
		}, nil
	})
}

func notFuture(field string, d, today calendar.Date) *httpapi.Problem {
	if d.Compare(today) > 0 {
		return httpapi.Invalid("the day has not come yet", httpapi.FieldError{Field: field, Message: "must not be after " + today.String()})
	}
	return nil
}

func (c *RehousingCase) move(to RehousingStatus, by Staff, now time.Time, reason string) {
	c.History = append(c.History, Transition{From: string(c.Status), To: string(to), At: now, By: by, Reason: reason})
	c.Status = to
}

func (s *Service) addBid(r *http.Request) (rehousingStep, *httpapi.Problem) {
	var req BidRequest
	if p := decode(r, &req); p != nil {
		return nil, p
	}
	return bidStep(req), nil
}

// bidStep records a bid; the import replays it at the bid's own date.
func bidStep(req BidRequest) rehousingStep {
	return func(c *RehousingCase, now time.Time) ([]event, *httpapi.Problem) {
		today := londonDay(now)
		if p := notFuture("submittedOn", req.SubmittedOn, today); p != nil {
			return nil, p
		}
		b := Bid{ID: ids.New(now), Landlord: req.Landlord, Reference: req.Reference, Scheme: req.Scheme, SubmittedOn: req.SubmittedOn}
		c.Bids = append(c.Bids, b)
		return []event{rehousingEvent(c, events.RehousingBid{Rehousing: rehousingFacts(c), BidID: b.ID, SubmittedOn: b.SubmittedOn})}, nil
	}
}

func (s *Service) addOffer(r *http.Request) (rehousingStep, *httpapi.Problem) {
	var req OfferRequest
	if p := decode(r, &req); p != nil {
		return nil, p
	}
	return offerStep(req, staffOf(r)), nil
}

// offerStep records a home offered, while no other offer awaits its answer.
func offerStep(req OfferRequest, by Staff) rehousingStep {
	return func(c *RehousingCase, now time.Time) ([]event, *httpapi.Problem) {
		today := londonDay(now)
		if c.Status != RehousingApplying {
			return nil, httpapi.Conflict("illegal-transition", "An offer is already in hand",
				fmt.Sprintf("a case that is %s takes no new offer until the last one is answered", c.Status))
		}
		if p := notFuture("offeredOn", req.OfferedOn, today); p != nil {
			return nil, p
		}
		o := Offer{ID: ids.New(now), Landlord: req.Landlord, Property: req.Property, OfferedOn: req.OfferedOn}
		c.Offers = append(c.Offers, o)
		c.move(RehousingOffered, by, now, "")
		return []event{rehousingEvent(c, events.RehousingOffered{Rehousing: rehousingFacts(c), OfferID: o.ID, OfferedOn: o.OfferedOn})}, nil
	}
}

func (s *Service) answerOffer(r *http.Request) (rehousingStep, *httpapi.Problem) {
	offerID := r.PathValue("offer")
	if !ids.Valid(offerID) {
		return nil, httpapi.NotFound("offer " + offerID)
	}
	var req OfferResponseRequest
	if p := decode(r, &req); p != nil {
		return nil, p
	}
	return answerStep(offerID, req, staffOf(r)), nil
}

// answerStep records the person's answer to the offer awaiting one.
func answerStep(offerID string, req OfferResponseRequest, by Staff) rehousingStep {
	return func(c *RehousingCase, now time.Time) ([]event, *httpapi.Problem) {
		today := londonDay(now)
		o := c.pendingOffer()
		if o == nil || o.ID != offerID {
			i := slices.IndexFunc(c.Offers, func(o Offer) bool { return o.ID == offerID })
			if i < 0 {
				return nil, httpapi.NotFound("offer " + offerID)
			}
			return nil, httpapi.Conflict("offer-answered", "The offer was answered", "offer "+offerID+" was "+c.Offers[i].Decision)
		}
		if p := notFuture("respondedOn", req.RespondedOn, today); p != nil {
			return nil, p
		}
		if req.RespondedOn.Before(o.OfferedOn) {
			return nil, httpapi.Invalid("an answer comes after the offer", httpapi.FieldError{Field: "respondedOn", Message: "must not be before " + o.OfferedOn.String()})
		}
		o.Decision, o.Reason, o.RespondedOn = req.Decision, req.Reason, &req.RespondedOn
		to := RehousingAccepted
		if req.Decision == "refused" {
			to = RehousingApplying
		}
		c.move(to, by, now, req.Reason)
		if req.Decision == "refused" {
			return []event{rehousingEvent(c, events.RehousingOfferRefused{Rehousing: rehousingFacts(c), OfferID: o.ID, RespondedOn: req.RespondedOn})}, nil
		}
		return []event{rehousingEvent(c, events.RehousingOfferAccepted{Rehousing: rehousingFacts(c), OfferID: o.ID, RespondedOn: req.RespondedOn})}, nil
	}
}

func (s *Service) moveIn(r *http.Request) (rehousingStep, *httpapi.Problem) {
	var req MoveInRequest
	if p := decode(r, &req); p != nil {
		return nil, p
	}
	return s.moveInStep(req, staffOf(r)), nil
}

// moveInStep records the move into the home of the accepted offer.
func (s *Service) moveInStep(req MoveInRequest, by Staff) rehousingStep {
	return func(c *RehousingCase, now time.Time) ([]event, *httpapi.Problem) {
		today := londonDay(now)
		if c.Status != RehousingAccepted {
			return nil, httpapi.Conflict("illegal-transition", "No offer has been accepted", "a case moves in only after an offer is accepted; it is "+string(c.Status))
		}
		late, prob := app.CheckEntryDay("on", req.On, today, s.policy.Rules)
		if prob != nil {
			return nil, prob
		}
		if req.On.Before(c.ReferralReceivedOn) {
			return nil, httpapi.Invalid("a move-in comes after the referral", httpapi.FieldError{Field: "on", Message: "must not be before " + c.ReferralReceivedOn.String()})
		}
		days := c.ReferralReceivedOn.DaysUntil(req.On)
		saved := max(0, c.WaitingListBaselineDays-days)
		c.MoveInOn, c.DaysToRehoused, c.DaysSavedAgainstBaseline = &req.On, &days, &saved
		if late {
			c.LateEntries = append(c.LateEntries, app.LateEntry{What: "move-in", On: req.On, RecordedAt: now, By: by})
		}
		c.move(RehousingRehoused, by, now, "")
		return []event{rehousingEvent(c, events.RehousingRehoused{Rehousing: rehousingFacts(c), MoveInOn: req.On, DaysToRehoused: days, DaysSavedAgainstBaseline: saved})}, nil
	}
}

func (s *Service) withdraw(r *http.Request) (rehousingStep, *httpapi.Problem) {
	var req WithdrawRequest
	if p := decode(r, &req); p != nil {
		return nil, p
	}
	return withdrawStep(req, staffOf(r)), nil
}

// withdrawStep closes the case without a move.
func withdrawStep(req WithdrawRequest, by Staff) rehousingStep {
	return func(c *RehousingCase, now time.Time) ([]event, *httpapi.Problem) {
		c.WithdrawnReason = req.Reason
		c.move(RehousingWithdrawn, by, now, req.Reason)
		return []event{rehousingEvent(c, events.RehousingWithdrawn{Rehousing: rehousingFacts(c)})}, nil
	}
}

package housing

import (
	"cmp"
	"context"
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
	"github.com/homeward-dev/homeward/services/kit/importer"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// RehousingLayout is the published layout of a rehousing-cases file: one case a row, its bids and
// offers as lists in a cell, replayed through the live API's steps at their own dates.
var RehousingLayout = importer.Layout{Name: "rehousing-cases", Columns: []importer.Column{
	{Name: importer.KeyColumn}, {Name: "referral", Required: true}, {Name: "openedOn", Required: true},
	{Name: "bids"}, {Name: "offers"}, {Name: "moveInOn"}, {Name: "withdrawnOn"}, {Name: "withdrawnReason"},
}}

// importedCase is a rehousing-cases row made into a case with its events.
type importedCase struct {
	key    string
	c      *RehousingCase
	events []event
}

// caseEntry is one thing that happened in a case, to be replayed in date order.
type caseEntry struct {
	on     calendar.Date
	order  int // within a day: bids, then each offer before its answer, then the close
	column string
	label  string
	step   rehousingStep
}

// entryDate is a date in a list entry, not in the future.
func entryDate(cell *importer.Cells, column, label, v string, today calendar.Date) (calendar.Date, bool) {
	d, err := calendar.ParseDate(v)
	switch {
	case err != nil:
		cell.Fail(column, label+": "+fmt.Sprintf("%q must be a date, YYYY-MM-DD", v))
	case today.Before(d):
		cell.Fail(column, label+": "+d.String()+" is in the future")
	default:
		return d, true
	}
	return calendar.Date{}, false
}

func fieldProblems(cell *importer.Cells, column, label string, errs []httpapi.FieldError) {
	for _, e := range errs {
		cell.Fail(column, label+": "+e.Field+" "+e.Message)
	}
}

// rehousingImport is a rehousing-cases import for one file: a referral has at most one open case,
// in the file and in Homeward.
func (s *Service) rehousingImport() app.Import[importedCase] {
	openIn := map[string]int{} // referral → the row of its open case in this file
	referrals := namedReferrals{}
	return app.Import[importedCase]{
		Layout: RehousingLayout,
		Row: func(ctx context.Context, rd *importer.Reader, row importer.Row) (importedCase, bool, error) {
			today := s.today()
			cell := rd.Cells(row, today)
			ref := namedReferral(cell, referrals)
			opened := cell.Past("openedOn")
			moveIn, withdrawn := cell.Past("moveInOn"), cell.Past("withdrawnOn")
			by := principalStaff(ctx)
			var entries []caseEntry
			for i, b := range cell.Entries("bids", 2, 3) {
				label := fmt.Sprintf("bid %d", i+1)
				if on, ok := entryDate(cell, "bids", label, b[0], today); ok {
					req := BidRequest{SubmittedOn: on, Landlord: b[1], Reference: b[2]}
					fieldProblems(cell, "bids", label, req.Validate())
					entries = append(entries, caseEntry{on: on, order: 0, column: "bids", label: label, step: bidStep(req)})
				}
			}
			for i, o := range cell.Entries("offers", 3, 6) {
				label := fmt.Sprintf("offer %d", i+1)
				on, ok := entryDate(cell, "offers", label, o[0], today)
				if !ok {
					continue
				}
				req := OfferRequest{Landlord: o[1], Property: o[2], OfferedOn: on}
				fieldProblems(cell, "offers", label, req.Validate())
				entries = append(entries, caseEntry{on: on, order: 1 + 2*i, column: "offers", label: label, step: offerStep(req, by)})
				if o[3] == "" && o[4] == "" {
					continue // awaiting the person's answer
				}
				answer := OfferResponseRequest{Decision: o[3], Reason: o[5]}
				if answered, ok := entryDate(cell, "offers", label+" answer", o[4], today); ok {
					answer.RespondedOn = answered
					fieldProblems(cell, "offers", label+" answer", answer.Validate())
					entries = append(entries, caseEntry{on: answered, order: 2 + 2*i, column: "offers", label: label + " answer",
						step: func(c *RehousingCase, now time.Time) ([]event, *httpapi.Problem) {
							pending := c.pendingOffer()
							if pending == nil {
								return nil, httpapi.Conflict("offer-answered", "No offer awaits an answer", "no offer awaits an answer")
							}
							return answerStep(pending.ID, answer, by)(c, now)
						}})
				}
			}
			switch {
			case moveIn != nil && withdrawn != nil:
				cell.Fail("withdrawnOn", "a case that moved in was not withdrawn: give one of moveInOn and withdrawnOn")
			case moveIn != nil:
				entries = append(entries, caseEntry{on: *moveIn, order: 1 << 20, column: "moveInOn", label: "the move-in", step: s.moveInStep(MoveInRequest{On: *moveIn}, by)})
			case withdrawn != nil:
				req := WithdrawRequest{Reason: row.Get("withdrawnReason")}
				fieldProblems(cell, "withdrawnReason", "the withdrawal", req.Validate())
				entries = append(entries, caseEntry{on: *withdrawn, order: 1 << 20, column: "withdrawnOn", label: "the withdrawal", step: withdrawStep(req, by)})
			case row.Get("withdrawnReason") != "":
				cell.Fail("withdrawnOn", "is needed with a withdrawnReason")
			}
			if cell.Bad || opened == nil || ref == nil {
				return importedCase{}, true, nil
			}
			if received := londonDay(ref.ReceivedAt); opened.Before(received) {
				cell.Fail("openedOn", "must not be before the referral was received, "+received.String())
			}
			c := s.newCase(ref, by, opened.In(calendar.London(), 0, 0, 0, 0))
			c.CreatedAt, c.UpdatedAt = s.now(), s.now()
			ev := rehousingEvent(c, events.RehousingOpened{Rehousing: rehousingFacts(c)})
			ev.At = c.History[0].At
			evs := []event{ev}
			slices.SortStableFunc(entries, func(a, b caseEntry) int {
				return cmp.Or(a.on.Compare(b.on), cmp.Compare(a.order, b.order))
			})
			for _, e := range entries {
				if e.on.Before(*opened) {
					cell.Fail(e.column, e.label+" is before the case was opened")
					break
				}
				if !c.Status.open() {
					cell.Fail(e.column, e.label+" comes after the case was "+string(c.Status))
					break
				}
				at := e.on.In(calendar.London(), 0, 0, 0, 0)
				more, prob := e.step(c, at)
				if prob != nil {
					msg := prob.Detail
					if len(prob.Errors) > 0 {
						msg = prob.Errors[0].Field + " " + prob.Errors[0].Message
					}
					cell.Fail(e.column, e.label+": "+msg)
					break
				}
				for i := range more {
					more[i].At = at
				}
				evs = append(evs, more...)
			}
			if c.Status.open() {
				if first, ok := openIn[ref.ID]; ok && first != row.Number {
					cell.Fail("referral", fmt.Sprintf("has an open case in row %d too: a referral has one open case at a time", first))
				} else if other, err := s.repo.openCase(ctx, ref.ID); err != nil {
					return importedCase{}, false, err
				} else if other != "" {
					cell.Fail("referral", "already has open rehousing case "+other)
				}
				openIn[ref.ID] = row.Number
			}
			if cell.Bad {
				return importedCase{}, true, nil
			}
			return importedCase{key: row.Key(), c: c, events: evs}, false, nil
		},
		Done:     s.importedBefore(keyspace.ImportedRehousing),
		Prefetch: s.prefetchReferrals(referrals),
		Write: func(r *http.Request, file *app.ImportFile, row int, ic importedCase) (bool, error) {
			wr, err := s.repo.rehousingWrite(nil, ic.c, 0, s.app.AuditEntry(r, audit.ActionCreate, file.Provenance(row)))
			if err != nil {
				return false, err
			}
			extra := []store.Op{store.Claim(s.repo.keys.Imported(keyspace.ImportedRehousing, ic.key), ic.c.ID, 0)}
			if ic.c.Status.open() {
				extra = append(extra, store.Claim(s.repo.keys.RehousingOpen(ic.c.ReferralID), ic.c.ID, 0))
			}
			_, err = s.repo.commit(r.Context(), change{writes: []write{wr}, events: ic.events, extra: extra})
			var taken *store.ClaimTakenError
			if errors.As(err, &taken) && taken.Key != s.repo.keys.Imported(keyspace.ImportedRehousing, ic.key) {
				return false, fmt.Errorf("the referral had rehousing case %s opened since the check: %w", taken.Value, app.ErrChangedSinceCheck)
			}
			return claimedOrErr(err)
		},
	}
}

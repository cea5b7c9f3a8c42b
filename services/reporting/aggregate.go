package reporting

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/homeward-dev/homeward/services/kit/calendar"
)

// Event is one entry of the tenant's domain-event stream.
type Event struct {
	ID       string
	Type     string
	Subject  string
	Referral string
	At       time.Time
	Data     json.RawMessage
}

// op is one change to the aggregates. Day fields add up; the live hash holds what is under way
// (stays, void and closed spells, units) so a report can count nights not yet closed off.
type op struct {
	kind  opKind
	day   calendar.Date // the day hash, for incr
	field string
	n     int64
	value string // for set
}

type opKind byte

const (
	opIncr opKind = 'i' // add n to field of the day's hash
	opSet  opKind = 's' // set field of the live hash
	opDel  opKind = 'd' // delete field of the live hash
)

// maxSpanNights bounds the nights one event may spread over (a stay or a void spell), so a
// malformed event cannot make ingest write without end.
const maxSpanNights = 3660

// Field names of the day hashes; docs/reporting.md defines each.
const (
	fReceived       = "rcv"
	fDue            = "due"
	fDueMet         = "due:met"
	fDischarged     = "dis"
	fDischargeReady = "dis:ready"
	fDelayedDays    = "delay"
	fReadmitted30   = "readm30"
	fFollowUp91     = "fu91"
	fFollowUp91Home = "fu91:home"
	fRehoused       = "reh"
	fRehousedDays   = "reh:days"
	fRehousedHosp   = "reh:hosp"
	fBedDaysSaved   = "reh:hosp:saved"
	fCareNightsHB   = "cc:hb"
	fCareNightsNoHB = "cc:nohb"
)

// liveStay, liveSpell and liveUnit are the live hash's values.
type liveStay struct {
	Scheme           string        `json:"s"`
	ArrivedOn        calendar.Date `json:"a"`
	PlannedDeparture calendar.Date `json:"p"`
}

type liveSpell struct {
	Scheme string        `json:"s"`
	From   calendar.Date `json:"f"`
}

type liveUnit struct {
	Scheme    string        `json:"s"`
	CreatedOn calendar.Date `json:"c"`
}

// eventData is every field the aggregates read from an event's data; each event type fills some.
type eventData struct {
	// referral.received
	Source        string    `json:"source"`
	Tenure        string    `json:"tenure"`
	Priority      string    `json:"priority"`
	Needs         []string  `json:"needs"`
	ReceivedAt    time.Time `json:"receivedAt"`
	ResponseDueAt time.Time `json:"responseDueAt"`
	// referral.first-contact
	Met   bool      `json:"met"`
	DueAt time.Time `json:"dueAt"`
	// referral.discharged, .readmitted
	Date               *calendar.Date `json:"date"`
	Destination        string         `json:"destination"`
	DelayedDays        int64          `json:"delayedDays"`
	DischargeReadyDate *calendar.Date `json:"dischargeReadyDate"`
	DelayReason        string         `json:"delayReason"`
	DischargeDate      *calendar.Date `json:"dischargeDate"`
	Within30Days       bool           `json:"within30Days"`
	// referral.follow-up-recorded
	Days                int            `json:"days"`
	DueDate             *calendar.Date `json:"dueDate"`
	Result              string         `json:"result"`
	Wellbeing           *int64         `json:"wellbeing"`
	WellbeingAtReferral *int64         `json:"wellbeingAtReferral"`
	// rehousing.rehoused
	ReferralSource           string         `json:"referralSource"`
	MoveInOn                 *calendar.Date `json:"moveInOn"`
	DaysToRehoused           int64          `json:"daysToRehoused"`
	DaysSavedAgainstBaseline int64          `json:"daysSavedAgainstBaseline"`
	// unit.* and placement.*
	UnitID                string         `json:"unitId"`
	PlacementID           string         `json:"placementId"`
	Scheme                string         `json:"scheme"`
	CreatedOn             *calendar.Date `json:"createdOn"`
	From                  string         `json:"from"`
	To                    string         `json:"to"`
	On                    *calendar.Date `json:"on"`
	VoidNights            int            `json:"voidNights"`
	ClosedNights          int            `json:"closedNights"`
	ArrivedOn             *calendar.Date `json:"arrivedOn"`
	DepartedOn            *calendar.Date `json:"departedOn"`
	PlannedDeparture      *calendar.Date `json:"plannedDeparture"`
	Nights                int64          `json:"nights"`
	HousingBenefitClaimed bool           `json:"housingBenefitClaimed"`
	TurnaroundDays        *int64         `json:"turnaroundDays"`
	OverStayNights        int64          `json:"overStayNights"`
}

// londonDay is the England calendar day of an instant.
func londonDay(t time.Time) calendar.Date { return calendar.DateOf(t.In(calendar.London())) }

// translate turns an event into aggregate changes. Events of types reporting does not count give
// none; an event it counts but cannot read is an error (and is skipped, logged, and counted).
func translate(e Event) ([]op, error) {
	var d eventData
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return nil, fmt.Errorf("event %s (%s): %w", e.ID, e.Type, err)
		}
	}
	var ops []op
	incr := func(day calendar.Date, field string, n int64) {
		ops = append(ops, op{kind: opIncr, day: day, field: field, n: n})
	}
	set := func(field string, v any) {
		b, _ := json.Marshal(v) // plain structs always encode
		ops = append(ops, op{kind: opSet, field: field, value: string(b)})
	}
	del := func(field string) { ops = append(ops, op{kind: opDel, field: field}) }
	// nights adds one to field on every night of [from, to).
	nights := func(from, to calendar.Date, field string) {
		for i, n := 0, min(from.DaysUntil(to), maxSpanNights); i < n; i++ {
			incr(from.AddDays(i), field, 1)
		}
	}
	missing := func(what string) ([]op, error) {
		return nil, fmt.Errorf("event %s (%s) has no %s", e.ID, e.Type, what)
	}
	switch e.Type {
	case "referral.received":
		if d.ReceivedAt.IsZero() || d.ResponseDueAt.IsZero() {
			return missing("receivedAt or responseDueAt")
		}
		day := londonDay(d.ReceivedAt)
		incr(day, fReceived, 1)
		incr(day, "rcv:src:"+d.Source, 1)
		incr(day, "rcv:ten:"+d.Tenure, 1)
		incr(day, "rcv:pri:"+d.Priority, 1)
		for _, n := range d.Needs {
			incr(day, "rcv:need:"+n, 1)
		}
		incr(londonDay(d.ResponseDueAt), fDue, 1)
	case "referral.first-contact":
		if d.DueAt.IsZero() {
			return missing("dueAt")
		}
		if d.Met {
			incr(londonDay(d.DueAt), fDueMet, 1)
		}
	case "referral.discharged":
		if d.Date == nil {
			return missing("date")
		}
		incr(*d.Date, fDischarged, 1)
		incr(*d.Date, "dis:dest:"+d.Destination, 1)
		if d.DischargeReadyDate != nil {
			incr(*d.Date, fDischargeReady, 1)
			incr(*d.Date, fDelayedDays, d.DelayedDays)
			if d.DelayReason != "" {
				incr(*d.Date, "delay:reason:"+d.DelayReason, d.DelayedDays)
			}
		}
	case "referral.readmitted":
		if d.DischargeDate == nil {
			return missing("dischargeDate")
		}
		if d.Within30Days {
			incr(*d.DischargeDate, fReadmitted30, 1)
		}
	case "referral.follow-up-recorded":
		if d.DueDate == nil {
			return missing("dueDate")
		}
		if d.Days == 91 && d.Result != "not-contactable" {
			incr(*d.DueDate, fFollowUp91, 1)
			if d.Result == "at-home" || d.Result == "moved" {
				incr(*d.DueDate, fFollowUp91Home, 1)
			}
		}
		if d.Wellbeing != nil && d.WellbeingAtReferral != nil {
			days := strconv.Itoa(d.Days)
			incr(*d.DueDate, "wb:"+days+":n", 1)
			incr(*d.DueDate, "wb:"+days+":sum", *d.Wellbeing-*d.WellbeingAtReferral)
		}
	case "rehousing.rehoused":
		if d.MoveInOn == nil {
			return missing("moveInOn")
		}
		day := *d.MoveInOn
		incr(day, fRehoused, 1)
		incr(day, fRehousedDays, d.DaysToRehoused)
		incr(day, "reh:d:"+strconv.FormatInt(d.DaysToRehoused, 10), 1)
		if d.ReferralSource == "ward" {
			incr(day, fRehousedHosp, 1)
			incr(day, fBedDaysSaved, d.DaysSavedAgainstBaseline)
		}
	case "unit.created", "unit.changed":
		if d.CreatedOn == nil || d.UnitID == "" {
			return missing("unitId or createdOn")
		}
		set("unit:"+d.UnitID, liveUnit{Scheme: d.Scheme, CreatedOn: *d.CreatedOn})
	case "unit.status-changed":
		if d.On == nil || d.UnitID == "" {
			return missing("unitId or on")
		}
		switch d.From {
		case "void":
			nights(d.On.AddDays(-d.VoidNights), *d.On, "void:"+d.Scheme)
			del("void:" + d.UnitID)
		case "closed":
			nights(d.On.AddDays(-d.ClosedNights), *d.On, "closed:"+d.Scheme)
			del("closed:" + d.UnitID)
		}
		if d.To == "void" || d.To == "closed" {
			set(d.To+":"+d.UnitID, liveSpell{Scheme: d.Scheme, From: *d.On})
		}
	case "placement.arrived", "placement.extended":
		if d.ArrivedOn == nil || d.PlannedDeparture == nil {
			return missing("arrivedOn or plannedDeparture")
		}
		set("stay:"+d.PlacementID, liveStay{Scheme: d.Scheme, ArrivedOn: *d.ArrivedOn, PlannedDeparture: *d.PlannedDeparture})
		if e.Type == "placement.arrived" && d.TurnaroundDays != nil {
			incr(*d.ArrivedOn, "ta:"+d.Scheme+":n", 1)
			incr(*d.ArrivedOn, "ta:"+d.Scheme+":days", *d.TurnaroundDays)
		}
	case "placement.departed":
		if d.ArrivedOn == nil || d.DepartedOn == nil {
			return missing("arrivedOn or departedOn")
		}
		nights(*d.ArrivedOn, *d.DepartedOn, "occ:"+d.Scheme)
		day := *d.DepartedOn
		incr(day, "st:"+d.Scheme+":n", 1)
		incr(day, "st:"+d.Scheme+":nights", d.Nights)
		if d.OverStayNights > 0 {
			incr(day, "os:"+d.Scheme, 1)
		}
		if d.Destination != "residential-care" && d.Destination != "hospital" {
			if d.HousingBenefitClaimed {
				incr(day, fCareNightsHB, d.Nights)
			} else {
				incr(day, fCareNightsNoHB, d.Nights)
			}
		}
		incr(day, "dep:dest:"+d.Destination, 1)
		del("stay:" + d.PlacementID)
		// The departure voids the unit until it is made ready.
		set("void:"+d.UnitID, liveSpell{Scheme: d.Scheme, From: day})
	}
	return ops, nil
}

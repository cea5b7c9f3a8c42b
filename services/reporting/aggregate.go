package reporting

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
)

// Event is one entry of the tenant's domain-event stream.
type Event = events.Entry

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

// Field names of the day hashes; docs/reporting.md ("Fields of the day hashes") defines each.
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

// londonDay is the England calendar day of an instant.
func londonDay(t time.Time) calendar.Date { return calendar.DateOf(t.In(calendar.London())) }

// counted are the event types that change the aggregates; every other type the services write is
// read and ignored.
var counted = map[events.Type]func(Event) ([]op, error){
	events.TypeReferralReceived:         translateReceived,
	events.TypeReferralFirstContact:     translateFirstContact,
	events.TypeReferralDischarged:       translateDischarged,
	events.TypeReferralReadmitted:       translateReadmitted,
	events.TypeReferralFollowUpRecorded: translateFollowUp,
	events.TypeRehousingRehoused:        translateRehoused,
	events.TypeUnitCreated:              translateUnitCreated,
	events.TypeUnitChanged:              translateUnitChanged,
	events.TypeUnitStatusChanged:        translateUnitStatus,
	events.TypeUnitVoidRecorded:         translateVoidRecorded,
	events.TypePlacementArrived:         translateArrived,
	events.TypePlacementExtended:        translateExtended,
	events.TypePlacementDeparted:        translateDeparted,
}

// known are the event types the services write.
var known = func() map[events.Type]bool {
	m := map[events.Type]bool{}
	for _, p := range events.All() {
		m[p.EventType()] = true
	}
	return m
}()

// translate turns an event into aggregate changes. Events of types reporting does not count give
// none; an event of a version or type this build does not know, or one it counts but cannot read,
// is an error (the caller skips, logs and counts it).
func translate(e Event) ([]op, error) {
	if e.Version != events.Version {
		return nil, fmt.Errorf("event %s (%s) is version %s; this build reads version %s", e.ID, e.Type, e.Version, events.Version)
	}
	if f, ok := counted[e.Type]; ok {
		return f(e)
	}
	if !known[e.Type] {
		return nil, fmt.Errorf("event %s has a type this build does not know: %q", e.ID, e.Type)
	}
	return nil, nil
}

// ops collects one event's aggregate changes.
type ops []op

// incr adds n to field of the day's hash.
func (o *ops) incr(day calendar.Date, field string, n int64) {
	*o = append(*o, op{kind: opIncr, day: day, field: field, n: n})
}

// set sets field of the live hash to v's JSON.
func (o *ops) set(field string, v any) {
	b, _ := json.Marshal(v) // plain structs always encode
	*o = append(*o, op{kind: opSet, field: field, value: string(b)})
}

// del deletes field of the live hash.
func (o *ops) del(field string) { *o = append(*o, op{kind: opDel, field: field}) }

// nights adds one to field on every night of [from, to).
func (o *ops) nights(from, to calendar.Date, field string) {
	for i, n := 0, min(from.DaysUntil(to), maxSpanNights); i < n; i++ {
		o.incr(from.AddDays(i), field, 1)
	}
}

// missing is the error of an event that lacks what its type must carry.
func missing(e Event, what string) error {
	return fmt.Errorf("event %s (%s) has no %s", e.ID, e.Type, what)
}

func translateReceived(e Event) ([]op, error) {
	var d events.ReferralReceived
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	if d.ReceivedAt.IsZero() || d.ResponseDueAt.IsZero() {
		return nil, missing(e, "receivedAt or responseDueAt")
	}
	var o ops
	day := londonDay(d.ReceivedAt)
	o.incr(day, fReceived, 1)
	o.incr(day, "rcv:src:"+d.Source, 1)
	o.incr(day, "rcv:ten:"+d.Tenure, 1)
	o.incr(day, "rcv:pri:"+d.Priority, 1)
	for _, n := range d.Needs {
		o.incr(day, "rcv:need:"+n, 1)
	}
	o.incr(londonDay(d.ResponseDueAt), fDue, 1)
	return o, nil
}

func translateFirstContact(e Event) ([]op, error) {
	var d events.ReferralFirstContact
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	if d.DueAt.IsZero() {
		return nil, missing(e, "dueAt")
	}
	var o ops
	if d.Met {
		o.incr(londonDay(d.DueAt), fDueMet, 1)
	}
	return o, nil
}

func translateDischarged(e Event) ([]op, error) {
	var d events.ReferralDischarged
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	if d.Date.IsZero() {
		return nil, missing(e, "date")
	}
	var o ops
	o.incr(d.Date, fDischarged, 1)
	o.incr(d.Date, "dis:dest:"+d.Destination, 1)
	if d.DischargeReadyDate != nil {
		delayed := int64(0)
		if d.DelayedDays != nil {
			delayed = int64(*d.DelayedDays)
		}
		o.incr(d.Date, fDischargeReady, 1)
		o.incr(d.Date, fDelayedDays, delayed)
		if d.DelayReason != "" {
			o.incr(d.Date, "delay:reason:"+d.DelayReason, delayed)
		}
	}
	return o, nil
}

func translateReadmitted(e Event) ([]op, error) {
	var d events.ReferralReadmitted
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	if d.DischargeDate == nil || d.DischargeDate.IsZero() {
		return nil, missing(e, "dischargeDate")
	}
	var o ops
	if d.Within30Days {
		o.incr(*d.DischargeDate, fReadmitted30, 1)
	}
	return o, nil
}

func translateFollowUp(e Event) ([]op, error) {
	var d events.ReferralFollowUpRecorded
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	if d.DueDate.IsZero() {
		return nil, missing(e, "dueDate")
	}
	var o ops
	if d.Days == 91 && d.Result != "not-contactable" {
		o.incr(d.DueDate, fFollowUp91, 1)
		if d.Result == "at-home" || d.Result == "moved" {
			o.incr(d.DueDate, fFollowUp91Home, 1)
		}
	}
	if d.Wellbeing != nil && d.WellbeingAtReferral != nil {
		days := strconv.Itoa(d.Days)
		o.incr(d.DueDate, "wb:"+days+":n", 1)
		o.incr(d.DueDate, "wb:"+days+":sum", int64(*d.Wellbeing-*d.WellbeingAtReferral))
	}
	return o, nil
}

func translateRehoused(e Event) ([]op, error) {
	var d events.RehousingRehoused
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	if d.MoveInOn.IsZero() {
		return nil, missing(e, "moveInOn")
	}
	var o ops
	day := d.MoveInOn
	o.incr(day, fRehoused, 1)
	o.incr(day, fRehousedDays, int64(d.DaysToRehoused))
	o.incr(day, "reh:d:"+strconv.Itoa(d.DaysToRehoused), 1)
	if d.ReferralSource == "ward" {
		o.incr(day, fRehousedHosp, 1)
		o.incr(day, fBedDaysSaved, int64(d.DaysSavedAgainstBaseline))
	}
	return o, nil
}

// liveUnitOps records a unit in the live hash, so reports count its nights.
func liveUnitOps(e Event, u events.Unit) ([]op, error) {
	if u.CreatedOn.IsZero() || u.UnitID == "" {
		return nil, missing(e, "unitId or createdOn")
	}
	var o ops
	o.set("unit:"+u.UnitID, liveUnit{Scheme: u.Scheme, CreatedOn: u.CreatedOn})
	return o, nil
}

func translateUnitCreated(e Event) ([]op, error) {
	var d events.UnitCreated
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	return liveUnitOps(e, d.Unit)
}

func translateUnitChanged(e Event) ([]op, error) {
	var d events.UnitChanged
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	return liveUnitOps(e, d.Unit)
}

func translateUnitStatus(e Event) ([]op, error) {
	var d events.UnitStatusChanged
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	if d.On.IsZero() || d.UnitID == "" {
		return nil, missing(e, "unitId or on")
	}
	nightsOf := func(n *int) int {
		if n == nil {
			return 0
		}
		return *n
	}
	var o ops
	switch d.From {
	case "void":
		o.nights(d.On.AddDays(-nightsOf(d.VoidNights)), d.On, "void:"+d.Scheme)
		o.del("void:" + d.UnitID)
	case "closed":
		o.nights(d.On.AddDays(-nightsOf(d.ClosedNights)), d.On, "closed:"+d.Scheme)
		o.del("closed:" + d.UnitID)
	}
	if d.To == "void" || d.To == "closed" {
		o.set(d.To+":"+d.UnitID, liveSpell{Scheme: d.Scheme, From: d.On})
	}
	return o, nil
}

// liveStayOps records a stay under way in the live hash.
func liveStayOps(e Event, p events.Placement) (ops, error) {
	if p.ArrivedOn == nil || p.PlannedDeparture.IsZero() {
		return nil, missing(e, "arrivedOn or plannedDeparture")
	}
	var o ops
	o.set("stay:"+p.PlacementID, liveStay{Scheme: p.Scheme, ArrivedOn: *p.ArrivedOn, PlannedDeparture: p.PlannedDeparture})
	return o, nil
}

func translateArrived(e Event) ([]op, error) {
	var d events.PlacementArrived
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	o, err := liveStayOps(e, d.Placement)
	if err != nil {
		return nil, err
	}
	if d.TurnaroundDays != nil {
		o.incr(*d.ArrivedOn, "ta:"+d.Scheme+":n", 1)
		o.incr(*d.ArrivedOn, "ta:"+d.Scheme+":days", int64(*d.TurnaroundDays))
	}
	return o, nil
}

func translateExtended(e Event) ([]op, error) {
	var d events.PlacementExtended
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	return liveStayOps(e, d.Placement)
}

func translateDeparted(e Event) ([]op, error) {
	var d events.PlacementDeparted
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	if d.ArrivedOn == nil || d.DepartedOn.IsZero() {
		return nil, missing(e, "arrivedOn or departedOn")
	}
	var o ops
	o.nights(*d.ArrivedOn, d.DepartedOn, "occ:"+d.Scheme)
	day := d.DepartedOn
	o.incr(day, "st:"+d.Scheme+":n", 1)
	o.incr(day, "st:"+d.Scheme+":nights", int64(d.Nights))
	if d.OverStayNights > 0 {
		o.incr(day, "os:"+d.Scheme, 1)
	}
	if d.Destination != "residential-care" && d.Destination != "hospital" {
		if d.HousingBenefitClaimed {
			o.incr(day, fCareNightsHB, int64(d.Nights))
		} else {
			o.incr(day, fCareNightsNoHB, int64(d.Nights))
		}
	}
	o.incr(day, "dep:dest:"+d.Destination, 1)
	o.del("stay:" + d.PlacementID)
	// The departure voids the unit until it is made ready; an imported past stay leaves it as it is.
	if !d.UnitLeftAsIs {
		o.set("void:"+d.UnitID, liveSpell{Scheme: d.Scheme, From: day})
	}
	return o, nil
}

func translateVoidRecorded(e Event) ([]op, error) {
	var d events.UnitVoidRecorded
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	if d.From.IsZero() || !d.From.Before(d.To) {
		return nil, missing(e, "from before to")
	}
	var o ops
	o.nights(d.From, d.To, "void:"+d.Scheme)
	return o, nil
}

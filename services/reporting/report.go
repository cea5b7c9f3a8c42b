package reporting

import (
	"encoding/json"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/money"
)

// Enumerations every report lists in full, zeros included, so reports of different periods line up.
var (
	sources      = []string{"ward", "community", "care-home", "gp", "self"}
	tenures      = []string{"social-rented", "owner-occupier", "private-rented", "homeless", "other"}
	priorities   = []string{"emergency", "urgent", "routine"}
	needs        = []string{"repairs", "adaptations", "clearance", "rehousing", "homelessness", "benefits-debt", "mental-health", "substance-use", "no-recourse-to-public-funds", "other"}
	destinations = []string{"own-home", "rehoused", "step-down", "extra-care", "residential-care", "other"}
	stepDownEnds = []string{"own-home", "rehoused", "extra-care", "sheltered", "residential-care", "hospital", "other"}
)

// Count is a number of people or cases. Under disclosure control a count from 1 to 4 is shown
// as "<5".
type Count struct {
	N          int64
	suppressed bool
}

// MarshalJSON writes the number, or "<5".
func (c Count) MarshalJSON() ([]byte, error) {
	if c.suppressed {
		return []byte(`"<5"`), nil
	}
	return strconv.AppendInt(nil, c.N, 10), nil
}

// Ratio is a percentage or a mean, to one decimal place; null when there is nothing to divide
// by, and "withheld" under disclosure control when a count it comes from is from 1 to 4.
type Ratio struct {
	v        *float64
	withheld bool
}

// MarshalJSON writes the number, null, or "withheld".
func (r Ratio) MarshalJSON() ([]byte, error) {
	switch {
	case r.withheld:
		return []byte(`"withheld"`), nil
	case r.v == nil:
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, *r.v, 'f', 1, 64), nil
}

// Value is the ratio, if there is one to show.
func (r Ratio) Value() (float64, bool) {
	if r.v == nil || r.withheld {
		return 0, false
	}
	return *r.v, true
}

// Money is an amount rounded once to whole pence, written as a decimal string.
type Money struct{ p money.Pence }

// MarshalJSON writes "2664.00".
func (m Money) MarshalJSON() ([]byte, error) { return json.Marshal(m.p.String()) }

// Share is a count and its percentage of a whole.
type Share struct {
	Count   Count `json:"count"`
	Percent Ratio `json:"percent"`
}

// Report is every figure of a partnership for the days [From, To). docs/reporting.md defines each.
type Report struct {
	Partnership       string          `json:"partnership"`
	From              calendar.Date   `json:"from"`
	To                calendar.Date   `json:"to"`
	CountedTo         calendar.Date   `json:"countedTo"`
	Days              int             `json:"days"`
	DisclosureControl bool            `json:"disclosureControl"`
	Currency          string          `json:"currency"`
	Referrals         Referrals       `json:"referrals"`
	ResponseTargets   ResponseTargets `json:"responseTargets"`
	Delays            Delays          `json:"delays"`
	Rehousing         Rehousing       `json:"rehousing"`
	Savings           *Savings        `json:"savings"`
	StepDown          StepDown        `json:"stepDown"`
	Outcomes          Outcomes        `json:"outcomes"`
}

// Referrals are the referrals received.
type Referrals struct {
	Received   Count            `json:"received"`
	BySource   map[string]Share `json:"bySource"`
	ByTenure   map[string]Share `json:"byTenure"`
	ByPriority map[string]Share `json:"byPriority"`
	ByNeed     map[string]Share `json:"byNeed"`
}

// ResponseTargets is compliance with the response deadlines that fell in the period.
type ResponseTargets struct {
	Due        Count `json:"due"`
	Met        Count `json:"met"`
	PercentMet Ratio `json:"percentMet"`
}

// Delays are the delayed days of people discharged in the period.
type Delays struct {
	Discharged         Count            `json:"discharged"`
	WithDischargeReady Count            `json:"withDischargeReadyDate"`
	DelayedDays        int64            `json:"delayedDays"`
	ByReason           map[string]int64 `json:"byReason"`
}

// Rehousing is the permanent moves made in the period.
type Rehousing struct {
	Rehoused          Count `json:"rehoused"`
	MeanDays          Ratio `json:"meanDaysToRehoused"`
	MedianDays        Ratio `json:"medianDaysToRehoused"`
	HospitalRehoused  Count `json:"hospitalRehoused"`
	BedDaysSaved      int64 `json:"bedDaysSaved"`
	WaitingListPolicy int   `json:"waitingListBaselineDays"`
}

// Savings are the money figures; absent when the partnership has no cost model.
type Savings struct {
	NHSCostAvoided  Money      `json:"nhsCostAvoided"`
	CareCostAvoided Money      `json:"careCostAvoided"`
	CareNights      CareNights `json:"careCostNights"`
	Gross           Money      `json:"grossSavings"`
	Split           Split      `json:"split"`
	SchemeCost      Money      `json:"schemeCost"`
	Net             Money      `json:"netSavings"`
	ROI             *ROI       `json:"roi"`
}

// CareNights are the step-down nights that avoided residential care.
type CareNights struct {
	WithHousingBenefit    int64 `json:"withHousingBenefit"`
	WithoutHousingBenefit int64 `json:"withoutHousingBenefit"`
}

// Split shares the gross savings between the partners.
type Split struct {
	NHS             Money `json:"nhs"`
	LocalAuthority  Money `json:"localAuthority"`
	HousingProvider Money `json:"housingProvider"`
}

// ROI is net savings per pound of scheme cost.
type ROI struct {
	PerPound string `json:"perPound"`
	Text     string `json:"text"`
}

// StepDown is how the step-down schemes were used.
type StepDown struct {
	Schemes      []SchemeFigures  `json:"schemes"`
	Total        SchemeFigures    `json:"total"`
	Destinations map[string]Share `json:"destinations"`
}

// SchemeFigures are one scheme's (or all schemes') occupancy for the nights counted.
type SchemeFigures struct {
	Scheme                string `json:"scheme,omitempty"`
	Units                 int    `json:"units"`
	Nights                int64  `json:"nights"`
	ClosedNights          int64  `json:"closedNights"`
	AvailableNights       int64  `json:"availableNights"`
	OccupiedNights        int64  `json:"occupiedNights"`
	VoidNights            int64  `json:"voidNights"`
	OccupancyPercent      Ratio  `json:"occupancyPercent"`
	Stays                 Count  `json:"stays"`
	AverageStayNights     Ratio  `json:"averageStayNights"`
	Turnarounds           Count  `json:"turnarounds"`
	AverageTurnaroundDays Ratio  `json:"averageTurnaroundDays"`
	OverStaysEnded        Count  `json:"overStaysEnded"`
	OverStaysNow          Count  `json:"overStaysNow"`
}

// Outcomes are what became of people.
type Outcomes struct {
	Destinations   map[string]Share     `json:"destinations"`
	FollowUp91     FollowUp             `json:"followUp91"`
	Readmissions30 Readmissions         `json:"readmissions30"`
	Wellbeing      map[string]Wellbeing `json:"wellbeing"`
}

// FollowUp is the 91-day follow-ups recorded.
type FollowUp struct {
	Recorded      Count `json:"recorded"`
	AtHome        Count `json:"atHome"`
	PercentAtHome Ratio `json:"percentAtHome"`
}

// Readmissions is readmission within 30 days of the period's discharges.
type Readmissions struct {
	Discharges Count `json:"discharges"`
	Readmitted Count `json:"readmitted"`
	Percent    Ratio `json:"percent"`
}

// Wellbeing is the change in WEMWBS score at a follow-up.
type Wellbeing struct {
	Recorded   Count `json:"recorded"`
	MeanChange Ratio `json:"meanChange"`
}

// inputs are what a report is computed from: the day counters summed over the period and the
// live stays, spells and units.
type inputs struct {
	sum       map[string]int64
	dueSum    map[string]int64 // deadline counters, only of days already over
	live      map[string]string
	from, to  calendar.Date
	countedTo calendar.Date // nights before this day are counted
	days      int           // days the savings and scheme cost cover
}

// figures works out a report. Under control, counts from 1 to 4 and what derives from them are
// suppressed.
type figures struct{ control bool }

func (f figures) count(n int64) Count { return Count{N: n, suppressed: f.control && n >= 1 && n <= 4} }

func (f figures) small(n int64) bool { return f.control && n >= 1 && n <= 4 }

// ratio is num ÷ den (× scale), to one decimal place, rounded half away from zero; withheld under
// control when any of the counts it comes from is small.
func (f figures) ratio(num, den int64, scale float64, from ...int64) Ratio {
	if den == 0 {
		return Ratio{}
	}
	for _, n := range append(from, den) {
		if f.small(n) {
			return Ratio{withheld: true}
		}
	}
	v := math.Round(float64(num)*scale/float64(den)*10) / 10
	return Ratio{v: &v}
}

func (f figures) shares(sum map[string]int64, prefix string, keys []string, total int64) map[string]Share {
	out := make(map[string]Share, len(keys))
	for _, k := range keys {
		n := sum[prefix+k]
		out[k] = Share{Count: f.count(n), Percent: f.ratio(n, total, 100, n)}
	}
	return out
}

func (f figures) report(in inputs, policy config.Policy) Report {
	s := in.sum
	r := Report{From: in.from, To: in.to, CountedTo: in.countedTo, Days: in.days, DisclosureControl: f.control, Currency: "GBP"}
	received := s[fReceived]
	r.Referrals = Referrals{Received: f.count(received),
		BySource:   f.shares(s, "rcv:src:", sources, received),
		ByTenure:   f.shares(s, "rcv:ten:", tenures, received),
		ByPriority: f.shares(s, "rcv:pri:", priorities, received),
		ByNeed:     f.shares(s, "rcv:need:", needs, received)}
	due, met := in.dueSum[fDue], in.dueSum[fDueMet]
	r.ResponseTargets = ResponseTargets{Due: f.count(due), Met: f.count(met), PercentMet: f.ratio(met, due, 100, met)}
	r.Delays = Delays{Discharged: f.count(s[fDischarged]), WithDischargeReady: f.count(s[fDischargeReady]), DelayedDays: s[fDelayedDays], ByReason: map[string]int64{}}
	for k, v := range s {
		if reason, ok := strings.CutPrefix(k, "delay:reason:"); ok {
			r.Delays.ByReason[reason] = v
		}
	}
	rehoused := s[fRehoused]
	r.Rehousing = Rehousing{Rehoused: f.count(rehoused), MeanDays: f.ratio(s[fRehousedDays], rehoused, 1),
		MedianDays: f.median(s, rehoused), HospitalRehoused: f.count(s[fRehousedHosp]), BedDaysSaved: s[fBedDaysSaved]}
	if c := policy.CostModel; c != nil {
		r.Rehousing.WaitingListPolicy = c.WaitingListBaselineDays
		r.Savings = f.savings(s, c, in.days)
	}
	r.StepDown = f.stepDown(in)
	discharged := s[fDischarged]
	r.Outcomes = Outcomes{Destinations: f.shares(s, "dis:dest:", destinations, discharged),
		FollowUp91:     FollowUp{Recorded: f.count(s[fFollowUp91]), AtHome: f.count(s[fFollowUp91Home]), PercentAtHome: f.ratio(s[fFollowUp91Home], s[fFollowUp91], 100, s[fFollowUp91Home])},
		Readmissions30: Readmissions{Discharges: f.count(discharged), Readmitted: f.count(s[fReadmitted30]), Percent: f.ratio(s[fReadmitted30], discharged, 100, s[fReadmitted30])},
		Wellbeing:      map[string]Wellbeing{}}
	for k, n := range s {
		if days, ok := strings.CutSuffix(strings.TrimPrefix(k, "wb:"), ":n"); ok && strings.HasPrefix(k, "wb:") {
			r.Outcomes.Wellbeing[days] = Wellbeing{Recorded: f.count(n), MeanChange: f.ratio(s["wb:"+days+":sum"], n, 1)}
		}
	}
	return r
}

// median is the median days to rehoused, from the per-day-count histogram fields.
func (f figures) median(s map[string]int64, total int64) Ratio {
	if total == 0 {
		return Ratio{}
	}
	if f.small(total) {
		return Ratio{withheld: true}
	}
	type bucket struct{ days, n int64 }
	var hist []bucket
	for k, n := range s {
		if d, ok := strings.CutPrefix(k, "reh:d:"); ok && n > 0 {
			days, _ := strconv.ParseInt(d, 10, 64)
			hist = append(hist, bucket{days, n})
		}
	}
	slices.SortFunc(hist, func(a, b bucket) int { return int(a.days - b.days) })
	// The k-th smallest of the total, 1-based.
	nth := func(k int64) int64 {
		for _, b := range hist {
			if k <= b.n {
				return b.days
			}
			k -= b.n
		}
		return 0
	}
	var v float64
	if total%2 == 1 {
		v = float64(nth(total/2 + 1))
	} else {
		v = float64(nth(total/2)+nth(total/2+1)) / 2
	}
	v = math.Round(v*10) / 10
	return Ratio{v: &v}
}

func pence(s string) *big.Rat {
	p, _ := money.Parse(s) // the policy was validated at start
	return new(big.Rat).SetInt64(int64(p))
}

func mulInt(r *big.Rat, n int64) *big.Rat { return new(big.Rat).Mul(r, new(big.Rat).SetInt64(n)) }

func (f figures) savings(s map[string]int64, c *config.CostModel, days int) *Savings {
	out := &Savings{CareNights: CareNights{WithHousingBenefit: s[fCareNightsHB], WithoutHousingBenefit: s[fCareNightsNoHB]}}
	nhs := mulInt(pence(c.BedDayCost), s[fBedDaysSaved])
	residential, stepDown := pence(c.ResidentialCareWeekly), pence(c.StepDownWeekly)
	// Nights / 7 × the weekly saving: with housing benefit claimed the whole residential cost is
	// saved; without it the step-down cost is set against it.
	weekly := new(big.Rat).Add(mulInt(residential, s[fCareNightsHB]), mulInt(new(big.Rat).Sub(residential, stepDown), s[fCareNightsNoHB]))
	care := new(big.Rat).Quo(weekly, big.NewRat(7, 1))
	gross := new(big.Rat).Add(nhs, care)
	scheme := new(big.Rat).Quo(mulInt(pence(c.SchemeAnnualCost), int64(days)), big.NewRat(365, 1))
	net := new(big.Rat).Sub(gross, scheme)
	share := func(pct int) Money {
		return Money{money.Round(new(big.Rat).Quo(mulInt(gross, int64(pct)), big.NewRat(100, 1)))}
	}
	out.NHSCostAvoided, out.CareCostAvoided = Money{money.Round(nhs)}, Money{money.Round(care)}
	out.Gross, out.SchemeCost, out.Net = Money{money.Round(gross)}, Money{money.Round(scheme)}, Money{money.Round(net)}
	out.Split = Split{NHS: share(c.SavingsSplit.NHS), LocalAuthority: share(c.SavingsSplit.LocalAuthority), HousingProvider: share(c.SavingsSplit.HousingProvider)}
	if scheme.Sign() > 0 {
		roi := money.RoundRat(new(big.Rat).Quo(net, scheme), 2).FloatString(2)
		out.ROI = &ROI{PerPound: roi, Text: "£" + roi + " per £1"}
		if neg, ok := strings.CutPrefix(roi, "-"); ok {
			// A loss reads "−£0.52 per £1", the minus before the pound sign.
			out.ROI.Text = "−£" + neg + " per £1"
		}
	}
	return out
}

// overlapNights counts the nights of [a, b) inside [from, to).
func overlapNights(a, b, from, to calendar.Date) int64 {
	if a.Before(from) {
		a = from
	}
	if to.Before(b) {
		b = to
	}
	return int64(max(0, a.DaysUntil(b)))
}

func (f figures) stepDown(in inputs) StepDown {
	type acc struct {
		units                                                                         int
		nights, closed, occupied, void, stays, stayNights, ta, taDays, osEnded, osNow int64
	}
	schemes := map[string]*acc{}
	get := func(name string) *acc {
		if schemes[name] == nil {
			schemes[name] = &acc{}
		}
		return schemes[name]
	}
	for k, v := range in.live {
		kind, _, _ := strings.Cut(k, ":")
		switch kind {
		case "unit":
			var u liveUnit
			// A unit added after the period is not one of the period's units.
			if json.Unmarshal([]byte(v), &u) == nil && u.CreatedOn.Before(in.to) {
				a := get(u.Scheme)
				a.units++
				a.nights += overlapNights(u.CreatedOn, in.countedTo, in.from, in.countedTo)
			}
		case "stay":
			var st liveStay
			if json.Unmarshal([]byte(v), &st) == nil {
				a := get(st.Scheme)
				a.occupied += overlapNights(st.ArrivedOn, in.countedTo, in.from, in.countedTo)
				if st.PlannedDeparture.Before(in.countedTo) {
					a.osNow++
				}
			}
		case "void", "closed":
			var sp liveSpell
			if json.Unmarshal([]byte(v), &sp) == nil {
				n := overlapNights(sp.From, in.countedTo, in.from, in.countedTo)
				if kind == "void" {
					get(sp.Scheme).void += n
				} else {
					get(sp.Scheme).closed += n
				}
			}
		}
	}
	for k, v := range in.sum {
		kind, rest, _ := strings.Cut(k, ":")
		switch kind {
		case "occ":
			get(rest).occupied += v
		case "void":
			get(rest).void += v
		case "closed":
			get(rest).closed += v
		case "os":
			get(rest).osEnded += v
		case "st", "ta":
			i := strings.LastIndexByte(rest, ':')
			if i < 0 {
				continue
			}
			a := get(rest[:i])
			switch kind + rest[i:] {
			case "st:n":
				a.stays += v
			case "st:nights":
				a.stayNights += v
			case "ta:n":
				a.ta += v
			case "ta:days":
				a.taDays += v
			}
		}
	}
	figuresOf := func(name string, a *acc) SchemeFigures {
		available := a.nights - a.closed
		return SchemeFigures{Scheme: name, Units: a.units, Nights: a.nights, ClosedNights: a.closed, AvailableNights: available,
			OccupiedNights: a.occupied, VoidNights: a.void, OccupancyPercent: f.ratio(a.occupied, available, 100),
			Stays: f.count(a.stays), AverageStayNights: f.ratio(a.stayNights, a.stays, 1),
			Turnarounds: f.count(a.ta), AverageTurnaroundDays: f.ratio(a.taDays, a.ta, 1),
			OverStaysEnded: f.count(a.osEnded), OverStaysNow: f.count(a.osNow)}
	}
	out := StepDown{Schemes: []SchemeFigures{}}
	total := &acc{}
	names := make([]string, 0, len(schemes))
	for name := range schemes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		a := schemes[name]
		out.Schemes = append(out.Schemes, figuresOf(name, a))
		total.units += a.units
		total.nights += a.nights
		total.closed += a.closed
		total.occupied += a.occupied
		total.void += a.void
		total.stays += a.stays
		total.stayNights += a.stayNights
		total.ta += a.ta
		total.taDays += a.taDays
		total.osEnded += a.osEnded
		total.osNow += a.osNow
	}
	out.Total = figuresOf("", total)
	var ended int64
	for _, d := range stepDownEnds {
		ended += in.sum["dep:dest:"+d]
	}
	out.Destinations = f.shares(in.sum, "dep:dest:", stepDownEnds, ended)
	return out
}

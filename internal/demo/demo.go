// Package demo writes a year of synthetic history for a sample partnership, shaped like the scheme
// it comes from, as CSV files in the import layouts (docs/import.md). `make dev DEMO=1` imports them
// through `homeward import`, so the portal's boards and the outcomes dashboard are not empty.
//
// Everyone in the files is invented: names are drawn from short lists, addresses are on "Example"
// streets, and NHS numbers are from the 999 range, which the NHS never issues.
package demo

import (
	"encoding/csv"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/nhsnumber"
)

// Scheme is a partnership's step-down units.
type Scheme struct {
	Name, Owner, Type, Line1, Town, Postcode string
	Units                                    int
	WeeklyCost                               string
	HousingBenefit                           bool
	Features                                 [][]string // cycled over the units
	// MeanStayDays is the typical stay; stays vary around it by a third and never exceed MaxStayDays.
	MeanStayDays, MaxStayDays int
}

// Weighted is a value and how often it occurs, in parts.
type Weighted struct {
	Value string
	Parts int
}

// Profile is the shape of one partnership's caseload.
type Profile struct {
	Partnership string
	// ReferralsPerMonth are the referrals that go neither to a step-down unit nor to rehousing.
	ReferralsPerMonth int
	Hospital, Town    string
	Postcode          string // outward code of the people's addresses
	Sources, Tenures  []Weighted
	Needs             []Weighted
	// Scheme is nil where the partnership has no step-down units.
	Scheme *Scheme
	// Rehousing: cases per month, with days from referral to move-in around RehousedDays.
	RehousingPerMonth, RehousedDays int
	Landlords                       []string
	FollowUpDays                    []int
}

// Profiles are the sample partnerships' shapes, from the case studies in the architecture brief.
func Profiles() map[string]Profile {
	ward := []Weighted{{"ward", 6}, {"community", 2}, {"gp", 1}, {"care-home", 1}}
	tenures := []Weighted{{"owner-occupier", 4}, {"social-rented", 3}, {"private-rented", 2}, {"homeless", 1}}
	needs := []Weighted{{"adaptations", 5}, {"repairs", 3}, {"clearance", 2}, {"rehousing", 2}, {"benefits-debt", 1}}
	return map[string]Profile{
		// Hospital2Home: the evaluation's tenure and need mix (56 % social, 19 % private rented, 16 %
		// homeless, 9 % owner-occupiers; 73 % from hospital, 27 % from care homes; 13 % rehoused).
		"oldham": {Partnership: "oldham", ReferralsPerMonth: 15, Hospital: "Royal Oldham Hospital", Town: "Oldham", Postcode: "OL1",
			Sources:           []Weighted{{"ward", 73}, {"care-home", 27}},
			Tenures:           []Weighted{{"social-rented", 56}, {"private-rented", 19}, {"homeless", 16}, {"owner-occupier", 9}},
			Needs:             []Weighted{{"repairs", 7}, {"mental-health", 19}, {"substance-use", 3}, {"adaptations", 30}, {"clearance", 12}, {"homelessness", 16}, {"benefits-debt", 13}},
			RehousingPerMonth: 2, RehousedDays: 40, Landlords: []string{"First Choice Homes Oldham", "Great Places"}},
		// Home from Home: seven accessible flats, stays of about eight weeks.
		"kirklees": {Partnership: "kirklees", ReferralsPerMonth: 6, Hospital: "Huddersfield Royal Infirmary", Town: "Huddersfield", Postcode: "HD1",
			Sources: ward, Tenures: tenures, Needs: needs,
			Scheme: &Scheme{Name: "Home from Home", Owner: "Kirklees Neighbourhood Housing", Type: "flat", Line1: "Flat %d Example Court",
				Town: "Huddersfield", Postcode: "HD1 2AB", Units: 7, WeeklyCost: "203.77", HousingBenefit: true, MeanStayDays: 56, MaxStayDays: 84,
				Features: [][]string{{"level-access-shower", "ground-floor"}, {"wheelchair-accessible", "level-access-shower"}, {"two-bedroom-carer", "lift"}}}},
		// Heatherstones Court: twelve apartments with reablement on site, stays up to six weeks.
		"calderdale": {Partnership: "calderdale", ReferralsPerMonth: 5, Hospital: "Calderdale Royal Hospital", Town: "Halifax", Postcode: "HX1",
			Sources: ward, Tenures: tenures, Needs: needs,
			Scheme: &Scheme{Name: "Heatherstones Court", Owner: "Calderdale Council", Type: "apartment", Line1: "Apartment %d Example Court",
				Town: "Halifax", Postcode: "HX1 5AA", Units: 12, WeeklyCost: "245.00", HousingBenefit: true, MeanStayDays: 28, MaxStayDays: 42,
				Features: [][]string{{"level-access-shower", "lift", "on-site-care"}, {"wheelchair-accessible", "on-site-care", "assistive-technology"}}}},
		// Roseberry Mansions: ten extra-care flats.
		"camden": {Partnership: "camden", ReferralsPerMonth: 5, Hospital: "Royal Free Hospital", Town: "London", Postcode: "NW5",
			Sources: ward, Tenures: []Weighted{{"social-rented", 5}, {"private-rented", 3}, {"owner-occupier", 1}, {"homeless", 1}}, Needs: needs,
			Scheme: &Scheme{Name: "Roseberry Mansions", Owner: "London Borough of Camden", Type: "flat", Line1: "Flat %d Example Mansions",
				Town: "London", Postcode: "NW5 1AA", Units: 10, WeeklyCost: "310.50", HousingBenefit: true, MeanStayDays: 42, MaxStayDays: 84,
				Features: [][]string{{"on-site-care", "lift", "level-access-shower"}, {"on-site-care", "wheelchair-accessible", "hoist"}}}},
		// Housing and Health Coordinators: rehousing in about 33 days against 129 on the waiting list.
		"nottingham": {Partnership: "nottingham", ReferralsPerMonth: 10, Hospital: "Queen's Medical Centre", Town: "Nottingham", Postcode: "NG7",
			Sources:           []Weighted{{"ward", 15}, {"community", 55}, {"gp", 20}, {"self", 10}},
			Tenures:           []Weighted{{"social-rented", 7}, {"private-rented", 2}, {"owner-occupier", 1}},
			Needs:             []Weighted{{"rehousing", 6}, {"adaptations", 3}, {"repairs", 2}, {"mental-health", 1}},
			RehousingPerMonth: 7, RehousedDays: 33, Landlords: []string{"Nottingham City Homes"}},
		"kettering": {Partnership: "kettering", ReferralsPerMonth: 8, Hospital: "Kettering General Hospital", Town: "Kettering", Postcode: "NN16",
			Sources: ward, Tenures: tenures, Needs: needs},
		"norfolk-suffolk": {Partnership: "norfolk-suffolk", ReferralsPerMonth: 8, Hospital: "James Paget University Hospital", Town: "Great Yarmouth", Postcode: "NR31",
			Sources: ward, Tenures: tenures, Needs: needs, RehousingPerMonth: 1, RehousedDays: 60, Landlords: []string{"Home Group"}},
	}
}

// Generic is the shape of a partnership with no case study of its own: referrals from its hospital's
// wards and the community, no units.
func Generic(partnership string) Profile {
	return Profile{Partnership: partnership, ReferralsPerMonth: 8, Hospital: "Example General Hospital", Town: "Exampleton", Postcode: "EX1",
		Sources: []Weighted{{"ward", 6}, {"community", 2}, {"gp", 1}, {"care-home", 1}},
		Tenures: []Weighted{{"owner-occupier", 4}, {"social-rented", 3}, {"private-rented", 2}, {"homeless", 1}},
		Needs:   []Weighted{{"adaptations", 5}, {"repairs", 3}, {"clearance", 2}, {"rehousing", 2}, {"benefits-debt", 1}}}
}

// File is one CSV file in an import layout.
type File struct {
	Layout, Name string
	Data         []byte
}

// months of history the files cover, ending the day before today.
const months = 12

// Generate writes the profile's year up to yesterday, the same for the same profile and day. The
// files come in the order they must be imported: referrals, units, placements, voids, rehousing cases.
func Generate(p Profile, today calendar.Date) ([]File, error) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(p.Partnership))
	g := &generator{p: p, today: today, start: today.AddDays(-months * 365 / 12), rng: rand.New(rand.NewPCG(h.Sum64(), 2026))}
	if len(g.p.FollowUpDays) == 0 {
		g.p.FollowUpDays = []int{30, 91}
	}
	if s := p.Scheme; s != nil {
		g.stepDown(*s)
	}
	for range p.RehousingPerMonth * months {
		g.rehousing()
	}
	for range p.ReferralsPerMonth * months {
		received := g.start.AddDays(g.rng.IntN(g.start.DaysUntil(today) - 1))
		r := g.referral(received, "")
		g.progress(r, received.AddDays(10+g.rng.IntN(20)), "own-home")
	}
	slices.SortStableFunc(g.referrals, func(a, b *referral) int { return a.received.Compare(b.received) })
	var files []File
	for _, f := range []struct {
		layout string
		header []string
		rows   [][]string
	}{
		{"referrals", referralHeader, g.referralRows()},
		{"units", unitHeader, g.units},
		{"placements", placementHeader, g.placements},
		{"voids", voidHeader, g.voids},
		{"rehousing-cases", caseHeader, g.cases},
	} {
		if len(f.rows) == 0 {
			continue
		}
		var b strings.Builder
		w := csv.NewWriter(&b)
		if err := w.WriteAll(append([][]string{f.header}, f.rows...)); err != nil {
			return nil, fmt.Errorf("demo %s: %w", f.layout, err)
		}
		files = append(files, File{Layout: f.layout, Name: p.Partnership + "-" + f.layout + ".csv", Data: []byte(b.String())})
	}
	return files, nil
}

var (
	referralHeader = []string{"importKey", "receivedAt", "name", "dateOfBirth", "nhsNumber", "address", "postcode", "phone", "source",
		"referrerOrganisation", "ward", "consentToRefer", "consentToShare", "tenure", "needs", "priority", "admissionDate",
		"dischargeReadyDate", "delayReason", "wellbeing", "firstContactAt", "history", "dischargeDestination", "followUps"}
	unitHeader      = []string{"importKey", "scheme", "line1", "town", "postcode", "ownerOrganisation", "type", "bedrooms", "features", "weeklyCost", "housingBenefitEligible", "maxStayDays", "createdOn"}
	placementHeader = []string{"importKey", "unit", "referral", "arrival", "plannedDeparture", "departedOn", "destination", "housingBenefitClaimed"}
	voidHeader      = []string{"importKey", "unit", "from", "to", "reason"}
	caseHeader      = []string{"importKey", "referral", "openedOn", "bids", "offers", "moveInOn"}
)

var (
	firstNames = []string{"Ada", "Bernard", "Constance", "Dennis", "Edith", "Frank", "Gwendoline", "Harold", "Irene", "Joseph",
		"Kathleen", "Leonard", "Margaret", "Norman", "Olive", "Percy", "Queenie", "Ronald", "Sylvia", "Trevor", "Una", "Victor", "Winifred"}
	lastNames = []string{"Example", "Sample", "Testwell", "Demoson", "Placeholder", "Fictive", "Madeup", "Invented", "Specimen", "Mockford"}
	wards     = []string{"Ward 1", "Ward 5", "Ward 12", "Acute Medical Unit", "Elderly Care", "Orthopaedics"}
)

type referral struct {
	key                  string
	received             calendar.Date
	row                  map[string]string
	history              []string
	discharged           calendar.Date
	destination          string
	followUps            []string
	admission, readyDate calendar.Date
}

type generator struct {
	p                               Profile
	today, start                    calendar.Date
	rng                             *rand.Rand
	referrals                       []*referral
	units, placements, voids, cases [][]string
}

func (g *generator) pick(ws []Weighted) string {
	total := 0
	for _, w := range ws {
		total += w.Parts
	}
	n := g.rng.IntN(total)
	for _, w := range ws {
		if n < w.Parts {
			return w.Value
		}
		n -= w.Parts
	}
	return ws[len(ws)-1].Value
}

// past reports whether d is before today: the import takes nothing from the future.
func (g *generator) past(d calendar.Date) bool { return d.Before(g.today) }

// nhsNumber is a valid number from the never-issued 999 range: nine random digits after 999, then
// the check digit that the Modulus 11 rule accepts (a tenth of the prefixes have none, and are drawn
// again).
func (g *generator) nhsNumber() string {
	for {
		d := fmt.Sprintf("999%06d", g.rng.IntN(1_000_000))
		for check := range 10 {
			if n, err := nhsnumber.Normalize(d + strconv.Itoa(check)); err == nil {
				return nhsnumber.Format(n)
			}
		}
	}
}

// referral makes a person's referral received on the day; need is added to the sampled needs.
func (g *generator) referral(received calendar.Date, need string) *referral {
	n := len(g.referrals) + 1
	source := g.pick(g.p.Sources)
	needs := []string{g.pick(g.p.Needs)}
	if extra := g.pick(g.p.Needs); extra != needs[0] && g.rng.IntN(3) == 0 {
		needs = append(needs, extra)
	}
	if need != "" && !slices.Contains(needs, need) {
		needs = append(needs, need)
	}
	priority := []string{"emergency", "urgent", "urgent", "routine", "routine", "routine"}[g.rng.IntN(6)]
	r := &referral{key: fmt.Sprintf("DEMO-%s-%04d", g.prefix(), n), received: received}
	referrer, ward := g.p.Hospital, ""
	switch source {
	case "ward":
		ward = wards[g.rng.IntN(len(wards))]
		r.admission = received.AddDays(-1 - g.rng.IntN(12))
		if ready := received.AddDays(2 + g.rng.IntN(6)); g.past(ready) {
			r.readyDate = ready
		}
	case "care-home":
		referrer = "Example Lodge Care Home"
	case "gp":
		referrer = g.p.Town + " Example Surgery"
	case "community", "self":
		referrer = g.p.Town + " Community Health Team"
	}
	delay := ""
	if !r.readyDate.IsZero() {
		delay = "awaiting-equipment-adaptations-to-housing"
		if slices.Contains(needs, "homelessness") || slices.Contains(needs, "rehousing") {
			delay = "homeless-no-place-to-discharge"
		}
	}
	firstContact := received.In(calendar.London(), 9+g.rng.IntN(8), 0, 0, 0)
	if g.rng.IntN(5) == 0 { // some wait into the next days
		firstContact = firstContact.AddDate(0, 0, 1+g.rng.IntN(4))
	}
	if !g.past(calendar.DateOf(firstContact)) {
		firstContact = received.In(calendar.London(), 17, 0, 0, 0) // received is always before today
	}
	date := func(d calendar.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	}
	r.row = map[string]string{
		"importKey": r.key, "receivedAt": received.In(calendar.London(), 8, 30, 0, 0).Format("2006-01-02T15:04"),
		"name":        firstNames[g.rng.IntN(len(firstNames))] + " " + lastNames[g.rng.IntN(len(lastNames))],
		"dateOfBirth": calendar.DateOf(received.In(calendar.London(), 12, 0, 0, 0).AddDate(-65-g.rng.IntN(30), 0, -g.rng.IntN(365))).String(),
		"nhsNumber":   g.nhsNumber(), "address": fmt.Sprintf("%d Example Street %s", 1+g.rng.IntN(200), g.p.Town),
		"postcode": fmt.Sprintf("%s %d%c%c", g.p.Postcode, 1+g.rng.IntN(9), 'A'+rune(g.rng.IntN(26)), 'A'+rune(g.rng.IntN(26))),
		"phone":    fmt.Sprintf("01632 %06d", g.rng.IntN(1_000_000)), // Ofcom's range for drama
		"source":   source, "referrerOrganisation": referrer, "ward": ward, "consentToRefer": "yes", "consentToShare": "yes",
		"tenure": g.pick(g.p.Tenures), "needs": strings.Join(needs, ";"), "priority": priority,
		"admissionDate": date(r.admission), "dischargeReadyDate": date(r.readyDate), "delayReason": delay,
		"wellbeing": strconv.Itoa(25 + g.rng.IntN(25)), "firstContactAt": firstContact.Format("2006-01-02T15:04"),
	}
	if need == "" && g.rng.IntN(12) == 0 { // a stay or a rehousing needs consent to share
		r.row["consentToShare"] = "no"
	}
	g.referrals = append(g.referrals, r)
	return r
}

// progress moves the referral through the workflow up to yesterday, discharging it on the day to
// the destination, then following it up and closing it.
func (g *generator) progress(r *referral, discharge calendar.Date, destination string) {
	steps := []struct {
		status string
		on     calendar.Date
	}{
		{"triaged", r.received.AddDays(1)}, {"assessing", r.received.AddDays(2)},
		{"actions-in-progress", r.received.AddDays(3)}, {"ready-for-discharge", discharge.AddDays(-1)},
		{"discharged", discharge},
	}
	if !steps[2].on.Before(steps[3].on) {
		steps[3].on = steps[2].on.AddDays(1)
		if !steps[3].on.Before(discharge) {
			discharge = steps[3].on.AddDays(1)
			steps[4].on = discharge
		}
	}
	if r.row["consentToShare"] == "no" && g.rng.IntN(2) == 0 {
		// Some people decide against it part-way.
		if at := r.received.AddDays(2); g.past(at) {
			r.history = append(r.history, "triaged@"+r.received.AddDays(1).String(), "withdrawn@"+at.String())
		}
		return
	}
	for _, s := range steps {
		if !g.past(s.on) {
			return
		}
		r.history = append(r.history, s.status+"@"+s.on.String())
	}
	r.discharged, r.destination = discharge, destination
	last := discharge
	results := []string{"at-home", "at-home", "at-home", "at-home", "at-home", "at-home", "in-hospital", "moved", "in-care-home"}
	for i, days := range g.p.FollowUpDays {
		due := discharge.AddDays(days)
		if !g.past(due) {
			return
		}
		if i == 0 {
			r.history = append(r.history, "follow-up@"+due.String())
		}
		r.followUps = append(r.followUps, fmt.Sprintf("%d|%s|%d", days, results[g.rng.IntN(len(results))], 35+g.rng.IntN(25)))
		last = due
	}
	if closed := last.AddDays(1); g.past(closed) {
		r.history = append(r.history, "closed@"+closed.String())
	}
}

func (g *generator) referralRows() [][]string {
	rows := make([][]string, 0, len(g.referrals))
	for _, r := range g.referrals {
		r.row["history"] = strings.Join(r.history, ";")
		if !r.discharged.IsZero() && slices.ContainsFunc(r.history, func(h string) bool { return strings.HasPrefix(h, "discharged@") }) {
			r.row["dischargeDestination"] = r.destination
		}
		r.row["followUps"] = strings.Join(r.followUps, ";")
		row := make([]string, len(referralHeader))
		for i, col := range referralHeader {
			row[i] = r.row[col]
		}
		rows = append(rows, row)
	}
	return rows
}

// stepDown fills each unit with stays one after another, a void for cleaning between them; the last
// stay of a unit may be under way today.
func (g *generator) stepDown(s Scheme) {
	prefix := g.prefix()
	destinations := []Weighted{{"own-home", 12}, {"rehoused", 3}, {"extra-care", 2}, {"sheltered", 1}, {"residential-care", 1}, {"hospital", 1}}
	for u := range s.Units {
		unitKey := fmt.Sprintf("DEMO-%s-U%02d", prefix, u+1)
		bedrooms := 1
		features := s.Features[u%len(s.Features)]
		if slices.Contains(features, "two-bedroom-carer") {
			bedrooms = 2
		}
		g.units = append(g.units, []string{unitKey, s.Name, fmt.Sprintf(s.Line1, u+1), s.Town, s.Postcode, s.Owner, s.Type,
			strconv.Itoa(bedrooms), strings.Join(features, ";"), s.WeeklyCost, yesNo(s.HousingBenefit), strconv.Itoa(s.MaxStayDays), g.start.String()})
		arrival := g.start.AddDays(1 + g.rng.IntN(14))
		for n := 1; g.past(arrival); n++ {
			nights := min(s.MaxStayDays, max(7, s.MeanStayDays*2/3+g.rng.IntN(s.MeanStayDays*2/3+1)))
			departure := arrival.AddDays(nights)
			ref := g.referral(arrival.AddDays(-6-g.rng.IntN(10)), "adaptations")
			key := fmt.Sprintf("%s-P%02d", unitKey, n)
			hb := yesNo(s.HousingBenefit && g.rng.IntN(3) > 0)
			if !g.past(departure) {
				// Under way: it holds its unit now. Its person is discharged to it.
				g.progress(ref, arrival, "step-down")
				g.placements = append(g.placements, []string{key, unitKey, ref.key, arrival.String(), arrival.AddDays(s.MaxStayDays).String(), "", "", "no"})
				break
			}
			g.progress(ref, arrival, "step-down")
			g.placements = append(g.placements, []string{key, unitKey, ref.key, arrival.String(), arrival.AddDays(s.MaxStayDays).String(),
				departure.String(), g.pick(destinations), hb})
			ready := departure.AddDays(1 + g.rng.IntN(6))
			reason := "cleaning"
			if g.rng.IntN(6) == 0 {
				reason, ready = "repairs", ready.AddDays(7)
			}
			if !g.past(ready) {
				g.voids = append(g.voids, []string{fmt.Sprintf("%s-V%02d", unitKey, n), unitKey, departure.String(), "", reason})
				break
			}
			g.voids = append(g.voids, []string{fmt.Sprintf("%s-V%02d", unitKey, n), unitKey, departure.String(), ready.String(), reason})
			arrival = ready.AddDays(g.rng.IntN(4))
		}
	}
}

// rehousing opens a case for a person needing a new home: bids, an offer (sometimes refused first),
// and a move-in about RehousedDays after the referral, when that is in the past.
func (g *generator) rehousing() {
	received := g.start.AddDays(g.rng.IntN(g.start.DaysUntil(g.today) - 1))
	r := g.referral(received, "rehousing")
	opened := received.AddDays(1 + g.rng.IntN(3))
	if !g.past(opened) {
		g.progress(r, received.AddDays(400), "rehoused")
		return
	}
	landlord := func() string { return g.p.Landlords[g.rng.IntN(len(g.p.Landlords))] }
	moveIn := received.AddDays(max(8, g.p.RehousedDays*2/3+g.rng.IntN(g.p.RehousedDays*2/3+1)))
	var bids, offers []string
	for b, on := 0, opened.AddDays(1); b < 3 && on.Before(moveIn.AddDays(-6)) && g.past(on); b, on = b+1, on.AddDays(3+g.rng.IntN(5)) {
		bids = append(bids, fmt.Sprintf("%s|%s|BID-%05d", on, landlord(), g.rng.IntN(100000)))
	}
	offer := moveIn.AddDays(-5)
	if g.rng.IntN(4) == 0 {
		if first := offer.AddDays(-4); opened.Before(first) && g.past(first.AddDays(1)) {
			offers = append(offers, fmt.Sprintf("%s|%s|Flat %d Example House|refused|%s|too far from family", first, landlord(), 1+g.rng.IntN(40), first.AddDays(1)))
		}
	}
	moved := ""
	switch {
	case !opened.Before(offer) || !g.past(offer):
	case !g.past(offer.AddDays(2)):
		offers = append(offers, fmt.Sprintf("%s|%s|%d Example Close", offer, landlord(), 1+g.rng.IntN(90)))
	default:
		offers = append(offers, fmt.Sprintf("%s|%s|%d Example Close|accepted|%s", offer, landlord(), 1+g.rng.IntN(90), offer.AddDays(2)))
		if g.past(moveIn) {
			moved = moveIn.String()
		}
	}
	if moved != "" {
		g.progress(r, moveIn, "rehoused")
	} else {
		g.progress(r, received.AddDays(400), "rehoused") // still waiting: open, not discharged
	}
	g.cases = append(g.cases, []string{fmt.Sprintf("DEMO-%s-RH%03d", g.prefix(), len(g.cases)+1),
		r.key, opened.String(), strings.Join(bids, ";"), strings.Join(offers, ";"), moved})
}

// prefix starts the partnership's import keys, so demo rows never collide with real ones.
func (g *generator) prefix() string {
	p := strings.ToUpper(strings.ReplaceAll(g.p.Partnership, "-", ""))
	return p[:min(3, len(p))]
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

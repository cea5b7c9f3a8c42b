package reporting

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
)

// fixture is one tenant's reporting service with a person for every role. Events are appended to
// the tenant's stream as the referral and housing services append them.
type fixture struct {
	tenant *servicetest.Tenant
	clock  *servicetest.Clock
	svc    *Service
	base   string
	people map[string]*servicetest.Client
	stop   context.CancelFunc
	name   string
	top    testing.TB // ingesters outlive the subtest that starts them
}

var monday0930 = time.Date(2026, 11, 23, 9, 30, 0, 0, calendar.London())

// kirkleesCostModel is Kirklees Home from Home's: residential care £536.77 a week, the step-down
// flat £203.77.
func kirkleesCostModel() *config.CostModel {
	return &config.CostModel{Currency: "GBP", BedDayCost: "302.00", ResidentialCareWeekly: "536.77", StepDownWeekly: "203.77",
		WaitingListBaselineDays: 129, SchemeAnnualCost: "63400.00", SavingsSplit: config.SavingsSplit{NHS: 55, LocalAuthority: 28, HousingProvider: 17}}
}

func newFixture(t *testing.T, name string) *fixture {
	t.Helper()
	f := &fixture{tenant: servicetest.StartTenant(t, name), clock: servicetest.NewClock(monday0930), people: map[string]*servicetest.Client{}, name: name, top: t}
	p := config.DefaultPolicy()
	p.CostModel = kirkleesCostModel()
	_, srv := servicetest.Serve(t, f.tenant.Config(t, Name, p), app.Options{Now: f.clock.Now}, func(a *app.Service) { f.svc = New(a) })
	f.base = srv.URL
	for _, role := range auth.Roles {
		f.people[string(role)] = f.tenant.Person(t, f.base, string(role)+"@"+name+".example", name, string(role))
	}
	f.startIngest(t)
	return f
}

func (f *fixture) startIngest(testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	f.svc.ingester.block = 20 * time.Millisecond
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.svc.Ingest(ctx)
	}()
	f.stop = func() {
		cancel()
		<-done
	}
	f.top.Cleanup(f.stop)
}

func (f *fixture) as(t testing.TB, who string) *servicetest.Client { return f.people[who].As(t) }

// emit appends a domain event as the services do.
func (f *fixture) emit(t *testing.T, typ, referral string, data map[string]any) {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	err = f.tenant.Admin.XAdd(context.Background(), &redis.XAddArgs{Stream: "t:{" + f.name + "}:events", Values: []any{
		"type", typ, "subject", "", "referral", referral, "at", f.clock.Now().UTC().Format(time.RFC3339Nano), "data", string(b)}}).Err()
	if err != nil {
		t.Fatal(err)
	}
}

// caughtUp waits until every event in the stream has been applied.
func (f *fixture) caughtUp(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var st IngestStatus
		f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/ingest", nil).JSON(t, &st)
		if st.StreamLength > 0 && st.Pending == 0 && st.Undelivered == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("ingest did not catch up in 10 s")
}

func (f *fixture) report(t testing.TB, who, from, to string) map[string]any {
	t.Helper()
	var rep map[string]any
	f.as(t, who).Must(http.StatusOK, "GET", "/v1/reports?from="+from+"&to="+to, nil).JSON(t, &rep)
	return rep
}

// at reads a value from a decoded report by a dotted path.
func at(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

// stay emits the events of one step-down stay in a unit of a scheme.
func (f *fixture) stay(t *testing.T, scheme, unit string, arrived, departed calendar.Date, destination string, hb bool) {
	t.Helper()
	placement := ids.New(f.clock.Now())
	f.clock.Advance(time.Millisecond)
	base := map[string]any{"placementId": placement, "unitId": unit, "scheme": scheme, "arrival": arrived, "plannedDeparture": arrived.AddDays(42)}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	f.emit(t, "placement.arrived", "", with(map[string]any{"arrivedOn": arrived}))
	f.emit(t, "placement.departed", "", with(map[string]any{"arrivedOn": arrived, "departedOn": departed, "nights": arrived.DaysUntil(departed),
		"destination": destination, "housingBenefitClaimed": hb, "overStayNights": max(0, arrived.AddDays(42).DaysUntil(departed))}))
}

func date(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestReportingService(t *testing.T) {
	f := newFixture(t, "kirklees")
	t.Run("a Kirklees stay's care cost avoided, with and without housing benefit", f.testKirkleesStay)
	t.Run("a Nottingham-like cohort's bed days and return on investment", f.testNottinghamCohort)
	t.Run("referrals, deadlines, delays and outcomes", f.testReferralFigures)
	t.Run("occupancy from housing events", f.testOccupancy)
	t.Run("disclosure control and CSV", f.testDisclosure)
	t.Run("monthly series", f.testMonthly)
	t.Run("replays and a crash mid-batch change nothing", f.testExactlyOnce)
	t.Run("a report reads again only the hashes that changed", f.testReadsOnlyChanges)
	t.Run("a batch that touches a thousand day hashes and more is applied whole", f.testWideBatch)
	t.Run("rebuild equals incremental", f.testRebuild)
	t.Run("a replica that lost the ingest lock applies nothing", f.testLostLock)
	t.Run("bad periods", f.testBadPeriods)
	t.Run("roles and the Redis user", f.testAccess)
	t.Run("openapi lists every route", f.testOpenAPI)
}

func (f *fixture) testKirkleesStay(t *testing.T) {
	f.emit(t, "unit.created", "", map[string]any{"unitId": "hfh-1", "scheme": "Home from Home", "createdOn": "2024-01-01"})
	// 56 nights = 8 weeks at £333.00 a week saved (no housing benefit): £2,664.00.
	f.stay(t, "Home from Home", "hfh-1", date("2024-01-08"), date("2024-03-04"), "own-home", false)
	// The same stay with housing benefit claimed saves the whole £536.77 a week: £4,294.16.
	f.stay(t, "Home from Home", "hfh-1", date("2024-03-11"), date("2024-05-06"), "extra-care", true)
	// A stay ending in residential care saves nothing.
	f.stay(t, "Home from Home", "hfh-1", date("2024-05-13"), date("2024-05-20"), "residential-care", false)
	f.caughtUp(t)
	for _, tc := range []struct{ from, to, want string }{
		{"2024-03-01", "2024-03-05", "2664.00"},
		{"2024-05-01", "2024-05-10", "4294.16"},
		{"2024-05-15", "2024-05-25", "0.00"},
	} {
		rep := f.report(t, "coordinator", tc.from, tc.to)
		if got := at(rep, "savings.careCostAvoided"); got != tc.want {
			t.Errorf("%s–%s care cost avoided %v, want %s", tc.from, tc.to, got, tc.want)
		}
	}
}

func (f *fixture) testNottinghamCohort(t *testing.T) {
	// 17 hospital referrals rehoused: 16 in 33 days and one in 80, against a 129-day wait on the
	// list: 16 × 96 + 49 = 1,585 bed days saved, as in Nottingham's evaluation.
	for i := range 17 {
		days := 33
		if i == 16 {
			days = 80
		}
		moveIn := date("2025-05-01").AddDays(i * 7)
		f.emit(t, "rehousing.rehoused", ids.New(f.clock.Now()), map[string]any{"caseId": fmt.Sprint(i), "referralSource": "ward",
			"referralReceivedOn": moveIn.AddDays(-days), "waitingListBaselineDays": 129, "moveInOn": moveIn,
			"daysToRehoused": days, "daysSavedAgainstBaseline": max(0, 129-days)})
	}
	// One community referral rehoused: it counts as rehoused, not in the hospital bed days.
	f.emit(t, "rehousing.rehoused", ids.New(f.clock.Now()), map[string]any{"referralSource": "community", "moveInOn": "2025-06-02",
		"daysToRehoused": 20, "daysSavedAgainstBaseline": 109})
	f.caughtUp(t)
	// A year from April, no step-down stays in it: 1,585 × £302.00 = £478,670.00 gross; the
	// scheme cost £63,400.00; net £415,270.00 = £6.55 for every £1.
	rep := f.report(t, "coordinator", "2025-04-01", "2026-04-01")
	want := map[string]any{
		"rehousing.rehoused": 18.0, "rehousing.hospitalRehoused": 17.0, "rehousing.bedDaysSaved": 1585.0,
		"rehousing.meanDaysToRehoused": 34.9, "rehousing.medianDaysToRehoused": 33.0,
		"savings.nhsCostAvoided": "478670.00", "savings.careCostAvoided": "0.00", "savings.grossSavings": "478670.00",
		"savings.schemeCost": "63400.00", "savings.netSavings": "415270.00", "savings.roi.perPound": "6.55",
		"savings.roi.text": "£6.55 per £1", "savings.split.nhs": "263268.50", "savings.split.localAuthority": "134027.60",
		"savings.split.housingProvider": "81373.90", "days": 365.0,
	}
	for path, v := range want {
		if got := at(rep, path); got != v {
			t.Errorf("%s = %v, want %v", path, got, v)
		}
	}
}

func (f *fixture) testReferralFigures(t *testing.T) {
	// Ten referrals received on 2 June 2025 (a Monday), due in three working days.
	received := time.Date(2025, 6, 2, 10, 0, 0, 0, calendar.London())
	due := time.Date(2025, 6, 5, 10, 0, 0, 0, calendar.London())
	srcs := []string{"ward", "ward", "ward", "ward", "ward", "ward", "community", "community", "gp", "self"}
	for i, src := range srcs {
		f.emit(t, "referral.received", fmt.Sprint("r", i), map[string]any{"source": src, "tenure": "social-rented", "priority": "urgent",
			"needs": []string{"adaptations"}, "receivedAt": received, "responseDueAt": due})
		// Seven first contacts by the deadline, three after it.
		f.emit(t, "referral.first-contact", fmt.Sprint("r", i), map[string]any{"dueAt": due, "met": i < 7})
	}
	// Six discharged on 16 June: delays of 0, 2, 3, 5, 10 days after discharge-ready; one without a date.
	for i, delay := range []int{0, 2, 3, 5, 10} {
		reason := "awaiting-equipment-adaptations-to-housing"
		if i == 4 {
			reason = "homeless-no-place-to-discharge"
		}
		f.emit(t, "referral.discharged", fmt.Sprint("r", i), map[string]any{"date": "2025-06-16", "destination": "own-home",
			"delayedDays": delay, "dischargeReadyDate": date("2025-06-16").AddDays(-delay), "delayReason": reason})
	}
	f.emit(t, "referral.discharged", "r5", map[string]any{"date": "2025-06-16", "destination": "extra-care"})
	f.emit(t, "referral.readmitted", "r1", map[string]any{"date": "2025-07-01", "dischargeDate": "2025-06-16", "within30Days": true})
	// 91-day follow-ups due 15 September: five at home, one moved, one in a care home, one died,
	// one not contactable (left out of the denominator).
	for i, result := range []string{"at-home", "at-home", "at-home", "at-home", "at-home", "moved", "in-care-home", "died", "not-contactable"} {
		data := map[string]any{"days": 91, "dueDate": "2025-09-15", "result": result}
		if i < 5 {
			data["wellbeing"], data["wellbeingAtReferral"] = 50+i, 40
		}
		f.emit(t, "referral.follow-up-recorded", fmt.Sprint("r", i), data)
	}
	f.caughtUp(t)
	rep := f.report(t, "coordinator", "2025-06-01", "2025-10-01")
	want := map[string]any{
		"referrals.received": 10.0, "referrals.bySource.ward.count": 6.0, "referrals.bySource.ward.percent": 60.0,
		"referrals.bySource.community.percent": 20.0, "referrals.bySource.care-home.count": 0.0, "referrals.byNeed.adaptations.percent": 100.0,
		"responseTargets.due": 10.0, "responseTargets.met": 7.0, "responseTargets.percentMet": 70.0,
		"delays.discharged": 6.0, "delays.withDischargeReadyDate": 5.0, "delays.delayedDays": 20.0,
		"delays.byReason.awaiting-equipment-adaptations-to-housing": 10.0, "delays.byReason.homeless-no-place-to-discharge": 10.0,
		"outcomes.destinations.own-home.count": 5.0, "outcomes.destinations.extra-care.count": 1.0,
		"outcomes.readmissions30.readmitted": 1.0, "outcomes.readmissions30.percent": 16.7,
		"outcomes.followUp91.recorded": 8.0, "outcomes.followUp91.atHome": 6.0, "outcomes.followUp91.percentAtHome": 75.0,
		"outcomes.wellbeing.91.recorded": 5.0, "outcomes.wellbeing.91.meanChange": 12.0,
	}
	for path, v := range want {
		if got := at(rep, path); got != v {
			t.Errorf("%s = %v, want %v", path, got, v)
		}
	}
	// A deadline still to come is left out: on 4 June the 5 June deadlines are not yet due.
	f.clock.Set(time.Date(2025, 6, 4, 12, 0, 0, 0, calendar.London()))
	defer f.clock.Set(monday0930)
	if got := at(f.report(t, "coordinator", "2025-06-01", "2025-07-01"), "responseTargets.due"); got != 0.0 {
		t.Errorf("deadlines not yet due counted: %v", got)
	}
}

func (f *fixture) testOccupancy(t *testing.T) {
	// A Heatherstones apartment from 1 Aug 2025: a stay of nights 3–12 Aug (10), void 13–15 Aug
	// (3, ready 16 Aug), a second stay from 17 Aug still under way on 21 Aug, when the report runs.
	f.emit(t, "unit.created", "", map[string]any{"unitId": "hs-1", "scheme": "Heatherstones Court", "createdOn": "2025-08-01"})
	f.stay(t, "Heatherstones Court", "hs-1", date("2025-08-03"), date("2025-08-13"), "own-home", false)
	f.emit(t, "unit.status-changed", "", map[string]any{"unitId": "hs-1", "scheme": "Heatherstones Court", "from": "void", "to": "available", "on": "2025-08-16", "voidNights": 3})
	f.emit(t, "placement.arrived", "", map[string]any{"placementId": "p2", "unitId": "hs-1", "scheme": "Heatherstones Court",
		"arrivedOn": "2025-08-17", "plannedDeparture": "2025-09-28", "turnaroundDays": 4})
	f.caughtUp(t)
	f.clock.Set(time.Date(2025, 8, 21, 12, 0, 0, 0, calendar.London()))
	defer f.clock.Set(monday0930)
	rep := f.report(t, "coordinator", "2025-08-01", "2025-09-01")
	var hs map[string]any
	for _, s := range at(rep, "stepDown.schemes").([]any) {
		if at(s, "scheme") == "Heatherstones Court" {
			hs = s.(map[string]any)
		}
	}
	want := map[string]any{"scheme": "Heatherstones Court", "units": 1.0, "nights": 20.0, "closedNights": 0.0, "availableNights": 20.0,
		"occupiedNights": 14.0, "voidNights": 3.0, "occupancyPercent": 70.0, "stays": 1.0, "averageStayNights": 10.0,
		"turnarounds": 1.0, "averageTurnaroundDays": 4.0, "overStaysEnded": 0.0, "overStaysNow": 0.0}
	if diff := cmp.Diff(want, hs); diff != "" {
		t.Errorf("Heatherstones (-want +got):\n%s", diff)
	}
}

func (f *fixture) testDisclosure(t *testing.T) {
	// June 2025 holds ten referrals (six from wards, two from the community, one GP, one self).
	staff := f.report(t, "coordinator", "2025-06-01", "2025-07-01")
	commissioner := f.report(t, "commissioner", "2025-06-01", "2025-07-01")
	checks := []struct {
		path        string
		staff, comm any
	}{
		{"referrals.received", 10.0, 10.0},
		{"referrals.bySource.ward.count", 6.0, 6.0},
		{"referrals.bySource.ward.percent", 60.0, 60.0},
		{"referrals.bySource.community.count", 2.0, "<5"},
		{"referrals.bySource.community.percent", 20.0, "withheld"},
		{"referrals.bySource.care-home.count", 0.0, 0.0},
		{"outcomes.readmissions30.readmitted", 1.0, "<5"},
		{"outcomes.readmissions30.percent", 16.7, "withheld"},
		{"disclosureControl", false, true},
		// The Heatherstones unit added in August is not one of June's units.
		{"stepDown.total.units", 1.0, 1.0},
	}
	for _, c := range checks {
		if got := at(staff, c.path); got != c.staff {
			t.Errorf("staff %s = %v, want %v", c.path, got, c.staff)
		}
		if got := at(commissioner, c.path); got != c.comm {
			t.Errorf("commissioner %s = %v, want %v", c.path, got, c.comm)
		}
	}
	// Every export is controlled, whoever asks, and holds exactly what the controlled JSON holds.
	r := f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/reports?from=2025-06-01&to=2025-07-01&format=csv", nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	raw := f.as(t, "commissioner").Must(http.StatusOK, "GET", "/v1/reports?from=2025-06-01&to=2025-07-01", nil).Body
	flat, err := Flatten(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"measure", "value"}}
	for _, row := range flat {
		want = append(want, []string{row[0], row[1]})
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("CSV differs from the controlled JSON (-json +csv):\n%s", diff)
	}
	byMeasure := map[string]string{}
	for _, row := range rows {
		byMeasure[row[0]] = row[1]
	}
	if byMeasure["referrals.bySource.community.count"] != "<5" || byMeasure["referrals.bySource.ward.count"] != "6" {
		t.Errorf("CSV rows %v", byMeasure)
	}
}

func (f *fixture) testMonthly(t *testing.T) {
	var series struct {
		Months []map[string]any `json:"months"`
	}
	f.as(t, "manager").Must(http.StatusOK, "GET", "/v1/reports/monthly?from=2025-05-15&to=2025-08-01", nil).JSON(t, &series)
	var months []string
	for _, m := range series.Months {
		months = append(months, m["month"].(string))
	}
	if diff := cmp.Diff([]string{"2025-05", "2025-06", "2025-07"}, months); diff != "" {
		t.Fatalf("months (-want +got):\n%s", diff)
	}
	if series.Months[0]["from"] != "2025-05-15" || series.Months[1]["referralsReceived"] != 10.0 || series.Months[1]["responseTargetPercentMet"] != 70.0 {
		t.Errorf("series %+v", series.Months)
	}
	// The months add up to the whole period's figures.
	whole := f.report(t, "manager", "2025-05-15", "2025-08-01")
	var bedDays float64
	for _, m := range series.Months {
		bedDays += m["bedDaysSaved"].(float64)
	}
	if bedDays != at(whole, "rehousing.bedDaysSaved") {
		t.Errorf("monthly bed days %v, period %v", bedDays, at(whole, "rehousing.bedDaysSaved"))
	}
}

// everything is a report over every day the tests write events on.
func (f *fixture) everything(t *testing.T) string {
	t.Helper()
	r := f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/reports?from=2025-01-01&to=2026-01-01", nil)
	return string(r.Body)
}

// A batch's increments are summed per hash and field and its hashes' versions written a thousand
// arguments at a time: 1,500 referrals on as many days, read in batches of 500 (each touching 500
// day hashes and their months), count once each in day and month hashes alike.
func (f *fixture) testWideBatch(t *testing.T) {
	ctx := context.Background()
	f.stop() // so the ingester meets them as whole batches
	first := date("2010-01-01")
	pipe := f.tenant.Admin.Pipeline()
	for i := range 1500 {
		received := time.Date(first.Year, first.Month, first.Day+i, 10, 0, 0, 0, calendar.London())
		data, _ := json.Marshal(map[string]any{"source": "gp", "tenure": "owner-occupier", "priority": "routine", "needs": []string{"repairs"},
			"receivedAt": received, "responseDueAt": received.Add(72 * time.Hour)})
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: f.svc.store.keys.Events(), Values: []any{"type", "referral.received", "subject", "", "referral", fmt.Sprint("wide", i),
			"at", f.clock.Now().UTC().Format(time.RFC3339Nano), "data", string(data)}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	f.startIngest(f.top)
	f.caughtUp(t)
	// Whole months are read from month hashes, the rest from day hashes.
	for _, period := range [][2]string{{"2010-01-01", "2014-01-01"}, {"2010-01-15", "2014-02-09"}} {
		rep := f.report(t, "coordinator", period[0], period[1])
		want := float64(first.DaysUntil(date(period[1])) - first.DaysUntil(date(period[0])))
		if got := at(rep, "referrals.received"); got != want {
			t.Errorf("%s to %s: %v referrals received, want %v", period[0], period[1], got, want)
		}
	}
	gen, err := f.svc.store.generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	versioned, err := f.tenant.Admin.HKeys(ctx, f.svc.store.keys.AggVersions(gen)).Result()
	if err != nil {
		t.Fatal(err)
	}
	days, months := 0, 0
	for _, k := range versioned {
		if day, ok := strings.CutPrefix(k, f.svc.store.keys.AggDay(gen, "")); ok && day < "2015" {
			days++
		}
		if month, ok := strings.CutPrefix(k, f.svc.store.keys.AggMonth(gen, "")); ok && month < "2015" {
			months++
		}
	}
	// Each referral counts on the day it came and the day its response is due, three days later.
	if days != 1503 || months != 50 {
		t.Errorf("%d day and %d month hashes of 2010 to 2014 have a version, want 1,503 and 50", days, months)
	}
}

// Each batch begins by renewing the lock in the same round trip that reads the generation: a
// replica whose lease passed to another must stop at its next batch, whatever it read before.
func (f *fixture) testLostLock(t *testing.T) {
	ctx := context.Background()
	f.caughtUp(t)
	lock := f.svc.store.keys.AggIngestLock()
	if err := f.tenant.Admin.Set(ctx, lock, "another-replica", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // ten of the ingester's 20 ms blocks: it has begun a batch since
	f.emit(t, "unit.created", "", map[string]any{"unitId": "lock-1", "scheme": "Lock Test", "createdOn": "2024-01-01"})
	time.Sleep(300 * time.Millisecond)
	var st IngestStatus
	f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/ingest", nil).JSON(t, &st)
	if st.Undelivered != 1 || st.Pending != 0 {
		t.Errorf("with another replica holding the lock, the event was read: %+v", st)
	}
	// The lease ends (here, at once): this replica takes the lock again and applies the event.
	if err := f.tenant.Admin.Del(ctx, lock).Err(); err != nil {
		t.Fatal(err)
	}
	f.caughtUp(t)
}

func (f *fixture) testExactlyOnce(t *testing.T) {
	before := f.everything(t)
	ctx := context.Background()
	stream := "t:{" + f.name + "}:events"
	// Replay: the group is sent back to the start and every event delivered again.
	for range 2 {
		if err := f.tenant.Admin.XGroupSetID(ctx, stream, Group, "0").Err(); err != nil {
			t.Fatal(err)
		}
		f.caughtUp(t)
		if after := f.everything(t); after != before {
			t.Fatalf("a replay changed the figures:\n%s\n%s", before, after)
		}
	}
	// Crash mid-batch: the ingester stops; a batch is delivered to it and never applied or
	// acknowledged, as when a process dies between reading and applying.
	f.stop()
	f.emit(t, "referral.received", "late", map[string]any{"source": "self", "tenure": "homeless", "priority": "emergency",
		"needs": []string{"homelessness"}, "receivedAt": time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC), "responseDueAt": time.Date(2025, 12, 2, 9, 0, 0, 0, time.UTC)})
	delivered, err := f.tenant.Admin.XReadGroup(ctx, &redis.XReadGroupArgs{Group: Group, Consumer: consumer, Streams: []string{stream, ">"}, Count: 100}).Result()
	if err != nil || len(delivered[0].Messages) != 1 {
		t.Fatalf("deliver: %v %v", delivered, err)
	}
	f.startIngest(f.top)
	f.caughtUp(t)
	rep := f.report(t, "coordinator", "2025-12-01", "2025-12-02")
	if got := at(rep, "referrals.received"); got != 1.0 {
		t.Errorf("the crashed batch's event counted %v times", got)
	}
}

func (f *fixture) testReadsOnlyChanges(t *testing.T) {
	received := func(day int) {
		at := time.Date(2024, 3, day, 10, 0, 0, 0, calendar.London())
		f.emit(t, "referral.received", fmt.Sprint("march-", day), map[string]any{"source": "ward", "tenure": "owner-occupier", "priority": "routine",
			"needs": []string{"adaptations"}, "receivedAt": at, "responseDueAt": at.Add(72 * time.Hour)})
		f.caughtUp(t)
	}
	counts := func() (month, days float64) {
		return at(f.report(t, "coordinator", "2024-03-01", "2024-04-01"), "referrals.received").(float64),
			at(f.report(t, "coordinator", "2024-03-02", "2024-03-16"), "referrals.received").(float64)
	}
	received(4)
	if month, days := counts(); month != 1 || days != 1 {
		t.Fatalf("March 2024: %v received in the month, %v in its first fortnight; want 1 and 1", month, days)
	}
	// Change the hashes behind ingest's back: a report must not read them again while their
	// versions stand.
	ctx := context.Background()
	gen, err := f.svc.store.generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	month, day := f.svc.store.keys.AggMonth(gen, "2024-03"), f.svc.store.keys.AggDay(gen, "2024-03-04")
	for _, k := range []string{month, day} {
		if err := f.tenant.Admin.HIncrBy(ctx, k, fReceived, 100).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if month, days := counts(); month != 1 || days != 1 {
		t.Errorf("hashes with unchanged versions were read again: %v and %v received", month, days)
	}
	for _, k := range []string{month, day} {
		if err := f.tenant.Admin.HIncrBy(ctx, k, fReceived, -100).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// An event for the month changes its versions: the next report counts it.
	received(5)
	if month, days := counts(); month != 2 || days != 2 {
		t.Errorf("after a second referral in March 2024: %v received in the month, %v in its first fortnight; want 2 and 2", month, days)
	}
	if n := f.svc.store.cache.len(); n == 0 || n > aggregateCacheEntries {
		t.Errorf("%d hashes kept", n)
	}
}

func (f *fixture) testRebuild(t *testing.T) {
	before := f.everything(t)
	var st IngestStatus
	f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/ingest", nil).JSON(t, &st)
	f.as(t, "coordinator").Must(http.StatusForbidden, "POST", "/v1/ingest/rebuild", nil)
	f.as(t, "partnership-admin").Must(http.StatusAccepted, "POST", "/v1/ingest/rebuild", nil)
	deadline := time.Now().Add(10 * time.Second)
	var now IngestStatus
	for time.Now().Before(deadline) {
		f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/ingest", nil).JSON(t, &now)
		if now.Generation != st.Generation {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if now.Generation == st.Generation || now.EventsApplied != now.StreamLength {
		t.Fatalf("after the rebuild: %+v (before %+v)", now, st)
	}
	if after := f.everything(t); after != before {
		t.Errorf("rebuilt figures differ:\n%s\n%s", before, after)
	}
	// The old generation is gone.
	n, err := f.tenant.Admin.Exists(context.Background(), "t:{"+f.name+"}:agg:g"+st.Generation+":live", "t:{"+f.name+"}:agg:g"+st.Generation+":state").Result()
	if err != nil || n != 0 {
		t.Errorf("old generation keys left: %d %v", n, err)
	}
	// `homeward reporting rebuild` does the same from the command line, waiting its turn.
	if err := f.svc.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := f.everything(t); after != before {
		t.Errorf("figures after the command's rebuild differ")
	}
}

func (f *fixture) testBadPeriods(t *testing.T) {
	for _, q := range []string{
		"", "from=2025-01-01", "to=2025-01-01", "from=2025-02-01&to=2025-01-01", "from=2025-01-01&to=2025-01-01",
		"from=2019-01-01&to=2025-01-02", "from=2025-02-30&to=2025-03-01", "from=01/02/2025&to=2025-03-01",
		"from=2025-01-01&to=2025-02-01&colour=red", "from=2025-01-01&to=2025-02-01&format=xml",
	} {
		for _, path := range []string{"/v1/reports", "/v1/reports/monthly"} {
			r := f.as(t, "coordinator").Do("GET", path+"?"+q, nil)
			if r.Status != http.StatusBadRequest {
				t.Errorf("%s?%s: %d", path, q, r.Status)
				continue
			}
			r.Problem(t)
		}
	}
}

func (f *fixture) testAccess(t *testing.T) {
	for who, want := range map[string]int{"referrer": http.StatusForbidden, "commissioner": http.StatusOK, "housing-officer": http.StatusOK, "partnership-admin": http.StatusOK} {
		if r := f.as(t, who).Do("GET", "/v1/reports?from=2025-01-01&to=2025-02-01", nil); r.Status != want {
			t.Errorf("%s: %d, want %d", who, r.Status, want)
		}
	}
	rdb := f.tenant.ServiceClient(Name)
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.HSet(ctx, "t:{"+f.name+"}:referral:x", "v", 1).Err(); err == nil {
		t.Error("the reporting user wrote a referral")
	}
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "t:{" + f.name + "}:audit:referral:x", Values: []any{"e", "{}"}}).Err(); err == nil {
		t.Error("the reporting user wrote an audit trail")
	}
	if err := rdb.HSet(ctx, "t:{"+f.name+"}:agg:probe", "v", 1).Err(); err != nil {
		t.Errorf("the reporting user cannot write its aggregates: %v", err)
	}
	if err := rdb.Get(ctx, "t:{other}:agg:gen").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("the reporting user read another tenant: %v", err)
	}
	metrics := f.as(t, "coordinator").Must(http.StatusOK, "GET", "/metrics", nil).Body
	for _, m := range []string{"homeward_reporting_ingest_lag_seconds", "homeward_reporting_events_applied_total"} {
		if !strings.Contains(string(metrics), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func (f *fixture) testOpenAPI(t *testing.T) {
	servicetest.CheckOpenAPI(t, OpenAPI(), f.svc.app, f.base)
}

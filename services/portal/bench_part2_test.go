package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/demo"
	"github.com/homeward-dev/homeward/services/kit/calendar"
)

// BenchmarkOutcomesAndCalendar measures the outcomes dashboard (with its charts) and the occupancy
// calendar with a year of a 12-unit scheme's stays and voids and 10,000 referrals, 8 users at once,
// next to the service calls each page makes, made the way it makes them, in the same run.
//
//	go test -run '^$' -bench BenchmarkOutcomesAndCalendar -benchtime 1x -count 3 ./services/portal/
func BenchmarkOutcomesAndCalendar(b *testing.B) {
	e := startEnv(b, "oldham")
	today := calendar.DateOf(e.clock.Now())
	// Heatherstones Court's twelve apartments over a year, and referrals enough to make 10,000.
	profile := demo.Profiles()["calderdale"]
	profile.Partnership = "oldham"
	profile.ReferralsPerMonth = benchReferrals() / 12
	files, err := demo.Generate(profile, today)
	if err != nil {
		b.Fatal(err)
	}
	admin := e.tenant.Person(b, e.referralURL, "importer@oldham.example", "oldham", "partnership-admin")
	for _, f := range files {
		c := admin.As(b)
		if f.Layout != "referrals" {
			c.Base = e.housingURL
		}
		c.Must(http.StatusOK, "POST", "/v1/imports?layout="+f.Layout, string(f.Data), "Content-Type", "text/csv", "X-Import-File", f.Name)
	}
	email, pw := e.person(b, "manager@oldham.example", "oldham", "manager")
	browser := e.browser(b)
	browser.signIn(email, pw)
	from := calendar.Date{Year: today.Year, Month: today.Month, Day: 1}
	yearAgo := calendar.DateOf(dateOf(from).AddDate(0, -11, 0).Add(12 * time.Hour))
	nextMonth := calendar.DateOf(dateOf(from).AddDate(0, 1, 0).Add(12 * time.Hour))
	report := "/v1/reports?" + url.Values{"from": {yearAgo.String()}, "to": {nextMonth.String()}}.Encode()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		code, body := browser.direct(e.reportingURL, "/v1/ingest", "application/json")
		if code == http.StatusOK && strings.Contains(body, `"undelivered":0`) && strings.Contains(body, `"pending":0`) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the reporting service did not catch up: %s", body)
		}
	}

	var cookie string
	base, _ := url.Parse(e.url)
	for _, c := range browser.c.Jar.Cookies(base) {
		if c.Name == sessionCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchUsers * 4}}
	get := func(u string) func() error { return getter(client, cookie, u) }
	// The calendar's call: every unit's nights of the month, worked out by the housing-options service.
	calendarCall := get(e.housingURL + "/v1/occupancy/calendar?month=" + fmt.Sprintf("%04d-%02d", today.Year, today.Month))
	dashboardCalls := func() error {
		errs := make(chan error, 2)
		go func() { errs <- get(e.reportingURL + report)() }()
		go func() {
			errs <- get(e.reportingURL + "/v1/reports/monthly?" + url.Values{"from": {yearAgo.String()}, "to": {nextMonth.String()}}.Encode())()
		}()
		return firstError(<-errs, <-errs)
	}
	pages := []struct {
		name, portal string
		service      func() error
		requests     int
	}{
		{"outcomes", e.url + "/outcomes?period=12m", dashboardCalls, benchRequests() / 3},
		{"calendar", e.url + "/units/calendar", calendarCall, benchRequests() / 3},
	}
	for b.Loop() {
		for _, pg := range pages {
			latencies(b, benchUsers, 50, get(pg.portal))
			latencies(b, benchUsers, 50, pg.service)
			portal := latencies(b, benchUsers, pg.requests, get(pg.portal))
			service := latencies(b, benchUsers, pg.requests, pg.service)
			b.ReportMetric(ms(pct(portal, 0.99)), pg.name+"-p99-ms")
			b.ReportMetric(ms(pct(service, 0.99)), pg.name+"-service-p99-ms")
			b.ReportMetric(ms(pct(portal, 0.5))/ms(pct(service, 0.5)), pg.name+"-p50-ratio")
			b.ReportMetric(ms(pct(portal, 0.99))/ms(pct(service, 0.99)), pg.name+"-p99-ratio")
		}
	}
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

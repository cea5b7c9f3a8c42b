package portal

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/homeward-dev/homeward/clients/reporting"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/portal/portaltest"
)

// seedQuarter imports three referrals received in September 2026, one of them rehoused from
// hospital, through the services' import as the partnership admin, and waits for the reporting
// service to count them.
func (e *env) seedQuarter(t *testing.T) {
	t.Helper()
	admin := e.tenant.Person(t, e.referralURL, "importer@oldham.example", "oldham", "partnership-admin")
	admin.Must(http.StatusOK, "POST", "/v1/imports?layout=referrals",
		"importKey,receivedAt,name,nhsNumber,source,referrerOrganisation,ward,consentToRefer,consentToShare,tenure,needs,priority,history,dischargeDestination\n"+
			"R1,2026-09-01T10:00,Alice Quarterly,999 000 0018,ward,Royal Oldham Hospital,T5,yes,yes,social-rented,rehousing,urgent,triaged@2026-09-02;assessing@2026-09-03;actions-in-progress@2026-09-04;ready-for-discharge@2026-09-24;discharged@2026-09-25,rehoused\n"+
			"R2,2026-09-03T10:00,Bernard Quarterly,,ward,Royal Oldham Hospital,T5,yes,yes,private-rented,adaptations,routine,,\n"+
			"R3,2026-09-05T10:00,Constance Quarterly,,care-home,Example Lodge,,yes,yes,owner-occupier,repairs,routine,,\n",
		"Content-Type", "text/csv", "X-Import-File", "referrals.csv")
	homes := *admin
	homes.Base = e.housingURL
	homes.Must(http.StatusOK, "POST", "/v1/imports?layout=rehousing-cases",
		"importKey,referral,openedOn,bids,offers,moveInOn\n"+
			"RH1,R1,2026-09-02,2026-09-03|Oldham Council,2026-09-20|Oldham Council|1 Example Close|accepted|2026-09-21,2026-09-25\n",
		"Content-Type", "text/csv", "X-Import-File", "rehousing-cases.csv")
	manager := e.tenant.Person(t, e.reportingURL, "figures@oldham.example", "oldham", "manager")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var rep struct {
			Referrals struct{ Received any }
			Rehousing struct{ Rehoused any }
		}
		manager.Must(http.StatusOK, "GET", "/v1/reports?from=2026-07-01&to=2026-10-01", nil).JSON(t, &rep)
		if rep.Referrals.Received == float64(3) && rep.Rehousing.Rehoused == float64(1) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reporting service never counted the imported quarter: %+v", rep)
		}
	}
}

// direct fetches a path from a service with the browser's own session, as the portal would.
func (b *browser) direct(base, path, accept string) (int, string) {
	b.t.Helper()
	portal, _ := url.Parse(b.base)
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	for _, c := range b.c.Jar.Cookies(portal) {
		if c.Name == sessionCookie {
			req.AddCookie(c)
		}
	}
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestOutcomesDashboard: a manager sees the reporting service's own figures for a quarter, money to
// the penny, with charts and their tables, and downloads the service's CSV unchanged; a commissioner
// sees the controlled figures ("<5") and no person anywhere, on the page or in the CSV.
func TestOutcomesDashboard(t *testing.T) {
	e := startEnv(t, "oldham")
	e.seedQuarter(t)
	const quarter = "/outcomes?period=q2026-07-01"

	email, pw := e.person(t, "manager@oldham.example", "oldham", "manager")
	m := e.browser(t)
	m.signIn(email, pw)
	code, body := m.direct(e.reportingURL, "/v1/reports?from=2026-07-01&to=2026-10-01", "application/json")
	var want reporting.Report
	if code != http.StatusOK || want.UnmarshalJSON([]byte(body)) != nil || !want.Savings.Set || want.Savings.Null {
		t.Fatalf("the service's own report: %d %s", code, body)
	}
	page := m.get(quarter)
	if page.status != http.StatusOK || page.h1() != "Outcomes" {
		t.Fatalf("manager's outcomes: %d %q", page.status, page.h1())
	}
	net := moneyText(want.Savings.Value.NetSavings)
	nhs := moneyText(want.Savings.Value.NhsCostAvoided)
	if !strings.HasPrefix(nhs, "£") || nhs == "£0.00" {
		t.Fatalf("the seeded quarter saves nothing (NHS cost avoided %s): the test's data is wrong", nhs)
	}
	for _, wantText := range []string{"July to September 2026", ">Referrals received</dt><dd class=\"govuk-summary-list__value\">3<",
		">NHS cost avoided</dt><dd class=\"govuk-summary-list__value\">" + nhs + "<", ">Net savings</dt><dd class=\"govuk-summary-list__value\">" + net + "<",
		">Return on investment</dt>", `<svg class="hw-chart" role="img" aria-labelledby="chart-referrals-title chart-referrals-desc"`,
		"<title id=\"chart-referrals-title\">Referrals received by month</title>", ">September 2026</td>", ">People rehoused</dt><dd class=\"govuk-summary-list__value\">1<"} {
		if !strings.Contains(page.body, wantText) {
			t.Errorf("the manager's dashboard lacks %q", wantText)
		}
	}
	if strings.Contains(page.body, "&lt;5") {
		t.Error("a manager's figures are not under disclosure control, yet the page shows <5")
	}

	// The manager's download is the service's CSV, byte for byte.
	csv := m.get("/outcomes.csv?from=2026-07-01&to=2026-10-01")
	_, serviceCSV := m.direct(e.reportingURL, "/v1/reports?from=2026-07-01&to=2026-10-01&format=csv", "text/csv")
	if csv.status != http.StatusOK || csv.body != serviceCSV || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(csv.header.Get("Content-Disposition"), `filename="outcomes-oldham-2026-07-01-to-2026-09-30.csv"`) {
		t.Errorf("the portal's CSV (%d, %s) differs from the service's:\n%s\n---\n%s", csv.status, csv.header, csv.body, serviceCSV)
	}

	// The commissioner: controlled figures, no person.
	email, pw = e.person(t, "commissioner@oldham.example", "oldham", "commissioner")
	c := e.browser(t)
	c.signIn(email, pw)
	page = c.get(quarter)
	// 105 bed days saved (the 129-day waiting list less the 24 days Alice waited) at £302.00 a day.
	if !strings.Contains(page.body, ">NHS cost avoided</dt><dd class=\"govuk-summary-list__value\">£31,710.00<") {
		t.Error("the commissioner's dashboard does not show the NHS cost avoided, £31,710.00, to the penny")
	}
	if page.status != http.StatusOK || !strings.Contains(page.body, ">Referrals received</dt><dd class=\"govuk-summary-list__value\">&lt;5<") ||
		!strings.Contains(page.body, "Small numbers are shown as &lt;5") {
		t.Errorf("the commissioner's dashboard does not show the referrals as <5 under disclosure control:\n%s", page.body)
	}
	commissionerCSV := c.get("/outcomes.csv?from=2026-07-01&to=2026-10-01")
	if !strings.Contains(commissionerCSV.body, "<5") {
		t.Errorf("the commissioner's CSV is not the controlled one:\n%s", commissionerCSV.body)
	}
	for _, personal := range []string{"Alice", "Bernard", "Constance", "Quarterly", "999 000 0018", "9990000018", "Example Close"} {
		for what, text := range map[string]string{"page": page.body, "CSV": commissionerCSV.body} {
			if strings.Contains(text, personal) {
				t.Errorf("the commissioner's %s names %q", what, personal)
			}
		}
	}

	// A period that is not one is said so beside the choices; the CSV refuses it.
	page = m.get("/outcomes?from=2026-09-31&to=2026-10-01")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Enter the period&#39;s dates as YYYY-MM-DD") {
		t.Errorf("a bad period: %d, no error message shown", page.status)
	}
	if bad := m.get("/outcomes.csv?from=2026-10-01&to=2026-09-01"); bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "The period must end after it starts") {
		t.Errorf("a backwards period's CSV: %d", bad.status)
	}
	if page := m.get("/outcomes?period=q1999-01-01"); !strings.Contains(page.body, "Choose a period from the list") {
		t.Error("an unknown period is not refused")
	}
}

func TestPeriodsAreWholeMonths(t *testing.T) {
	for _, tc := range []struct {
		today, key, from, to string
	}{
		{"2026-11-30", "12m", "2025-12-01", "2026-12-01"},
		{"2026-11-30", "fy", "2026-04-01", "2027-04-01"},
		{"2026-02-10", "fy", "2025-04-01", "2026-04-01"},
		{"2026-02-10", "fy-1", "2024-04-01", "2025-04-01"},
		{"2026-11-30", "q2026-10-01", "2026-10-01", "2027-01-01"},
		{"2026-11-30", "q2025-01-01", "2025-01-01", "2025-04-01"},
	} {
		today, _ := time.Parse("2006-01-02", tc.today)
		var got *period
		for _, p := range periods(calendar.DateOf(today)) {
			if p.Key == tc.key {
				got = &p
			}
		}
		if got == nil || got.From.String() != tc.from || got.To.String() != tc.to {
			t.Errorf("%s on %s: %+v, want %s to %s", tc.key, tc.today, got, tc.from, tc.to)
		}
	}
	for money, want := range map[string]string{"184033.63": "£184,033.63", "-1200.50": "−£1,200.50", "0.00": "£0.00", "999.99": "£999.99"} {
		if got := moneyText(reporting.NewOptMoney(reporting.Money(money))); got != want {
			t.Errorf("moneyText(%s) = %s, want %s", money, got, want)
		}
	}
}

// TestOutcomesInABrowser: the dashboard passes axe with its charts, fits 320 px, and prints its
// charts' figures.
func TestOutcomesInABrowser(t *testing.T) {
	e := startEnv(t, "oldham")
	e.seedQuarter(t)
	email, pw := e.person(t, "commissioner@oldham.example", "oldham", "commissioner")
	ctx := portaltest.Start(t)
	portaltest.Open(t, ctx, e.url+"/login", "Sign in")
	portaltest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#field-identifier"), email), chromedp.SendKeys(chromedp.CSS("#field-password"), pw))
	portaltest.Follow(t, ctx, "button[value=password]", "Home")
	portaltest.Open(t, ctx, e.url+"/outcomes?period=q2026-07-01", "Outcomes")
	if charts := portaltest.Eval[int](t, ctx, `document.querySelectorAll('svg.hw-chart title').length`); charts != 4 {
		t.Errorf("%d charts with a title, want 4", charts)
	}
	portaltest.Screenshot(t, ctx, "outcomes")
	portaltest.Do(t, ctx, chromedp.EmulateViewport(320, 800), chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("body")))
	if wide := portaltest.Width(t, ctx); wide > 320 {
		t.Errorf("the dashboard is %d px wide at a 320 px viewport", wide)
	}
	portaltest.Do(t, ctx, chromedp.EmulateViewport(1280, 900))
	portaltest.WithoutJavaScript(t, ctx, true)
	portaltest.Do(t, ctx, chromedp.Navigate(e.url+"/outcomes"), chromedp.WaitReady(chromedp.CSS("body")))
	portaltest.ExpectHeading(t, ctx, "Outcomes")
	portaltest.Do(t, ctx, chromedp.SetValue(chromedp.CSS("#period"), "q2026-07-01"), chromedp.Click(chromedp.CSS("form[action='/outcomes'] button")))
	portaltest.Settle(ctx)
	portaltest.ExpectHeading(t, ctx, "Outcomes")
	if shown := portaltest.Eval[string](t, ctx, `location.search + ' ' + document.querySelector('.govuk-body-l').textContent`); !strings.HasPrefix(shown, "?period=q2026-07-01 July to September 2026") {
		t.Errorf("choosing the quarter without JavaScript showed %q", shown)
	}
	portaltest.WithoutJavaScript(t, ctx, false)
}

package portal

import (
	"context"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/housing"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
	"github.com/homeward-dev/homeward/services/reporting"
)

// env is one tenant with its real Redis, Kratos and services, and the portal in front of them on the
// address Kratos was told it lives at.
type env struct {
	url    string
	tenant *servicetest.Tenant
	clock  *servicetest.Clock
	portal *Portal
	// The services behind the portal, for tests that set data up or compare with them directly.
	referralURL, housingURL, reportingURL string
}

// oldhamCostModel is a cost model like the Oldham sample's, so reports have money in them.
func oldhamCostModel() *config.CostModel {
	return &config.CostModel{Currency: "GBP", BedDayCost: "302.00", ResidentialCareWeekly: "536.77", StepDownWeekly: "203.77",
		WaitingListBaselineDays: 129, SchemeAnnualCost: "66404.00", SavingsSplit: config.SavingsSplit{NHS: 55, LocalAuthority: 28, HousingProvider: 17}}
}

func startEnv(t testing.TB, partnership string) *env {
	t.Helper()
	return startEnvWith(t, partnership, "", app.Options{})
}

// startEnvWith starts the tenant with every process exporting its traces to otlp (when given) and
// logging with the options' logger.
func startEnvWith(t testing.TB, partnership, otlp string, opts app.Options) *env {
	t.Helper()
	// Hold the portal's port from the start: Kratos must be told the portal's address before the
	// portal can serve, and a port merely found free could be taken by anything in between.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
	t.Cleanup(func() { _ = l.Close() })
	tenant := servicetest.StartTenantWith(t, partnership, kratosserver.Options{PortalURL: base + "/"})
	// The day before British Summer Time ends (25 October 2026): journeys cross the clock change.
	clock := servicetest.NewClock(time.Date(2026, 10, 24, 9, 0, 0, 0, calendar.London()))
	policy := config.DefaultPolicy()
	policy.CostModel = oldhamCostModel()
	opts.Now = clock.Now
	configOf := func(service string) config.Config {
		c := tenant.Config(t, service, policy)
		c.OTLPEndpoint = otlp
		return c
	}
	_, refSrv := servicetest.Serve(t, configOf(referral.Name), opts, func(a *app.Service) { referral.New(a) })
	_, homeSrv := servicetest.Serve(t, configOf(housing.Name), opts, func(a *app.Service) { housing.New(a) })
	var rep *reporting.Service
	_, repSrv := servicetest.Serve(t, configOf(reporting.Name), opts, func(a *app.Service) { rep = reporting.New(a) })
	// Reports count what the reporting service has ingested: run its ingest as production does.
	ingestCtx, stopIngest := context.WithCancel(context.Background())
	ingested := make(chan struct{})
	go func() {
		defer close(ingested)
		_ = rep.Ingest(ingestCtx)
	}()
	t.Cleanup(func() {
		stopIngest()
		<-ingested
	})
	cfg := configOf(Name)
	cfg.ReferralURL, cfg.HousingURL, cfg.ReportingURL = refSrv.URL, homeSrv.URL, repSrv.URL
	cfg.KratosAdminURL, cfg.AllowedEmailDomains = tenant.Identity.AdminURL(), partnership+".example"
	a, err := app.New(context.Background(), Name, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: p.Handler()}}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		_ = a.Close(context.Background())
	})
	return &env{url: base, tenant: tenant, clock: clock, portal: p, referralURL: refSrv.URL, housingURL: homeSrv.URL, reportingURL: repSrv.URL}
}

// person creates an identity with a password and roles in a partnership.
func (e *env) person(t testing.TB, email, partnership string, roles ...string) (email_, password string) {
	t.Helper()
	password = "correct horse battery staple " + email
	r := make([]any, len(roles))
	for i, role := range roles {
		r[i] = role
	}
	if _, err := e.tenant.Identity.CreateIdentity(context.Background(), testenv.Person{Email: email, Name: "Test " + strings.Split(email, "@")[0],
		Password: password, MetadataPublic: map[string]any{"partnership": partnership, "roles": r}}); err != nil {
		t.Fatal(err)
	}
	return email, password
}

// browser is an HTTP client with a cookie jar that does not follow redirects on its own, so each
// step of a journey can be checked.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func (e *env) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: e.url, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

type page struct {
	status int
	url    string
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL.String(), body: string(body), header: resp.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = b.base + path
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(action string, form url.Values) page {
	b.t.Helper()
	if strings.HasPrefix(action, "/") {
		action = b.base + action
	}
	req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	return b.do(req)
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	portalCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	heading    = regexp.MustCompile(`<h1 class="[^"]*">([^<]+)</h1>`)
)

func (p page) h1() string {
	m := heading.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(html.UnescapeString(m[1]))
}

func (p page) csrf() string {
	m := portalCSRF.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

// signIn goes through Kratos' browser login flow on the portal's host and lands on the home page.
func (b *browser) signIn(email, password string) page {
	b.t.Helper()
	login := b.get("/login")
	if login.status != http.StatusOK || login.h1() != "Sign in" {
		b.t.Fatalf("sign-in page: %d %q at %s\n%s", login.status, login.h1(), login.url, login.body)
	}
	action := html.UnescapeString(formAction.FindStringSubmatch(login.body)[1])
	token := html.UnescapeString(hiddenCSRF.FindStringSubmatch(login.body)[1])
	return b.post(action, url.Values{"identifier": {email}, "password": {password}, "method": {"password"}, "csrf_token": {token}})
}

func TestSignInAndRoles(t *testing.T) {
	e := startEnv(t, "oldham")
	coordinator, pw := e.person(t, "coordinator@oldham.example", "oldham", "coordinator")
	b := e.browser(t)

	first := b.get("/referrals")
	if !strings.HasSuffix(first.url, "") || first.h1() != "Sign in" {
		t.Fatalf("a page without a session should ask to sign in, got %q at %s", first.h1(), first.url)
	}
	cookieless := &http.Client{Timeout: 10 * time.Second}
	resp, err := cookieless.Get(e.url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a browser without cookies: %d, want 400 saying cookies are needed (and no redirect loop)", resp.StatusCode)
	}
	home := b.signIn(coordinator, pw)
	if home.status != http.StatusOK || home.h1() != "Home" {
		t.Fatalf("after signing in: %d %q at %s\n%s", home.status, home.h1(), home.url, home.body)
	}
	board := b.get("/referrals")
	if board.h1() != "Caseload" {
		t.Fatalf("caseload: %d %q", board.status, board.h1())
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if got := board.header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if csp := board.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "'nonce-") {
		t.Errorf("CSP %q", csp)
	}
}

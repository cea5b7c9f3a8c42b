package portal

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/benchtable"

	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/serviceserver"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

// benchUsers is how many signed-in users the benchmarks run at once.
const benchUsers = 8

// benchReferrals is the tenant's size, and benchRequests the requests per page and per side each
// round: enough that the p99 is not a handful of requests (a tenth of each when quick).
func benchReferrals() int { return benchtable.Size(10_000, 1_000) }
func benchRequests() int  { return benchtable.Size(3000, 300) }

// seed refers n people through the referral API, as many at once as the service takes.
func (e *env) seed(b *testing.B, api *servicetest.Client, n int) []string {
	b.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				var created struct{ ID string }
				api.Must(http.StatusCreated, "POST", "/v1/referrals", map[string]any{
					"person": map[string]any{"name": "Test Person " + strconv.Itoa(i), "nhsNumber": ""}, "source": "ward",
					"referrer": map[string]any{"organisation": "Royal Oldham Hospital"}, "consent": map[string]any{"toRefer": true, "toShare": true},
					"tenure": []string{"social-rented", "owner-occupier", "private-rented"}[i%3], "needs": []string{"repairs"},
					"priority": []string{"emergency", "urgent", "routine"}[i%3],
				}).JSON(b, &created)
				ids[i] = created.ID
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return ids
}

// getter is one GET with the session cookie, which must answer 200; the body is read and dropped.
func getter(client *http.Client, cookie, url string) func() error {
	return func() error {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Cookie", cookie)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
		}
		return nil
	}
}

// latencies sends total GETs from users goroutines and returns each one's time, sorted.
func latencies(b *testing.B, users, total int, get func() error) []time.Duration {
	b.Helper()
	out := make([]time.Duration, total)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	work := make(chan int)
	for range users {
		wg.Go(func() {
			for i := range work {
				start := time.Now()
				if err := get(); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
				out[i] = time.Since(start)
			}
		})
	}
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	slices.Sort(out)
	return out
}

func pct(d []time.Duration, p float64) time.Duration { return d[int(float64(len(d)-1)*p)] }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkPortalPages measures the caseload board's first page and a referral record with 10,000
// referrals in the tenant, 8 users at once, next to the same service calls made directly with the
// same session: the portal's own cost is the ratio of the two.
//
//	go test -run '^$' -bench BenchmarkPortalPages -benchtime 1x -count 3 ./services/portal/
func BenchmarkPortalPages(b *testing.B) {
	e := startEnv(b, "oldham")
	email, pw := e.person(b, "coordinator@oldham.example", "oldham", "coordinator")
	browser := e.browser(b)
	browser.signIn(email, pw)
	token, err := e.tenant.Identity.Login(context.Background(), email, pw)
	if err != nil {
		b.Fatal(err)
	}
	api := &servicetest.Client{Base: e.portal.app.Config.ReferralURL, Token: token}
	api = api.As(b)
	ids := e.seed(b, api, benchReferrals())
	var cookie string
	base, _ := url.Parse(e.url)
	for _, c := range browser.c.Jar.Cookies(base) {
		if c.Name == sessionCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchUsers * 2}}
	get := func(url string) func() error { return getter(client, cookie, url) }
	record := ids[len(ids)/2]
	// Each page is compared with the service calls the portal makes for it, made the way it makes
	// them: the board reads its page and the tabs' counts at once; the record reads the referral.
	both := func(calls ...func() error) func() error {
		return func() error {
			errs := make(chan error, len(calls))
			for _, call := range calls {
				go func() { errs <- call() }()
			}
			var first error
			for range calls {
				if err := <-errs; err != nil && first == nil {
					first = err
				}
			}
			return first
		}
	}
	svc := e.portal.app.Config.ReferralURL
	pages := []struct {
		name, portal string
		service      func() error
	}{
		{"board", e.url + "/referrals", both(get(svc+"/v1/referrals?limit=25&sort=newest"), get(svc+"/v1/referrals/counts"))},
		{"record", e.url + "/referrals/" + record, get(svc + "/v1/referrals/" + record)},
	}
	for b.Loop() {
		for _, pg := range pages {
			latencies(b, benchUsers, 100, get(pg.portal)) // warm both sides
			latencies(b, benchUsers, 100, pg.service)
			portal := latencies(b, benchUsers, benchRequests(), get(pg.portal))
			service := latencies(b, benchUsers, benchRequests(), pg.service)
			b.ReportMetric(ms(pct(portal, 0.99)), pg.name+"-p99-ms")
			b.ReportMetric(ms(pct(service, 0.99)), pg.name+"-service-p99-ms")
			b.ReportMetric(ms(pct(portal, 0.5))/ms(pct(service, 0.5)), pg.name+"-p50-ratio")
			b.ReportMetric(ms(pct(portal, 0.99))/ms(pct(service, 0.99)), pg.name+"-p99-ratio")
		}
	}
}

// BenchmarkPortalIdleRSS starts `homeward portal` as its own process, as the local runtime does, and
// reports its resident memory once it has served a sign-in page and settled.
func BenchmarkPortalIdleRSS(b *testing.B) {
	path, err := binaries.Path("homeward")
	if err != nil {
		b.Fatal(err)
	}
	tenant := servicetest.StartTenantWith(b, "oldham", kratosserver.Options{})
	cfg := tenant.Config(b, Name, config.DefaultPolicy())
	for b.Loop() {
		srv, err := serviceserver.Start(context.Background(), serviceserver.Options{
			Path: path, Service: Name, Partnership: "oldham", Dir: filepath.Join(b.TempDir(), "portal"),
			RedisAddr: cfg.RedisAddr, RedisPassword: cfg.RedisPassword, PIIKey: cfg.PIIKey, KratosPublicURL: cfg.KratosPublicURL,
			ReferralURL: "http://127.0.0.1:1", HousingURL: "http://127.0.0.1:1", ReportingURL: "http://127.0.0.1:1",
		})
		if err != nil {
			b.Fatal(err)
		}
		for range 20 {
			if resp, err := http.Get(srv.URL() + "/accessibility"); err == nil {
				resp.Body.Close()
			}
		}
		time.Sleep(2 * time.Second)
		if resp, err := http.Get(srv.URL() + "/metrics"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(body), "\n") {
				if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
					f, _ := strconv.ParseFloat(v, 64)
					b.ReportMetric(f/(1<<20), "heap-inuse-MB")
				}
			}
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.Pid()))
		if err != nil {
			b.Fatal(err)
		}
		// RSS counts the binary's pages, which every Homeward process of the machine shares; the
		// anonymous part is what this process alone costs.
		for _, line := range strings.Split(string(status), "\n") {
			for field, unit := range map[string]string{"VmRSS:": "rss-MB", "RssAnon:": "rss-anon-MB", "RssFile:": "rss-file-MB"} {
				if kb, ok := strings.CutPrefix(line, field); ok {
					n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")))
					b.ReportMetric(float64(n)/1024, unit)
				}
			}
		}
		if err := srv.Stop(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderPages renders the caseload board (25 rows) and a record's summary tab from data
// already fetched: the portal's own work per page, without the service calls.
//
//	go test -run '^$' -bench BenchmarkRenderPages -benchmem ./services/portal/
func BenchmarkRenderPages(b *testing.B) {
	memo, err := ui.NewMemo()
	if err != nil {
		b.Fatal(err)
	}
	pages, err := parsePages(memo)
	if err != nil {
		b.Fatal(err)
	}
	who := &auth.Principal{Email: "coordinator@oldham.example", Roles: []auth.Role{auth.RoleCoordinator}}
	chrome := view{Display: "Oldham discharge partnership", Who: who, CSRF: "token", Nonce: "nonce",
		Header:     ui.GenericHeader{LogoText: "Oldham discharge partnership"}.HTML(),
		Navigation: ui.ServiceNavigation{Navigation: []ui.NavigationItem{{Href: "/", Text: "Home"}, {Href: "/referrals", Text: "Caseload", Current: true}}}.HTML()}
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	var items []referral.Summary
	for i := range 25 {
		items = append(items, referral.Summary{ID: fmt.Sprintf("01KB%022d", i), Status: referral.StatusReceived, Priority: referral.PriorityUrgent,
			Name: referral.NewOptString("Test Person " + strconv.Itoa(i)), NhsNumber: referral.NewOptString("9990000018"),
			ReceivedAt: now, ResponseDueAt: now.Add(96 * time.Hour), Overdue: i%3 == 0, OverdueActions: i % 2})
	}
	received, due := sortLinks(url.Values{}, "newest")
	board := chrome
	board.Title, board.Data = "Caseload", boardPage{Heading: "Caseload", Statuses: statuses, Priorities: priorities, Needs: needs,
		Sources: sources, DelayReasons: delayReasons, Order: orderCaptions["newest"],
		Table: boardTable(items, "25 referrals on this page, newest first", received, due)}
	ref := referral.Referral{ID: items[0].ID, Status: referral.StatusReceived, Priority: referral.PriorityUrgent,
		Allowed: []referral.Status{referral.StatusTriaged, referral.StatusDeclined, referral.StatusWithdrawn},
		Person:  referral.NewOptPerson(referral.Person{Name: "Test Person", NhsNumber: referral.NewOptString("9990000018")}),
		Needs:   []referral.Need{referral.NeedRepairs, referral.NeedAdaptations}, ReceivedAt: now}
	record := chrome
	record.Title, record.Data = "Referral", recordPage{R: ref, Moves: movesOf(ref.Allowed), ETag: "etag", Tab: "summary", MayWork: true,
		Priority: priorities, Destinations: destinations, Results: followUpResults, ActionTypes: actionTypes,
		Sections: recordSections(ref, "summary"), Summary: recordSummary(ref)}
	for _, pg := range []struct {
		name string
		v    view
	}{{"board", board}, {"record", record}} {
		b.Run(pg.name, func(b *testing.B) {
			for b.Loop() {
				if err := pages[pg.name].Execute(io.Discard, pg.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

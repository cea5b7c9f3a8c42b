package referral

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/importer"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
)

// fixture is one Oldham tenant with its referral service and a person for every role.
type fixture struct {
	tenant *servicetest.Tenant
	clock  *servicetest.Clock
	svc    *Service
	base   string
	people map[string]*servicetest.Client // by role, plus "referrer2" and "kirklees"
	anon   *servicetest.Client
}

// monday0930 is Monday 23 November 2026, 09:30 in London.
var monday0930 = time.Date(2026, 11, 23, 9, 30, 0, 0, calendar.London())

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{tenant: servicetest.StartTenant(t, "oldham"), clock: servicetest.NewClock(monday0930), people: map[string]*servicetest.Client{}}
	cfg := f.tenant.Config(t, Name, config.DefaultPolicy())
	_, srv := servicetest.Serve(t, cfg, app.Options{Now: f.clock.Now}, func(a *app.Service) { f.svc = New(a) })
	f.base = srv.URL
	for _, role := range auth.Roles {
		f.people[string(role)] = f.tenant.Person(t, f.base, string(role)+"@oldham.example", "oldham", string(role))
	}
	f.people["referrer2"] = f.tenant.Person(t, f.base, "referrer2@oldham.example", "oldham", "referrer")
	f.people["kirklees"] = f.tenant.Person(t, f.base, "coordinator@kirklees.example", "kirklees", "coordinator", "partnership-admin")
	f.anon = &servicetest.Client{Base: f.base}
	f.anon = f.anon.As(t)
	return f
}

func (f *fixture) as(t *testing.T, who string) *servicetest.Client { return f.people[who].As(t) }

// form is a valid referral of a synthetic person.
func form(name string) map[string]any {
	return map[string]any{
		"person": map[string]any{"name": name, "dateOfBirth": "1946-02-11", "nhsNumber": "943 476 5919",
			"address": "12 Example Street, Oldham", "postcode": "OL1 1AA", "phone": "0161 000 0000"},
		"source":             "ward",
		"referrer":           map[string]any{"organisation": "Royal Oldham Hospital", "ward": "Ward T5"},
		"consent":            map[string]any{"toRefer": true, "toShare": true},
		"tenure":             "social-rented",
		"needs":              []string{"repairs", "adaptations"},
		"priority":           "urgent",
		"admissionDate":      "2026-11-10",
		"dischargeReadyDate": "2026-11-18",
		"delayReason":        "awaiting-equipment-adaptations-to-housing",
	}
}

func (f *fixture) create(t *testing.T, who string, body map[string]any) (Referral, string) {
	t.Helper()
	r := f.as(t, who).Must(http.StatusCreated, "POST", "/v1/referrals", body)
	var ref Referral
	r.JSON(t, &ref)
	// Ids order by creation to the millisecond: keep "newest first" well defined.
	f.clock.Advance(time.Millisecond)
	return ref, r.Header.Get("ETag")
}

// move changes a referral and returns its new ETag.
func (f *fixture) move(t *testing.T, who, id, etag, method, path string, body any) string {
	t.Helper()
	r := f.as(t, who).Must(http.StatusOK, method, "/v1/referrals/"+id+path, body, "If-Match", etag)
	return r.Header.Get("ETag")
}

func TestReferralService(t *testing.T) {
	f := newFixture(t)
	t.Run("lifecycle", f.testLifecycle)
	t.Run("illegal transitions", f.testIllegalTransitions)
	t.Run("optimistic concurrency", f.testConcurrency)
	t.Run("idempotent create", f.testIdempotency)
	t.Run("authentication", f.testAuthentication)
	t.Run("roles", f.testRoles)
	t.Run("bad input writes nothing", f.testBadInput)
	t.Run("audit trail", f.testAudit)
	t.Run("personal data sealed at rest", f.testSealedAtRest)
	t.Run("lists", f.testLists)
	t.Run("late entries", f.testLateEntries)
	t.Run("overdue actions worklist", f.testOverdueActions)
	t.Run("status counts", f.testCounts)
	t.Run("working-day deadlines and closure days", f.testDeadlines)
	t.Run("consent to share", f.testConsent)
	t.Run("retention", f.testRetention)
	// After retention: imported closed cases are due for erasure by their historical dates.
	t.Run("importing past referrals", f.testImport)
	t.Run("importing their key workers, actions and follow-ups", f.testImportWork)
	t.Run("redis ACL", f.testACL)
	t.Run("openapi lists every route", f.testOpenAPI)
	t.Run("storage down", f.testRedisDown)
	// Last: it stops Kratos.
	t.Run("identity service down", f.testKratosDown)
}

func (f *fixture) testLifecycle(t *testing.T) {
	ref, etag := f.create(t, "coordinator", form("Ada Example"))
	if ref.Status != StatusReceived || ref.Person.NHSNumber != "9434765919" || ref.Response.Target != "3 working days" {
		t.Fatalf("created %+v", ref)
	}
	// Received Monday 09:30 → urgent: 3 working days → Thursday 09:30 London.
	if want := time.Date(2026, 11, 26, 9, 30, 0, 0, calendar.London()); !ref.Response.DueAt.Equal(want) {
		t.Errorf("due %s, want %s", ref.Response.DueAt, want)
	}
	id := ref.ID
	c := f.as(t, "coordinator")
	got := c.Must(http.StatusOK, "GET", "/v1/referrals/"+id, nil)
	if got.Header.Get("ETag") != etag {
		t.Errorf("GET ETag %s, create ETag %s", got.Header.Get("ETag"), etag)
	}
	etag = f.move(t, "coordinator", id, etag, "PUT", "/key-worker", map[string]any{"id": f.people["coordinator"].ID, "name": "Key Worker"})
	f.clock.Advance(2 * time.Hour)
	etag = f.move(t, "coordinator", id, etag, "POST", "/first-contact", map[string]any{"at": f.clock.Now().Add(-time.Hour)})
	for _, to := range []Status{StatusTriaged, StatusAssessing, StatusActionsInProgress} {
		etag = f.move(t, "coordinator", id, etag, "POST", "/transitions", map[string]any{"to": to})
	}
	r := c.Must(http.StatusOK, "POST", "/v1/referrals/"+id+"/actions",
		map[string]any{"type": "adaptation", "detail": "Grab rails by the bath", "ownerOrganisation": "Oldham Council Adaptations", "urgency": "emergency"}, "If-Match", etag)
	etag = r.Header.Get("ETag")
	var withAction Referral
	r.JSON(t, &withAction)
	action := withAction.Actions[0]
	if want := f.clock.Now().Add(24 * time.Hour); !action.DueAt.Equal(want) || action.Status != "open" {
		t.Errorf("action %+v, want due %s", action, want)
	}
	etag = f.move(t, "housing-officer", id, etag, "POST", "/notes", map[string]any{"text": "Rails fitted, tenant pleased"})
	etag = f.move(t, "housing-officer", id, etag, "PATCH", "/actions/"+action.ID, map[string]any{"status": "done"})
	etag = f.move(t, "coordinator", id, etag, "POST", "/transitions", map[string]any{"to": "ready-for-discharge"})
	r = c.Must(http.StatusOK, "POST", "/v1/referrals/"+id+"/transitions",
		map[string]any{"to": "discharged", "discharge": map[string]any{"date": "2026-11-23", "destination": "own-home"}}, "If-Match", etag)
	etag = r.Header.Get("ETag")
	var discharged Referral
	r.JSON(t, &discharged)
	if d := discharged.Discharge; d == nil || d.DelayedDays == nil || *d.DelayedDays != 5 {
		t.Errorf("discharge %+v: want 5 delayed days (ready 18th, discharged 23rd)", d)
	}
	if len(discharged.FollowUps) != 2 || discharged.FollowUps[0].DueDate.String() != "2026-12-23" || discharged.FollowUps[1].DueDate.String() != "2027-02-22" {
		t.Errorf("follow-ups %+v", discharged.FollowUps)
	}
	// The follow-ups fall due on the worklist: before 24 December only the 30-day one.
	if due := f.followUpsDue(t, "2026-12-24", id); !slices.Equal(due, []int{30}) {
		t.Errorf("follow-ups due before 24 December: %v, want [30]", due)
	}
	c.Must(http.StatusBadRequest, "GET", "/v1/follow-ups/due", nil)
	// Closing before the follow-ups are recorded is refused.
	p := c.Must(http.StatusConflict, "POST", "/v1/referrals/"+id+"/transitions", map[string]any{"to": "closed"}, "If-Match", etag).Problem(t)
	if !strings.Contains(p["detail"].(string), "30, 91") {
		t.Errorf("problem %v", p)
	}
	etag = f.move(t, "coordinator", id, etag, "POST", "/transitions", map[string]any{"to": "follow-up"})
	f.clock.Advance(31 * 24 * time.Hour)
	etag = f.move(t, "coordinator", id, etag, "PUT", "/follow-ups/30", map[string]any{"result": "at-home", "wellbeing": 48})
	etag = f.move(t, "coordinator", id, etag, "POST", "/readmissions", map[string]any{"date": "2026-12-20"})
	if due := f.followUpsDue(t, "2027-03-01", id); !slices.Equal(due, []int{91}) {
		t.Errorf("follow-ups due once the 30-day one is recorded: %v, want [91]", due)
	}
	f.clock.Advance(62 * 24 * time.Hour)
	etag = f.move(t, "coordinator", id, etag, "PUT", "/follow-ups/91", map[string]any{"result": "at-home"})
	r = c.Must(http.StatusOK, "POST", "/v1/referrals/"+id+"/transitions", map[string]any{"to": "closed"}, "If-Match", etag)
	var closed Referral
	r.JSON(t, &closed)
	if closed.Status != StatusClosed || closed.ClosedAt == nil || len(closed.History) != 7 || !closed.Readmissions[0].Within30 {
		t.Errorf("closed %+v", closed)
	}
	if due := f.followUpsDue(t, "2028-01-01", id); len(due) != 0 {
		t.Errorf("a closed referral still has follow-ups due: %v", due)
	}
	if closed.Notes[0].Text != "Rails fitted, tenant pleased" || closed.Actions[0].Detail != "Grab rails by the bath" {
		t.Errorf("sealed fields did not round-trip: %+v %+v", closed.Notes, closed.Actions)
	}
	// Every change left a domain event, in order, for reporting.
	var types []string
	msgs, err := f.tenant.Admin.XRange(context.Background(), f.svc.repo.keys.Events(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Values["referral"] == id {
			types = append(types, m.Values["type"].(string))
		}
	}
	want := []string{"referral.received", "referral.key-worker-assigned", "referral.first-contact", "referral.status-changed", "referral.status-changed",
		"referral.status-changed", "referral.action-commissioned", "referral.note-added", "referral.action-updated", "referral.status-changed", "referral.discharged",
		"referral.status-changed", "referral.status-changed", "referral.follow-up-recorded", "referral.readmitted", "referral.follow-up-recorded", "referral.status-changed"}
	if !slices.Equal(types, want) {
		t.Errorf("events\n got %v\nwant %v", types, want)
	}
	f.clock.Set(monday0930)
}

// followUpsDue lists the days of the referral's follow-ups on the worklist of those due before a day.
func (f *fixture) followUpsDue(t *testing.T, before, id string) []int {
	t.Helper()
	var page struct {
		Items []DueFollowUp
	}
	f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/follow-ups/due?before="+before, nil).JSON(t, &page)
	var days []int
	for _, it := range page.Items {
		if it.ReferralID == id {
			days = append(days, it.Days)
		}
	}
	return days
}

func (f *fixture) testIllegalTransitions(t *testing.T) {
	c := f.as(t, "coordinator")
	ref, etag := f.create(t, "coordinator", form("Bea Example"))
	path := []map[string]any{
		{"to": "triaged"}, {"to": "assessing"}, {"to": "actions-in-progress"}, {"to": "ready-for-discharge"},
		{"to": "discharged", "discharge": map[string]any{"date": "2026-11-23", "destination": "rehoused"}},
		{"to": "follow-up"},
	}
	check := func(from Status) {
		for _, to := range Statuses {
			if CanMove(from, to) {
				continue
			}
			body := map[string]any{"to": to, "reason": "testing"}
			if to == StatusDischarged {
				body["discharge"] = map[string]any{"date": "2026-11-23", "destination": "own-home"}
			}
			r := c.Do("POST", "/v1/referrals/"+ref.ID+"/transitions", body, "If-Match", etag)
			if r.Status != http.StatusConflict {
				t.Errorf("%s → %s: status %d, want 409: %s", from, to, r.Status, r.Body)
				continue
			}
			p := r.Problem(t)
			var allowed []string
			list, _ := p["allowed"].([]any) // absent when nothing is allowed
			for _, a := range list {
				allowed = append(allowed, a.(string))
			}
			var want []string
			for _, a := range Allowed(from) {
				want = append(want, string(a))
			}
			if !slices.Equal(allowed, want) {
				t.Errorf("%s: allowed %v, want %v", from, allowed, want)
			}
		}
	}
	check(StatusReceived)
	for _, step := range path {
		etag = f.move(t, "coordinator", ref.ID, etag, "POST", "/transitions", step)
		check(Status(step["to"].(string)))
	}
	// Declining needs a reason; withdrawn ends the case for good.
	p := c.Must(http.StatusBadRequest, "POST", "/v1/referrals/"+ref.ID+"/transitions", map[string]any{"to": "withdrawn"}, "If-Match", etag).Problem(t)
	if fmt.Sprint(p["errors"]) == "" || !strings.Contains(fmt.Sprint(p["errors"]), "reason") {
		t.Errorf("problem %v", p)
	}
	etag = f.move(t, "coordinator", ref.ID, etag, "POST", "/transitions", map[string]any{"to": "withdrawn", "reason": "moved out of area"})
	check(StatusWithdrawn)
	// Actions have their own lifecycle.
	ref2, etag2 := f.create(t, "coordinator", form("Cal Example"))
	r := c.Must(http.StatusOK, "POST", "/v1/referrals/"+ref2.ID+"/actions", map[string]any{"type": "clearance", "ownerOrganisation": "Royal Oldham Hospital", "urgency": "routine"}, "If-Match", etag2)
	var withAction Referral
	r.JSON(t, &withAction)
	etag2 = f.move(t, "coordinator", ref2.ID, r.Header.Get("ETag"), "PATCH", "/actions/"+withAction.Actions[0].ID, map[string]any{"status": "cancelled"})
	c.Must(http.StatusConflict, "PATCH", "/v1/referrals/"+ref2.ID+"/actions/"+withAction.Actions[0].ID, map[string]any{"status": "done"}, "If-Match", etag2)
	c.Must(http.StatusNotFound, "PATCH", "/v1/referrals/"+ref2.ID+"/actions/01ARZ3NDEKTSV4RRFFQ69G5FAV", map[string]any{"status": "done"}, "If-Match", etag2)
}

func (f *fixture) testConcurrency(t *testing.T) {
	c := f.as(t, "coordinator")
	ref, etag := f.create(t, "coordinator", form("Dee Example"))
	c.Must(http.StatusPreconditionRequired, "POST", "/v1/referrals/"+ref.ID+"/transitions", map[string]any{"to": "triaged"})
	c.Must(http.StatusPreconditionRequired, "POST", "/v1/referrals/"+ref.ID+"/transitions", map[string]any{"to": "triaged"}, "If-Match", "*")
	f.move(t, "coordinator", ref.ID, etag, "POST", "/notes", map[string]any{"text": "first"})
	r := c.Must(http.StatusPreconditionFailed, "POST", "/v1/referrals/"+ref.ID+"/transitions", map[string]any{"to": "triaged"}, "If-Match", etag)
	if r.Header.Get("ETag") == etag || r.Problem(t)["type"] != "https://homeward.dev/problems/stale" {
		t.Errorf("stale answer %v %s", r.Header, r.Body)
	}
	// Many writers with the same ETag: exactly one wins.
	ref2, etag2 := f.create(t, "coordinator", form("Eve Example"))
	results := make(chan int, 16)
	for i := range 16 {
		go func() {
			results <- c.Do("POST", "/v1/referrals/"+ref2.ID+"/notes", map[string]any{"text": fmt.Sprint("note ", i)}, "If-Match", etag2).Status
		}()
	}
	won := 0
	for range 16 {
		switch s := <-results; s {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
		default:
			t.Errorf("status %d", s)
		}
	}
	var after Referral
	c.Must(http.StatusOK, "GET", "/v1/referrals/"+ref2.ID, nil).JSON(t, &after)
	if won != 1 || len(after.Notes) != 1 {
		t.Errorf("%d writers won, %d notes stored; want 1 and 1", won, len(after.Notes))
	}
}

func (f *fixture) testIdempotency(t *testing.T) {
	c := f.as(t, "referrer")
	ctx := context.Background()
	before := f.tenant.Admin.ZCard(ctx, f.svc.repo.keys.AllReferrals()).Val()
	a := c.Must(http.StatusCreated, "POST", "/v1/referrals", form("Fay Example"), "Idempotency-Key", "ward-t5-0001")
	b := c.Must(http.StatusCreated, "POST", "/v1/referrals", form("Fay Example"), "Idempotency-Key", "ward-t5-0001")
	var ra, rb Referral
	a.JSON(t, &ra)
	b.JSON(t, &rb)
	if ra.ID != rb.ID || b.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry made %s after %s", rb.ID, ra.ID)
	}
	p := c.Must(http.StatusUnprocessableEntity, "POST", "/v1/referrals", form("Someone Else"), "Idempotency-Key", "ward-t5-0001").Problem(t)
	if p["type"] != "https://homeward.dev/problems/idempotency-key-reused" {
		t.Errorf("problem %v", p)
	}
	// Keys are per caller: another referrer's same key is a new referral.
	f.as(t, "referrer2").Must(http.StatusCreated, "POST", "/v1/referrals", form("Gus Example"), "Idempotency-Key", "ward-t5-0001")
	if after := f.tenant.Admin.ZCard(ctx, f.svc.repo.keys.AllReferrals()).Val(); after != before+2 {
		t.Errorf("%d referrals stored, want %d", after-before, 2)
	}
	c.Must(http.StatusBadRequest, "POST", "/v1/referrals", form("Hal Example"), "Idempotency-Key", strings.Repeat("k", 129))
	// Concurrent retries of one submission store one referral.
	results := make(chan string, 8)
	for range 8 {
		go func() {
			r := c.Do("POST", "/v1/referrals", form("Ivy Example"), "Idempotency-Key", "ward-t5-0002")
			var ref Referral
			if r.Status == http.StatusCreated {
				r.JSON(t, &ref)
			}
			results <- ref.ID
		}()
	}
	seen := map[string]bool{}
	for range 8 {
		seen[<-results] = true
	}
	if len(seen) != 1 || seen[""] {
		t.Errorf("concurrent retries gave %v", seen)
	}
}

func (f *fixture) testAuthentication(t *testing.T) {
	ref, _ := f.create(t, "coordinator", form("Jo Example"))
	p := f.anon.As(t).Must(http.StatusUnauthorized, "GET", "/v1/referrals/"+ref.ID, nil).Problem(t)
	if p["type"] != "https://homeward.dev/problems/unauthenticated" {
		t.Errorf("problem %v", p)
	}
	bad := &servicetest.Client{Base: f.base, Token: "ory_st_not-a-real-token"}
	bad.As(t).Must(http.StatusUnauthorized, "GET", "/v1/referrals/"+ref.ID, nil)
	// Kratos accepts the Kirklees session, but it is not an Oldham one.
	p = f.as(t, "kirklees").Must(http.StatusForbidden, "GET", "/v1/referrals/"+ref.ID, nil).Problem(t)
	if !strings.Contains(p["detail"].(string), "another partnership") {
		t.Errorf("problem %v", p)
	}
	// The same session works as X-Session-Token and as the cookie.
	coord := f.people["coordinator"]
	plain := &servicetest.Client{Base: f.base}
	plain.As(t).Must(http.StatusOK, "GET", "/v1/referrals/"+ref.ID, nil, "X-Session-Token", coord.Token)
	cookie := f.tenant.BrowserSession(t, "coordinator@oldham.example")
	plain.As(t).Must(http.StatusOK, "GET", "/v1/referrals/"+ref.ID, nil, "Cookie", cookie.String())
	if cookie.Name != auth.SessionCookie {
		t.Errorf("Kratos named its cookie %s, the service reads %s", cookie.Name, auth.SessionCookie)
	}
	// Health, metrics and the API description need no session.
	f.anon.As(t).Must(http.StatusOK, "GET", "/healthz", nil)
	f.anon.As(t).Must(http.StatusOK, "GET", "/readyz", nil)
	f.anon.As(t).Must(http.StatusOK, "GET", "/openapi.yaml", nil)
	m := f.anon.As(t).Must(http.StatusOK, "GET", "/metrics", nil)
	for _, want := range []string{"homeward_http_requests_total", "homeward_auth_cache_hits_total", `route="GET /v1/referrals/{id}"`} {
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	p = f.anon.As(t).Must(http.StatusNotFound, "GET", "/nowhere", nil).Problem(t)
	if p["status"] != float64(404) {
		t.Errorf("problem %v", p)
	}
	f.anon.As(t).Must(http.StatusMethodNotAllowed, "DELETE", "/v1/referrals", nil).Problem(t)
}

// testRoles checks every role against every kind of call: allowed calls get past authorisation
// (any status but 403), refused ones get 403.
func (f *fixture) testRoles(t *testing.T) {
	ref, etag := f.create(t, "coordinator", form("Kit Example"))
	id := ref.ID
	calls := []struct {
		name, method, path string
		body               any
		allowed            []auth.Role
	}{
		{"create", "POST", "/v1/referrals", "{}", []auth.Role{auth.RoleReferrer, auth.RoleCoordinator, auth.RoleManager}},
		{"list", "GET", "/v1/referrals", nil, []auth.Role{auth.RoleReferrer, auth.RoleCoordinator, auth.RoleHousingOfficer, auth.RoleManager}},
		{"get", "GET", "/v1/referrals/" + id, nil, []auth.Role{auth.RoleReferrer, auth.RoleCoordinator, auth.RoleHousingOfficer, auth.RoleManager}},
		{"search", "POST", "/v1/referrals/search", "{}", []auth.Role{auth.RoleReferrer, auth.RoleCoordinator, auth.RoleHousingOfficer, auth.RoleManager}},
		{"transition", "POST", "/v1/referrals/" + id + "/transitions", "{}", []auth.Role{auth.RoleCoordinator, auth.RoleManager}},
		{"details", "PATCH", "/v1/referrals/" + id, "{}", []auth.Role{auth.RoleCoordinator, auth.RoleManager}},
		{"note", "POST", "/v1/referrals/" + id + "/notes", "{}", []auth.Role{auth.RoleCoordinator, auth.RoleHousingOfficer, auth.RoleManager}},
		{"action", "POST", "/v1/referrals/" + id + "/actions", "{}", []auth.Role{auth.RoleCoordinator, auth.RoleManager}},
		{"audit", "GET", "/v1/referrals/" + id + "/audit", nil, []auth.Role{auth.RolePartnershipAdmin}},
		{"closure days", "PUT", "/v1/closure-days", "{}", []auth.Role{auth.RolePartnershipAdmin}},
	}
	for _, call := range calls {
		for _, role := range auth.Roles {
			r := f.as(t, string(role)).Do(call.method, call.path, call.body, "If-Match", etag)
			if allowed := slices.Contains(call.allowed, role); allowed == (r.Status == http.StatusForbidden) {
				t.Errorf("%s as %s: status %d, allowed=%v: %s", call.name, role, r.Status, allowed, r.Body)
			}
		}
	}
	// A referrer sees only their own referrals.
	mine, _ := f.create(t, "referrer", form("Lou Example"))
	f.as(t, "referrer2").Must(http.StatusNotFound, "GET", "/v1/referrals/"+mine.ID, nil)
	f.as(t, "referrer").Must(http.StatusOK, "GET", "/v1/referrals/"+mine.ID, nil)
	f.as(t, "referrer").Must(http.StatusNotFound, "GET", "/v1/referrals/"+id, nil)
	var page listPage
	f.as(t, "referrer2").Must(http.StatusOK, "GET", "/v1/referrals?limit=200", nil).JSON(t, &page)
	for _, s := range page.Items {
		var full Referral
		f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/referrals/"+s.ID, nil).JSON(t, &full)
		if full.CreatedBy.ID != f.people["referrer2"].ID {
			t.Errorf("referrer2 listed %s made by %s", s.ID, full.CreatedBy.ID)
		}
	}
}

func (f *fixture) counts(t *testing.T) map[string]int64 {
	ctx := context.Background()
	k := f.svc.repo.keys
	keys, err := f.tenant.Admin.Keys(ctx, k.Prefix()+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]int64{
		"keys":      int64(len(keys)),
		"referrals": f.tenant.Admin.ZCard(ctx, k.AllReferrals()).Val(),
		"events":    f.tenant.Admin.XLen(ctx, k.Events()).Val(),
	}
}

func (f *fixture) testBadInput(t *testing.T) {
	c := f.as(t, "coordinator")
	ref, etag := f.create(t, "coordinator", form("Mo Example"))
	before := f.counts(t)
	with := func(mut func(m map[string]any)) map[string]any {
		m := form("Bad Input")
		mut(m)
		return m
	}
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"malformed JSON", `{"person": {`, 400, ""},
		{"not JSON", `hello`, 400, ""},
		{"empty body", ``, 400, ""},
		{"two values", `{} {}`, 400, ""},
		{"oversized", `{"person":{"name":"` + strings.Repeat("x", 70<<10) + `"}}`, 413, ""},
		{"unknown field", with(func(m map[string]any) { m["favouriteColour"] = "green" }), 400, "favouriteColour"},
		{"wrong type", with(func(m map[string]any) { m["needs"] = "repairs" }), 400, "needs"},
		{"bad date", with(func(m map[string]any) { m["admissionDate"] = "2026-02-30" }), 400, ""},
		{"future admission", with(func(m map[string]any) { m["admissionDate"], m["dischargeReadyDate"] = "2027-01-01", "2027-01-02" }), 400, "admissionDate"},
		{"ready before admission", with(func(m map[string]any) { m["dischargeReadyDate"] = "2026-11-01" }), 400, "dischargeReadyDate"},
		{"invalid NHS number", with(func(m map[string]any) { m["person"].(map[string]any)["nhsNumber"] = "943 476 5918" }), 400, "person.nhsNumber"},
		{"no consent to refer", with(func(m map[string]any) { m["consent"] = map[string]any{"toRefer": false} }), 400, "consent.toRefer"},
		{"unknown need", with(func(m map[string]any) { m["needs"] = []string{"repairs", "a-pony"} }), 400, "needs[1]"},
		{"repeated need", with(func(m map[string]any) { m["needs"] = []string{"repairs", "repairs"} }), 400, "needs[1]"},
		{"bad priority", with(func(m map[string]any) { m["priority"] = "whenever" }), 400, "priority"},
		{"bad source", with(func(m map[string]any) { m["source"] = "pigeon" }), 400, "source"},
		{"no name", with(func(m map[string]any) { m["person"].(map[string]any)["name"] = "  " }), 400, "person.name"},
		{"control characters", with(func(m map[string]any) { m["person"].(map[string]any)["name"] = "Ann\x00" }), 400, "person.name"},
		{"wellbeing out of range", with(func(m map[string]any) { m["wellbeing"] = 71 }), 400, "wellbeing"},
	}
	for _, tt := range tests {
		r := c.Do("POST", "/v1/referrals", tt.body)
		if r.Status != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, r.Status, tt.status, r.Body)
			continue
		}
		p := r.Problem(t)
		if tt.field != "" && !strings.Contains(fmt.Sprint(p["errors"]), "field:"+tt.field+" ") {
			t.Errorf("%s: problem does not name %s: %v", tt.name, tt.field, p)
		}
	}
	c.Must(http.StatusUnsupportedMediaType, "POST", "/v1/referrals", "x", "Content-Type", "text/plain")
	// Bad changes to an existing referral are refused the same way.
	for _, body := range []any{`{"to":"nowhere"}`, `{"to":"discharged"}`, `{"to":"triaged","discharge":{"date":"2026-11-23","destination":"own-home"}}`, `{"to":"triaged","extra":1}`} {
		c.Must(http.StatusBadRequest, "POST", "/v1/referrals/"+ref.ID+"/transitions", body, "If-Match", etag)
	}
	c.Must(http.StatusBadRequest, "POST", "/v1/referrals/"+ref.ID+"/first-contact", map[string]any{"at": monday0930.Add(-48 * time.Hour)}, "If-Match", etag)
	c.Must(http.StatusBadRequest, "GET", "/v1/referrals?status=lost", nil)
	c.Must(http.StatusBadRequest, "GET", "/v1/referrals?limit=0", nil)
	c.Must(http.StatusBadRequest, "GET", "/v1/referrals?cursor=nope", nil)
	c.Must(http.StatusBadRequest, "GET", "/v1/referrals?colour=red", nil)
	c.Must(http.StatusBadRequest, "POST", "/v1/referrals/search", map[string]any{"nhsNumber": "123"})
	c.Must(http.StatusNotFound, "GET", "/v1/referrals/not-an-id", nil)
	c.Must(http.StatusNotFound, "GET", "/v1/referrals/01ARZ3NDEKTSV4RRFFQ69G5FAV", nil)
	if after := f.counts(t); !maps(after, before) {
		t.Errorf("bad input wrote something: before %v, after %v", before, after)
	}
}

func maps(a, b map[string]int64) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

func (f *fixture) testAudit(t *testing.T) {
	ref, etag := f.create(t, "coordinator", form("Nia Example"))
	f.as(t, "manager").Must(http.StatusOK, "GET", "/v1/referrals/"+ref.ID, nil)
	f.move(t, "coordinator", ref.ID, etag, "POST", "/notes", map[string]any{"text": "called daughter"})
	f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/referrals?limit=1", nil)
	f.as(t, "coordinator").Must(http.StatusOK, "POST", "/v1/referrals/search", map[string]any{"nhsNumber": "9434765919"})
	var trail struct {
		Items []struct {
			Actor, Action, TraceID, RequestID string
			Roles                             []string
		}
	}
	f.as(t, "partnership-admin").Must(http.StatusOK, "GET", "/v1/referrals/"+ref.ID+"/audit", nil).JSON(t, &trail)
	var actions []string
	for _, e := range trail.Items {
		actions = append(actions, e.Action)
		if e.Actor == "" || e.TraceID == "" || e.RequestID == "" || len(e.Roles) == 0 {
			t.Errorf("entry lacks who or which request: %+v", e)
		}
	}
	if want := []string{"create", "read", "update", "list", "search"}; !slices.Equal(actions, want) {
		t.Errorf("audit actions %v, want %v", actions, want)
	}
	if trail.Items[1].Actor != f.people["manager"].ID {
		t.Errorf("read by %s, want the manager", trail.Items[1].Actor)
	}
	f.as(t, "partnership-admin").Must(http.StatusNotFound, "GET", "/v1/referrals/01ARZ3NDEKTSV4RRFFQ69G5FAV/audit", nil)
}

// rawDump is everything the tenant's keys hold, as Redis stores it, with the keys' names.
func (f *fixture) rawDump(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	keys, err := f.tenant.Admin.Keys(ctx, f.svc.repo.keys.Prefix()+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var raw strings.Builder
	for _, k := range keys {
		switch f.tenant.Admin.Type(ctx, k).Val() {
		case "hash":
			fmt.Fprint(&raw, f.tenant.Admin.HGetAll(ctx, k).Val())
		case "stream":
			fmt.Fprint(&raw, f.tenant.Admin.XRange(ctx, k, "-", "+").Val())
		case "zset":
			fmt.Fprint(&raw, f.tenant.Admin.ZRange(ctx, k, 0, -1).Val())
		case "set":
			fmt.Fprint(&raw, f.tenant.Admin.SMembers(ctx, k).Val())
		case "string":
			fmt.Fprint(&raw, f.tenant.Admin.Get(ctx, k).Val())
		}
		raw.WriteString(k)
	}
	return raw.String()
}

func (f *fixture) testSealedAtRest(t *testing.T) {
	secret := map[string]any{
		"person": map[string]any{"name": "Olive Sealedperson", "dateOfBirth": "1939-07-04", "nhsNumber": "401 023 2137",
			"address": "7 Hidden Lane", "postcode": "OL9 9ZZ", "phone": "07700 900123"},
		"source": "community", "referrer": map[string]any{"organisation": "Oldham Community Team"},
		"consent": map[string]any{"toRefer": true, "toShare": true}, "tenure": "owner-occupier",
		"needs": []string{"clearance"}, "priority": "routine",
	}
	ref, etag := f.create(t, "coordinator", secret)
	f.move(t, "coordinator", ref.ID, etag, "POST", "/notes", map[string]any{"text": "Confidential note about Olive"})
	raw := f.rawDump(t)
	if !strings.Contains(raw, ref.ID) {
		t.Fatal("the referral is not in the raw dump: the test reads the wrong keys")
	}
	for _, plain := range []string{"Olive", "Sealedperson", "1939-07-04", "4010232137", "401 023 2137", "Hidden Lane", "OL9 9ZZ", "07700", "Confidential"} {
		if strings.Contains(raw, plain) {
			t.Errorf("%q is readable in Redis", plain)
		}
	}
	// Found by NHS number through the keyed index all the same.
	var page listPage
	f.as(t, "coordinator").Must(http.StatusOK, "POST", "/v1/referrals/search", map[string]any{"nhsNumber": "4010232137"}).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != ref.ID || page.Items[0].Name != "Olive Sealedperson" {
		t.Errorf("search found %+v", page.Items)
	}
}

// pageAll follows a list's cursors to its end and returns the ids in the order they came.
func pageAll(t *testing.T, c *servicetest.Client, path string) []string {
	t.Helper()
	var got []string
	cursor := ""
	for {
		var page listPage
		c.Must(http.StatusOK, "GET", path+"&cursor="+url.QueryEscape(cursor), nil).JSON(t, &page)
		for _, s := range page.Items {
			got = append(got, s.ID)
		}
		if page.NextCursor == "" {
			return got
		}
		cursor = page.NextCursor
	}
}

func (f *fixture) testLists(t *testing.T) {
	c := f.as(t, "coordinator")
	var made []string
	for i := range 7 {
		m := form(fmt.Sprint("List Person ", i))
		m["needs"] = []string{"homelessness"}
		m["priority"] = "emergency"
		m["source"] = "gp"
		ref, _ := f.create(t, "coordinator", m)
		made = append(made, ref.ID)
		f.clock.Advance(time.Millisecond)
	}
	slices.Reverse(made)
	var got []string
	cursor := ""
	for {
		var page listPage
		c.Must(http.StatusOK, "GET", "/v1/referrals?source=gp&limit=3&cursor="+cursor, nil).JSON(t, &page)
		if len(page.Items) > 3 {
			t.Fatalf("page of %d", len(page.Items))
		}
		for _, s := range page.Items {
			got = append(got, s.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if !slices.Equal(got, made) {
		t.Errorf("paged\n got %v\nwant %v", got, made)
	}
	// Two filters: the driving index and one applied while walking.
	var page listPage
	c.Must(http.StatusOK, "GET", "/v1/referrals?need=homelessness&source=gp&status=received", nil).JSON(t, &page)
	if len(page.Items) != 7 {
		t.Errorf("filtered list has %d, want 7", len(page.Items))
	}
	// Oldest first pages the same referrals the other way.
	oldestFirst := slices.Clone(made)
	slices.Reverse(oldestFirst)
	if oldest := pageAll(t, c, "/v1/referrals?source=gp&sort=oldest&limit=3"); !slices.Equal(oldest, oldestFirst) {
		t.Errorf("oldest first\n got %v\nwant %v", oldest, oldestFirst)
	}
	// A delay reason is applied while walking, like the source.
	delayed := form("Delayed Person")
	delayed["source"], delayed["delayReason"] = "gp", "awaiting-transport"
	late, _ := f.create(t, "coordinator", delayed)
	if got := pageAll(t, c, "/v1/referrals?source=gp&delayReason=awaiting-transport&limit=2"); !slices.Equal(got, []string{late.ID}) {
		t.Errorf("delay reason filter: %v, want only %s", got, late.ID)
	}
	// By response due: the urgent one (four working days) comes after the emergencies (24 hours)
	// although it was referred last, and every page continues where the last one ended.
	var due []Summary
	cursor = ""
	for {
		var page listPage
		c.Must(http.StatusOK, "GET", "/v1/referrals?source=gp&sort=due&limit=3&cursor="+url.QueryEscape(cursor), nil).JSON(t, &page)
		due = append(due, page.Items...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(due) != len(made)+1 || due[len(due)-1].ID != late.ID {
		t.Errorf("by response due: %d items ending %s, want %d ending %s", len(due), due[len(due)-1].ID, len(made)+1, late.ID)
	}
	for i := 1; i < len(due); i++ {
		if due[i].ResponseDueAt.Before(due[i-1].ResponseDueAt) {
			t.Errorf("by response due: %s (due %s) after %s (due %s)", due[i].ID, due[i].ResponseDueAt, due[i-1].ID, due[i-1].ResponseDueAt)
		}
	}
	for _, bad := range []string{"sort=sideways", "delayReason=bored"} {
		var prob httpapi.Problem
		c.Must(http.StatusBadRequest, "GET", "/v1/referrals?"+bad, nil).JSON(t, &prob)
		if field, _, _ := strings.Cut(bad, "="); len(prob.Errors) != 1 || prob.Errors[0].Field != field {
			t.Errorf("%s: problem %+v, want one error on %s", bad, prob, field)
		}
	}
	// Overdue: the emergency ones are due in 24 hours.
	f.clock.Advance(25 * time.Hour)
	var overdue []string
	cursor = ""
	for {
		var page listPage
		c.Must(http.StatusOK, "GET", "/v1/referrals?overdue=true&priority=emergency&limit=2&cursor="+cursor, nil).JSON(t, &page)
		for _, s := range page.Items {
			if !s.Overdue {
				t.Errorf("%s listed as overdue but is not", s.ID)
			}
			overdue = append(overdue, s.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	slices.Sort(overdue)
	sorted := slices.Sorted(slices.Values(made))
	for _, id := range sorted {
		if !slices.Contains(overdue, id) {
			t.Errorf("%s is overdue but not listed", id)
		}
	}
	if len(overdue) != len(slices.Compact(slices.Clone(overdue))) {
		t.Errorf("overdue pages repeat: %v", overdue)
	}
	f.clock.Set(monday0930)
}

func (f *fixture) testDeadlines(t *testing.T) {
	admin := f.as(t, "partnership-admin")
	admin.Must(http.StatusBadRequest, "PUT", "/v1/closure-days", map[string]any{"days": []string{"2031-01-01"}})
	admin.Must(http.StatusOK, "PUT", "/v1/closure-days", map[string]any{"days": []string{"2026-12-24", "2026-11-25"}})
	var days struct{ Days []string }
	f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/closure-days", nil).JSON(t, &days)
	if !slices.Equal(days.Days, []string{"2026-11-25", "2026-12-24"}) {
		t.Errorf("closure days %v", days.Days)
	}
	tests := []struct {
		at       time.Time
		priority string
		want     time.Time
	}{
		// Monday 09:30, urgent: Tue, (Wed closed), Thu, Fri.
		{monday0930, "urgent", time.Date(2026, 11, 27, 9, 30, 0, 0, calendar.London())},
		// Friday 16:00, routine 10 working days: 14–18 and 21–23 Dec count 8; the closure day
		// 24th, Christmas Day and Boxing Day's substitute (Mon 28th) do not; 29th and 30th make 10.
		{time.Date(2026, 12, 11, 16, 0, 0, 0, calendar.London()), "routine", time.Date(2026, 12, 30, 16, 0, 0, 0, calendar.London())},
		// Emergency: 24 clock hours, weekends included.
		{time.Date(2026, 11, 28, 22, 15, 0, 0, calendar.London()), "emergency", time.Date(2026, 11, 29, 22, 15, 0, 0, calendar.London())},
	}
	for _, tt := range tests {
		f.clock.Set(tt.at)
		m := form("Deadline Person")
		m["priority"] = tt.priority
		ref, _ := f.create(t, "coordinator", m)
		if !ref.Response.DueAt.Equal(tt.want) {
			t.Errorf("%s at %s: due %s, want %s", tt.priority, tt.at, ref.Response.DueAt.In(calendar.London()), tt.want)
		}
	}
	admin.Must(http.StatusOK, "PUT", "/v1/closure-days", map[string]any{"days": []string{}})
	f.clock.Set(monday0930)
}

func (f *fixture) testConsent(t *testing.T) {
	m := form("Pat Example")
	m["consent"] = map[string]any{"toRefer": true, "toShare": false}
	ref, etag := f.create(t, "coordinator", m)
	c := f.as(t, "coordinator")
	p := c.Must(http.StatusConflict, "POST", "/v1/referrals/"+ref.ID+"/actions",
		map[string]any{"type": "minor-repair", "ownerOrganisation": "First Choice Homes Oldham", "urgency": "urgent"}, "If-Match", etag).Problem(t)
	if p["type"] != "https://homeward.dev/problems/consent-to-share-required" {
		t.Errorf("problem %v", p)
	}
	// Work inside the referring organisation needs no consent to share.
	etag = f.move(t, "coordinator", ref.ID, etag, "POST", "/actions", map[string]any{"type": "deep-clean", "ownerOrganisation": "Royal Oldham Hospital", "urgency": "urgent"})
	etag = f.move(t, "coordinator", ref.ID, etag, "PATCH", "", map[string]any{"consentToShare": true})
	f.move(t, "coordinator", ref.ID, etag, "POST", "/actions", map[string]any{"type": "minor-repair", "ownerOrganisation": "First Choice Homes Oldham", "urgency": "urgent"})
}

func (f *fixture) testRetention(t *testing.T) {
	ctx := context.Background()
	m := form("Quin Retained")
	m["person"].(map[string]any)["nhsNumber"] = "1234567881"
	ref, etag := f.create(t, "coordinator", m)
	f.move(t, "coordinator", ref.ID, etag, "POST", "/transitions", map[string]any{"to": "declined", "reason": "Quin asked us not to"})
	// Not yet due: nothing erased.
	if n, err := f.svc.Sweep(ctx, monday0930.AddDate(0, 0, 2921)); err != nil || n != 0 {
		t.Fatalf("early sweep erased %d, %v", n, err)
	}
	n, err := f.svc.Sweep(ctx, monday0930.AddDate(0, 0, 2923))
	if err != nil || n < 1 {
		t.Fatalf("sweep erased %d, %v", n, err)
	}
	var erased Referral
	f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/referrals/"+ref.ID, nil).JSON(t, &erased)
	if erased.Person != nil || erased.ErasedAt == nil || erased.History[0].Reason != "" {
		t.Errorf("after retention: %+v", erased)
	}
	if erased.Needs[0] != "repairs" || erased.Status != StatusDeclined || erased.Priority != "urgent" {
		t.Errorf("de-identified facts lost: %+v", erased)
	}
	var page listPage
	f.as(t, "coordinator").Must(http.StatusOK, "POST", "/v1/referrals/search", map[string]any{"nhsNumber": "1234567881"}).JSON(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("erased person still found by NHS number: %+v", page.Items)
	}
	var trail struct {
		Items []struct{ Action, Actor string }
	}
	f.as(t, "partnership-admin").Must(http.StatusOK, "GET", "/v1/referrals/"+ref.ID+"/audit", nil).JSON(t, &trail)
	if !slices.ContainsFunc(trail.Items, func(e struct{ Action, Actor string }) bool {
		return e.Action == "erase" && e.Actor == "system:retention"
	}) {
		t.Errorf("no erasure in the audit trail: %+v", trail.Items)
	}
	if n, _ := f.svc.Sweep(ctx, monday0930.AddDate(0, 0, 2923)); n != 0 {
		t.Errorf("second sweep erased %d again", n)
	}
}

func (f *fixture) testACL(t *testing.T) {
	ctx := context.Background()
	rdb := f.tenant.ServiceClient(Name)
	defer rdb.Close()
	ref, _ := f.create(t, "coordinator", form("Ray Example"))
	auditKey := f.svc.repo.keys.Audit(auditKind, ref.ID)
	msgs, err := rdb.XRange(ctx, auditKey, "-", "+").Result()
	if err != nil || len(msgs) == 0 {
		t.Fatalf("referral user cannot read its audit trail: %v", err)
	}
	for name, cmd := range map[string]func() error{
		"XDEL audit":          func() error { return rdb.XDel(ctx, auditKey, msgs[0].ID).Err() },
		"XTRIM audit":         func() error { return rdb.XTrimMaxLen(ctx, auditKey, 0).Err() },
		"DEL audit":           func() error { return rdb.Del(ctx, auditKey).Err() },
		"RENAME audit":        func() error { return rdb.Rename(ctx, auditKey, f.svc.repo.keys.Prefix()+"referral:x").Err() },
		"another tenant":      func() error { return rdb.Set(ctx, "t:{kirklees}:referral:x", "1", 0).Err() },
		"KEYS":                func() error { return rdb.Keys(ctx, "*").Err() },
		"FLUSHALL":            func() error { return rdb.FlushAll(ctx).Err() },
		"reporting aggregate": func() error { return rdb.Set(ctx, f.svc.repo.keys.Prefix()+"agg:x", "1", 0).Err() },
	} {
		if err := cmd(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("%s as the referral user: %v, want NOPERM", name, err)
		}
	}
	if n := f.tenant.Admin.XLen(ctx, auditKey).Val(); n != int64(len(msgs)) {
		t.Errorf("audit stream has %d entries, had %d", n, len(msgs))
	}
}

func (f *fixture) testKratosDown(t *testing.T) {
	c := f.as(t, "manager")
	ref, _ := f.create(t, "coordinator", form("Sam Example"))
	c.Must(http.StatusOK, "GET", "/v1/referrals/"+ref.ID, nil)
	fresh := f.tenant.Person(t, f.base, "late@oldham.example", "oldham", "coordinator")
	if err := f.tenant.Identity.Stop(); err != nil {
		t.Fatal(err)
	}
	// A new session cannot be checked: refused with 503, never let through.
	p := fresh.As(t).Must(http.StatusServiceUnavailable, "GET", "/v1/referrals/"+ref.ID, nil).Problem(t)
	if p["type"] != "https://homeward.dev/problems/unavailable" {
		t.Errorf("problem %v", p)
	}
	f.anon.As(t).Must(http.StatusServiceUnavailable, "GET", "/readyz", nil)
	// A session checked moments ago is still served from the cache.
	c.Must(http.StatusOK, "GET", "/v1/referrals/"+ref.ID, nil)
}

func (f *fixture) testOverdueActions(t *testing.T) {
	c := f.as(t, "coordinator")
	start := f.clock.Now()
	var want []string
	for i, urgency := range []string{"routine", "emergency", "emergency", "urgent"} {
		ref, etag := f.create(t, "coordinator", form(fmt.Sprint("Worklist Person ", i)))
		r := c.Must(http.StatusOK, "POST", "/v1/referrals/"+ref.ID+"/actions",
			map[string]any{"type": "minor-repair", "ownerOrganisation": "Royal Oldham Hospital", "urgency": urgency}, "If-Match", etag)
		var got Referral
		r.JSON(t, &got)
		if i == 2 {
			// Done in time: never overdue.
			f.move(t, "coordinator", ref.ID, r.Header.Get("ETag"), "PATCH", "/actions/"+got.Actions[0].ID, map[string]any{"status": "done"})
			continue
		}
		if urgency == "emergency" {
			want = append(want, got.Actions[0].ID)
		}
	}
	f.clock.Advance(25 * time.Hour) // past the emergency (24 h) actions, not the others
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		var page struct {
			Items      []OverdueAction
			NextCursor string
		}
		c.Must(http.StatusOK, "GET", "/v1/actions/overdue?limit=1&cursor="+cursor, nil).JSON(t, &page)
		for _, a := range page.Items {
			if a.Name == "" || a.Urgency != "emergency" {
				t.Errorf("worklist line %+v", a)
			}
			got = append(got, a.ActionID)
		}
		if page.NextCursor == "" || pages > 10 {
			break
		}
		cursor = page.NextCursor
	}
	// Earlier subtests' emergency actions may be overdue too; these two must be listed, once each.
	for _, id := range want {
		n := 0
		for _, g := range got {
			if g == id {
				n++
			}
		}
		if n != 1 {
			t.Errorf("action %s listed %d times in %v", id, n, got)
		}
	}
	f.as(t, "commissioner").Must(http.StatusForbidden, "GET", "/v1/actions/overdue", nil)
	c.Must(http.StatusBadRequest, "GET", "/v1/actions/overdue?cursor=nonsense", nil)
	var mine struct{ Items []OverdueAction }
	f.as(t, "referrer2").Must(http.StatusOK, "GET", "/v1/actions/overdue", nil).JSON(t, &mine)
	if len(mine.Items) != 0 {
		t.Errorf("a referrer sees others' actions: %+v", mine.Items)
	}
	f.clock.Set(start)
}

func (f *fixture) testRedisDown(t *testing.T) {
	c := f.as(t, "coordinator")
	ref, _ := f.create(t, "coordinator", form("Una Durable"))
	if err := f.tenant.Redis.Kill(); err != nil {
		t.Fatal(err)
	}
	for _, call := range []struct{ method, path string }{{"GET", "/v1/referrals/" + ref.ID}, {"POST", "/v1/referrals"}, {"GET", "/v1/referrals"}} {
		var body any
		if call.method == "POST" {
			body = form("Vic Example")
		}
		r := c.Must(http.StatusServiceUnavailable, call.method, call.path, body, "Idempotency-Key", "storage-down-1")
		if p := r.Problem(t); p["type"] != "https://homeward.dev/problems/unavailable" || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s: %v", call.method, call.path, p)
		}
	}
	f.anon.As(t).Must(http.StatusServiceUnavailable, "GET", "/readyz", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.tenant.Redis.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// The service reconnects on its own (go-redis retries a failed dial every second) ...
	deadline := time.Now().Add(15 * time.Second)
	for c.Do("GET", "/readyz", nil).Status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the service did not reconnect to Redis")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// ... and acknowledged writes survived the crash (appendfsync always).
	var back Referral
	c.Must(http.StatusOK, "GET", "/v1/referrals/"+ref.ID, nil).JSON(t, &back)
	if back.Person == nil || back.Person.Name != "Una Durable" {
		t.Errorf("after the crash: %+v", back.Person)
	}
	c.Must(http.StatusCreated, "POST", "/v1/referrals", form("Vic Example"), "Idempotency-Key", "storage-down-1")
}

func (f *fixture) testCounts(t *testing.T) {
	counts := func() StatusCounts {
		var c StatusCounts
		f.as(t, "manager").Must(http.StatusOK, "GET", "/v1/referrals/counts", nil).JSON(t, &c)
		return c
	}
	before := counts()
	if len(before.ByStatus) != len(Statuses) {
		t.Errorf("counts name %d statuses, want all %d", len(before.ByStatus), len(Statuses))
	}
	ref, etag := f.create(t, "coordinator", form("Count Example"))
	f.create(t, "coordinator", form("Count Example Two"))
	f.move(t, "coordinator", ref.ID, etag, "POST", "/transitions", map[string]any{"to": StatusTriaged})
	after := counts()
	if after.ByStatus[StatusReceived] != before.ByStatus[StatusReceived]+1 || after.ByStatus[StatusTriaged] != before.ByStatus[StatusTriaged]+1 ||
		after.Total != before.Total+2 {
		t.Errorf("counts before %+v, after %+v: want one more received, one more triaged, two more in all", before, after)
	}
	f.as(t, "referrer").Must(http.StatusForbidden, "GET", "/v1/referrals/counts", nil)
	f.as(t, "manager").Must(http.StatusBadRequest, "GET", "/v1/referrals/counts?status=received", nil)
}

// What happened days ago may be recorded within policy.lateEntryDays (31 by default), marked as a
// late entry in the record and the audit trail; further back is a 422 naming the limit.
func (f *fixture) testLateEntries(t *testing.T) {
	defer f.clock.Set(monday0930)
	received := f.clock.Now()
	ref, etag := f.create(t, "coordinator", form("Late Person"))
	f.clock.Set(received.Add(5 * 24 * time.Hour))
	r := f.as(t, "coordinator").Must(http.StatusOK, "POST", "/v1/referrals/"+ref.ID+"/first-contact", map[string]any{"at": received.Add(time.Hour)}, "If-Match", etag)
	var got Referral
	r.JSON(t, &got)
	if len(got.LateEntries) != 1 || got.LateEntries[0].What != "first-contact" || got.LateEntries[0].On.String() != "2026-11-23" ||
		got.LateEntries[0].By.ID != f.people["coordinator"].ID || !got.LateEntries[0].RecordedAt.Equal(f.clock.Now()) {
		t.Errorf("late entries %+v", got.LateEntries)
	}
	var trail struct {
		Items []struct{ Action, Detail string }
	}
	f.as(t, "partnership-admin").Must(http.StatusOK, "GET", "/v1/referrals/"+ref.ID+"/audit", nil).JSON(t, &trail)
	if last := trail.Items[len(trail.Items)-1]; !strings.Contains(last.Detail, "late entry: first-contact on 2026-11-23") {
		t.Errorf("the audit trail does not say the entry was late: %+v", last)
	}
	// Today's first contact is no late entry.
	f.clock.Set(monday0930)
	today, etag := f.create(t, "coordinator", form("Today Person"))
	var onTime Referral
	f.as(t, "coordinator").Must(http.StatusOK, "POST", "/v1/referrals/"+today.ID+"/first-contact", map[string]any{"at": f.clock.Now()}, "If-Match", etag).JSON(t, &onTime)
	if len(onTime.LateEntries) != 0 {
		t.Errorf("a first contact today is marked late: %+v", onTime.LateEntries)
	}
	// Forty days on, the first contact of the day the referral came is beyond the window.
	old, etag := f.create(t, "coordinator", form("Old Person"))
	f.clock.Set(monday0930.Add(40 * 24 * time.Hour))
	var prob httpapi.Problem
	f.as(t, "coordinator").Must(http.StatusUnprocessableEntity, "POST", "/v1/referrals/"+old.ID+"/first-contact", map[string]any{"at": monday0930.Add(time.Hour)}, "If-Match", etag).JSON(t, &prob)
	if len(prob.Errors) != 1 || prob.Errors[0].Field != "at" || !strings.Contains(prob.Errors[0].Message, "up to 31 days late (policy.lateEntryDays)") {
		t.Errorf("problem %+v", prob)
	}
	var after Referral
	f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/referrals/"+old.ID, nil).JSON(t, &after)
	if after.Response.FirstContactAt != nil {
		t.Errorf("a refused late entry was written")
	}
}

const importHeader = "importKey,receivedAt,name,dateOfBirth,nhsNumber,source,referrerOrganisation,consentToRefer,consentToShare,tenure,needs,priority,dischargeReadyDate,delayReason,firstContactAt,history,dischargeDestination\n"

// A partnership admin imports past referrals: a clean file is written with its history and
// provenance, a second send changes nothing, and a file with any problem writes nothing and names them all.
func (f *fixture) testImport(t *testing.T) {
	defer f.clock.Set(monday0930)
	admin := f.as(t, "partnership-admin")
	coordinator := f.as(t, "coordinator")
	csvFile := importHeader +
		"old-1,2026-09-01T10:15,Imported One,1950-01-02,999 000 0018,ward,Royal Oldham Hospital,yes,yes,owner-occupier,repairs;adaptations,urgent,2026-09-10,awaiting-equipment-adaptations-to-housing,2026-09-02T09:00,triaged@2026-09-02;assessing@2026-09-03;ready-for-discharge@2026-09-12;discharged@2026-09-14;closed@2026-10-20,own-home\n" +
		"old-2,2026-10-05,Imported Two,,,gp,Oldham GP Practice,yes,no,private-rented,homelessness,routine,,,,,\n" +
		"old-3,2026-10-06,Imported Three,,,community,Oldham Council,yes,yes,social-rented,repairs,emergency,,,,declined@2026-10-07,\n"
	before := f.countReferrals(t)
	var rep app.ImportReport
	admin.Must(http.StatusOK, "POST", "/v1/imports?layout=referrals", csvFile, "Content-Type", "text/csv", "X-Import-File", "oldham-2026.csv").JSON(t, &rep)
	if rep.Rows != 3 || rep.Imported != 3 || rep.Unchanged != 0 || len(rep.SHA256) != 64 || rep.File != "oldham-2026.csv" {
		t.Fatalf("report %+v", rep)
	}
	if got := f.countReferrals(t); got != before+3 {
		t.Errorf("%d referrals after importing 3 to %d", got, before)
	}
	var closed listPage
	coordinator.Must(http.StatusOK, "GET", "/v1/referrals?status=closed&source=ward", nil).JSON(t, &closed)
	var one Referral
	for _, s := range closed.Items {
		if s.Name == "Imported One" {
			coordinator.Must(http.StatusOK, "GET", "/v1/referrals/"+s.ID, nil).JSON(t, &one)
		}
	}
	if one.ID == "" || !one.ReceivedAt.Equal(time.Date(2026, 9, 1, 10, 15, 0, 0, calendar.London())) || len(one.History) != 5 ||
		one.Discharge == nil || one.Discharge.Date.String() != "2026-09-14" || *one.Discharge.DelayedDays != 4 || one.ClosedAt == nil ||
		one.Response.Met == nil || !*one.Response.Met || len(one.FollowUps) != 2 {
		t.Fatalf("imported referral %+v", one)
	}
	var trail struct {
		Items []struct{ Action, Detail string }
	}
	admin.Must(http.StatusOK, "GET", "/v1/referrals/"+one.ID+"/audit", nil).JSON(t, &trail)
	if len(trail.Items) == 0 || trail.Items[0].Action != "create" || trail.Items[0].Detail != "imported from oldham-2026.csv (sha256 "+rep.SHA256+") row 2" {
		t.Errorf("the audit trail does not say where the referral came from: %+v", trail.Items)
	}
	// Imported personal data is sealed at rest like any other.
	raw := f.rawDump(t)
	if !strings.Contains(raw, one.ID) {
		t.Fatal("the imported referral is not in the raw dump")
	}
	for _, plain := range []string{"Imported One", "1950-01-02", "9990000018", "999 000 0018"} {
		if strings.Contains(raw, plain) {
			t.Errorf("imported %q is readable in Redis", plain)
		}
	}
	// Sending the same file again changes nothing.
	admin.Must(http.StatusOK, "POST", "/v1/imports?layout=referrals", csvFile, "Content-Type", "text/csv", "X-Import-File", "oldham-2026.csv").JSON(t, &rep)
	if rep.Imported != 0 || rep.Unchanged != 3 || f.countReferrals(t) != before+3 {
		t.Errorf("a second import: %+v", rep)
	}
	// A file with problems writes nothing and names every one.
	bad := importHeader +
		"bad-1,2026-10-01,Bad One,,999 000 0019,ward,Royal Oldham Hospital,yes,yes,owner-occupier,repairs,urgent,,,,,\n" +
		"bad-2,2031-01-01,Bad Two,,,ward,Royal Oldham Hospital,yes,yes,owner-occupier,repairs,urgent,,,,,\n" +
		"bad-3,2026-10-01,Bad Three,,,ward,Royal Oldham Hospital,yes,yes,owner-occupier,repairs,urgent,,,,assessing@2026-10-02,\n" +
		"bad-3,2026-10-01,Bad Four,,,ward,Royal Oldham Hospital,maybe,yes,owner-occupier,sofa,urgent,,,,,\n" +
		"good-5,2026-10-01,Good Five,,,ward,Royal Oldham Hospital,yes,yes,owner-occupier,repairs,urgent,,,,,\n"
	p := admin.Must(http.StatusUnprocessableEntity, "POST", "/v1/imports?layout=referrals", bad, "Content-Type", "text/csv", "X-Import-File", "bad.csv")
	var prob httpapi.Problem
	p.JSON(t, &prob)
	var where []string
	for _, e := range prob.ImportErrors {
		where = append(where, fmt.Sprintf("%d %s", e.Row, e.Column))
	}
	for _, want := range []string{"2 nhsNumber", "3 receivedAt", "4 history", "5 importKey", "5 consentToRefer", "5 needs"} {
		if !slices.Contains(where, want) {
			t.Errorf("no error at row/column %q: %v", want, prob.ImportErrors)
		}
	}
	if f.countReferrals(t) != before+3 {
		t.Errorf("a file with problems wrote something")
	}
	// Asked for CSV, the same problems come as a file to fix the import by.
	asCSV := admin.Must(http.StatusUnprocessableEntity, "POST", "/v1/imports?layout=referrals", bad, "Content-Type", "text/csv", "X-Import-File", "bad.csv", "Accept", "text/csv")
	records, err := csv.NewReader(bytes.NewReader(asCSV.Body)).ReadAll()
	if err != nil || !strings.HasPrefix(asCSV.Header.Get("Content-Type"), "text/csv") || len(records) != len(prob.ImportErrors)+1 ||
		!slices.Equal(records[0], []string{"file", "row", "column", "message"}) || !slices.Equal(records[1][:3], []string{"bad.csv", "2", "nhsNumber"}) {
		t.Errorf("problems as CSV (%v): %q", err, records)
	}
	// Old records without keys: each row's key is made from its values, so sending it again changes nothing.
	keyless := "receivedAt,name,source,referrerOrganisation,consentToRefer,consentToShare,tenure,needs,priority\n" +
		"2026-10-12,Keyless Person,ward,Royal Oldham Hospital,yes,yes,owner-occupier,repairs,routine\n"
	for i, want := range []app.ImportReport{{Imported: 1}, {Unchanged: 1}} {
		admin.Must(http.StatusOK, "POST", "/v1/imports?layout=referrals", keyless, "Content-Type", "text/csv").JSON(t, &rep)
		if rep.Imported != want.Imported || rep.Unchanged != want.Unchanged {
			t.Errorf("keyless send %d: %+v", i+1, rep)
		}
	}
	before++

	// 50 MB of garbage under a good header is answered with the error limit's worth of problems,
	// and a file over the size limit is refused whole; neither writes anything.
	garbage := make([]byte, 50<<20)
	rand.NewChaCha8([32]byte{13}).Read(garbage)
	var lots httpapi.Problem
	admin.Must(http.StatusUnprocessableEntity, "POST", "/v1/imports?layout=referrals", importHeader+string(garbage), "Content-Type", "text/csv").JSON(t, &lots)
	if len(lots.ImportErrors) == 0 || len(lots.ImportErrors) > importer.MaxErrors+1 {
		t.Errorf("garbage answered with %d problems", len(lots.ImportErrors))
	}
	admin.Must(http.StatusRequestEntityTooLarge, "POST", "/v1/imports?layout=referrals", importHeader+strings.Repeat("x", app.MaxImportBytes), "Content-Type", "text/csv")
	if f.countReferrals(t) != before+3 {
		t.Errorf("garbage wrote something")
	}

	// The published example imports cleanly, and docs/import.md describes every column of the layout.
	root := testenv.RepoRoot(t)
	example, err := os.ReadFile(filepath.Join(root, "docs", "examples", "referrals.csv"))
	if err != nil {
		t.Fatal(err)
	}
	admin.Must(http.StatusOK, "POST", "/v1/imports?layout=referrals", string(example), "Content-Type", "text/csv", "X-Import-File", "referrals.csv").JSON(t, &rep)
	if rep.Imported != 3 {
		t.Errorf("the example imported %+v", rep)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "import.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ImportLayout.ColumnNames() {
		if !strings.Contains(string(doc), "`"+c+"`") {
			t.Errorf("docs/import.md does not describe column %s", c)
		}
	}
	admin.Must(http.StatusUnsupportedMediaType, "POST", "/v1/imports?layout=referrals", csvFile)
	admin.Must(http.StatusBadRequest, "POST", "/v1/imports?layout=units", csvFile, "Content-Type", "text/csv")
	coordinator.Must(http.StatusForbidden, "POST", "/v1/imports?layout=referrals", csvFile, "Content-Type", "text/csv")
}

// countReferrals is how many referrals the partnership has.
func (f *fixture) countReferrals(t *testing.T) int64 {
	t.Helper()
	var counts StatusCounts
	f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/referrals/counts", nil).JSON(t, &counts)
	return counts.Total
}

const workHeader = "importKey,receivedAt,name,source,referrerOrganisation,consentToRefer,consentToShare,tenure,needs,priority,history,dischargeDestination,keyWorkerId,keyWorkerName,actions,followUps\n"

// A referral's key worker, actions and follow-up results are replayed through the live API's steps
// at their own times, so what the live API would refuse is refused here too.
func (f *fixture) testImportWork(t *testing.T) {
	defer f.clock.Set(monday0930)
	admin := f.as(t, "partnership-admin")
	history := "triaged@2026-06-02;assessing@2026-06-03;actions-in-progress@2026-06-04;ready-for-discharge@2026-06-10;discharged@2026-06-12;follow-up@2026-07-12;closed@2026-09-11"
	good := workHeader +
		"work-1,2026-06-01T10:00,Imported Worker,ward,Royal Oldham Hospital,yes,yes,owner-occupier,adaptations,urgent," + history + ",own-home,kw-1,Key Worker," +
		"2026-06-04T10:00|adaptation|Oldham Council|urgent|done|2026-06-08T12:00;2026-06-05|minor-repair|Care and Repair|routine|cancelled|2026-06-06,30|at-home|45;91|at-home|52\n"
	var rep app.ImportReport
	admin.Must(http.StatusOK, "POST", "/v1/imports?layout=referrals", good, "Content-Type", "text/csv", "X-Import-File", "work.csv").JSON(t, &rep)
	if rep.Imported != 1 {
		t.Fatalf("report %+v", rep)
	}
	var page listPage
	f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/referrals?status=closed&limit=200", nil).JSON(t, &page)
	var ref Referral
	for _, it := range page.Items {
		if it.Name == "Imported Worker" {
			f.as(t, "coordinator").Must(http.StatusOK, "GET", "/v1/referrals/"+it.ID, nil).JSON(t, &ref)
		}
	}
	if ref.KeyWorker == nil || ref.KeyWorker.ID != "kw-1" || len(ref.Actions) != 2 || ref.Actions[0].Status != "done" || ref.Actions[1].Status != "cancelled" ||
		ref.Actions[0].CompletedAt == nil || !ref.Actions[0].CompletedAt.Equal(time.Date(2026, 6, 8, 12, 0, 0, 0, calendar.London())) ||
		len(ref.FollowUps) != 2 || ref.FollowUps[0].Result != "at-home" || ref.FollowUps[1].Wellbeing == nil || *ref.FollowUps[1].Wellbeing != 52 {
		t.Fatalf("imported work %+v", ref)
	}

	row := func(key, consentToShare, hist, actions, followUps, keyWorker string) string {
		return key + ",2026-06-01T10:00,Imported Worker,ward,Royal Oldham Hospital,yes," + consentToShare + ",owner-occupier,adaptations,urgent," + hist + ",own-home," + keyWorker + "," + actions + "," + followUps + "\n"
	}
	bad := workHeader +
		row("wb-1", "no", history, "2026-06-04|adaptation|Oldham Council|urgent", "", ",") + // another organisation without consent to share
		row("wb-2", "yes", history, "2026-09-12|adaptation|Royal Oldham Hospital|urgent", "", ",") + // after the referral closed
		row("wb-3", "yes", "triaged@2026-06-02", "", "30|at-home", ",") + // no discharge
		row("wb-4", "yes", history, "2026-06-04|adaptation|Royal Oldham Hospital|urgent|done|2026-06-03", "", ",") + // done before commissioned
		row("wb-5", "yes", history, "", "", ",Key Worker") + // a name without an id
		row("wb-6", "yes", history, "", "91|at-home||2026-10-01", ",") + // recorded after closing
		row("wb-7", "yes", history, "2026-06-04|sofa|Royal Oldham Hospital|urgent", "30|happy", ",")
	var prob httpapi.Problem
	admin.Must(http.StatusUnprocessableEntity, "POST", "/v1/imports?layout=referrals", bad, "Content-Type", "text/csv", "X-Import-File", "bad-work.csv").JSON(t, &prob)
	var where []string
	for _, e := range prob.ImportErrors {
		where = append(where, fmt.Sprintf("%d %s", e.Row, e.Column))
	}
	for _, want := range []string{"2 actions", "3 actions", "4 followUps", "5 actions", "6 keyWorkerId", "7 followUps", "8 actions", "8 followUps"} {
		if !slices.Contains(where, want) {
			t.Errorf("no error at row/column %q: %v", want, prob.ImportErrors)
		}
	}
}

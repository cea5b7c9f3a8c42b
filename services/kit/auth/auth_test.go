package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// TestPermissionTable pins every cell of the role × permission table.
func TestPermissionTable(t *testing.T) {
	all := []Permission{ReferralCreate, ReferralReadOwn, ReferralRead, ReferralManage, ReferralWork, AuditRead, CalendarManage, HousingRead, HousingManage, ReportRead, ReportRebuild, RecordsImport, UsersManage}
	want := map[Role]string{
		//                    create own read manage work audit cal hread hmanage report rebuild import users
		RoleReferrer:         "1 1 0 0 0 0 0 0 0 0 0 0 0",
		RoleCoordinator:      "1 1 1 1 1 0 0 1 1 1 0 0 0",
		RoleHousingOfficer:   "0 1 1 0 1 0 0 1 1 1 0 0 0",
		RoleManager:          "1 1 1 1 1 0 0 1 1 1 0 0 0",
		RoleCommissioner:     "0 0 0 0 0 0 0 0 0 1 0 0 0",
		RolePartnershipAdmin: "0 0 0 0 0 1 1 0 0 1 1 1 1",
	}
	for _, role := range Roles {
		cells := strings.Fields(want[role])
		for i, perm := range all {
			if got := Allowed([]Role{role}, perm); got != (cells[i] == "1") {
				t.Errorf("%s %s: allowed=%v", role, perm, got)
			}
		}
	}
	if Allowed(nil, ReportRead) || Allowed([]Role{"superuser"}, ReportRead) {
		t.Error("no role, or an unknown one, grants something")
	}
	if !Allowed([]Role{RoleReferrer, RoleCommissioner}, ReportRead) {
		t.Error("roles do not combine")
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestAuthenticatorAgainstKratos checks the cache against a real Kratos: many concurrent requests
// of one session make one Kratos call per cache period.
func TestAuthenticatorAgainstKratos(t *testing.T) {
	id := testenv.Kratos(t, kratosserver.Options{})
	ctx := context.Background()
	_, token, err := id.CreateAndLogin(ctx, testenv.Person{Email: "kw@oldham.example", Name: "Key Worker", Password: "a long test password 1",
		MetadataPublic: map[string]any{"partnership": "oldham", "roles": []any{"coordinator", "not-a-role"}}})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now()}
	reg := prometheus.NewRegistry()
	a, err := New(Options{Partnership: "oldham", KratosPublicURL: id.PublicURL(), Registerer: reg, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Middleware(Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := From(r.Context())
		_, _ = w.Write([]byte(p.Email + " " + strings.Join(p.RoleNames(), ",")))
	}), ReferralRead))
	call := func(header, value string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/", nil)
		if header != "" {
			req.Header.Set(header, value)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec := call("Authorization", "Bearer "+token); rec.Code != http.StatusOK || rec.Body.String() != "kw@oldham.example coordinator" {
				t.Errorf("status %d: %s", rec.Code, rec.Body)
			}
		}()
	}
	wg.Wait()
	checks := func() float64 { return testutil.ToFloat64(a.checks.WithLabelValues("accepted")) }
	if n := checks(); n != 1 {
		t.Errorf("64 concurrent requests made %v Kratos calls, want 1", n)
	}
	clk.advance(29 * time.Second)
	call("X-Session-Token", token)
	if n := checks(); n != 1 {
		t.Errorf("within the cache period: %v Kratos calls, want 1", n)
	}
	clk.advance(2 * time.Second)
	call("X-Session-Token", token)
	if n := checks(); n != 2 {
		t.Errorf("after the cache period: %v Kratos calls, want 2", n)
	}
	for name, tc := range map[string]struct {
		header, value string
		status        int
	}{
		"no credential": {"", "", http.StatusUnauthorized},
		"unknown token": {"Authorization", "Bearer ory_st_nope", http.StatusUnauthorized},
		"not a bearer":  {"Authorization", "Basic a2l0OnBhc3M=", http.StatusUnauthorized},
		"empty cookie":  {"Cookie", SessionCookie + "=", http.StatusUnauthorized},
	} {
		if rec := call(tc.header, tc.value); rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d", name, rec.Code, tc.status)
		}
	}
	// A session Kratos revokes stops working once the cached answer ages out.
	if _, err := id.Admin.IdentityAPI.DeleteIdentitySessions(ctx, mustIdentity(t, id, "kw@oldham.example")).Execute(); err != nil {
		t.Fatal(err)
	}
	clk.advance(31 * time.Second)
	if rec := call("X-Session-Token", token); rec.Code != http.StatusUnauthorized {
		t.Errorf("revoked session: status %d", rec.Code)
	}
	// Another partnership's session: Kratos accepts it, the service does not.
	_, other, err := id.CreateAndLogin(ctx, testenv.Person{Email: "x@kirklees.example", Name: "Other", Password: "a long test password 2",
		MetadataPublic: map[string]any{"partnership": "kirklees", "roles": []any{"coordinator"}}})
	if err != nil {
		t.Fatal(err)
	}
	if rec := call("X-Session-Token", other); rec.Code != http.StatusForbidden {
		t.Errorf("cross-partnership: status %d", rec.Code)
	}
	// Kratos down: never let a request through.
	if err := id.Stop(); err != nil {
		t.Fatal(err)
	}
	clk.advance(31 * time.Second)
	if rec := call("X-Session-Token", other); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("kratos down: status %d", rec.Code)
	}
	if err := a.Ready(ctx); err == nil {
		t.Error("Ready with Kratos down")
	}
}

func mustIdentity(t *testing.T, id *testenv.Identity, email string) string {
	t.Helper()
	list, _, err := id.Admin.IdentityAPI.ListIdentities(context.Background()).CredentialsIdentifier(email).Execute()
	if err != nil || len(list) != 1 {
		t.Fatalf("find %s: %v", email, err)
	}
	return list[0].Id
}

func TestCacheIsBounded(t *testing.T) {
	clk := &clock{now: time.Now()}
	a, err := New(Options{Partnership: "oldham", KratosPublicURL: "http://127.0.0.1:1", MaxEntries: 10, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		a.store([32]byte{byte(i)}, &Principal{expires: clk.Now().Add(time.Minute)})
		if len(a.cache) > 10 {
			t.Fatalf("cache grew to %d", len(a.cache))
		}
	}
}

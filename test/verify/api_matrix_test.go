package verify

// This file: every authenticated route of every service, read from its OpenAPI description (a new
// route is covered without editing the suite), called with every kind of credential a caller might
// hold — none, garbage, an expired session, another partnership's Kratos session, a session of this
// partnership's Kratos naming another partnership or no role, and each role — and then with Kratos
// down. The answer must follow the role table the description states (x-homeward-permissions, held
// to the code by servicetest.CheckOpenAPI), and no answer to a caller without the right may carry a
// person's data.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/services/housing"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
	"github.com/homeward-dev/homeward/services/reporting"
)

// route is one authenticated operation of a service's description.
type route struct {
	service, method, path string
	permissions           []auth.Permission
	body                  bool
}

func (r route) String() string { return r.service + " " + r.method + " " + r.path }

// describedRoutes reads the authenticated operations of an OpenAPI description.
func describedRoutes(t *testing.T, service string, doc []byte) []route {
	t.Helper()
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := yaml.Unmarshal(doc, &spec); err != nil {
		t.Fatal(err)
	}
	var out []route
	for path, ops := range spec.Paths {
		for method, raw := range ops {
			var op map[string]any
			if err := json.Unmarshal(raw, &op); err != nil {
				continue // "parameters" shared by the path's operations
			}
			if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
				continue // public: liveness, readiness, metrics, the description itself
			}
			r := route{service: service, method: strings.ToUpper(method), path: path}
			_, r.body = op["requestBody"]
			list, _ := op[servicetest.PermissionsExtension].([]any)
			for _, p := range list {
				r.permissions = append(r.permissions, auth.Permission(fmt.Sprint(p)))
			}
			if len(r.permissions) == 0 {
				t.Errorf("%s needs a session but states no %s", r, servicetest.PermissionsExtension)
			}
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// secret is the person whose data no caller without the right may ever see.
var secret = struct{ name, nhsNumber, address string }{"Zed Matrixperson", "9990000026", "7 Confidential Row"}

func TestEveryRouteAnswersEveryCredentialByTheRoleTable(t *testing.T) {
	record(t)
	// Mostly waiting for a session to expire: let the other checks run meanwhile.
	t.Parallel()
	ctx := context.Background()
	// Sessions last a minute (the shortest Homeward allows), so an expired one can be shown.
	const lifespan = time.Minute
	kratosDir := t.TempDir()
	a := servicetest.StartTenantWith(t, "oldham", kratosserver.Options{Dir: kratosDir, SessionLifespan: lifespan,
		DSN: "sqlite://" + filepath.Join(kratosDir, "kratos.db") + "?_fk=true&mode=rwc"})
	b := servicetest.StartTenant(t, "kirklees")
	policy := config.DefaultPolicy()
	bases := map[string]string{}
	var routes []route
	for _, svc := range []struct {
		name     string
		doc      []byte
		register func(*app.Service)
	}{
		{referral.Name, referral.OpenAPI(), func(s *app.Service) { referral.New(s) }},
		{housing.Name, housing.OpenAPI(), func(s *app.Service) { housing.New(s) }},
		{reporting.Name, reporting.OpenAPI(), func(s *app.Service) { reporting.New(s) }},
	} {
		_, srv := servicetest.Serve(t, a.Config(t, svc.name, policy), app.Options{}, svc.register)
		bases[svc.name] = srv.URL
		routes = append(routes, describedRoutes(t, svc.name, svc.doc)...)
	}
	if len(routes) < 40 {
		t.Fatalf("only %d authenticated routes described: the descriptions were not read", len(routes))
	}

	// The record the matrix aims at: a referral of a synthetic person, a unit and a placement.
	seeder := a.Person(t, bases[referral.Name], "seeder@oldham.example", "oldham", "coordinator")
	seed := newCaller(bases[referral.Name], seeder.Token)
	x := seed.call("POST", "/v1/referrals", map[string]any{
		"person": map[string]any{"name": secret.name, "dateOfBirth": "1938-01-09", "nhsNumber": secret.nhsNumber,
			"address": secret.address + ", Oldham", "postcode": "OL1 1AA"},
		"source": "ward", "referrer": map[string]any{"organisation": "Royal Oldham Hospital", "ward": "Ward T5"},
		"consent": map[string]any{"toRefer": true, "toShare": true}, "tenure": "owner-occupier",
		"needs": []string{"adaptations"}, "priority": "urgent",
	})
	var ref struct{ ID string }
	if x.status != http.StatusCreated || json.Unmarshal(x.body, &ref) != nil {
		t.Fatalf("seed referral: %d %s", x.status, x.body)
	}
	seed.base = bases[housing.Name]
	x = seed.call("POST", "/v1/units", map[string]any{
		"scheme": "Matrix Court", "address": map[string]any{"line1": "1 Matrix Court", "town": "Oldham", "postcode": "OL1 2AB"},
		"ownerOrganisation": "First Choice Homes Oldham", "type": "flat", "bedrooms": 1, "features": []string{},
		"weeklyCost": "150.00", "housingBenefitEligible": true,
	})
	var unit struct{ ID string }
	if x.status != http.StatusCreated || json.Unmarshal(x.body, &unit) != nil {
		t.Fatalf("seed unit: %d %s", x.status, x.body)
	}
	x = seed.call("POST", "/v1/placements", map[string]any{"referralId": ref.ID, "unitId": unit.ID, "arrival": time.Now().AddDate(0, 0, 3).Format(time.DateOnly)})
	var placement struct{ ID string }
	if x.status != http.StatusCreated || json.Unmarshal(x.body, &placement) != nil {
		t.Fatalf("seed placement: %d %s", x.status, x.body)
	}
	pathOf := func(r route) string {
		p := r.path
		for prefix, id := range map[string]string{"/v1/referrals/{id}": ref.ID, "/v1/units/{id}": unit.ID,
			"/v1/placements/{id}": placement.ID, "/v1/audit/actors/{id}": seeder.ID, "/v1/rehousing-cases/{id}": "01KB00000000000000000000AA"} {
			if strings.HasPrefix(p, prefix) {
				p = strings.Replace(p, "{id}", id, 1)
			}
		}
		return strings.NewReplacer("{action}", "01KB00000000000000000000AB", "{offer}", "01KB00000000000000000000AC", "{days}", "28").Replace(p)
	}
	leaks := func(body []byte) string {
		for _, s := range []string{secret.name, secret.nhsNumber, secret.address} {
			if strings.Contains(string(body), s) {
				return s
			}
		}
		return ""
	}
	call := func(r route, token string) exchange {
		c := newCaller(bases[r.service], token)
		if token == "" {
			c.token = "" // no Authorization header at all
		}
		var body any
		if r.body {
			body = map[string]any{}
		}
		return c.call(r.method, pathOf(r), body)
	}
	// refusedAs checks a refusal: the status, a problem body of the expected type, and no data.
	refusedAs := func(t *testing.T, r route, x exchange, status int, problem string) {
		t.Helper()
		switch {
		case x.err != nil:
			t.Errorf("%s: %v", r, x.err)
		case x.status != status || x.problem != "https://homeward.dev/problems/"+problem:
			t.Errorf("%s: %d %q, want %d %s: %s", r, x.status, x.problem, status, problem, x.body)
		case leaks(x.body) != "":
			t.Errorf("%s: a refusal carries %q", r, leaks(x.body))
		}
	}
	calls := 0

	// The expired session is used once now, so the services cache it: the cache must not outlive it.
	expiring := a.Person(t, bases[referral.Name], "expiring@oldham.example", "oldham", "manager")
	expiredAt := time.Now().Add(lifespan + 500*time.Millisecond)
	if x := call(routes[0], expiring.Token); x.status == http.StatusUnauthorized || x.status == http.StatusForbidden {
		t.Fatalf("a fresh manager session: %d %s", x.status, x.body)
	}

	for _, who := range []struct{ name, token, problem string }{
		{"no credentials", "", "unauthenticated"},
		{"a garbage token", "ory_st_notarealsessiontokenatall0123456789", "unauthenticated"},
		{"a session of another partnership's Kratos", b.Person(t, bases[referral.Name], "coordinator@kirklees.example", "kirklees", "coordinator").Token, "unauthenticated"},
	} {
		t.Run(who.name, func(t *testing.T) {
			for _, r := range routes {
				refusedAs(t, r, call(r, who.token), http.StatusUnauthorized, who.problem)
				calls++
			}
		})
	}
	t.Run("this partnership's Kratos, another partnership's identity", func(t *testing.T) {
		other := a.Person(t, bases[referral.Name], "stray@kirklees.example", "kirklees", "coordinator", "partnership-admin")
		for _, r := range routes {
			refusedAs(t, r, call(r, other.Token), http.StatusForbidden, "forbidden")
			calls++
		}
	})
	t.Run("no role", func(t *testing.T) {
		none := a.Person(t, bases[referral.Name], "norole@oldham.example", "oldham")
		for _, r := range routes {
			refusedAs(t, r, call(r, none.Token), http.StatusForbidden, "forbidden")
			calls++
		}
	})
	allowed := 0
	for _, role := range auth.Roles {
		t.Run(string(role), func(t *testing.T) {
			person := a.Person(t, bases[referral.Name], string(role)+"@oldham.example", "oldham", string(role))
			// Only roles that read every referral may see its person; the referrer did not make this one.
			mayRead := auth.Allowed([]auth.Role{role}, auth.ReferralRead)
			for _, r := range routes {
				x := call(r, person.Token)
				calls++
				if !slices.ContainsFunc(r.permissions, func(p auth.Permission) bool { return auth.Allowed([]auth.Role{role}, p) }) {
					refusedAs(t, r, x, http.StatusForbidden, "forbidden")
					continue
				}
				allowed++
				switch {
				case x.err != nil:
					t.Errorf("%s as %s: %v", r, role, x.err)
				case x.status == http.StatusUnauthorized || x.status == http.StatusForbidden || x.status >= 500:
					t.Errorf("%s as %s, which the table allows: %d %s", r, role, x.status, x.body)
				case !mayRead && leaks(x.body) != "":
					t.Errorf("%s as %s: %d carries %q", r, role, x.status, leaks(x.body))
				}
			}
		})
	}
	if allowed == 0 {
		t.Error("no role was let in anywhere: the matrix proved nothing")
	}
	t.Run("an expired session, though cached", func(t *testing.T) {
		time.Sleep(time.Until(expiredAt))
		for _, r := range routes {
			refusedAs(t, r, call(r, expiring.Token), http.StatusUnauthorized, "unauthenticated")
			calls++
		}
	})

	t.Run("Kratos down", func(t *testing.T) {
		// Opened before the outage and never used: no service has it cached, so it must be checked.
		unchecked := a.Person(t, bases[referral.Name], "unchecked@oldham.example", "oldham", "manager", "partnership-admin")
		if err := a.Identity.Stop(); err != nil {
			t.Fatal(err)
		}
		for _, r := range routes {
			refusedAs(t, r, call(r, unchecked.Token), http.StatusServiceUnavailable, "unavailable")
			refusedAs(t, r, call(r, ""), http.StatusUnauthorized, "unauthenticated")
			calls += 2
		}
		restartCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := a.Identity.Restart(restartCtx); err != nil {
			t.Fatal(err)
		}
		// Back without restarting any service: the same session is now checked and let in.
		for _, r := range routes {
			if r.method != "GET" {
				continue
			}
			x := call(r, unchecked.Token)
			calls++
			if x.status == http.StatusUnauthorized || x.status == http.StatusForbidden || x.status >= 500 {
				t.Errorf("%s after Kratos came back: %d %s", r, x.status, x.body)
			}
		}
	})
	t.Logf("%d routes from the OpenAPI descriptions, %d calls, %d let in by the role table", len(routes), calls, allowed)
}

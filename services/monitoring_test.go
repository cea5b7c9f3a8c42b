package services

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
	"github.com/homeward-dev/homeward/services/reporting"
)

// metricName finds the metric names a PromQL expression uses: Homeward's own, and the Go client's
// process metrics every Homeward process exports.
var metricName = regexp.MustCompile(`\b(?:homeward|process)_[a-z0-9_]+\b`)

// expressions are the PromQL of the chart's alerts and dashboard.
func expressions(t *testing.T) []string {
	t.Helper()
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr, For    string
				Labels, Annotations map[string]string
			}
		}
	}
	b, err := os.ReadFile(filepath.Join("..", "charts", "homeward", "files", "prometheus-rules.yaml"))
	if err == nil {
		err = yaml.UnmarshalStrict(b, &rules)
	}
	if err != nil {
		t.Fatal(err)
	}
	ops, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out = append(out, r.Expr)
			// Each alert links to its runbook, a section of docs/operations.md.
			if r.Annotations["runbook"] != "docs/operations.md#runbook-"+strings.ToLower(r.Alert) ||
				!strings.Contains(string(ops), "\n### Runbook: "+r.Alert+"\n") {
				t.Errorf("alert %s has no runbook section (annotation %q)", r.Alert, r.Annotations["runbook"])
			}
		}
	}
	var dashboard struct {
		Panels []struct {
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct{ Query any }
		}
	}
	b, err = os.ReadFile(filepath.Join("..", "charts", "homeward", "files", "dashboards", "homeward.json"))
	if err == nil {
		err = json.Unmarshal(b, &dashboard)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range dashboard.Panels {
		for _, target := range p.Targets {
			out = append(out, target.Expr)
		}
	}
	for _, v := range dashboard.Templating.List {
		if q, ok := v.Query.(string); ok {
			out = append(out, q)
		}
	}
	if len(rules.Groups) == 0 || len(out) < 20 {
		t.Fatalf("read %d expressions: the files are not what the test expects", len(out))
	}
	return out
}

// Every metric the chart's alerts and dashboard use is one a Homeward process really exports: the
// services are run and scraped, and the operator's collector is asked what it describes.
func TestTheAlertsAndDashboardUseExportedMetrics(t *testing.T) {
	tenant := servicetest.StartTenant(t, "oldham")
	_, refSrv := servicetest.Serve(t, tenant.Config(t, referral.Name, config.DefaultPolicy()), app.Options{}, func(a *app.Service) { referral.New(a) })
	_, repSrv := servicetest.Serve(t, tenant.Config(t, reporting.Name, config.DefaultPolicy()), app.Options{}, func(a *app.Service) { reporting.New(a) })
	c := tenant.Person(t, refSrv.URL, "coordinator@oldham.example", "oldham", "coordinator")
	for range 2 { // the second is answered from the session cache
		c.Must(http.StatusOK, "GET", "/v1/referrals", nil)
	}
	c.Must(http.StatusNotFound, "GET", "/v1/referrals/01ARZ3NDEKTSV4RRFFQ69G5FAV", nil)

	exported := map[string]bool{}
	for _, base := range []string{refSrv.URL, repSrv.URL} {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		// The HTTP metrics are labelled by route pattern and status class, never by a record's id.
		if strings.Contains(string(body), "01ARZ3NDEKTSV4RRFFQ69G5FAV") || base == refSrv.URL && !strings.Contains(string(body), `homeward_http_requests_total{class="4xx",method="GET",route="GET /v1/referrals/{id}"}`) {
			t.Errorf("%s/metrics names a record, or does not count the 404 by route and class", base)
		}
		for _, line := range strings.Split(string(body), "\n") {
			if name, _, ok := strings.Cut(strings.TrimSpace(line), " "); ok && !strings.HasPrefix(name, "#") {
				name, _, _ = strings.Cut(name, "{")
				exported[name] = true
			}
		}
	}
	descs := make(chan *prometheus.Desc, 8)
	controllers.PartnershipCollector{}.Describe(descs)
	close(descs)
	for d := range descs {
		for _, m := range metricName.FindAllString(d.String(), -1) {
			exported[m] = true
		}
	}

	used := map[string]bool{}
	for _, expr := range expressions(t) {
		for _, m := range metricName.FindAllString(expr, -1) {
			used[m] = true
		}
	}
	var missing []string
	for m := range used {
		if !exported[m] {
			missing = append(missing, m)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("the alerts or dashboard use metrics no Homeward process exports: %v", missing)
	}
	if len(used) < 10 {
		t.Errorf("only %d metrics used: %v", len(used), used)
	}
}

package referral

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/kit/telemetry"
)

type jaegerTag struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

type jaegerSpan struct {
	OperationName string      `json:"operationName"`
	Tags          []jaegerTag `json:"tags"`
	ProcessID     string      `json:"processID"`
}

type jaegerTraces struct {
	Data []struct {
		Spans     []jaegerSpan `json:"spans"`
		Processes map[string]struct {
			ServiceName string      `json:"serviceName"`
			Tags        []jaegerTag `json:"tags"`
		} `json:"processes"`
	} `json:"data"`
}

// TestTracesReachJaeger exports the service's spans over OTLP to a real Jaeger and checks what an
// SRE sees there: spans named by route, the tenant on every span, Redis and Kratos client spans,
// and no personal data or Redis statements anywhere.
func TestTracesReachJaeger(t *testing.T) {
	jaeger := testenv.Jaeger(t)
	tenant := servicetest.StartTenant(t, "oldham")
	cfg := tenant.Config(t, Name, config.DefaultPolicy())
	cfg.OTLPEndpoint = jaeger.OTLPEndpoint()
	a, srv := servicetest.Serve(t, cfg, app.Options{}, func(a *app.Service) { New(a) })
	c := tenant.Person(t, srv.URL, "coordinator@oldham.example", "oldham", "coordinator")
	body := form("Wren Traceable")
	body["person"].(map[string]any)["nhsNumber"] = "401 023 2137"
	var ref Referral
	c.Must(http.StatusCreated, "POST", "/v1/referrals", body).JSON(t, &ref)
	c.Must(http.StatusOK, "GET", "/v1/referrals/"+ref.ID, nil)
	// A problem's request id is its trace's id.
	var missing struct{ RequestID string }
	c.Must(http.StatusNotFound, "GET", "/v1/referrals/01ARZ3NDEKTSV4RRFFQ69G5FAV", nil).JSON(t, &missing)
	// Flush the batch exporter.
	if err := a.Tracing.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	var traces jaegerTraces
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(jaeger.QueryURL() + "/api/traces?service=homeward-referral&limit=50&lookback=1h")
		if err == nil {
			traces = jaegerTraces{}
			err = json.NewDecoder(resp.Body).Decode(&traces)
			resp.Body.Close()
		}
		ops := map[string]bool{}
		for _, tr := range traces.Data {
			for _, s := range tr.Spans {
				ops[s.OperationName] = true
			}
		}
		if ops["POST /v1/referrals"] && ops["GET /v1/referrals/{id}"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans did not reach Jaeger: %v (operations %v)", err, ops)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var byRequest jaegerTraces
	resp, err := http.Get(jaeger.QueryURL() + "/api/traces/" + missing.RequestID)
	if err == nil {
		err = json.NewDecoder(resp.Body).Decode(&byRequest)
		resp.Body.Close()
	}
	if err != nil || len(byRequest.Data) != 1 || !slices.ContainsFunc(byRequest.Data[0].Spans, func(s jaegerSpan) bool {
		return s.OperationName == "GET /v1/referrals/{id}"
	}) {
		t.Errorf("request %q does not lead to its trace: %v %+v", missing.RequestID, err, byRequest)
	}
	raw, _ := json.Marshal(traces)
	for _, secret := range []string{"Wren", "Traceable", "4010232137", "401 023 2137", "Example Street", c.Token} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("%q is in the traces", secret)
		}
	}
	var clientOps []string
	for _, tr := range traces.Data {
		for _, p := range tr.Processes {
			if !slices.ContainsFunc(p.Tags, func(tag jaegerTag) bool {
				return tag.Key == telemetry.PartnershipAttribute && fmt.Sprint(tag.Value) == "oldham"
			}) {
				t.Errorf("process %s lacks %s=oldham: %v", p.ServiceName, telemetry.PartnershipAttribute, p.Tags)
			}
		}
		for _, s := range tr.Spans {
			for _, tag := range s.Tags {
				if tag.Key == "db.statement" || tag.Key == "db.query.text" {
					t.Errorf("span %s records a Redis statement", s.OperationName)
				}
			}
			if !strings.HasPrefix(s.OperationName, "GET /") && !strings.HasPrefix(s.OperationName, "POST /") {
				clientOps = append(clientOps, s.OperationName)
			}
		}
	}
	if !slices.ContainsFunc(clientOps, func(op string) bool { return strings.Contains(strings.ToLower(op), "evalsha") }) {
		t.Errorf("no Redis client span among %v", clientOps)
	}
	if !slices.ContainsFunc(clientOps, func(op string) bool { return strings.HasPrefix(op, "HTTP GET") || strings.HasPrefix(op, "GET") }) {
		t.Errorf("no Kratos client span among %v", clientOps)
	}
}

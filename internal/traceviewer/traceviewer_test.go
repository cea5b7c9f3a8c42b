package traceviewer_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/kit/telemetry"
)

func TestAnExportedTraceIsListedAndTheUIServed(t *testing.T) {
	viewer := testenv.TraceViewer(t)
	ctx := context.Background()
	tp, err := telemetry.NewTracerProvider(ctx, telemetry.Options{Service: "referral", Version: "test", Partnership: "oldham", OTLPEndpoint: viewer.OTLPEndpoint()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	root, span := tp.Tracer("test").Start(ctx, "GET /v1/referrals")
	_, child := tp.Tracer("test").Start(root, "redis")
	child.End()
	span.End()
	if err := tp.Shutdown(ctx); err != nil { // flushes the batch
		t.Fatal(err)
	}

	var found bool
	for deadline := time.Now().Add(30 * time.Second); !found && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		traces, err := viewer.Traces(ctx, start.Add(-time.Minute), time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range traces {
			if tr.TraceID == span.SpanContext().TraceID().String() {
				found = true
				if tr.RootSpan == nil || tr.RootSpan.ServiceName != "homeward-referral" || tr.RootSpan.Name != "GET /v1/referrals" || tr.SpanCount != 2 {
					t.Errorf("the viewer lists the trace as %+v, want its root span GET /v1/referrals of homeward-referral and 2 spans", tr)
				}
			}
		}
	}
	if !found {
		t.Fatalf("trace %s never reached the viewer", span.SpanContext().TraceID())
	}

	// The UI is served at the URL make dev prints, including a deep link to the trace.
	resp, err := http.Get(viewer.URL() + "traces/" + span.SpanContext().TraceID().String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<script") {
		t.Errorf("GET trace page: %s, want the viewer's app", resp.Status)
	}
}

package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func attributes(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	out := map[attribute.Key]string{}
	for _, kv := range s.Resource().Attributes() {
		out[kv.Key] = kv.Value.String()
	}
	return out
}

// Sampling follows the tenant's ratio for the traces a process starts and the caller's decision
// for the others; without a ratio the standard OTEL_TRACES_SAMPLER decides.
func TestSampling(t *testing.T) {
	none, all := 0.0, 1.0
	sampledParent := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true}))
	unsampledParent := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{2}, SpanID: trace.SpanID{2}, Remote: true}))
	for _, tc := range []struct {
		name    string
		ratio   *float64
		env     string // OTEL_TRACES_SAMPLER
		ctx     context.Context
		sampled bool
	}{
		{"ratio 0: a trace this process starts is dropped", &none, "", context.Background(), false},
		{"ratio 0: a sampled caller's trace is kept", &none, "", sampledParent, true},
		{"ratio 1: a trace this process starts is kept", &all, "", context.Background(), true},
		{"ratio 1: an unsampled caller's trace is not", &all, "", unsampledParent, false},
		{"no ratio: OTEL_TRACES_SAMPLER=always_off", nil, "always_off", context.Background(), false},
		{"no ratio and no variable: kept", nil, "", context.Background(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_TRACES_SAMPLER", tc.env)
			rec := tracetest.NewSpanRecorder()
			tp, err := NewTracerProvider(context.Background(), Options{Service: "referral", Partnership: "oldham", SampleRatio: tc.ratio,
				Processors: []sdktrace.SpanProcessor{rec}})
			if err != nil {
				t.Fatal(err)
			}
			_, span := tp.Tracer("test").Start(tc.ctx, "request")
			span.End()
			if got := span.SpanContext().IsSampled(); got != tc.sampled {
				t.Errorf("sampled %v, want %v", got, tc.sampled)
			}
		})
	}
}

// The resource names the service and partnership, and takes OTEL_RESOURCE_ATTRIBUTES, where the
// kubernetes runtime puts the namespace and pod.
func TestResource(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.namespace.name=hw-oldham,k8s.pod.name=referral-7c9d")
	rec := tracetest.NewSpanRecorder()
	tp, err := NewTracerProvider(context.Background(), Options{Service: "referral", Partnership: "oldham", Version: "v0.1.0",
		Processors: []sdktrace.SpanProcessor{rec}})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "request")
	span.End()
	got := attributes(rec.Ended()[0])
	for k, want := range map[attribute.Key]string{"service.name": "homeward-referral", "service.version": "v0.1.0", PartnershipAttribute: "oldham",
		"k8s.namespace.name": "hw-oldham", "k8s.pod.name": "referral-7c9d"} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], want, got)
		}
	}
}

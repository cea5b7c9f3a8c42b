// Package telemetry sets up a service's OpenTelemetry tracing, with the tenant on every span.
package telemetry

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
)

// PartnershipAttribute is the resource attribute naming the tenant.
const PartnershipAttribute = "homeward.partnership"

// Options configure tracing.
type Options struct {
	Service     string
	Partnership string
	Version     string
	// OTLPEndpoint is host:port or a URL of an OTLP/gRPC collector; empty exports nothing.
	OTLPEndpoint string
	// SampleRatio, when set, samples that share of the traces this process starts, and follows its
	// caller's decision in the others (parent-based). Unset, the standard OTEL_TRACES_SAMPLER and
	// OTEL_TRACES_SAMPLER_ARG decide, and without them every trace is kept.
	SampleRatio *float64
	// Processors are extra span processors (tests and benchmarks use them to see spans).
	Processors []sdktrace.SpanProcessor
}

// Propagator is W3C trace context and baggage.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// NewTracerProvider builds the provider. Its resource names the service, its version and the
// partnership, then takes OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (where the kubernetes runtime
// puts k8s.namespace.name and k8s.pod.name from the downward API).
func NewTracerProvider(ctx context.Context, o Options) (*sdktrace.TracerProvider, error) {
	attrs := []attribute.KeyValue{semconv.ServiceName("homeward-" + o.Service), semconv.ServiceVersion(o.Version)}
	if o.Partnership != "" { // the operator serves every partnership
		attrs = append(attrs, attribute.String(PartnershipAttribute, o.Partnership))
	}
	res, err := resource.New(ctx, resource.WithSchemaURL(semconv.SchemaURL), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if o.SampleRatio != nil {
		opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(*o.SampleRatio))))
	}
	if o.OTLPEndpoint != "" {
		exp, err := otlptracegrpc.New(ctx, exporterOptions(o.OTLPEndpoint)...)
		if err != nil {
			return nil, fmt.Errorf("otlp exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(2*time.Second)))
	}
	for _, p := range o.Processors {
		opts = append(opts, sdktrace.WithSpanProcessor(p))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}

func exporterOptions(endpoint string) []otlptracegrpc.Option {
	if len(endpoint) > 7 && (endpoint[:7] == "http://" || (len(endpoint) > 8 && endpoint[:8] == "https://")) {
		return []otlptracegrpc.Option{otlptracegrpc.WithEndpointURL(endpoint)}
	}
	return []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure()}
}

package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

type ctxKey int

const stateKey ctxKey = iota

// requestState travels with a request so the outer middleware learns what the router matched.
type requestState struct {
	log    *slog.Logger
	id     string
	route  string
	status int
}

func stateOf(ctx context.Context) *requestState {
	s, _ := ctx.Value(stateKey).(*requestState)
	return s
}

// RequestID is the id of the request being served ("" outside one).
func RequestID(ctx context.Context) string {
	if s := stateOf(ctx); s != nil {
		return s.id
	}
	return ""
}

// Logger is the service's logger for a request, or the default outside one.
func Logger(ctx context.Context) *slog.Logger {
	if s := stateOf(ctx); s != nil && s.log != nil {
		return s.log
	}
	return slog.Default()
}

// validRequestID accepts a caller's id only when it is short and plain, so it cannot smuggle
// anything into logs.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Router is a ServeMux that names each request by the pattern it matched, for metrics and spans.
type Router struct {
	mux      *http.ServeMux
	patterns []string
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{mux: http.NewServeMux()} }

// Handle registers h for a ServeMux pattern such as "GET /v1/referrals/{id}".
func (rt *Router) Handle(pattern string, h http.Handler) {
	rt.patterns = append(rt.patterns, pattern)
	rt.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := stateOf(r.Context()); s != nil {
			s.route = pattern
		}
		span := trace.SpanFromContext(r.Context())
		span.SetName(pattern)
		span.SetAttributes(attribute.String("http.route", pattern))
		h.ServeHTTP(w, r)
	}))
}

// Patterns lists what was registered, in order.
func (rt *Router) Patterns() []string { return slices.Clone(rt.patterns) }

// HandleFunc registers a function.
func (rt *Router) HandleFunc(pattern string, h http.HandlerFunc) { rt.Handle(pattern, h) }

// ServeHTTP answers unmatched requests with problem details instead of plain text.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := rt.mux.Handler(r)
	if pattern == "" {
		probe := &statusProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			WriteProblem(w, r, NewProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
				r.Method+" is not served here; allowed: "+probe.header.Get("Allow")))
			return
		}
		WriteProblem(w, r, NotFound("the path "+r.URL.Path))
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// statusProbe captures what ServeMux would answer for an unmatched request.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }

// Metrics are the HTTP server metrics of a service.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "homeward_http_requests_total", Help: "HTTP requests served, by route pattern, method and status class (2xx…5xx).",
		}, []string{"route", "method", "class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "homeward_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	state *requestState
}

func (w *statusWriter) WriteHeader(code int) {
	if w.state.status == 0 {
		w.state.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.state.status == 0 {
		w.state.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Wrap adds, outermost first: a server span (otelhttp, with the tracer provider given), request
// ids (the trace's), panic recovery, access logs and metrics.
func Wrap(h http.Handler, service string, m *Metrics, log *slog.Logger, opts ...otelhttp.Option) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The request id is the trace id, so "request 4bf9…" on a page or a problem leads an SRE
		// straight to the trace; a caller's own id stands only where there is no trace.
		id := r.Header.Get("X-Request-Id")
		if sc := trace.SpanContextFromContext(r.Context()); sc.TraceID().IsValid() {
			id = sc.TraceID().String()
		} else if !validRequestID(id) {
			id = newRequestID()
		}
		state := &requestState{log: log, id: id, route: "unmatched"}
		r = r.WithContext(context.WithValue(r.Context(), stateKey, state))
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w, state: state}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic serving request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()), "request_id", id)
				if state.status == 0 {
					Internal(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			status := state.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			m.requests.WithLabelValues(state.route, r.Method, strconv.Itoa(status/100)+"xx").Inc()
			m.duration.WithLabelValues(state.route, r.Method).Observe(elapsed.Seconds())
			// Paths carry record ids only; query strings and bodies are never logged.
			log.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("method", r.Method), slog.String("route", state.route),
				slog.Int("status", status), slog.Duration("duration", elapsed), slog.String("request_id", id))
		}()
		h.ServeHTTP(sw, r)
	})
	return otelhttp.NewHandler(inner, service, opts...)
}

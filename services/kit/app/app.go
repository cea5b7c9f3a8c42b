// Package app assembles a tenant service from the kit: configuration, Redis as the service's ACL
// user, Kratos authentication, personal-data protection, tracing, metrics and the HTTP server with
// its health endpoints.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/kit/pii"
	"github.com/homeward-dev/homeward/services/kit/telemetry"
)

// Options are what a caller adds to the configuration.
type Options struct {
	Logger *slog.Logger
	// SpanProcessors see every span (benchmarks and tests).
	SpanProcessors []sdktrace.SpanProcessor
	Version        string
	Now            func() time.Time
}

// Service is a tenant service's shared machinery.
type Service struct {
	Name     string
	Config   config.Config
	Log      *slog.Logger
	Redis    *redis.Client
	Auth     *auth.Authenticator
	PII      *pii.Protector
	Keys     keyspace.Tenant
	Registry *prometheus.Registry
	Tracing  *sdktrace.TracerProvider
	Now      func() time.Time

	router *httpapi.Router
	// permissions are each authenticated route's, as registered: the role table the OpenAPI
	// description must state (x-homeward-permissions) and the isolation suite attacks.
	permissions map[string][]Permission
	metrics     *httpapi.Metrics
	openAPI     []byte
	// stopFollowing ends the subscription to identity changes; following is closed when it has.
	stopFollowing context.CancelFunc
	following     chan struct{}
}

// New builds the service; nothing is served until Run.
func New(ctx context.Context, name string, cfg config.Config, o Options) (*Service, error) {
	log := o.Logger
	if log == nil {
		log = NewLogger(os.Stderr, cfg.LogLevel)
	}
	log = log.With("service", name, "partnership", cfg.Partnership)
	if o.Now == nil {
		o.Now = time.Now
	}
	tp, err := telemetry.NewTracerProvider(ctx, telemetry.Options{
		Service: name, Partnership: cfg.Partnership, Version: o.Version,
		OTLPEndpoint: cfg.OTLPEndpoint, SampleRatio: cfg.SampleRatio, Processors: o.SpanProcessors,
	})
	if err != nil {
		return nil, err
	}
	protector, err := pii.New(cfg.PIIKey)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rdb := redis.NewClient(&redis.Options{
		Addr: cfg.RedisAddr, Username: cfg.RedisUser, Password: cfg.RedisPassword,
		PoolSize: 64, MinIdleConns: 4,
		DialTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second,
	})
	rdb.AddHook(newRedisLatency(reg))
	// Commands carry personal data (sealed, but still): their text never goes into spans.
	if err := redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(tp), redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false)); err != nil {
		return nil, fmt.Errorf("redis tracing: %w", err)
	}
	authenticator, err := auth.New(auth.Options{
		Partnership:     cfg.Partnership,
		KratosPublicURL: cfg.KratosPublicURL,
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: otelhttp.NewTransport(http.DefaultTransport,
			otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(telemetry.Propagator()))},
		Registerer: reg,
		Now:        o.Now,
	})
	if err != nil {
		return nil, err
	}
	s := &Service{
		Name: name, Config: cfg, Log: log, Redis: rdb, Auth: authenticator, PII: protector,
		Keys: keyspace.For(cfg.Partnership), Registry: reg, Tracing: tp, Now: o.Now,
		router: httpapi.NewRouter(), permissions: map[string][]Permission{}, metrics: httpapi.NewMetrics(reg),
	}
	// Every process drops its cached session answers for an identity the portal changed.
	followCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	changes := rdb.Subscribe(followCtx, s.Keys.AuthChanges())
	// A blocked receive ends only when the subscription closes, so stopping closes it too.
	s.stopFollowing, s.following = func() { stop(); _ = changes.Close() }, make(chan struct{})
	go func() {
		defer close(s.following)
		authenticator.Follow(followCtx, identityChanges{changes})
	}()
	s.router.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.router.HandleFunc("GET /readyz", s.ready)
	s.router.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return s, nil
}

// identityChanges reads identity ids from the tenant's auth-changes channel.
type identityChanges struct{ sub *redis.PubSub }

func (c identityChanges) Next(ctx context.Context) (string, error) {
	msg, err := c.sub.ReceiveMessage(ctx)
	if err != nil {
		// A Redis that is down is retried by the subscription; wait a little rather than spin.
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		return "", err
	}
	return msg.Payload, nil
}

// PublishIdentityChange tells every process of the tenant to drop its cached answers for the
// identity (the portal calls it when the partnership admin changes a user), and drops its own.
func (s *Service) PublishIdentityChange(ctx context.Context, identityID string) error {
	s.Auth.Forget(identityID)
	if err := s.Redis.Publish(ctx, s.Keys.AuthChanges(), identityID).Err(); err != nil {
		return fmt.Errorf("publish identity change: %w", err)
	}
	return nil
}

// NewLogger writes JSON logs at a level.
func NewLogger(w *os.File, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// ready reports whether Redis and Kratos both answer.
func (s *Service) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var errs []error
	if err := s.Redis.Ping(ctx).Err(); err != nil {
		errs = append(errs, fmt.Errorf("redis: %w", err))
	}
	if err := s.Auth.Ready(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		httpapi.WriteProblem(w, r, httpapi.Unavailable(err.Error()))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ready\n"))
}

// Public serves a route without authentication.
func (s *Service) Public(pattern string, h http.Handler) { s.router.Handle(pattern, h) }

// API serves a route to authenticated callers of this partnership holding one of perms.
func (s *Service) API(pattern string, h http.HandlerFunc, perms ...Permission) {
	s.permissions[pattern] = slices.Clone(perms)
	s.router.Handle(pattern, s.Auth.Middleware(auth.Require(h, perms...)))
}

// Permissions are the permissions of each authenticated route, any one of which lets a caller in;
// public routes are absent.
func (s *Service) Permissions() map[string][]Permission { return maps.Clone(s.permissions) }

// Routes lists every registered route pattern, e.g. "GET /v1/referrals/{id}".
func (s *Service) Routes() []string { return s.router.Patterns() }

// Permission is re-exported so services register routes with one import.
type Permission = auth.Permission

// Handler is the whole HTTP surface with its middleware.
func (s *Service) Handler() http.Handler {
	return httpapi.Wrap(s.router, "homeward-"+s.Name, s.metrics, s.Log,
		otelhttp.WithTracerProvider(s.Tracing), otelhttp.WithPropagators(telemetry.Propagator()))
}

// Run serves until ctx ends, then shuts down gracefully and releases everything.
func (s *Service) Run(ctx context.Context) error {
	l, err := net.Listen("tcp", s.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Config.Listen, err)
	}
	s.Log.Info("serving", "addr", l.Addr().String())
	err = httpapi.Serve(ctx, l, s.Handler(), s.Config.ShutdownGrace, s.Log)
	return errors.Join(err, s.Close(context.WithoutCancel(ctx)))
}

// Close flushes spans and closes Redis.
func (s *Service) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s.stopFollowing()
	<-s.following
	return errors.Join(s.Tracing.Shutdown(ctx), s.Redis.Close())
}

// Main is a tenant service's command: it reads the configuration from args and the environment,
// assembles the service, lets register add its routes and name any work to run beside the server
// (nil for none), and serves until ctx ends.
func Main(ctx context.Context, name string, args []string, getenv func(string) string, o Options, register func(*Service) func(context.Context)) error {
	cfg, err := config.Parse(name, args, getenv)
	if err != nil {
		return err
	}
	a, err := New(ctx, name, cfg, o)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if work := register(a); work != nil {
		workCtx, stop := context.WithCancel(ctx)
		defer stop()
		go work(workCtx)
	}
	return a.Run(ctx)
}

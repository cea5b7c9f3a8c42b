// Package operator wires the Partnership controller into a controller-runtime manager with the
// chosen runtime. `homeward operator` and `homeward-dev` both run it.
package operator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	kuberuntime "github.com/homeward-dev/homeward/internal/runtime/kubernetes"
	localruntime "github.com/homeward-dev/homeward/internal/runtime/local"
	"github.com/homeward-dev/homeward/services/kit/telemetry"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/kratosserver"
)

// Runtimes the operator can run tenants in.
const (
	RuntimeKubernetes = "kubernetes"
	RuntimeLocal      = "local"
)

// Options configure the operator.
type Options struct {
	Runtime string

	// Local runtime.
	DataDir      string
	RedisPath    string
	KratosPath   string
	KratosHasher kratosserver.Hasher
	// HomewardPath is the homeward binary the tenant services run from.
	HomewardPath string

	// Kubernetes runtime.
	Images kuberuntime.Images
	// OTLPEndpoint receives the operator's traces and every tenant's.
	OTLPEndpoint string
	// SpanProcessors see the operator's spans as they end (tests).
	SpanProcessors []sdktrace.SpanProcessor
	// Version is the operator's, on its traces.
	Version      string
	IngressClass string
	// Reach overrides how the operator connects to tenants' Redis and Kratos (tests).
	Reach func(namespace string) (redisAddr, kratosPublic, kratosAdmin string)

	Access controllers.AccessOptions

	// Workers is how many partnerships are reconciled in parallel (default 4).
	Workers int
	// HealthRecheck is how often a Ready partnership's storage and identity are checked again
	// (default 5 minutes).
	HealthRecheck time.Duration

	// SkipNameValidation lets one process start the operator more than once (tests restart it).
	SkipNameValidation bool

	LeaderElection     bool
	LeaderElectionNS   string
	MetricsBindAddress string
	// MetricsSecure serves the metrics over HTTPS, to scrapers whose Kubernetes token the API server
	// accepts and authorises for GET /metrics (the metrics-reader ClusterRole); otherwise plain HTTP.
	MetricsSecure          bool
	HealthProbeBindAddress string
}

// whoAmI asks the API server who the operator is (a SelfSubjectReview, which every authenticated
// user may make): the name the tenant namespaces' admission policies let change their isolation.
func whoAmI(cfg *rest.Config) (string, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("learn the operator's own user name (SelfSubjectReview): %w", err)
	}
	return review.Status.UserInfo.Username, nil
}

// DefaultHealthRecheck keeps the partnerships-not-ready alerts within minutes of a silent fault
// while costing one cheap reconcile per tenant per interval (no writes when nothing changed).
const DefaultHealthRecheck = 5 * time.Minute

// metricsOptions serve the operator's metrics the way a kubebuilder operator does.
func metricsOptions(opts Options) metricsserver.Options {
	m := metricsserver.Options{BindAddress: opts.MetricsBindAddress}
	if opts.MetricsSecure {
		// With no certificate given, controller-runtime serves a self-signed one; the scraper
		// authenticates with its token, not the server's certificate.
		m.SecureServing, m.FilterProvider = true, authorisedScrapers
	}
	return m
}

// authorisedScrapers is controller-runtime's authentication and authorisation filter, except that
// a token the API server did not issue is answered 401, as any other missing credential: the
// filter reports the TokenReview's "invalid token" as a failure of its own, 500.
func authorisedScrapers(c *rest.Config, hc *http.Client) (metricsserver.Filter, error) {
	filter, err := filters.WithAuthenticationAndAuthorization(c, hc)
	if err != nil {
		return nil, err
	}
	return func(log logr.Logger, h http.Handler) (http.Handler, error) {
		inner, err := filter(log, h)
		if err != nil {
			return nil, err
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rw := &unauthenticatedAs401{ResponseWriter: w}
			inner.ServeHTTP(rw, r)
			rw.flush()
		}), nil
	}, nil
}

// unauthenticatedAs401 holds back a 500 until its body shows whether it is the filter's
// "Authentication failed", which it turns into 401.
type unauthenticatedAs401 struct {
	http.ResponseWriter
	held bool
	body []byte
}

func (u *unauthenticatedAs401) WriteHeader(code int) {
	if code == http.StatusInternalServerError {
		u.held = true
		return
	}
	u.ResponseWriter.WriteHeader(code)
}

func (u *unauthenticatedAs401) Write(b []byte) (int, error) {
	if u.held {
		u.body = append(u.body, b...)
		return len(b), nil
	}
	return u.ResponseWriter.Write(b)
}

func (u *unauthenticatedAs401) flush() {
	if !u.held {
		return
	}
	if strings.TrimSpace(string(u.body)) == "Authentication failed" {
		http.Error(u.ResponseWriter, "Unauthorized", http.StatusUnauthorized)
		return
	}
	u.ResponseWriter.WriteHeader(http.StatusInternalServerError)
	_, _ = u.ResponseWriter.Write(u.body)
}

// Validate says everything wrong with the options at once.
func (o Options) Validate() error {
	var errs []error
	switch o.Runtime {
	case RuntimeLocal:
		if o.DataDir == "" {
			errs = append(errs, errors.New("--data-dir is required with --runtime=local"))
		}
		if o.RedisPath == "" || o.KratosPath == "" {
			errs = append(errs, errors.New("the local runtime needs the redis-server and kratos binaries"))
		}
	case RuntimeKubernetes:
		if o.Images.Homeward == "" || o.Images.Redis == "" || o.Images.Kratos == "" {
			errs = append(errs, errors.New("--homeward-image, --redis-image and --kratos-image are required with --runtime=kubernetes"))
		}
	default:
		errs = append(errs, fmt.Errorf("--runtime %q: want %q or %q", o.Runtime, RuntimeKubernetes, RuntimeLocal))
	}
	if o.Access.IngressNamespace == "" || o.Access.OperatorNamespace == "" {
		errs = append(errs, errors.New("--ingress-namespace and --operator-namespace are required"))
	}
	return errors.Join(errs...)
}

// Operator is a configured, not yet started operator.
type Operator struct {
	Manager ctrl.Manager
	local   *localruntime.Runtime
	tracing *sdktrace.TracerProvider
}

// traced makes the API client's requests made within a reconcile children of its spans; the
// informers' lists and watches, outside any reconcile, are not traced.
func traced(cfg *rest.Config, tp *sdktrace.TracerProvider) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(telemetry.Propagator()),
			otelhttp.WithFilter(func(r *http.Request) bool { return trace.SpanContextFromContext(r.Context()).IsValid() }))
	})
	return cfg
}

// New builds the manager and registers the controller.
func New(cfg *rest.Config, opts Options, log logr.Logger) (*Operator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	if opts.HealthRecheck == 0 {
		opts.HealthRecheck = DefaultHealthRecheck
	}
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, err
	}
	if opts.Access.OperatorUser == "" {
		if opts.Access.OperatorUser, err = whoAmI(cfg); err != nil {
			return nil, err
		}
	}
	// The operator exports its reconciles where the tenants export their requests.
	tp, err := telemetry.NewTracerProvider(context.Background(), telemetry.Options{Service: "operator", Version: opts.Version,
		OTLPEndpoint: opts.OTLPEndpoint, Processors: opts.SpanProcessors})
	if err != nil {
		return nil, err
	}
	cfg = traced(cfg, tp)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Logger:                  log,
		Cache:                   controllers.CacheOptions(),
		Metrics:                 metricsOptions(opts),
		HealthProbeBindAddress:  opts.HealthProbeBindAddress,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        "homeward-operator.platform.homeward.dev",
		LeaderElectionNamespace: opts.LeaderElectionNS,
		Controller:              config.Controller{SkipNameValidation: &opts.SkipNameValidation},
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("ready check: %w", err)
	}
	if err := metrics.Registry.Register(controllers.PartnershipCollector{Reader: mgr.GetClient()}); err != nil {
		var already prometheus.AlreadyRegisteredError
		if !errors.As(err, &already) {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}

	op := &Operator{Manager: mgr, tracing: tp}
	r := &controllers.PartnershipReconciler{
		Client:        mgr.GetClient(),
		APIReader:     mgr.GetAPIReader(),
		Recorder:      mgr.GetEventRecorder("homeward-operator"),
		Access:        opts.Access,
		Workers:       opts.Workers,
		HealthRecheck: opts.HealthRecheck,
		Tracer:        tp.Tracer("github.com/homeward-dev/homeward/controllers"),
	}
	switch opts.Runtime {
	case RuntimeLocal:
		changes := make(chan event.GenericEvent, 64)
		op.local = &localruntime.Runtime{
			DataDir: opts.DataDir, RedisPath: opts.RedisPath, KratosPath: opts.KratosPath,
			HomewardPath: opts.HomewardPath, OTLPEndpoint: opts.OTLPEndpoint, Secrets: mgr.GetAPIReader(),
			Hasher: opts.KratosHasher, Log: log.WithName("local-runtime"),
			Changed: func(name string) {
				p := &v1.Partnership{}
				p.Name = name
				select {
				case changes <- event.GenericEvent{Object: p}:
				default: // a reconcile for it is already queued
				}
			},
		}
		r.Runtime = op.local
		r.Changes = changes
	case RuntimeKubernetes:
		r.Runtime = &kuberuntime.Runtime{
			Client: mgr.GetClient(), Images: opts.Images, OTLPEndpoint: opts.OTLPEndpoint,
			IngressClass: opts.IngressClass, Reach: opts.Reach,
		}
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up controller: %w", err)
	}
	return op, nil
}

// Run runs the operator until ctx ends. Tenants' local processes keep running afterwards (a
// restarted operator adopts them) unless stopTenants is set, as at the end of `make dev`.
func (o *Operator) Run(ctx context.Context, stopTenants bool) error {
	err := o.Manager.Start(ctx)
	// The last reconciles' spans are sent before the operator exits.
	flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = errors.Join(err, o.tracing.Shutdown(flush))
	if o.local != nil {
		if stopTenants {
			err = errors.Join(err, o.local.StopAll())
		} else {
			o.local.Release()
		}
	}
	return err
}

// Package operator wires the Partnership controller into a controller-runtime manager with the
// chosen runtime. `homeward operator` and `homeward-dev` both run it.
package operator

import (
	"context"
	"errors"
	"fmt"

	kuberuntime "github.com/homeward-dev/homeward/internal/runtime/kubernetes"
	localruntime "github.com/homeward-dev/homeward/internal/runtime/local"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
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
	Images       kuberuntime.Images
	OTLPEndpoint string
	IngressClass string
	// Reach overrides how the operator connects to tenants' Redis and Kratos (tests).
	Reach func(namespace string) (redisAddr, kratosPublic, kratosAdmin string)

	Access controllers.AccessOptions

	// Workers is how many partnerships are reconciled in parallel (default 4).
	Workers int

	// SkipNameValidation lets one process start the operator more than once (tests restart it).
	SkipNameValidation bool

	LeaderElection         bool
	LeaderElectionNS       string
	MetricsBindAddress     string
	HealthProbeBindAddress string
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
}

// New builds the manager and registers the controller.
func New(cfg *rest.Config, opts Options, log logr.Logger) (*Operator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Logger:                  log,
		Cache:                   controllers.CacheOptions(),
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsBindAddress},
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

	op := &Operator{Manager: mgr}
	r := &controllers.PartnershipReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("homeward-operator"),
		Access:    opts.Access,
		Workers:   opts.Workers,
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
	if o.local != nil {
		if stopTenants {
			err = errors.Join(err, o.local.StopAll())
		} else {
			o.local.Release()
		}
	}
	return err
}

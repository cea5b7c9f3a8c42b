// Command homeward-operator runs the operator that turns Partnerships into tenants. It is its own
// binary so that the Kubernetes client libraries it needs stay out of the tenants' processes, which
// run from the much smaller homeward binary; `homeward operator` runs it too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/operator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := runOperator(ctx, os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "homeward operator: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// operatorConfig is what the operator's flags say.
type operatorConfig struct {
	opts        operator.Options
	kubeconfig  string
	stopTenants bool
	zap         zap.Options
}

// parseOperatorFlags reads and validates the operator's flags.
// version is set at build time with -ldflags "-X main.version=…", as the homeward binary's is.
var version = "dev"

func parseOperatorFlags(args []string, stderr io.Writer) (*operatorConfig, error) {
	fs := flag.NewFlagSet("operator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &operatorConfig{}
	opts := &cfg.opts
	opts.Version = version
	fs.StringVar(&cfg.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file (default: in-cluster)")
	fs.StringVar(&opts.Runtime, "runtime", operator.RuntimeLocal, "where tenants run: kubernetes or local")
	fs.StringVar(&opts.DataDir, "data-dir", "", "local runtime: folder for each tenant's Redis and Kratos data")
	fs.StringVar(&opts.RedisPath, "redis-server", "/usr/bin/redis-server", "local runtime: redis-server binary")
	fs.StringVar(&opts.KratosPath, "kratos", "", "local runtime: kratos binary (default: bin/kratos of the checkout)")
	fs.StringVar(&opts.HomewardPath, "homeward", "", "local runtime: homeward binary the tenant services run from (default: the one beside this executable)")
	fs.BoolVar(&cfg.stopTenants, "stop-tenants-on-exit", false, "local runtime: stop tenants' processes when the operator exits (default: leave them for the next operator to adopt)")
	fs.StringVar(&opts.Images.Homeward, "homeward-image", "ghcr.io/homeward-dev/homeward:v0.1.0", "kubernetes runtime: image of the homeward services")
	fs.StringVar(&opts.Images.Redis, "redis-image", "docker.io/library/redis:7.0.15", "kubernetes runtime: Redis image")
	fs.StringVar(&opts.Images.Kratos, "kratos-image", "docker.io/oryd/kratos:v1.3.1", "kubernetes runtime: Kratos image")
	fs.StringVar(&opts.OTLPEndpoint, "otlp-endpoint", "", "OTLP/gRPC collector host:port for the operator's and tenants' traces")
	fs.StringVar(&opts.IngressClass, "ingress-class", "", "IngressClass of tenants' portal Ingresses (default: the cluster's)")
	fs.StringVar(&opts.Access.IngressNamespace, "ingress-namespace", "ingress-nginx", "namespace of the ingress controller allowed to reach portals")
	fs.StringVar(&opts.Access.OperatorNamespace, "operator-namespace", "homeward-system", "namespace the operator runs in")
	fs.StringVar(&opts.Access.ScraperNamespace, "metrics-scraper-namespace", "", "namespace of the Prometheus allowed through tenants' NetworkPolicies to their /metrics (default: none)")
	fs.IntVar(&opts.Workers, "workers", 4, "partnerships reconciled in parallel")
	fs.DurationVar(&opts.HealthRecheck, "health-recheck", operator.DefaultHealthRecheck, "how often a Ready partnership's storage and identity are checked again")
	fs.BoolVar(&opts.LeaderElection, "leader-elect", false, "elect a leader among operator replicas")
	fs.StringVar(&opts.LeaderElectionNS, "leader-election-namespace", "", "namespace of the leader-election lease (default: the operator's)")
	fs.StringVar(&opts.MetricsBindAddress, "metrics-bind-address", "0", "address of the Prometheus metrics endpoint (:8443 secure, :8080 not); 0 disables it")
	fs.BoolVar(&opts.MetricsSecure, "metrics-secure", true, "serve metrics over HTTPS to scrapers authorised for GET /metrics (the metrics-reader ClusterRole); false serves plain HTTP")
	fs.StringVar(&opts.HealthProbeBindAddress, "health-probe-bind-address", "0", "address of /healthz and /readyz; 0 disables them")
	cfg.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if opts.Runtime == operator.RuntimeLocal && opts.KratosPath == "" {
		p, err := binaries.Path("kratos")
		if err != nil {
			return nil, err
		}
		opts.KratosPath = p
	}
	if opts.Runtime == operator.RuntimeLocal && opts.HomewardPath == "" {
		// Tenants' services run from the homeward binary installed beside this one.
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the homeward binary: %w", err)
		}
		opts.HomewardPath = filepath.Join(filepath.Dir(self), "homeward")
	}
	if opts.Workers < 1 {
		return nil, fmt.Errorf("--workers %d: want at least 1", opts.Workers)
	}
	if opts.HealthRecheck < time.Second {
		return nil, fmt.Errorf("--health-recheck %s: want at least 1s", opts.HealthRecheck)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func runOperator(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseOperatorFlags(args, stderr)
	if err != nil {
		return err
	}
	log := zap.New(zap.UseFlagOptions(&cfg.zap))
	ctrl.SetLogger(log)
	restCfg, err := clientcmd.BuildConfigFromFlags("", cfg.kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	// client-go's default of 5 requests a second would throttle a hundred tenants to a crawl; the
	// apiserver's priority and fairness protects it instead, as controller-runtime's own default.
	restCfg.QPS = -1
	return runOperatorWith(ctx, restCfg, cfg.opts, cfg.stopTenants, log)
}

func runOperatorWith(ctx context.Context, cfg *rest.Config, opts operator.Options, stopTenants bool, log logr.Logger) error {
	op, err := operator.New(cfg, opts, log)
	if err != nil {
		return err
	}
	log.Info("operator starting", "runtime", opts.Runtime, "fieldManager", controllers.FieldManager)
	return op.Run(ctx, stopTenants)
}

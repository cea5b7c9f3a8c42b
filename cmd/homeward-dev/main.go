// Command homeward-dev runs Homeward's local platform for development: a real control plane
// (etcd, kube-apiserver, kube-controller-manager) with the Partnership CRD, the operator with the
// local runtime, and the sample partnerships, until Ctrl-C. `make dev` builds and runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/controlplane"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/operator"
)

// options of one run of the local platform.
type options struct {
	// StateDir holds the control plane, the kubeconfig and the tenants' data.
	StateDir string
	// Samples are the Partnership manifests applied at start.
	Samples []string
	// FastHasher gives tenants' Kratos the test hasher (tests only).
	FastHasher bool
}

func main() {
	stateDir := flag.String("state-dir", "", "folder for the control plane, kubeconfig and tenant data (default <repo>/.dev)")
	samples := flag.String("samples", "", "comma-separated Partnership manifests to apply (default: config/samples/*.yaml)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := options{StateDir: *stateDir}
	if *samples != "" {
		opts.Samples = strings.Split(*samples, ",")
	}
	if err := run(ctx, log, opts, os.Stdout); err != nil {
		log.Error("homeward-dev failed", "error", err)
		stop()
		os.Exit(1)
	}
}

// run brings the platform up, reports it on out, and tears it down when ctx ends.
func run(ctx context.Context, log *slog.Logger, opts options, out io.Writer) error {
	root, err := binaries.RepoRoot()
	if err != nil {
		return err
	}
	if opts.StateDir == "" {
		opts.StateDir = filepath.Join(root, ".dev")
	}
	if opts.Samples == nil {
		if opts.Samples, err = filepath.Glob(filepath.Join(root, "config", "samples", "platform_*.yaml")); err != nil {
			return fmt.Errorf("find samples: %w", err)
		}
	}
	kratosPath, err := binaries.Path("kratos")
	if err != nil {
		return err
	}
	homewardPath, err := binaries.Path("homeward")
	if err != nil {
		return err
	}
	// A previous run's control plane held its own certificates; start clean so no stale
	// kubeconfig points at a dead server. Tenant data is kept, as a cluster's volumes would be.
	cpDir := filepath.Join(opts.StateDir, "controlplane")
	if err := os.RemoveAll(cpDir); err != nil {
		return fmt.Errorf("clear %s: %w", cpDir, err)
	}
	logger := logr.FromSlogHandler(log.Handler())
	ctrllog.SetLogger(logger)

	started := time.Now()
	log.Info("starting etcd, kube-apiserver and kube-controller-manager", "dir", cpDir)
	cp, err := controlplane.Start(ctx, controlplane.Options{
		Dir:               cpDir,
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
		ControllerManager: true,
	})
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(opts.StateDir, "kubeconfig")
	stopAll := func(runErr error) error {
		runErr = errors.Join(runErr, cp.Stop())
		if err := os.Remove(kubeconfig); err != nil && !errors.Is(err, os.ErrNotExist) {
			runErr = errors.Join(runErr, err)
		}
		return runErr
	}
	if err := copyFile(cp.KubeconfigPath, kubeconfig); err != nil {
		return stopAll(err)
	}
	log.Info("control plane ready", "after", time.Since(started).Round(time.Millisecond))

	hasher := kratosserver.HasherProduction
	if opts.FastHasher {
		hasher = kratosserver.HasherFastForTests
	}
	op, err := operator.New(cp.Config, operator.Options{
		Runtime: operator.RuntimeLocal, DataDir: filepath.Join(opts.StateDir, "tenants"),
		RedisPath: "/usr/bin/redis-server", KratosPath: kratosPath, KratosHasher: hasher, HomewardPath: homewardPath,
		Access:             controllers.AccessOptions{IngressNamespace: "ingress-nginx", OperatorNamespace: "homeward-system"},
		MetricsBindAddress: "0", HealthProbeBindAddress: "0",
	}, logger.WithName("operator"))
	if err != nil {
		return stopAll(err)
	}
	opCtx, stopOperator := context.WithCancel(context.Background())
	opDone := make(chan error, 1)
	go func() { opDone <- op.Run(opCtx, true) }()
	shutdown := func(runErr error) error {
		log.Info("stopping the operator and every tenant's processes")
		stopOperator()
		runErr = errors.Join(runErr, <-opDone)
		log.Info("stopping the control plane")
		return stopAll(runErr)
	}

	c, err := newClient(cp.Config)
	if err != nil {
		return shutdown(err)
	}
	if err := applySamples(ctx, c, opts.Samples); err != nil {
		return shutdown(err)
	}

	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "\nHomeward local platform is up.\n\n")
	fmt.Fprintf(w, "  kubeconfig\t%s\n", kubeconfig)
	fmt.Fprintf(w, "  apiserver\t%s\n", cp.Config.Host)
	fmt.Fprintf(w, "  tenant data\t%s\n", filepath.Join(opts.StateDir, "tenants"))
	fmt.Fprintf(w, "  try\tkubectl --kubeconfig %s get partnerships\n", kubeconfig)
	fmt.Fprintf(w, "  \tkubectl --kubeconfig %s get namespaces\n", kubeconfig)
	fmt.Fprintf(w, "  \tkubectl --kubeconfig %s apply -f <your-partnership.yaml>\n", kubeconfig)
	fmt.Fprintf(w, "\nEach partnership's portal URL and its admins' invitations are listed below as they come up.\n")
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n\n")
	if err := w.Flush(); err != nil {
		return shutdown(err)
	}
	watchTenants(ctx, c, out)
	return shutdown(nil)
}

func newClient(cfg *rest.Config) (client.Client, error) {
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

func applySamples(ctx context.Context, c client.Client, files []string) error {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read sample: %w", err)
		}
		var p v1.Partnership
		if err := yaml.UnmarshalStrict(b, &p); err != nil {
			return fmt.Errorf("sample %s: %w", f, err)
		}
		if err := c.Create(ctx, &p); err != nil {
			return fmt.Errorf("apply sample %s: %w", filepath.Base(f), err)
		}
	}
	return nil
}

// watchTenants prints the partnerships whenever their conditions or endpoints change, until ctx ends.
func watchTenants(ctx context.Context, c client.Client, out io.Writer) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	last := ""
	for {
		if table := tenantTable(ctx, c); table != "" && table != last {
			fmt.Fprintf(out, "%s  %s\n", time.Now().Format("15:04:05"), strings.ReplaceAll(table, "\n", "\n  "))
			last = table
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func tenantTable(ctx context.Context, c client.Client) string {
	var list v1.PartnershipList
	if err := c.List(ctx, &list); err != nil {
		return ""
	}
	slices.SortFunc(list.Items, func(a, b v1.Partnership) int { return strings.Compare(a.Name, b.Name) })
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PARTNERSHIP\tREADY\tREASON\tSTORAGE\tIDENTITY\tSERVICES\tPORTAL\tENDPOINTS")
	var invitations []string
	for _, p := range list.Items {
		status := func(t string) string {
			if cond := meta.FindStatusCondition(p.Status.Conditions, t); cond != nil {
				return string(cond.Status)
			}
			return "-"
		}
		reason := "-"
		if cond := meta.FindStatusCondition(p.Status.Conditions, v1.ConditionReady); cond != nil {
			reason = cond.Reason
		}
		var endpoints []string
		for _, e := range p.Status.Endpoints.Services {
			endpoints = append(endpoints, e.Name+"="+e.URL)
		}
		portal := p.Status.Endpoints.Portal
		if portal == "" {
			portal = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, status(v1.ConditionReady), reason,
			status(v1.ConditionStorageReady), status(v1.ConditionIdentityReady), status(v1.ConditionServicesReady), portal, strings.Join(endpoints, " "))
		invitations = append(invitations, adminInvitations(ctx, c, p.Name)...)
	}
	_ = w.Flush()
	if len(invitations) > 0 {
		sb.WriteString("\nSign in as a partnership's admin: open the invitation link, enter the code, choose a password.\n")
		sb.WriteString(strings.Join(invitations, "\n"))
	}
	return strings.TrimRight(sb.String(), "\n")
}

// adminInvitations lists the partnership's admin invitations (link and code), which the operator
// keeps in Secrets in the tenant namespace until they are used or expire.
func adminInvitations(ctx context.Context, c client.Client, partnership string) []string {
	var secrets corev1.SecretList
	if err := c.List(ctx, &secrets, client.InNamespace(controllers.NamespaceName(partnership)),
		client.MatchingLabels{controllers.LabelPartnership: partnership}); err != nil {
		return nil
	}
	var out []string
	for _, s := range secrets.Items {
		if link := string(s.Data["recovery-link"]); strings.HasPrefix(s.Name, "invitation-") && link != "" {
			out = append(out, fmt.Sprintf("  %s  %s  %s  code %s", partnership, s.Data["email"], link, s.Data["recovery-code"]))
		}
	}
	return out
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("read %s: %w", from, err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", to, err)
	}
	return nil
}

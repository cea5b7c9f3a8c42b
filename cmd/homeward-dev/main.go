// Command homeward-dev runs Homeward's local platform for development: a real control plane
// (etcd, kube-apiserver, kube-controller-manager) with the Partnership CRD, a trace viewer every
// process exports to, the operator with the local runtime, and the sample partnerships, until
// Ctrl-C. With --demo each partnership also gets a year of synthetic history. `make dev` builds and
// runs it.
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
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/controlplane"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/operator"
	"github.com/homeward-dev/homeward/internal/traceviewer"
)

// options of one run of the local platform.
type options struct {
	// StateDir holds the control plane, the kubeconfig and the tenants' data.
	StateDir string
	// Samples are the Partnership manifests applied at start.
	Samples []string
	// FastHasher gives tenants' Kratos the test hasher (tests only).
	FastHasher bool
	// Demo imports a year of synthetic history into each partnership once it is Ready.
	Demo bool
}

func main() {
	stateDir := flag.String("state-dir", "", "folder for the control plane, kubeconfig and tenant data (default <repo>/.dev)")
	samples := flag.String("samples", "", "comma-separated Partnership manifests to apply (default: config/samples/*.yaml)")
	demo := flag.Bool("demo", false, "import a year of synthetic history into each partnership (people invented, NHS numbers from the 999 range)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := options{StateDir: *stateDir, Demo: *demo}
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
	viewerPath, err := binaries.Path("otel-desktop-viewer")
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

	viewer, err := traceviewer.Start(ctx, traceviewer.Options{Path: viewerPath, Dir: filepath.Join(opts.StateDir, "viewer"), MaxSize: "256MB"})
	if err != nil {
		return stopAll(err)
	}
	stopControlPlane := stopAll
	stopAll = func(runErr error) error {
		return stopControlPlane(errors.Join(runErr, viewer.Stop()))
	}
	log.Info("trace viewer ready", "url", viewer.URL())

	hasher := kratosserver.HasherProduction
	if opts.FastHasher {
		hasher = kratosserver.HasherFastForTests
	}
	op, err := operator.New(cp.Config, operator.Options{
		Runtime: operator.RuntimeLocal, DataDir: filepath.Join(opts.StateDir, "tenants"),
		RedisPath: "/usr/bin/redis-server", KratosPath: kratosPath, KratosHasher: hasher, HomewardPath: homewardPath,
		OTLPEndpoint:       viewer.OTLPEndpoint(),
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

	c, err := controllers.NewClient(cp.Config)
	if err != nil {
		return shutdown(err)
	}
	if err := applyManifest(ctx, c, filepath.Join(root, "config", "admission", "tenant-guard.yaml")); err != nil {
		return shutdown(err)
	}
	if err := applySamples(ctx, c, opts.Samples); err != nil {
		return shutdown(err)
	}

	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "\nHomeward local platform is up.\n\n")
	fmt.Fprintf(w, "  trace viewer\t%s\t(every request and reconcile, as a trace)\n", viewer.URL())
	fmt.Fprintf(w, "  kubeconfig\t%s\n", kubeconfig)
	fmt.Fprintf(w, "  apiserver\t%s\n", cp.Config.Host)
	fmt.Fprintf(w, "  tenant data\t%s\n", filepath.Join(opts.StateDir, "tenants"))
	fmt.Fprintf(w, "  try\tkubectl --kubeconfig %s get partnerships\n", kubeconfig)
	fmt.Fprintf(w, "  \tkubectl --kubeconfig %s get namespaces\n", kubeconfig)
	fmt.Fprintf(w, "  \tkubectl --kubeconfig %s apply -f <your-partnership.yaml>\n", kubeconfig)
	fmt.Fprintf(w, "\nEach partnership's portal and how to sign in are listed below as they come up.\n")
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n\n")
	if err := w.Flush(); err != nil {
		return shutdown(err)
	}
	d := &dashboard{c: c, out: out, log: log, started: started, viewerURL: viewer.URL(), stateDir: opts.StateDir, demo: opts.Demo,
		demos: map[string]*demoState{}}
	d.watch(ctx)
	return shutdown(nil)
}

// applyManifest creates every object of a YAML file (the admission policies the chart installs too).
func applyManifest(ctx context.Context, c client.Client, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if err := c.Create(ctx, &obj); err != nil {
			return fmt.Errorf("apply %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
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

// demoState is where a partnership's demo history stands.
type demoState struct {
	done    bool
	admin   demoAdmin
	summary string
	err     error
}

// dashboard prints the partnerships whenever what it shows changes, and loads each one's demo
// history once it is Ready.
type dashboard struct {
	c         client.Client
	out       io.Writer
	log       *slog.Logger
	started   time.Time
	viewerURL string
	stateDir  string
	demo      bool

	mu       sync.Mutex
	demos    map[string]*demoState
	allReady bool
}

func (d *dashboard) watch(ctx context.Context) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var loads sync.WaitGroup
	defer loads.Wait()
	last := ""
	for {
		var list v1.PartnershipList
		if err := d.c.List(ctx, &list); err == nil {
			slices.SortFunc(list.Items, func(a, b v1.Partnership) int { return strings.Compare(a.Name, b.Name) })
			if d.demo {
				d.startDemos(ctx, list.Items, &loads)
			}
			if table := d.table(ctx, list.Items); table != last {
				fmt.Fprintf(d.out, "%s  %s\n", time.Now().Format("15:04:05"), strings.ReplaceAll(table, "\n", "\n  "))
				last = table
			}
			d.reportAllReady(list.Items)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func ready(p *v1.Partnership) bool {
	return meta.IsStatusConditionTrue(p.Status.Conditions, v1.ConditionReady)
}

// startDemos imports each Ready partnership's demo history, once, beside the others.
func (d *dashboard) startDemos(ctx context.Context, items []v1.Partnership, loads *sync.WaitGroup) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range items {
		p := items[i].DeepCopy()
		if _, started := d.demos[p.Name]; started || !ready(p) {
			continue
		}
		st := &demoState{}
		d.demos[p.Name] = st
		loads.Add(1)
		go func() {
			defer loads.Done()
			admin, summary, err := loadDemo(ctx, p, d.stateDir)
			if err != nil && ctx.Err() == nil {
				d.log.Error("demo history not loaded", "partnership", p.Name, "error", err)
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			st.done, st.admin, st.summary, st.err = true, admin, summary, err
		}()
	}
}

// reportAllReady says, once, how long the platform took to be wholly up: every partnership Ready
// and, with --demo, its history loaded.
func (d *dashboard) reportAllReady(items []v1.Partnership) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.allReady || len(items) == 0 {
		return
	}
	for i := range items {
		if !ready(&items[i]) {
			return
		}
		if st := d.demos[items[i].Name]; d.demo && (st == nil || !st.done) {
			return
		}
	}
	d.allReady = true
	fmt.Fprintf(d.out, "%s  all %d partnerships Ready %.1f s after start\n", time.Now().Format("15:04:05"), len(items), time.Since(d.started).Seconds())
}

// table is one line per partnership — Ready, its portal, how to sign in — then the admins'
// invitations, each tenant's API endpoints and where the traces are.
func (d *dashboard) table(ctx context.Context, items []v1.Partnership) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PARTNERSHIP\tREADY\tREASON\tPORTAL\tSIGN IN")
	var invitations, endpoints []string
	for i := range items {
		p := &items[i]
		status, reason := "-", "-"
		if cond := meta.FindStatusCondition(p.Status.Conditions, v1.ConditionReady); cond != nil {
			status, reason = string(cond.Status), cond.Reason
		}
		portal := p.Status.Endpoints.Portal
		if portal == "" {
			portal = "-"
		}
		invited := adminInvitations(ctx, d.c, p.Name)
		invitations = append(invitations, invited...)
		signIn := "-"
		switch st := d.demos[p.Name]; {
		case st != nil && st.done && st.err == nil:
			signIn = fmt.Sprintf("%s / %s (demo history: %s)", st.admin.Email, st.admin.Password, st.summary)
		case st != nil && st.done:
			signIn = "demo history failed (see the log)"
		case st != nil:
			signIn = "loading the demo history…"
		case len(invited) > 0:
			signIn = "open the admin's invitation below"
		case len(p.Status.Admins) > 0:
			signIn = "as " + p.Status.Admins[0].Email + " (invitation used)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Name, status, reason, portal, signIn)
		var urls []string
		for _, e := range p.Status.Endpoints.Services {
			urls = append(urls, e.Name+"="+e.URL)
		}
		if len(urls) > 0 {
			endpoints = append(endpoints, "  "+p.Name+"  "+strings.Join(urls, " "))
		}
	}
	_ = w.Flush()
	if len(invitations) > 0 {
		sb.WriteString("\nSign in as a partnership's admin: open the invitation link, enter the code, choose a password.\n")
		sb.WriteString(strings.Join(invitations, "\n") + "\n")
	}
	if len(endpoints) > 0 {
		sb.WriteString("\nAPIs (docs/development.md shows how to call them):\n")
		sb.WriteString(strings.Join(endpoints, "\n") + "\n")
	}
	sb.WriteString("\nTraces of every request: " + d.viewerURL)
	return sb.String()
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

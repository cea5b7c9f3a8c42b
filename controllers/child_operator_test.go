package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kuberuntime "github.com/homeward-dev/homeward/internal/runtime/kubernetes"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/operator"
)

// The benchmark measures the operator alone in a process of its own: the test binary re-executes
// itself as that process when childOperatorEnv is set.
const childOperatorEnv = "HOMEWARD_CHILD_OPERATOR"

// childReach is how the child operator reaches each tenant's Redis and the Kratos.
type childReach struct {
	Kubeconfig   string            `json:"kubeconfig"`
	Redis        map[string]string `json:"redis"`
	KratosPublic string            `json:"kratosPublic"`
	KratosAdmin  string            `json:"kratosAdmin"`
	Tenants      int               `json:"tenants"`
}

func TestMain(m *testing.M) {
	if path := os.Getenv(childOperatorEnv); path != "" {
		if err := runChildOperator(path); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChildOperator runs the kubernetes-runtime operator until it has reconciled every tenant once,
// then reports its writes and resident memory on stdout.
func runChildOperator(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var reach childReach
	if err := json.Unmarshal(b, &reach); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", reach.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS = -1
	var writes atomic.Int64
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method != http.MethodGet && !strings.HasSuffix(req.URL.Path, "reviews") {
				writes.Add(1)
				fmt.Println("wrote", req.Method, req.URL.Path)
			}
			return rt.RoundTrip(req)
		})
	}
	op, err := operator.New(cfg, operator.Options{
		Runtime: operator.RuntimeKubernetes,
		Images:  kuberuntime.Images{Homeward: "homeward:bench", Redis: "redis:7.0.15", Kratos: "oryd/kratos:v1.3.1"},
		Access:  controllers.AccessOptions{IngressNamespace: "ingress-nginx", OperatorNamespace: "homeward-system"},
		Reach: func(ns string) (string, string, string) {
			return reach.Redis[ns], reach.KratosPublic, reach.KratosAdmin
		},
		MetricsBindAddress: "0", HealthProbeBindAddress: "0",
	}, logr.Discard())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- op.Run(ctx, false) }()
	start := time.Now()
	deadline := start.Add(5 * time.Minute)
	for childReconciles() < float64(reach.Tenants) {
		if time.Now().After(deadline) {
			cancel()
			return fmt.Errorf("only %.0f reconciles in 5 minutes", childReconciles())
		}
		time.Sleep(100 * time.Millisecond)
	}
	resync := time.Since(start)
	time.Sleep(2 * time.Second)
	fmt.Printf("writes=%d rss=%.1f resync=%.3f\n", writes.Load(), residentMB(), resync.Seconds())
	cancel()
	return <-done
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func childReconciles() float64 {
	n, _ := partnershipReconciles() // a failed gather reads as none yet; the deadline reports it
	return n
}

// resyncInChild runs a fresh operator in its own process over ready tenants and returns the
// writes it sent, its resident memory in MB and how long it took to reconcile every tenant once.
func resyncInChild(tb testing.TB, kubeconfig string, backends *tenantBackends, tenants int) (int, float64, time.Duration) {
	tb.Helper()
	reach := childReach{Kubeconfig: kubeconfig, Redis: map[string]string{}, Tenants: tenants,
		KratosPublic: backends.kratos.PublicURL(), KratosAdmin: backends.adminURL()}
	backends.mu.Lock()
	for ns, srv := range backends.redis {
		reach.Redis[ns] = srv.Addr()
	}
	backends.mu.Unlock()
	b, err := json.Marshal(reach)
	if err != nil {
		tb.Fatal(err)
	}
	path := tb.TempDir() + "/reach.json"
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childOperatorEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("child operator: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		var w int
		var rss, resync float64
		if n, _ := fmt.Sscanf(line, "writes=%d rss=%f resync=%f", &w, &rss, &resync); n == 3 {
			if w > 0 {
				fmt.Fprintf(os.Stderr, "the resync wrote:\n%s", out)
			}
			return w, rss, time.Duration(resync * float64(time.Second))
		}
	}
	tb.Fatalf("child operator said nothing useful:\n%s", out)
	return 0, 0, 0
}

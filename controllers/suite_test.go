package controllers_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/operator"
	"github.com/homeward-dev/homeward/internal/testenv"
)

const eventually = 60 * time.Second

// writeCounter counts the requests a client sends that could change the cluster. A review (the
// operator asking who it is, at start) is a POST that stores nothing, so it is not one.
type writeCounter struct {
	next   http.RoundTripper
	writes atomic.Int64
	mu     sync.Mutex
	seen   []string
	// applied are the server-side applies sent, in order; spent the round trips' time by kind.
	applied []apply
	spent   map[string]time.Duration
}

// apply is one server-side apply request as the operator sent it.
type apply struct {
	url, contentType, namespace string
	body                        []byte
}

func (w *writeCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	write := req.Method != http.MethodGet && req.Method != http.MethodHead && !strings.HasSuffix(req.URL.Path, "reviews")
	var a *apply
	if write {
		w.writes.Add(1)
		if req.Method == http.MethodPatch && req.Header.Get("Content-Type") == "application/apply-patch+yaml" && req.GetBody != nil {
			body, err := req.GetBody()
			if err == nil {
				b, _ := io.ReadAll(body)
				a = &apply{url: req.URL.RequestURI(), contentType: req.Header.Get("Content-Type"), namespace: namespaceOf(req.URL.Path), body: b}
			}
		}
	}
	t0 := time.Now()
	resp, err := w.next.RoundTrip(req)
	took := time.Since(t0)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.spent == nil {
		w.spent = map[string]time.Duration{}
	}
	w.spent[kindOfCall(req, a != nil)] += took
	if write {
		w.seen = append(w.seen, req.Method+" "+req.URL.Path)
	}
	if a != nil {
		w.applied = append(w.applied, *a)
	}
	return resp, err
}

// kindOfCall sorts the operator's API calls for the benchmarks' account of its time.
func kindOfCall(req *http.Request, isApply bool) string {
	switch {
	case isApply:
		return "applies"
	case strings.HasSuffix(req.URL.Path, "/status"):
		return "status-writes"
	case strings.Contains(req.URL.Path, "/events"):
		return "events"
	case req.Method == http.MethodGet || req.Method == http.MethodHead:
		return "reads"
	default:
		return "other-writes"
	}
}

// namespaceOf is the namespace a request's path names (a namespace's own path included).
func namespaceOf(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if p == "namespaces" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return ""
}

func (w *writeCounter) paths() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.seen...)
}

func (w *writeCounter) applies() []apply {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]apply(nil), w.applied...)
}

// breakdown returns the writes by method and resource, and the round trips' time by kind.
func (w *writeCounter) breakdown() (map[string]int, map[string]time.Duration) {
	byKind := map[string]int{}
	for _, path := range w.paths() {
		parts := strings.Split(path, "/")
		kind := parts[len(parts)-2]
		if strings.HasSuffix(path, "/status") {
			kind = parts[len(parts)-3] + "/status"
		}
		byKind[strings.Fields(path)[0]+" "+kind]++
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return byKind, maps.Clone(w.spent)
}

// runOperator starts an operator against the control plane and returns a counter of its writes
// and a function that stops it.
func runOperator(t testing.TB, cfg *rest.Config, opts operator.Options) (*writeCounter, func()) {
	t.Helper()
	counter := &writeCounter{}
	cfg = rest.CopyConfig(cfg)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		counter.next = rt
		return counter
	}
	if opts.Access.IngressNamespace == "" {
		opts.Access = controllers.AccessOptions{IngressNamespace: "ingress-nginx", OperatorNamespace: "homeward-system"}
	}
	if opts.MetricsBindAddress == "" {
		opts.MetricsBindAddress = "0"
	}
	opts.SkipNameValidation = true
	opts.HealthProbeBindAddress = "0"
	op, err := operator.New(cfg, opts, testr.NewWithInterface(t, testr.Options{Verbosity: 0}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- op.Run(ctx, false) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("operator: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return counter, stop
}

func newClient(t testing.TB, cfg *rest.Config) client.Client {
	t.Helper()
	c, err := controllers.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func loadSample(t *testing.T, name string) *v1.Partnership {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "config", "samples", "platform_v1alpha1_partnership_"+name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var p v1.Partnership
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func condition(c client.Client, name, conditionType string) func(Gomega) metav1.Condition {
	return func(g Gomega) metav1.Condition {
		var p v1.Partnership
		g.Expect(c.Get(context.Background(), client.ObjectKey{Name: name}, &p)).To(Succeed())
		cond := meta.FindStatusCondition(p.Status.Conditions, conditionType)
		g.Expect(cond).NotTo(BeNil(), "condition %s of %s", conditionType, name)
		g.Expect(cond.ObservedGeneration).To(Equal(p.Generation))
		return *cond
	}
}

func hasStatus(status metav1.ConditionStatus, reason string) OmegaMatcher {
	return And(HaveField("Status", status), HaveField("Reason", reason))
}

// markWorkloadsReady plays the kubelet the control plane does not have: it reports every
// Deployment and StatefulSet in the namespace as fully available, writing only what differs.
func markWorkloadsReady(g Gomega, c client.Client, ns string) {
	ctx := context.Background()
	var deps appsv1.DeploymentList
	g.Expect(c.List(ctx, &deps, client.InNamespace(ns))).To(Succeed())
	for i := range deps.Items {
		d := &deps.Items[i]
		r := *d.Spec.Replicas
		want := appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: r, UpdatedReplicas: r, ReadyReplicas: r, AvailableReplicas: r}
		if !equality.Semantic.DeepEqual(d.Status, want) {
			d.Status = want
			g.Expect(c.Status().Update(ctx, d)).To(Succeed())
		}
	}
	var sets appsv1.StatefulSetList
	g.Expect(c.List(ctx, &sets, client.InNamespace(ns))).To(Succeed())
	for i := range sets.Items {
		s := &sets.Items[i]
		r := *s.Spec.Replicas
		want := appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: r, ReadyReplicas: r, CurrentReplicas: r, UpdatedReplicas: r, AvailableReplicas: r}
		if s.Status.ObservedGeneration != want.ObservedGeneration || s.Status.ReadyReplicas != r || s.Status.Replicas != r {
			s.Status = want
			g.Expect(c.Status().Update(ctx, s)).To(Succeed())
		}
	}
}

func keysOf(g Gomega, c client.Client, ns string) map[string][]byte {
	var s corev1.Secret
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: controllers.KeysSecret}, &s)).To(Succeed())
	return s.Data
}

// updatePartnership changes a Partnership, retrying when the operator wrote it in between.
func updatePartnership(g Gomega, c client.Client, name string, change func(*v1.Partnership)) {
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var p v1.Partnership
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, &p); err != nil {
			return err
		}
		change(&p)
		return c.Update(context.Background(), &p)
	})).To(Succeed())
}

// becomesReady plays the kubelet for a tenant's namespace until the Partnership is Ready.
func becomesReady(g Gomega, c client.Client, name, ns string) {
	g.Eventually(func(g Gomega) {
		markWorkloadsReady(g, c, ns)
		g.Expect(condition(c, name, v1.ConditionReady)(g)).To(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
	}).WithTimeout(eventually).WithPolling(time.Second).Should(Succeed())
}

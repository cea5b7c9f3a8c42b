package controllers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kuberuntime "github.com/homeward-dev/homeward/internal/runtime/kubernetes"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/benchtable"
	"github.com/homeward-dev/homeward/internal/controlplane"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/operator"
	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/kit/config"
)

// BenchmarkProvision provisions 100 partnerships (10 when quick) with the kubernetes runtime and
// reports, beside it, its baseline: the very server-side applies the operator made, replayed by a
// plain client with the operator's parallelism against a second control plane in the same run.
// It also reports where the operator's time went, the writes of a full resync of the Ready tenants
// and the resident memory of an operator process doing it.
//
//	go test -run '^$' -bench '^BenchmarkProvision$' -benchtime 1x ./controllers/
func BenchmarkProvision(b *testing.B) {
	for range b.N {
		provisionAtScale(b, benchtable.Size(100, 10))
	}
}

// BenchmarkNationalScale provisions 320 partnerships (40 when quick) as BenchmarkProvision does,
// then times one change at that scale — 20 edits of a Partnership's policy until its services'
// configuration has it, 20 deleted NetworkPolicies until they are back — next to the same on a
// control plane holding 10 tenants (5 when quick), in the same run.
func BenchmarkNationalScale(b *testing.B) {
	for range b.N {
		small := newFleet(b, benchtable.Size(10, 5))
		small.provision(b)
		smallPolicy, smallNetpol := small.changeLatencies(b, 20)
		small.stop()

		large := provisionAtScale(b, benchtable.Size(320, 40))
		policy, netpol := large.changeLatencies(b, 20)
		for name, lat := range map[string][]time.Duration{"policy": policy, "netpol": netpol, "small-policy": smallPolicy, "small-netpol": smallNetpol} {
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)/2]), name+"-p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), name+"-p99-ms")
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// provisionAtScale provisions tenants, replays the operator's applies as the baseline, resyncs in
// a child process and reports it all. The fleet's operator is still running when it returns.
func provisionAtScale(b *testing.B, tenants int) *fleet {
	f := newFleet(b, tenants)
	elapsed := f.provision(b)
	f.stop()
	byKind, spent := f.counter.breakdown()
	fmt.Fprintf(os.Stderr, "operator writes while provisioning %d partnerships, by method and resource: %v\n", tenants, byKind)
	fmt.Fprintf(os.Stderr, "operator API round trips, summed over workers: %v; Kratos admin calls %v; Redis starts %v (all tenants, summed)\n",
		spent, f.backends.kratosTime(), f.backends.redisStartTime())

	// A new operator, alone in a process of its own, resyncs every tenant once: none of it may
	// write, and its resident memory is the operator's own.
	resyncWrites, rss, resync := resyncInChild(b, f.cp.KubeconfigPath, f.backends, tenants)

	plain := replayApplies(b, f.counter.applies(), benchWorkers())
	objects := 0
	for _, a := range f.counter.applies() {
		if a.namespace != "" {
			objects++
		}
	}
	b.ReportMetric(elapsed.Seconds(), "s-to-all-ready")
	b.ReportMetric(plain.Seconds(), "s-plain-apply")
	b.ReportMetric(elapsed.Seconds()/plain.Seconds(), "x-plain-apply")
	b.ReportMetric(float64(f.counter.writes.Load()), "operator-writes")
	b.ReportMetric(float64(objects)/float64(tenants), "objects/tenant")
	b.ReportMetric(float64(resyncWrites), "resync-writes")
	b.ReportMetric(resync.Seconds(), "s-resync")
	b.ReportMetric(rss, "MB-rss-operator")
	for what, d := range spent {
		b.ReportMetric(d.Seconds(), "s-"+what)
	}
	b.ReportMetric(f.backends.kratosTime().Seconds(), "s-kratos-admin")
	b.ReportMetric(f.backends.redisStartTime().Seconds(), "s-redis-start")
	b.ReportMetric(f.kubelet.Seconds(), "s-kubelet-stand-in")
	before := childReconciles()
	f.restart(b)
	f.settle(b, before)
	return f
}

// settle waits until a freshly started operator has reconciled every tenant once, so that a change
// measured next does not queue behind the start-up resync.
func (f *fleet) settle(b *testing.B, before float64) {
	deadline := time.Now().Add(5 * time.Minute)
	for childReconciles() < before+float64(f.tenants) {
		if time.Now().After(deadline) {
			b.Fatalf("the restarted operator did not resync %d tenants in 5 minutes", f.tenants)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
}

// fleet is a control plane, its tenants' backends and an operator provisioning them.
type fleet struct {
	tenants  int
	cp       *controlplane.ControlPlane
	c        client.WithWatch
	backends *tenantBackends
	opts     operator.Options
	counter  *writeCounter
	stop     func()
	// kubelet is the time the kubelet stand-in spent writing workload status, summed over its writers.
	kubelet time.Duration
}

func newFleet(b *testing.B, tenants int) *fleet {
	cp := testenv.ControlPlane(b, testenv.ControlPlaneOptions{CRDDirectoryPaths: []string{"config/crd/bases"}})
	scheme, err := controllers.NewScheme()
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.NewWithWatch(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	idp := testenv.Kratos(b, kratosserver.Options{})
	backends := &tenantBackends{t: b, c: c, kratos: idp, redis: map[string]*redisserver.Server{}, kubeletStarts: true}
	backends.timeKratosAdmin(b)
	f := &fleet{tenants: tenants, cp: cp, c: c, backends: backends,
		opts: operator.Options{
			Runtime: operator.RuntimeKubernetes,
			Images:  kuberuntime.Images{Homeward: "homeward:bench", Redis: "redis:7.0.15", Kratos: "oryd/kratos:v1.3.1"},
			Reach:   backends.reach,
			Workers: benchWorkers(),
		}}
	f.restart(b)
	return f
}

// restart starts an operator. It signs in with the control plane's kubeconfig, as the resync's
// operator process does: the operator records its own user on each tenant namespace, so two
// identities would make the resync rewrite every namespace.
func (f *fleet) restart(b *testing.B) {
	cfg, err := clientcmd.BuildConfigFromFlags("", f.cp.KubeconfigPath)
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS = -1 // as cmd/homeward-operator: the API server's priority and fairness limits it, not the client
	f.counter, f.stop = runOperator(b, cfg, f.opts)
}

// provision creates the fleet's Partnerships and plays the kubelet (kubeletStandIn) until every
// one is Ready, so no Redis starts inside the operator's reconciles.
func (f *fleet) provision(b *testing.B) time.Duration {
	ctx := context.Background()
	kubelet, stopKubelet := runKubelet(b, f.c, f.backends)
	defer func() {
		stopKubelet()
		f.kubelet += time.Duration(kubelet.spent.Load())
	}()
	start := time.Now()
	for i := range f.tenants {
		if err := f.c.Create(ctx, testenv.Partnership(fmt.Sprintf("bench-%03d", i))); err != nil {
			b.Fatal(err)
		}
	}
	for {
		ready := 0
		var list v1.PartnershipList
		if err := f.c.List(ctx, &list); err != nil {
			b.Fatal(err)
		}
		for _, p := range list.Items {
			if meta.IsStatusConditionTrue(p.Status.Conditions, v1.ConditionReady) {
				ready++
			}
		}
		if ready == f.tenants {
			return time.Since(start)
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("only %d of %d ready after 10 minutes", ready, f.tenants)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// changeLatencies edits one Partnership's policy n times, each timed until its referral service's
// Deployment carries the new policy, and deletes one of its NetworkPolicies n times, each timed
// until the operator has put it back.
func (f *fleet) changeLatencies(b *testing.B, n int) (policy, netpol []time.Duration) {
	ctx := context.Background()
	name := "bench-000"
	ns := controllers.NamespaceName(name)
	for i := range n {
		stay := int32(43 + i)
		w := f.watchFromNow(b, &appsv1.DeploymentList{}, ns)
		var p v1.Partnership
		if err := f.c.Get(ctx, client.ObjectKey{Name: name}, &p); err != nil {
			b.Fatal(err)
		}
		p.Spec.Policy.MaxStayDays = stay
		start := time.Now()
		if err := f.c.Update(ctx, &p); err != nil {
			b.Fatal(err)
		}
		policy = append(policy, waitFor(b, w, func(o client.Object) bool {
			d, ok := o.(*appsv1.Deployment)
			return ok && d.Name == controllers.ComponentReferral && maxStayOf(d) == stay
		}).Sub(start))
	}
	var policies networkingv1.NetworkPolicyList
	if err := f.c.List(ctx, &policies, client.InNamespace(ns)); err != nil || len(policies.Items) == 0 {
		b.Fatalf("network policies of %s: %d, %v", ns, len(policies.Items), err)
	}
	for i := range n {
		victim := policies.Items[i%len(policies.Items)].Name
		w := f.watchFromNow(b, &networkingv1.NetworkPolicyList{}, ns)
		start := time.Now()
		if err := f.c.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: victim}}); err != nil {
			b.Fatal(err)
		}
		netpol = append(netpol, waitFor(b, w, func(o client.Object) bool { return o.GetName() == victim && o.GetDeletionTimestamp() == nil }).Sub(start))
	}
	return policy, netpol
}

// watchFromNow watches a namespace's objects of a kind from their current version on, so that the
// objects already there are not reported as added.
func (f *fleet) watchFromNow(b *testing.B, list client.ObjectList, ns string) watch.Interface {
	ctx := context.Background()
	if err := f.c.List(ctx, list, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	w, err := f.c.Watch(ctx, list, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.GetResourceVersion()}})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// waitFor returns when the first added or modified object that done accepts was seen.
func waitFor(b *testing.B, w watch.Interface, done func(client.Object) bool) time.Time {
	defer w.Stop()
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				b.Fatal("watch closed")
			}
			if o, isObject := ev.Object.(client.Object); isObject && (ev.Type == watch.Added || ev.Type == watch.Modified) && done(o) {
				return time.Now()
			}
		case <-timeout:
			b.Fatal("the change did not arrive within a minute")
		}
	}
}

// maxStayOf reads the maximum stay from the policy a service Deployment passes its containers.
func maxStayOf(d *appsv1.Deployment) int32 {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name != config.Env["policy"] {
				continue
			}
			var doc struct {
				Policy struct {
					MaxStayDays int32 `json:"maxStayDays"`
				} `json:"policy"`
			}
			if json.Unmarshal([]byte(e.Value), &doc) == nil {
				return doc.Policy.MaxStayDays
			}
		}
	}
	return 0
}

// replayApplies is the baseline: a plain client sending the recorded server-side applies again,
// unchanged, to a fresh control plane, each tenant's in their order, workers tenants at a time.
func replayApplies(b *testing.B, applies []apply, workers int) time.Duration {
	cp := testenv.ControlPlane(b, testenv.ControlPlaneOptions{CRDDirectoryPaths: []string{"config/crd/bases"}})
	hc, err := rest.HTTPClientFor(cp.Config)
	if err != nil {
		b.Fatal(err)
	}
	var groups [][]apply
	index := map[string]int{}
	for _, a := range applies {
		i, ok := index[a.namespace]
		if !ok {
			i = len(groups)
			index[a.namespace] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], a)
	}
	host := strings.TrimSuffix(cp.Config.Host, "/")
	send := func(a apply) error {
		req, err := http.NewRequest(http.MethodPatch, host+a.url, bytes.NewReader(a.body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", a.contentType)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			out, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("%s: %d %s", a.url, resp.StatusCode, out)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(groups) {
					return
				}
				for _, a := range groups[i] {
					if err := send(a); err != nil {
						failed.Store(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	return time.Since(start)
}

// benchWorkers is the operator's parallelism in the benchmark: HOMEWARD_BENCH_WORKERS, default 4
// (the operator's default).
func benchWorkers() int {
	if n, err := strconv.Atoi(os.Getenv("HOMEWARD_BENCH_WORKERS")); err == nil && n > 0 {
		return n
	}
	return 4
}

func residentMB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// timeKratosAdmin puts a timing proxy in front of Kratos' admin API, which the operator calls to
// create each tenant's admins and their recovery links.
func (t *tenantBackends) timeKratosAdmin(b *testing.B) {
	target, err := url.Parse(t.kratos.AdminURL())
	if err != nil {
		b.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		proxy.ServeHTTP(w, r)
		t.kratosNanos.Add(int64(time.Since(t0)))
	}))
	b.Cleanup(srv.Close)
	t.kratosAdmin = srv.URL
}

func (t *tenantBackends) kratosTime() time.Duration     { return time.Duration(t.kratosNanos.Load()) }
func (t *tenantBackends) redisStartTime() time.Duration { return time.Duration(t.redisNanos.Load()) }

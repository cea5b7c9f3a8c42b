package controllers_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	kuberuntime "github.com/homeward-dev/homeward/internal/runtime/kubernetes"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/operator"
	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// BenchmarkProvision100Partnerships provisions 100 tenants with the kubernetes runtime (workload
// status written by the benchmark, as a kubelet would) and reports, beside it, a baseline: the
// same number of objects created with a plain client in the same run. It also reports the writes
// of a full resync of the 100 ready tenants and the resident memory of an operator process doing it.
//
//	go test -run '^$' -bench Provision100 -benchtime 1x ./controllers/
func BenchmarkProvision100Partnerships(b *testing.B) {
	const tenants = 100
	for range b.N {
		b.StopTimer()
		cp := testenv.ControlPlane(b, testenv.ControlPlaneOptions{CRDDirectoryPaths: []string{"config/crd/bases"}})
		c := newClient(b, cp.Config)
		ctx := context.Background()
		idp := testenv.Kratos(b, kratosserver.Options{})
		backends := &tenantBackends{t: b, c: c, kratos: idp, redis: map[string]*redisserver.Server{}}
		opts := operator.Options{
			Runtime: operator.RuntimeKubernetes,
			Images:  kuberuntime.Images{Homeward: "homeward:bench", Redis: "redis:7.0.15", Kratos: "oryd/kratos:v1.3.1"},
			Reach:   backends.reach,
			Workers: benchWorkers(),
		}

		// Baseline: the objects one tenant ends up with, created by a plain client.
		baselineObjects := 0
		baselineStart := time.Now()
		for i := range tenants {
			ns := fmt.Sprintf("baseline-%03d", i)
			if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
				b.Fatal(err)
			}
			baselineObjects++
			for j := range objectsPerTenant - 1 {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "o" + strconv.Itoa(j)}, Data: map[string]string{"k": "v"}}
				if err := c.Create(ctx, cm); err != nil {
					b.Fatal(err)
				}
				baselineObjects++
			}
		}
		baseline := time.Since(baselineStart)

		counter, stop := runOperator(b, cp.Config, opts)
		b.StartTimer()
		start := time.Now()
		for i := range tenants {
			p := testenv.Partnership(fmt.Sprintf("bench-%03d", i))
			if err := c.Create(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		for {
			ready := 0
			var list v1.PartnershipList
			if err := c.List(ctx, &list); err != nil {
				b.Fatal(err)
			}
			for _, p := range list.Items {
				if meta.IsStatusConditionTrue(p.Status.Conditions, v1.ConditionReady) {
					ready++
					continue
				}
				markWorkloadsReady(NewWithT(b), c, controllers.NamespaceName(p.Name))
			}
			if ready == tenants {
				break
			}
			if time.Since(start) > 5*time.Minute {
				for _, p := range list.Items {
					if c := meta.FindStatusCondition(p.Status.Conditions, v1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
						b.Logf("%s: %+v", p.Name, p.Status.Conditions)
					}
				}
				b.Fatalf("only %d of %d ready after 5 minutes", ready, tenants)
			}
			time.Sleep(200 * time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		provisionWrites := counter.writes.Load()
		byKind := map[string]int{}
		for _, path := range counter.paths() {
			parts := strings.Split(path, "/")
			kind := parts[len(parts)-2]
			if strings.HasSuffix(path, "/status") {
				kind = parts[len(parts)-3] + "/status"
			}
			byKind[strings.Fields(path)[0]+" "+kind]++
		}
		fmt.Fprintf(os.Stderr, "operator writes while provisioning, by method and resource: %v\n", byKind)
		stop()

		// A new operator, alone in a process of its own, resyncs every tenant once: none of it
		// may write, and its resident memory is the operator's own.
		resyncWrites, rss := resyncInChild(b, cp.KubeconfigPath, backends, tenants)

		b.ReportMetric(elapsed.Seconds(), "s-to-all-ready")
		b.ReportMetric(baseline.Seconds(), "s-baseline-creates")
		b.ReportMetric(float64(baselineObjects)/baseline.Seconds(), "baseline-creates/s")
		b.ReportMetric(elapsed.Seconds()/baseline.Seconds(), "x-baseline")
		b.ReportMetric(float64(provisionWrites), "operator-writes")
		b.ReportMetric(float64(resyncWrites), "resync-writes")
		b.ReportMetric(rss, "MB-rss-operator")
	}
}

// objectsPerTenant is about how many objects the operator creates for one tenant with the
// kubernetes runtime (the benchmark prints the exact writes by resource; see docs/performance.md).
const objectsPerTenant = 40

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

// benchWorkers is the operator's parallelism in the benchmark: HOMEWARD_BENCH_WORKERS, default 4
// (the operator's default).
func benchWorkers() int {
	if n, err := strconv.Atoi(os.Getenv("HOMEWARD_BENCH_WORKERS")); err == nil && n > 0 {
		return n
	}
	return 4
}

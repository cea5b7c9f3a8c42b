package kubernetes

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/controllers"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// BenchmarkPlainApplyOf100Tenants is the second baseline for BenchmarkProvision100Partnerships:
// a plain client server-side applies exactly the objects the operator builds for 100 tenants,
// one after the other, with no reconcile logic, bootstrap or status. The difference between the
// two is the operator's own cost.
//
//	go test -run '^$' -bench PlainApplyOf100 -benchtime 1x ./internal/runtime/kubernetes/
func BenchmarkPlainApplyOf100Tenants(b *testing.B) {
	const tenants = 100
	for range b.N {
		b.StopTimer()
		cp := testenv.ControlPlane(b, testenv.ControlPlaneOptions{CRDDirectoryPaths: []string{"config/crd/bases"}})
		scheme, err := controllers.NewScheme()
		if err != nil {
			b.Fatal(err)
		}
		c, err := client.New(cp.Config, client.Options{Scheme: scheme})
		if err != nil {
			b.Fatal(err)
		}
		keys := controllers.Keys{RedisAdmin: "a", RedisUsers: map[string]string{}, KratosCookie: "c0123456789abcdef", KratosCipher: "0123456789abcdef0123456789abcdef", PIIKey: make([]byte, 32)}
		for _, comp := range controllers.ServiceComponents {
			keys.RedisUsers[comp] = comp
		}
		var objects [][]runtime.ApplyConfiguration
		for i := range tenants {
			p := testenv.Partnership(fmt.Sprintf("plain-%03d", i))
			p.UID = types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", i))
			objects = append(objects, tenantObjects(b, p, keys))
		}
		ctx := context.Background()
		count := 0
		b.StartTimer()
		start := time.Now()
		for _, tenant := range objects {
			for _, o := range tenant {
				if err := c.Apply(ctx, o, client.FieldOwner(controllers.FieldManager), client.ForceOwnership); err != nil {
					b.Fatal(err)
				}
				count++
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(elapsed.Seconds(), "s-plain-apply")
		b.ReportMetric(float64(count)/elapsed.Seconds(), "applies/s")
		b.ReportMetric(float64(count), "objects")
	}
}

// tenantObjects are the objects the kubernetes runtime applies for one tenant, in order.
func tenantObjects(b *testing.B, p *platformv1alpha1.Partnership, keys controllers.Keys) []runtime.ApplyConfiguration {
	objs := controllers.AccessObjects(p, controllers.AccessOptions{IngressNamespace: "ingress-nginx", OperatorNamespace: "homeward-system"})
	ns := controllers.NamespaceName(p.Name)
	conf := redisserver.ConfigFile(redisserver.Config{Bind: "0.0.0.0", Port: controllers.PortRedis, Dir: "/data", AppendFsync: "always", ACLFile: "/etc/redis/users.acl"})
	objs = append(objs,
		secretFromStringData(corev1ac.Secret("redis-config", ns).WithOwnerReferences(controllers.OwnerRef(p)).
			WithStringData(map[string]string{"redis.conf": conf, "users.acl": redisserver.ACLFile(keys.RedisAdmin, controllers.RedisUsers(p.Name, keys))})),
		clusterService(p, controllers.ComponentRedis, servicePort("redis", controllers.PortRedis)),
		redisStatefulSet(p, "redis:7.0.15"))
	kconf, err := kratosserver.ConfigFile(kratosserver.Config{PublicURL: "https://x/", AdminURL: "http://k/", Host: "0.0.0.0",
		PublicPort: controllers.PortKratosPublic, AdminPort: controllers.PortKratosAdmin, SchemaURL: "file:///s", SessionLifespan: time.Hour,
		CookieSecret: keys.KratosCookie, CipherSecret: keys.KratosCipher})
	if err != nil {
		b.Fatal(err)
	}
	objs = append(objs,
		corev1ac.Secret("kratos-config", ns).WithOwnerReferences(controllers.OwnerRef(p)).WithData(map[string][]byte{"kratos.yaml": kconf}),
		kratosDataClaim(p),
		clusterService(p, controllers.ComponentKratos, servicePort("public", controllers.PortKratosPublic), servicePort("admin", controllers.PortKratosAdmin)),
		kratosDeployment(p, "oryd/kratos:v1.3.1"))
	for _, comp := range controllers.ServiceComponents {
		objs = append(objs,
			corev1ac.Secret("svc-"+comp, ns).WithOwnerReferences(controllers.OwnerRef(p)).WithData(map[string][]byte{"redis-password": []byte("x")}),
			clusterService(p, comp, servicePort("http", controllers.PortService)),
			serviceDeployment(p, comp, "homeward:bench", "", "{}"))
	}
	return append(objs, portalIngress(p, ""))
}

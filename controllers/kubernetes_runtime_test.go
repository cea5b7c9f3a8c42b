package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kuberuntime "github.com/homeward-dev/homeward/internal/runtime/kubernetes"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/operator"
	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/internal/testenv"
)

var samples = []string{"oldham", "kirklees", "nottingham", "calderdale", "camden", "norfolk_suffolk", "kettering"}

// tenantBackends stands in for the Redis and Kratos pods a kubelet would run: a real redis-server
// per tenant namespace, started with the admin password the operator generated for it, and one
// real Kratos whose admin API the operator invites admins through.
type tenantBackends struct {
	t      testing.TB
	c      client.Client
	kratos *testenv.Identity
	mu     sync.Mutex
	redis  map[string]*redisserver.Server
	starts map[string]*sync.Once
	// kubeletStarts leaves starting each Redis to the kubelet stand-in (launch), as in a cluster,
	// where the operator only applies the StatefulSet; otherwise the operator's first look starts it.
	kubeletStarts bool
	launching     map[string]bool
	// kratosAdmin, when set, is a timing proxy in front of Kratos' admin API (the benchmarks'),
	// kratosNanos its callers' time in it and redisNanos the time tenants' Redis servers took to start.
	kratosAdmin             string
	kratosNanos, redisNanos atomic.Int64
}

func (b *tenantBackends) adminURL() string {
	if b.kratosAdmin != "" {
		return b.kratosAdmin
	}
	return b.kratos.AdminURL()
}

func (b *tenantBackends) reach(ns string) (string, string, string) {
	b.mu.Lock()
	if b.kubeletStarts {
		defer b.mu.Unlock()
		if srv, ok := b.redis[ns]; ok {
			return srv.Addr(), b.kratos.PublicURL(), b.adminURL()
		}
		return "127.0.0.1:1", b.kratos.PublicURL(), b.adminURL()
	}
	if b.starts == nil {
		b.starts = map[string]*sync.Once{}
	}
	once, ok := b.starts[ns]
	if !ok {
		once = &sync.Once{}
		b.starts[ns] = once
	}
	b.mu.Unlock()
	// Each tenant's Redis starts once, and tenants start theirs in parallel, as pods would.
	once.Do(func() { b.startRedis(ns) })
	b.mu.Lock()
	defer b.mu.Unlock()
	if srv, ok := b.redis[ns]; ok {
		return srv.Addr(), b.kratos.PublicURL(), b.adminURL()
	}
	b.starts[ns] = &sync.Once{} // not started yet (no keys): try again next time
	return "127.0.0.1:1", b.kratos.PublicURL(), b.adminURL()
}

// launch starts a tenant's Redis in the background, as a kubelet starts a pod, unless it is up or
// starting; it reports whether it is up.
func (b *tenantBackends) launch(ns string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, up := b.redis[ns]; up {
		return true
	}
	if b.launching == nil {
		b.launching = map[string]bool{}
	}
	if !b.launching[ns] {
		b.launching[ns] = true
		go func() {
			if !b.startRedis(ns) {
				b.mu.Lock()
				delete(b.launching, ns) // no keys yet: the next look starts it
				b.mu.Unlock()
			}
		}()
	}
	return false
}

func (b *tenantBackends) startRedis(ns string) bool {
	var keys corev1.Secret
	if err := b.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: controllers.KeysSecret}, &keys); err != nil {
		return false
	}
	defer func(t0 time.Time) { b.redisNanos.Add(int64(time.Since(t0))) }(time.Now())
	srv, err := redisserver.Start(context.Background(), redisserver.Options{
		Path: "/usr/bin/redis-server", Dir: b.t.TempDir(), AdminPassword: string(keys.Data["redis-admin"]),
	})
	if err != nil {
		b.t.Errorf("start redis for %s: %v", ns, err)
		return false
	}
	b.t.Cleanup(func() { _ = srv.Stop() })
	b.mu.Lock()
	b.redis[ns] = srv
	b.mu.Unlock()
	return true
}

func TestKubernetesRuntime(t *testing.T) {
	cp := testenv.ControlPlane(t, testenv.ControlPlaneOptions{
		CRDDirectoryPaths: []string{"config/crd/bases"},
		ControllerManager: true,
	})
	c := newClient(t, cp.Config)
	backends := &tenantBackends{t: t, c: c, kratos: testenv.Kratos(t, kratosserver.Options{}), redis: map[string]*redisserver.Server{}}
	jaeger := testenv.Jaeger(t)
	opts := operator.Options{
		Runtime:      operator.RuntimeKubernetes,
		Images:       kuberuntime.Images{Homeward: "ghcr.io/homeward-dev/homeward:test", Redis: "redis:7.0.15", Kratos: "oryd/kratos:v1.3.1"},
		Reach:        backends.reach,
		OTLPEndpoint: jaeger.OTLPEndpoint(),
	}
	_, stop := runOperator(t, cp.Config, opts)
	ctx := context.Background()

	t.Run("every sample becomes a ready tenant once its workloads are available", func(t *testing.T) {
		g := NewWithT(t)
		for _, name := range samples {
			g.Expect(c.Create(ctx, loadSample(t, name))).To(Succeed())
		}
		for _, name := range samples {
			p := loadSample(t, name)
			ns := controllers.NamespaceName(p.Name)
			g.Eventually(condition(c, p.Name, v1.ConditionAccessReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
			g.Expect(condition(c, p.Name, v1.ConditionReady)(g)).To(hasStatus(metav1.ConditionFalse, v1.ReasonRedisStarting))
			becomesReady(g, c, p.Name, ns)
		}
	})

	t.Run("each reconcile is a trace: the partnership, a span per phase, its API requests beneath", func(t *testing.T) {
		reconcileTraced(t, jaeger.QueryURL(), "kirklees")
	})

	t.Run("a tenant has every object, labelled and owned as designed", func(t *testing.T) {
		g := NewWithT(t)
		var p v1.Partnership
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "kirklees"}, &p)).To(Succeed())
		ns := "hw-kirklees"
		g.Expect(p.Status.Namespace).To(Equal(ns))
		g.Expect(p.Finalizers).To(ContainElement(controllers.Finalizer))
		g.Expect(p.Status.Endpoints.Portal).To(Equal("https://kirklees.homeward.example/"))
		g.Expect(p.Status.Admins).To(ConsistOf(And(
			HaveField("Email", "hfh.coordinator@kirklees.example"),
			HaveField("Invitation", v1.InvitationSent),
			HaveField("IdentityID", Not(BeEmpty())),
			HaveField("InvitationSecret", Not(BeEmpty())),
		)))

		var namespace corev1.Namespace
		g.Expect(c.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
		g.Expect(namespace.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
		g.Expect(namespace.Labels).To(HaveKeyWithValue(controllers.LabelPartnership, "kirklees"))
		g.Expect(namespace.OwnerReferences).To(BeEmpty(), "the namespace survives a Retain deletion")

		owned := func(obj client.Object, name string) {
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed(), "%T %s", obj, name)
			g.Expect(obj.GetOwnerReferences()).To(ConsistOf(And(HaveField("Name", "kirklees"), HaveField("UID", p.UID), HaveField("Controller", ptr.To(true)))))
			g.Expect(obj.GetLabels()).To(HaveKeyWithValue(controllers.LabelPartnership, "kirklees"))
		}
		for _, comp := range controllers.AllComponents {
			sa := &corev1.ServiceAccount{}
			owned(sa, comp)
			g.Expect(sa.AutomountServiceAccountToken).To(Equal(ptr.To(false)))
		}
		owned(&rbacv1.Role{}, "partnership-support")
		owned(&rbacv1.RoleBinding{}, "partnership-support")
		quota := &corev1.ResourceQuota{}
		owned(quota, "tenant-quota")
		g.Expect(quota.Spec.Hard).To(HaveKeyWithValue(corev1.ResourceServicesNodePorts, resource.MustParse("0")))
		owned(&corev1.LimitRange{}, "tenant-limits")
		var policies networkingv1.NetworkPolicyList
		g.Expect(c.List(ctx, &policies, client.InNamespace(ns))).To(Succeed())
		g.Expect(policies.Items).To(HaveLen(9))
		owned(&networkingv1.NetworkPolicy{}, "default-deny")
		owned(&appsv1.StatefulSet{}, "redis")
		owned(&networkingv1.Ingress{}, "portal")
		for _, comp := range append([]string{"kratos"}, controllers.ServiceComponents...) {
			d := &appsv1.Deployment{}
			owned(d, comp)
			pod := d.Spec.Template.Spec
			g.Expect(pod.AutomountServiceAccountToken).To(Equal(ptr.To(false)))
			g.Expect(pod.HostNetwork || pod.HostPID || pod.HostIPC).To(BeFalse())
			g.Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
			for _, ctr := range append(pod.InitContainers, pod.Containers...) {
				g.Expect(*ctr.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())
				g.Expect(*ctr.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
				g.Expect(ctr.SecurityContext.Capabilities.Drop).To(ContainElement(corev1.Capability("ALL")))
				g.Expect(ctr.Resources.Limits).To(HaveKey(corev1.ResourceMemory))
			}
		}

		keys := &corev1.Secret{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.KeysSecret}, keys)).To(Succeed())
		g.Expect(keys.OwnerReferences).To(BeEmpty(), "keys survive a Retain deletion")
		g.Expect(keys.Data["pii-key"]).To(HaveLen(44), "base64 of 32 bytes")
		g.Expect(keys.Data["kratos-cipher"]).To(HaveLen(32))

		var invitation corev1.Secret
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: p.Status.Admins[0].InvitationSecret}, &invitation)).To(Succeed())
		g.Expect(string(invitation.Data["recovery-link"])).To(ContainSubstring("recovery?flow="))
		g.Expect(invitation.Data["recovery-code"]).NotTo(BeEmpty())

		identities, _, err := backends.kratos.Admin.IdentityAPI.ListIdentities(ctx).CredentialsIdentifier("hfh.coordinator@kirklees.example").Execute()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(identities).To(HaveLen(1))
		g.Expect(identities[0].MetadataPublic).To(Equal(map[string]any{"partnership": "kirklees", "roles": []any{"partnership-admin"}}))

		rdb := backends.redis[ns].AdminClient()
		defer rdb.Close()
		users, err := rdb.Do(ctx, "ACL", "USERS").StringSlice()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(users).To(ContainElements("referral", "housing", "reporting", "portal"))

		var events eventsv1.EventList
		g.Expect(c.List(ctx, &events)).To(Succeed())
		g.Expect(events.Items).To(ContainElement(And(
			HaveField("Regarding.Name", "kirklees"), HaveField("Reason", v1.ReasonReady),
			HaveField("Note", ContainSubstring("Ready is True")))))
	})

	t.Run("the partnership gauge counts tenants by condition", func(t *testing.T) {
		g := NewWithT(t)
		families, err := metrics.Registry.Gather()
		g.Expect(err).NotTo(HaveOccurred())
		var readyTrue float64 = -1
		for _, f := range families {
			if f.GetName() != "homeward_partnerships" {
				continue
			}
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["condition"] == v1.ConditionReady && labels["status"] == "True" {
					readyTrue = m.GetGauge().GetValue()
				}
			}
		}
		g.Expect(readyTrue).To(Equal(float64(len(samples))))
	})

	t.Run("more than one replica gets a disruption budget, and loses it again", func(t *testing.T) {
		g := NewWithT(t)
		setReferral := func(n int32) {
			updatePartnership(g, c, "nottingham", func(p *v1.Partnership) { p.Spec.Services.Referral = ptr.To(n) })
		}
		key := client.ObjectKey{Namespace: "hw-nottingham", Name: "referral"}
		setReferral(3)
		g.Eventually(func(g Gomega) {
			var pdb policyv1.PodDisruptionBudget
			g.Expect(c.Get(ctx, key, &pdb)).To(Succeed())
			g.Expect(pdb.Spec.MinAvailable.IntValue()).To(Equal(1))
			var d appsv1.Deployment
			g.Expect(c.Get(ctx, key, &d)).To(Succeed())
			g.Expect(*d.Spec.Replicas).To(Equal(int32(3)))
		}).WithTimeout(eventually).Should(Succeed())
		setReferral(1)
		g.Eventually(func() bool { return apierrors.IsNotFound(c.Get(ctx, key, &policyv1.PodDisruptionBudget{})) }).
			WithTimeout(eventually).Should(BeTrue())
		becomesReady(g, c, "nottingham", "hw-nottingham")
	})

	t.Run("a full resync of ready tenants writes nothing", func(t *testing.T) {
		g := NewWithT(t)
		stop()
		counter, stopAgain := runOperator(t, cp.Config, opts)
		defer stopAgain()
		// A new operator reconciles every partnership once as its caches fill: a full resync.
		before := reconciles(g)
		var all v1.PartnershipList
		g.Expect(c.List(ctx, &all)).To(Succeed())
		g.Eventually(func() float64 { return reconciles(g) - before }).WithTimeout(eventually).
			Should(BeNumerically(">=", len(all.Items)))
		g.Consistently(counter.paths).WithTimeout(2 * time.Second).Should(BeEmpty())
	})

	_, stop = runOperator(t, cp.Config, opts)

	t.Run("drift is corrected", func(t *testing.T) {
		g := NewWithT(t)
		ns := "hw-oldham"
		g.Expect(c.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-deny"}})).To(Succeed())
		g.Expect(c.Delete(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "partnership-support"}})).To(Succeed())
		var quota corev1.ResourceQuota
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tenant-quota"}, &quota)).To(Succeed())
		quota.Spec.Hard[corev1.ResourcePods] = resource.MustParse("500")
		g.Expect(c.Update(ctx, &quota)).To(Succeed())

		g.Eventually(func(g Gomega) {
			var np networkingv1.NetworkPolicy
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default-deny"}, &np)).To(Succeed())
			g.Expect(np.Spec.PolicyTypes).To(ConsistOf(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress))
			var role rbacv1.Role
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "partnership-support"}, &role)).To(Succeed())
			var q corev1.ResourceQuota
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tenant-quota"}, &q)).To(Succeed())
			g.Expect(q.Spec.Hard.Pods().String()).To(Equal("50"))
		}).WithTimeout(eventually).Should(Succeed())
	})

	t.Run("the newer of two partnerships claiming a host is refused", func(t *testing.T) {
		g := NewWithT(t)
		rival := testenv.Partnership("oldham-rival")
		rival.Spec.Host = "oldham.homeward.example"
		g.Expect(c.Create(ctx, rival)).To(Succeed())
		g.Eventually(condition(c, rival.Name, v1.ConditionReady)).WithTimeout(eventually).Should(And(
			hasStatus(metav1.ConditionFalse, v1.ReasonHostConflict), HaveField("Message", ContainSubstring(`"oldham"`))))
		g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: "hw-oldham-rival", Name: "portal"}, &networkingv1.Ingress{}))).To(BeTrue())
		g.Expect(condition(c, "oldham", v1.ConditionReady)(g)).To(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "hw-oldham", Name: "portal"}, &networkingv1.Ingress{})).To(Succeed())

		// When the holder moves to another host, the rival gets it.
		updatePartnership(g, c, "oldham", func(p *v1.Partnership) { p.Spec.Host = "h2h.oldham.homeward.example" })
		becomesReady(g, c, rival.Name, "hw-oldham-rival")
	})

	t.Run("suspend scales to zero and resume brings the workloads back", func(t *testing.T) {
		g := NewWithT(t)
		setSuspend := func(v bool) {
			updatePartnership(g, c, "camden", func(p *v1.Partnership) { p.Spec.Suspend = v })
		}
		setSuspend(true)
		g.Eventually(condition(c, "camden", v1.ConditionReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionFalse, v1.ReasonSuspended))
		var sts appsv1.StatefulSet
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "hw-camden", Name: "redis"}, &sts)).To(Succeed())
		g.Expect(*sts.Spec.Replicas).To(BeZero())
		var deps appsv1.DeploymentList
		g.Expect(c.List(ctx, &deps, client.InNamespace("hw-camden"))).To(Succeed())
		for _, d := range deps.Items {
			g.Expect(*d.Spec.Replicas).To(BeZero(), d.Name)
		}
		setSuspend(false)
		becomesReady(g, c, "camden", "hw-camden")
	})

	t.Run("Retain keeps the namespace and keys, and a re-created partnership adopts them", func(t *testing.T) {
		g := NewWithT(t)
		ns := "hw-calderdale"
		before := keysOf(g, c, ns)
		g.Expect(c.Delete(ctx, &v1.Partnership{ObjectMeta: metav1.ObjectMeta{Name: "calderdale"}})).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "calderdale"}, &v1.Partnership{}))
		}).WithTimeout(eventually).Should(BeTrue())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "redis"}, &appsv1.StatefulSet{}))
		}).WithTimeout(eventually).Should(BeTrue(), "workloads go with their owner")
		var namespace corev1.Namespace
		g.Expect(c.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
		g.Expect(namespace.DeletionTimestamp).To(BeNil())

		g.Expect(c.Create(ctx, loadSample(t, "calderdale"))).To(Succeed())
		becomesReady(g, c, "calderdale", ns)
		g.Expect(keysOf(g, c, ns)).To(Equal(before), "the same keys, so the retained data can be read")
	})

	t.Run("Delete removes the namespace and everything in it", func(t *testing.T) {
		g := NewWithT(t)
		updatePartnership(g, c, "kettering", func(p *v1.Partnership) { p.Spec.DeletionPolicy = v1.DeletionDelete })
		g.Expect(c.Delete(ctx, &v1.Partnership{ObjectMeta: metav1.ObjectMeta{Name: "kettering"}})).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "hw-kettering"}, &corev1.Namespace{})) &&
				apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "kettering"}, &v1.Partnership{}))
		}).WithTimeout(eventually).Should(BeTrue())
	})

	t.Run("a portal the API server refuses to publish leaves the tenant not ready", func(t *testing.T) {
		g := NewWithT(t)
		// An admission policy, as a cluster's own rules might, refuses every Ingress in one namespace.
		g.Expect(c.Create(ctx, &admissionv1.ValidatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "no-ingress-for-frozen"},
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: ptr.To(admissionv1.Fail),
				MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionv1.RuleWithOperations{
						Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
						Rule:       admissionv1.Rule{APIGroups: []string{"networking.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"ingresses"}},
					}}}},
				Validations: []admissionv1.Validation{{Expression: "false", Message: "ingresses are frozen here"}},
			},
		})).To(Succeed())
		g.Expect(c.Create(ctx, &admissionv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "no-ingress-for-frozen"},
			Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "no-ingress-for-frozen",
				ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
				MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{controllers.LabelPartnership: "frozen"}}}},
		})).To(Succeed())
		// The API server enforces a new policy a moment after it is created: wait until it refuses
		// an Ingress in a namespace it covers before the tenant's is written.
		probe := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe-frozen", Labels: map[string]string{controllers.LabelPartnership: "frozen"}}}
		g.Expect(c.Create(ctx, probe)).To(Succeed())
		g.Eventually(func() error {
			return c.Create(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "probe-frozen", Name: "probe"},
				Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "portal", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}, client.DryRunAll)
		}).WithTimeout(eventually).Should(MatchError(ContainSubstring("ingresses are frozen here")))
		g.Expect(c.Delete(ctx, probe)).To(Succeed())
		g.Expect(c.Create(ctx, testenv.Partnership("frozen"))).To(Succeed())
		g.Eventually(func(g Gomega) {
			markWorkloadsReady(g, c, "hw-frozen")
			g.Expect(condition(c, "frozen", v1.ConditionServicesReady)(g)).To(And(hasStatus(metav1.ConditionFalse, v1.ReasonPortalNotPublished),
				HaveField("Message", ContainSubstring("ingresses are frozen here"))))
			g.Expect(condition(c, "frozen", v1.ConditionReady)(g)).To(hasStatus(metav1.ConditionFalse, v1.ReasonPortalNotPublished))
		}).WithTimeout(eventually).WithPolling(time.Second).Should(Succeed())
		// Lifting the rule publishes the portal and the tenant becomes ready.
		g.Expect(c.Delete(ctx, &admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "no-ingress-for-frozen"}})).To(Succeed())
		becomesReady(g, c, "frozen", "hw-frozen")
	})

	t.Run("a Partnership being deleted says so until its namespace is gone", func(t *testing.T) {
		g := NewWithT(t)
		updatePartnership(g, c, "frozen", func(p *v1.Partnership) { p.Spec.DeletionPolicy = v1.DeletionDelete })
		// Something in the namespace holds its deletion up, as a volume being detached would.
		held := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "hw-frozen", Name: "held", Finalizers: []string{"homeward.dev/test-hold"}}}
		g.Expect(c.Create(ctx, held)).To(Succeed())
		g.Expect(c.Delete(ctx, &v1.Partnership{ObjectMeta: metav1.ObjectMeta{Name: "frozen"}})).To(Succeed())
		g.Eventually(condition(c, "frozen", v1.ConditionDeleting)).WithTimeout(eventually).Should(And(
			hasStatus(metav1.ConditionTrue, v1.ReasonDeleting), HaveField("Message", ContainSubstring("namespace hw-frozen is deleted with all its data"))))
		g.Expect(condition(c, "frozen", v1.ConditionReady)(g)).To(hasStatus(metav1.ConditionFalse, v1.ReasonDeleting))
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(held), held)).To(Succeed())
		held.Finalizers = nil
		g.Expect(c.Update(ctx, held)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "frozen"}, &v1.Partnership{}))
		}).WithTimeout(eventually).Should(BeTrue())
	})

	t.Run("a namespace that belongs to someone else is never taken over", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hw-squatter"}})).To(Succeed())
		g.Expect(c.Create(ctx, testenv.Partnership("squatter"))).To(Succeed())
		g.Eventually(condition(c, "squatter", v1.ConditionNamespaceReady)).WithTimeout(eventually).Should(And(
			hasStatus(metav1.ConditionFalse, v1.ReasonNamespaceTaken), HaveField("Message", ContainSubstring("does not belong to this partnership"))))
		var ns corev1.Namespace
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "hw-squatter"}, &ns)).To(Succeed())
		g.Expect(ns.Labels).NotTo(HaveKey(controllers.LabelPartnership))
	})
}

// reconciles is how many reconciles of Partnerships have finished in this process.
func reconciles(g Gomega) float64 {
	n, err := partnershipReconciles()
	g.Expect(err).NotTo(HaveOccurred())
	return n
}

func partnershipReconciles() (float64, error) {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "partnership" {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total, nil
}

// reconcileTraced finds, in Jaeger, a reconcile of the partnership whose root span names it and
// has a child span per phase and the status write, with the API requests as their children.
func reconcileTraced(t *testing.T, query, partnership string) {
	t.Helper()
	type span struct {
		TraceID, SpanID, OperationName string
		References                     []struct{ RefType, SpanID string }
		Tags                           []struct {
			Key   string
			Value any
		}
	}
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(query + "/api/traces?service=homeward-operator&limit=100&tags=" +
			url.QueryEscape(`{"homeward.partnership":"`+partnership+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Data []struct{ Spans []span } }
		err = json.NewDecoder(resp.Body).Decode(&got)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range got.Data {
			byID, children := map[string]span{}, map[string][]span{}
			for _, sp := range tr.Spans {
				byID[sp.SpanID] = sp
				for _, ref := range sp.References {
					if ref.RefType == "CHILD_OF" {
						children[ref.SpanID] = append(children[ref.SpanID], sp)
					}
				}
			}
			for _, root := range tr.Spans {
				if root.OperationName != "reconcile Partnership" || len(root.References) > 0 {
					continue
				}
				names, requests := map[string]bool{}, 0
				for _, phase := range children[root.SpanID] {
					names[phase.OperationName] = true
					for _, req := range children[phase.SpanID] {
						for _, tag := range req.Tags {
							if tag.Key == "http.request.method" || tag.Key == "http.method" {
								requests++
							}
						}
					}
				}
				want := []string{"phase namespace", "phase access", "phase storage", "phase identity", "phase services", "phase ingress", "status"}
				complete := requests > 0
				for _, n := range want {
					complete = complete && names[n]
				}
				if complete {
					return
				}
				last = fmt.Sprintf("children %v, %d API requests beneath them", names, requests)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("no trace of a whole reconcile of %s reached Jaeger; the last one seen: %s", partnership, last)
}

package config_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// TestTenantAdmissionPolicies applies config/admission to a real API server and tries, as the
// operator and as someone else who may otherwise write anything (system:masters, which RBAC never
// stops), each change the policies guard — as server-side dry runs.
func TestTenantAdmissionPolicies(t *testing.T) {
	g := NewWithT(t)
	root := testenv.RepoRoot(t)
	cp := testenv.ControlPlane(t, testenv.ControlPlaneOptions{})
	kubectl, err := binaries.Path("kubectl")
	g.Expect(err).NotTo(HaveOccurred())
	out, err := exec.Command(kubectl, "--kubeconfig", cp.KubeconfigPath, "apply", "--server-side", "--field-manager=homeward-test",
		"-f", root+"/config/admission/tenant-guard.yaml").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))

	scheme := runtime.NewScheme()
	g.Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	as := func(user string) client.Client {
		cfg := rest.CopyConfig(cp.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:masters", "system:authenticated"}}
		c, err := client.New(cfg, client.Options{Scheme: scheme})
		g.Expect(err).NotTo(HaveOccurred())
		return client.WithFieldOwner(client.NewDryRunClient(c), "homeward-test")
	}
	ctx := context.Background()
	admin, err := client.New(cp.Config, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	const operator = "system:serviceaccount:homeward-system:homeward-operator"
	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "hw-oldham", Labels: map[string]string{"homeward.dev/partnership": "oldham"},
			Annotations: map[string]string{"homeward.dev/operator": operator}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "hw-closing", Labels: map[string]string{"homeward.dev/partnership": "closing"},
			Annotations: map[string]string{"homeward.dev/operator": operator}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"}},
	} {
		g.Expect(admin.Create(ctx, ns)).To(Succeed())
	}

	allowAll := func(ns string) client.Object {
		return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-all", Namespace: ns},
			Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{}}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	}
	binding := func(ns string) client.Object {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "me-admin", Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "admin"},
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "mallory", APIGroup: "rbac.authorization.k8s.io"}}}
	}
	quota := func(ns string) client.Object {
		return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "more", Namespace: ns},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1000")}}}
	}
	externalIPs := func(ns string) client.Object {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "intercept", Namespace: ns},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443}}, ExternalIPs: []string{"203.0.113.10"}}}
	}
	// A binding takes effect once its policy is compiled: wait until each of the two guards refuses.
	g.Eventually(func() error { return as("mallory").Create(ctx, allowAll("hw-oldham")) }).WithTimeout(30 * time.Second).
		Should(Satisfy(apierrors.IsForbidden))
	g.Eventually(func() error { return as("mallory").Create(ctx, externalIPs("hw-oldham")) }).WithTimeout(30 * time.Second).
		Should(Satisfy(apierrors.IsForbidden))
	// Each tenant namespace holds the operator's policy; hw-closing is being deleted (this control
	// plane runs no namespace controller, so it stays Terminating).
	operatorCfg := rest.CopyConfig(cp.Config)
	operatorCfg.Impersonate = rest.ImpersonationConfig{UserName: operator, Groups: []string{"system:masters", "system:authenticated"}}
	asOperator, err := client.New(operatorCfg, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	held := func(ns string) client.Object {
		return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: ns},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	}
	for _, ns := range []string{"hw-oldham", "hw-closing"} {
		g.Expect(asOperator.Create(ctx, held(ns))).To(Succeed())
	}
	g.Expect(admin.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hw-closing"}})).To(Succeed())
	for _, tc := range []struct {
		name, ns string
		allowed  bool
	}{
		{"someone else deletes a tenant's NetworkPolicy", "hw-oldham", false},
		{"in a tenant namespace being deleted, its controller-manager (by whatever name) deletes what it holds", "hw-closing", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := as("kube-controller-manager").Delete(ctx, held(tc.ns))
			if tc.allowed && err != nil || !tc.allowed && !apierrors.IsForbidden(err) {
				t.Errorf("allowed=%v, got %v", tc.allowed, err)
			}
		})
	}
	for _, tc := range []struct {
		name, user, ns string
		obj            func(string) client.Object
		allowed        bool
	}{
		{"someone else adds an allow-all NetworkPolicy", "mallory", "hw-oldham", allowAll, false},
		{"someone else binds themself the admin role", "mallory", "hw-oldham", binding, false},
		{"someone else raises the quota", "mallory", "hw-oldham", quota, false},
		{"the operator writes a NetworkPolicy", operator, "hw-oldham", allowAll, true},
		{"the operator writes a RoleBinding", operator, "hw-oldham", binding, true},
		{"a Service with externalIPs, even the operator's", operator, "hw-oldham", externalIPs, false},
		{"outside tenant namespaces nothing changes", "mallory", "elsewhere", allowAll, true},
		{"outside tenant namespaces externalIPs are not Homeward's to refuse", "mallory", "elsewhere", externalIPs, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := as(tc.user).Create(ctx, tc.obj(tc.ns))
			if tc.allowed && err != nil || !tc.allowed && !apierrors.IsForbidden(err) {
				t.Errorf("allowed=%v, got %v", tc.allowed, err)
			}
		})
	}
}

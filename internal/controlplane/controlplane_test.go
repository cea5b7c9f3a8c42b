package controlplane_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// One control plane serves every case here: starting one costs about four seconds.
func TestControlPlane(t *testing.T) {
	cp := testenv.ControlPlane(t, testenv.ControlPlaneOptions{
		CRDDirectoryPaths: []string{"config/crd/bases"},
		ControllerManager: true,
	})
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := platformv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a quota is enforced: no NodePort or LoadBalancer Service where the quota allows none", func(t *testing.T) {
		g := NewWithT(t)
		ctx := context.Background()
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hw-quota"}}
		g.Expect(c.Create(ctx, ns)).To(Succeed())
		quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "tenant-quota", Namespace: ns.Name},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
				corev1.ResourceServicesNodePorts: resource.MustParse("0"), corev1.ResourceServicesLoadBalancers: resource.MustParse("0")}}}
		g.Expect(c.Create(ctx, quota)).To(Succeed())
		// The quota controller counts usage first; until then admission cannot check it.
		g.Eventually(func(g Gomega) {
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(quota), quota)).To(Succeed())
			g.Expect(quota.Status.Hard).To(HaveKey(corev1.ResourceServicesNodePorts))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		port := []corev1.ServicePort{{Port: 80}}
		for _, typ := range []corev1.ServiceType{corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer} {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: strings.ToLower(string(typ)), Namespace: ns.Name},
				Spec: corev1.ServiceSpec{Type: typ, Ports: port}}
			err := c.Create(ctx, svc)
			g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "a %s Service: %v", typ, err)
			g.Expect(err).To(MatchError(ContainSubstring("exceeded quota")))
		}
		g.Expect(c.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "inside", Namespace: ns.Name},
			Spec: corev1.ServiceSpec{Ports: port}})).To(Succeed(), "a ClusterIP Service is still allowed")
	})

	t.Run("the built-in roles hold what they do on a real cluster", func(t *testing.T) {
		g := NewWithT(t)
		var edit rbacv1.ClusterRole
		g.Eventually(func(g Gomega) {
			g.Expect(c.Get(context.Background(), client.ObjectKey{Name: "edit"}, &edit)).To(Succeed())
			g.Expect(edit.Rules).NotTo(BeEmpty())
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	t.Run("a deleted namespace actually disappears", func(t *testing.T) {
		g := NewWithT(t)
		ctx := context.Background()
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hw-oldham"}}
		g.Expect(c.Create(ctx, ns)).To(Succeed())
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "policy", Namespace: ns.Name}, Data: map[string]string{"maxStayDays": "42"}}
		g.Expect(c.Create(ctx, cm)).To(Succeed())

		g.Expect(c.Delete(ctx, ns)).To(Succeed())
		// The namespace controller empties the namespace and removes the kubernetes finalizer;
		// without it the namespace would stay Terminating for ever.
		g.Eventually(func() error { return c.Get(ctx, client.ObjectKeyFromObject(ns), ns) }).
			WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).
			Should(Satisfy(apierrors.IsNotFound))
		g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(cm), cm))).To(BeTrue())
	})

	t.Run("the garbage collector follows an owner reference from a Partnership", func(t *testing.T) {
		g := NewWithT(t)
		ctx := context.Background()
		owner := testenv.Partnership("kirklees")
		g.Expect(c.Create(ctx, owner)).To(Succeed())
		dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: "kirklees-owned", Namespace: "default",
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: platformv1alpha1.GroupVersion.String(), Kind: "Partnership",
				Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: ptr.To(true),
			}},
		}}
		g.Expect(c.Create(ctx, dependent)).To(Succeed())

		g.Expect(c.Delete(ctx, owner)).To(Succeed())
		g.Eventually(func() error { return c.Get(ctx, client.ObjectKeyFromObject(dependent), dependent) }).
			WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).
			Should(Satisfy(apierrors.IsNotFound))
	})

	t.Run("the admin kubeconfig works for kubectl", func(t *testing.T) {
		kubectl, err := exec.LookPath("kubectl")
		if err != nil {
			t.Fatalf("kubectl is part of the machine image and make dev prints a kubectl command: %v", err)
		}
		g := NewWithT(t)
		info, err := os.Stat(cp.KubeconfigPath)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)), "the kubeconfig holds admin credentials")
		out, err := exec.Command(kubectl, "--kubeconfig", cp.KubeconfigPath, "get", "namespace", "default", "-o", "name").CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), string(out))
		g.Expect(string(out)).To(Equal("namespace/default\n"))
	})

	t.Run("stopping leaves no process behind", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(cp.ControllerManagerPid()).NotTo(BeZero())
		g.Expect(children()).To(HaveLen(3), "etcd, kube-apiserver and kube-controller-manager")
		g.Expect(cp.Stop()).To(Succeed())
		g.Expect(children()).To(BeEmpty())
	})
}

// children lists the command names of this test process's live child processes.
func children() []string {
	entries, _ := os.ReadDir("/proc")
	parent := strconv.Itoa(os.Getpid())
	var names []string
	for _, e := range entries {
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		var name, ppid, state string
		for _, line := range strings.Split(string(status), "\n") {
			k, v, _ := strings.Cut(line, ":")
			switch k {
			case "Name":
				name = strings.TrimSpace(v)
			case "PPid":
				ppid = strings.TrimSpace(v)
			case "State":
				state = strings.TrimSpace(v)
			}
		}
		if ppid == parent && !strings.HasPrefix(state, "Z") {
			names = append(names, name)
		}
	}
	return names
}

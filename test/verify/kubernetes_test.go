package verify

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/controlplane"
	"github.com/homeward-dev/homeward/internal/operator"
	kuberuntime "github.com/homeward-dev/homeward/internal/runtime/kubernetes"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// supportCan is what the partnership-support Role grants, written here as the specification the
// operator's Role must meet: read-only, in its own tenant namespace, these resources only.
func supportCan(verb, resource string) bool {
	readable := []string{"pods", "pods/log", "events", "services", "persistentvolumeclaims", "deployments", "statefulsets"}
	return slices.Contains([]string{"get", "list", "watch"}, verb) && slices.Contains(readable, resource)
}

type resourceRef struct{ group, resource string }

// The multi-tenancy benchmark's (MTB, profile level 1) checks each row below covers.
const (
	mtbClusterResources     = "MTB-PL1 block access to cluster resources"
	mtbMultitenantResources = "MTB-PL1 block multitenant resources"
	mtbQuotaModification    = "MTB-PL1 block modification of resource quotas"
)

// TestSupportUserCanDoOnlyWhatItsRoleGrants provisions two tenants with the real operator and
// asks the API server, as a member of Oldham's support group (impersonated), whether it may do each
// verb on each resource in Oldham's namespace, in Kirklees', and cluster-wide.
func TestSupportUserCanDoOnlyWhatItsRoleGrants(t *testing.T) {
	record(t)
	cp := provision(t, "oldham", "kirklees")
	oldham := testenv.Partnership("oldham")
	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "support-alice", Groups: []string{controllers.SupportGroup(oldham), "system:authenticated"}}
	support := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()

	verbs := []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	namespaced := []resourceRef{
		{"", "pods"}, {"", "pods/log"}, {"", "pods/exec"}, {"", "pods/portforward"}, {"", "pods/attach"}, {"", "events"},
		{"", "services"}, {"", "persistentvolumeclaims"}, {"", "secrets"}, {"", "configmaps"}, {"", "serviceaccounts"},
		{"", "serviceaccounts/token"}, {"", "resourcequotas"}, {"", "limitranges"}, {"", "endpoints"},
		{"apps", "deployments"}, {"apps", "statefulsets"}, {"apps", "replicasets"}, {"batch", "jobs"},
		{"networking.k8s.io", "networkpolicies"}, {"networking.k8s.io", "ingresses"}, {"policy", "poddisruptionbudgets"},
		{"rbac.authorization.k8s.io", "roles"}, {"rbac.authorization.k8s.io", "rolebindings"},
		{"discovery.k8s.io", "endpointslices"}, {"coordination.k8s.io", "leases"},
	}
	clusterScoped := []resourceRef{
		{"", "namespaces"}, {"", "nodes"}, {"", "persistentvolumes"}, {"rbac.authorization.k8s.io", "clusterroles"},
		{"rbac.authorization.k8s.io", "clusterrolebindings"}, {"platform.homeward.dev", "partnerships"},
		{"apiextensions.k8s.io", "customresourcedefinitions"}, {"admissionregistration.k8s.io", "validatingadmissionpolicies"},
		{"admissionregistration.k8s.io", "validatingadmissionpolicybindings"}, {"storage.k8s.io", "storageclasses"},
	}
	type ask struct {
		namespace string
		ref       resourceRef
		verb      string
		want      bool
		mtb       string
	}
	var asks []ask
	for _, verb := range verbs {
		for _, ref := range namespaced {
			asks = append(asks, ask{"hw-oldham", ref, verb, supportCan(verb, ref.resource), mtbQuotaModification},
				ask{"hw-kirklees", ref, verb, false, mtbMultitenantResources})
		}
		for _, ref := range clusterScoped {
			asks = append(asks, ask{"", ref, verb, false, mtbClusterResources})
		}
	}
	allowed := 0
	for _, a := range asks {
		resource, sub, _ := strings.Cut(a.ref.resource, "/")
		review, err := support.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: a.namespace, Verb: a.verb, Group: a.ref.group, Resource: resource, Subresource: sub,
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if review.Status.Allowed != a.want {
			t.Errorf("support user %s %s in %q: allowed=%v, want %v (%s)", a.verb, a.ref.resource, a.namespace, review.Status.Allowed, a.want, a.mtb)
		}
		if review.Status.Allowed {
			allowed++
		}
	}
	// The control: the matrix can fail — the support user is allowed exactly the reads its Role lists.
	if allowed != 3*7 {
		t.Errorf("support user is allowed %d of %d asks, want the 21 reads its Role grants", allowed, len(asks))
	}
	t.Logf("%d asks (%d verbs × %d namespaced resources × 2 namespaces + %d cluster-scoped); %d allowed", len(asks), len(verbs), len(namespaced), len(clusterScoped), allowed)

	// The support user reads the tenant's pods and nothing of the other tenant's.
	_, err := support.CoreV1().Pods("hw-oldham").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Errorf("support user cannot list its tenant's pods: %v", err)
	}
	if _, err := support.CoreV1().Secrets("hw-oldham").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("support user lists its tenant's secrets: %v", err)
	}
}

// TestTenantNamespacesRefuseHostAndPrivilegeVectors submits, as server-side dry runs, the pods and
// Services the benchmark's host-isolation checks try, as a user whom RBAC would let do anything
// (system:masters): Pod Security restricted and the tenant's quota must refuse each.
func TestTenantNamespacesRefuseHostAndPrivilegeVectors(t *testing.T) {
	record(t)
	cp := provision(t, "oldham")
	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "mallory", Groups: []string{"system:masters", "system:authenticated"}}
	mallory := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

	restricted := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "vector-"},
			Spec: corev1.PodSpec{
				SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{Name: "c", Image: "example.invalid/app:1",
					SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
						Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
			},
		}
	}
	// The control: a restricted pod is admitted, so each refusal below is the vector's doing.
	if _, err := mallory.CoreV1().Pods("hw-oldham").Create(ctx, restricted(), dryRun); err != nil {
		t.Fatalf("a restricted pod is refused: %v", err)
	}
	for _, tc := range []struct {
		check  string
		mutate func(*corev1.Pod)
	}{
		{"MTB-PL1 block use of host path volumes", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}}}
		}},
		{"MTB-PL1 block use of host networking and ports (hostNetwork)", func(p *corev1.Pod) { p.Spec.HostNetwork = true }},
		{"MTB-PL1 block use of host networking and ports (hostPort)", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80}}
		}},
		{"MTB-PL1 block use of host PID", func(p *corev1.Pod) { p.Spec.HostPID = true }},
		{"MTB-PL1 block use of host IPC", func(p *corev1.Pod) { p.Spec.HostIPC = true }},
		{"MTB-PL1 block privileged containers", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
			p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil // the API refuses the pair otherwise
		}},
		{"MTB-PL1 block privilege escalation", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		}},
		{"MTB-PL1 block add capabilities", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
		}},
		{"MTB-PL1 require run as non-root user", func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsNonRoot, p.Spec.SecurityContext.RunAsUser = nil, ptr.To[int64](0)
		}},
	} {
		t.Run(tc.check, func(t *testing.T) {
			pod := restricted()
			tc.mutate(pod)
			_, err := mallory.CoreV1().Pods("hw-oldham").Create(ctx, pod, dryRun)
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "PodSecurity") {
				t.Errorf("admitted or refused for another reason: %v", err)
			}
		})
	}
	for _, serviceType := range []corev1.ServiceType{corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer} {
		t.Run("MTB-PL1 block use of NodePort services: "+string(serviceType), func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{GenerateName: "vector-"},
				Spec: corev1.ServiceSpec{Type: serviceType, Ports: []corev1.ServicePort{{Port: 80}}}}
			// The quota refuses once the quota controller has counted the namespace's usage.
			NewWithT(t).Eventually(func() error {
				_, err := mallory.CoreV1().Services("hw-oldham").Create(ctx, svc, dryRun)
				return err
			}).WithTimeout(time.Minute).Should(MatchError(ContainSubstring("exceeded quota")))
		})
	}
}

// provision starts a control plane with the controller-manager and the admission policies, runs
// the operator (kubernetes runtime; nothing answers for the tenants' Redis, so tenants stop at
// storage, after their namespace and access objects), and waits for each tenant's access objects.
func provision(t *testing.T, names ...string) *controlplane.ControlPlane {
	t.Helper()
	cp := testenv.ControlPlane(t, testenv.ControlPlaneOptions{CRDDirectoryPaths: []string{"config/crd/bases"}, ControllerManager: true})
	kubectl, err := binaries.Path("kubectl")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(kubectl, "--kubeconfig", cp.KubeconfigPath, "apply", "--server-side",
		"-f", testenv.RepoRoot(t)+"/config/admission/tenant-guard.yaml").CombinedOutput(); err != nil {
		t.Fatalf("admission policies: %v\n%s", err, out)
	}
	c := apiClient(t, cp.Config)
	op, err := operator.New(cp.Config, operator.Options{
		Runtime: operator.RuntimeKubernetes,
		Images:  kuberuntime.Images{Homeward: "ghcr.io/homeward-dev/homeward:verify", Redis: "redis:7.0.15", Kratos: "oryd/kratos:v1.3.1"},
		Reach: func(string) (string, string, string) {
			return "127.0.0.1:1", "http://127.0.0.1:1", "http://127.0.0.1:1"
		},
		Access:             controllers.AccessOptions{IngressNamespace: "ingress-nginx", OperatorNamespace: "homeward-system"},
		MetricsBindAddress: "0", HealthProbeBindAddress: "0", SkipNameValidation: true,
	}, testr.NewWithOptions(t, testr.Options{Verbosity: -1}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- op.Run(ctx, false) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("operator: %v", err)
		}
	})
	g := NewWithT(t)
	for _, name := range names {
		g.Expect(c.Create(context.Background(), testenv.Partnership(name))).To(Succeed())
	}
	for _, name := range names {
		g.Eventually(func() string {
			var p platformv1alpha1.Partnership
			if err := c.Get(context.Background(), client.ObjectKey{Name: name}, &p); err != nil {
				return err.Error()
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == platformv1alpha1.ConditionAccessReady {
					return fmt.Sprintf("%s %s", cond.Status, cond.Message)
				}
			}
			return "no AccessReady condition"
		}).WithTimeout(time.Minute).Should(HavePrefix("True"), name)
	}
	return cp
}

// apiClient is a client of the control plane at cfg that knows Homeward's types.
func apiClient(t *testing.T, cfg *rest.Config) client.Client {
	t.Helper()
	c, err := controllers.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

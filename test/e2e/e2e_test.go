// Package e2e installs Homeward the way a platform team would — `helm install` of charts/homeward
// with the images `make images` builds — into a one-node cluster with real pods (package node), and
// proves what only real pods can: tenants start and become Ready through real readiness, their
// NetworkPolicies are enforced, Redis keeps acknowledged writes across a pod's deletion, an
// upgrade rolls every tenant without losing data, and deletion follows deletionPolicy.
// `make e2e` runs it (it needs root).
package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/images"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/node"
	"github.com/homeward-dev/homeward/internal/testenv"
)

const (
	release          = "homeward"
	releaseNamespace = "homeward-system"
	ingressNamespace = "homeward-ingress"
	probeImage       = "homeward.local/e2e-probe:test"
	eventually       = 3 * time.Minute
)

// cluster is what the subtests share.
type cluster struct {
	t          *testing.T
	node       *node.Node
	client     kubernetes.Interface
	root       string
	kubeconfig string
	digests    map[string]string
}

// digestsOf reads make images' digests.env (HOMEWARD_IMAGE=repo@sha256:…).
func digestsOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "digests.env"))
	if err != nil {
		t.Fatalf("no images in %s (run make images, or make e2e): %v", dir, err)
	}
	defer f.Close()
	refs := map[string]string{}
	for s := bufio.NewScanner(f); s.Scan(); {
		if name, ref, ok := strings.Cut(s.Text(), "="); ok {
			refs[strings.TrimSuffix(name, "_IMAGE")] = ref
		}
	}
	return refs
}

func (c *cluster) run(name string, args ...string) string {
	c.t.Helper()
	path, err := binaries.Path(name)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(path, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	cmd.Dir = c.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (c *cluster) helm(args ...string) string { return c.run("helm", args...) }

// helmValues installs with the images just built, pinned by digest.
func (c *cluster) helmValues(homewardDigestRef string) []string {
	repo, digest, _ := strings.Cut(homewardDigestRef, "@")
	return []string{
		"--set", "image.repository=" + repo, "--set", "image.digest=" + digest,
		"--set", "tenantImages.redis=" + c.digests["REDIS"], "--set", "tenantImages.kratos=" + c.digests["KRATOS"],
		"--set", "ingress.controllerNamespace=" + ingressNamespace,
	}
}

func TestHomewardOnARealNode(t *testing.T) {
	root := testenv.RepoRoot(t)
	imagesDir := os.Getenv("HOMEWARD_E2E_IMAGES")
	if imagesDir == "" {
		imagesDir = filepath.Join(root, "dist", "images")
	}
	digests := digestsOf(t, imagesDir)
	archives, _ := filepath.Glob(filepath.Join(imagesDir, "*.oci.tar"))
	archives = append(archives, buildProbe(t, root))
	start := time.Now()
	n := testenv.Node(t, archives)
	t.Logf("node ready with %d images in %.1f s", len(archives), time.Since(start).Seconds())
	c := &cluster{t: t, node: n, client: n.Client, root: root, kubeconfig: n.KubeconfigPath(), digests: digests}
	ctx := context.Background()
	t.Cleanup(func() {
		if t.Failed() {
			c.diagnose()
		}
	})

	// The release's namespace enforces Pod Security restricted, so the operator's pod is admitted
	// only if it meets it; tenant namespaces are labelled so by the operator.
	for _, ns := range []string{releaseNamespace, ingressNamespace, "e2e-outsider"} {
		_, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
			Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	start = time.Now()
	c.helm(append([]string{"install", release, "charts/homeward", "--namespace", releaseNamespace, "--wait", "--timeout", "3m"},
		c.helmValues(digests["HOMEWARD"])...)...)
	t.Logf("helm install: operator Ready in %.1f s", time.Since(start).Seconds())

	start = time.Now()
	c.run("kubectl", "apply", "-f", "config/samples/platform_v1alpha1_partnership_oldham.yaml",
		"-f", "config/samples/platform_v1alpha1_partnership_kirklees.yaml")
	c.run("kubectl", "wait", "partnership/oldham", "partnership/kirklees", "--for=condition=Ready", "--timeout=4m")
	t.Logf("kubectl apply of two Partnerships to both Ready with running pods: %.1f s", time.Since(start).Seconds())
	logPodMemory(t, c)

	t.Run("every Homeward pod is running and Ready under Pod Security restricted", func(t *testing.T) {
		g := NewWithT(t)
		for _, ns := range []string{releaseNamespace, "hw-oldham", "hw-kirklees"} {
			namespace, err := c.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(namespace.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"), ns)
			pods, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pods.Items).NotTo(BeEmpty(), ns)
			for _, pod := range pods.Items {
				g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning), pod.Name)
				g.Expect(podReady(&pod)).To(BeTrue(), ns+"/"+pod.Name)
				for _, ctr := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
					sc := ctr.SecurityContext
					g.Expect(sc).NotTo(BeNil(), pod.Name)
					g.Expect(sc.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)), pod.Name+"/"+ctr.Name)
					g.Expect(sc.AllowPrivilegeEscalation).To(Equal(ptr.To(false)), pod.Name+"/"+ctr.Name)
				}
			}
			if ns != releaseNamespace {
				g.Expect(componentsOf(pods.Items)).To(ConsistOf("redis", "kratos", "referral", "housing", "reporting", "portal"), ns)
			}
		}
	})

	t.Run("no tenant secret is in a pod's spec, a container's log, an event or the status", func(t *testing.T) {
		g := NewWithT(t)
		var secrets []string
		for _, name := range []string{"oldham", "kirklees"} {
			list, err := c.client.CoreV1().Secrets("hw-"+name).List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			for _, s := range list.Items {
				// The generated keys and the admins' invitation links (an invitation's email is in the
				// spec, its six-digit code too short to look for); not the ServiceAccount tokens
				// Kubernetes itself mounts.
				data := s.Data
				switch {
				case s.Name == controllers.KeysSecret:
				case strings.HasPrefix(s.Name, "invitation-"):
					data = map[string][]byte{"recovery-link": s.Data["recovery-link"]}
				default:
					continue
				}
				for key, value := range data {
					g.Expect(len(value)).To(BeNumerically(">=", 16), s.Name+"/"+key)
					secrets = append(secrets, string(value), base64.StdEncoding.EncodeToString(value))
				}
			}
		}
		g.Expect(len(secrets)).To(BeNumerically(">=", 8), "the keys and invitations of both tenants")
		expectNoSecret := func(where string, text []byte) {
			t.Helper()
			for _, secret := range secrets {
				if strings.Contains(string(text), secret) {
					t.Errorf("a tenant secret is in %s", where)
				}
			}
		}
		scanned := 0
		for _, ns := range []string{releaseNamespace, "hw-oldham", "hw-kirklees"} {
			pods, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			for _, pod := range pods.Items {
				spec, err := json.Marshal(pod)
				g.Expect(err).NotTo(HaveOccurred())
				expectNoSecret(ns+"/"+pod.Name+"'s spec", spec)
				logs := c.node.PodLogs(ns, pod.Name)
				expectNoSecret(ns+"/"+pod.Name+"'s logs", []byte(logs))
				scanned += len(logs)
			}
		}
		g.Expect(scanned).To(BeNumerically(">", 0), "no log was read: the scan proved nothing")
		events, err := c.client.EventsV1().Events("").List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		b, err := json.Marshal(events)
		g.Expect(err).NotTo(HaveOccurred())
		expectNoSecret("an event", b)
		out := c.run("kubectl", "get", "partnerships", "-o", "json")
		expectNoSecret("a Partnership", []byte(out))
	})

	t.Run("the operator holds its leader lease and serves metrics only to a metrics reader", func(t *testing.T) {
		g := NewWithT(t)
		operatorPods := c.pods(releaseNamespace)
		g.Expect(operatorPods).To(HaveLen(1))
		leases, err := c.client.CoordinationV1().Leases(releaseNamespace).List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(leases.Items).To(ContainElement(Satisfy(func(l coordinationv1.Lease) bool {
			return l.Spec.HolderIdentity != nil && strings.HasPrefix(*l.Spec.HolderIdentity, operatorPods[0].Name)
		})))
		url := fmt.Sprintf("https://%s:8443/metrics", operatorPods[0].Status.PodIP)
		reader, stranger := c.serviceAccountToken(t, "e2e-scraper", release+"-homeward-metrics-reader"), c.serviceAccountToken(t, "e2e-stranger", "")
		for _, tc := range []struct {
			name, token string
			want        int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"a ServiceAccount without the metrics-reader role", stranger, http.StatusForbidden},
			{"a ServiceAccount bound to the metrics-reader role", reader, http.StatusOK},
		} {
			status, body := metricsGet(g, url, tc.token)
			g.Expect(status).To(Equal(tc.want), tc.name)
			if tc.want == http.StatusOK {
				g.Expect(body).To(ContainSubstring("controller_runtime_reconcile_total"))
			}
		}
	})

	t.Run("a portal answers through its Ingress, for its host only", func(t *testing.T) {
		g := NewWithT(t)
		for host, want := range map[string]int{"oldham.homeward.example": http.StatusOK, "nobody.homeward.example": http.StatusNotFound} {
			req, err := http.NewRequest(http.MethodGet, "http://"+n.IngressAddress+"/healthz", nil)
			g.Expect(err).NotTo(HaveOccurred())
			req.Host = host
			g.Eventually(func() string {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return err.Error()
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
			}).WithTimeout(eventually).Should(HavePrefix(fmt.Sprint(want)), host)
		}
	})

	oldham := c.tenant(t, "oldham")
	var acknowledged []string
	allReadable := func(g Gomega) {
		for _, location := range acknowledged {
			g.Expect(oldham.get(g, location)).To(Equal(http.StatusOK), location)
		}
	}
	t.Run("a referral is created through the tenant's Service with a session from its Kratos", func(t *testing.T) {
		g := NewWithT(t)
		// A pod whose readiness probe timed out on this loaded two-core node is out of its Service
		// for a moment (the connection is refused): a client tries again, and so does this one.
		var location string
		g.Eventually(func(g Gomega) { location = oldham.refer(g) }).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
		acknowledged = append(acknowledged, location)
		g.Expect(oldham.get(g, acknowledged[0])).To(Equal(http.StatusOK))
	})

	t.Run("network policies are enforced: across tenants, by label, and only the ingress namespace reaches a portal", func(t *testing.T) {
		oldhamRedis := c.serviceAddr(t, "hw-oldham", "redis", controllers.PortRedis)
		kirkleesRedis := c.serviceAddr(t, "hw-kirklees", "redis", controllers.PortRedis)
		kirkleesReferral := c.serviceAddr(t, "hw-kirklees", "referral", controllers.PortService)
		oldhamPortal := c.serviceAddr(t, "hw-oldham", "portal", controllers.PortService)
		referralLabels := map[string]string{controllers.LabelPartnership: "oldham", controllers.LabelComponent: "referral"}
		for _, tc := range []struct {
			name, namespace, target string
			labels                  map[string]string
			open                    bool
		}{
			{"oldham's referral reaches oldham's Redis", "hw-oldham", oldhamRedis, referralLabels, true},
			{"a pod without the right label cannot reach its own tenant's Redis", "hw-oldham", oldhamRedis, nil, false},
			{"oldham's referral cannot reach kirklees' Redis", "hw-oldham", kirkleesRedis, referralLabels, false},
			{"oldham's referral cannot reach kirklees' referral service", "hw-oldham", kirkleesReferral, referralLabels, false},
			{"the ingress controller's namespace reaches oldham's portal", ingressNamespace, oldhamPortal, nil, true},
			{"another namespace cannot reach oldham's portal", "e2e-outsider", oldhamPortal, nil, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				NewWithT(t).Expect(c.probe(t, tc.namespace, tc.labels, tc.target, tc.open)).To(Equal(tc.open))
			})
		}
		t.Run("the same probe across tenants opens once the policies are removed, and closes when the operator restores them", func(t *testing.T) {
			g := NewWithT(t)
			// Only the operator may change a tenant's policies (admission policy), and it restores
			// them: stop both for the control, through the chart as an admin would.
			c.helm(append([]string{"upgrade", release, "charts/homeward", "--namespace", releaseNamespace, "--wait",
				"--set", "operator.replicas=0", "--set", "admissionPolicies.enabled=false"}, c.helmValues(digests["HOMEWARD"])...)...)
			g.Eventually(func() int { return len(c.pods(releaseNamespace)) }).WithTimeout(eventually).Should(BeZero())
			// The API server drops a removed admission policy from its cache a moment later.
			for _, ns := range []string{"hw-oldham", "hw-kirklees"} {
				g.Eventually(func() error {
					return c.client.NetworkingV1().NetworkPolicies(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
				}).WithTimeout(time.Minute).Should(Succeed())
			}
			g.Expect(c.probe(t, "hw-oldham", referralLabels, kirkleesRedis, true)).To(BeTrue())
			c.helm(append([]string{"upgrade", release, "charts/homeward", "--namespace", releaseNamespace, "--wait"},
				c.helmValues(digests["HOMEWARD"])...)...)
			g.Eventually(func() int {
				list, err := c.client.NetworkingV1().NetworkPolicies("hw-kirklees").List(ctx, metav1.ListOptions{})
				if err != nil {
					return 0
				}
				return len(list.Items)
			}).WithTimeout(eventually).ShouldNot(BeZero())
			g.Eventually(func() bool { return c.probe(t, "hw-oldham", referralLabels, kirkleesRedis, false) }).WithTimeout(eventually).Should(BeFalse())
		})
	})

	t.Run("deleting Redis' pod keeps every acknowledged referral", func(t *testing.T) {
		g := NewWithT(t)
		for range 20 {
			acknowledged = append(acknowledged, oldham.refer(g))
		}
		pod, err := c.client.CoreV1().Pods("hw-oldham").Get(ctx, "redis-0", metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(c.client.CoreV1().Pods("hw-oldham").Delete(ctx, "redis-0", metav1.DeleteOptions{})).To(Succeed())
		g.Eventually(func() bool {
			p, err := c.client.CoreV1().Pods("hw-oldham").Get(ctx, "redis-0", metav1.GetOptions{})
			return err == nil && p.UID != pod.UID && podReady(p)
		}).WithTimeout(eventually).Should(BeTrue())
		g.Eventually(allReadable).WithTimeout(eventually).Should(Succeed())
	})

	t.Run("helm upgrade with a new image digest rolls the operator and every tenant without losing data", func(t *testing.T) {
		g := NewWithT(t)
		upgraded := buildUpgradedImage(t, root, imagesDir)
		g.Expect(n.ImportImage(ctx, upgraded.archive)).To(Succeed())
		c.helm(append([]string{"upgrade", release, "charts/homeward", "--namespace", releaseNamespace, "--wait"},
			c.helmValues(upgraded.ref)...)...)
		g.Eventually(func() error { return c.rolledOut(releaseNamespace, release+"-homeward", upgraded.ref) }).WithTimeout(eventually).Should(Succeed())
		for _, ns := range []string{"hw-oldham", "hw-kirklees"} {
			for _, component := range []string{"referral", "housing", "reporting", "portal"} {
				g.Eventually(func() error { return c.rolledOut(ns, component, upgraded.ref) }).WithTimeout(eventually).Should(Succeed())
			}
		}
		c.run("kubectl", "wait", "partnership/oldham", "partnership/kirklees", "--for=condition=Ready", "--timeout=3m")
		g.Eventually(allReadable).WithTimeout(eventually).Should(Succeed())
	})

	t.Run("deleting a Partnership and uninstalling the chart follow deletionPolicy", func(t *testing.T) {
		g := NewWithT(t)
		// kirklees keeps the default, Retain: workloads go; the namespace, keys and volumes stay.
		c.run("kubectl", "delete", "partnership", "kirklees", "--wait", "--timeout=3m")
		g.Eventually(func() []string { return componentsOf(c.pods("hw-kirklees")) }).WithTimeout(eventually).Should(BeEmpty())
		claims, err := c.client.CoreV1().PersistentVolumeClaims("hw-kirklees").List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(claims.Items).NotTo(BeEmpty())
		// oldham is switched to Delete, then deleted: its namespace goes with everything in it.
		c.run("kubectl", "patch", "partnership", "oldham", "--type=merge", "-p", `{"spec":{"deletionPolicy":"Delete"}}`)
		c.run("kubectl", "delete", "partnership", "oldham", "--wait", "--timeout=3m")
		g.Eventually(func() bool {
			_, err := c.client.CoreV1().Namespaces().Get(ctx, "hw-oldham", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}).WithTimeout(eventually).Should(BeTrue())
		// Uninstalling removes the operator and what the chart made, and keeps the CRD (Helm never
		// deletes CRDs), so no Partnership is lost with a release.
		c.helm("uninstall", release, "--namespace", releaseNamespace, "--wait")
		g.Eventually(func() int { return len(c.pods(releaseNamespace)) }).WithTimeout(eventually).Should(BeZero())
		c.run("kubectl", "get", "crd", "partnerships.platform.homeward.dev")
	})
}

// diagnose logs what a failure needs: the Partnerships' conditions, every pod's state, and the
// last lines of the operator's and any unready pod's logs.
func (c *cluster) diagnose() {
	ctx := context.Background()
	kubectl, _ := binaries.Path("kubectl")
	for _, args := range [][]string{
		{"get", "partnerships", "-o", "custom-columns=NAME:.metadata.name,CONDITIONS:.status.conditions[*].message"},
		{"get", "pods", "-A", "-o", "wide"},
		{"get", "namespaces", "-o", "custom-columns=NAME:.metadata.name,PHASE:.status.phase,CONDITIONS:.status.conditions[*].message"},
		{"get", "all,pvc,secrets,networkpolicies", "-n", "hw-oldham"},
		{"get", "events", "-A", "--field-selector", "type=Warning"},
	} {
		out, _ := exec.Command(kubectl, append([]string{"--kubeconfig", c.kubeconfig}, args...)...).CombinedOutput()
		c.t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
	}
	for _, ns := range []string{releaseNamespace, "hw-oldham", "hw-kirklees"} {
		list, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, pod := range list.Items {
			if ns == releaseNamespace || !podReady(&pod) {
				logs := c.node.PodLogs(ns, pod.Name)
				if len(logs) > 3000 {
					logs = logs[len(logs)-3000:]
				}
				c.t.Logf("logs of %s/%s:\n%s", ns, pod.Name, logs)
			}
		}
	}
}

func podReady(pod *corev1.Pod) bool {
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

func componentsOf(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			out = append(out, p.Labels[controllers.LabelComponent])
		}
	}
	return out
}

func (c *cluster) pods(ns string) []corev1.Pod {
	list, err := c.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	return list.Items
}

func (c *cluster) serviceAddr(t *testing.T, ns, name string, port int) string {
	t.Helper()
	svc, err := c.client.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s:%d", svc.Spec.ClusterIP, port)
}

// rolledOut says whether a tenant Deployment runs the image, all replicas updated and available.
func (c *cluster) rolledOut(ns, name, image string) error {
	d, err := c.client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if got := d.Spec.Template.Spec.Containers[0].Image; got != image {
		return fmt.Errorf("%s/%s runs %s", ns, name, got)
	}
	st := d.Status
	if st.ObservedGeneration < d.Generation || st.UpdatedReplicas != st.Replicas || st.AvailableReplicas != st.Replicas || st.Replicas == 0 {
		return fmt.Errorf("%s/%s rolling out: %+v", ns, name, st)
	}
	return nil
}

// probe runs the probe image as a pod in the namespace with the labels and says whether a TCP
// connection to the target opened. A probe expected to open keeps trying for a minute (the policy
// enforcer admits a new pod once it has seen it); one expected to stay closed tries for ten seconds.
func (c *cluster) probe(t *testing.T, ns string, labels map[string]string, target string, expectOpen bool) bool {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: ptr.To(false),
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](images.NonRootUID),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "probe", Image: probeImage, ImagePullPolicy: corev1.PullNever, Args: []string{"tcp", target, map[bool]string{true: "60", false: "10"}[expectOpen]},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
	created, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create probe in %s: %v", ns, err)
	}
	defer func() {
		_ = c.client.CoreV1().Pods(ns).Delete(ctx, created.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		p, err := c.client.CoreV1().Pods(ns).Get(ctx, created.Name, metav1.GetOptions{})
		if err == nil {
			switch p.Status.Phase {
			case corev1.PodSucceeded:
				return true
			case corev1.PodFailed:
				return false
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("probe %s/%s did not finish:\n%s", ns, created.Name, c.node.PodLogs(ns, created.Name))
	return false
}

// buildProbe builds the probe as a one-binary image archive.
func buildProbe(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", dir+"/probe", "./test/e2e/probe")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build probe: %v\n%s", err, out)
	}
	built, err := images.Build(images.Spec{Name: "e2e-probe", Entrypoint: []string{"/probe"},
		Files: []images.File{{Path: "/probe", Source: dir + "/probe", Mode: 0o555}}})
	if err != nil {
		t.Fatal(err)
	}
	archive, err := images.WriteArchive(dir, probeImage, built)
	if err != nil {
		t.Fatal(err)
	}
	return archive
}

type upgradedImage struct{ ref, archive string }

// buildUpgradedImage builds the homeward image again as another version: same binaries, a new
// label, so a new digest — what a release's upgrade looks like to the cluster.
func buildUpgradedImage(t *testing.T, root, imagesDir string) upgradedImage {
	t.Helper()
	out := t.TempDir()
	kratos, err := binaries.Path("kratos")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./cmd/homeward-images", "--out", out, "--bin", filepath.Join(imagesDir, "bin"),
		"--kratos", kratos, "--version", "e2e-upgrade")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the upgraded image: %v\n%s", err, b)
	}
	ref := digestsOf(t, out)["HOMEWARD"]
	if ref == "" {
		t.Fatal("the upgraded build named no homeward image")
	}
	return upgradedImage{ref: ref, archive: filepath.Join(out, "homeward.oci.tar")}
}

// logPodMemory records each tenant pod's memory use (its cgroup's), for docs/operations.md.
func logPodMemory(t *testing.T, c *cluster) {
	t.Helper()
	for _, ns := range []string{releaseNamespace, "hw-oldham"} {
		for _, pod := range c.pods(ns) {
			if mb, ok := node.PodMemoryMB(&pod); ok {
				t.Logf("memory %s/%s: %.1f MB", ns, pod.Name, mb)
			}
		}
	}
}

// serviceAccountToken makes a ServiceAccount in the release's namespace, binds it to the cluster
// role when one is named, and returns a token for it.
func (c *cluster) serviceAccountToken(t *testing.T, name, clusterRole string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := c.client.CoreV1().ServiceAccounts(releaseNamespace).Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if clusterRole != "" {
		if _, err := c.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: clusterRole},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: releaseNamespace}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := c.client.CoreV1().ServiceAccounts(releaseNamespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// metricsGet reads the operator's metrics over its self-signed HTTPS, as a scraper would.
func metricsGet(g Gomega, url, token string) (int, string) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the operator's metrics certificate is self-signed
	req, err := http.NewRequest(http.MethodGet, url, nil)
	g.Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, string(body)
}

// tenant talks to one partnership's services through their ClusterIPs, as a coordinator.
type tenant struct {
	referralURL string
	token       string
}

func (c *cluster) tenant(t *testing.T, name string) *tenant {
	t.Helper()
	ns := "hw-" + name
	public := "http://" + c.serviceAddr(t, ns, "kratos", controllers.PortKratosPublic)
	admin := "http://" + c.serviceAddr(t, ns, "kratos", controllers.PortKratosAdmin)
	identity := &testenv.Identity{Admin: kratosserver.Client(admin), Public: kratosserver.Client(public)}
	_, token, err := identity.CreateAndLogin(context.Background(), testenv.Person{Email: "coordinator@" + name + ".example", Name: "Coordinator",
		Password: "a long enough test password", MetadataPublic: map[string]any{"partnership": name, "roles": []any{"coordinator"}}})
	if err != nil {
		t.Fatal(err)
	}
	return &tenant{referralURL: "http://" + c.serviceAddr(t, ns, "referral", controllers.PortService), token: token}
}

// refer creates a referral and returns its location.
func (tn *tenant) refer(g Gomega) string {
	body := `{"person":{"name":"Test Person"},"source":"ward","referrer":{"organisation":"Royal Oldham Hospital"},` +
		`"consent":{"toRefer":true,"toShare":true},"tenure":"owner-occupier","needs":["adaptations"],"priority":"urgent"}`
	req, err := http.NewRequest(http.MethodPost, tn.referralURL+"/v1/referrals", strings.NewReader(body))
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+tn.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	var created struct{ ID string }
	g.Expect(resp.StatusCode).To(Equal(http.StatusCreated))
	g.Expect(json.NewDecoder(resp.Body).Decode(&created)).To(Succeed())
	g.Expect(created.ID).NotTo(BeEmpty())
	return "/v1/referrals/" + created.ID
}

func (tn *tenant) get(g Gomega, location string) int {
	req, err := http.NewRequest(http.MethodGet, tn.referralURL+location, nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+tn.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

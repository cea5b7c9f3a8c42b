// Package config_test proves the deployable manifests — kustomize under config/ and the Helm chart
// under charts/ — are accepted by a real kube-apiserver, and that every sample Partnership is valid.
package config_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/testenv"
)

func TestManifestsApplyToARealAPIServer(t *testing.T) {
	root := testenv.RepoRoot(t)
	cp := testenv.ControlPlane(t, testenv.ControlPlaneOptions{})
	kubectl := func(t *testing.T, stdin []byte, args ...string) string {
		t.Helper()
		path, err := binaries.Path("kubectl")
		if err != nil {
			t.Fatalf("kubectl: %v", err)
		}
		cmd := exec.Command(path, append([]string{"--kubeconfig", cp.KubeconfigPath}, args...)...)
		cmd.Dir = root
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}

	t.Run("kustomize config/default", func(t *testing.T) {
		g := NewWithT(t)
		out := kubectl(t, nil, "apply", "--server-side", "--field-manager=homeward-test", "-k", "config/default")
		g.Expect(out).To(ContainSubstring("customresourcedefinition.apiextensions.k8s.io/partnerships.platform.homeward.dev serverside-applied"))
		g.Expect(out).To(ContainSubstring("deployment.apps/homeward-operator serverside-applied"))
		g.Expect(out).To(ContainSubstring("clusterrole.rbac.authorization.k8s.io/homeward-manager-role serverside-applied"))
		kubectl(t, nil, "wait", "--for=condition=Established", "crd/partnerships.platform.homeward.dev", "--timeout=30s")
	})

	t.Run("every sample Partnership is valid", func(t *testing.T) {
		g := NewWithT(t)
		kubectl(t, nil, "apply", "--server-side", "--field-manager=homeward-test", "-k", "config/samples")
		scheme := runtime.NewScheme()
		g.Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
		g.Expect(platformv1alpha1.AddToScheme(scheme)).To(Succeed())
		c, err := client.New(cp.Config, client.Options{Scheme: scheme})
		g.Expect(err).NotTo(HaveOccurred())
		var list platformv1alpha1.PartnershipList
		g.Expect(c.List(context.Background(), &list)).To(Succeed())
		files, err := filepath.Glob(filepath.Join(root, "config", "samples", "platform_v1alpha1_partnership_*.yaml"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(list.Items).To(HaveLen(len(files)))
		g.Expect(list.Items).To(ContainElement(HaveField("ObjectMeta", HaveField("Name", "oldham"))))
	})

	t.Run("helm chart renders objects the apiserver accepts", func(t *testing.T) {
		g := NewWithT(t)
		helmPath, err := binaries.Path("helm")
		g.Expect(err).NotTo(HaveOccurred())
		helm := func(args ...string) (stdout []byte, stderr string, err error) {
			var errb bytes.Buffer
			cmd := exec.Command(helmPath, append([]string{"template", "homeward", filepath.Join(root, "charts", "homeward"), "--kube-version", "1.37.2"}, args...)...)
			cmd.Stderr = &errb
			stdout, err = cmd.Output()
			return stdout, errb.String(), err
		}
		rendered, stderr, err := helm("--namespace", "homeward-chart", "--include-crds", "--set", "otlpEndpoint=otel-collector.observability:4317")
		g.Expect(err).NotTo(HaveOccurred(), stderr)
		g.Expect(string(rendered)).To(ContainSubstring("--otlp-endpoint=otel-collector.observability:4317"))
		kubectl(t, nil, "create", "namespace", "homeward-chart")
		out := kubectl(t, rendered, "apply", "--server-side", "--field-manager=homeward-test", "--force-conflicts", "-f", "-")
		g.Expect(out).To(ContainSubstring("deployment.apps/homeward-homeward serverside-applied"))
		g.Expect(out).To(ContainSubstring("clusterrole.rbac.authorization.k8s.io/homeward-homeward serverside-applied"))

		_, stderr, err = helm("--set", "otlpEndpoint=not a host")
		g.Expect(err).To(HaveOccurred(), "values.schema.json refuses a malformed OTLP endpoint")
		g.Expect(stderr).To(ContainSubstring("otlpEndpoint"))
		digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
		pinned, stderr, err := helm("--set", "image.digest="+digest, "--set", "tenantImages.redis=ghcr.io/homeward-dev/redis@"+digest)
		g.Expect(err).NotTo(HaveOccurred(), stderr)
		g.Expect(string(pinned)).To(ContainSubstring(`image: "ghcr.io/homeward-dev/homeward@` + digest + `"`))
		g.Expect(string(pinned)).To(ContainSubstring("--homeward-image=ghcr.io/homeward-dev/homeward@" + digest))
		g.Expect(string(pinned)).To(ContainSubstring("--redis-image=ghcr.io/homeward-dev/redis@" + digest))
		_, stderr, err = helm("--set", "image.digest=latest")
		g.Expect(err).To(HaveOccurred(), "values.schema.json refuses a digest that is not one")
		g.Expect(stderr).To(ContainSubstring("digest"))
		_, stderr, err = helm("--set", "operator.healthRecheck=soon")
		g.Expect(err).To(HaveOccurred(), "values.schema.json refuses a recheck that is not a duration")
		g.Expect(stderr).To(ContainSubstring("healthRecheck"))
	})

}

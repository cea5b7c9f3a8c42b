package main

import (
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// operatorArgs returns the args of the operator container in rendered manifests.
func operatorArgs(g Gomega, manifests []byte) []string {
	for _, doc := range strings.Split(string(manifests), "\n---\n") {
		var d appsv1.Deployment
		if yaml.Unmarshal([]byte(doc), &d) != nil || d.Kind != "Deployment" {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name == "operator" {
				return c.Args
			}
		}
	}
	g.Expect("an operator Deployment").To(BeEmpty(), "not found in the manifests")
	return nil
}

// The deployable manifests must start an operator whose flags parse and validate.
func TestManifestsPassFlagsTheOperatorAccepts(t *testing.T) {
	g := NewWithT(t)
	root := testenv.RepoRoot(t)
	kustomized, err := exec.Command("kubectl", "kustomize", filepath.Join(root, "config", "default")).Output()
	g.Expect(err).NotTo(HaveOccurred())
	helm, err := binaries.Path("helm")
	g.Expect(err).NotTo(HaveOccurred())
	charted, err := exec.Command(helm, "template", "homeward", filepath.Join(root, "charts", "homeward"), "--kube-version", "1.37.2",
		"--set", "ingress.className=nginx", "--set", "otlpEndpoint=otel.observability:4317").Output()
	g.Expect(err).NotTo(HaveOccurred())

	for name, manifests := range map[string][]byte{"kustomize": kustomized, "helm": charted} {
		args := operatorArgs(g, manifests)
		g.Expect(args[0]).To(Equal("operator"), name)
		cfg, err := parseOperatorFlags(args[1:], io.Discard)
		g.Expect(err).NotTo(HaveOccurred(), name)
		g.Expect(cfg.opts.Runtime).To(Equal("kubernetes"), name)
		g.Expect(cfg.opts.LeaderElection).To(BeTrue(), name)
		g.Expect(cfg.opts.Images.Homeward).NotTo(BeEmpty(), name)
		g.Expect(cfg.opts.HealthRecheck).To(Equal(5*time.Minute), name)
	}
}

func TestBadOperatorFlagsAreRefusedWithEveryReason(t *testing.T) {
	g := NewWithT(t)
	var stderr bytes.Buffer
	_, err := parseOperatorFlags([]string{"--runtime=cloud", "--ingress-namespace="}, &stderr)
	g.Expect(err).To(MatchError(ContainSubstring(`--runtime "cloud"`)))
	g.Expect(err).To(MatchError(ContainSubstring("--ingress-namespace and --operator-namespace are required")))

	_, err = parseOperatorFlags([]string{"--runtime=local"}, &stderr)
	g.Expect(err).To(MatchError(ContainSubstring("--data-dir is required")))

	_, err = parseOperatorFlags([]string{"--workers=0", "--runtime=kubernetes"}, &stderr)
	g.Expect(err).To(MatchError(ContainSubstring("--workers 0")))

	_, err = parseOperatorFlags([]string{"--health-recheck=10ms", "--runtime=kubernetes"}, &stderr)
	g.Expect(err).To(MatchError(ContainSubstring("--health-recheck 10ms: want at least 1s")))

	_, err = parseOperatorFlags([]string{"--no-such-flag"}, &stderr)
	g.Expect(err).To(HaveOccurred())
	g.Expect(stderr.String()).To(ContainSubstring("flag provided but not defined: -no-such-flag"))
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/homeward-dev/homeward/internal/binaries"
)

// `homeward operator` must become the operator itself: its flags are the operator's, and its
// errors say what is missing when the operator binary is not installed beside it.
func TestOperatorCommandRunsTheOperatorBinaryBesideIt(t *testing.T) {
	g := NewWithT(t)
	homeward, err := binaries.Path("homeward")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = binaries.Path("homeward-operator")
	g.Expect(err).NotTo(HaveOccurred())

	out, err := exec.Command(homeward, "operator", "--runtime=cloud").CombinedOutput()
	g.Expect(err).To(HaveOccurred())
	g.Expect(string(out)).To(ContainSubstring(`homeward operator: --runtime "cloud": want "kubernetes" or "local"`))

	alone := filepath.Join(t.TempDir(), "homeward")
	b, err := os.ReadFile(homeward)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(alone, b, 0o755)).To(Succeed())
	out, err = exec.Command(alone, "operator").CombinedOutput()
	g.Expect(err).To(HaveOccurred())
	g.Expect(string(out)).To(ContainSubstring("homeward-operator (build it with make build): no such file or directory"))

	// The tenant processes' binary carries no Kubernetes client: that is why the operator is apart.
	deps, err := exec.Command("go", "list", "-deps", ".").Output()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(deps)).NotTo(ContainSubstring("k8s.io/client-go"))
}

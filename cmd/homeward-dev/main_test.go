package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/homeward-dev/homeward/internal/process"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// syncBuffer is written by run's goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDevPlatformServesKubectlAndStopsCleanly(t *testing.T) {
	g := NewWithT(t)
	state := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	kirklees := filepath.Join(testenv.RepoRoot(t), "config", "samples", "platform_v1alpha1_partnership_kirklees.yaml")
	go func() {
		done <- run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), options{StateDir: state, Samples: []string{kirklees}, FastHasher: true}, &out)
	}()

	g.Eventually(out.String).WithTimeout(2 * time.Minute).Should(ContainSubstring("Press Ctrl-C to stop."))
	kubeconfig := filepath.Join(state, "kubeconfig")
	g.Expect(out.String()).To(ContainSubstring("kubectl --kubeconfig " + kubeconfig + " get namespaces"))
	// The sample tenant comes up with its portal, and its admin's invitation opens on that portal.
	g.Eventually(out.String).WithTimeout(2 * time.Minute).Should(MatchRegexp(`kirklees\s+True\s+Ready\s+True\s+True\s+True\s+http://127\.0\.0\.1:\d+/\s+kratos-public=http://127\.0\.0\.1:\d+`))
	portal := regexp.MustCompile(`Ready\s+True\s+True\s+True\s+(http://127\.0\.0\.1:\d+/)`).FindStringSubmatch(out.String())[1]
	g.Expect(out.String()).To(MatchRegexp(`kirklees  hfh\.coordinator@kirklees\.example  ` + regexp.QuoteMeta(portal) + `recovery\?flow=[0-9a-f-]+  code \d+`))

	get, err := exec.Command("kubectl", "--kubeconfig", kubeconfig, "get", "crd", "partnerships.platform.homeward.dev", "-o", "name").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(get))
	g.Expect(string(get)).To(Equal("customresourcedefinition.apiextensions.k8s.io/partnerships.platform.homeward.dev\n"))

	cancel()
	g.Eventually(done).WithTimeout(time.Minute).Should(Receive(BeNil()))
	_, err = os.Stat(kubeconfig)
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "the kubeconfig of a stopped platform is removed")
	g.Expect(exec.Command("pgrep", "-f", state).Run()).NotTo(Succeed(), "no process of the platform is left")
	for _, component := range []string{"redis", "kratos", "portal"} {
		rec, err := process.ReadRecord(filepath.Join(state, "tenants", "kirklees", component, component+".process.json"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(rec.Pid).NotTo(BeZero())
		g.Expect(syscall.Kill(rec.Pid, 0)).To(MatchError(syscall.ESRCH), "the tenant's %s was stopped", component)
	}
	g.Expect(filepath.Join(state, "tenants", "kirklees", "redis", "appendonlydir")).To(BeADirectory(), "tenant data is kept")
}

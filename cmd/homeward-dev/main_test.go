package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
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
	"github.com/onsi/gomega/gstruct"

	"github.com/homeward-dev/homeward/internal/process"
	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/internal/traceviewer"
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

// make dev's program with a sample: the platform comes up, its table shows the portal and how to
// sign in, the demo history is imported, a request's trace reaches the viewer, and Ctrl-C leaves
// nothing running.
func TestDevPlatformServesKubectlAndStopsCleanly(t *testing.T) {
	g := NewWithT(t)
	state := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	finished := make(chan struct{})
	var runErr error
	kirklees := filepath.Join(testenv.RepoRoot(t), "config", "samples", "platform_v1alpha1_partnership_kirklees.yaml")
	go func() {
		defer close(finished)
		runErr = run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), options{StateDir: state, Samples: []string{kirklees}, FastHasher: true, Demo: true}, &out)
	}()
	// However the test ends, the platform is stopped as Ctrl-C stops it: a failed check must not
	// leave the tenant's detached processes running.
	t.Cleanup(func() {
		cancel()
		<-finished
	})

	g.Eventually(out.String).WithTimeout(2 * time.Minute).Should(ContainSubstring("Press Ctrl-C to stop."))
	kubeconfig := filepath.Join(state, "kubeconfig")
	g.Expect(out.String()).To(ContainSubstring("kubectl --kubeconfig " + kubeconfig + " get namespaces"))
	viewer := regexp.MustCompile(`trace viewer\s+(http://127\.0\.0\.1:\d+/)`).FindStringSubmatch(out.String())
	g.Expect(viewer).To(HaveLen(2), "the trace viewer's URL is printed")
	// The sample tenant comes up with its portal; its demo history is imported and the demo admin's
	// sign-in shown; its admin's invitation opens on that portal.
	g.Eventually(out.String).WithTimeout(3 * time.Minute).Should(MatchRegexp(
		`kirklees\s+True\s+Ready\s+http://127\.0\.0\.1:\d+/\s+demo\.admin@kirklees\.example / demo-[0-9a-f]{24} \(demo history: \d+ referrals, 7 units, \d+ placements, \d+ voids\)`))
	g.Expect(out.String()).To(MatchRegexp(`all 1 partnerships Ready [0-9.]+ s after start`))
	portal := regexp.MustCompile(`Ready\s+(http://127\.0\.0\.1:\d+/)`).FindStringSubmatch(out.String())[1]
	g.Expect(out.String()).To(MatchRegexp(`kirklees  hfh\.coordinator@kirklees\.example  ` + regexp.QuoteMeta(portal) + `recovery\?flow=[0-9a-f-]+  code \d+`))
	g.Expect(out.String()).To(MatchRegexp(`kirklees  kratos-public=http://127\.0\.0\.1:\d+ .*referral=http://127\.0\.0\.1:\d+`))

	// A page of the portal is a trace in the viewer.
	asked := time.Now()
	resp, err := http.Get(portal + "login")
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Eventually(func(g Gomega) {
		traces, err := traceviewer.List(ctx, viewer[1], asked.Add(-time.Second), time.Now().Add(time.Minute))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(traces).To(ContainElement(HaveField("RootSpan", gstruct.PointTo(HaveField("ServiceName", "homeward-portal")))))
	}).WithTimeout(time.Minute).Should(Succeed())

	// The admission policies guard the tenant namespace, and the operator (named on it) still reconciled
	// it to Ready under them.
	ann, err := exec.Command("kubectl", "--kubeconfig", kubeconfig, "get", "namespace", "hw-kirklees", "-o",
		`jsonpath={.metadata.annotations.homeward\.dev/operator}`).CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(ann))
	g.Expect(string(ann)).NotTo(BeEmpty())
	vap, err := exec.Command("kubectl", "--kubeconfig", kubeconfig, "get", "validatingadmissionpolicies", "-o", "name").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(vap))
	g.Expect(string(vap)).To(ContainSubstring("homeward-tenant-access"))

	get, err := exec.Command("kubectl", "--kubeconfig", kubeconfig, "get", "crd", "partnerships.platform.homeward.dev", "-o", "name").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(get))
	g.Expect(string(get)).To(Equal("customresourcedefinition.apiextensions.k8s.io/partnerships.platform.homeward.dev\n"))

	cancel()
	g.Eventually(finished).WithTimeout(time.Minute).Should(BeClosed())
	g.Expect(runErr).NotTo(HaveOccurred())
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
	g.Expect(filepath.Join(state, "demo", "kirklees", "kirklees-referrals.csv")).To(BeAnExistingFile(), "the demo history is kept to be imported again")
}

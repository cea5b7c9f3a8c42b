package verify

// This file: the operator, as its own process on the local runtime, killed with SIGKILL while it
// provisions 20 partnerships, then started again. Every partnership must converge to Ready with
// exactly one Redis and one Kratos process, one identity per admin, one invitation each, and the
// same objects as every other tenant: nothing the dead operator half-made is made twice.

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/process"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// operatorProcess runs bin/homeward-operator on the local runtime, logging to a file.
func operatorProcess(t *testing.T, kubeconfig, dataDir, logPath string) *exec.Cmd {
	t.Helper()
	paths := map[string]string{}
	for _, name := range []string{"homeward-operator", "homeward", "kratos"} {
		p, err := binaries.Path(name)
		if err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(paths["homeward-operator"], "--kubeconfig", kubeconfig, "--runtime", "local",
		"--data-dir", dataDir, "--kratos", paths["kratos"], "--homeward", paths["homeward"], "--workers", "4")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// tenantProcesses counts the running processes working in each tenant's folder, by program.
func tenantProcesses(t *testing.T, dataDir string) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		raw, err := os.ReadFile(p)
		if err != nil || len(raw) == 0 {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join(filepath.Dir(p), "stat")); err == nil && strings.Contains(string(stat), ") Z ") {
			continue // a zombie is not running
		}
		// Redis rewrites its command line to its title, so its working folder says whose it is.
		places := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		program := filepath.Base(strings.Fields(places[0] + " ")[0])
		if cwd, err := os.Readlink(filepath.Join(filepath.Dir(p), "cwd")); err == nil {
			places = append(places, strings.TrimSuffix(cwd, " (deleted)")+"/")
		}
		for _, a := range places {
			rest, ok := strings.CutPrefix(a, dataDir+"/")
			if !ok {
				continue
			}
			tenant, _, _ := strings.Cut(rest, "/")
			if out[tenant] == nil {
				out[tenant] = map[string]int{}
			}
			out[tenant][program]++
			break
		}
	}
	return out
}

func TestOperatorKilledMidProvisionConvergesWithoutDuplicates(t *testing.T) {
	record(t)
	cp := testenv.ControlPlane(t, testenv.ControlPlaneOptions{CRDDirectoryPaths: []string{"config/crd/bases"}, ControllerManager: true})
	c := apiClient(t, cp.Config)
	ctx := context.Background()
	dataDir := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "operator.log")
	var names []string
	for i := range 20 {
		names = append(names, fmt.Sprintf("crash%02d", i+1))
	}
	// Tenants outlive operators by design: whatever runs in their folders is stopped at the end.
	t.Cleanup(func() {
		for _, name := range names {
			for _, comp := range []string{"redis", "kratos", "referral", "housing", "reporting", "portal"} {
				if rec, err := process.ReadRecord(filepath.Join(dataDir, name, comp, comp+".process.json")); err == nil && rec.Pid > 0 {
					_ = syscall.Kill(-rec.Pid, syscall.SIGKILL)
				}
			}
		}
		// What runs unrecorded after the operator stopped is swept too, so the machine is left as
		// found; the duplicates that matter are counted while the operator runs, below.
		if left := tenantProcesses(t, dataDir); len(left) > 0 {
			t.Logf("swept processes left in tenant folders after the operator stopped: %v", left)
			killTenantProcesses(dataDir)
		}
	})

	// Storage and identity for every tenant; the services are covered by TestLocalRuntime's restarts
	// and would only multiply the processes this machine starts at once.
	zero := ptr.To[int32](0)
	for _, name := range names {
		p := testenv.Partnership(name)
		p.Spec.Admins = append(p.Spec.Admins, platformv1alpha1.Admin{Email: "second@" + name + ".example", Name: "Second Admin"})
		p.Spec.Services = platformv1alpha1.ServiceReplicas{Referral: zero, HousingOptions: zero, Reporting: zero, Portal: zero}
		if err := c.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	ready := func() (readyNames []string, started int) {
		var list platformv1alpha1.PartnershipList
		if err := c.List(ctx, &list); err != nil {
			t.Fatal(err)
		}
		for _, p := range list.Items {
			if cond := meta.FindStatusCondition(p.Status.Conditions, platformv1alpha1.ConditionReady); cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == p.Generation {
				readyNames = append(readyNames, p.Name)
			}
			if _, err := os.Stat(filepath.Join(dataDir, p.Name)); err == nil {
				started++ // its folder is made before anything is started in it
			}
		}
		return readyNames, started
	}
	// Kill it mid-way, four times: some tenants done, others begun, the rest not started.
	op := operatorProcess(t, cp.KubeconfigPath, dataDir, logPath)
	for _, readyAtKill := range []int{2, 6, 10, 14} {
		waitFor(t, fmt.Sprint(readyAtKill, " tenants to be Ready"), func() bool { r, _ := ready(); return len(r) >= readyAtKill })
		if err := syscall.Kill(op.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = op.Wait()
		atKill, started := ready()
		if len(atKill) == len(names) {
			t.Fatal("every tenant was Ready before the kill: it proved nothing")
		}
		t.Logf("operator killed with %d of %d tenants Ready and %d begun", len(atKill), len(names), started)
		op = operatorProcess(t, cp.KubeconfigPath, dataDir, logPath)
	}
	t.Cleanup(func() {
		_ = op.Process.Signal(syscall.SIGTERM)
		_ = op.Wait()
	})
	began := time.Now()
	deadline := time.Now().Add(5 * time.Minute)
	for r, _ := ready(); len(r) < len(names); r, _ = ready() {
		if time.Now().After(deadline) {
			logged, _ := os.ReadFile(logPath)
			t.Fatalf("after the restart only %d of %d tenants are Ready; operator log tail:\n%s", len(r), len(names), tail(string(logged), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("all %d Ready %.1f s after the last restart", len(names), time.Since(began).Seconds())

	// Once Ready and again a few seconds later (a late restart would show then): one of each.
	processes := tenantProcesses(t, dataDir)
	time.Sleep(3 * time.Second)
	later := tenantProcesses(t, dataDir)
	shape := map[string][]string{}
	for _, name := range names {
		want := map[string]int{"redis-server": 1, "kratos": 1}
		if !mapsEqual(processes[name], want) || !mapsEqual(later[name], want) {
			t.Errorf("%s runs %v, then %v; want %v", name, processes[name], later[name], want)
		}
		var p platformv1alpha1.Partnership
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &p); err != nil {
			t.Fatal(err)
		}
		adminURL := ""
		for _, e := range p.Status.Endpoints.Services {
			if e.Name == "kratos-admin" {
				adminURL = e.URL
			}
		}
		identities, _, err := kratosserver.Client(adminURL).IdentityAPI.ListIdentities(ctx).Execute()
		if err != nil {
			t.Fatalf("%s identities: %v", name, err)
		}
		if len(identities) != len(p.Spec.Admins) {
			t.Errorf("%s has %d identities for %d admins", name, len(identities), len(p.Spec.Admins))
		}
		var secrets corev1.SecretList
		if err := c.List(ctx, &secrets, client.InNamespace(controllers.NamespaceName(name))); err != nil {
			t.Fatal(err)
		}
		var invitations []string
		for _, s := range secrets.Items {
			if strings.HasPrefix(s.Name, "invitation-") {
				invitations = append(invitations, s.Name)
			}
			// Invitations are named by a hash of the admin's email, different in every tenant.
			shape[name] = append(shape[name], "Secret/"+cmp.Or(map[bool]string{true: "invitation-…"}[strings.HasPrefix(s.Name, "invitation-")], s.Name))
		}
		for _, a := range p.Status.Admins {
			if a.Invitation != platformv1alpha1.InvitationSent || !slices.Contains(invitations, a.InvitationSecret) {
				t.Errorf("%s admin %s: invitation %s in %q, secrets %v", name, a.Email, a.Invitation, a.InvitationSecret, invitations)
			}
		}
		if len(invitations) != len(p.Spec.Admins) {
			t.Errorf("%s has %d invitation secrets for %d admins", name, len(invitations), len(p.Spec.Admins))
		}
		var configMaps corev1.ConfigMapList
		if err := c.List(ctx, &configMaps, client.InNamespace(controllers.NamespaceName(name))); err != nil {
			t.Fatal(err)
		}
		for _, m := range configMaps.Items {
			shape[name] = append(shape[name], "ConfigMap/"+strings.ReplaceAll(m.Name, name, "<tenant>"))
		}
		slices.Sort(shape[name])
	}
	// Killed mid-way or not, every tenant ends with the same objects.
	for _, name := range names[1:] {
		if !slices.Equal(shape[name], shape[names[0]]) {
			t.Errorf("%s holds %v; %s holds %v", name, shape[name], names[0], shape[names[0]])
		}
	}
}

// killTenantProcesses stops whatever still works in a tenant's folder, recorded or not, so a failed
// run leaves the machine as it found it.
func killTenantProcesses(dataDir string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cwd")
	for _, p := range procs {
		cwd, err := os.Readlink(p)
		if err != nil || !strings.HasPrefix(strings.TrimSuffix(cwd, " (deleted)"), dataDir+"/") {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

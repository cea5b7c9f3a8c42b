package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/binaries"
)

// containerd runs a private containerd (its own root, state and socket, no CRI) until the test
// ends, then stops it and unmounts whatever it left mounted.
func containerd(t *testing.T) func(args ...string) (string, error) {
	t.Helper()
	dir, err := os.MkdirTemp("", "hw-containerd-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "containerd.sock")
	conf := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\n[grpc]\n  address = %q\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  disable = true\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	log, _ := os.Create(filepath.Join(dir, "containerd.log"))
	cmd := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = log.Close()
		// Anything still mounted under its folders (an interrupted run's snapshots) goes first.
		if mounts, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
			for _, line := range strings.Split(string(mounts), "\n") {
				if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir) {
					_ = syscall.Unmount(f[4], syscall.MNT_DETACH)
				}
			}
		}
		_ = os.RemoveAll(dir)
		// runc puts each container's cgroup under its containerd namespace's; the namespace's stays.
		for _, h := range cgroupHierarchies() {
			_ = syscall.Rmdir(filepath.Join(h, "homeward-test"))
		}
	})
	ctr := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ctr", append([]string{"--address", sock, "-n", "homeward-test"}, args...)...).CombinedOutput()
		return string(out), err
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := ctr("version"); err == nil {
			return ctr
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Fatalf("containerd did not start:\n%s", b)
		}
	}
}

func cgroupHierarchies() []string {
	matches, _ := filepath.Glob("/sys/fs/cgroup/*")
	return matches
}

// TestImagesRunInContainerd builds the three images as make images does and runs each in a real
// containerd with runc: as the non-root user, with a read-only root filesystem.
func TestImagesRunInContainerd(t *testing.T) {
	root, err := binaries.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", dir+"/", "./cmd/homeward", "./cmd/homeward-operator")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	kratos, err := binaries.Path("kratos")
	if err != nil {
		t.Fatal(err)
	}
	kratosFiles, err := BinaryWithLibraries(kratos, "/usr/local/bin/kratos")
	if err != nil {
		t.Fatal(err)
	}
	redisFiles, err := BinaryWithLibraries("/usr/bin/redis-server", "/usr/bin/redis-server")
	if err != nil {
		t.Fatal(err)
	}
	ctr := containerd(t)
	for _, tc := range []struct {
		spec Spec
		args []string
		want string
	}{
		{Spec{Name: "homeward", Entrypoint: []string{"/usr/local/bin/homeward"}, Files: []File{
			{Path: "/usr/local/bin/homeward", Source: filepath.Join(dir, "homeward"), Mode: 0o555},
			{Path: "/usr/local/bin/homeward-operator", Source: filepath.Join(dir, "homeward-operator"), Mode: 0o555},
		}}, []string{"/usr/local/bin/homeward", "--help"}, "serve one partnership's web portal"},
		{Spec{Name: "kratos", Entrypoint: []string{"/usr/local/bin/kratos"}, Files: kratosFiles}, []string{"/usr/local/bin/kratos", "version"}, "v1.3.1"},
		{Spec{Name: "redis", Entrypoint: []string{"/usr/bin/redis-server"}, Files: redisFiles}, []string{"/usr/bin/redis-server", "--version"}, "Redis server v=7"},
	} {
		built, err := Build(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		ref := "homeward.test/" + tc.spec.Name + ":test"
		archive, err := WriteArchive(dir, ref, built)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := ctr("images", "import", archive); err != nil {
			t.Fatalf("import %s: %v\n%s", tc.spec.Name, err, out)
		}
		out, err := ctr(append([]string{"run", "--rm", "--read-only", ref, "hw-" + tc.spec.Name}, tc.args...)...)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("%s in containerd: %v\n%s", tc.spec.Name, err, out)
		}
	}
}

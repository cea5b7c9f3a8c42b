// Package testenv gives every Homeward test suite the real components it runs against — a
// control plane, redis-server, kratos — each with one call and stopped by t.Cleanup, even when
// the test fails. Processes also die with the test binary (see package process), so a timed-out
// run leaves nothing behind.
package testenv

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/controlplane"
	"github.com/homeward-dev/homeward/internal/jaegerserver"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/node"
	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/internal/traceviewer"
)

// startTimeout bounds how long any one component may take to come up in a test.
const startTimeout = 2 * time.Minute

var quietControllerRuntime sync.Once

// ControlPlaneOptions choose what runs beside the apiserver.
type ControlPlaneOptions struct {
	// CRDDirectoryPaths are relative to the repository root, e.g. "config/crd/bases".
	CRDDirectoryPaths []string
	// ControllerManager starts kube-controller-manager (namespace deletion, garbage collection).
	ControllerManager bool
}

// ControlPlane starts etcd + kube-apiserver (+ kube-controller-manager) for the test.
func ControlPlane(t testing.TB, opts ControlPlaneOptions) *controlplane.ControlPlane {
	t.Helper()
	// envtest logs through controller-runtime's global logger, which complains on stderr when
	// nobody set one; suites that want the operator's logs set their own first.
	quietControllerRuntime.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	root := RepoRoot(t)
	crds := make([]string, len(opts.CRDDirectoryPaths))
	for i, p := range opts.CRDDirectoryPaths {
		crds[i] = filepath.Join(root, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Options{
		Dir:               t.TempDir(),
		CRDDirectoryPaths: crds,
		ControllerManager: opts.ControllerManager,
	})
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stop control plane: %v", err)
		}
	})
	return cp
}

// Redis starts redis-server in a fresh folder; opts.Path and opts.Dir are filled in when empty.
func Redis(t testing.TB, opts redisserver.Options) *redisserver.Server {
	t.Helper()
	if opts.Path == "" {
		opts.Path = systemBinary(t, "redis-server")
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	srv, err := redisserver.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop redis-server: %v", err)
		}
	})
	return srv
}

// Kratos starts a Kratos server in a fresh folder with the fast test hasher unless opts say
// otherwise; opts.Path and opts.Dir are filled in when empty.
func Kratos(t testing.TB, opts kratosserver.Options) *Identity {
	t.Helper()
	if opts.Path == "" {
		opts.Path = builtBinary(t, "kratos")
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Hasher == "" {
		opts.Hasher = kratosserver.HasherFastForTests
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	srv, err := kratosserver.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start kratos: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop kratos: %v", err)
		}
	})
	return newIdentity(srv)
}

// RepoRoot is the root of the checkout the test runs in.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := binaries.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func builtBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := binaries.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func systemBinary(t testing.TB, name string) string {
	t.Helper()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p
		}
	}
	t.Fatalf("%s is not installed: run hack/install-deps.sh", name)
	return ""
}

// Jaeger starts a Jaeger (in-memory) in a fresh folder.
func Jaeger(t testing.TB) *jaegerserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	srv, err := jaegerserver.Start(ctx, jaegerserver.Options{Path: builtBinary(t, "jaeger"), Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start jaeger: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop jaeger: %v", err)
		}
	})
	return srv
}

// TraceViewer runs otel-desktop-viewer, the trace viewer `make dev` starts, stopped when t ends.
func TraceViewer(t testing.TB) *traceviewer.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	srv, err := traceviewer.Start(ctx, traceviewer.Options{Path: builtBinary(t, "otel-desktop-viewer"), Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start the trace viewer: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop the trace viewer: %v", err)
		}
	})
	return srv
}

// Node starts a one-node cluster with real pods (package node) with the given OCI archives
// imported, and stops it — restoring the machine — when the test ends. It needs root.
func Node(t testing.TB, images []string) *node.Node {
	t.Helper()
	quietControllerRuntime.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	// containerd's socket lives in the folder, so it stays short (t.TempDir's can pass 108 bytes).
	dir, err := os.MkdirTemp("", "hwn-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	n, err := node.Start(ctx, node.Options{Dir: dir, Images: images})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Errorf("stop node: %v", err)
		}
		if changed := n.ChangedSysctls(); len(changed) > 0 {
			t.Errorf("the node left kernel settings changed: %v", changed)
		}
	})
	return n
}

// ExpectPrivateFiles fails the test for every file or folder under dir that its group or others
// may read, write or enter: a store's data on disk is its owner's only.
func ExpectPrivateFiles(t testing.TB, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&os.ModeSocket == 0 && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is mode %v: group or others can reach it", p, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Errorf("walk %s: %v", dir, err)
	}
}

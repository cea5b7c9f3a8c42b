// Command homeward-dev runs Homeward's local platform for development: a real control plane
// (etcd, kube-apiserver, kube-controller-manager) with the Partnership CRD installed, until
// Ctrl-C. `make dev` builds and runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/controlplane"
)

func main() {
	stateDir := flag.String("state-dir", "", "folder for the control plane's kubeconfig and logs (default <repo>/.dev)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *stateDir, os.Stdout); err != nil {
		log.Error("homeward-dev failed", "error", err)
		stop()
		os.Exit(1)
	}
}

// run brings the platform up, reports it on out, and tears it down when ctx ends.
func run(ctx context.Context, log *slog.Logger, stateDir string, out io.Writer) error {
	root, err := binaries.RepoRoot()
	if err != nil {
		return err
	}
	if stateDir == "" {
		stateDir = filepath.Join(root, ".dev")
	}
	// A previous run's control plane held its own certificates; start clean so no stale
	// kubeconfig points at a dead server.
	cpDir := filepath.Join(stateDir, "controlplane")
	if err := os.RemoveAll(cpDir); err != nil {
		return fmt.Errorf("clear %s: %w", cpDir, err)
	}
	ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))

	started := time.Now()
	log.Info("starting etcd, kube-apiserver and kube-controller-manager", "dir", cpDir)
	cp, err := controlplane.Start(ctx, controlplane.Options{
		Dir:               cpDir,
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
		ControllerManager: true,
	})
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(stateDir, "kubeconfig")
	if err := copyFile(cp.KubeconfigPath, kubeconfig); err != nil {
		return errors.Join(err, cp.Stop())
	}
	log.Info("control plane ready", "after", time.Since(started).Round(time.Millisecond))

	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "\nHomeward local platform is up.\n\n")
	fmt.Fprintf(w, "  kubeconfig\t%s\n", kubeconfig)
	fmt.Fprintf(w, "  apiserver\t%s\n", cp.Config.Host)
	fmt.Fprintf(w, "  try\tkubectl --kubeconfig %s get namespaces\n", kubeconfig)
	fmt.Fprintf(w, "  \tkubectl --kubeconfig %s apply -k config/samples\n", kubeconfig)
	fmt.Fprintf(w, "  \tkubectl --kubeconfig %s get partnerships\n", kubeconfig)
	fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
	if err := w.Flush(); err != nil {
		return errors.Join(err, cp.Stop())
	}

	<-ctx.Done()
	log.Info("stopping the control plane")
	if err := cp.Stop(); err != nil {
		return fmt.Errorf("stop control plane: %w", err)
	}
	if err := os.Remove(kubeconfig); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove kubeconfig: %w", err)
	}
	log.Info("stopped")
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("read %s: %w", from, err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", to, err)
	}
	return nil
}

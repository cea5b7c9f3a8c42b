// Command homeward-cluster runs a one-node Kubernetes cluster on this machine with real pods (see
// package node), imports the images `make images` built, prints a kubeconfig, and tears everything
// down on Ctrl-C. `make cluster` runs it; it needs root.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/go-logr/logr"

	"github.com/homeward-dev/homeward/internal/node"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "homeward-cluster:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "/tmp/homeward-cluster", "folder for everything the node writes (removed on exit)")
	imagesDir := flag.String("images", "dist/images", "folder of OCI archives to import (make images)")
	flag.Parse()
	archives, err := filepath.Glob(filepath.Join(*imagesDir, "*.oci.tar"))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, nil))
	n, err := node.Start(ctx, node.Options{Dir: *dir, Images: archives, Log: log})
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(filepath.Dir(*dir), "homeward-cluster.kubeconfig")
	data, err := os.ReadFile(n.KubeconfigPath())
	if err == nil {
		err = os.WriteFile(kubeconfig, data, 0o600)
	}
	if err != nil {
		return fmt.Errorf("%w (and stopping: %v)", err, n.Stop())
	}
	fmt.Printf("one-node cluster ready (%d images imported)\n  export KUBECONFIG=%s\n"+
		"Ingresses are served at http://%s (send the Ingress's host: curl -H 'Host: oldham.homeward.example' …)\n"+
		"Ctrl-C stops it and removes every trace.\n", len(archives), kubeconfig, n.IngressAddress)
	<-ctx.Done()
	fmt.Println("stopping the node")
	if err := n.Stop(); err != nil {
		return err
	}
	return os.Remove(kubeconfig)
}

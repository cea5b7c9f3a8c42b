// Package controlplane runs a real Kubernetes control plane without a kubelet: etcd and
// kube-apiserver (through controller-runtime's envtest) and, optionally, kube-controller-manager
// with only the namespace controller and the garbage collector. Without those two, namespaces
// never finish deleting and owner references are never followed, so tests of deletion would lie.
// `make dev` and every operator test use it.
package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/loopback"
	"github.com/homeward-dev/homeward/internal/process"
)

// Options configure a control plane.
type Options struct {
	// Dir receives the kubeconfig, wrappers and logs. Required.
	Dir string
	// BinDir holds kube-apiserver, etcd and kube-controller-manager; default binaries.Dir().
	BinDir string
	// CRDDirectoryPaths are installed before Start returns (and before the controller-manager
	// starts, so the garbage collector knows the custom types from the beginning).
	CRDDirectoryPaths []string
	// ControllerManager starts kube-controller-manager beside the apiserver.
	ControllerManager bool
	// Node readies the control plane for a real kubelet (package node): the apiserver serves on
	// this non-loopback address, which pods reach through the kubernetes Service, with a certificate
	// naming that Service too; the ServiceAccount admission plugin is on; the controller-manager
	// runs the workload, endpoint, volume and node controllers; and kube-scheduler runs. Empty: a
	// control plane without nodes, on loopback.
	Node *NodeOptions
}

// NodeOptions are what a control plane for a real node needs to know.
type NodeOptions struct {
	// Address is the host address the apiserver serves on and advertises.
	Address string
	// ServiceCIDR holds the Services' ClusterIPs; the first is the kubernetes Service's.
	ServiceCIDR string
	// PodCIDR is what node IPAM hands out a /24 of to each node.
	PodCIDR string
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	// Config authenticates as a cluster admin (system:masters).
	Config *rest.Config
	// KubeconfigPath is an admin kubeconfig for kubectl.
	KubeconfigPath string

	dir       string
	env       *envtest.Environment
	kcm       *process.Process
	scheduler *process.Process
}

// AdminUser is the name of the cluster-admin user in the kubeconfig.
const AdminUser = "homeward-admin"

// Start brings up etcd and kube-apiserver, installs CRDs and, if asked, the controller-manager.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	if opts.Dir == "" {
		return nil, errors.New("control plane: Dir is required")
	}
	if opts.BinDir == "" {
		d, err := binaries.Dir()
		if err != nil {
			return nil, err
		}
		opts.BinDir = d
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("control plane dir: %w", err)
	}
	wrappers, err := orphanProofWrappers(opts.Dir, opts.BinDir, "etcd", "kube-apiserver")
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    wrappers,
		CRDDirectoryPaths:        opts.CRDDirectoryPaths,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	apiserver := env.ControlPlane.GetAPIServer()
	// envtest's default service range is a /24: 254 ClusterIPs, fewer than 50 tenants need.
	apiserver.Configure().Set("service-cluster-ip-range", "10.96.0.0/16")
	if opts.Node != nil {
		if err := servePods(apiserver, opts.Dir, *opts.Node); err != nil {
			return nil, err
		}
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start etcd and kube-apiserver: %w", err)
	}
	cp := &ControlPlane{dir: opts.Dir, env: env}
	if err := cp.writeAdminKubeconfig(); err != nil {
		return nil, errors.Join(err, cp.Stop())
	}
	cp.Config = cfg
	if opts.ControllerManager || opts.Node != nil {
		if err := cp.startControllerManager(ctx, opts.BinDir, opts.Node); err != nil {
			return nil, errors.Join(err, cp.Stop())
		}
	}
	if opts.Node != nil {
		if err := cp.startScheduler(ctx, opts.BinDir); err != nil {
			return nil, errors.Join(err, cp.Stop())
		}
	}
	return cp, nil
}

// orphanProofWrappers writes a tiny script per binary that execs it under `setpriv --pdeathsig`,
// because envtest starts etcd and the apiserver in their own process group without a parent-death
// signal: a test binary killed by its timeout would otherwise leave them running.
func orphanProofWrappers(dir, binDir string, names ...string) (string, error) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		return "", fmt.Errorf("setpriv (util-linux) is required: %w", err)
	}
	wrapDir := filepath.Join(dir, "bin")
	if err := os.MkdirAll(wrapDir, 0o700); err != nil {
		return "", fmt.Errorf("wrapper dir: %w", err)
	}
	for _, name := range names {
		target := filepath.Join(binDir, name)
		if _, err := os.Stat(target); err != nil {
			return "", fmt.Errorf("%s is not built (run hack/tools.sh): %w", target, err)
		}
		script := fmt.Sprintf("#!/bin/sh\nexec %s --pdeathsig KILL -- %s \"$@\"\n", setpriv, target)
		if err := os.WriteFile(filepath.Join(wrapDir, name), []byte(script), 0o700); err != nil {
			return "", fmt.Errorf("write %s wrapper: %w", name, err)
		}
	}
	return wrapDir, nil
}

func (cp *ControlPlane) writeAdminKubeconfig() error {
	path, err := cp.writeUserKubeconfig(AdminUser, "kubeconfig")
	if err != nil {
		return err
	}
	cp.KubeconfigPath = path
	return nil
}

func (cp *ControlPlane) writeUserKubeconfig(name, file string) (string, error) {
	user, err := cp.env.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("add user %s: %w", name, err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("kubeconfig for %s: %w", name, err)
	}
	path := filepath.Join(cp.dir, file)
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return "", fmt.Errorf("write kubeconfig: %w", err)
	}
	return path, nil
}

// WriteKubeconfig writes a kubeconfig for a cluster-admin user of that name (a node's kubelet,
// kube-proxy, the policy enforcer) and returns its path.
func (cp *ControlPlane) WriteKubeconfig(name string) (string, error) {
	return cp.writeUserKubeconfig(name, name+".kubeconfig")
}

// withoutNodes are the controllers a control plane without nodes runs. Never "*": some controllers
// touch the host outside any temp dir. PVC protection is here because a namespace holding a claim
// cannot finish deleting without it; the quota controller because quotas are enforced only once it
// has counted usage (a tenant's "no NodePorts" is otherwise not enforced); role aggregation so the
// built-in admin, edit and view roles hold what they do on a real cluster.
func controllersWithoutNodes() []string {
	return []string{
		"namespace-controller", "garbage-collector-controller", "persistentvolumeclaim-protection-controller",
		"resourcequota-controller", "clusterrole-aggregation-controller",
	}
}

// withNodes are the controllers a real node's pods need besides: workloads, the Services' endpoint
// slices, ServiceAccounts and the root CA every projected token mounts, volume binding, pod CIDRs
// for the network policy enforcer, and the node's lifecycle (its not-ready taint).
func controllersForNodes() []string {
	return []string{
		"deployment-controller", "replicaset-controller", "statefulset-controller", "endpointslice-controller",
		"serviceaccount-controller", "root-ca-certificate-publisher-controller", "persistentvolume-binder-controller",
		"persistentvolume-protection-controller", "node-ipam-controller", "node-lifecycle-controller", "pod-garbage-collector-controller",
		"disruption-controller",
	}
}

func (cp *ControlPlane) startControllerManager(ctx context.Context, binDir string, node *NodeOptions) error {
	path := filepath.Join(binDir, "kube-controller-manager")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s is not built (run hack/tools.sh): %w", path, err)
	}
	// The name a kubeadm cluster's controller-manager authenticates as (admission policies know it).
	kubeconfig, err := cp.writeUserKubeconfig("system:kube-controller-manager", "kcm.kubeconfig")
	if err != nil {
		return err
	}
	controllers := controllersWithoutNodes()
	var nodeArgs []string
	if node != nil {
		controllers = append(controllers, controllersForNodes()...)
		nodeArgs = []string{"--allocate-node-cidrs", "--cluster-cidr=" + node.PodCIDR, "--service-cluster-ip-range=" + node.ServiceCIDR,
			"--node-cidr-mask-size=24"}
	}
	cp.kcm, err = cp.startLoopbackComponent(ctx, "kube-controller-manager", path, append([]string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(controllers, ","),
		"--cert-dir=" + filepath.Join(cp.dir, "kcm-certs"),
		"--leader-elect=false",
		"--use-service-account-credentials=false",
	}, nodeArgs...))
	return err
}

func (cp *ControlPlane) startScheduler(ctx context.Context, binDir string) error {
	path := filepath.Join(binDir, "kube-scheduler")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s is not built (run hack/tools.sh kube-scheduler): %w", path, err)
	}
	kubeconfig, err := cp.writeUserKubeconfig("kube-scheduler", "scheduler.kubeconfig")
	if err != nil {
		return err
	}
	cp.scheduler, err = cp.startLoopbackComponent(ctx, "kube-scheduler", path, []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--cert-dir=" + filepath.Join(cp.dir, "scheduler-certs"),
		"--leader-elect=false",
	})
	return err
}

// startLoopbackComponent starts a control-plane component serving its health on a free loopback
// port, and waits until it is healthy.
func (cp *ControlPlane) startLoopbackComponent(ctx context.Context, name, path string, args []string) (*process.Process, error) {
	var proc *process.Process
	err := process.RetryOnPortTaken(func() {}, func() error {
		port, err := loopback.FreePort()
		if err != nil {
			return err
		}
		healthz := "https://127.0.0.1:" + strconv.Itoa(port) + "/healthz"
		proc, err = process.StartReady(ctx, process.Launch{
			Spec: process.Spec{
				Name: name, Path: path, Dir: cp.dir,
				Args: append(slices.Clone(args), "--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(port)),
			},
			LogPath:      filepath.Join(cp.dir, name+".log"),
			Ready:        func(ctx context.Context) error { return GetOK(ctx, healthz) },
			Interval:     100 * time.Millisecond,
			Timeout:      60 * time.Second,
			PortTakenLog: "address already in use",
		})
		return err
	})
	return proc, err
}

// insecureLoopback checks the controller-manager's self-signed loopback endpoint.
var insecureLoopback = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback health check of a self-signed server
}

// GetOK is a readiness check: the URL answers 200 (over HTTP, or HTTPS with a self-signed
// certificate on loopback).
func GetOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := insecureLoopback.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}

// ControllerManagerPid is the controller-manager's process id, 0 when it is not running.
func (cp *ControlPlane) ControllerManagerPid() int {
	if cp.kcm == nil {
		return 0
	}
	return cp.kcm.Pid()
}

// Stop stops the controller-manager before the apiserver: the other way round the apiserver
// waits about 20 s for the controller-manager's watches to drain.
func (cp *ControlPlane) Stop() error {
	var errs []error
	if cp.scheduler != nil {
		errs = append(errs, cp.scheduler.Stop(10*time.Second))
		cp.scheduler = nil
	}
	if cp.kcm != nil {
		errs = append(errs, cp.kcm.Stop(10*time.Second))
		cp.kcm = nil
	}
	if cp.env != nil {
		errs = append(errs, cp.env.Stop())
		cp.env = nil
	}
	return errors.Join(errs...)
}

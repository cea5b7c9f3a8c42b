// Package node runs a one-node Kubernetes cluster on this machine with real pods: the local
// control plane (with kube-scheduler and the workload controllers), containerd's CRI with runc,
// kubelet, kube-proxy in iptables mode, a CNI bridge, CoreDNS as a pod, kube-router's firewall
// controller enforcing NetworkPolicies, and a provisioner of host-folder volumes. Stop removes
// every trace: processes, mounts, network namespaces, the bridge, iptables rules and ipsets,
// cgroups, and the kernel settings the kubelet and CNI change. `make cluster` and the end-to-end
// tests use it; it needs root.
package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/controlplane"
	"github.com/homeward-dev/homeward/internal/loopback"
	"github.com/homeward-dev/homeward/internal/process"
)

// The cluster's fixed addresses: one node, so one pod /24 out of the cluster range.
const (
	ServiceCIDR = "10.96.0.0/16"
	// DNSServiceIP is the kube-dns Service's ClusterIP, which every pod's resolv.conf names.
	DNSServiceIP = "10.96.0.10"
	PodCIDR      = "10.244.0.0/16"
	nodePodCIDR  = "10.244.0.0/24"
	// Name is the node's name.
	Name = "homeward-node"
	// Bridge is the CNI bridge's interface name.
	Bridge = "hwnode0"
	// cgroupRoot holds every pod's cgroup, so Stop finds and removes them all.
	cgroupRoot = "/homeward-node"
	// StorageClass is the default class, provisioned as folders on this machine.
	StorageClass = "node-local"
)

// Options configure a node.
type Options struct {
	// Dir holds everything the node writes; Stop removes it. Keep the path short: containerd's
	// sockets live under it.
	Dir string
	// Images are OCI image-layout archives to import into the node's containerd, so pods find them
	// without a registry.
	Images []string
	// Log receives progress; nil discards it.
	Log logr.Logger
}

// Node is a running one-node cluster.
type Node struct {
	ControlPlane *controlplane.ControlPlane
	Client       kubernetes.Interface
	// Address is the host address the apiserver and node use.
	Address string
	// IngressAddress is where the node serves its Ingresses (host:port, plain HTTP).
	IngressAddress string

	dir       string
	host      *hostState
	log       logr.Logger
	socket    string
	procs     []*process.Process // started in order, stopped in reverse
	stopAddon context.CancelFunc
	addonDone chan struct{}
	ingress   *http.Server
}

// Start brings the node up and waits until it is Ready and DNS answers. On error everything started
// is stopped again.
func Start(ctx context.Context, opts Options) (n *Node, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("node: a node needs root (it runs containerd, the kubelet and iptables)")
	}
	if opts.Dir == "" {
		return nil, errors.New("node: Dir is required")
	}
	log := opts.Log
	if log.GetSink() == nil {
		log = logr.Discard()
	}
	addr, err := hostAddress()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("node dir: %w", err)
	}
	host, err := recordHost(ctx)
	if err != nil {
		return nil, fmt.Errorf("record the machine's state: %w", err)
	}
	started := &Node{Address: addr, dir: opts.Dir, host: host, log: log, socket: filepath.Join(opts.Dir, "containerd.sock")}
	n = started
	defer func() {
		if err != nil {
			err = errors.Join(err, started.Stop())
		}
	}()
	bin, err := binaries.Dir()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	log.Info("starting the control plane", "address", addr)
	n.ControlPlane, err = controlplane.Start(ctx, controlplane.Options{
		Dir: filepath.Join(opts.Dir, "cp"), BinDir: bin,
		Node: &controlplane.NodeOptions{Address: addr, ServiceCIDR: ServiceCIDR, PodCIDR: PodCIDR},
	})
	if err != nil {
		return nil, err
	}
	if n.Client, err = kubernetes.NewForConfig(n.ControlPlane.Config); err != nil {
		return nil, err
	}
	if err := host.blockServiceRange(ctx, Bridge, ServiceCIDR); err != nil {
		return nil, err
	}
	log.Info("starting containerd")
	if err := n.startContainerd(ctx); err != nil {
		return nil, err
	}
	system, err := n.systemImages(ctx, bin)
	if err != nil {
		return nil, err
	}
	for _, archive := range append(system, opts.Images...) {
		if err := n.importImage(ctx, archive); err != nil {
			return nil, err
		}
	}
	log.Info("starting kubelet, kube-proxy and kube-router")
	if err := n.startKubelet(ctx, bin); err != nil {
		return nil, err
	}
	if err := n.startKubeProxy(ctx, bin); err != nil {
		return nil, err
	}
	if err := n.startKubeRouter(ctx, bin); err != nil {
		return nil, err
	}
	log.Info("installing CoreDNS and the volume provisioner")
	if err := n.installAddons(ctx); err != nil {
		return nil, err
	}
	if err := n.startIngress(); err != nil {
		return nil, err
	}
	if err := n.waitReady(ctx); err != nil {
		return nil, err
	}
	log.Info("node ready", "seconds", time.Since(start).Seconds())
	return n, nil
}

// hostAddress is the first non-loopback IPv4 address of an interface that is up: what pods reach
// the apiserver on.
func hostAddress() (string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 || iface.Name == Bridge || strings.HasPrefix(iface.Name, "veth") {
			continue
		}
		addrs, _ := iface.Addrs()
		for _, a := range addrs {
			if ipnet, ok := a.(*net.IPNet); ok && ipnet.IP.To4() != nil {
				return ipnet.IP.String(), nil
			}
		}
	}
	return "", errors.New("node: no non-loopback IPv4 address to serve the apiserver on")
}

func (n *Node) path(parts ...string) string {
	return filepath.Join(append([]string{n.dir}, parts...)...)
}

func (n *Node) startProcess(ctx context.Context, name, path string, args []string, ready func(context.Context) error) error {
	proc, err := process.StartReady(ctx, process.Launch{
		Spec:     process.Spec{Name: name, Path: path, Args: args, Dir: n.dir},
		LogPath:  n.path(name + ".log"),
		Ready:    ready,
		Interval: 200 * time.Millisecond,
		Timeout:  2 * time.Minute,
	})
	if err != nil {
		return err
	}
	n.procs = append(n.procs, proc)
	return nil
}

func freePort() (string, error) {
	p, err := loopback.FreePort()
	return strconv.Itoa(p), err
}

// KubeconfigPath is a cluster-admin kubeconfig for kubectl and helm.
func (n *Node) KubeconfigPath() string { return n.ControlPlane.KubeconfigPath }

// PodLogs returns what a pod's containers wrote (the kubelet's log files), for a test's failure
// message: the apiserver here has no client certificate to ask the kubelet for logs.
func (n *Node) PodLogs(namespace, pod string) string {
	matches, _ := filepath.Glob(n.path("pod-logs", namespace+"_"+pod+"_*", "*", "*.log"))
	var b strings.Builder
	for _, m := range matches {
		data, _ := os.ReadFile(m)
		fmt.Fprintf(&b, "== %s\n%s", strings.TrimPrefix(m, n.path("pod-logs")+"/"), data)
	}
	return b.String()
}

// Stop tears the node down and puts the machine back as it was: it stops the node's processes and
// every container, unmounts what they mounted, removes their cgroups, and restores the network and
// kernel settings. Safe to call on a node that started only in part.
func (n *Node) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	if n.ingress != nil {
		errs = append(errs, n.ingress.Shutdown(ctx))
	}
	if n.stopAddon != nil {
		n.stopAddon()
		<-n.addonDone
	}
	for i := len(n.procs) - 1; i >= 0; i-- {
		if n.procs[i] == nil {
			continue
		}
		// containerd is first in the list; before it goes, every container and shim is killed.
		if i == 0 {
			killPods(n.socket)
		}
		errs = append(errs, n.procs[i].Stop(15*time.Second))
	}
	n.procs = nil
	killPods(n.socket)
	errs = append(errs, unmountUnder(n.dir), removeCgroups(cgroupRoot))
	if n.host != nil {
		errs = append(errs, n.host.restore(ctx, Bridge))
	}
	if n.ControlPlane != nil {
		errs = append(errs, n.ControlPlane.Stop())
	}
	errs = append(errs, unmountUnder(n.dir), os.RemoveAll(n.dir))
	return errors.Join(errs...)
}

// ChangedSysctls lists kernel settings that differ from before Start (empty after Stop).
func (n *Node) ChangedSysctls() []string { return n.host.changedSysctls() }

// killPods kills every process in the node's pod cgroups and every containerd shim serving the
// node's containerd, so nothing outlives the node.
func killPods(socket string) {
	for range 3 {
		pids := cgroupProcs(cgroupRoot)
		pids = append(pids, processesMentioning(socket)...)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// processesMentioning finds processes whose command line holds s (containerd's shims name the
// socket of the containerd they serve; containerd itself names only its configuration file).
func processesMentioning(s string) []int {
	var pids []int
	self := os.Getpid()
	for _, e := range entries("/proc") {
		pid, err := strconv.Atoi(e)
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e, "cmdline"))
		if err == nil && strings.Contains(string(cmdline), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// makeCgroups creates the node's cgroup in every v1 hierarchy (the kubelet requires it to exist),
// giving the cpuset one its parent's CPUs and memory nodes, which a new cpuset starts without.
func makeCgroups(root string) error {
	for _, h := range cgroupHierarchies() {
		if filepath.Base(h) == "unified" {
			continue
		}
		dir := filepath.Join(h, root)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
		if filepath.Base(h) == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join(h, f))
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, f), v, 0o644)
				}
				if err != nil {
					return fmt.Errorf("cgroup %s: %w", dir, err)
				}
			}
		}
	}
	return nil
}

func cgroupHierarchies() []string {
	matches, _ := filepath.Glob("/sys/fs/cgroup/*")
	return matches
}

func cgroupProcs(root string) []int {
	var pids []int
	for _, h := range cgroupHierarchies() {
		_ = filepath.WalkDir(filepath.Join(h, root), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// removeCgroups removes the node's cgroup trees in every hierarchy, deepest first.
func removeCgroups(root string) error {
	var errs []error
	for _, h := range cgroupHierarchies() {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(h, root), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", dirs[i], err))
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			mounts = append(mounts, f[4])
		}
	}
	var errs []error
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := syscall.Unmount(mounts[i], syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", mounts[i], err))
		}
	}
	return errors.Join(errs...)
}

// PodMemoryMB is a running pod's working set (its cgroup's usage less inactive file cache), in MB,
// as the kubelet counts it against limits.
func PodMemoryMB(pod *corev1.Pod) (float64, bool) {
	matches, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/memory", cgroupRoot, "kubepods", "*pod"+string(pod.UID)))
	more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/memory", cgroupRoot, "kubepods", "*", "pod"+string(pod.UID)))
	matches = append(matches, more...)
	if len(matches) == 0 {
		return 0, false
	}
	usage, err := os.ReadFile(filepath.Join(matches[0], "memory.usage_in_bytes"))
	if err != nil {
		return 0, false
	}
	bytes, err := strconv.ParseFloat(strings.TrimSpace(string(usage)), 64)
	if err != nil {
		return 0, false
	}
	if stat, err := os.ReadFile(filepath.Join(matches[0], "memory.stat")); err == nil {
		for _, line := range strings.Split(string(stat), "\n") {
			if v, ok := strings.CutPrefix(line, "total_inactive_file "); ok {
				if inactive, err := strconv.ParseFloat(v, 64); err == nil && inactive < bytes {
					bytes -= inactive
				}
			}
		}
	}
	return bytes / (1 << 20), true
}

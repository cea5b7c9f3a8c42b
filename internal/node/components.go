package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/homeward-dev/homeward/internal/controlplane"
	"github.com/homeward-dev/homeward/internal/images"
)

// SandboxImage is every pod's sandbox ("pause") container: Debian's static catatonit, which reaps
// zombies and waits.
const SandboxImage = "homeward.local/pause:node"

func (n *Node) startContainerd(ctx context.Context) error {
	// restrict_oom_score_adj: the machine's root may lack CAP_SYS_RESOURCE, and without it runc
	// fails to lower a container's OOM score below its own ("can't get final child's PID from pipe").
	conf := fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
`, n.path("containerd", "root"), n.path("containerd", "state"), n.socket, SandboxImage, n.path("cni"))
	if err := os.MkdirAll(n.path("cni"), 0o700); err != nil {
		return err
	}
	// One /24 of the pod range: node IPAM hands this node the first one (Start checks it did).
	cni := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "homeward-node", "plugins": [
  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}`, Bridge, nodePodCIDR, n.path("cni-ipam"))
	if err := os.WriteFile(n.path("cni", "10-homeward.conflist"), []byte(cni), 0o600); err != nil {
		return err
	}
	confPath := n.path("containerd.toml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return err
	}
	path, err := exec.LookPath("containerd")
	if err != nil {
		return fmt.Errorf("containerd is not installed (make deps): %w", err)
	}
	return n.startProcess(ctx, "containerd", path, []string{"--config", confPath}, func(ctx context.Context) error {
		_, err := n.ctr(ctx, "version")
		return err
	})
}

// ctr runs containerd's client against the node's containerd, in the namespace the kubelet uses.
func (n *Node) ctr(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "ctr", append([]string{"--address", n.socket, "-n", "k8s.io"}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// importImage imports an archive and names each image by its digest too: the CRI finds a pod's
// repository@sha256 reference only under that name.
func (n *Node) importImage(ctx context.Context, archive string) error {
	if _, err := n.ctr(ctx, "images", "import", archive); err != nil {
		return err
	}
	list, err := n.ctr(ctx, "images", "ls")
	if err != nil {
		return err
	}
	have := map[string]bool{}
	type image struct{ name, digest string }
	var tagged []image
	for _, line := range strings.Split(list, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		have[f[0]] = true
		if !strings.Contains(f[0], "@") && strings.HasPrefix(f[2], "sha256:") {
			tagged = append(tagged, image{f[0], f[2]})
		}
	}
	for _, img := range tagged {
		repo := img.name[:strings.LastIndex(img.name, ":")]
		if byDigest := repo + "@" + img.digest; !have[byDigest] {
			if _, err := n.ctr(ctx, "images", "tag", img.name, byDigest); err != nil {
				return err
			}
		}
	}
	return nil
}

// ImportImage makes an OCI image-layout archive available to pods (a new build, for an upgrade).
func (n *Node) ImportImage(ctx context.Context, archive string) error {
	return n.importImage(ctx, archive)
}

// systemImages builds the node's own images — the sandbox and CoreDNS — as archives to import.
func (n *Node) systemImages(ctx context.Context, bin string) ([]string, error) {
	catatonit, err := exec.LookPath("catatonit")
	if err != nil {
		return nil, fmt.Errorf("catatonit is not installed (make deps): %w", err)
	}
	dir := n.path("images")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	specs := []struct {
		ref  string
		spec images.Spec
	}{
		{SandboxImage, images.Spec{Name: "pause", Entrypoint: []string{"/catatonit", "-P"},
			Files: []images.File{{Path: "/catatonit", Source: catatonit, Mode: 0o555}}}},
		{CoreDNSImage, images.Spec{Name: "coredns", Entrypoint: []string{"/coredns"},
			Files: []images.File{{Path: "/coredns", Source: filepath.Join(bin, "coredns"), Mode: 0o555}}}},
	}
	var archives []string
	for _, s := range specs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		built, err := images.Build(s.spec)
		if err != nil {
			return nil, err
		}
		archive, err := images.WriteArchive(dir, s.ref, built)
		if err != nil {
			return nil, err
		}
		archives = append(archives, archive)
	}
	return archives, nil
}

func (n *Node) startKubelet(ctx context.Context, bin string) error {
	kubeconfig, err := n.ControlPlane.WriteKubeconfig("kubelet")
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	healthz, err := freePort()
	if err != nil {
		return err
	}
	// The kubelet's own API is closed (no anonymous access, no client CA): nothing here calls it.
	// Eviction thresholds are low because this is a shared development machine, not a dedicated
	// node. failCgroupV1: the machine has a hybrid cgroup v1 host.
	conf := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %s
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://%s
cgroupDriver: cgroupfs
cgroupRoot: %s
failSwapOn: false
failCgroupV1: false
clusterDNS: [%s]
clusterDomain: cluster.local
resolvConf: ""
podLogsDir: %s
evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
registerNode: true
`, port, healthz, n.socket, cgroupRoot, DNSServiceIP, n.path("pod-logs"))
	if err := makeCgroups(cgroupRoot); err != nil {
		return err
	}
	confPath := n.path("kubelet.yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return err
	}
	return n.startProcess(ctx, "kubelet", filepath.Join(bin, "kubelet"), []string{
		"--config=" + confPath, "--kubeconfig=" + kubeconfig, "--root-dir=" + n.path("kubelet"),
		"--cert-dir=" + n.path("kubelet-pki"), "--hostname-override=" + Name, "--node-ip=" + n.Address,
	}, httpOK("http://127.0.0.1:"+healthz+"/healthz"))
}

func (n *Node) startKubeProxy(ctx context.Context, bin string) error {
	kubeconfig, err := n.ControlPlane.WriteKubeconfig("kube-proxy")
	if err != nil {
		return err
	}
	healthz, err := freePort()
	if err != nil {
		return err
	}
	metrics, err := freePort()
	if err != nil {
		return err
	}
	// The conntrack settings are left as they are (0), and NodePorts do not answer on localhost,
	// which would need route_localnet.
	return n.startProcess(ctx, "kube-proxy", filepath.Join(bin, "kube-proxy"), []string{
		"--kubeconfig=" + kubeconfig, "--hostname-override=" + Name, "--proxy-mode=iptables",
		"--cluster-cidr=" + PodCIDR, "--conntrack-max-per-core=0", "--conntrack-tcp-timeout-established=0",
		"--conntrack-tcp-timeout-close-wait=0", "--iptables-localhost-nodeports=false",
		"--healthz-bind-address=127.0.0.1:" + healthz, "--metrics-bind-address=127.0.0.1:" + metrics,
	}, httpOK("http://127.0.0.1:"+healthz+"/healthz"))
}

// startKubeRouter runs kube-router's NetworkPolicy controller only: iptables and ipsets, which work
// without the NFQUEUE this kernel lacks. Its routing (BGP) and service proxy stay off.
func (n *Node) startKubeRouter(ctx context.Context, bin string) error {
	kubeconfig, err := n.ControlPlane.WriteKubeconfig("kube-router")
	if err != nil {
		return err
	}
	health, err := freePort()
	if err != nil {
		return err
	}
	return n.startProcess(ctx, "kube-router", filepath.Join(bin, "kube-router"), []string{
		"--kubeconfig=" + kubeconfig, "--hostname-override=" + Name,
		"--run-firewall=true", "--run-router=false", "--run-service-proxy=false", "--run-loadbalancer=false",
		"--enable-cni=false", "--enable-ipv6=false", "--metrics-port=0", "--health-port=" + health,
	}, httpOK("http://127.0.0.1:"+health+"/healthz"))
}

func httpOK(url string) func(context.Context) error {
	return func(ctx context.Context) error { return controlplane.GetOK(ctx, url) }
}

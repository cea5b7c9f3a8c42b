package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// touchedSysctls are the kernel settings a node changes: the kubelet's (overcommit, panic on
// oops, keys), the CNI bridge's (forwarding) and kube-proxy's (conntrack, bridged traffic).
func touchedSysctls() []string {
	return []string{
		"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
		"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
		"net/ipv4/ip_forward", "net/ipv4/conf/all/route_localnet",
		"net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables",
		"net/netfilter/nf_conntrack_max", "net/netfilter/nf_conntrack_tcp_timeout_established",
		"net/netfilter/nf_conntrack_tcp_timeout_close_wait", "net/netfilter/nf_conntrack_tcp_be_liberal",
	}
}

// hostState is what a node changes on the machine outside its own folder, recorded before it
// starts so Stop can put the machine back as it found it.
type hostState struct {
	sysctls   map[string]string
	iptables  []byte
	ip6tables []byte
	ipsets    []string
	netns     []string
	// rules are the routing rules the node added.
	rules [][]string
	// existed records which shared folders were there before (CNI's result cache, containerd's
	// shim sockets), so only the ones the node made are removed.
	existed map[string]bool
}

func sharedFolders() []string { return []string{"/var/lib/cni", "/run/containerd", "/run/netns"} }

func recordHost(ctx context.Context) (*hostState, error) {
	h := &hostState{sysctls: map[string]string{}, existed: map[string]bool{}}
	for _, key := range touchedSysctls() {
		if v, err := os.ReadFile(filepath.Join("/proc/sys", key)); err == nil {
			h.sysctls[key] = string(v)
		}
	}
	var err error
	if h.iptables, err = output(ctx, "iptables-save"); err != nil {
		return nil, err
	}
	if h.ip6tables, err = output(ctx, "ip6tables-save"); err != nil {
		return nil, err
	}
	sets, err := output(ctx, "ipset", "list", "-n")
	if err != nil {
		return nil, err
	}
	h.ipsets = strings.Fields(string(sets))
	h.netns = entries("/run/netns")
	for _, dir := range sharedFolders() {
		_, err := os.Stat(dir)
		h.existed[dir] = err == nil
	}
	return h, nil
}

// restore undoes what the node did to the machine: network namespaces it left, its bridge,
// every iptables rule and chain (by restoring the saved tables whole), its ipsets, the sysctls,
// and the shared folders it created.
func (h *hostState) restore(ctx context.Context, bridge string) error {
	var errs []error
	for _, rule := range h.rules {
		if _, err := output(ctx, "ip", append([]string{"rule", "delete"}, rule...)...); err != nil {
			errs = append(errs, err)
		}
	}
	h.rules = nil
	for _, ns := range entries("/run/netns") {
		if !slices.Contains(h.netns, ns) {
			p := filepath.Join("/run/netns", ns)
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
			if err := os.Remove(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if _, err := os.Stat("/sys/class/net/" + bridge); err == nil {
		if _, err := output(ctx, "ip", "link", "delete", bridge); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, restoreTables(ctx, "iptables", h.iptables), restoreTables(ctx, "ip6tables", h.ip6tables))
	if sets, err := output(ctx, "ipset", "list", "-n"); err == nil {
		for _, set := range strings.Fields(string(sets)) {
			if !slices.Contains(h.ipsets, set) {
				if _, err := output(ctx, "ipset", "destroy", set); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	for key, v := range h.sysctls {
		p := filepath.Join("/proc/sys", key)
		if now, err := os.ReadFile(p); err == nil && string(now) != v {
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				errs = append(errs, fmt.Errorf("restore %s: %w", key, err))
			}
		}
	}
	for dir, existed := range h.existed {
		if !existed {
			if err := os.RemoveAll(dir); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// restoreTables puts back a saved ruleset: restoring flushes each table the dump holds, and a table
// that was not there before (kube-proxy's mangle chains) is emptied.
func restoreTables(ctx context.Context, tool string, saved []byte) error {
	var errs []error
	if err := input(ctx, saved, tool+"-restore"); err != nil {
		errs = append(errs, err)
	}
	for _, table := range []string{"filter", "nat", "mangle", "raw", "security"} {
		if !bytes.Contains(saved, []byte("\n*"+table+"\n")) && !bytes.HasPrefix(saved, []byte("*"+table+"\n")) {
			// iptables here drives nf_tables: the table itself goes; with the legacy backend it is emptied.
			family := map[string]string{"iptables": "ip", "ip6tables": "ip6"}[tool]
			if _, err := output(ctx, "nft", "delete", "table", family, table); err != nil {
				_, _ = output(ctx, tool, "-t", table, "-F")
				_, _ = output(ctx, tool, "-t", table, "-X")
			}
		}
	}
	return errors.Join(errs...)
}

// blockServiceRange keeps traffic to a ClusterIP that kube-proxy has not (yet) translated on this
// machine, as cluster networks do, instead of sending it out of the default route: the gateway of a
// sandboxed machine may answer anything, and a client would then keep a connection to the wrong
// server. Pods' such traffic is refused by a routing rule (routing happens after kube-proxy's
// translation, so no firewall rule's position matters); the host's goes to the node's bridge, where
// no address answers it (a route to a real device, because the host looks its route up before
// kube-proxy translates). The bridge is made here, before the CNI plugin, which adopts it.
func (h *hostState) blockServiceRange(ctx context.Context, bridge, cidr string) error {
	rule := []string{"iif", bridge, "to", cidr, "unreachable", "priority", "100"}
	if _, err := output(ctx, "ip", append([]string{"rule", "add"}, rule...)...); err != nil {
		return err
	}
	h.rules = append(h.rules, rule)
	if _, err := os.Stat("/sys/class/net/" + bridge); err != nil {
		if _, err := output(ctx, "ip", "link", "add", "name", bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	if _, err := output(ctx, "ip", "link", "set", bridge, "up"); err != nil {
		return err
	}
	// The route goes with the bridge when Stop deletes it.
	_, err := output(ctx, "ip", "route", "add", cidr, "dev", bridge)
	return err
}

// changedSysctls lists the settings that differ from what was recorded (for the test that the
// machine is left as it was found).
func (h *hostState) changedSysctls() []string {
	var changed []string
	for key, v := range h.sysctls {
		if now, err := os.ReadFile(filepath.Join("/proc/sys", key)); err == nil && string(now) != v {
			changed = append(changed, fmt.Sprintf("%s: %q → %q", key, strings.TrimSpace(v), strings.TrimSpace(string(now))))
		}
	}
	slices.Sort(changed)
	return changed
}

func entries(dir string) []string {
	list, _ := os.ReadDir(dir)
	names := make([]string, 0, len(list))
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

func output(ctx context.Context, name string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func input(ctx context.Context, data []byte, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

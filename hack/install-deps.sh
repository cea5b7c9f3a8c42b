#!/usr/bin/env bash
# Installs the Debian packages Homeward runs and tests against, only those that are missing.
# Quiet when there is nothing to do; needs root (or passwordless sudo) only when something is missing.
#
#   hack/install-deps.sh
set -euo pipefail

# command → Debian package
declare -A PACKAGES=(
  [redis-server]=redis-server
  [redis-benchmark]=redis-tools
  [setpriv]=util-linux
  [flock]=util-linux
  # The portal's browser tests drive a real headless Chromium.
  [chromium]=chromium
  # The images' test runs them in a real containerd with runc.
  [containerd]=containerd
  [ctr]=containerd
  [runc]=runc
  # The one-node cluster (make cluster, make e2e): kube-proxy and the NetworkPolicy enforcer program
  # iptables and ipsets; the CNI bridge plugins wire pods; catatonit is every pod's sandbox.
  [iptables]=iptables
  [ip6tables]=iptables
  [nft]=nftables
  [ipset]=ipset
  [conntrack]=conntrack
  [catatonit]=catatonit
  [ip]=iproute2
)
# file → Debian package, for what is not a command on PATH
declare -A FILES=(
  [/usr/lib/cni/bridge]=containernetworking-plugins
)

missing=()
for cmd in "${!PACKAGES[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${PACKAGES[$cmd]}")
done
for file in "${!FILES[@]}"; do
  [[ -e $file ]] || missing+=("${FILES[$file]}")
done
((${#missing[@]})) || exit 0

mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if ((EUID == 0)); then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "[deps] installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: apt-get failed installing ${missing[*]}" >&2
  exit 1
fi
# Debian starts redis-server as a system service when one can run; Homeward starts its own per tenant.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  "${sudo[@]}" systemctl disable --now redis-server >&2 || true
fi
echo "[deps] installed ${missing[*]}" >&2

#!/usr/bin/env bash
# Builds the real parts Homeward runs and tests against from the Go module proxy into bin/.
# No prebuilt binary can be downloaded here, so every tool is compiled from its pinned module version.
#
#   hack/tools.sh [tool ...]     build the named tools (default: the ones `make test` needs)
#   hack/tools.sh --node         those and the one-node cluster's (kubelet, kube-proxy, …)
#   hack/tools.sh --list         print each tool with its pinned version
#
# Each build lands in a per-version cache ($HOMEWARD_TOOLS_CACHE, default ~/.cache/homeward/tools)
# and is copied into bin/ with a stamp, so a tool is built once per machine and version, and a fresh
# clone only copies it. Tools build two at a time: the machine has two cores and each link is single-threaded.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
cache="${HOMEWARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homeward/tools}"
logs="$cache/logs"
mkdir -p "$bin/.stamps" "$cache" "$logs"

K8S_VERSION=v1.37.2
K8S_STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.7.3
KRATOS_VERSION=v1.3.1
CONTROLLER_GEN_VERSION=v0.23.0
HELM_VERSION=v3.22.0
STATICCHECK_VERSION=v0.8.2
# goimports checks import grouping in make lint.
GOIMPORTS_VERSION=v0.52.0
# Jaeger v2 is released from the module's v1 line.
JAEGER_VERSION=v1.76.0
# The trace viewer make dev starts: an OTLP receiver with its web UI embedded.
OTEL_VIEWER_VERSION=v0.4.1
# The one-node cluster (make cluster, make e2e): DNS for Services, and kube-router's firewall
# controller alone as the NetworkPolicy enforcer (iptables and ipset; this kernel has no NFQUEUE).
# kube-router's advisories (GHSA-v5mh-h5hx-7v92) concern its BGP routing controller, which is not run.
COREDNS_VERSION=v1.15.0
KUBE_ROUTER_VERSION=v2.1.0

declare -A VERSION=(
  [kube-apiserver]=$K8S_VERSION
  [kube-controller-manager]=$K8S_VERSION
  [etcd]=$ETCD_VERSION
  [kratos]=$KRATOS_VERSION
  [controller-gen]=$CONTROLLER_GEN_VERSION
  [helm]=$HELM_VERSION
  [staticcheck]=$STATICCHECK_VERSION
  [goimports]=$GOIMPORTS_VERSION
  [jaeger]=$JAEGER_VERSION
  [otel-desktop-viewer]=$OTEL_VIEWER_VERSION
  [kubelet]=$K8S_VERSION
  [kube-scheduler]=$K8S_VERSION
  [kubectl]=$K8S_VERSION
  [kube-proxy]=$K8S_VERSION
  [coredns]=$COREDNS_VERSION
  [kube-router]=$KUBE_ROUTER_VERSION
)
DEFAULT_TOOLS=(kube-apiserver etcd kube-controller-manager kubectl kratos controller-gen helm jaeger otel-desktop-viewer)
# What the one-node cluster adds (make cluster, make e2e).
NODE_TOOLS=(kube-scheduler kubelet kube-proxy coredns kube-router)

log() { printf '[tools] %s\n' "$*" >&2; }

# installed NAME: true when bin/NAME is the pinned version.
installed() {
  [[ -x "$bin/$1" && -f "$bin/.stamps/$1" && "$(cat "$bin/.stamps/$1")" == "${VERSION[$1]}" ]]
}

# place NAME FILE: put a built binary into bin/ (hard link when the cache is on the same filesystem).
place() {
  rm -f "$bin/$1"
  ln "$2" "$bin/$1" 2>/dev/null || cp "$2" "$bin/$1"
  printf '%s\n' "${VERSION[$1]}" >"$bin/.stamps/$1"
}

# throwaway_module DIR MODULE VERSION [REPLACE ...]: a module that only requires MODULE, because a
# module whose go.mod has replace directives cannot be `go install`ed. Never tidied: tidying would
# pull test-only dependencies some of which the checksum database does not know.
throwaway_module() {
  local dir=$1 module=$2 version=$3
  shift 3
  rm -rf "$dir" && mkdir -p "$dir"
  {
    printf 'module homeward.dev/toolbuild\n\ngo 1.26\n\nrequire %s %s\n' "$module" "$version"
    if (($#)); then
      printf '\nreplace (\n'
      printf '\t%s\n' "$@"
      printf ')\n'
    fi
  } >"$dir/go.mod"
}

k8s_replaces() {
  local gomod
  gomod=$(cd "$1" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # The staging modules are replaced by ./staging paths that are not in the module zip: point each at
  # its published version instead. The two samples are neither needed nor served.
  awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod" |
    grep -vE '^k8s.io/sample-(cli-plugin|controller)$' |
    while read -r m; do printf '%s => %s %s\n' "$m" "$m" "$K8S_STAGING_VERSION"; done
}

build_kubernetes() { # NAME
  local name=$1 dir="$cache/src/$1"
  throwaway_module "$dir" k8s.io/kubernetes "$K8S_VERSION"
  mapfile -t replaces < <(k8s_replaces "$dir")
  throwaway_module "$dir" k8s.io/kubernetes "$K8S_VERSION" "${replaces[@]}"
  local v=k8s.io/component-base/version
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$2" \
    -ldflags "-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=37" \
    "k8s.io/kubernetes/cmd/$name")
}

build_etcd() {
  local dir="$cache/src/etcd"
  throwaway_module "$dir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$1" go.etcd.io/etcd/server/v3)
}

build_kratos() {
  local dir="$cache/src/kratos"
  throwaway_module "$dir" github.com/ory/kratos "$KRATOS_VERSION" \
    'github.com/go-swagger/go-swagger => github.com/aeneasr/go-swagger v0.19.1-0.20241013070044-bccef3a12e26' \
    'github.com/gobuffalo/pop/v6 => github.com/ory/pop/v6 v6.2.0' \
    'github.com/gorilla/sessions => github.com/ory/sessions v1.2.2-0.20220110165800-b09c17334dc2' \
    'github.com/mattn/go-sqlite3 => github.com/mattn/go-sqlite3 v1.14.22'
  (cd "$dir" && CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath -tags sqlite -o "$1" \
    -ldflags "-s -w -X github.com/ory/kratos/driver/config.Version=$KRATOS_VERSION" github.com/ory/kratos)
}

build_jaeger() {
  local dir="$cache/src/jaeger"
  throwaway_module "$dir" github.com/jaegertracing/jaeger "$JAEGER_VERSION" \
    'github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0'
  # Some collector modules are served by the proxy but unknown to the checksum database.
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod \
    GONOSUMDB=go.opentelemetry.io/collector,github.com/open-telemetry/opentelemetry-collector-contrib \
    go build -trimpath -ldflags "-s -w" -o "$1" github.com/jaegertracing/jaeger/cmd/jaeger)
}

build_otel_viewer() {
  local dir="$cache/src/otel-desktop-viewer"
  throwaway_module "$dir" github.com/CtrlSpice/otel-desktop-viewer "$OTEL_VIEWER_VERSION"
  # cgo: it links the prebuilt DuckDB library that a Go module ships. Its version list is refused, so
  # the exact version is required in a throwaway module rather than `go install`ed.
  (cd "$dir" && CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$1" \
    github.com/CtrlSpice/otel-desktop-viewer)
}

build_coredns() {
  local dir="$cache/src/coredns"
  throwaway_module "$dir" github.com/coredns/coredns "$COREDNS_VERSION"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$1" github.com/coredns/coredns)
}

build_kube_router() {
  local dir="$cache/src/kube-router"
  throwaway_module "$dir" github.com/cloudnativelabs/kube-router/v2 "$KUBE_ROUTER_VERSION"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$1" \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router)
}

build_go_install() { # OUT PACKAGE@VERSION
  local gobin
  gobin=$(mktemp -d "$cache/gobin.XXXXXX")
  GOBIN="$gobin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "$2"
  mv "$gobin"/* "$1" && rmdir "$gobin"
}

build() { # NAME OUT
  case $1 in
    kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy | kubectl) build_kubernetes "$1" "$2" ;;
    etcd) build_etcd "$2" ;;
    kratos) build_kratos "$2" ;;
    jaeger) build_jaeger "$2" ;;
    otel-desktop-viewer) build_otel_viewer "$2" ;;
    coredns) build_coredns "$2" ;;
    kube-router) build_kube_router "$2" ;;
    controller-gen) build_go_install "$2" "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_GEN_VERSION" ;;
    helm) build_go_install "$2" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" ;;
    staticcheck) build_go_install "$2" "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ;;
    goimports) build_go_install "$2" "golang.org/x/tools/cmd/goimports@$GOIMPORTS_VERSION" ;;
    *) log "unknown tool $1" && return 2 ;;
  esac
}

ensure() { # NAME
  local name=$1 version=${VERSION[$1]:-}
  [[ -n $version ]] || { log "unknown tool $name (known: ${!VERSION[*]})"; return 2; }
  installed "$name" && return 0
  local cached="$cache/$name-$version"
  # Another checkout on this machine may be building the same tool: wait for it rather than race.
  local lock
  exec {lock}>"$cache/$name.lock"
  flock "$lock"
  if [[ ! -x $cached ]]; then
    log "building $name $version from the Go module proxy (log: $logs/$name.log)"
    local start=$SECONDS
    if ! build "$name" "$cached.tmp" >"$logs/$name.log" 2>&1; then
      log "building $name failed; last lines of $logs/$name.log:"
      tail -n 20 "$logs/$name.log" >&2
      return 1
    fi
    mv "$cached.tmp" "$cached"
    log "built $name $version in $((SECONDS - start)) s"
  fi
  exec {lock}>&-
  place "$name" "$cached"
  log "bin/$name is $version"
}

if [[ ${1:-} == --list ]]; then
  for t in "${!VERSION[@]}"; do printf '%s %s\n' "$t" "${VERSION[$t]}"; done | sort
  exit 0
fi

tools=("$@")
((${#tools[@]})) || tools=("${DEFAULT_TOOLS[@]}")
if [[ ${tools[0]} == --node ]]; then tools=("${DEFAULT_TOOLS[@]}" "${NODE_TOOLS[@]}"); fi

missing=()
for t in "${tools[@]}"; do installed "$t" || missing+=("$t"); done
((${#missing[@]})) || exit 0

# The two Kubernetes binaries share almost all packages: build them one after the other so the second
# reuses the first's build cache, and build everything else beside them. The trace viewer follows
# them, which keeps the two chains about as long as each other on a cold machine (~22 min each).
pids=() failed=0
k8s=() others=()
for t in "${missing[@]}"; do
  case $t in kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy | kubectl | otel-desktop-viewer) k8s+=("$t") ;; *) others+=("$t") ;; esac
done
if ((${#k8s[@]})); then
  (for t in "${k8s[@]}"; do ensure "$t" || exit 1; done) &
  pids+=($!)
fi
if ((${#others[@]})); then
  (for t in "${others[@]}"; do ensure "$t" || exit 1; done) &
  pids+=($!)
fi
for p in "${pids[@]}"; do wait "$p" || failed=1; done
exit $failed

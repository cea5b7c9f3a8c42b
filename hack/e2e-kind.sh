#!/usr/bin/env bash
# Installs Homeward into a kind cluster and checks two tenants become Ready with real pods, for
# people with Docker and kind. Homeward's own machine has neither: `make e2e` runs the full
# end-to-end suite on a one-node cluster it builds itself (docs/operations.md). This script is kept
# ready to run but is NOT run by CI.
#
#   hack/e2e-kind.sh            create cluster homeward-e2e, install, check, and leave it running
#   hack/e2e-kind.sh --delete   delete the cluster afterwards
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cluster=homeward-e2e
cd "$root"

for cmd in docker kind kubectl helm; do
  command -v "$cmd" >/dev/null || { echo "e2e-kind: $cmd is required" >&2; exit 1; }
done

make images
# shellcheck disable=SC1091
source dist/images/digests.env

# kind's own CNI (kindnet) enforces NetworkPolicies from kind v0.24.
kind get clusters | grep -qx "$cluster" || kind create cluster --name "$cluster" --wait 120s
for archive in dist/images/{homeward,kratos,redis}.oci.tar; do
  kind load image-archive "$archive" --name "$cluster"
done
# The chart pins images by digest; containerd finds a repository@sha256 reference only under that name.
for ref in "$HOMEWARD_IMAGE" "$KRATOS_IMAGE" "$REDIS_IMAGE"; do
  repo=${ref%@*}
  docker exec "$cluster-control-plane" ctr -n k8s.io images tag "$repo:dev" "$ref" >/dev/null 2>&1 || true
done

kubectl create namespace homeward-system --dry-run=client -o yaml | kubectl apply -f -
kubectl label namespace homeward-system pod-security.kubernetes.io/enforce=restricted --overwrite
helm upgrade --install homeward charts/homeward -n homeward-system --wait --timeout 5m \
  --set image.repository="${HOMEWARD_IMAGE%@*}" --set image.digest="${HOMEWARD_IMAGE#*@}" \
  --set tenantImages.redis="$REDIS_IMAGE" --set tenantImages.kratos="$KRATOS_IMAGE"
kubectl apply -f config/samples/platform_v1alpha1_partnership_oldham.yaml \
  -f config/samples/platform_v1alpha1_partnership_kirklees.yaml
kubectl wait partnership/oldham partnership/kirklees --for=condition=Ready --timeout=5m
kubectl get pods -n hw-oldham -n hw-kirklees -o wide

# The isolation probes, the Redis restart, the upgrade and deletion checks are Go tests on the
# one-node harness (test/e2e); this script proves the chart installs and both tenants become Ready.
echo "homeward installed on kind cluster $cluster; oldham and kirklees are Ready"

if [[ ${1:-} == --delete ]]; then kind delete cluster --name "$cluster"; fi

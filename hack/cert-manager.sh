#!/usr/bin/env bash
# cert-manager for the node cluster (make cert-manager-up): its CRDs, then its controller
# and CA injector (hack/build-cert-manager.sh) as processes on this machine with the
# cluster's admin kubeconfig. Processes, not pods: cert-manager's Deployments and RBAC
# come from its Helm chart, which the Go module does not carry, so as pods they would be
# a deployment of our own making; its controllers are the same code either way.
#
#   hack/cert-manager.sh up|down STATE_DIR
set -euo pipefail
cmd=${1:?usage: hack/cert-manager.sh up|down STATE_DIR}
STATE=$(realpath -m "${2:?usage: hack/cert-manager.sh up|down STATE_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
say() { printf '[cert-manager] %s\n' "$*" >&2; }
export KUBECONFIG="$STATE/kubeconfig"

running() { [ -f "$STATE/pids/$1" ] && kill -0 "$(cat "$STATE/pids/$1")" 2>/dev/null; }
stop() {
  local f="$STATE/pids/$1" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$f"
}

case $cmd in
  up)
    [ -f "$KUBECONFIG" ] || { say "error: no cluster in $STATE: run make node-up first"; exit 1; }
    dir=$(bash "$here/build-cert-manager.sh")
    kubectl apply --server-side -f "$dir/crds" >/dev/null
    kubectl wait --for=condition=Established crd/certificates.cert-manager.io crd/issuers.cert-manager.io \
      crd/certificaterequests.cert-manager.io --timeout=60s >/dev/null
    kubectl create namespace cert-manager --dry-run=client -o yaml | kubectl apply -f - >/dev/null
    mkdir -p "$STATE/pids"
    for c in controller cainjector; do
      running "cert-manager-$c" && continue
      setsid "$dir/vmimage-cert-manager" "$c" --kubeconfig "$KUBECONFIG" >"$STATE/cert-manager-$c.log" 2>&1 </dev/null &
      echo $! > "$STATE/pids/cert-manager-$c"
    done
    sleep 2
    for c in controller cainjector; do
      running "cert-manager-$c" || { say "error: cert-manager $c exited:"; tail -20 "$STATE/cert-manager-$c.log" >&2; exit 1; }
    done
    say "cert-manager $(basename "$dir" | sed 's/cert-manager-//') controller and cainjector running (logs: $STATE/cert-manager-*.log)"
    ;;
  down)
    stop cert-manager-controller
    stop cert-manager-cainjector
    ;;
  *) say "error: unknown command $cmd (up, down)"; exit 1 ;;
esac

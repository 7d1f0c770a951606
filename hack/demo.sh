#!/usr/bin/env bash
# `make demo`: a short tour of vmimage on a real local control plane.
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION=${VMIMAGE_K8S_VERSION:-v1.37.2}
export PATH="$PWD/target/debug:$HOME/.cache/vmimage/k8s-$K8S_VERSION:$PATH"
STATE=target/demo
export KUBECONFIG="$PWD/$STATE/kubeconfig"
export NO_COLOR=${NO_COLOR:-}

bold=$'\e[1m'; dim=$'\e[2m'; reset=$'\e[0m'
[ -t 1 ] || { bold=; dim=; reset=; }
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$reset"; }
say() { printf '%s%s%s\n' "$dim" "$*" "$reset"; }
run() { printf '%s$ %s%s\n' "$bold" "$*" "$reset"; "$@"; }
# Runs a command that is expected to fail, and shows that it did.
run_fails() {
  printf '%s$ %s%s\n' "$bold" "$*" "$reset"
  if "$@"; then echo "demo: expected this to fail" >&2; exit 1; fi
  say "(refused, as it should be)"
}

cleanup() { vmimage-testenv --state-dir "$STATE" down >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "1. Start a local control plane: kube-apiserver $K8S_VERSION + etcd, VM Operator's CRDs, sample images, the vmimage webhook"
cleanup
vmimage-testenv --state-dir "$STATE" up >/dev/null
run kubectl version 2>/dev/null | grep -i server

step "2. The images a VM in namespace dev can use (both scopes)"
say "Display names are not unique: ubuntu-22.04 exists cluster-wide and in dev; debian-12 twice in dev."
run kubectl vmimage list -n dev

step "3. Create a VM by display name: the webhook stores the unambiguous VMI ID"
run cat hack/demo/web-1.yaml
run kubectl apply -f hack/demo/web-1.yaml
say "What was stored:"
run kubectl get vm web-1 -n dev -o jsonpath='{"spec.imageName: "}{.spec.imageName}{"\nspec.image:     "}{.spec.image}{"\nannotation:     "}{.metadata.annotations.vmimage\.io/requested-image}{"\n"}'

step "4. An ambiguous display name is denied, with the candidates to choose from"
run_fails kubectl apply -f hack/demo/db-1.yaml

step "5. Resolve names the way VM Operator does, from the command line"
run kubectl vmimage resolve -n dev ubuntu-24.04 photon-5.0 rhel-9.4
run kubectl vmimage resolve -n prod ubuntu-22.04 -o json
run_fails kubectl vmimage resolve -n dev ubuntu-22.04

step "6. Pin a manifest for GitOps: names become IDs, comments stay"
run kubectl vmimage pin -n dev -f hack/demo/web-1.yaml

step "7. Publish web-1 as a new image and resolve it by its new display name"
run kubectl vmimage publish web-1 -n dev --item-name web-golden-2026.11 --wait --timeout 60s
run kubectl vmimage resolve -n dev web-golden-2026.11

step "8. Image policy: only Ready images in namespace dev"
run kubectl apply -f hack/demo/policy.yaml
say "Checked in CI before it reaches the cluster..."
run_fails kubectl vmimage check -f hack/demo/app-1.yaml
say "...and enforced at admission:"
for _ in 1 2 3 4 5 6 7 8 9 10; do  # the webhook sees new policies within a second
  kubectl create --dry-run=server -f hack/demo/app-1.yaml >/dev/null 2>&1 || break; sleep 0.2
done
run_fails kubectl apply -f hack/demo/app-1.yaml

step "9. Clean up"
cleanup
trap - EXIT
say "Control plane stopped. Run 'make cluster-up' to keep one running and try the commands yourself."

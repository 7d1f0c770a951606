#!/usr/bin/env bash
# Builds the node's Kubernetes binaries (kubelet, kube-proxy, kube-scheduler,
# kube-controller-manager) from the same Kubernetes module as hack/build-control-plane.sh
# and caches them beside kube-apiserver under ~/.cache/vmimage/k8s-<version>/.
# Idempotent: a cached binary is never rebuilt. The wrapper module is the same trick the
# control-plane script explains: k/k's staging replaces are swapped for published v0.Y.Z.
set -euo pipefail

K8S_VERSION="${VMIMAGE_K8S_VERSION:-v1.37.2}"
CACHE="${VMIMAGE_CACHE:-$HOME/.cache/vmimage}"
K8S_DIR="$CACHE/k8s-$K8S_VERSION"
BINS=(kubelet kube-proxy kube-scheduler kube-controller-manager)

say() { printf '[node] %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || { say "error: 'go' is not on PATH (install Go >= 1.26)"; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

missing=()
for b in "${BINS[@]}"; do [ -x "$K8S_DIR/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then echo "$K8S_DIR"; exit 0; fi

# shellcheck source=hack/lib/k8s-build.sh
. "$(dirname "$0")/lib/k8s-build.sh"

minor=$(echo "$K8S_VERSION" | cut -d. -f2)
say "building ${missing[*]} $K8S_VERSION into $K8S_DIR"
say "  first time only: ~5-15 min on 2 cores when kube-apiserver's build cache is warm"
work=$(mktemp -d)
start=$SECONDS
(
  set -e
  cd "$work"
  k8s_wrapper_gomod vmimage.local/k8snodebuild "$K8S_VERSION"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for b in "${missing[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
    printf ')\n'
  } > tools.go
  go mod tidy
  ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  for b in "${missing[@]}"; do
    echo "== $b"
    go build -trimpath -ldflags "$ld" -o "$work/$b" "k8s.io/kubernetes/cmd/$b"
  done
) > "$work/build.log" 2>&1 &
if ! progress "${missing[*]}" $!; then say "build failed:"; tail -40 "$work/build.log" >&2; exit 1; fi
mkdir -p "$K8S_DIR"
for b in "${missing[@]}"; do mv "$work/$b" "$K8S_DIR/"; done
echo "$((SECONDS - start))" > "$K8S_DIR/node-build-seconds"
rm -rf "$work"
say "node binaries ready in $K8S_DIR (built in $((SECONDS - start)) s)"
echo "$K8S_DIR"

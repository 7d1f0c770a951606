#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl from the Go module proxy and caches them by
# version under ~/.cache/vmimage/. Idempotent: a cached binary is never rebuilt.
#
# Why a wrapper module: `go install k8s.io/kubernetes/cmd/...@v` is refused because
# k/k's go.mod replaces its staging modules with local paths; requiring every staging
# module at the matching v0.Y.Z gives go the same graph without them.
set -euo pipefail

K8S_VERSION="${VMIMAGE_K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${VMIMAGE_ETCD_VERSION:-v3.6.16}"
CACHE="${VMIMAGE_CACHE:-$HOME/.cache/vmimage}"
K8S_DIR="$CACHE/k8s-$K8S_VERSION"
ETCD_DIR="$CACHE/etcd-$ETCD_VERSION"

say() { printf '[control-plane] %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  say "error: 'go' is not on PATH. Install Go >= 1.26 (https://go.dev/doc/install, or 'apt-get install golang')"
  say "       or point TEST_ASSET_KUBE_APISERVER / TEST_ASSET_ETCD / KUBEBUILDER_ASSETS at prebuilt binaries."
  exit 1
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

# shellcheck source=hack/lib/k8s-build.sh
. "$(dirname "$0")/lib/k8s-build.sh"

build_etcd() {
  [ -x "$ETCD_DIR/etcd" ] && return 0
  say "building etcd $ETCD_VERSION into $ETCD_DIR (first time only, ~1-2 min)"
  local work; work=$(mktemp -d)
  (
    cd "$work"
    go mod init vmimage.local/etcdbuild >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1
    go build -trimpath -ldflags "-s -w" -o "$work/etcd" go.etcd.io/etcd/server/v3
  ) > "$work/build.log" 2>&1 &
  if ! progress etcd $!; then say "etcd build failed:"; tail -30 "$work/build.log" >&2; exit 1; fi
  mkdir -p "$ETCD_DIR"; mv "$work/etcd" "$ETCD_DIR/etcd"; rm -rf "$work"
  say "etcd ready: $ETCD_DIR/etcd"
}

build_k8s() {
  [ -x "$K8S_DIR/kube-apiserver" ] && [ -x "$K8S_DIR/kubectl" ] && return 0
  local minor; minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  say "building kube-apiserver and kubectl $K8S_VERSION into $K8S_DIR"
  say "  first time only: a cold build takes 10-25 min on 2 cores; later runs reuse the cache"
  local work; work=$(mktemp -d)
  (
    set -e
    cd "$work"
    k8s_wrapper_gomod vmimage.local/k8sbuild "$K8S_VERSION"
    cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    go mod tidy
    ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
    ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
    go build -trimpath -ldflags "$ld" -o "$work/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
    go build -trimpath -ldflags "$ld" -o "$work/kubectl" k8s.io/kubernetes/cmd/kubectl
  ) > "$work/build.log" 2>&1 &
  local start=$SECONDS
  if ! progress kube-apiserver $!; then say "kube-apiserver build failed:"; tail -40 "$work/build.log" >&2; exit 1; fi
  mkdir -p "$K8S_DIR"; mv "$work/kube-apiserver" "$work/kubectl" "$K8S_DIR/"
  echo "$((SECONDS - start))" > "$K8S_DIR/build-seconds"
  rm -rf "$work"
  say "kube-apiserver ready: $K8S_DIR/kube-apiserver (built in $((SECONDS - start)) s)"
}

build_etcd
build_k8s
echo "$K8S_DIR"
echo "$ETCD_DIR"

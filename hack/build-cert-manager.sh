#!/usr/bin/env bash
# Builds vmimage-cert-manager (hack/cert-manager/main.go: cert-manager's own controllers
# and CA injector from the Go module github.com/cert-manager/cert-manager) and caches it
# by version, with cert-manager's CRDs from the same module, under
# ~/.cache/vmimage/cert-manager-<version>/. Idempotent.
set -euo pipefail
CM_VERSION="${VMIMAGE_CERT_MANAGER_VERSION:-v1.21.2}"
CACHE="${VMIMAGE_CACHE:-$HOME/.cache/vmimage}"
DIR="$CACHE/cert-manager-$CM_VERSION"
here=$(cd "$(dirname "$0")" && pwd)
say() { printf '[cert-manager] %s\n' "$*" >&2; }
command -v go >/dev/null 2>&1 || { say "error: 'go' is not on PATH (install Go >= 1.26)"; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
if [ -x "$DIR/vmimage-cert-manager" ] && [ -d "$DIR/crds" ] && cmp -s "$here/cert-manager/main.go" "$DIR/main.go"; then
  echo "$DIR"; exit 0
fi
say "building cert-manager $CM_VERSION's controller and cainjector into $DIR (first time only, ~5-10 min on 2 cores)"
work=$(mktemp -d); start=$SECONDS
(
  set -e
  cd "$work"
  cp "$here/cert-manager/main.go" .
  go mod init vmimage.local/certmanager
  go get "github.com/cert-manager/cert-manager@$CM_VERSION"
  go mod tidy
  go build -trimpath -ldflags "-s -w" -o vmimage-cert-manager .
) > "$work/build.log" 2>&1 &
pid=$!
while kill -0 $pid 2>/dev/null; do sleep 15; kill -0 $pid 2>/dev/null && say "  ... still building ($((SECONDS - start)) s)"; done
if ! wait $pid; then say "build failed:"; tail -40 "$work/build.log" >&2; exit 1; fi
src=$(go mod download -json "github.com/cert-manager/cert-manager@$CM_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
mkdir -p "$DIR/crds"
cp "$src"/deploy/crds/cert-manager.io_*.yaml "$DIR/crds/"
chmod u+w "$DIR"/crds/*.yaml
mv "$work/vmimage-cert-manager" "$DIR/"
cp "$work/main.go" "$DIR/main.go" # what was built, so an edited main.go rebuilds
rm -rf "$work"
say "ready: $DIR/vmimage-cert-manager (built in $((SECONDS - start)) s)"
echo "$DIR"

#!/usr/bin/env bash
# Builds Kyverno's admission controller from the Go module proxy, once per version, into
# the cache (make bench-peers). `go install` refuses the module (its go.mod has replace
# directives), so the module is downloaded, copied out of the read-only module cache and
# built with its own go.mod. About 17 minutes on 2 cores the first time.
set -euo pipefail
version="${KYVERNO_VERSION:-v1.19.1}"
cache="${VMIMAGE_CACHE:-$HOME/.cache/vmimage}/tools/kyverno-$version"
if [[ -x "$cache/kyverno" ]]; then
  echo "$cache/kyverno"
  exit 0
fi
command -v go >/dev/null || { echo "go not found: install Go (https://go.dev/dl) or put /usr/local/go/bin on PATH" >&2; exit 1; }
echo "downloading github.com/kyverno/kyverno@$version from the Go module proxy" >&2
dir=$(cd /tmp && go mod download -json "github.com/kyverno/kyverno@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -n "$dir" ]] || { echo "go mod download gave no directory for kyverno $version" >&2; exit 1; }
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
cp -r "$dir/." "$src"
chmod -R u+w "$src"
mkdir -p "$cache"
echo "building kyverno $version into $cache (first time ~17 min on 2 cores; progress below)" >&2
(cd "$src" && go build -v -trimpath -o "$cache/kyverno.partial" ./cmd/kyverno 2>&1 | awk '{ n++; if (n % 100 == 0) printf "  %d packages compiled\n", n > "/dev/stderr" }')
# Its CRDs, for installing it on a local control plane.
cp -r "$src/config/crds" "$cache/crds"
mv "$cache/kyverno.partial" "$cache/kyverno"
echo "$cache/kyverno"

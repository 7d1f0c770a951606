#!/usr/bin/env bash
# krew and krew's manifest validator (validate-krew-manifest), built from source with the
# machine's Go once per version into the vmimage tool cache. Prints the directory holding
# them, with kubectl-krew linked so `kubectl krew` finds krew on PATH.
#   KREW_VERSION   the sigs.k8s.io/krew module version (default below)
#   VMIMAGE_CACHE  the cache (default ~/.cache/vmimage)
set -euo pipefail
version=${KREW_VERSION:-v0.4.3}
cache=${VMIMAGE_CACHE:-$HOME/.cache/vmimage}
bin=$cache/tools/krew-$version/bin
if [[ ! -x $bin/krew || ! -x $bin/validate-krew-manifest ]]; then
  go=$(command -v go || true)
  go=${go:-/usr/local/go/bin/go}
  [[ -x $go ]] || { echo "error: go not found; krew is built from source: install Go (https://go.dev/dl)" >&2; exit 1; }
  echo "building krew $version and validate-krew-manifest into $bin" \
       "(once per version; 35 s measured on 2 cores with empty Go caches)" >&2
  start=$SECONDS
  tmp=$(mktemp -d "$cache/tools/.krew-$version.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # -v names each package as it is built: the progress of a cold build.
  GOFLAGS=-mod=mod GOBIN=$tmp "$go" install -v \
    "sigs.k8s.io/krew/cmd/krew@$version" "sigs.k8s.io/krew/cmd/validate-krew-manifest@$version" >&2
  mkdir -p "$(dirname "$bin")"
  rm -rf "$bin"
  mv "$tmp" "$bin"
  trap - EXIT
  echo "$((SECONDS - start))" > "$bin/../build-seconds"
  echo "built krew $version in $((SECONDS - start)) s" >&2
fi
ln -sf krew "$bin/kubectl-krew"
echo "$bin"

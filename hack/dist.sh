#!/usr/bin/env bash
# Release archives for krew: per target, kubectl-vmimage and LICENSE as a .tar.gz with
# its sha256; the krew manifest rendered from manifests/krew/vmimage.yaml; and krew's own
# validator run on it, installing every platform with the real krew from a local server.
#
#   hack/dist.sh                   release builds of DIST_TARGETS into dist/
#   hack/dist.sh --host-debug DIR  the host's existing debug build only, into DIR, checked
#                                  structurally (the e2e krew test installs it itself)
#
#   DIST_TARGETS  Rust targets (default: linux amd64 and arm64 (musl, static), windows amd64)
#   DIST_URL      where the archives will be downloaded from (the manifest's URIs)
#   KREW_VERSION, VMIMAGE_CACHE: see hack/krew-tools.sh
set -euo pipefail
cd "$(dirname "$0")/.."

pkgid=$(cargo pkgid -p vmimage-plugin) # path+file:///…#vmimage-plugin@0.1.0
version=${pkgid##*[@#]}
targets=${DIST_TARGETS:-x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu}
url=${DIST_URL:-https://github.com/vmimage/vmimage/releases/download/v$version}
out=dist
host_debug=
if [[ ${1-} == --host-debug ]]; then
  host_debug=1
  out=${2:?usage: hack/dist.sh --host-debug DIR}
  targets=$(rustc -vV | sed -n 's/^host: //p')
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# krew's os/arch for a Rust target.
platform() {
  local os arch
  case $1 in
    x86_64-*) arch=amd64 ;;
    aarch64-*) arch=arm64 ;;
    *) echo "error: no krew arch for target $1" >&2; return 1 ;;
  esac
  case $1 in
    *-linux-*) os=linux ;;
    *-windows-*) os=windows ;;
    *-apple-darwin) os=darwin ;;
    *) echo "error: no krew os for target $1" >&2; return 1 ;;
  esac
  echo "$os $arch"
}

exe() { [[ $1 == *-windows-* ]] && echo kubectl-vmimage.exe || echo kubectl-vmimage; }

# The C compiler and linker a target needs here (ring has C code), and the Debian package
# holding it; cargo reads them from CC_<target> and CARGO_TARGET_<TARGET>_LINKER.
cross_env() {
  local t=$1 cc pkg
  case $t in
    x86_64-unknown-linux-musl) cc=musl-gcc pkg=musl-tools ;;
    aarch64-unknown-linux-*) cc=aarch64-linux-gnu-gcc pkg=gcc-aarch64-linux-gnu ;;
    x86_64-pc-windows-gnu) cc=x86_64-w64-mingw32-gcc pkg=gcc-mingw-w64-x86-64 ;;
    *) return 0 ;;
  esac
  command -v "$cc" >/dev/null || {
    echo "error: building $t needs $cc: apt-get install $pkg (make dist does)" >&2
    return 1
  }
  export "CC_${t//-/_}=$cc"
  [[ $t == x86_64-unknown-linux-musl ]] || export "CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$t")_LINKER=$cc"
}

build() {
  local t=$1
  if [[ -n $host_debug ]]; then
    [[ -x target/debug/kubectl-vmimage ]] || cargo build -q -p vmimage-plugin --bin kubectl-vmimage
    echo target/debug/kubectl-vmimage
    return
  fi
  if ! rustup target list --installed | grep -qx "$t"; then
    echo "== adding the Rust standard library for $t (rustup target add $t)" >&2
    rustup target add "$t" >&2 || {
      echo "error: cannot build $t here: \`rustup target add $t\` failed (output above)" >&2
      return 1
    }
  fi
  cross_env "$t"
  echo "== building kubectl-vmimage for $t (release)" >&2
  cargo build --release --locked -q -p vmimage-plugin --bin kubectl-vmimage --target "$t" >&2
  echo "target/$t/release/$(exe "$t")"
}

# A byte-for-byte reproducible archive: sorted names, fixed owner and times, no gzip stamp.
archive() {
  local t=$1 bin=$2 stage name
  stage=$(mktemp -d)
  cp "$bin" "$stage/$(exe "$t")"
  cp LICENSE "$stage/LICENSE"
  name=kubectl-vmimage-$t.tar.gz
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@"${SOURCE_DATE_EPOCH:-0}" \
    -C "$stage" -cf - "$(exe "$t")" LICENSE | gzip -n -9 >"$out/$name"
  rm -rf "$stage"
  (cd "$out" && sha256sum "$name" >"$name.sha256")
  echo "$name"
}

# The manifest, with the archives under base URL $1, written to $2.
render() {
  local base=$1 dest=$2 t os arch name sha
  mkdir -p "$(dirname "$dest")"
  {
    while IFS= read -r line; do
      if [[ $line != @PLATFORMS@ ]]; then
        echo "${line//@VERSION@/$version}"
        continue
      fi
      for t in $targets; do
        read -r os arch < <(platform "$t")
        name=kubectl-vmimage-$t.tar.gz
        sha=$(cut -d' ' -f1 "$out/$name.sha256")
        cat <<BLOCK
  - selector:
      matchLabels: {os: $os, arch: $arch}
    uri: $base/$name
    sha256: $sha
    bin: $(exe "$t")
    files:
    - {from: $(exe "$t"), to: .}
    - {from: LICENSE, to: .}
BLOCK
      done
    done <manifests/krew/vmimage.yaml
  } >"$dest"
}

tools=$(bash hack/krew-tools.sh)
failed=()
built=()
for t in $targets; do
  platform "$t" >/dev/null
  if bin=$(build "$t"); then
    built+=("$(archive "$t" "$bin")")
  else
    failed+=("$t")
  fi
done
if ((${#failed[@]})); then
  echo "error: cannot build ${failed[*]} here (see above); choose targets with DIST_TARGETS" >&2
  exit 1
fi
(cd "$out" && cat "${built[@]/%/.sha256}" >SHA256SUMS)
render "$url" "$out/vmimage.yaml"
echo "== validating $out/vmimage.yaml with krew's validate-krew-manifest (structure)"
"$tools/validate-krew-manifest" -manifest "$out/vmimage.yaml" -skip-install 2>&1 | sed 's/^/   /'

if [[ -z $host_debug ]]; then
  # The same manifest with the archives served from 127.0.0.1: the validator installs
  # every platform with the real krew (KREW_OS/KREW_ARCH) and checks each has a LICENSE.
  command -v kubectl >/dev/null || { echo "error: kubectl not on PATH (make dist puts the cached one there)" >&2; exit 1; }
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$out" >/dev/null 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/SHA256SUMS" 2>/dev/null && break
    sleep 0.1
  done
  render "http://127.0.0.1:$port" "$out/validate/vmimage.yaml"
  echo "== validating with every platform installed by krew from http://127.0.0.1:$port"
  PATH="$tools:$PATH" "$tools/validate-krew-manifest" -manifest "$out/validate/vmimage.yaml" 2>&1 | sed 's/^/   /'
  rm -rf "$out/validate"
fi
echo "== $out:"
(cd "$out" && ls -l "${built[@]}" SHA256SUMS vmimage.yaml | awk '{ print "   " $5 "\t" $NF }')

#!/usr/bin/env bash
# The images a node runs, built here without a registry or a Docker daemon:
#   pause.tar    the pod sandbox (hack/image/pause.c, static musl)
#   webhook.tar  ghcr.io/vmimage/vmimage-webhook:0.1.0, the image manifests/webhook names:
#                the static musl release webhook alone, user 65532, as webhook/Dockerfile
#
#   hack/image.sh OUT_DIR [pause|webhook]...   (default: both)
set -euo pipefail
out=${1:?usage: hack/image.sh OUT_DIR [pause|webhook]...}; shift
[ $# -gt 0 ] || set -- pause webhook
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target=${CARGO_TARGET_DIR:-$root/target}
say() { printf '[image] %s\n' "$*" >&2; }

command -v musl-gcc >/dev/null || { say "error: musl-gcc is missing: apt-get install musl-tools (make image does)"; exit 1; }

for what in "$@"; do
  case $what in
    pause)
      musl-gcc -static -Os -Wall -Wextra -Werror -o "$out/pause" "$here/image/pause.c"
      strip "$out/pause"
      python3 "$here/image/oci.py" --name localhost/vmimage-pause:1.0 --out "$out/pause.tar" \
        --file "$out/pause:/pause" --entrypoint /pause --user 65535:65535 >&2
      ;;
    webhook)
      rustup target list --installed | grep -qx x86_64-unknown-linux-musl || {
        say "adding the Rust standard library for x86_64-unknown-linux-musl"; rustup target add x86_64-unknown-linux-musl >&2; }
      say "building the static webhook (release, x86_64-unknown-linux-musl; ~3-6 min cold on 2 cores)"
      # ring compiles C: musl-gcc does that for the musl target, which links statically
      # (crt-static) by default, as hack/dist.sh relies on too.
      (cd "$root" && CC_x86_64_unknown_linux_musl=musl-gcc \
        cargo build --locked --release -q -p vmimage-webhook --target x86_64-unknown-linux-musl)
      bin="$target/x86_64-unknown-linux-musl/release/vmimage-webhook"
      if ldd "$bin" 2>&1 | grep -q '=>'; then say "error: $bin is not static:"; ldd "$bin" >&2; exit 1; fi
      python3 "$here/image/oci.py" --name ghcr.io/vmimage/vmimage-webhook:0.1.0 --out "$out/webhook.tar" \
        --file "$bin:/vmimage-webhook" --entrypoint /vmimage-webhook --user 65532:65532 \
        --expose 8443 --expose 8080 >&2
      ;;
    *) say "error: unknown image $what (pause, webhook)"; exit 1 ;;
  esac
done

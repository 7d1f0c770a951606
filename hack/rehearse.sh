#!/usr/bin/env bash
# Rehearses what the README promises a newcomer: in a fresh clone of HEAD, with an empty
# cargo home (rustup's toolchains stay), run `make demo` and then `make test`, and print
# how long each took. With --cold-control-plane the control-plane cache starts empty too,
# so kube-apiserver, kubectl and etcd are built from the Go module proxy as on a new machine.
#
#   hack/rehearse.sh [--cold-control-plane] [--keep] [demo|test]...   (default: demo test)
set -euo pipefail

top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cold=0 keep=0 commands=()
for arg in "$@"; do
  case "$arg" in
    --cold-control-plane) cold=1 ;;
    --keep) keep=1 ;;
    demo | test) commands+=("$arg") ;;
    -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: hack/rehearse.sh [--cold-control-plane] [--keep] [demo|test]..." >&2; exit 2 ;;
  esac
done
[ ${#commands[@]} -gt 0 ] || commands=(demo test)

say() { printf '[rehearse] %s\n' "$*" >&2; }
if [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
  say "note: uncommitted changes are not rehearsed; the clone is of HEAD $(git -C "$top" rev-parse --short HEAD)"
fi

work=$(mktemp -d -t vmimage-rehearse.XXXXXX)
clone="$work/work/main"
cleanup() {
  [ -x "$clone/target/debug/vmimage-testenv" ] && make -C "$clone" --no-print-directory cluster-down >/dev/null 2>&1 || true
  if [ "$keep" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

git clone --quiet "$top" "$clone"
# CI lays shared/ beside the clone; so does this, when the checkout has it.
[ -d "$top/../shared" ] && ln -s "$(cd "$top/../shared" && pwd)" "$work/work/shared"

export CARGO_HOME="$work/cargo-home"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export PATH="$HOME/.cargo/bin:/usr/local/go/bin:$PATH" # rustup's proxies, found by path
unset CARGO_TARGET_DIR
mkdir -p "$CARGO_HOME"
if [ "$cold" = 1 ]; then export VMIMAGE_CACHE="$work/cache"; fi
say "clone $clone ($(git -C "$clone" rev-parse --short HEAD)), CARGO_HOME=$CARGO_HOME, control-plane cache ${VMIMAGE_CACHE:-$HOME/.cache/vmimage}"

results=()
status=0
for cmd in "${commands[@]}"; do
  log="$work/make-$cmd.log"
  say "make $cmd (log: $log)"
  start=$SECONDS
  if (cd "$clone" && make "$cmd") 2>&1 | tee "$log"; then outcome=passed; else outcome=FAILED; status=1; fi
  results+=("$(printf 'make %-5s %-6s %4d s' "$cmd" "$outcome" $((SECONDS - start)))")
  [ "$outcome" = passed ] || { say "make $cmd failed; last lines:"; tail -20 "$log" >&2; keep=1; break; }
done
say "disk used by the clone: $(du -sh "$clone" | cut -f1), cargo home: $(du -sh "$CARGO_HOME" | cut -f1)"
printf '%s\n' "${results[@]}"
exit "$status"

# Shared by hack/build-control-plane.sh and hack/build-node.sh (sourced; each defines
# its own `say`): building binaries of the Kubernetes module from the Go module proxy.

# A line every 10 s while PID (building WHAT) runs, so a long cold build is visibly alive;
# returns PID's exit status.
progress() {
  local what=$1 pid=$2 start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 10
    kill -0 "$pid" 2>/dev/null && say "  ... still building $what ($((SECONDS - start)) s)"
  done
  wait "$pid"
}

# Writes, in the current directory, the go.mod of a wrapper module MODULE requiring
# k8s.io/kubernetes at VERSION. `go install k8s.io/kubernetes/cmd/...@v` is refused
# because k/k's go.mod replaces its staging modules with local paths; requiring every
# staging module at the matching published v0.Y.Z gives go the same graph without them.
k8s_wrapper_gomod() {
  local module=$1 version=$2 gomod
  local staging="v0.${version#v1.}"
  gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module $module"
    grep -E '^(go|godebug) ' "$gomod"
    echo "require k8s.io/kubernetes $version"
    grep -E '=> \./staging/' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } > go.mod
}

#!/usr/bin/env bash
# One real Kubernetes node on this machine, joined to the local control plane that
# `vmimage-testenv up --node-address` started: containerd (runc, the CNI bridge plugin),
# kubelet, kube-proxy, plus kube-scheduler and kube-controller-manager.
#
#   hack/node.sh up   STATE_DIR    # after `vmimage-testenv --state-dir STATE_DIR up --node-address ...`
#   hack/node.sh down STATE_DIR    # before `vmimage-testenv ... down`
#   hack/node.sh import STATE_DIR IMAGE.tar...   # into the node's containerd (make image)
#
# `make node-up` / `make node-down` run the whole sequence. Addresses all come from
# 198.18.0.0/15, the benchmarking range, and live on this machine: the host address the
# apiserver and kubelet listen on sits on a dummy interface, pods sit on a bridge.
set -euo pipefail

cmd=${1:?usage: hack/node.sh up|down|import STATE_DIR [IMAGE.tar...]}
STATE=$(realpath -m "${2:?usage: hack/node.sh up|down|import STATE_DIR}")
shift 2

K8S_VERSION="${VMIMAGE_K8S_VERSION:-v1.37.2}"
CACHE="${VMIMAGE_CACHE:-$HOME/.cache/vmimage}"
BIN="$CACHE/k8s-$K8S_VERSION"

# The host address: the apiserver binds it and it is the node's InternalIP. A /32 on a
# link of its own with no ports (a bridge: this kernel has no dummy driver), so nothing
# outside this machine routes to it.
NODE_ADDR=198.19.255.1
HOST_LINK=vmimage0
NODE_NAME=node-1
# Pods of the whole cluster, and this node's share (the bridge holds its first address).
CLUSTER_CIDR=198.18.0.0/16
POD_SUBNET=198.18.0.0/24
POD_GATEWAY=198.18.0.1
BRIDGE=vmimage-cni0
SERVICE_CIDR=198.19.0.0/24 # as tests/src/cluster.rs NODE_SERVICE_CIDR
PAUSE_IMAGE=localhost/vmimage-pause:1.0

N="$STATE/$NODE_NAME"                    # this node's own state: certificates, configs, data
RUN="/run/vmimage/$(basename "$STATE")-$NODE_NAME" # sockets (a unix socket path is limited to 108 bytes)
SOCK="$RUN/containerd.sock"
IMAGES="${VMIMAGE_IMAGES:-$(dirname "$STATE")/images}" # hack/image.sh writes them there

say() { printf '[node] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

ctr_() { ctr --address "$SOCK" --namespace k8s.io "$@"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start NAME PROGRAM ARGS...: in its own session (so its group can be stopped), logging
# to STATE/NAME.log, its pid in STATE/pids/NAME.
start() {
  local name=$1; shift
  mkdir -p "$STATE/pids"
  setsid "$@" >"$STATE/$name.log" 2>&1 < /dev/null &
  echo $! > "$STATE/pids/$name"
}

running() { [ -f "$STATE/pids/$1" ] && kill -0 "$(cat "$STATE/pids/$1")" 2>/dev/null; }

# stop NAME: SIGTERM to its process group, SIGKILL after 10 s.
stop() {
  local f="$STATE/pids/$1" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# wait_for WHAT SECONDS NAME COMMAND...: polls COMMAND; fails with NAME's log tail.
wait_for() {
  local what=$1 secs=$2 name=$3 start=$SECONDS; shift 3
  until "$@" >/dev/null 2>&1; do
    if [ -n "$name" ] && ! running "$name"; then
      say "$name exited; the end of $STATE/$name.log:"; tail -25 "$STATE/$name.log" >&2; exit 1
    fi
    if [ $((SECONDS - start)) -ge "$secs" ]; then
      say "$what: not after $secs s"
      [ -n "$name" ] && { say "the end of $STATE/$name.log:"; tail -25 "$STATE/$name.log" >&2; }
      exit 1
    fi
    sleep 0.5
  done
}

# cert NAME CN ORG EXT: a P-256 key and a certificate signed by the control plane's CA.
cert() {
  local name=$1 cn=$2 org=$3 ext=$4 subj
  subj="/CN=$cn"
  [ -z "$org" ] || subj="/O=$org/CN=$cn"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subj" \
    -keyout "$N/pki/$name.key" -out "$N/pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$N/pki/$name.csr" -CA "$STATE/ca.crt" -CAkey "$STATE/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 365 -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n%s\n' "$ext") \
    -out "$N/pki/$name.crt" 2>/dev/null
  rm -f "$N/pki/$name.csr"
}

# kubeconfig NAME: a kubeconfig for pki/NAME.{crt,key} against the apiserver.
kubeconfig() {
  local kc="$N/$1.kubeconfig"
  KUBECONFIG="$kc" kubectl config set-cluster local --server="$SERVER" --certificate-authority="$STATE/ca.crt" --embed-certs >/dev/null
  KUBECONFIG="$kc" kubectl config set-credentials "$1" --client-certificate="$N/pki/$1.crt" --client-key="$N/pki/$1.key" --embed-certs >/dev/null
  KUBECONFIG="$kc" kubectl config set-context local --cluster=local --user="$1" >/dev/null
  KUBECONFIG="$kc" kubectl config use-context local >/dev/null
}

# The host pieces the node needs, with what to install when one is missing.
check_host() {
  local missing=()
  for c in containerd ctr runc iptables conntrack openssl ip; do command -v "$c" >/dev/null || missing+=("$c"); done
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] || missing+=(containernetworking-plugins)
  [ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: apt-get install containerd runc containernetworking-plugins iptables conntrack (make node-up does)"
  for b in kubelet kube-proxy kube-scheduler kube-controller-manager kubectl; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: run hack/build-node.sh"
  done
  [ "$(id -u)" = 0 ] || die "a node needs root (containers, mounts, iptables); run as root"
}

host_link_up() {
  if ! ip link show "$HOST_LINK" >/dev/null 2>&1; then
    say "adding the host address $NODE_ADDR/32 on a port-less bridge $HOST_LINK"
    ip link add "$HOST_LINK" type bridge
  fi
  ip addr replace "$NODE_ADDR/32" dev "$HOST_LINK"
  ip link set "$HOST_LINK" up
}

write_configs() {
  mkdir -p "$N/pki" "$N/cni" "$N/kubelet" "$N/containerd" "$RUN"
  cat > "$N/containerd.toml" <<EOF
version = 2
root = "$N/containerd/root"
state = "$RUN/containerd-state"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  # Built here and imported (hack/image.sh): nothing is ever pulled.
  sandbox_image = "$PAUSE_IMAGE"
  # This machine withholds CAP_SYS_RESOURCE even from root, so a container's
  # oom_score_adj may not go below containerd's own (runc: "failed to update
  # /proc/self/oom_score_adj: Permission denied" for the sandbox's -998).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$N/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # cgroupfs, as kubelet's cgroupDriver: the host has no systemd.
        SystemdCgroup = false
        # runc's state beside this node's, not in the host's /run/containerd.
        Root = "$RUN/runc"
EOF
  # No ipMasq: pods only talk to this machine, nothing is routed out for them.
  cat > "$N/cni/10-vmimage-bridge.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "vmimage-pods",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$POD_GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$N/cni-ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  cert kubelet "system:node:$NODE_NAME" system:nodes "extendedKeyUsage=clientAuth"
  cert kubelet-serving "system:node:$NODE_NAME" system:nodes "extendedKeyUsage=serverAuth
subjectAltName=IP:$NODE_ADDR,DNS:$NODE_NAME"
  cert kube-proxy system:kube-proxy "" "extendedKeyUsage=clientAuth"
  cert kube-scheduler system:kube-scheduler "" "extendedKeyUsage=clientAuth"
  cert kube-controller-manager system:kube-controller-manager "" "extendedKeyUsage=clientAuth"
  for c in kubelet kube-proxy kube-scheduler kube-controller-manager; do kubeconfig "$c"; done

  KUBELET_PORT=$(free_port)
  cat > "$N/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# The host runs cgroup v1 and no systemd.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$SOCK
address: $NODE_ADDR
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $(free_port)
tlsCertFile: $N/pki/kubelet-serving.crt
tlsPrivateKeyFile: $N/pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $STATE/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
failSwapOn: false
# This shared disk is often over 85 % full: neither evict pods nor collect the imported
# images (they cannot be pulled back).
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
# Secret volumes (a renewed certificate) reach pods within ~10 s instead of ~1 min.
syncFrequency: 10s
EOF
  cat > "$N/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $N/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $CLUSTER_CIDR
hostnameOverride: $NODE_NAME
healthzBindAddress: 127.0.0.1:$(free_port)
metricsBindAddress: 127.0.0.1:$(free_port)
# NodePorts only on the node's own address, never on this machine's other links.
nodePortAddresses: ["$NODE_ADDR/32"]
# Leave the host's conntrack table size alone.
conntrack: {maxPerCore: 0}
EOF
}

up() {
  if running kubelet; then say "node $NODE_NAME is already up"; return 0; fi
  check_host
  [ -f "$STATE/kubeconfig" ] || die "no control plane in $STATE: run vmimage-testenv --state-dir $STATE up --node-address $NODE_ADDR first"
  export KUBECONFIG="$STATE/kubeconfig"
  SERVER=$(kubectl config view -o jsonpath='{.clusters[0].cluster.server}')
  local t0=$SECONDS
  write_configs

  say "starting containerd ($(containerd --version | awk '{print $3}')) on $SOCK"
  start containerd containerd --config "$N/containerd.toml"
  wait_for "containerd" 30 containerd ctr --address "$SOCK" version
  echo "$SOCK" > "$N/containerd.address" # for the node e2e tests (tests/tests/node)
  import_images "$IMAGES/pause.tar"

  local kcm_port sched_port
  kcm_port=$(free_port); sched_port=$(free_port)
  say "starting kube-scheduler and kube-controller-manager"
  start kube-scheduler "$BIN/kube-scheduler" --kubeconfig="$N/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig="$N/kube-scheduler.kubeconfig" --authorization-kubeconfig="$N/kube-scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$sched_port" --leader-elect=false
  start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig="$N/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig="$N/kube-controller-manager.kubeconfig" --authorization-kubeconfig="$N/kube-controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$kcm_port" --leader-elect=false \
    --use-service-account-credentials=true --root-ca-file="$STATE/ca.crt" \
    --cluster-signing-cert-file="$STATE/ca.crt" --cluster-signing-key-file="$STATE/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --cluster-cidr="$CLUSTER_CIDR" --allocate-node-cidrs=false

  say "starting kubelet $K8S_VERSION ($NODE_NAME at $NODE_ADDR:$KUBELET_PORT) and kube-proxy"
  start kubelet "$BIN/kubelet" --config="$N/kubelet.yaml" --kubeconfig="$N/kubelet.kubeconfig" \
    --root-dir="$N/kubelet" --cert-dir="$N/pki" --hostname-override="$NODE_NAME" --node-ip="$NODE_ADDR" --v=1
  start kube-proxy "$BIN/kube-proxy" --config="$N/kube-proxy.yaml"

  wait_for "node $NODE_NAME registered" 90 kubelet kubectl get node "$NODE_NAME"
  wait_for "node $NODE_NAME Ready" 120 kubelet kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
  # Pods of namespace default need its ServiceAccount, which the controller-manager makes.
  wait_for "ServiceAccount default/default" 60 kube-controller-manager kubectl get serviceaccount default -n default
  say "node $NODE_NAME Ready in $((SECONDS - t0)) s (pods $POD_SUBNET on $BRIDGE, services $SERVICE_CIDR)"
}

import_images() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || die "no image archive $f: run make image"
    ctr_ images import --platform linux/amd64 "$f" >/dev/null || die "ctr images import $f failed"
    say "imported $(tar -xOf "$f" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RepoTags"][0])') into $NODE_NAME's containerd"
  done
}

# kubelet's own chains (its canaries and KUBE-FIREWALL), which kube-proxy --cleanup leaves.
kubelet_chains_down() {
  local ipt table
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    $ipt -D INPUT -j KUBE-FIREWALL 2>/dev/null || true
    $ipt -D OUTPUT -j KUBE-FIREWALL 2>/dev/null || true
    for table in filter nat mangle; do
      for chain in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
        $ipt -t "$table" -F "$chain" 2>/dev/null || true
        $ipt -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

down() {
  export KUBECONFIG="$STATE/kubeconfig"
  # Let kubelet tear pods down properly (CNI DEL frees addresses, volumes unmount).
  if running kubelet && kubectl get --raw /readyz >/dev/null 2>&1; then
    say "deleting every pod so kubelet stops them"
    kubectl delete deployments,replicasets,daemonsets,statefulsets,jobs --all -A --wait=false >/dev/null 2>&1 || true
    kubectl delete pods --all -A --grace-period=1 --timeout=60s >/dev/null 2>&1 || true
  fi
  for p in kube-proxy kubelet kube-scheduler kube-controller-manager; do stop "$p"; done
  if [ -x "$BIN/kube-proxy" ]; then "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true; fi
  kubelet_chains_down
  if [ -S "$SOCK" ]; then
    local t
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  fi
  stop containerd
  # runc's shims outlive containerd by design; ours are the containerd-shim-runc-v2
  # processes started with this node's socket.
  local p args
  for p in /proc/[0-9]*; do
    args=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
    case $args in
      *containerd-shim-runc-v2\ *"-address $SOCK "*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;;
    esac
  done
  # Mounts under the node's state (pod volumes, container rootfs), deepest first.
  local m
  for m in $(awk -v n="$N/" -v r="$RUN/" 'index($5, n) == 1 || index($5, r) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
  ip link show "$HOST_LINK" >/dev/null 2>&1 && ip link del "$HOST_LINK"
  rm -rf "$RUN" "$N"
  say "node $NODE_NAME stopped"
}

case $cmd in
  up) up ;;
  down) down ;;
  link) host_link_up ;;
  import) import_images "$@" ;;
  *) die "unknown command $cmd (up, down, link, import)" ;;
esac

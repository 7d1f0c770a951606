# vmimage: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

K8S_VERSION  ?= v1.37.2
ETCD_VERSION ?= v3.6.16
export VMIMAGE_K8S_VERSION  := $(K8S_VERSION)
export VMIMAGE_ETCD_VERSION := $(ETCD_VERSION)
# The CRDs the local control plane installs (e2e tests, cluster-up, demo): VM Operator's
# own when the shared checkout has them, else vmimage's stand-in. `make test CRDS=manifests/crds`
# picks the stand-in. vmimage's VMImagePolicy CRD is always added from manifests/crds.
CRDS         ?= $(if $(wildcard ../shared/vm-operator/crds/*.yaml),../shared/vm-operator/crds,manifests/crds)
export VMIMAGE_CRDS := $(abspath $(CRDS))
# Built tools (control plane, cargo-deny) are cached by version here; VMIMAGE_CACHE moves it.
CACHE        ?= $(or $(VMIMAGE_CACHE),$(HOME)/.cache/vmimage)
export VMIMAGE_CACHE := $(CACHE)
DENY_VERSION ?= 0.20.2
DENY_ROOT    := $(CACHE)/tools/cargo-deny-$(DENY_VERSION)
# krew and its manifest validator, built from source with Go once per version (hack/krew-tools.sh).
KREW_VERSION ?= v0.4.3
export KREW_VERSION
CLUSTER_DIR  := target/cluster
# The version-matched kubectl we build, and our plugin, come first on PATH.
export PATH := $(CURDIR)/target/debug:$(CACHE)/k8s-$(K8S_VERSION):$(HOME)/.cargo/bin:/usr/local/go/bin:$(PATH)

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: tools
tools: ## Check the toolchain (cargo, go) and say what to install if missing
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs (rustup default stable)"; exit 1; }
	@rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt >/dev/null 2>&1 || true

# The completion e2e tests type TAB into a real bash, zsh and fish under tmux, with
# kubectl's completion; bash's needs the bash-completion package.
# Unattended and lean: fish alone would recommend X clipboard tools and a text browser.
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
.PHONY: shell-tools
shell-tools: ## Check tmux, bash-completion, zsh and fish (the completion tests), installing them if missing
	@command -v tmux >/dev/null && command -v zsh >/dev/null && command -v fish >/dev/null && [ -f /usr/share/bash-completion/bash_completion ] || { \
	  echo "installing tmux, bash-completion, zsh and fish (the completion e2e tests drive real shells)"; \
	  $(APT_INSTALL) tmux bash-completion zsh fish >/dev/null 2>&1 || { apt-get update -q >/dev/null && $(APT_INSTALL) tmux bash-completion zsh fish >/dev/null; } || \
	    { echo "install them: apt-get install tmux bash-completion zsh fish"; exit 1; }; }

.PHONY: krew-tools
krew-tools: ## Build krew and validate-krew-manifest (cached by version in ~/.cache/vmimage/tools)
	@bash hack/krew-tools.sh >/dev/null

.PHONY: assets
assets: tools ## Build or find kube-apiserver, etcd and kubectl (cached in ~/.cache/vmimage)
	@bash hack/build-control-plane.sh >/dev/null

.PHONY: build
build: tools ## Build every binary (debug)
	cargo build --workspace --bins

.PHONY: lint
lint: tools ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo fmt --manifest-path fuzz/Cargo.toml -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@echo "checking that the fuzz targets still build against the crates (a plain check, no sanitizer)"
	cargo check --locked --manifest-path fuzz/Cargo.toml --bins

.PHONY: fetch
fetch: tools ## Download the dependencies of every platform (the offline checks read them all)
	@echo "fetching the dependencies of every platform (a few seconds when cached, ~1 min on an empty cargo home)"
	cargo fetch --locked
	cargo fetch --locked --manifest-path fuzz/Cargo.toml

# cargo-deny pinned, built once per version into the cache, so an empty cargo home (CI) reuses it.
$(DENY_ROOT)/bin/cargo-deny:
	@echo "building cargo-deny $(DENY_VERSION) into $(DENY_ROOT) (once per version, ~4 min on 2 cores)"
	cargo install cargo-deny --version $(DENY_VERSION) --locked --root $(DENY_ROOT)

.PHONY: deny
deny: fetch $(DENY_ROOT)/bin/cargo-deny ## Licenses, duplicate versions and sources of every dependency (offline checks)
	PATH="$(DENY_ROOT)/bin:$$PATH" cargo deny --offline check licenses bans sources

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := admission_review catalog_parse pin_manifest

.PHONY: fuzz
fuzz: tools ## Fuzz each target for FUZZ_SECONDS s (default 60; not part of make test)
	@rustup toolchain list | grep -q '^nightly' || { echo "installing the nightly toolchain (cargo-fuzz needs it)"; rustup toolchain install nightly --profile minimal; }
	@command -v cargo-fuzz >/dev/null || { echo "installing cargo-fuzz (once, ~1 min)"; cargo install cargo-fuzz --locked --quiet; }
	@echo "building the fuzz targets with ASan and debug assertions (the first build takes ~7 min)"
	cd fuzz && cargo +nightly fuzz build -O -a
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/work/$$t; \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS) s: seeds in fuzz/corpus/$$t, new inputs in fuzz/work/$$t, crashes in fuzz/artifacts/$$t"; \
	  (cd fuzz && cargo +nightly fuzz run -O -a $$t work/$$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -timeout=10 -print_final_stats=1) || exit 1; \
	done

.PHONY: fuzz-corpus
fuzz-corpus: ## Fold what make fuzz found (fuzz/work) into the committed seeds, minimized; named seeds (regressions) always stay
	@for t in $(FUZZ_TARGETS); do \
	  [ -d fuzz/work/$$t ] || continue; \
	  keep=$$(mktemp -d); \
	  ls fuzz/corpus/$$t | grep -v -E '^[0-9a-f]{40}$$' | while read -r f; do cp "fuzz/corpus/$$t/$$f" "$$keep/"; done; \
	  cp -n fuzz/work/$$t/* fuzz/corpus/$$t/ 2>/dev/null || true; \
	  echo "== minimizing fuzz/corpus/$$t with fuzz/work/$$t ($$(ls fuzz/corpus/$$t | wc -l) inputs)"; \
	  (cd fuzz && cargo +nightly fuzz cmin -O -a $$t corpus/$$t >/dev/null 2>&1) || { rm -rf "$$keep"; exit 1; }; \
	  cp -n "$$keep"/* fuzz/corpus/$$t/ 2>/dev/null || true; rm -rf "$$keep"; \
	  echo "   $$(ls fuzz/corpus/$$t | wc -l) seeds"; \
	done

.PHONY: unit
unit: tools ## Unit tests only (no cluster)
	cargo test --workspace --exclude vmimage-tests

.PHONY: e2e
e2e: assets build shell-tools krew-tools ## Integration and e2e tests against a real control plane (CRDS=dir picks the CRDs)
	@echo "== e2e on the CRDs in $(VMIMAGE_CRDS)"
	cargo test -p vmimage-tests --lib --bins --test e2e -- --test-threads=2

.PHONY: test
test: lint deny unit e2e ## Everything: lint, dependency checks, unit, integration and e2e tests

.PHONY: bench
bench: assets ## Benchmarks on a real control plane (release builds); writes docs/benchmarks.md
	@command -v jq >/dev/null && [ -x /usr/bin/time ] || { echo "installing jq and GNU time (the plugin is timed against jq)"; \
	  apt-get install -y -q jq time >/dev/null || { echo "install jq and GNU time (apt-get install jq time)"; exit 1; }; }
	cargo build --release -p vmimage-webhook -p vmimage-plugin -p vmimage-tests --bins
	cargo bench -p vmimage-shared --bench resolve -- --quick --noplot
	./target/release/vmimage-bench

.PHONY: bench-hops
bench-hops: assets ## The admission hops alone, create by create, at 1,000 and 20,000 images (minutes; see README, Benchmarks)
	cargo build --release -p vmimage-webhook -p vmimage-tests --bins
	VMIMAGE_BENCH_ONLY=hops ./target/release/vmimage-bench

.PHONY: bench-peers
bench-peers: assets ## Kyverno's two lookups beside vmimage in the hop comparison (heavy: builds Kyverno once, ~17 min); writes docs/benchmarks-peers.md
	cargo build --release -p vmimage-webhook -p vmimage-tests --bins
	@kyverno=$$(bash hack/build-kyverno.sh) && KYVERNO_DIR=$$(dirname "$$kyverno") ./target/release/vmimage-bench-peers

# Cross C compilers for ring, by target (Debian packages).
DIST_PACKAGES := musl-tools gcc-aarch64-linux-gnu gcc-mingw-w64-x86-64

.PHONY: dist
dist: tools assets krew-tools ## Release archives (linux amd64/arm64, windows amd64), sha256, krew manifest validated by krew, in dist/
	@command -v musl-gcc >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null && command -v x86_64-w64-mingw32-gcc >/dev/null || { \
	  echo "installing the cross C compilers ($(DIST_PACKAGES))"; \
	  apt-get install -y -q $(DIST_PACKAGES) >/dev/null || { echo "install them: apt-get install $(DIST_PACKAGES)"; exit 1; }; }
	bash hack/dist.sh

.PHONY: cluster-up
cluster-up: assets build ## Start a local control plane (+ webhook) in the background (RELEASE=1: the release webhook)
ifeq ($(RELEASE),1)
	@echo "building the release webhook (first time ~3 min on 2 cores)"
	cargo build --release -p vmimage-webhook
	@./target/debug/vmimage-testenv --state-dir $(CLUSTER_DIR) up --release
else
	@./target/debug/vmimage-testenv --state-dir $(CLUSTER_DIR) up
endif

.PHONY: cluster-down
cluster-down: ## Stop the local control plane and remove its state
	@if [ -x ./target/debug/vmimage-testenv ]; then ./target/debug/vmimage-testenv --state-dir $(CLUSTER_DIR) down; fi

# A real node on this machine (hack/node.sh): containerd, runc and the CNI plugins from
# Debian, kubelet, kube-proxy, kube-scheduler and kube-controller-manager built like the
# control plane. Root only. Pods 198.18.0.0/16, Services 198.19.0.0/24, host 198.19.255.1.
NODE_DIR      := target/node
NODE_ADDR     := 198.19.255.1
IMAGES_DIR    := target/images
NODE_PACKAGES := containerd runc containernetworking-plugins iptables conntrack musl-tools

.PHONY: node-tools
node-tools: ## Install containerd, runc, the CNI plugins, iptables and musl-tools if missing
	@missing=""; for p in $(NODE_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing from Debian (a node's runtime, network and static builds)"; \
	  apt-get install -y -q $$missing >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null; } || \
	    { echo "install them: apt-get install$$missing"; exit 1; }; fi

.PHONY: node-assets
node-assets: assets ## Build kubelet, kube-proxy, kube-scheduler, kube-controller-manager (cached in ~/.cache/vmimage)
	@bash hack/build-node.sh >/dev/null

.PHONY: image
image: node-tools ## The pause and webhook images (no registry, no Docker), imported into the node when it is up
	@bash hack/image.sh $(IMAGES_DIR)
	@if [ -f $(NODE_DIR)/pids/containerd ]; then bash hack/node.sh import $(NODE_DIR) $(IMAGES_DIR)/pause.tar $(IMAGES_DIR)/webhook.tar; fi

.PHONY: node-up
node-up: node-tools node-assets ## Control plane + one real node (kubelet, containerd, kube-proxy), CRDs and samples, no webhook
	cargo build -q -p vmimage-tests --bin vmimage-testenv
	@bash hack/image.sh $(IMAGES_DIR) pause
	@bash hack/node.sh link $(NODE_DIR)
	@./target/debug/vmimage-testenv --state-dir $(NODE_DIR) up --node-address $(NODE_ADDR) --no-webhook >/dev/null
	@bash hack/node.sh up $(NODE_DIR)
	@echo "export KUBECONFIG=$(abspath $(NODE_DIR))/kubeconfig"

.PHONY: cert-manager-up
cert-manager-up: ## cert-manager (its controller and CA injector, built from the Go module) on the node cluster
	@bash hack/cert-manager.sh up $(NODE_DIR)

.PHONY: e2e-node
e2e-node: node-up image cert-manager-up ## The README's install on a real node: rollouts, drain, renewal, failure policy (tests/tests/node)
	@echo "== the install on a real node: cargo test -p vmimage-tests --test node"
	VMIMAGE_NODE_STATE=$(abspath $(NODE_DIR)) cargo test -p vmimage-tests --test node

.PHONY: node-down
node-down: ## Stop the node and its control plane, remove their state, links and iptables rules
	@bash hack/cert-manager.sh down $(NODE_DIR)
	@bash hack/node.sh down $(NODE_DIR)
	@if [ -x ./target/debug/vmimage-testenv ]; then ./target/debug/vmimage-testenv --state-dir $(NODE_DIR) down; fi

.PHONY: demo
demo: assets build ## The tour: control plane, images, webhook rewrite, resolve, publish
	@bash hack/demo.sh

.PHONY: rehearse
rehearse: ## Run the README's two commands in a fresh clone with an empty cargo home (COLD=1: no control-plane cache either)
	@bash hack/rehearse.sh $(if $(COLD),--cold-control-plane)

.PHONY: clean
clean: cluster-down ## Remove build output, the fuzzers' too (keeps the control-plane cache)
	rm -rf dist
	cargo clean
	cargo clean --manifest-path fuzz/Cargo.toml

.PHONY: crds
crds: tools ## Write the VMImagePolicy CRD generated from shared/src/policy.rs into manifests/
	cargo run -q -p vmimage-shared --example policy_crd > manifests/crds/vmimage.io_vmimagepolicies.yaml
	cargo run -q -p vmimage-shared --example policy_crd -- --kustomize > manifests/webhook/base/crd-vmimagepolicies.yaml

.PHONY: vmop-crds
vmop-crds: ## Regenerate manifests/crds' stand-ins for VM Operator's CRDs (hack/gen-crds.py; needs PyYAML)
	python3 hack/gen-crds.py

//! A real, local Kubernetes control plane for vmimage's integration tests, demo and
//! benchmarks: `kube-apiserver` and `etcd` started by the project itself, with an admin
//! kubeconfig, VM Operator's CRDs and a loader for image catalogs.
//!
//! - [`assets`]: finds (envtest conventions, then the project cache) or builds the binaries.
//! - [`pki`]: the certificates, made with rcgen in milliseconds.
//! - [`process`]: child processes in their own process groups, stopped gracefully.
//! - [`ports`]: free loopback ports, distinct when asked for together.
//! - [`cluster`]: starting, readiness, kubeconfig, stopping.
//! - [`crds`]: applying CRDs and waiting until they are served.
//! - [`catalog`]: loading a catalog file or N synthetic images, status included.
//! - [`tmux`]: an interactive bash driven by keystrokes, for completion tests.

pub mod assets;
pub mod bench_setup;
pub mod catalog;
pub mod cli_bench;
pub mod cluster;
pub mod crds;
pub mod hop_bench;
pub mod hop_lanes;
pub mod hop_quick;
pub mod kyverno;
pub mod loadgen;
pub mod miss_bench;
pub mod pki;
pub mod plot;
pub mod ports;
pub mod process;
pub mod publisher;
pub mod suite;
pub mod tmux;
pub mod webhook;

pub use cluster::{ControlPlane, Options};

/// The workspace root (the directory holding `manifests/`).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Prints a progress line for a human watching `make demo` or `make test`.
pub fn say(msg: impl std::fmt::Display) {
    eprintln!("[testenv] {msg}");
}

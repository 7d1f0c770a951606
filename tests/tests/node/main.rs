//! The install on a real node (`make e2e-node`): the README's install command on the
//! cluster `make node-up` started (kubelet, containerd, kube-proxy, scheduler,
//! controller-manager), the webhook's image built by `make image`, cert-manager issuing
//! its certificate. The API server reaches the webhook only as a real cluster does:
//! through the Service's ClusterIP (kube-proxy's rules) to a pod's address on the bridge.
//!
//! The tests share one install and run in order (each leaves it as it found it), so the
//! runner forces one thread. `VMIMAGE_NODE_STATE` names the node cluster's state directory
//! (target/node); without a Ready node the run fails, it never skips.

mod install;
mod stream;

use anyhow::{Context, Result, bail};
use libtest_mimic::{Arguments, Trial};
use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode, Output},
    sync::Arc,
};

/// What every test gets.
#[derive(Clone)]
pub struct Node {
    /// The node cluster's state directory (kubeconfig, CA, the node's own directory).
    pub state: PathBuf,
    /// Its admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// The version-matched kubectl.
    pub kubectl: PathBuf,
    /// The node's containerd socket (to look at a container's process from the host).
    pub containerd: String,
    /// This run's namespace for VMs (the webhook skips only kube-system and its own).
    pub vms: String,
}

impl Node {
    /// An admin client.
    pub async fn client(&self) -> Result<kube::Client> {
        vmimage_testenv::cluster::client_for(&self.kubeconfig).await
    }

    /// Runs kubectl in the workspace root (the README's commands use its paths).
    pub fn kubectl(&self, args: &[&str]) -> Result<Output> {
        Command::new(&self.kubectl)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .current_dir(vmimage_testenv::workspace_root())
            .output()
            .with_context(|| format!("running kubectl {}", args.join(" ")))
    }

    /// [`Node::kubectl`] that must succeed; its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> Result<String> {
        let out = self.kubectl(args)?;
        if !out.status.success() {
            bail!(
                "kubectl {} failed ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    /// `ctr` against the node's containerd, namespace k8s.io.
    pub fn ctr(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("ctr")
            .args(["--address", &self.containerd, "--namespace", "k8s.io"])
            .args(args)
            .output()
            .context("running ctr")?;
        if !out.status.success() {
            bail!(
                "ctr {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?)
    }
}

fn node() -> Result<Node> {
    let state = PathBuf::from(std::env::var("VMIMAGE_NODE_STATE").unwrap_or_else(|_| {
        vmimage_testenv::workspace_root()
            .join("target/node")
            .display()
            .to_string()
    }));
    let kubeconfig = state.join("kubeconfig");
    if !kubeconfig.is_file() {
        bail!(
            "no node cluster: {} is missing; run `make node-up image cert-manager-up` first (make e2e-node does)",
            kubeconfig.display()
        );
    }
    let address = state.join("node-1/containerd.address");
    let containerd = std::fs::read_to_string(&address)
        .with_context(|| format!("reading {} (written by hack/node.sh up)", address.display()))?
        .trim()
        .to_string();
    let assets = vmimage_testenv::assets::ensure()?;
    Ok(Node {
        state,
        kubeconfig,
        kubectl: assets.kubectl,
        containerd,
        vms: format!("node-e2e-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]),
    })
}

fn require_ready_node(n: &Node) -> Result<()> {
    n.kubectl_ok(&["wait", "--for=condition=Ready", "node", "--all", "--timeout=60s"])
        .map(drop)
        .context("the node cluster has no Ready node")
}

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    // One install, changed by each test in turn.
    args.test_threads = Some(1);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let n = match node().and_then(|n| require_ready_node(&n).map(|()| n)) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime"),
    );
    let trials = install::all()
        .into_iter()
        .map(|(name, f)| {
            let (rt, n) = (rt.clone(), n.clone());
            Trial::test(name, move || {
                rt.block_on(f(n)).map_err(|e| format!("{e:#}").into())
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if conclusion.has_failed() {
        for log in ["kubelet.log", "kube-proxy.log", "cert-manager-controller.log"] {
            let path = n.state.join(log);
            eprintln!("--- {} ---\n{}", path.display(), tail(&path, 30));
        }
        if let Ok(out) = n.kubectl(&[
            "-n",
            "vmimage-system",
            "get",
            "pods,endpointslices,certificates",
            "-o",
            "wide",
        ]) {
            eprintln!("{}", String::from_utf8_lossy(&out.stdout));
        }
    }
    conclusion.exit_code()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

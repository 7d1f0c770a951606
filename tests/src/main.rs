//! `vmimage-testenv`: the local control plane as a command, for `make cluster-up`,
//! `make cluster-down`, the demo and the benchmarks.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use vmimage_testenv::{
    ControlPlane, Options,
    cluster::{self, State},
    say,
};

#[derive(Parser)]
#[command(about = "Start and stop a local kube-apiserver + etcd with vmimage's CRDs")]
struct Cli {
    /// Where certificates, the kubeconfig, logs and the state file live.
    #[arg(long, global = true, default_value = "target/cluster")]
    state_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the control plane in the background (does nothing if it is already up).
    Up {
        /// Catalog of images to load once started.
        #[arg(long, default_value = "manifests/samples/catalog.yaml")]
        catalog: PathBuf,
        /// Load no catalog.
        #[arg(long)]
        no_catalog: bool,
        /// Do not start and register the webhook.
        #[arg(long)]
        no_webhook: bool,
        /// Register the release build of the webhook (target/release), for production
        /// latency; build it first with `cargo build --release -p vmimage-webhook`.
        #[arg(long)]
        release: bool,
        /// Directory of CRDs to install, e.g. VM Operator's own (default: $VMIMAGE_CRDS,
        /// else manifests/crds). vmimage's VMImagePolicy CRD is added when it lacks it.
        #[arg(long, value_name = "DIR")]
        crds: Option<PathBuf>,
        /// Listen on this host address and serve nodes and pods (hack/node.sh, `make
        /// node-up`): the `kubernetes` Service, service-account tokens, Node authorization.
        #[arg(long, value_name = "IPV4")]
        node_address: Option<std::net::Ipv4Addr>,
        /// An extra kube-apiserver flag (repeatable), e.g.
        /// `--apiserver-arg=--watch-cache-sizes=clustervirtualmachineimages.vmoperator.vmware.com#0`.
        #[arg(long = "apiserver-arg", value_name = "FLAG", allow_hyphen_values = true)]
        apiserver_args: Vec<String>,
    },
    /// Stop everything `up` started and remove its state.
    Down,
    /// Load a catalog file of images into the running control plane.
    Load {
        /// The catalog (multi-document YAML/JSON or a List).
        file: PathBuf,
    },
    /// Create N synthetic images in the running control plane.
    Generate {
        /// How many images.
        #[arg(long)]
        images: usize,
        /// Spread namespaced images over this many namespaces (0: cluster images only).
        #[arg(long, default_value_t = 10)]
        namespaces: usize,
    },
    /// Build or find the control-plane binaries and print their paths.
    Assets,
    /// Run the simulated VM Operator publisher in the foreground (local use only).
    Publisher,
}

fn state_file(dir: &std::path::Path) -> PathBuf {
    dir.join("state.json")
}

fn read_state(dir: &std::path::Path) -> Option<State> {
    serde_json::from_slice(&std::fs::read(state_file(dir)).ok()?).ok()
}

#[tokio::main]
async fn main() -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Readiness polling makes kube-client log every refused attempt; the outcome is reported here.
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,kube_client=off".into()),
        )
        .init();
    let cli = Cli::parse();
    let dir = cli.state_dir;
    let kubeconfig = dir.join("kubeconfig");
    match cli.command {
        Command::Up {
            catalog,
            no_catalog,
            no_webhook,
            release,
            crds,
            node_address,
            apiserver_args,
        } => {
            // What `up` starts runs on after it returns, until `down`.
            vmimage_testenv::process::outlive_this_process();
            if let Some(state) = read_state(&dir) {
                if let Ok(client) = cluster::client_for(&kubeconfig).await
                    && cluster::ready(&client).await
                {
                    say(format!("already up at {}", state.server));
                    println!(
                        "export KUBECONFIG={}",
                        std::fs::canonicalize(&kubeconfig)?.display()
                    );
                    return Ok(());
                }
                say("stale state from an earlier run; cleaning it up");
                cluster::stop_state(&state);
            }
            let cp = ControlPlane::start(Options {
                state_dir: dir.clone(),
                install_crds: true,
                crds: match crds {
                    Some(dir) => std::fs::canonicalize(&dir)
                        .with_context(|| format!("--crds {}: no such directory", dir.display()))?,
                    None => vmimage_testenv::crds::dir(),
                },
                remove_state_dir: false,
                apiserver_args,
                node_address,
            })
            .await?;
            let client = cp.client().await?;
            if !no_catalog {
                let n = vmimage_testenv::catalog::load_file(&client, &catalog).await?;
                say(format!("loaded {n} images from {}", catalog.display()));
            }
            // A writable default library, so `kubectl vmimage publish` works in namespace dev.
            vmimage_testenv::catalog::ensure_namespaces(&client, ["dev".to_string()]).await?;
            vmimage_testenv::publisher::create_library(&client, "dev", "dev-library", true, true).await?;
            let mut extra = Vec::new();
            if !no_webhook {
                let profile = if release { "release" } else { "debug" };
                let webhook = vmimage_testenv::webhook::setup_build(&cp, profile, &[]).await?;
                say(format!(
                    "{profile} webhook serving on https://127.0.0.1:{} (admin :{})",
                    webhook.port, webhook.admin_port
                ));
                extra.push(("vmimage-webhook".to_string(), webhook.proc.detach()));
            }
            let exe = std::env::current_exe()?;
            let args = vec![
                "--state-dir".to_string(),
                cp.dir.display().to_string(),
                "publisher".to_string(),
            ];
            let publisher = vmimage_testenv::process::Proc::spawn(
                "publisher",
                &exe,
                &args,
                &cp.dir.join("publisher.log"),
            )?;
            extra.push(("publisher".to_string(), publisher.detach()));
            let mut state = cp.detach();
            state.extra = extra;
            std::fs::write(state_file(&dir), serde_json::to_vec_pretty(&state)?)?;
            println!(
                "export KUBECONFIG={}",
                std::fs::canonicalize(&kubeconfig)?.display()
            );
        }
        Command::Down => match read_state(&dir) {
            Some(state) => {
                cluster::stop_state(&state);
                std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
                say("control plane stopped");
            }
            None => say(format!("nothing to stop (no {})", state_file(&dir).display())),
        },
        Command::Load { file } => {
            let client = cluster::client_for(&kubeconfig).await?;
            let n = vmimage_testenv::catalog::load_file(&client, &file).await?;
            say(format!("loaded {n} images from {}", file.display()));
        }
        Command::Generate { images, namespaces } => {
            let client = cluster::client_for(&kubeconfig).await?;
            let started = std::time::Instant::now();
            let n = vmimage_testenv::catalog::load_objects(
                &client,
                vmimage_testenv::catalog::synthetic(images, namespaces),
            )
            .await?;
            say(format!(
                "created {n} images in {:.1} s",
                started.elapsed().as_secs_f64()
            ));
        }
        Command::Publisher => {
            let client = cluster::client_for(&kubeconfig).await?;
            say("simulated publisher running (local use only)");
            vmimage_testenv::publisher::run(client, std::time::Duration::from_millis(400)).await?;
        }
        Command::Assets => {
            let a = tokio::task::spawn_blocking(vmimage_testenv::assets::ensure).await??;
            println!(
                "kube-apiserver: {}\netcd: {}\nkubectl: {}",
                a.kube_apiserver.display(),
                a.etcd.display(),
                a.kubectl.display()
            );
        }
    }
    Ok(())
}

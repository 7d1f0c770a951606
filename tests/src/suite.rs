//! The e2e test runner: one real control plane per run, one fresh namespace per test,
//! libtest-style output and filtering (libtest-mimic), and the control plane's log tails
//! printed when anything failed.

use crate::{ControlPlane, Options, say};
use anyhow::{Context, Result, bail};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, api::PostParams};
use libtest_mimic::{Arguments, Trial};
use std::{
    path::PathBuf,
    process::{Command, ExitCode, Output},
    sync::Arc,
};

/// A test: an async function of its context.
pub type TestFn = fn(Ctx) -> BoxFuture<'static, Result<()>>;

/// What a test gets: the cluster and a namespace of its own.
#[derive(Clone)]
pub struct Ctx {
    /// Admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// A fresh namespace for this test.
    pub namespace: String,
    /// Directory holding `kubectl-vmimage` and the other built binaries.
    pub bin_dir: PathBuf,
    /// The kubectl to run (version-matched).
    pub kubectl: PathBuf,
    /// State dir of the control plane (CA, logs).
    pub state_dir: PathBuf,
}

impl Ctx {
    /// An admin client.
    pub async fn client(&self) -> Result<kube::Client> {
        crate::cluster::client_for(&self.kubeconfig).await
    }

    /// Runs the real kubectl with `args`, the plugin on PATH and the admin kubeconfig.
    pub fn kubectl(&self, args: &[&str]) -> Result<Output> {
        self.kubectl_stdin(args, None)
    }

    /// `kubectl vmimage --catalog <catalog> <args>`: the plugin answering from a file.
    pub fn vmimage_offline(&self, catalog: &std::path::Path, args: &[&str]) -> Result<Output> {
        let catalog = catalog.to_str().context("catalog path is not UTF-8")?;
        let mut all = vec!["vmimage", "--catalog", catalog];
        all.extend_from_slice(args);
        self.kubectl(&all)
    }

    /// Like [`Ctx::kubectl`] with `env` set for kubectl and so for the plugin.
    pub fn kubectl_env(&self, args: &[&str], env: &[(&str, &str)]) -> Result<Output> {
        let mut cmd = self.kubectl_command(args);
        cmd.envs(env.iter().copied()).stdin(std::process::Stdio::null());
        cmd.output()
            .with_context(|| format!("running {}", self.kubectl.display()))
    }

    /// Like [`Ctx::kubectl`] with `stdin` fed to the process.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> Result<Output> {
        use std::io::Write;
        let mut cmd = self.kubectl_command(args);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("running {}", self.kubectl.display()))?;
        if let Some(input) = stdin {
            child.stdin.take().expect("piped").write_all(input.as_bytes())?;
        }
        drop(child.stdin.take());
        Ok(child.wait_with_output()?)
    }

    /// Starts kubectl with `args` like [`Ctx::kubectl`] without waiting for it; its
    /// stdout and stderr are piped.
    pub fn kubectl_spawn(&self, args: &[&str]) -> Result<std::process::Child> {
        let mut cmd = self.kubectl_command(args);
        cmd.stdin(std::process::Stdio::null());
        cmd.spawn()
            .with_context(|| format!("running {}", self.kubectl.display()))
    }

    fn kubectl_command(&self, args: &[&str]) -> Command {
        let path = format!(
            "{}:{}:{}",
            self.bin_dir.display(),
            self.kubectl
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(&self.kubectl);
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }

    /// Runs kubectl and fails unless it exits 0; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> Result<String> {
        let out = self.kubectl(args)?;
        if !out.status.success() {
            bail!(
                "kubectl {} failed ({}):\nstdout: {}\nstderr: {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?)
    }
}

/// A VirtualMachine manifest (newest local version) with `spec`, as the e2e tests create them.
pub fn vm_manifest(ns: &str, name: &str, spec: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha6",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    })
}

/// Registers tests by function name: `tests![module::a, module::b]`.
#[macro_export]
macro_rules! tests {
    ($($path:path),* $(,)?) => {
        vec![$((stringify!($path), (|ctx| Box::pin($path(ctx))) as $crate::suite::TestFn)),*]
    };
}

/// Hooks run once after the control plane is up (e.g. start the webhook).
pub type SetupFn = fn(&ControlPlane, &tokio::runtime::Handle) -> Result<Box<dyn std::any::Any + Send>>;

/// Runs `tests` against one fresh control plane; `setup` runs once before them and what
/// it returns lives until the end (processes it started stop on drop).
pub fn run(tests: Vec<(&'static str, TestFn)>, setup: SetupFn) -> ExitCode {
    let args = Arguments::from_args();
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    );
    let _ = rustls::crypto::ring::default_provider().install_default();

    let bin_dir = crate::workspace_root().join("target/debug");
    if let Err(e) = build_binaries() {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    let cp = match rt.block_on(async {
        let cp = ControlPlane::start(Options::temp()?).await?;
        let client = cp.client().await?;
        crate::catalog::load_file(
            &client,
            &crate::workspace_root().join("manifests/samples/catalog.yaml"),
        )
        .await?;
        Ok::<_, anyhow::Error>(cp)
    }) {
        Ok(cp) => cp,
        Err(e) => {
            eprintln!("error: could not start the control plane: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let keep = match setup(&cp, rt.handle()) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: suite setup failed: {e:#}\n{}", cp.log_tails(30));
            return ExitCode::FAILURE;
        }
    };
    let base = Ctx {
        kubeconfig: cp.kubeconfig.clone(),
        namespace: String::new(),
        bin_dir,
        kubectl: cp.assets.kubectl.clone(),
        state_dir: cp.dir.clone(),
    };
    let trials = tests
        .into_iter()
        .map(|(name, f)| {
            let rt = rt.clone();
            let mut ctx = base.clone();
            let short = name.rsplit("::").next().unwrap_or(name).replace('_', "-");
            Trial::test(name.trim_start_matches("crate::"), move || {
                rt.block_on(async move {
                    ctx.namespace = format!(
                        "e2e-{}-{}",
                        &short[..short.len().min(40)],
                        &uuid::Uuid::new_v4().simple().to_string()[..6]
                    );
                    create_namespace(&ctx).await?;
                    f(ctx).await
                })
                .map_err(|e| format!("{e:#}").into())
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(keep);
    if conclusion.has_failed() {
        eprintln!("{}", cp.log_tails(40));
    }
    drop(cp);
    conclusion.exit_code()
}

async fn create_namespace(ctx: &Ctx) -> Result<()> {
    let api: Api<Namespace> = Api::all(ctx.client().await?);
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {"name": ctx.namespace, "labels": {"vmimage.io/e2e": "true"}}
    }))?;
    api.create(&PostParams::default(), &ns).await?;
    Ok(())
}

/// Builds the binaries the e2e tests run (a no-op when they are up to date).
fn build_binaries() -> Result<()> {
    say("building kubectl-vmimage and the webhook for the e2e tests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--workspace", "--bins"])
        .current_dir(crate::workspace_root())
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --workspace --bins failed");
    }
    Ok(())
}

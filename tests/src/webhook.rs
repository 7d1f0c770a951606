//! Running vmimage's webhook next to a local control plane and registering it with a URL
//! client config (there are no Pods or Services behind a local apiserver).
//!
//! [`setup`] (or [`suite_setup`] for the e2e runner) starts the binary with a serving
//! certificate signed by the control plane's CA, waits for `/readyz`, registers a
//! MutatingWebhookConfiguration and waits until the apiserver actually calls it.

use crate::{ControlPlane, pki::Ca, process::Proc, say};
use anyhow::{Context, Result, bail};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use kube::{
    Api, Client,
    api::{DynamicObject, Patch, PatchParams, PostParams},
    discovery::{self, ApiResource},
};
use serde_json::json;
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};
use vmimage_shared::api::{GROUP, VIRTUAL_MACHINE};

/// Name of the configuration; it sorts before VM Operator's
/// `vmware-system-vmop-mutating-webhook-configuration`, so vmimage runs first.
pub const CONFIGURATION_NAME: &str = "vmimage-mutating-webhook-configuration";
/// Name of the webhook inside the configuration.
pub const WEBHOOK_NAME: &str = "mutate.virtualmachine.vmimage.io";
/// The display name the probe VM names: no catalog has it, so a called webhook denies the
/// probe with its not-found message, whatever images are loaded (or none).
pub const PROBE_IMAGE: &str = "vmimage-webhook-probe: no such image";

/// A webhook process serving on loopback. Dropping it stops the process.
#[derive(Debug)]
pub struct RunningWebhook {
    /// The process (own process group, log in `<state dir>/webhook.log`).
    pub proc: Proc,
    /// HTTPS admission port on 127.0.0.1.
    pub port: u16,
    /// Plain-HTTP admin port (`/healthz`, `/readyz`, `/metrics`) on 127.0.0.1.
    pub admin_port: u16,
    /// Directory holding `tls.crt` and `tls.key`.
    pub cert_dir: PathBuf,
}

/// Starts the webhook binary `bin` against the control plane in `cp_dir` and waits until
/// its index is synced (`/readyz` answers 200).
pub async fn start(cp_dir: &Path, ca: &Ca, kubeconfig: &Path, bin: &Path) -> Result<RunningWebhook> {
    start_with(cp_dir, ca, kubeconfig, bin, &[]).await
}

/// [`start`] with `extra` flags for the webhook.
pub async fn start_with(
    cp_dir: &Path,
    ca: &Ca,
    kubeconfig: &Path,
    bin: &Path,
    extra: &[String],
) -> Result<RunningWebhook> {
    start_with_env(cp_dir, ca, kubeconfig, bin, extra, &[]).await
}

/// The `RUST_LOG` under which the webhook logs a line per admitted VM too (that line is
/// at debug), for tests that count or break those lines.
pub const LOG_EACH_ADMISSION: (&str, &str) = ("RUST_LOG", "info,vmimage_webhook::admission=debug");

/// The value of one sample in the metrics `text`: `sample` is its name with its labels as
/// the webhook writes them (`vmimage_index_images{kind="ClusterVirtualMachineImage"}`).
pub fn metric_value(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The sum of every sample in the metrics `text` whose line starts with `prefix` (a name,
/// or a name and the start of its labels): a counter across its label values.
pub fn metric_sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// [`start_with`], the webhook's environment given `env` too (e.g. `RUST_LOG`).
pub async fn start_with_env(
    cp_dir: &Path,
    ca: &Ca,
    kubeconfig: &Path,
    bin: &Path,
    extra: &[String],
    env: &[(&str, &str)],
) -> Result<RunningWebhook> {
    if !bin.is_file() {
        bail!(
            "{} does not exist: run `cargo build -p vmimage-webhook` first",
            bin.display()
        );
    }
    let cert_dir = cp_dir.join("webhook");
    std::fs::create_dir_all(&cert_dir).with_context(|| format!("creating {}", cert_dir.display()))?;
    let pair = ca.serving("vmimage-webhook", &["vmimage-webhook.vmimage-system.svc"])?;
    let (cert, key) = (cert_dir.join("tls.crt"), cert_dir.join("tls.key"));
    std::fs::write(&cert, &pair.cert_pem)?;
    std::fs::write(&key, &pair.key_pem)?;

    let [port, admin_port] = crate::ports::free_ports()?;
    let mut args: Vec<String> = vec![
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--admin-listen".into(),
        format!("127.0.0.1:{admin_port}"),
        "--tls-cert".into(),
        cert.display().to_string(),
        "--tls-key".into(),
        key.display().to_string(),
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
    ];
    args.extend(extra.iter().cloned());
    // Tests find the admin port (for /metrics) next to the certificate.
    std::fs::write(cert_dir.join(ADMIN_PORT_FILE), admin_port.to_string())?;
    let mut proc = Proc::spawn_env("vmimage-webhook", bin, &args, env, &cp_dir.join("webhook.log"))?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(30);
    loop {
        if let Some(status) = proc.exited() {
            bail!(
                "vmimage-webhook exited ({status}); its log ends with:\n{}",
                proc.log_tail(30)
            );
        }
        if http_status(admin_port, "/readyz").await == Some(200) {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "vmimage-webhook not ready after 30 s; its log ends with:\n{}",
                proc.log_tail(30)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    say(format!(
        "webhook ready on https://127.0.0.1:{port} in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(RunningWebhook {
        proc,
        port,
        admin_port,
        cert_dir,
    })
}

/// File (in `<state dir>/webhook/`) holding the running webhook's admin port.
const ADMIN_PORT_FILE: &str = "admin-port";

/// The admin port of the webhook started for the control plane in `state_dir`.
pub fn admin_port(state_dir: &Path) -> Result<u16> {
    let path = state_dir.join("webhook").join(ADMIN_PORT_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (is the webhook running?)", path.display()))?;
    text.trim()
        .parse()
        .with_context(|| format!("{} holds {text:?}, not a port", path.display()))
}

/// The webhook's `/metrics` text (OpenMetrics), from its admin port.
pub async fn metrics(state_dir: &Path) -> Result<String> {
    let port = admin_port(state_dir)?;
    tokio::task::spawn_blocking(move || -> Result<String> {
        use std::io::{Read, Write};
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(s, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let mut response = String::new();
        s.read_to_string(&mut response)?;
        match response.split_once("\r\n\r\n") {
            Some((head, body)) if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") => {
                Ok(body.to_string())
            }
            _ => bail!(
                "GET /metrics on 127.0.0.1:{port} answered: {}",
                response.lines().next().unwrap_or_default()
            ),
        }
    })
    .await?
}

/// The HTTP status of a plain GET on loopback, if anything answered.
pub async fn http_status(port: u16, path: &str) -> Option<u16> {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).ok()?;
        std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
    })
    .await
    .ok()
    .flatten()
}

/// The VirtualMachine resource at its newest served version.
pub async fn vm_resource(client: &Client) -> Result<ApiResource> {
    let group = discovery::group(client, GROUP).await?;
    group
        .versions()
        .find_map(|v| {
            group
                .versioned_resources(v)
                .into_iter()
                .map(|(ar, _)| ar)
                .find(|ar| ar.kind == VIRTUAL_MACHINE.kind)
        })
        .context("the apiserver serves no VirtualMachine")
}

/// Registers the webhook at `https://127.0.0.1:<port>/mutate` and waits until the
/// apiserver calls it (a server-side dry-run create comes back mutated).
pub async fn register(client: &Client, ca_pem: &str, port: u16) -> Result<()> {
    let vm = vm_resource(client).await?;
    let config = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": CONFIGURATION_NAME},
        "webhooks": [{
            "name": WEBHOOK_NAME,
            "clientConfig": {
                "url": format!("https://127.0.0.1:{port}/mutate"),
                "caBundle": B64.encode(ca_pem),
            },
            "rules": [{
                "apiGroups": [GROUP],
                "apiVersions": [vm.version],
                "operations": ["CREATE", "UPDATE"],
                "resources": [VIRTUAL_MACHINE.plural],
                "scope": "Namespaced",
            }],
            "matchPolicy": "Equivalent",
            "namespaceSelector": {"matchExpressions": [{
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": ["kube-system", "vmimage-system"],
            }]},
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "failurePolicy": "Fail",
            "reinvocationPolicy": "Never",
            "timeoutSeconds": 5,
        }],
    });
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    api.patch(
        CONFIGURATION_NAME,
        &PatchParams::apply("vmimage-testenv").force(),
        &Patch::Apply(&config),
    )
    .await
    .context("applying the MutatingWebhookConfiguration")?;
    wait_until_active(client, &vm).await
}

/// The admission URL the registered webhook is called at (the suite's webhook).
pub async fn registered_url(client: &Client) -> Result<String> {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let config = api.get(CONFIGURATION_NAME).await?;
    config
        .webhooks
        .unwrap_or_default()
        .into_iter()
        .find_map(|w| w.client_config.url)
        .context("the webhook is registered without a URL")
}

/// Dry-run creates a probe VM until the webhook answers it (registration takes a moment
/// to reach the apiserver's admission chain). Only the webhook's own answer counts: its
/// denial, which the apiserver reports under the webhook's name, or its mutation.
async fn wait_until_active(client: &Client, vm: &ApiResource) -> Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", vm);
    let probe: DynamicObject = serde_json::from_value(json!({
        "apiVersion": vm.api_version,
        "kind": vm.kind,
        "metadata": {"name": "vmimage-webhook-probe"},
        "spec": {"imageName": PROBE_IMAGE},
    }))?;
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let denied_by_us = format!("admission webhook \"{WEBHOOK_NAME}\" denied the request");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last =
            match api.create(&pp, &probe).await {
                Err(kube::Error::Api(e)) if e.message.contains(&denied_by_us) => return Ok(()),
                Ok(created)
                    if created.metadata.annotations.as_ref().is_some_and(|a| {
                        a.contains_key(vmimage_shared::mutate::REQUESTED_IMAGE_ANNOTATION)
                    }) =>
                {
                    return Ok(());
                }
                Ok(created) => format!("admitted without the webhook: spec = {}", created.data["spec"]),
                Err(e) => e.to_string(),
            };
        if Instant::now() > deadline {
            bail!("the webhook is not called by the apiserver after 30 s ({last})");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts the webhook from `target/debug` and registers it with the control plane.
pub async fn setup(cp: &ControlPlane) -> Result<RunningWebhook> {
    setup_with(cp, &[]).await
}

/// [`setup`] with `extra` flags for the webhook.
pub async fn setup_with(cp: &ControlPlane, extra: &[String]) -> Result<RunningWebhook> {
    setup_build(cp, "debug", extra).await
}

/// [`setup_with`] with the webhook of cargo `profile` (`debug` or `release`).
pub async fn setup_build(cp: &ControlPlane, profile: &str, extra: &[String]) -> Result<RunningWebhook> {
    let bin = crate::workspace_root().join(format!("target/{profile}/vmimage-webhook"));
    let webhook = start_with(&cp.dir, &cp.ca, &cp.kubeconfig, &bin, extra).await?;
    let client = cp.client().await?;
    if let Err(e) = register(&client, &cp.ca.pair.cert_pem, webhook.port).await {
        bail!(
            "{e:#}\n--- vmimage-webhook log ---\n{}",
            webhook.proc.log_tail(30)
        );
    }
    say("webhook registered and active");
    Ok(webhook)
}

/// The e2e runner's `SetupFn`: the returned box owns the process (stopped on drop).
pub fn suite_setup(cp: &ControlPlane, rt: &tokio::runtime::Handle) -> Result<Box<dyn std::any::Any + Send>> {
    let webhook = rt.block_on(setup(cp))?;
    Ok(Box::new(webhook))
}

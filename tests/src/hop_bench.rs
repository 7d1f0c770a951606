//! What a webhook hop adds to a VM create, measured through the real apiserver: no
//! webhook (the baseline), a do-nothing webhook (`noop-webhook`, the hop's own cost) and
//! vmimage, interleaved round by round so drift on a shared machine hits all alike.

use crate::{ControlPlane, process::Proc, webhook};
use anyhow::{Context, Result, bail};
use futures::{StreamExt, stream};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams},
};
use serde_json::json;
use std::{
    path::Path,
    time::{Duration, Instant},
};

/// Who answers admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    /// No webhook registered.
    Baseline,
    /// The do-nothing webhook.
    Noop,
    /// The do-nothing webhook answering with vmimage's patch (a mutation, no lookup).
    PatchingNoop,
    /// The do-nothing webhook answering with vmimage's whole response, byte for byte but
    /// the uid (`VMIMAGE_BENCH_ONLY=hops`): what the answer's content costs the apiserver.
    ReplayingNoop,
    /// vmimage's webhook.
    Vmimage,
    /// Another build of vmimage's webhook (`VMIMAGE_BENCH_VARIANT`, hops mode), to compare
    /// a change with the release build, paired; named by its label.
    Variant(&'static str),
    /// A MutatingAdmissionPolicy with a name→ID ConfigMap param.
    Policy,
    /// Kyverno with a GlobalContextEntry queried by JMESPath (`make bench-peers`).
    KyvernoGlobal,
    /// Kyverno with an apiCall per admission (`make bench-peers`).
    KyvernoApiCall,
}

impl Hop {
    /// What tables and charts call it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Baseline => "no webhook",
            Self::Noop => "do-nothing webhook",
            Self::PatchingNoop => "do-nothing webhook returning vmimage's patch",
            Self::ReplayingNoop => "do-nothing webhook returning vmimage's whole answer",
            Self::Vmimage => "vmimage (release)",
            Self::Variant(label) => label,
            Self::Policy => "MutatingAdmissionPolicy + name→ID ConfigMap",
            Self::KyvernoGlobal => "Kyverno, GlobalContextEntry + JMESPath",
            Self::KyvernoApiCall => "Kyverno, apiCall per admission",
        }
    }

    /// Kyverno's lookup, for its hops.
    fn kyverno(self) -> Option<crate::kyverno::Lookup> {
        match self {
            Self::KyvernoGlobal => Some(crate::kyverno::Lookup::Global),
            Self::KyvernoApiCall => Some(crate::kyverno::Lookup::ApiCall),
            _ => None,
        }
    }
}

/// The MutatingAdmissionPolicy and its binding and param, named alike.
const POLICY: &str = "vmimage-bench-name-to-id";
/// What etcd takes in one request (1.5 MiB) bounds the param; stay under the ConfigMap's
/// 1 MiB data limit.
const PARAM_BYTES: usize = 1_000_000;

fn policy_resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", kind))
}

/// Installs the policy, its binding and a param mapping `names` (display name → ID, as
/// many as fit), then waits until a dry-run create naming `probe` comes back rewritten.
/// `Ok(false)` when the apiserver does not serve MutatingAdmissionPolicy.
pub async fn install_policy(
    client: &Client,
    names: &[(String, String)],
    probe: (&str, &str),
) -> Result<bool> {
    let policies: Api<DynamicObject> =
        Api::all_with(client.clone(), &policy_resource("MutatingAdmissionPolicy"));
    let mut data = serde_json::Map::new();
    let mut bytes = 0;
    for (name, id) in std::iter::once(&(probe.0.to_string(), probe.1.to_string())).chain(names) {
        bytes += name.len() + id.len() + 8;
        if bytes > PARAM_BYTES {
            break;
        }
        data.insert(name.clone(), json!(id));
    }
    let cm: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), "default");
    let pp = PatchParams::apply("vmimage-bench").force();
    cm.patch(
        POLICY,
        &pp,
        &Patch::Apply(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": POLICY}, "data": data}),
        ),
    )
    .await
    .context("writing the policy's name→ID ConfigMap")?;
    let policy = json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": POLICY},
        "spec": {
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [vmimage_shared::api::GROUP], "apiVersions": ["*"],
                "operations": ["CREATE"], "resources": [vmimage_shared::api::VIRTUAL_MACHINE.plural],
            }]},
            "failurePolicy": "Fail",
            "reinvocationPolicy": "Never",
            "mutations": [{"patchType": "JSONPatch", "jsonPatch": {"expression":
                "has(object.spec.imageName) && object.spec.imageName in params.data ? \
                 [JSONPatch{op: \"replace\", path: \"/spec/imageName\", value: params.data[object.spec.imageName]}] : []"}}],
        },
    });
    match policies.patch(POLICY, &pp, &Patch::Apply(policy)).await {
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(false),
        other => {
            other.context("applying the MutatingAdmissionPolicy")?;
        }
    }
    bind_policy(client, probe).await?;
    Ok(true)
}

/// Binds the installed policy and waits until a dry-run create naming `probe.0` comes
/// back rewritten to `probe.1`.
async fn bind_policy(client: &Client, probe: (&str, &str)) -> Result<()> {
    let bindings: Api<DynamicObject> =
        Api::all_with(client.clone(), &policy_resource("MutatingAdmissionPolicyBinding"));
    let pp = PatchParams::apply("vmimage-bench").force();
    let binding = json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY},
        "spec": {"policyName": POLICY, "paramRef": {"name": POLICY, "namespace": "default", "parameterNotFoundAction": "Deny"}},
    });
    bindings
        .patch(POLICY, &pp, &Patch::Apply(binding))
        .await
        .context("applying the MutatingAdmissionPolicyBinding")?;
    wait_rewritten(
        client,
        probe,
        "the MutatingAdmissionPolicy",
        Duration::from_secs(30),
    )
    .await
}

/// Waits until a server-side dry-run create of a VM naming `probe.0` comes back naming
/// `probe.1`: the hop just set up is the one admission goes through. A refused probe
/// (the hop still registering) is tried again until `within` has passed.
pub async fn wait_rewritten(client: &Client, probe: (&str, &str), hop: &str, within: Duration) -> Result<()> {
    let vm = webhook::vm_resource(client).await?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &vm);
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": vm.api_version, "kind": vm.kind,
        "metadata": {"name": "vmimage-bench-hop-probe"},
        "spec": {"imageName": probe.0, "className": "small"},
    }))?;
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let deadline = Instant::now() + within;
    loop {
        let seen = match api.create(&dry, &obj).await {
            Ok(got) if got.data["spec"]["imageName"] == probe.1 => return Ok(()),
            Ok(got) => format!("spec.imageName {}", got.data["spec"]["imageName"]),
            Err(e) => format!("the probe was refused: {e}"),
        };
        if Instant::now() > deadline {
            bail!("{hop} does not rewrite {:?} after {within:?} ({seen})", probe.0);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Removes the policy's binding (the policy then applies to nothing) and waits a moment
/// for the apiserver to drop it.
async fn unbind_policy(client: &Client) -> Result<()> {
    let bindings: Api<DynamicObject> =
        Api::all_with(client.clone(), &policy_resource("MutatingAdmissionPolicyBinding"));
    match bindings.delete(POLICY, &DeleteParams::default()).await {
        Ok(_) => tokio::time::sleep(Duration::from_secs(2)).await,
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(e) => return Err(e).context("removing the policy binding"),
    }
    Ok(())
}

/// Creates at one concurrency.
#[derive(Debug, Clone, Default)]
pub struct Creates {
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Creates per second (of those that succeeded).
    pub per_s: f64,
    /// Creates the apiserver refused (only a peer's are tolerated, see [`creates`]).
    pub failed: usize,
    /// The first refusal, for the table.
    pub first_error: Option<String>,
}

/// One hop's creates at concurrency 1 and 8.
#[derive(Debug, Clone, Default)]
pub struct HopFigures {
    /// One at a time.
    pub c1: Creates,
    /// Eight at a time.
    pub c8: Creates,
}

impl HopFigures {
    /// Added p50 / p99 at c=1 and c=8 over `base`, and creates/s as ratios to it (with
    /// `digits` decimals), as the bench tables show them.
    pub fn added_over(&self, base: &HopFigures, digits: usize) -> String {
        format!(
            "{:+.2} / {:+.2} ms; {:+.2} / {:+.2} ms; {:.digits$} / {:.digits$}",
            self.c1.p50_ms - base.c1.p50_ms,
            self.c1.p99_ms - base.c1.p99_ms,
            self.c8.p50_ms - base.c8.p50_ms,
            self.c8.p99_ms - base.c8.p99_ms,
            self.c1.per_s / base.c1.per_s,
            self.c8.per_s / base.c8.per_s,
        )
    }
}

/// What a hop's row in the bench tables is called.
pub fn row_figure(size: &str, hop: Hop) -> String {
    format!(
        "VM create through the apiserver, {size} images, {}: added p50 / p99 at c=1; at c=8; creates/s vs no webhook (c=1 / c=8)",
        hop.label()
    )
}

/// A running do-nothing webhook.
pub struct Noop {
    /// The process.
    pub proc: Proc,
    /// Its HTTPS port on 127.0.0.1.
    pub port: u16,
}

/// What a do-nothing webhook answers reviews with (besides denying the probe VM).
#[derive(Debug, Clone, Copy)]
pub enum NoopAnswer<'a> {
    /// Allowed, unchanged.
    Allow,
    /// Allowed with this JSON patch.
    Patch(&'a [u8]),
    /// This AdmissionResponse (JSON), its uid replaced by the request's.
    Replay(&'a [u8]),
}

/// Starts `bin` (the `noop-webhook` binary) with a serving certificate of the control
/// plane's CA, answering as `answer` says, and waits until it accepts connections.
pub async fn start_noop(cp: &ControlPlane, bin: &Path, answer: NoopAnswer<'_>) -> Result<Noop> {
    let (dir, flag) = match answer {
        NoopAnswer::Allow => ("noop-webhook", None),
        NoopAnswer::Patch(patch) => ("patching-noop-webhook", Some(("--patch", patch))),
        NoopAnswer::Replay(response) => ("replaying-noop-webhook", Some(("--answer", response))),
    };
    let dir = cp.dir.join(dir);
    std::fs::create_dir_all(&dir)?;
    let pair = cp
        .ca
        .serving("noop-webhook", &["noop-webhook.vmimage-system.svc"])?;
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&cert, &pair.cert_pem)?;
    std::fs::write(&key, &pair.key_pem)?;
    let port = crate::ports::free_port()?;
    let mut args = vec![
        "--listen".to_string(),
        format!("127.0.0.1:{port}"),
        "--tls-cert".into(),
        cert.display().to_string(),
        "--tls-key".into(),
        key.display().to_string(),
    ];
    if let Some((flag, content)) = flag {
        let file = dir.join("answer.json");
        std::fs::write(&file, content)?;
        args.extend([flag.to_string(), file.display().to_string()]);
    }
    let proc = Proc::spawn("noop-webhook", bin, &args, &dir.join("log"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("noop-webhook does not listen on {port} after 10 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Noop { proc, port })
}

/// The admission ports of the webhooks measured.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// The do-nothing webhook.
    pub noop: u16,
    /// The do-nothing webhook answering with vmimage's patch.
    pub patching_noop: u16,
    /// vmimage.
    pub vmimage: u16,
    /// The do-nothing webhook answering with vmimage's whole response, when running.
    pub replaying_noop: Option<u16>,
    /// Other builds of vmimage's webhook: each one's label and port.
    pub variants: &'static [(&'static str, u16)],
}

/// Points admission at `hop` alone (and waits until the apiserver uses it). `probe` is
/// the name and ID the policy's param maps, when the policy is installed.
async fn route(
    client: &Client,
    ca_pem: &str,
    hop: Hop,
    ports: Ports,
    probe: Option<(&str, &str)>,
    kyverno: Option<(&str, &str)>,
) -> Result<()> {
    if hop != Hop::Policy && probe.is_some() {
        unbind_policy(client).await?;
    }
    // Kyverno's webhooks go before another hop's are registered; its own hops are set
    // up after vmimage's configuration is gone, so only Kyverno can pass the probe.
    if let Some(target) = kyverno.filter(|_| hop.kyverno().is_none()) {
        crate::kyverno::use_lookup(client, None, target).await?;
    }
    match hop {
        Hop::Noop => webhook::register(client, ca_pem, ports.noop).await,
        Hop::PatchingNoop => webhook::register(client, ca_pem, ports.patching_noop).await,
        Hop::Vmimage => webhook::register(client, ca_pem, ports.vmimage).await,
        Hop::ReplayingNoop | Hop::Variant(_) => {
            let port = match hop {
                Hop::Variant(label) => ports.variants.iter().find(|(l, _)| *l == label).map(|(_, p)| *p),
                _ => ports.replaying_noop,
            };
            match port {
                Some(port) => webhook::register(client, ca_pem, port).await,
                None => bail!("{} is not running", hop.label()),
            }
        }
        Hop::Baseline | Hop::Policy | Hop::KyvernoGlobal | Hop::KyvernoApiCall => {
            let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
            match api
                .delete(webhook::CONFIGURATION_NAME, &DeleteParams::default())
                .await
            {
                Ok(_) => tokio::time::sleep(Duration::from_secs(2)).await,
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(e) => return Err(e).context("removing the webhook configuration"),
            }
            match (hop, probe, hop.kyverno()) {
                (Hop::Policy, Some(probe), _) => bind_policy(client, probe).await,
                (Hop::Policy, None, _) => bail!("the policy is not installed"),
                (_, _, Some(lookup)) => match kyverno {
                    Some(target) => crate::kyverno::use_lookup(client, Some(lookup), target).await,
                    None => bail!("Kyverno is not running"),
                },
                _ => Ok(()),
            }
        }
    }
}

/// `n` VM creates naming `image` in `ns`, `concurrency` at a time. A refused create is
/// an error, unless `tolerate`: a peer is measured as it behaves (Kyverno's apiCall
/// can outlast the webhook timeout), and its refusals are counted.
async fn creates(
    client: &Client,
    ns: &str,
    prefix: &str,
    image: &str,
    n: usize,
    concurrency: usize,
    tolerate: bool,
) -> Result<Creates> {
    let ar = webhook::vm_resource(client).await?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let started = Instant::now();
    let mut errors = Vec::new();
    let mut took: Vec<f64> = stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            let vm = json!({
                "apiVersion": ar.api_version, "kind": "VirtualMachine",
                "metadata": {"name": format!("{prefix}-{i}"), "namespace": ns},
                "spec": {"imageName": image, "className": "small"}
            });
            async move {
                let vm: DynamicObject = serde_json::from_value(vm)?;
                let name = vm.metadata.name.clone().unwrap_or_default();
                let t = Instant::now();
                match api.create(&PostParams::default(), &vm).await {
                    Ok(_) => anyhow::Ok(Ok(t.elapsed().as_secs_f64() * 1000.0)),
                    Err(e) => Ok(Err(format!("creating VM {ns}/{name}: {e:?}"))),
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter_map(|r| match r {
            Ok(ms) => Some(ms),
            Err(e) => {
                errors.push(e);
                None
            }
        })
        .collect();
    if let Some(first) = errors.first().filter(|_| !tolerate) {
        bail!("{} of {n} creates failed; the first: {first}", errors.len());
    }
    let per_s = took.len() as f64 / started.elapsed().as_secs_f64();
    took.sort_by(f64::total_cmp);
    let at = |q: f64| match took.len() {
        0 => f64::NAN,
        len => took[((len as f64 * q).ceil() as usize).clamp(1, len) - 1],
    };
    Ok(Creates {
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        per_s,
        failed: errors.len(),
        first_error: errors.into_iter().next(),
    })
}

/// One comparison's set-up: where admission can be routed and what the VMs name.
pub struct Comparison<'a> {
    /// An admin client.
    pub client: &'a Client,
    /// The CA the webhooks' certificates are signed by.
    pub ca_pem: &'a str,
    /// The webhooks' ports (the replaying noop and the variant are measured when running).
    pub ports: Ports,
    /// The name and ID the policy's param maps, when the policy is installed.
    pub probe: Option<(&'a str, &'a str)>,
    /// With Kyverno running: the display name the VMs name and the ID it must become,
    /// to check each Kyverno lookup is in effect before it is measured.
    pub kyverno: Option<(&'a str, &'a str)>,
    /// Leave out the do-nothing webhook that returns vmimage's patch.
    pub skip_patching_noop: bool,
    /// Where the VMs are created.
    pub namespace: &'a str,
    /// The display name the VMs name.
    pub image: &'a str,
    /// Rounds, each routing admission to every hop in turn.
    pub rounds: usize,
    /// VMs created per hop, concurrency and round.
    pub creates: usize,
    /// Creates at concurrency 8 too (else [`HopFigures::c8`] stays empty).
    pub c8: bool,
}

/// Every round's figures of one hop.
pub type Rounds = Vec<(Hop, Vec<HopFigures>)>;

impl Comparison<'_> {
    /// The hops measured, in the order each round visits them.
    fn hops(&self) -> Vec<Hop> {
        let mut hops = vec![Hop::Baseline, Hop::Noop, Hop::PatchingNoop];
        if self.skip_patching_noop {
            hops.retain(|h| *h != Hop::PatchingNoop);
        }
        if self.ports.replaying_noop.is_some() {
            hops.push(Hop::ReplayingNoop);
        }
        hops.push(Hop::Vmimage);
        hops.extend(self.ports.variants.iter().map(|(label, _)| Hop::Variant(label)));
        if self.probe.is_some() {
            hops.push(Hop::Policy);
        }
        if self.kyverno.is_some() {
            hops.extend([Hop::KyvernoGlobal, Hop::KyvernoApiCall]);
        }
        hops
    }

    /// Every hop's figures (the policy only when installed): each round creates
    /// `creates` VMs at concurrency 1 and as many at 8 per hop; the median round's
    /// figures are kept. Leaves vmimage registered.
    pub async fn measure(&self) -> Result<Vec<(Hop, HopFigures)>> {
        Ok(median_rounds(&self.measure_rounds().await?))
    }

    /// Every hop's figures in every round, as [`Self::measure`] takes them.
    pub async fn measure_rounds(&self) -> Result<Rounds> {
        let (client, ca_pem, ports, probe, kyverno) =
            (self.client, self.ca_pem, self.ports, self.probe, self.kyverno);
        let hops = self.hops();
        let mut seen: Vec<Vec<HopFigures>> = vec![Vec::new(); hops.len()];
        let tag = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        for round in 0..self.rounds {
            for (h, hop) in hops.iter().enumerate() {
                route(client, ca_pem, *hop, ports, probe, kyverno).await?;
                let prefix = format!("hop{tag:x}-{round}-{h}");
                let (ns, image, n) = (self.namespace, self.image, self.creates);
                let peer = hop.kyverno().is_some();
                let c1 = creates(client, ns, &format!("{prefix}-a"), image, n, 1, peer).await?;
                let c8 = if self.c8 {
                    creates(client, ns, &format!("{prefix}-b"), image, n, 8, peer).await?
                } else {
                    Creates::default()
                };
                seen[h].push(HopFigures { c1, c8 });
            }
        }
        route(client, ca_pem, Hop::Vmimage, ports, probe, kyverno).await?;
        Ok(hops.into_iter().zip(seen).collect())
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Each hop's median round (per figure).
pub fn median_rounds(rounds: &Rounds) -> Vec<(Hop, HopFigures)> {
    let combine = |runs: &[HopFigures], pick: fn(&HopFigures) -> &Creates| Creates {
        p50_ms: median(runs.iter().map(|r| pick(r).p50_ms).collect()),
        p99_ms: median(runs.iter().map(|r| pick(r).p99_ms).collect()),
        per_s: median(runs.iter().map(|r| pick(r).per_s).collect()),
        failed: runs.iter().map(|r| pick(r).failed).sum(),
        first_error: runs.iter().find_map(|r| pick(r).first_error.clone()),
    };
    rounds
        .iter()
        .map(|(hop, runs)| {
            (
                *hop,
                HopFigures {
                    c1: combine(runs, |r| &r.c1),
                    c8: combine(runs, |r| &r.c8),
                },
            )
        })
        .collect()
}

/// `hop`'s c=1 p50 minus `other`'s, round by round (both measured in each round, minutes
/// apart at most): the median and the lowest and highest of those paired differences.
pub fn paired_p50(rounds: &Rounds, hop: Hop, other: Hop) -> Option<(f64, f64, f64)> {
    let of = |h: Hop| rounds.iter().find(|(x, _)| *x == h).map(|(_, r)| r);
    let diffs: Vec<f64> = of(hop)?
        .iter()
        .zip(of(other)?)
        .map(|(a, b)| a.c1.p50_ms - b.c1.p50_ms)
        .collect();
    let lo = diffs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = diffs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (!diffs.is_empty()).then(|| (median(diffs), lo, hi))
}

/// vmimage's AdmissionResponse (JSON) for a VM in `ns` naming `image`, as it answers the
/// apiserver, and the JSON patch in it (decoded).
pub async fn vmimage_answer(port: u16, ca: &str, ns: &str, image: &str) -> Result<(Vec<u8>, Vec<u8>)> {
    use base64::Engine as _;
    let url = format!("https://127.0.0.1:{port}/mutate");
    let (status, body) = crate::loadgen::post(
        &url,
        ca,
        crate::loadgen::create_review(ns, image),
        Duration::from_secs(10),
    )
    .await?;
    let review: serde_json::Value = serde_json::from_slice(&body)?;
    let response = &review["response"];
    let patch = response["patch"].as_str().unwrap_or_default();
    if status != 200 || patch.is_empty() {
        bail!("vmimage did not patch the bench's VM: {status} {review}");
    }
    let patch = base64::engine::general_purpose::STANDARD.decode(patch)?;
    Ok((serde_json::to_vec(response)?, patch))
}

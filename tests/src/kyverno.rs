//! Kyverno as a peer in the hop comparison (`make bench-peers`): its admission controller
//! (built from the Go module proxy by hack/build-kyverno.sh) run as a process against the
//! local apiserver (`--kubeconfig`, `--serverIP`), mapping a display name to an ID in the
//! two ways Kyverno can: a GlobalContextEntry (a watched copy of the cluster images)
//! queried with JMESPath, or an apiCall (a LIST of the cluster images per admission).

use crate::{ControlPlane, process::Proc, webhook};
use anyhow::{Context, Result, bail};
use k8s_openapi::api::{admissionregistration::v1::MutatingWebhookConfiguration, core::v1::ConfigMap};
use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams},
};
use serde_json::{Value, json};
use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

/// Kyverno's namespace (it keeps its CA and serving certificate there as Secrets).
const NAMESPACE: &str = "kyverno";
/// The webhook configuration Kyverno fills with a webhook per matched resource.
const RESOURCE_WEBHOOKS: &str = "kyverno-resource-mutating-webhook-cfg";
/// The policy each lookup style is installed as.
const POLICY: &str = "vmimage-bench-name-to-id";
/// The GlobalContextEntry of the global lookup.
const ENTRY: &str = "vmimage-bench-cluster-images";

/// How Kyverno finds the ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A GlobalContextEntry watching the cluster images, queried with JMESPath.
    Global,
    /// An apiCall listing the cluster images on every admission.
    ApiCall,
}

/// The running admission controller.
pub struct Kyverno {
    /// The process.
    pub proc: Proc,
    /// Its webhook port on 127.0.0.1.
    pub port: u16,
}

fn resource(group: &str, version: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// Installs Kyverno's CRDs, namespace and config maps, starts `dir/kyverno` and waits
/// until it has registered its webhooks.
pub async fn start(cp: &ControlPlane, client: &Client, dir: &Path) -> Result<Kyverno> {
    let bin = dir.join("kyverno");
    if !bin.is_file() {
        bail!(
            "{} missing: run hack/build-kyverno.sh (make bench-peers does)",
            bin.display()
        );
    }
    let crds = dir.join("crds");
    let out = Command::new(&cp.assets.kubectl)
        .arg("--kubeconfig")
        .arg(&cp.kubeconfig)
        .args(["apply", "--server-side", "-R", "-f"])
        .arg(&crds)
        .output()
        .context("running kubectl apply for Kyverno's CRDs")?;
    if !out.status.success() {
        bail!(
            "installing Kyverno's CRDs from {}: {}",
            crds.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    crate::catalog::ensure_namespaces(client, [NAMESPACE.to_string()]).await?;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let pp = PatchParams::apply("vmimage-bench").force();
    for name in ["kyverno", "kyverno-metrics"] {
        let map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
        maps.patch(name, &pp, &Patch::Apply(&map))
            .await
            .with_context(|| format!("writing Kyverno's config map {name}"))?;
    }
    let [port, metrics, profile] = crate::ports::free_ports()?;
    let state = cp.dir.join("kyverno");
    std::fs::create_dir_all(&state)?;
    // Out of the cluster it still wants to know "its" Deployment, Service and pod.
    let mut args: Vec<String> = [
        "KYVERNO_NAMESPACE=kyverno",
        "KYVERNO_SERVICEACCOUNT_NAME=kyverno-admission-controller",
        "KYVERNO_DEPLOYMENT=kyverno-admission-controller",
        "KYVERNO_POD_NAME=kyverno-bench",
        "KYVERNO_SVC=kyverno-svc",
        "INIT_CONFIG=kyverno",
        "METRICS_CONFIG=kyverno-metrics",
    ]
    .map(String::from)
    .to_vec();
    args.push(bin.display().to_string());
    args.extend([
        format!("--kubeconfig={}", cp.kubeconfig.display()),
        format!("--serverIP=127.0.0.1:{port}"),
        format!("--webhookServerPort={port}"),
        format!("--metricsPort={metrics}"),
        format!("--profilePort={profile}"),
        "--caSecretName=kyverno-svc.kyverno.svc.kyverno-tls-ca".into(),
        "--tlsSecretName=kyverno-svc.kyverno.svc.kyverno-tls-pair".into(),
        "--admissionReports=false".into(),
        "--loggingFormat=json".into(),
    ]);
    let proc = Proc::spawn("kyverno", Path::new("/usr/bin/env"), &args, &state.join("log"))?;
    let webhooks: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(180);
    while webhooks.get_opt(RESOURCE_WEBHOOKS).await?.is_none() {
        if Instant::now() > deadline {
            bail!(
                "Kyverno registered no webhooks within 180 s; its log ends:\n{}",
                proc.log_tail(20)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(Kyverno { proc, port })
}

/// The policy that maps `spec.imageName` to the one cluster image with that display
/// name (nothing when there is none or several: Kyverno cannot say which).
fn policy(lookup: Lookup, image_version: &str) -> Value {
    let query = "[?status.name=='{{ request.object.spec.imageName }}'].metadata.name";
    let context = match lookup {
        Lookup::Global => json!({"name": "ids", "globalReference": {"name": ENTRY, "jmesPath": query}}),
        Lookup::ApiCall => json!({"name": "ids", "apiCall": {
            "urlPath": format!("/apis/{}/{image_version}/clustervirtualmachineimages", vmimage_shared::api::GROUP),
            "jmesPath": format!("items{query}"),
        }}),
    };
    json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": POLICY},
        "spec": {"background": false, "rules": [{
            "name": "name-to-id",
            "match": {"any": [{"resources": {"kinds": ["vmoperator.vmware.com/*/VirtualMachine"], "operations": ["CREATE"]}}]},
            "context": [context],
            "preconditions": {"all": [{"key": "{{ length(ids) }}", "operator": "Equals", "value": 1}]},
            "mutate": {"patchesJson6902": "- op: replace\n  path: /spec/imageName\n  value: \"{{ ids[0] }}\""},
        }]},
    })
}

/// Makes Kyverno map names with `lookup` (`None`: not at all) and waits until the
/// apiserver does as asked: with a lookup, a dry-run create naming `probe.0` comes back
/// naming `probe.1`; without, Kyverno has removed its webhooks for VMs.
pub async fn use_lookup(client: &Client, lookup: Option<Lookup>, probe: (&str, &str)) -> Result<()> {
    let policies: Api<DynamicObject> =
        Api::all_with(client.clone(), &resource("kyverno.io", "v1", "ClusterPolicy"));
    let pp = PatchParams::apply("vmimage-bench").force();
    let vm = webhook::vm_resource(client).await?;
    let Some(lookup) = lookup else {
        match policies.delete(POLICY, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => return Err(e).context("removing the Kyverno policy"),
        }
        let webhooks: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = webhooks
                .get_opt(RESOURCE_WEBHOOKS)
                .await?
                .and_then(|c| c.webhooks)
                .map_or(0, |w| w.len());
            if left == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("Kyverno still has {left} resource webhook(s) 60 s after its policy was removed");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    if lookup == Lookup::Global {
        let entries: Api<DynamicObject> = Api::all_with(
            client.clone(),
            &resource("kyverno.io", "v2", "GlobalContextEntry"),
        );
        let entry = json!({
            "apiVersion": "kyverno.io/v2", "kind": "GlobalContextEntry",
            "metadata": {"name": ENTRY},
            "spec": {"kubernetesResource": {"group": vmimage_shared::api::GROUP, "version": vm.version, "resource": "clustervirtualmachineimages"}},
        });
        entries
            .patch(ENTRY, &pp, &Patch::Apply(&entry))
            .await
            .context("applying the GlobalContextEntry")?;
    }
    policies
        .patch(POLICY, &pp, &Patch::Apply(policy(lookup, &vm.version)))
        .await
        .context("applying the Kyverno policy")?;
    crate::hop_bench::wait_rewritten(
        client,
        probe,
        &format!("Kyverno ({lookup:?})"),
        Duration::from_secs(120),
    )
    .await
}

/// Current and peak resident memory of `pid`, MB.
pub fn rss_mb(pid: u32) -> Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<f64> {
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        Ok(kb / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

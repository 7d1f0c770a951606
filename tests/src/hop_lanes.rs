//! Every hop in one admission chain, each in a lane of its own: one
//! MutatingWebhookConfiguration holds a webhook per hop, each selecting one namespace, so
//! VM creates can take turns hop by hop, one create each. Drift on a shared machine (a
//! compile starting, etcd compacting) then hits every hop within milliseconds of the
//! others, where rounds of a hundred creates per hop leave seconds between them. Every
//! request passes the same selectors whatever its lane, the baseline's (a namespace no
//! webhook selects) too.

use crate::{hop_bench::Hop, webhook};
use anyhow::{Context, Result, bail};
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use kube::{
    Api, Client,
    api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams},
};
use serde_json::json;
use std::time::{Duration, Instant};
use vmimage_shared::api::{GROUP, VIRTUAL_MACHINE};

/// The configuration holding every lane's webhook.
const CONFIGURATION: &str = "vmimage-bench-hop-lanes";

/// Hops and the namespace each one admits.
pub struct Lanes {
    lanes: Vec<(Hop, String)>,
}

fn webhook_name(i: usize) -> String {
    format!("lane-{i}.bench.vmimage.io")
}

impl Lanes {
    /// Registers a webhook per hop with a port (the baseline has none: its namespace is
    /// selected by no webhook) and waits until each lane is answered by its own webhook.
    /// Removes the bench's single-hop configuration first: it would select every lane.
    pub async fn install(client: &Client, ca_pem: &str, hops: &[(Hop, Option<u16>)]) -> Result<Self> {
        let configs: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
        match configs
            .delete(webhook::CONFIGURATION_NAME, &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => return Err(e).context("removing the single-hop webhook configuration"),
        }
        let lanes: Vec<(Hop, String)> = (0..hops.len())
            .map(|i| (hops[i].0, format!("bench-lane-{i}")))
            .collect();
        crate::catalog::ensure_namespaces(client, lanes.iter().map(|(_, ns)| ns.clone())).await?;
        let vm = webhook::vm_resource(client).await?;
        let webhooks: Vec<_> = hops
            .iter()
            .enumerate()
            .filter_map(|(i, (_, port))| {
                let port = (*port)?;
                Some(json!({
                    "name": webhook_name(i),
                    "clientConfig": {
                        "url": format!("https://127.0.0.1:{port}/mutate"),
                        "caBundle": B64.encode(ca_pem),
                    },
                    "rules": [{
                        "apiGroups": [GROUP], "apiVersions": [vm.version],
                        "operations": ["CREATE", "UPDATE"], "resources": [VIRTUAL_MACHINE.plural],
                        "scope": "Namespaced",
                    }],
                    "matchPolicy": "Equivalent",
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": lanes[i].1}},
                    "sideEffects": "None",
                    "admissionReviewVersions": ["v1"],
                    "failurePolicy": "Fail",
                    "reinvocationPolicy": "Never",
                    "timeoutSeconds": 5,
                }))
            })
            .collect();
        configs
            .patch(
                CONFIGURATION,
                &PatchParams::apply("vmimage-bench").force(),
                &Patch::Apply(json!({
                    "apiVersion": "admissionregistration.k8s.io/v1",
                    "kind": "MutatingWebhookConfiguration",
                    "metadata": {"name": CONFIGURATION},
                    "webhooks": webhooks,
                })),
            )
            .await
            .context("applying the lanes' webhook configuration")?;
        let this = Self { lanes };
        for (i, (_, port)) in hops.iter().enumerate() {
            this.wait_active(client, i, port.is_some()).await?;
        }
        Ok(this)
    }

    /// Waits until lane `i`'s probe VM is denied by its own webhook (`hooked`), or
    /// admitted (the baseline).
    async fn wait_active(&self, client: &Client, i: usize, hooked: bool) -> Result<()> {
        let vm = webhook::vm_resource(client).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &self.lanes[i].1, &vm);
        let probe: DynamicObject = serde_json::from_value(json!({
            "apiVersion": vm.api_version, "kind": vm.kind,
            "metadata": {"name": "vmimage-webhook-probe"},
            "spec": {"imageName": webhook::PROBE_IMAGE},
        }))?;
        let dry = PostParams {
            dry_run: true,
            ..Default::default()
        };
        let ours = format!("admission webhook \"{}\" denied the request", webhook_name(i));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen = match api.create(&dry, &probe).await {
                Err(kube::Error::Api(e)) if hooked && e.message.contains(&ours) => return Ok(()),
                Ok(_) if !hooked => return Ok(()),
                Ok(_) => "admitted".to_string(),
                Err(e) => e.to_string(),
            };
            if Instant::now() > deadline {
                bail!(
                    "lane {i} ({}) is not in effect after 30 s: {seen}",
                    self.lanes[i].0.label()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `cycles` times, one VM create (naming `image`) per lane, the lanes in an order
    /// rotated each cycle; every lane's latencies in ms, in cycle order.
    pub async fn measure(&self, client: &Client, image: &str, cycles: usize) -> Result<Vec<(Hop, Vec<f64>)>> {
        let vm = webhook::vm_resource(client).await?;
        let apis: Vec<Api<DynamicObject>> = self
            .lanes
            .iter()
            .map(|(_, ns)| Api::namespaced_with(client.clone(), ns, &vm))
            .collect();
        let tag = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let mut took = vec![Vec::with_capacity(cycles); apis.len()];
        for cycle in 0..cycles {
            for k in 0..apis.len() {
                let lane = (cycle + k) % apis.len();
                let obj: DynamicObject = serde_json::from_value(json!({
                    "apiVersion": vm.api_version, "kind": vm.kind,
                    "metadata": {"name": format!("lane{tag:x}-{cycle}")},
                    "spec": {"imageName": image, "className": "small"},
                }))?;
                let t = Instant::now();
                apis[lane]
                    .create(&PostParams::default(), &obj)
                    .await
                    .with_context(|| {
                        format!("creating a VM in lane {lane} ({})", self.lanes[lane].0.label())
                    })?;
                took[lane].push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        Ok(self.lanes.iter().map(|(hop, _)| *hop).zip(took).collect())
    }

    /// Removes the lanes' configuration.
    pub async fn remove(self, client: &Client) -> Result<()> {
        let configs: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
        configs
            .delete(CONFIGURATION, &DeleteParams::default())
            .await
            .context("removing the lanes' webhook configuration")?;
        Ok(())
    }
}

/// The median of `v` (NaN when empty).
pub fn p50(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `a`'s p50 minus `b`'s over all cycles, and over each of `blocks` runs of consecutive
/// cycles: the median block and the lowest and highest.
pub fn paired(a: &[f64], b: &[f64], blocks: usize) -> (f64, f64, f64, f64) {
    let all = p50(a) - p50(b);
    let len = a.len().min(b.len());
    let size = (len / blocks.max(1)).max(1);
    let mut diffs: Vec<f64> = (0..len / size)
        .map(|k| p50(&a[k * size..(k + 1) * size]) - p50(&b[k * size..(k + 1) * size]))
        .collect();
    diffs.sort_by(f64::total_cmp);
    let median = diffs.get(diffs.len() / 2).copied().unwrap_or(f64::NAN);
    (
        all,
        median,
        diffs.first().copied().unwrap_or(f64::NAN),
        diffs.last().copied().unwrap_or(f64::NAN),
    )
}

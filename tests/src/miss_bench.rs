//! The webhook's slow paths, as a user meets them through the apiserver: a VM created
//! 0–100 ms after its image (the watch event and the create race), and a mistyped name.

use crate::{catalog, webhook};
use anyhow::{Context, Result};
use kube::{
    Api, Client,
    api::{DynamicObject, PostParams},
};
use serde_json::json;
use std::time::{Duration, Instant};

/// VM creates naming an image created just before.
#[derive(Debug, Clone, Copy)]
pub struct FreshImages {
    /// Tries made.
    pub tries: usize,
    /// Creates the webhook denied (the target is none).
    pub denied: usize,
    /// Median create latency, ms.
    pub p50_ms: f64,
    /// 99th percentile create latency, ms.
    pub p99_ms: f64,
}

/// `tries` times: a namespaced image in `ns` (object and status, as a publisher writes
/// them), then after 0–100 ms (spread evenly over the tries) a VM naming it by display
/// name, created for real through the apiserver with the webhook registered.
pub async fn fresh_images(client: &Client, ns: &str, tries: usize) -> Result<FreshImages> {
    let ar = webhook::vm_resource(client).await?;
    let vms: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let (mut took, mut denied) = (Vec::with_capacity(tries), 0);
    for i in 0..tries {
        let id = format!("vmi-f7e5400000{i:07x}");
        let display = format!("fresh-bench-{i}");
        catalog::apply_image(
            client,
            json!({
                "kind": "VirtualMachineImage",
                "metadata": {"name": id, "namespace": ns},
                "status": {"name": display, "type": "OVF"},
            }),
        )
        .await?;
        let delay = Duration::from_millis((i * 100 / tries.max(1)) as u64);
        tokio::time::sleep(delay).await;
        let vm: DynamicObject = serde_json::from_value(json!({
            "apiVersion": ar.api_version, "kind": "VirtualMachine",
            "metadata": {"name": format!("fresh-{i}"), "namespace": ns},
            "spec": {"imageName": display, "className": "small"}
        }))?;
        let t = Instant::now();
        match vms.create(&PostParams::default(), &vm).await {
            Ok(created) => {
                let got = created.data["spec"]["image"]["name"].as_str().unwrap_or_default();
                anyhow::ensure!(got == id, "{display} resolved to {got:?}, not {id}");
            }
            Err(kube::Error::Api(status)) if status.code == 400 || status.code == 403 => {
                crate::say(format!("fresh image {display} denied: {}", status.message));
                denied += 1;
            }
            Err(e) => return Err(e).context("creating a VM naming a fresh image"),
        }
        took.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    took.sort_by(f64::total_cmp);
    let at = |q: f64| took[((took.len() as f64 * q).ceil() as usize).clamp(1, took.len()) - 1];
    Ok(FreshImages {
        tries,
        denied,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    })
}

//! Installing CRDs and waiting until the apiserver serves them.

use anyhow::{Context, Result, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};
use std::{
    path::Path,
    time::{Duration, Instant},
};

/// Server-side applies every `*.yaml` CRD under `dir`, then waits for each to be
/// Established and listable.
pub async fn install(client: &Client, dir: &Path) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut names = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)?;
        let crd: CustomResourceDefinition =
            serde_norway::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        let name = crd.metadata.name.clone().context("CRD without a name")?;
        api.patch(
            &name,
            &PatchParams::apply("vmimage-testenv").force(),
            &Patch::Apply(&crd),
        )
        .await
        .with_context(|| format!("applying {}", file.display()))?;
        names.push(name);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for name in &names {
        loop {
            let crd = api.get(name).await?;
            let established = crd
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Established" && c.status == "True"));
            if established {
                break;
            }
            if Instant::now() > deadline {
                bail!("CRD {name} not Established after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Established precedes discovery by a moment; wait until each resource can be listed.
    for name in &names {
        let crd = api.get(name).await?;
        let version = &crd.spec.versions[0].name;
        let path = format!(
            "/apis/{}/{}/{}?limit=1",
            crd.spec.group, version, crd.spec.names.plural
        );
        loop {
            let req = http::Request::get(&path).body(Vec::new())?;
            if client.request_text(req).await.is_ok() {
                break;
            }
            if Instant::now() > deadline {
                bail!("{path} not served 30 s after its CRD was applied");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    crate::say(format!("installed {} CRDs from {}", names.len(), dir.display()));
    Ok(())
}

//! `publish list` and `publish status NAME`.

use std::io::Write as _;

use super::{api, progress::progress};
use crate::{
    client::Cluster,
    error::{Error, Result},
    output::{self, Table},
};
use kube::api::ListParams;
use std::process::ExitCode;
use vmimage_shared::api::{PublishRequest, VIRTUAL_MACHINE_PUBLISH_REQUEST};

fn stage(req: &PublishRequest) -> String {
    progress(&req.status.clone().unwrap_or_default()).stage()
}

fn typed(obj: kube::api::DynamicObject) -> Result<PublishRequest> {
    serde_json::to_value(obj)
        .and_then(serde_json::from_value)
        .map_err(|e| Error::Failed(format!("unexpected VirtualMachinePublishRequest shape: {e}")))
}

pub async fn list(cluster: &Cluster) -> Result<ExitCode> {
    let (api, _) = api(cluster, VIRTUAL_MACHINE_PUBLISH_REQUEST).await?;
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(Error::cluster(format!(
            "list VirtualMachinePublishRequests in namespace {}",
            cluster.namespace
        )))?;
    if list.items.is_empty() {
        crate::note!("No publish requests found in namespace {}.", cluster.namespace);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table {
        header: vec!["NAME", "SOURCE", "ITEM", "STAGE", "ATTEMPTS", "IMAGE", "AGE"],
        rows: vec![],
    };
    for obj in list.items {
        let req = typed(obj)?;
        let spec = &req.spec;
        let st = req.status.clone().unwrap_or_default();
        table.rows.push(vec![
            req.metadata.name.clone().unwrap_or_default().into(),
            spec.source
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default()
                .into(),
            spec.target
                .as_ref()
                .and_then(|t| t.item.as_ref())
                .map(|i| i.name.clone())
                .unwrap_or_default()
                .into(),
            stage(&req).into(),
            st.attempts.to_string().into(),
            st.image_name.clone().unwrap_or_default().into(),
            output::age(
                req.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.to_string())
                    .as_deref(),
            )
            .into(),
        ]);
    }
    table.write(&mut std::io::stdout().lock(), output::use_color())?;
    Ok(ExitCode::SUCCESS)
}

pub async fn show(cluster: &Cluster, name: &str) -> Result<ExitCode> {
    let (api, _) = api(cluster, VIRTUAL_MACHINE_PUBLISH_REQUEST).await?;
    let obj = api
        .get_opt(name)
        .await
        .map_err(Error::cluster(format!("get VirtualMachinePublishRequest {name}")))?
        .ok_or_else(|| {
            Error::Failed(format!(
                "VirtualMachinePublishRequest {name:?} not found in namespace {}",
                cluster.namespace
            ))
        })?;
    let req = typed(obj)?;
    let st = req.status.clone().unwrap_or_default();
    writeln!(std::io::stdout(), "Name:       {name}")?;
    writeln!(std::io::stdout(), "Namespace:  {}", cluster.namespace)?;
    writeln!(
        std::io::stdout(),
        "Source:     {}",
        req.spec
            .source
            .as_ref()
            .map(|s| s.name.as_str())
            .unwrap_or("<request name>")
    )?;
    let target = req.spec.target.clone().unwrap_or_default();
    writeln!(
        std::io::stdout(),
        "Item:       {}",
        target.item.map(|i| i.name).unwrap_or_default()
    )?;
    writeln!(
        std::io::stdout(),
        "Library:    {}",
        target.location.map(|l| l.name).unwrap_or_default()
    )?;
    writeln!(std::io::stdout(), "Stage:      {}", stage(&req))?;
    writeln!(std::io::stdout(), "Attempts:   {}", st.attempts)?;
    writeln!(
        std::io::stdout(),
        "Image:      {}",
        st.image_name.as_deref().unwrap_or("<none yet>")
    )?;
    writeln!(std::io::stdout(), "Conditions:")?;
    for c in &st.conditions {
        writeln!(
            std::io::stdout(),
            "  {:<15}{:<8}{:<30}{}",
            c.type_,
            c.status,
            c.reason.as_deref().unwrap_or(""),
            c.message.as_deref().unwrap_or("")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

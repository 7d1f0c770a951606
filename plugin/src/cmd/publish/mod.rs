//! `kubectl vmimage publish VM`: one command for VirtualMachinePublishRequest, with VM
//! Operator's defaults written out, the checks VM Operator would fail on made up front,
//! and `--wait` following the request to the new image.

mod progress;
mod status;
mod wait;

use crate::{
    cli::{DryRun, Format, Global, PublishAction, PublishArgs},
    client::{self, Cluster},
    error::{Error, Result},
    output,
    source::{Scope, Source},
};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::json;
use std::{io::Write as _, process::ExitCode};
use vmimage_shared::{
    api::{
        CONTENT_LIBRARY, ContentLibrary, DEFAULT_LIBRARY_LABEL, KindInfo, VIRTUAL_MACHINE,
        VIRTUAL_MACHINE_PUBLISH_REQUEST,
    },
    quote::go_quote,
};

pub async fn run(global: &Global, args: PublishArgs) -> Result<ExitCode> {
    // NB: `--catalog` is refused while parsing (cli::command): publish needs the cluster.
    let cluster = client::connect(global).await?;
    match args.action {
        Some(PublishAction::List(list)) => status::list(&cluster, list).await,
        Some(PublishAction::Status(status)) => status::show(&cluster, status).await,
        None => create(global, &cluster, args).await,
    }
}

/// An API for `kind` in the cluster's namespace, at the newest served version.
pub(super) async fn api(cluster: &Cluster, kind: KindInfo) -> Result<(Api<DynamicObject>, String)> {
    let ar = client::resource(cluster, kind).await?;
    let version = ar.api_version.clone();
    Ok((
        Api::namespaced_with(cluster.client.clone(), &cluster.namespace, &ar),
        version,
    ))
}

/// The ContentLibrary to publish into: `--library`, else the one default library.
async fn pick_library(cluster: &Cluster, name: Option<&str>) -> Result<(ContentLibrary, String)> {
    let (api, version) = api(cluster, CONTENT_LIBRARY).await?;
    let ns = &cluster.namespace;
    let object = match name {
        Some(name) => api
            .get_opt(name)
            .await
            .map_err(Error::cluster(format!(
                "get ContentLibrary {name} in namespace {ns}"
            )))?
            .ok_or_else(|| Error::Failed(format!("ContentLibrary {name:?} not found in namespace {ns}")))?,
        None => {
            let list = api
                .list(&ListParams::default().labels(DEFAULT_LIBRARY_LABEL))
                .await
                .map_err(Error::cluster(format!("list ContentLibraries in namespace {ns}")))?;
            match list.items.len() {
                0 => {
                    return Err(Error::Failed(format!(
                        "cannot find a default content library with the {} label in namespace {ns}; \
                         pass --library NAME",
                        go_quote(DEFAULT_LIBRARY_LABEL)
                    )));
                }
                1 => {
                    let lib = list.items.into_iter().next().expect("one item");
                    crate::note!(
                        "Using content library {:?}, the default of namespace {ns} (label {DEFAULT_LIBRARY_LABEL}).",
                        lib.metadata.name.as_deref().unwrap_or_default()
                    );
                    lib
                }
                _ => {
                    let mut names: Vec<String> = list
                        .items
                        .iter()
                        .filter_map(|l| l.metadata.name.clone())
                        .collect();
                    names.sort();
                    return Err(Error::Failed(format!(
                        "more than one default ContentLibrary found: {}; pass --library NAME",
                        names.join(", ")
                    )));
                }
            }
        }
    };
    let lib: ContentLibrary =
        serde_json::from_value(serde_json::to_value(&object).map_err(|e| Error::Failed(e.to_string()))?)
            .map_err(|e| Error::Failed(format!("ContentLibrary has an unexpected shape: {e}")))?;
    Ok((lib, version))
}

/// A suggestion for a name that is not taken yet: the name with today's date.
fn versioned(name: &str) -> String {
    let today = jiff::Timestamp::now().strftime("%Y%m%d").to_string();
    format!("{name}-{today}")
}

async fn create(global: &Global, cluster: &Cluster, args: PublishArgs) -> Result<ExitCode> {
    let vm = args
        .vm
        .clone()
        .ok_or_else(|| Error::Usage("publish needs the name of a VirtualMachine".into()))?;
    let ns = cluster.namespace.clone();
    let (vms, vm_version) = api(cluster, VIRTUAL_MACHINE).await?;
    if vms
        .get_opt(&vm)
        .await
        .map_err(Error::cluster(format!(
            "get VirtualMachine {vm} in namespace {ns}"
        )))?
        .is_none()
    {
        return Err(Error::Failed(format!(
            "VirtualMachine {vm:?} not found in namespace {ns}"
        )));
    }
    let (library, library_version) = pick_library(cluster, args.library.as_deref()).await?;
    let lib_name = library.metadata.name.clone().unwrap_or_default();
    if !library.spec.allow_publish {
        return Err(Error::Failed(format!(
            "target location {lib_name} is not writable (spec.allowPublish is false); choose another --library"
        )));
    }
    if !library.is_ready() {
        return Err(Error::Failed(format!(
            "content library {lib_name} is not Ready; wait for it or choose another --library"
        )));
    }
    let item = args.item_name.clone().unwrap_or_else(|| format!("{vm}-image"));
    if !args.allow_duplicate_name {
        let (source, _) = Source::open(global).await?;
        let images = source.images(&Scope::VisibleFrom(ns.clone())).await?;
        let taken: Vec<String> = images
            .index
            .visible_from(&ns)
            .filter(|i| i.display_name.as_deref() == Some(&item))
            .map(|i| i.to_string())
            .collect();
        if !taken.is_empty() {
            return Err(Error::Failed(format!(
                "an image named {item:?} is already visible from namespace {ns}: {}; publishing another would make \
                 {item:?} ambiguous for every VM that uses it. Use --item-name {} (or pass --allow-duplicate-name)",
                taken.join(", "),
                versioned(&item)
            )));
        }
    }
    let request_name = args.request_name.clone().unwrap_or_else(|| k8s_name(&item));
    let mut spec = json!({
        "source": {"name": vm, "apiVersion": vm_version, "kind": "VirtualMachine"},
        "target": {
            "item": {"name": item},
            "location": {"name": lib_name, "apiVersion": library_version, "kind": "ContentLibrary"}
        }
    });
    if let Some(d) = &args.description {
        spec["target"]["item"]["description"] = json!(d);
    }
    if let Some(ttl) = args.ttl {
        spec["ttlSecondsAfterFinished"] = json!(ttl);
    }
    let (requests, req_version) = api(cluster, VIRTUAL_MACHINE_PUBLISH_REQUEST).await?;
    let request: DynamicObject = serde_json::from_value(json!({
        "apiVersion": req_version,
        "kind": "VirtualMachinePublishRequest",
        "metadata": {"name": request_name, "namespace": ns},
        "spec": spec,
    }))
    .map_err(|e| Error::Failed(e.to_string()))?;
    let print = |obj: &DynamicObject, format: Format| -> Result<()> {
        let mut out = std::io::stdout().lock();
        match format {
            Format::Name => {
                use std::io::Write;
                writeln!(
                    out,
                    "virtualmachinepublishrequest.vmoperator.vmware.com/{}",
                    obj.metadata.name.as_deref().unwrap_or_default()
                )?;
            }
            Format::Json => output::write_data(&mut out, Format::Json, obj)?,
            _ => output::write_data(&mut out, Format::Yaml, obj)?,
        }
        Ok(())
    };
    if args.dry_run == Some(DryRun::Client) {
        print(&request, args.output.unwrap_or(Format::Yaml))?;
        return Ok(ExitCode::SUCCESS);
    }
    let params = PostParams {
        dry_run: args.dry_run == Some(DryRun::Server),
        ..Default::default()
    };
    let created = requests.create(&params, &request).await.map_err(|e| match e {
        kube::Error::Api(s) if s.code == 409 => Error::Failed(format!(
            "a VirtualMachinePublishRequest named {request_name:?} already exists in namespace {ns}; \
             pass --request-name or follow it with `kubectl vmimage publish status {request_name} -n {ns}`"
        )),
        other => Error::cluster(format!(
            "create VirtualMachinePublishRequest {request_name} in namespace {ns}"
        ))(other),
    })?;
    if args.dry_run == Some(DryRun::Server) {
        print(&created, args.output.unwrap_or(Format::Yaml))?;
        return Ok(ExitCode::SUCCESS);
    }
    match args.output {
        Some(format) => print(&created, format)?,
        None => writeln!(
            std::io::stdout(),
            "virtualmachinepublishrequest.vmoperator.vmware.com/{request_name} created: publishing VirtualMachine {vm} \
             as {item:?} into content library {lib_name}"
        )?,
    }
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    wait::follow(cluster, &requests, &request_name, args.timeout).await
}

/// A Kubernetes object name from a library item name (lowercase, `-` for anything else).
fn k8s_name(item: &str) -> String {
    let mut s: String = item
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    s = s.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string();
    s.truncate(253);
    if s.is_empty() { "publish".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_names_become_valid_object_names() {
        assert_eq!(k8s_name("web-1-image"), "web-1-image");
        assert_eq!(k8s_name("Ubuntu 24.04 (golden)"), "ubuntu-24.04--golden");
        assert_eq!(k8s_name("___"), "publish");
    }

    #[test]
    fn suggestions_add_a_date() {
        assert!(versioned("web-image").starts_with("web-image-20"));
    }
}

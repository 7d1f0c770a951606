//! A simulated VM Operator publisher, for local use only (demo and tests: there is no
//! vSphere here). It follows VM Operator's contract for VirtualMachinePublishRequest one
//! stage per tick, so progress is visible: SourceValid, TargetValid, Uploaded (attempts,
//! backoffLimit), ImageAvailable (a new VirtualMachineImage whose ID derives from a fresh
//! item UUID), Complete; and it deletes finished requests after ttlSecondsAfterFinished.
//!
//! Fault injection: annotation `vmimage.io/simulate: upload-failure` makes every upload
//! attempt fail.

use anyhow::Result;
use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams},
};
use serde_json::json;
use std::time::Duration;
use vmimage_shared::{
    VmiId,
    api::{Condition, ContentLibrary, PublishRequest, PublishRequestStatus},
};

const VERSION: &str = "v1alpha6";
/// Annotation on the new image naming the library it was published to.
pub const PUBLISHED_TO: &str = "vmimage.io/published-to";

fn ar(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Runs forever, one pass every `tick`.
pub async fn run(client: Client, tick: Duration) -> Result<()> {
    loop {
        if let Err(e) = pass(&client).await {
            tracing::warn!("publisher pass failed: {e:#}");
        }
        tokio::time::sleep(tick).await;
    }
}

fn set(conditions: &mut Vec<Condition>, type_: &str, ok: bool, reason: &str, message: &str) {
    let c = Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: Some(reason.into()),
        message: (!message.is_empty()).then(|| message.to_string()),
        last_transition_time: Some(now()),
        observed_generation: None,
    };
    match conditions.iter_mut().find(|x| x.type_ == type_) {
        Some(x) if x.status == c.status && x.reason == c.reason => {}
        Some(x) => *x = c,
        None => conditions.push(c),
    }
}

fn is(status: &PublishRequestStatus, type_: &str, want: &str) -> bool {
    Condition::find(&status.conditions, type_).is_some_and(|c| c.status == want)
}

/// One pass over every request.
pub async fn pass(client: &Client) -> Result<()> {
    let requests: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ar(
            "vmoperator.vmware.com",
            VERSION,
            "VirtualMachinePublishRequest",
            "virtualmachinepublishrequests",
        ),
    );
    for obj in requests.list(&ListParams::default()).await?.items {
        let ns = obj.metadata.namespace.clone().unwrap_or_default();
        let simulate_failure = obj
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("vmimage.io/simulate"))
            .is_some_and(|v| v == "upload-failure");
        let req: PublishRequest = serde_json::from_value(serde_json::to_value(&obj)?)?;
        let name = req.metadata.name.clone().unwrap_or_default();
        let api: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            &ns,
            &ar(
                "vmoperator.vmware.com",
                VERSION,
                "VirtualMachinePublishRequest",
                "virtualmachinepublishrequests",
            ),
        );
        let mut st = req.status.clone().unwrap_or_default();
        if let Some(done) = &st.completion_time {
            if let Some(ttl) = req.spec.ttl_seconds_after_finished {
                let finished = done
                    .parse::<jiff::Timestamp>()
                    .map(|t| t.as_second())
                    .unwrap_or(0);
                if jiff::Timestamp::now().as_second() >= finished + ttl {
                    let _ = api.delete(&name, &DeleteParams::default()).await;
                }
            }
            continue;
        }
        if st.start_time.is_none() {
            st.start_time = Some(now());
        }
        advance(client, &ns, &name, &req, &mut st, simulate_failure).await?;
        let patch = json!({"status": st});
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    Ok(())
}

/// Moves one request one stage forward.
async fn advance(
    client: &Client,
    ns: &str,
    name: &str,
    req: &PublishRequest,
    st: &mut PublishRequestStatus,
    simulate_failure: bool,
) -> Result<()> {
    let source = req
        .spec
        .source
        .as_ref()
        .map(|s| s.name.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or(name.to_string());
    let target = req.spec.target.clone().unwrap_or_default();
    let item = target
        .item
        .map(|i| i.name)
        .filter(|n| !n.is_empty())
        .unwrap_or(format!("{source}-image"));
    let library = target.location.map(|l| l.name).unwrap_or_default();
    if !is(st, "SourceValid", "True") {
        let vms: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            ns,
            &ar(
                "vmoperator.vmware.com",
                VERSION,
                "VirtualMachine",
                "virtualmachines",
            ),
        );
        match vms.get_opt(&source).await? {
            Some(_) => set(&mut st.conditions, "SourceValid", true, "SourceValid", ""),
            None => set(
                &mut st.conditions,
                "SourceValid",
                false,
                "SourceVirtualMachineNotExist",
                &format!("VirtualMachine {source} does not exist in namespace {ns}"),
            ),
        }
        return Ok(());
    }
    if !is(st, "TargetValid", "True") {
        let (ok, reason, message) = check_target(client, ns, &library, &item).await?;
        set(&mut st.conditions, "TargetValid", ok, reason, &message);
        return Ok(());
    }
    if !is(st, "Uploaded", "True") {
        let uploading = Condition::find(&st.conditions, "Uploaded").is_some();
        if !uploading {
            st.attempts += 1;
            st.last_attempt_time = Some(now());
            set(
                &mut st.conditions,
                "Uploaded",
                false,
                "Uploading",
                "uploading the VM's disks to the library",
            );
        } else if simulate_failure {
            set(
                &mut st.conditions,
                "Uploaded",
                false,
                "UploadFailure",
                "simulated upload failure",
            );
            let limit = req.spec.backoff_limit.unwrap_or(3);
            if limit > 0 && st.attempts >= limit {
                set(
                    &mut st.conditions,
                    "Complete",
                    false,
                    "Fatal",
                    &format!("publish attempts limit has been reached: {}", st.attempts),
                );
                st.completion_time = Some(now());
            } else {
                st.attempts += 1;
                st.last_attempt_time = Some(now());
            }
        } else {
            set(&mut st.conditions, "Uploaded", true, "Uploaded", "");
        }
        return Ok(());
    }
    if st.image_name.is_none() {
        let uuid = uuid::Uuid::new_v4().to_string();
        let id = VmiId::for_item(&uuid)?;
        crate::catalog::apply_image(
            client,
            json!({
                "kind": "VirtualMachineImage",
                "metadata": {"name": id.as_str(), "namespace": ns,
                             "labels": {"image.vmoperator.vmware.com/type": "OVF"},
                             "annotations": {PUBLISHED_TO: library, "vmware.com/display-name": item}},
                "spec": {"providerRef": {"apiVersion": "imageregistry.vmware.com/v1alpha2",
                                         "kind": "ContentLibraryItem", "name": format!("clitem-{}", &uuid[..8])}},
                "status": {"name": item, "type": "OVF", "providerItemID": uuid,
                           "productInfo": {"product": format!("published from {source}")},
                           "conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                                           "lastTransitionTime": now()}]}
            }),
        )
        .await?;
        st.image_name = Some(id.to_string());
        set(&mut st.conditions, "ImageAvailable", true, "ImageAvailable", "");
        return Ok(());
    }
    set(&mut st.conditions, "Complete", true, "Complete", "");
    st.ready = true;
    st.completion_time = Some(now());
    Ok(())
}

async fn check_target(
    client: &Client,
    ns: &str,
    library: &str,
    item: &str,
) -> Result<(bool, &'static str, String)> {
    if library.is_empty() {
        return Ok((
            false,
            "TargetContentLibraryNotExist",
            "spec.target.location.name: Required value".into(),
        ));
    }
    let libs: Api<DynamicObject> = libraries(client, ns);
    let Some(obj) = libs.get_opt(library).await? else {
        return Ok((
            false,
            "TargetContentLibraryNotExist",
            format!("ContentLibrary {library} does not exist"),
        ));
    };
    let lib: ContentLibrary = serde_json::from_value(serde_json::to_value(&obj)?)?;
    if !lib.spec.allow_publish {
        return Ok((
            false,
            "TargetContentLibraryNotWritable",
            format!("target location {library} is not writable"),
        ));
    }
    if !lib.is_ready() {
        return Ok((
            false,
            "TargetContentLibraryNotReady",
            format!("target location {library} is not ready"),
        ));
    }
    let images: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        ns,
        &ar(
            "vmoperator.vmware.com",
            VERSION,
            "VirtualMachineImage",
            "virtualmachineimages",
        ),
    );
    let exists = images.list(&ListParams::default()).await?.items.iter().any(|i| {
        i.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(PUBLISHED_TO))
            .map(String::as_str)
            == Some(library)
            && i.data["status"]["name"] == item
    });
    if exists {
        return Ok((
            false,
            "TargetItemAlreadyExists",
            format!("item with name {item} already exists in the content library {library}"),
        ));
    }
    Ok((true, "TargetValid", String::new()))
}

/// The ContentLibraries of `ns`.
fn libraries(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &ar(
            "imageregistry.vmware.com",
            "v1alpha2",
            "ContentLibrary",
            "contentlibraries",
        ),
    )
}

/// A writable, Ready ContentLibrary named `name` in `ns`, optionally the default one.
pub async fn create_library(
    client: &Client,
    ns: &str,
    name: &str,
    writable: bool,
    default: bool,
) -> Result<()> {
    let api: Api<DynamicObject> = libraries(client, ns);
    let mut labels = serde_json::Map::new();
    if default {
        labels.insert(vmimage_shared::api::DEFAULT_LIBRARY_LABEL.into(), json!(""));
    }
    let obj = json!({
        "apiVersion": "imageregistry.vmware.com/v1alpha2", "kind": "ContentLibrary",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"id": uuid::Uuid::new_v4().to_string(), "libraryType": "ContentLibrary", "allowPublish": writable}
    });
    let pp = PatchParams::apply("vmimage-testenv").force();
    api.patch(name, &pp, &Patch::Apply(&obj)).await?;
    let status = json!({"apiVersion": "imageregistry.vmware.com/v1alpha2", "kind": "ContentLibrary",
        "status": {"name": name, "conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "lastTransitionTime": now()}]}});
    api.patch_status(name, &pp, &Patch::Apply(&status)).await?;
    Ok(())
}

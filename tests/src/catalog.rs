//! Loading images into a cluster: a catalog file (what `kubectl get vmi,cvmi -A -o yaml`
//! prints) or N synthetic images. Objects are server-side applied, then their status is
//! written through the status subresource, as VM Operator's controller would.

use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use vmimage_shared::{VmiId, api::ImageKind, catalog::Catalog};

const MANAGER: &str = "vmimage-testenv";
const VERSION: &str = "v1alpha6";

/// The API resource of an image kind, at the version the local CRDs store.
pub fn resource(kind: ImageKind) -> ApiResource {
    let info = kind.info();
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(info.group, VERSION, info.kind),
        info.plural,
    )
}

/// Creates the namespaces the images need (if absent).
pub async fn ensure_namespaces(client: &Client, names: impl IntoIterator<Item = String>) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    for name in names.into_iter().collect::<BTreeSet<_>>() {
        if api.get_opt(&name).await?.is_none() {
            let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
            match api.create(&PostParams::default(), &ns).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// The kind of the image object `obj`, its resource and the API it is written through
/// (namespaced for a VirtualMachineImage).
fn image_api(client: &Client, obj: &Value) -> Result<(ImageKind, ApiResource, Api<DynamicObject>)> {
    let kind: ImageKind = obj["kind"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(anyhow::Error::msg)?;
    let ar = resource(kind);
    let api = match obj["metadata"]["namespace"].as_str() {
        Some(ns) if kind == ImageKind::VirtualMachineImage => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    };
    Ok((kind, ar, api))
}

/// Applies one image object (given as JSON with kind, metadata, spec, status).
pub async fn apply_image(client: &Client, mut obj: Value) -> Result<()> {
    let (kind, ar, api) = image_api(client, &obj)?;
    let name = obj["metadata"]["name"]
        .as_str()
        .context("image without metadata.name")?
        .to_string();
    obj["apiVersion"] = json!(ar.api_version);
    let mut status = obj.as_object_mut().and_then(|o| o.remove("status"));
    if let Some(status) = status.as_mut() {
        complete_conditions(status);
    }
    // Server-managed fields from a `kubectl get -o yaml` dump cannot be applied.
    if let Some(meta) = obj["metadata"].as_object_mut() {
        for f in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
        ] {
            meta.remove(f);
        }
    }
    let pp = PatchParams::apply(MANAGER).force();
    api.patch(&name, &pp, &Patch::Apply(&obj))
        .await
        .with_context(|| format!("applying {kind} {name}"))?;
    if let Some(status) = status {
        let patch = json!({"apiVersion": ar.api_version, "kind": kind.as_str(), "status": status});
        api.patch_status(&name, &pp, &Patch::Apply(&patch))
            .await
            .with_context(|| format!("writing status of {kind} {name}"))?;
    }
    Ok(())
}

/// Fills in the condition fields VM Operator's schema requires and a hand-written
/// catalog may leave out: an empty `message`, a `lastTransitionTime` of now, and for a
/// True condition the reason VM Operator's controllers write (`True`). A False
/// condition without a reason is left for the apiserver to refuse: its cause is unknown.
pub fn complete_conditions(status: &mut Value) {
    let Some(conditions) = status.get_mut("conditions").and_then(Value::as_array_mut) else {
        return;
    };
    for c in conditions.iter_mut().filter_map(Value::as_object_mut) {
        c.entry("message").or_insert_with(|| json!(""));
        c.entry("lastTransitionTime")
            .or_insert_with(|| json!(crate::publisher::now()));
        let empty_reason = c.get("reason").and_then(Value::as_str).is_none_or(str::is_empty);
        if empty_reason && c.get("status").and_then(Value::as_str) == Some("True") {
            c.insert("reason".into(), json!("True"));
        }
    }
}

/// Loads every image of a catalog file.
pub async fn load_file(client: &Client, path: &std::path::Path) -> Result<usize> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let catalog = Catalog::parse(&path.display().to_string(), &text)?;
    let objects: Vec<Value> = catalog
        .images
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    load_objects(client, objects).await
}

/// Applies image objects with bounded parallelism, creating namespaces first.
pub async fn load_objects(client: &Client, objects: Vec<Value>) -> Result<usize> {
    load_objects_with(client, objects, 32).await
}

/// Like [`load_objects`], with `in_flight` requests at once.
pub async fn load_objects_with(client: &Client, objects: Vec<Value>, in_flight: usize) -> Result<usize> {
    write_all(client, objects, in_flight, apply_image).await
}

/// Writes `objects` with `write`, `in_flight` at once, after creating their namespaces.
async fn write_all<'c, F, Fut>(
    client: &'c Client,
    objects: Vec<Value>,
    in_flight: usize,
    write: F,
) -> Result<usize>
where
    F: Fn(&'c Client, Value) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let namespaces = objects
        .iter()
        .filter(|o| o["kind"] == "VirtualMachineImage")
        .filter_map(|o| o["metadata"]["namespace"].as_str().map(str::to_string));
    ensure_namespaces(client, namespaces).await?;
    let n = objects.len();
    stream::iter(objects.into_iter().map(|o| write(client, o)))
        .buffer_unordered(in_flight)
        .try_collect::<()>()
        .await?;
    Ok(n)
}

/// Creates image objects that do not exist yet (the benchmark's synthetic catalog), with
/// `in_flight` requests at once. Cheaper for the apiserver than [`load_objects`]'s
/// server-side apply: a plain create, then the status written through the status
/// subresource (VM Operator's CRDs enable it, so a create drops `status`) as an update of
/// the object the create returned, with no field-ownership merge either time.
pub async fn create_objects(client: &Client, objects: Vec<Value>, in_flight: usize) -> Result<usize> {
    write_all(client, objects, in_flight, create_image).await
}

async fn create_image(client: &Client, mut obj: Value) -> Result<()> {
    let (kind, ar, api) = image_api(client, &obj)?;
    obj["apiVersion"] = json!(ar.api_version);
    let status = obj.as_object_mut().and_then(|o| o.remove("status"));
    let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let object: DynamicObject = serde_json::from_value(obj)?;
    // A loaded apiserver sometimes drops a connection mid-request: try again, a few
    // times, from what the apiserver holds (a retried create may find its own object).
    let mut created = None;
    for attempt in 0..5 {
        match api.create(&PostParams::default(), &object).await {
            Ok(o) => created = Some(o),
            Err(kube::Error::Api(e)) if e.code == 409 && attempt > 0 => {
                created = get_again(&api, &name).await?
            }
            Err(e) if attempt < 4 && !matches!(e, kube::Error::Api(_)) => continue,
            Err(e) => return Err(anyhow::Error::new(e).context(format!("creating {kind} {name}"))),
        }
        break;
    }
    let mut created =
        created.with_context(|| format!("creating {kind} {name}: not found after creating it"))?;
    if let Some(mut status) = status {
        complete_conditions(&mut status);
        for attempt in 0..5 {
            created.data["status"] = status.clone();
            match api.replace_status(&name, &PostParams::default(), &created).await {
                Ok(_) => break,
                Err(e) if attempt < 4 => {
                    tracing::debug!("writing status of {kind} {name} again: {e}");
                    created = get_again(&api, &name)
                        .await?
                        .with_context(|| format!("writing status of {kind} {name}: it is gone"))?;
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!("writing status of {kind} {name}")));
                }
            }
        }
    }
    Ok(())
}

/// `name` as the apiserver holds it, read again after a failed write: a dropped
/// connection (a loaded apiserver resets some) is retried a few times, as the writes are.
async fn get_again(api: &Api<DynamicObject>, name: &str) -> Result<Option<DynamicObject>> {
    let mut attempt = 0;
    loop {
        match api.get_opt(name).await {
            Ok(found) => return Ok(found),
            Err(e) if attempt < 4 && !matches!(e, kube::Error::Api(_)) => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {name} again"))),
        }
    }
}

/// `n` synthetic images: spread over `namespaces` namespaced scopes plus the cluster,
/// with realistic display names, a few duplicates and not-Ready images.
pub fn synthetic(n: usize, namespaces: usize) -> Vec<Value> {
    synthetic_range(0..n, namespaces)
}

/// The synthetic images numbered `range` (so a catalog can be grown in steps).
pub fn synthetic_range(range: std::ops::Range<usize>, namespaces: usize) -> Vec<Value> {
    let families = [
        ("ubuntu", "ubuntu64Guest"),
        ("photon", "vmwarePhoton64Guest"),
        ("rhel", "rhel9_64Guest"),
        ("debian", "debian12_64Guest"),
    ];
    range
        .map(|i| {
            let (family, os_id) = families[i % families.len()];
            let uuid = uuid::Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0000u128 + i as u128);
            let id = VmiId::for_item(&uuid.to_string()).expect("generated UUIDs are valid");
            let version = format!("{}.{}.{}", 20 + i % 7, i % 12, i / 1000);
            let ready = i % 50 != 7;
            let (kind, ns) = if namespaces == 0 || i % 2 == 0 {
                ("ClusterVirtualMachineImage", None)
            } else {
                ("VirtualMachineImage", Some(format!("team-{}", i % namespaces)))
            };
            let mut metadata = json!({"name": id.as_str(), "labels": {
                "image.vmoperator.vmware.com/type": "OVF",
                "os.image.vmoperator.vmware.com/id": os_id,
            }});
            if let Some(ns) = ns {
                metadata["namespace"] = json!(ns);
            }
            json!({
                "kind": kind,
                "metadata": metadata,
                "spec": {"providerRef": {"apiVersion": "imageregistry.vmware.com/v1alpha2", "kind": "ContentLibraryItem", "name": format!("clitem-{i}")}},
                "status": {
                    "name": format!("{family}-{version}"),
                    "type": "OVF",
                    "providerItemID": uuid.to_string(),
                    "productInfo": {"product": family, "version": version},
                    "osInfo": {"id": os_id, "type": "linux", "version": version},
                    "conditions": [if ready {
                        json!({"type": "Ready", "status": "True", "reason": "True", "message": "",
                               "lastTransitionTime": "2026-01-01T00:00:00Z"})
                    } else {
                        json!({"type": "Ready", "status": "False", "reason": "VirtualMachineImageNotSynced",
                               "message": "content library item is not synced yet",
                               "lastTransitionTime": "2026-01-01T00:00:00Z"})
                    }]
                }
            })
        })
        .collect()
}

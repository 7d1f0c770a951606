//! A simulated VM Operator publisher, for local use only (demo and tests: there is no
//! vSphere here). Each tick is one reconcile of VM Operator's
//! VirtualMachinePublishRequest controller, persisted as that controller persists it, so
//! clients see exactly the states a Supervisor cluster shows (domain.md, Publishing):
//!
//! 1. `startTime`, `sourceRef`, `targetRef`; the target library is looked up
//!    (TargetContentLibraryNotExist); the source VM and the target are validated
//!    (SourceValid, TargetValid True, or their failure reasons); `attempts` 1 and
//!    `lastAttemptTime`: the upload task is submitted.
//! 2. The task is seen one state per tick: `Uploaded` False `NotStarted`, `Queued`,
//!    `Uploading`, with `Complete` False `HasNotBeenUploaded`.
//! 3. The task succeeds: `Uploaded` True, `ImageAvailable` False
//!    `VirtualMachineImageNotFound`, `Complete` False `ImageUnavailable`. The library sync
//!    then creates the new VirtualMachineImage (its ID derives from the item UUID).
//! 4. `ImageAvailable` True, `imageName`, `Complete` True, `ready`, `completionTime`;
//!    the request is deleted `ttlSecondsAfterFinished` later.
//!
//! A failed task marks `Uploaded` False `UploadFailure` and, in the same reconcile, either
//! submits the next attempt or, at `backoffLimit`, marks `Complete` False `Fatal`.
//! What is not simulated: the finalizer, the VM's `status.uniqueID` check (nothing
//! creates VMs here), quotas and encryption.
//!
//! Fault injection: annotation `vmimage.io/simulate: upload-failure` makes every upload
//! task fail. Requests in a namespace labelled [`MANUAL_LABEL`]`=true` are left alone,
//! for tests that write VM Operator's states by hand.

use anyhow::Result;
use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams},
};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use std::time::Duration;
use vmimage_shared::{
    VmiId,
    api::{Condition, ContentLibrary, PublishRequest, PublishRequestStatus},
};

const VERSION: &str = "v1alpha6";
/// Annotation on the new image naming the library it was published to.
pub const PUBLISHED_TO: &str = "vmimage.io/published-to";
/// Namespace label: the simulated publisher leaves that namespace's requests alone.
pub const MANUAL_LABEL: &str = "vmimage.io/publish-by-hand";
/// The message of a simulated failed upload task.
pub const SIMULATED_FAILURE: &str = "simulated upload failure (annotation vmimage.io/simulate)";

fn ar(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn requests_resource() -> ApiResource {
    ar(
        "vmoperator.vmware.com",
        VERSION,
        "VirtualMachinePublishRequest",
        "virtualmachinepublishrequests",
    )
}

fn images(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &ar(
            "vmoperator.vmware.com",
            VERSION,
            "VirtualMachineImage",
            "virtualmachineimages",
        ),
    )
}

/// Now, as Kubernetes writes times (RFC 3339, whole seconds, UTC).
pub fn now() -> String {
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

/// Sets a condition as VM Operator's `conditions.Set` does: the transition time changes
/// only when status, reason or message do; the list stays sorted by type (Ready first).
fn set(conditions: &mut Vec<Condition>, type_: &str, ok: bool, reason: &str, message: &str) {
    let c = Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_transition_time: Some(now()),
        observed_generation: None,
    };
    match conditions.iter_mut().find(|x| x.type_ == type_) {
        Some(x) if x.status == c.status && x.reason == c.reason && x.message == c.message => {}
        Some(x) => *x = c,
        None => conditions.push(c),
    }
    conditions
        .sort_by(|a, b| (a.type_ != "Ready", a.type_.as_str()).cmp(&(b.type_ != "Ready", b.type_.as_str())));
}

/// VM Operator's `MarkTrue`: reason `True`, empty message.
fn mark_true(conditions: &mut Vec<Condition>, type_: &str) {
    set(conditions, type_, true, "True", "");
}

fn is_true(status: &PublishRequestStatus, type_: &str) -> bool {
    Condition::find(&status.conditions, type_).is_some_and(Condition::is_true)
}

fn reason<'a>(status: &'a PublishRequestStatus, type_: &str) -> &'a str {
    Condition::find(&status.conditions, type_)
        .and_then(|c| c.reason.as_deref())
        .unwrap_or_default()
}

/// One pass over every request.
pub async fn pass(client: &Client) -> Result<()> {
    let all: Api<DynamicObject> = Api::all_with(client.clone(), &requests_resource());
    let by_hand: std::collections::BTreeSet<String> =
        Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
            .list_metadata(&ListParams::default().labels(&format!("{MANUAL_LABEL}=true")))
            .await?
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect();
    for obj in all.list(&ListParams::default()).await?.items {
        let ns = obj.metadata.namespace.clone().unwrap_or_default();
        if by_hand.contains(&ns) {
            continue;
        }
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &requests_resource());
        let req: PublishRequest = serde_json::from_value(serde_json::to_value(&obj)?)?;
        let name = req.metadata.name.clone().unwrap_or_default();
        let st = req.status.clone().unwrap_or_default();
        if reason(&st, "Complete") == "Fatal" {
            continue;
        }
        if is_true(&st, "Complete") {
            if let (Some(done), Some(ttl)) = (&st.completion_time, req.spec.ttl_seconds_after_finished) {
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
        let mut r = Reconcile::new(client, &ns, &obj, req);
        r.run().await?;
        let patch = json!({"status": r.status_patch()?});
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        // The library sync: once the item is uploaded, its VirtualMachineImage appears
        // (after this reconcile has seen it missing, as on a real cluster).
        if is_true(&r.st, "Uploaded") && !is_true(&r.st, "ImageAvailable") {
            r.sync_image().await?;
        }
    }
    Ok(())
}

/// One reconcile of one request.
struct Reconcile<'a> {
    client: &'a Client,
    ns: &'a str,
    uid: String,
    simulate_failure: bool,
    req: PublishRequest,
    st: PublishRequestStatus,
    source_ref: Value,
    target_ref: Value,
}

impl<'a> Reconcile<'a> {
    fn new(client: &'a Client, ns: &'a str, obj: &DynamicObject, req: PublishRequest) -> Self {
        let simulate_failure = obj
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("vmimage.io/simulate"))
            .is_some_and(|v| v == "upload-failure");
        let status = &obj.data["status"];
        Self {
            client,
            ns,
            uid: obj.metadata.uid.clone().unwrap_or_default(),
            simulate_failure,
            st: req.status.clone().unwrap_or_default(),
            source_ref: status["sourceRef"].clone(),
            target_ref: status["targetRef"].clone(),
            req,
        }
    }

    fn status_patch(&self) -> Result<Value> {
        let mut v = serde_json::to_value(&self.st)?;
        v["sourceRef"] = self.source_ref.clone();
        v["targetRef"] = self.target_ref.clone();
        Ok(v)
    }

    fn source(&self) -> String {
        self.source_ref["name"].as_str().unwrap_or_default().to_string()
    }

    fn item(&self) -> String {
        self.target_ref["item"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn library(&self) -> String {
        self.target_ref["location"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The activation ID of the current attempt's task, as VM Operator forms it.
    fn act_id(&self) -> String {
        format!("{}-{}", self.uid, self.st.attempts)
    }

    /// The uploaded item's UUID: derived from the task's activation ID, so every tick
    /// (and a restarted publisher) finds the same item.
    fn item_uuid(&self) -> String {
        let digest = Sha1::digest(self.act_id().as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }

    async fn run(&mut self) -> Result<()> {
        if self.st.start_time.is_none() {
            self.st.start_time = Some(now());
        }
        self.fill_refs();
        let Some(library) = self.target_library().await? else {
            return Ok(());
        };
        if self.task_done_or_absent() {
            return self.publish(&library).await;
        }
        self.check_image_available().await?;
        self.check_complete();
        Ok(())
    }

    /// `status.sourceRef` and `status.targetRef`, set once from the spec's defaults.
    fn fill_refs(&mut self) {
        let name = self.req.metadata.name.clone().unwrap_or_default();
        if self.source_ref.is_null() {
            let source = self
                .req
                .spec
                .source
                .as_ref()
                .map(|s| s.name.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or(name);
            self.source_ref = json!({"name": source});
        }
        if self.target_ref.is_null() {
            let target = self.req.spec.target.clone().unwrap_or_default();
            let item = target.item.clone().unwrap_or_default();
            let item_name = Some(item.name)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("{}-image", self.source()));
            let mut item_ref = json!({"name": item_name});
            if !item.description.is_empty() {
                item_ref["description"] = json!(item.description);
            }
            self.target_ref = json!({"item": item_ref, "location": target.location.unwrap_or_default()});
        }
    }

    /// The target library, or None after marking TargetValid False (VM Operator looks it
    /// up before anything else).
    async fn target_library(&mut self) -> Result<Option<ContentLibrary>> {
        let library = self.library();
        if library.is_empty() {
            set(
                &mut self.st.conditions,
                "TargetValid",
                false,
                "TargetContentLibraryNotExist",
                "spec.target.location.name: Required value",
            );
            return Ok(None);
        }
        match libraries(self.client, self.ns).get_opt(&library).await? {
            Some(obj) => Ok(Some(serde_json::from_value(serde_json::to_value(&obj)?)?)),
            None => {
                set(
                    &mut self.st.conditions,
                    "TargetValid",
                    false,
                    "TargetContentLibraryNotExist",
                    &format!("contentlibraries.imageregistry.vmware.com {library:?} not found"),
                );
                Ok(None)
            }
        }
    }

    /// VM Operator's checkPubReqStatusAndShouldRepublish: advances the current task one
    /// state (NotStarted, Queued, Uploading, then success or failure) and says whether a
    /// (new) publish attempt is due.
    fn task_done_or_absent(&mut self) -> bool {
        if self.st.attempts == 0 {
            return true;
        }
        if is_true(&self.st, "Uploaded") {
            return false;
        }
        let task = reason(&self.st, "Uploaded").to_string();
        let c = &mut self.st.conditions;
        match task.as_str() {
            "" | "UploadFailure" => {
                set(
                    c,
                    "Uploaded",
                    false,
                    "NotStarted",
                    "VM Publish task hasn't started.",
                );
            }
            "NotStarted" => set(c, "Uploaded", false, "Queued", "VM Publish task is queued."),
            "Queued" => set(
                c,
                "Uploaded",
                false,
                "Uploading",
                "Uploading item to content library.",
            ),
            _ if self.simulate_failure => {
                set(c, "Uploaded", false, "UploadFailure", SIMULATED_FAILURE);
                return true;
            }
            _ => mark_true(c, "Uploaded"),
        }
        false
    }

    /// VM Operator's publishVirtualMachine: validates source and target, then submits an
    /// attempt, or marks Complete Fatal at backoffLimit.
    async fn publish(&mut self, library: &ContentLibrary) -> Result<()> {
        if !self.check_source().await? || !self.check_target(library).await? {
            return Ok(());
        }
        let limit = self.req.spec.backoff_limit.unwrap_or(3);
        if limit != 0 && self.st.attempts >= limit {
            let message = format!("publish attempts limit has been reached: {}", self.st.attempts);
            set(&mut self.st.conditions, "Complete", false, "Fatal", &message);
            return Ok(());
        }
        self.st.attempts += 1;
        self.st.last_attempt_time = Some(now());
        Ok(())
    }

    async fn check_source(&mut self) -> Result<bool> {
        let source = self.source();
        let vms: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            self.ns,
            &ar(
                "vmoperator.vmware.com",
                VERSION,
                "VirtualMachine",
                "virtualmachines",
            ),
        );
        if vms.get_opt(&source).await?.is_none() {
            set(
                &mut self.st.conditions,
                "SourceValid",
                false,
                "SourceVirtualMachineNotExist",
                &format!("virtualmachines.vmoperator.vmware.com {source:?} not found"),
            );
            return Ok(false);
        }
        mark_true(&mut self.st.conditions, "SourceValid");
        Ok(true)
    }

    async fn check_target(&mut self, lib: &ContentLibrary) -> Result<bool> {
        let library = lib
            .status
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.library());
        let item = self.item();
        let failure = if !lib.spec.allow_publish {
            Some((
                "TargetContentLibraryNotWritable",
                format!("target location {library} is not writable"),
            ))
        } else if !lib.is_ready() {
            Some((
                "TargetContentLibraryNotReady",
                format!("target location {library} is not ready"),
            ))
        } else if self.item_exists(&item).await? {
            Some((
                "TargetItemAlreadyExists",
                format!("item with name {item} already exists in the content library {library}"),
            ))
        } else {
            None
        };
        match failure {
            Some((reason, message)) => {
                set(&mut self.st.conditions, "TargetValid", false, reason, &message);
                Ok(false)
            }
            None => {
                mark_true(&mut self.st.conditions, "TargetValid");
                Ok(true)
            }
        }
    }

    /// Whether the library already holds an item of that name (one published earlier:
    /// the simulated library is the set of images annotated with it).
    async fn item_exists(&self, item: &str) -> Result<bool> {
        let library = self.library();
        Ok(images(self.client, self.ns)
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .any(|i| {
                i.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(PUBLISHED_TO))
                    .is_some_and(|l| *l == library)
                    && i.data["status"]["name"] == item
            }))
    }

    /// VM Operator's checkIsImageAvailable: the image whose providerItemID is the item.
    async fn check_image_available(&mut self) -> Result<()> {
        if !is_true(&self.st, "Uploaded") || is_true(&self.st, "ImageAvailable") {
            return Ok(());
        }
        let uuid = self.item_uuid();
        let found = images(self.client, self.ns)
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .find(|i| i.data["status"]["providerItemID"] == uuid.as_str());
        match found {
            Some(image) => {
                self.st.image_name = image.metadata.name;
                mark_true(&mut self.st.conditions, "ImageAvailable");
            }
            None => set(
                &mut self.st.conditions,
                "ImageAvailable",
                false,
                "VirtualMachineImageNotFound",
                "VirtualMachineImage not found",
            ),
        }
        Ok(())
    }

    /// VM Operator's checkIsComplete.
    fn check_complete(&mut self) {
        let (uploaded, available) = (is_true(&self.st, "Uploaded"), is_true(&self.st, "ImageAvailable"));
        let c = &mut self.st.conditions;
        if !uploaded {
            set(
                c,
                "Complete",
                false,
                "HasNotBeenUploaded",
                "item hasn't been uploaded yet",
            );
        } else if !available {
            set(
                c,
                "Complete",
                false,
                "ImageUnavailable",
                "VirtualMachineImage is not available",
            );
        } else {
            mark_true(c, "Complete");
            self.st.ready = true;
            self.st.completion_time = Some(now());
        }
    }

    /// The library sync a real cluster runs: the uploaded item becomes a
    /// VirtualMachineImage in the request's namespace.
    async fn sync_image(&self) -> Result<()> {
        let uuid = self.item_uuid();
        let id = VmiId::for_item(&uuid)?;
        let (item, library) = (self.item(), self.library());
        crate::catalog::apply_image(
            self.client,
            json!({
                "kind": "VirtualMachineImage",
                "metadata": {"name": id.as_str(), "namespace": self.ns,
                             "labels": {"image.vmoperator.vmware.com/type": "OVF"},
                             "annotations": {PUBLISHED_TO: library, "vmware.com/display-name": item}},
                "spec": {"providerRef": {"apiVersion": "imageregistry.vmware.com/v1alpha2",
                                         "kind": "ContentLibraryItem", "name": format!("clitem-{}", &uuid[..8])}},
                "status": {"name": item, "type": "OVF", "providerItemID": uuid,
                           "productInfo": {"product": format!("published from {}", self.source())},
                           "conditions": [{"type": "Ready", "status": "True", "reason": "True",
                                           "message": "", "lastTransitionTime": now()}]}
            }),
        )
        .await
    }
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

/// A Ready ContentLibrary named `name` in `ns`, writable or not, optionally the default one.
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
        "status": {"name": name, "conditions": [{"type": "Ready", "status": "True", "reason": "True",
                                                 "message": "", "lastTransitionTime": now()}]}});
    api.patch_status(name, &pp, &Patch::Apply(&status)).await?;
    Ok(())
}

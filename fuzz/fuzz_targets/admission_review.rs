//! Any bytes POSTed to `/mutate`: the answer is a 200 AdmissionReview or a 400 with a
//! reason, never a panic or a 5xx; a patch in the answer applies to the request's object.
//!
//! The webhook's state is the sample catalog, synced, with policies in every mode; its
//! live reader answers from the same catalog (and its two content libraries).

#![no_main]

use axum::{body::Bytes, extract::State};
use base64::Engine;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use std::{collections::BTreeMap, sync::Arc, sync::OnceLock};
use vmimage_shared::{
    api::{ImageKind, ImageRef, VmImageRefs},
    index::ImageEntry,
    library::Libraries,
    policy::Policy,
};
use vmimage_webhook::{
    admission::mutate,
    index_sync::Readiness,
    live::{LiveError, LiveReader},
    metrics::Metrics,
    policies::PolicySet,
    state::AppState,
};

/// Answers live reads from the sample catalog.
struct CatalogReader;

impl LiveReader for CatalogReader {
    fn images<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Result<Vec<ImageEntry>, LiveError>> {
        let entries = vmimage_fuzz::index()
            .iter()
            .filter(|e| e.scope.namespace().is_none_or(|ns| ns == namespace))
            .map(|e| (**e).clone())
            .collect();
        Box::pin(async move { Ok(entries) })
    }

    fn namespace_labels<'a>(
        &'a self,
        _namespace: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, LiveError>> {
        Box::pin(async { Ok(Some(BTreeMap::new())) })
    }

    fn policies(&self) -> BoxFuture<'_, Result<Vec<Policy>, LiveError>> {
        Box::pin(async { Ok(vmimage_fuzz::policies()) })
    }

    fn libraries<'a>(&'a self, images: &'a [Arc<ImageEntry>]) -> BoxFuture<'a, Result<Libraries, LiveError>> {
        Box::pin(async move { Ok(vmimage_fuzz::libraries().link(images)) })
    }
}

fn state() -> &'static AppState {
    static STATE: OnceLock<AppState> = OnceLock::new();
    STATE.get_or_init(|| {
        let readiness = Readiness::default();
        readiness.set(ImageKind::VirtualMachineImage, true);
        readiness.set(ImageKind::ClusterVirtualMachineImage, true);
        readiness.set_policies(true);
        let mut state = AppState::new(Arc::new(CatalogReader), Arc::new(Metrics::new()));
        *state.index.write() = vmimage_fuzz::index().clone();
        *state.policies.write() = PolicySet::from_policies(vmimage_fuzz::policies());
        state.readiness = readiness;
        // NB: a miss is settled by the (instant) catalog reader, not by waiting for a watch.
        state.misses.grace = std::time::Duration::ZERO;
        state
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let response = runtime().block_on(mutate(State(state().clone()), Bytes::copy_from_slice(data)));
    let status = response.status();
    assert!(status == 200 || status == 400, "answered {status}");
    if status != 200 {
        return;
    }
    let body = runtime()
        .block_on(response.into_body().collect())
        .expect("the body is in memory")
        .to_bytes();
    let review: serde_json::Value = serde_json::from_slice(&body).expect("a 200 carries JSON");
    let answer = &review["response"];
    assert!(answer["uid"].is_string(), "no uid in {review}");
    assert!(answer["allowed"].is_boolean(), "no allowed in {review}");
    // Kubernetes JSON carries the patch ([]byte) as a base64 string.
    let patch: Option<Vec<u8>> = match &answer["patch"] {
        serde_json::Value::Null => None,
        serde_json::Value::String(b64) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("the patch is base64"),
        ),
        other => panic!("the patch is not a base64 string: {other}"),
    };
    if let Some(patch) = patch {
        let patch: json_patch::Patch = serde_json::from_slice(&patch).expect("the patch is a JSON Patch");
        // NB: serde skips unknown fields without checking their strings, so a review can
        // be read while a field vmimage ignores holds bytes a full parse refuses (a bad
        // \u escape, say); the apiserver never sends those. Such a review is not checked.
        let Ok(request) = serde_json::from_slice::<serde_json::Value>(data) else {
            return;
        };
        let mut object = request["request"]["object"].clone();
        json_patch::patch(&mut object, &patch).expect("the patch applies to the request's object");
        every_written_image_exists(
            &request["request"]["object"],
            &object,
            request["request"]["namespace"].as_str().unwrap_or_default(),
        );
    }
});

/// A patched VM names only images that exist, except references the webhook left as
/// written: it never writes a reference it did not resolve. Giving an empty CD-ROM kind
/// VM Operator's default (`VirtualMachineImage`) is not a resolution (found by fuzzing:
/// a CD-ROM `image: {}` gets its kind and keeps its empty name).
fn every_written_image_exists(original: &serde_json::Value, patched: &serde_json::Value, request_ns: &str) {
    let before = VmImageRefs::from_json(original).ok();
    let after = VmImageRefs::from_json(patched).expect("a patched VirtualMachine reads");
    let ns = if after.namespace.is_empty() {
        request_ns
    } else {
        &after.namespace
    };
    let as_written = |index: Option<usize>, image: &ImageRef| {
        let Some(before) = &before else { return false };
        let old = match index {
            None => before.image.as_ref(),
            Some(i) => before.cdroms.get(i).and_then(|c| c.image.as_ref()),
        };
        old.is_some_and(|old| {
            let kind = if old.kind.is_empty() && index.is_some() {
                "VirtualMachineImage"
            } else {
                old.kind.as_str()
            };
            old.name == image.name && kind == image.kind
        })
    };
    let images = after.image.iter().map(|i| (None, i)).chain(
        after
            .cdroms
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.image.as_ref().map(|image| (Some(i), image))),
    );
    for (index, image) in images {
        if as_written(index, image) {
            continue;
        }
        let scope = match image.kind.as_str() {
            "VirtualMachineImage" => Some(ns),
            "ClusterVirtualMachineImage" => None,
            other => panic!("patched to an image of kind {other:?}"),
        };
        assert!(
            vmimage_fuzz::index().get(scope, &image.name).is_some(),
            "patched to an image that does not exist: {image:?} (namespace {ns})"
        );
    }
}

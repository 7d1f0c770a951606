//! AdmissionReviews nested deeper than serde_json reads by default.
//!
//! serde_json stops at 128 levels of nesting (a guard against stack overflow) and the
//! handler then answers 400, which the user sees as an `InternalError … rejected our
//! request for an unknown reason`. The apiserver itself accepts objects nested up to
//! 10,000 levels (Go's JSON decoder's limit), e.g. in a field kept with
//! `x-kubernetes-preserve-unknown-fields`. So every body is first measured by an
//! iterative scan (no recursion, one pass); the few deeper than [`READ_LIMIT`] are read
//! here, without serde_json's limit and on a stack of their own, and answered:
//!
//! - anything but a VirtualMachine CREATE or UPDATE, and an UPDATE that leaves the image
//!   fields alone, is allowed, as the handler would (so such a VM's finalizers can still
//!   be removed);
//! - a CREATE, or an UPDATE that changes an image field, is denied with the field that
//!   nests too deep and what to do.

use crate::{metrics::Decision, state::AppState};
use axum::{
    Json,
    body::{Body, Bytes},
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::de::Deserialize;
use serde_json::{Value, json};
use std::time::Instant;
use vmimage_shared::api::{GROUP, VIRTUAL_MACHINE};

/// The deepest nesting serde_json's default reader accepts (its counter starts at 128 and
/// fails when it reaches 0).
pub const READ_LIMIT: usize = 127;
/// The deepest nesting the apiserver decodes (Go's `encoding/json` limit); no review it
/// sends is deeper.
pub const APISERVER_LIMIT: usize = 10_000;
/// The stack a deep review is read and dropped on: serde_json recurses (and `Value`
/// drops recursively) once per level, well under 1 KiB per level even in debug builds.
const STACK: usize = 32 * 1024 * 1024;
/// Path segments shown in a denial before the rest are counted.
const SHOWN: usize = 6;

/// How deep a JSON text nests, and where it first goes deeper than a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Depth {
    /// The deepest nesting of arrays and objects.
    pub max: usize,
    /// The keys (array indexes as numbers) down to the first container deeper than the
    /// limit, from the top of the text.
    pub path: Vec<String>,
}

/// Measures `text` without recursion; `path` is filled once nesting exceeds `limit`.
/// Not a validator: malformed JSON is measured as far as it goes, and left to the reader.
pub fn measure(text: &[u8], limit: usize) -> Depth {
    enum Frame {
        Object { key: String },
        Array { index: usize },
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut max = 0;
    let mut path = Vec::new();
    // Inside an object, whether the next string is a key.
    let mut expect_key = false;
    let mut bytes = text.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'{' | b'[' => {
                stack.push(if b == b'{' {
                    Frame::Object { key: String::new() }
                } else {
                    Frame::Array { index: 0 }
                });
                expect_key = b == b'{';
                max = max.max(stack.len());
                if stack.len() > limit && path.is_empty() {
                    path = stack[..stack.len() - 1]
                        .iter()
                        .map(|f| match f {
                            Frame::Object { key } => key.clone(),
                            Frame::Array { index } => index.to_string(),
                        })
                        .collect();
                }
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { .. }) => expect_key = true,
                None => {}
            },
            b'"' => {
                let mut raw = Vec::new();
                while let Some(c) = bytes.next() {
                    match c {
                        b'"' => break,
                        b'\\' => {
                            raw.push(c);
                            raw.extend(bytes.next());
                        }
                        _ => raw.push(c),
                    }
                }
                if expect_key && let Some(Frame::Object { key }) = stack.last_mut() {
                    *key = String::from_utf8_lossy(&raw).into_owned();
                    expect_key = false;
                }
            }
            _ => {}
        }
    }
    Depth { max, path }
}

/// Passes reviews serde_json can read to the handler and answers the deeper ones.
/// `max_body_bytes` (`--max-body-bytes`) bounds what is buffered: larger bodies get 413.
pub async fn guard(
    State((state, max_body_bytes)): State<(AppState, usize)>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = match buffer(body, max_body_bytes).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let depth = measure(&body, READ_LIMIT);
    if depth.max <= READ_LIMIT {
        return next.run(Request::from_parts(parts, Body::from(body))).await;
    }
    let started = Instant::now();
    if depth.max > APISERVER_LIMIT {
        tracing::warn!(
            depth = depth.max,
            "AdmissionReview nested deeper than the apiserver decodes"
        );
        state
            .metrics
            .admission(Decision::Error, "UnreadableReview", started.elapsed());
        let reason = format!(
            "malformed AdmissionReview: nested {} levels, deeper than the {APISERVER_LIMIT} the apiserver decodes\n",
            depth.max
        );
        return (StatusCode::BAD_REQUEST, reason).into_response();
    }
    let answered = tokio::task::spawn_blocking(move || stacker::grow(STACK, || answer(&body, &depth))).await;
    match answered {
        Ok(Ok((review, decision, reason))) => {
            state.metrics.admission(decision, reason, started.elapsed());
            Json(review).into_response()
        }
        Ok(Err(e)) => {
            state
                .metrics
                .admission(Decision::Error, "UnreadableReview", started.elapsed());
            let reason = format!("malformed AdmissionReview: {}\n", crate::log_text::json_error(&e));
            (StatusCode::BAD_REQUEST, reason).into_response()
        }
        Err(_) => {
            state
                .metrics
                .admission(Decision::Error, "UnreadableReview", started.elapsed());
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the review could not be read\n",
            )
                .into_response()
        }
    }
}

/// The whole body, or the answer when it is too large or could not be read.
async fn buffer(body: Body, max_body_bytes: usize) -> Result<Bytes, Response> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                format!("the request body could not be read: {e}\n"),
            )
                .into_response()
        })?;
        if buf.len() + chunk.len() > max_body_bytes {
            let reason =
                format!("the AdmissionReview is larger than --max-body-bytes ({max_body_bytes} bytes)\n");
            return Err((StatusCode::PAYLOAD_TOO_LARGE, reason).into_response());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.into())
}

type Answer = (Value, Decision, &'static str);

/// Reads a deep review (on the grown stack; the parsed value is dropped there too).
fn answer(body: &Bytes, depth: &Depth) -> Result<Answer, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    de.disable_recursion_limit();
    let review = Value::deserialize(&mut de)?;
    de.end()?;
    let request = &review["request"];
    let uid = request["uid"].as_str().unwrap_or_default();
    let is_vm = request["kind"]["group"] == GROUP
        && request["kind"]["kind"] == VIRTUAL_MACHINE.kind
        && request["subResource"].as_str().is_none_or(str::is_empty);
    let operation = request["operation"].as_str().unwrap_or_default();
    let allow = |reason| {
        let response = json!({"uid": uid, "allowed": true});
        (review_of(response), Decision::Allowed, reason)
    };
    let answered = match operation {
        "CREATE" | "UPDATE" if !is_vm => allow("NotAVirtualMachineWrite"),
        "UPDATE" if same_images(&request["oldObject"], &request["object"]) => {
            tracing::debug!(
                depth = depth.max,
                decision = "allowed",
                "deep UPDATE leaves the image fields alone"
            );
            allow("ImagesUnchanged")
        }
        "CREATE" | "UPDATE" => {
            let message = too_deep(depth);
            tracing::info!(depth = depth.max, decision = "denied", reason = "TooDeep", message = %crate::log_text::Untrusted(&message), "VirtualMachine denied");
            let response = json!({
                "uid": uid,
                "allowed": false,
                "status": {"status": "Failure", "code": 403, "reason": "Forbidden", "message": message},
            });
            (review_of(response), Decision::Denied, "TooDeep")
        }
        _ => allow("NotAVirtualMachineWrite"),
    };
    drop(review);
    Ok(answered)
}

fn review_of(response: Value) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
}

/// Whether two versions of a VM name the same images (`spec.imageName`, `spec.image`,
/// `spec.hardware.cdrom[].image`), the fields the handler compares.
fn same_images(old: &Value, new: &Value) -> bool {
    let cdrom_images = |vm: &Value| -> Vec<Value> {
        vm.pointer("/spec/hardware/cdrom")
            .and_then(Value::as_array)
            .map(|cdroms| cdroms.iter().map(|c| c["image"].clone()).collect())
            .unwrap_or_default()
    };
    old.is_object()
        && old.pointer("/spec/imageName") == new.pointer("/spec/imageName")
        && old.pointer("/spec/image") == new.pointer("/spec/image")
        && cdrom_images(old) == cdrom_images(new)
}

/// The denial: which field, how deep, and what to do.
fn too_deep(depth: &Depth) -> String {
    // The path runs from the review: `request`, `object` (or `oldObject`), then the VM's
    // fields; the object itself is at depth 3, so its field number k at depth 3 + k.
    let shown: Vec<&str> = depth
        .path
        .iter()
        .skip(2)
        .take(SHOWN)
        .map(String::as_str)
        .collect();
    let below = depth.max.saturating_sub(3 + shown.len());
    format!(
        "vmimage cannot resolve the images of this VirtualMachine: {} nests {below} levels deeper, past \
         the {} levels of an object vmimage reads (this one nests {}); flatten that field, or keep deeply \
         nested data out of the VirtualMachine (in a ConfigMap or Secret)",
        crate::log_text::Untrusted(&shown.join(".")),
        READ_LIMIT - 3,
        depth.max - 3,
    )
}

#[cfg(test)]
mod tests;

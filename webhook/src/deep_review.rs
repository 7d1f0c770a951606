//! AdmissionReviews nested deeper than serde_json reads by default.
//!
//! serde_json stops at 128 levels of nesting (a guard against stack overflow) and the
//! handler would then answer 400, which the user sees as an `InternalError … rejected
//! our request for an unknown reason`. The apiserver itself accepts objects nested up to
//! 10,000 levels (Go's JSON decoder's limit), e.g. in a field kept with
//! `x-kubernetes-preserve-unknown-fields`, and VM Operator admits such a VM. So every
//! body is first measured by an iterative scan (no recursion, one pass); the few deeper
//! than [`READ_LIMIT`] go to the same handler, reading without serde_json's limit, on a
//! thread with a stack deep enough for the review (reading, copying and dropping a
//! `Value` recurse once per level). They are answered exactly like shallow ones.

use crate::{admission, metrics::Decision, state::AppState};
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::time::Instant;

/// The deepest nesting serde_json's default reader accepts (its counter starts at 128 and
/// fails when it reaches 0).
pub const READ_LIMIT: usize = 127;
/// The deepest nesting the apiserver decodes (Go's `encoding/json` limit); no review it
/// sends is deeper.
pub const APISERVER_LIMIT: usize = 10_000;
/// The stack a deep review is answered on: well under 2 KiB per level for each of the
/// recursive passes (read, copy to JSON, drop) even in debug builds, at 10,000 levels.
const STACK: usize = 64 * 1024 * 1024;

/// How deep a JSON text nests (arrays and objects), measured without recursion. Not a
/// validator: malformed JSON is measured as far as it goes, and left to the reader.
pub fn measure(text: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut bytes = text.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                // Skip the string: brackets inside it do not count.
                while let Some(c) = bytes.next() {
                    match c {
                        b'"' => break,
                        b'\\' => {
                            bytes.next();
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    max
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
    let started = Instant::now();
    let depth = measure(&body);
    if depth <= READ_LIMIT {
        return next.run(Request::from_parts(parts, Body::from(body))).await;
    }
    if depth > APISERVER_LIMIT {
        tracing::warn!(depth, "AdmissionReview nested deeper than the apiserver decodes");
        state
            .metrics
            .admission(Decision::Error, "UnreadableReview", started.elapsed());
        let reason = format!(
            "malformed AdmissionReview: nested {depth} levels, deeper than the {APISERVER_LIMIT} the apiserver decodes\n"
        );
        return (StatusCode::BAD_REQUEST, reason).into_response();
    }
    tracing::debug!(
        depth,
        "AdmissionReview nested deeper than serde_json's default: answered on a deep stack"
    );
    answer_deep(state, body, started).await
}

/// Runs the handler for `body` on a thread of its own with a [`STACK`]-sized stack and a
/// current-thread runtime (the handler's reads and timers work from any runtime).
async fn answer_deep(state: AppState, body: Bytes, started: Instant) -> Response {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("deep-review".into())
        .stack_size(STACK)
        .spawn(move || {
            let answered = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(admission::answer_body(&state, &body, admission::Depth::Unbounded)));
            let _ = tx.send(answered);
        });
    let failed = |what: String| {
        tracing::error!(%what, "a deep AdmissionReview could not be answered");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("vmimage could not answer this deeply nested review: {what}\n"),
        )
            .into_response()
    };
    match spawned {
        Err(e) => failed(format!("starting its thread: {e}")),
        Ok(_) => match rx.await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => failed(format!("starting its runtime: {e}")),
            Err(_) => failed(format!(
                "its thread ended without an answer after {:?}",
                started.elapsed()
            )),
        },
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

#[cfg(test)]
mod tests;

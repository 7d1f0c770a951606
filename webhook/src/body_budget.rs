//! A global budget of request body bytes, and a deadline for each body.
//!
//! Without them a client can open many requests (HTTP/2 streams or HTTP/1.1
//! connections), declare large bodies, send most of each and never finish: each held
//! buffer is memory the webhook cannot give back (issue 20 measured 541 MB from one
//! connection). So every body is charged against one semaphore of
//! `--body-budget-bytes`: its declared length (`Content-Length`) before any of it is
//! read, anything beyond that as it arrives, all of it held until the answer is ready.
//! A request whose length does not fit waits up to `--body-budget-wait`, then gets 503;
//! a body not complete within `--body-read-timeout` gets 408 and gives its bytes back.
//! A review of ordinary size is charged and released without waiting.
//!
//! Each connection is also held to its own share ([`ConnectionShare`], set by
//! [`crate::connections`] from `--body-budget-per-connection-bytes`), so the streams of
//! one connection cannot take the whole budget from the others.

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body::Frame;
use parking_lot::Mutex;
use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;

/// The shared budget and the limits it applies.
#[derive(Debug, Clone)]
pub struct Budget {
    bytes: Arc<Semaphore>,
    total: usize,
    wait: Duration,
    body_timeout: Duration,
    max_body_bytes: usize,
    metrics: Arc<Metrics>,
}

/// A connection's own share of the budget, in the request's extensions.
#[derive(Debug, Clone)]
pub struct ConnectionShare(pub Arc<Semaphore>);

/// Why a body was cut off while the handler was reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    Timeout,
    OverBudget,
    TooLarge,
}

// === impl Budget ===

impl Budget {
    /// A budget of `total` bytes; see the module docs for the other limits.
    pub fn new(
        total: usize,
        wait: Duration,
        body_timeout: Duration,
        max_body_bytes: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        let total = total.min(Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(total)),
            total,
            wait,
            body_timeout,
            max_body_bytes,
            metrics,
        }
    }

    /// Bytes not charged to any request now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    fn refuse(&self, status: StatusCode, reason: &'static str, message: String) -> Response {
        self.metrics.request_refused(reason);
        let mut res = (status, message).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        res
    }
}

fn permits(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// The middleware: charge, read under the deadline, answer, release.
pub async fn limit(State(budget): State<Budget>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if declared > budget.max_body_bytes {
        let message = format!(
            "the AdmissionReview is larger than --max-body-bytes ({} bytes)\n",
            budget.max_body_bytes
        );
        return budget.refuse(StatusCode::PAYLOAD_TOO_LARGE, "TooLarge", message);
    }
    if declared > budget.total {
        let message = format!(
            "the body ({declared} bytes) is larger than --body-budget-bytes ({})\n",
            budget.total
        );
        return budget.refuse(StatusCode::SERVICE_UNAVAILABLE, "BodyBudget", message);
    }
    let share = req.extensions().get::<ConnectionShare>().map(|s| s.0.clone());
    let charge = async {
        let own = match share {
            Some(share) => Some(share.acquire_many_owned(permits(declared)).await.ok()?),
            None => None,
        };
        let global = budget
            .bytes
            .clone()
            .acquire_many_owned(permits(declared))
            .await
            .ok()?;
        Some((global, own))
    };
    let Ok(Some((permit, own))) = tokio::time::timeout(budget.wait, charge).await else {
        let message = format!(
            "the webhook holds --body-budget-bytes ({}) of request bodies, or this connection its share; retry\n",
            budget.total
        );
        return budget.refuse(StatusCode::SERVICE_UNAVAILABLE, "BodyBudget", message);
    };
    let held = Arc::new(Mutex::new(Held {
        permit,
        own,
        share_of: share_of(&req),
        cut: None,
    }));
    let (parts, body) = req.into_parts();
    let body = Body::new(Charged {
        inner: body,
        received: 0,
        charged: declared,
        budget: budget.clone(),
        held: held.clone(),
        deadline: Box::pin(tokio::time::sleep(budget.body_timeout)),
    });
    let res = next.run(Request::from_parts(parts, body)).await;
    let cut = held.lock().cut;
    match cut {
        None => res,
        Some(Cut::Timeout) => budget.refuse(
            StatusCode::REQUEST_TIMEOUT,
            "BodyTimeout",
            format!(
                "the body did not arrive within --body-read-timeout ({:?})\n",
                budget.body_timeout
            ),
        ),
        Some(Cut::OverBudget) => budget.refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "BodyBudget",
            format!(
                "the webhook holds --body-budget-bytes ({}) of request bodies; retry\n",
                budget.total
            ),
        ),
        Some(Cut::TooLarge) => budget.refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "TooLarge",
            format!(
                "the AdmissionReview is larger than --max-body-bytes ({} bytes)\n",
                budget.max_body_bytes
            ),
        ),
    }
}

struct Held {
    permit: OwnedSemaphorePermit,
    /// The charge against the connection's share, if it has one.
    own: Option<OwnedSemaphorePermit>,
    share_of: Option<Arc<Semaphore>>,
    cut: Option<Cut>,
}

fn share_of(req: &Request) -> Option<Arc<Semaphore>> {
    req.extensions().get::<ConnectionShare>().map(|s| s.0.clone())
}

/// A request body that charges what it receives and ends at the deadline.
struct Charged {
    inner: Body,
    received: usize,
    charged: usize,
    budget: Budget,
    held: Arc<Mutex<Held>>,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Charged {
    fn cut(&mut self, why: Cut) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.held.lock().cut = Some(why);
        Poll::Ready(Some(Err(axum::Error::new(format!("{why:?}")))))
    }
}

impl http_body::Body for Charged {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if self.held.lock().cut.is_some() {
            return Poll::Ready(None);
        }
        // NB: the deadline's timer is armed only once the body makes the handler wait: a
        // review whose frames are already in is read without touching the timer wheel
        // (issue 21 measured the hop); a ready frame past the deadline still cuts.
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(_) if tokio::time::Instant::now() >= self.deadline.deadline() => {
                return self.cut(Cut::Timeout);
            }
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                if self.deadline.as_mut().poll(cx).is_ready() {
                    return self.cut(Cut::Timeout);
                }
                return Poll::Pending;
            }
        };
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            self.received += data.len();
            if self.received > self.budget.max_body_bytes {
                return self.cut(Cut::TooLarge);
            }
            if self.received > self.charged {
                // Beyond the declared length (a chunked body): charge as it comes, no
                // waiting (the apiserver always declares its length).
                let more = permits(self.received - self.charged);
                let charged = {
                    let mut held = self.held.lock();
                    let own = match held.share_of.clone() {
                        Some(share) => share.try_acquire_many_owned(more).ok().map(Some),
                        None => Some(None),
                    };
                    match (own, self.budget.bytes.clone().try_acquire_many_owned(more)) {
                        (Some(own), Ok(global)) => {
                            held.permit.merge(global);
                            match (&mut held.own, own) {
                                (Some(held_own), Some(own)) => held_own.merge(own),
                                (slot @ None, own) => *slot = own,
                                (Some(_), None) => {}
                            }
                            true
                        }
                        _ => false,
                    }
                };
                if !charged {
                    return self.cut(Cut::OverBudget);
                }
                self.charged = self.received;
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests;

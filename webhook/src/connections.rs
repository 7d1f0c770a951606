//! Admission connections: a cap on how many are open, and an idle timeout.
//!
//! Every connection holds a file descriptor, TLS and HTTP buffers; with no cap, enough of
//! them exhaust the process's descriptors and nothing (not even `/healthz`) is answered.
//! Past `--max-connections` a new connection is closed as soon as it is accepted. An
//! HTTP/2 connection answers keepalive PINGs forever, so it is also closed (GOAWAY, then
//! close once its streams are done) after `--idle-timeout` with no request in flight.
//! Each connection carries its share of the body budget to its requests.
//! (HTTP/1.1 keep-alive connections are closed by hyper's header-read timeout instead;
//! a connection that never sends a request, by axum-server's first-request timeout.)

use crate::{body_budget::ConnectionShare, metrics::Metrics};
use axum_server::{ConnectionShutdown, accept::Accept};
use futures::future::{BoxFuture, Either, Ready};
use parking_lot::Mutex;
use std::{
    io,
    sync::{Arc, OnceLock, Weak},
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

/// Caps open connections and closes idle ones; `inner` then accepts the stream.
#[derive(Debug, Clone)]
pub struct ConnectionAcceptor<A> {
    inner: A,
    open: Arc<Semaphore>,
    idle_timeout: Duration,
    body_share: usize,
    metrics: Arc<Metrics>,
}

// === impl ConnectionAcceptor ===

impl<A> ConnectionAcceptor<A> {
    /// At most `max` connections at once, each closed after `idle_timeout` idle and
    /// holding at most `body_share` request body bytes at once (see [`crate::body_budget`]).
    pub fn new(inner: A, max: u32, idle_timeout: Duration, body_share: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            open: Arc::new(Semaphore::new(max as usize)),
            idle_timeout,
            body_share: body_share.min(Semaphore::MAX_PERMITS),
            metrics,
        }
    }
}

impl<I, S, A> Accept<I, S> for ConnectionAcceptor<A>
where
    A: Accept<I, Tracked<S>>,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = Either<Ready<io::Result<(A::Stream, A::Service)>>, A::Future>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let Ok(permit) = self.open.clone().try_acquire_owned() else {
            self.metrics.connection_refused();
            tracing::debug!("connection closed: --max-connections are open");
            // Dropping the stream closes it.
            drop(stream);
            return Either::Left(futures::future::ready(Err(io::Error::other(
                "--max-connections reached",
            ))));
        };
        let dropped = Arc::new(Notify::new());
        let conn = Arc::new(Conn {
            busy: Mutex::new(Busy {
                in_flight: 0,
                since: Instant::now(),
            }),
            shutdown: OnceLock::new(),
            share: ConnectionShare(Arc::new(Semaphore::new(self.body_share))),
            dropped: dropped.clone(),
            _permit: permit,
        });
        tokio::spawn(close_when_idle(
            Arc::downgrade(&conn),
            dropped,
            self.idle_timeout,
            self.metrics.clone(),
        ));
        Either::Right(self.inner.accept(stream, Tracked { inner: service, conn }))
    }
}

/// One connection's state, shared by its service clones; dropped with the connection.
struct Conn {
    busy: Mutex<Busy>,
    /// axum-server's handle to close the connection gracefully; set by its first request.
    shutdown: OnceLock<ConnectionShutdown>,
    /// The connection's share of the body budget.
    share: ConnectionShare,
    /// Notified when the connection is gone, to end its idle task at once.
    dropped: Arc<Notify>,
    _permit: OwnedSemaphorePermit,
}

struct Busy {
    in_flight: usize,
    /// When `in_flight` last changed.
    since: Instant,
}

impl Conn {
    /// Since when no request has been in flight, if none is.
    fn idle_since(&self) -> Option<Instant> {
        let busy = self.busy.lock();
        (busy.in_flight == 0).then_some(busy.since)
    }

    // NB: requests only update the counts; they wake nothing. Two task wake-ups per
    // request (the idle task re-arming its timer) were measurable on the admission hop
    // on 2 cores (issue 21); the idle task looks again when its timer fires instead.
    fn enter(&self) {
        let mut busy = self.busy.lock();
        busy.in_flight += 1;
        busy.since = Instant::now();
    }

    fn leave(&self) {
        let mut busy = self.busy.lock();
        busy.in_flight = busy.in_flight.saturating_sub(1);
        busy.since = Instant::now();
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // NB: `notify_one` keeps the wake-up for an idle task not waiting at this moment.
        self.dropped.notify_one();
    }
}

/// Closes the connection gracefully once it has been idle for `idle`; ends when the
/// connection does. Looks at the connection when its timer fires: at the end of the
/// idle time from the last change it saw, or `idle` from now while a request is in flight.
async fn close_when_idle(conn: Weak<Conn>, dropped: Arc<Notify>, idle: Duration, metrics: Arc<Metrics>) {
    let mut look_at = Instant::now() + idle;
    loop {
        tokio::select! {
            _ = dropped.notified() => return,
            _ = tokio::time::sleep_until(look_at) => {}
        }
        let Some(c) = conn.upgrade() else { return };
        match c.idle_since() {
            Some(since) if since + idle <= Instant::now() => {
                if let Some(shutdown) = c.shutdown.get() {
                    tracing::debug!(idle = ?idle, "closing an idle connection");
                    metrics.connection_idle_closed();
                    shutdown.graceful_shutdown();
                }
                return;
            }
            Some(since) => look_at = since + idle,
            None => look_at = Instant::now() + idle,
        }
    }
}

/// The connection's service, counting its requests in flight.
#[derive(Clone)]
pub struct Tracked<S> {
    inner: S,
    conn: Arc<Conn>,
}

/// Marks a request done when dropped (answered or cancelled).
struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl<S, B> tower::Service<axum::http::Request<B>> for Tracked<S>
where
    S: tower::Service<axum::http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: axum::http::Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.conn.share.clone());
        if let Some(shutdown) = req.extensions().get::<ConnectionShutdown>() {
            let _ = self.conn.shutdown.set(shutdown.clone());
        }
        self.conn.enter();
        let in_flight = InFlight(self.conn.clone());
        let answer = self.inner.call(req);
        Box::pin(async move {
            let res = answer.await;
            drop(in_flight);
            res
        })
    }
}

//! Noticing within seconds that the apiserver stopped answering.
//!
//! kube-rs watches are HTTP/1.1 requests with no keepalive: when the apiserver hangs
//! (SIGSTOP, a dead node behind a kept-open connection) a watch just goes quiet, which
//! looks like a catalog with no changes, and is noticed only when `--watch-timeout` runs
//! out (issue 20 measured 295 s, with the webhook ready and admitting from a stale index
//! meanwhile). So the apiserver is asked for `/version` (no etcd, no authorization beyond
//! the public-info role) every [`INTERVAL`]; after [`FAILURES`] answers in a row that do not
//! come within [`TIMEOUT`], every watch is told to drop its stream and re-list. Their
//! caches stop counting as synced (`/readyz` says 503, lookups go live, and live reads of
//! a hung apiserver time out into denials), until the new lists complete. When the
//! apiserver answers again the watches are restarted once more, since a list begun on a
//! hung connection may itself never end.

use kube::Client;
use std::time::Duration;
use tokio::sync::watch;

/// How often the apiserver is asked.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// How long one answer may take.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// Late answers in a row that mean the apiserver hangs.
pub const FAILURES: u32 = 2;

/// Restarts of the watches asked for so far: each change means "drop the stream, re-list".
pub type Restarts = watch::Receiver<u64>;

/// A channel for [`run`] and the watches.
pub fn channel() -> (watch::Sender<u64>, Restarts) {
    watch::channel(0)
}

/// Whether one probe got a timely answer.
async fn answers(client: &Client) -> bool {
    let req = match axum::http::Request::get("/version").body(Vec::new()) {
        Ok(req) => req,
        Err(_) => return false,
    };
    matches!(
        tokio::time::timeout(TIMEOUT, client.request_text(req)).await,
        Ok(Ok(_))
    )
}

/// Probes forever; see the module docs.
pub async fn run(client: Client, restarts: watch::Sender<u64>) {
    let mut late = 0;
    let mut hung = false;
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ok = answers(&client).await;
        late = if ok { 0 } else { late + 1 };
        match (hung, ok, late >= FAILURES) {
            (false, _, true) => {
                hung = true;
                tracing::warn!(
                    "the apiserver has not answered {FAILURES} probes in a row within {TIMEOUT:?}: \
                     re-listing every watch; the index is not used until they complete"
                );
                restarts.send_modify(|n| *n += 1);
            }
            (true, true, _) => {
                hung = false;
                tracing::info!("the apiserver answers again: restarting the watches' lists");
                restarts.send_modify(|n| *n += 1);
            }
            _ => {}
        }
    }
}

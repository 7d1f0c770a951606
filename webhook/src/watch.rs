//! Running a watch so that the cache it feeds is never trusted while it may be stale.
//!
//! kube-runtime's watcher, after an error, resumes from its last resourceVersion and says
//! nothing when the resumed watch succeeds, so its consumer cannot tell when its cache is
//! current again. [`relist_on_error`] therefore drops the watcher on any error, tells the
//! consumer its cache may be stale (it stops counting as synced, and reads go live), and
//! after a backoff starts a new watcher, whose full list makes the cache current again at
//! `InitDone`. A watch the apiserver ends normally (its timeout) is resumed by
//! kube-runtime; if that resumption finds the resourceVersion expired (410 Gone), that is
//! an error like any other and leads to a full re-list.

use crate::metrics::{Metrics, WatchLoss};
use futures::{Stream, StreamExt};
use kube::runtime::watcher::{self, DefaultBackoff};
use std::time::Duration;

/// The longest wait between restarts when the backoff has nothing more to say.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What a failed watch means for its cache.
pub fn loss_of(error: &watcher::Error) -> WatchLoss {
    let code = match error {
        watcher::Error::WatchError(status) => Some(status.code),
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => Some(status.code),
        _ => None,
    };
    match code {
        Some(410) => WatchLoss::Expired,
        _ => WatchLoss::Failed,
    }
}

/// The error a watch is dropped with when the apiserver hangs.
fn hung() -> watcher::Error {
    let cause = std::io::Error::new(std::io::ErrorKind::TimedOut, "the apiserver does not answer");
    watcher::Error::WatchFailed(kube::Error::Service(Box::new(cause)))
}

/// A cache fed by a watch.
pub trait Cache<K> {
    /// Applies one event.
    fn event(&mut self, event: watcher::Event<K>);
    /// The watch failed: stop trusting the cache until the next `InitDone`.
    fn lost(&mut self, error: &watcher::Error);
}

/// Runs the watches that `start` builds, one after another, forever: each event goes to
/// `cache`; the first error of a watcher goes to [`Cache::lost`], and that watcher is
/// replaced after a backoff. A change on `restarts` (the apiserver hangs, see
/// [`crate::apiserver_probe`]) counts as an error of the current watcher.
pub async fn relist_on_error<K, S>(
    watch: &'static str,
    metrics: &Metrics,
    mut start: impl FnMut() -> S,
    cache: &mut impl Cache<K>,
    mut restarts: crate::apiserver_probe::Restarts,
) where
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
{
    // NB: the backoff resets itself after 120 s without a failure, not on a successful
    // list: a watch that lists fine and then fails at once (say, RBAC allows list but not
    // watch) must not re-list a large catalog every 0.8 s.
    let mut backoff = DefaultBackoff::default();
    loop {
        restarts.borrow_and_update();
        // False once the probe is gone (tests, or it ended): then watch without one.
        let mut probed = true;
        let mut events = std::pin::pin!(start());
        loop {
            let event = if probed {
                tokio::select! {
                    event = events.next() => event,
                    changed = restarts.changed() => match changed {
                        Ok(()) => Some(Err(hung())),
                        Err(_) => {
                            probed = false;
                            continue;
                        }
                    },
                }
            } else {
                events.next().await
            };
            match event {
                Some(Ok(event)) => cache.event(event),
                Some(Err(error)) => {
                    let loss = loss_of(&error);
                    metrics.watch_lost(watch, loss);
                    cache.lost(&error);
                    break;
                }
                None => break,
            }
        }
        let wait = backoff.next().unwrap_or(MAX_BACKOFF).min(MAX_BACKOFF);
        tracing::debug!(%watch, ?wait, "restarting the watch with a full list");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> kube::core::Status {
        kube::core::Status::failure("gone", "Expired").with_code(code)
    }

    #[test]
    fn a_410_is_an_expired_watch_and_anything_else_a_failure() {
        assert_eq!(
            loss_of(&watcher::Error::WatchError(Box::new(status(410)))),
            WatchLoss::Expired
        );
        let gone = kube::Error::Api(Box::new(status(410)));
        assert_eq!(
            loss_of(&watcher::Error::WatchStartFailed(gone)),
            WatchLoss::Expired
        );
        assert_eq!(
            loss_of(&watcher::Error::WatchError(Box::new(status(500)))),
            WatchLoss::Failed
        );
        assert_eq!(loss_of(&watcher::Error::NoResourceVersion), WatchLoss::Failed);
    }

    #[derive(Default)]
    struct Recorder(Vec<&'static str>);

    impl Cache<()> for Recorder {
        fn event(&mut self, event: watcher::Event<()>) {
            self.0.push(match event {
                watcher::Event::Init => "init",
                watcher::Event::InitDone => "done",
                _ => "other",
            });
        }

        fn lost(&mut self, _: &watcher::Error) {
            self.0.push("lost");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_ends_the_watcher_and_a_new_one_lists_again() {
        let metrics = Metrics::new();
        let mut starts = 0;
        let mut recorder = Recorder::default();
        let run = relist_on_error(
            "test",
            &metrics,
            || {
                starts += 1;
                futures::stream::iter(vec![
                    Ok(watcher::Event::Init),
                    Ok(watcher::Event::InitDone),
                    Err(watcher::Error::NoResourceVersion),
                    Ok(watcher::Event::Apply(())),
                ])
            },
            &mut recorder,
            crate::apiserver_probe::channel().1,
        );
        // Two minutes of (paused) time is several restarts.
        let _ = tokio::time::timeout(Duration::from_secs(120), run).await;
        assert!(starts >= 3);
        let seen = &recorder.0;
        assert_eq!(&seen[..6], ["init", "done", "lost", "init", "done", "lost"]);
        assert!(
            !seen.contains(&"other"),
            "events after an error are dropped with the watcher"
        );
        assert!(
            metrics
                .render()
                .contains(r#"vmimage_watch_restarts_total{watch="test",reason="failed"}"#)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_signal_drops_a_quiet_watch_and_lists_again() {
        let metrics = Metrics::new();
        let mut recorder = Recorder::default();
        let (restart, restarts) = crate::apiserver_probe::channel();
        let run = relist_on_error(
            "test",
            &metrics,
            || {
                // A watch that lists and then goes quiet, as one to a hung apiserver does.
                futures::stream::iter(vec![Ok(watcher::Event::Init), Ok(watcher::Event::InitDone)])
                    .chain(futures::stream::pending())
            },
            &mut recorder,
            restarts,
        );
        let signal = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            restart.send_modify(|n| *n += 1);
            tokio::time::sleep(Duration::from_secs(5)).await;
        };
        tokio::select! {
            _ = run => unreachable!("the watch runs forever"),
            _ = signal => {}
        }
        assert_eq!(recorder.0, ["init", "done", "lost", "init", "done"]);
    }
}

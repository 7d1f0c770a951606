//! A steady stream of VM creates through the API server (so through the webhook), for
//! the disruption tests: one create at a time, every `period`, bounded in count and
//! time, each checked for the webhook's rewrite.

use anyhow::Result;
use kube::{
    Api,
    api::{DynamicObject, PostParams},
    core::{ApiResource, GroupVersionKind},
};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The display name every VM of the stream asks for, and the image it must get.
pub const DISPLAY_NAME: &str = "ubuntu-24.04";
/// ubuntu-24.04's VMI ID in manifests/samples/catalog.yaml (a ClusterVirtualMachineImage).
pub const IMAGE_ID: &str = "vmi-0a0044d7c690bcbea";

/// What a stream saw.
#[derive(Debug, Default)]
pub struct Tally {
    /// Creates admitted and rewritten to [`IMAGE_ID`].
    pub rewritten: usize,
    /// Creates refused or failed (any error from the API server).
    pub failed: usize,
    /// Creates admitted without the rewrite (the webhook was not called).
    pub unmodified: usize,
    /// The first few failures and unmodified VMs, for the failure message.
    pub examples: Vec<String>,
    /// How long it ran.
    pub elapsed: Duration,
    /// Each create's outcome at the moment it was answered (true: rewritten), for
    /// tests that look at a window of time.
    pub outcomes: Vec<(Instant, bool)>,
}

impl Tally {
    /// All creates.
    pub fn total(&self) -> usize {
        self.rewritten + self.failed + self.unmodified
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} creates in {:.1} s: {} rewritten, {} failed, {} unmodified",
            self.total(),
            self.elapsed.as_secs_f64(),
            self.rewritten,
            self.failed,
            self.unmodified
        )?;
        for e in &self.examples {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// The VirtualMachine resource at the version the webhook is registered for.
pub fn vm_api(client: kube::Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("vmoperator.vmware.com", "v1alpha6", "VirtualMachine");
    Api::namespaced_with(client, ns, &ApiResource::from_gvk(&gvk))
}

/// Creates VM `name` naming [`DISPLAY_NAME`]; Ok(true) when rewritten.
pub async fn create_vm(api: &Api<DynamicObject>, ns: &str, name: &str) -> Result<bool> {
    let vm: DynamicObject = serde_json::from_value(vmimage_testenv::suite::vm_manifest(
        ns,
        name,
        serde_json::json!({"imageName": DISPLAY_NAME, "className": "best-effort-small"}),
    ))?;
    let got = api.create(&PostParams::default(), &vm).await?;
    Ok(got.data["spec"]["image"]["name"] == IMAGE_ID && got.data["spec"]["imageName"] == IMAGE_ID)
}

/// A running stream; [`Stream::stop`] ends it and returns the tally.
pub struct Stream {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Tally>,
}

impl Stream {
    /// Starts creating VMs `prefix-N` in `ns`, one every `period`, for at most `max`
    /// (the stream stops by itself then, whatever the test does).
    pub fn start(client: kube::Client, ns: &str, prefix: &str, period: Duration, max: Duration) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let (ns, prefix) = (ns.to_string(), prefix.to_string());
        let task = tokio::spawn(async move {
            let api = vm_api(client, &ns);
            let started = Instant::now();
            let mut tally = Tally::default();
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut i = 0usize;
            while !*stopped.borrow() && started.elapsed() < max {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => break,
                }
                let name = format!("{prefix}-{i}");
                i += 1;
                let at = started.elapsed().as_secs_f64();
                let outcome = create_vm(&api, &ns, &name).await;
                tally.outcomes.push((Instant::now(), matches!(outcome, Ok(true))));
                match outcome {
                    Ok(true) => tally.rewritten += 1,
                    Ok(false) => {
                        tally.unmodified += 1;
                        if tally.examples.len() < 5 {
                            tally
                                .examples
                                .push(format!("{at:.1}s {name}: admitted unmodified"));
                        }
                    }
                    Err(e) => {
                        tally.failed += 1;
                        if tally.examples.len() < 5 {
                            tally.examples.push(format!("{at:.1}s {name}: {e}"));
                        }
                    }
                }
            }
            tally.elapsed = started.elapsed();
            tally
        });
        Self { stop, task }
    }

    /// Stops the stream; what it saw.
    pub async fn stop(self) -> Result<Tally> {
        let _ = self.stop.send(true);
        Ok(self.task.await?)
    }
}

//! Faults on the real control plane: the apiserver and etcd restarted under a running
//! webhook, a watch whose resourceVersion was compacted away (410 Gone), an image
//! deleted. After each, the webhook must answer from current data, never stale data.
//!
//! The restart and expiry tests stop parts of a control plane, so each starts its own
//! (with the sample catalog and its own webhook) instead of sharing the suite's.

use anyhow::{Context, Result, bail, ensure};
use kube::{
    Api, Client,
    api::{DeleteParams, DynamicObject, PostParams},
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use vmimage_testenv::{
    ControlPlane,
    cluster::Options,
    loadgen,
    suite::{Ctx, TestFn},
    webhook::{self, RunningWebhook},
};

/// Every test in this file, for the e2e runner.
pub fn all() -> Vec<(&'static str, TestFn)> {
    vmimage_testenv::tests![
        crate::faults::deleted_image_stops_resolving,
        crate::faults::apiserver_restart_resyncs_changes_made_meanwhile,
        crate::faults::a_frozen_apiserver_is_noticed_within_seconds_and_nothing_stale_is_admitted,
        crate::faults::etcd_restart_is_survived,
        crate::faults::expired_watch_relists,
        crate::faults::a_timed_out_live_read_is_not_repeated_at_once,
        crate::faults::an_index_too_large_to_list_settles_misses_from_the_watch,
    ]
}

/// A control plane of the test's own, with the sample catalog and a registered webhook.
/// Fields drop in order: the webhook stops before the control plane.
struct Rig {
    webhook: RunningWebhook,
    cp: ControlPlane,
    client: Client,
}

async fn rig(apiserver_args: &[&str], webhook_args: &[&str]) -> Result<Rig> {
    let mut opts = Options::temp()?;
    opts.apiserver_args = apiserver_args.iter().map(|a| a.to_string()).collect();
    let cp = ControlPlane::start(opts).await?;
    let client = cp.client().await?;
    vmimage_testenv::catalog::load_file(
        &client,
        &vmimage_testenv::workspace_root().join("manifests/samples/catalog.yaml"),
    )
    .await?;
    let extra: Vec<String> = webhook_args.iter().map(|a| a.to_string()).collect();
    let webhook = webhook::setup_with(&cp, &extra).await?;
    Ok(Rig { webhook, cp, client })
}

impl Rig {
    /// The images the HA tests change (GONE, TWIN) resolving through the webhook in `ns`,
    /// and a second apiserver on the same etcd with a client for it.
    async fn images_and_a_peer(&self, ns: &str) -> Result<(vmimage_testenv::cluster::PeerApiserver, Client)> {
        for (id, display) in [GONE, TWIN] {
            vmimage_testenv::catalog::apply_image(&self.client, cluster_image(id, display)).await?;
        }
        eventually(Duration::from_secs(10), || {
            expect_id(&self.client, ns, GONE.1, GONE.0)
        })
        .await?;
        expect_id(&self.client, ns, TWIN.1, TWIN.0).await?;
        let peer = self.cp.peer_apiserver().await?;
        let client = vmimage_testenv::cluster::client_for(&peer.kubeconfig).await?;
        Ok((peer, client))
    }

    fn log(&self) -> String {
        format!(
            "--- vmimage-webhook log ---\n{}\n{}",
            self.webhook.proc.log_tail(30),
            self.cp.log_tails(15)
        )
    }

    async fn ready(&self) -> bool {
        webhook::http_status(self.webhook.admin_port, "/readyz").await == Some(200)
    }

    /// Waits until `/readyz` is `want`.
    async fn await_ready(&self, want: bool, within: Duration) -> Result<Duration> {
        let started = Instant::now();
        while self.ready().await != want {
            if started.elapsed() > within {
                bail!("/readyz not {want} after {within:?}\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(started.elapsed())
    }

    /// Whether the index holds as many cluster images as the apiserver.
    async fn index_matches_apiserver(&self) -> Result<()> {
        let want = cluster_images(&self.client)
            .list(&Default::default())
            .await?
            .items
            .len();
        let got = self
            .metric(r#"vmimage_index_images{kind="ClusterVirtualMachineImage"}"#)
            .await? as usize;
        ensure!(
            got == want,
            "index holds {got} cluster images, the apiserver {want}"
        );
        Ok(())
    }

    /// The value of one sample of the webhook's metrics (0 when absent).
    async fn metric(&self, sample: &str) -> Result<f64> {
        let text = webhook::metrics(&self.cp.dir).await?;
        Ok(webhook::metric_value(&text, sample).unwrap_or(0.0))
    }
}

fn cluster_image(id: &str, display: &str) -> Value {
    json!({
        "kind": "ClusterVirtualMachineImage",
        "metadata": {"name": id},
        "status": {"name": display, "type": "OVF"},
    })
}

fn cluster_images(client: &Client) -> Api<DynamicObject> {
    let ar = vmimage_testenv::catalog::resource(vmimage_shared::api::ImageKind::ClusterVirtualMachineImage);
    Api::all_with(client.clone(), &ar)
}

async fn delete_cluster_image(client: &Client, id: &str) -> Result<()> {
    cluster_images(client)
        .delete(id, &DeleteParams::default())
        .await
        .with_context(|| format!("deleting ClusterVirtualMachineImage {id}"))?;
    Ok(())
}

/// Server-side dry-run create of a VM naming `image` in `ns`: `Ok(id)` with the image it
/// was resolved to, or `Err(message)` when admission denied it.
async fn admit(client: &Client, ns: &str, image: &str) -> Result<Result<String, String>> {
    let vm = webhook::vm_resource(client).await?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &vm);
    let mut manifest = vmimage_testenv::suite::vm_manifest(ns, "fault-probe", json!({"imageName": image}));
    manifest["apiVersion"] = json!(vm.api_version);
    let obj: DynamicObject = serde_json::from_value(manifest)?;
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    match api.create(&pp, &obj).await {
        Ok(created) => Ok(Ok(created.data["spec"]["image"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string())),
        Err(kube::Error::Api(status)) => Ok(Err(status.message)),
        Err(e) => Err(e).context("creating the probe VM"),
    }
}

async fn expect_id(client: &Client, ns: &str, image: &str, id: &str) -> Result<()> {
    match admit(client, ns, image).await? {
        Ok(got) if got == id => Ok(()),
        Ok(got) => bail!("{image:?} resolved to {got:?}, expected {id}"),
        Err(message) => bail!("{image:?} was denied, expected {id}: {message}"),
    }
}

async fn expect_denied(client: &Client, ns: &str, image: &str, needles: &[&str]) -> Result<String> {
    match admit(client, ns, image).await? {
        Ok(got) => bail!("{image:?} was admitted as {got}; expected a denial"),
        Err(message) => {
            for needle in needles {
                ensure!(
                    message.contains(needle),
                    "{needle:?} missing from the denial: {message}"
                );
            }
            Ok(message)
        }
    }
}

/// Retries `check` until it passes or `within` has gone by.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let started = Instant::now();
    loop {
        match check().await {
            Ok(()) => return Ok(()),
            Err(e) if started.elapsed() > within => {
                return Err(e.context(format!("still failing after {within:?}")));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

const GONE: (&str, &str) = ("vmi-fa0000000000000a1", "fault-gone");
const TWIN: (&str, &str) = ("vmi-fa0000000000000b1", "fault-twin");
const TWIN_2: &str = "vmi-fa0000000000000b2";
const FRESH: (&str, &str) = ("vmi-fa0000000000000c1", "fault-fresh");

/// Deleting an image makes both its display name and its ID stop resolving at once.
pub async fn deleted_image_stops_resolving(ctx: Ctx) -> Result<()> {
    let client = ctx.client().await?;
    let id = "vmi-de1e7ed00000000a1";
    vmimage_testenv::catalog::apply_image(
        &client,
        json!({
            "kind": "VirtualMachineImage",
            "metadata": {"name": id, "namespace": ctx.namespace},
            "status": {"name": "short-lived", "type": "OVF"},
        }),
    )
    .await?;
    expect_id(&client, &ctx.namespace, "short-lived", id).await?;
    ctx.kubectl_ok(&["delete", "virtualmachineimage", id, "-n", &ctx.namespace])?;
    eventually(Duration::from_secs(10), || async {
        expect_denied(&client, &ctx.namespace, "short-lived", &["no VM image exists"]).await?;
        expect_denied(&client, &ctx.namespace, id, &[id]).await?;
        Ok(())
    })
    .await
}

/// The webhook's apiserver goes away while its HA peer takes writes: the webhook turns
/// unready at once, denies rather than admits from its stale index, and after the restart
/// re-lists and sees every change made meanwhile.
pub async fn apiserver_restart_resyncs_changes_made_meanwhile(_ctx: Ctx) -> Result<()> {
    let mut rig = rig(&[], &[]).await?;
    let ns = "default";
    let (peer, peer_client) = rig.images_and_a_peer(ns).await?;
    rig.cp.stop_apiserver();
    let unready_after = rig.await_ready(false, Duration::from_secs(10)).await?;

    // Changes the webhook cannot see: its apiserver is down.
    delete_cluster_image(&peer_client, GONE.0).await?;
    vmimage_testenv::catalog::apply_image(&peer_client, cluster_image(TWIN_2, TWIN.1)).await?;
    vmimage_testenv::catalog::apply_image(&peer_client, cluster_image(FRESH.0, FRESH.1)).await?;

    // The peer still calls the webhook: its stale index must not admit the old twin.
    let during = admit(&peer_client, ns, TWIN.1).await?;
    ensure!(
        during.is_err(),
        "admitted {during:?} from a stale index while its apiserver was down\n{}",
        rig.log()
    );

    rig.cp.start_apiserver().await?;
    let ready_after = rig.await_ready(true, Duration::from_secs(60)).await?;
    vmimage_testenv::say(format!(
        "webhook unready {:.1} s after the apiserver stopped; ready {:.1} s after it was back",
        unready_after.as_secs_f64(),
        ready_after.as_secs_f64()
    ));
    let restarts = rig
        .metric(r#"vmimage_watch_restarts_total{watch="ClusterVirtualMachineImage",reason="failed"}"#)
        .await?;
    ensure!(restarts >= 1.0, "no image watch restart counted\n{}", rig.log());

    expect_denied(&rig.client, ns, GONE.1, &["no VM image exists"]).await?;
    expect_denied(&rig.client, ns, TWIN.1, &[TWIN.0, TWIN_2]).await?;
    expect_id(&rig.client, ns, FRESH.1, FRESH.0).await?;
    // Served from the re-listed index: the new image is in it.
    rig.index_matches_apiserver().await?;
    drop(peer);
    Ok(())
}

/// The webhook's apiserver is frozen (SIGSTOP: its connections stay open, nothing is
/// answered, so a watch just goes quiet) while its HA peer takes writes: the webhook's
/// probe notices within seconds, it turns unready and denies rather than admits from its
/// stale index (the ambiguous twin, the deleted image), and after the thaw it re-lists and
/// sees every change. Before the probe the freeze went unnoticed for 295 s.
pub async fn a_frozen_apiserver_is_noticed_within_seconds_and_nothing_stale_is_admitted(
    _ctx: Ctx,
) -> Result<()> {
    let rig = rig(&[], &["--live-read-timeout", "1s"]).await?;
    let ns = "default";
    let (peer, peer_client) = rig.images_and_a_peer(ns).await?;

    rig.cp.freeze_apiserver(true)?;
    let frozen = async {
        let unready_after = rig.await_ready(false, Duration::from_secs(15)).await?;
        delete_cluster_image(&peer_client, GONE.0).await?;
        vmimage_testenv::catalog::apply_image(&peer_client, cluster_image(TWIN_2, TWIN.1)).await?;
        vmimage_testenv::catalog::apply_image(&peer_client, cluster_image(FRESH.0, FRESH.1)).await?;
        // The peer calls the webhook, whose index still holds the old twin and GONE.
        let twin = admit(&peer_client, ns, TWIN.1).await?;
        let gone = admit(&peer_client, ns, GONE.1).await?;
        anyhow::Ok((unready_after, twin, gone))
    }
    .await;
    rig.cp.freeze_apiserver(false)?;
    let (unready_after, twin, gone) = frozen.with_context(|| rig.log())?;
    ensure!(
        twin.is_err() && gone.is_err(),
        "admitted from a stale index while its apiserver was frozen: twin {twin:?}, gone {gone:?}\n{}",
        rig.log()
    );
    let ready_after = rig.await_ready(true, Duration::from_secs(60)).await?;
    vmimage_testenv::say(format!(
        "webhook unready {:.1} s after its apiserver froze; ready {:.1} s after the thaw; frozen answers: {}",
        unready_after.as_secs_f64(),
        ready_after.as_secs_f64(),
        twin.err().unwrap_or_default(),
    ));
    eventually(Duration::from_secs(10), || async {
        expect_denied(&rig.client, ns, GONE.1, &["no VM image exists"]).await?;
        expect_denied(&rig.client, ns, TWIN.1, &[TWIN.0, TWIN_2]).await?;
        expect_id(&rig.client, ns, FRESH.1, FRESH.0).await
    })
    .await?;
    rig.index_matches_apiserver().await?;
    drop(peer);
    Ok(())
}

/// etcd goes away under a running apiserver and webhook, and comes back: the webhook's
/// watches recover and it sees images created and deleted afterwards.
pub async fn etcd_restart_is_survived(_ctx: Ctx) -> Result<()> {
    let mut rig = rig(&[], &[]).await?;
    let ns = "default";
    vmimage_testenv::catalog::apply_image(&rig.client, cluster_image(GONE.0, GONE.1)).await?;
    eventually(Duration::from_secs(10), || {
        expect_id(&rig.client, ns, GONE.1, GONE.0)
    })
    .await?;

    rig.cp.stop_etcd();
    tokio::time::sleep(Duration::from_secs(3)).await;
    rig.cp.start_etcd()?;
    eventually(Duration::from_secs(60), || async {
        ensure!(
            vmimage_testenv::cluster::ready(&rig.client).await,
            "apiserver not ready"
        );
        Ok(())
    })
    .await?;
    rig.await_ready(true, Duration::from_secs(60)).await?;

    vmimage_testenv::catalog::apply_image(&rig.client, cluster_image(FRESH.0, FRESH.1)).await?;
    delete_cluster_image(&rig.client, GONE.0).await?;
    // The watch, not a live read, must deliver both: wait for the index to hold the new
    // image and lose the old one.
    eventually(Duration::from_secs(30), || rig.index_matches_apiserver())
        .await
        .with_context(|| rig.log())?;
    expect_id(&rig.client, ns, FRESH.1, FRESH.0).await?;
    expect_denied(&rig.client, ns, GONE.1, &["no VM image exists"]).await?;
    Ok(())
}

/// With the watch cache off, watches read etcd directly; once etcd's history is compacted
/// past the webhook's resourceVersion, its next watch (every 2 s here) gets 410 Gone and
/// the webhook re-lists.
pub async fn expired_watch_relists(_ctx: Ctx) -> Result<()> {
    let rig = rig(&["--watch-cache=false"], &["--watch-timeout", "2"]).await?;
    let ns = "default";
    vmimage_testenv::catalog::apply_image(&rig.client, cluster_image(GONE.0, GONE.1)).await?;
    eventually(Duration::from_secs(10), || {
        expect_id(&rig.client, ns, GONE.1, GONE.0)
    })
    .await?;

    // A few writes elsewhere, so compaction passes the image's resourceVersion.
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(rig.client.clone(), ns);
    for i in 0..3 {
        let cm = serde_json::from_value(json!({"metadata": {"name": format!("bump-{i}")}}))?;
        cms.create(&PostParams::default(), &cm).await?;
    }
    let revision = rig.cp.compact_etcd()?;
    vmimage_testenv::say(format!("etcd compacted at revision {revision}"));

    let sample = r#"vmimage_watch_restarts_total{watch="ClusterVirtualMachineImage",reason="expired"}"#;
    eventually(Duration::from_secs(30), || async {
        ensure!(rig.metric(sample).await? >= 1.0, "no expired watch counted yet");
        Ok(())
    })
    .await
    .with_context(|| rig.log())?;
    rig.await_ready(true, Duration::from_secs(30)).await?;

    // The re-listed index is current: a new image resolves, a deleted one does not.
    vmimage_testenv::catalog::apply_image(&rig.client, cluster_image(FRESH.0, FRESH.1)).await?;
    delete_cluster_image(&rig.client, GONE.0).await?;
    eventually(Duration::from_secs(10), || async {
        expect_id(&rig.client, ns, FRESH.1, FRESH.0).await?;
        expect_denied(&rig.client, ns, GONE.1, &["no VM image exists"]).await?;
        Ok(())
    })
    .await
}

/// A mistyped name is confirmed with a live LIST before the denial. When that LIST times
/// out (here: the apiserver frozen), the next miss is denied at once rather than sending
/// the apiserver another LIST; after the cooldown, misses are confirmed live again.
pub async fn a_timed_out_live_read_is_not_repeated_at_once(_ctx: Ctx) -> Result<()> {
    let rig = rig(&[], &["--live-read-timeout", "1s"]).await?;
    let url = format!("https://127.0.0.1:{}/mutate", rig.webhook.port);
    let ca = rig.cp.ca.pair.cert_pem.clone();
    let typo = || async {
        let review = loadgen::create_review("default", "ubuntu-24.4");
        let (status, body) = loadgen::post(&url, &ca, review, Duration::from_secs(10)).await?;
        let review: Value = serde_json::from_slice(&body)?;
        ensure!(
            status == 200 && review["response"]["allowed"] == false,
            "a mistyped name was not denied: {status} {review}"
        );
        let message = review["response"]["status"]["message"]
            .as_str()
            .unwrap_or_default();
        anyhow::Ok(message.to_string())
    };
    // Confirmed while the apiserver answers.
    let message = typo().await?;
    ensure!(
        message.contains("no VM image exists") && !message.contains("could not confirm"),
        "{message}"
    );

    rig.cp.freeze_apiserver(true)?;
    let frozen = async { Ok::<_, anyhow::Error>((typo().await?, typo().await?)) }.await;
    rig.cp.freeze_apiserver(false)?;
    let (first, second) = frozen.with_context(|| rig.log())?;
    ensure!(
        first.contains("no answer within 1s"),
        "the first miss should wait out the live read: {first}"
    );
    // The breaker answers before any request is made: "skipped" means no second LIST.
    ensure!(
        second.contains("no VM image exists") && second.contains("skipped: an image LIST timed out"),
        "the second miss should not list again: {second}"
    );
    ensure!(rig.metric("vmimage_live_reads_skipped_total").await? >= 1.0);

    // After the cooldown (5 s from the timeout), misses are confirmed live again.
    eventually(Duration::from_secs(15), || async {
        let message = typo().await?;
        ensure!(!message.contains("could not confirm"), "{message}");
        Ok(())
    })
    .await
}

/// With live confirmation off (`--live-confirm-max-images 0`, what an index over the limit
/// gets), an image created just before its VM is still admitted, from the watch, and a
/// mistyped name is denied after the grace saying what the denial guarantees; no LIST is
/// ever made.
///
/// The grace is what the denial guarantees: an image whose watch event comes later is
/// denied by design. On CI's two cores, running two control planes at once, a 500 ms grace
/// once failed this test, so it gets a loaded machine's grace (inside the webhook's 5 s
/// timeout) rather than the default.
pub async fn an_index_too_large_to_list_settles_misses_from_the_watch(_ctx: Ctx) -> Result<()> {
    let rig = rig(&[], &["--live-confirm-max-images", "0", "--miss-grace", "3s"]).await?;
    let denial = expect_denied(
        &rig.client,
        "default",
        "ubuntu-24.4",
        &[
            "no VM image exists for \"ubuntu-24.4\"",
            "from vmimage's watched image index of",
            "an image created less than 3s before this request may not be in it yet",
        ],
    )
    .await
    .with_context(|| rig.log())?;
    ensure!(denial.contains("did you mean \"ubuntu-24.04\""), "{denial}");
    // Each VM is created right after its image: the watch event and the create race.
    for n in 0..5 {
        let (id, display) = (format!("vmi-fa00000000000{n:04}"), format!("fresh-{n}"));
        vmimage_testenv::catalog::apply_image(&rig.client, cluster_image(&id, &display)).await?;
        expect_id(&rig.client, "default", &display, &id)
            .await
            .with_context(|| rig.log())?;
    }
    let live_reads = rig.metric("vmimage_live_reads_total").await?;
    ensure!(
        live_reads == 0.0,
        "{live_reads} live reads although live confirmation is off\n{}",
        rig.log()
    );
    Ok(())
}

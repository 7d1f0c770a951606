//! What both benchmark binaries (`vmimage-bench`, `vmimage-bench-peers`) set up and
//! print: the target image every benchmark resolves, the synthetic catalog grown in
//! steps, the webhook's index and memory as it reports them, and the markdown table.

use crate::{
    ControlPlane, catalog,
    cli_bench::{self, Row},
    say,
};
use anyhow::{Context, Result, bail};
use std::{
    fmt::Write as _,
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

/// The unique display name every benchmark resolves.
pub const TARGET: &str = "bench-ubuntu-24.04";
/// Images in the cluster before any synthetic one: the sample catalog and the target.
pub const BASE: usize = 10;

/// `target/release`, after checking that `bins` were built there (`hint`: what builds them).
pub fn release_dir(bins: &[&str], hint: &str) -> Result<std::path::PathBuf> {
    let release = crate::workspace_root().join("target/release");
    for bin in bins {
        if !release.join(bin).is_file() {
            bail!("{} missing: {hint}", release.join(bin).display());
        }
    }
    Ok(release)
}

/// The bench apiserver's flags beyond the harness's own.
///
/// kube-apiserver keeps a watch cache per served version of a CRD (each version has its
/// own storage), and VM Operator serves six versions of each image kind: loading 100,000
/// images took it past 20 GB (300 KB an image when 11,000 were in), on a 24 GB machine.
/// With those two caches off it stays near 0.5 GB; reads and watches of images go to
/// etcd, for vmimage and `kubectl get` alike. Without the cache no bookmarks keep a quiet
/// watch's resourceVersion current, so etcd compaction would make every watch restart
/// (each `--watch-timeout`) a 410 and a re-list of 100,000 images, which a production
/// apiserver with its cache does not do; so compaction is off too.
pub const APISERVER_ARGS: &[&str] = &[
    "--watch-cache-sizes=virtualmachineimages.vmoperator.vmware.com#0,clustervirtualmachineimages.vmoperator.vmware.com#0",
    "--etcd-compaction-interval=0",
];

/// A fresh control plane with the sample catalog and the target image loaded.
pub async fn start_cluster() -> Result<(ControlPlane, kube::Client)> {
    let mut opts = crate::Options::temp()?;
    opts.apiserver_args = APISERVER_ARGS.iter().map(|a| a.to_string()).collect();
    let cp = ControlPlane::start(opts).await?;
    let client = cp.client().await?;
    catalog::load_file(
        &client,
        &crate::workspace_root().join("manifests/samples/catalog.yaml"),
    )
    .await?;
    catalog::apply_image(
        &client,
        serde_json::json!({
            "kind": "ClusterVirtualMachineImage",
            "metadata": {"name": target_id()},
            "status": {"name": TARGET, "type": "OVF", "conditions": [{"type": "Ready", "status": "True",
                       "reason": "Ready", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        }),
    )
    .await?;
    Ok((cp, client))
}

/// The target's ID: the same in the live cluster as in the offline catalogs, so the
/// plugin's live rows (`get ID`) find it.
pub fn target_id() -> String {
    cli_bench::TARGET.1.to_string()
}

pub fn admin_get(port: u16, path: &str) -> Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}

pub fn indexed(port: u16) -> usize {
    crate::webhook::metric_sum(
        &admin_get(port, "/metrics").unwrap_or_default(),
        "vmimage_index_images{",
    ) as usize
}

pub fn rss_mb(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .context("no VmRSS")?
        .parse()?;
    Ok(kb / 1024.0)
}

/// Loads synthetic images `from..to` and waits for the webhook to index them; the time
/// the loading took.
pub async fn grow(cp: &ControlPlane, from: usize, to: usize, admin: u16, base: usize) -> Result<Duration> {
    let client = cp.client().await?;
    let t = Instant::now();
    say(format!(
        "loading synthetic images {from}..{to} (the slow part: a create and a status update each)"
    ));
    let step = 10_000;
    let mut start = from;
    while start < to {
        let end = (start + step).min(to);
        catalog::create_objects(&client, catalog::synthetic_range(start..end, 10), 128).await?;
        say(format!(
            "  {end}/{to} images after {:.0} s",
            t.elapsed().as_secs_f64()
        ));
        start = end;
    }
    let loaded = t.elapsed();
    let deadline = Instant::now() + Duration::from_secs(120);
    while indexed(admin) < base + to {
        if Instant::now() > deadline {
            bail!(
                "webhook indexed {} of {} images after 120 s",
                indexed(admin),
                base + to
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(loaded)
}

/// The rows as one markdown table, with pass/MISS.
pub fn markdown(rows: &[Row]) -> String {
    let mut table = String::from("| figure | measured | target | result |\n|---|---|---|---|\n");
    for r in rows {
        let verdict = match r.pass {
            Some(true) => "pass",
            Some(false) => "MISS",
            None => "",
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} |",
            r.figure, r.value, r.target, verdict
        );
    }
    table
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<f64>()
                    .unwrap_or(0.0)
                    / 1048576.0
            })
        })
        .unwrap_or(0.0);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!(
        "{cores} cores ({cpu}), {mem:.0} GiB memory, kube-apiserver {}, etcd {}",
        crate::assets::K8S_VERSION,
        crate::assets::ETCD_VERSION
    )
}

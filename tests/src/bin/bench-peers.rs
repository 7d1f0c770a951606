//! `vmimage-bench-peers` (run by `make bench-peers`, heavy, not part of `make test`):
//! Kyverno's two ways of mapping a display name to an ID, measured in the same hop
//! comparison as vmimage and a do-nothing webhook, against one apiserver, at each catalog
//! size; written to docs/benchmarks-peers.md.

use anyhow::{Context, Result};
use std::{path::PathBuf, time::Instant};
use vmimage_testenv::{
    bench_setup::{self, TARGET, grow, machine, markdown, target_id},
    catalog,
    cli_bench::{Row, thousands},
    hop_bench::{self, Hop, HopFigures},
    kyverno, say, webhook, workspace_root,
};

/// Rounds and creates per hop, concurrency and round: Kyverno's apiCall takes about a
/// second per create at 20,000 images, so fewer than `make bench` uses.
const ROUNDS: usize = 3;
const CREATES: usize = 40;

/// How many creates the apiserver refused through this hop, and the first reason.
fn refused(f: &HopFigures) -> String {
    let failed = f.c1.failed + f.c8.failed;
    match f.c1.first_error.as_ref().or(f.c8.first_error.as_ref()) {
        Some(first) if failed > 0 => {
            let first: String = first.chars().take(240).collect();
            format!(
                "; {failed} of {} creates refused (c=1: {}, c=8: {}), first: {}",
                2 * ROUNDS * CREATES,
                f.c1.failed,
                f.c8.failed,
                first.replace('|', "/")
            )
        }
        _ => String::new(),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sizes: Vec<usize> = std::env::var("VMIMAGE_PEERS_SIZES")
        .unwrap_or_else(|_| "1000,20000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .context("VMIMAGE_PEERS_SIZES: comma-separated image counts")
        })
        .collect::<Result<_>>()?;
    let kyverno_dir = std::env::var_os("KYVERNO_DIR").map(PathBuf::from).context(
        "KYVERNO_DIR (the directory hack/build-kyverno.sh fills) is not set; run make bench-peers",
    )?;
    let release =
        bench_setup::release_dir(&["vmimage-webhook", "noop-webhook"], "make bench-peers builds it")?;
    let started = Instant::now();
    let (cp, client) = bench_setup::start_cluster().await?;
    let base = bench_setup::BASE;
    let target = target_id();
    let wh = webhook::start(&cp.dir, &cp.ca, &cp.kubeconfig, &release.join("vmimage-webhook")).await?;
    let noop =
        hop_bench::start_noop(&cp, &release.join("noop-webhook"), hop_bench::NoopAnswer::Allow).await?;
    say("starting Kyverno's admission controller against the local apiserver");
    let ky = kyverno::start(&cp, &client, &kyverno_dir).await?;
    catalog::ensure_namespaces(&client, ["bench-peers".into()]).await?;
    let ca = cp.ca.pair.cert_pem.clone();
    let comparison = hop_bench::Comparison {
        client: &client,
        ca_pem: &ca,
        ports: hop_bench::Ports {
            noop: noop.port,
            patching_noop: noop.port,
            vmimage: wh.port,
            replaying_noop: None,
            variants: &[],
        },
        probe: None,
        kyverno: Some((TARGET, &target)),
        skip_patching_noop: true,
        namespace: "bench-peers",
        image: TARGET,
        rounds: ROUNDS,
        creates: CREATES,
        c8: true,
    };
    let mut rows = Vec::new();
    let mut loaded = 0;
    for size in sizes {
        grow(&cp, loaded, size, wh.admin_port, base).await?;
        loaded = size;
        say(format!(
            "measuring no webhook, a do-nothing webhook, vmimage and Kyverno's two lookups at {} images",
            thousands(size)
        ));
        let figures = comparison.measure().await?;
        let (vm_rss, _) = kyverno::rss_mb(wh.proc.pid())?;
        let (ky_rss, ky_peak) = kyverno::rss_mb(ky.proc.pid())?;
        let at = |hop: Hop| figures.iter().find(|(h, _)| *h == hop).map(|(_, f)| f);
        let base_f = at(Hop::Baseline).context("no baseline")?;
        for (hop, f) in figures.iter().filter(|(h, _)| *h != Hop::Baseline) {
            let rss = match hop {
                Hop::Vmimage => format!("; RSS {vm_rss:.0} MB"),
                Hop::KyvernoGlobal | Hop::KyvernoApiCall => {
                    format!("; Kyverno RSS {ky_rss:.0} MB now, {ky_peak:.0} MB peak")
                }
                _ => String::new(),
            };
            rows.push(Row {
                figure: hop_bench::row_figure(&thousands(size), *hop),
                value: f.added_over(base_f, 3) + &rss + &refused(f),
                target: "".into(),
                pass: None,
            });
        }
        let (ours, global) = (at(Hop::Vmimage), at(Hop::KyvernoGlobal));
        if let (Some(ours), Some(global)) = (ours, global) {
            // NB: on a busy machine vmimage's added p50 can be within the baseline's noise
            // (even below zero); it is then taken as 0.1 ms, and the row says so.
            let measured = ours.c1.p50_ms - base_f.c1.p50_ms;
            let ours_added = measured.max(0.1);
            let theirs = global.c1.p50_ms - base_f.c1.p50_ms;
            let cheaper = theirs / ours_added;
            let floor = if measured < 0.1 {
                format!("; vmimage's measured {measured:+.2} ms is within noise, taken as +0.10")
            } else {
                String::new()
            };
            rows.push(Row {
                figure: format!(
                    "Kyverno's best lookup (GlobalContextEntry) added p50 ÷ vmimage's, c=1, {} images",
                    thousands(size)
                ),
                value: format!("{cheaper:.1}× ({theirs:+.2} vs {ours_added:+.2} ms{floor})"),
                // NB: a small catalog costs Kyverno's cache little; the target is for
                // the catalogs vmimage is built for.
                target: if size >= 20_000 {
                    "≥ 10×".into()
                } else {
                    String::new()
                },
                pass: (size >= 20_000).then_some(cheaper >= 10.0),
            });
        }
    }
    let table = markdown(&rows);
    println!("\n{table}");
    let doc = format!(
        "# Benchmarks: vmimage beside Kyverno\n\nMeasured by `make bench-peers` on {} ({}), in {:.0} s. \
         Kyverno {} runs as a process against the same local apiserver (`--kubeconfig`, `--serverIP`); \
         each round routes admission to one system at a time (no webhook, a do-nothing webhook, vmimage, \
         Kyverno with a GlobalContextEntry watching the cluster images and a JMESPath query, Kyverno with an \
         apiCall listing them per admission), {ROUNDS} rounds of {CREATES} creates per concurrency; the median \
         round is kept. Kyverno maps only cluster images (it has no namespace-then-cluster rule), cannot \
         list candidates for an ambiguous name and leaves a missing name alone.\n\n{table}\n\
         Reproduce: `make bench-peers` (`VMIMAGE_PEERS_SIZES=1000,20000` by default).\n",
        jiff::Timestamp::now().strftime("%Y-%m-%d"),
        machine(),
        started.elapsed().as_secs_f64(),
        kyverno_dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("kyverno-"))
            .unwrap_or("(unknown version)"),
    );
    let out = workspace_root().join("docs/benchmarks-peers.md");
    std::fs::write(&out, doc).with_context(|| format!("writing {}", out.display()))?;
    say(format!("wrote {}", out.display()));
    Ok(())
}

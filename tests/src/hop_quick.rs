//! `VMIMAGE_BENCH_ONLY=hops`: the hops compared alone, at small catalogs, for working on
//! what the apiserver → webhook hop costs (minutes, not the hour of the whole bench).
//!
//! Besides the bench's hops it measures the do-nothing webhook answering with vmimage's
//! whole response (so the answer's content and vmimage's server can be told apart) and,
//! with `VMIMAGE_BENCH_VARIANT=PATH[,PATH…]`, other webhook binaries or scripts starting
//! one (a change under test beside the release build). The hops take turns create by
//! create, each in a namespace of its own ([`crate::hop_lanes`]); every difference is
//! given over all creates and as the median, lowest and highest of ten blocks of
//! consecutive creates. Each webhook's own one-at-a-time latency, without the apiserver,
//! comes first. `VMIMAGE_BENCH_HOP_SIZES` (default `1000,20000`) and
//! `VMIMAGE_BENCH_HOP_CYCLES` (creates per hop and size, default 500) size it.

use crate::{
    bench_setup::{self, TARGET, grow},
    cli_bench::{Row, thousands},
    hop_bench::{self, Hop, NoopAnswer},
    hop_lanes::{self, Lanes},
    loadgen, say, webhook,
};
use anyhow::{Context, Result};
use std::{path::Path, time::Duration};

/// What the run measures, from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Catalog sizes, ascending.
    pub sizes: Vec<usize>,
    /// VM creates per hop and size.
    pub cycles: usize,
    /// Other webhook binaries (or scripts starting one) to measure beside the release build.
    pub variants: Vec<std::path::PathBuf>,
}

impl Settings {
    /// Reads `VMIMAGE_BENCH_HOP_SIZES`, `VMIMAGE_BENCH_HOP_CYCLES` and `VMIMAGE_BENCH_VARIANT`.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let number = |name: &str, default: usize| -> Result<usize> {
            match var(name) {
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .with_context(|| format!("{name}={v:?}: expected a positive number")),
                None => Ok(default),
            }
        };
        let mut sizes = match var("VMIMAGE_BENCH_HOP_SIZES") {
            Some(v) => v
                .split(',')
                .map(|s| s.trim().replace('_', "").parse::<usize>())
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| {
                    format!("VMIMAGE_BENCH_HOP_SIZES={v:?}: expected catalog sizes such as 1000,20000")
                })?,
            None => vec![1_000, 20_000],
        };
        sizes.sort_unstable();
        sizes.dedup();
        let variants: Vec<std::path::PathBuf> = var("VMIMAGE_BENCH_VARIANT")
            .map(|v| v.split(',').map(std::path::PathBuf::from).collect())
            .unwrap_or_default();
        if let Some(path) = variants.iter().find(|p| !p.is_file()) {
            anyhow::bail!("VMIMAGE_BENCH_VARIANT: {}: no such file", path.display());
        }
        Ok(Self {
            sizes,
            cycles: number("VMIMAGE_BENCH_HOP_CYCLES", 500)?,
            variants,
        })
    }
}

/// The differences reported, each `a` minus `b`, and what each one shows (and each
/// variant minus vmimage).
const PAIRS: [(Hop, Hop, &str); 5] = [
    (Hop::Noop, Hop::Baseline, "the hop itself"),
    (
        Hop::PatchingNoop,
        Hop::Noop,
        "the apiserver applying vmimage's patch",
    ),
    (
        Hop::ReplayingNoop,
        Hop::PatchingNoop,
        "the rest of vmimage's answer",
    ),
    (Hop::Vmimage, Hop::ReplayingNoop, "vmimage's server and lookup"),
    (Hop::Vmimage, Hop::PatchingNoop, "the bench's gap"),
];

/// Runs the comparison at every size; returns the markdown table.
pub async fn run(release: &Path, settings: &Settings) -> Result<String> {
    let (cp, client) = bench_setup::start_cluster().await?;
    let ca = cp.ca.pair.cert_pem.clone();
    let wh = webhook::start(&cp.dir, &cp.ca, &cp.kubeconfig, &release.join("vmimage-webhook")).await?;
    let mut variants = Vec::new();
    let mut labels = Vec::new();
    for (i, bin) in settings.variants.iter().enumerate() {
        let dir = cp.dir.join(format!("variant-{i}"));
        let running = webhook::start(&dir, &cp.ca, &cp.kubeconfig, bin).await?;
        let name = bin.file_name().unwrap_or_default().to_string_lossy();
        // NB: leaked once per variant: hops are named by static labels.
        let label: &'static str = Box::leak(format!("vmimage variant {name}").into_boxed_str());
        labels.push((label, running.port));
        variants.push(running);
    }
    let labels: &'static [(&'static str, u16)] = Box::leak(labels.into_boxed_slice());
    let ns = "bench-hops";
    crate::catalog::ensure_namespaces(&client, [ns.to_string()]).await?;
    let (answer, patch) = hop_bench::vmimage_answer(wh.port, &ca, ns, TARGET).await?;
    let noop_bin = release.join("noop-webhook");
    let noop = hop_bench::start_noop(&cp, &noop_bin, NoopAnswer::Allow).await?;
    let patching = hop_bench::start_noop(&cp, &noop_bin, NoopAnswer::Patch(&patch)).await?;
    let replaying = hop_bench::start_noop(&cp, &noop_bin, NoopAnswer::Replay(&answer)).await?;
    say(format!(
        "vmimage answers the bench's VM with {} bytes: {}",
        answer.len(),
        String::from_utf8_lossy(&answer)
    ));
    let mut direct_ports = vec![
        (Hop::Noop, noop.port),
        (Hop::PatchingNoop, patching.port),
        (Hop::ReplayingNoop, replaying.port),
        (Hop::Vmimage, wh.port),
    ];
    direct_ports.extend(labels.iter().map(|(label, port)| (Hop::Variant(label), *port)));
    let mut lanes_of: Vec<(Hop, Option<u16>)> = vec![(Hop::Baseline, None)];
    lanes_of.extend(direct_ports.iter().map(|(hop, port)| (*hop, Some(*port))));
    let mut rows = Vec::new();
    let mut loaded = 0;
    for &size in &settings.sizes {
        grow(&cp, loaded, size, wh.admin_port, bench_setup::BASE).await?;
        for v in &variants {
            grow(&cp, size, size, v.admin_port, bench_setup::BASE).await?;
        }
        loaded = size;
        let at = thousands(size);
        say(format!(
            "one-at-a-time requests straight to each webhook at {at} images"
        ));
        rows.extend(direct(&direct_ports, &ca, &at).await?);
        say(format!(
            "{} VM creates per hop, taking turns, at {at} images",
            settings.cycles
        ));
        let lanes = Lanes::install(&client, &ca, &lanes_of).await?;
        let took = lanes.measure(&client, TARGET, settings.cycles).await?;
        lanes.remove(&client).await?;
        rows.extend(hop_rows(&took, &at));
    }
    drop((noop, patching, replaying, variants, wh, cp));
    Ok(bench_setup::markdown(&rows))
}

/// Each webhook's one-at-a-time client-side p50 over HTTP/2, as the apiserver calls it
/// but without it: three short runs each, taking turns; the median run and the spread.
async fn direct(ports: &[(Hop, u16)], ca: &str, size: &str) -> Result<Vec<Row>> {
    let body = loadgen::create_review("bench-hops", TARGET);
    let mut seen: Vec<Vec<f64>> = vec![Vec::new(); ports.len()];
    for _ in 0..3 {
        for (i, (_, port)) in ports.iter().enumerate() {
            let url = format!("https://127.0.0.1:{port}/mutate");
            let run = loadgen::run(&url, ca, body.clone(), 1, Duration::from_secs(2), 20_000, true).await?;
            anyhow::ensure!(run.errors == 0, "{} requests to {url} failed", run.errors);
            seen[i].push(run.p50.as_secs_f64() * 1000.0);
        }
    }
    Ok(ports
        .iter()
        .zip(seen)
        .map(|((hop, _), mut runs)| {
            runs.sort_by(f64::total_cmp);
            Row {
                figure: format!(
                    "{}, {size} images: one-at-a-time p50 straight to it (HTTP/2), median of 3 runs [lowest, highest]",
                    hop.label()
                ),
                value: format!("{:.3} ms [{:.3}, {:.3}]", runs[1], runs[0], runs[2]),
                target: String::new(),
                pass: None,
            }
        })
        .collect())
}

/// Each hop's added p50 and the paired differences of [`PAIRS`] (and each variant's
/// against the release build).
fn hop_rows(took: &[(Hop, Vec<f64>)], size: &str) -> Vec<Row> {
    const BLOCKS: usize = 10;
    let of = |hop: Hop| took.iter().find(|(h, _)| *h == hop).map(|(_, t)| t.as_slice());
    let n = took.first().map_or(0, |(_, t)| t.len());
    let row = |figure: String, (all, median, lo, hi): (f64, f64, f64, f64)| Row {
        figure,
        value: format!("{all:+.3} ms (blocks {median:+.3} [{lo:+.3}, {hi:+.3}])"),
        target: String::new(),
        pass: None,
    };
    let mut rows = Vec::new();
    if let Some(base) = of(Hop::Baseline) {
        rows.push(Row {
            figure: format!("VM create, {size} images, no webhook: p50 of {n}"),
            value: format!("{:.3} ms", hop_lanes::p50(base)),
            target: String::new(),
            pass: None,
        });
        for (hop, t) in took.iter().filter(|(h, _)| *h != Hop::Baseline) {
            rows.push(row(
                format!(
                    "VM create, {size} images, {}: added p50 over all {n} (median of {BLOCKS} blocks [lowest, highest])",
                    hop.label()
                ),
                hop_lanes::paired(t, base, BLOCKS),
            ));
        }
    }
    let variants = took
        .iter()
        .filter(|(hop, _)| matches!(hop, Hop::Variant(_)))
        .map(|(hop, _)| (*hop, Hop::Vmimage, "the variant against release"));
    for (a, b, shows) in PAIRS
        .into_iter()
        .filter(|(_, b, _)| *b != Hop::Baseline)
        .chain(variants)
    {
        if let (Some(ta), Some(tb)) = (of(a), of(b)) {
            rows.push(row(
                format!("{shows}, {size} images: {} minus {}, p50", a.label(), b.label()),
                hop_lanes::paired(ta, tb, BLOCKS),
            ));
        }
    }
    rows
}

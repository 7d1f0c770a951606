//! The plugin against the tools people would use instead, for `make bench`: every read
//! command on a catalog file beside `jq` answering the same question from the same file,
//! at two catalog sizes, with the plugin's peak RSS; and live, beside `kubectl get`.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

/// One line of the benchmark table.
pub struct Row {
    /// What was measured.
    pub figure: String,
    /// The figure.
    pub value: String,
    /// The target, if any.
    pub target: String,
    /// Whether the target was met.
    pub pass: Option<bool>,
}

/// The display name and ID of the one image every offline row resolves.
pub const TARGET: (&str, &str) = ("bench-ubuntu-24.04", "vmi-b0c0e0f000000aaa1");

/// One timed shell command: median wall time and the peak RSS of the largest process.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Median over the runs, ms.
    pub ms: f64,
    /// Peak resident set size, MB (GNU time's `%M`).
    pub rss_mb: f64,
}

/// Runs `script` with bash `runs` times; the median time and the largest peak RSS.
pub fn time(script: &str, env: &[(&str, String)], runs: usize) -> Result<Timing> {
    let mut times = Vec::new();
    let mut rss_kb: f64 = 0.0;
    for _ in 0..runs {
        let start = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args([
                "-f",
                "%M",
                "bash",
                "-c",
                &format!("set -o pipefail; {script} > /dev/null"),
            ])
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .output()
            .context("running /usr/bin/time (apt-get install time)")?;
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            bail!("`{script}` failed: {stderr}");
        }
        rss_kb = rss_kb.max(
            stderr
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(0.0),
        );
        times.push(elapsed);
    }
    times.sort_by(f64::total_cmp);
    Ok(Timing {
        ms: times[runs / 2],
        rss_mb: rss_kb / 1024.0,
    })
}

/// A catalog file of `n` synthetic images plus the target, as `kubectl get -o json` prints.
fn write_catalog(path: &Path, n: usize, namespaces: usize) -> Result<u64> {
    let mut items = crate::catalog::synthetic_range(0..n, namespaces);
    items.push(json!({
        "kind": "ClusterVirtualMachineImage",
        "metadata": {"name": TARGET.1},
        "status": {"name": TARGET.0, "type": "OVF", "osInfo": {"id": "ubuntu64Guest"},
                   "productInfo": {"product": "ubuntu", "version": "24.04"},
                   "conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "",
                                   "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    }));
    for item in &mut items {
        item["apiVersion"] = json!("vmoperator.vmware.com/v1alpha6");
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items});
    std::fs::write(path, serde_json::to_vec(&list)?)?;
    Ok(std::fs::metadata(path)?.len())
}

/// A directory of `n` VirtualMachine manifests naming images of the catalog by display
/// name, and the same VMs as one JSON array (for jq).
fn write_vms(dir: &Path, n: usize) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut all = Vec::new();
    for i in 0..n {
        let vm = json!({
            "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": "VirtualMachine",
            "metadata": {"name": format!("vm-{i}"), "namespace": "team-1"},
            "spec": {"className": "small", "imageName": TARGET.0}
        });
        std::fs::write(
            dir.join(format!("vm-{i}.yaml")),
            serde_json::to_string_pretty(&vm)?,
        )?;
        all.push(vm);
    }
    let array = dir.with_extension("json");
    std::fs::write(&array, Value::Array(all).to_string())?;
    Ok(array)
}

/// `100000` as `100,000`.
pub fn thousands(x: usize) -> String {
    let s = x.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Offline rows: each read command on catalogs of `sizes` images (the last is the one the
/// targets are judged at), beside jq on the same file.
pub fn offline_rows(plugin: &Path, sizes: &[usize], work: &Path) -> Result<Vec<Row>> {
    let (name, id) = TARGET;
    let p = plugin.display();
    std::fs::create_dir_all(work)?;
    let vms = write_vms(&work.join("vms"), 1000)?;
    let vms_dir = work.join("vms");
    let mut rows = Vec::new();
    let mut list_ms = Vec::new();
    for &n in sizes {
        crate::say(format!(
            "timing the plugin against jq on a catalog file of {} images",
            thousands(n)
        ));
        let file = work.join(format!("catalog-{n}.json"));
        let bytes = write_catalog(&file, n, 10)?;
        let other = work.join(format!("catalog-{n}-b.json"));
        let other_bytes = write_catalog(&other, n + 1, 10)?;
        let (f, o) = (file.display(), other.display());
        let sel = format!(
            ".status.name == \"{name}\" and (.kind == \"ClusterVirtualMachineImage\" or .metadata.namespace == \"team-1\")"
        );
        let cases: Vec<(&str, String, String)> = vec![
            (
                "resolve",
                format!("{p} resolve {name} -n team-1 -o id --catalog {f}"),
                format!("jq -r '[.items[] | select({sel}) | .metadata.name] | first' {f}"),
            ),
            (
                "list -A",
                format!("{p} list -A --catalog {f}"),
                format!(
                    "jq -r '.items[] | [.kind, .metadata.namespace // \"\", .metadata.name, .status.name, .status.type] | @tsv' {f}"
                ),
            ),
            (
                "list -A -o json",
                format!("{p} list -A -o json --catalog {f}"),
                format!("jq '.items' {f}"),
            ),
            (
                "get -o yaml",
                format!("{p} get {id} -o yaml --catalog {f}"),
                format!("jq '.items[] | select(.metadata.name == \"{id}\")' {f}"),
            ),
            (
                "describe",
                format!("{p} describe {id} --catalog {f}"),
                format!("jq '.items[] | select(.metadata.name == \"{id}\")' {f}"),
            ),
            (
                "versions",
                format!("{p} versions {name} -n team-1 --catalog {f}"),
                format!(
                    "jq -r '[.items[] | select(.status.osInfo.id == \"ubuntu64Guest\")] | sort_by(.status.productInfo.version) | .[].metadata.name' {f}"
                ),
            ),
            (
                "catalog export -A",
                format!("{p} catalog export -A -o json --catalog {f}"),
                format!("jq '.items' {f}"),
            ),
            (
                "compare (two snapshots)",
                format!("{p} compare {f} {o}"),
                format!(
                    "diff <(jq -r '.items[] | [.metadata.name, .status.name] | @tsv' {f} | sort) <(jq -r '.items[] | [.metadata.name, .status.name] | @tsv' {o} | sort) || true"
                ),
            ),
            (
                "check -f (1,000 VMs)",
                format!("{p} check -f {} --catalog {f} -n team-1", vms_dir.display()),
                format!(
                    "jq -r --slurpfile vms {} '(.items | map({{(.status.name): .metadata.name}}) | add) as $m | $vms[0][] | $m[.spec.imageName]' {f}",
                    vms.display()
                ),
            ),
            (
                "pin -f (1,000 VMs)",
                format!("{p} pin -f {} --catalog {f} -n team-1", vms_dir.display()),
                format!(
                    "jq -r --slurpfile vms {} '(.items | map({{(.status.name): .metadata.name}}) | add) as $m | $vms[0][] | $m[.spec.imageName]' {f}",
                    vms.display()
                ),
            ),
        ];
        let judged = n == *sizes.last().unwrap_or(&n);
        let runs = 3;
        for (what, ours, theirs) in cases {
            let a = time(&ours, &[], runs)?;
            let b = time(&theirs, &[], runs)?;
            if what == "list -A" {
                list_ms.push((n, a.ms));
            }
            // `compare` reads two catalogs: its memory is judged against both.
            let input = if what.starts_with("compare") {
                bytes + other_bytes
            } else {
                bytes
            };
            let rss_ok = a.rss_mb <= 2.0 * input as f64 / (1024.0 * 1024.0);
            rows.push(Row {
                figure: format!(
                    "offline `{what}`, {} images: plugin vs jq (plugin peak RSS)",
                    thousands(n)
                ),
                value: format!(
                    "{:.0} vs {:.0} ms ({:.2}×; {:.0} MB)",
                    a.ms,
                    b.ms,
                    a.ms / b.ms,
                    a.rss_mb
                ),
                target: if judged {
                    "≤ 0.5× jq; RSS ≤ 2× the JSON read".into()
                } else {
                    String::new()
                },
                pass: judged.then_some(a.ms <= 0.5 * b.ms && rss_ok),
            });
        }
        rows.push(Row {
            figure: format!("catalog file of {} images", thousands(n)),
            value: format!("{:.0} MB", bytes as f64 / (1024.0 * 1024.0)),
            target: String::new(),
            pass: None,
        });
    }
    if let [(small_n, small), .., (big_n, big)] = list_ms[..] {
        let ratio = big / small;
        let scale = big_n as f64 / small_n as f64;
        rows.push(Row {
            figure: format!(
                "offline `list -A` at {} vs {} images",
                thousands(big_n),
                thousands(small_n)
            ),
            value: format!("{big:.0} vs {small:.0} ms ({ratio:.1}×)"),
            target: format!("≤ {:.1}× (linear is {scale:.0}×)", scale * 1.2),
            pass: Some(ratio <= scale * 1.2),
        });
    }
    Ok(rows)
}

/// Live rows: every read command against `kubectl get vmi,cvmi -A -o json` (what anyone
/// without the plugin would run first), on the cluster `env` points at, with `n` images
/// loaded and the VM manifests of the offline rows in `work`. Only `list -A` has a
/// target; the rest show where the time goes.
pub fn live_rows(env: &[(&str, String)], n: usize, work: &Path) -> Result<Vec<Row>> {
    let (name, id) = TARGET;
    let vms = work.join("vms");
    let vms = vms.display();
    let baseline = time("kubectl get vmi,cvmi -A -o json", env, 3)?;
    let mut rows = Vec::new();
    for (what, ours, judged) in [
        ("list -A", "kubectl vmimage list -A".to_string(), true),
        (
            "list -A -o json",
            "kubectl vmimage list -A -o json".to_string(),
            true,
        ),
        (
            "resolve",
            format!("kubectl vmimage resolve {name} -n team-1 -o id"),
            false,
        ),
        ("get -o yaml", format!("kubectl vmimage get {id} -o yaml"), false),
        ("describe", format!("kubectl vmimage describe {id}"), false),
        (
            "versions",
            format!("kubectl vmimage versions {name} -n team-1"),
            false,
        ),
        (
            "catalog export -A",
            "kubectl vmimage catalog export -A -o json".to_string(),
            false,
        ),
        (
            "compare (the cluster with itself: two lists)",
            "kubectl vmimage compare vmimage-local vmimage-local".to_string(),
            false,
        ),
        (
            "check -f (1,000 VMs)",
            format!("kubectl vmimage check -f {vms} -n team-1"),
            false,
        ),
        (
            "pin -f (1,000 VMs)",
            format!("kubectl vmimage pin -f {vms} -n team-1"),
            false,
        ),
    ] {
        let a = time(&ours, env, 3)?;
        rows.push(Row {
            figure: format!(
                "live `{what}`, {} images: plugin vs `kubectl get vmi,cvmi -A -o json` (plugin peak RSS)",
                thousands(n)
            ),
            value: format!(
                "{:.0} vs {:.0} ms ({:.2}×; {:.0} MB)",
                a.ms,
                baseline.ms,
                a.ms / baseline.ms,
                a.rss_mb
            ),
            target: if judged { "≤ 1.2×".into() } else { String::new() },
            pass: judged.then_some(a.ms <= 1.2 * baseline.ms),
        });
    }
    Ok(rows)
}

//! Per-AdmissionReview cost of resolution: parse the VM, plan its changes against the
//! index, at 100, 10,000 and 100,000 images, beside a linear scan doing the same job;
//! and a mistyped name's error with its near misses.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use vmimage_shared::{Index, Scope, api::VmImageRefs, index::ImageEntry, mutate::plan};

const TARGET: &str = "bench-ubuntu-24.04";

fn entries(n: usize) -> Vec<ImageEntry> {
    let mut v: Vec<ImageEntry> = (0..n)
        .map(|i| ImageEntry {
            name: format!("vmi-{i:017x}").into(),
            scope: if i % 2 == 0 {
                Scope::Cluster
            } else {
                Scope::Namespace(format!("team-{}", i % 10).into())
            },
            display_name: Some(format!("image-{}-{}", i % 4, i).into()),
            ready: true,
            image_type: Some("OVF".into()),
            labels: Default::default(),
            product_version: Some(format!("{}.{}", i % 7, i % 12).into()),
            os_version: None,
            os_id: None,
            provider: None,
            created: None,
        })
        .collect();
    v.push(ImageEntry {
        name: "vmi-0a0044d7c690bcbea".into(),
        display_name: Some(TARGET.into()),
        ..v[0].clone()
    });
    v
}

fn review() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": "VirtualMachine",
        "metadata": {"name": "web", "namespace": "team-1", "labels": {"app": "web"}},
        "spec": {"imageName": TARGET, "className": "best-effort-small", "powerState": "PoweredOn",
                 "network": {"interfaces": [{"name": "eth0", "network": {"name": "primary"}}]}}
    }))
    .unwrap()
}

/// The naive alternative: scan every image for the name, in the VM's namespace and the cluster.
fn linear<'a>(all: &'a [ImageEntry], ns: &str, name: &str) -> Vec<&'a ImageEntry> {
    all.iter()
        .filter(|e| e.scope.namespace().is_none_or(|n| n == ns) && e.display_name.as_deref() == Some(name))
        .collect()
}

fn bench(c: &mut Criterion) {
    let body = review();
    let mut group = c.benchmark_group("resolve_per_review");
    for n in [100, 10_000, 100_000] {
        let all = entries(n);
        let index = Index::from_entries(all.clone());
        group.bench_with_input(BenchmarkId::new("index", n), &n, |b, _| {
            b.iter(|| {
                let vm: serde_json::Value = serde_json::from_slice(black_box(&body)).unwrap();
                let refs = VmImageRefs::from_json(&vm).unwrap();
                black_box(plan(&index, &refs).unwrap())
            })
        });
        group.bench_with_input(BenchmarkId::new("linear_scan", n), &n, |b, _| {
            b.iter(|| {
                let vm: serde_json::Value = serde_json::from_slice(black_box(&body)).unwrap();
                let refs = VmImageRefs::from_json(&vm).unwrap();
                black_box(linear(&all, &refs.namespace, refs.image_name.as_deref().unwrap()))
            })
        });
    }
    group.finish();
    // The error path: a typo is answered with its near misses, found by a scan.
    let mut group = c.benchmark_group("resolve_mistyped");
    for n in [10_000, 100_000] {
        let index = Index::from_entries(entries(n));
        group.bench_with_input(BenchmarkId::new("near_misses", n), &n, |b, _| {
            b.iter(|| black_box(vmimage_shared::resolve(&index, "team-1", "bench-ubuntu-24.4").unwrap_err()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

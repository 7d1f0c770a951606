//! Every VirtualMachine manifest of VM Operator's documentation
//! (`../shared/vm-operator/doc-examples`, one file per YAML block) through `pin`, `check`
//! and a server-side dry run through the apiserver and the webhook: the three agree on
//! every VM, pinning never touches anything but image fields, and pinning twice changes
//! nothing. Some examples are fragments or invalid against the schema (the docs' fault);
//! those must be reported, never crash a command or be corrupted.

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use vmimage_testenv::suite::Ctx;

pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![
        crate::doc_examples::pin_check_and_the_webhook_agree_on_every_doc_example,
        crate::doc_examples::pinned_manifests_of_every_served_version_are_accepted,
    ]
}

fn examples_dir() -> PathBuf {
    vmimage_testenv::workspace_root().join("../shared/vm-operator/doc-examples")
}

/// The YAML documents of a text, as JSON (`None` for an empty document).
fn documents(text: &str) -> Result<Vec<Value>> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).map_err(anyhow::Error::from))
        .collect()
}

fn is_vm(doc: &Value) -> bool {
    doc["kind"] == "VirtualMachine"
        && doc["apiVersion"]
            .as_str()
            .is_some_and(|a| a.starts_with("vmoperator.vmware.com/"))
}

/// A VM with its image fields taken out: what pinning must leave exactly as it was.
fn without_image_fields(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(spec) = doc.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("imageName");
        spec.remove("image");
        let strip = |list: Option<&mut Value>| {
            for cdrom in list.and_then(Value::as_array_mut).into_iter().flatten() {
                if let Some(c) = cdrom.as_object_mut() {
                    c.remove("image");
                }
            }
        };
        strip(spec.get_mut("cdrom"));
        strip(spec.get_mut("hardware").and_then(|h| h.get_mut("cdrom")));
    }
    doc
}

/// Images the examples name, in the namespaces they use, as namespaced images (the
/// suite's cluster images are shared by every test).
fn example_images(namespaces: &[&str]) -> Vec<Value> {
    let images = [
        ("vmi-0a0044d7c690bcbea", "ubuntu-22.04"),
        ("vmi-cc61318e786a2a31f", "ubuntu-24.04"),
        ("vmi-d0c0e0f000000a001", "Photon OS 5.0"),
        ("vmi-d0c0e0f000000a002", "windows-template"),
    ];
    namespaces
        .iter()
        .flat_map(|ns| {
            images.iter().map(move |(id, display)| {
                json!({
                    "apiVersion": "vmoperator.vmware.com/v1alpha6",
                    "kind": "VirtualMachineImage",
                    "metadata": {"name": id, "namespace": ns},
                    "spec": {},
                    "status": {"name": display, "type": "OVF", "conditions": [{
                        "type": "Ready", "status": "True", "reason": "Ready", "message": "",
                        "lastTransitionTime": "2026-01-01T00:00:00Z"
                    }]}
                })
            })
        })
        .collect()
}

struct Verdicts {
    webhook: &'static str,
    check: String,
}

pub async fn pin_check_and_the_webhook_agree_on_every_doc_example(ctx: Ctx) -> Result<()> {
    let dir = examples_dir();
    ensure!(
        dir.is_dir(),
        "VM Operator's documentation manifests are missing: {}",
        dir.display()
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let namespaces = [
        "default",
        "my-namespace",
        "my-namespace-1",
        "ns-1",
        "ns-2",
        "production",
    ];
    let client = ctx.client().await?;
    vmimage_testenv::catalog::ensure_namespaces(&client, namespaces.iter().map(|n| n.to_string())).await?;
    vmimage_testenv::catalog::load_objects(&client, example_images(&namespaces)).await?;

    let work = std::env::temp_dir().join(format!("doc-examples-{}", ctx.namespace));
    std::fs::create_dir_all(&work)?;
    let (mut vms, mut agreed, mut invalid) = (0, 0, Vec::new());
    let mut failures = Vec::new();
    for file in &files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .context("file name")?
            .to_string();
        match one_example(&ctx, &work, file) {
            Ok(report) => {
                vms += report.vms;
                agreed += report.agreed;
                invalid.extend(report.invalid.into_iter().map(|i| format!("{name}: {i}")));
            }
            Err(e) => failures.push(format!("{name}: {e:#}")),
        }
    }
    eprintln!(
        "doc examples: {} files, {vms} VirtualMachines, {agreed} with the same verdict from pin, check and the webhook, {} refused by the schema before any image question",
        files.len(),
        invalid.len()
    );
    for i in &invalid {
        eprintln!("  schema: {i}");
    }
    ensure!(
        files.len() >= 50 && vms >= 40,
        "only {} files / {vms} VMs",
        files.len()
    );
    if !failures.is_empty() {
        bail!(
            "{} of {} examples:\n{}",
            failures.len(),
            files.len(),
            failures.join("\n")
        );
    }
    Ok(())
}

#[derive(Default)]
struct Report {
    vms: usize,
    agreed: usize,
    invalid: Vec<String>,
}

fn one_example(ctx: &Ctx, work: &Path, file: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(file)?;
    let original = documents(&text)?;
    let copy = work.join(file.file_name().context("file name")?);
    std::fs::write(&copy, &text)?;
    let path = copy.to_str().context("path")?;

    // pin: refuses (nothing written) or pins; the pinned text parses, differs only in
    // image fields, and pins to itself.
    let pinned = ctx.kubectl(&["vmimage", "pin", "-f", path])?;
    let pin_ok = pinned.status.success();
    let pin_err = String::from_utf8_lossy(&pinned.stderr).into_owned();
    ensure!(!pin_err.contains("panicked"), "pin panicked: {pin_err}");
    ensure!(
        std::fs::read_to_string(&copy)? == text,
        "pin without --in-place changed the file"
    );
    if pin_ok {
        let out = String::from_utf8(pinned.stdout)?;
        let docs = documents(&out).with_context(|| format!("the pinned text is not YAML:\n{out}"))?;
        ensure!(
            docs.len() == original.len(),
            "pin changed the number of documents"
        );
        for (a, b) in original.iter().zip(&docs) {
            ensure!(
                without_image_fields(a) == without_image_fields(b),
                "pin changed more than image fields:\n{out}"
            );
        }
        std::fs::write(&copy, &out)?;
        let again = ctx.kubectl(&["vmimage", "pin", "-f", path])?;
        ensure!(
            again.status.success() && String::from_utf8(again.stdout)? == out,
            "pinning twice changed something: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        std::fs::write(&copy, &text)?;
    }

    // check, VM by VM.
    let checked = ctx.kubectl(&["vmimage", "check", "-f", path, "-o", "json"])?;
    let check_err = String::from_utf8_lossy(&checked.stderr).into_owned();
    let checked: Value = serde_json::from_slice(&checked.stdout)
        .with_context(|| format!("check -o json printed no JSON: {check_err}"))?;
    let checked = checked.as_array().cloned().unwrap_or_default();

    let mut report = Report::default();
    let vm_docs: Vec<&Value> = original.iter().filter(|d| is_vm(d)).collect();
    ensure!(
        checked.len() == vm_docs.len(),
        "check reported {} of {} VMs: {check_err}",
        checked.len(),
        vm_docs.len()
    );
    for (doc, check) in vm_docs.into_iter().zip(&checked) {
        report.vms += 1;
        let out = ctx.kubectl_stdin(&["create", "--dry-run=server", "-f", "-"], Some(&doc.to_string()))?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let webhook = if out.status.success() {
            if stderr.contains("Warning: vmimage") {
                "Warned"
            } else {
                "Allowed"
            }
        } else if stderr.contains("denied the request") {
            "Denied"
        } else {
            // The schema (or the namespace) refused it before any image question.
            report
                .invalid
                .push(stderr.lines().next().unwrap_or_default().to_string());
            continue;
        };
        let v = Verdicts {
            webhook,
            check: check["verdict"].as_str().unwrap_or_default().to_string(),
        };
        let same = match v.webhook {
            "Denied" => v.check == "Denied" && !pin_ok,
            "Warned" => v.check == "Warned",
            _ => v.check == "Allowed" || v.check == "Warned",
        };
        ensure!(
            same,
            "the webhook says {} ({stderr}), check says {} ({check}), pin {}",
            v.webhook,
            v.check,
            if pin_ok { "pins" } else { "refuses" }
        );
        report.agreed += 1;
    }
    Ok(report)
}

/// A VM of `version` naming its boot image and (where the version has CD-ROMs) an ISO
/// by display name, as a user writes it.
fn versioned_vm(version: &str, ns: &str) -> Value {
    let mut spec = json!({"className": "best-effort-small", "imageName": "ubuntu-24.04"});
    let cdrom = json!([{"name": "cd0", "image": {"name": "windows-server-2022.iso"}, "connected": false}]);
    match version {
        "v1alpha3" | "v1alpha4" => spec["cdrom"] = cdrom,
        "v1alpha5" | "v1alpha6" => spec["hardware"] = json!({"cdrom": cdrom}),
        _ => {}
    }
    json!({
        "apiVersion": format!("vmoperator.vmware.com/{version}"),
        "kind": "VirtualMachine",
        "metadata": {"name": format!("pinned-{version}"), "namespace": ns},
        "spec": spec
    })
}

/// `pin` on a manifest of every version the cluster serves gives a manifest its schema
/// accepts (v1alpha1/v1alpha2 have no `spec.image`; v1alpha3/v1alpha4 keep CD-ROMs in
/// `spec.cdrom`), created for real through the apiserver and the webhook.
pub async fn pinned_manifests_of_every_served_version_are_accepted(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let served: Vec<String> = {
        let crd: Value = serde_json::from_str(&ctx.kubectl_ok(&[
            "get",
            "crd",
            "virtualmachines.vmoperator.vmware.com",
            "-o",
            "json",
        ])?)?;
        crd["spec"]["versions"]
            .as_array()
            .context("versions")?
            .iter()
            .filter(|v| v["served"] == true)
            .filter_map(|v| v["name"].as_str().map(str::to_string))
            .collect()
    };
    ensure!(!served.is_empty(), "the cluster serves no VirtualMachine version");
    let work = std::env::temp_dir().join(format!("pinned-versions-{ns}"));
    std::fs::create_dir_all(&work)?;
    for version in &served {
        let file = work.join(format!("{version}.yaml"));
        std::fs::write(&file, serde_norway::to_string(&versioned_vm(version, ns))?)?;
        let path = file.to_str().context("path")?;
        let pinned = ctx.kubectl_ok(&["vmimage", "pin", "-f", path])?;
        let doc: Value = documents(&pinned)?.into_iter().next().context("a document")?;
        let has_image = doc["spec"].get("image").is_some();
        ensure!(
            has_image == !matches!(version.as_str(), "v1alpha1" | "v1alpha2"),
            "{version}: spec.image {}: {pinned}",
            if has_image { "written" } else { "missing" }
        );
        std::fs::write(&file, &pinned)?;
        let out = ctx.kubectl(&["create", "--validate=strict", "-f", path, "-o", "json"])?;
        ensure!(
            out.status.success(),
            "{version}: the pinned manifest is refused: {}\n{pinned}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    eprintln!("pinned and created VMs of {}", served.join(", "));
    Ok(())
}

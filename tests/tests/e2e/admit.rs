//! The webhook in the real admission chain: VMs created with the real kubectl against
//! the real apiserver, which calls the real webhook binary.

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use vmimage_testenv::suite::{Ctx, TestFn};

const UBUNTU_24: &str = "vmi-0a0044d7c690bcbea";
const UBUNTU_22: &str = "vmi-f7289168afdf62e59";
const WINDOWS_ISO: &str = "vmi-6d121317c1fc7dfa5";
const ANNOTATION: &str = "vmimage.io/requested-image";

/// Every test in this file, for the e2e runner.
pub fn all() -> Vec<(&'static str, TestFn)> {
    vmimage_testenv::tests![
        crate::admit::display_name_is_rewritten_on_create,
        crate::admit::ambiguous_names_are_denied_with_the_candidates,
        crate::admit::missing_name_is_denied_with_near_misses,
        crate::admit::vmi_ids_resolve_namespace_first,
        crate::admit::image_created_a_moment_ago_resolves_at_once,
        crate::admit::cdrom_display_names_are_resolved,
        crate::admit::image_name_and_image_disagreeing_is_denied,
        crate::admit::update_leaves_image_fields_alone,
        crate::admit::server_dry_run_is_mutated_the_same,
    ]
}

fn vm(ns: &str, name: &str, spec: Value) -> String {
    vmimage_testenv::suite::vm_manifest(ns, name, spec).to_string()
}

/// `kubectl create -f -`; returns (success, stdout, stderr).
fn create(ctx: &Ctx, manifest: &str, extra: &[&str]) -> Result<(bool, String, String)> {
    let mut args = vec!["create", "-f", "-"];
    args.extend_from_slice(extra);
    let out = ctx.kubectl_stdin(&args, Some(manifest))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn get_vm(ctx: &Ctx, name: &str) -> Result<Value> {
    let out = ctx.kubectl_ok(&["get", "vm", name, "-n", &ctx.namespace, "-o", "json"])?;
    Ok(serde_json::from_str(&out)?)
}

fn denied(ctx: &Ctx, manifest: &str) -> Result<String> {
    let (ok, stdout, stderr) = create(ctx, manifest, &[])?;
    ensure!(!ok, "expected a denial, got: {stdout}");
    ensure!(
        stderr.contains("admission webhook \"mutate.virtualmachine.vmimage.io\" denied the request"),
        "not denied by vmimage: {stderr}"
    );
    Ok(stderr)
}

/// A display name becomes the VMI ID in both fields; the user's text stays in an annotation.
pub async fn display_name_is_rewritten_on_create(ctx: Ctx) -> Result<()> {
    let manifest = vm(&ctx.namespace, "web", json!({"imageName": "ubuntu-24.04"}));
    ctx.kubectl_stdin(&["apply", "-f", "-"], Some(&manifest))
        .and_then(|o| {
            ensure!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            Ok(())
        })?;
    let got = get_vm(&ctx, "web")?;
    ensure!(got["spec"]["imageName"] == UBUNTU_24, "{}", got["spec"]);
    ensure!(
        got["spec"]["image"] == json!({"kind": "ClusterVirtualMachineImage", "name": UBUNTU_24}),
        "{}",
        got["spec"]
    );
    ensure!(
        got["metadata"]["annotations"][ANNOTATION] == "ubuntu-24.04",
        "{}",
        got["metadata"]
    );
    Ok(())
}

/// VM Operator's ambiguity messages, then every candidate's ID.
pub async fn ambiguous_names_are_denied_with_the_candidates(ctx: Ctx) -> Result<()> {
    // Namespace dev holds debian-12 twice, and a copy of the cluster's ubuntu-22.04.
    let stderr = denied(&ctx, &vm("dev", "debian", json!({"imageName": "debian-12"})))?;
    ensure!(
        stderr.contains(r#"multiple VM images exist for "debian-12" in namespace scope"#),
        "{stderr}"
    );
    ensure!(
        stderr.contains("vmi-f4ef87bfc6e8eb414") && stderr.contains("vmi-285f9254e5aa9ff57"),
        "{stderr}"
    );
    let stderr = denied(&ctx, &vm("dev", "ubuntu", json!({"imageName": "ubuntu-22.04"})))?;
    ensure!(
        stderr.contains(r#"multiple VM images exist for "ubuntu-22.04" in namespace and cluster scope"#),
        "{stderr}"
    );
    ensure!(
        stderr.contains("vmi-eaa4e0c012f562222") && stderr.contains(UBUNTU_22),
        "{stderr}"
    );
    // From any other namespace the cluster image is the only candidate.
    let (ok, _, stderr) = create(
        &ctx,
        &vm(&ctx.namespace, "ubuntu", json!({"imageName": "ubuntu-22.04"})),
        &[],
    )?;
    ensure!(ok, "{stderr}");
    ensure!(get_vm(&ctx, "ubuntu")?["spec"]["imageName"] == UBUNTU_22);
    Ok(())
}

/// Not found: VM Operator's message, plus the near miss that differs only in case.
pub async fn missing_name_is_denied_with_near_misses(ctx: Ctx) -> Result<()> {
    let stderr = denied(
        &ctx,
        &vm(&ctx.namespace, "nope", json!({"imageName": "no-such-image"})),
    )?;
    ensure!(
        stderr.contains(r#"no VM image exists for "no-such-image" in namespace or cluster scope"#),
        "{stderr}"
    );
    let stderr = denied(
        &ctx,
        &vm(&ctx.namespace, "case", json!({"imageName": "Ubuntu-24.04"})),
    )?;
    ensure!(
        stderr.contains(r#"no VM image exists for "Ubuntu-24.04" in namespace or cluster scope"#),
        "{stderr}"
    );
    ensure!(stderr.contains(UBUNTU_24), "the near miss is listed: {stderr}");
    let out = ctx.kubectl_ok(&["get", "vm", "-n", &ctx.namespace, "-o", "name"])?;
    ensure!(out.trim().is_empty(), "denied VMs must not exist: {out}");
    Ok(())
}

/// A `vmi-` ID names the namespaced image when one exists, as VM Operator decides.
pub async fn vmi_ids_resolve_namespace_first(ctx: Ctx) -> Result<()> {
    let client = ctx.client().await?;
    vmimage_testenv::catalog::apply_image(
        &client,
        json!({
            "kind": "VirtualMachineImage",
            "metadata": {"name": UBUNTU_24, "namespace": ctx.namespace},
            "status": {"name": "ubuntu-24.04-local", "type": "OVF"},
        }),
    )
    .await?;
    let (ok, _, stderr) = create(
        &ctx,
        &vm(&ctx.namespace, "by-id", json!({"imageName": UBUNTU_24})),
        &[],
    )?;
    ensure!(ok, "{stderr}");
    let got = get_vm(&ctx, "by-id")?;
    ensure!(
        got["spec"]["image"] == json!({"kind": "VirtualMachineImage", "name": UBUNTU_24}),
        "{}",
        got["spec"]
    );
    ensure!(got["spec"]["imageName"] == UBUNTU_24);

    // The cluster image's display name now resolves to the cluster image, whose ID VM
    // Operator would read as the namespaced one: only spec.image may be set.
    let (ok, _, stderr) = create(
        &ctx,
        &vm(&ctx.namespace, "by-name", json!({"imageName": "ubuntu-24.04"})),
        &[],
    )?;
    ensure!(ok, "{stderr}");
    let got = get_vm(&ctx, "by-name")?;
    ensure!(
        got["spec"]["image"] == json!({"kind": "ClusterVirtualMachineImage", "name": UBUNTU_24}),
        "{}",
        got["spec"]
    );
    ensure!(got["spec"]["imageName"] == "ubuntu-24.04", "{}", got["spec"]);
    Ok(())
}

/// An image and a VM applied back to back: the webhook confirms its cache miss live.
pub async fn image_created_a_moment_ago_resolves_at_once(ctx: Ctx) -> Result<()> {
    let client = ctx.client().await?;
    let display = format!("fresh-{}", ctx.namespace);
    let id = "vmi-123456789abcdef01";
    vmimage_testenv::catalog::apply_image(
        &client,
        json!({
            "kind": "VirtualMachineImage",
            "metadata": {"name": id, "namespace": ctx.namespace},
            "status": {"name": display, "type": "OVF"},
        }),
    )
    .await?;
    let (ok, _, stderr) = create(
        &ctx,
        &vm(&ctx.namespace, "fresh", json!({"imageName": display})),
        &[],
    )?;
    ensure!(ok, "{stderr}");
    let got = get_vm(&ctx, "fresh")?;
    ensure!(got["spec"]["imageName"] == id, "{}", got["spec"]);
    ensure!(
        got["spec"]["image"]["kind"] == "VirtualMachineImage",
        "{}",
        got["spec"]
    );
    Ok(())
}

/// CD-ROM images written by display name get their object name.
pub async fn cdrom_display_names_are_resolved(ctx: Ctx) -> Result<()> {
    let spec = json!({
        "imageName": "photon-5.0",
        "hardware": {"cdrom": [{
            "name": "cdrom1",
            "image": {"kind": "ClusterVirtualMachineImage", "name": "windows-server-2022.iso"},
            "connected": true,
        }]},
    });
    let (ok, _, stderr) = create(&ctx, &vm(&ctx.namespace, "installer", spec), &[])?;
    ensure!(ok, "{stderr}");
    let got = get_vm(&ctx, "installer")?;
    ensure!(
        got["spec"]["hardware"]["cdrom"][0]["image"]["name"] == WINDOWS_ISO,
        "{}",
        got["spec"]
    );
    ensure!(got["spec"]["hardware"]["cdrom"][0]["connected"] == true);
    ensure!(
        got["spec"]["imageName"] == "vmi-803da913057f32b6f",
        "{}",
        got["spec"]
    );
    Ok(())
}

/// Both fields set and naming different images: VM Operator's Invalid message, earlier.
pub async fn image_name_and_image_disagreeing_is_denied(ctx: Ctx) -> Result<()> {
    let spec = json!({
        "imageName": "ubuntu-24.04",
        "image": {"kind": "ClusterVirtualMachineImage", "name": UBUNTU_22},
    });
    let stderr = denied(&ctx, &vm(&ctx.namespace, "mixed", spec))?;
    ensure!(
        stderr.contains(
            r#"spec.imageName: Invalid value: "ubuntu-24.04": must refer to the same resource as spec.image"#
        ),
        "{stderr}"
    );
    Ok(())
}

/// UPDATE is never resolved: what the user writes on update stays as written.
pub async fn update_leaves_image_fields_alone(ctx: Ctx) -> Result<()> {
    let (ok, _, stderr) = create(
        &ctx,
        &vm(&ctx.namespace, "web", json!({"imageName": "ubuntu-24.04"})),
        &[],
    )?;
    ensure!(ok, "{stderr}");
    let before = get_vm(&ctx, "web")?;
    ctx.kubectl_ok(&[
        "patch",
        "vm",
        "web",
        "-n",
        &ctx.namespace,
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"touched":"yes"}},"spec":{"imageName":"photon-5.0"}}"#,
    ])?;
    let after = get_vm(&ctx, "web")?;
    ensure!(after["metadata"]["labels"]["touched"] == "yes");
    ensure!(after["spec"]["imageName"] == "photon-5.0", "{}", after["spec"]);
    ensure!(
        after["spec"]["image"] == before["spec"]["image"],
        "{}",
        after["spec"]
    );
    ensure!(
        after["metadata"]["annotations"][ANNOTATION] == "ubuntu-24.04",
        "{}",
        after["metadata"]
    );
    Ok(())
}

/// `kubectl create --dry-run=server` shows the same mutation and persists nothing.
pub async fn server_dry_run_is_mutated_the_same(ctx: Ctx) -> Result<()> {
    let manifest = vm(&ctx.namespace, "dry", json!({"imageName": "ubuntu-24.04"}));
    let (ok, stdout, stderr) = create(&ctx, &manifest, &["--dry-run=server", "-o", "json"])?;
    ensure!(ok, "{stderr}");
    let got: Value = serde_json::from_str(&stdout).context("dry-run output")?;
    ensure!(got["spec"]["imageName"] == UBUNTU_24, "{}", got["spec"]);
    ensure!(got["spec"]["image"]["kind"] == "ClusterVirtualMachineImage");
    ensure!(got["metadata"]["annotations"][ANNOTATION] == "ubuntu-24.04");
    let out = ctx.kubectl(&["get", "vm", "dry", "-n", &ctx.namespace])?;
    ensure!(!out.status.success(), "a dry run must not create the VM");

    let stderr = denied(&ctx, &vm("dev", "dry", json!({"imageName": "debian-12"})))?;
    let out = ctx.kubectl_stdin(
        &["create", "--dry-run=server", "-f", "-"],
        Some(&vm("dev", "dry", json!({"imageName": "debian-12"}))),
    )?;
    let dry_stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && dry_stderr == stderr,
        "{dry_stderr} vs {stderr}"
    );
    Ok(())
}

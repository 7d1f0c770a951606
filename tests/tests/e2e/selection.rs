//! Selection beyond exact display names, through the real apiserver, kubectl and
//! webhook: `<content library>/<display name>` references, and image selectors for VMs
//! that name no image. Every object lives in the test's own namespace (the policy selects
//! only it), so the tests run beside the others.

use crate::policy::{apply_policy, policy, prepare, wait_loaded};
use anyhow::{Context, Result, ensure};
use kube::{
    Api,
    api::{ApiResource, DynamicObject, Patch, PatchParams},
};
use serde_json::{Value, json};
use vmimage_testenv::{
    catalog::apply_image,
    suite::{Ctx, TestFn},
};

/// Every test in this file, for the e2e runner.
pub fn all() -> Vec<(&'static str, TestFn)> {
    vmimage_testenv::tests![
        crate::selection::qualified_names_resolve_through_the_library_everywhere,
        crate::selection::image_selectors_pick_the_newest_ready_match_and_policy_can_forbid_them,
    ]
}

const GOLDEN_A: &str = "vmi-0000000000000a001";
const GOLDEN_B: &str = "vmi-0000000000000b001";
const FAMILY: &str = "vmimage.io/e2e-family";

fn registry(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "imageregistry.vmware.com".into(),
        version: "v1alpha2".into(),
        api_version: "imageregistry.vmware.com/v1alpha2".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// Applies a namespaced imageregistry object and then its status, as VM Operator's
/// image registry would.
async fn apply_registry(
    ctx: &Ctx,
    kind: &str,
    plural: &str,
    name: &str,
    spec: Value,
    status: Value,
) -> Result<()> {
    let ar = registry(kind, plural);
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client().await?, &ctx.namespace, &ar);
    let pp = PatchParams::apply("vmimage-e2e").force();
    let object = json!({"apiVersion": ar.api_version, "kind": kind,
                        "metadata": {"name": name, "namespace": ctx.namespace}, "spec": spec});
    api.patch(name, &pp, &Patch::Apply(&object))
        .await
        .with_context(|| format!("applying {kind} {name}"))?;
    let status = json!({"apiVersion": ar.api_version, "kind": kind, "status": status});
    api.patch_status(name, &pp, &Patch::Apply(&status))
        .await
        .with_context(|| format!("writing the status of {kind} {name}"))?;
    Ok(())
}

/// A Ready namespaced image of the test's namespace.
async fn image(
    ctx: &Ctx,
    id: &str,
    display: &str,
    item: &str,
    labels: Value,
    version: &str,
    ready: bool,
) -> Result<()> {
    apply_image(
        &ctx.client().await?,
        json!({
            "kind": "VirtualMachineImage",
            "metadata": {"name": id, "namespace": ctx.namespace, "labels": labels},
            "spec": {"providerRef": {"apiVersion": "imageregistry.vmware.com/v1alpha2",
                                     "kind": "ContentLibraryItem", "name": item}},
            "status": {"name": display, "type": "OVF", "productInfo": {"version": version},
                       "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                                       "reason": if ready { "True" } else { "NotSynced" }}]}
        }),
    )
    .await
}

fn vm(ns: &str, name: &str, annotations: Value, spec: Value) -> String {
    let mut vm = vmimage_testenv::suite::vm_manifest(ns, name, spec);
    vm["metadata"]["annotations"] = annotations;
    vm.to_string()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Two libraries of the namespace carry an image with the same display name: the bare
/// name is ambiguous, `<library>/<name>` (by Kubernetes name or display name) is not, in
/// `resolve` (live and from a snapshot), `pin`, `check` and at admission.
pub async fn qualified_names_resolve_through_the_library_everywhere(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.clone();
    for (lib, display) in [("team-a", "Team A"), ("team-b", "team-b")] {
        apply_registry(
            &ctx,
            "ContentLibrary",
            "contentlibraries",
            lib,
            json!({"id": format!("{lib}-uuid"), "libraryType": "ContentLibrary"}),
            json!({"name": display}),
        )
        .await?;
    }
    for (item, lib) in [("item-a", "team-a"), ("item-b", "team-b")] {
        apply_registry(
            &ctx,
            "ContentLibraryItem",
            "contentlibraryitems",
            item,
            json!({"id": format!("{item}-uuid"), "libraryName": lib}),
            json!({"name": "golden"}),
        )
        .await?;
    }
    image(&ctx, GOLDEN_A, "golden", "item-a", json!({}), "1.0", true).await?;
    image(&ctx, GOLDEN_B, "golden", "item-b", json!({}), "2.0", true).await?;

    let bare = ctx.kubectl(&["vmimage", "resolve", "golden", "-n", &ns])?;
    ensure!(
        bare.status.code() == Some(1) && stderr(&bare).contains("multiple VM images exist for \"golden\""),
        "{bare:?}"
    );
    for (reference, want) in [
        ("team-a/golden", GOLDEN_A),
        ("Team A/golden", GOLDEN_A),
        ("team-b/golden", GOLDEN_B),
    ] {
        let out = ctx.kubectl(&["vmimage", "resolve", reference, "-n", &ns, "-o", "id"])?;
        ensure!(
            out.status.success() && stdout(&out) == want,
            "{reference}: {out:?}"
        );
    }
    let unknown = ctx.kubectl(&["vmimage", "resolve", "team-c/golden", "-n", &ns])?;
    ensure!(
        unknown.status.code() == Some(1)
            && stderr(&unknown)
                .contains("no VM image exists for \"team-c/golden\" in namespace or cluster scope"),
        "{unknown:?}"
    );

    // Offline: a snapshot with the items and libraries gives the same answer.
    let snapshot = ctx.kubectl_ok(&["get", "vmi,libitem,lib", "-n", &ns, "-o", "yaml"])?;
    let file = std::env::temp_dir().join(format!("qualified-{ns}.yaml"));
    std::fs::write(&file, snapshot)?;
    let offline = ctx.kubectl(&[
        "vmimage",
        "--catalog",
        file.to_str().context("temp path")?,
        "resolve",
        "Team A/golden",
        "-n",
        &ns,
        "-o",
        "id",
    ])?;
    ensure!(
        offline.status.success() && stdout(&offline) == GOLDEN_A,
        "{offline:?}"
    );

    // pin and check predict the webhook.
    let manifest = vm(&ns, "web", json!({}), json!({"imageName": "team-b/golden"}));
    let pinned = ctx.kubectl_stdin(&["vmimage", "pin", "-f", "-", "-n", &ns], Some(&manifest))?;
    ensure!(
        pinned.status.success() && stdout(&pinned).contains(GOLDEN_B),
        "{pinned:?}"
    );
    let checked = ctx.kubectl_stdin(
        &["vmimage", "check", "-f", "-", "-n", &ns, "-o", "json"],
        Some(&manifest),
    )?;
    ensure!(
        checked.status.success() && stdout(&checked).contains(GOLDEN_B),
        "{checked:?}"
    );

    // At admission: the webhook pins the qualified name to the ID VM Operator then sees.
    let created = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&manifest))?;
    ensure!(created.status.success(), "{created:?}");
    let stored: Value =
        serde_json::from_str(&ctx.kubectl_ok(&["get", "vm", "web", "-n", &ns, "-o", "json"])?)?;
    ensure!(stored["spec"]["imageName"] == GOLDEN_B, "{}", stored["spec"]);
    ensure!(
        stored["spec"]["image"] == json!({"kind": "VirtualMachineImage", "name": GOLDEN_B}),
        "{}",
        stored["spec"]
    );
    ensure!(
        stored["metadata"]["annotations"]["vmimage.io/requested-image"] == "team-b/golden",
        "{}",
        stored["metadata"]
    );
    let denied = ctx.kubectl_stdin(
        &["create", "-f", "-"],
        Some(&vm(
            &ns,
            "web-2",
            json!({}),
            json!({"imageName": "team-c/golden"}),
        )),
    )?;
    ensure!(
        !denied.status.success()
            && stderr(&denied).contains("denied the request: no VM image exists for \"team-c/golden\""),
        "{denied:?}"
    );
    Ok(())
}

/// A VM naming no image gets the newest Ready image whose labels match, within the
/// version range; the choice is recorded and warned; no match is denied; the plugin
/// picks the same; a policy can forbid selectors.
pub async fn image_selectors_pick_the_newest_ready_match_and_policy_can_forbid_them(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.clone();
    let family = json!({FAMILY: ns});
    for (id, version, ready) in [
        ("vmi-00000000000002204", "22.04", true),
        ("vmi-00000000000002304", "23.04", true),
        ("vmi-00000000000002310", "23.10", false),
        ("vmi-00000000000002404", "24.04", true),
    ] {
        image(
            &ctx,
            id,
            &format!("family-{version}"),
            "item-x",
            family.clone(),
            version,
            ready,
        )
        .await?;
    }
    let selector = format!("{FAMILY}={ns}");
    let annotations =
        json!({"vmimage.io/image-selector": selector, "vmimage.io/image-version": ">=22.04, <24"});
    let want = "vmi-00000000000002304";

    let resolved = ctx.kubectl(&[
        "vmimage",
        "resolve",
        "--selector",
        &selector,
        "--version",
        ">=22.04, <24",
        "-n",
        &ns,
        "-o",
        "id",
    ])?;
    ensure!(
        resolved.status.success() && stdout(&resolved) == want,
        "{resolved:?}"
    );

    let manifest = vm(&ns, "picked", annotations.clone(), json!({"className": "small"}));
    let pinned = ctx.kubectl_stdin(&["vmimage", "pin", "-f", "-", "-n", &ns], Some(&manifest))?;
    ensure!(
        pinned.status.success() && stdout(&pinned).contains(want),
        "{pinned:?}"
    );
    let bare = vm(&ns, "bare", json!({}), json!({"className": "small"}));
    let by_flag = ctx.kubectl_stdin(
        &["vmimage", "pin", "-f", "-", "-n", &ns, "--selector", &selector],
        Some(&bare),
    )?;
    ensure!(
        by_flag.status.success() && stdout(&by_flag).contains("vmi-00000000000002404"),
        "{by_flag:?}"
    );

    let created = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&manifest))?;
    ensure!(created.status.success(), "{created:?}");
    ensure!(
        stderr(&created)
            .contains("Warning: vmimage: vmi-00000000000002304 picked by vmimage.io/image-selector"),
        "{created:?}"
    );
    let stored: Value =
        serde_json::from_str(&ctx.kubectl_ok(&["get", "vm", "picked", "-n", &ns, "-o", "json"])?)?;
    ensure!(stored["spec"]["imageName"] == want, "{}", stored["spec"]);
    ensure!(
        stored["metadata"]["annotations"]["vmimage.io/selected-image"]
            .as_str()
            .is_some_and(|s| s.contains("(version 23.04; 2 matched)")),
        "{}",
        stored["metadata"]
    );

    // The pinned manifest records the pick, so the webhook admits it as pinned, without
    // warning that its selector is ignored.
    let mut pinned: Value = serde_json::from_str(&stdout(&pinned))?;
    pinned["metadata"]["name"] = json!("pinned");
    let created = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&pinned.to_string()))?;
    ensure!(
        created.status.success() && !stderr(&created).contains("is ignored"),
        "{created:?}"
    );
    let stored: Value =
        serde_json::from_str(&ctx.kubectl_ok(&["get", "vm", "pinned", "-n", &ns, "-o", "json"])?)?;
    ensure!(
        stored["spec"]["imageName"] == want
            && stored["metadata"]["annotations"]["vmimage.io/selected-image"]
                == pinned["metadata"]["annotations"]["vmimage.io/selected-image"],
        "{}",
        stored["metadata"]
    );

    let nothing = vm(
        &ns,
        "nothing",
        json!({"vmimage.io/image-selector": selector, "vmimage.io/image-version": ">=25"}),
        json!({}),
    );
    let denied = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&nothing))?;
    ensure!(
        !denied.status.success()
            && stderr(&denied).contains(&format!("no Ready image visible from namespace {ns}"))
            && stderr(&denied).contains("vmi-00000000000002404"),
        "{denied:?}"
    );

    let mut cleanup = prepare(&ctx)?;
    let name = apply_policy(
        &ctx,
        &mut cleanup,
        policy(
            &ctx,
            "no-selectors",
            "Enforce",
            json!({"forbidImageSelectors": true}),
        ),
    )?;
    wait_loaded(&ctx, &name).await?;
    let forbidden = ctx.kubectl_stdin(
        &["create", "-f", "-"],
        Some(&vm(&ns, "forbidden", annotations, json!({}))),
    )?;
    ensure!(
        !forbidden.status.success() && stderr(&forbidden).contains("forbidImageSelectors"),
        "{forbidden:?}"
    );
    Ok(())
}

//! Lenient reading: an image the real schema accepts is always read, whatever shape its
//! fields vmimage does not need take (integer disk quantities are valid int-or-string);
//! a field it cannot read is warned about, naming the object, and costs nothing else.

use anyhow::{Result, ensure};
use serde_json::json;
use vmimage_testenv::{
    ControlPlane, Options, catalog, crds,
    suite::{Ctx, TestFn, vm_manifest},
    workspace_root,
};

pub fn all() -> Vec<(&'static str, TestFn)> {
    vmimage_testenv::tests![
        crate::lenient::integer_quantities_are_listed_resolved_and_admitted,
        crate::lenient::an_unreadable_field_is_warned_about_and_the_rest_listed,
        crate::lenient::not_found_never_suggests_the_name_typed,
        crate::lenient::a_cluster_serving_only_v1alpha1_images_is_read,
    ]
}

const ID: &str = "vmi-4a11c0ffee0000001";

pub async fn integer_quantities_are_listed_resolved_and_admitted(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let client = ctx.client().await?;
    catalog::load_objects(
        &client,
        vec![json!({
            "kind": "VirtualMachineImage",
            "metadata": {"name": ID, "namespace": ns},
            "spec": {"providerRef": {"apiVersion": "imageregistry.vmware.com/v1alpha2", "kind": "ContentLibraryItem", "name": "clitem-int"}},
            "status": {
                "name": "int-disk-linux", "type": "OVF",
                "disks": [{"name": "disk-0", "requested": 10737418240_u64, "limit": 21474836480_u64}],
                "conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "", "lastTransitionTime": "2026-08-01T10:00:00Z"}]
            }
        })],
    )
    .await?;
    let stored = ctx.kubectl_ok(&[
        "get",
        "vmi",
        ID,
        "-n",
        ns,
        "-o",
        "jsonpath={.status.disks[0].requested}",
    ])?;
    ensure!(stored == "10737418240", "stored as {stored:?}");

    let list = ctx.kubectl_ok(&["vmimage", "list", "-A"])?;
    ensure!(list.contains(ID) && list.contains("ubuntu-24.04"), "{list}");
    let resolved = ctx.kubectl_ok(&["vmimage", "resolve", "int-disk-linux", "-n", ns, "-o", "json"])?;
    let resolved: serde_json::Value = serde_json::from_str(&resolved)?;
    ensure!(resolved["name"] == ID, "{resolved}");
    let described = ctx.kubectl_ok(&["vmimage", "describe", "int-disk-linux", "-n", ns])?;
    ensure!(
        described.contains("disk-0  requested 10737418240  limit 21474836480"),
        "{described}"
    );
    let exported = ctx.kubectl_ok(&["vmimage", "catalog", "export", "-A", "-o", "json"])?;
    ensure!(exported.contains(ID), "export lacks {ID}");

    // The webhook indexed it: a VM naming its display name is admitted and pinned.
    let vm = vm_manifest(ns, "web", json!({"imageName": "int-disk-linux"})).to_string();
    let out = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&vm))?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let image = ctx.kubectl_ok(&["get", "vm", "web", "-n", ns, "-o", "jsonpath={.spec.image.name}"])?;
    ensure!(image == ID, "spec.image.name is {image:?}");
    Ok(())
}

pub async fn an_unreadable_field_is_warned_about_and_the_rest_listed(ctx: Ctx) -> Result<()> {
    let file = std::env::temp_dir().join(format!("{}-catalog.yaml", ctx.namespace));
    std::fs::write(
        &file,
        "kind: List\nitems:\n\
         - kind: ClusterVirtualMachineImage\n  metadata: {name: vmi-00000000000000b0d}\n  \
           status: {name: odd, type: OVF, hardwareVersion: nineteen}\n\
         - kind: ClusterVirtualMachineImage\n  metadata: {name: vmi-0000000000000600d}\n  \
           status: {name: fine, type: OVF}\n",
    )?;
    let out = ctx.kubectl(&["vmimage", "list", "--catalog", file.to_str().unwrap()])?;
    std::fs::remove_file(&file)?;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    ensure!(out.status.success(), "{stderr}");
    ensure!(
        stdout.contains("vmi-00000000000000b0d") && stdout.contains("vmi-0000000000000600d"),
        "{stdout}"
    );
    ensure!(
        stderr.contains(
            "warning: ClusterVirtualMachineImage vmi-00000000000000b0d: ignoring fields vmimage cannot read: status.hardwareVersion"
        ),
        "{stderr}"
    );
    Ok(())
}

/// `get` of an object name without the `vmi-` prefix is explained, not answered with
/// itself; an image of another namespace is named with its namespace.
pub async fn not_found_never_suggests_the_name_typed(ctx: Ctx) -> Result<()> {
    let file = std::env::temp_dir().join(format!("{}-catalog.yaml", ctx.namespace));
    std::fs::write(
        &file,
        "kind: List\nitems:\n\
         - kind: ClusterVirtualMachineImage\n  metadata: {name: cvmi-fedcba0987654321}\n  \
           status: {name: Fedora 40, type: OVF}\n\
         - kind: VirtualMachineImage\n  metadata: {name: vmi-0000000000000abcd, namespace: prod}\n  \
           status: {name: prod-only, type: OVF}\n",
    )?;
    let catalog = file.to_str().unwrap();
    let by_object_name = ctx.kubectl(&[
        "vmimage",
        "get",
        "cvmi-fedcba0987654321",
        "-n",
        "dev",
        "--catalog",
        catalog,
    ])?;
    let other_ns = ctx.kubectl(&[
        "vmimage",
        "get",
        "vmi-0000000000000abcd",
        "-n",
        "dev",
        "--catalog",
        catalog,
    ])?;
    std::fs::remove_file(&file)?;
    let stderr = String::from_utf8_lossy(&by_object_name.stderr);
    ensure!(by_object_name.status.code() == Some(1), "{stderr}");
    ensure!(!stderr.contains("did you mean"), "{stderr}");
    ensure!(
        stderr.contains("\"cvmi-fedcba0987654321\" is the object name of cvmi-fedcba0987654321 (ClusterVirtualMachineImage")
            && stderr.contains("display name \"Fedora 40\""),
        "{stderr}"
    );
    let stderr = String::from_utf8_lossy(&other_ns.stderr);
    ensure!(other_ns.status.code() == Some(1), "{stderr}");
    ensure!(
        stderr.contains("vmi-0000000000000abcd (VirtualMachineImage in namespace prod")
            && stderr.contains(
                "a VM in namespace dev can use only images of its own namespace and cluster images"
            ),
        "{stderr}"
    );
    Ok(())
}

/// On a cluster whose image CRDs serve only v1alpha1 (display name in
/// `status.imageName`, type and versions in spec), the plugin reads that version.
pub async fn a_cluster_serving_only_v1alpha1_images_is_read(ctx: Ctx) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("{}-crds", ctx.namespace));
    std::fs::create_dir_all(&dir)?;
    for file in [
        "vmoperator.vmware.com_virtualmachineimages.yaml",
        "vmoperator.vmware.com_clustervirtualmachineimages.yaml",
    ] {
        let text = std::fs::read_to_string(workspace_root().join("manifests/crds").join(file))?;
        let mut crd: serde_json::Value = serde_norway::from_str(&text)?;
        let versions = crd["spec"]["versions"].as_array_mut().unwrap();
        versions.retain(|v| v["name"] == "v1alpha1");
        versions[0]["storage"] = json!(true);
        std::fs::write(dir.join(file), serde_json::to_string(&crd)?)?;
    }
    let mut opts = Options::temp()?;
    opts.install_crds = false;
    let old = ControlPlane::start(opts).await?;
    crds::install(&old.client().await?, &dir).await?;
    std::fs::remove_dir_all(&dir)?;
    let mut on_old = ctx.clone();
    on_old.kubeconfig = old.kubeconfig.clone();
    let image = json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha1",
        "kind": "ClusterVirtualMachineImage",
        "metadata": {"name": "vmi-0a0044d7c690bcbea"},
        "spec": {"type": "ovf", "imageID": "vm-42", "hwVersion": 19,
                 "providerRef": {"kind": "ContentLibraryProvider", "name": "lib-1"},
                 "productInfo": {"version": "24.04"}, "osInfo": {"type": "linux", "version": "24.04"}}
    });
    let out = on_old.kubectl_stdin(&["create", "-f", "-"], Some(&image.to_string()))?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    on_old.kubectl_ok(&[
        "patch",
        "cvmi",
        "vmi-0a0044d7c690bcbea",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status": {"imageName": "legacy-ubuntu", "imageSupported": true}}"#,
    ])?;
    // resolve reads v1alpha1's Table (its display name column is `.status.imageName`);
    // once the CRD gives that column a description of its own, the column is not
    // recognised and the images are read whole, with the same answer.
    let resolve = [
        "vmimage",
        "resolve",
        "legacy-ubuntu",
        "-n",
        "default",
        "-o",
        "json",
    ];
    let debug = [("VMIMAGE_LOG", "vmimage_plugin=debug")];
    let (table, whole) = (
        "decide the references; reading those whole",
        "reading whole objects instead of a table",
    );
    let described_column = json!([{"op": "add", "value": "what people call it",
        "path": "/spec/versions/0/additionalPrinterColumns/0/description"}]);
    for (read, then) in [(table, Some(described_column)), (whole, None)] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let out = loop {
            let out = on_old.kubectl_env(&resolve, &debug)?;
            if String::from_utf8_lossy(&out.stderr).contains(read) || std::time::Instant::now() > deadline {
                break out;
            }
            // The API server takes a moment to serve a changed CRD's columns.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(out.status.success() && stderr.contains(read), "{read}: {stderr}");
        let resolved: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        ensure!(
            resolved["name"] == "vmi-0a0044d7c690bcbea" && resolved["version"] == "24.04",
            "{resolved}"
        );
        if let Some(patch) = then {
            on_old.kubectl_ok(&[
                "patch",
                "crd",
                "clustervirtualmachineimages.vmoperator.vmware.com",
                "--type=json",
                "-p",
                &patch.to_string(),
            ])?;
        }
    }
    let described = on_old.kubectl_ok(&["vmimage", "describe", "legacy-ubuntu", "-n", "default"])?;
    ensure!(
        described.contains("Display Name:     legacy-ubuntu") && described.contains("Hardware Version: 19"),
        "{described}"
    );
    Ok(())
}

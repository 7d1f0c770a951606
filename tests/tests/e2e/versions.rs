//! Versions, newest selection, catalog snapshots and comparing two clusters.

use anyhow::{Result, ensure};
use serde_json::json;
use vmimage_testenv::{ControlPlane, Options, catalog, suite::Ctx};

/// `versions` lists the debian-12 family newest first; `--newest` settles the ambiguity.
pub async fn versions_sort_and_newest_resolves_ambiguity(ctx: Ctx) -> Result<()> {
    let out = ctx.kubectl_ok(&["vmimage", "versions", "debian-12", "-n", "dev"])?;
    let first = out.lines().nth(1).unwrap_or_default();
    ensure!(
        first.starts_with("12.8") && first.contains("vmi-285f9254e5aa9ff57"),
        "{out}"
    );
    ensure!(
        out.lines().nth(2).unwrap_or_default().starts_with("12.7"),
        "{out}"
    );
    let plain = ctx.kubectl(&["vmimage", "resolve", "debian-12", "-n", "dev"])?;
    ensure!(
        plain.status.code() == Some(1),
        "VM Operator's behaviour stays the default"
    );
    let newest = ctx.kubectl(&[
        "vmimage",
        "resolve",
        "debian-12",
        "-n",
        "dev",
        "--newest",
        "-o",
        "id",
    ])?;
    ensure!(
        newest.status.success() && String::from_utf8_lossy(&newest.stdout).trim() == "vmi-285f9254e5aa9ff57"
    );
    ensure!(
        String::from_utf8_lossy(&newest.stderr).contains("newest Ready of 2"),
        "{:?}",
        newest
    );
    Ok(())
}

/// `catalog export` round-trips into `--catalog` with the live answers.
pub async fn catalog_export_round_trips(ctx: Ctx) -> Result<()> {
    let snapshot = ctx.kubectl_ok(&["vmimage", "catalog", "export", "-A"])?;
    let file = std::env::temp_dir().join(format!("snap-{}.yaml", ctx.namespace));
    std::fs::write(&file, &snapshot)?;
    for (ns, name) in [
        ("dev", "ubuntu-22.04"),
        ("prod", "ubuntu-22.04"),
        ("dev", "photon-5.0"),
        ("dev", "debian-12"),
    ] {
        let live = ctx.kubectl(&["vmimage", "resolve", name, "-n", ns, "-o", "json"])?;
        let offline = ctx.vmimage_offline(&file, &["resolve", name, "-n", ns, "-o", "json"])?;
        ensure!(
            live.stdout == offline.stdout && live.status.code() == offline.status.code(),
            "{ns}/{name} differs"
        );
    }
    std::fs::remove_file(&file)?;
    Ok(())
}

/// `compare` between this control plane and a second one started for the test.
pub async fn compare_two_control_planes(ctx: Ctx) -> Result<()> {
    let other = ControlPlane::start(Options::temp()?).await?;
    let client = other.client().await?;
    // The second cluster: ubuntu-24.04 is the same item, photon-5.0 a different one, rhel missing.
    catalog::load_objects(&client, vec![
        json!({"kind": "ClusterVirtualMachineImage", "metadata": {"name": "vmi-0a0044d7c690bcbea"}, "status": {"name": "ubuntu-24.04", "type": "OVF"}}),
        json!({"kind": "ClusterVirtualMachineImage", "metadata": {"name": "vmi-00000000000000001"}, "status": {"name": "photon-5.0", "type": "OVF"}}),
        json!({"kind": "ClusterVirtualMachineImage", "metadata": {"name": "vmi-00000000000000002"}, "status": {"name": "debian-12", "type": "OVF"}}),
    ])
    .await?;
    // Two contexts in one KUBECONFIG, as a user would have them.
    let second = std::fs::read_to_string(&other.kubeconfig)?
        .replace("vmimage-local", "second")
        .replace("vmimage-admin", "second-admin");
    let second_path = std::env::temp_dir().join(format!("kc2-{}", ctx.namespace));
    std::fs::write(&second_path, second)?;
    let merged = format!("{}:{}", ctx.kubeconfig.display(), second_path.display());
    let out = std::process::Command::new(&ctx.kubectl)
        .args([
            "vmimage",
            "compare",
            "vmimage-local",
            "second",
            "-n",
            "dev",
            "-o",
            "json",
        ])
        .env("KUBECONFIG", &merged)
        .env(
            "PATH",
            format!(
                "{}:{}",
                ctx.bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let status = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["displayName"] == name)
            .map(|r| r["status"].as_str().unwrap_or("").to_string())
    };
    ensure!(status("ubuntu-24.04").as_deref() == Some("Same"), "{rows}");
    ensure!(status("photon-5.0").as_deref() == Some("Different"), "{rows}");
    ensure!(status("rhel-9.4").as_deref() == Some("MissingInB"), "{rows}");
    ensure!(status("debian-12").as_deref() == Some("Ambiguous"), "{rows}");
    std::fs::remove_file(&second_path)?;
    Ok(())
}

/// The tests of this module.
pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![
        crate::versions::versions_sort_and_newest_resolves_ambiguity,
        crate::versions::catalog_export_round_trips,
        crate::versions::compare_two_control_planes,
        crate::versions::webhook_honours_the_newest_opt_in,
    ]
}

/// A VM that opts in with `vmimage.io/select: newest` gets the newest Ready candidate,
/// a warning, and an annotation saying why.
pub async fn webhook_honours_the_newest_opt_in(ctx: Ctx) -> Result<()> {
    let vm = json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": "VirtualMachine",
        "metadata": {"name": "newest", "namespace": "dev", "generateName": null,
                     "annotations": {"vmimage.io/select": "newest"}},
        "spec": {"imageName": "debian-12", "className": "small"}
    });
    let name = format!("newest-{}", &ctx.namespace[ctx.namespace.len() - 6..]);
    let mut vm = vm;
    vm["metadata"]["name"] = json!(name);
    let out = ctx.kubectl_stdin(&["create", "-f", "-", "-o", "json"], Some(&vm.to_string()))?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stored: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    ensure!(stored["spec"]["imageName"] == "vmi-285f9254e5aa9ff57", "{stored}");
    let note = stored["metadata"]["annotations"]["vmimage.io/selected-image"]
        .as_str()
        .unwrap_or_default();
    ensure!(note.contains("newest Ready of 2"), "{stored}");
    ensure!(
        String::from_utf8_lossy(&out.stderr).contains("Warning: vmimage: picked vmi-285f9254e5aa9ff57"),
        "{:?}",
        out
    );
    ctx.kubectl_ok(&["delete", "vm", &name, "-n", "dev"])?;
    Ok(())
}

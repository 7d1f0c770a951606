use anyhow::{Result, ensure};
use vmimage_testenv::{ControlPlane, Options, catalog, suite::Ctx};

/// The control plane serves the CRDs and the sample catalog; the real kubectl reads it back.
pub async fn sample_catalog_is_served_with_display_names(ctx: Ctx) -> Result<()> {
    let out = ctx.kubectl_ok(&["get", "vmi,cvmi", "-A", "-o", "json"])?;
    let list: serde_json::Value = serde_json::from_str(&out)?;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["status"]["name"].as_str())
        .collect();
    ensure!(names.len() == 9, "expected 9 sample images, got {names:?}");
    ensure!(
        names.contains(&"ubuntu-24.04") && names.contains(&"windows-server-2022.iso"),
        "{names:?}"
    );
    // VM Operator's printer columns (its CRDs have no Ready column; the test runs on
    // either CRD set).
    let table = ctx.kubectl_ok(&["get", "cvmi", "-o", "wide"])?;
    ensure!(
        [
            "DISPLAY NAME",
            "TYPE",
            "IMAGE VERSION",
            "OS NAME",
            "OS VERSION",
            "HARDWARE VERSION"
        ]
        .iter()
        .all(|c| table.contains(c)),
        "printer columns missing:\n{table}"
    );
    Ok(())
}

/// The catalog loader and the generator write objects the chosen CRDs accept (VM
/// Operator's require condition reason, message and lastTransitionTime): synthetic images,
/// and a hand-written catalog that leaves message and time out.
pub async fn generated_and_hand_written_images_load_on_the_chosen_crds(ctx: Ctx) -> Result<()> {
    let other = ControlPlane::start(Options::temp()?).await?;
    let client = other.client().await?;
    let n = catalog::load_objects(&client, catalog::synthetic(12, 2)).await?;
    ensure!(n == 12);
    let file = std::env::temp_dir().join(format!("terse-{}.yaml", ctx.namespace));
    std::fs::write(
        &file,
        "apiVersion: vmoperator.vmware.com/v1alpha6\nkind: ClusterVirtualMachineImage\n\
         metadata: {name: vmi-0a0044d7c690bcbea}\n\
         status:\n  name: terse\n  type: OVF\n  conditions:\n  - {type: Ready, status: \"True\"}\n",
    )?;
    let loaded = catalog::load_file(&client, &file).await;
    std::fs::remove_file(&file)?;
    ensure!(loaded? == 1);
    let out = std::process::Command::new(&ctx.kubectl)
        .args(["get", "vmi,cvmi", "-A", "-o", "json"])
        .env("KUBECONFIG", &other.kubeconfig)
        .output()?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    ensure!(items.len() == 13, "expected 13 images, got {}", items.len());
    for i in &items {
        let c = &i["status"]["conditions"][0];
        ensure!(
            c["reason"].as_str().is_some_and(|r| !r.is_empty())
                && c["message"].is_string()
                && c["lastTransitionTime"].is_string(),
            "{}: {c}",
            i["metadata"]["name"]
        );
    }
    Ok(())
}

/// `vmimage-testenv up --no-catalog` comes up with its webhook registered although no
/// image exists (the registration probe needs none), and `down` stops it.
pub async fn testenv_up_without_a_catalog_registers_the_webhook(ctx: Ctx) -> Result<()> {
    let state = std::env::temp_dir().join(format!("up-{}", ctx.namespace));
    let testenv = ctx.bin_dir.join("vmimage-testenv");
    let run = |args: &[&str]| {
        std::process::Command::new(&testenv)
            .arg("--state-dir")
            .arg(&state)
            .args(args)
            .current_dir(vmimage_testenv::workspace_root())
            .output()
    };
    let up = run(&["up", "--no-catalog"])?;
    let stderr = String::from_utf8_lossy(&up.stderr).to_string();
    let down = run(&["down"])?;
    ensure!(up.status.success(), "up --no-catalog failed:\n{stderr}");
    ensure!(stderr.contains("webhook registered and active"), "{stderr}");
    ensure!(
        down.status.success() && !state.exists(),
        "down: {}",
        String::from_utf8_lossy(&down.stderr)
    );
    Ok(())
}

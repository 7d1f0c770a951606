use anyhow::{Result, ensure};
use vmimage_testenv::suite::Ctx;

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

//! VM Operator's own answers through the real thing: a sample of the oracle's VMs
//! (`shared/tests/fixtures/vmop-oracle-sample.json`), each catalog loaded into a control
//! plane of its own with the webhook registered, every VM created with a server-side dry
//! run through the apiserver and the webhook, and checked with `kubectl vmimage check`
//! on the same catalog. The webhook denies what VM Operator denies (its text first),
//! admits what it admits with a patch after which VM Operator's steps pick the same image,
//! and `check` gives the webhook's verdict.

#[path = "../../../shared/tests/support/oracle.rs"]
mod oracle_data;
#[path = "../../../shared/tests/support/vmop.rs"]
mod vmop;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use vmimage_shared::{Index, catalog::Catalog};
use vmimage_testenv::{ControlPlane, cluster::Options, suite::Ctx, webhook};

/// Catalogs put through the real apiserver (each costs a control plane start).
const CATALOGS: usize = 5;

pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![crate::oracle::the_webhook_and_check_answer_as_vm_operator]
}

pub async fn the_webhook_and_check_answer_as_vm_operator(suite: Ctx) -> Result<()> {
    let oracle: Value = serde_json::from_str(oracle_data::ORACLE)?;
    let cases: Vec<&Value> = oracle["cases"]
        .as_array()
        .context("cases")?
        .iter()
        .filter(|c| c.get("vm").is_some())
        .collect();
    let mut catalogs: Vec<&str> = cases.iter().filter_map(|c| c["catalog"].as_str()).collect();
    catalogs.dedup();
    let mut checked = 0;
    let mut failures = Vec::new();
    for catalog_id in catalogs.into_iter().take(CATALOGS) {
        let objects = oracle_data::objects(
            oracle["catalogs"][catalog_id]["images"]
                .as_array()
                .context("images")?,
        );
        let vms: Vec<&Value> = cases
            .iter()
            .copied()
            .filter(|c| c["catalog"] == catalog_id)
            .collect();
        let cp = ControlPlane::start(Options::temp()?).await?;
        let client = cp.client().await?;
        vmimage_testenv::catalog::ensure_namespaces(&client, ["ns1".to_string(), "ns2".to_string()]).await?;
        vmimage_testenv::catalog::load_objects(&client, objects.clone()).await?;
        let hook = webhook::setup(&cp).await?;
        let ctx = Ctx {
            kubeconfig: cp.kubeconfig.clone(),
            namespace: "ns1".into(),
            bin_dir: suite.bin_dir.clone(),
            kubectl: suite.kubectl.clone(),
            state_dir: cp.dir.clone(),
        };
        let catalog_text = json!({"apiVersion": "v1", "kind": "List", "items": objects}).to_string();
        let catalog_file = cp.dir.join("oracle-catalog.json");
        std::fs::write(&catalog_file, &catalog_text)?;
        let index = Index::from_entries(Catalog::parse("oracle", &catalog_text)?.entries());
        for case in vms {
            checked += 1;
            if let Err(e) = one_vm(&ctx, &index, &catalog_file, case) {
                failures.push(format!("{}: {e:#}", case["name"].as_str().unwrap_or_default()));
            }
        }
        drop(hook);
        drop(cp);
    }
    ensure!(checked >= 20, "only {checked} VMs checked");
    if !failures.is_empty() {
        bail!(
            "{} of {checked} VMs differ from VM Operator:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    Ok(())
}

fn one_vm(ctx: &Ctx, index: &Index, catalog: &std::path::Path, case: &Value) -> Result<()> {
    let ns = case["namespace"].as_str().context("namespace")?;
    let expect = &case["expect"];
    let vm = case["vm"].to_string();
    let out = ctx.kubectl_stdin(
        &["create", "--dry-run=server", "-o", "json", "-f", "-"],
        Some(&vm),
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let webhook_verdict = match (out.status.success(), stderr.contains("Warning:")) {
        (false, _) => "Denied",
        (true, true) => "Warned",
        (true, false) => "Allowed",
    };
    if expect["allowed"] == true {
        ensure!(
            out.status.success(),
            "VM Operator admits; the webhook denies: {stderr}"
        );
        let created: Value = serde_json::from_slice(&out.stdout)?;
        let before = vmop::create(index, ns, &case["vm"]);
        vmop::agrees(&before, expect).map_err(anyhow::Error::msg)?;
        let after = vmop::create(index, ns, &created);
        ensure!(
            matches!((&after, &before), (Ok(a), Ok(b)) if a.image == b.image),
            "after the webhook VM Operator gives {after:?}, on the original {before:?}: {}",
            created["spec"]
        );
    } else {
        let want = expect["error"].as_str().context("error")?;
        ensure!(
            !out.status.success(),
            "VM Operator denies ({want}); the webhook admits"
        );
        ensure!(
            stderr.contains(&format!("denied the request: {want}")),
            "VM Operator says {want:?}; the webhook: {stderr}"
        );
    }
    let file = ctx.state_dir.join("oracle-vm.json");
    std::fs::write(&file, &vm)?;
    let args = [
        "vmimage",
        "check",
        "-f",
        file.to_str().context("path")?,
        "--catalog",
        catalog.to_str().context("path")?,
        "-o",
        "json",
    ];
    let out = ctx.kubectl(&args)?;
    let checked: Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("check -o json: {}", String::from_utf8_lossy(&out.stderr)))?;
    let check_verdict = checked[0]["verdict"].as_str().unwrap_or_default();
    ensure!(
        check_verdict == webhook_verdict,
        "check says {check_verdict}, the webhook {webhook_verdict} ({stderr})"
    );
    Ok(())
}

//! VM Operator's own answers for 300 randomized VirtualMachines
//! (`shared/tests/fixtures/vmop-oracle-sample.json`), put to the built `kubectl-vmimage`
//! as a user would: each catalog as a file of image objects (`--catalog`), each VM as a
//! manifest, through `check -o json` and `pin`.
//! - VM Operator denies ⇒ `check` says Denied and `pin` refuses, VM Operator's text first;
//! - VM Operator admits ⇒ `check` does not deny, and the pinned manifest makes VM
//!   Operator's own steps pick the same image; pinning it again changes nothing.

#[path = "../../shared/tests/support/oracle.rs"]
mod oracle;
#[path = "../../shared/tests/support/vmop.rs"]
mod vmop;

use serde_json::{Value, json};
use std::{collections::BTreeMap, path::Path, process::Command};
use vmimage_plugin::pin::parse_documents;
use vmimage_shared::{Index, catalog::Catalog};

/// A catalog of the oracle as the image objects `kubectl get vmi,cvmi -A -o json` prints.
fn catalog_objects(images: &[Value]) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": oracle::objects(images)})
}

fn plugin(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-vmimage"))
        .args(args)
        .current_dir(dir)
        .env("KUBECONFIG", dir.join("no-such-kubeconfig"))
        .output()
        .expect("kubectl-vmimage runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_and_pin_agree_with_vm_operator_on_every_vm() {
    let oracle: Value = serde_json::from_str(oracle::ORACLE).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut indexes = BTreeMap::new();
    for (id, catalog) in oracle["catalogs"].as_object().unwrap() {
        let text = catalog_objects(catalog["images"].as_array().unwrap()).to_string();
        std::fs::write(dir.path().join(format!("{id}.json")), &text).unwrap();
        let parsed = Catalog::parse(id, &text).unwrap();
        indexes.insert(id.clone(), Index::from_entries(parsed.entries()));
    }
    let mut failures = Vec::new();
    let mut vms = 0;
    for case in oracle["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("vm").is_some())
    {
        vms += 1;
        let name = case["name"].as_str().unwrap();
        let catalog_id = case["catalog"].as_str().unwrap();
        let file = format!("{name}.yaml");
        std::fs::write(
            dir.path().join(&file),
            serde_json::to_string_pretty(&case["vm"]).unwrap(),
        )
        .unwrap();
        if let Err(e) = check_one(dir.path(), &file, catalog_id, &indexes[catalog_id], case) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert_eq!(vms, 300);
    assert!(
        failures.is_empty(),
        "{} of {vms} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check_one(dir: &Path, file: &str, catalog_id: &str, index: &Index, case: &Value) -> Result<(), String> {
    let catalog = format!("{catalog_id}.json");
    let ns = case["namespace"].as_str().unwrap();
    let expect = &case["expect"];
    let allowed = expect["allowed"].as_bool().unwrap();

    let (code, stdout, stderr) = plugin(
        &["check", "-f", file, "--catalog", &catalog, "-n", ns, "-o", "json"],
        dir,
    );
    let checked: Value =
        serde_json::from_str(&stdout).map_err(|e| format!("check -o json: {e}: {stdout} {stderr}"))?;
    let verdict = checked[0]["verdict"].as_str().unwrap_or_default();
    match allowed {
        true if verdict == "Denied" || code != 0 => {
            return Err(format!("check denies ({checked}); VM Operator admits"));
        }
        false if verdict != "Denied" || code != 1 => {
            return Err(format!("check admits ({checked}); VM Operator denies"));
        }
        false
            if !checked[0]["error"]
                .as_str()
                .unwrap_or_default()
                .starts_with(expect["error"].as_str().unwrap()) =>
        {
            return Err(format!(
                "check says {}, VM Operator {}",
                checked[0]["error"], expect["error"]
            ));
        }
        _ => {}
    }

    let (code, pinned, stderr) = plugin(&["pin", "-f", file, "--catalog", &catalog, "-n", ns], dir);
    if !allowed {
        let want = expect["error"].as_str().unwrap();
        return match code {
            0 => Err(format!("pin pinned what VM Operator denies ({want})")),
            _ if stderr.contains(&format!(": {want}")) => Ok(()),
            _ => Err(format!("pin refuses with {stderr:?}, VM Operator says {want:?}")),
        };
    }
    if code != 0 {
        return Err(format!("pin refuses ({stderr}); VM Operator admits"));
    }
    let docs = parse_documents(&pinned).map_err(|e| format!("pinned text is not YAML: {e}\n{pinned}"))?;
    let original = vmop::create(index, ns, &case["vm"]);
    vmop::agrees(&original, expect)
        .map_err(|e| format!("the model of VM Operator disagrees with it: {e}"))?;
    let after = vmop::create(index, ns, &docs[0].value);
    match (&after, &original) {
        (Ok(a), Ok(b)) if a.image == b.image => {}
        _ => {
            return Err(format!(
                "VM Operator on the pinned manifest: {after:?}; on the original: {original:?}\n{pinned}"
            ));
        }
    }
    std::fs::write(dir.join(file), &pinned).unwrap();
    let (code, again, stderr) = plugin(&["pin", "-f", file, "--catalog", &catalog, "-n", ns], dir);
    if code != 0 || again != pinned || !stderr.contains("nothing to pin") {
        return Err(format!("pinning twice changed something: {stderr}\n{again}"));
    }
    Ok(())
}

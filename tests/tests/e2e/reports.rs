//! The `outdated` and `where` reports through the real kubectl, live against the control
//! plane and offline from a catalog snapshot and VM manifests.
//!
//! Every image here is namespaced, in namespaces of the test's own: a cluster image would
//! change what other tests' names resolve to. Each test deletes what it created.

use anyhow::{Result, ensure};
use serde_json::{Value, json};
use vmimage_testenv::{
    catalog,
    suite::{Ctx, TestFn, vm_manifest},
};

pub fn all() -> Vec<(&'static str, TestFn)> {
    vmimage_testenv::tests![
        crate::reports::outdated_live_reports_the_old_vm_and_exits_1,
        crate::reports::outdated_offline_reads_a_catalog_and_vm_manifests,
        crate::reports::where_groups_namespaces_by_outcome_live_and_offline,
    ]
}

const OLD: &str = "vmi-e23a0000000000001";
const NEW: &str = "vmi-e23a0000000000002";

/// A Ready image in `ns` with a display name, an OS id of its own and a version.
fn image(ns: &str, id: &str, display: &str, version: &str) -> Value {
    json!({
        "kind": "VirtualMachineImage",
        "metadata": {"name": id, "namespace": ns},
        "status": {
            "name": display, "type": "OVF",
            "productInfo": {"version": version},
            "osInfo": {"id": "e2eReportOS", "version": version},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    })
}

/// `image` made from the Content Library item `item` of its namespace.
fn from_item(mut image: Value, item: &str) -> Value {
    image["spec"] = json!({"providerRef": {"apiVersion": "imageregistry.vmware.com/v1alpha2",
                                           "kind": "ContentLibraryItem", "name": item}});
    image
}

/// Applies a namespaced imageregistry object (ContentLibrary or ContentLibraryItem) and
/// its status, as VM Operator's image registry would.
async fn apply_registry(
    client: &kube::Client,
    ns: &str,
    kind: &str,
    name: &str,
    spec: Value,
    status: Value,
) -> Result<()> {
    use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
    let plural = match kind {
        "ContentLibrary" => "contentlibraries",
        _ => "contentlibraryitems",
    };
    let ar = ApiResource {
        group: "imageregistry.vmware.com".into(),
        version: "v1alpha2".into(),
        api_version: "imageregistry.vmware.com/v1alpha2".into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let pp = PatchParams::apply("vmimage-e2e").force();
    let object = json!({"apiVersion": ar.api_version, "kind": kind,
                        "metadata": {"name": name, "namespace": ns}, "spec": spec});
    api.patch(name, &pp, &Patch::Apply(&object)).await?;
    let status = json!({"apiVersion": ar.api_version, "kind": kind, "status": status});
    api.patch_status(name, &pp, &Patch::Apply(&status)).await?;
    Ok(())
}

fn json_of(out: &std::process::Output) -> Result<Value> {
    serde_json::from_slice(&out.stdout).map_err(|e| {
        anyhow::anyhow!(
            "{e}: stdout {:?}, stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `outdated -A`: of a VM on version 1.0 and one on 2.0 (same family), only the first is
/// reported, with both IDs and versions; exit 1. A VM whose image is gone is warned
/// about, not dropped silently. With the old VM gone, `-n` exits 0.
pub async fn outdated_live_reports_the_old_vm_and_exits_1(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let client = ctx.client().await?;
    catalog::load_objects(
        &client,
        vec![
            image(ns, OLD, "report-os-1", "1.0"),
            image(ns, NEW, "report-os-2", "2.0"),
        ],
    )
    .await?;
    for (name, spec) in [
        ("old", json!({"imageName": "report-os-1"})),
        ("new", json!({"imageName": NEW})),
        // spec.image alone is kept as written: an image that does not exist.
        (
            "gone",
            json!({"image": {"kind": "VirtualMachineImage", "name": "vmi-e23a00000000000ff"}}),
        ),
    ] {
        let vm = vm_manifest(ns, name, spec).to_string();
        let out = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&vm))?;
        ensure!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let out = ctx.kubectl(&["vmimage", "outdated", "-A", "-o", "json"])?;
    ensure!(
        out.status.code() == Some(1),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let list = json_of(&out)?;
    ensure!(list["kind"] == "List", "{list}");
    // Other tests' VMs may be outdated too: only this namespace's are checked.
    let mine: Vec<&Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["namespace"] == ns)
        .collect();
    ensure!(mine.len() == 1, "{list}");
    let row = mine[0];
    ensure!(row["name"] == "old", "{row}");
    // The webhook pinned spec.image, which is what the VM now has.
    ensure!(row["imageFrom"] == "spec.image", "{row}");
    ensure!(
        row["current"]["name"] == OLD
            && row["current"]["version"] == "1.0"
            && row["current"]["kind"] == "VirtualMachineImage"
            && row["current"]["namespace"] == ns,
        "{row}"
    );
    ensure!(
        row["newest"]["name"] == NEW
            && row["newest"]["version"] == "2.0"
            && row["newest"]["displayName"] == "report-os-2"
            && row["newest"]["ready"] == true,
        "{row}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        stderr.contains(&format!(
            "warning: VirtualMachine {ns}/gone: its image cannot be determined"
        )) && stderr.contains("vmi-e23a00000000000ff"),
        "{stderr}"
    );

    let table = ctx.kubectl(&["vmimage", "outdated", "-n", ns])?;
    let text = String::from_utf8_lossy(&table.stdout);
    ensure!(table.status.code() == Some(1), "{text}");
    let line = text.lines().find(|l| l.contains(" old ")).unwrap_or_default();
    ensure!(
        line.contains(OLD) && line.contains("1.0") && line.contains(NEW) && line.contains("2.0"),
        "{text}"
    );
    ensure!(!text.contains(" new "), "{text}");
    let names = ctx.kubectl(&["vmimage", "outdated", "-n", ns, "-o", "jsonpath={.items[*].name}"])?;
    ensure!(
        names.status.code() == Some(1) && names.stdout == b"old",
        "templates see the List: {names:?}"
    );

    ctx.kubectl_ok(&["delete", "vm", "old", "-n", ns])?;
    let out = ctx.kubectl(&["vmimage", "outdated", "-n", ns])?;
    ensure!(out.status.code() == Some(0) && out.stdout.is_empty(), "{out:?}");
    ensure!(
        String::from_utf8_lossy(&out.stderr)
            .contains("No outdated VirtualMachines (1 checked, 1 with an image that cannot be determined)"),
        "{out:?}"
    );
    ctx.kubectl_ok(&["delete", "vm", "--all", "-n", ns])?;
    ctx.kubectl_ok(&["delete", "vmi", "--all", "-n", ns])?;
    Ok(())
}

/// `outdated --catalog FILE --vms DIR`: offline, VMs from multi-document manifests (a
/// List among them, one without a namespace taking -n's); bad input names the file and
/// the document and exits 2.
pub async fn outdated_offline_reads_a_catalog_and_vm_manifests(ctx: Ctx) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("outdated-{}", ctx.namespace));
    let vms = dir.join("vms");
    std::fs::create_dir_all(vms.join("team"))?;
    let catalog = json!({"apiVersion": "v1", "kind": "List", "items": [
        image("shop", OLD, "report-os", "1.0"),
        image("shop", NEW, "report-os", "2.0"),
        image("lab", OLD, "report-os", "1.0"),
    ]});
    let catalog_file = dir.join("images.json");
    std::fs::write(&catalog_file, catalog.to_string())?;
    let vm = |ns: Option<&str>, name: &str, spec: Value| {
        let mut v = vm_manifest(ns.unwrap_or_default(), name, spec);
        if ns.is_none() {
            v["metadata"].as_object_mut().unwrap().remove("namespace");
        }
        serde_json::to_string(&v).unwrap()
    };
    std::fs::write(
        vms.join("shop.yaml"),
        format!(
            "# the shop's VMs\n{}\n---\n{}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\n",
            vm(None, "web", json!({"imageName": OLD})),
            vm(
                Some("shop"),
                "db",
                json!({"image": {"kind": "VirtualMachineImage", "name": NEW}})
            ),
        ),
    )?;
    // lab has only 1.0: up to date there. A List of VMs is read item by item.
    std::fs::write(
        vms.join("team/lab.json"),
        json!({"apiVersion": "v1", "kind": "List", "items": [
            serde_json::from_str::<Value>(&vm(Some("lab"), "test", json!({"imageName": OLD})))?,
            serde_json::from_str::<Value>(&vm(Some("lab"), "nothing", json!({})))?,
        ]})
        .to_string(),
    )?;
    let (catalog_arg, vms_arg) = (catalog_file.to_str().unwrap(), vms.to_str().unwrap());
    let out = ctx.kubectl(&[
        "vmimage",
        "outdated",
        "--catalog",
        catalog_arg,
        "--vms",
        vms_arg,
        "-n",
        "shop",
        "-o",
        "json",
    ])?;
    ensure!(out.status.code() == Some(1), "{out:?}");
    let list = json_of(&out)?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    ensure!(items.len() == 1, "{list}");
    ensure!(
        items[0]["namespace"] == "shop"
            && items[0]["name"] == "web"
            && items[0]["imageFrom"] == "spec.imageName"
            && items[0]["current"]["name"] == OLD
            && items[0]["newest"]["name"] == NEW
            && items[0]["newest"]["version"] == "2.0",
        "{list}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        stderr.contains("VirtualMachine lab/nothing")
            && stderr.contains("document 1, item 1")
            && stderr.contains("names no image"),
        "{stderr}"
    );
    let names = ctx.kubectl(&[
        "vmimage",
        "outdated",
        "--catalog",
        catalog_arg,
        "--vms",
        vms_arg,
        "-n",
        "shop",
        "-o",
        "name",
    ])?;
    ensure!(
        String::from_utf8_lossy(&names.stdout) == "virtualmachine.vmoperator.vmware.com/web\n",
        "{names:?}"
    );

    // A broken second document: the file and the document are named, nothing printed.
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        format!(
            "{}\n---\napiVersion: vmoperator.vmware.com/v1alpha6\nkind: VirtualMachine\nmetadata: {{name: b}}\nspec: {{imageName: [1]}}\n",
            vm(Some("shop"), "a", json!({"imageName": OLD}))
        ),
    )?;
    let out = ctx.kubectl(&[
        "vmimage",
        "outdated",
        "--catalog",
        catalog_arg,
        "--vms",
        bad.to_str().unwrap(),
    ])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() == Some(2) && out.stdout.is_empty(), "{out:?}");
    ensure!(
        stderr.contains(&format!("{}: document 2: spec.imageName", bad.display())),
        "{stderr}"
    );
    // --catalog alone holds no VMs.
    let out = ctx.kubectl(&["vmimage", "outdated", "--catalog", catalog_arg])?;
    ensure!(
        out.status.code() == Some(2) && String::from_utf8_lossy(&out.stderr).contains("--vms"),
        "{out:?}"
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// `where` across five namespaces picked by a label: one item copied into two
/// namespaces (one group), two images with the name in a third (ambiguous), none in two
/// (not found); a catalog snapshot gives the same groups.
pub async fn where_groups_namespaces_by_outcome_live_and_offline(ctx: Ctx) -> Result<()> {
    let base = ctx.namespace.as_str();
    let label = format!("vmimage.io/where-e2e={}", &base[base.len() - 6..]);
    let (key, value) = label.split_once('=').unwrap();
    let ns: Vec<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|s| format!("{base}-{s}"))
        .collect();
    for n in &ns {
        let manifest = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": n, "labels": {key: value}}});
        ctx.kubectl_stdin(&["apply", "-f", "-"], Some(&manifest.to_string()))
            .and_then(|o| {
                ensure!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                Ok(())
            })?;
    }
    let client = ctx.client().await?;
    let name = "where-os";
    catalog::load_objects(
        &client,
        vec![
            image(&ns[0], OLD, name, "1.0"),
            image(&ns[1], OLD, name, "1.0"),
            from_item(image(&ns[2], OLD, name, "1.0"), "item-old"),
            from_item(image(&ns[2], NEW, name, "2.0"), "item-new"),
            // The base namespace is not labelled: never looked from.
            image(base, NEW, name, "2.0"),
        ],
    )
    .await?;

    let out = ctx.kubectl(&["vmimage", "where", name, "-l", &label, "-o", "json"])?;
    ensure!(out.status.success(), "{out:?}");
    let report = json_of(&out)?;
    ensure!(report["ref"] == name && report["namespaceCount"] == 5, "{report}");
    let groups = report["groups"].as_array().cloned().unwrap_or_default();
    ensure!(groups.len() == 3, "{report}");
    let names = |g: &Value| -> Vec<String> {
        g["namespaces"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["namespace"].as_str().map(str::to_string))
            .collect()
    };
    ensure!(
        groups[0]["outcome"] == "Resolved"
            && groups[0]["image"]["name"] == OLD
            && groups[0]["scope"] == "namespace"
            && groups[0]["count"] == 2
            && names(&groups[0]) == ns[..2],
        "{report}"
    );
    ensure!(
        groups[0]["namespaces"][1]["image"]["namespace"] == ns[1].as_str(),
        "each namespace resolves to its own copy: {report}"
    );
    let candidates: Vec<&str> = groups[1]["candidates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    ensure!(
        groups[1]["outcome"] == "Ambiguous"
            && groups[1]["scope"] == "namespace"
            && candidates == [OLD, NEW]
            && names(&groups[1]) == ns[2..3],
        "{report}"
    );
    ensure!(
        groups[1]["namespaces"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("multiple VM images exist for \"where-os\" in namespace scope")),
        "{report}"
    );
    ensure!(
        groups[2]["outcome"] == "NotFound" && groups[2]["count"] == 2 && names(&groups[2]) == ns[3..],
        "{report}"
    );

    let table = ctx.kubectl_ok(&["vmimage", "where", name, "-l", &label])?;
    let mut lines = table.lines();
    ensure!(
        lines.next()
            == Some(
                "\"where-os\" from 5 namespaces: resolves to one image in 2, ambiguous in 1, not found in 2"
            ),
        "{table}"
    );
    ensure!(
        lines
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            == ["OUTCOME", "IMAGE", "SCOPE", "NAMESPACES"],
        "{table}"
    );
    let row = lines.next().unwrap_or_default();
    ensure!(
        row.starts_with("Resolved") && row.contains(OLD) && row.ends_with(&format!("2: {},{}", ns[0], ns[1])),
        "{table}"
    );

    // Offline, a namespace has only its name label: the same namespaces by name, and
    // the same groups from a snapshot of the cluster.
    let snapshot = ctx.kubectl_ok(&["vmimage", "catalog", "export", "-A"])?;
    let file = std::env::temp_dir().join(format!("where-{base}.yaml"));
    std::fs::write(&file, snapshot)?;
    let by_name = format!("kubernetes.io/metadata.name in ({})", ns.join(","));
    let live = ctx.kubectl(&["vmimage", "where", name, "-l", &by_name, "-o", "json"])?;
    // The two namespaces without an image are not in the catalog: -n adds one of them.
    let offline = ctx.kubectl(&[
        "vmimage",
        "--catalog",
        file.to_str().unwrap(),
        "where",
        name,
        "-l",
        &by_name,
        "-n",
        &ns[3],
        "-o",
        "json",
    ])?;
    let (live, offline) = (json_of(&live)?, json_of(&offline)?);
    ensure!(live == report, "-l by name picks the same namespaces: {live}");
    let mut expected = report.clone();
    let not_found = &mut expected["groups"][2];
    not_found["count"] = json!(1);
    not_found["namespaces"].as_array_mut().unwrap().truncate(1);
    expected["namespaceCount"] = json!(4);
    ensure!(offline == expected, "offline: {offline}\nexpected: {expected}");
    std::fs::remove_file(&file)?;

    // `<library>/<display name>` settles the ambiguity where that library has the item.
    for (item, lib) in [("item-old", "lib-old"), ("item-new", "lib-new")] {
        apply_registry(
            &client,
            &ns[2],
            "ContentLibrary",
            lib,
            json!({"id": format!("{lib}-uuid"), "libraryType": "ContentLibrary"}),
            json!({"name": lib}),
        )
        .await?;
        apply_registry(
            &client,
            &ns[2],
            "ContentLibraryItem",
            item,
            json!({"id": format!("{item}-uuid"), "libraryName": lib}),
            json!({"name": name}),
        )
        .await?;
    }
    let qualified =
        json_of(&ctx.kubectl(&["vmimage", "where", "lib-new/where-os", "-l", &label, "-o", "json"])?)?;
    ensure!(
        qualified["groups"][0]["outcome"] == "Resolved"
            && qualified["groups"][0]["image"]["name"] == NEW
            && names(&qualified["groups"][0]) == ns[2..3]
            && qualified["groups"][1]["outcome"] == "NotFound"
            && qualified["groups"][1]["count"] == 4,
        "{qualified}"
    );

    for n in ns.iter().map(String::as_str).chain([base]) {
        ctx.kubectl_ok(&["delete", "vmi", "--all", "-n", n])?;
    }
    Ok(())
}

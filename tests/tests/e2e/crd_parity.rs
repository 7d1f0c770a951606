//! vmimage's stand-in CRDs (`manifests/crds`) against VM Operator's own
//! (`../shared/vm-operator/crds`): one set of fixture objects (tests/fixtures/crd-parity,
//! each saying on its first line whether the real schema accepts or refuses it and why)
//! is sent to two fresh control planes, one per CRD set, as server-side dry runs with
//! strict field validation, the way `kubectl apply --dry-run=server` sends them. Every
//! fixture must get the same verdict from both, the one it announces, and, when
//! accepted, the same defaulted spec. Names, short names, scope, served and storage
//! versions and printer columns are compared as written.

use anyhow::{Context, Result, bail, ensure};
use kube::Client;
use serde_json::Value;
use std::path::{Path, PathBuf};
use vmimage_testenv::{ControlPlane, Options, crds, suite::Ctx, suite::TestFn, workspace_root};

pub fn all() -> Vec<(&'static str, TestFn)> {
    vmimage_testenv::tests![crate::crd_parity::stand_in_and_real_crds_accept_and_refuse_the_same]
}

const NAMESPACE: &str = "parity";

/// One fixture file.
struct Fixture {
    file: String,
    accepted: bool,
    why: String,
    object: Value,
}

/// What one control plane said about one fixture.
#[derive(Debug)]
struct Verdict {
    accepted: bool,
    message: String,
    spec: Option<Value>,
}

pub async fn stand_in_and_real_crds_accept_and_refuse_the_same(_ctx: Ctx) -> Result<()> {
    let fixtures = load_fixtures(&workspace_root().join("tests/fixtures/crd-parity"))?;
    let real_dir = workspace_root().join("../shared/vm-operator/crds");
    ensure!(
        real_dir.is_dir(),
        "VM Operator's CRDs are not at {} (the test compares against them)",
        real_dir.display()
    );
    let mut problems = compare_definitions(&workspace_root().join("manifests/crds"), &real_dir)?;
    let (ours, real) = futures::try_join!(plane(workspace_root().join("manifests/crds")), plane(real_dir))?;
    let (ours_client, real_client) = (ours.client().await?, real.client().await?);
    for f in &fixtures {
        let (a, b) = futures::try_join!(verdict(&ours_client, f), verdict(&real_client, f))?;
        let word = |accepted: bool| if accepted { "accepted" } else { "refused" };
        if a.accepted != b.accepted {
            problems.push(format!(
                "{}: manifests/crds {} it ({}), VM Operator's CRDs {} it ({})",
                f.file,
                word(a.accepted),
                a.message,
                word(b.accepted),
                b.message
            ));
        } else if a.accepted != f.accepted {
            problems.push(format!(
                "{}: both {} it, the fixture says {} ({}): {}",
                f.file,
                word(a.accepted),
                word(f.accepted),
                f.why,
                a.message
            ));
        } else if a.spec != b.spec {
            problems.push(format!(
                "{}: accepted by both, but stored differently: manifests/crds {}, VM Operator's {}",
                f.file,
                a.spec.unwrap_or_default(),
                b.spec.unwrap_or_default()
            ));
        }
    }
    ensure!(
        problems.is_empty(),
        "{} differences ({} fixtures):\n{}",
        problems.len(),
        fixtures.len(),
        problems.join("\n")
    );
    Ok(())
}

/// What a user sees of a CRD besides its schema: names, scope, and per version whether
/// it is served, stored, deprecated, its subresources and printer columns.
fn surface(crd: &Value) -> Value {
    let columns = |v: &Value| -> Value {
        v["additionalPrinterColumns"]
            .as_array()
            .map(|cols| {
                cols.iter()
                    .map(|c| {
                        let mut c = c.clone();
                        c.as_object_mut().map(|o| o.remove("description"));
                        c
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let versions: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            serde_json::json!({
                "name": v["name"], "served": v["served"], "storage": v["storage"],
                "deprecated": v["deprecated"].as_bool().unwrap_or(false),
                "subresources": v["subresources"], "columns": columns(v),
            })
        })
        .collect();
    serde_json::json!({
        "group": crd["spec"]["group"], "names": crd["spec"]["names"],
        "scope": crd["spec"]["scope"], "versions": versions,
    })
}

/// Every CRD of `real` has a twin in `ours` with the same [`surface`].
fn compare_definitions(ours: &Path, real: &Path) -> Result<Vec<String>> {
    let read = |dir: &Path| -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path)?;
                out.push(
                    serde_norway::from_str(&text).with_context(|| format!("parsing {}", path.display()))?,
                );
            }
        }
        Ok(out)
    };
    let ours = read(ours)?;
    let mut problems = Vec::new();
    for theirs in read(real)? {
        let name = theirs["metadata"]["name"].as_str().unwrap_or_default();
        match ours.iter().find(|o| o["metadata"]["name"] == name) {
            None => problems.push(format!("{name}: no such CRD in manifests/crds")),
            Some(mine) if surface(mine) != surface(&theirs) => problems.push(format!(
                "{name}: names, scope, versions or printer columns differ:\n  manifests/crds {}\n  VM Operator's  {}",
                surface(mine),
                surface(&theirs)
            )),
            Some(_) => {}
        }
    }
    Ok(problems)
}

/// A fresh control plane with only the CRDs of `dir`, and the fixtures' namespace.
async fn plane(dir: PathBuf) -> Result<ControlPlane> {
    let mut opts = Options::temp()?;
    opts.install_crds = false;
    let cp = ControlPlane::start(opts).await?;
    let client = cp.client().await?;
    crds::install(&client, &dir).await?;
    let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}});
    send(&client, "POST", "/api/v1/namespaces", "", &ns, false)
        .await?
        .map_err(anyhow::Error::msg)?;
    Ok(cp)
}

fn load_fixtures(dir: &Path) -> Result<Vec<Fixture>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path)?;
        let first = text.lines().next().unwrap_or_default();
        let (accepted, why) = if let Some(why) = first.strip_prefix("# accepted: ") {
            (true, why)
        } else if let Some(why) = first.strip_prefix("# refused: ") {
            (false, why)
        } else {
            bail!("{file}: the first line must be `# accepted: why` or `# refused: why`");
        };
        let object: Value = serde_norway::from_str(&text).with_context(|| format!("parsing {file}"))?;
        out.push(Fixture {
            file,
            accepted,
            why: why.to_string(),
            object,
        });
    }
    ensure!(!out.is_empty(), "no fixtures in {}", dir.display());
    Ok(out)
}

/// The collection path of `object`'s kind at its version.
fn collection(object: &Value) -> Result<String> {
    let api_version = object["apiVersion"]
        .as_str()
        .context("fixture without apiVersion")?;
    let kind = object["kind"].as_str().context("fixture without kind")?;
    let plural = match kind {
        "VirtualMachine" => "virtualmachines",
        "VirtualMachineImage" => "virtualmachineimages",
        "ClusterVirtualMachineImage" => "clustervirtualmachineimages",
        "VirtualMachinePublishRequest" => "virtualmachinepublishrequests",
        "ContentLibrary" => "contentlibraries",
        "ClusterContentLibrary" => "clustercontentlibraries",
        "ContentLibraryItem" => "contentlibraryitems",
        "ClusterContentLibraryItem" => "clustercontentlibraryitems",
        other => bail!("fixture of unknown kind {other}"),
    };
    Ok(match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("/apis/{api_version}/namespaces/{ns}/{plural}"),
        None => format!("/apis/{api_version}/{plural}"),
    })
}

/// Creates the object as a dry run; a status (which a create ignores: it is a
/// subresource) is then checked by a dry-run status patch of a really created copy.
async fn verdict(client: &Client, f: &Fixture) -> Result<Verdict> {
    let path = collection(&f.object)?;
    let created = send(client, "POST", &path, "dryRun=All&", &f.object, false).await?;
    let spec = match created {
        Ok(obj) => obj.get("spec").cloned(),
        Err(message) => {
            return Ok(Verdict {
                accepted: false,
                message,
                spec: None,
            });
        }
    };
    let Some(status) = f.object.get("status") else {
        return Ok(Verdict {
            accepted: true,
            message: "created".into(),
            spec,
        });
    };
    let name = f.object["metadata"]["name"]
        .as_str()
        .context("fixture without a name")?;
    let item = format!("{path}/{name}");
    send(client, "POST", &path, "", &f.object, false)
        .await?
        .map_err(|e| anyhow::anyhow!("{}: creating it for the status check: {e}", f.file))?;
    let patch = serde_json::json!({ "status": status });
    let patched = send(
        client,
        "PATCH",
        &format!("{item}/status"),
        "dryRun=All&",
        &patch,
        true,
    )
    .await?;
    send(client, "DELETE", &item, "", &Value::Null, false)
        .await?
        .map_err(|e| anyhow::anyhow!("{}: deleting it: {e}", f.file))?;
    Ok(match patched {
        Ok(_) => Verdict {
            accepted: true,
            message: "created, status written".into(),
            spec,
        },
        Err(message) => Verdict {
            accepted: false,
            message: format!("status: {message}"),
            spec: None,
        },
    })
}

/// One request with strict field validation: `Ok(Ok(body))` accepted, `Ok(Err(message))`
/// refused by the API server, `Err` the request itself failed.
async fn send(
    client: &Client,
    method: &str,
    path: &str,
    query: &str,
    body: &Value,
    merge_patch: bool,
) -> Result<std::result::Result<Value, String>> {
    let uri = match method {
        "DELETE" => path.to_string(),
        _ => format!("{path}?{query}fieldValidation=Strict"),
    };
    let content_type = if merge_patch {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(body)?
    };
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(body)?;
    match client.request_text(req).await {
        Ok(text) => Ok(Ok(serde_json::from_str(&text).unwrap_or(Value::Null))),
        Err(kube::Error::Api(status)) => Ok(Err(format!("{} {}", status.code, status.message))),
        Err(e) => Err(e.into()),
    }
}

//! Choosing, installing and waiting for the CRDs a local control plane serves.
//!
//! The directory comes from `VMIMAGE_CRDS` (the Makefile's `CRDS`), else `manifests/crds`.
//! Pointed at VM Operator's own CRDs, vmimage's CRDs (group `vmimage.io`, which VM
//! Operator does not ship) are still installed from `manifests/crds`.

use anyhow::{Context, Result, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// Environment variable naming the CRD directory to install.
pub const ENV: &str = "VMIMAGE_CRDS";
/// The API group of vmimage's own CRDs.
const OWN_GROUP: &str = "vmimage.io";

/// vmimage's stand-in CRDs (and its own), in the repository.
pub fn default_dir() -> PathBuf {
    crate::workspace_root().join("manifests/crds")
}

/// The CRD directory to install: `$VMIMAGE_CRDS` (a relative path is taken from the
/// workspace root, since test binaries run in `tests/`), else [`default_dir`].
pub fn dir() -> PathBuf {
    match std::env::var_os(ENV).filter(|v| !v.is_empty()) {
        Some(v) => {
            let p = PathBuf::from(v);
            if p.is_absolute() {
                p
            } else {
                crate::workspace_root().join(p)
            }
        }
        None => default_dir(),
    }
}

/// Every `*.yaml` CRD directly under `dir`, sorted by file name.
fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, CustomResourceDefinition)>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| {
            format!(
                "reading the CRD directory {} (set {ENV} or --crds to a directory of CRD YAML files)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let crd: CustomResourceDefinition = serde_norway::from_str(&text)
                .with_context(|| format!("{} is not a CustomResourceDefinition", file.display()))?;
            Ok((file, crd))
        })
        .collect()
}

/// The CRDs to install from `dir`: all of them, plus vmimage's own from
/// [`default_dir`] when `dir` lacks them.
pub fn plan(dir: &Path) -> Result<Vec<(PathBuf, CustomResourceDefinition)>> {
    let mut crds = read_dir(dir)?;
    if crds.is_empty() {
        bail!("no *.yaml CRD files in {}", dir.display());
    }
    let own = default_dir();
    if std::fs::canonicalize(dir).ok() != std::fs::canonicalize(&own).ok() {
        for (file, crd) in read_dir(&own)? {
            let present = crds.iter().any(|(_, c)| c.metadata.name == crd.metadata.name);
            if crd.spec.group == OWN_GROUP && !present {
                crds.push((file, crd));
            }
        }
    }
    Ok(crds)
}

/// Server-side applies every CRD of [`plan`]`(dir)`, then waits for each to be
/// Established and listable.
pub async fn install(client: &Client, dir: &Path) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crds = plan(dir)?;
    let mut names = Vec::new();
    for (file, crd) in &crds {
        let name = crd
            .metadata
            .name
            .clone()
            .with_context(|| format!("{}: CRD without metadata.name", file.display()))?;
        api.patch(
            &name,
            &PatchParams::apply("vmimage-testenv").force(),
            &Patch::Apply(crd),
        )
        .await
        .with_context(|| format!("applying {}", file.display()))?;
        names.push(name);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for name in &names {
        loop {
            let crd = api.get(name).await?;
            let established = crd
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Established" && c.status == "True"));
            if established {
                break;
            }
            if Instant::now() > deadline {
                bail!("CRD {name} not Established after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Established precedes discovery by a moment; wait until each resource can be listed
    // at its storage version (always served).
    for name in &names {
        let crd = api.get(name).await?;
        let version = crd
            .spec
            .versions
            .iter()
            .find(|v| v.storage)
            .or_else(|| crd.spec.versions.iter().find(|v| v.served))
            .map(|v| v.name.clone())
            .with_context(|| format!("CRD {name} serves no version"))?;
        let path = format!(
            "/apis/{}/{}/{}?limit=1",
            crd.spec.group, version, crd.spec.names.plural
        );
        loop {
            let req = http::Request::get(&path).body(Vec::new())?;
            if client.request_text(req).await.is_ok() {
                break;
            }
            if Instant::now() > deadline {
                bail!("{path} not served 30 s after its CRD was applied");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let extra = crds.iter().filter(|(f, _)| !f.starts_with(dir)).count();
    crate::say(format!(
        "installed {} CRDs from {}{}",
        names.len() - extra,
        dir.display(),
        if extra > 0 {
            format!(" and {extra} of vmimage's own from manifests/crds")
        } else {
            String::new()
        }
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(crds: &[(PathBuf, CustomResourceDefinition)]) -> Vec<String> {
        let mut names: Vec<String> = crds
            .iter()
            .map(|(_, c)| c.metadata.name.clone().unwrap_or_default())
            .collect();
        names.sort();
        names
    }

    fn temp_dir(files: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("crds-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in files {
            std::fs::copy(default_dir().join(f), dir.join(f)).unwrap();
        }
        dir
    }

    #[test]
    fn another_directory_gets_vmimages_own_crds_once() {
        let vm = "vmoperator.vmware.com_virtualmachines.yaml";
        let policy = "vmimage.io_vmimagepolicies.yaml";
        let without = temp_dir(&[vm]);
        let with = temp_dir(&[vm, policy]);
        let (a, b) = (plan(&without).unwrap(), plan(&with).unwrap());
        std::fs::remove_dir_all(&without).unwrap();
        std::fs::remove_dir_all(&with).unwrap();
        let want = [
            "virtualmachines.vmoperator.vmware.com",
            "vmimagepolicies.vmimage.io",
        ];
        assert_eq!(names(&a), want);
        assert_eq!(names(&b), want);
        // The stand-in directory itself is installed as it is.
        let own = plan(&default_dir()).unwrap();
        let mut unique = names(&own);
        unique.dedup();
        assert_eq!(own.len(), unique.len());
        assert!(own.iter().all(|(f, _)| f.starts_with(default_dir())));
    }

    #[test]
    fn an_empty_or_missing_directory_is_a_clear_error() {
        let empty = temp_dir(&[]);
        let err = plan(&empty).unwrap_err().to_string();
        std::fs::remove_dir_all(&empty).unwrap();
        assert!(err.contains("no *.yaml CRD files in"), "{err}");
        let err = format!("{:#}", plan(Path::new("/nonexistent/crds")).unwrap_err());
        assert!(err.contains("set VMIMAGE_CRDS or --crds"), "{err}");
    }
}

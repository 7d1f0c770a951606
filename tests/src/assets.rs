//! Where the control-plane binaries come from.
//!
//! Lookup follows envtest so existing setup-envtest assets are reused:
//! `TEST_ASSET_<NAME>`, then `$KUBEBUILDER_ASSETS/<name>`, then the project cache
//! (`~/.cache/vmimage/k8s-<version>/`, `~/.cache/vmimage/etcd-<version>/`), and finally a
//! build from the Go module proxy by `hack/build-control-plane.sh` (which caches).

use anyhow::{Context, Result, bail};
use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

/// The Kubernetes release vmimage builds and tests against.
pub const K8S_VERSION: &str = "v1.37.2";
/// The etcd release paired with it.
pub const ETCD_VERSION: &str = "v3.6.16";

/// Paths of the three binaries.
#[derive(Debug, Clone)]
pub struct Assets {
    /// `kube-apiserver`.
    pub kube_apiserver: PathBuf,
    /// `etcd`.
    pub etcd: PathBuf,
    /// `kubectl` (version-matched when built here).
    pub kubectl: PathBuf,
}

/// The project cache directory.
pub fn cache_dir() -> PathBuf {
    if let Ok(dir) = env::var("VMIMAGE_CACHE") {
        return PathBuf::from(dir);
    }
    let home = env::var("HOME").unwrap_or_else(|_| "/tmp".to_string());
    Path::new(&home).join(".cache/vmimage")
}

fn k8s_version() -> String {
    env::var("VMIMAGE_K8S_VERSION").unwrap_or_else(|_| K8S_VERSION.to_string())
}

fn etcd_version() -> String {
    env::var("VMIMAGE_ETCD_VERSION").unwrap_or_else(|_| ETCD_VERSION.to_string())
}

fn lookup(name: &str, env_name: &str, cached: &Path) -> Option<PathBuf> {
    if let Ok(p) = env::var(env_name) {
        return Some(PathBuf::from(p));
    }
    if let Ok(dir) = env::var("KUBEBUILDER_ASSETS") {
        let p = Path::new(&dir).join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    cached.is_file().then(|| cached.to_path_buf())
}

/// Finds the binaries, building the missing ones (minutes the first time, with progress
/// on stderr). Fails with what to install when that is impossible.
pub fn ensure() -> Result<Assets> {
    let k8s_dir = cache_dir().join(format!("k8s-{}", k8s_version()));
    let etcd_dir = cache_dir().join(format!("etcd-{}", etcd_version()));
    let find = || {
        (
            lookup(
                "kube-apiserver",
                "TEST_ASSET_KUBE_APISERVER",
                &k8s_dir.join("kube-apiserver"),
            ),
            lookup("etcd", "TEST_ASSET_ETCD", &etcd_dir.join("etcd")),
            lookup("kubectl", "TEST_ASSET_KUBECTL", &k8s_dir.join("kubectl")),
        )
    };
    if let (Some(kube_apiserver), Some(etcd), Some(kubectl)) = find() {
        return check(Assets {
            kube_apiserver,
            etcd,
            kubectl,
        });
    }
    let script = crate::workspace_root().join("hack/build-control-plane.sh");
    crate::say(format!(
        "control-plane binaries missing; building with {}",
        script.display()
    ));
    let status = Command::new("bash")
        .arg(&script)
        .env("VMIMAGE_K8S_VERSION", k8s_version())
        .env("VMIMAGE_ETCD_VERSION", etcd_version())
        .env("VMIMAGE_CACHE", cache_dir())
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        bail!(
            "could not build kube-apiserver/etcd/kubectl (see the messages above). Install Go >= 1.26 \
             (apt-get install golang or https://go.dev/dl), or set TEST_ASSET_KUBE_APISERVER, \
             TEST_ASSET_ETCD and TEST_ASSET_KUBECTL (or KUBEBUILDER_ASSETS) to existing binaries"
        );
    }
    match find() {
        (Some(kube_apiserver), Some(etcd), Some(kubectl)) => check(Assets {
            kube_apiserver,
            etcd,
            kubectl,
        }),
        _ => bail!(
            "the build script succeeded but the binaries are not in {}",
            cache_dir().display()
        ),
    }
}

fn check(assets: Assets) -> Result<Assets> {
    for p in [&assets.kube_apiserver, &assets.etcd, &assets.kubectl] {
        if !p.is_file() {
            bail!(
                "{} does not exist (check TEST_ASSET_* / KUBEBUILDER_ASSETS)",
                p.display()
            );
        }
    }
    Ok(assets)
}

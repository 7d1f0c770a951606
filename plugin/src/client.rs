//! Connecting to the cluster the way kubectl does: `--kubeconfig`, `KUBECONFIG`,
//! `--context`, the context's namespace, `--request-timeout`; and discovering which
//! version of each VM Operator kind the cluster serves (the newest wins).

use crate::{cli::Global, error::Error};
use kube::{
    Client, Config,
    api::ApiResource,
    config::{KubeConfigOptions, Kubeconfig},
    discovery,
};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
};
use vmimage_shared::api::KindInfo;

/// A connected client and the namespace commands default to.
#[derive(Clone)]
pub struct Cluster {
    /// The client.
    pub client: Client,
    /// `-n`, else the context's namespace, else `default`.
    pub namespace: String,
    /// Discovered API groups, so one command discovers each group once.
    groups: Arc<tokio::sync::Mutex<HashMap<&'static str, discovery::ApiGroup>>>,
}

/// Builds a client from the global flags.
pub async fn connect(global: &Global) -> Result<Cluster, Error> {
    let options = KubeConfigOptions {
        context: global.context.clone(),
        ..Default::default()
    };
    let config_error = |e: kube::config::KubeconfigError| {
        Error::Config(format!(
            "loading kubeconfig: {e} (check --kubeconfig, KUBECONFIG and --context)"
        ))
    };
    let mut config = match (kubeconfig(global)?, &global.context) {
        (Some(kc), _) => Config::from_custom_kubeconfig(kc, &options)
            .await
            .map_err(config_error)?,
        (None, Some(_)) => Config::from_kubeconfig(&options).await.map_err(config_error)?,
        (None, None) => Config::infer().await.map_err(|e| {
            Error::Config(format!(
                "no cluster configuration found: {e} (set --kubeconfig or KUBECONFIG)"
            ))
        })?,
    };
    if let Some(timeout) = global.request_timeout.filter(|t| !t.is_zero()) {
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
        config.connect_timeout = Some(timeout);
    }
    let namespace = global
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    crate::target::set(crate::target::Target {
        server: config.cluster_url.to_string(),
        timeout: global.request_timeout.filter(|t| !t.is_zero()),
    });
    let client = Client::try_from(config).map_err(|e| Error::Config(format!("creating client: {e}")))?;
    Ok(Cluster {
        client,
        namespace,
        groups: Default::default(),
    })
}

fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, Error> {
    Kubeconfig::read_from(path)
        .map_err(|e| Error::Config(format!("reading kubeconfig {}: {e}", path.display())))
}

/// The kubeconfig kubectl would use: `--kubeconfig`; else the files listed in
/// `KUBECONFIG` that exist, merged by kubectl's rules (the first to set a value wins; a
/// missing file is skipped, as kubectl skips it); else `~/.kube/config`. `None` when
/// there is none (in a pod, the service account is used).
pub(crate) fn kubeconfig(global: &Global) -> Result<Option<Kubeconfig>, Error> {
    if let Some(path) = &global.kubeconfig {
        return read_kubeconfig(path).map(Some);
    }
    let listed: Vec<PathBuf> = std::env::var_os("KUBECONFIG")
        .map(|value| {
            std::env::split_paths(&value)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if !listed.is_empty() {
        let existing: Vec<&PathBuf> = listed.iter().filter(|p| p.exists()).collect();
        if existing.is_empty() {
            let names: Vec<String> = listed.iter().map(|p| p.display().to_string()).collect();
            return Err(Error::Config(format!(
                "none of the files in KUBECONFIG exists ({}); set KUBECONFIG or --kubeconfig to a kubeconfig file",
                names.join(", ")
            )));
        }
        let mut merged = Kubeconfig::default();
        for path in existing {
            merged = merged
                .merge(read_kubeconfig(path)?)
                .map_err(|e| Error::Config(format!("merging kubeconfig {}: {e}", path.display())))?;
        }
        return Ok(Some(merged));
    }
    match std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube/config")) {
        Some(path) if path.exists() => read_kubeconfig(&path).map(Some),
        _ => Ok(None),
    }
}

/// The newest served version of `kind` (VM Operator serves several; old clusters fewer).
pub async fn resource(cluster: &Cluster, kind: KindInfo) -> Result<ApiResource, Error> {
    let mut groups = cluster.groups.lock().await;
    if !groups.contains_key(kind.group) {
        let group = discovery::group(&cluster.client, kind.group)
            .await
            .map_err(Error::cluster(format!("discover API group {}", kind.group)))?;
        groups.insert(kind.group, group);
    }
    let group = &groups[kind.group];
    for version in group.versions() {
        if let Some((ar, _)) = group
            .versioned_resources(version)
            .into_iter()
            .find(|(ar, _)| ar.kind == kind.kind)
        {
            return Ok(ar);
        }
    }
    Err(Error::Failed(format!(
        "the cluster serves API group {} but not kind {}: is VM Operator installed?",
        kind.group, kind.kind
    )))
}

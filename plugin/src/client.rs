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
use std::{collections::HashMap, sync::Arc};
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
    let mut config = match (&global.kubeconfig, &global.context) {
        (Some(path), _) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| Error::Config(format!("reading kubeconfig {}: {e}", path.display())))?;
            Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(config_error)?
        }
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
    let client = Client::try_from(config).map_err(|e| Error::Config(format!("creating client: {e}")))?;
    Ok(Cluster {
        client,
        namespace,
        groups: Default::default(),
    })
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

//! Candidates for flag values and positionals: from the CLI definition (formats, modes,
//! shells), from the kubeconfig (contexts) and from the cluster the typed flags point
//! at (namespaces, images, VMs, publish requests, libraries).

use super::{Answer, directive, line::Position};
use crate::{
    cli::Global,
    client::{self, Cluster},
    source::{Scope, Source},
};
use clap::{Arg, ValueHint};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, ListParams};
use std::{collections::HashMap, collections::HashSet, time::Duration};
use vmimage_shared::api::{CONTENT_LIBRARY, KindInfo, VIRTUAL_MACHINE, VIRTUAL_MACHINE_PUBLISH_REQUEST};

/// A TAB press should never hang on a slow cluster: requests give up after this unless
/// `--request-timeout` is on the line.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The manifest extensions kubectl's own `-f` completes.
const MANIFEST_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// The global flags as the command being typed would see them: `-n`, `--context`,
/// `--kubeconfig`, `--catalog` and `--request-timeout` on the line win.
pub fn effective_global(global: &Global, typed: &HashMap<String, String>) -> Global {
    let mut g = global.clone();
    let get = |id: &str| typed.get(id).filter(|v| !v.is_empty()).cloned();
    if let Some(ns) = get("namespace") {
        g.namespace = Some(ns);
    }
    if let Some(ctx) = get("context") {
        g.context = Some(ctx);
    }
    if let Some(kc) = get("kubeconfig") {
        g.kubeconfig = Some(kc.into());
    }
    if let Some(catalog) = get("catalog") {
        g.catalog = Some(catalog);
    }
    // Reading a catalog from stdin would take the terminal's input.
    if g.catalog.as_deref() == Some("-") {
        g.catalog = None;
    }
    let typed_timeout = get("request_timeout").and_then(|t| vmimage_shared::duration::parse(&t).ok());
    g.request_timeout = Some(
        typed_timeout
            .or(g.request_timeout)
            .filter(|t| !t.is_zero())
            .unwrap_or(TIMEOUT),
    );
    g
}

/// Candidates for the value of flag `arg`.
pub async fn for_flag(global: &Global, arg: &Arg) -> Answer {
    match arg.get_id().as_str() {
        "namespace" => Answer::words(namespaces(global).await),
        "context" => Answer::words(contexts(global)),
        "files" | "catalog" | "policy" | "vms" => Answer {
            candidates: MANIFEST_EXTENSIONS
                .iter()
                .map(|e| (e.to_string(), String::new()))
                .collect(),
            directive: directive::FILTER_FILE_EXT,
        },
        "library" => Answer::words(names_in_namespace(global, CONTENT_LIBRARY).await),
        "namespace_selector" => Answer::words(namespace_labels(global).await),
        "display_name" => Answer::words(
            images(global)
                .await
                .into_iter()
                .filter(|(name, _)| !vmimage_shared::vmi_id::looks_like_id(name)),
        ),
        _ => from_definition(arg),
    }
}

/// Candidates for positional `arg` of the command at `at`.
pub async fn for_positional(global: &Global, at: &Position<'_>, arg: &Arg) -> Answer {
    match (at.command.get_name(), arg.get_id().as_str()) {
        (_, "refs" | "reference") => Answer::words(images(global).await),
        ("publish", "vm") => Answer::words(names_in_namespace(global, VIRTUAL_MACHINE).await),
        ("status", "name") => {
            Answer::words(names_in_namespace(global, VIRTUAL_MACHINE_PUBLISH_REQUEST).await)
        }
        // A side of `compare` is a context or a catalog file: files when no context matches.
        ("compare", _) => Answer {
            candidates: contexts(global),
            directive: directive::FILES,
        },
        _ => from_definition(arg),
    }
}

/// What clap knows about `arg`: its possible values, else its value hint.
fn from_definition(arg: &Arg) -> Answer {
    let values: Vec<(String, String)> = arg
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| {
            let help = v.get_help().map(|h| h.to_string()).unwrap_or_default();
            (v.get_name().to_string(), help.trim_end_matches('.').to_string())
        })
        .collect();
    if !values.is_empty() {
        return Answer {
            directive: directive::NO_FILE_COMP | directive::KEEP_ORDER,
            ..Answer::words(values)
        };
    }
    match arg.get_value_hint() {
        ValueHint::FilePath | ValueHint::AnyPath => Answer {
            candidates: Vec::new(),
            directive: directive::FILES,
        },
        ValueHint::DirPath => Answer {
            candidates: Vec::new(),
            directive: directive::FILTER_DIRS,
        },
        _ => Answer::nothing(),
    }
}

/// The contexts of the kubeconfig kubectl would read, with their clusters.
fn contexts(global: &Global) -> Vec<(String, String)> {
    let Ok(Some(config)) = client::kubeconfig(global) else {
        return Vec::new();
    };
    config
        .contexts
        .into_iter()
        .map(|c| {
            let cluster = c.context.map(|x| x.cluster).unwrap_or_default();
            (c.name, cluster)
        })
        .collect()
}

async fn connect(global: &Global) -> Option<Cluster> {
    client::connect(global).await.ok()
}

/// Namespace names, from the cluster.
async fn namespaces(global: &Global) -> Vec<(String, String)> {
    let Some(cluster) = connect(global).await else {
        return Vec::new();
    };
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    match api.list_metadata(&ListParams::default()).await {
        Ok(list) => list
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .map(|n| (n, String::new()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Every `key=value` label of the cluster's namespaces, described by how many carry it
/// (`where -l`).
async fn namespace_labels(global: &Global) -> Vec<(String, String)> {
    let Some(cluster) = connect(global).await else {
        return Vec::new();
    };
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    let Ok(list) = api.list_metadata(&ListParams::default()).await else {
        return Vec::new();
    };
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for labels in list.items.into_iter().filter_map(|n| n.metadata.labels) {
        for (k, v) in labels {
            *counts.entry(format!("{k}={v}")).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|(label, n)| (label, format!("{n} namespace{}", if n == 1 { "" } else { "s" })))
        .collect()
}

/// Names of `kind` objects in the namespace the line points at.
async fn names_in_namespace(global: &Global, kind: KindInfo) -> Vec<(String, String)> {
    let Some(cluster) = connect(global).await else {
        return Vec::new();
    };
    let Ok(ar) = client::resource(&cluster, kind).await else {
        return Vec::new();
    };
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client.clone(), &cluster.namespace, &ar);
    match api.list_metadata(&ListParams::default()).await {
        Ok(list) => list
            .items
            .into_iter()
            .filter_map(|o| o.metadata.name)
            .map(|n| (n, String::new()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Every reference that resolves from the namespace: each image's VMI ID (described by
/// its display name) and each display name (described by its ID, or as ambiguous).
async fn images(global: &Global) -> Vec<(String, String)> {
    let Ok((source, ns)) = Source::open(global).await else {
        return Vec::new();
    };
    let Ok(images) = source.images(&Scope::VisibleFrom(ns.clone())).await else {
        return Vec::new();
    };
    let visible: Vec<_> = images.index.visible_from(&ns).collect();
    let mut by_display: HashMap<&str, Vec<&str>> = HashMap::new();
    for entry in &visible {
        if let Some(d) = &entry.display_name {
            by_display.entry(d).or_default().push(&entry.name);
        }
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for entry in &visible {
        if let Some(d) = entry.display_name.as_deref()
            && seen.insert(d)
        {
            let help = match by_display[d].as_slice() {
                [one] => one.to_string(),
                many => format!("ambiguous: {} images", many.len()),
            };
            out.push((d.to_string(), help));
        }
    }
    out.sort();
    let mut ids: Vec<(String, String)> = visible
        .iter()
        .map(|e| {
            let help = e.display_name.as_deref().unwrap_or_default().to_string();
            (e.name.to_string(), help)
        })
        .collect();
    ids.sort();
    out.extend(ids);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_on_the_line_win_and_stdin_is_never_read() {
        let typed: HashMap<String, String> = [
            ("namespace", "dev"),
            ("context", "prod"),
            ("kubeconfig", "/tmp/kc"),
            ("catalog", "-"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let given = Global {
            namespace: Some("default".into()),
            catalog: Some("images.yaml".into()),
            ..Default::default()
        };
        let g = effective_global(&given, &typed);
        assert_eq!(g.namespace.as_deref(), Some("dev"));
        assert_eq!(g.context.as_deref(), Some("prod"));
        assert_eq!(g.kubeconfig.as_deref(), Some(std::path::Path::new("/tmp/kc")));
        assert_eq!(g.catalog, None);
        assert_eq!(g.request_timeout, Some(TIMEOUT));
        let typed = HashMap::from([("request_timeout".to_string(), "30s".to_string())]);
        assert_eq!(
            effective_global(&Global::default(), &typed).request_timeout,
            Some(Duration::from_secs(30))
        );
    }
}

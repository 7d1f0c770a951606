//! `--watch`, as `kubectl get -w`: after the first listing, one more row (or object) per
//! change, driven by Kubernetes watches (never polling). Ctrl-C ends the watch.

use super::list::{Row, Shown};
use crate::{
    client::{self, Cluster},
    error::{Error, Result},
    output::Printer,
    source::{Details, Images, Scope},
};
use futures::{Stream, StreamExt};
use kube::{
    api::{Api, DynamicObject},
    runtime::{WatchStreamExt, watcher},
};
use std::{collections::HashMap, io::Write, pin::pin, sync::Arc};
use vmimage_shared::{
    ImageEntry,
    api::{CLUSTER_VIRTUAL_MACHINE_IMAGE, Image, KindInfo, VIRTUAL_MACHINE_IMAGE},
};

/// A change to print: the object as it is now (or was, when deleted).
type Change = (KindInfo, DynamicObject);

/// What was printed before the watch began: (kind, namespace, name) to resource version.
pub type Printed = HashMap<(String, Option<String>, String), Option<String>>;

/// Which images to watch: the namespaced and cluster images of a scope (`list -w`), or
/// named images one by one (`get -w`, by field selector, so following one image of
/// 100,000 does not list them all again).
pub enum Watched<'a> {
    Scope(&'a Scope),
    Images(&'a [Arc<ImageEntry>]),
}

/// Follows the images of `watched`, printing those that `keep` passes as they change;
/// `listed` is what was printed already (the watch's own first listing skips it unless changed).
pub async fn images<'a>(
    cluster: &Cluster,
    watched: Watched<'_>,
    listed: &Images,
    keep: impl Fn(&ImageEntry) -> bool,
    managed_fields: bool,
    printer: &mut Printer<'a, Row<'a>>,
    out: &mut impl Write,
) -> Result<()> {
    let namespaced = client::resource(cluster, VIRTUAL_MACHINE_IMAGE).await?;
    let clustered = client::resource(cluster, CLUSTER_VIRTUAL_MACHINE_IMAGE).await?;
    let printed: Printed = listed.resource_versions();
    let client = || cluster.client.clone();
    let changes = match watched {
        Watched::Scope(scope) => {
            let namespaced = match scope {
                Scope::VisibleFrom(ns) => Api::namespaced_with(client(), ns, &namespaced),
                Scope::All => Api::all_with(client(), &namespaced),
            };
            let clustered = Api::all_with(client(), &clustered);
            vec![
                changes(VIRTUAL_MACHINE_IMAGE, namespaced, None, printed.clone()).boxed(),
                changes(CLUSTER_VIRTUAL_MACHINE_IMAGE, clustered, None, printed).boxed(),
            ]
        }
        Watched::Images(entries) => entries
            .iter()
            .map(|entry| {
                let name = Some(format!("metadata.name={}", entry.name));
                let kind = entry.kind().info();
                let api = match entry.scope.namespace() {
                    Some(ns) => Api::namespaced_with(client(), ns, &namespaced),
                    None => Api::all_with(client(), &clustered),
                };
                changes(kind, api, name, printed.clone()).boxed()
            })
            .collect(),
    };
    let changes = futures::stream::select_all(changes);
    follow(changes, out, |out, (kind, object)| {
        let mut image: Image = serde_json::to_value(&object)
            .and_then(serde_json::from_value)
            .map_err(|e| Error::Failed(format!("a watched {} has an unexpected shape: {e}", kind.kind)))?;
        image.kind = Some(kind.kind.to_string());
        let Ok(entry) = ImageEntry::from_image(&image) else {
            return Ok(());
        };
        if !keep(&entry) {
            return Ok(());
        }
        let details = Details::of_image(&image);
        printer.print_event(
            out,
            Row {
                entry: Arc::new(entry),
                image: Shown::Watched(Box::new(image), details),
                managed_fields,
            },
        )
    })
    .await
}

/// The changes to `kind` as a stream; the watch's first listing yields only objects that
/// changed since `printed` (the resource versions already shown).
pub fn changes(
    kind: KindInfo,
    api: Api<DynamicObject>,
    fields: Option<String>,
    printed: Printed,
) -> impl Stream<Item = Result<Change>> + Send {
    let mut config = watcher::Config::default();
    if let Some(fields) = &fields {
        config = config.fields(fields);
    }
    watcher(api, config).default_backoff().filter_map(move |event| {
        let out = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::Delete(o)) => Some(Ok((kind, o))),
            Ok(watcher::Event::InitApply(o)) => {
                let m = &o.metadata;
                let key = (
                    kind.kind.to_string(),
                    m.namespace.clone(),
                    m.name.clone().unwrap_or_default(),
                );
                let same = printed.get(&key).is_some_and(|rv| *rv == m.resource_version);
                (!same).then_some(Ok((kind, o)))
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => None,
            // The watcher retries (with backoff) after each error; say what happened.
            Err(e) => {
                crate::note!("warning: watching {}s: {e}; retrying", kind.kind);
                None
            }
        };
        std::future::ready(out)
    })
}

/// Prints each change with `show` until Ctrl-C (or the reader goes away).
pub async fn follow<W: Write>(
    changes: impl Stream<Item = Result<Change>>,
    out: &mut W,
    mut show: impl FnMut(&mut W, Change) -> Result<()>,
) -> Result<()> {
    let mut changes = pin!(changes);
    let ctrl_c = tokio::signal::ctrl_c();
    let mut ctrl_c = pin!(ctrl_c);
    loop {
        tokio::select! {
            change = changes.next() => match change {
                Some(change) => show(out, change?)?,
                None => return Ok(()),
            },
            _ = &mut ctrl_c => return Ok(()),
        }
    }
}

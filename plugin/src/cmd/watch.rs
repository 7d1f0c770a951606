//! `--watch`, as `kubectl get -w`: after the first listing, one more row (or object) per
//! change, driven by Kubernetes watches (never polling). Ctrl-C ends the watch.

use super::list::{Row, Shown};
use super::names::{Identity, Names, identity};
use crate::{
    cli::Global,
    client::{self, Cluster},
    error::{Error, Result},
    output::Printer,
    source::{Details, Images, Scope},
};
use futures::{Stream, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{
    api::{Api, DynamicObject},
    runtime::{WatchStreamExt, watcher},
};
use std::{
    collections::{HashMap, HashSet},
    io::Write,
    pin::pin,
    sync::{Arc, RwLock},
};
use vmimage_shared::{
    ImageEntry,
    api::{CLUSTER_VIRTUAL_MACHINE_IMAGE, Image, ImageKind, KindInfo, VIRTUAL_MACHINE_IMAGE},
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
/// `listed` is what was printed already (the watch's own first listing skips it unless
/// changed). `names`, when given, is kept current with every image the watch sees, so
/// rows are judged ambiguous on the images as they are now.
#[allow(clippy::too_many_arguments)]
pub async fn images<'a>(
    cluster: &Cluster,
    watched: Watched<'_>,
    listed: &Images,
    keep: impl Fn(&ImageEntry) -> bool,
    names: Option<&RwLock<Names>>,
    managed_fields: bool,
    printer: &mut Printer<'a, Row<'a>>,
    out: &mut impl Write,
) -> Result<()> {
    let namespaced = client::resource(cluster, VIRTUAL_MACHINE_IMAGE).await?;
    let clustered = client::resource(cluster, CLUSTER_VIRTUAL_MACHINE_IMAGE).await?;
    let printed: Printed = listed.resource_versions();
    let client = || cluster.client.clone();
    let streams = match watched {
        Watched::Scope(scope) => {
            let namespaced = match scope {
                Scope::VisibleFrom(ns) => Api::namespaced_with(client(), ns, &namespaced),
                Scope::All => Api::all_with(client(), &namespaced),
            };
            let clustered = Api::all_with(client(), &clustered);
            vec![
                events(VIRTUAL_MACHINE_IMAGE, namespaced, None).boxed(),
                events(CLUSTER_VIRTUAL_MACHINE_IMAGE, clustered, None).boxed(),
            ]
        }
        Watched::Images(entries) => entries
            .iter()
            .map(|entry| {
                let name = Some(format!("metadata.name={}", entry.name));
                let api = match entry.scope.namespace() {
                    Some(ns) => Api::namespaced_with(client(), ns, &namespaced),
                    None => Api::all_with(client(), &clustered),
                };
                events(entry.kind().info(), api, name).boxed()
            })
            .collect(),
    };
    // Each kind's images seen since its watch began (re-)listing.
    let mut relisted: HashMap<&'static str, HashSet<Identity>> = HashMap::new();
    let changes = futures::stream::select_all(streams).filter_map(move |(kind, event)| {
        let (object, step) = match event {
            watcher::Event::Init => {
                relisted.insert(kind.kind, HashSet::new());
                return std::future::ready(None);
            }
            watcher::Event::InitDone => {
                if let (Some(names), Some(listed), Ok(image_kind)) =
                    (names, relisted.remove(kind.kind), kind.kind.parse::<ImageKind>())
                {
                    write(names).keep_only(image_kind, &listed);
                }
                return std::future::ready(None);
            }
            watcher::Event::InitApply(o) => (o, Step::Listed),
            watcher::Event::Apply(o) => (o, Step::Changed),
            watcher::Event::Delete(o) => (o, Step::Deleted),
        };
        let shown = image_of(kind, &object).transpose();
        if let (Some(names), Some(Ok((_, entry)))) = (names, &shown) {
            let mut names = write(names);
            match step {
                Step::Deleted => names.remove(&identity(entry)),
                Step::Listed | Step::Changed => names.put(entry),
            }
            if step == Step::Listed {
                relisted.entry(kind.kind).or_default().insert(identity(entry));
            }
        }
        let unchanged = step == Step::Listed && was_printed(&printed, kind, &object);
        std::future::ready(shown.filter(|_| !unchanged))
    });
    follow(changes, out, |out, (image, entry)| {
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

/// A watched image and its entry; `None` for an image that cannot be indexed (skipped,
/// as a listing skips it), an error for an object that does not read as an image.
fn image_of(kind: KindInfo, object: &DynamicObject) -> Result<Option<(Image, ImageEntry)>> {
    let mut image: Image = serde_json::to_value(object)
        .and_then(serde_json::from_value)
        .map_err(|e| Error::Failed(format!("a watched {} has an unexpected shape: {e}", kind.kind)))?;
    image.kind = Some(kind.kind.to_string());
    Ok(ImageEntry::from_image(&image).ok().map(|entry| (image, entry)))
}

fn write(names: &RwLock<Names>) -> std::sync::RwLockWriteGuard<'_, Names> {
    names.write().unwrap_or_else(|e| e.into_inner())
}

/// What a watch event does to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// In the watch's (re-)listing.
    Listed,
    Changed,
    Deleted,
}

/// The key [`Printed`] holds an object of `kind` under.
fn printed_key(kind: KindInfo, m: &ObjectMeta) -> (String, Option<String>, String) {
    (
        kind.kind.to_string(),
        m.namespace.clone(),
        m.name.clone().unwrap_or_default(),
    )
}

/// What printing `objects` of `kind` showed, for a watch to begin after them.
pub fn printed_of<'o>(kind: KindInfo, objects: impl IntoIterator<Item = &'o DynamicObject>) -> Printed {
    objects
        .into_iter()
        .map(|o| {
            (
                printed_key(kind, &o.metadata),
                o.metadata.resource_version.clone(),
            )
        })
        .collect()
}

/// Whether `object` is printed already, as it is now (a listing repeats what was shown).
fn was_printed(printed: &Printed, kind: KindInfo, object: &DynamicObject) -> bool {
    let m = &object.metadata;
    printed
        .get(&printed_key(kind, m))
        .is_some_and(|rv| *rv == m.resource_version)
}

/// `--watch` with `--catalog` is a usage error: a file has no changes to follow.
pub fn refuse_offline(watch: bool, global: &Global) -> Result<()> {
    if watch && global.catalog.is_some() {
        return Err(Error::Usage(
            "--watch follows the cluster's changes; a --catalog file has none (drop one of them)".into(),
        ));
    }
    Ok(())
}

/// Every event of a watch of `kind` (optionally of objects matching the field selector
/// `fields`); the watcher retries after each error, which is said on stderr.
fn events(
    kind: KindInfo,
    api: Api<DynamicObject>,
    fields: Option<String>,
) -> impl Stream<Item = (KindInfo, watcher::Event<DynamicObject>)> + Send {
    let mut config = watcher::Config::default();
    if let Some(fields) = &fields {
        config = config.fields(fields);
    }
    watcher(api, config).default_backoff().filter_map(move |event| {
        std::future::ready(match event {
            Ok(event) => Some((kind, event)),
            Err(e) => {
                crate::note!("warning: watching {}s: {e}; retrying", kind.kind);
                None
            }
        })
    })
}

/// The changes to `kind` as a stream; the watch's first listing yields only objects that
/// changed since `printed` (the resource versions already shown).
pub fn changes(
    kind: KindInfo,
    api: Api<DynamicObject>,
    fields: Option<String>,
    printed: Printed,
) -> impl Stream<Item = Result<Change>> + Send {
    events(kind, api, fields).filter_map(move |(kind, event)| {
        std::future::ready(match event {
            watcher::Event::Apply(o) | watcher::Event::Delete(o) => Some(Ok((kind, o))),
            watcher::Event::InitApply(o) => (!was_printed(&printed, kind, &o)).then_some(Ok((kind, o))),
            watcher::Event::Init | watcher::Event::InitDone => None,
        })
    })
}

/// Prints each change with `show` until Ctrl-C (or the reader goes away).
pub async fn follow<W: Write, T>(
    changes: impl Stream<Item = Result<T>>,
    out: &mut W,
    mut show: impl FnMut(&mut W, T) -> Result<()>,
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

//! Where images come from: the live cluster (paged lists, newest served version) or a
//! catalog file (`--catalog`). Both give the same objects, so both give the same answers.

use crate::{
    client::{self, Cluster},
    error::{Error, Result},
};
use kube::api::{DynamicObject, ListParams};
use std::{io::Read, sync::Arc};
use vmimage_shared::{
    api::{CLUSTER_VIRTUAL_MACHINE_IMAGE, Image, KindInfo, VIRTUAL_MACHINE_IMAGE},
    catalog::{self, Catalog},
    index::ImageEntry,
    library::{Libraries, LibraryObjects},
};

mod images;
mod sketch;
pub use images::{Details, Images, Loader, Objects, UNREADABLE};

/// Page size for list calls: large catalogs arrive in pieces, never one huge response,
/// while a 10,000-image cluster needs only a handful of round trips.
const PAGE: u32 = 2000;

/// At most this many images are read one by one for the references of one `resolve`;
/// references that name more are answered from a read of the whole scope.
const NAMED_AT_MOST: usize = 64;

/// GETs in flight at once when reading named images one by one.
const GETS_AT_ONCE: usize = 8;

/// Which images to read.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Images a VM in this namespace can use: its namespace's and the cluster's.
    VisibleFrom(String),
    /// Every image.
    All,
}

/// The live cluster or a catalog.
pub enum Source {
    /// A connected cluster.
    Live(Cluster),
    /// A catalog file, read once: every image, and the content libraries it holds.
    Catalog {
        /// Every image of the file.
        images: Images,
        /// Its content library items and libraries.
        libraries: LibraryObjects,
    },
}

impl Source {
    /// Opens `--catalog` if given, else connects to the cluster.
    pub async fn open(global: &crate::cli::Global) -> Result<(Self, String)> {
        match &global.catalog {
            Some(path) => {
                let (images, libraries) = read_catalog(path)?;
                let ns = global.namespace.clone().unwrap_or_else(|| "default".to_string());
                Ok((Self::Catalog { images, libraries }, ns))
            }
            None => {
                let cluster = client::connect(global).await?;
                let ns = cluster.namespace.clone();
                Ok((Self::Live(cluster), ns))
            }
        }
    }

    /// Reads the images in `scope`, warning about objects read only in part.
    pub async fn images(&self, scope: &Scope) -> Result<Images> {
        let images = self.read_images(scope).await?;
        images.warn();
        if let (Self::Live(cluster), Scope::VisibleFrom(ns)) = (self, scope)
            && !images
                .index
                .iter()
                .any(|i| i.scope.namespace() == Some(ns.as_str()))
        {
            crate::namespace::warn_if_missing(cluster, ns).await;
        }
        Ok(images)
    }

    /// The images visible from `namespace` that decide what `refs` resolve to, each read
    /// whole: the one a ref resolves to, the candidates of an ambiguous one, the near
    /// misses of a missing one, and every image a `<library>/<display name>` reading can
    /// name. The scope itself is read as a Table of names and display names, about an
    /// eighth of the bytes of whole objects, and resolved once to learn which images
    /// those are; the resolver gives the same answer on them as on the whole scope.
    ///
    /// `None` where this cannot stand in for [`Source::images`]: a catalog (in memory
    /// already), more than [`NAMED_AT_MOST`] images to read, or a server whose tables lack
    /// the display name. Warnings about the images read are left to the caller
    /// ([`Images::warn`]).
    pub async fn images_deciding(&self, namespace: &str, refs: &[String]) -> Result<Option<Images>> {
        let Self::Live(cluster) = self else {
            return Ok(None);
        };
        let (namespaced, clustered) = futures::try_join!(
            list_names(cluster, VIRTUAL_MACHINE_IMAGE, Some(namespace)),
            list_names(cluster, CLUSTER_VIRTUAL_MACHINE_IMAGE, None)
        )?;
        let (Some(namespaced), Some(clustered)) = (namespaced, clustered) else {
            return Ok(None);
        };
        if namespaced.is_empty() {
            crate::namespace::warn_if_missing(cluster, namespace).await;
        }
        let sketch = sketch::index(namespace, namespaced, clustered);
        let deciding = sketch::deciding(&sketch, namespace, refs);
        if deciding.len() > NAMED_AT_MOST {
            tracing::debug!(
                images = deciding.len(),
                "the references name too many images to read one by one; reading the scope whole"
            );
            return Ok(None);
        }
        tracing::debug!(
            "{} of {} visible images decide the references; reading those whole",
            deciding.len(),
            sketch.len()
        );
        Ok(read_whole(cluster, &deciding)
            .await?
            .map(|images| images.visible_from(namespace)))
    }

    /// Every image, for explaining a failed resolution: `None` when they cannot be read
    /// (say, no right to list all namespaces). No warnings: `images` gave them already.
    pub async fn all_images_for_hints(&self) -> Option<Images> {
        self.read_images(&Scope::All).await.ok()
    }

    async fn read_images(&self, scope: &Scope) -> Result<Images> {
        match (self, scope) {
            (Self::Catalog { images, .. }, Scope::All) => Ok(images.share()),
            (Self::Catalog { images, .. }, Scope::VisibleFrom(ns)) => Ok(images.visible_from(ns)),
            (Self::Live(cluster), _) => {
                let ns = match scope {
                    Scope::VisibleFrom(ns) => Some(ns.as_str()),
                    Scope::All => None,
                };
                let (namespaced, clustered) = futures::try_join!(
                    list(cluster, VIRTUAL_MACHINE_IMAGE, ns),
                    list(cluster, CLUSTER_VIRTUAL_MACHINE_IMAGE, None)
                )?;
                let mut loader = Loader::default();
                for (kind, pages) in [
                    (VIRTUAL_MACHINE_IMAGE, namespaced),
                    (CLUSTER_VIRTUAL_MACHINE_IMAGE, clustered),
                ] {
                    for page in pages {
                        add_page(&mut loader, kind, page, &listing(kind, ns))?;
                    }
                }
                Ok(loader.finish())
            }
        }
    }

    /// The content library of each of `images`, for `<library>/<display name>`
    /// references: from the catalog's items and libraries, or read from the cluster
    /// (each image's item, then its library, by name). Nothing is read for no images.
    pub async fn libraries(&self, images: &[Arc<ImageEntry>]) -> Result<Libraries> {
        if images.is_empty() {
            return Ok(Libraries::default());
        }
        match self {
            Self::Catalog { libraries, .. } => Ok(libraries.link(images)),
            Self::Live(cluster) => {
                let mut objects = LibraryObjects::new();
                // The items, then their libraries.
                for step in 0..2 {
                    let wanted = match step {
                        0 => LibraryObjects::items_of(images),
                        _ => objects.libraries_to_read(),
                    };
                    for what in wanted {
                        if let Some(object) =
                            get_object(cluster, what.kind, what.scope.namespace(), &what.name).await?
                        {
                            add_library_object(&mut objects, &object)?;
                        }
                    }
                }
                Ok(objects.link(images))
            }
        }
    }

    /// The live cluster, if this is not a catalog.
    pub fn cluster(&self) -> Option<&Cluster> {
        match self {
            Self::Live(c) => Some(c),
            Self::Catalog { .. } => None,
        }
    }
}

/// Reads the catalog at `path` (`-`: stdin). A file that is one List, as `kubectl get -o
/// json` prints it, is read a window at a time and its objects read again from the file
/// when printed; anything else is read whole and kept.
fn read_catalog(path: &str) -> Result<(Images, LibraryObjects)> {
    let failed = |e: std::io::Error| match path {
        "-" => Error::Usage(format!("reading catalog from stdin: {e}")),
        _ => Error::Usage(format!("reading catalog {path}: {e}")),
    };
    let mut text = String::new();
    if path == "-" {
        std::io::stdin().read_to_string(&mut text).map_err(failed)?;
    } else {
        let mut file = std::fs::File::open(path).map_err(failed)?;
        let mut loader = Loader::default();
        let streamed =
            Catalog::read_list(path, &file, |read| loader.add(read.image, read.json)).map_err(failed)?;
        if let Some(others) = streamed {
            loader.add_file(file);
            return Ok((loader.finish(), others.libraries));
        }
        // The same file from its start, whole.
        std::io::Seek::rewind(&mut file)
            .and_then(|_| file.read_to_string(&mut text))
            .map_err(failed)?;
    }
    let mut loader = Loader::default();
    let others = Catalog::read(path, &text, |read| loader.add(read.image, read.json))
        .map_err(|e| Error::Usage(e.to_string()))?;
    loader.add_text(text);
    Ok((loader.finish(), others.libraries))
}

fn add_library_object(objects: &mut LibraryObjects, object: &serde_json::Value) -> Result<()> {
    objects
        .add(object)
        .map(|_| ())
        .map_err(|e| Error::Failed(format!("reading content libraries: {e}")))
}

/// One object of `kind` as JSON (kind set), `None` when it does not exist or the cluster
/// does not serve the kind (no content libraries: qualified names find nothing).
async fn get_object(
    cluster: &Cluster,
    kind: KindInfo,
    ns: Option<&str>,
    name: &str,
) -> Result<Option<serde_json::Value>> {
    if client::resource(cluster, kind).await.is_err() {
        return Ok(None);
    }
    let Some(text) = get_text(cluster, kind, ns, name)
        .await
        .map_err(GetError::into_error)?
    else {
        return Ok(None);
    };
    let mut json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Failed(format!("reading {} {name}: {e}", kind.kind)))?;
    json["kind"] = serde_json::Value::from(kind.kind);
    Ok(Some(json))
}

/// Each of `entries` read whole, by GET; `None` when the role may not get images. An
/// image deleted since it was listed is gone, as in a later list.
async fn read_whole(cluster: &Cluster, entries: &[Arc<ImageEntry>]) -> Result<Option<Images>> {
    use futures::{StreamExt as _, TryStreamExt as _};
    let texts: std::result::Result<Vec<_>, GetError> = futures::stream::iter(entries)
        .map(|entry| async move {
            let kind = entry.kind().info();
            let text = get_text(cluster, kind, entry.scope.namespace(), &entry.name).await?;
            Ok(text.map(|t| (kind, t)))
        })
        .buffered(GETS_AT_ONCE)
        .try_collect()
        .await;
    let texts = match texts {
        Ok(texts) => texts,
        Err(GetError::Forbidden(_)) => {
            tracing::debug!("not allowed to get images one by one; reading the scope whole");
            return Ok(None);
        }
        Err(GetError::Other(e)) => return Err(e),
    };
    let mut loader = Loader::default();
    for (kind, text) in texts.into_iter().flatten() {
        let what = format!("get {}", kind.kind);
        let mut image =
            Image::from_json(&text).map_err(|e| Error::cluster(what)(kube::Error::SerdeError(e)))?;
        image.kind = Some(kind.kind.to_string());
        loader.add(image, Some(0..text.len()));
        loader.add_text(text);
    }
    Ok(Some(loader.finish()))
}

/// One object of `kind` as the server sent it; `None` when it does not exist.
async fn get_text(cluster: &Cluster, kind: KindInfo, ns: Option<&str>, name: &str) -> Got {
    use kube::core::Resource;
    let ar = client::resource(cluster, kind).await.map_err(GetError::Other)?;
    let ns = ns.filter(|_| kind.namespaced);
    let what = match ns {
        Some(ns) => format!("get {} {ns}/{name}", kind.kind),
        None => format!("get {} {name}", kind.kind),
    };
    let req = kube::core::Request::new(DynamicObject::url_path(&ar, ns))
        .get(name, &Default::default())
        .map_err(|e| GetError::Other(Error::Failed(e.to_string())))?;
    match cluster.client.request_text(req).await {
        Ok(text) => Ok(Some(text)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        // Some roles may list images without getting one: then the list it is.
        Err(kube::Error::Api(status)) if status.code == 403 => Err(GetError::Forbidden(
            Error::cluster(what)(kube::Error::Api(status)),
        )),
        Err(e) => Err(GetError::Other(Error::cluster(what)(e))),
    }
}

type Got = std::result::Result<Option<String>, GetError>;

/// Why a GET failed: refused by RBAC (a list may still be allowed), or anything else.
enum GetError {
    Forbidden(Error),
    Other(Error),
}

impl GetError {
    fn into_error(self) -> Error {
        match self {
            Self::Forbidden(e) | Self::Other(e) => e,
        }
    }
}

/// The names and display names of every image of `kind` (in `ns`, or everywhere), read
/// as Table pages; `None` when the server's tables do not show them.
async fn list_names(cluster: &Cluster, kind: KindInfo, ns: Option<&str>) -> Result<Option<Vec<sketch::Row>>> {
    let mut rows = Vec::new();
    let mut usable = true;
    read_pages(
        cluster,
        kind,
        ns,
        Form::Table,
        |text, what| match sketch::read_page(&text) {
            Ok(page) => {
                rows.extend(page.rows);
                Ok(page.next)
            }
            Err(why) => {
                tracing::debug!(%why, "{what}: reading whole objects instead of a table");
                usable = false;
                Ok(None)
            }
        },
    )
    .await?;
    Ok(usable.then_some(rows))
}

/// How a list is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Whole objects, as JSON.
    Objects,
    /// The server's Table of printer columns, without the objects.
    Table,
}

/// Reads the list of `kind` (in `ns`, or everywhere) at its newest served version, page
/// by page: `page` gets each page's text and what the list is doing (for its errors), and
/// returns where the list goes on (`None`: it is done).
async fn read_pages(
    cluster: &Cluster,
    kind: KindInfo,
    ns: Option<&str>,
    form: Form,
    mut page: impl FnMut(String, &str) -> Result<Option<String>>,
) -> Result<()> {
    use kube::core::Resource;
    let ar = client::resource(cluster, kind).await?;
    let ns = ns.filter(|_| kind.namespaced);
    let path = DynamicObject::url_path(&ar, ns);
    let what = listing(kind, ns);
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let mut req = kube::core::Request::new(&path)
            .list(&params)
            .map_err(|e| Error::Failed(e.to_string()))?;
        if form == Form::Table {
            let joint = if req.uri().query().is_some() { '&' } else { '?' };
            let uri = format!("{}{joint}{}", req.uri(), sketch::NO_OBJECTS);
            *req.uri_mut() = uri
                .parse()
                .map_err(|e: http::uri::InvalidUri| Error::Failed(e.to_string()))?;
            req.headers_mut().insert(http::header::ACCEPT, sketch::accept());
        }
        let text = cluster
            .client
            .request_text(req)
            .await
            .map_err(Error::cluster(what.clone()))?;
        match page(text, &what)? {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
}

/// Lists every object of `kind` (in `ns`, or everywhere), page by page.
pub async fn list_objects(cluster: &Cluster, kind: KindInfo, ns: Option<&str>) -> Result<Vec<DynamicObject>> {
    list_as(cluster, kind, ns).await
}

/// One page of a list, its items only scanned.
#[derive(serde::Deserialize)]
struct Page<'a> {
    #[serde(borrow, default)]
    items: Option<Vec<&'a serde_json::value::RawValue>>,
    #[serde(default)]
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta,
}

/// What a list is doing, for its errors.
fn listing(kind: KindInfo, ns: Option<&str>) -> String {
    match ns {
        Some(ns) => format!("list {}s in namespace {ns}", kind.kind),
        None => format!("list {}s", kind.kind),
    }
}

/// Lists images of `kind`: the pages' texts, as they came (kept to read objects again
/// from). This is the plugin's hot path.
async fn list(cluster: &Cluster, kind: KindInfo, ns: Option<&str>) -> Result<Vec<String>> {
    let mut pages = Vec::new();
    read_pages(cluster, kind, ns, Form::Objects, |text, what| {
        let next = serde_json::from_str::<Page<'_>>(&text)
            .map_err(|e| Error::cluster(what.to_string())(kube::Error::SerdeError(e)))?
            .metadata
            .continue_
            .filter(|c| !c.is_empty());
        pages.push(text);
        Ok(next)
    })
    .await?;
    Ok(pages)
}

/// Adds the images of one page of a list of `kind`, each read straight into the typed
/// model from the page's text ([`Image::from_json`]: one typed pass, the lenient reader
/// only for an image with a field that does not fit), then keeps the page.
fn add_page(loader: &mut Loader, kind: KindInfo, text: String, what: &str) -> Result<()> {
    let bad = |e| Error::cluster(what.to_string())(kube::Error::SerdeError(e));
    let page: Page<'_> = serde_json::from_str(&text).map_err(bad)?;
    for item in page.items.unwrap_or_default() {
        let mut image = Image::from_json(item.get()).map_err(bad)?;
        image.kind = Some(kind.kind.to_string());
        loader.add(image, catalog::span(&text, item.get()));
    }
    loader.add_text(text);
    Ok(())
}

/// Lists `kind` at its newest served version, page by page, as `T`.
async fn list_as<T: Clone + serde::de::DeserializeOwned>(
    cluster: &Cluster,
    kind: KindInfo,
    ns: Option<&str>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    read_pages(cluster, kind, ns, Form::Objects, |text, what| {
        let page: kube::core::ObjectList<T> = serde_json::from_str(&text)
            .map_err(|e| Error::cluster(what.to_string())(kube::Error::SerdeError(e)))?;
        out.extend(page.items);
        Ok(page.metadata.continue_.filter(|c| !c.is_empty()))
    })
    .await?;
    Ok(out)
}

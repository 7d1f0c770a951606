//! Where images come from: the live cluster (paged lists, newest served version) or a
//! catalog file (`--catalog`). Both give the same objects, so both give the same answers.

use crate::{
    client::{self, Cluster},
    error::{Error, Result},
};
use kube::api::{DynamicObject, ListParams};
use std::{collections::HashMap, io::Read, sync::Arc};
use vmimage_shared::{
    Index,
    api::{CLUSTER_VIRTUAL_MACHINE_IMAGE, Image, ImageKind, KindInfo, VIRTUAL_MACHINE_IMAGE},
    catalog::Catalog,
    index::ImageEntry,
    library::{Libraries, LibraryObjects},
};

/// Page size for list calls: large catalogs arrive in pieces, never one huge response,
/// while a 10,000-image cluster needs only a handful of round trips.
const PAGE: u32 = 2000;

/// A set of images with their index.
pub struct Images {
    /// Full objects (kind set), for output.
    pub objects: Vec<Image>,
    /// The index the resolver reads.
    pub index: Index,
    /// Position in `objects` by (kind, namespace, name): one lookup per output row, so
    /// printing n images costs n, not n².
    positions: HashMap<(ImageKind, Option<String>, String), usize>,
}

impl Images {
    /// Indexes `objects`, warning on stderr about each one that is read only in part or
    /// cannot be indexed: one odd object never costs the others.
    fn new(objects: Vec<Image>, warn: bool) -> Self {
        let index = Index::from_entries(objects.iter().filter_map(|o| {
            if let Some(warning) = o.unread_warning().filter(|_| warn) {
                eprintln!("warning: {warning}");
            }
            ImageEntry::from_image(o)
                .map_err(|e| {
                    if warn {
                        eprintln!("warning: skipping {}: {e}", o.describe_ref())
                    }
                })
                .ok()
        }));
        let positions = objects
            .iter()
            .enumerate()
            .filter_map(|(i, o)| {
                Some((
                    key(
                        o.image_kind(),
                        o.metadata.namespace.as_deref(),
                        o.metadata.name.as_deref()?,
                    ),
                    i,
                ))
            })
            .collect();
        Self {
            objects,
            index,
            positions,
        }
    }

    /// The full object behind an index entry.
    pub fn object(&self, entry: &ImageEntry) -> Option<&Image> {
        let at = self
            .positions
            .get(&key(entry.kind(), entry.scope.namespace(), &entry.name))?;
        self.objects.get(*at)
    }
}

fn key(kind: ImageKind, namespace: Option<&str>, name: &str) -> (ImageKind, Option<String>, String) {
    let namespace = match kind {
        ImageKind::VirtualMachineImage => namespace.map(str::to_string),
        ImageKind::ClusterVirtualMachineImage => None,
    };
    (kind, namespace, name.to_string())
}

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
    /// A parsed catalog file.
    Catalog(Catalog),
}

impl Source {
    /// Opens `--catalog` if given, else connects to the cluster.
    pub async fn open(global: &crate::cli::Global) -> Result<(Self, String)> {
        match &global.catalog {
            Some(path) => {
                let text = if path == "-" {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .map_err(|e| Error::Usage(format!("reading catalog from stdin: {e}")))?;
                    s
                } else {
                    std::fs::read_to_string(path)
                        .map_err(|e| Error::Usage(format!("reading catalog {path}: {e}")))?
                };
                let catalog = Catalog::parse(path, &text).map_err(|e| Error::Usage(e.to_string()))?;
                let ns = global.namespace.clone().unwrap_or_else(|| "default".to_string());
                Ok((Self::Catalog(catalog), ns))
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
        let images = self.read_images(scope, true).await?;
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

    /// Every image, for explaining a failed resolution: `None` when they cannot be read
    /// (say, no right to list all namespaces). No warnings: `images` gave them already.
    pub async fn all_images_for_hints(&self) -> Option<Images> {
        self.read_images(&Scope::All, false).await.ok()
    }

    async fn read_images(&self, scope: &Scope, warn: bool) -> Result<Images> {
        let in_scope = |i: &Image| match (scope, i.image_kind()) {
            (Scope::All, _) | (_, ImageKind::ClusterVirtualMachineImage) => true,
            (Scope::VisibleFrom(ns), ImageKind::VirtualMachineImage) => {
                i.metadata.namespace.as_deref() == Some(ns)
            }
        };
        match self {
            Self::Catalog(c) => Ok(Images::new(
                c.images.iter().filter(|i| in_scope(i)).cloned().collect(),
                warn,
            )),
            Self::Live(cluster) => {
                let ns = match scope {
                    Scope::VisibleFrom(ns) => Some(ns.as_str()),
                    Scope::All => None,
                };
                let (namespaced, clustered) = futures::try_join!(
                    list(cluster, VIRTUAL_MACHINE_IMAGE, ns),
                    list(cluster, CLUSTER_VIRTUAL_MACHINE_IMAGE, None)
                )?;
                Ok(Images::new(
                    namespaced.into_iter().chain(clustered).collect(),
                    warn,
                ))
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
            Self::Catalog(c) => Ok(c.libraries.link(images)),
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
            Self::Catalog(_) => None,
        }
    }
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
    let ar = match client::resource(cluster, kind).await {
        Ok(ar) => ar,
        Err(_) => return Ok(None),
    };
    let api: kube::Api<DynamicObject> = match ns.filter(|_| kind.namespaced) {
        Some(ns) => kube::Api::namespaced_with(cluster.client.clone(), ns, &ar),
        None => kube::Api::all_with(cluster.client.clone(), &ar),
    };
    let what = match ns {
        Some(ns) => format!("get {} {ns}/{name}", kind.kind),
        None => format!("get {} {name}", kind.kind),
    };
    let Some(object) = api.get_opt(name).await.map_err(Error::cluster(what))? else {
        return Ok(None);
    };
    let mut json = serde_json::to_value(object).map_err(|e| Error::Failed(e.to_string()))?;
    json["kind"] = serde_json::Value::from(kind.kind);
    Ok(Some(json))
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

/// Lists images of `kind`, each read straight into the typed model from the page's
/// text ([`Image::from_json`]: one typed pass, the lenient reader only for an image with
/// a field that does not fit). This is the plugin's hot path.
async fn list(cluster: &Cluster, kind: KindInfo, ns: Option<&str>) -> Result<Vec<Image>> {
    use kube::core::Resource;
    let ar = client::resource(cluster, kind).await?;
    let ns = ns.filter(|_| kind.namespaced);
    let path = DynamicObject::url_path(&ar, ns);
    let what = listing(kind, ns);
    let bad = |e| Error::cluster(what.clone())(kube::Error::SerdeError(e));
    let mut out = Vec::new();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let req = kube::core::Request::new(&path)
            .list(&params)
            .map_err(|e| Error::Failed(e.to_string()))?;
        let text = cluster
            .client
            .request_text(req)
            .await
            .map_err(Error::cluster(what.clone()))?;
        let page: Page<'_> = serde_json::from_str(&text).map_err(bad)?;
        for item in page.items.unwrap_or_default() {
            let mut image = Image::from_json(item.get()).map_err(bad)?;
            image.kind = Some(kind.kind.to_string());
            out.push(image);
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(out),
        }
    }
}

/// Lists `kind` at its newest served version, page by page, as `T`.
async fn list_as<T: Clone + serde::de::DeserializeOwned>(
    cluster: &Cluster,
    kind: KindInfo,
    ns: Option<&str>,
) -> Result<Vec<T>> {
    use kube::core::{ObjectList, Resource};
    let ar = client::resource(cluster, kind).await?;
    let ns = ns.filter(|_| kind.namespaced);
    let path = DynamicObject::url_path(&ar, ns);
    let what = listing(kind, ns);
    let mut out = Vec::new();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let req = kube::core::Request::new(&path)
            .list(&params)
            .map_err(|e| Error::Failed(e.to_string()))?;
        let page: ObjectList<T> = cluster
            .client
            .request(req)
            .await
            .map_err(Error::cluster(what.clone()))?;
        out.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(out),
        }
    }
}

//! A lean in-memory index of images with O(1) lookups by object name and by display
//! name, per scope. It keeps only what resolution and policy read, so 100,000 images fit
//! in a few tens of megabytes.
//!
//! Updates follow kubert's index contract: [`Index::apply`] for an add or update,
//! [`Index::delete`] for a delete, [`Index::reset`] when a watch re-lists one kind.

use crate::api::{Image, ImageKind};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt,
    sync::{Arc, Mutex, OnceLock},
};

/// Where an image lives: in a namespace (`VirtualMachineImage`) or cluster-wide
/// (`ClusterVirtualMachineImage`). The kind follows from the scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// A `VirtualMachineImage` in this namespace.
    Namespace(Arc<str>),
    /// A `ClusterVirtualMachineImage`.
    Cluster,
}

impl Scope {
    /// The kind of image that lives in this scope.
    pub fn kind(&self) -> ImageKind {
        match self {
            Scope::Namespace(_) => ImageKind::VirtualMachineImage,
            Scope::Cluster => ImageKind::ClusterVirtualMachineImage,
        }
    }

    /// The namespace, for namespaced images.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Scope::Namespace(ns) => Some(ns),
            Scope::Cluster => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Namespace(ns) => write!(f, "namespace {ns}"),
            Scope::Cluster => f.write_str("cluster"),
        }
    }
}

/// What the index keeps of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    /// Object name: the VMI ID (older images may have other names).
    pub name: Arc<str>,
    /// Namespace or cluster.
    pub scope: Scope,
    /// `status.name`; `None` when the image has not been synced yet.
    pub display_name: Option<Arc<str>>,
    /// Whether condition `Ready` is True.
    pub ready: bool,
    /// `status.type`: `OVF`, `ISO` or `VM` (interned: few distinct values).
    pub image_type: Option<Arc<str>>,
    /// The image's labels (OS, capability and type labels among them).
    pub labels: Labels,
    /// `status.productInfo.version`, else `fullVersion`.
    pub product_version: Option<Box<str>>,
    /// `status.osInfo.version`.
    pub os_version: Option<Box<str>>,
    /// `status.osInfo.id` (interned: few distinct values).
    pub os_id: Option<Arc<str>>,
    /// `spec.providerRef.name`: the Content Library item.
    pub provider: Option<Box<str>>,
    /// `metadata.creationTimestamp`, RFC 3339.
    pub created: Option<Box<str>>,
}

/// Why an object cannot be indexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The object has no `metadata.name`.
    #[error("image has no metadata.name")]
    MissingName,
    /// A `VirtualMachineImage` without `metadata.namespace`.
    #[error("VirtualMachineImage {0:?} has no metadata.namespace")]
    MissingNamespace(String),
}

// === impl ImageEntry ===

impl ImageEntry {
    /// An entry that knows only its names, everything else unset: enough to resolve by,
    /// not to print (a Table of names, a test fixture).
    pub fn names_only(name: &str, scope: Scope, display_name: Option<&str>) -> Self {
        Self {
            name: name.into(),
            scope,
            display_name: display_name.map(Arc::from),
            ready: false,
            image_type: None,
            labels: Labels::default(),
            product_version: None,
            os_version: None,
            os_id: None,
            provider: None,
            created: None,
        }
    }

    /// Extracts the indexed fields of an image object.
    pub fn from_image(image: &Image) -> Result<Self, EntryError> {
        let name = image
            .metadata
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or(EntryError::MissingName)?;
        let scope = match image.image_kind() {
            ImageKind::ClusterVirtualMachineImage => Scope::Cluster,
            ImageKind::VirtualMachineImage => Scope::Namespace(
                image
                    .metadata
                    .namespace
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| EntryError::MissingNamespace(name.to_string()))?
                    .into(),
            ),
        };
        let status = &image.status;
        let boxed = |s: &Option<String>| s.as_deref().map(Box::from);
        let product = status.product_info.as_ref();
        Ok(Self {
            name: name.into(),
            scope,
            display_name: status.name.as_deref().map(Arc::from),
            ready: image.is_ready(),
            image_type: status.type_.as_deref().map(intern),
            labels: image.metadata.labels.iter().flatten().collect(),
            product_version: product.and_then(|p| boxed(&p.version).or_else(|| boxed(&p.full_version))),
            os_version: status.os_info.as_ref().and_then(|o| boxed(&o.version)),
            os_id: status.os_info.as_ref().and_then(|o| o.id.as_deref()).map(intern),
            provider: image
                .spec
                .provider_ref
                .as_ref()
                .map(|p| Box::from(p.name.as_str())),
            created: image
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| Box::from(t.0.to_string().as_str())),
        })
    }

    /// The image's kind.
    pub fn kind(&self) -> ImageKind {
        self.scope.kind()
    }

    /// The version to show and sort by: product version, else OS version.
    pub fn version(&self) -> Option<&str> {
        self.product_version.as_deref().or(self.os_version.as_deref())
    }

    /// Whether this image is an ISO (not bootable as a disk).
    pub fn is_iso(&self) -> bool {
        self.image_type.as_deref() == Some("ISO")
    }
}

impl fmt::Display for ImageEntry {
    /// One-line description used in candidate lists:
    /// `vmi-… (ClusterVirtualMachineImage, Ready, OVF, version 24.04)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (", self.name)?;
        match &self.scope {
            Scope::Namespace(ns) => write!(f, "VirtualMachineImage in namespace {ns}")?,
            Scope::Cluster => f.write_str("ClusterVirtualMachineImage")?,
        }
        f.write_str(if self.ready { ", Ready" } else { ", not Ready" })?;
        if let Some(t) = &self.image_type {
            write!(f, ", {t}")?;
        }
        if let Some(v) = self.version() {
            write!(f, ", version {v}")?;
        }
        f.write_str(")")
    }
}

/// Label strings repeat across images (`os.image.vmoperator.vmware.com/id: ubuntu64Guest`
/// on thousands of them), so each distinct string is stored once. The vocabulary of label
/// keys and values is small and bounded in practice, so interned strings are kept for the
/// life of the process.
fn intern(s: &str) -> Arc<str> {
    static STRINGS: OnceLock<Mutex<HashSet<Arc<str>>>> = OnceLock::new();
    let mut strings = STRINGS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(existing) = strings.get(s) {
        return existing.clone();
    }
    let new: Arc<str> = Arc::from(s);
    strings.insert(new.clone());
    new
}

/// An image's labels: sorted, with interned strings (a few bytes per label).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(Arc<[(Arc<str>, Arc<str>)]>);

impl Labels {
    /// The value of label `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// Every label, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// The labels as a map, for selector matching.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The labels with `key` set to `value`.
    pub fn with(&self, key: &str, value: &str) -> Self {
        let mut map = self.to_map();
        map.insert(key.to_string(), value.to_string());
        map.iter().collect()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut v: Vec<(Arc<str>, Arc<str>)> = iter
            .into_iter()
            .map(|(k, v)| (intern(k.as_ref()), intern(v.as_ref())))
            .collect();
        v.sort();
        v.dedup_by(|a, b| a.0 == b.0);
        Self(intern_set(v))
    }
}

/// Whole label sets repeat too (every Ubuntu OVF image has the same two labels), so
/// each distinct set is stored once, like its strings.
fn intern_set(labels: Vec<(Arc<str>, Arc<str>)>) -> Arc<[(Arc<str>, Arc<str>)]> {
    type Set = HashSet<Arc<[(Arc<str>, Arc<str>)]>>;
    static SETS: OnceLock<Mutex<Set>> = OnceLock::new();
    let mut sets = SETS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(existing) = sets.get(labels.as_slice()) {
        return existing.clone();
    }
    let new: Arc<[(Arc<str>, Arc<str>)]> = labels.into();
    sets.insert(new.clone());
    new
}

/// The images of one scope. Display names map to the (usually one) object names that
/// carry them, kept sorted so equal indexes compare equal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Bucket {
    by_name: HashMap<Arc<str>, Arc<ImageEntry>>,
    by_display: HashMap<Arc<str>, Vec<Arc<str>>>,
}

impl Bucket {
    fn insert(&mut self, entry: Arc<ImageEntry>) {
        if let Some(old) = self.by_name.insert(entry.name.clone(), entry.clone()) {
            self.unlink_display(&old);
        }
        if let Some(display) = &entry.display_name {
            let names = self.by_display.entry(display.clone()).or_default();
            if let Err(at) = names.binary_search(&entry.name) {
                names.insert(at, entry.name.clone());
            }
        }
    }

    fn remove(&mut self, name: &str) -> Option<Arc<ImageEntry>> {
        let old = self.by_name.remove(name)?;
        self.unlink_display(&old);
        Some(old)
    }

    fn unlink_display(&mut self, old: &ImageEntry) {
        let Some(display) = &old.display_name else { return };
        if let Some(names) = self.by_display.get_mut(display) {
            if let Ok(at) = names.binary_search(&old.name) {
                names.remove(at);
            }
            if names.is_empty() {
                self.by_display.remove(display);
            }
        }
    }

    fn with_display<'a>(&'a self, display: &'a str) -> impl Iterator<Item = &'a Arc<ImageEntry>> + 'a {
        self.by_display
            .get(display)
            .into_iter()
            .flatten()
            .filter_map(|n| self.by_name.get(n))
    }

    fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The image index. Two indexes holding the same images compare equal, however they
/// were built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    // Buckets are shared (copied on write), so a namespace's view of a large index
    // ([`Index::visible_index`]) costs nothing.
    namespaced: HashMap<Arc<str>, Arc<Bucket>>,
    cluster: Arc<Bucket>,
}

// === impl Index ===

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an index from entries; a later entry with the same scope and name wins.
    pub fn from_entries(entries: impl IntoIterator<Item = ImageEntry>) -> Self {
        let mut index = Self::new();
        for entry in entries {
            index.apply(entry);
        }
        index
    }

    /// Adds or replaces an image.
    pub fn apply(&mut self, mut entry: ImageEntry) {
        // Share one namespace string among all the images of a namespace.
        if let Scope::Namespace(ns) = &entry.scope
            && let Some((key, _)) = self.namespaced.get_key_value(&**ns)
        {
            entry.scope = Scope::Namespace(key.clone());
        }
        let entry = Arc::new(entry);
        match &entry.scope {
            Scope::Cluster => Arc::make_mut(&mut self.cluster).insert(entry),
            Scope::Namespace(ns) => {
                Arc::make_mut(self.namespaced.entry(ns.clone()).or_default()).insert(entry)
            }
        }
    }

    /// Removes an image; returns it if it was present.
    pub fn delete(&mut self, namespace: Option<&str>, name: &str) -> Option<Arc<ImageEntry>> {
        match namespace {
            None => Arc::make_mut(&mut self.cluster).remove(name),
            Some(ns) => {
                let bucket = Arc::make_mut(self.namespaced.get_mut(ns)?);
                let old = bucket.remove(name);
                if bucket.is_empty() {
                    self.namespaced.remove(ns);
                }
                old
            }
        }
    }

    /// Replaces every image of `kind` with `entries` (a watch re-listed that kind).
    /// Entries of the other kind are ignored.
    pub fn reset(&mut self, kind: ImageKind, entries: impl IntoIterator<Item = ImageEntry>) {
        match kind {
            ImageKind::ClusterVirtualMachineImage => self.cluster = Arc::default(),
            ImageKind::VirtualMachineImage => self.namespaced.clear(),
        }
        for entry in entries.into_iter().filter(|e| e.kind() == kind) {
            self.apply(entry);
        }
    }

    /// The image with object name `name` in `namespace` (`None`: cluster scope).
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<&Arc<ImageEntry>> {
        match namespace {
            None => self.cluster.by_name.get(name),
            Some(ns) => self.namespaced.get(ns)?.by_name.get(name),
        }
    }

    /// Images in `namespace` (`None`: cluster scope) whose display name is exactly `display`.
    pub fn with_display_name<'a>(
        &'a self,
        namespace: Option<&str>,
        display: &'a str,
    ) -> impl Iterator<Item = &'a Arc<ImageEntry>> + 'a {
        let bucket = match namespace {
            None => Some(&self.cluster),
            Some(ns) => self.namespaced.get(ns),
        };
        bucket.into_iter().flat_map(move |b| b.with_display(display))
    }

    /// Images visible from `namespace`: its own, then the cluster's.
    pub fn visible_from<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a Arc<ImageEntry>> + 'a {
        self.namespaced
            .get(namespace)
            .into_iter()
            .flat_map(|b| b.by_name.values())
            .chain(self.cluster.by_name.values())
    }

    /// The images a VM in `namespace` can see (its namespace's and the cluster's), as an
    /// index of their own that shares the entries with this one.
    pub fn visible_index(&self, namespace: &str) -> Index {
        Index {
            namespaced: self
                .namespaced
                .get_key_value(namespace)
                .map(|(ns, bucket)| (ns.clone(), bucket.clone()))
                .into_iter()
                .collect(),
            cluster: self.cluster.clone(),
        }
    }

    /// Every image, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ImageEntry>> {
        self.namespaced
            .values()
            .flat_map(|b| b.by_name.values())
            .chain(self.cluster.by_name.values())
    }

    /// Number of images of both kinds.
    pub fn len(&self) -> usize {
        self.namespaced.values().map(|b| b.by_name.len()).sum::<usize>() + self.cluster.by_name.len()
    }

    /// Number of images of one kind.
    pub fn len_of(&self, kind: ImageKind) -> usize {
        match kind {
            ImageKind::ClusterVirtualMachineImage => self.cluster.by_name.len(),
            ImageKind::VirtualMachineImage => self.namespaced.values().map(|b| b.by_name.len()).sum(),
        }
    }

    /// Whether the index holds no image.
    pub fn is_empty(&self) -> bool {
        self.namespaced.is_empty() && self.cluster.is_empty()
    }
}

#[cfg(test)]
mod tests;

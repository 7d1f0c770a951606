//! Images as the plugin keeps them: the index, the few fields tables show beyond it, and
//! where each object's JSON text lies (the catalog file, or the page of a live list it
//! came in). A full object is read again from that text only when a command prints it,
//! one at a time, so 100,000 images cost the text they arrived in plus a few words each,
//! never a tree of every object.

use serde::{Serialize, ser::SerializeSeq};
use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
    ops::Range,
    sync::{Arc, Mutex},
};
use vmimage_shared::{
    Index,
    api::{Image, ImageKind},
    index::{ImageEntry, Scope as IndexScope},
};

/// A fast hash: every key is a name the API server (or a catalog reader) accepted.
type Fast = foldhash::fast::RandomState;

/// Record positions by scope and name; a later object of the same scope and name
/// replaces an earlier one, as in the index.
type Positions = HashMap<(IndexScope, Arc<str>), u32, Fast>;

/// A set of images with their index; narrowing it to what one namespace sees copies
/// nothing.
pub struct Images {
    /// The index the resolver reads.
    pub index: Arc<Index>,
    store: Arc<Store>,
    /// Only objects visible from this namespace (`None`: all of them).
    visible_from: Option<Arc<str>>,
}

/// Every object read, in the order read.
struct Store {
    /// The texts objects are read again from: a catalog file, or the pages of a list.
    texts: Vec<Text>,
    records: Vec<Record>,
    /// Distinct table details; records point here.
    details: Vec<Details>,
    /// Position in `records` by scope and name: one lookup per printed row, so printing n
    /// images costs n, not n².
    positions: Positions,
    /// Warnings about objects read only in part or not indexed, in order.
    warnings: Vec<Warning>,
}

/// What is kept of one object: a few words.
struct Record {
    body: Body,
    kind: ImageKind,
    /// Index into `Store::details`.
    details: u32,
    /// `metadata.namespace` and `metadata.name`, for ordering and scope.
    namespace: Option<Arc<str>>,
    name: Option<Arc<str>>,
}

impl Record {
    /// What orders records: kind, namespace (cluster images have none) and name.
    fn key(&self) -> (ImageKind, Option<&str>, Option<&str>) {
        let namespace = match self.kind {
            ImageKind::VirtualMachineImage => self.namespace.as_deref(),
            ImageKind::ClusterVirtualMachineImage => None,
        };
        (self.kind, namespace, self.name.as_deref())
    }
}

/// Where objects are read again from.
enum Text {
    /// Text in memory: the pages of a live list, or a catalog read from stdin.
    Memory(String),
    /// A catalog file, read from again (a read at a time, hence the lock).
    File(Mutex<std::fs::File>),
}

impl Text {
    /// The `len` bytes at `start`, if they are still there and still text.
    fn get(&self, start: usize, len: usize) -> Option<Cow<'_, str>> {
        match self {
            Self::Memory(text) => text.get(start..start + len).map(Cow::Borrowed),
            Self::File(file) => {
                use std::io::{Read as _, Seek as _};
                let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
                file.seek(std::io::SeekFrom::Start(start as u64)).ok()?;
                let mut bytes = vec![0; len];
                file.read_exact(&mut bytes).ok()?;
                String::from_utf8(bytes).ok().map(Cow::Owned)
            }
        }
    }
}

enum Body {
    /// `len` bytes at `start` of `texts[text]`.
    Json { start: usize, len: u32, text: u32 },
    /// Read from YAML (no text to point at): kept whole.
    Object(Box<Image>),
}

/// What tables show of an image beyond its index entry. Few distinct ones exist (they
/// repeat across thousands of images), and each is kept once.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct Details {
    /// `status.osInfo.type`.
    pub os_type: Option<Arc<str>>,
    /// `status.capabilities`.
    pub capabilities: Box<[Arc<str>]>,
    /// `status.firmware`.
    pub firmware: Option<Arc<str>>,
    /// `status.hardwareVersion`.
    pub hardware_version: Option<i64>,
    /// Whether `status.productInfo.version` is set, so the index's product version is it
    /// (and not `fullVersion`, which the IMAGE VERSION column does not show).
    pub has_product_version: bool,
}

impl Details {
    /// The details of `image`, its strings taken from `intern`.
    fn of(image: &Image, mut intern: impl FnMut(&str) -> Arc<str>) -> Self {
        let st = &image.status;
        Self {
            os_type: st
                .os_info
                .as_ref()
                .and_then(|o| o.type_.as_deref())
                .map(&mut intern),
            capabilities: st.capabilities.iter().map(|c| intern(c)).collect(),
            firmware: st.firmware.as_deref().map(&mut intern),
            hardware_version: st.hardware_version,
            has_product_version: st.product_info.as_ref().is_some_and(|p| p.version.is_some()),
        }
    }

    /// The details of one object on its own (a watched change).
    pub fn of_image(image: &Image) -> Self {
        Self::of(image, |s| Arc::from(s))
    }
}

struct Warning {
    kind: ImageKind,
    namespace: Option<Arc<str>>,
    text: String,
}

/// Collects images as they are read.
#[derive(Default)]
pub struct Loader {
    texts: Vec<Text>,
    records: Vec<Record>,
    details: Vec<Details>,
    known_details: HashMap<Details, u32, Fast>,
    index: Index,
    positions: Positions,
    warnings: Vec<Warning>,
    /// Namespaces, OS types and capabilities repeat across thousands of images.
    strings: HashSet<Arc<str>, Fast>,
}

impl Loader {
    /// Keeps `text`, which the objects added since the last call lie in (a catalog file,
    /// or one page of a list), to read them again from.
    pub fn add_text(&mut self, text: String) {
        self.texts.push(Text::Memory(text));
    }

    /// Keeps `file`, which the objects added since the last text lie in, to read them
    /// again from (only a window of it was in memory at a time).
    pub fn add_file(&mut self, file: std::fs::File) {
        self.texts.push(Text::File(Mutex::new(file)));
    }

    fn intern(strings: &mut HashSet<Arc<str>, Fast>, s: &str) -> Arc<str> {
        if let Some(s) = strings.get(s) {
            return s.clone();
        }
        let s: Arc<str> = s.into();
        strings.insert(s.clone());
        s
    }

    /// Adds one object: notes what it shows beyond the index, then lets the object go when
    /// `json` says where its text lies in the text given next to [`Loader::add_text`].
    pub fn add(&mut self, image: Image, json: Option<Range<usize>>) {
        let kind = image.image_kind();
        let namespace = image
            .metadata
            .namespace
            .as_deref()
            .map(|ns| Self::intern(&mut self.strings, ns));
        let warn = |text: String| Warning {
            kind,
            namespace: namespace.clone(),
            text,
        };
        if let Some(w) = image.unread_warning() {
            self.warnings.push(warn(w));
        }
        let position = u32::try_from(self.records.len()).unwrap_or(u32::MAX);
        let name = match ImageEntry::from_image(&image) {
            Ok(entry) => {
                let name = entry.name.clone();
                self.positions
                    .insert((entry.scope.clone(), name.clone()), position);
                self.index.apply(entry);
                Some(name)
            }
            Err(e) => {
                self.warnings
                    .push(warn(format!("skipping {}: {e}", image.describe_ref())));
                image.metadata.name.as_deref().map(Arc::from)
            }
        };
        let details = Details::of(&image, |s| Self::intern(&mut self.strings, s));
        let details = match self.known_details.get(&details) {
            Some(&at) => at,
            None => {
                let at = u32::try_from(self.details.len()).unwrap_or(u32::MAX);
                self.details.push(details.clone());
                self.known_details.insert(details, at);
                at
            }
        };
        let text = self.texts.len();
        let at = |span: Range<usize>| {
            Some(Body::Json {
                start: span.start,
                len: u32::try_from(span.len()).ok()?,
                text: u32::try_from(text).ok()?,
            })
        };
        let body = json.and_then(at).unwrap_or_else(|| Body::Object(Box::new(image)));
        self.records.push(Record {
            body,
            kind,
            details,
            namespace,
            name,
        });
    }

    /// Every image added, indexed.
    pub fn finish(self) -> Images {
        Images {
            index: Arc::new(self.index),
            store: Arc::new(Store {
                texts: self.texts,
                records: self.records,
                details: self.details,
                positions: self.positions,
                warnings: self.warnings,
            }),
            visible_from: None,
        }
    }
}

impl Images {
    /// The images a VM in `namespace` can use: its namespace's and the cluster's.
    pub fn visible_from(&self, namespace: &str) -> Self {
        Self {
            index: Arc::new(self.index.visible_index(namespace)),
            store: self.store.clone(),
            visible_from: Some(namespace.into()),
        }
    }

    /// Another view of the same images.
    pub fn share(&self) -> Self {
        Self {
            index: self.index.clone(),
            store: self.store.clone(),
            visible_from: self.visible_from.clone(),
        }
    }

    fn visible(&self, kind: ImageKind, namespace: Option<&str>) -> bool {
        match (&self.visible_from, kind) {
            (None, _) | (_, ImageKind::ClusterVirtualMachineImage) => true,
            (Some(ns), ImageKind::VirtualMachineImage) => namespace == Some(&**ns),
        }
    }

    /// Warns on stderr about each visible object read only in part or not indexed: one
    /// odd object never costs the others.
    pub fn warn(&self) {
        for w in &self.store.warnings {
            if self.visible(w.kind, w.namespace.as_deref()) {
                eprintln!("warning: {}", w.text);
            }
        }
    }

    fn position(&self, entry: &ImageEntry) -> Option<usize> {
        let key = (entry.scope.clone(), entry.name.clone());
        self.store.positions.get(&key).map(|&p| p as usize)
    }

    /// The full object behind an index entry, read again.
    pub fn object(&self, entry: &ImageEntry) -> Option<Image> {
        self.read(self.position(entry)?)
    }

    /// What tables show of the image beyond its index entry.
    pub fn details(&self, entry: &ImageEntry) -> Option<&Details> {
        let record = self.store.records.get(self.position(entry)?)?;
        self.store.details.get(record.details as usize)
    }

    fn read(&self, position: usize) -> Option<Image> {
        let record = self.store.records.get(position)?;
        let mut image = match &record.body {
            Body::Object(image) => return Some((**image).clone()),
            Body::Json { start, len, text } => {
                let text = self.store.texts.get(*text as usize)?;
                let image = reread(&text.get(*start, *len as usize)?)?;
                // A file changed since it was read holds something else there now.
                let same = image.metadata.name.as_deref() == record.name.as_deref()
                    && (record.kind == ImageKind::ClusterVirtualMachineImage
                        || image.metadata.namespace.as_deref() == record.namespace.as_deref());
                same.then_some(image)?
            }
        };
        // As listed: a live list's items take the kind of the list.
        image.kind = Some(record.kind.as_str().to_string());
        Some(image)
    }

    /// Every visible object (indexed or not), ordered by kind, namespace and name, each
    /// edited by `edit` as it is written.
    pub fn all_objects(&self, edit: fn(&mut Image)) -> Objects<'_> {
        let records = &self.store.records;
        let mut positions: Vec<usize> = (0..records.len())
            .filter(|&i| self.visible(records[i].kind, records[i].namespace.as_deref()))
            .collect();
        positions.sort_by(|&a, &b| records[a].key().cmp(&records[b].key()));
        Objects {
            images: self,
            positions,
            edit,
        }
    }

    /// The resource version of every visible object, by (kind, namespace, name): what a
    /// watch's first listing compares against.
    pub fn resource_versions(&self) -> HashMap<(String, Option<String>, String), Option<String>> {
        let records = &self.store.records;
        (0..records.len())
            .filter(|&i| self.visible(records[i].kind, records[i].namespace.as_deref()))
            .filter_map(|i| {
                let m = self.read(i)?.metadata;
                Some((
                    (records[i].kind.as_str().to_string(), m.namespace, m.name?),
                    m.resource_version,
                ))
            })
            .collect()
    }
}

/// Reads an object again exactly as it was first read: the fast way or leniently, else
/// through a JSON tree (which takes a key given twice, as the catalog reader does).
fn reread(json: &str) -> Option<Image> {
    Image::from_json(json).ok().or_else(|| {
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        serde_json::from_value(value).ok()
    })
}

/// Objects to write as a JSON/YAML sequence, each read only when its turn comes.
pub struct Objects<'a> {
    images: &'a Images,
    positions: Vec<usize>,
    edit: fn(&mut Image),
}

impl Serialize for Objects<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.positions.len()))?;
        for &p in &self.positions {
            let mut image = self
                .images
                .read(p)
                .ok_or_else(|| serde::ser::Error::custom(UNREADABLE))?;
            (self.edit)(&mut image);
            seq.serialize_element(&image)?;
        }
        seq.end()
    }
}

/// An object that read once does not read again: its text is kept, or is in the catalog
/// file, which only a change to the file since it was read alters.
pub const UNREADABLE: &str = "an image read a moment ago no longer reads from where it was: was the catalog file changed meanwhile? Run the command again";

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use vmimage_shared::catalog::Catalog;

    fn image(kind: &str, ns: Option<&str>, name: &str, display: &str) -> serde_json::Value {
        let mut metadata = serde_json::json!({"name": name, "labels": {"tier": "gold"}});
        if let Some(ns) = ns {
            metadata["namespace"] = ns.into();
        }
        serde_json::json!({
            "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": kind, "metadata": metadata,
            "status": {"name": display, "firmware": "efi", "hardwareVersion": 21,
                       "osInfo": {"type": "linux"}, "productInfo": {"version": "24.04"}}
        })
    }

    fn catalog() -> String {
        let items = vec![
            image("VirtualMachineImage", Some("b"), "vmi-2", "ubuntu"),
            image("ClusterVirtualMachineImage", None, "vmi-1", "ubuntu"),
            image("VirtualMachineImage", Some("a"), "vmi-2", "photon"),
            // The same object again, changed: the later one wins, as in the index.
            image("VirtualMachineImage", Some("a"), "vmi-2", "photon-5"),
        ];
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
    }

    fn from_memory(text: &str) -> Images {
        let mut loader = Loader::default();
        Catalog::read("t", text, |r| loader.add(r.image, r.json)).unwrap();
        loader.add_text(text.to_string());
        loader.finish()
    }

    fn from_file(file: std::fs::File) -> Images {
        let mut loader = Loader::default();
        Catalog::read_list("t", &file, |r| loader.add(r.image, r.json))
            .unwrap()
            .expect("a List streams");
        loader.add_file(file);
        loader.finish()
    }

    fn names(images: &Images) -> Vec<(Option<String>, String)> {
        let objects = serde_json::to_value(images.all_objects(|_| {})).unwrap();
        objects
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let m = &o["metadata"];
                (
                    m["namespace"].as_str().map(String::from),
                    m["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn objects_read_again_from_memory_or_the_file_are_the_ones_read() {
        let text = catalog();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        for images in [from_memory(&text), from_file(file)] {
            let a = images.index.get(Some("a"), "vmi-2").unwrap().clone();
            let object = images.object(&a).unwrap();
            assert_eq!(object.status.name.as_deref(), Some("photon-5"));
            assert_eq!(object.kind.as_deref(), Some("VirtualMachineImage"));
            let details = images.details(&a).unwrap();
            assert_eq!(details.os_type.as_deref(), Some("linux"));
            assert_eq!(details.firmware.as_deref(), Some("efi"));
            assert_eq!(details.hardware_version, Some(21));
            assert!(details.has_product_version);
            // Every object, the replaced one too, ordered by kind, namespace and name.
            let all = vec![
                (Some("a".into()), "vmi-2".into()),
                (Some("a".into()), "vmi-2".into()),
                (Some("b".into()), "vmi-2".into()),
                (None, "vmi-1".into()),
            ];
            assert_eq!(names(&images), all);
            let seen = images.visible_from("b");
            assert_eq!(seen.index.len(), 2);
            assert_eq!(
                names(&seen),
                vec![(Some("b".into()), "vmi-2".into()), (None, "vmi-1".into())]
            );
        }
    }

    #[test]
    fn a_catalog_file_changed_after_reading_is_said_not_misread() {
        let text = catalog();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        let images = from_file(file.reopen().unwrap());
        let entry = images.index.get(None, "vmi-1").unwrap().clone();
        assert!(images.object(&entry).is_some());
        // Another catalog in its place: the bytes where vmi-1 was hold something else.
        let other = text.replace("vmi-1", "vmi-9");
        std::fs::write(file.path(), other).unwrap();
        assert!(images.object(&entry).is_none());
        let err = serde_json::to_string(&images.all_objects(|_| {})).unwrap_err();
        assert!(err.to_string().contains("catalog file changed"), "{err}");
    }
}

//! Reading images from text: multi-document YAML or JSON, single objects or Kubernetes
//! Lists, exactly what `kubectl get vmi,cvmi -A -o yaml` prints. The plugin's
//! `--catalog` flag and the local catalog loader both read through here.

use crate::{
    api::{Image, strict},
    index::ImageEntry,
    library::LibraryObjects,
};
use serde::{
    Deserialize,
    de::{IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::value::RawValue;
use std::ops::Range;

mod stream;

const IMAGE_KINDS: [&str; 2] = ["VirtualMachineImage", "ClusterVirtualMachineImage"];

/// Why a catalog could not be read. Every variant names the source and document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A document is not valid YAML/JSON.
    #[error("{source_name}: document {document}: not valid YAML or JSON: {message}")]
    Syntax {
        /// File name or `-`.
        source_name: String,
        /// 1-based document number.
        document: usize,
        /// Parser message, with line and column.
        message: String,
    },
    /// An image (or content library item or library) object has fields of the wrong
    /// type or lacks its name/namespace.
    #[error("{source_name}: document {document}{}: {message}", item.map(|i| format!(", item {i}")).unwrap_or_default())]
    BadImage {
        /// File name or `-`.
        source_name: String,
        /// 1-based document number.
        document: usize,
        /// 0-based index in a List, if the object was inside one.
        item: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The text holds no image and no List (a List with no items is an empty cluster).
    #[error(
        "{0}: no VirtualMachineImage or ClusterVirtualMachineImage found; \
         a catalog is what `kubectl get vmi,cvmi -A -o yaml` prints"
    )]
    Empty(String),
}

fn is_list(value: &serde_json::Value) -> bool {
    value.get("items").is_some()
        && value
            .get("kind")
            .and_then(|k| k.as_str())
            .is_some_and(|k| k.ends_with("List"))
}

/// Images read from a catalog, with the indexable entries already extracted.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The full objects, for `get`/`describe`.
    pub images: Vec<Image>,
    /// Objects of other kinds that were passed over: (document, kind).
    pub skipped: Vec<(usize, String)>,
    /// Content library items and libraries (for `<library>/<display name>` references).
    pub libraries: LibraryObjects,
}

/// What a read found besides the images.
#[derive(Debug, Clone, Default)]
pub struct Others {
    /// Objects of other kinds that were passed over: (document, kind).
    pub skipped: Vec<(usize, String)>,
    /// Content library items and libraries.
    pub libraries: LibraryObjects,
}

/// One image as [`Catalog::read`] hands it over.
#[derive(Debug)]
pub struct Read {
    /// The object, read like any [`Image`].
    pub image: Image,
    /// Where the object's JSON text lies in the input (JSON catalogs only): a reader that
    /// keeps the input can read the object again from there instead of keeping it.
    pub json: Option<Range<usize>>,
}

/// Where one object came from, for errors.
#[derive(Clone, Copy)]
struct At<'a> {
    source_name: &'a str,
    document: usize,
    item: Option<usize>,
}

impl At<'_> {
    fn bad(self, message: String) -> Error {
        Error::BadImage {
            source_name: self.source_name.to_string(),
            document: self.document,
            item: self.item,
            message,
        }
    }
}

/// What one read found besides the images.
#[derive(Default)]
struct Tally {
    images: usize,
    lists: usize,
    others: Others,
}

impl Catalog {
    /// Parses `text`, read from `source_name` (used in errors).
    pub fn parse(source_name: &str, text: &str) -> Result<Self, Error> {
        let mut images = Vec::new();
        let others = Self::read(source_name, text, |read| images.push(read.image))?;
        Ok(Catalog {
            images,
            skipped: others.skipped,
            libraries: others.libraries,
        })
    }

    /// Reads `text` (from `source_name`) one image at a time, handing each to `each` in
    /// order, and returns the objects of other kinds that were passed over, as
    /// [`Catalog::parse`] does: same images, same errors. Nothing of the input is kept, so
    /// a caller keeping only what it needs reads 100,000 images in a fraction of the
    /// memory. On an error, images already handed over are to be discarded.
    pub fn read(source_name: &str, text: &str, mut each: impl FnMut(Read)) -> Result<Others, Error> {
        let mut tally = Tally::default();
        if text.trim_start().starts_with('{') {
            // JSON, as `kubectl get -o json` prints it: read without the YAML parser, and
            // object by object, without a JSON tree of the whole input.
            match read_json(source_name, text, &mut tally, &mut each) {
                // Invalid JSON: the tree reader's message, exactly as it has always been.
                Err(fast @ Error::Syntax { .. }) => {
                    return Err(read_values(source_name, text, &mut Tally::default(), &mut |_| {})
                        .err()
                        .unwrap_or(fast));
                }
                result => result?,
            }
        } else {
            read_values(source_name, text, &mut tally, &mut each)?;
        }
        // `kubectl get vmi,cvmi -A -o json` on a cluster without images prints an empty
        // List: a real, empty catalog. Nothing at all is more likely the wrong file.
        if tally.images == 0 && tally.lists == 0 {
            return Err(Error::Empty(source_name.to_string()));
        }
        Ok(tally.others)
    }

    /// The index entries of every image.
    pub fn entries(&self) -> impl Iterator<Item = ImageEntry> + '_ {
        // `parse` validated every image, so extraction cannot fail here.
        self.images.iter().filter_map(|i| ImageEntry::from_image(i).ok())
    }
}

/// Reads YAML or JSON documents, each into a JSON tree first.
fn read_values(
    source_name: &str,
    text: &str,
    tally: &mut Tally,
    each: &mut dyn FnMut(Read),
) -> Result<(), Error> {
    let syntax = |document: usize, message: String| Error::Syntax {
        source_name: source_name.to_string(),
        document,
        message,
    };
    let mut add = |document: usize, value: serde_json::Value| {
        tally.lists += usize::from(is_list(&value));
        add_document(source_name, document, value, tally, each)
    };
    if text.trim_start().starts_with('{') {
        let stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
        for (i, value) in stream.enumerate() {
            add(i + 1, value.map_err(|e| syntax(i + 1, e.to_string()))?)?;
        }
    } else {
        for (i, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
            let value = serde_json::Value::deserialize(doc).map_err(|e| syntax(i + 1, e.to_string()))?;
            add(i + 1, value)?;
        }
    }
    Ok(())
}

fn add_document(
    source_name: &str,
    document: usize,
    value: serde_json::Value,
    tally: &mut Tally,
    each: &mut dyn FnMut(Read),
) -> Result<(), Error> {
    if value.is_null() {
        return Ok(()); // an empty document between `---` lines
    }
    let kind = value
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or_default()
        .to_string();
    let at = |item| At {
        source_name,
        document,
        item,
    };
    if let Some(items) = value.get("items").filter(|_| kind.ends_with("List")) {
        let items = items
            .as_array()
            .ok_or_else(|| at(None).bad("items is not a list".to_string()))?;
        for (n, item) in items.iter().enumerate() {
            if let Some(image) = add_object(at(Some(n)), item.clone(), tally)? {
                each(Read { image, json: None });
            }
        }
        return Ok(());
    }
    if let Some(image) = add_object(at(None), value, tally)? {
        each(Read { image, json: None });
    }
    Ok(())
}

/// The image in `value`, or `None` for an object of another kind (noted in `tally`).
fn add_object(at: At<'_>, value: serde_json::Value, tally: &mut Tally) -> Result<Option<Image>, Error> {
    let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
    if !IMAGE_KINDS.contains(&kind) {
        if !tally
            .others
            .libraries
            .add(&value)
            .map_err(|e| at.bad(e.to_string()))?
        {
            tally.others.skipped.push((at.document, kind.to_string()));
        }
        return Ok(None);
    }
    let image: Image = serde_json::from_value(value).map_err(|e| at.bad(e.to_string()))?;
    accept(at, image, tally).map(Some)
}

fn accept(at: At<'_>, image: Image, tally: &mut Tally) -> Result<Image, Error> {
    ImageEntry::from_image(&image).map_err(|e| at.bad(e.to_string()))?;
    tally.images += 1;
    Ok(image)
}

/// Reads JSON documents without a tree of each: one pass over a document notes its
/// `kind` and the extent of each of its `items`, and each object is then read straight
/// into an [`Image`] (see [`Image::from_json`]). An object that does not read so is read
/// through a JSON tree of its own, exactly as [`read_values`] would.
fn read_json(
    source_name: &str,
    text: &str,
    tally: &mut Tally,
    each: &mut dyn FnMut(Read),
) -> Result<(), Error> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Head<'_>>();
    let mut end = 0;
    let mut document = 0;
    while let Some(head) = stream.next() {
        document += 1;
        let head = head.map_err(|e| Error::Syntax {
            source_name: source_name.to_string(),
            document,
            message: e.to_string(),
        })?;
        // The document's text: from the end of the one before, past the white space.
        let start = end + text[end..].len() - text[end..].trim_start_matches([' ', '\t', '\n', '\r']).len();
        end = stream.byte_offset();
        let at = |item| At {
            source_name,
            document,
            item,
        };
        match head {
            Head::Null => {}
            Head::List(items) => {
                tally.lists += 1;
                let items = items.ok_or_else(|| at(None).bad("items is not a list".to_string()))?;
                for (n, item) in items.into_iter().enumerate() {
                    read_object(at(Some(n)), item.get(), span(text, item.get()), tally, each)?;
                }
            }
            Head::Object => {
                let json = &text[start..end];
                read_object(at(None), json, span(text, json), tally, each)?
            }
        }
    }
    Ok(())
}

/// Reads one object of a document, `json`; `json_at` is where it lies in the input.
fn read_object(
    at: At<'_>,
    json: &str,
    json_at: Option<Range<usize>>,
    tally: &mut Tally,
    each: &mut dyn FnMut(Read),
) -> Result<(), Error> {
    let image = match strict::read(json) {
        Ok(image) if image.kind.as_deref().is_some_and(|k| IMAGE_KINDS.contains(&k)) => {
            accept(at, image, tally)?
        }
        // Another kind, a field that does not fit, or not an object at all: decided as
        // the tree reader decides, with its messages.
        _ => {
            // Scanned, so valid JSON: only nesting too deep for a tree fails here, and the
            // tree reader reports that for the whole document.
            let value: serde_json::Value = serde_json::from_str(json).map_err(|e| Error::Syntax {
                source_name: at.source_name.to_string(),
                document: at.document,
                message: e.to_string(),
            })?;
            match add_object(at, value, tally)? {
                Some(image) => image,
                None => return Ok(()),
            }
        }
    };
    each(Read { image, json: json_at });
    Ok(())
}

/// Where `part` (a slice of `text`) lies in `text`.
pub fn span(text: &str, part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let range = start..start + part.len();
    text.get(range.clone())
        .is_some_and(|t| std::ptr::eq(t, part))
        .then_some(range)
}

/// What a JSON document is, judged as a JSON tree would be: by its last `kind` and its
/// last `items` (present even when null).
enum Head<'a> {
    /// `null`: an empty document.
    Null,
    /// A List; its items, or `None` when `items` is not an array.
    List(Option<Vec<&'a RawValue>>),
    /// Anything else: one object (perhaps not an image, perhaps not an object).
    Object,
}

impl<'de> Deserialize<'de> for Head<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(HeadVisitor)
    }
}

struct HeadVisitor;

/// `items`: the extent of each element if it is an array.
struct Items<'a>(Option<Vec<&'a RawValue>>);

impl<'de> Deserialize<'de> for Items<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Items<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items<'de>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Items(Some(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Items<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Items(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Items<'de>, E> {
                Ok(Items(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Items<'de>, E> {
                Ok(Items(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Items<'de>, E> {
                Ok(Items(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Items<'de>, E> {
                Ok(Items(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Items<'de>, E> {
                Ok(Items(None))
            }
            fn visit_unit<E>(self) -> Result<Items<'de>, E> {
                Ok(Items(None))
            }
        }
        de.deserialize_any(V)
    }
}

impl<'de> Visitor<'de> for HeadVisitor {
    type Value = Head<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head<'de>, A::Error> {
        let mut kind = None;
        let mut items = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "kind" => kind = Some(map.next_value::<serde_json::Value>()?),
                "items" => items = Some(map.next_value::<Items<'de>>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let is_list = kind
            .as_ref()
            .and_then(|k| k.as_str())
            .is_some_and(|k| k.ends_with("List"));
        Ok(match (is_list, items) {
            (true, Some(Items(items))) => Head::List(items),
            _ => Head::Object,
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Head<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Head::Object)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Head<'de>, E> {
        Ok(Head::Object)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Head<'de>, E> {
        Ok(Head::Object)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Head<'de>, E> {
        Ok(Head::Object)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Head<'de>, E> {
        Ok(Head::Object)
    }
    fn visit_str<E>(self, _: &str) -> Result<Head<'de>, E> {
        Ok(Head::Object)
    }
    fn visit_unit<E>(self) -> Result<Head<'de>, E> {
        Ok(Head::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kubectl_lists_and_multi_document_yaml() {
        let text = r#"
apiVersion: v1
kind: List
items:
- apiVersion: vmoperator.vmware.com/v1alpha6
  kind: VirtualMachineImage
  metadata: {name: vmi-1, namespace: ns1}
  status: {name: ubuntu}
- apiVersion: vmoperator.vmware.com/v1alpha6
  kind: ClusterVirtualMachineImage
  metadata: {name: vmi-2}
  status: {name: ubuntu}
---
{"kind": "ClusterVirtualMachineImage", "metadata": {"name": "vmi-3"}, "status": {"name": "photon"}}
---
kind: ConfigMap
metadata: {name: x}
"#;
        let catalog = Catalog::parse("c.yaml", text).unwrap();
        assert_eq!(catalog.images.len(), 3);
        assert_eq!(catalog.skipped, vec![(3, "ConfigMap".to_string())]);
        assert_eq!(catalog.entries().count(), 3);
    }

    #[test]
    fn syntax_errors_name_file_and_document() {
        let err = Catalog::parse(
            "c.yaml",
            "kind: ClusterVirtualMachineImage\nmetadata: {name: a}\n---\n: : [\n",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("c.yaml: document 2: not valid YAML or JSON"),
            "{text}"
        );
    }

    #[test]
    fn bad_images_name_the_list_item() {
        let text = "kind: List\nitems:\n- kind: VirtualMachineImage\n  metadata: {name: vmi-1}\n";
        let err = Catalog::parse("c.yaml", text).unwrap_err().to_string();
        assert_eq!(
            err,
            "c.yaml: document 1, item 0: VirtualMachineImage \"vmi-1\" has no metadata.namespace"
        );
    }

    #[test]
    fn a_catalog_without_images_is_an_error_but_an_empty_list_is_an_empty_cluster() {
        assert!(matches!(Catalog::parse("-", ""), Err(Error::Empty(_))));
        assert!(matches!(Catalog::parse("-", "kind: Pod\n"), Err(Error::Empty(_))));
        let empty = Catalog::parse("-", r#"{"kind":"List","items":[]}"#).unwrap();
        assert!(empty.images.is_empty());
    }

    #[test]
    fn wrongly_typed_fields_are_reported_and_the_image_kept() {
        let text =
            "kind: ClusterVirtualMachineImage\nmetadata: {name: vmi-1}\nstatus: {name: [1], type: OVF}\n";
        let catalog = Catalog::parse("c", text).unwrap();
        assert_eq!(catalog.entries().count(), 1);
        assert_eq!(catalog.images[0].status.type_.as_deref(), Some("OVF"));
        let warning = catalog.images[0].unread_warning().unwrap();
        assert!(
            warning.starts_with("ClusterVirtualMachineImage vmi-1: ignoring fields vmimage cannot read: status.name: invalid type: sequence"),
            "{warning}"
        );
    }

    /// Images and passed-over objects, or the error's text.
    type Outcome = Result<(Vec<Image>, Vec<(usize, String)>), String>;

    /// What the tree reader alone makes of `text`: the reader JSON catalogs had before
    /// the scanning one, which must agree with it on everything.
    fn by_tree(text: &str) -> Outcome {
        let mut tally = Tally::default();
        let mut images = Vec::new();
        read_values("c", text, &mut tally, &mut |r| images.push(r.image)).map_err(|e| e.to_string())?;
        if tally.images == 0 && tally.lists == 0 {
            return Err(Error::Empty("c".into()).to_string());
        }
        Ok((images, tally.others.skipped))
    }

    #[test]
    fn json_reads_as_the_tree_reader_reads_it() {
        let image = r#"{"kind": "ClusterVirtualMachineImage", "metadata": {"name": "vmi-1"}, "status": {"name": "a"}}"#;
        let texts = [
            format!(r#"{{"kind": "List", "items": [{image}, {image}]}}"#),
            format!(r#"{{"items": [{image}], "kind": "VirtualMachineImageList", "metadata": {{}}}}"#),
            format!(r#"{image} {image}"#),
            format!(r#"{image} null {{"kind": "List", "items": []}}"#),
            r#"{"kind": "List", "items": null}"#.to_string(),
            r#"{"kind": "List", "items": {"a": 1}}"#.to_string(),
            r#"{"kind": "List"}"#.to_string(),
            r#"{"kind": "Lis\u0074", "items": []}"#.to_string(),
            format!(r#"{{"kind": "List", "kind": "Pod", "items": [{image}]}}"#),
            format!(r#"{{"kind": "Pod", "kind": "List", "items": [{image}]}}"#),
            format!(r#"{{"kind": "List", "items": [3, "x", null, [1], {{"kind": "ConfigMap"}}, {image}]}}"#),
            r#"{"kind": "List", "items": [{"kind": "VirtualMachineImage", "metadata": {"name": "v"}}]}"#.to_string(),
            r#"{"kind": "List", "items": [{"kind": "VirtualMachineImage", "metadata": {"name": 3}}]}"#.to_string(),
            r#"{"kind": "List", "items": [{"kind": "ClusterVirtualMachineImage", "metadata": {"name": "a"}, "status": {"name": 3, "type": "OVF"}}]}"#.to_string(),
            r#"{"kind": "ClusterVirtualMachineImage", "kind": "ClusterVirtualMachineImage", "metadata": {"name": "a"}}"#.to_string(),
            r#"{"kind": "ClusterVirtualMachineImage", "metadata": {"name": "a"}, "status": {"name": "x", "name": "y"}}"#.to_string(),
            r#"{"kind": "ConfigMap", "metadata": {"name": "a"}}"#.to_string(),
            format!(r#"{image} {{"kind": "#),
            format!(r#"{image} {{"kind": "List", "items": [{image},]}}"#),
            format!("{}{image}{}", "[".repeat(200), "]".repeat(200)),
            format!(r#"{{"kind": "List", "items": [{}{image}{}]}}"#, "[".repeat(200), "]".repeat(200)),
            "{}".to_string(),
        ];
        for text in &texts {
            let fast = Catalog::parse("c", text)
                .map(|c| (c.images, c.skipped))
                .map_err(|e| e.to_string());
            assert_eq!(fast, by_tree(text), "{text}");
        }
    }

    #[test]
    fn json_images_come_with_their_place_in_the_input() {
        let text = r#"{"kind": "List", "items": [ {"kind": "ClusterVirtualMachineImage", "metadata": {"name": "vmi-1"}} ]}"#;
        let mut spans = Vec::new();
        Catalog::read("c", text, |r| spans.push(r.json.unwrap())).unwrap();
        assert_eq!(
            &text[spans[0].clone()],
            r#"{"kind": "ClusterVirtualMachineImage", "metadata": {"name": "vmi-1"}}"#
        );
    }

    #[test]
    fn integer_quantities_are_read() {
        let text = "kind: VirtualMachineImage\nmetadata: {name: vmi-1, namespace: ns}\n\
                    status: {name: ubuntu, disks: [{name: d, requested: 10737418240, limit: 10Gi}]}\n";
        let catalog = Catalog::parse("c", text).unwrap();
        let image = &catalog.images[0];
        assert!(image.unread.is_empty(), "{:?}", image.unread);
        assert_eq!(image.status.disks[0].requested.as_deref(), Some("10737418240"));
        assert_eq!(image.status.disks[0].limit.as_deref(), Some("10Gi"));
    }
}

//! JSON and YAML: objects as kubectl prints them (metadata.managedFields hidden unless
//! asked for), and Lists of them.

use crate::cli::Format;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use std::{
    borrow::Cow,
    io::{self, Write},
};
use vmimage_shared::api::{Image, ImageSpec, ImageStatus};

/// Prints a value as JSON or YAML.
pub fn write_data(out: &mut impl Write, format: Format, value: &impl Serialize) -> io::Result<()> {
    match format {
        // Written as made: 100,000 images never become one string.
        Format::Yaml => serde_norway::to_writer(&mut *out, value).map_err(io::Error::other),
        _ => {
            serde_json::to_writer_pretty(&mut *out, value)?;
            writeln!(out)
        }
    }
}

/// A Kubernetes List, as `kubectl get -o yaml` prints several objects; serialized
/// straight from the objects (no intermediate JSON tree of 100,000 images).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct List<'a, T> {
    api_version: &'static str,
    kind: &'static str,
    items: &'a [T],
    metadata: serde_json::Map<String, serde_json::Value>,
}

/// The List of `items`, with the metadata kubectl gives it (`resourceVersion: ""`).
pub fn list<T>(items: &[T]) -> List<'_, T> {
    List {
        api_version: "v1",
        kind: "List",
        items,
        metadata: serde_json::Map::from_iter([("resourceVersion".to_string(), "".into())]),
    }
}

/// The List of `items` as a snapshot writes it (no `resourceVersion` in its metadata).
pub fn list_of<T: Serialize>(items: T) -> OwnedList<T> {
    OwnedList {
        api_version: "v1",
        kind: "List",
        items,
        metadata: serde_json::Map::new(),
    }
}

/// A List of items serialized as one sequence.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnedList<T> {
    api_version: &'static str,
    kind: &'static str,
    items: T,
    metadata: serde_json::Map<String, serde_json::Value>,
}

/// Metadata as kubectl shows it: managedFields only with `--show-managed-fields`.
pub fn shown_meta(meta: &ObjectMeta, managed_fields: bool) -> Cow<'_, ObjectMeta> {
    if managed_fields || meta.managed_fields.is_none() {
        Cow::Borrowed(meta)
    } else {
        Cow::Owned(ObjectMeta {
            managed_fields: None,
            ..meta.clone()
        })
    }
}

/// An image as `get`/`list` print it: the object, its managedFields hidden unless asked for.
/// The fields serialize as [`Image`] serializes them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShownImage<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    metadata: Cow<'a, ObjectMeta>,
    spec: &'a ImageSpec,
    status: &'a ImageStatus,
}

impl<'a> ShownImage<'a> {
    /// `image`, with its managedFields only if `managed_fields`.
    pub fn new(image: &'a Image, managed_fields: bool) -> Self {
        Self {
            api_version: image.api_version.as_deref(),
            kind: image.kind.as_deref(),
            metadata: shown_meta(&image.metadata, managed_fields),
            spec: &image.spec,
            status: &image.status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

    #[test]
    fn shown_images_serialize_as_images_less_managed_fields() {
        let mut image = Image {
            api_version: Some("vmoperator.vmware.com/v1alpha6".into()),
            kind: Some("ClusterVirtualMachineImage".into()),
            ..Default::default()
        };
        image.metadata.name = Some("vmi-1".into());
        image.status.name = Some("ubuntu".into());
        let plain = serde_json::to_value(&image).unwrap();
        assert_eq!(
            serde_json::to_value(ShownImage::new(&image, false)).unwrap(),
            plain
        );
        image.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some("kubectl".into()),
            ..Default::default()
        }]);
        let hidden = serde_json::to_value(ShownImage::new(&image, false)).unwrap();
        assert_eq!(hidden, plain);
        let kept = serde_json::to_value(ShownImage::new(&image, true)).unwrap();
        assert_eq!(kept["metadata"]["managedFields"][0]["manager"], "kubectl");
    }
}

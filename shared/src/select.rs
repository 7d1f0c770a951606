//! Image selectors: a VM that names no image may ask for "the newest Ready image whose
//! labels match, in a version range" (`vmimage.io/image-selector`, optionally with
//! `vmimage.io/image-version`), as TKG's image selectors do. vmimage picks the image and
//! pins its ID, so VM Operator then sees an ordinary VM naming an ID.

use crate::{
    index::{ImageEntry, Index},
    label_selector::{Selector, SelectorError},
    quote::go_quote,
    version::{ConstraintError, VersionConstraint, compare_images},
};
use std::{collections::BTreeMap, fmt, sync::Arc};

/// Annotation with a label selector (`key=value,key in (a,b)`, kubectl's `-l` syntax).
pub const IMAGE_SELECTOR_ANNOTATION: &str = "vmimage.io/image-selector";
/// Annotation with a version constraint (`>=22.04, <24`), used with the selector.
pub const IMAGE_VERSION_ANNOTATION: &str = "vmimage.io/image-version";

/// How many near candidates a no-match error lists.
const NEAREST: usize = 3;

/// What a VM (or `resolve --selector`) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSelector {
    labels: Selector,
    labels_text: String,
    version: Option<VersionConstraint>,
}

/// A selector that cannot be read, or that matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// The label selector does not parse.
    #[error("{IMAGE_SELECTOR_ANNOTATION}: {0}")]
    Labels(SelectorError),
    /// The version constraint does not parse.
    #[error("{IMAGE_VERSION_ANNOTATION}: {0}")]
    Version(ConstraintError),
    /// A version constraint without a label selector (it would pick from every image).
    #[error(
        "{IMAGE_VERSION_ANNOTATION} is set without {IMAGE_SELECTOR_ANNOTATION}: give the labels to choose among"
    )]
    VersionWithoutLabels,
    /// No Ready image matches.
    #[error("{}", no_match(searched, namespace, nearest))]
    NoMatch {
        /// The selector, as written.
        searched: String,
        /// The VM's namespace.
        namespace: String,
        /// Images whose labels match but that are not Ready or out of range, newest
        /// first (at most three).
        nearest: Vec<Arc<ImageEntry>>,
    },
}

fn no_match(searched: &str, namespace: &str, nearest: &[Arc<ImageEntry>]) -> String {
    let mut text = format!(
        "no Ready image visible from namespace {namespace} (its own and the cluster's) matches {searched}"
    );
    if nearest.is_empty() {
        text.push_str("; no image carries matching labels");
    } else {
        let list: Vec<String> = nearest.iter().map(ToString::to_string).collect();
        text.push_str(&format!(
            "; images with matching labels but not Ready or outside the version range: {}",
            list.join(", ")
        ));
    }
    text
}

/// The image a selector picked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The newest Ready match.
    pub image: Arc<ImageEntry>,
    /// How many Ready images matched.
    pub matched: usize,
    /// One line for the `vmimage.io/selected-image` annotation and the warning.
    pub reason: String,
}

/// The record, in `recorded` (a `vmimage.io/selected-image` value), of `selector` as it
/// is written now picking `id`, without the notes newest selection may have added after
/// it. Found, the VM names the image its selector chose already (pinned by `kubectl
/// vmimage pin`, or a stored VM applied again): the selector has done its work. A record
/// of another selector (the annotation edited since) is `None`.
pub fn recorded_pick<'r>(recorded: &'r str, id: &str, selector: &ImageSelector) -> Option<&'r str> {
    let head = selector.reason_head(id);
    let rest = recorded.strip_prefix(&head)?.strip_prefix(" (")?;
    let close = rest.find(')')?;
    recorded.get(..head.len() + 2 + close + 1)
}

impl ImageSelector {
    /// A selector from its parts (the plugin's `--selector` and `--version`).
    pub fn new(labels: &str, version: Option<&str>) -> Result<Self, SelectError> {
        Ok(Self {
            labels: Selector::parse(labels).map_err(SelectError::Labels)?,
            labels_text: labels.trim().to_string(),
            version: version
                .map(str::parse)
                .transpose()
                .map_err(SelectError::Version)?,
        })
    }

    /// The selector a VM's annotations ask for, if any.
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Result<Option<Self>, SelectError> {
        match (
            annotations.get(IMAGE_SELECTOR_ANNOTATION),
            annotations.get(IMAGE_VERSION_ANNOTATION),
        ) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(SelectError::VersionWithoutLabels),
            (Some(labels), version) => Self::new(labels, version.map(String::as_str)).map(Some),
        }
    }

    /// The start of the reason recorded for picking `id`, up to the version said after it.
    fn reason_head(&self, id: &str) -> String {
        format!("{id} picked by {IMAGE_SELECTOR_ANNOTATION} as the newest Ready match of {self}")
    }

    fn matches_labels(&self, image: &ImageEntry) -> bool {
        self.labels.matches_with(|key| image.labels.get(key))
    }

    fn in_range(&self, image: &ImageEntry) -> bool {
        self.version.as_ref().is_none_or(|c| c.matches(image.version()))
    }

    /// The newest Ready image visible from `namespace` that matches (vmimage's version
    /// order, then creation time, then name). Scans the visible images: selectors are
    /// rare and a scan of 100,000 entries takes milliseconds.
    pub fn choose(&self, index: &Index, namespace: &str) -> Result<Selected, SelectError> {
        let mut labelled: Vec<&Arc<ImageEntry>> = index
            .visible_from(namespace)
            .filter(|i| self.matches_labels(i))
            .collect();
        labelled.sort_by(|a, b| compare_images(b, a));
        let (picked, rest): (Vec<_>, Vec<_>) =
            labelled.into_iter().partition(|i| i.ready && self.in_range(i));
        match picked.first() {
            Some(image) => Ok(Selected {
                image: (*image).clone(),
                matched: picked.len(),
                reason: self.reason_head(&image.name)
                    + &match (image.version(), picked.len()) {
                        (Some(v), 1) => format!(" (version {v}; the only match)"),
                        (Some(v), n) => format!(" (version {v}; {n} matched)"),
                        (None, 1) => " (no version; the only match)".to_string(),
                        (None, n) => format!(" (no version; {n} matched)"),
                    },
            }),
            None => Err(SelectError::NoMatch {
                searched: self.to_string(),
                namespace: namespace.to_string(),
                nearest: rest.into_iter().take(NEAREST).cloned().collect(),
            }),
        }
    }
}

impl fmt::Display for ImageSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "labels {}", go_quote(&self.labels_text))?;
        if let Some(v) = &self.version {
            write!(f, " and version {}", go_quote(&v.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OS: &str = "os.image.vmoperator.vmware.com/id";

    fn index() -> Index {
        Index::from_entries([
            ImageEntry::test("vmi-2004", "ubuntu-20.04")
                .label(OS, "ubuntu64Guest")
                .with_version("20.04"),
            ImageEntry::test("vmi-2204", "ubuntu-22.04")
                .label(OS, "ubuntu64Guest")
                .with_version("22.04"),
            ImageEntry::test("vmi-2310", "ubuntu-23.10")
                .label(OS, "ubuntu64Guest")
                .with_version("23.10")
                .not_ready(),
            ImageEntry::test("vmi-2304", "ubuntu-23.04")
                .label(OS, "ubuntu64Guest")
                .with_version("23.04")
                .in_ns("dev"),
            ImageEntry::test("vmi-2404", "ubuntu-24.04")
                .label(OS, "ubuntu64Guest")
                .with_version("24.04"),
            ImageEntry::test("vmi-rhel", "rhel-9")
                .label(OS, "rhel9_64Guest")
                .with_version("9.4"),
            ImageEntry::test("vmi-other-ns", "ubuntu-23.08")
                .label(OS, "ubuntu64Guest")
                .with_version("23.08")
                .in_ns("prod"),
        ])
    }

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn picks_the_newest_ready_match_in_range_visible_from_the_namespace() {
        let s = ImageSelector::new(&format!("{OS}=ubuntu64Guest"), Some(">=22.04, <24")).unwrap();
        let picked = s.choose(&index(), "dev").unwrap();
        // 23.10 is not Ready, 24.04 is out of range, 23.08 lives in another namespace.
        assert_eq!(&*picked.image.name, "vmi-2304");
        assert_eq!(picked.matched, 2);
        assert_eq!(
            picked.reason,
            "vmi-2304 picked by vmimage.io/image-selector as the newest Ready match of labels \
             \"os.image.vmoperator.vmware.com/id=ubuntu64Guest\" and version \">=22.04, <24\" \
             (version 23.04; 2 matched)"
        );
        assert_eq!(&*s.choose(&index(), "prod").unwrap().image.name, "vmi-other-ns");
        let any = ImageSelector::new(&format!("{OS}=ubuntu64Guest"), None).unwrap();
        assert_eq!(&*any.choose(&index(), "dev").unwrap().image.name, "vmi-2404");
    }

    #[test]
    fn no_match_says_what_was_searched_and_the_nearest_images() {
        let s = ImageSelector::new(&format!("{OS}=ubuntu64Guest"), Some(">=23.05, <24")).unwrap();
        let e = s.choose(&index(), "default").unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("no Ready image visible from namespace default (its own and the cluster's) matches labels \"os.image.vmoperator.vmware.com/id=ubuntu64Guest\" and version \">=23.05, <24\"; images with matching labels but not Ready or outside the version range: vmi-2404"), "{text}");
        assert!(
            text.contains("vmi-2310 (ClusterVirtualMachineImage, not Ready"),
            "{text}"
        );
        let none = ImageSelector::new("os=plan9", None)
            .unwrap()
            .choose(&index(), "dev")
            .unwrap_err();
        assert!(
            none.to_string().ends_with("; no image carries matching labels"),
            "{none}"
        );
    }

    #[test]
    fn annotations_are_read_and_bad_ones_refused() {
        assert_eq!(ImageSelector::from_annotations(&annotations(&[])), Ok(None));
        assert!(matches!(
            ImageSelector::from_annotations(&annotations(&[(IMAGE_VERSION_ANNOTATION, ">=1")])),
            Err(SelectError::VersionWithoutLabels)
        ));
        let e = ImageSelector::from_annotations(&annotations(&[(IMAGE_SELECTOR_ANNOTATION, "os in ubuntu")]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "vmimage.io/image-selector: invalid label selector \"os in ubuntu\": cannot parse \"os in ubuntu\""
        );
        let e = ImageSelector::from_annotations(&annotations(&[
            (IMAGE_SELECTOR_ANNOTATION, "os=x"),
            (IMAGE_VERSION_ANNOTATION, "~1"),
        ]))
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("vmimage.io/image-version: invalid version constraint"),
            "{e}"
        );
    }
}

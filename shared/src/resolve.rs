//! VM Operator's image-name resolver, case for case.
//!
//! A reference that starts with `vmi-` (case-sensitive) is an object name: the namespaced
//! image wins over the cluster image. Anything else is a display name compared exactly
//! with `status.name`, in the VM's namespace and the cluster, with no preference between
//! the two: more than one match anywhere is ambiguous. Readiness and type do not matter.
//! Images in other namespaces are never candidates.
//!
//! Errors begin with VM Operator's exact text and then list every candidate, so a user
//! can pick one.

use crate::{
    index::{ImageEntry, Index},
    library::Libraries,
    quote::go_quote,
    vmi_id,
};
use std::{fmt, sync::Arc};

/// How a reference was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The reference was an object name (`vmi-…`).
    Id,
    /// The reference was a display name.
    DisplayName,
    /// VM Operator finds nothing by that name, and it reads as `<library>/<display name>`.
    Library,
}

/// A successful resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The one image the reference names.
    pub image: Arc<ImageEntry>,
    /// Whether it was found by ID or display name.
    pub matched_by: MatchedBy,
}

/// Where an ambiguous display name has more than one match (VM Operator's wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AmbiguousIn {
    /// Two or more in the VM's namespace.
    Namespace,
    /// Two or more cluster images.
    Cluster,
    /// Exactly one in each.
    NamespaceAndCluster,
}

impl AmbiguousIn {
    /// VM Operator's words for it: `namespace scope`, `cluster scope` or `namespace and
    /// cluster scope`.
    pub fn words(self) -> &'static str {
        match self {
            Self::Namespace => "namespace scope",
            Self::Cluster => "cluster scope",
            Self::NamespaceAndCluster => "namespace and cluster scope",
        }
    }
}

/// Why a reference does not name exactly one image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The reference is empty: there is nothing to resolve.
    #[error("imgName is empty: give a display name or a VMI ID")]
    Empty,
    /// Nothing matches. `similar` holds near misses (the same name but for case and
    /// spaces, else a typo away) to help the user; they are never used.
    #[error("{}{}", self.vm_operator_message(), similar_hint(reference, similar))]
    NotFound {
        /// The reference as written.
        reference: String,
        /// Visible images whose name or display name is a near miss, closest first.
        similar: Vec<Arc<ImageEntry>>,
    },
    /// More than one image matches the display name.
    #[error("{}; candidates: {}; use a VMI ID to choose one", self.vm_operator_message(), list(candidates))]
    Ambiguous {
        /// The reference as written.
        reference: String,
        /// VM Operator's classification of the ambiguity.
        scope: AmbiguousIn,
        /// Every visible image with that display name, namespaced first.
        candidates: Vec<Arc<ImageEntry>>,
    },
    /// VM Operator finds nothing by that name, and read as `<library>/<display name>`
    /// it names more than one image.
    #[error(
        "{}; as <content library>/<display name> it matches more than one image (in {}); \
         candidates: {}; use a VMI ID to choose one",
        self.vm_operator_message(),
        libraries.join(", "),
        list(candidates)
    )]
    AmbiguousInLibrary {
        /// The reference as written.
        reference: String,
        /// The libraries the candidates came from.
        libraries: Vec<String>,
        /// Every image the qualified readings name.
        candidates: Vec<Arc<ImageEntry>>,
    },
}

// === impl ResolveError ===

impl ResolveError {
    /// Exactly the message VM Operator's resolver gives for this case.
    pub fn vm_operator_message(&self) -> String {
        match self {
            Self::Empty => "imgName is empty".to_string(),
            // VM Operator knows no qualified names: for it, the reference names nothing.
            Self::NotFound { reference, .. } | Self::AmbiguousInLibrary { reference, .. } => {
                format!(
                    "no VM image exists for {} in namespace or cluster scope",
                    go_quote(reference)
                )
            }
            Self::Ambiguous { reference, scope, .. } => {
                format!(
                    "multiple VM images exist for {} in {}",
                    go_quote(reference),
                    scope.words()
                )
            }
        }
    }

    /// A short machine-readable reason: `NotFound`, `Ambiguous` or `Invalid`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Empty => "Invalid",
            Self::NotFound { .. } => "NotFound",
            Self::Ambiguous { .. } | Self::AmbiguousInLibrary { .. } => "Ambiguous",
        }
    }

    /// The images a user can choose from (ambiguity) or may have meant (not found).
    pub fn candidates(&self) -> &[Arc<ImageEntry>] {
        match self {
            Self::Empty => &[],
            Self::NotFound { similar, .. } => similar,
            Self::Ambiguous { candidates, .. } | Self::AmbiguousInLibrary { candidates, .. } => candidates,
        }
    }
}

fn list(candidates: &[Arc<ImageEntry>]) -> String {
    candidates
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the user most likely meant, never the name just typed: an object name without
/// the `vmi-` prefix is explained (VM Operator compares it with display names only), and
/// near misses are suggested.
fn similar_hint(reference: &str, similar: &[Arc<ImageEntry>]) -> String {
    let mut text = String::new();
    for image in similar.iter().filter(|c| &*c.name == reference) {
        text.push_str(&format!(
            "; {} is the object name of {image}, but VM Operator looks a name up as an object \
             name only when it starts with \"vmi-\" and otherwise compares it with display names: {}",
            go_quote(reference),
            how_to_name(image)
        ));
    }
    let names: Vec<String> = similar
        .iter()
        .filter(|c| &*c.name != reference && c.display_name.as_deref() != Some(reference))
        .map(|c| match &c.display_name {
            Some(d) => format!("{} {}", go_quote(d), c),
            None => c.to_string(),
        })
        .collect();
    if !names.is_empty() {
        text.push_str(&format!(
            "; did you mean {}? (names are compared exactly)",
            names.join(" or ")
        ));
    }
    text
}

/// How a VM can name `image` so that VM Operator finds it.
pub fn how_to_name(image: &ImageEntry) -> String {
    let by_image = format!("spec.image {{kind: {}, name: {}}}", image.kind(), image.name);
    match &image.display_name {
        Some(d) if !vmi_id::looks_like_id(d) => {
            format!("name it by its display name {} or by {by_image}", go_quote(d))
        }
        _ => format!("name it by {by_image}"),
    }
}

/// Resolves `reference` for a VM in `namespace`, exactly as VM Operator does.
pub fn resolve(index: &Index, namespace: &str, reference: &str) -> Result<Resolution, ResolveError> {
    if reference.is_empty() {
        return Err(ResolveError::Empty);
    }
    if vmi_id::looks_like_id(reference) {
        let image = index
            .get(Some(namespace), reference)
            .or_else(|| index.get(None, reference));
        return match image {
            Some(image) => Ok(Resolution {
                image: image.clone(),
                matched_by: MatchedBy::Id,
            }),
            None => Err(not_found(index, namespace, reference)),
        };
    }
    let mut in_ns = index.with_display_name(Some(namespace), reference);
    let mut in_cluster = index.with_display_name(None, reference);
    // Count at most two per scope: enough to classify without walking every duplicate.
    let first_ns = in_ns.next();
    let second_ns = in_ns.next();
    let first_cl = in_cluster.next();
    let second_cl = in_cluster.next();
    let scope = match (first_ns, second_ns, first_cl, second_cl) {
        (Some(image), None, None, _) | (None, _, Some(image), None) => {
            return Ok(Resolution {
                image: image.clone(),
                matched_by: MatchedBy::DisplayName,
            });
        }
        (None, _, None, _) => return Err(not_found(index, namespace, reference)),
        (Some(_), Some(_), _, _) => AmbiguousIn::Namespace,
        (_, _, Some(_), Some(_)) => AmbiguousIn::Cluster,
        (Some(_), None, Some(_), None) => AmbiguousIn::NamespaceAndCluster,
    };
    let mut candidates: Vec<Arc<ImageEntry>> = index
        .with_display_name(Some(namespace), reference)
        .chain(index.with_display_name(None, reference))
        .cloned()
        .collect();
    sort_candidates(&mut candidates);
    Err(ResolveError::Ambiguous {
        reference: reference.to_string(),
        scope,
        candidates,
    })
}

/// [`resolve`], then, for a reference VM Operator finds nothing for, its reading as
/// `<library>/<display name>` ([`qualified`]). With no library known this is [`resolve`].
pub fn resolve_in(
    index: &Index,
    libraries: &Libraries,
    namespace: &str,
    reference: &str,
) -> Result<Resolution, ResolveError> {
    match resolve(index, namespace, reference) {
        Err(not_found @ ResolveError::NotFound { .. }) if reference.contains('/') => {
            qualified::resolve(index, libraries, namespace, reference).unwrap_or(Err(not_found))
        }
        other => other,
    }
}

/// Namespaced images first, then by name: the order of every candidate list.
pub(crate) fn sort_candidates(images: &mut [Arc<ImageEntry>]) {
    images.sort_by(|a, b| {
        (a.scope.namespace().is_none(), &a.name).cmp(&(b.scope.namespace().is_none(), &b.name))
    });
}

/// Builds a not-found error with near misses. Runs only on the error path, so a scan of
/// the visible images is acceptable here.
fn not_found(index: &Index, namespace: &str, reference: &str) -> ResolveError {
    ResolveError::NotFound {
        reference: reference.to_string(),
        similar: near_miss::near_misses(index.visible_from(namespace), reference),
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.image)
    }
}

mod near_miss;
pub mod qualified;
#[cfg(test)]
mod tests;

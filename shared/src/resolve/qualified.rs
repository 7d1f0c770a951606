//! `<library>/<display name>`: a display name made unambiguous by the content library its
//! image came from (the library's Kubernetes name or display name).
//!
//! VM Operator's rules come first, always: a reference VM Operator resolves (an exact
//! display name that contains `/`, a `vmi-` ID) resolves exactly as it does, and one it
//! finds ambiguous stays ambiguous. Only a reference VM Operator would not find is read
//! as a qualified name. Library and display names may both contain `/`, so every split
//! is tried; the images of all readings together must be exactly one.

use super::{MatchedBy, Resolution, ResolveError, sort_candidates};
use crate::{
    api::VmImageRefs,
    index::{ImageEntry, Index},
    library::Libraries,
};
use std::sync::Arc;

/// Every reading of `reference` as (library, display name): split at each `/`, both
/// sides non-empty.
pub fn splits(reference: &str) -> impl Iterator<Item = (&str, &str)> {
    reference
        .match_indices('/')
        .map(|(at, _)| (&reference[..at], &reference[at + 1..]))
        .filter(|(library, display)| !library.is_empty() && !display.is_empty())
}

/// The images visible from `namespace` that some reading of `reference` could name,
/// before their libraries are known: the ones whose libraries a caller must read.
pub fn candidates(index: &Index, namespace: &str, reference: &str) -> Vec<Arc<ImageEntry>> {
    let mut out: Vec<Arc<ImageEntry>> = splits(reference)
        .flat_map(|(_, display)| {
            index
                .with_display_name(Some(namespace), display)
                .chain(index.with_display_name(None, display))
        })
        .cloned()
        .collect();
    sort_candidates(&mut out);
    out.dedup();
    out
}

/// Resolves `reference` as a qualified name; `None` when no reading names any image.
pub(super) fn resolve(
    index: &Index,
    libraries: &Libraries,
    namespace: &str,
    reference: &str,
) -> Option<Result<Resolution, ResolveError>> {
    let mut found: Vec<Arc<ImageEntry>> = splits(reference)
        .flat_map(|(library, display)| {
            index
                .with_display_name(Some(namespace), display)
                .chain(index.with_display_name(None, display))
                .filter(move |image| libraries.of(image).is_some_and(|l| l.is_named(library)))
        })
        .cloned()
        .collect();
    sort_candidates(&mut found);
    found.dedup();
    match found.len() {
        0 => None,
        1 => Some(Ok(Resolution {
            image: found.remove(0),
            matched_by: MatchedBy::Library,
        })),
        _ => {
            let mut in_libraries: Vec<String> = found
                .iter()
                .filter_map(|image| libraries.of(image).map(ToString::to_string))
                .collect();
            in_libraries.sort();
            in_libraries.dedup();
            Some(Err(ResolveError::AmbiguousInLibrary {
                reference: reference.to_string(),
                libraries: in_libraries,
                candidates: found,
            }))
        }
    }
}

/// The images whose libraries deciding `vm` may need: the candidates of each of its
/// references (the one VM Operator resolves, and every CD-ROM's) that contains `/` and
/// that VM Operator's rules find nothing for. Usually empty, so most VMs cost no read.
pub fn candidates_for_vm(index: &Index, vm: &VmImageRefs) -> Vec<Arc<ImageEntry>> {
    let references = vm.effective_image_name().into_iter().chain(
        vm.cdroms
            .iter()
            .filter_map(|c| c.image.as_ref().map(|i| i.name.as_str())),
    );
    let mut out: Vec<Arc<ImageEntry>> = references
        .filter(|r| r.contains('/'))
        .filter(|r| {
            matches!(
                super::resolve(index, &vm.namespace, r),
                Err(ResolveError::NotFound { .. })
            )
        })
        .flat_map(|r| candidates(index, &vm.namespace, r))
        .collect();
    sort_candidates(&mut out);
    out.dedup();
    out
}

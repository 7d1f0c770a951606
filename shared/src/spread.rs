//! What one name resolves to across namespaces, grouped by outcome: a manifest naming it
//! works the same in every namespace of a group, and picks another image (or fails) in
//! the others. Each namespace's answer is VM Operator's, then, for a name it finds
//! nothing for, the `<library>/<display name>` reading the webhook pins
//! ([`crate::resolve::resolve_in`]).

use crate::{
    api::ImageKind,
    index::Index,
    library::Libraries,
    resolve::{AmbiguousIn, Resolution, ResolveError, resolve_in},
};
use std::{collections::BTreeMap, sync::Arc};

/// What a name resolves to from a namespace, without what differs between namespaces
/// (near misses, which namespace a copy lives in), so equal outcomes compare equal. The
/// order is the report's: images first, then ambiguity, then nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// One image, by kind and object name (VMI ID): the namespaced copies of one library
    /// item in several namespaces are one outcome, the namespace's own image.
    Resolved {
        /// `VirtualMachineImage` (the namespace's own) or `ClusterVirtualMachineImage`.
        kind: ImageKind,
        /// The object name.
        name: Arc<str>,
    },
    /// Several images carry the display name.
    Ambiguous {
        /// Where the matches are (VM Operator's classification).
        scope: AmbiguousIn,
        /// The candidates by kind and object name, sorted.
        candidates: Vec<(ImageKind, Arc<str>)>,
    },
    /// Read as `<library>/<display name>`, the name matches several images.
    AmbiguousInLibrary {
        /// The candidates by kind and object name, sorted.
        candidates: Vec<(ImageKind, Arc<str>)>,
    },
    /// No image: the name is neither an object name nor a display name visible there.
    NotFound,
    /// The name is not a reference at all (empty).
    Invalid,
}

impl Outcome {
    fn of(result: &Result<Resolution, ResolveError>) -> Self {
        match result {
            Ok(r) => Self::Resolved {
                kind: r.image.kind(),
                name: r.image.name.clone(),
            },
            Err(ResolveError::Ambiguous {
                scope, candidates, ..
            }) => Self::Ambiguous {
                scope: *scope,
                candidates: keys(candidates),
            },
            Err(ResolveError::AmbiguousInLibrary { candidates, .. }) => Self::AmbiguousInLibrary {
                candidates: keys(candidates),
            },
            Err(ResolveError::NotFound { .. }) => Self::NotFound,
            Err(ResolveError::Empty) => Self::Invalid,
        }
    }

    /// `Resolved`, `Ambiguous`, `NotFound` or `Invalid`, for tables and `-o json`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Resolved { .. } => "Resolved",
            Self::Ambiguous { .. } | Self::AmbiguousInLibrary { .. } => "Ambiguous",
            Self::NotFound => "NotFound",
            Self::Invalid => "Invalid",
        }
    }
}

/// Candidates by kind and object name, sorted: the same images compare equal.
fn keys(candidates: &[Arc<crate::index::ImageEntry>]) -> Vec<(ImageKind, Arc<str>)> {
    let mut keys: Vec<_> = candidates.iter().map(|c| (c.kind(), c.name.clone())).collect();
    keys.sort();
    keys
}

/// One namespace's answer, in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The namespace a VM naming the reference would be created in.
    pub namespace: String,
    /// What the resolver answers there.
    pub result: Result<Resolution, ResolveError>,
}

/// Namespaces with the same outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The shared outcome.
    pub outcome: Outcome,
    /// The namespaces, sorted by name (never empty).
    pub members: Vec<Member>,
}

impl Group {
    /// The image of a `Resolved` group, as the first namespace sees it.
    pub fn image(&self) -> Option<&Resolution> {
        self.members.first().and_then(|m| m.result.as_ref().ok())
    }

    /// Why a group does not resolve (its candidates, when ambiguous), as the first
    /// namespace sees it.
    pub fn error(&self) -> Option<&ResolveError> {
        self.members.first().and_then(|m| m.result.as_ref().err())
    }
}

/// Resolves `reference` from each of `namespaces` (duplicates count once) and groups the
/// namespaces by outcome: resolved groups first, the one most namespaces share leading,
/// then ambiguous ones, then not found. `libraries` links the images a qualified
/// reading may name to their libraries ([`crate::resolve::qualified::candidates`]).
pub fn spread<'a>(
    index: &Index,
    libraries: &Libraries,
    reference: &str,
    namespaces: impl IntoIterator<Item = &'a str>,
) -> Vec<Group> {
    let mut groups: BTreeMap<Outcome, Vec<Member>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    // A namespace without images of its own sees the cluster's only: every such namespace
    // gets the same answer, so it is worked out once (near misses scan every image).
    let mut imageless: Option<Result<Resolution, ResolveError>> = None;
    for namespace in namespaces.into_iter().filter(|ns| seen.insert(*ns)) {
        // Visible images come the namespace's own first.
        let own = index
            .visible_from(namespace)
            .next()
            .is_some_and(|i| i.scope.namespace().is_some());
        let result = match own {
            true => resolve_in(index, libraries, namespace, reference),
            false => imageless
                .get_or_insert_with(|| resolve_in(index, libraries, namespace, reference))
                .clone(),
        };
        groups.entry(Outcome::of(&result)).or_default().push(Member {
            namespace: namespace.to_string(),
            result,
        });
    }
    let mut groups: Vec<Group> = groups
        .into_iter()
        .map(|(outcome, mut members)| {
            members.sort_by(|a, b| a.namespace.cmp(&b.namespace));
            Group { outcome, members }
        })
        .collect();
    // Stable: within a rank and count, the outcomes' own order.
    groups.sort_by_key(|g| (rank(&g.outcome), std::cmp::Reverse(g.members.len())));
    groups
}

fn rank(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Resolved { .. } => 0,
        Outcome::Ambiguous { .. } | Outcome::AmbiguousInLibrary { .. } => 1,
        Outcome::NotFound => 2,
        Outcome::Invalid => 3,
    }
}

#[cfg(test)]
mod tests;

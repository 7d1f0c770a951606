//! How many images carry each display name, per scope, kept current from watch events:
//! what `list -w` judges "(ambiguous)" on once images come and go after its first listing.
//! It answers as [`super::list`]'s index-based judgement does for the same images.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};
use vmimage_shared::{ImageEntry, Index, api::ImageKind, vmi_id::looks_like_id};

/// Which image an entry is: its kind, namespace and name.
pub type Identity = (ImageKind, Option<Arc<str>>, Arc<str>);

/// The identity of `entry`.
pub fn identity(entry: &ImageEntry) -> Identity {
    (
        entry.kind(),
        entry.scope.namespace().map(Arc::from),
        entry.name.clone(),
    )
}

/// A namespace (`None`: the cluster scope) and a display name.
type Key = (Option<Arc<str>>, Arc<str>);

/// Display-name counts per scope.
#[derive(Debug, Default)]
pub struct Names {
    counts: HashMap<Key, usize>,
    /// Namespaced images per display name, in any namespace (for cluster images listed
    /// across all namespaces).
    namespaced: HashMap<Arc<str>, usize>,
    /// What each image is counted under, so a change or a deletion moves it.
    counted: HashMap<Identity, Key>,
}

impl Names {
    /// The counts of `index`'s images.
    pub fn of(index: &Index) -> Self {
        let mut names = Self::default();
        for entry in index.iter() {
            names.put(entry);
        }
        names
    }

    /// Counts `entry` as it is now (added or changed).
    pub fn put(&mut self, entry: &ImageEntry) {
        let id = identity(entry);
        self.remove(&id);
        let Some(display) = entry.display_name.clone() else {
            return;
        };
        let key = (id.1.clone(), display.clone());
        *self.counts.entry(key.clone()).or_default() += 1;
        if key.0.is_some() {
            *self.namespaced.entry(display).or_default() += 1;
        }
        self.counted.insert(id, key);
    }

    /// Stops counting the image `id` (deleted).
    pub fn remove(&mut self, id: &Identity) {
        let Some(key) = self.counted.remove(id) else {
            return;
        };
        if key.0.is_some() {
            decrement(&mut self.namespaced, &key.1);
        }
        decrement(&mut self.counts, &key);
    }

    /// After a watch of `kind` re-listed: stops counting its images the listing no longer
    /// had (deleted while the watch was away, which no event reports).
    pub fn keep_only(&mut self, kind: ImageKind, listed: &HashSet<Identity>) {
        let gone: Vec<Identity> = self
            .counted
            .keys()
            .filter(|id| id.0 == kind && !listed.contains(*id))
            .cloned()
            .collect();
        for id in &gone {
            self.remove(id);
        }
    }

    /// Whether `entry`'s display name is ambiguous for a VM that could use it: from the
    /// image's own namespace, from `view_ns` for a cluster image, or, listing every
    /// namespace, from any namespace. As VM Operator's resolver decides: two matches in the
    /// namespace and the cluster together, a `vmi-` name never (it is read as an ID).
    pub fn ambiguous(&self, entry: &ImageEntry, view_ns: Option<&str>) -> bool {
        let Some(display) = &entry.display_name else {
            return false;
        };
        let count = |ns: Option<&str>| {
            self.counts
                .get(&(ns.map(Arc::from), display.clone()))
                .copied()
                .unwrap_or(0)
        };
        match entry.scope.namespace().or(view_ns) {
            Some(ns) => !looks_like_id(display) && count(Some(ns)) + count(None) >= 2,
            None => count(None) >= 2 || self.namespaced.contains_key(display),
        }
    }
}

fn decrement<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::list::Ambiguity;
    use vmimage_shared::Scope;

    /// `n` images over two namespaces and the cluster, display names drawn (by a fixed
    /// sequence) from a small pool with an ID-like name and none.
    fn images(n: usize, seed: u64) -> Vec<ImageEntry> {
        let mut x = seed;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        (0..n)
            .map(|i| {
                let scope = match next(3) {
                    0 => Scope::Cluster,
                    1 => Scope::Namespace("a".into()),
                    _ => Scope::Namespace("b".into()),
                };
                let display = ["ubuntu", "debian", "rhel", "vmi-abc", ""][next(5) as usize];
                ImageEntry::names_only(
                    &format!("vmi-{i:017x}"),
                    scope,
                    (!display.is_empty()).then_some(display),
                )
            })
            .collect()
    }

    fn assert_judged_as_the_index(names: &Names, entries: &[ImageEntry]) {
        let index = Index::from_entries(entries.iter().cloned());
        for view in [None, Some("a"), Some("b"), Some("elsewhere")] {
            let ambiguity = Ambiguity::new(&index, view);
            for entry in index.iter() {
                assert_eq!(
                    names.ambiguous(entry, view),
                    ambiguity.of(entry),
                    "{} ({:?}, {:?}) from {view:?}",
                    entry.name,
                    entry.scope,
                    entry.display_name
                );
            }
        }
    }

    #[test]
    fn counts_judge_as_the_index_does() {
        for (n, seed) in [(1, 1), (2, 2), (7, 3), (40, 4), (300, 5)] {
            let entries = images(n, seed);
            let names = Names::of(&Index::from_entries(entries.iter().cloned()));
            assert_judged_as_the_index(&names, &entries);
        }
    }

    #[test]
    fn events_leave_the_counts_a_new_listing_would_make() {
        let first = images(60, 7);
        let mut names = Names::of(&Index::from_entries(first.iter().cloned()));
        // Renames (the same objects with other names), deletions and arrivals.
        let renamed = images(60, 8);
        let mut now: Vec<ImageEntry> = Vec::new();
        for (i, (old, new)) in first.iter().zip(&renamed).enumerate() {
            match i % 4 {
                0 => names.remove(&identity(old)),
                1 => {
                    let moved =
                        ImageEntry::names_only(&old.name, old.scope.clone(), new.display_name.as_deref());
                    names.put(&moved);
                    now.push(moved);
                }
                _ => now.push(old.clone()),
            }
        }
        for arrival in images(20, 9).into_iter().map(|e| {
            ImageEntry::names_only(
                &format!("{}-new", e.name),
                e.scope.clone(),
                e.display_name.as_deref(),
            )
        }) {
            names.put(&arrival);
            now.push(arrival);
        }
        assert_judged_as_the_index(&names, &now);
        // A re-list that no longer has some images (deleted while the watch was away).
        let kept: Vec<ImageEntry> = now
            .iter()
            .enumerate()
            .filter(|(i, e)| e.kind() == ImageKind::ClusterVirtualMachineImage || i % 3 != 0)
            .map(|(_, e)| e.clone())
            .collect();
        let listed: HashSet<Identity> = kept
            .iter()
            .filter(|e| e.kind() == ImageKind::VirtualMachineImage)
            .map(identity)
            .collect();
        names.keep_only(ImageKind::VirtualMachineImage, &listed);
        assert_judged_as_the_index(&names, &kept);
    }
}

//! Near misses for a reference that resolves to nothing: the visible images a user most
//! likely meant. VM Operator compares names exactly; these are suggestions, never used.
//!
//! Names equal but for case and surrounding spaces win outright (the user clearly meant
//! them). Otherwise the few closest within a small edit budget are offered (only those
//! at the smallest distance found), so
//! `ubuntu-24.4` suggests `ubuntu-24.04` but `ubuntu` does not suggest `photon`.

use crate::index::ImageEntry;
use std::sync::Arc;

/// At most this many names equal but for case and spaces.
const MAX_FOLDED: usize = 8;
/// At most this many edited names.
const MAX_EDITED: usize = 3;

/// How many single-character edits still count as a typo of a name of `len` characters.
fn edit_budget(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The near misses of `reference` among `visible`, closest first, ties by object name.
pub(super) fn near_misses<'a>(
    visible: impl Iterator<Item = &'a Arc<ImageEntry>>,
    reference: &str,
) -> Vec<Arc<ImageEntry>> {
    let wanted = fold(reference);
    let budget = edit_budget(wanted.chars().count());
    let mut found: Vec<(usize, &'a Arc<ImageEntry>)> = visible
        .filter_map(|image| {
            [Some(&*image.name), image.display_name.as_deref()]
                .into_iter()
                .flatten()
                .filter_map(|name| distance_within(&wanted, name, budget))
                .min()
                .map(|d| (d, image))
        })
        .collect();
    found.sort_by(|(da, a), (db, b)| da.cmp(db).then_with(|| a.name.cmp(&b.name)));
    // Only the closest: a name one edit away makes one two edits away noise.
    let closest = found.first().map(|(d, _)| *d);
    let keep = if closest == Some(0) {
        MAX_FOLDED
    } else {
        MAX_EDITED
    };
    found
        .into_iter()
        .take_while(|(d, _)| Some(*d) == closest)
        .take(keep)
        .map(|(_, i)| i.clone())
        .collect()
}

/// The edit distance between `wanted` (folded) and `name` once folded, if within `budget`.
/// Length checks come first and ASCII names are compared without allocating, which keeps
/// the error path cheap on catalogs of 100,000 images.
fn distance_within(wanted: &str, name: &str, budget: usize) -> Option<usize> {
    let trimmed = name.trim();
    if trimmed.is_ascii() && wanted.is_ascii() {
        if trimmed.len().abs_diff(wanted.len()) > budget {
            return None;
        }
        if trimmed.eq_ignore_ascii_case(wanted) {
            return Some(0);
        }
        if budget == 0 {
            return None;
        }
    }
    let name = fold(trimmed);
    if name == wanted {
        return Some(0);
    }
    if budget == 0 || name.chars().count().abs_diff(wanted.chars().count()) > budget {
        return None;
    }
    let d = strsim::levenshtein(wanted, &name);
    (d <= budget).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<Arc<ImageEntry>> {
        [
            ("vmi-0000000000000000a", "ubuntu-24.04"),
            ("vmi-0000000000000000b", "ubuntu-22.04"),
            ("vmi-0000000000000000c", "photon-5.0"),
            ("vmi-0000000000000000d", "Photon"),
        ]
        .into_iter()
        .map(|(id, name)| Arc::new(ImageEntry::test(id, name)))
        .collect()
    }

    fn names(reference: &str) -> Vec<String> {
        near_misses(entries().iter(), reference)
            .iter()
            .map(|i| i.display_name.as_deref().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn a_typo_suggests_the_closest_names() {
        assert_eq!(names("ubuntu-24.4"), ["ubuntu-24.04"]);
        assert_eq!(names("ubuntu-2404"), ["ubuntu-24.04"]);
        assert_eq!(names("ubuntu-23.04"), ["ubuntu-24.04", "ubuntu-22.04"]);
    }

    #[test]
    fn case_and_spaces_win_over_edits() {
        assert_eq!(names(" photon "), ["Photon"]);
    }

    #[test]
    fn unrelated_and_short_names_suggest_nothing() {
        assert!(names("debian-12").is_empty());
        assert!(names("ubu").is_empty());
    }

    #[test]
    fn object_names_count_too() {
        let found = near_misses(entries().iter(), "vmi-0000000000000000e");
        assert_eq!(found.len(), 3, "{found:?}");
    }
}

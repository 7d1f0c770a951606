//! Image versions and families: ordering versions as versions (numeric segments, then
//! pre-releases before releases), grouping images into families, and the opt-in
//! newest-version selection for ambiguous display names.

use crate::{
    index::{ImageEntry, Index},
    resolve::{Resolution, ResolveError, resolve},
};
use std::{cmp::Ordering, sync::Arc};

mod constraint;
pub use constraint::{ConstraintError, VersionConstraint};

/// A parsed version: leading numeric segments, then an optional pre-release tag.
/// Build metadata (after `+`) is ignored, as in semver.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed<'a> {
    numbers: Vec<u64>,
    pre: Option<&'a str>,
    rest: &'a str,
}

fn parse(v: &str) -> Parsed<'_> {
    let v = v.trim().trim_start_matches(['v', 'V']);
    let v = v.split('+').next().unwrap_or("");
    let (main, pre) = match v.split_once('-') {
        Some((m, p)) => (m, Some(p)),
        None => (v, None),
    };
    let mut numbers = Vec::new();
    let mut rest = "";
    for (i, seg) in main.split('.').enumerate() {
        match seg.parse::<u64>() {
            Ok(n) => numbers.push(n),
            Err(_) => {
                // "5.0rc1": keep the numeric prefix, treat the remainder as a pre-release.
                let digits: String = seg.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = digits.parse() {
                    numbers.push(n);
                }
                let offset: usize =
                    main.split('.').take(i).map(|s| s.len() + 1).sum::<usize>() + digits.len();
                rest = &main[offset..];
                break;
            }
        }
    }
    Parsed {
        numbers,
        pre: pre.or((!rest.is_empty()).then_some(rest)),
        rest,
    }
}

/// Compares pre-release tags segment by segment, numbers numerically.
fn compare_pre(a: &str, b: &str) -> Ordering {
    let seg = |s: &str| s.split(['.', '-']).map(|x| x.to_string()).collect::<Vec<_>>();
    for (x, y) in seg(a).iter().zip(seg(b).iter()) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    seg(a).len().cmp(&seg(b).len())
}

/// Orders two versions; `None` (no version) sorts first.
pub fn compare(a: Option<&str>, b: Option<&str>) -> Ordering {
    let (a, b) = match (a, b) {
        (None, None) => return Ordering::Equal,
        (None, Some(_)) => return Ordering::Less,
        (Some(_), None) => return Ordering::Greater,
        (Some(a), Some(b)) => (parse(a), parse(b)),
    };
    let len = a.numbers.len().max(b.numbers.len());
    for i in 0..len {
        let o = a.numbers.get(i).unwrap_or(&0).cmp(b.numbers.get(i).unwrap_or(&0));
        if o != Ordering::Equal {
            return o;
        }
    }
    match (a.pre, b.pre) {
        (None, None) => a.rest.cmp(b.rest),
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => compare_pre(x, y),
    }
}

/// Orders images oldest first: by version, then by creation time.
pub fn compare_images(a: &ImageEntry, b: &ImageEntry) -> Ordering {
    compare(a.version(), b.version())
        .then_with(|| a.created.cmp(&b.created))
        .then_with(|| a.name.cmp(&b.name))
}

/// The images of `reference`'s family visible from `namespace`: those with the same
/// display name, plus those with the same OS id as any of them. Sorted newest first.
pub fn family(index: &Index, namespace: &str, reference: &str) -> Vec<Arc<ImageEntry>> {
    let same_name: Vec<&Arc<ImageEntry>> = index
        .with_display_name(Some(namespace), reference)
        .chain(index.with_display_name(None, reference))
        .chain(index.get(Some(namespace), reference))
        .chain(index.get(None, reference))
        .collect();
    family_around(index, namespace, same_name)
}

/// The family of one image, visible from `namespace`: the image itself, the images with
/// its display name, and those with the same OS id as any of them. Sorted newest first.
/// The image need not be visible from `namespace` (it is then left out).
pub fn family_of(index: &Index, namespace: &str, image: &ImageEntry) -> Vec<Arc<ImageEntry>> {
    let mut out: Vec<Arc<ImageEntry>> = family_members(index, namespace, image).cloned().collect();
    out.sort_by(|a, b| compare_images(b, a));
    out
}

/// [`family_of`] in no order: the newest of a family needs one pass, not a sort.
pub fn newest_of_family<'a>(
    index: &'a Index,
    namespace: &'a str,
    image: &'a ImageEntry,
    keep: impl Fn(&ImageEntry) -> bool,
) -> Option<Arc<ImageEntry>> {
    family_members(index, namespace, image)
        .filter(|i| keep(i))
        .max_by(|a, b| compare_images(a, b))
        .cloned()
}

fn family_members<'a>(
    index: &'a Index,
    namespace: &'a str,
    image: &'a ImageEntry,
) -> impl Iterator<Item = &'a Arc<ImageEntry>> + 'a {
    let display = image.display_name.as_deref();
    let same_name: Vec<&Arc<ImageEntry>> = display
        .into_iter()
        .flat_map(|d| {
            index
                .with_display_name(Some(namespace), d)
                .chain(index.with_display_name(None, d))
        })
        .chain(index.get(image.scope.namespace(), &image.name))
        .collect();
    around(index, namespace, same_name)
}

/// The images visible from `namespace` that are among `same_name` or share an OS id
/// with one of them, newest first.
fn family_around(index: &Index, namespace: &str, same_name: Vec<&Arc<ImageEntry>>) -> Vec<Arc<ImageEntry>> {
    let mut out: Vec<Arc<ImageEntry>> = around(index, namespace, same_name).cloned().collect();
    out.sort_by(|a, b| compare_images(b, a));
    out
}

/// [`family_around`] in no order.
fn around<'a>(
    index: &'a Index,
    namespace: &'a str,
    same_name: Vec<&'a Arc<ImageEntry>>,
) -> impl Iterator<Item = &'a Arc<ImageEntry>> + 'a {
    let os_ids: Vec<&str> = same_name.iter().filter_map(|i| i.os_id.as_deref()).collect();
    index.visible_from(namespace).filter(move |i| {
        same_name.iter().any(|s| Arc::ptr_eq(s, i))
            || i.os_id.as_deref().is_some_and(|id| os_ids.contains(&id))
    })
}

/// Why the newest version was chosen, for annotations and warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewestChoice {
    /// The resolution.
    pub resolution: Resolution,
    /// How many candidates there were (1 = the name was not ambiguous).
    pub candidates: usize,
    /// One line saying which was picked and why.
    pub reason: String,
}

/// Resolves like VM Operator; if the display name is ambiguous, picks the newest Ready
/// candidate instead of failing (opt-in only). Not-found and ambiguity without any Ready
/// candidate stay errors.
pub fn resolve_newest(index: &Index, namespace: &str, reference: &str) -> Result<NewestChoice, ResolveError> {
    match resolve(index, namespace, reference) {
        Ok(resolution) => Ok(NewestChoice {
            resolution,
            candidates: 1,
            reason: "the name is unique".into(),
        }),
        Err(ResolveError::Ambiguous {
            reference,
            scope,
            candidates,
        }) => {
            let Some(newest) = newest_ready(&candidates) else {
                return Err(ResolveError::Ambiguous {
                    reference,
                    scope,
                    candidates,
                });
            };
            let reason = picked(newest, candidates.len(), &reference, "");
            Ok(NewestChoice {
                resolution: Resolution {
                    image: newest.clone(),
                    matched_by: crate::resolve::MatchedBy::DisplayName,
                },
                candidates: candidates.len(),
                reason,
            })
        }
        Err(e) => Err(e),
    }
}

/// The newest Ready image of `candidates`, if any is Ready.
fn newest_ready(candidates: &[Arc<ImageEntry>]) -> Option<&Arc<ImageEntry>> {
    candidates
        .iter()
        .filter(|c| c.ready)
        .max_by(|a, b| compare_images(a, b))
}

/// Why `newest` was picked among `of` candidates for `reference` (`how`: by what path).
fn picked(newest: &ImageEntry, of: usize, reference: &str, how: &str) -> String {
    format!(
        "picked {} (version {}) as the newest Ready of {of} images named {reference:?}{how}",
        newest.name,
        newest.version().unwrap_or("unknown"),
    )
}

/// [`resolve_newest`], then, for a reference VM Operator finds nothing for, its reading
/// as `<library>/<display name>` ([`crate::resolve::resolve_in`]), several images in the
/// library settled the same way.
pub fn resolve_newest_in(
    index: &Index,
    libraries: &crate::library::Libraries,
    namespace: &str,
    reference: &str,
) -> Result<NewestChoice, ResolveError> {
    match resolve_newest(index, namespace, reference) {
        Err(ResolveError::NotFound { .. }) if reference.contains('/') => {}
        other => return other,
    }
    match crate::resolve::resolve_in(index, libraries, namespace, reference) {
        Ok(resolution) => Ok(NewestChoice {
            resolution,
            candidates: 1,
            reason: "the name is unique in its content library".into(),
        }),
        Err(ResolveError::AmbiguousInLibrary {
            reference,
            libraries,
            candidates,
        }) => {
            let Some(newest) = newest_ready(&candidates).cloned() else {
                return Err(ResolveError::AmbiguousInLibrary {
                    reference,
                    libraries,
                    candidates,
                });
            };
            Ok(NewestChoice {
                reason: picked(
                    &newest,
                    candidates.len(),
                    &reference,
                    " through their content library",
                ),
                resolution: Resolution {
                    image: newest,
                    matched_by: crate::resolve::MatchedBy::Library,
                },
                candidates: candidates.len(),
            })
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn numeric_segments_compare_as_numbers() {
        assert_eq!(compare(Some("22.04.10"), Some("22.04.9")), Greater);
        assert_eq!(compare(Some("9.4"), Some("10.0")), Less);
        assert_eq!(compare(Some("1.2"), Some("1.2.0")), Equal);
        assert_eq!(compare(Some("v2.0"), Some("2.0")), Equal);
    }

    #[test]
    fn pre_releases_sort_before_releases() {
        assert_eq!(compare(Some("5.0-rc1"), Some("5.0")), Less);
        assert_eq!(compare(Some("5.0-rc.2"), Some("5.0-rc.10")), Less);
        assert_eq!(compare(Some("5.0rc1"), Some("5.0")), Less);
        assert_eq!(compare(Some("5.0-beta"), Some("5.0-alpha")), Greater);
    }

    #[test]
    fn build_metadata_is_ignored_and_missing_versions_sort_first() {
        assert_eq!(compare(Some("12.7+build.1"), Some("12.7")), Equal);
        assert_eq!(compare(None, Some("0.1")), Less);
        assert_eq!(compare(None, None), Equal);
    }

    #[test]
    fn creation_time_breaks_ties() {
        let mut a = ImageEntry::test("vmi-a", "x").with_version("1.0");
        let mut b = ImageEntry::test("vmi-b", "x").with_version("1.0");
        a.created = Some("2026-01-01T00:00:00Z".into());
        b.created = Some("2026-02-01T00:00:00Z".into());
        assert_eq!(compare_images(&a, &b), Less);
    }

    fn index() -> Index {
        Index::from_entries([
            ImageEntry::test("vmi-1", "debian-12")
                .in_ns("dev")
                .with_version("12.7"),
            ImageEntry::test("vmi-2", "debian-12")
                .in_ns("dev")
                .with_version("12.10"),
            ImageEntry::test("vmi-3", "debian-12")
                .in_ns("dev")
                .with_version("12.11")
                .not_ready(),
            ImageEntry::test("vmi-4", "ubuntu").with_version("24.04"),
        ])
    }

    #[test]
    fn newest_ready_candidate_wins_only_when_asked() {
        assert!(resolve(&index(), "dev", "debian-12").is_err());
        let choice = resolve_newest(&index(), "dev", "debian-12").unwrap();
        assert_eq!(choice.resolution.image.name.as_ref(), "vmi-2");
        assert_eq!(choice.candidates, 3);
        assert!(choice.reason.contains("newest Ready of 3"), "{}", choice.reason);
    }

    #[test]
    fn unique_and_missing_names_behave_as_usual() {
        assert_eq!(resolve_newest(&index(), "dev", "ubuntu").unwrap().candidates, 1);
        assert!(matches!(
            resolve_newest(&index(), "dev", "nope"),
            Err(ResolveError::NotFound { .. })
        ));
    }

    #[test]
    fn no_ready_candidate_keeps_the_ambiguity_error() {
        let index = Index::from_entries([
            ImageEntry::test("vmi-1", "x").not_ready(),
            ImageEntry::test("vmi-2", "x").not_ready(),
        ]);
        assert!(matches!(
            resolve_newest(&index, "ns", "x"),
            Err(ResolveError::Ambiguous { .. })
        ));
    }

    #[test]
    fn families_group_by_name_and_os_and_sort_newest_first() {
        let index = Index::from_entries([
            ImageEntry {
                os_id: Some("ubuntu64Guest".into()),
                ..ImageEntry::test("vmi-1", "ubuntu-22.04").with_version("22.04")
            },
            ImageEntry {
                os_id: Some("ubuntu64Guest".into()),
                ..ImageEntry::test("vmi-2", "ubuntu-24.04").with_version("24.04")
            },
            ImageEntry {
                os_id: Some("rhel".into()),
                ..ImageEntry::test("vmi-3", "rhel").with_version("9")
            },
        ]);
        let names: Vec<String> = family(&index, "ns", "ubuntu-22.04")
            .iter()
            .map(|i| i.name.to_string())
            .collect();
        assert_eq!(names, ["vmi-2", "vmi-1"]);
    }

    #[test]
    fn an_images_family_is_its_names_and_its_os_and_the_newest_is_its_first() {
        let index = Index::from_entries([
            ImageEntry {
                os_id: Some("ubuntu64Guest".into()),
                ..ImageEntry::test("vmi-1", "ubuntu-22.04").with_version("22.04")
            },
            ImageEntry::test("vmi-2", "ubuntu-22.04")
                .in_ns("ns")
                .with_version("22.04.5"),
            ImageEntry {
                os_id: Some("ubuntu64Guest".into()),
                ..ImageEntry::test("vmi-3", "ubuntu-24.04").with_version("24.04")
            }
            .not_ready(),
            ImageEntry::test("vmi-4", "ubuntu-22.04")
                .in_ns("other")
                .with_version("99"),
            ImageEntry::test("vmi-5", "rhel").with_version("9"),
        ]);
        let image = index.get(None, "vmi-1").unwrap();
        let names = |v: &[Arc<ImageEntry>]| v.iter().map(|i| i.name.to_string()).collect::<Vec<_>>();
        assert_eq!(
            names(&family_of(&index, "ns", image)),
            ["vmi-3", "vmi-2", "vmi-1"]
        );
        // From a namespace image without an OS id: its display name brings in the rest.
        let copy = index.get(Some("ns"), "vmi-2").unwrap();
        assert_eq!(names(&family_of(&index, "ns", copy)), ["vmi-3", "vmi-2", "vmi-1"]);
        let newest = |keep: fn(&ImageEntry) -> bool| {
            newest_of_family(&index, "ns", image, keep).map(|i| i.name.to_string())
        };
        assert_eq!(newest(|_| true).as_deref(), Some("vmi-3"));
        assert_eq!(newest(|i| i.ready).as_deref(), Some("vmi-2"));
        assert_eq!(newest(|_| false), None);
    }
}

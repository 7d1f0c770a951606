//! `kubectl vmimage where NAME`: what NAME resolves to from every namespace (live: the
//! cluster's, filtered by `-l`; offline: the catalog's, plus `-n`), namespaces with the
//! same outcome grouped, so a team sees where a manifest naming NAME works and where it
//! picks another image. A report: exit 0 whatever the outcomes. The grouping is the
//! shared crate's ([`vmimage_shared::spread`]).

use crate::{
    cli::{Format, Global, WhereArgs},
    error::{Error, Result},
    output::{self, Cell, ImageSummary, Style, Table},
    selector::Selector,
    source::{Scope, Source},
};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use serde::Serialize;
use std::{collections::BTreeMap, io::Write, process::ExitCode};
use vmimage_shared::{
    Index, ResolveError,
    api::ImageKind,
    resolve,
    resolve::qualified,
    spread::{Group, Outcome, spread},
};

/// The label every namespace carries with its own name (the API server sets it).
const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The report, as `-o json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// NAME as given.
    #[serde(rename = "ref")]
    pub reference: String,
    /// How many namespaces were looked from.
    pub namespace_count: usize,
    /// One entry per outcome.
    pub groups: Vec<GroupOut>,
}

/// Namespaces with one outcome.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOut {
    /// `Resolved`, `Ambiguous`, `NotFound` or `Invalid`.
    pub outcome: &'static str,
    /// The image NAME resolves to (`Resolved`), as the first namespace sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSummary>,
    /// Where it lives (`Resolved`): `namespace` (each namespace's own copy) or `cluster`;
    /// where the matches are (`Ambiguous`): `namespace`, `cluster`, `namespace and cluster`,
    /// or `library` (a `<library>/<display name>` reading naming several images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'static str>,
    /// The images to choose from (`Ambiguous`), as the first namespace sees them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<ImageSummary>,
    /// How many namespaces have this outcome.
    pub count: usize,
    /// Each namespace's answer.
    pub namespaces: Vec<NamespaceOut>,
}

/// One namespace's answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceOut {
    /// The namespace.
    pub namespace: String,
    /// The image NAME resolves to from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSummary>,
    /// Why it does not resolve (VM Operator's text first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The scope words of an outcome, for the SCOPE column and `scope`.
fn scope(outcome: &Outcome) -> Option<&'static str> {
    use vmimage_shared::resolve::AmbiguousIn;
    match outcome {
        Outcome::Resolved {
            kind: ImageKind::VirtualMachineImage,
            ..
        } => Some("namespace"),
        Outcome::Resolved {
            kind: ImageKind::ClusterVirtualMachineImage,
            ..
        } => Some("cluster"),
        Outcome::Ambiguous { scope, .. } => Some(match scope {
            AmbiguousIn::Namespace => "namespace",
            AmbiguousIn::Cluster => "cluster",
            AmbiguousIn::NamespaceAndCluster => "namespace and cluster",
        }),
        Outcome::AmbiguousInLibrary { .. } => Some("library"),
        Outcome::NotFound | Outcome::Invalid => None,
    }
}

/// The report of `groups` for `reference`.
pub fn report(reference: &str, groups: &[Group]) -> Report {
    let groups: Vec<GroupOut> = groups
        .iter()
        .map(|g| GroupOut {
            outcome: g.outcome.reason(),
            image: g.image().map(|r| ImageSummary::from(&*r.image)),
            scope: scope(&g.outcome),
            candidates: match g.outcome {
                Outcome::Ambiguous { .. } | Outcome::AmbiguousInLibrary { .. } => g
                    .error()
                    .map(|e| e.candidates().iter().map(|c| ImageSummary::from(&**c)).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            },
            count: g.members.len(),
            namespaces: g
                .members
                .iter()
                .map(|m| NamespaceOut {
                    namespace: m.namespace.clone(),
                    image: m.result.as_ref().ok().map(|r| ImageSummary::from(&*r.image)),
                    message: m
                        .result
                        .as_ref()
                        .err()
                        .map(|e| crate::not_found::explain(e, &m.namespace, None)),
                })
                .collect(),
        })
        .collect();
    Report {
        reference: reference.to_string(),
        namespace_count: groups.iter().map(|g| g.count).sum(),
        groups,
    }
}

/// One line saying how much the answers differ.
pub fn headline(report: &Report) -> String {
    let count = |outcome: &str| -> (usize, usize) {
        let groups = report.groups.iter().filter(|g| g.outcome == outcome);
        groups.fold((0, 0), |(g, n), group| (g + 1, n + group.count))
    };
    let (images, resolved) = count("Resolved");
    let (_, ambiguous) = count("Ambiguous");
    let (_, missing) = count("NotFound");
    let mut parts = Vec::new();
    match images {
        0 => {}
        1 => parts.push(format!("resolves to one image in {resolved}")),
        n => parts.push(format!("resolves to {n} different images in {resolved}")),
    }
    if ambiguous > 0 {
        parts.push(format!("ambiguous in {ambiguous}"));
    }
    if missing > 0 {
        parts.push(format!("not found in {missing}"));
    }
    format!(
        "{} from {} namespace{}: {}",
        vmimage_shared::quote::go_quote(&report.reference),
        report.namespace_count,
        if report.namespace_count == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// The namespaces to look from, with their labels: the cluster's, or offline those the
/// catalog's images live in; plus `-n`, whichever the source.
async fn namespaces(
    source: &Source,
    index: &Index,
    extra: Option<&str>,
) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    match source.cluster() {
        Some(cluster) => {
            let api: Api<Namespace> = Api::all(cluster.client.clone());
            let list = api
                .list_metadata(&ListParams::default())
                .await
                .map_err(Error::cluster("list namespaces"))?;
            for ns in list.items {
                if let Some(name) = ns.metadata.name {
                    out.insert(name, ns.metadata.labels.unwrap_or_default());
                }
            }
        }
        None => {
            for ns in index.iter().filter_map(|i| i.scope.namespace()) {
                out.entry(ns.to_string()).or_default();
            }
        }
    }
    if let Some(ns) = extra {
        out.entry(ns.to_string()).or_default();
    }
    for (name, labels) in &mut out {
        labels
            .entry(NAME_LABEL.to_string())
            .or_insert_with(|| name.clone());
    }
    Ok(out)
}

pub async fn run(global: &Global, args: WhereArgs) -> Result<ExitCode> {
    if args.reference.is_empty() {
        return Err(Error::Usage(
            "NAME is empty: give a display name or a VMI ID".into(),
        ));
    }
    let selector = args
        .namespace_selector
        .as_deref()
        .map(Selector::parse)
        .transpose()
        .map_err(|e| Error::Usage(format!("-l: {e}")))?;
    let (source, _) = Source::open(global).await?;
    let images = source.images(&Scope::All).await?;
    let all = namespaces(&source, &images.index, global.namespace.as_deref()).await?;
    let chosen: Vec<&str> = all
        .iter()
        .filter(|(_, labels)| selector.as_ref().is_none_or(|s| s.matches(labels)))
        .map(|(name, _)| name.as_str())
        .collect();
    if chosen.is_empty() {
        crate::note!(
            "{}",
            match &args.namespace_selector {
                Some(s) => format!("No namespace matches -l {s}."),
                None =>
                    "No namespace to look from: the catalog has no namespaced image; name one with -n.".into(),
            }
        );
    }
    // A name VM Operator finds nothing for may be `<library>/<display name>`: the
    // libraries of the images it could name are read (nothing for any other name).
    let mut wanted: Vec<_> = chosen
        .iter()
        .filter(|ns| {
            args.reference.contains('/')
                && matches!(
                    resolve(&images.index, ns, &args.reference),
                    Err(ResolveError::NotFound { .. })
                )
        })
        .flat_map(|ns| qualified::candidates(&images.index, ns, &args.reference))
        .collect();
    wanted.sort_by(|a, b| (&a.scope, &a.name).cmp(&(&b.scope, &b.name)));
    wanted.dedup();
    let libraries = source.libraries(&wanted).await?;
    let groups = spread(&images.index, &libraries, &args.reference, chosen);
    let report = report(&args.reference, &groups);
    let mut out = output::stdout();
    match args.output {
        Format::Json | Format::Yaml => output::write_data(&mut out, args.output, &report)?,
        _ if report.groups.is_empty() => {}
        _ => {
            writeln!(out, "{}", headline(&report))?;
            table(&report).write(&mut out, output::use_color())?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// OUTCOME / IMAGE / SCOPE / NAMESPACES, a row per group.
fn table(report: &Report) -> Table {
    let mut table = Table::new(&["OUTCOME", "IMAGE", "SCOPE", "NAMESPACES"]);
    for g in &report.groups {
        let style = match g.outcome {
            "Resolved" => Style::Plain,
            "Ambiguous" => Style::Warn,
            _ => Style::Bad,
        };
        let image = match (&g.image, g.candidates.as_slice()) {
            (Some(i), _) => i.name.clone(),
            (None, []) => "<none>".into(),
            (None, candidates) => candidates
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        };
        let names: Vec<&str> = g.namespaces.iter().map(|n| n.namespace.as_str()).collect();
        table.rows.push(vec![
            Cell::styled(g.outcome, style),
            image.into(),
            g.scope.unwrap_or("").into(),
            format!("{}: {}", g.count, names.join(",")).into(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmimage_shared::ImageEntry;

    fn groups() -> Vec<Group> {
        let index = Index::from_entries([
            ImageEntry::test("vmi-cluster", "ubuntu").with_version("22.04"),
            ImageEntry::test("vmi-copy", "ubuntu").in_ns("dev"),
            ImageEntry::test("vmi-own", "ubuntu-lts").in_ns("qa"),
        ]);
        spread(
            &index,
            vmimage_shared::library::Libraries::none(),
            "ubuntu",
            ["team-a", "team-b", "dev", "qa"],
        )
    }

    #[test]
    fn the_table_has_a_row_per_outcome_with_the_namespaces_counted() {
        let report = report("ubuntu", &groups());
        let mut text = Vec::new();
        table(&report).write(&mut text, false).unwrap();
        let text = String::from_utf8(text).unwrap();
        let rows: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split("   ").map(str::trim).filter(|c| !c.is_empty()).collect())
            .collect();
        assert_eq!(rows[0], ["OUTCOME", "IMAGE", "SCOPE", "NAMESPACES"]);
        assert_eq!(
            rows[1],
            ["Resolved", "vmi-cluster", "cluster", "3: qa,team-a,team-b"]
        );
        assert_eq!(
            rows[2],
            [
                "Ambiguous",
                "vmi-copy,vmi-cluster",
                "namespace and cluster",
                "1: dev"
            ]
        );
        assert_eq!(
            headline(&report),
            "\"ubuntu\" from 4 namespaces: resolves to one image in 3, ambiguous in 1"
        );
    }

    #[test]
    fn json_keeps_each_namespaces_answer() {
        let v = serde_json::to_value(report("ubuntu", &groups())).unwrap();
        assert_eq!(v["ref"], "ubuntu");
        assert_eq!(v["namespaceCount"], 4);
        let resolved = &v["groups"][0];
        assert_eq!(resolved["outcome"], "Resolved");
        assert_eq!(resolved["image"]["name"], "vmi-cluster");
        assert_eq!(resolved["image"]["version"], "22.04");
        assert_eq!(resolved["scope"], "cluster");
        assert_eq!(resolved["count"], 3);
        assert_eq!(resolved["namespaces"][0]["namespace"], "qa");
        assert_eq!(
            resolved["namespaces"][0]["image"]["kind"],
            "ClusterVirtualMachineImage"
        );
        assert!(resolved.get("candidates").is_none(), "{resolved}");
        let ambiguous = &v["groups"][1];
        assert_eq!(ambiguous["candidates"][0]["namespace"], "dev");
        let message = ambiguous["namespaces"][0]["message"].as_str().unwrap();
        assert!(
            message.starts_with("multiple VM images exist for \"ubuntu\" in namespace and cluster scope"),
            "{message}"
        );
    }

    #[test]
    fn not_found_everywhere_says_so() {
        let none = vmimage_shared::library::Libraries::none();
        let report = report("nope", &spread(&Index::new(), none, "nope", ["a", "b"]));
        assert_eq!(headline(&report), "\"nope\" from 2 namespaces: not found in 2");
        assert_eq!(report.groups[0].outcome, "NotFound");
        let message = report.groups[0].namespaces[1].message.as_deref().unwrap();
        assert!(message.contains("looked in namespace \"b\""), "{message}");
    }
}

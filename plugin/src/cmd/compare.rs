//! `kubectl vmimage compare A B`: how each display name resolves on two sides (clusters
//! by kubeconfig context, or catalog snapshots), so manifests can be promoted knowingly.

use crate::{
    cli::{CompareArgs, Format, Global},
    error::Result,
    output::{self, Cell, Style, Table},
    source::{Images, Scope, Source},
};
use serde::Serialize;
use std::{collections::BTreeSet, io::Write, path::Path, process::ExitCode};
use vmimage_shared::{ResolveError, resolve};

/// How a name resolves on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
enum Side {
    /// To exactly this image.
    Resolved { kind: String, name: String },
    /// To nothing.
    Missing,
    /// To several images.
    Ambiguous { candidates: usize },
}

impl Side {
    fn cell(&self) -> Cell {
        match self {
            Side::Resolved { name, .. } => name.clone().into(),
            Side::Missing => Cell::styled("<missing>", Style::Bad),
            Side::Ambiguous { candidates } => Cell::styled(format!("<ambiguous: {candidates}>"), Style::Warn),
        }
    }
}

#[derive(Debug, Serialize)]
struct Row {
    #[serde(rename = "displayName")]
    display_name: String,
    a: Side,
    b: Side,
    status: &'static str,
}

async fn open(global: Global, side: String) -> Result<(Images, String)> {
    let mut g = global.clone();
    let side = side.as_str();
    if Path::new(side).is_file() || side == "-" {
        g.catalog = Some(side.to_string());
    } else {
        g.context = Some(side.to_string());
        g.catalog = None;
    }
    let (source, ns) = Source::open(&g).await?;
    let ns = global.namespace.clone().unwrap_or(ns);
    Ok((source.images(&Scope::VisibleFrom(ns.clone())).await?, ns))
}

fn side(images: &Images, ns: &str, name: &str) -> Side {
    match resolve(&images.index, ns, name) {
        Ok(r) => Side::Resolved {
            kind: r.image.kind().to_string(),
            name: r.image.name.to_string(),
        },
        Err(ResolveError::Ambiguous { candidates, .. }) => Side::Ambiguous {
            candidates: candidates.len(),
        },
        Err(_) => Side::Missing,
    }
}

pub async fn run(global: &Global, args: CompareArgs) -> Result<ExitCode> {
    // Both sides at once, each on a thread of its own: two 100,000-image snapshots read
    // in about the time of one.
    let (a, b) = tokio::join!(
        tokio::spawn(open(global.clone(), args.a.clone())),
        tokio::spawn(open(global.clone(), args.b.clone()))
    );
    let joined = |side: std::result::Result<_, tokio::task::JoinError>| {
        side.map_err(|e| crate::error::Error::Failed(format!("reading a side of the comparison: {e}")))?
    };
    let ((a, ns_a), (b, ns_b)) = (joined(a)?, joined(b)?);
    let names: BTreeSet<String> = a
        .index
        .visible_from(&ns_a)
        .chain(b.index.visible_from(&ns_b))
        .filter_map(|i| i.display_name.as_deref().map(str::to_string))
        .collect();
    let rows: Vec<Row> = names
        .into_iter()
        .map(|name| {
            let (sa, sb) = (side(&a, &ns_a, &name), side(&b, &ns_b, &name));
            let status = match (&sa, &sb) {
                (Side::Resolved { name: x, .. }, Side::Resolved { name: y, .. }) if x == y => "Same",
                (Side::Resolved { .. }, Side::Resolved { .. }) => "Different",
                (Side::Missing, _) => "MissingInA",
                (_, Side::Missing) => "MissingInB",
                _ => "Ambiguous",
            };
            Row {
                display_name: name,
                a: sa,
                b: sb,
                status,
            }
        })
        .filter(|r| !args.differences || r.status != "Same")
        .collect();
    let mut out = std::io::stdout().lock();
    match args.output {
        Format::Json | Format::Yaml => output::write_data(&mut out, args.output, &rows)?,
        _ => {
            let mut table = Table::new(&["DISPLAY NAME", "A", "B", "STATUS"]);
            for r in &rows {
                let status = match r.status {
                    "Same" => Cell::from("Same"),
                    s => Cell::styled(s, Style::Warn),
                };
                table.rows.push(vec![
                    r.display_name.clone().into(),
                    r.a.cell(),
                    r.b.cell(),
                    status,
                ]);
            }
            writeln!(
                out,
                "A = {} (namespace {ns_a}), B = {} (namespace {ns_b})",
                args.a, args.b
            )?;
            table.write(&mut out, output::use_color())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

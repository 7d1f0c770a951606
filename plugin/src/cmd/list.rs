//! `kubectl vmimage list`: images of both scopes visible from a namespace (or all).

use crate::{
    cli::{Format, Global, ListArgs},
    error::{Error, Result},
    output::{self, Cell, Style, Table},
    selector::Selector,
    source::{Images, Scope, Source},
};
use std::{collections::HashSet, io::Write, process::ExitCode, sync::Arc};
use vmimage_shared::{ImageEntry, Index, ResolveError, resolve};

/// Whether `image`'s display name is ambiguous for a VM that could use it: from its own
/// namespace (namespaced images), from `view_ns`, or, listing everything, from any
/// namespace.
fn ambiguous(
    index: &Index,
    image: &ImageEntry,
    view_ns: Option<&str>,
    namespaced_names: &HashSet<&str>,
) -> bool {
    let Some(display) = image.display_name.as_deref() else {
        return false;
    };
    let is_ambiguous = |ns: &str| matches!(resolve(index, ns, display), Err(ResolveError::Ambiguous { .. }));
    match (image.scope.namespace(), view_ns) {
        (Some(ns), _) => is_ambiguous(ns),
        (None, Some(ns)) => is_ambiguous(ns),
        (None, None) => {
            index.with_display_name(None, display).nth(1).is_some() || namespaced_names.contains(display)
        }
    }
}

/// The images that pass the filters, sorted: namespaced first, then by display name.
pub fn filtered(images: &Images, args: &ListArgs) -> Result<Vec<Arc<ImageEntry>>> {
    let selector = args
        .selector
        .as_deref()
        .map(Selector::parse)
        .transpose()
        .map_err(Error::Usage)?;
    let mut rows: Vec<Arc<ImageEntry>> = images
        .index
        .iter()
        .filter(|i| {
            args.display_name
                .as_deref()
                .is_none_or(|d| i.display_name.as_deref() == Some(d))
        })
        .filter(|i| !args.ready || i.ready)
        .filter(|i| {
            args.image_type.as_deref().is_none_or(|t| {
                i.image_type
                    .as_deref()
                    .is_some_and(|it| it.eq_ignore_ascii_case(t))
            })
        })
        .filter(|i| selector.as_ref().is_none_or(|s| s.matches(&i.labels.to_map())))
        .cloned()
        .collect();
    rows.sort_by(|a, b| {
        (
            a.scope.namespace().is_none(),
            a.scope.namespace(),
            &a.display_name,
            &a.name,
        )
            .cmp(&(
                b.scope.namespace().is_none(),
                b.scope.namespace(),
                &b.display_name,
                &b.name,
            ))
    });
    Ok(rows)
}

/// The table of `rows`; `wide` adds provider, capabilities and OS id.
pub fn table(images: &Images, rows: &[Arc<ImageEntry>], view_ns: Option<&str>, wide: bool) -> Table {
    let mut header = vec![
        "NAME",
        "DISPLAY NAME",
        "SCOPE",
        "TYPE",
        "READY",
        "OS",
        "VERSION",
        "AGE",
    ];
    if wide {
        header.extend(["OS ID", "PROVIDER", "CAPABILITIES"]);
    }
    let mut table = Table {
        header,
        rows: Vec::new(),
    };
    // Listing everything, a cluster image is ambiguous wherever a namespace has its name too.
    let namespaced_names: HashSet<&str> = match view_ns {
        Some(_) => HashSet::new(),
        None => images
            .index
            .iter()
            .filter(|i| i.scope.namespace().is_some())
            .filter_map(|i| i.display_name.as_deref())
            .collect(),
    };
    for image in rows {
        let display = image.display_name.as_deref().unwrap_or("<none>").to_string();
        let display = if ambiguous(&images.index, image, view_ns, &namespaced_names) {
            Cell::styled(format!("{display} (ambiguous)"), Style::Warn)
        } else {
            display.into()
        };
        let object = images.object(image);
        let os_type = object
            .and_then(|o| o.status.os_info.as_ref())
            .and_then(|o| o.type_.clone());
        let os_version = image.os_version.as_deref().unwrap_or("");
        let mut row = vec![
            image.name.to_string().into(),
            display,
            output::scope_cell(image).into(),
            image.image_type.as_deref().unwrap_or("").into(),
            if image.ready {
                Cell::from("True")
            } else {
                Cell::styled("False", Style::Bad)
            },
            format!("{} {}", os_type.unwrap_or_default(), os_version)
                .trim()
                .to_string()
                .into(),
            image.product_version.as_deref().unwrap_or("").into(),
            output::age(image.created.as_deref()).into(),
        ];
        if wide {
            let caps = object
                .map(|o| o.status.capabilities.join(","))
                .unwrap_or_default();
            row.extend([
                image.os_id.as_deref().unwrap_or("").into(),
                image.provider.as_deref().unwrap_or("").into(),
                caps.into(),
            ]);
        }
        table.rows.push(row);
    }
    table
}

/// Prints `rows` in `format`.
pub fn print(images: &Images, rows: &[Arc<ImageEntry>], view_ns: Option<&str>, format: Format) -> Result<()> {
    let mut out = output::stdout();
    match format {
        Format::Json | Format::Yaml => {
            let objects = rows.iter().filter_map(|r| images.object(r)).collect();
            output::write_data(&mut out, format, &output::list_of(objects))?;
        }
        Format::Name => rows
            .iter()
            .try_for_each(|r| writeln!(out, "{}", output::resource_name(r)))?,
        Format::Id => rows.iter().try_for_each(|r| writeln!(out, "{}", r.name))?,
        Format::Table | Format::Wide => {
            if rows.is_empty() {
                match view_ns {
                    Some(ns) => crate::note!("No images found in namespace {ns} or cluster scope."),
                    None => crate::note!("No images found."),
                }
                return Ok(());
            }
            table(images, rows, view_ns, format == Format::Wide).write(&mut out, output::use_color())?;
        }
    }
    out.flush()?;
    Ok(())
}

pub async fn run(global: &Global, args: ListArgs) -> Result<ExitCode> {
    let (source, namespace) = Source::open(global).await?;
    let (scope, view_ns) = if args.all_namespaces {
        (Scope::All, None)
    } else {
        (Scope::VisibleFrom(namespace.clone()), Some(namespace.as_str()))
    };
    let images = source.images(&scope).await?;
    let rows = filtered(&images, &args)?;
    print(&images, &rows, view_ns, args.output)?;
    Ok(ExitCode::SUCCESS)
}

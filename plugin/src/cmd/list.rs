//! `kubectl vmimage list`: images of both scopes visible from a namespace (or all).

use crate::{
    cli::{Global, ListArgs},
    error::{Error, Result},
    output::{self, Cell, Kind, Printer, ShownImage, Style, Table},
    selector::Selector,
    source::{Images, Scope, Source},
};
use serde::Serialize;
use std::{borrow::Cow, collections::HashSet, io::Write, process::ExitCode, sync::Arc};
use vmimage_shared::{ImageEntry, Index, ResolveError, api::Image, resolve};

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

/// The list filters (`--display-name`, `--ready`, `--type`, `-l`).
pub struct Filter {
    display_name: Option<String>,
    ready: bool,
    image_type: Option<String>,
    selector: Option<Selector>,
}

impl Filter {
    /// The filters of `args`.
    pub fn new(args: &ListArgs) -> Result<Self> {
        Ok(Self {
            display_name: args.display_name.clone(),
            ready: args.ready,
            image_type: args.image_type.clone(),
            selector: args
                .selector
                .as_deref()
                .map(Selector::parse)
                .transpose()
                .map_err(|e| Error::Usage(e.to_string()))?,
        })
    }

    /// Whether `i` passes.
    pub fn matches(&self, i: &ImageEntry) -> bool {
        self.display_name
            .as_deref()
            .is_none_or(|d| i.display_name.as_deref() == Some(d))
            && (!self.ready || i.ready)
            && self.image_type.as_deref().is_none_or(|t| {
                i.image_type
                    .as_deref()
                    .is_some_and(|it| it.eq_ignore_ascii_case(t))
            })
            && self
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&i.labels.to_map()))
    }
}

/// The images that pass the filters, sorted: namespaced first, then by display name.
pub fn filtered(images: &Images, args: &ListArgs) -> Result<Vec<Arc<ImageEntry>>> {
    let filter = Filter::new(args)?;
    let mut rows: Vec<Arc<ImageEntry>> = images
        .index
        .iter()
        .filter(|i| filter.matches(i))
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

/// One printed image: its index entry (for the table) and the object (for the rest):
/// borrowed from the listing, or owned when a watch brings it.
pub struct Row<'a> {
    /// The index entry.
    pub entry: Arc<ImageEntry>,
    /// The full object.
    pub image: Cow<'a, Image>,
    /// Whether data output keeps metadata.managedFields.
    pub managed_fields: bool,
}

impl Serialize for Row<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        ShownImage::new(&self.image, self.managed_fields).serialize(s)
    }
}

/// The rows of `entries` (those with their object).
pub fn rows<'a>(images: &'a Images, entries: &[Arc<ImageEntry>], managed_fields: bool) -> Vec<Row<'a>> {
    entries
        .iter()
        .filter_map(|e| {
            Some(Row {
                entry: e.clone(),
                image: Cow::Borrowed(images.object(e)?),
                managed_fields,
            })
        })
        .collect()
}

/// The table columns: VM Operator's printer columns of its image kinds (Display Name,
/// Type, Image Version, OS Name, OS Version, Hardware Version, Capabilities) with
/// vmimage's Scope, Ready and Age; `wide` adds the OS ID, firmware and provider.
pub const COLUMNS: &[&str] = &[
    "NAME",
    "DISPLAY NAME",
    "SCOPE",
    "TYPE",
    "IMAGE VERSION",
    "OS NAME",
    "OS VERSION",
    "HARDWARE VERSION",
    "CAPABILITIES",
    "READY",
    "AGE",
];

/// What `-o wide` adds.
pub const WIDE_COLUMNS: &[&str] = &["OS ID", "FIRMWARE", "PROVIDER"];

/// The table of `rows`.
pub fn table(images: &Images, rows: &[Row<'_>], view_ns: Option<&str>, wide: bool) -> Table {
    let mut table = Table::new(COLUMNS);
    if wide {
        table.header.extend(WIDE_COLUMNS.iter().map(|c| c.to_string()));
    }
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
    for row in rows {
        let (entry, st) = (&row.entry, &row.image.status);
        let display = entry.display_name.as_deref().unwrap_or("<none>").to_string();
        let display = if ambiguous(&images.index, entry, view_ns, &namespaced_names) {
            Cell::styled(format!("{display} (ambiguous)"), Style::Warn)
        } else {
            display.into()
        };
        let text = |v: Option<&str>| Cell::from(v.unwrap_or(""));
        let os = st.os_info.as_ref();
        let mut cells = vec![
            entry.name.to_string().into(),
            display,
            output::scope_cell(entry).into(),
            text(entry.image_type.as_deref()),
            text(st.product_info.as_ref().and_then(|p| p.version.as_deref())),
            text(os.and_then(|o| o.type_.as_deref())),
            text(os.and_then(|o| o.version.as_deref())),
            st.hardware_version
                .map(|v| v.to_string())
                .unwrap_or_default()
                .into(),
            // As the apiserver renders VM Operator's array column: JSON.
            if st.capabilities.is_empty() {
                Cell::from("")
            } else {
                serde_json::to_string(&st.capabilities).unwrap_or_default().into()
            },
            if entry.ready {
                Cell::from("True")
            } else {
                Cell::styled("False", Style::Bad)
            },
            output::age(entry.created.as_deref()).into(),
        ];
        if wide {
            cells.extend([
                text(entry.os_id.as_deref()),
                text(st.firmware.as_deref()),
                text(entry.provider.as_deref()),
            ]);
        }
        table.rows.push(cells);
    }
    table
}

/// How images print: the list table, their labels, `kind.group/name` and the VMI ID.
pub fn kind<'a>(images: &'a Images, view_ns: Option<&'a str>) -> Kind<'a, Row<'a>> {
    Kind {
        table: Box::new(move |rows: &[Row<'a>], wide| table(images, rows, view_ns, wide)),
        labels: Box::new(|r: &Row<'a>| r.image.metadata.labels.as_ref()),
        name: Box::new(|r: &Row<'a>| output::resource_name(&r.entry)),
        id: Box::new(|r: &Row<'a>| r.entry.name.to_string()),
    }
}

/// Says that nothing was found, on stderr, as kubectl does.
pub fn say_none_found(view_ns: Option<&str>) {
    match view_ns {
        Some(ns) => crate::note!("No images found in namespace {ns} or cluster scope."),
        None => crate::note!("No images found."),
    }
}

pub async fn run(global: &Global, args: ListArgs) -> Result<ExitCode> {
    if args.watch && global.catalog.is_some() {
        return Err(Error::Usage(
            "--watch follows the cluster's changes; a --catalog file has none (drop one of them)".into(),
        ));
    }
    let (source, namespace) = Source::open(global).await?;
    let (scope, view_ns) = if args.all_namespaces {
        (Scope::All, None)
    } else {
        (Scope::VisibleFrom(namespace.clone()), Some(namespace.as_str()))
    };
    let images = source.images(&scope).await?;
    let entries = filtered(&images, &args)?;
    let options = args.print.options();
    let mut printer = Printer::new(kind(&images, view_ns), &args.output, &options);
    let mut rows = rows(&images, &entries, args.print.show_managed_fields);
    printer.sort(&mut rows)?;
    let mut out = output::stdout();
    if rows.is_empty() && args.output.is_table() {
        say_none_found(view_ns);
    } else if args.watch && !args.output.is_table() {
        // Watching, kubectl prints each object on its own, never a List.
        for row in &rows {
            printer.print(&mut out, std::slice::from_ref(row), true)?;
        }
    } else {
        printer.print(&mut out, &rows, false)?;
    }
    out.flush()?;
    drop(rows);
    if args.watch {
        let cluster = source
            .cluster()
            .ok_or_else(|| Error::Usage("--watch needs a cluster".into()))?;
        let filter = Filter::new(&args)?;
        super::watch::images(
            cluster,
            &scope,
            &images,
            &filter,
            args.print.show_managed_fields,
            &mut printer,
            &mut out,
        )
        .await?;
    }
    Ok(ExitCode::SUCCESS)
}

//! `kubectl vmimage list`: images of both scopes visible from a namespace (or all).

use super::names::Names;
use crate::{
    cli::{Global, ListArgs},
    error::{Error, Result},
    output::{self, Cell, Kind, Printer, ShownImage, Style, Table},
    selector::Selector,
    source::{Details, Images, Scope, Source, UNREADABLE},
};
use serde::Serialize;
use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
    io::Write,
    process::ExitCode,
    sync::{Arc, RwLock},
};
use vmimage_shared::{ImageEntry, Index, ResolveError, api::Image, resolve};

/// Whether images' display names are ambiguous for a VM that could use them: from the
/// image's own namespace (namespaced images), from `view_ns`, or, listing everything, from
/// any namespace. Each (namespace, display name) is decided once: a table asks for every
/// row twice (on two threads), and many rows share a name.
pub(super) struct Ambiguity<'a> {
    index: &'a Index,
    /// Display names of namespaced images (listing everything, a cluster image is
    /// ambiguous wherever a namespace has its name too), made when first needed.
    namespaced_names: std::sync::OnceLock<HashSet<&'a str>>,
    decided: std::sync::Mutex<HashMap<Asked, bool, foldhash::fast::RandomState>>,
    /// The namespace viewed from, if any, shared by the keys of `decided`.
    view_ns: Option<Arc<str>>,
}

/// The namespace a display name is resolved from (none: any), and the name.
type Asked = (Option<Arc<str>>, Arc<str>);

impl<'a> Ambiguity<'a> {
    pub(super) fn new(index: &'a Index, view_ns: Option<&'a str>) -> Self {
        Self {
            index,
            namespaced_names: Default::default(),
            decided: Default::default(),
            view_ns: view_ns.map(Arc::from),
        }
    }

    pub(super) fn of(&self, image: &ImageEntry) -> bool {
        let Some(display) = &image.display_name else {
            return false;
        };
        let namespace = match &image.scope {
            vmimage_shared::index::Scope::Namespace(ns) => Some(ns.clone()),
            vmimage_shared::index::Scope::Cluster => self.view_ns.clone(),
        };
        let key = (namespace, display.clone());
        let decided = || self.decided.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&known) = decided().get(&key) {
            return known;
        }
        let answer = match key.0.as_deref() {
            Some(ns) => matches!(
                resolve(self.index, ns, display),
                Err(ResolveError::Ambiguous { .. })
            ),
            None => {
                let names = self.namespaced_names.get_or_init(|| {
                    self.index
                        .iter()
                        .filter(|i| i.scope.namespace().is_some())
                        .filter_map(|i| i.display_name.as_deref())
                        .collect()
                });
                self.index.with_display_name(None, display).nth(1).is_some() || names.contains(&**display)
            }
        };
        decided().insert(key, answer);
        answer
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
/// read again from the listing when printed, or carried whole when a watch brings it.
pub struct Row<'a> {
    /// The index entry.
    pub entry: Arc<ImageEntry>,
    /// Where the full object is.
    pub image: Shown<'a>,
    /// Whether data output keeps metadata.managedFields.
    pub managed_fields: bool,
}

/// Where a row's object is.
pub enum Shown<'a> {
    /// In the images listed, read again when printed; its table details (looked up once).
    Listed(&'a Images, Option<&'a Details>),
    /// Brought by a watch, with its table details.
    Watched(Box<Image>, Details),
}

impl Row<'_> {
    /// What the table shows beyond the index entry.
    fn details(&self) -> Cow<'_, Details> {
        match &self.image {
            Shown::Listed(_, details) => details.map_or_else(Cow::default, Cow::Borrowed),
            Shown::Watched(_, details) => Cow::Borrowed(details),
        }
    }
}

impl Serialize for Row<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.image {
            Shown::Listed(images, _) => {
                let image = images
                    .object(&self.entry)
                    .ok_or_else(|| serde::ser::Error::custom(UNREADABLE))?;
                ShownImage::new(&image, self.managed_fields).serialize(s)
            }
            Shown::Watched(image, _) => ShownImage::new(image, self.managed_fields).serialize(s),
        }
    }
}

/// The rows of `entries`.
pub fn rows<'a>(images: &'a Images, entries: &[Arc<ImageEntry>], managed_fields: bool) -> Vec<Row<'a>> {
    entries
        .iter()
        .map(|e| Row {
            entry: e.clone(),
            image: Shown::Listed(images, images.details(e)),
            managed_fields,
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

/// The table of `rows`: the header when asked for no rows (the printer asks for a row at
/// a time, and for the header once).
fn table(rows: &[Row<'_>], wide: bool, ambiguous: &(dyn Fn(&ImageEntry) -> bool + Sync)) -> Table {
    let mut table = Table::default();
    if rows.is_empty() {
        table = Table::new(COLUMNS);
        if wide {
            table.header.extend(WIDE_COLUMNS.iter().map(|c| c.to_string()));
        }
    }
    for row in rows {
        let entry = &row.entry;
        let details = row.details();
        let display = entry.display_name.as_deref().unwrap_or("<none>").to_string();
        let display = if ambiguous(entry) {
            Cell::styled(format!("{display} (ambiguous)"), Style::Warn)
        } else {
            display.into()
        };
        let text = |v: Option<&str>| Cell::from(v.unwrap_or(""));
        let mut cells = vec![
            entry.name.to_string().into(),
            display,
            output::scope_cell(entry).into(),
            text(entry.image_type.as_deref()),
            text(
                entry
                    .product_version
                    .as_deref()
                    .filter(|_| details.has_product_version),
            ),
            text(details.os_type.as_deref()),
            text(entry.os_version.as_deref()),
            details
                .hardware_version
                .map(|v| v.to_string())
                .unwrap_or_default()
                .into(),
            // As the apiserver renders VM Operator's array column: JSON.
            if details.capabilities.is_empty() {
                Cell::from("")
            } else {
                serde_json::to_string(&details.capabilities.iter().map(|c| &**c).collect::<Vec<_>>())
                    .unwrap_or_default()
                    .into()
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
                text(details.firmware.as_deref()),
                text(entry.provider.as_deref()),
            ]);
        }
        table.rows.push(cells);
    }
    table
}

/// How images print: the list table, their labels, `kind.group/name` and the VMI ID.
pub fn kind<'a>(images: &'a Images, view_ns: Option<&'a str>) -> Kind<'a, Row<'a>> {
    let ambiguity = Ambiguity::new(&images.index, view_ns);
    kind_judged(Box::new(move |entry| ambiguity.of(entry)))
}

/// [`kind`] while watching: names judged ambiguous on `names`, which the watch keeps
/// current, so an image that arrives later can make its name ambiguous (or leave it not).
pub fn kind_watched<'a>(view_ns: Option<&'a str>, names: Arc<RwLock<Names>>) -> Kind<'a, Row<'a>> {
    kind_judged(Box::new(move |entry| {
        let names = names.read().unwrap_or_else(|e| e.into_inner());
        names.ambiguous(entry, view_ns)
    }))
}

/// Judges whether an image's display name is ambiguous.
type Judge<'a> = Box<dyn Fn(&ImageEntry) -> bool + Sync + 'a>;

fn kind_judged<'a>(ambiguous: Judge<'a>) -> Kind<'a, Row<'a>> {
    Kind {
        table: Box::new(move |rows: &[Row<'a>], wide| table(rows, wide, &*ambiguous)),
        labels: Box::new(|r: &Row<'a>| Some(Cow::Owned(r.entry.labels.to_map()))),
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
    super::watch::refuse_offline(args.watch, global)?;
    let (source, namespace) = Source::open(global).await?;
    let (scope, view_ns) = if args.all_namespaces {
        (Scope::All, None)
    } else {
        (Scope::VisibleFrom(namespace.clone()), Some(namespace.as_str()))
    };
    let images = source.images(&scope).await?;
    let entries = filtered(&images, &args)?;
    let options = args.print.options();
    // Watching, names are counted (and kept current) rather than resolved on the listing.
    let names = args
        .watch
        .then(|| Arc::new(RwLock::new(Names::of(&images.index))));
    let kind = match &names {
        Some(names) => kind_watched(view_ns, names.clone()),
        None => kind(&images, view_ns),
    };
    let mut printer = Printer::new(kind, &args.output, &options);
    let mut rows = rows(&images, &entries, args.print.show_managed_fields);
    printer.sort(&mut rows)?;
    let mut out = output::stdout();
    if rows.is_empty() && args.output.is_table() {
        say_none_found(view_ns);
    } else {
        printer.print_first(&mut out, &rows, false, args.watch)?;
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
            super::watch::Watched::Scope(&scope),
            &images,
            |entry| filter.matches(entry),
            names.as_deref(),
            args.print.show_managed_fields,
            &mut printer,
            &mut out,
        )
        .await?;
    }
    Ok(ExitCode::SUCCESS)
}

//! `kubectl vmimage resolve REF...`: the one image VM Operator would use for each ref.

use crate::{
    cli::{Format, Global, ResolveArgs},
    error::{Error, Result},
    output::{self, Table},
    source::{Images, Scope, Source},
};
use serde::Serialize;
use std::{io::Write, process::ExitCode, sync::Arc};
use vmimage_shared::{
    ImageEntry, ResolveError,
    library::Libraries,
    resolve,
    resolve::{qualified, resolve_in},
    select::{ImageSelector, SelectError},
};

/// Longest reference accepted: longer strings cannot be display names or object names.
const MAX_REF: usize = 1024;

/// A successful resolution, as `-o json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolved {
    /// The reference as given.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The VM namespace it was resolved for.
    pub namespace: String,
    /// `VirtualMachineImage` or `ClusterVirtualMachineImage`.
    pub kind: &'static str,
    /// The object name (VMI ID).
    pub name: String,
    /// The image's namespace (namespaced images only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_namespace: Option<String>,
    /// `status.name`.
    pub display_name: Option<String>,
    /// Whether the image is Ready.
    pub ready: bool,
    /// `status.type`.
    #[serde(rename = "type")]
    pub image_type: Option<String>,
    /// Product or OS version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A failed resolution, as `-o json` prints it.
#[derive(Debug, Serialize)]
pub struct Failed {
    /// The reference as given.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The VM namespace it was resolved for.
    pub namespace: String,
    /// What went wrong.
    pub error: FailureBody,
}

/// `error` of a failed resolution.
#[derive(Debug, Serialize)]
pub struct FailureBody {
    /// `NotFound`, `Ambiguous`, `NoMatch` (a selector) or `Invalid`.
    pub reason: &'static str,
    /// The full message (VM Operator's text first).
    pub message: String,
    /// Images to choose from (ambiguous) or near misses (not found).
    pub candidates: Vec<Resolved>,
}

/// One ref's outcome.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// Resolved.
    Ok(Resolved),
    /// Not resolved.
    Err(Failed),
}

/// Describes `image` as resolved for `reference` from `namespace`.
pub fn resolved(reference: &str, namespace: &str, image: &ImageEntry) -> Resolved {
    Resolved {
        reference: reference.to_string(),
        namespace: namespace.to_string(),
        kind: image.kind().as_str(),
        name: image.name.to_string(),
        image_namespace: image.scope.namespace().map(str::to_string),
        display_name: image.display_name.as_deref().map(str::to_string),
        ready: image.ready,
        image_type: image.image_type.as_deref().map(str::to_string),
        version: image.version().map(str::to_string),
    }
}

/// Resolves one reference into an outcome (also used by other commands); `newest`
/// settles ambiguity with the newest Ready candidate. The answer depends only on the
/// images a VM in `namespace` can see (unlike `get`, which also says where else an
/// image exists), so a catalog snapshot gives the same answer as the live cluster.
/// The answer for `reference`; `everywhere`, when read, holds every image, to say where
/// a name that is not visible from `namespace` does exist.
///
/// A reference VM Operator finds nothing for is then read as `<library>/<display name>`
/// against `libraries`.
pub fn outcome(
    index: &vmimage_shared::Index,
    libraries: &Libraries,
    everywhere: Option<&vmimage_shared::Index>,
    namespace: &str,
    reference: &str,
    newest: bool,
) -> Outcome {
    let failed = failure(reference, namespace);
    if reference.len() > MAX_REF {
        return failed(
            "Invalid",
            format!(
                "the reference is {} bytes long; at most {MAX_REF} are allowed",
                reference.len()
            ),
            &[],
        );
    }
    let result = if newest {
        vmimage_shared::version::resolve_newest_in(index, libraries, namespace, reference).map(|choice| {
            if choice.candidates > 1 {
                crate::note!("note: {}", choice.reason);
            }
            choice.resolution
        })
    } else {
        resolve_in(index, libraries, namespace, reference)
    };
    match result {
        Ok(r) => Outcome::Ok(resolved(reference, namespace, &r.image)),
        Err(e @ ResolveError::Empty) => failed(e.reason(), e.to_string(), &[]),
        Err(e @ ResolveError::NotFound { .. }) => failed(
            e.reason(),
            crate::not_found::explain(&e, namespace, everywhere),
            &crate::not_found::suggestions(&e),
        ),
        Err(e) => failed(e.reason(), e.to_string(), e.candidates()),
    }
}

/// A failed outcome for `reference` in `namespace`, given its reason, message and
/// candidates.
fn failure<'a>(
    reference: &'a str,
    namespace: &'a str,
) -> impl Fn(&'static str, String, &[Arc<ImageEntry>]) -> Outcome + 'a {
    move |reason, message, candidates| {
        Outcome::Err(Failed {
            reference: reference.to_string(),
            namespace: namespace.to_string(),
            error: FailureBody {
                reason,
                message,
                candidates: candidates
                    .iter()
                    .map(|c| resolved(reference, namespace, c))
                    .collect(),
            },
        })
    }
}

/// The content libraries `refs` may need (for `<library>/<display name>`), read for the
/// images a ref VM Operator finds nothing for could name; and whether a ref is still
/// missing then.
async fn decide(
    source: &Source,
    images: &Images,
    namespace: &str,
    refs: &[String],
) -> Result<(Libraries, bool)> {
    let not_found = |r: &&String| {
        matches!(
            resolve(&images.index, namespace, r),
            Err(ResolveError::NotFound { .. })
        )
    };
    let wanted: Vec<Arc<ImageEntry>> = refs
        .iter()
        .filter(not_found)
        .flat_map(|r| qualified::candidates(&images.index, namespace, r))
        .collect();
    let libraries = source.libraries(&wanted).await?;
    // NB: a qualified name that resolves is not missing, so costs no read of every image.
    let missing = refs.iter().any(|r| {
        matches!(
            resolve_in(&images.index, &libraries, namespace, r),
            Err(ResolveError::NotFound { .. })
        )
    });
    Ok((libraries, missing))
}

/// What `--selector` (and `--version`) pick from `namespace`, as an outcome whose `ref`
/// is the selector as shown; the reason goes to stderr.
fn selected(index: &vmimage_shared::Index, namespace: &str, selector: &ImageSelector) -> Outcome {
    let shown = selector.to_string();
    match selector.choose(index, namespace) {
        Ok(picked) => {
            crate::note!("note: {}", picked.reason);
            Outcome::Ok(resolved(&shown, namespace, &picked.image))
        }
        Err(e @ SelectError::NoMatch { .. }) => {
            let nearest = match &e {
                SelectError::NoMatch { nearest, .. } => nearest.clone(),
                _ => Vec::new(),
            };
            failure(&shown, namespace)("NoMatch", e.to_string(), &nearest)
        }
        Err(e) => failure(&shown, namespace)("Invalid", e.to_string(), &[]),
    }
}

pub async fn run(global: &Global, args: ResolveArgs) -> Result<ExitCode> {
    let selector = crate::selector::image_selector(args.selector.as_deref(), args.version.as_deref())?;
    let (source, namespace) = Source::open(global).await?;
    // A selector weighs every image; refs need only the images that decide them.
    let deciding = match selector {
        None => source.images_deciding(&namespace, &args.refs).await?,
        Some(_) => None,
    };
    let images = match deciding {
        Some(images) => {
            images.warn();
            images
        }
        None => source.images(&Scope::VisibleFrom(namespace.clone())).await?,
    };
    let (libraries, missing) = decide(&source, &images, &namespace, &args.refs).await?;
    // Every image is read only when a name is missing, to say where it does exist.
    let everywhere = match missing {
        true => source.all_images_for_hints().await,
        false => None,
    };
    let everywhere = everywhere.as_ref().map(|i| &*i.index);
    let outcomes: Vec<Outcome> = match &selector {
        Some(selector) => vec![selected(&images.index, &namespace, selector)],
        None => args
            .refs
            .iter()
            .map(|r| outcome(&images.index, &libraries, everywhere, &namespace, r, args.newest))
            .collect(),
    };
    let failed = outcomes.iter().filter(|o| matches!(o, Outcome::Err(_))).count();
    let mut out = std::io::stdout().lock();
    // Templates see what -o json prints: the one outcome, or the array of them.
    let data = || match outcomes.as_slice() {
        [one] => serde_json::to_value(one),
        all => serde_json::to_value(all),
    };
    let Some(format) = args.output.format() else {
        let data = data().map_err(|e| Error::Failed(e.to_string()))?;
        output::print_templated(&mut out, &args.output, &data, args.no_headers)?;
        for o in &outcomes {
            if let Outcome::Err(f) = o {
                crate::note!("error: {}", f.error.message);
            }
        }
        out.flush()?;
        return Ok(ExitCode::from(u8::from(failed > 0)));
    };
    match format {
        Format::Json | Format::Yaml if outcomes.len() == 1 => {
            output::write_data(&mut out, format, &outcomes[0])?
        }
        Format::Json | Format::Yaml => output::write_data(&mut out, format, &outcomes)?,
        Format::Name | Format::Id => {
            for o in &outcomes {
                match o {
                    Outcome::Ok(r) if format == Format::Id => writeln!(out, "{}", r.name)?,
                    Outcome::Ok(r) => writeln!(
                        out,
                        "{}.{}/{}",
                        r.kind.to_lowercase(),
                        vmimage_shared::api::GROUP,
                        r.name
                    )?,
                    Outcome::Err(f) => crate::note!("error: {}", f.error.message),
                }
            }
        }
        Format::Table | Format::Wide => {
            let mut table = Table::new(&["REF", "NAME", "KIND", "SCOPE", "DISPLAY NAME", "READY"]);
            for o in &outcomes {
                match o {
                    Outcome::Ok(r) => table.rows.push(vec![
                        r.reference.clone().into(),
                        r.name.clone().into(),
                        r.kind.into(),
                        r.image_namespace
                            .clone()
                            .unwrap_or_else(|| "cluster".into())
                            .into(),
                        r.display_name.clone().unwrap_or_default().into(),
                        if r.ready { "True".into() } else { "False".into() },
                    ]),
                    Outcome::Err(f) => crate::note!("error: {}", f.error.message),
                }
            }
            if !table.rows.is_empty() {
                table.write_with(&mut out, output::use_color(), !args.no_headers)?;
            }
        }
    }
    out.flush()?;
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

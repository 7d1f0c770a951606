//! `kubectl vmimage catalog export`: a snapshot of the images, in exactly the shape every
//! `--catalog` flag reads (a Kubernetes List), for offline resolution and comparison.

use crate::{
    cli::{CatalogAction, CatalogArgs, Global},
    error::Result,
    output,
    source::{Scope, Source},
};
use std::io::Write;
use std::process::ExitCode;

pub async fn run(global: &Global, args: CatalogArgs) -> Result<ExitCode> {
    let CatalogAction::Export {
        all_namespaces,
        output: format,
    } = args.action;
    let (source, namespace) = Source::open(global).await?;
    let scope = if all_namespaces {
        Scope::All
    } else {
        Scope::VisibleFrom(namespace)
    };
    let images = source.images(&scope).await?;
    let mut out = output::stdout();
    output::write_data(
        &mut out,
        format,
        &output::list_of(images.all_objects(for_snapshot)),
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A snapshot's form of an image: its apiVersion always set, without the server's
/// bookkeeping (noise when two snapshots are compared).
fn for_snapshot(o: &mut vmimage_shared::api::Image) {
    o.api_version
        .get_or_insert_with(|| format!("{}/v1alpha6", vmimage_shared::api::GROUP));
    o.metadata.managed_fields = None;
    o.metadata.resource_version = None;
    o.metadata.uid = None;
    o.metadata.generation = None;
}

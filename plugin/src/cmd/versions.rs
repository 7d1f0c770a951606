//! `kubectl vmimage versions NAME`: every image sharing the display name or the OS family,
//! newest first, so users see what they can pin to.

use crate::{
    cli::{Format, GetArgs, Global},
    error::{Error, Result},
    output::{self, Cell, Style, Table},
    source::{Scope, Source},
};
use std::{io::Write, process::ExitCode};
use vmimage_shared::version::family;

pub async fn run(global: &Global, args: GetArgs) -> Result<ExitCode> {
    let (source, namespace) = Source::open(global).await?;
    let images = source.images(&Scope::VisibleFrom(namespace.clone())).await?;
    let found = family(&images.index, &namespace, &args.reference);
    if found.is_empty() {
        return Err(Error::Failed(format!(
            "no image named {:?} (or of its OS family) is visible from namespace {namespace}",
            args.reference
        )));
    }
    let mut out = std::io::stdout().lock();
    match args.output {
        Format::Table | Format::Wide => {
            let mut table = Table {
                header: vec![
                    "VERSION",
                    "NAME",
                    "DISPLAY NAME",
                    "SCOPE",
                    "TYPE",
                    "READY",
                    "OS ID",
                    "AGE",
                ],
                rows: vec![],
            };
            for i in &found {
                table.rows.push(vec![
                    i.version().unwrap_or("<none>").into(),
                    i.name.to_string().into(),
                    i.display_name.as_deref().unwrap_or("<none>").into(),
                    output::scope_cell(i).into(),
                    i.image_type.as_deref().unwrap_or("").into(),
                    if i.ready {
                        Cell::from("True")
                    } else {
                        Cell::styled("False", Style::Bad)
                    },
                    i.os_id.as_deref().unwrap_or("").into(),
                    output::age(i.created.as_deref()).into(),
                ]);
            }
            table.write(&mut out, output::use_color())?;
        }
        Format::Id => found.iter().try_for_each(|i| writeln!(out, "{}", i.name))?,
        Format::Name => found
            .iter()
            .try_for_each(|i| writeln!(out, "{}", output::resource_name(i)))?,
        Format::Json | Format::Yaml => {
            let rows: Vec<_> = found
                .iter()
                .map(|i| super::resolve::resolved(&args.reference, &namespace, i))
                .collect();
            output::write_data(&mut out, args.output, &rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

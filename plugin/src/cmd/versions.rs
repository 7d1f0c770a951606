//! `kubectl vmimage versions NAME`: every image sharing the display name or the OS family,
//! newest first, so users see what they can pin to.

use crate::{
    cli::{Format, Global, VersionsArgs},
    error::{Error, Result},
    output::{self, Cell, Style, Table},
    source::{Scope, Source},
};
use std::{io::Write, process::ExitCode};
use vmimage_shared::version::family;

pub async fn run(global: &Global, args: VersionsArgs) -> Result<ExitCode> {
    let (source, namespace) = Source::open(global).await?;
    let images = source.images(&Scope::VisibleFrom(namespace.clone())).await?;
    let found = family(&images.index, &namespace, &args.reference);
    if found.is_empty() {
        return Err(Error::Failed(format!(
            "no image named {:?} (or of its OS family) is visible from namespace {namespace}",
            args.reference
        )));
    }
    let mut out = output::stdout();
    let resolved = || -> Vec<_> {
        found
            .iter()
            .map(|i| super::resolve::resolved(&args.reference, &namespace, i))
            .collect()
    };
    let Some(format) = args.output.format() else {
        // Templates see what -o json prints.
        let data = serde_json::to_value(resolved()).map_err(|e| Error::Failed(e.to_string()))?;
        output::print_templated(&mut out, &args.output, &data, args.no_headers)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    };
    match format {
        Format::Table | Format::Wide => {
            let mut table = Table::new(&[
                "VERSION",
                "NAME",
                "DISPLAY NAME",
                "SCOPE",
                "TYPE",
                "READY",
                "OS ID",
                "AGE",
            ]);
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
            table.write_with(&mut out, output::use_color(), !args.no_headers)?;
        }
        Format::Id => found.iter().try_for_each(|i| writeln!(out, "{}", i.name))?,
        Format::Name => found
            .iter()
            .try_for_each(|i| writeln!(out, "{}", output::resource_name(i)))?,
        Format::Json | Format::Yaml => output::write_data(&mut out, format, &resolved())?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

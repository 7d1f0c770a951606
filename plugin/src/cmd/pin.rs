//! `kubectl vmimage pin -f FILE|DIR|-`: rewrite VirtualMachine manifests so they name
//! images by VMI ID. All or nothing: if any reference does not resolve, every problem is
//! listed and nothing is written.

use crate::{
    cli::{Global, PinArgs},
    error::{Error, Result},
    pin::{Input, PinOptions, parse_documents, pin_documents, read_inputs, vms_of},
    source::{Scope, Source},
};
use std::{io::Write, path::Path, process::ExitCode};
use vmimage_shared::resolve::qualified;

/// Writes `text` to `path` through a temporary file in the same directory, so a crash
/// never leaves a half-written manifest.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.vmimage-pin.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("manifest")
    ));
    std::fs::write(&tmp, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path)
}

pub async fn run(global: &Global, args: PinArgs) -> Result<ExitCode> {
    if args.in_place && args.files.iter().any(|f| f == "-") {
        return Err(Error::Usage(
            "--in-place cannot rewrite stdin; give files or directories".into(),
        ));
    }
    let inputs = read_inputs(&args.files)?;
    // Every input must be YAML before the cluster is asked anything.
    let mut parsed = Vec::with_capacity(inputs.len());
    for input in &inputs {
        parsed
            .push(parse_documents(&input.text).map_err(|e| Error::Usage(format!("{}: {e}", input.name())))?);
    }
    let (source, default_ns) = Source::open(global).await?;
    let images = source.images(&Scope::All).await?;
    let wanted: Vec<_> = parsed
        .iter()
        .flat_map(|docs| vms_of(docs, &default_ns))
        .flat_map(|vm| qualified::candidates_for_vm(&images.index, &vm))
        .collect();
    let libraries = source.libraries(&wanted).await?;
    let selector = crate::selector::image_selector(args.selector.as_deref(), args.version.as_deref())?;
    let options = PinOptions {
        newest: args.newest,
        libraries: &libraries,
        selector: selector.as_ref(),
    };

    let mut problems = Vec::new();
    let mut summary = Vec::new();
    let mut warnings = Vec::new();
    let mut invalid = Vec::new();
    let mut results: Vec<(&Input, String, bool)> = Vec::new();
    for (input, docs) in inputs.iter().zip(&parsed) {
        let pinned = pin_documents(
            &input.name(),
            &input.text,
            docs,
            &images.index,
            &default_ns,
            options,
        );
        let changed = !pinned.changes.is_empty();
        summary.extend(pinned.changes);
        problems.extend(pinned.problems);
        warnings.extend(pinned.warnings);
        invalid.extend(pinned.invalid);
        results.push((input, pinned.text, changed));
    }

    // An unreadable manifest is bad input (exit 2, as for `check`), whatever else is wrong.
    if !invalid.is_empty() {
        return Err(Error::Usage(format!(
            "{}; nothing was written",
            invalid.join("\n")
        )));
    }
    for w in &warnings {
        crate::note!("warning: {w}");
    }
    if !problems.is_empty() {
        for p in &problems {
            crate::note!("error: {p}");
        }
        return Err(Error::Failed(format!(
            "{} reference(s) could not be pinned; nothing was written",
            problems.len()
        )));
    }
    let report = |out: &mut dyn Write| -> std::io::Result<()> {
        if summary.is_empty() {
            writeln!(
                out,
                "nothing to pin: every VirtualMachine already names its images by ID"
            )?;
        }
        for line in &summary {
            writeln!(out, "{line}")?;
        }
        Ok(())
    };
    if args.dry_run {
        report(&mut std::io::stdout().lock())?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.in_place {
        for (input, text, changed) in &results {
            if let (Some(path), true) = (&input.path, changed) {
                write_atomically(path, text)
                    .map_err(|e| Error::Usage(format!("writing {}: {e}", path.display())))?;
            }
        }
        report(&mut std::io::stdout().lock())?;
        return Ok(ExitCode::SUCCESS);
    }
    report(&mut std::io::stderr().lock())?;
    let mut out = std::io::stdout().lock();
    for (i, (_, text, _)) in results.iter().enumerate() {
        if i > 0 {
            writeln!(out, "---")?;
        }
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

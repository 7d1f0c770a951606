//! `kubectl vmimage id UUID...`: the VMI ID VM Operator gives a Content Library item.

use crate::{
    cli::IdArgs,
    error::{Error, Result},
};
use std::{io::Write, process::ExitCode};
use vmimage_shared::VmiId;

pub fn run(args: IdArgs) -> Result<ExitCode> {
    let ids: Vec<VmiId> = args
        .uuids
        .iter()
        .map(|u| VmiId::for_item(u).map_err(|e| Error::Usage(e.to_string())))
        .collect::<Result<_>>()?;
    let mut out = std::io::stdout().lock();
    for (uuid, id) in args.uuids.iter().zip(&ids) {
        if ids.len() == 1 {
            writeln!(out, "{id}")?;
        } else {
            writeln!(out, "{}  {id}", uuid.trim())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

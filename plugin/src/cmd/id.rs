//! `kubectl vmimage id UUID...`: the VMI ID VM Operator gives a Content Library item.

use crate::{
    cli::IdArgs,
    error::{Error, Result},
};
use std::process::ExitCode;
use vmimage_shared::VmiId;

pub fn run(args: IdArgs) -> Result<ExitCode> {
    let ids: Vec<VmiId> = args
        .uuids
        .iter()
        .map(|u| VmiId::for_item(u).map_err(|e| Error::Usage(e.to_string())))
        .collect::<Result<_>>()?;
    for (uuid, id) in args.uuids.iter().zip(&ids) {
        if ids.len() == 1 {
            println!("{id}");
        } else {
            println!("{}  {id}", uuid.trim());
        }
    }
    Ok(ExitCode::SUCCESS)
}

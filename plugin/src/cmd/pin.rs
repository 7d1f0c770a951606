//! `kubectl vmimage pin`: see [`crate::pin`].

use crate::{
    cli::{Global, PinArgs},
    error::{Error, Result},
};
use std::process::ExitCode;

pub async fn run(_global: &Global, _args: PinArgs) -> Result<ExitCode> {
    Err(Error::Usage("pin is not implemented yet".into()))
}

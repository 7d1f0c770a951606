//! The `kubectl vmimage` plugin: resolve, list, inspect, pin, check and publish VM
//! Operator images. Every answer comes from `vmimage_shared`'s resolver, so it is the
//! webhook's and VM Operator's answer.
//!
//! Exit codes: 0 success, 1 a reference did not resolve (or a check failed), 2 usage
//! error or bad input file, 3 the cluster could not be reached or refused access.

/// A line on stderr that never panics: with stderr closed (`2>&1 | head`) it is dropped.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
pub(crate) use note;

pub mod cli;
pub mod client;
mod cmd;
pub mod error;
mod namespace;
mod not_found;
pub mod output;
pub mod pin;
pub mod selector;
pub mod source;
pub mod target;

use std::process::ExitCode;

pub use error::Error;

/// Runs one invocation and returns its exit code; errors are printed to stderr.
pub async fn run(cli: cli::Cli) -> ExitCode {
    match cmd::dispatch(cli).await {
        Ok(code) => code,
        // The reader went away (`| head -1`): kubectl ends quietly too.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            note!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

//! The `kubectl vmimage` plugin: resolve, list, inspect, pin, check and publish VM
//! Operator images, and report outdated VMs and where a name resolves. Every answer
//! comes from `vmimage_shared`'s resolver, so it is the webhook's and VM Operator's answer.
//!
//! Exit codes: 0 success, 1 a reference did not resolve (or a check failed, or a VM is
//! outdated), 2 usage error or bad input file, 3 the cluster could not be reached or
//! refused access.

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
mod quiet;
pub mod selector;
pub mod source;
pub mod target;

use std::process::ExitCode;

pub use error::Error;

/// The name kubectl looks for on PATH to complete `kubectl vmimage …`.
pub const COMPLETER_NAME: &str = "kubectl_complete-vmimage";

/// Whether this process was started as the completer (`kubectl_complete-vmimage`, e.g. a
/// link to `kubectl-vmimage`), so one binary serves both names.
pub fn invoked_as_completer(argv0: Option<&std::ffi::OsStr>) -> bool {
    argv0
        .and_then(|a| std::path::Path::new(a).file_stem())
        .is_some_and(|stem| stem == COMPLETER_NAME)
}

/// Answers kubectl's plugin completion for `words` (what follows `kubectl vmimage`).
/// The words go to the completer untouched: parsed by clap, a `-n` being completed would
/// be taken as the global flag. kubectl hands the completer its own terminal's stderr,
/// so nothing may be written there: stderr goes to `$BASH_COMP_DEBUG_FILE` if set
/// (Cobra's debug log), else nowhere.
pub async fn complete(words: impl IntoIterator<Item = String>) -> ExitCode {
    quiet::stderr_to_debug_log();
    let args = cli::CompleteArgs {
        words: words.into_iter().collect(),
    };
    match cmd::complete::candidates(&cli::Global::default(), args).await {
        Ok(code) => code,
        Err(_) => ExitCode::SUCCESS,
    }
}

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

//! One module per subcommand, dispatched by one `match`.

mod catalog;
mod check;
mod compare;
pub(crate) mod complete;
mod get;
mod id;
mod list;
mod names;
mod outdated;
mod pin;
mod publish;
mod resolve;
mod versions;
mod watch;
mod r#where;

use crate::{
    cli::{Cli, Command},
    error::Result,
};
use std::process::ExitCode;

/// Runs the subcommand.
pub async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let global = cli.global;
    match cli.command {
        Command::Resolve(args) => resolve::run(&global, args).await,
        Command::List(args) => list::run(&global, args).await,
        Command::Get(args) => get::run(&global, args).await,
        Command::Describe(args) => get::describe_run(&global, args).await,
        Command::Pin(args) => pin::run(&global, args).await,
        Command::Check(args) => check::run(&global, args).await,
        Command::Versions(args) => versions::run(&global, args).await,
        Command::Outdated(args) => outdated::run(&global, args).await,
        Command::Where(args) => r#where::run(&global, args).await,
        Command::Catalog(args) => catalog::run(&global, args).await,
        Command::Compare(args) => compare::run(&global, args).await,
        Command::Id(args) => id::run(args),
        Command::Publish(args) => publish::run(&global, args).await,
        Command::Completion(args) => complete::script(args),
        Command::Complete(args) => complete::candidates(&global, args).await,
    }
}

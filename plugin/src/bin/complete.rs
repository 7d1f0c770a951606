//! `kubectl_complete-vmimage`: kubectl's hook for completing `kubectl vmimage …`.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = std::iter::once("kubectl-vmimage".to_string())
        .chain(std::iter::once("__complete".to_string()))
        .chain(std::env::args().skip(1));
    match vmimage_plugin::cli::Cli::try_parse_from(args) {
        Ok(cli) => vmimage_plugin::run(cli).await,
        Err(_) => ExitCode::SUCCESS, // completion must never print errors into the shell
    }
}

//! `vmimage-webhook`: see the library for what it does.

use clap::Parser;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;
use vmimage_webhook::log_sink::LossyWriter;

// The initial list of a large catalog allocates many short-lived objects; mimalloc hands
// that memory back instead of keeping it fragmented, so steady-state RSS stays close to
// what the index needs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // NB: rcgen and kube both compile `ring`; installing it explicitly means rustls never
    // has to guess a process-wide provider (and never panics doing so).
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Parsed before logging starts: clap prints usage errors itself and exits 2.
    let args = vmimage_webhook::Args::parse();
    // Never the plain stderr writer: see `log_sink` for how that stops admissions.
    let (writer, flush) = LossyWriter::stderr();
    tracing_subscriber::fmt()
        .with_writer(writer)
        // Colour codes only for a person at a terminal, never in `kubectl logs` or a file.
        .with_ansi(std::io::stderr().is_terminal())
        .log_internal_errors(false)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let ran = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(vmimage_webhook::run(args)));
    // NB: not `main() -> Result`: that prints the error with `eprintln!`, which panics
    // when stderr is what failed.
    let code = match ran {
        Ok(()) => 0,
        Err(error) => {
            tracing::error!("{error:#}");
            1
        }
    };
    drop(flush);
    std::process::exit(code);
}

//! `vmimage-webhook`: see the library for what it does.

use clap::Parser;
use tracing_subscriber::EnvFilter;

// The initial list of a large catalog allocates many short-lived objects; mimalloc hands
// that memory back instead of keeping it fragmented, so steady-state RSS stays close to
// what the index needs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // NB: rcgen and kube both compile `ring`; installing it explicitly means rustls never
    // has to guess a process-wide provider (and never panics doing so).
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    vmimage_webhook::run(vmimage_webhook::Args::parse()).await
}

//! `vmimage-webhook`: see the library for what it does.

use clap::Parser;
use tracing_subscriber::EnvFilter;

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

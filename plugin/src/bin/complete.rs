//! `kubectl_complete-vmimage`: kubectl's hook for completing `kubectl vmimage …`. The
//! main binary answers the same when run under this name (a link), which is how a krew
//! install gets it; this one exists so `cargo install` puts both names on PATH.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    vmimage_plugin::complete(std::env::args().skip(1)).await
}

//! `kubectl-vmimage`: found on PATH by kubectl as `kubectl vmimage`.

use std::process::ExitCode;

// Reading 100,000 images allocates millions of small strings and frees most of them at
// once; mimalloc does both several times faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    // kube and rustls are built with ring only; install it before any TLS config exists.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Linked as kubectl_complete-vmimage, this binary is kubectl's completer.
    if vmimage_plugin::invoked_as_completer(std::env::args_os().next().as_deref()) {
        return vmimage_plugin::complete(std::env::args().skip(1)).await;
    }
    // What the `completion` scripts call; the words must not meet clap's global flags.
    if std::env::args_os().nth(1).is_some_and(|a| a == "__complete") {
        return vmimage_plugin::complete(std::env::args().skip(2)).await;
    }
    // kube-client logs failures that the plugin reports itself, in one line.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VMIMAGE_LOG")
                .unwrap_or_else(|_| "warn,kube_client=off".into()),
        )
        .init();
    vmimage_plugin::run(vmimage_plugin::cli::parse()).await
}

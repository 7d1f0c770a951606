//! vmimage's mutating admission webhook.
//!
//! On CREATE of a VM Operator `VirtualMachine`, the webhook resolves the image references
//! (`spec.imageName`, `spec.image`, CD-ROM images) with VM Operator's own rules
//! ([`vmimage_shared::mutate::plan`]) and answers with a JSON patch that records the
//! resolved VMI IDs, keeping the user's text in the `vmimage.io/requested-image`
//! annotation. References that do not name exactly one image are denied with VM
//! Operator's message followed by the candidates, after a live read from the API server
//! has confirmed the cache. Cluster image policies (`VMImagePolicy`) are then evaluated
//! against the resolved images: Enforce denies, Warn warns, Audit records.
//!
//! - [`args`]: command-line flags.
//! - [`admission`]: the `POST /mutate` handler.
//! - [`patch`]: a plan as JSON Patch operations.
//! - [`live`]: confirming cache misses with the API server.
//! - [`breaker`]: no image LISTs for a few seconds after one timed out.
//! - [`intake`]: what every admission request passes before the handler.
//! - [`deep_review`]: answering reviews nested deeper than serde_json reads.
//! - [`log_text`]: request-controlled text made safe for log lines.
//! - [`log_sink`]: log output that drops lines rather than stop admissions.
//! - [`apiserver_probe`]: noticing a hung apiserver within seconds; re-listing then.
//! - [`index_sync`]: watches that keep the image index current; readiness.
//! - [`policies`]: the watch that keeps the image policies current; their status.
//! - [`namespaces`]: namespace labels for policies' `namespaceSelector`.
//! - [`discovery`]: the newest served version of the image kinds.
//! - [`limits`]: the admission port's timeouts, connection and memory limits.
//! - [`connections`]: a cap on admission connections; closing idle ones.
//! - [`body_budget`]: a global budget of request body bytes; a deadline per body.
//! - [`linger`]: TCP_NODELAY and a lingering close for admission connections.
//! - [`tls`]: serving certificates, loaded at start and reloaded on change.
//! - [`admin`]: `/healthz`, `/readyz`, `/metrics` on plain HTTP.
//! - [`watch`]: restarting a failed watch with a full list, the cache untrusted meanwhile.
//! - [`metrics`]: the Prometheus registry.
//! - [`state`]: what handlers share.

pub mod admin;
pub mod admission;
pub mod apiserver_probe;
pub mod args;
pub mod body_budget;
pub mod breaker;
pub mod connections;
pub mod deep_review;
pub mod discovery;
pub mod index_changes;
pub mod index_sync;
pub mod intake;
pub mod limits;
pub mod linger;
pub mod live;
pub mod log_sink;
pub mod log_text;
pub mod metrics;
pub mod namespaces;
pub mod patch;
pub mod policies;
pub mod state;
pub mod tls;
pub mod watch;

pub use args::Args;

use anyhow::Context;
use axum_server::Handle;
use std::{
    net::SocketAddr,
    sync::{Arc, OnceLock},
    time::Duration,
};

/// How often the certificate files are re-read.
const TLS_POLL: Duration = Duration::from_secs(2);
/// How long in-flight admission requests may take to finish after SIGTERM.
const DRAIN: Duration = Duration::from_secs(10);
/// How long past the drain and the lingering closes a signalled process may take to exit.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How long the admin server waits for a partial request's headers.
const ADMIN_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs the webhook until SIGTERM or SIGINT, then drains and returns.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let files = tls::CertFiles {
        cert: args.tls_cert.clone(),
        key: args.tls_key.clone(),
    };
    let (tls_config, reloader) = files.load()?;
    let client = client(&args).await?;

    let metrics = Arc::new(metrics::Metrics::new());
    let resources = Arc::new(OnceLock::new());
    let live = breaker::Breaker::new(live::KubeReader::new(
        client.clone(),
        resources.clone(),
        args.live_read_timeout,
    ));
    let mut state = state::AppState::new(Arc::new(live), metrics.clone());
    state.misses = state::MissPolicy {
        grace: args.miss_grace,
        live_max_images: args.live_confirm_max_images,
        relist_wait: args.live_read_timeout,
    };

    let watch_config = kube::runtime::watcher::Config::default()
        .page_size(500)
        .timeout(args.watch_timeout);
    // The policy and namespace watches need no discovery: they start at once.
    let (restart_watches, restarts) = apiserver_probe::channel();
    let probe = tokio::spawn(apiserver_probe::run(client.clone(), restart_watches));
    let policy_sync = tokio::spawn(policies::run(
        client.clone(),
        watch_config.clone(),
        state.policies.clone(),
        state.readiness.clone(),
        metrics.clone(),
        restarts.clone(),
    ));
    let namespace_sync = tokio::spawn(namespaces::run(
        client.clone(),
        watch_config.clone(),
        state.namespaces.clone(),
        metrics.clone(),
        restarts.clone(),
    ));
    let sync = tokio::spawn({
        let index = (state.index.clone(), state.changes.clone());
        let (readiness, metrics) = (state.readiness.clone(), metrics.clone());
        async move {
            let found = discovery::discover_until_found(&client).await;
            let _ = resources.set(found.clone());
            index_sync::run(client, found, watch_config, index, readiness, metrics, restarts).await;
        }
    });
    let reload = tokio::spawn(reloader.run(TLS_POLL));

    let (https, admin) = (Handle::<SocketAddr>::new(), Handle::<SocketAddr>::new());
    let drains = tokio_util::task::TaskTracker::new();
    tokio::spawn(stop_on_signal(https.clone(), admin.clone()));

    let serve_https = {
        let limits = args.limits.clone();
        let budget = body_budget::Budget::new(
            limits.body_budget_bytes,
            limits.body_budget_wait,
            limits.body_read_timeout,
            args.max_body_bytes,
            metrics.clone(),
        );
        let router = intake::router(state.clone(), args.max_body_bytes, budget);
        let connections = connections::ConnectionAcceptor::new(
            linger::LingerAcceptor::new(drains.clone()),
            limits.max_connections,
            limits.idle_timeout,
            limits.body_budget_per_connection_bytes.max(args.max_body_bytes),
            metrics.clone(),
        );
        let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls_config)
            .handshake_timeout(limits.header_read_timeout)
            .acceptor(connections);
        let mut server = axum_server::bind(args.listen)
            .acceptor(acceptor)
            .handle(https.clone())
            .first_request_timeout(limits.header_read_timeout);
        server
            .http_builder()
            .http1()
            .header_read_timeout(Some(limits.header_read_timeout))
            .max_buf_size(limits::MAX_HEAD_BYTES);
        server
            .http_builder()
            .http2()
            .keep_alive_interval(Some(limits.http2_keepalive_interval))
            .keep_alive_timeout(limits.http2_keepalive_timeout)
            .max_concurrent_streams(limits.max_concurrent_streams)
            .max_header_list_size(limits::MAX_HEADER_LIST_BYTES)
            .initial_stream_window_size(limits::STREAM_WINDOW_BYTES)
            .initial_connection_window_size(limits::CONNECTION_WINDOW_BYTES);
        let admin = admin.clone();
        async move {
            tracing::info!(listen = %args.listen, "serving admission reviews over HTTPS");
            let served = server.serve(router.into_make_service()).await;
            admin.graceful_shutdown(Some(Duration::from_secs(1)));
            served.with_context(|| format!("serving --listen {}", args.listen))
        }
    };
    let serve_admin = {
        let mut server = axum_server::bind(args.admin_listen).handle(admin);
        server
            .http_builder()
            .http1()
            .header_read_timeout(Some(ADMIN_HEADER_TIMEOUT));
        let router = admin::router(state);
        async move {
            tracing::info!(listen = %args.admin_listen, "serving /healthz, /readyz and /metrics");
            let served = server.serve(router.into_make_service()).await;
            https.graceful_shutdown(Some(DRAIN));
            served.with_context(|| format!("serving --admin-listen {}", args.admin_listen))
        }
    };
    let (served_https, served_admin) = tokio::join!(serve_https, serve_admin);
    sync.abort();
    probe.abort();
    policy_sync.abort();
    namespace_sync.abort();
    reload.abort();
    // Closed connections still draining: exiting now would close them with RST.
    drains.close();
    let _ = tokio::time::timeout(linger::LINGER, drains.wait()).await;
    served_https?;
    served_admin?;
    tracing::info!("stopped");
    Ok(())
}

async fn client(args: &Args) -> anyhow::Result<kube::Client> {
    let config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading --kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .with_context(|| format!("using --kubeconfig {}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .context("no in-cluster config or $KUBECONFIG; pass --kubeconfig")?,
    };
    kube::Client::try_from(config).context("building the Kubernetes client")
}

/// Stops accepting on SIGTERM/SIGINT and lets in-flight requests finish.
async fn stop_on_signal(https: Handle<SocketAddr>, admin: Handle<SocketAddr>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut term, mut int) = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "cannot listen for signals; stop with SIGKILL");
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: draining"),
        _ = int.recv() => tracing::info!("SIGINT: draining"),
    }
    https.graceful_shutdown(Some(DRAIN));
    admin.graceful_shutdown(Some(DRAIN));
    // The drain is bounded, but whatever might still hold the process up, a stop asked
    // for is a stop: a second signal, or the drain's bound passing, ends it here.
    tokio::select! {
        _ = term.recv() => tracing::warn!("second signal: exiting without draining"),
        _ = int.recv() => tracing::warn!("second signal: exiting without draining"),
        _ = tokio::time::sleep(DRAIN + linger::LINGER + STOP_GRACE) => {
            tracing::error!("still running {:?} after the signal: exiting", DRAIN + linger::LINGER + STOP_GRACE);
        }
    }
    std::process::exit(1);
}

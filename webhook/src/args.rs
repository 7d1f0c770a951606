//! Command-line flags. Every flag has an environment variable twin for Deployments.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Mutating admission webhook that turns VirtualMachine image display names into VMI IDs.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "vmimage-webhook", version, about)]
#[non_exhaustive]
pub struct Args {
    /// Address for the HTTPS admission endpoint (`POST /mutate`).
    #[arg(long, env = "VMIMAGE_LISTEN", default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,

    /// PEM certificate chain served on --listen; reloaded when the file changes.
    #[arg(long, env = "VMIMAGE_TLS_CERT")]
    pub tls_cert: PathBuf,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for --tls-cert; reloaded when it changes.
    #[arg(long, env = "VMIMAGE_TLS_KEY")]
    pub tls_key: PathBuf,

    /// Address for plain-HTTP /healthz, /readyz and /metrics.
    #[arg(long, env = "VMIMAGE_ADMIN_LISTEN", default_value = "0.0.0.0:8080")]
    pub admin_listen: SocketAddr,

    /// Kubeconfig to use; without it, the in-cluster config or $KUBECONFIG.
    #[arg(long, env = "VMIMAGE_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,

    /// Largest AdmissionReview body accepted; larger ones get 413. An UPDATE's review
    /// carries the object twice (`object` and `oldObject`), each up to the 3 MiB the
    /// apiserver accepts in one request, so the default (7 MiB, as controller-runtime's)
    /// never refuses one; memory stays bounded by --body-budget-bytes.
    #[arg(long, env = "VMIMAGE_MAX_BODY_BYTES", default_value_t = 7 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// How long a live read from the API server may take before the webhook gives up
    /// (e.g. `3s`, `500ms`). Keep it below the webhook's timeoutSeconds.
    #[arg(long, env = "VMIMAGE_LIVE_READ_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub live_read_timeout: Duration,

    /// How long a VM naming an image the index does not have waits for the watch to
    /// deliver it (an image created just before its VM arrives within milliseconds).
    #[arg(long, env = "VMIMAGE_MISS_GRACE", default_value = "200ms", value_parser = parse_duration)]
    pub miss_grace: Duration,

    /// The largest image index for which a miss is also confirmed by a live LIST of the
    /// VM's namespace and the cluster's images. Above it a LIST takes seconds, and a
    /// miss is answered from the synced watch after --miss-grace (0: never LIST).
    #[arg(long, env = "VMIMAGE_LIVE_CONFIRM_MAX_IMAGES", default_value_t = 10_000)]
    pub live_confirm_max_images: usize,

    /// Server-side timeout, in seconds, of each watch request (images, policies,
    /// namespaces). When it ends, the watch resumes where it was; if the API server has
    /// compacted that point away (410 Gone), the webhook re-lists.
    #[arg(long, env = "VMIMAGE_WATCH_TIMEOUT", default_value_t = 290, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub watch_timeout: u32,

    /// The admission port's timeouts, connection and memory limits.
    #[command(flatten)]
    pub limits: crate::limits::Limits,
}

pub use crate::limits::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn durations_take_common_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("3d").is_err());
        assert!(parse_duration("99999999999999999999999999h").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn defaults_match_the_deployment() {
        let args = Args::parse_from(["vmimage-webhook", "--tls-cert", "c", "--tls-key", "k"]);
        assert_eq!(args.listen.port(), 8443);
        assert_eq!(args.admin_listen.port(), 8080);
        assert_eq!(args.max_body_bytes, 7 * 1024 * 1024);
        assert_eq!(args.live_read_timeout, Duration::from_secs(3));
        assert_eq!(args.watch_timeout, 290);
        assert!(args.kubeconfig.is_none());
        let limits = &args.limits;
        assert_eq!(limits.header_read_timeout, Duration::from_secs(5));
        assert_eq!(limits.body_read_timeout, Duration::from_secs(10));
        assert_eq!(limits.idle_timeout, Duration::from_secs(90));
        assert_eq!(limits.http2_keepalive_interval, Duration::from_secs(30));
        assert_eq!(limits.http2_keepalive_timeout, Duration::from_secs(15));
        assert_eq!(limits.max_connections, 512);
        assert_eq!(limits.max_concurrent_streams, 100);
        assert_eq!(limits.body_budget_bytes, 32 * 1024 * 1024);
        assert_eq!(limits.body_budget_per_connection_bytes, 8 * 1024 * 1024);
        assert_eq!(limits.body_budget_wait, Duration::from_secs(1));
    }
}

//! How much the admission port gives any one client: time, connections, streams and
//! memory. Every limit is a flag (with an environment variable twin); the README's
//! "Operating it" section says what each refusal looks like.

use std::time::Duration;

/// The admission port's limits.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct Limits {
    /// A new connection must finish its TLS handshake, and then deliver its first
    /// request's headers, each within this; an HTTP/1.1 connection must deliver every
    /// later request's headers within it too (so an idle HTTP/1.1 keep-alive connection is
    /// closed after it). Slower connections are closed.
    #[arg(long, env = "VMIMAGE_HEADER_READ_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// A request's body must arrive whole within this of its headers, or the request
    /// gets 408 (the apiserver gives up on a webhook after at most 30 s anyway).
    #[arg(long, env = "VMIMAGE_BODY_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub body_read_timeout: Duration,

    /// An HTTP/2 connection with no request in flight for this long is closed with
    /// GOAWAY (the client opens a new one when it needs it).
    #[arg(long, env = "VMIMAGE_IDLE_TIMEOUT", default_value = "90s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// How often an HTTP/2 connection is PINGed; one that does not answer within
    /// --http2-keepalive-timeout is closed.
    #[arg(long, env = "VMIMAGE_HTTP2_KEEPALIVE_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub http2_keepalive_interval: Duration,

    /// How long an HTTP/2 PING may go unanswered.
    #[arg(long, env = "VMIMAGE_HTTP2_KEEPALIVE_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    pub http2_keepalive_timeout: Duration,

    /// Open connections on the admission port; more are closed at once (keep it below
    /// the process's file descriptor limit).
    #[arg(long, env = "VMIMAGE_MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Concurrent requests (streams) on one HTTP/2 connection; the client queues more.
    #[arg(long, env = "VMIMAGE_MAX_CONCURRENT_STREAMS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_streams: u32,

    /// Request body bytes held at once over all connections (being received or being
    /// answered). A request whose declared length does not fit waits up to
    /// --body-budget-wait, then gets 503.
    #[arg(long, env = "VMIMAGE_BODY_BUDGET_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub body_budget_bytes: usize,

    /// Request body bytes one connection may hold at once (all its HTTP/2 streams), so
    /// one client cannot take the whole --body-budget-bytes; never less than
    /// --max-body-bytes.
    #[arg(long, env = "VMIMAGE_BODY_BUDGET_PER_CONNECTION_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub body_budget_per_connection_bytes: usize,

    /// How long a request waits for room in --body-budget-bytes before 503.
    #[arg(long, env = "VMIMAGE_BODY_BUDGET_WAIT", default_value = "1s", value_parser = parse_duration)]
    pub body_budget_wait: Duration,
}

/// Largest HTTP/1.1 request head (request line and headers); larger ones get 431. An
/// AdmissionReview's head is a few hundred bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest HTTP/2 header list; larger ones are refused.
pub const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;
/// HTTP/2 flow-control windows: what a client may send before the webhook has read it.
/// One stream's window bounds a slow stream's unread bytes; the connection's bounds all
/// of a connection's.
pub const STREAM_WINDOW_BYTES: u32 = 256 * 1024;
/// See [`STREAM_WINDOW_BYTES`].
pub const CONNECTION_WINDOW_BYTES: u32 = 1024 * 1024;

/// Parses `500ms`, `3s`, `1m30s` or a plain number of seconds (the plugin's parser), for
/// every duration flag.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    vmimage_shared::duration::parse(text).map_err(|e| e.to_string())
}

//! The plugin's errors, each mapped to the exit code a script can act on.

/// What went wrong, by who can fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad flags, arguments or input files: the user's invocation must change.
    #[error("{0}")]
    Usage(String),
    /// The cluster could not be reached, or refused the request.
    #[error("{context}: {}", describe(source))]
    Cluster {
        /// What was being done, e.g. "list VirtualMachineImages in namespace dev".
        context: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// Connecting to the cluster failed before any request (kubeconfig, context).
    #[error("{0}")]
    Config(String),
    /// One or more references did not resolve, or a check found violations. The
    /// details were already printed.
    #[error("{0}")]
    Failed(String),
    /// Writing output failed.
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Failed(_) => 1,
            Self::Usage(_) | Self::Io(_) => 2,
            Self::Cluster { .. } | Self::Config(_) => 3,
        }
    }

    /// Wraps a kube error with what was being attempted.
    pub fn cluster(context: impl Into<String>) -> impl FnOnce(kube::Error) -> Self {
        let context = context.into();
        move |source| Self::Cluster { context, source }
    }
}

/// A client error and what the user can do about it. The API server's answers keep its
/// text; a failed connection names the server tried, the root cause (not kube's wrapper
/// names), and whether it timed out.
fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.code == 401 => format!("{e} (check the credentials in your kubeconfig)"),
        kube::Error::Api(s) if s.code == 403 => {
            format!("{e} (ask for get/list permission on VM Operator's image kinds)")
        }
        kube::Error::Api(_) => e.to_string(),
        other => {
            let target = crate::target::get();
            let server = target.map_or("the API server".to_string(), |t| t.server.clone());
            let mut root: &dyn std::error::Error = other;
            let mut timed_out = false;
            loop {
                let text = root.to_string().to_lowercase();
                timed_out |=
                    text.contains("timed out") || text.contains("elapsed") || text.contains("timeout");
                match root.source() {
                    Some(next) => root = next,
                    None => break,
                }
            }
            if timed_out {
                let after = target
                    .and_then(|t| t.timeout)
                    .map_or(String::new(), |t| format!(" after {t:?} (--request-timeout)"));
                format!(
                    "timed out{after} waiting for {server}; is it reachable? raise --request-timeout if it is slow"
                )
            } else {
                format!(
                    "unable to connect to {server}: {root}; is the cluster reachable? check --context, --kubeconfig and KUBECONFIG"
                )
            }
        }
    }
}

/// The plugin's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Where this invocation's requests go (the API server, the request timeout): set once
//! when the client connects, read when an error is explained.

use std::{sync::OnceLock, time::Duration};

/// The API server and timeout of this invocation.
#[derive(Debug, Clone)]
pub struct Target {
    /// The API server URL.
    pub server: String,
    /// `--request-timeout`, when one is set.
    pub timeout: Option<Duration>,
}

static TARGET: OnceLock<Target> = OnceLock::new();

/// Records the target (the first call wins: one invocation talks to one server).
pub fn set(target: Target) {
    let _ = TARGET.set(target);
}

/// The target, once connected.
pub fn get() -> Option<&'static Target> {
    TARGET.get()
}

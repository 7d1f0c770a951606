//! Keeping stderr off the terminal while completing: kubectl runs the completer with the
//! user's stderr, so a warning would land in the middle of the command line.

/// Points stderr at `$BASH_COMP_DEBUG_FILE` (appended) when set, else at the null device.
#[cfg(unix)]
pub fn stderr_to_debug_log() {
    let target = std::env::var_os("BASH_COMP_DEBUG_FILE")
        .filter(|p| !p.is_empty())
        .and_then(|p| std::fs::OpenOptions::new().append(true).create(true).open(p).ok())
        .or_else(|| std::fs::OpenOptions::new().write(true).open("/dev/null").ok());
    if let Some(file) = target {
        let _ = rustix::stdio::dup2_stderr(&file);
    }
}

/// Elsewhere stderr is left alone; the completer's own messages are few.
#[cfg(not(unix))]
pub fn stderr_to_debug_log() {}

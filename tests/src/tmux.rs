//! A real interactive shell (bash, zsh or fish) in a detached tmux session, driven by
//! keystrokes and read from the screen: how completion tests see what a user sees after
//! pressing TAB.

use anyhow::{Context, Result, bail};
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

/// The bash-completion package's loader; kubectl's bash completion needs its helpers.
pub const BASH_COMPLETION: &str = "/usr/share/bash-completion/bash_completion";

/// Which shell runs under tmux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bash,
    Zsh,
    Fish,
}

impl Kind {
    /// The shell started with no rc files, so the user's settings play no part.
    fn argv(self) -> &'static [&'static str] {
        match self {
            Kind::Bash => &["bash", "--norc", "--noprofile"],
            Kind::Zsh => &["zsh", "-f"],
            Kind::Fish => &["fish", "--no-config"],
        }
    }

    /// A plain `$ ` prompt, and every candidate listed on the first TAB without paging
    /// or asking (zsh also needs its completion system loaded; fish's grey
    /// autosuggestions would read as typed text).
    fn settings(self) -> &'static str {
        match self {
            Kind::Bash => {
                "PS1='$ '; bind 'set show-all-if-ambiguous on'; \
                 bind 'set completion-query-items 10000'; bind 'set page-completions off'"
            }
            Kind::Zsh => {
                "PS1='$ '; autoload -U compinit; compinit -u; unsetopt list_ambiguous; \
                 LISTMAX=10000"
            }
            Kind::Fish => {
                "function fish_prompt; echo -n '$ '; end; set -g fish_greeting ''; \
                 set -g fish_autosuggestion_enabled 0"
            }
        }
    }
}

/// One tmux server on a private socket, holding one shell. Dropping it ends the server.
pub struct Shell {
    socket: PathBuf,
    /// Which shell it is.
    pub kind: Kind,
}

impl Shell {
    /// Starts bash in `cwd`; see [`Shell::start_kind`].
    pub fn start(socket_dir: &Path, cwd: &Path, env: &[(&str, String)]) -> Result<Self> {
        Self::start_kind(Kind::Bash, socket_dir, cwd, env)
    }

    /// Starts `kind` in `cwd` with exactly `env` (nothing inherited), no rc files, a
    /// plain `$ ` prompt, and every candidate listed on the first TAB.
    pub fn start_kind(kind: Kind, socket_dir: &Path, cwd: &Path, env: &[(&str, String)]) -> Result<Self> {
        which("tmux")?;
        which(kind.argv()[0])?;
        let socket = socket_dir.join("tmux.sock");
        let mut argv: Vec<String> = vec!["env".into(), "-i".into()];
        argv.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        argv.extend(kind.argv().iter().map(|a| a.to_string()));
        let status = Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(["new-session", "-d", "-x", "200", "-y", "50", "-c"])
            .arg(cwd)
            .args(&argv)
            .status()
            .context("starting tmux")?;
        if !status.success() {
            bail!("tmux new-session failed ({status})");
        }
        let shell = Self { socket, kind };
        shell.run(&format!("{}; clear", kind.settings()))?;
        shell.wait_for(Duration::from_secs(10), |s| s.trim() == "$")?;
        Ok(shell)
    }

    /// Types `line` and presses Enter.
    pub fn run(&self, line: &str) -> Result<()> {
        self.keys(&["-l", line])?;
        self.keys(&["Enter"])
    }

    /// Types `text` literally, without Enter.
    pub fn type_text(&self, text: &str) -> Result<()> {
        self.keys(&["-l", text])
    }

    /// Presses TAB.
    pub fn tab(&self) -> Result<()> {
        self.keys(&["Tab"])
    }

    /// Abandons the line being typed (end-of-line, then kill to its start, no signal: the
    /// same keys in readline, zle and fish) and clears the screen.
    pub fn reset(&self) -> Result<()> {
        self.keys(&["C-e", "C-u"])?;
        self.run("clear")?;
        self.wait_for(Duration::from_secs(10), |s| s.trim() == "$")
            .map(|_| ())
    }

    /// The visible screen, trailing blanks trimmed.
    pub fn screen(&self) -> Result<String> {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["capture-pane", "-p", "-J"])
            .output()
            .context("tmux capture-pane")?;
        if !out.status.success() {
            bail!(
                "tmux capture-pane failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    /// Waits until `done(screen)` holds; the error shows the last screen.
    pub fn wait_for(&self, limit: Duration, done: impl Fn(&str) -> bool) -> Result<String> {
        let start = Instant::now();
        loop {
            let screen = self.screen()?;
            if done(&screen) {
                return Ok(screen);
            }
            if start.elapsed() > limit {
                bail!("the screen did not show what was expected within {limit:?}:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) -> Result<()> {
        let status = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("send-keys")
            .args(["-t", "0"])
            .args(keys)
            .status()
            .context("tmux send-keys")?;
        if !status.success() {
            bail!("tmux send-keys {keys:?} failed ({status})");
        }
        Ok(())
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .status();
    }
}

fn which(program: &str) -> Result<()> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    if !found {
        bail!("{program} is not on PATH: install it (apt-get install {program}); `make test` does");
    }
    Ok(())
}

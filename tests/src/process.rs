//! Child processes in their own process groups: a Ctrl-C in the terminal does not reach
//! them by accident, and stopping the group also stops anything they started. They die
//! with the process that started them, however it ends (Ctrl-C, SIGKILL, a CI timeout),
//! unless it said they are to outlive it ([`outlive_this_process`]): a reaper process
//! stops them when this one is gone.

use anyhow::{Context, Result};
use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};
use std::{
    fs::File,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// Whether children started from now on are to outlive this process.
static OUTLIVED: AtomicBool = AtomicBool::new(false);

/// Children started from now on outlive this process (`vmimage-testenv up`, whose
/// control plane runs on after it returns).
pub fn outlive_this_process() {
    OUTLIVED.store(true, Ordering::SeqCst);
}

/// A shell in a process group of its own that reads process-group ids from this
/// process (`N` adds one, `-N` drops it) and, once its input ends, which happens however
/// this process ends, stops the groups it still holds: SIGTERM, then SIGKILL a second
/// later. Dropped groups were stopped already, and their ids may be reused.
const REAPER: &str = r#"groups=" "
while read -r pg; do
  case "$pg" in
    -*) pg=${pg#-}
        case "$groups" in *" $pg "*) groups="${groups%% $pg *} ${groups#* $pg }" ;; esac ;;
    *) groups="$groups$pg " ;;
  esac
done
[ -n "${groups# }" ] || exit 0
for pg in $groups; do kill -TERM "-$pg" 2>/dev/null; done
sleep 1
for pg in $groups; do kill -KILL "-$pg" 2>/dev/null; done"#;

/// Tells the reaper about a new group (`add`) or one that has been stopped. Without a
/// reaper (it could not be started) children outlive a harness that is killed, as
/// before; that is said once.
fn tell_reaper(pgid: u32, add: bool) {
    static PIPE: OnceLock<Option<Mutex<ChildStdin>>> = OnceLock::new();
    let pipe = PIPE.get_or_init(|| {
        let started = Command::new("/bin/sh")
            .args(["-c", REAPER])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        match started {
            Ok(mut reaper) => reaper.stdin.take().map(Mutex::new),
            Err(e) => {
                eprintln!("note: cannot start /bin/sh to stop children if this process is killed: {e}");
                None
            }
        }
    });
    if let Some(pipe) = pipe {
        use std::io::Write as _;
        let line = if add {
            format!("{pgid}\n")
        } else {
            format!("-{pgid}\n")
        };
        let _ = pipe
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(line.as_bytes());
    }
}

/// The reaper's hold on a child's process group, from [`Reaped::hold`] until dropped
/// (once the group has been stopped).
#[derive(Debug)]
pub struct Reaped(u32);

impl Reaped {
    /// Has the reaper stop the process group `pgid` (a child started with
    /// `process_group(0)`: its pid) if this process ends first; `None` when children are
    /// to outlive this process.
    pub fn hold(pgid: u32) -> Option<Self> {
        if OUTLIVED.load(Ordering::SeqCst) {
            return None;
        }
        tell_reaper(pgid, true);
        Some(Self(pgid))
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        tell_reaper(self.0, false);
    }
}

/// A running child with its log file.
#[derive(Debug)]
pub struct Proc {
    /// Short name for messages (`etcd`, `kube-apiserver`).
    pub name: String,
    /// Its log (stdout and stderr).
    pub log: PathBuf,
    child: Option<Child>,
    pid: u32,
    /// The reaper's hold on its group, while it runs.
    reaped: Option<Reaped>,
}

impl Proc {
    /// Starts `program` with `args`, logging to `log` (truncated first).
    pub fn spawn(name: &str, program: &Path, args: &[String], log: &Path) -> Result<Self> {
        Self::spawn_env(name, program, args, &[], log)
    }

    /// [`Proc::spawn`] with `env` added to the inherited environment.
    pub fn spawn_env(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(&str, &str)],
        log: &Path,
    ) -> Result<Self> {
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        Self::spawn_into(name, program, args, env, log, out)
    }

    /// Starts `program` again with `args`, appending to `log` (a restart keeps the
    /// previous run's log for a failing test's output).
    pub fn respawn(name: &str, program: &Path, args: &[String], log: &Path) -> Result<Self> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        Self::spawn_into(name, program, args, &[], log, out)
    }

    fn spawn_into(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(&str, &str)],
        log: &Path,
        out: File,
    ) -> Result<Self> {
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {} ({})", name, program.display()))?;
        let pid = child.id();
        let reaped = Reaped::hold(pid);
        Ok(Self {
            name: name.to_string(),
            log: log.to_path_buf(),
            child: Some(child),
            pid,
            reaped,
        })
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether it has exited; the exit status if so.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// Lets the process outlive this handle (for `vmimage-testenv up`).
    pub fn detach(mut self) -> u32 {
        self.child = None;
        self.reaped = None;
        self.pid
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the group: a frozen server keeps its sockets
    /// open and accepts connections, but answers nothing, like a hung one.
    pub fn freeze(&self, frozen: bool) -> Result<()> {
        let signal = if frozen { Signal::SIGSTOP } else { Signal::SIGCONT };
        killpg(Pid::from_raw(self.pid as i32), signal)
            .with_context(|| format!("sending {signal} to {} (pid {})", self.name, self.pid))
    }

    /// SIGTERM to the group, SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if let Some(mut child) = self.child.take() {
            stop_group(self.pid, grace);
            let _ = child.wait();
            self.reaped = None;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// Stops a process group by id: SIGTERM, then SIGKILL after `grace`. Returns once the
/// leader is gone.
pub fn stop_group(pgid: u32, grace: Duration) {
    let pg = Pid::from_raw(pgid as i32);
    if killpg(pg, Signal::SIGTERM).is_err() {
        return; // already gone
    }
    // A frozen group would hold SIGTERM pending until the grace ran out.
    let _ = killpg(pg, Signal::SIGCONT);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if killpg(pg, None).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = killpg(pg, Signal::SIGKILL);
}

/// Whether a process group still has members.
pub fn group_alive(pgid: u32) -> bool {
    killpg(Pid::from_raw(pgid as i32), None).is_ok()
}

/// The last `lines` lines of a file. Go's klog marks errors with a leading `E`/`F`;
/// when there are such lines, they are what a reader needs, so they come first.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let errors: Vec<&str> = all
        .iter()
        .copied()
        .filter(|l| l.starts_with('E') || l.starts_with('F'))
        .collect();
    let pick = |v: &[&str], n: usize| v[v.len().saturating_sub(n)..].join("\n");
    if errors.is_empty() {
        pick(&all, lines)
    } else {
        format!(
            "{}\n(last lines:)\n{}",
            pick(&errors, lines / 2),
            pick(&all, lines / 2)
        )
    }
}

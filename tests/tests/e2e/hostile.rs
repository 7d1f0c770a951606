//! Hostile clients and silent faults (issue 20): a broken log, reviews nested deeper than
//! a JSON reader's default, UPDATEs of large VMs, and clients that hold connections and
//! memory. Each test starts a private webhook (own ports, own CA, not registered with
//! the apiserver) or a control plane of its own, so the suite's webhook is never
//! disturbed.

use anyhow::{Context, Result, bail, ensure};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use vmimage_testenv::{
    loadgen,
    pki::Ca,
    suite::{Ctx, TestFn},
    webhook,
};

/// Every test in this file, for the e2e runner.
pub fn all() -> Vec<(&'static str, TestFn)> {
    vmimage_testenv::tests![
        crate::hostile::stderr_on_dev_full_leaves_admissions_and_sigterm_working,
        crate::hostile::stderr_broken_mid_run_leaves_admissions_and_sigterm_working,
        crate::hostile::a_200_deep_vm_is_admitted_like_any_other_and_its_finalizer_can_be_removed,
        crate::hostile::a_large_vm_can_be_updated_and_its_finalizer_removed,
    ]
}

/// A webhook process of the test's own, with its stderr wherever the test put it.
struct Bare {
    child: Child,
    /// Dropped after `drop` has stopped the child.
    _reaped: Option<vmimage_testenv::process::Reaped>,
    port: u16,
    admin_port: u16,
    ca: Ca,
    /// Holds `webhook/admin-port` (for [`webhook::metrics`]) and the certificate.
    dir: PathBuf,
}

impl Drop for Bare {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the built webhook with `stderr`, stdout discarded, and waits for `/readyz`.
async fn start_bare(ctx: &Ctx, stderr: Stdio, extra: &[&str]) -> Result<Bare> {
    use std::os::unix::process::CommandExt as _;
    let dir = ctx.state_dir.join("private").join(&ctx.namespace);
    let cert_dir = dir.join("webhook");
    std::fs::create_dir_all(&cert_dir).with_context(|| format!("creating {}", cert_dir.display()))?;
    let ca = Ca::new(&format!("vmimage-e2e-{}", ctx.namespace))?;
    let pair = ca.serving("vmimage-webhook", &["vmimage-webhook.vmimage-system.svc"])?;
    let (cert, key) = (cert_dir.join("tls.crt"), cert_dir.join("tls.key"));
    std::fs::write(&cert, &pair.cert_pem)?;
    std::fs::write(&key, &pair.key_pem)?;
    let [port, admin_port] = vmimage_testenv::ports::free_ports()?;
    std::fs::write(cert_dir.join("admin-port"), admin_port.to_string())?;
    let bin = ctx.bin_dir.join("vmimage-webhook");
    let mut child = Command::new(&bin)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin_port}")])
        .args(["--tls-cert", &cert.display().to_string()])
        .args(["--tls-key", &key.display().to_string()])
        .args(["--kubeconfig", &ctx.kubeconfig.display().to_string()])
        .args(extra)
        // Each admitted VM logs a line at debug: the stderr tests need lines to fail.
        .env(webhook::LOG_EACH_ADMISSION.0, webhook::LOG_EACH_ADMISSION.1)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        // A group of its own, for the reaper to stop if the harness is killed.
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let reaped = vmimage_testenv::process::Reaped::hold(child.id());
    let started = Instant::now();
    while webhook::http_status(admin_port, "/readyz").await != Some(200) {
        if let Some(status) = child.try_wait()? {
            bail!("the webhook exited {status} before it was ready");
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            bail!("the webhook was not ready within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Bare {
        child,
        _reaped: reaped,
        port,
        admin_port,
        ca,
        dir,
    })
}

impl Bare {
    fn url(&self) -> String {
        format!("https://127.0.0.1:{}/mutate", self.port)
    }

    async fn post(&self, body: Vec<u8>) -> Result<(u16, serde_json::Value)> {
        let (status, body) = loadgen::post(
            &self.url(),
            &self.ca.pair.cert_pem,
            body.into(),
            Duration::from_secs(10),
        )
        .await?;
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
        Ok((status, json))
    }

    /// SIGTERM, then the exit status, which must come within `within`.
    async fn terminate(&mut self, within: Duration) -> Result<std::process::ExitStatus> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).context("SIGTERM to the webhook")?;
        let signalled = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if signalled.elapsed() > within {
                bail!("the webhook did not exit within {within:?} of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// A log that cannot be written

/// With stderr failing, 20 reviews are still answered (mutated), the lines they would
/// have logged are counted as dropped, `/healthz` answers, and SIGTERM stops the process
/// within the drain time with status 0.
async fn admissions_survive_a_failing_stderr(ctx: &Ctx, mut hook: Bare) -> Result<()> {
    for i in 0..20 {
        let review = loadgen::create_review(&ctx.namespace, "ubuntu-24.04");
        let (status, answer) = hook.post(review.to_vec()).await?;
        ensure!(
            status == 200 && answer["response"]["allowed"] == true && answer["response"]["patch"].is_string(),
            "review {i} with stderr failing: {status} {answer}"
        );
    }
    ensure!(
        webhook::http_status(hook.admin_port, "/healthz").await == Some(200),
        "/healthz did not answer"
    );
    // The log writer gathers queued lines for a few milliseconds (webhook/src/log_sink.rs):
    // the last lines are counted once it has tried them.
    let deadline = Instant::now() + Duration::from_secs(2);
    let dropped = loop {
        let metrics = webhook::metrics(&hook.dir).await?;
        let dropped = webhook::metric_value(&metrics, "vmimage_log_lines_dropped_total")
            .context("no vmimage_log_lines_dropped_total")?;
        if dropped >= 20.0 || Instant::now() > deadline {
            break dropped;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    ensure!(
        dropped >= 20.0,
        "20 mutated reviews log 20 lines, but {dropped} were counted as dropped"
    );
    let status = hook.terminate(Duration::from_secs(15)).await?;
    ensure!(status.success(), "exited {status} after SIGTERM");
    vmimage_testenv::say(format!(
        "stderr failing: 20 reviews answered, {dropped} log lines dropped, exited {status} on SIGTERM"
    ));
    Ok(())
}

/// Stderr on `/dev/full` from the start: every write fails with ENOSPC.
pub async fn stderr_on_dev_full_leaves_admissions_and_sigterm_working(ctx: Ctx) -> Result<()> {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open(Path::new("/dev/full"))
        .context("opening /dev/full")?;
    let hook = start_bare(&ctx, full.into(), &[]).await?;
    admissions_survive_a_failing_stderr(&ctx, hook).await
}

/// Stderr a pipe whose reader goes away once the webhook is ready: every later write
/// fails with EPIPE.
pub async fn stderr_broken_mid_run_leaves_admissions_and_sigterm_working(ctx: Ctx) -> Result<()> {
    let (reader, writer) = std::io::pipe().context("creating a pipe")?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_reading = stop.clone();
    // Read (and discard) until the webhook is ready, so start-up logs like any other run.
    let reading = std::thread::spawn(move || {
        let mut reader = reader;
        let mut sink = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(40);
        while Instant::now() < deadline {
            match std::io::Read::read(&mut reader, &mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if stop_reading.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
        }
        // Dropping the reader breaks the pipe.
    });
    let hook = start_bare(&ctx, writer.into(), &[]).await?;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    // One more line (a /readyz probe logs nothing, a review does) wakes the reader up.
    let _ = hook
        .post(loadgen::create_review(&ctx.namespace, "ubuntu-24.04").to_vec())
        .await;
    tokio::task::spawn_blocking(move || reading.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the pipe reader panicked"))?;
    admissions_survive_a_failing_stderr(&ctx, hook).await
}

// ---------------------------------------------------------------------------------------
// Deep and large VMs through the apiserver

/// `levels` objects `{"x": …}` nested around a string, built without recursion.
fn nested(levels: usize) -> serde_json::Value {
    let mut value = serde_json::Value::from("bottom");
    for _ in 0..levels {
        value = serde_json::Value::Object(serde_json::Map::from_iter([("x".to_string(), value)]));
    }
    value
}

/// A VM naming a cluster image, held by a finalizer, with `runcmd` as its cloud-config
/// commands (a list VM Operator's CRD keeps whatever its items hold).
fn held_vm(ns: &str, name: &str, runcmd: serde_json::Value) -> serde_json::Value {
    let mut vm = vmimage_testenv::suite::vm_manifest(
        ns,
        name,
        serde_json::json!({
            "imageName": "ubuntu-24.04", "className": "best-effort-small",
            "bootstrap": {"cloudInit": {"cloudConfig": {"runcmd": runcmd}}},
        }),
    );
    vm["metadata"]["finalizers"] = serde_json::json!(["example.com/hold"]);
    vm
}

fn kubectl(ctx: &Ctx, args: &[&str], stdin: Option<&str>) -> Result<(bool, String)> {
    let out = ctx.kubectl_stdin(args, stdin)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text.chars().take(600).collect()))
}

/// Removes the finalizer, deletes the VM and waits until it is gone.
async fn release(ctx: &Ctx, name: &str) -> Result<()> {
    let ns = &ctx.namespace;
    let (ok, out) = kubectl(
        ctx,
        &[
            "-n",
            ns,
            "patch",
            "vm",
            name,
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ],
        None,
    )?;
    ensure!(ok, "removing the finalizer of {name} was refused: {out}");
    let (ok, out) = kubectl(
        ctx,
        &["-n", ns, "delete", "vm", name, "--wait=true", "--timeout=20s"],
        None,
    )?;
    ensure!(ok, "deleting {name}: {out}");
    Ok(())
}

/// `runcmd` nested 200 levels, deeper than serde_json reads by default: the CREATE is
/// resolved like any other (VM Operator admits such a VM), UPDATEs are answered, and its
/// finalizer can be removed.
pub async fn a_200_deep_vm_is_admitted_like_any_other_and_its_finalizer_can_be_removed(
    ctx: Ctx,
) -> Result<()> {
    let ns = ctx.namespace.clone();
    let deep = serde_json::json!([nested(200)]);
    let manifest = held_vm(&ns, "deep", deep).to_string();
    let (ok, out) = kubectl(&ctx, &["create", "-f", "-"], Some(&manifest))?;
    ensure!(ok, "a 200-deep CREATE was refused: {out}");
    let (ok, out) = kubectl(
        &ctx,
        &["-n", &ns, "get", "vm", "deep", "-o", "jsonpath={.spec.imageName}"],
        None,
    )?;
    ensure!(
        ok && out.trim() == "vmi-0a0044d7c690bcbea",
        "the deep VM's image was not resolved: {out}"
    );
    let (ok, out) = kubectl(
        &ctx,
        &["-n", &ns, "annotate", "vm", "deep", "example.com/touched=yes"],
        None,
    )?;
    ensure!(ok, "an UPDATE of the deep VM was refused: {out}");
    release(&ctx, "deep").await
}

/// A VM of about 1.4 MB (its `runcmd` strings): CREATE, an annotation, removing the
/// finalizer and DELETE all pass; each UPDATE's review carries the object twice.
pub async fn a_large_vm_can_be_updated_and_its_finalizer_removed(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.clone();
    let line = format!("echo {}", "a".repeat(100_000));
    let runcmd = serde_json::Value::from(vec![line; 14]);
    let manifest = held_vm(&ns, "large", runcmd).to_string();
    ensure!(
        manifest.len() > 1_400_000,
        "the VM is only {} bytes",
        manifest.len()
    );
    let (ok, out) = kubectl(&ctx, &["create", "-f", "-"], Some(&manifest))?;
    ensure!(ok, "creating the large VM: {out}");
    let (ok, out) = kubectl(
        &ctx,
        &["-n", &ns, "annotate", "vm", "large", "example.com/touched=yes"],
        None,
    )?;
    ensure!(ok, "annotating the large VM was refused: {out}");
    release(&ctx, "large").await
}

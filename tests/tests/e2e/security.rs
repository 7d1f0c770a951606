//! Reliability and security of the webhook process itself: the TLS versions it accepts,
//! the least privilege of its RBAC, a graceful SIGTERM under load and a serving
//! certificate rotated on disk under load. Each test that needs a process of its own
//! starts a private webhook (own ports, own CA, not registered with the apiserver) from
//! the state directory of its namespace, so the suite's webhook is never disturbed.

use anyhow::{Context, Result, bail, ensure};
use rustls::{
    ClientConfig, ClientConnection, ProtocolVersion, RootCertStore, SupportedProtocolVersion,
    pki_types::{CertificateDer, ServerName, pem::PemObject},
    version::{TLS12, TLS13},
};
use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};
use vmimage_testenv::{
    loadgen,
    pki::Ca,
    suite::{Ctx, TestFn},
    webhook::{self, RunningWebhook},
};

/// Every test in this file, for the e2e runner.
pub fn all() -> Vec<(&'static str, TestFn)> {
    vmimage_testenv::tests![
        crate::security::tls_1_0_and_1_1_are_refused_1_2_and_1_3_accepted,
        crate::security::rbac_is_least_privilege,
        crate::security::sigterm_under_http2_load_answers_every_accepted_request,
        crate::security::sigterm_under_http1_load_answers_every_accepted_request,
        crate::security::rotated_certificate_is_served_within_10s_under_load,
    ]
}

/// A webhook of this test's own, serving a certificate from a CA of its own.
struct Private {
    hook: RunningWebhook,
    ca: Ca,
    /// Where its files live (`webhook/tls.crt`, `webhook.log`).
    dir: PathBuf,
}

fn private_dir(ctx: &Ctx) -> Result<PathBuf> {
    let dir = ctx.state_dir.join("private").join(&ctx.namespace);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

async fn start_private(ctx: &Ctx, dir: PathBuf) -> Result<Private> {
    start_private_env(ctx, dir, &[]).await
}

async fn start_private_env(ctx: &Ctx, dir: PathBuf, env: &[(&str, &str)]) -> Result<Private> {
    let ca = Ca::new(&format!("vmimage-e2e-{}", ctx.namespace))?;
    let bin = ctx.bin_dir.join("vmimage-webhook");
    let hook = webhook::start_with_env(&dir, &ca, &ctx.kubeconfig, &bin, &[], env).await?;
    Ok(Private { hook, ca, dir })
}

// ---------------------------------------------------------------------------------------
// TLS versions

/// A minimal, well-formed ClientHello offering `version` as its (legacy) version, with
/// no `supported_versions` extension: how a TLS 1.0/1.1/1.2-only client says hello. The
/// cipher suites cover both TLS 1.2 AEAD suites and the CBC suites of TLS 1.0/1.1, so the
/// only thing that differs between the hellos is the version.
fn client_hello(version: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(version.to_be_bytes());
    body.extend([0x5a; 32]); // random
    body.push(0); // no session id
    let suites: [u16; 6] = [0xc02b, 0xc02f, 0xc009, 0xc013, 0x002f, 0x0035];
    body.extend(((suites.len() * 2) as u16).to_be_bytes());
    suites.iter().for_each(|s| body.extend(s.to_be_bytes()));
    body.extend([1, 0]); // compression: null only
    let mut ext = Vec::new();
    let mut push = |ty: u16, data: &[u8]| {
        ext.extend(ty.to_be_bytes());
        ext.extend((data.len() as u16).to_be_bytes());
        ext.extend(data);
    };
    push(0x000a, &[0, 4, 0x00, 0x1d, 0x00, 0x17]); // supported_groups: x25519, P-256
    push(0x000b, &[1, 0]); // ec_point_formats: uncompressed
    push(0x000d, &[0, 6, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01]); // signature_algorithms
    body.extend((ext.len() as u16).to_be_bytes());
    body.extend(ext);
    let mut handshake = vec![1]; // ClientHello
    handshake.extend(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01]; // handshake record, TLS 1.0 record version
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

/// What the server answered a hand-written hello with.
#[derive(Debug)]
enum Answer {
    /// An alert record: (level, description).
    Alert(u8, u8),
    /// A ServerHello choosing this version.
    ServerHello(u16),
    /// Anything else: the record's content type and first payload bytes (shown in
    /// failure messages).
    #[allow(dead_code, reason = "read through Debug")]
    Other(u8, Vec<u8>),
}

/// Sends `hello` and reads the first record back; also whether the server then closed
/// the connection (read returned EOF or a reset within 5 s).
fn send_hello(port: u16, hello: &[u8]) -> Result<(Answer, bool)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(hello)?;
    let mut head = [0u8; 5];
    s.read_exact(&mut head).context("no TLS record came back")?;
    let len = u16::from_be_bytes([head[3], head[4]]) as usize;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload)?;
    let answer = match (head[0], payload.as_slice()) {
        (0x15, [level, description, ..]) => Answer::Alert(*level, *description),
        (0x16, [2, _, _, _, major, minor, ..]) => Answer::ServerHello(u16::from_be_bytes([*major, *minor])),
        (ty, p) => Answer::Other(ty, p.iter().take(8).copied().collect()),
    };
    let mut rest = [0u8; 4096];
    let closed = loop {
        match s.read(&mut rest) {
            Ok(0) => break true,
            Ok(_) => continue, // the rest of a ServerHello flight
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                break false;
            }
            Err(_) => break true,
        }
    };
    Ok((answer, closed))
}

/// A full rustls handshake limited to `versions`, trusting only `ca_pem`: the version
/// negotiated and the leaf certificate served.
fn handshake(
    port: u16,
    ca_pem: &str,
    versions: &[&'static SupportedProtocolVersion],
) -> Result<(ProtocolVersion, Vec<u8>)> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes())?)?;
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1")?.to_owned();
    let mut conn = ClientConnection::new(Arc::new(config), name)?;
    let mut sock = TcpStream::connect(("127.0.0.1", port))?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)?;
    }
    let version = conn
        .protocol_version()
        .context("no version after the handshake")?;
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .context("no certificate served")?
        .to_vec();
    Ok((version, leaf))
}

/// TLS 1.0 and 1.1 ClientHellos get a fatal `protocol_version` alert and a closed
/// connection; the same hello at 1.2 gets a ServerHello; rustls clients restricted to
/// 1.2 and to 1.3 complete handshakes at exactly those versions.
pub async fn tls_1_0_and_1_1_are_refused_1_2_and_1_3_accepted(ctx: Ctx) -> Result<()> {
    let p = start_private(&ctx, private_dir(&ctx)?).await?;
    let (port, ca_pem) = (p.hook.port, p.ca.pair.cert_pem.clone());
    tokio::task::spawn_blocking(move || -> Result<()> {
        for (name, version) in [("TLS 1.0", 0x0301u16), ("TLS 1.1", 0x0302)] {
            let (answer, closed) = send_hello(port, &client_hello(version))?;
            // 2 = fatal, 70 = protocol_version (RFC 8446 §6).
            ensure!(
                matches!(answer, Answer::Alert(2, 70)),
                "{name} hello: expected a fatal protocol_version alert, got {answer:?}"
            );
            ensure!(
                closed,
                "{name} hello: the server kept the connection open after its alert"
            );
        }
        let (answer, _) = send_hello(port, &client_hello(0x0303))?;
        ensure!(
            matches!(answer, Answer::ServerHello(0x0303)),
            "the same hello at TLS 1.2 should get a TLS 1.2 ServerHello, got {answer:?}"
        );
        for (name, version, expected) in [
            ("TLS 1.2", &TLS12, ProtocolVersion::TLSv1_2),
            ("TLS 1.3", &TLS13, ProtocolVersion::TLSv1_3),
        ] {
            let (got, _) =
                handshake(port, &ca_pem, &[version]).with_context(|| format!("{name} handshake"))?;
            ensure!(got == expected, "{name} client negotiated {got:?}");
        }
        Ok(())
    })
    .await?
}

// ---------------------------------------------------------------------------------------
// RBAC

const SA_USER: &str = "system:serviceaccount:vmimage-system:vmimage-webhook";

/// `kubectl auth can-i` as the webhook's ServiceAccount (with the groups a real token
/// of it carries): true for "yes", false for "no".
fn can_i(ctx: &Ctx, args: &[&str]) -> Result<bool> {
    let mut all = vec![
        "auth",
        "can-i",
        "--as",
        SA_USER,
        "--as-group",
        "system:serviceaccounts",
        "--as-group",
        "system:serviceaccounts:vmimage-system",
        "--as-group",
        "system:authenticated",
    ];
    all.extend_from_slice(args);
    let out = ctx.kubectl(&all)?;
    match String::from_utf8_lossy(&out.stdout).trim() {
        "yes" => Ok(true),
        "no" => Ok(false),
        other => bail!(
            "kubectl {}: unexpected answer {other:?} ({})",
            all.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The webhook's ClusterRole, applied to the real apiserver (RBAC authorizer), grants
/// exactly what the webhook does: read images, policies and namespaces, patch policy
/// status; nothing else.
pub async fn rbac_is_least_privilege(ctx: Ctx) -> Result<()> {
    let base = vmimage_testenv::workspace_root().join("manifests/webhook/base");
    let (ns_file, rbac_file) = (base.join("namespace.yaml"), base.join("rbac.yaml"));
    let (ns_file, rbac_file) = (
        ns_file.to_str().context("path")?,
        rbac_file.to_str().context("path")?,
    );
    ctx.kubectl_ok(&["apply", "-f", ns_file])?;
    ctx.kubectl_ok(&["apply", "-f", rbac_file])?;
    let checked = check_rbac(&ctx);
    // Clean up whatever happened. Without a controller-manager a deleted namespace stays
    // Terminating, which is harmless: nothing else in the suite uses vmimage-system.
    let cleaned = ctx
        .kubectl_ok(&["delete", "-f", rbac_file, "--ignore-not-found"])
        .and_then(|_| ctx.kubectl_ok(&["delete", "-f", ns_file, "--ignore-not-found", "--wait=false"]));
    checked?;
    cleaned?;
    Ok(())
}

fn check_rbac(ctx: &Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let mut wrong = Vec::new();
    let allowed: &[&[&str]] = &[
        &["get", "virtualmachineimages.vmoperator.vmware.com", "-A"],
        &["list", "virtualmachineimages.vmoperator.vmware.com", "-A"],
        &["watch", "virtualmachineimages.vmoperator.vmware.com", "-A"],
        &["get", "clustervirtualmachineimages.vmoperator.vmware.com"],
        &["list", "clustervirtualmachineimages.vmoperator.vmware.com"],
        &["watch", "clustervirtualmachineimages.vmoperator.vmware.com"],
        &["get", "vmimagepolicies.vmimage.io"],
        &["list", "vmimagepolicies.vmimage.io"],
        &["watch", "vmimagepolicies.vmimage.io"],
        &["patch", "vmimagepolicies.vmimage.io", "--subresource", "status"],
        &["get", "namespaces"],
        &["list", "namespaces"],
        &["watch", "namespaces"],
    ];
    let denied: &[&[&str]] = &[
        &["create", "virtualmachineimages.vmoperator.vmware.com", "-n", ns],
        &["update", "virtualmachineimages.vmoperator.vmware.com", "-n", ns],
        &["patch", "virtualmachineimages.vmoperator.vmware.com", "-n", ns],
        &["delete", "virtualmachineimages.vmoperator.vmware.com", "-n", ns],
        &[
            "deletecollection",
            "virtualmachineimages.vmoperator.vmware.com",
            "-A",
        ],
        &["create", "clustervirtualmachineimages.vmoperator.vmware.com"],
        &["update", "clustervirtualmachineimages.vmoperator.vmware.com"],
        &["delete", "clustervirtualmachineimages.vmoperator.vmware.com"],
        &["create", "vmimagepolicies.vmimage.io"],
        &["update", "vmimagepolicies.vmimage.io"],
        &["patch", "vmimagepolicies.vmimage.io"],
        &["delete", "vmimagepolicies.vmimage.io"],
        &["update", "vmimagepolicies.vmimage.io", "--subresource", "status"],
        &["get", "secrets", "-A"],
        &["list", "secrets", "-A"],
        &["get", "secrets", "-n", "vmimage-system"],
        &["get", "configmaps", "-A"],
        &["list", "configmaps", "-n", ns],
        &["create", "virtualmachines.vmoperator.vmware.com", "-n", ns],
        &["patch", "virtualmachines.vmoperator.vmware.com", "-n", ns],
        &["get", "virtualmachines.vmoperator.vmware.com", "-n", ns],
        &[
            "create",
            "virtualmachinepublishrequests.vmoperator.vmware.com",
            "-n",
            ns,
        ],
        &["create", "namespaces"],
        &["patch", "namespaces"],
        &["delete", "namespaces"],
        &["create", "pods", "-n", ns],
        &["create", "serviceaccounts/token", "-n", "vmimage-system"],
        &["impersonate", "users"],
        &["escalate", "clusterroles.rbac.authorization.k8s.io"],
        &["bind", "clusterroles.rbac.authorization.k8s.io"],
        &[
            "create",
            "mutatingwebhookconfigurations.admissionregistration.k8s.io",
        ],
        &["*", "*"],
    ];
    for args in allowed {
        if !can_i(ctx, args)? {
            wrong.push(format!("should be allowed: {}", args.join(" ")));
        }
    }
    for args in denied {
        if can_i(ctx, args)? {
            wrong.push(format!("should be denied: {}", args.join(" ")));
        }
    }
    ensure!(
        wrong.is_empty(),
        "{} RBAC answers wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // And through real requests, not just SubjectAccessReviews.
    let as_sa = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--as", SA_USER, "--as-group", "system:serviceaccounts"]);
        ctx.kubectl(&all)
    };
    let listed = as_sa(&[
        "get",
        "clustervirtualmachineimages.vmoperator.vmware.com",
        "-o",
        "name",
    ])?;
    ensure!(
        listed.status.success() && String::from_utf8_lossy(&listed.stdout).contains("vmi-0a0044d7c690bcbea"),
        "the ServiceAccount could not list cluster images: {}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let secrets = as_sa(&["get", "secrets", "-A"])?;
    let stderr = String::from_utf8_lossy(&secrets.stderr);
    ensure!(
        !secrets.status.success() && stderr.contains("Forbidden"),
        "listing secrets as the ServiceAccount should be Forbidden: {stderr}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// SIGTERM under load

/// Loads a private webhook with 16 concurrent requests, sends SIGTERM to its process
/// group 1.5 s in and checks that every request that was accepted got a complete 200.
async fn sigterm_under_load(ctx: Ctx, http2: bool) -> Result<()> {
    // Debug level: the webhook logs each admitted VM there, and the count is checked below.
    let mut p = start_private_env(&ctx, private_dir(&ctx)?, &[webhook::LOG_EACH_ADMISSION]).await?;
    let url = format!("https://127.0.0.1:{}/mutate", p.hook.port);
    let (ca_pem, body) = (
        p.ca.pair.cert_pem.clone(),
        loadgen::create_review(&ctx.namespace, "ubuntu-24.04"),
    );
    let load = tokio::spawn(async move {
        loadgen::run(&url, &ca_pem, body, 16, Duration::from_secs(4), 2_000_000, http2).await
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pgid = nix::unistd::Pid::from_raw(p.hook.proc.pid() as i32);
    nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGTERM).context("SIGTERM to the webhook")?;
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = p.hook.proc.exited() {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(15) {
            bail!(
                "the webhook did not exit within 15 s of SIGTERM:\n{}",
                p.hook.proc.log_tail(20)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let exited_after = signalled.elapsed();
    let stats = load.await??;
    vmimage_testenv::say(format!(
        "SIGTERM under {} load: exited {status} after {:.2} s; {} answered 200, {} non-200, {} broken bodies, \
         {} sent without a response, {} could not connect (after the listener closed)",
        if http2 { "HTTP/2" } else { "HTTP/1.1" },
        exited_after.as_secs_f64(),
        stats.ok,
        stats.non_200,
        stats.broken_body,
        stats.no_response,
        stats.connect_failed,
    ));
    for f in &stats.failures {
        vmimage_testenv::say(format!("  {f}"));
    }
    ensure!(
        status.success(),
        "the webhook exited {status} after SIGTERM:\n{}",
        p.hook.proc.log_tail(20)
    );
    ensure!(stats.ok > 100, "too little load to mean anything: {stats:?}");
    ensure!(
        stats.non_200 == 0 && stats.broken_body == 0,
        "answers other than a complete 200: {stats:?}\n{}",
        p.hook.proc.log_tail(20)
    );
    // Every review the webhook began to handle (it logs each one at debug) was answered, in full,
    // with a 200: the shutdown cut none of them off. Requests "sent without a response"
    // never reached the handler: on HTTP/2 they are streams the final GOAWAY refused (Go's
    // transport, the apiserver's, retries those by itself); on HTTP/1.1 they crossed the
    // server closing an idle keep-alive connection. Connection failures come after the
    // listener closed (in a cluster the preStop sleep lets endpoints update first).
    let log = std::fs::read_to_string(p.dir.join("webhook.log"))?;
    ensure!(
        log.contains("SIGTERM: draining"),
        "the webhook did not log its drain:\n{log}"
    );
    let handled = log.matches("image references resolved").count();
    ensure!(
        handled == stats.ok,
        "the webhook handled {handled} reviews but the client got {} complete 200s: {stats:?}",
        stats.ok
    );
    Ok(())
}

/// One multiplexed HTTP/2 connection, as the apiserver calls webhooks.
pub async fn sigterm_under_http2_load_answers_every_accepted_request(ctx: Ctx) -> Result<()> {
    sigterm_under_load(ctx, true).await
}

/// A pool of HTTP/1.1 keep-alive connections.
pub async fn sigterm_under_http1_load_answers_every_accepted_request(ctx: Ctx) -> Result<()> {
    sigterm_under_load(ctx, false).await
}

// ---------------------------------------------------------------------------------------
// Certificate rotation

/// Replaces `dir/..data` (a symlink to a timestamped directory) with one to a new
/// directory holding `cert` and `key`, in one rename: what the kubelet does to a Secret
/// volume. `tls.crt` and `tls.key` are symlinks through `..data` and never change.
fn swap_data(dir: &Path, generation: &str, cert: &str, key: &str) -> Result<()> {
    let data = dir.join(format!("..{generation}"));
    std::fs::create_dir(&data)?;
    std::fs::write(data.join("tls.crt"), cert)?;
    std::fs::write(data.join("tls.key"), key)?;
    let tmp = dir.join("..data_tmp");
    std::os::unix::fs::symlink(format!("..{generation}"), &tmp)?;
    std::fs::rename(&tmp, dir.join("..data"))?;
    Ok(())
}

fn der(pem: &str) -> Result<Vec<u8>> {
    Ok(CertificateDer::from_pem_slice(pem.as_bytes())?.to_vec())
}

/// A private webhook whose `tls.crt`/`tls.key` are Secret-volume style symlinks; a new
/// pair from the same CA is swapped in under HTTP/2 and HTTP/1.1 load. New handshakes
/// must serve it within 10 s, and no request of the load may fail.
pub async fn rotated_certificate_is_served_within_10s_under_load(ctx: Ctx) -> Result<()> {
    let dir = private_dir(&ctx)?;
    let cert_dir = dir.join("webhook");
    std::fs::create_dir_all(&cert_dir)?;
    // Empty first generation: webhook::start writes the first pair through the links.
    std::fs::create_dir(cert_dir.join("..first"))?;
    std::os::unix::fs::symlink("..first", cert_dir.join("..data"))?;
    for f in ["tls.crt", "tls.key"] {
        std::os::unix::fs::symlink(format!("..data/{f}"), cert_dir.join(f))?;
    }
    let p = start_private(&ctx, dir).await?;
    ensure!(
        std::fs::symlink_metadata(cert_dir.join("tls.crt"))?
            .file_type()
            .is_symlink(),
        "webhook::start replaced the tls.crt symlink"
    );
    let (port, ca_pem) = (p.hook.port, p.ca.pair.cert_pem.clone());
    let first = der(&std::fs::read_to_string(cert_dir.join("..first/tls.crt"))?)?;
    let served = {
        let ca_pem = ca_pem.clone();
        tokio::task::spawn_blocking(move || handshake(port, &ca_pem, &[&TLS13, &TLS12])).await??
    };
    ensure!(
        served.1 == first,
        "the webhook does not serve the first certificate"
    );

    let url = format!("https://127.0.0.1:{port}/mutate");
    let loads: Vec<_> = [true, false]
        .into_iter()
        .map(|http2| {
            let (url, ca_pem, body) = (
                url.clone(),
                ca_pem.clone(),
                loadgen::create_review(&ctx.namespace, "ubuntu-24.04"),
            );
            tokio::spawn(async move {
                loadgen::run(&url, &ca_pem, body, 8, Duration::from_secs(6), 2_000_000, http2).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let next =
        p.ca.serving("vmimage-webhook", &["vmimage-webhook.vmimage-system.svc"])?;
    let next_der = der(&next.cert_pem)?;
    ensure!(next_der != first, "the new certificate is the old one");
    let rotated = Instant::now();
    swap_data(&cert_dir, "second", &next.cert_pem, &next.key_pem)?;
    let took = tokio::task::spawn_blocking(move || -> Result<Duration> {
        loop {
            let (_, leaf) = handshake(port, &ca_pem, &[&TLS13, &TLS12])?;
            if leaf == next_der {
                return Ok(rotated.elapsed());
            }
            ensure!(
                leaf == first,
                "the webhook served a certificate that is neither the old nor the new one"
            );
            if rotated.elapsed() > Duration::from_secs(10) {
                bail!("the rotated certificate is not served 10 s after the swap");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await?
    .with_context(|| p.hook.proc.log_tail(20))?;
    ensure!(
        took < Duration::from_secs(5),
        "the new certificate was served only after {took:?}; the load ends at 5 s, so it saw no rotation"
    );
    for (load, name) in loads.into_iter().zip(["HTTP/2", "HTTP/1.1"]) {
        let stats = load.await??;
        vmimage_testenv::say(format!(
            "rotation under {name} load: new certificate served after {:.2} s; {} requests ok, {} failed",
            took.as_secs_f64(),
            stats.ok,
            stats.errors
        ));
        ensure!(
            stats.errors == 0,
            "{name} load saw failures during the rotation: {stats:?}"
        );
        ensure!(
            stats.ok > 100,
            "too little {name} load to mean anything: {stats:?}"
        );
    }
    Ok(())
}

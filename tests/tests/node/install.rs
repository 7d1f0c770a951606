//! The README's install, then what an operator does to it, in order.

use crate::{
    Node,
    stream::{self, Stream},
};
use anyhow::{Context, Result, bail, ensure};
use futures::future::BoxFuture;
use serde_json::Value;
use std::time::{Duration, Instant};

type TestFn = fn(Node) -> BoxFuture<'static, Result<()>>;

macro_rules! tests {
    ($($f:ident),* $(,)?) => {
        vec![$((stringify!($f), (|n| Box::pin($f(n))) as TestFn)),*]
    };
}

/// The tests in the order they run.
pub fn all() -> Vec<(&'static str, TestFn)> {
    tests![
        readme_install_brings_two_ready_replicas_with_a_cert_manager_certificate,
        a_vm_named_by_display_name_is_rewritten_by_a_pod_behind_the_service,
        the_webhook_runs_as_65532_on_a_read_only_root_filesystem,
        the_service_account_can_do_only_what_the_readme_says,
        rollout_restart_under_a_steady_stream_fails_no_admission,
        drain_under_a_steady_stream_fails_no_admission,
        one_replica_killed_the_other_serves,
        cert_manager_renewal_is_served_with_no_failed_request,
        failure_policy_fail_refuses_and_ignore_admits_unmodified,
    ]
}

const NS: &str = "vmimage-system";
const DEPLOY: &str = "deployment/vmimage-webhook";

fn json(text: &str) -> Result<Value> {
    serde_json::from_str(text).with_context(|| format!("not JSON: {text}"))
}

/// The webhook's pods: (name, IP, ready).
fn pods(n: &Node) -> Result<Vec<(String, String, bool)>> {
    let list = json(&n.kubectl_ok(&[
        "-n",
        NS,
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/name=vmimage-webhook",
        "-o",
        "json",
    ])?)?;
    Ok(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| {
            let ready = p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            (
                p["metadata"]["name"].as_str().unwrap_or_default().to_string(),
                p["status"]["podIP"].as_str().unwrap_or_default().to_string(),
                ready,
            )
        })
        .collect())
}

fn ready_pods(n: &Node) -> Result<Vec<(String, String)>> {
    Ok(pods(n)?
        .into_iter()
        .filter(|p| p.2)
        .map(|(name, ip, _)| (name, ip))
        .collect())
}

async fn wait_until(what: &str, within: Duration, mut ok: impl FnMut() -> Result<bool>) -> Result<Duration> {
    let start = Instant::now();
    loop {
        if ok()? {
            return Ok(start.elapsed());
        }
        if start.elapsed() > within {
            bail!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn rollout_status(n: &Node) -> Result<()> {
    n.kubectl_ok(&["-n", NS, "rollout", "status", DEPLOY, "--timeout=300s"])
        .map(drop)
}

async fn ensure_vm_namespace(n: &Node) -> Result<()> {
    vmimage_testenv::catalog::ensure_namespaces(&n.client().await?, [n.vms.clone()]).await
}

async fn readme_install_brings_two_ready_replicas_with_a_cert_manager_certificate(n: Node) -> Result<()> {
    let start = Instant::now();
    // The README's install section, word for word.
    n.kubectl_ok(&["apply", "-k", "manifests/webhook/overlays/cert-manager"])?;
    rollout_status(&n)?;
    let took = start.elapsed();
    n.kubectl_ok(&[
        "-n",
        NS,
        "wait",
        "--for=condition=Ready",
        "certificate/vmimage-webhook",
        "--timeout=120s",
    ])?;
    let ready = ready_pods(&n)?;
    ensure!(ready.len() == 2, "want 2 ready replicas, have {ready:?}");
    for (_, ip) in &ready {
        ensure!(
            ip.starts_with("198.18."),
            "pod address {ip} is outside the pod range 198.18.0.0/16"
        );
    }
    // The CA injector filled the caBundle with the install's CA.
    let bundle = n.kubectl_ok(&[
        "get",
        "mutatingwebhookconfiguration",
        "vmimage-mutating-webhook-configuration",
        "-o",
        "jsonpath={.webhooks[0].clientConfig.caBundle}",
    ])?;
    let ca = n.kubectl_ok(&[
        "-n",
        NS,
        "get",
        "secret",
        "vmimage-webhook-tls",
        "-o",
        "jsonpath={.data.ca\\.crt}",
    ])?;
    ensure!(
        !bundle.is_empty() && bundle == ca,
        "caBundle is not the certificate's CA"
    );
    // `rollout status` returns once the pods are Ready; kube-proxy programs the Service's
    // endpoints a moment later, and until then a create is refused (failurePolicy Fail).
    let routed = first_rewrite(&n, "first", Duration::from_secs(30)).await?;
    eprintln!(
        "install: apply -k and rollout status took {:.1} s; the first VM was rewritten {:.1} s later; pods {ready:?}",
        took.as_secs_f64(),
        routed.as_secs_f64()
    );
    Ok(())
}

/// Creates VMs `prefix-N` until one is rewritten (within `within`); how long that took.
async fn first_rewrite(n: &Node, prefix: &str, within: Duration) -> Result<Duration> {
    ensure_vm_namespace(n).await?;
    let start = Instant::now();
    for attempt in 1.. {
        match create_one(n, &format!("{prefix}-{attempt}")).await? {
            Ok(true) => break,
            Ok(false) => bail!("{prefix}-{attempt} was admitted unmodified"),
            Err(e) if start.elapsed() > within => bail!("no VM rewritten within {within:?}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    Ok(start.elapsed())
}

async fn a_vm_named_by_display_name_is_rewritten_by_a_pod_behind_the_service(n: Node) -> Result<()> {
    ensure_vm_namespace(&n).await?;
    // The API server reaches the webhook by the Service's ClusterIP, inside 198.19.0.0/24.
    let ip = n.kubectl_ok(&[
        "-n",
        NS,
        "get",
        "service",
        "vmimage-webhook",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ])?;
    ensure!(
        ip.starts_with("198.19.0."),
        "Service ClusterIP {ip} is outside 198.19.0.0/24"
    );
    let vm = serde_json::to_string(&vmimage_testenv::suite::vm_manifest(
        &n.vms,
        "by-display-name",
        serde_json::json!({"imageName": stream::DISPLAY_NAME, "className": "best-effort-small"}),
    ))?;
    let path = n.state.join("by-display-name.json");
    std::fs::write(&path, vm)?;
    n.kubectl_ok(&["create", "-f", &path.display().to_string()])?;
    let got = json(&n.kubectl_ok(&[
        "-n",
        &n.vms,
        "get",
        "virtualmachine",
        "by-display-name",
        "-o",
        "json",
    ])?)?;
    ensure!(
        got["spec"]["imageName"] == stream::IMAGE_ID
            && got["spec"]["image"]
                == serde_json::json!({"kind": "ClusterVirtualMachineImage", "name": stream::IMAGE_ID})
            && got["metadata"]["annotations"]["vmimage.io/requested-image"] == stream::DISPLAY_NAME,
        "not rewritten: {}",
        got["spec"]
    );
    // One of the pods decided it: its /metrics (read through the apiserver's pod proxy)
    // counts the rewrite. (The line per rewritten VM is logged at debug only.)
    let pods = n.kubectl_ok(&[
        "-n",
        NS,
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/name=vmimage-webhook",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ])?;
    let mut seen = Vec::new();
    let mut mutated = 0.0;
    for pod in pods.split_whitespace() {
        let metrics = n.kubectl_ok(&[
            "get",
            "--raw",
            &format!("/api/v1/namespaces/{NS}/pods/{pod}:8080/proxy/metrics"),
        ])?;
        let count =
            vmimage_testenv::webhook::metric_sum(&metrics, r#"vmimage_admissions_total{result="mutated""#);
        seen.push(format!("{pod}: {count}"));
        mutated += count;
    }
    ensure!(
        mutated >= 1.0,
        "no pod counted the rewrite in vmimage_admissions_total: {seen:?}"
    );
    Ok(())
}

/// The host process of a webhook pod's container, through the node's containerd.
fn container_pid(n: &Node, pod: &str) -> Result<u32> {
    let id = n.kubectl_ok(&[
        "-n",
        NS,
        "get",
        "pod",
        pod,
        "-o",
        "jsonpath={.status.containerStatuses[0].containerID}",
    ])?;
    let id = id
        .strip_prefix("containerd://")
        .with_context(|| format!("container ID {id:?}"))?;
    let tasks = n.ctr(&["tasks", "ls"])?;
    tasks
        .lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            (f.next() == Some(id))
                .then(|| f.next().and_then(|p| p.parse().ok()))
                .flatten()
        })
        .with_context(|| format!("no containerd task {id} in:\n{tasks}"))
}

async fn the_webhook_runs_as_65532_on_a_read_only_root_filesystem(n: Node) -> Result<()> {
    for (pod, _) in ready_pods(&n)? {
        let pid = container_pid(&n, &pod)?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |k: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.split_whitespace().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        ensure!(field("Uid:") == ["65532"; 4], "{pod}: Uid {:?}", field("Uid:"));
        ensure!(field("Gid:") == ["65532"; 4], "{pod}: Gid {:?}", field("Gid:"));
        ensure!(
            field("CapEff:") == ["0000000000000000"],
            "{pod}: CapEff {:?}",
            field("CapEff:")
        );
        ensure!(
            field("NoNewPrivs:") == ["1"],
            "{pod}: NoNewPrivs {:?}",
            field("NoNewPrivs:")
        );
        ensure!(field("Seccomp:") == ["2"], "{pod}: not under a seccomp filter");
        // mountinfo: ID parent major:minor root mountpoint options ...
        let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))?;
        let root = mounts
            .lines()
            .map(|l| l.split(' ').collect::<Vec<_>>())
            .find(|f| f.get(4) == Some(&"/"))
            .with_context(|| format!("{pod}: no / in mountinfo"))?;
        ensure!(
            root[5].split(',').any(|o| o == "ro"),
            "{pod}: root filesystem mounted {}",
            root[5]
        );
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))?;
        ensure!(
            exe == std::path::Path::new("/vmimage-webhook"),
            "{pod}: runs {}",
            exe.display()
        );
    }
    Ok(())
}

async fn the_service_account_can_do_only_what_the_readme_says(n: Node) -> Result<()> {
    let sa = "--as=system:serviceaccount:vmimage-system:vmimage-webhook";
    let can = |verb: &str, what: &str| -> Result<bool> {
        let mut args = vec!["auth", "can-i", sa, verb];
        match what.split_once('/') {
            Some((resource, sub)) => args.extend([resource, "--subresource", sub]),
            None => args.push(what),
        }
        let out = n.kubectl(&args)?;
        Ok(String::from_utf8_lossy(&out.stdout).trim() == "yes")
    };
    let allowed = [
        ("watch", "virtualmachineimages.vmoperator.vmware.com"),
        ("list", "clustervirtualmachineimages.vmoperator.vmware.com"),
        ("get", "contentlibraryitems.imageregistry.vmware.com"),
        ("get", "clustercontentlibraries.imageregistry.vmware.com"),
        ("watch", "vmimagepolicies.vmimage.io"),
        ("patch", "vmimagepolicies.vmimage.io/status"),
        ("list", "namespaces"),
    ];
    let denied = [
        ("create", "virtualmachines.vmoperator.vmware.com"),
        ("get", "virtualmachines.vmoperator.vmware.com"),
        ("update", "virtualmachineimages.vmoperator.vmware.com"),
        ("list", "contentlibraryitems.imageregistry.vmware.com"),
        ("patch", "vmimagepolicies.vmimage.io"),
        ("get", "secrets"),
        ("list", "pods"),
        ("patch", "namespaces"),
        (
            "update",
            "mutatingwebhookconfigurations.admissionregistration.k8s.io",
        ),
    ];
    for (verb, what) in allowed {
        ensure!(can(verb, what)?, "the ServiceAccount cannot {verb} {what}");
    }
    for (verb, what) in denied {
        ensure!(!can(verb, what)?, "the ServiceAccount can {verb} {what}");
    }
    Ok(())
}

/// A stream of one create every 100 ms for at most `max`.
async fn start_stream(n: &Node, prefix: &str, max: Duration) -> Result<Stream> {
    ensure_vm_namespace(n).await?;
    Ok(Stream::start(
        n.client().await?,
        &n.vms,
        prefix,
        Duration::from_millis(100),
        max,
    ))
}

fn ensure_no_failure(what: &str, tally: &stream::Tally) -> Result<()> {
    eprintln!("{what}: {tally}");
    ensure!(
        tally.total() >= 20,
        "{what}: too few creates to show anything: {tally}"
    );
    ensure!(tally.failed == 0 && tally.unmodified == 0, "{what}: {tally}");
    Ok(())
}

async fn rollout_restart_under_a_steady_stream_fails_no_admission(n: Node) -> Result<()> {
    let before: Vec<String> = pods(&n)?.into_iter().map(|p| p.0).collect();
    let s = start_stream(&n, "restart", Duration::from_secs(300)).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let start = Instant::now();
    n.kubectl_ok(&["-n", NS, "rollout", "restart", DEPLOY])?;
    rollout_status(&n)?;
    // Let the old pods' terminations finish under the stream too.
    wait_until("old pods gone", Duration::from_secs(60), || {
        Ok(pods(&n)?.iter().all(|p| !before.contains(&p.0)))
    })
    .await?;
    let took = start.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let tally = s.stop().await?;
    eprintln!("rollout restart took {:.1} s", took.as_secs_f64());
    ensure_no_failure("rollout restart", &tally)?;
    ensure!(
        ready_pods(&n)?.len() == 2,
        "not 2 ready replicas after the restart"
    );
    Ok(())
}

async fn drain_under_a_steady_stream_fails_no_admission(n: Node) -> Result<()> {
    // One node: draining it evicts one replica (the PDB allows one disruption); the
    // replacement cannot be scheduled on the cordoned node, so the PDB then blocks the
    // second eviction and the drain times out with one replica still serving. Uncordon
    // brings the second back.
    let s = start_stream(&n, "drain", Duration::from_secs(300)).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let out = n.kubectl(&[
        "drain",
        "node-1",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--pod-selector=app.kubernetes.io/name=vmimage-webhook",
        "--timeout=40s",
    ])?;
    let drain_log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let during = ready_pods(&n)?;
    n.kubectl_ok(&["uncordon", "node-1"])?;
    rollout_status(&n)?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let tally = s.stop().await?;
    eprintln!("drain (one node): {}", drain_log.trim());
    ensure!(
        drain_log.contains("disruption budget") && !out.status.success(),
        "the PDB did not hold the last replica: {drain_log}"
    );
    ensure!(
        during.len() == 1,
        "want 1 ready replica during the drain, have {during:?}"
    );
    ensure_no_failure("drain", &tally)?;
    ensure!(ready_pods(&n)?.len() == 2, "not 2 ready replicas after uncordon");
    Ok(())
}

async fn one_replica_killed_the_other_serves(n: Node) -> Result<()> {
    let ready = ready_pods(&n)?;
    ensure!(ready.len() == 2, "want 2 ready replicas, have {ready:?}");
    let victim = &ready[0].0;
    let pid = container_pid(&n, victim)?;
    let restarts = || -> Result<u32> {
        let r = n.kubectl_ok(&[
            "-n",
            NS,
            "get",
            "pod",
            victim,
            "-o",
            "jsonpath={.status.containerStatuses[0].restartCount}",
        ])?;
        r.trim().parse().with_context(|| format!("restartCount {r:?}"))
    };
    let before = restarts()?;
    let s = start_stream(&n, "kill", Duration::from_secs(120)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // SIGKILL, from the host: no preStop, no drain; the kubelet restarts the container.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )?;
    let killed = Instant::now();
    wait_until(
        "the killed replica restarted and ready",
        Duration::from_secs(90),
        || Ok(restarts()? > before && ready_pods(&n)?.len() == 2),
    )
    .await?;
    let back = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let tally = s.stop().await?;
    eprintln!(
        "killed {victim}: back and ready after {:.1} s; {tally}",
        (back - killed).as_secs_f64()
    );
    // A create that kube-proxy sends to the dead replica before its endpoint goes (or it
    // listens again) is refused: the API server does not retry a refused connection.
    // Everything else is served by the other replica: no failure outside that window,
    // and creates succeed inside it too.
    let outside = tally
        .outcomes
        .iter()
        .filter(|(at, ok)| !ok && (*at < killed || *at > back))
        .count();
    let inside_ok = tally
        .outcomes
        .iter()
        .filter(|(at, ok)| *ok && *at >= killed && *at <= back)
        .count();
    let inside_failed = tally.failed - outside.min(tally.failed);
    eprintln!(
        "while one replica was dead ({:.1} s): {inside_ok} rewritten, {inside_failed} refused",
        (back - killed).as_secs_f64()
    );
    ensure!(
        tally.unmodified == 0 && outside == 0,
        "failures outside the kill window: {tally}"
    );
    ensure!(
        inside_ok > 0,
        "nothing was served while one replica was dead: {tally}"
    );
    ensure!(
        inside_failed <= inside_ok,
        "the surviving replica did not take over: {inside_failed} refused, {inside_ok} served"
    );
    Ok(())
}

/// The SHA-256 of the certificate a replica serves, by its pod address.
fn served_cert(ip: &str) -> Result<String> {
    let script = format!(
        "openssl s_client -connect {ip}:8443 -servername vmimage-webhook.vmimage-system.svc </dev/null 2>/dev/null \
         | openssl x509 -noout -fingerprint -sha256"
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn secret_cert(n: &Node) -> Result<String> {
    let script = format!(
        "{} -n {NS} get secret vmimage-webhook-tls -o 'jsonpath={{.data.tls\\.crt}}' | base64 -d | openssl x509 -noout -fingerprint -sha256",
        n.kubectl.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("KUBECONFIG", &n.kubeconfig)
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

async fn cert_manager_renewal_is_served_with_no_failed_request(n: Node) -> Result<()> {
    let old = secret_cert(&n)?;
    ensure!(
        old.contains("Fingerprint"),
        "cannot read the Secret's certificate: {old:?}"
    );
    let s = start_stream(&n, "renew", Duration::from_secs(240)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // What `cmctl renew` does: mark the Certificate as Issuing, reason ManuallyTriggered.
    let now = chrono_like_now();
    let patch = serde_json::json!([{"op": "add", "path": "/status/conditions/-", "value": {
        "type": "Issuing", "status": "True", "reason": "ManuallyTriggered",
        "message": "Certificate re-issuance manually triggered", "lastTransitionTime": now,
    }}]);
    n.kubectl_ok(&[
        "-n",
        NS,
        "patch",
        "certificate",
        "vmimage-webhook",
        "--subresource=status",
        "--type=json",
        "-p",
        &patch.to_string(),
    ])?;
    let renewed = wait_until("cert-manager renewed the Secret", Duration::from_secs(60), || {
        Ok(secret_cert(&n)? != old)
    })
    .await?;
    let new = secret_cert(&n)?;
    let served = wait_until(
        "both replicas serve the renewed certificate",
        Duration::from_secs(120),
        || {
            let ips: Vec<String> = ready_pods(&n)?.into_iter().map(|p| p.1).collect();
            Ok(ips.len() == 2
                && ips
                    .iter()
                    .all(|ip| served_cert(ip).map(|c| c == new).unwrap_or(false)))
        },
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let tally = s.stop().await?;
    eprintln!(
        "renewal: Secret renewed after {:.1} s, served by both replicas {:.1} s later",
        renewed.as_secs_f64(),
        served.as_secs_f64()
    );
    ensure_no_failure("certificate renewal", &tally)?;
    Ok(())
}

/// RFC 3339 UTC now, as Kubernetes writes times.
fn chrono_like_now() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("date runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

async fn create_one(n: &Node, name: &str) -> Result<std::result::Result<bool, String>> {
    let api = stream::vm_api(n.client().await?, &n.vms);
    Ok(stream::create_vm(&api, &n.vms, name)
        .await
        .map_err(|e| e.to_string()))
}

async fn failure_policy_fail_refuses_and_ignore_admits_unmodified(n: Node) -> Result<()> {
    ensure_vm_namespace(&n).await?;
    let scale = |r: &str| {
        n.kubectl_ok(&["-n", NS, "scale", DEPLOY, &format!("--replicas={r}")])
            .map(drop)
    };
    // Gone, not just terminating: a terminating replica still answers during its drain.
    let no_endpoints = || -> Result<bool> {
        Ok(n.kubectl_ok(&[
            "-n",
            NS,
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/name=vmimage-webhook",
            "-o",
            "name",
        ])?
        .trim()
        .is_empty())
    };

    // Fail (the install's default): no replica → refused, naming the webhook.
    scale("0")?;
    wait_until("no webhook pod", Duration::from_secs(90), no_endpoints).await?;
    match create_one(&n, "down-fail").await? {
        Err(e) => ensure!(
            e.contains("failed calling webhook \"mutate.virtualmachine.vmimage.io\""),
            "refused, but not by the webhook call: {e}"
        ),
        Ok(_) => bail!("with failurePolicy Fail and no replica, a VM was admitted"),
    }

    // Ignore: the same outage admits the VM unmodified.
    n.kubectl_ok(&["apply", "-k", "manifests/webhook/overlays/failure-policy-ignore"])?;
    scale("0")?;
    wait_until("no webhook pod", Duration::from_secs(90), no_endpoints).await?;
    let policy = n.kubectl_ok(&[
        "get",
        "mutatingwebhookconfiguration",
        "vmimage-mutating-webhook-configuration",
        "-o",
        "jsonpath={.webhooks[0].failurePolicy}",
    ])?;
    ensure!(policy == "Ignore", "failurePolicy is {policy}");
    let got = create_one(&n, "down-ignore").await?;
    ensure!(got == Ok(false), "with Ignore and no replica: {got:?}");

    // Back to the README's install: the cert-manager overlay, two replicas, rewriting.
    n.kubectl_ok(&["apply", "-k", "manifests/webhook/overlays/cert-manager"])?;
    rollout_status(&n)?;
    wait_until("2 ready replicas", Duration::from_secs(120), || {
        Ok(ready_pods(&n)?.len() == 2)
    })
    .await?;
    let policy = n.kubectl_ok(&[
        "get",
        "mutatingwebhookconfiguration",
        "vmimage-mutating-webhook-configuration",
        "-o",
        "jsonpath={.webhooks[0].failurePolicy}",
    ])?;
    ensure!(
        policy == "Fail",
        "failurePolicy is {policy} after re-applying the install"
    );
    // From 0 replicas, as after the install: the Service routes a moment after Ready.
    let back = first_rewrite(&n, "back-up", Duration::from_secs(30)).await?;
    eprintln!(
        "from 0 replicas: rewriting again {:.1} s after 2 replicas were Ready",
        back.as_secs_f64()
    );
    Ok(())
}

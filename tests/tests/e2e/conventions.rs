//! `kubectl vmimage` behaves like kubectl where a kubectl user would notice, run through
//! the real kubectl: a `KUBECONFIG` list with a missing file, a closed pipe, a duration
//! no timeout can be.

use anyhow::{Context, Result, ensure};
use std::process::{Command, Output, Stdio};
use vmimage_testenv::suite::Ctx;

pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![
        crate::conventions::a_kubeconfig_list_skips_missing_files_like_kubectl,
        crate::conventions::a_closed_pipe_ends_quietly_with_exit_0,
        crate::conventions::an_impossible_request_timeout_is_an_error_not_a_panic,
        crate::conventions::unreachable_and_silent_servers_are_named_and_timeouts_said,
        crate::conventions::mistyped_names_and_missing_namespaces_get_help,
    ]
}

/// A shell pipeline with the plugin and kubectl on PATH and `KUBECONFIG` as given.
fn sh(ctx: &Ctx, kubeconfig: &str, script: &str) -> Result<Output> {
    let path = format!(
        "{}:{}:{}",
        ctx.bin_dir.display(),
        ctx.kubectl.parent().context("kubectl dir")?.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Ok(Command::new("bash")
        .args(["-c", &format!("set -o pipefail; {script}")])
        .env("PATH", path)
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::null())
        .output()?)
}

pub async fn a_kubeconfig_list_skips_missing_files_like_kubectl(ctx: Ctx) -> Result<()> {
    let list = format!("/no/such/kubeconfig:{}", ctx.kubeconfig.display());
    let kubectl = sh(&ctx, &list, "kubectl get ns default -o name")?;
    ensure!(
        kubectl.status.success(),
        "kubectl itself: {}",
        String::from_utf8_lossy(&kubectl.stderr)
    );
    // The test's own namespace: other tests add namespaced images to `default`.
    let resolve = format!("kubectl vmimage resolve ubuntu-24.04 -n {}", ctx.namespace);
    let out = sh(&ctx, &list, &resolve)?;
    ensure!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("vmi-0a0044d7c690bcbea"),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let none = sh(&ctx, "/no/such/a:/no/such/b", "kubectl vmimage list -n default")?;
    let stderr = String::from_utf8_lossy(&none.stderr);
    ensure!(
        none.status.code() == Some(3)
            && stderr.contains("none of the files in KUBECONFIG exists (/no/such/a, /no/such/b)"),
        "exit {:?}: {stderr}",
        none.status.code()
    );
    Ok(())
}

pub async fn a_closed_pipe_ends_quietly_with_exit_0(ctx: Ctx) -> Result<()> {
    let kubeconfig = ctx.kubeconfig.display().to_string();
    for script in [
        "kubectl vmimage list -A | head -1",
        "kubectl vmimage list -A -o json 2>&1 | head -1",
        "kubectl vmimage list -A -o yaml 2>&1 | head -c 10",
    ] {
        let out = sh(&ctx, &kubeconfig, script)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(
            out.status.success(),
            "{script}: exit {:?}: {stderr}",
            out.status.code()
        );
        ensure!(
            !stderr.contains("Broken pipe") && !stderr.contains("panicked"),
            "{script}: {stderr}"
        );
    }
    Ok(())
}

pub async fn an_impossible_request_timeout_is_an_error_not_a_panic(ctx: Ctx) -> Result<()> {
    let out = ctx.kubectl(&[
        "vmimage",
        "list",
        "--request-timeout",
        "99999999999999999999999999h",
    ])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(2),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    ensure!(
        stderr.contains("too large") && !stderr.contains("panicked"),
        "{stderr}"
    );
    Ok(())
}

fn kubeconfig_for(dir: &std::path::Path, server: &str) -> Result<String> {
    let path = dir.join(format!("kc-{}.yaml", server.replace([':', '/'], "_")));
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"{server}\", insecure-skip-tls-verify: true}}}}]\n\
             users: [{{name: u, user: {{token: t}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\ncurrent-context: c\n"
        ),
    )?;
    Ok(path.display().to_string())
}

pub async fn unreachable_and_silent_servers_are_named_and_timeouts_said(ctx: Ctx) -> Result<()> {
    // Nothing listens on a port just released (chosen while the silent one is held, so
    // the two differ); a listener that never answers is silent.
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let silent_addr = silent.local_addr()?;
    let free = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let cases = [
        (
            format!("https://{free}"),
            "kubectl vmimage list",
            "connection refused",
        ),
        (
            format!("https://{silent_addr}"),
            "kubectl vmimage list --request-timeout 1s",
            "timed out after 1s",
        ),
    ];
    for (server, script, says) in cases {
        let out = sh(&ctx, &kubeconfig_for(&ctx.state_dir, &server)?, script)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(
            out.status.code() == Some(3),
            "{script}: exit {:?}: {stderr}",
            out.status.code()
        );
        ensure!(
            stderr.contains(&format!("{server}/")) && stderr.to_lowercase().contains(says),
            "{script}: {stderr}"
        );
    }
    drop(silent);
    Ok(())
}

/// A mistyped name says where it looked and what was meant; an image of another namespace
/// is named with it; a namespace that does not exist is not silently treated as empty.
pub async fn mistyped_names_and_missing_namespaces_get_help(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let typo = ctx.kubectl(&["vmimage", "resolve", "ubuntu-24.4", "-n", ns])?;
    let stderr = String::from_utf8_lossy(&typo.stderr);
    ensure!(
        typo.status.code() == Some(1),
        "exit {:?}: {stderr}",
        typo.status.code()
    );
    for says in [
        r#"no VM image exists for "ubuntu-24.4" in namespace or cluster scope"#,
        &format!(r#"looked in namespace "{ns}" and the cluster scope"#),
        r#"did you mean "ubuntu-24.04" vmi-0a0044d7c690bcbea"#,
    ] {
        ensure!(stderr.contains(says), "missing {says:?} in: {stderr}");
    }
    let elsewhere = ctx.kubectl(&["vmimage", "resolve", "ubuntu-24.04-hardened", "-n", ns])?;
    let stderr = String::from_utf8_lossy(&elsewhere.stderr);
    ensure!(
        elsewhere.status.code() == Some(1)
            && stderr.contains("VirtualMachineImage in namespace prod")
            && stderr.contains(&format!("has that display name, but a VM in namespace {ns}")),
        "exit {:?}: {stderr}",
        elsewhere.status.code()
    );
    let missing = ctx.kubectl(&["vmimage", "list", "-n", "no-such-namespace"])?;
    let stderr = String::from_utf8_lossy(&missing.stderr);
    ensure!(
        missing.status.success()
            && stderr.contains(r#"warning: namespace "no-such-namespace" does not exist"#),
        "exit {:?}: {stderr}",
        missing.status.code()
    );
    // An existing namespace without images of its own is no reason to warn.
    let empty = ctx.kubectl(&["vmimage", "list", "-n", ns])?;
    let stderr = String::from_utf8_lossy(&empty.stderr);
    ensure!(empty.status.success() && !stderr.contains("warning"), "{stderr}");
    Ok(())
}

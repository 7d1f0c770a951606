//! TAB in a real bash under tmux: kubectl's own bash completion runs
//! `kubectl_complete-vmimage` from PATH, which answers from the real control plane; and
//! the script of `kubectl vmimage completion bash` for the standalone binary.

use anyhow::{Context, Result, bail, ensure};
use serde_json::json;
use std::time::Duration;
use vmimage_testenv::{
    publisher::create_library,
    suite::Ctx,
    tmux::{self, Shell},
};

pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![
        crate::completion::kubectl_completes_the_plugin_from_the_cluster_in_bash,
        crate::completion::the_completion_script_completes_the_standalone_binary,
    ]
}

/// How long one TAB may take to show its candidates (a debug build, a busy machine).
const TAB: Duration = Duration::from_secs(20);

/// A bash in `cwd` with the plugin and kubectl on PATH and the test cluster's kubeconfig;
/// `setup` is typed first (e.g. loading completion).
fn bash(ctx: &Ctx, dir: &std::path::Path, setup: &str) -> Result<Shell> {
    ensure!(
        std::path::Path::new(tmux::BASH_COMPLETION).exists(),
        "{} is missing: kubectl's bash completion needs the bash-completion package \
         (apt-get install bash-completion); `make test` installs it",
        tmux::BASH_COMPLETION
    );
    let path = format!(
        "{}:{}:/usr/local/bin:/usr/bin:/bin",
        ctx.bin_dir.display(),
        ctx.kubectl.parent().context("kubectl dir")?.display()
    );
    let home = dir.join("home");
    std::fs::create_dir_all(&home)?;
    let shell = Shell::start(
        dir,
        &dir.join("work"),
        &[
            ("PATH", path),
            ("HOME", home.display().to_string()),
            ("KUBECONFIG", ctx.kubeconfig.display().to_string()),
            ("TERM", "screen".to_string()),
            ("LANG", "C.UTF-8".to_string()),
        ],
    )?;
    shell.run(&format!("{setup}; clear"))?;
    shell.wait_for(TAB, |s| s.trim() == "$")?;
    Ok(shell)
}

/// Types `line`, presses TAB, and waits until every word of `shown` is on screen; then
/// fails if any of `hidden` is. Leaves a clear prompt behind.
fn tab(shell: &Shell, line: &str, shown: &[&str], hidden: &[&str]) -> Result<()> {
    shell.type_text(line)?;
    shell.tab()?;
    // A word on screen, alone or as a flag's value (`--context=NAME`).
    let has = |screen: &str, word: &str| {
        screen
            .split_whitespace()
            .any(|w| w == word || w.strip_suffix(word).is_some_and(|p| p.ends_with('=')))
    };
    let screen = shell
        .wait_for(TAB, |s| shown.iter().all(|w| has(s, w)))
        .with_context(|| format!("completing {line:?}: expected {shown:?}"))?;
    if let Some(word) = hidden.iter().find(|w| has(&screen, w)) {
        bail!("completing {line:?} offered {word:?}:\n{screen}");
    }
    shell.reset()
}

/// A directory with manifests, a file that is not one, and a subdirectory.
fn workdir() -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("vms"))?;
    std::fs::write(work.join("vm.yaml"), "kind: VirtualMachine\n")?;
    std::fs::write(work.join("base.yml"), "kind: VirtualMachine\n")?;
    std::fs::write(work.join("notes.txt"), "not a manifest\n")?;
    Ok(dir)
}

async fn vm(ctx: &Ctx, name: &str) -> Result<()> {
    let vm = vmimage_testenv::suite::vm_manifest(
        &ctx.namespace,
        name,
        json!({"imageName": "vmi-0a0044d7c690bcbea", "className": "small"}),
    );
    let out = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&vm.to_string()))?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// `kubectl vmimage … <TAB>` with kubectl's bash completion loaded: subcommands without
/// the hidden one, namespaces, contexts, image names and IDs as `-n` sees them, each
/// command's output formats, manifests and directories, VMs and publish requests.
pub async fn kubectl_completes_the_plugin_from_the_cluster_in_bash(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    vm(&ctx, "web-1").await?;
    vm(&ctx, "web-2").await?;
    create_library(&ctx.client().await?, ns, "team-lib", true, true).await?;
    ctx.kubectl_ok(&[
        "vmimage",
        "publish",
        "web-1",
        "-n",
        ns,
        "--request-name",
        "web-1-req",
    ])?;

    let dir = workdir()?;
    let shell = bash(
        &ctx,
        dir.path(),
        &format!(
            "source {}; source <(kubectl completion bash)",
            tmux::BASH_COMPLETION
        ),
    )?;
    tab(
        &shell,
        "kubectl vmimage ",
        &["resolve", "list", "publish", "completion"],
        &["__complete"],
    )?;
    tab(
        &shell,
        "kubectl vmimage -n ",
        &[ns, "kube-system", "default"],
        &["resolve"],
    )?;
    tab(&shell, "kubectl vmimage list --context ", &["vmimage-local"], &[])?;
    // Image names as the namespace on the line sees them: prod has a hardened copy.
    tab(
        &shell,
        "kubectl vmimage resolve -n prod ubuntu-24",
        &["ubuntu-24.04", "ubuntu-24.04-hardened"],
        &[],
    )?;
    tab(
        &shell,
        &format!("kubectl vmimage -n {ns} resolve ubuntu-2"),
        &["ubuntu-22.04", "ubuntu-24.04"],
        &["ubuntu-24.04-hardened"],
    )?;
    tab(
        &shell,
        "kubectl vmimage get vmi-0a00",
        &["vmi-0a0044d7c690bcbea"],
        &[],
    )?;
    tab(
        &shell,
        "kubectl vmimage resolve x -o ",
        &["table", "json", "yaml", "name", "id"],
        &["wide"],
    )?;
    tab(&shell, "kubectl vmimage list -o ", &["wide", "table", "id"], &[])?;
    tab(
        &shell,
        "kubectl vmimage pin -f ",
        &["vm.yaml", "base.yml", "vms/"],
        &["notes.txt"],
    )?;
    tab(
        &shell,
        "kubectl vmimage --catalog ",
        &["vm.yaml", "vms/"],
        &["notes.txt"],
    )?;
    tab(
        &shell,
        &format!("kubectl vmimage publish -n {ns} "),
        &["web-1", "web-2", "list", "status"],
        &[],
    )?;
    tab(
        &shell,
        &format!("kubectl vmimage publish status -n {ns} "),
        &["web-1-req"],
        &["web-2"],
    )?;
    Ok(())
}

/// `source <(kubectl vmimage completion bash)` alone (no kubectl completion): the
/// standalone `kubectl-vmimage` and `kubectl vmimage` complete through `__complete`,
/// which is never offered itself.
pub async fn the_completion_script_completes_the_standalone_binary(ctx: Ctx) -> Result<()> {
    let dir = workdir()?;
    let shell = bash(
        &ctx,
        dir.path(),
        &format!(
            "source {}; source <(kubectl vmimage completion bash)",
            tmux::BASH_COMPLETION
        ),
    )?;
    tab(
        &shell,
        "kubectl-vmimage ",
        &["resolve", "pin", "publish"],
        &["__complete"],
    )?;
    tab(
        &shell,
        "kubectl-vmimage -n ",
        &[ctx.namespace.as_str(), "kube-system"],
        &[],
    )?;
    tab(
        &shell,
        "kubectl-vmimage check -o ",
        &["table", "json", "yaml"],
        &["name"],
    )?;
    tab(
        &shell,
        "kubectl-vmimage pin -f ",
        &["vm.yaml", "vms/"],
        &["notes.txt"],
    )?;
    tab(
        &shell,
        "kubectl-vmimage resolve --context=",
        &["vmimage-local"],
        &[],
    )?;
    tab(
        &shell,
        "kubectl vmimage ",
        &["resolve", "versions"],
        &["__complete"],
    )?;
    tab(&shell, "kubectl vmimage get ubuntu-24", &["ubuntu-24.04"], &[])?;
    Ok(())
}

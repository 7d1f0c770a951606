//! TAB in a real bash, zsh and fish under tmux: kubectl's own completion runs
//! `kubectl_complete-vmimage` from PATH, which answers from the real control plane; and
//! the scripts of `kubectl vmimage completion bash|zsh|fish` for the standalone binary.

use anyhow::{Context, Result, bail, ensure};
use serde_json::json;
use std::time::Duration;
use vmimage_testenv::{
    publisher::create_library,
    suite::Ctx,
    tmux::{self, Kind, Shell},
};

pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![
        crate::completion::kubectl_completes_the_plugin_from_the_cluster_in_bash_zsh_and_fish,
        crate::completion::the_completion_scripts_complete_the_standalone_binary_in_bash_zsh_and_fish,
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
    shell(ctx, Kind::Bash, dir, setup)
}

/// A `kind` shell in `dir`, set up as [`bash`] is.
fn shell(ctx: &Ctx, kind: Kind, dir: &std::path::Path, setup: &str) -> Result<Shell> {
    let path = format!(
        "{}:{}:/usr/local/bin:/usr/bin:/bin",
        ctx.bin_dir.display(),
        ctx.kubectl.parent().context("kubectl dir")?.display()
    );
    let home = dir.join("home");
    std::fs::create_dir_all(&home)?;
    // A tmux socket per shell: a new server on the socket of one just killed can race
    // its shutdown.
    let sockets = dir.join(format!("{kind:?}").to_lowercase());
    std::fs::create_dir_all(&sockets)?;
    let shell = Shell::start_kind(
        kind,
        &sockets,
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
    // A word on screen, alone, as a flag's value (`--context=NAME`), or as fish's pager
    // shows a long candidate: its start cut to `…`.
    let has = |screen: &str, word: &str| {
        screen.split_whitespace().any(|w| {
            w == word
                || w.strip_suffix(word).is_some_and(|p| p.ends_with('='))
                || w.strip_prefix('…')
                    .is_some_and(|tail| tail.len() >= 4 && word.ends_with(tail))
        })
    };
    let screen = shell
        .wait_for(TAB, |s| shown.iter().all(|w| has(s, w)))
        .with_context(|| format!("completing {line:?} in {:?}: expected {shown:?}", shell.kind))?;
    if let Some(word) = hidden.iter().find(|w| has(&screen, w)) {
        bail!(
            "completing {line:?} in {:?} offered {word:?}:\n{screen}",
            shell.kind
        );
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

/// The shells, each with what loads `kubectl`'s completion (`kubectl: true`) or the
/// standalone binary's script; bash also needs its bash-completion helpers.
fn shells(ctx: &Ctx, dir: &std::path::Path, kubectl: bool) -> Result<Vec<Shell>> {
    let program = if kubectl { "kubectl" } else { "kubectl vmimage" };
    let bash_setup = format!(
        "source {}; source <({program} completion bash)",
        tmux::BASH_COMPLETION
    );
    Ok(vec![
        bash(ctx, dir, &bash_setup)?,
        shell(
            ctx,
            Kind::Zsh,
            dir,
            &format!("source <({program} completion zsh)"),
        )?,
        shell(
            ctx,
            Kind::Fish,
            dir,
            &format!("{program} completion fish | source"),
        )?,
    ])
}

/// `kubectl vmimage … <TAB>` with kubectl's own completion loaded, in bash, zsh and fish:
/// subcommands without the hidden one, namespaces, contexts, image names and IDs as `-n`
/// sees them, each command's output formats, manifests and directories, VMs and publish
/// requests. (kubectl's fish completion cannot filter files by extension, so `-f` and
/// `--catalog` there offer every file; that is kubectl's, not vmimage's.)
pub async fn kubectl_completes_the_plugin_from_the_cluster_in_bash_zsh_and_fish(ctx: Ctx) -> Result<()> {
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
    for shell in shells(&ctx, dir.path(), true)? {
        let not_manifests: &[&str] = if shell.kind == Kind::Fish {
            &[]
        } else {
            &["notes.txt"]
        };
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
            not_manifests,
        )?;
        tab(
            &shell,
            "kubectl vmimage --catalog ",
            &["vm.yaml", "vms/"],
            not_manifests,
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
    }
    Ok(())
}

/// `kubectl vmimage completion bash|zsh|fish` loaded alone (no kubectl completion): the
/// standalone `kubectl-vmimage` completes through `__complete`, which is never offered
/// itself; the bash script also registers `kubectl vmimage`.
pub async fn the_completion_scripts_complete_the_standalone_binary_in_bash_zsh_and_fish(
    ctx: Ctx,
) -> Result<()> {
    let dir = workdir()?;
    for shell in shells(&ctx, dir.path(), false)? {
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
        tab(&shell, "kubectl-vmimage get ubuntu-24", &["ubuntu-24.04"], &[])?;
        if shell.kind == Kind::Bash {
            tab(
                &shell,
                "kubectl vmimage ",
                &["resolve", "versions"],
                &["__complete"],
            )?;
            tab(&shell, "kubectl vmimage get ubuntu-24", &["ubuntu-24.04"], &[])?;
        }
    }
    Ok(())
}

//! A krew install from the local release archive, as a user would do it: `hack/dist.sh`
//! packs the host build and renders the manifest, the real krew installs it into a fresh
//! krew root, and the real kubectl runs the plugin and its completion from there.

use anyhow::{Context, Result, ensure};
use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};
use vmimage_testenv::{suite::Ctx, workspace_root};

pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![crate::krew::krew_installs_the_archive_and_the_caveat_enables_completion]
}

/// Runs `program` (a shell line with `bash -c`) with only `path` and `krew_root` set,
/// besides HOME and the kubeconfig: nothing of the test's own PATH leaks in.
fn run(ctx: &Ctx, home: &Path, krew_root: &Path, path: &str, program: &[&str]) -> Result<Output> {
    let (cmd, args) = program.split_first().context("empty command")?;
    Command::new(cmd)
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("KREW_ROOT", krew_root)
        .env("KUBECONFIG", &ctx.kubeconfig)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program:?}"))
}

fn ok(out: Output, what: &str) -> Result<String> {
    ensure!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// The candidates (names only) of a `kubectl __complete …` answer.
fn names(answer: &str) -> Vec<&str> {
    answer
        .lines()
        .filter(|l| !l.starts_with(':'))
        .filter_map(|l| l.split('\t').next())
        .collect()
}

/// `kubectl krew install --manifest … --archive …`, then `kubectl vmimage --version`;
/// completion only once the caveat's one line is run, and then from the cluster.
pub async fn krew_installs_the_archive_and_the_caveat_enables_completion(ctx: Ctx) -> Result<()> {
    let root = workspace_root();
    let tmp = tempfile::tempdir()?;
    let (dist, krew_root, home) = (
        tmp.path().join("dist"),
        tmp.path().join("krew"),
        tmp.path().join("home"),
    );
    std::fs::create_dir_all(&home)?;
    let script = |args: &[&str]| -> Result<String> {
        let out = Command::new("bash")
            .args(args)
            .current_dir(&root)
            .stdin(Stdio::null())
            .output()?;
        ok(out, &format!("bash {}", args.join(" ")))
    };
    let tools = script(&["hack/krew-tools.sh"])?;
    let tools = PathBuf::from(
        tools
            .lines()
            .last()
            .context("hack/krew-tools.sh printed nothing")?
            .trim(),
    );
    script(&["hack/dist.sh", "--host-debug", &dist.display().to_string()])?;
    let archive = std::fs::read_dir(&dist)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "gz"))
        .context("hack/dist.sh made no archive")?;

    let kubectl_dir = ctx.kubectl.parent().context("kubectl dir")?;
    let path = format!(
        "{}:{}:{}:/usr/bin:/bin",
        krew_root.join("bin").display(),
        tools.display(),
        kubectl_dir.display()
    );
    let manifest = format!("--manifest={}", dist.join("vmimage.yaml").display());
    let archive = format!("--archive={}", archive.display());
    let installed = ok(
        run(
            &ctx,
            &home,
            &krew_root,
            &path,
            &["kubectl", "krew", "install", &manifest, &archive],
        )?,
        "kubectl krew install",
    )?;
    ensure!(installed.contains("Installed plugin: vmimage"), "{installed}");
    let link = krew_root.join("bin/kubectl-vmimage");
    ensure!(link.exists(), "krew did not link {}", link.display());

    let version = ok(
        run(
            &ctx,
            &home,
            &krew_root,
            &path,
            &["kubectl", "vmimage", "--version"],
        )?,
        "kubectl vmimage --version",
    )?;
    ensure!(
        version.trim() == format!("kubectl vmimage {}", env!("CARGO_PKG_VERSION")),
        "{version}"
    );
    let listed = ok(
        run(
            &ctx,
            &home,
            &krew_root,
            &path,
            &["kubectl", "vmimage", "resolve", "ubuntu-24.04", "-o", "id"],
        )?,
        "kubectl vmimage resolve",
    )?;
    ensure!(listed.trim() == "vmi-0a0044d7c690bcbea", "{listed}");

    // krew links one binary: until the caveat's step, kubectl finds no completer.
    let complete_ns = ["kubectl", "__complete", "vmimage", "-n", ""];
    let before = ok(
        run(&ctx, &home, &krew_root, &path, &complete_ns)?,
        "kubectl __complete",
    )?;
    ensure!(!names(&before).contains(&ctx.namespace.as_str()), "{before}");

    // The caveat's own line, as printed, run as a user would paste it.
    let step = installed
        .lines()
        .map(|l| l.trim_start_matches([' ', '|', '\t']).trim())
        .find(|l| l.starts_with("ln -sf "))
        .with_context(|| format!("no `ln -sf` step in the caveat:\n{installed}"))?;
    ok(run(&ctx, &home, &krew_root, &path, &["bash", "-c", step])?, step)?;

    let after = ok(
        run(&ctx, &home, &krew_root, &path, &complete_ns)?,
        "kubectl __complete",
    )?;
    ensure!(
        names(&after).contains(&ctx.namespace.as_str()) && names(&after).contains(&"kube-system"),
        "{after}"
    );
    let images = ok(
        run(
            &ctx,
            &home,
            &krew_root,
            &path,
            &["kubectl", "__complete", "vmimage", "resolve", "ubuntu-24"],
        )?,
        "kubectl __complete",
    )?;
    ensure!(names(&images).contains(&"ubuntu-24.04"), "{images}");
    let subs = ok(
        run(
            &ctx,
            &home,
            &krew_root,
            &path,
            &["kubectl", "__complete", "vmimage", ""],
        )?,
        "kubectl __complete",
    )?;
    ensure!(
        names(&subs).contains(&"publish") && !names(&subs).iter().any(|n| n.starts_with("__")),
        "{subs}"
    );
    Ok(())
}

//! `kubectl vmimage …` through the real kubectl against the real control plane.

use anyhow::{Result, ensure};
use serde_json::{Value, json};
use vmimage_testenv::suite::Ctx;

const UBUNTU_24: &str = "vmi-0a0044d7c690bcbea";

fn json_of(out: &std::process::Output) -> Result<Value> {
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// A unique display name resolves to its cluster image, in table and JSON form.
pub async fn resolve_finds_a_unique_display_name(ctx: Ctx) -> Result<()> {
    let table = ctx.kubectl_ok(&["vmimage", "resolve", "ubuntu-24.04", "-n", &ctx.namespace])?;
    ensure!(
        table.contains(UBUNTU_24) && table.contains("ClusterVirtualMachineImage"),
        "{table}"
    );
    let out = ctx.kubectl(&[
        "vmimage",
        "resolve",
        "ubuntu-24.04",
        "-n",
        &ctx.namespace,
        "-o",
        "json",
    ])?;
    ensure!(out.status.success());
    let v = json_of(&out)?;
    ensure!(
        v["name"] == UBUNTU_24 && v["kind"] == "ClusterVirtualMachineImage" && v["ready"] == true,
        "{v}"
    );
    ensure!(
        v["displayName"] == "ubuntu-24.04" && v["type"] == "OVF" && v["namespace"] == ctx.namespace.as_str(),
        "{v}"
    );
    let id = ctx.kubectl_ok(&["vmimage", "resolve", "ubuntu-24.04", "-o", "id"])?;
    ensure!(id.trim() == UBUNTU_24, "{id}");
    Ok(())
}

/// An ambiguous name exits 1 and lists every candidate; other refs still resolve.
pub async fn resolve_reports_ambiguity_with_candidates(ctx: Ctx) -> Result<()> {
    let out = ctx.kubectl(&[
        "vmimage",
        "resolve",
        "-n",
        "dev",
        "ubuntu-22.04",
        "photon-5.0",
        "-o",
        "json",
    ])?;
    ensure!(out.status.code() == Some(1), "exit {:?}", out.status.code());
    let v = json_of(&out)?;
    let err = &v[0]["error"];
    ensure!(err["reason"] == "Ambiguous", "{v}");
    ensure!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with(r#"multiple VM images exist for "ubuntu-22.04" in namespace and cluster scope"#),
        "{v}"
    );
    let ids: Vec<&str> = err["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    ensure!(
        ids.contains(&"vmi-eaa4e0c012f562222") && ids.contains(&"vmi-f7289168afdf62e59"),
        "{ids:?}"
    );
    ensure!(v[1]["name"] == "vmi-803da913057f32b6f", "{v}");
    // The same name is unique from a namespace without a copy.
    ensure!(
        ctx.kubectl_ok(&[
            "vmimage",
            "resolve",
            "ubuntu-22.04",
            "-n",
            &ctx.namespace,
            "-o",
            "id"
        ])?
        .trim()
            == "vmi-f7289168afdf62e59"
    );
    Ok(())
}

/// Not-Ready images still resolve (VM Operator ignores readiness); missing names exit 1.
pub async fn resolve_ignores_readiness_and_reports_missing(ctx: Ctx) -> Result<()> {
    let v = json_of(&ctx.kubectl(&["vmimage", "resolve", "rhel-9.4", "-o", "json"])?)?;
    ensure!(v["ready"] == false && v["name"] == "vmi-b880fa100db6861c9", "{v}");
    let out = ctx.kubectl(&["vmimage", "resolve", "no-such-image"])?;
    ensure!(out.status.code() == Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        stderr.contains(r#"no VM image exists for "no-such-image" in namespace or cluster scope"#),
        "{stderr}"
    );
    Ok(())
}

/// `list` shows both scopes and marks names that are ambiguous from the namespace.
pub async fn list_marks_ambiguous_names(ctx: Ctx) -> Result<()> {
    let out = ctx.kubectl_ok(&["vmimage", "list", "-n", "dev"])?;
    let line = out
        .lines()
        .find(|l| l.starts_with("vmi-f4ef87bfc6e8eb414"))
        .unwrap_or_default();
    ensure!(
        line.contains("debian-12 (ambiguous)") && line.contains("dev"),
        "{out}"
    );
    ensure!(
        out.lines()
            .any(|l| l.starts_with(UBUNTU_24) && !l.contains("ambiguous")),
        "{out}"
    );
    let isos = ctx.kubectl_ok(&["vmimage", "ls", "--type", "ISO", "-o", "name"])?;
    ensure!(
        isos.trim() == "clustervirtualmachineimage.vmoperator.vmware.com/vmi-6d121317c1fc7dfa5",
        "{isos}"
    );
    let all = json_of(&ctx.kubectl(&["vmimage", "list", "-A", "-o", "json"])?)?;
    ensure!(all["items"].as_array().map(Vec::len) == Some(9), "{all}");
    let selected = ctx.kubectl_ok(&[
        "vmimage",
        "list",
        "-A",
        "-l",
        "os.image.vmoperator.vmware.com/id=debian12_64Guest",
        "-o",
        "id",
    ])?;
    ensure!(selected.lines().count() == 2, "{selected}");
    Ok(())
}

/// `get` shows every candidate of an ambiguous name; `describe` shows the VMs using an image.
pub async fn get_and_describe_show_candidates_and_users(ctx: Ctx) -> Result<()> {
    let out = ctx.kubectl_ok(&["vmimage", "get", "debian-12", "-n", "dev"])?;
    ensure!(
        out.contains("vmi-285f9254e5aa9ff57") && out.contains("vmi-f4ef87bfc6e8eb414"),
        "{out}"
    );
    let vm = json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": "VirtualMachine",
        "metadata": {"name": "user-vm", "namespace": ctx.namespace},
        "spec": {"imageName": UBUNTU_24, "image": {"kind": "ClusterVirtualMachineImage", "name": UBUNTU_24}, "className": "small"}
    });
    let out = ctx.kubectl_stdin(&["apply", "-f", "-"], Some(&vm.to_string()))?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = ctx.kubectl_ok(&["vmimage", "describe", "ubuntu-24.04", "-n", &ctx.namespace])?;
    ensure!(text.contains("Display Name:     ubuntu-24.04"), "{text}");
    ensure!(text.contains("Used By:          user-vm"), "{text}");
    ensure!(text.contains("Ready   True"), "{text}");
    Ok(())
}

/// `pin` rewrites a manifest file in place, keeping comments; an ambiguous ref writes nothing.
pub async fn pin_rewrites_files_and_refuses_ambiguity(ctx: Ctx) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("vmimage-pin-{}", ctx.namespace));
    std::fs::create_dir_all(&dir)?;
    let good = dir.join("web.yaml");
    let text = "# keep me\napiVersion: vmoperator.vmware.com/v1alpha6\nkind: VirtualMachine\nmetadata:\n  name: web\nspec:\n  imageName: photon-5.0   # the base\n  className: small\n";
    std::fs::write(&good, text)?;
    let bad = dir.join("db.yaml");
    let bad_text = text
        .replace("photon-5.0", "debian-12")
        .replace("name: web", "name: db");
    std::fs::write(&bad, &bad_text)?;
    let out = ctx.kubectl(&[
        "vmimage",
        "pin",
        "-n",
        "dev",
        "-f",
        dir.to_str().unwrap(),
        "--in-place",
    ])?;
    ensure!(out.status.code() == Some(1), "ambiguity must fail the pin");
    ensure!(
        std::fs::read_to_string(&good)? == text,
        "nothing may be written when a ref fails"
    );
    std::fs::remove_file(&bad)?;
    ctx.kubectl_ok(&[
        "vmimage",
        "pin",
        "-n",
        "dev",
        "-f",
        dir.to_str().unwrap(),
        "--in-place",
    ])?;
    let pinned = std::fs::read_to_string(&good)?;
    ensure!(
        pinned.starts_with("# keep me\n") && pinned.contains("imageName: vmi-803da913057f32b6f   # the base"),
        "{pinned}"
    );
    ensure!(
        pinned.contains("  image:\n    kind: ClusterVirtualMachineImage\n    name: vmi-803da913057f32b6f\n"),
        "{pinned}"
    );
    // The pinned manifest is accepted by the apiserver as is.
    ctx.kubectl_ok(&["apply", "-n", &ctx.namespace, "-f", good.to_str().unwrap()])?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// kubectl's own plugin completion calls kubectl_complete-vmimage, which lists names and IDs.
pub async fn completion_offers_display_names_and_ids(ctx: Ctx) -> Result<()> {
    let out = ctx.kubectl_ok(&["__complete", "vmimage", "resolve", "ubuntu-2"])?;
    // Each candidate is `name<TAB>description`; a unique name is described by its ID.
    let names: Vec<&str> = out.lines().filter_map(|l| l.split('\t').next()).collect();
    ensure!(
        names.contains(&"ubuntu-24.04") && names.contains(&"ubuntu-22.04"),
        "{out}"
    );
    ensure!(
        out.lines().any(|l| l == format!("ubuntu-24.04\t{UBUNTU_24}")),
        "{out}"
    );
    ensure!(out.trim_end().ends_with(":4"), "{out}");
    let script = ctx.kubectl_ok(&["vmimage", "completion", "bash"])?;
    ensure!(
        script.contains("kubectl-vmimage"),
        "bash completion script looks wrong"
    );
    Ok(())
}

/// `--catalog` (what `kubectl get vmi,cvmi -A -o yaml` prints) gives the live answers.
pub async fn catalog_answers_equal_live_answers(ctx: Ctx) -> Result<()> {
    let dump = ctx.kubectl_ok(&["get", "vmi,cvmi", "-A", "-o", "yaml"])?;
    let file = std::env::temp_dir().join(format!("vmimage-catalog-{}.yaml", ctx.namespace));
    std::fs::write(&file, dump)?;
    let refs = [
        "ubuntu-24.04",
        "ubuntu-22.04",
        "debian-12",
        "photon-5.0",
        "rhel-9.4",
        "windows-server-2022.iso",
        "ubuntu-24.04-hardened",
        UBUNTU_24,
        "vmi-eaa4e0c012f562222",
        "nope",
    ];
    for ns in ["dev", "prod", ctx.namespace.as_str()] {
        let mut live_args = vec!["vmimage", "resolve", "-n", ns, "-o", "json"];
        live_args.extend(refs);
        let live = ctx.kubectl(&live_args)?;
        let mut offline_args = vec!["vmimage", "--catalog", file.to_str().unwrap()];
        offline_args.extend(&live_args[1..]);
        let offline = ctx.kubectl(&offline_args)?;
        ensure!(live.status.code() == offline.status.code());
        ensure!(
            json_of(&live)? == json_of(&offline)?,
            "namespace {ns}: live and catalog answers differ"
        );
    }
    std::fs::remove_file(&file)?;
    Ok(())
}

/// Live `resolve` reads the scope as a Table of names and only the images that decide the
/// answer whole, and answers as a full read would: one image, a crowd of more than it
/// reads one by one (then it reads the scope whole), a typo with near misses.
pub async fn resolve_reads_whole_only_the_images_that_decide(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let image = |i: usize, display: String| {
        let item = format!("0000dec1-de00-4000-8000-{i:012x}");
        let id = vmimage_shared::VmiId::for_item(&item).expect("a valid item UUID");
        json!({
            "kind": "VirtualMachineImage",
            "metadata": {"name": id.as_str(), "namespace": ns},
            "status": {"name": display, "type": "OVF", "providerItemID": item,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "True", "message": "",
                                       "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        })
    };
    let alone = format!("alone-{ns}");
    let crowd = format!("crowd-{ns}");
    let typo = format!("{alone}x");
    let mut images = vec![image(0, alone.clone())];
    images.extend((1..=70).map(|i| image(i, crowd.clone())));
    vmimage_testenv::catalog::load_objects(&ctx.client().await?, images).await?;
    let snapshot = ctx.kubectl_ok(&["vmimage", "catalog", "export", "-A", "-o", "json"])?;
    let file = std::env::temp_dir().join(format!("decide-{ns}.json"));
    std::fs::write(&file, snapshot)?;
    let debug = [("VMIMAGE_LOG", "vmimage_plugin=debug")];
    for (reference, read) in [
        (alone.as_str(), "decide the references; reading those whole"),
        (crowd.as_str(), "too many images to read one by one"),
        (typo.as_str(), "decide the references; reading those whole"),
    ] {
        let live = ctx.kubectl_env(&["vmimage", "resolve", reference, "-n", ns, "-o", "json"], &debug)?;
        let stderr = String::from_utf8_lossy(&live.stderr);
        ensure!(stderr.contains(read), "{reference}: {stderr}");
        let offline = ctx.vmimage_offline(&file, &["resolve", reference, "-n", ns, "-o", "json"])?;
        ensure!(
            live.status.code() == offline.status.code() && json_of(&live)? == json_of(&offline)?,
            "{reference}: live {} and catalog {} differ",
            String::from_utf8_lossy(&live.stdout),
            String::from_utf8_lossy(&offline.stdout)
        );
    }
    // A role that may list images but not get one: the scope is read whole instead.
    let lister = format!("lister-{ns}");
    let rbac = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": lister},
         "rules": [{"apiGroups": ["vmoperator.vmware.com"],
                    "resources": ["virtualmachineimages", "clustervirtualmachineimages"],
                    "verbs": ["list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": lister},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": lister},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": lister}]}
    ]});
    ctx.kubectl_stdin(&["apply", "-f", "-"], Some(&rbac.to_string()))?;
    let mut as_lister = ctx.clone();
    as_lister.kubeconfig = std::env::temp_dir().join(format!("kc-lister-{ns}"));
    let admin = std::fs::read_to_string(&ctx.kubeconfig)?;
    let mut kubeconfig: Value = serde_norway::from_str(&admin)?;
    kubeconfig["users"][0]["user"]["as"] = json!(lister);
    std::fs::write(&as_lister.kubeconfig, serde_json::to_string(&kubeconfig)?)?;
    let listed = as_lister.kubectl_env(&["vmimage", "resolve", &alone, "-n", ns, "-o", "id"], &debug)?;
    let stderr = String::from_utf8_lossy(&listed.stderr);
    ensure!(
        listed.status.success() && stderr.contains("not allowed to get images one by one"),
        "{stderr}"
    );
    std::fs::remove_file(&as_lister.kubeconfig)?;
    ctx.kubectl_ok(&["delete", "clusterrole,clusterrolebinding", &lister])?;

    let missed = ctx.kubectl(&["vmimage", "resolve", &typo, "-n", ns])?;
    let stderr = String::from_utf8_lossy(&missed.stderr);
    ensure!(
        missed.status.code() == Some(1) && stderr.contains(&alone),
        "a near miss is suggested: {stderr}"
    );
    std::fs::remove_file(&file)?;
    Ok(())
}

/// Bad input: unreachable cluster exits 3, a missing catalog 2, an empty ref 1.
pub async fn bad_input_gets_clear_errors_and_exit_codes(ctx: Ctx) -> Result<()> {
    let kubeconfig = std::env::temp_dir().join(format!("kc-{}", ctx.namespace));
    let original = std::fs::read_to_string(&ctx.kubeconfig)?;
    let server = original
        .lines()
        .find(|l| l.trim_start().starts_with("server:"))
        .unwrap_or_default();
    std::fs::write(
        &kubeconfig,
        original.replace(server, "    server: https://127.0.0.1:1"),
    )?;
    let out = ctx.kubectl(&[
        "vmimage",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "resolve",
        "x",
    ])?;
    ensure!(
        out.status.code() == Some(3),
        "unreachable: exit {:?}",
        out.status.code()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        stderr.starts_with("error: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
    std::fs::remove_file(&kubeconfig)?;
    let out = ctx.kubectl(&["vmimage", "--catalog", "/no/such/file", "resolve", "x"])?;
    ensure!(
        out.status.code() == Some(2),
        "missing catalog: exit {:?}",
        out.status.code()
    );
    let out = ctx.kubectl(&["vmimage", "resolve", ""])?;
    ensure!(
        out.status.code() == Some(1),
        "empty ref: exit {:?}",
        out.status.code()
    );
    let out = ctx.kubectl(&["vmimage", "resolve", "--bogus"])?;
    ensure!(
        out.status.code() == Some(2),
        "unknown flag: exit {:?}",
        out.status.code()
    );
    // A NUL in a manifest (found by fuzzing): refused with its place; the file untouched.
    let manifest = std::env::temp_dir().join(format!("nul-{}.yaml", ctx.namespace));
    let text = "kind: VirtualMachine\napiVersion: vmoperator.vmware.com/v1alpha6\nmetadata: {name: a}\n\
                spec:\n  imageName: ubuntu-24.04\u{0}\n";
    std::fs::write(&manifest, text)?;
    let path = manifest.to_str().unwrap_or_default();
    for cmd in [
        &["vmimage", "pin", "--in-place", "-f", path][..],
        &["vmimage", "check", "-f", path],
    ] {
        let out = ctx.kubectl(cmd)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(
            out.status.code() == Some(2)
                && stderr.contains("line 5 column 26: character U+0000 is not allowed in YAML"),
            "{cmd:?}: exit {:?}: {stderr}",
            out.status.code()
        );
    }
    ensure!(
        std::fs::read_to_string(&manifest)? == text,
        "the manifest was changed"
    );
    std::fs::remove_file(&manifest)?;
    Ok(())
}

/// The tests of this module.
pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![
        crate::plugin::resolve_finds_a_unique_display_name,
        crate::plugin::resolve_reports_ambiguity_with_candidates,
        crate::plugin::resolve_ignores_readiness_and_reports_missing,
        crate::plugin::list_marks_ambiguous_names,
        crate::plugin::get_and_describe_show_candidates_and_users,
        crate::plugin::pin_rewrites_files_and_refuses_ambiguity,
        crate::plugin::completion_offers_display_names_and_ids,
        crate::plugin::catalog_answers_equal_live_answers,
        crate::plugin::resolve_reads_whole_only_the_images_that_decide,
        crate::plugin::bad_input_gets_clear_errors_and_exit_codes,
    ]
}

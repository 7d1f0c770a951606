//! kubectl's printing flags on `kubectl vmimage`, through the real kubectl, with kubectl
//! itself as the oracle: the same JSONPath, custom columns, `--sort-by`, `-L` and
//! `--show-labels` give the same answers from `kubectl get` and from the plugin. Each
//! test makes its own images in its own namespace (labelled with it), so tests running
//! beside it cannot change what it compares.

use anyhow::{Context, Result, bail, ensure};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader},
    sync::mpsc,
    time::{Duration, Instant},
};
use vmimage_shared::VmiId;
use vmimage_testenv::{catalog, publisher::MANUAL_LABEL, suite::Ctx};

const UBUNTU_24: &str = "vmi-0a0044d7c690bcbea";
/// The label every image of a test carries: its namespace.
const MINE: &str = "vmimage.io/printing-test";

pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![
        crate::printing::jsonpath_and_go_templates_print_what_kubectl_prints,
        crate::printing::custom_columns_sort_by_and_no_headers_match_kubectl,
        crate::printing::label_columns_and_show_labels_match_kubectl,
        crate::printing::list_columns_are_vm_operators_printer_columns_and_vmimages,
        crate::printing::get_prints_the_object_without_managed_fields,
        crate::printing::resolve_and_versions_take_templates,
        crate::printing::each_command_refuses_what_it_cannot_print,
        crate::printing::list_watch_prints_a_row_when_an_image_appears,
        crate::printing::get_watch_follows_the_image_it_showed,
        crate::printing::publish_list_watch_prints_requests_as_they_come_and_change,
        crate::printing::publish_status_watch_prints_a_row_per_change,
    ]
}

/// One namespaced image of the test: display name, version, OS, hardware version,
/// capabilities, and labels besides [`MINE`].
struct Spec<'a> {
    display: &'a str,
    version: &'a str,
    os: (&'a str, &'a str, &'a str),
    hardware: i64,
    capabilities: &'a [&'a str],
    labels: &'a [(&'a str, &'a str)],
}

const SPECS: &[Spec<'static>] = &[
    Spec {
        display: "alpha",
        version: "9.4",
        os: ("rhel9_64Guest", "linux", "9"),
        hardware: 19,
        capabilities: &["cloud-init", "ssh"],
        labels: &[("tier", "gold"), ("example.com/team", "red")],
    },
    Spec {
        display: "beta",
        version: "10.1",
        os: ("windows2019srvNext_64Guest", "windows", "2022"),
        hardware: 21,
        capabilities: &[],
        labels: &[("tier", "silver")],
    },
    Spec {
        display: "gamma",
        version: "2022",
        os: ("ubuntu64Guest", "linux", "24.04"),
        hardware: 17,
        capabilities: &["cloud-init"],
        labels: &[],
    },
];

/// Creates the test's images in its namespace; returns their names in [`SPECS`] order.
async fn images(ctx: &Ctx) -> Result<Vec<String>> {
    let client = ctx.client().await?;
    let mut names = Vec::new();
    for s in SPECS {
        let name = VmiId::for_item(&uuid::Uuid::new_v4().to_string())?.to_string();
        let mut labels: serde_json::Map<String, Value> =
            s.labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        labels.insert(MINE.into(), json!(ctx.namespace));
        let object = json!({
            "apiVersion": "vmoperator.vmware.com/v1alpha6",
            "kind": "VirtualMachineImage",
            "metadata": {"name": name, "namespace": ctx.namespace, "labels": labels},
            "spec": {"providerRef": {"apiVersion": "imageregistry.vmware.com/v1alpha2",
                                     "kind": "ContentLibraryItem", "name": format!("clitem-{}", s.display)}},
            "status": {
                "name": s.display, "type": "OVF", "hardwareVersion": s.hardware, "firmware": "EFI",
                "productInfo": {"version": s.version},
                "osInfo": {"id": s.os.0, "type": s.os.1, "version": s.os.2},
                "capabilities": s.capabilities,
                "conditions": [{"type": "Ready", "status": "True"}]
            }
        });
        let mut object = object;
        if s.capabilities.is_empty() {
            // Written as VM Operator writes it: no list rather than an empty one.
            if let Some(st) = object["status"].as_object_mut() {
                st.remove("capabilities");
            }
        }
        catalog::apply_image(&client, object).await?;
        names.push(name);
    }
    Ok(names)
}

/// `kubectl ARGS`, which must succeed.
fn ok(ctx: &Ctx, args: &[&str]) -> Result<String> {
    ctx.kubectl_ok(args)
}

/// The plugin's `list` of the test's own images, with `extra` flags.
fn list_mine(ctx: &Ctx, extra: &[&str]) -> Result<String> {
    let selector = format!("{MINE}={}", ctx.namespace);
    let mut args = vec!["vmimage", "list", "-n", &ctx.namespace, "-l", &selector];
    args.extend(extra);
    ok(ctx, &args)
}

/// `kubectl get vmi` of the test's own images, with `extra` flags.
fn get_mine(ctx: &Ctx, extra: &[&str]) -> Result<String> {
    let mut args = vec!["get", "vmi", "-n", &ctx.namespace];
    args.extend(extra);
    ok(ctx, &args)
}

/// A directory of the test's own for template files.
fn scratch(ctx: &Ctx) -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("vmimage-printing-{}", ctx.namespace));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn trim_lines(s: &str) -> String {
    s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

pub async fn jsonpath_and_go_templates_print_what_kubectl_prints(ctx: Ctx) -> Result<()> {
    let names = images(&ctx).await?;
    let sorted = ["--sort-by", ".metadata.name"];
    for template in [
        r#"jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.name}{"\t"}{.status.capabilities}{"\n"}{end}"#,
        "jsonpath={.items[*].status.productInfo.version}",
        r#"jsonpath={.items[?(@.status.name=="beta")].metadata.labels.tier}"#,
        "jsonpath={.items[?(@.status.hardwareVersion>18)].status.name}",
        "jsonpath={.items[-1:].status.osInfo} {.items[0].metadata.labels['example\\.com/team']}",
        "jsonpath={.kind} {.items[1].status.conditions[0].type}",
        r#"go-template={{range .items}}{{.metadata.name}} {{.status.hardwareVersion}} {{.status.nope}}{{"\n"}}{{end}}"#,
        r#"go-template={{len .items}} {{(index .items 0).status.name}}"#,
    ] {
        let kubectl = get_mine(&ctx, &[&sorted[..], &["-o", template]].concat())?;
        let plugin = list_mine(&ctx, &[&sorted[..], &["-o", template]].concat())?;
        ensure!(
            kubectl == plugin,
            "-o {template}\nkubectl: {kubectl:?}\nplugin:  {plugin:?}"
        );
    }
    // One image prints as the object itself, for both kubectl and the plugin.
    let one = "jsonpath={.kind} {.metadata.name} {.status.osInfo.type}";
    let kubectl = get_mine(&ctx, &[&names[0], "-o", one])?;
    let plugin = ok(
        &ctx,
        &["vmimage", "get", &names[0], "-n", &ctx.namespace, "-o", one],
    )?;
    ensure!(kubectl == plugin, "kubectl: {kubectl:?}\nplugin:  {plugin:?}");
    ensure!(
        plugin == format!("VirtualMachineImage {} linux", names[0]),
        "{plugin}"
    );
    // Templates from files.
    let dir = scratch(&ctx)?;
    let file = dir.join("names.jsonpath");
    std::fs::write(&file, "{.items[*].status.name}")?;
    let by_name = ["--sort-by", ".status.name"];
    let from_file = list_mine(
        &ctx,
        &[
            &by_name[..],
            &["-o", &format!("jsonpath-file={}", file.display())],
        ]
        .concat(),
    )?;
    ensure!(from_file == "alpha beta gamma", "{from_file}");
    std::fs::write(&file, "{{range .items}}{{.status.name}};{{end}}")?;
    let from_file = list_mine(
        &ctx,
        &[
            &by_name[..],
            &["-o", &format!("go-template-file={}", file.display())],
        ]
        .concat(),
    )?;
    ensure!(from_file == "alpha;beta;gamma;", "{from_file}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

pub async fn custom_columns_sort_by_and_no_headers_match_kubectl(ctx: Ctx) -> Result<()> {
    images(&ctx).await?;
    let columns = "custom-columns=NAME:.status.name,VERSION:.status.productInfo.version,\
                   CAPS:.status.capabilities,TIER:.metadata.labels.tier,HW:.status.hardwareVersion";
    for sort in [
        ".status.productInfo.version",
        "{.status.hardwareVersion}",
        "status.name",
        ".metadata.labels.tier",
    ] {
        for extra in [&[][..], &["--no-headers"]] {
            let args = [&["--sort-by", sort, "-o", columns][..], extra].concat();
            let kubectl = trim_lines(&get_mine(&ctx, &args)?);
            let plugin = trim_lines(&list_mine(&ctx, &args)?);
            ensure!(
                kubectl == plugin,
                "--sort-by {sort} {extra:?}\nkubectl:\n{kubectl}\nplugin:\n{plugin}"
            );
        }
    }
    // Text that reads as a number sorts by value, as kubectl sorts it: 9.4 < 10.1 < 2022.
    let versions = list_mine(
        &ctx,
        &[
            "--sort-by",
            ".status.productInfo.version",
            "-o",
            "jsonpath={.items[*].status.name}",
        ],
    )?;
    ensure!(versions == "alpha beta gamma", "{versions}");
    // A file of headers and paths.
    let dir = scratch(&ctx)?;
    let file = dir.join("columns");
    std::fs::write(&file, "NAME HW\n.status.name {.status.hardwareVersion}\n")?;
    let from_file = list_mine(
        &ctx,
        &[
            "--sort-by",
            ".status.hardwareVersion",
            "-o",
            &format!("custom-columns-file={}", file.display()),
        ],
    )?;
    ensure!(
        trim_lines(&from_file) == "NAME    HW\ngamma   17\nalpha   19\nbeta    21",
        "{from_file}"
    );
    std::fs::remove_dir_all(&dir)?;
    // No object has the field: the same error as kubectl's, exit 1.
    let selector = format!("{MINE}={}", ctx.namespace);
    let out = ctx.kubectl(&[
        "vmimage",
        "list",
        "-n",
        &ctx.namespace,
        "-l",
        &selector,
        "--sort-by",
        ".spec.nope",
    ])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(1)
            && stderr.contains(r#"couldn't find any field with path "{.spec.nope}" in the list of objects"#),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    Ok(())
}

pub async fn label_columns_and_show_labels_match_kubectl(ctx: Ctx) -> Result<()> {
    let names = images(&ctx).await?;
    let flags = [
        "--sort-by",
        ".metadata.name",
        "-L",
        "tier,example.com/team",
        "-L",
        "nope",
        "--show-labels",
    ];
    let kubectl = get_mine(&ctx, &flags)?;
    let plugin = list_mine(&ctx, &flags)?;
    // The tables differ in their other columns; the label columns end both alike.
    let tail = |table: &str| -> Vec<String> {
        let header = table.lines().next().unwrap_or_default();
        let at = header.find("TIER").unwrap_or(header.len());
        table
            .lines()
            .map(|l| {
                l.get(at..)
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    ensure!(
        tail(&kubectl) == tail(&plugin),
        "kubectl:\n{kubectl}\nplugin:\n{plugin}"
    );
    let header: Vec<&str> = plugin
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    ensure!(
        header.ends_with(&["AGE", "TIER", "TEAM", "NOPE", "LABELS"]),
        "{plugin}"
    );
    let alpha = plugin
        .lines()
        .find(|l| l.starts_with(&names[0]))
        .context("alpha's row")?;
    ensure!(
        alpha.contains(" gold ")
            && alpha.contains(" red ")
            && alpha.ends_with(&format!(
                "example.com/team=red,tier=gold,{MINE}={}",
                ctx.namespace
            )),
        "{alpha}"
    );
    Ok(())
}

/// Cells by header from a kubectl-style table (columns start where their header does).
fn cells(table: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    let mut starts: Vec<(usize, String)> = Vec::new();
    let mut rest = header;
    let mut offset = 0;
    while let Some(pos) = rest.find(|c: char| c != ' ') {
        let from = offset + pos;
        let tail = &header[from..];
        let len = tail.find("   ").unwrap_or(tail.len());
        starts.push((from, tail[..len].to_string()));
        offset = from + len;
        rest = &header[offset..];
    }
    lines
        .map(|line| {
            starts
                .iter()
                .enumerate()
                .map(|(i, (from, name))| {
                    let to = starts.get(i + 1).map_or(line.len(), |(n, _)| *n).min(line.len());
                    let cell = line.get((*from).min(line.len())..to).unwrap_or_default();
                    (name.clone(), cell.trim().to_string())
                })
                .collect()
        })
        .collect()
}

pub async fn list_columns_are_vm_operators_printer_columns_and_vmimages(ctx: Ctx) -> Result<()> {
    images(&ctx).await?;
    let plugin = list_mine(&ctx, &["--sort-by", ".metadata.name"])?;
    let header: Vec<&str> = plugin
        .lines()
        .next()
        .unwrap_or_default()
        .split("   ")
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    ensure!(
        header
            == [
                "NAME",
                "DISPLAY NAME",
                "SCOPE",
                "TYPE",
                "IMAGE VERSION",
                "OS NAME",
                "OS VERSION",
                "HARDWARE VERSION",
                "CAPABILITIES",
                "READY",
                "AGE"
            ],
        "{plugin}"
    );
    // VM Operator's columns hold what the apiserver's own table of the CRD holds.
    let kubectl = get_mine(&ctx, &["--sort-by", ".metadata.name"])?;
    let (theirs, ours) = (cells(&kubectl), cells(&plugin));
    ensure!(
        theirs.len() == 3 && ours.len() == 3,
        "kubectl:\n{kubectl}\nplugin:\n{plugin}"
    );
    for (k, p) in theirs.iter().zip(&ours) {
        for column in [
            "NAME",
            "DISPLAY NAME",
            "TYPE",
            "IMAGE VERSION",
            "OS NAME",
            "OS VERSION",
            "HARDWARE VERSION",
            "CAPABILITIES",
        ] {
            ensure!(
                k.get(column) == p.get(column),
                "{column}: kubectl {:?}, plugin {:?}\nkubectl:\n{kubectl}\nplugin:\n{plugin}",
                k.get(column),
                p.get(column)
            );
        }
        ensure!(p["SCOPE"] == ctx.namespace && p["READY"] == "True", "{plugin}");
    }
    let wide = list_mine(&ctx, &["-o", "wide", "--sort-by", ".status.name"])?;
    let wide = cells(&wide);
    ensure!(
        wide[0].get("DISPLAY NAME").map(String::as_str) == Some("alpha")
            && wide[0].get("OS ID").map(String::as_str) == Some("rhel9_64Guest")
            && wide[0].get("FIRMWARE").map(String::as_str) == Some("EFI"),
        "{wide:?}"
    );
    Ok(())
}

pub async fn get_prints_the_object_without_managed_fields(ctx: Ctx) -> Result<()> {
    let yaml = ok(
        &ctx,
        &[
            "vmimage",
            "get",
            "ubuntu-24.04",
            "-n",
            &ctx.namespace,
            "-o",
            "yaml",
        ],
    )?;
    let object: Value = serde_norway::from_str(&yaml)?;
    ensure!(
        object["kind"] == "ClusterVirtualMachineImage" && object["metadata"]["name"] == UBUNTU_24,
        "{yaml}"
    );
    ensure!(!yaml.contains("managedFields"), "{yaml}");
    // kubectl's own -o yaml shows the same object, managedFields hidden too.
    let theirs: Value = serde_norway::from_str(&ok(&ctx, &["get", "cvmi", UBUNTU_24, "-o", "yaml"])?)?;
    ensure!(
        theirs["metadata"].get("managedFields").is_none() && theirs["metadata"] == object["metadata"],
        "kubectl: {}\nplugin: {}",
        theirs["metadata"],
        object["metadata"]
    );
    let kept = ok(
        &ctx,
        &["vmimage", "get", UBUNTU_24, "-o", "json", "--show-managed-fields"],
    )?;
    let kept: Value = serde_json::from_str(&kept)?;
    ensure!(
        kept["metadata"]["managedFields"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "{kept}"
    );
    // An ambiguous name prints every candidate, as a List.
    let list: Value = serde_json::from_str(&ok(
        &ctx,
        &["vmimage", "get", "debian-12", "-n", "dev", "-o", "json"],
    )?)?;
    let items = list["items"].as_array().context("items")?;
    ensure!(
        list["kind"] == "List"
            && items.len() == 2
            && items.iter().all(|i| i["metadata"].get("managedFields").is_none()),
        "{list}"
    );
    let yaml = ok(&ctx, &["vmimage", "list", "-n", "dev", "-o", "yaml"])?;
    ensure!(
        yaml.contains("kind: List") && !yaml.contains("managedFields"),
        "{yaml}"
    );
    Ok(())
}

pub async fn resolve_and_versions_take_templates(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let id = ok(
        &ctx,
        &[
            "vmimage",
            "resolve",
            "ubuntu-24.04",
            "-n",
            ns,
            "-o",
            "jsonpath={.name}",
        ],
    )?;
    ensure!(id == UBUNTU_24, "{id}");
    let two = ok(
        &ctx,
        &[
            "vmimage",
            "resolve",
            "ubuntu-24.04",
            "photon-5.0",
            "-n",
            ns,
            "-o",
            "custom-columns=REF:.ref,ID:.name",
            "--no-headers",
        ],
    )?;
    ensure!(
        trim_lines(&two) == format!("ubuntu-24.04   {UBUNTU_24}\nphoton-5.0     vmi-803da913057f32b6f"),
        "{two}"
    );
    let go = ok(
        &ctx,
        &[
            "vmimage",
            "resolve",
            "ubuntu-24.04",
            "-n",
            ns,
            "-o",
            "go-template={{.kind}}/{{.name}}",
        ],
    )?;
    ensure!(go == format!("ClusterVirtualMachineImage/{UBUNTU_24}"), "{go}");
    let versions = ok(
        &ctx,
        &[
            "vmimage",
            "versions",
            "ubuntu-24.04",
            "-n",
            ns,
            "-o",
            "jsonpath={[*].version}",
        ],
    )?;
    ensure!(versions.split(' ').any(|v| v == "24.04.1"), "{versions}");
    let table = ok(
        &ctx,
        &["vmimage", "resolve", "ubuntu-24.04", "-n", ns, "--no-headers"],
    )?;
    ensure!(
        table.starts_with("ubuntu-24.04 ") && !table.contains("REF"),
        "{table}"
    );
    Ok(())
}

pub async fn each_command_refuses_what_it_cannot_print(ctx: Ctx) -> Result<()> {
    for (args, says) in [
        (
            &["vmimage", "resolve", "x", "-o", "wide"][..],
            "this command prints table, json, yaml, name, id",
        ),
        (
            &["vmimage", "versions", "x", "-o", "wide"],
            "this command prints table, json, yaml, name, id",
        ),
        (
            &["vmimage", "publish", "list", "-o", "id"],
            "this command prints table, json, yaml, name",
        ),
        (
            &["vmimage", "list", "-o", "jsonpath"],
            "jsonpath needs a template",
        ),
        (
            &["vmimage", "list", "-o", "jsonpath={.items[*]"],
            "unclosed action",
        ),
        (
            &["vmimage", "list", "-o", "custom-columns=NAME"],
            "expected <header>:<json-path-expr>",
        ),
        (
            &["vmimage", "list", "--sort-by", "{.a}{.b}"],
            "unexpected path string",
        ),
        (
            &["vmimage", "describe", "x", "-o", "yaml"],
            "unexpected argument '-o'",
        ),
        (
            &["vmimage", "list", "-w", "--catalog", "/dev/null"],
            "--watch follows the cluster's changes",
        ),
    ] {
        let out = ctx.kubectl(args)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(
            out.status.code() == Some(2) && stderr.contains(says),
            "{args:?}: exit {:?}: {stderr}",
            out.status.code()
        );
    }
    Ok(())
}

/// Lines a running command prints, read on a thread.
struct Lines {
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn of(child: &mut std::process::Child) -> Result<Self> {
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self { rx, seen: Vec::new() })
    }

    /// Waits (30 s at most) until `want` has accepted `n` of the lines printed so far.
    fn wait_for_count(&mut self, what: &str, n: usize, want: impl Fn(&str) -> bool) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.seen.iter().filter(|l| want(l)).count() < n {
            ensure!(
                Instant::now() < deadline,
                "no {what} after 30 s; printed so far:\n{}",
                self.seen.join("\n")
            );
            if let Ok(line) = self.rx.recv_timeout(Duration::from_millis(200)) {
                self.seen.push(line);
            }
        }
        Ok(())
    }

    /// The first line printed so far, or printed within 30 s, that `want` accepts.
    fn wait_for(&mut self, what: &str, want: impl Fn(&str) -> bool) -> Result<String> {
        if let Some(line) = self.seen.iter().find(|l| want(l)) {
            return Ok(line.clone());
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if want(&line) {
                        return Ok(line);
                    }
                }
                Err(_) => bail!("no {what} after 30 s; printed so far:\n{}", self.seen.join("\n")),
            }
        }
    }
}

/// Kills the watching kubectl (and so the plugin it became) when the test ends.
struct Kill(std::process::Child);

impl Kill {
    /// Fails if the watch has ended on its own (only Ctrl-C or the reader may end it).
    fn still_running(&mut self, lines: &Lines) -> Result<()> {
        ensure!(
            self.0.try_wait()?.is_none(),
            "the watch ended by itself:\n{}",
            lines.seen.join("\n")
        );
        Ok(())
    }
}

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn list_watch_prints_a_row_when_an_image_appears(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let mut watch = Kill(ctx.kubectl_spawn(&["vmimage", "list", "-n", ns, "-w"])?);
    let mut lines = Lines::of(&mut watch.0)?;
    lines.wait_for("header", |l| {
        l.starts_with("NAME ") && l.contains("HARDWARE VERSION")
    })?;
    lines.wait_for("ubuntu-24.04's row", |l| l.starts_with(UBUNTU_24))?;
    let names = images(&ctx).await?;
    for (name, spec) in names.iter().zip(SPECS) {
        let row = lines.wait_for(&format!("a row for {name}"), |l| {
            l.starts_with(name.as_str()) && l.contains(spec.version)
        })?;
        ensure!(row.contains(spec.display) && row.contains(ns), "{row}");
    }
    // An image named like one shown since: its row is judged on the images as they are
    // now, not on the first listing (which had neither).
    let twin = VmiId::for_item(&uuid::Uuid::new_v4().to_string())?.to_string();
    catalog::apply_image(
        &ctx.client().await?,
        json!({
            "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": "VirtualMachineImage",
            "metadata": {"name": twin, "namespace": ns, "labels": {MINE: ns}},
            "status": {"name": SPECS[0].display, "type": "OVF", "conditions": [{"type": "Ready", "status": "True"}]}
        }),
    )
    .await?;
    // (Created, then given its status: the row with the display name is the second.)
    let row = lines.wait_for("the twin's row", |l| {
        l.starts_with(&twin) && l.contains(SPECS[0].display)
    })?;
    ensure!(
        row.contains(&format!("{} (ambiguous)", SPECS[0].display)),
        "{row}"
    );
    // A change to an image prints it again.
    ok(&ctx, &["label", "vmi", "-n", ns, &names[1], "changed=yes"])?;
    let before = lines.seen.iter().filter(|l| l.starts_with(&names[1])).count();
    lines.wait_for_count("new row after the label", before + 1, |l| {
        l.starts_with(&names[1])
    })?;
    watch.still_running(&lines)?;
    Ok(())
}

/// `get NAME -w`, as kubectl's: the image shown, printed again when it changes and when
/// it is deleted; other images' changes print nothing.
pub async fn get_watch_follows_the_image_it_showed(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let names = images(&ctx).await?;
    let mut watch = Kill(ctx.kubectl_spawn(&["vmimage", "get", "alpha", "-n", ns, "-w"])?);
    let mut lines = Lines::of(&mut watch.0)?;
    lines.wait_for("header", |l| l.starts_with("NAME ") && l.contains("DISPLAY NAME"))?;
    lines.wait_for("alpha's row", |l| l.starts_with(names[0].as_str()))?;
    let alpha = |l: &str| l.starts_with(names[0].as_str());
    // Another image first: a watch delivers events in order, so a row for it would come
    // before alpha's next one.
    ok(&ctx, &["label", "vmi", "-n", ns, &names[1], "changed=yes"])?;
    ok(&ctx, &["label", "vmi", "-n", ns, &names[0], "changed=yes"])?;
    lines.wait_for_count("new row after the label", 2, alpha)?;
    ensure!(
        !lines.seen.iter().any(|l| l.starts_with(names[1].as_str())),
        "beta was printed:\n{}",
        lines.seen.join("\n")
    );
    ok(&ctx, &["delete", "vmi", "-n", ns, &names[0]])?;
    lines.wait_for_count("row after the delete", 3, alpha)?;
    watch.still_running(&lines)?;
    // Offline there is nothing to follow.
    let offline = ctx.kubectl(&["vmimage", "get", "alpha", "-w", "--catalog", "/dev/null"])?;
    ensure!(
        !offline.status.success() && String::from_utf8_lossy(&offline.stderr).contains("--watch follows"),
        "{offline:?}"
    );
    Ok(())
}

/// Creates a VirtualMachinePublishRequest `name` of VM `src` for item `item`.
fn create_request(ctx: &Ctx, name: &str, item: &str) -> Result<()> {
    let request = json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": "VirtualMachinePublishRequest",
        "metadata": {"name": name, "namespace": ctx.namespace},
        "spec": {"source": {"name": "src"}, "target": {"item": {"name": item}}}
    });
    let out = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&request.to_string()))?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// Sets a request's `status.attempts`, as VM Operator would.
async fn set_attempts(client: kube::Client, ns: &str, name: &str, attempts: u32) -> Result<()> {
    let requests: Api<DynamicObject> = Api::namespaced_with(
        client,
        ns,
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk(
                "vmoperator.vmware.com",
                "v1alpha6",
                "VirtualMachinePublishRequest",
            ),
            "virtualmachinepublishrequests",
        ),
    );
    requests
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"attempts": attempts}})),
        )
        .await?;
    Ok(())
}

/// `publish list -w`: nothing yet (said on stderr), then a row for a request created
/// after the watch began, and one more when its status changes.
pub async fn publish_list_watch_prints_requests_as_they_come_and_change(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let client = ctx.client().await?;
    ok(&ctx, &["label", "namespace", ns, &format!("{MANUAL_LABEL}=true")])?;
    let mut watch = Kill(ctx.kubectl_spawn(&["vmimage", "publish", "list", "-n", ns, "-w"])?);
    let mut lines = Lines::of(&mut watch.0)?;
    create_request(&ctx, "later", "later-image")?;
    lines.wait_for("header", |l| l.starts_with("NAME ") && l.contains("ATTEMPTS"))?;
    lines.wait_for("the new request's row", |l| {
        l.starts_with("later ") && l.contains("later-image")
    })?;
    set_attempts(client, ns, "later", 2).await?;
    lines.wait_for("a row with 2 attempts", |l| {
        l.starts_with("later ") && l.split_whitespace().any(|c| c == "2")
    })?;
    watch.still_running(&lines)?;
    Ok(())
}

pub async fn publish_status_watch_prints_a_row_per_change(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let client = ctx.client().await?;
    // The simulated publisher leaves this namespace's requests alone: the test writes them.
    ok(&ctx, &["label", "namespace", ns, &format!("{MANUAL_LABEL}=true")])?;
    create_request(&ctx, "req", "src-image")?;
    let mut watch = Kill(ctx.kubectl_spawn(&["vmimage", "publish", "status", "req", "-n", ns, "-w"])?);
    let mut lines = Lines::of(&mut watch.0)?;
    lines.wait_for("header", |l| l.starts_with("NAME ") && l.contains("ATTEMPTS"))?;
    lines.wait_for("the request's row", |l| {
        l.starts_with("req ") && l.contains("src-image")
    })?;
    set_attempts(client, ns, "req", 3).await?;
    let row = lines.wait_for("a row with 3 attempts", |l| {
        l.starts_with("req ") && l.split_whitespace().any(|c| c == "3")
    })?;
    ensure!(row.contains("src-image"), "{row}");
    // -o works with -w too: the object, then the object again on each change.
    let out = ok(
        &ctx,
        &[
            "vmimage",
            "publish",
            "status",
            "req",
            "-n",
            ns,
            "-o",
            "jsonpath={.status.attempts}",
        ],
    )?;
    ensure!(out == "3", "{out}");
    Ok(())
}

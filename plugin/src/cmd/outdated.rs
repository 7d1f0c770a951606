//! `kubectl vmimage outdated`: the VirtualMachines whose image has a newer Ready version
//! in its family, from the live cluster or from manifests (`--vms`, offline with
//! `--catalog`). Exit 1 if any, so CI can act on it. The decision is the shared crate's
//! ([`vmimage_shared::outdated`]).

use crate::{
    cli::{Format, Global, OutdatedArgs},
    error::{Error, Result},
    output::{self, ImageSummary, Table},
    pin::{parse_documents, read_inputs, vms_in},
    source::{Scope, Source, list_objects},
};
use serde::Serialize;
use std::{io::Write, process::ExitCode};
use vmimage_shared::{
    api::{GROUP, VIRTUAL_MACHINE, VmImageRefs},
    outdated::{self, Undetermined},
    resolve::qualified,
};

/// One outdated VM, as `-o json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The VM's namespace.
    pub namespace: String,
    /// The VM's name.
    pub name: String,
    /// The field its image was read from: `spec.image` or `spec.imageName`.
    pub image_from: &'static str,
    /// The image it has.
    pub current: ImageSummary,
    /// The newest Ready version of that image's family visible from its namespace.
    pub newest: ImageSummary,
}

/// A VirtualMachine to check, with where it was read (for warnings).
struct Vm {
    refs: VmImageRefs,
    /// `file, document N` for manifests; empty for the live cluster.
    origin: String,
}

/// What `--catalog` without `--vms` is told.
const NO_VMS_IN_CATALOG: &str =
    "--catalog holds images, not VirtualMachines: give the VMs with --vms FILE|DIR";

/// The VirtualMachines of the manifests (a missing namespace left empty). Bad input is
/// an error naming the file and the document.
fn read_manifests(paths: &[String]) -> Result<Vec<Vm>> {
    let mut vms = Vec::new();
    for input in read_inputs(paths)? {
        let docs =
            parse_documents(&input.text).map_err(|e| Error::Usage(format!("{}: {e}", input.name())))?;
        for (d, doc) in docs.iter().enumerate() {
            for (pointer, vm) in vms_in(&doc.value) {
                let at = match pointer.strip_prefix("/items/") {
                    Some(item) => format!("{}: document {}, item {item}", input.name(), d + 1),
                    None => format!("{}: document {}", input.name(), d + 1),
                };
                let refs = VmImageRefs::from_json(vm).map_err(|e| Error::Usage(format!("{at}: {e}")))?;
                vms.push(Vm { refs, origin: at });
            }
        }
    }
    if vms.is_empty() {
        return Err(Error::Usage(format!(
            "no VirtualMachine ({GROUP}) found in {}",
            paths.join(", ")
        )));
    }
    Ok(vms)
}

/// The cluster's VirtualMachines in `namespace` (`None`: every namespace). A VM whose
/// image fields cannot be read is warned about and left out.
async fn read_live(source: &Source, namespace: Option<&str>) -> Result<Vec<Vm>> {
    let Some(cluster) = source.cluster() else {
        return Err(Error::Usage(NO_VMS_IN_CATALOG.into()));
    };
    let objects = list_objects(cluster, VIRTUAL_MACHINE, namespace).await?;
    let mut vms = Vec::new();
    for object in objects {
        let value = serde_json::to_value(&object).map_err(|e| Error::Failed(e.to_string()))?;
        match VmImageRefs::from_json(&value) {
            Ok(refs) => vms.push(Vm {
                refs,
                origin: String::new(),
            }),
            Err(e) => crate::note!(
                "warning: VirtualMachine {}/{}: cannot read its image fields: {e}",
                object.metadata.namespace.unwrap_or_default(),
                object.metadata.name.unwrap_or_default()
            ),
        }
    }
    Ok(vms)
}

fn warn(vm: &Vm, why: &Undetermined) {
    let origin = match vm.origin.as_str() {
        "" => String::new(),
        at => format!(" ({at})"),
    };
    crate::note!(
        "warning: VirtualMachine {}/{}{origin}: its image cannot be determined, so it is not checked: {why}",
        vm.refs.namespace,
        vm.refs.name
    );
}

pub async fn run(global: &Global, args: OutdatedArgs) -> Result<ExitCode> {
    if global.catalog.is_some() && args.vms.is_empty() {
        return Err(Error::Usage(NO_VMS_IN_CATALOG.into()));
    }
    if global.catalog.as_deref() == Some("-") && args.vms.iter().any(|v| v == "-") {
        return Err(Error::Usage(
            "--catalog - and --vms - cannot both read stdin: write one of them to a file".into(),
        ));
    }
    // Manifests first: bad input is reported before any connection is made.
    let manifests = match args.vms.is_empty() {
        true => None,
        false => Some(read_manifests(&args.vms)?),
    };
    let (source, namespace) = Source::open(global).await?;
    let (vms, scope) = match manifests {
        // A manifest without a namespace is created in -n's (else the context's).
        Some(mut vms) => {
            for vm in vms.iter_mut().filter(|vm| vm.refs.namespace.is_empty()) {
                vm.refs.namespace = namespace.clone();
            }
            (vms, Scope::All)
        }
        None if args.all_namespaces => (read_live(&source, None).await?, Scope::All),
        None => (
            read_live(&source, Some(&namespace)).await?,
            Scope::VisibleFrom(namespace.clone()),
        ),
    };
    let images = source.images(&scope).await?;
    // A qualified spec.imageName needs its candidates' libraries; a VM with spec.image
    // (every VM the webhook admitted) needs none.
    let mut wanted: Vec<_> = vms
        .iter()
        .filter(|vm| vm.refs.image.is_none())
        .flat_map(|vm| qualified::candidates_for_vm(&images.index, &vm.refs))
        .collect();
    wanted.sort_by(|a, b| (&a.scope, &a.name).cmp(&(&b.scope, &b.name)));
    wanted.dedup();
    let libraries = source.libraries(&wanted).await?;
    let mut checker = outdated::Checker::new(&images.index, &libraries);
    let mut rows = Vec::new();
    let mut undetermined = 0;
    for vm in &vms {
        match checker.check(&vm.refs) {
            Ok(report) => {
                if let Some(newest) = &report.newer {
                    rows.push(Row {
                        namespace: vm.refs.namespace.clone(),
                        name: vm.refs.name.clone(),
                        image_from: report.from.field(),
                        current: ImageSummary::from(&*report.current),
                        newest: ImageSummary::from(&**newest),
                    });
                }
            }
            Err(why) => {
                undetermined += 1;
                warn(vm, &why);
            }
        }
    }
    rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    print(&args, &rows)?;
    if rows.is_empty() && args.output.is_table() {
        crate::note!(
            "No outdated VirtualMachines ({} checked{}).",
            vms.len() - undetermined,
            match undetermined {
                0 => String::new(),
                n => format!(", {n} with an image that cannot be determined"),
            }
        );
    }
    Ok(ExitCode::from(u8::from(!rows.is_empty())))
}

fn print(args: &OutdatedArgs, rows: &[Row]) -> Result<()> {
    let mut out = output::stdout();
    let list = output::list(rows);
    let Some(format) = args.output.format() else {
        // Templates see what -o json prints.
        let data = serde_json::to_value(&list).map_err(|e| Error::Failed(e.to_string()))?;
        output::print_templated(&mut out, &args.output, &data, args.no_headers)?;
        out.flush()?;
        return Ok(());
    };
    match format {
        Format::Json | Format::Yaml => output::write_data(&mut out, format, &list)?,
        Format::Name => rows
            .iter()
            .try_for_each(|r| writeln!(out, "{}.{GROUP}/{}", VIRTUAL_MACHINE.kind.to_lowercase(), r.name))?,
        _ if rows.is_empty() => {}
        _ => {
            let mut table = Table::new(&[
                "NAMESPACE",
                "NAME",
                "CURRENT",
                "VERSION",
                "NEWEST",
                "NEWEST VERSION",
            ]);
            let version = |i: &ImageSummary| i.version.clone().unwrap_or_else(|| "<none>".into());
            for r in rows {
                table.rows.push(vec![
                    r.namespace.clone().into(),
                    r.name.clone().into(),
                    r.current.name.clone().into(),
                    version(&r.current).into(),
                    r.newest.name.clone().into(),
                    version(&r.newest).into(),
                ]);
            }
            table.write_with(&mut out, output::use_color(), !args.no_headers)?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    const VM: &str = "apiVersion: vmoperator.vmware.com/v1alpha6\nkind: VirtualMachine\n";

    #[test]
    fn manifests_give_their_vms_and_where_they_were_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            &dir,
            "vms.yaml",
            &format!(
                "{VM}metadata: {{name: a}}\nspec: {{imageName: x}}\n---\nkind: ConfigMap\n---\n\
                 kind: List\nitems:\n- {{apiVersion: vmoperator.vmware.com/v1alpha6, kind: VirtualMachine, \
                 metadata: {{name: b, namespace: prod}}}}\n"
            ),
        );
        let vms = read_manifests(std::slice::from_ref(&file)).unwrap();
        let got: Vec<(&str, &str, &str)> = vms
            .iter()
            .map(|v| (v.refs.namespace.as_str(), v.refs.name.as_str(), v.origin.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("", "a", format!("{file}: document 1").as_str()),
                ("prod", "b", format!("{file}: document 3, item 0").as_str()),
            ]
        );
    }

    #[test]
    fn bad_manifests_are_errors_naming_the_file_and_document() {
        let dir = tempfile::tempdir().unwrap();
        let typed = write(
            &dir,
            "typed.yaml",
            &format!("{VM}metadata: {{name: a}}\n---\n{VM}metadata: {{name: b}}\nspec: {{image: [x]}}\n"),
        );
        let e = read_manifests(std::slice::from_ref(&typed))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            e,
            format!("{typed}: document 2: spec.image must be an object, not an array")
        );
        let broken = write(&dir, "broken.yaml", "kind: [\n");
        let e = read_manifests(std::slice::from_ref(&broken)).err().unwrap();
        assert!(e.to_string().starts_with(&format!("{broken}: ")), "{e}");
        assert_eq!(e.exit_code(), 2);
        let none = write(&dir, "none.yaml", "kind: ConfigMap\n");
        let e = read_manifests(&[none]).err().unwrap().to_string();
        assert!(
            e.contains("no VirtualMachine (vmoperator.vmware.com) found"),
            "{e}"
        );
    }
}

//! `kubectl vmimage get REF` and `describe REF`: one image, or every candidate of an
//! ambiguous name, in full.

use crate::{
    cli::{DescribeArgs, GetArgs, Global},
    error::{Error, Result},
    output::{self, Printer},
    source::{Images, Scope, Source, list_objects},
};
use std::{fmt::Write as _, io::Write, process::ExitCode, sync::Arc};
use vmimage_shared::{
    ImageEntry, ResolveError,
    api::{Image, VIRTUAL_MACHINE, VmImageRefs},
    resolve,
};

/// The image `reference` names from the namespace, or every candidate of an ambiguous
/// name (said on stderr); a name that resolves to nothing is an error that says where else
/// it exists and what was meant.
async fn find(source: &Source, namespace: &str, reference: &str) -> Result<(Images, Vec<Arc<ImageEntry>>)> {
    let images = source.images(&Scope::VisibleFrom(namespace.to_string())).await?;
    let found = match resolve(&images.index, namespace, reference) {
        Ok(r) => vec![r.image],
        Err(e @ ResolveError::Ambiguous { .. }) => {
            let found = e.candidates().to_vec();
            crate::note!(
                "{}; showing all {} candidates",
                e.vm_operator_message(),
                found.len()
            );
            found
        }
        Err(e) => {
            let everywhere = source.all_images_for_hints().await;
            let everywhere = everywhere.as_ref().map(|i| &*i.index);
            return Err(Error::Failed(crate::not_found::explain(
                &e, namespace, everywhere,
            )));
        }
    };
    Ok((images, found))
}

/// `get REF`: one image prints as the object itself, an ambiguous name as a List of its
/// candidates (tables: a row each).
pub async fn run(global: &Global, args: GetArgs) -> Result<ExitCode> {
    super::watch::refuse_offline(args.watch, global)?;
    let (source, namespace) = Source::open(global).await?;
    let (images, found) = find(&source, &namespace, &args.reference).await?;
    let options = args.print.options();
    let mut printer = Printer::new(
        super::list::kind(&images, Some(&namespace)),
        &args.output,
        &options,
    );
    let mut rows = super::list::rows(&images, &found, args.print.show_managed_fields);
    printer.sort(&mut rows)?;
    let mut out = output::stdout();
    printer.print_first(&mut out, &rows, rows.len() == 1, args.watch)?;
    out.flush()?;
    drop(rows);
    if args.watch {
        let cluster = source
            .cluster()
            .ok_or_else(|| Error::Usage("--watch needs a cluster".into()))?;
        super::watch::images(
            cluster,
            super::watch::Watched::Images(&found),
            &images,
            // As `kubectl get NAME -w`: the watches are of the objects shown (by name),
            // not of whatever the name may later name, so each of their changes prints.
            |_| true,
            None,
            args.print.show_managed_fields,
            &mut printer,
            &mut out,
        )
        .await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `describe REF`: everything about the image (or each candidate), with the VMs using it.
pub async fn describe_run(global: &Global, args: DescribeArgs) -> Result<ExitCode> {
    let (source, namespace) = Source::open(global).await?;
    let (images, found) = find(&source, &namespace, &args.reference).await?;
    let vms = match source.cluster() {
        Some(cluster) => list_objects(cluster, VIRTUAL_MACHINE, Some(&namespace))
            .await
            .ok(),
        None => None,
    };
    let mut out = std::io::stdout().lock();
    for (i, image) in found.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let users = vms.as_ref().map(|vms| users_of(vms, image));
        out.write_all(describe(image, images.object(image).as_ref(), users.as_deref()).as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Names of the VMs whose `spec.image` or `spec.imageName` names `image`.
fn users_of(vms: &[kube::api::DynamicObject], image: &ImageEntry) -> Vec<String> {
    let mut names: Vec<String> = vms
        .iter()
        .filter_map(|vm| {
            let refs = VmImageRefs::from_json(&serde_json::to_value(vm).ok()?).ok()?;
            let by_image = refs
                .image
                .as_ref()
                .is_some_and(|i| i.name == *image.name && i.kind == image.kind().as_str());
            let by_name = refs.image.is_none()
                && refs
                    .image_name
                    .as_deref()
                    .is_some_and(|n| n == &*image.name || image.display_name.as_deref() == Some(n));
            (by_image || by_name).then(|| vm.metadata.name.clone().unwrap_or_default())
        })
        .collect();
    names.sort();
    names
}

/// The describe text for one image, kubectl-describe style.
pub fn describe(entry: &ImageEntry, object: Option<&Image>, users: Option<&[String]>) -> String {
    let mut s = String::new();
    let field = |s: &mut String, k: &str, v: &str| {
        let _ = writeln!(s, "{:<18}{}", format!("{k}:"), v);
    };
    field(&mut s, "Name", &entry.name);
    field(&mut s, "Kind", entry.kind().as_str());
    field(
        &mut s,
        "Namespace",
        entry.scope.namespace().unwrap_or("<cluster>"),
    );
    field(
        &mut s,
        "Display Name",
        entry.display_name.as_deref().unwrap_or("<none>"),
    );
    field(&mut s, "Type", entry.image_type.as_deref().unwrap_or("<unknown>"));
    field(&mut s, "Ready", if entry.ready { "True" } else { "False" });
    if let Some(o) = object {
        let st = &o.status;
        if let Some(p) = &st.product_info {
            let _ = writeln!(s, "Product:");
            for (k, v) in [
                ("Name", &p.product),
                ("Vendor", &p.vendor),
                ("Version", &p.version),
                ("Full Version", &p.full_version),
            ] {
                if let Some(v) = v {
                    let _ = writeln!(s, "  {:<16}{}", format!("{k}:"), v);
                }
            }
        }
        if let Some(os) = &st.os_info {
            let _ = writeln!(s, "OS:");
            for (k, v) in [("ID", &os.id), ("Type", &os.type_), ("Version", &os.version)] {
                if let Some(v) = v {
                    let _ = writeln!(s, "  {:<16}{}", format!("{k}:"), v);
                }
            }
        }
        field(&mut s, "Firmware", st.firmware.as_deref().unwrap_or("<unset>"));
        field(
            &mut s,
            "Hardware Version",
            &st.hardware_version.map_or("<unset>".into(), |v| v.to_string()),
        );
        field(
            &mut s,
            "Capabilities",
            &if st.capabilities.is_empty() {
                "<none>".into()
            } else {
                st.capabilities.join(", ")
            },
        );
        if let Some(p) = &o.spec.provider_ref {
            field(
                &mut s,
                "Provider",
                &format!("{} {} ({})", p.kind, p.name, p.api_version),
            );
        }
        if let Some(item) = &st.provider_item_id {
            field(&mut s, "Library Item", item);
        }
        let _ = writeln!(s, "Disks:");
        if st.disks.is_empty() {
            let _ = writeln!(s, "  <none>");
        }
        for d in &st.disks {
            let _ = writeln!(
                s,
                "  {}  requested {}  limit {}",
                d.name.as_deref().unwrap_or("-"),
                d.requested.as_deref().or(d.size.as_deref()).unwrap_or("-"),
                d.limit.as_deref().or(d.capacity.as_deref()).unwrap_or("-")
            );
        }
        let _ = writeln!(s, "Labels:");
        match &o.metadata.labels {
            Some(l) if !l.is_empty() => l.iter().for_each(|(k, v)| {
                let _ = writeln!(s, "  {k}={v}");
            }),
            _ => {
                let _ = writeln!(s, "  <none>");
            }
        }
        let _ = writeln!(s, "Conditions:");
        if st.conditions.is_empty() {
            let _ = writeln!(s, "  <none>");
        }
        for c in &st.conditions {
            let _ = writeln!(
                s,
                "  {:<8}{:<8}{}  {}",
                c.type_,
                c.status,
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or("")
            );
        }
    }
    match users {
        Some([]) => {
            let _ = writeln!(s, "Used By:          <no VMs in this namespace>");
        }
        Some(users) => {
            let _ = writeln!(s, "Used By:          {}", users.join(", "));
        }
        None => {
            let _ = writeln!(s, "Used By:          <unknown: read from a catalog>");
        }
    }
    s
}

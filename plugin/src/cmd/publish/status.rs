//! `publish list` and `publish status NAME`.

use super::{api, progress::progress};
use crate::cmd::watch::printed_of;
use crate::{
    cli::{PublishListArgs, PublishStatusArgs},
    client::Cluster,
    error::{Error, Result},
    output::{self, Kind, Printer, Table},
};
use kube::api::{Api, DynamicObject, ListParams};
use serde::Serialize;
use std::{io::Write, process::ExitCode};
use vmimage_shared::api::{PublishRequest, VIRTUAL_MACHINE_PUBLISH_REQUEST};

fn stage(req: &PublishRequest) -> String {
    progress(&req.status.clone().unwrap_or_default()).stage()
}

fn typed(obj: kube::api::DynamicObject) -> Result<PublishRequest> {
    serde_json::to_value(obj)
        .and_then(serde_json::from_value)
        .map_err(|e| Error::Failed(format!("unexpected VirtualMachinePublishRequest shape: {e}")))
}

/// A request as `publish list`/`status` print it: the object (its managedFields hidden
/// unless asked for) and its typed form for the table.
pub struct Request {
    object: DynamicObject,
    typed: PublishRequest,
}

impl Serialize for Request {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.object.serialize(s)
    }
}

impl Request {
    fn new(mut object: DynamicObject, managed_fields: bool) -> Result<Self> {
        let typed = typed(object.clone())?;
        if !managed_fields {
            object.metadata.managed_fields = None;
        }
        Ok(Self { object, typed })
    }
}

/// The request table: name, source VM, item, stage, attempts, resulting image, age.
fn table(requests: &[Request], _wide: bool) -> Table {
    let mut table = Table::new(&["NAME", "SOURCE", "ITEM", "STAGE", "ATTEMPTS", "IMAGE", "AGE"]);
    for Request { typed: req, .. } in requests {
        let spec = &req.spec;
        let st = req.status.clone().unwrap_or_default();
        table.rows.push(vec![
            req.metadata.name.clone().unwrap_or_default().into(),
            spec.source
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default()
                .into(),
            spec.target
                .as_ref()
                .and_then(|t| t.item.as_ref())
                .map(|i| i.name.clone())
                .unwrap_or_default()
                .into(),
            stage(req).into(),
            st.attempts.to_string().into(),
            st.image_name.clone().unwrap_or_default().into(),
            output::age(
                req.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.to_string())
                    .as_deref(),
            )
            .into(),
        ]);
    }
    table
}

/// How requests print.
fn kind<'a>() -> Kind<'a, Request> {
    Kind {
        table: Box::new(table),
        labels: Box::new(|r: &Request| r.object.metadata.labels.as_ref().map(std::borrow::Cow::Borrowed)),
        name: Box::new(|r: &Request| {
            format!(
                "virtualmachinepublishrequest.{}/{}",
                vmimage_shared::api::GROUP,
                r.object.metadata.name.as_deref().unwrap_or_default()
            )
        }),
        id: Box::new(|r: &Request| r.object.metadata.name.clone().unwrap_or_default()),
    }
}

pub async fn list(cluster: &Cluster, args: PublishListArgs) -> Result<ExitCode> {
    let (api, _) = api(cluster, VIRTUAL_MACHINE_PUBLISH_REQUEST).await?;
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(Error::cluster(format!(
            "list VirtualMachinePublishRequests in namespace {}",
            cluster.namespace
        )))?;
    if list.items.is_empty() && args.output.is_table() {
        crate::note!("No publish requests found in namespace {}.", cluster.namespace);
        if !args.watch {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let printed = printed_of(VIRTUAL_MACHINE_PUBLISH_REQUEST, &list.items);
    let mut requests = list
        .items
        .into_iter()
        .map(|o| Request::new(o, args.print.show_managed_fields))
        .collect::<Result<Vec<_>>>()?;
    let options = args.print.options();
    let mut printer = Printer::new(kind(), &args.output, &options);
    printer.sort(&mut requests)?;
    let mut out = output::stdout();
    // (An empty table was said on stderr: no header alone.)
    if !requests.is_empty() || !args.output.is_table() {
        printer.print_first(&mut out, &requests, false, args.watch)?;
    }
    out.flush()?;
    if !args.watch {
        return Ok(ExitCode::SUCCESS);
    }
    drop(requests);
    let changes = crate::cmd::watch::changes(VIRTUAL_MACHINE_PUBLISH_REQUEST, api, None, printed);
    let managed_fields = args.print.show_managed_fields;
    crate::cmd::watch::follow(changes, &mut out, |out, (_, object)| {
        printer.print_event(out, Request::new(object, managed_fields)?)
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// `publish status NAME -w` or `-o …`: the request in a format (a table row by default),
/// then, watching, once more each time it changes.
async fn print_request(
    api: Api<DynamicObject>,
    object: DynamicObject,
    args: PublishStatusArgs,
) -> Result<ExitCode> {
    let output = args.output.clone().unwrap_or_default();
    let options = args.print.options();
    let mut printer = Printer::new(kind(), &output, &options);
    let mut out = output::stdout();
    let printed = printed_of(VIRTUAL_MACHINE_PUBLISH_REQUEST, [&object]);
    printer.print(
        &mut out,
        &[Request::new(object, args.print.show_managed_fields)?],
        true,
    )?;
    out.flush()?;
    if !args.watch {
        return Ok(ExitCode::SUCCESS);
    }
    let changes = crate::cmd::watch::changes(
        VIRTUAL_MACHINE_PUBLISH_REQUEST,
        api,
        Some(format!("metadata.name={}", args.name)),
        printed,
    );
    let managed_fields = args.print.show_managed_fields;
    crate::cmd::watch::follow(changes, &mut out, |out, (_, object)| {
        printer.print_event(out, Request::new(object, managed_fields)?)
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn show(cluster: &Cluster, args: PublishStatusArgs) -> Result<ExitCode> {
    let name = args.name.as_str();
    let (api, _) = api(cluster, VIRTUAL_MACHINE_PUBLISH_REQUEST).await?;
    let obj = api
        .get_opt(name)
        .await
        .map_err(Error::cluster(format!("get VirtualMachinePublishRequest {name}")))?
        .ok_or_else(|| {
            Error::Failed(format!(
                "VirtualMachinePublishRequest {name:?} not found in namespace {}",
                cluster.namespace
            ))
        })?;
    if args.watch || args.output.is_some() {
        return print_request(api, obj, args).await;
    }
    let req = typed(obj)?;
    let st = req.status.clone().unwrap_or_default();
    writeln!(std::io::stdout(), "Name:       {name}")?;
    writeln!(std::io::stdout(), "Namespace:  {}", cluster.namespace)?;
    writeln!(
        std::io::stdout(),
        "Source:     {}",
        req.spec
            .source
            .as_ref()
            .map(|s| s.name.as_str())
            .unwrap_or("<request name>")
    )?;
    let target = req.spec.target.clone().unwrap_or_default();
    writeln!(
        std::io::stdout(),
        "Item:       {}",
        target.item.map(|i| i.name).unwrap_or_default()
    )?;
    writeln!(
        std::io::stdout(),
        "Library:    {}",
        target.location.map(|l| l.name).unwrap_or_default()
    )?;
    writeln!(std::io::stdout(), "Stage:      {}", stage(&req))?;
    writeln!(std::io::stdout(), "Attempts:   {}", st.attempts)?;
    writeln!(
        std::io::stdout(),
        "Image:      {}",
        st.image_name.as_deref().unwrap_or("<none yet>")
    )?;
    writeln!(std::io::stdout(), "Conditions:")?;
    for c in &st.conditions {
        writeln!(
            std::io::stdout(),
            "  {:<15}{:<8}{:<30}{}",
            c.type_,
            c.status,
            c.reason.as_deref().unwrap_or(""),
            c.message.as_deref().unwrap_or("")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

//! Following a publish request: a spinner with the current stage on a terminal, plain
//! timestamped lines otherwise. Ctrl-C stops waiting, never the request.

use std::io::Write as _;

use super::progress::{Progress, progress};
use crate::error::{Error, Result};
use kube::api::{Api, DynamicObject};
use std::{
    io::IsTerminal,
    process::ExitCode,
    time::{Duration, Instant},
};
use vmimage_shared::api::{PUBLISH_STAGES, PublishRequestStatus};

fn status_of(obj: &DynamicObject) -> PublishRequestStatus {
    obj.data
        .get("status")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default()
}

pub async fn follow(
    cluster: &crate::client::Cluster,
    api: &Api<DynamicObject>,
    name: &str,
    timeout: Duration,
) -> Result<ExitCode> {
    let ns = &cluster.namespace;
    let follow_hint = format!("kubectl vmimage publish status {name} -n {ns}");
    let tty = std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let pb = indicatif::ProgressBar::new(PUBLISH_STAGES.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:20} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    });
    let started = Instant::now();
    let mut last: Option<Progress> = None;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let obj = api
            .get(name)
            .await
            .map_err(Error::cluster(format!("get VirtualMachinePublishRequest {name}")))?;
        let status = status_of(&obj);
        let now = progress(&status);
        if last.as_ref() != Some(&now) {
            let attempt = status.attempts.max(1);
            let line = match &now {
                Progress::Pending => "waiting for the publisher to pick up the request".to_string(),
                Progress::Running { stage, reason, .. } if reason.is_empty() => {
                    format!("{stage} (attempt {attempt})")
                }
                Progress::Running {
                    stage,
                    reason,
                    message,
                } => format!("{stage}: {reason}: {message} (attempt {attempt})"),
                Progress::Done(image) => format!("Complete: image {image}"),
                Progress::Failed { stage, reason, .. } => format!("{stage} failed: {reason}"),
            };
            match &bar {
                Some(pb) => {
                    pb.set_position(now.stages_done() as u64);
                    pb.set_message(line);
                }
                None => crate::note!("{} {line}", jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")),
            }
            last = Some(now);
        }
        match last.as_ref().expect("just set") {
            Progress::Done(image) => {
                if let Some(pb) = &bar {
                    pb.finish_and_clear();
                }
                let display = obj.data["spec"]["target"]["item"]["name"]
                    .as_str()
                    .unwrap_or_default();
                writeln!(
                    std::io::stdout(),
                    "published: VirtualMachineImage {image} in namespace {ns}, display name {display:?}"
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            Progress::Failed {
                stage,
                reason,
                message,
            } => {
                if let Some(pb) = &bar {
                    pb.abandon();
                }
                // VM Operator submits the next attempt together with an UploadFailure
                // until backoffLimit, where it writes Fatal; say so rather than hide it.
                let retry = if *reason == "UploadFailure" {
                    let attempt = status.attempts;
                    match obj.data["spec"]["backoffLimit"].as_i64().unwrap_or(3) {
                        0 => format!(
                            " (attempt {attempt}; with spec.backoffLimit 0 VM Operator retries \
                             without limit: follow it with `{follow_hint}`)"
                        ),
                        limit => format!(
                            " (attempt {attempt} of at most {limit}; VM Operator retries up to \
                             spec.backoffLimit: follow it with `{follow_hint}`)"
                        ),
                    }
                } else {
                    String::new()
                };
                return Err(Error::Failed(format!(
                    "publish failed at {stage}: {reason}: {message}{retry}"
                )));
            }
            Progress::Pending | Progress::Running { .. } => {}
        }
        if started.elapsed() > timeout {
            if let Some(pb) = &bar {
                pb.abandon();
            }
            return Err(Error::Failed(format!(
                "still running after {}s; the request goes on: follow it with `{follow_hint}`",
                timeout.as_secs()
            )));
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = &mut ctrl_c => {
                if let Some(pb) = &bar {
                    pb.abandon();
                }
                crate::note!("stopped waiting; the request goes on: follow it with `{follow_hint}`");
                return Ok(ExitCode::from(130));
            }
        }
    }
}

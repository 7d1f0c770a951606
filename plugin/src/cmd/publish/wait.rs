//! Following a publish request: a spinner with the current stage on a terminal, plain
//! timestamped lines otherwise. Ctrl-C stops waiting, never the request.

use crate::error::{Error, Result};
use kube::api::{Api, DynamicObject};
use std::{
    io::IsTerminal,
    process::ExitCode,
    time::{Duration, Instant},
};
use vmimage_shared::api::{Condition, PUBLISH_STAGES, PublishRequestStatus};

/// Reasons of a False condition that mean "still working", not "failed".
const IN_PROGRESS: [&str; 4] = ["Queued", "Uploading", "ImageUnavailable", "UploadFailure"];

/// What the status says about progress.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// The last stage that is True (None: not started).
    Running(Option<&'static str>),
    /// Complete: the new image's name.
    Done(String),
    /// A stage failed: (stage, reason, message).
    Failed(String, String, String),
}

/// Reads progress from a request's status.
pub fn progress(status: &PublishRequestStatus) -> Progress {
    let find = |t: &str| Condition::find(&status.conditions, t);
    if find("Complete").is_some_and(Condition::is_true) {
        return Progress::Done(status.image_name.clone().unwrap_or_default());
    }
    for stage in PUBLISH_STAGES {
        if let Some(c) = find(stage)
            && c.status == "False"
            && !IN_PROGRESS.contains(&c.reason.as_deref().unwrap_or_default())
        {
            return Progress::Failed(
                stage.to_string(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            );
        }
    }
    Progress::Running(
        PUBLISH_STAGES
            .iter()
            .rev()
            .find(|s| find(s).is_some_and(Condition::is_true))
            .copied(),
    )
}

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
            let line = match &now {
                Progress::Running(None) => "waiting for the publisher to pick up the request".to_string(),
                Progress::Running(Some(stage)) => format!("{stage} (attempt {})", status.attempts.max(1)),
                Progress::Done(image) => format!("Complete: image {image}"),
                Progress::Failed(stage, reason, _) => format!("{stage} failed: {reason}"),
            };
            match &bar {
                Some(pb) => {
                    let pos = match &now {
                        Progress::Running(Some(s)) => {
                            PUBLISH_STAGES.iter().position(|x| x == s).map_or(0, |i| i + 1)
                        }
                        Progress::Done(_) => PUBLISH_STAGES.len(),
                        _ => pb.position() as usize,
                    };
                    pb.set_position(pos as u64);
                    pb.set_message(line);
                }
                None => eprintln!("{} {line}", jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")),
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
                println!(
                    "published: VirtualMachineImage {image} in namespace {ns}, display name {display:?}"
                );
                return Ok(ExitCode::SUCCESS);
            }
            Progress::Failed(stage, reason, message) => {
                if let Some(pb) = &bar {
                    pb.abandon();
                }
                return Err(Error::Failed(format!(
                    "publish failed at {stage}: {reason}: {message}"
                )));
            }
            Progress::Running(_) => {}
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
                eprintln!("stopped waiting; the request goes on: follow it with `{follow_hint}`");
                return Ok(ExitCode::from(130));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(t: &str, s: &str, reason: &str) -> Condition {
        Condition {
            type_: t.into(),
            status: s.into(),
            reason: Some(reason.into()),
            ..Default::default()
        }
    }

    #[test]
    fn stages_are_read_in_order() {
        let mut st = PublishRequestStatus::default();
        assert_eq!(progress(&st), Progress::Running(None));
        st.conditions = vec![
            cond("SourceValid", "True", ""),
            cond("TargetValid", "True", ""),
            cond("Uploaded", "False", "Uploading"),
        ];
        assert_eq!(progress(&st), Progress::Running(Some("TargetValid")));
        st.conditions.push(cond("Complete", "True", ""));
        st.image_name = Some("vmi-1".into());
        assert_eq!(progress(&st), Progress::Done("vmi-1".into()));
    }

    #[test]
    fn a_false_validation_is_a_failure() {
        let st = PublishRequestStatus {
            conditions: vec![cond("SourceValid", "False", "SourceVirtualMachineNotExist")],
            ..Default::default()
        };
        assert!(
            matches!(progress(&st), Progress::Failed(s, r, _) if s == "SourceValid" && r == "SourceVirtualMachineNotExist")
        );
    }
}

//! What a publish request's status says: pending, working on a stage, done, or failed.
//!
//! VM Operator's controller writes False conditions all along a healthy publish
//! (`Uploaded` NotStarted, Queued, Uploading; `Complete` HasNotBeenUploaded, then
//! ImageUnavailable; `ImageAvailable` VirtualMachineImageNotFound), so a False condition
//! is a failure only for the reasons it never recovers from (domain.md, Publishing).

use vmimage_shared::api::{Condition, PUBLISH_STAGES, PublishRequestStatus};

/// What the status says about progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Nothing written yet: no publisher has picked the request up.
    Pending,
    /// Working on `stage`, the first one not True; `reason` and `message` are its
    /// condition's, empty while the controller has not written it yet.
    Running {
        stage: &'static str,
        reason: String,
        message: String,
    },
    /// Complete: the new image's name.
    Done(String),
    /// A terminal failure at `stage`.
    Failed {
        stage: &'static str,
        reason: String,
        message: String,
    },
}

/// Whether a False condition of `stage` with `reason` is final. Source and target
/// validation fail only for good; an upload fails for good on UploadFailure (per
/// attempt) and ItemIDInvalid; the request as a whole on Fatal (attempts exhausted).
/// Every other reason (NotStarted, Queued, Uploading, HasNotBeenUploaded,
/// VirtualMachineImageNotFound, ImageUnavailable, and reasons added later) is progress.
pub fn is_terminal(stage: &str, reason: &str) -> bool {
    match stage {
        "SourceValid" | "TargetValid" => true,
        "Uploaded" => matches!(reason, "UploadFailure" | "ItemIDInvalid"),
        "Complete" => reason == "Fatal",
        _ => false,
    }
}

/// Reads progress from a request's status.
pub fn progress(status: &PublishRequestStatus) -> Progress {
    let find = |t: &str| Condition::find(&status.conditions, t);
    if find("Complete").is_some_and(Condition::is_true) {
        return Progress::Done(status.image_name.clone().unwrap_or_default());
    }
    let text = |c: &Condition| {
        (
            c.reason.clone().unwrap_or_default(),
            c.message.clone().unwrap_or_default(),
        )
    };
    // Fatal first: it is the request's verdict, the failed upload before it only a cause.
    let failed = std::iter::once("Complete")
        .chain(PUBLISH_STAGES)
        .find_map(|stage| {
            find(stage)
                .filter(|c| {
                    c.status == "False" && is_terminal(stage, c.reason.as_deref().unwrap_or_default())
                })
                .map(|c| (stage, c))
        });
    if let Some((stage, c)) = failed {
        let (reason, message) = text(c);
        return Progress::Failed {
            stage,
            reason,
            message,
        };
    }
    if status.conditions.is_empty() {
        return Progress::Pending;
    }
    let stage = PUBLISH_STAGES
        .into_iter()
        .find(|s| !find(s).is_some_and(Condition::is_true))
        .unwrap_or("Complete");
    let (reason, message) = find(stage).map(text).unwrap_or_default();
    Progress::Running {
        stage,
        reason,
        message,
    }
}

impl Progress {
    /// The short stage text of `publish list` and `publish status`.
    pub fn stage(&self) -> String {
        match self {
            Progress::Pending => "Pending".into(),
            Progress::Running { stage, reason, .. } if reason.is_empty() => stage.to_string(),
            Progress::Running { stage, reason, .. } => format!("{stage} ({reason})"),
            Progress::Done(_) => "Complete".into(),
            Progress::Failed { stage, reason, .. } => format!("{stage} failed: {reason}"),
        }
    }

    /// How many stages are behind the request (for a progress bar).
    pub fn stages_done(&self) -> usize {
        match self {
            Progress::Pending => 0,
            Progress::Running { stage, .. } | Progress::Failed { stage, .. } => {
                PUBLISH_STAGES.iter().position(|s| s == stage).unwrap_or(0)
            }
            Progress::Done(_) => PUBLISH_STAGES.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(t: &str, s: &str, reason: &str, message: &str) -> Condition {
        Condition {
            type_: t.into(),
            status: s.into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_transition_time: Some("2026-12-01T00:00:00Z".into()),
            ..Default::default()
        }
    }

    fn status(conditions: &[(&str, &str, &str, &str)]) -> PublishRequestStatus {
        PublishRequestStatus {
            attempts: 1,
            conditions: conditions.iter().map(|(t, s, r, m)| cond(t, s, r, m)).collect(),
            ..Default::default()
        }
    }

    fn running(stage: &'static str, reason: &str, message: &str) -> Progress {
        Progress::Running {
            stage,
            reason: reason.into(),
            message: message.into(),
        }
    }

    const VALID: [(&str, &str, &str, &str); 2] = [
        ("SourceValid", "True", "True", ""),
        ("TargetValid", "True", "True", ""),
    ];

    /// Every state VM Operator's controller persists during a healthy publish, in order
    /// (its conditions are sorted by type, as it writes them).
    #[test]
    fn vm_operators_sequence_is_progress_until_complete() {
        let with = |extra: &[(&'static str, &'static str, &'static str, &'static str)]| {
            let mut all: Vec<_> = VALID.to_vec();
            all.extend_from_slice(extra);
            all.sort_by_key(|c| c.0);
            status(&all)
        };
        let not_uploaded = (
            "Complete",
            "False",
            "HasNotBeenUploaded",
            "item hasn't been uploaded yet",
        );
        let cases = [
            (with(&[]), running("Uploaded", "", "")),
            (
                with(&[
                    not_uploaded,
                    (
                        "Uploaded",
                        "False",
                        "NotStarted",
                        "VM Publish task hasn't started.",
                    ),
                ]),
                running("Uploaded", "NotStarted", "VM Publish task hasn't started."),
            ),
            (
                with(&[
                    not_uploaded,
                    ("Uploaded", "False", "Queued", "VM Publish task is queued."),
                ]),
                running("Uploaded", "Queued", "VM Publish task is queued."),
            ),
            (
                with(&[
                    not_uploaded,
                    (
                        "Uploaded",
                        "False",
                        "Uploading",
                        "Uploading item to content library.",
                    ),
                ]),
                running("Uploaded", "Uploading", "Uploading item to content library."),
            ),
            (
                with(&[
                    (
                        "Complete",
                        "False",
                        "ImageUnavailable",
                        "VirtualMachineImage is not available",
                    ),
                    (
                        "ImageAvailable",
                        "False",
                        "VirtualMachineImageNotFound",
                        "VirtualMachineImage not found",
                    ),
                    ("Uploaded", "True", "True", ""),
                ]),
                running(
                    "ImageAvailable",
                    "VirtualMachineImageNotFound",
                    "VirtualMachineImage not found",
                ),
            ),
        ];
        for (st, want) in cases {
            assert_eq!(progress(&st), want, "{:?}", st.conditions);
        }
        let mut done = with(&[
            ("Complete", "True", "True", ""),
            ("ImageAvailable", "True", "True", ""),
            ("Uploaded", "True", "True", ""),
        ]);
        done.image_name = Some("vmi-0123456789abcdef0".into());
        assert_eq!(progress(&done), Progress::Done("vmi-0123456789abcdef0".into()));
        assert_eq!(progress(&done).stage(), "Complete");
    }

    #[test]
    fn an_uploading_request_shows_the_uploaded_stage() {
        let st = status(&[
            (
                "Complete",
                "False",
                "HasNotBeenUploaded",
                "item hasn't been uploaded yet",
            ),
            ("SourceValid", "True", "True", ""),
            ("TargetValid", "True", "True", ""),
            (
                "Uploaded",
                "False",
                "Uploading",
                "Uploading item to content library.",
            ),
        ]);
        let p = progress(&st);
        assert_eq!(p.stage(), "Uploaded (Uploading)");
        assert_eq!(p.stages_done(), 2);
    }

    #[test]
    fn terminal_reasons_are_failures() {
        for (stage, reason) in [
            ("SourceValid", "SourceVirtualMachineNotExist"),
            ("SourceValid", "SourceVirtualMachineNotCreated"),
            ("TargetValid", "TargetContentLibraryNotExist"),
            ("TargetValid", "TargetContentLibraryNotWritable"),
            ("TargetValid", "TargetContentLibraryNotReady"),
            ("TargetValid", "TargetItemAlreadyExists"),
            ("Uploaded", "UploadFailure"),
            ("Uploaded", "ItemIDInvalid"),
            ("Complete", "Fatal"),
        ] {
            assert!(is_terminal(stage, reason), "{stage} {reason}");
            let st = status(&[(stage, "False", reason, "why")]);
            assert_eq!(
                progress(&st),
                Progress::Failed {
                    stage: PUBLISH_STAGES.into_iter().find(|s| *s == stage).unwrap(),
                    reason: reason.into(),
                    message: "why".into()
                }
            );
        }
    }

    #[test]
    fn in_progress_reasons_are_not_failures() {
        for (stage, reason) in [
            ("Uploaded", "NotStarted"),
            ("Uploaded", "Queued"),
            ("Uploaded", "Uploading"),
            ("ImageAvailable", "VirtualMachineImageNotFound"),
            ("Complete", "HasNotBeenUploaded"),
            ("Complete", "ImageUnavailable"),
            ("Uploaded", "SomeReasonAddedLater"),
        ] {
            assert!(!is_terminal(stage, reason), "{stage} {reason}");
        }
    }

    #[test]
    fn fatal_is_reported_before_the_failed_upload_behind_it() {
        let st = status(&[
            (
                "Complete",
                "False",
                "Fatal",
                "publish attempts limit has been reached: 2",
            ),
            ("SourceValid", "True", "True", ""),
            ("TargetValid", "True", "True", ""),
            ("Uploaded", "False", "UploadFailure", "disk full"),
        ]);
        assert!(
            matches!(progress(&st), Progress::Failed { stage: "Complete", reason, .. } if reason == "Fatal")
        );
        assert_eq!(progress(&st).stage(), "Complete failed: Fatal");
    }

    #[test]
    fn nothing_written_is_pending() {
        assert_eq!(progress(&PublishRequestStatus::default()), Progress::Pending);
        assert_eq!(Progress::Pending.stage(), "Pending");
    }
}

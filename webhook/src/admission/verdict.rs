//! Cluster image policy in the admission path: every `VMImagePolicy` that selects the
//! VM's namespace is evaluated against the resolution plan.
//!
//! - an `Enforce` violation denies (403), naming every violated policy and rule;
//! - a `Warn` violation allows, with one `warnings` entry per violation (kubectl prints
//!   each as `Warning: …`);
//! - an `Audit` violation allows, with an audit annotation per policy and the
//!   `vmimage_policy_violations_total{policy,mode,rule}` metric (every mode is counted).
//!
//! Why here, in the mutating webhook, and not in a validating one: only this webhook sees
//! what the user submitted (needed for `requireId`: was an image named by display name?)
//! together with the images it resolved to. After it has patched the VM, the display
//! name is gone from `spec.imageName`. And VM Operator makes the image fields immutable
//! after create, so a later mutating webhook cannot change which image the VM uses: the
//! images checked here are the images the VM gets.

use crate::{log_text::Untrusted, state::AppState};
use kube::core::admission::{AdmissionRequest, AdmissionResponse};
use vmimage_shared::policy::{Mode, Verdict};

/// Audit annotation keys are `policy-<name>`; the API server prefixes them with the
/// webhook's name (`mutate.virtualmachine.vmimage.io/policy-<name>`) and drops any key
/// that is not a qualified name, so the part after the slash stays within 63 characters.
const AUDIT_KEY_PREFIX: &str = "policy-";
const QUALIFIED_NAME_MAX: usize = 63;

/// Logs and counts every violation of `verdict` (a dry run is not counted: it admits
/// nothing) and folds the Audit ones into `res` as audit annotations.
pub(super) fn record(
    state: &AppState,
    req: &AdmissionRequest<super::Reviewed>,
    verdict: &Verdict,
    res: AdmissionResponse,
) -> AdmissionResponse {
    let ns = req.namespace.as_deref().unwrap_or_default();
    for v in &verdict.violations {
        tracing::info!(ns = %Untrusted(ns), name = %Untrusted(&req.name), policy = %v.policy, mode = %v.mode, rule = v.rule, message = %Untrusted(&v.message), "image policy violated");
        if !req.dry_run {
            state.metrics.violation(v);
        }
    }
    annotate(res, verdict)
}

/// Adds the Audit violations as audit annotations.
fn annotate(mut res: AdmissionResponse, verdict: &Verdict) -> AdmissionResponse {
    for v in verdict.of(Mode::Audit) {
        res.audit_annotations
            .entry(audit_key(&v.policy))
            .and_modify(|text| {
                text.push_str("; ");
                text.push_str(&v.to_string());
            })
            .or_insert_with(|| v.to_string());
    }
    res
}

/// `policy-<name>`, cut to a qualified name's 63 characters (policy names are DNS
/// subdomains, so only the length needs care); ends alphanumeric.
pub(super) fn audit_key(policy: &str) -> String {
    let mut key: String = format!("{AUDIT_KEY_PREFIX}{policy}")
        .chars()
        .take(QUALIFIED_NAME_MAX)
        .collect();
    while key.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        key.pop();
    }
    key
}

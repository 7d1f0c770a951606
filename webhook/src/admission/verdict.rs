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

use crate::{live::LiveError, log_text::Untrusted, namespaces, policies, state::AppState};
use kube::core::{
    DynamicObject,
    admission::{AdmissionRequest, AdmissionResponse},
};
use std::sync::Arc;
use vmimage_shared::{
    mutate::Plan,
    policy::{Mode, Policy, Subject, Verdict, evaluate},
};

/// Audit annotation keys are `policy-<name>`; the API server prefixes them with the
/// webhook's name (`mutate.virtualmachine.vmimage.io/policy-<name>`) and drops any key
/// that is not a qualified name, so the part after the slash stays within 63 characters.
const AUDIT_KEY_PREFIX: &str = "policy-";
const QUALIFIED_NAME_MAX: usize = 63;

/// The policies and the namespace's labels, once per request.
struct Inputs {
    policies: Arc<[Policy]>,
    labels: Arc<namespaces::Labels>,
}

async fn inputs(state: &AppState, ns: &str) -> Result<Inputs, String> {
    let policies = policies::current(state).await.map_err(|e| {
        format!("vmimage's image policies are not loaded and the API server could not be read ({e}); retry shortly")
    })?;
    // NB: the labels are read only when a selector needs them.
    let labels = if policies.iter().any(|p| p.spec.namespace_selector.is_some()) {
        namespaces::labels(state, ns)
            .await
            .map_err(|e: LiveError| {
                format!(
                    "vmimage could not read the labels of namespace {ns} to apply image policies ({e}); retry shortly"
                )
            })?
    } else {
        Arc::default()
    };
    Ok(Inputs { policies, labels })
}

/// Whether any policy selects namespace `ns` (an UPDATE is resolved only then).
pub(super) async fn applies(state: &AppState, ns: &str) -> Result<bool, String> {
    let Inputs { policies, labels } = inputs(state, ns).await?;
    Ok(policies.iter().any(|p| p.selects(&labels)))
}

/// Evaluates the policies for `plan` and folds the verdict into `res`: warnings and audit
/// annotations added; `Err` with the response so far and the denial message when an
/// `Enforce` rule is violated or the policies cannot be read.
pub(super) async fn check(
    state: &AppState,
    req: &AdmissionRequest<DynamicObject>,
    ns: &str,
    plan: &Plan,
    res: AdmissionResponse,
) -> Result<AdmissionResponse, (AdmissionResponse, String)> {
    let Inputs { policies, labels } = match inputs(state, ns).await {
        Ok(inputs) => inputs,
        Err(reason) => return Err((res, reason)),
    };
    if policies.is_empty() {
        return Ok(res);
    }
    let verdict = evaluate(
        &policies,
        Subject {
            namespace_labels: &labels,
            plan,
        },
    );
    if verdict.violations.is_empty() {
        return Ok(res);
    }
    for v in &verdict.violations {
        tracing::info!(ns = %Untrusted(ns), name = %Untrusted(&req.name), policy = %v.policy, mode = %v.mode, rule = v.rule, message = %Untrusted(&v.message), "image policy violated");
        // A dry run admits nothing: counting it would inflate what the metric reports.
        if !req.dry_run {
            state.metrics.violation(v);
        }
    }
    let res = annotate(res, &verdict);
    if verdict.denied() {
        return Err((res, verdict.deny_message()));
    }
    Ok(res)
}

/// Adds the Warn violations as warnings and the Audit ones as audit annotations.
fn annotate(mut res: AdmissionResponse, verdict: &Verdict) -> AdmissionResponse {
    let warnings: Vec<String> = verdict.of(Mode::Warn).map(ToString::to_string).collect();
    if !warnings.is_empty() {
        res.warnings.get_or_insert_default().extend(warnings);
    }
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

//! Cluster image policy: which images may be used where. A `VMImagePolicy`
//! (`vmimage.io/v1alpha1`, cluster-scoped) selects namespaces and lists rules; its mode
//! says what a violation does: `Enforce` denies, `Warn` allows with a warning, `Audit`
//! allows and records it.
//!
//! Evaluation is pure: the resolved images of a VM (from [`crate::mutate::plan`]), what
//! the user wrote, and the VM namespace's labels in; every violated rule of every
//! matching policy out. The webhook and `kubectl vmimage check` both call [`evaluate`].

use crate::{
    index::{ImageEntry, Scope},
    mutate::{Plan, Role},
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::{CustomResource, KubeSchema};
use kube_core::SelectorExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, fmt, sync::Arc};

/// The policy API group.
pub const GROUP: &str = "vmimage.io";
/// The policy kind.
pub const KIND: &str = "VMImagePolicy";
/// Its plural.
pub const PLURAL: &str = "vmimagepolicies";
/// The served version.
pub const VERSION: &str = "v1alpha1";

pub mod crd;

/// What a violation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Mode {
    /// Deny the request.
    Enforce,
    /// Allow, with a warning the client shows.
    Warn,
    /// Allow, with an audit annotation and a metric.
    Audit,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Enforce => "Enforce",
            Mode::Warn => "Warn",
            Mode::Audit => "Audit",
        })
    }
}

/// Image scopes, as policies name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ScopeName {
    /// `VirtualMachineImage`s in the VM's namespace.
    Namespace,
    /// `ClusterVirtualMachineImage`s.
    Cluster,
}

// NB: the CRD's schema is generated from this type and `Rules` (see `crd`), doc comments
// included (they are `kubectl explain`'s text); `Policy::from_json` checks the same for
// files given to `check`.
/// `spec` of a policy: what a violation does, where the policy applies, and its rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, CustomResource, KubeSchema)]
#[kube(
    group = "vmimage.io",
    version = "v1alpha1",
    kind = "VMImagePolicy",
    plural = "vmimagepolicies",
    shortname = "vmipol",
    doc = "A cluster image policy: which VM images may be used in which namespaces.",
    status = "crd::PolicyStatus",
    printcolumn = r#"{"name": "Mode", "type": "string", "jsonPath": ".spec.mode"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(transform = crd::rules_required)]
pub struct PolicySpec {
    /// What a violation does: Enforce denies, Warn allows with a warning, Audit allows
    /// and records.
    #[schemars(required)]
    pub mode: Option<Mode>,
    /// Namespaces the policy applies to; absent means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crd::label_selector")]
    pub namespace_selector: Option<LabelSelector>,
    /// The rules; every one that is set must hold for every image the VM uses.
    #[serde(default)]
    pub rules: Rules,
}

/// The rules of a policy. Each field is one rule, named by its field name in messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[x_kube(
    validation = Rule::new(crd::SOME_RULE_SET).message(crd::SOME_RULE_SET_MESSAGE),
    validation = Rule::new("!has(self.requireReady) || self.requireReady")
        .message("requireReady: false is the default; omit the rule instead"),
    validation = Rule::new("!has(self.requireId) || self.requireId")
        .message("requireId: false is the default; omit the rule instead")
)]
pub struct Rules {
    /// Every image the VM uses must be Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_ready: Option<bool>,
    /// `status.type`s allowed for the boot image (e.g. `[OVF, VM]` forbids ISO boot disks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), extend("items" = {"type": "string", "enum": ["OVF", "ISO", "VM"]}))]
    pub allowed_boot_types: Option<Vec<String>>,
    /// Scopes images may come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub allowed_scopes: Option<Vec<ScopeName>>,
    /// Glob patterns for `spec.providerRef.name` (the library item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), inner(length(min = 1)))]
    pub allowed_providers: Option<Vec<String>>,
    /// Glob patterns; an image's display name or ID must match one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), inner(length(min = 1)))]
    pub allowed_names: Option<Vec<String>>,
    /// Glob patterns; neither an image's display name nor its ID may match any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), inner(length(min = 1)))]
    pub denied_names: Option<Vec<String>>,
    /// Labels every image must carry (OS, capabilities, library…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crd::label_selector")]
    pub image_selector: Option<LabelSelector>,
    /// The submitted VM must name images by VMI ID, not display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_id: Option<bool>,
    /// VMs may not opt in to newest-version selection (`vmimage.io/select: newest`) to
    /// settle an ambiguous display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbid_newest_selection: Option<bool>,
    /// VMs may not name no image and let an image selector (`vmimage.io/image-selector`)
    /// pick one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbid_image_selectors: Option<bool>,
}

/// A policy as the evaluator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `metadata.name`.
    pub name: String,
    /// Its spec.
    pub spec: PolicySpec,
}

/// Why a policy object cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The spec does not parse (unknown rule, wrong type).
    #[error("policy {name}: {message}")]
    Invalid {
        /// Policy name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

impl Policy {
    /// Reads a policy object (as JSON). Checks what the CRD's schema and CEL rules check,
    /// so files given to `kubectl vmimage check --policy` get the same errors.
    pub fn from_json(obj: &serde_json::Value) -> Result<Self, PolicyError> {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let invalid = |message: String| PolicyError::Invalid {
            name: name.clone(),
            message,
        };
        if name.is_empty() {
            return Err(invalid("metadata.name is required".into()));
        }
        let spec: PolicySpec = serde_json::from_value(obj.get("spec").cloned().unwrap_or_default())
            .map_err(|e| invalid(format!("spec: {e}")))?;
        if spec.mode.is_none() {
            return Err(invalid(
                "spec.mode: Required value: one of Enforce, Warn, Audit".into(),
            ));
        }
        if spec.rules == Rules::default() {
            return Err(invalid("spec.rules: at least one rule must be set".into()));
        }
        for (field, list) in [
            ("allowedBootTypes", &spec.rules.allowed_boot_types),
            ("allowedProviders", &spec.rules.allowed_providers),
            ("allowedNames", &spec.rules.allowed_names),
            ("deniedNames", &spec.rules.denied_names),
        ] {
            if list
                .as_ref()
                .is_some_and(|l| l.is_empty() || l.iter().any(String::is_empty))
            {
                return Err(invalid(format!(
                    "spec.rules.{field}: must list at least one non-empty value"
                )));
            }
        }
        for (field, sel) in [
            ("namespaceSelector", &spec.namespace_selector),
            ("rules.imageSelector", &spec.rules.image_selector),
        ] {
            if let Some(sel) = sel {
                kube_core::Selector::try_from(sel.clone())
                    .map_err(|e| invalid(format!("spec.{field}: {e}")))?;
            }
        }
        Ok(Self { name, spec })
    }

    /// The policy's mode (validated present).
    pub fn mode(&self) -> Mode {
        self.spec.mode.unwrap_or(Mode::Enforce)
    }

    /// Whether the policy applies to a namespace with these labels.
    pub fn selects(&self, namespace_labels: &BTreeMap<String, String>) -> bool {
        matches(self.spec.namespace_selector.as_ref(), namespace_labels)
    }
}

fn matches(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    match selector {
        None => true,
        Some(sel) => kube_core::Selector::try_from(sel.clone()).is_ok_and(|s| s.matches(labels)),
    }
}

fn glob(patterns: &[String], value: &str) -> bool {
    patterns
        .iter()
        .any(|p| wildmatch::WildMatch::new(p).matches(value))
}

/// One violated rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The policy.
    pub policy: String,
    /// Its mode.
    pub mode: Mode,
    /// The rule (field name in `spec.rules`).
    pub rule: &'static str,
    /// What is wrong, naming the image.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "policy {} ({}) rule {}: {}",
            self.policy, self.mode, self.rule, self.message
        )
    }
}

/// The outcome for one VM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Every violated rule of every matching policy.
    pub violations: Vec<Violation>,
}

impl Verdict {
    /// Whether any Enforce rule is violated.
    pub fn denied(&self) -> bool {
        self.violations.iter().any(|v| v.mode == Mode::Enforce)
    }

    /// The violations of one mode.
    pub fn of(&self, mode: Mode) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(move |v| v.mode == mode)
    }

    /// The denial message: every Enforce violation, joined.
    pub fn deny_message(&self) -> String {
        let parts: Vec<String> = self.of(Mode::Enforce).map(|v| v.to_string()).collect();
        format!("denied by image policy: {}", parts.join("; "))
    }
}

fn label(image: &ImageEntry) -> String {
    match &image.display_name {
        Some(d) => format!("{} ({d})", image.name),
        None => image.name.to_string(),
    }
}

/// What the policies see of one VM.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Labels of the VM's namespace.
    pub namespace_labels: &'a BTreeMap<String, String>,
    /// The resolution plan (resolved images, and whether names were rewritten).
    pub plan: &'a Plan,
}

impl Subject<'_> {
    fn images(&self) -> impl Iterator<Item = &Arc<ImageEntry>> {
        self.plan.images.iter().map(|(_, i)| i)
    }

    /// Whether the user wrote a display name anywhere (vmimage had to rewrite it).
    fn used_display_names(&self) -> bool {
        self.plan.requested.is_some()
            || self
                .plan
                .changes
                .iter()
                .any(|c| matches!(c, crate::mutate::Change::CdromImage { .. }))
    }
}

/// Evaluates every policy that selects the VM's namespace.
pub fn evaluate(policies: &[Policy], subject: Subject<'_>) -> Verdict {
    let mut violations = Vec::new();
    for policy in policies.iter().filter(|p| p.selects(subject.namespace_labels)) {
        let rules = &policy.spec.rules;
        let mut violate = |rule: &'static str, message: String| {
            violations.push(Violation {
                policy: policy.name.clone(),
                mode: policy.mode(),
                rule,
                message,
            });
        };
        if rules.require_ready == Some(true) {
            for image in subject.images().filter(|i| !i.ready) {
                violate("requireReady", format!("image {} is not Ready", label(image)));
            }
        }
        if let Some(types) = &rules.allowed_boot_types {
            for (_, image) in subject.plan.images.iter().filter(|(role, _)| *role == Role::Boot) {
                let t = image.image_type.as_deref().unwrap_or("");
                if !types.iter().any(|a| a.eq_ignore_ascii_case(t)) {
                    violate(
                        "allowedBootTypes",
                        format!(
                            "boot image {} has type {:?}; allowed: {}",
                            label(image),
                            t,
                            types.join(", ")
                        ),
                    );
                }
            }
        }
        if let Some(scopes) = &rules.allowed_scopes {
            for image in subject.images() {
                let scope = match image.scope {
                    Scope::Namespace(_) => ScopeName::Namespace,
                    Scope::Cluster => ScopeName::Cluster,
                };
                if !scopes.contains(&scope) {
                    violate(
                        "allowedScopes",
                        format!("image {} is a {}", label(image), image.kind()),
                    );
                }
            }
        }
        if let Some(patterns) = &rules.allowed_providers {
            for image in subject.images() {
                let provider = image.provider.as_deref().unwrap_or("");
                if !glob(patterns, provider) {
                    violate(
                        "allowedProviders",
                        format!(
                            "image {} comes from {:?}, not an allowed library item",
                            label(image),
                            provider
                        ),
                    );
                }
            }
        }
        if let Some(patterns) = &rules.allowed_names {
            for image in subject.images() {
                let display = image.display_name.as_deref().unwrap_or("");
                if !glob(patterns, display) && !glob(patterns, &image.name) {
                    violate(
                        "allowedNames",
                        format!("image {} matches none of {}", label(image), patterns.join(", ")),
                    );
                }
            }
        }
        if let Some(patterns) = &rules.denied_names {
            for image in subject.images() {
                let display = image.display_name.as_deref().unwrap_or("");
                if glob(patterns, display) || glob(patterns, &image.name) {
                    violate(
                        "deniedNames",
                        format!(
                            "image {} matches a denied pattern ({})",
                            label(image),
                            patterns.join(", ")
                        ),
                    );
                }
            }
        }
        if let Some(selector) = &rules.image_selector {
            for image in subject.images() {
                let labels = image.labels.to_map();
                if !matches(Some(selector), &labels) {
                    violate(
                        "imageSelector",
                        format!("image {} does not carry the required labels", label(image)),
                    );
                }
            }
        }
        if rules.forbid_newest_selection == Some(true) {
            for note in &subject.plan.notes {
                violate(
                    "forbidNewestSelection",
                    format!("newest-version selection is not allowed here ({note})"),
                );
            }
        }
        if rules.forbid_image_selectors == Some(true)
            && let Some(selected) = &subject.plan.selected
        {
            violate(
                "forbidImageSelectors",
                format!("image selectors are not allowed here ({selected})"),
            );
        }
        if rules.require_id == Some(true) && subject.used_display_names() {
            let written = subject.plan.requested.as_deref().unwrap_or("a CD-ROM image");
            violate(
                "requireId",
                format!("images must be named by VMI ID, not by display name ({written:?})"),
            );
        }
    }
    Verdict { violations }
}

#[cfg(test)]
mod tests;

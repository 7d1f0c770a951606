//! The create-time decision for one VirtualMachine, as the webhook makes it and as
//! `kubectl vmimage check` and `pin` predict it: VM Operator's image steps and vmimage's
//! additions ([`crate::mutate`]), then the image policies ([`crate::policy`]).
//!
//! The rule: what VM Operator admits, vmimage admits (a policy may deny it; a warning may
//! name what will not resolve); what VM Operator denies, vmimage denies, VM Operator's
//! text first.

use crate::{
    api::VmImageRefs,
    index::Index,
    library::Libraries,
    mutate::{Images, Plan, PlanError, Selection, plan_in},
    policy::{Mode, Policy, Subject, Verdict, evaluate},
    select::ImageSelector,
};
use std::{collections::BTreeMap, fmt};

/// What the decision reads besides the VM.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The images visible to the VM.
    pub index: &'a Index,
    /// The content libraries of the images, as far as known ([`Libraries::none`]: no
    /// `<library>/<display name>` reference resolves).
    pub libraries: &'a Libraries,
    /// Every image policy (those not selecting the VM's namespace are skipped).
    pub policies: &'a [Policy],
    /// The labels of the VM's namespace.
    pub namespace_labels: &'a BTreeMap<String, String>,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Admitted, with the changes to make and what to tell the user.
    Admit(Admission),
    /// Denied.
    Deny(Denial),
}

/// An admitted VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The changes, the resolved images and the planner's warnings.
    pub plan: Plan,
    /// The Warn and Audit violations (no Enforce one).
    pub verdict: Verdict,
}

/// Why a VM is denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// VM Operator would deny it (or vmimage's opt-in selection cannot pin its choice).
    Image(PlanError),
    /// An Enforce rule of an image policy is violated.
    Policy {
        /// What the VM resolved to.
        plan: Plan,
        /// Every violation, the Enforce ones among them.
        verdict: Verdict,
    },
}

impl Denial {
    /// A short machine-readable reason (a metric label): the planner's reason, or `Policy`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Image(e) => e.reason(),
            Self::Policy { .. } => "Policy",
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Image(e) => e.fmt(f),
            Self::Policy { verdict, .. } => f.write_str(&verdict.deny_message()),
        }
    }
}

impl Admission {
    /// Every warning for the user, `vmimage: `-prefixed where vmimage speaks for itself:
    /// the image a selector picked, newest-selection notes, references that will not
    /// resolve, Warn violations.
    pub fn warnings(&self) -> Vec<String> {
        let plan = &self.plan;
        plan.selected
            .iter()
            .chain(&plan.notes)
            .map(|n| format!("vmimage: {n}"))
            .chain(plan.warnings.iter().map(|w| format!("vmimage: {w}")))
            .chain(self.verdict.of(Mode::Warn).map(ToString::to_string))
            .collect()
    }
}

/// Decides `vm`'s CREATE. Ambiguity is settled as the VM asks (`vmimage.io/select`).
pub fn decide(ctx: &Context<'_>, vm: &VmImageRefs) -> Decision {
    decide_with(ctx, vm, Selection::from_annotations(&vm.annotations), None)
}

/// [`decide`] with the selection given (`pin --newest` asks for newest for every VM), and
/// an image selector for VMs that name no image and carry none (`pin --selector`).
pub fn decide_with(
    ctx: &Context<'_>,
    vm: &VmImageRefs,
    selection: Selection,
    default_selector: Option<&ImageSelector>,
) -> Decision {
    let images = Images {
        index: ctx.index,
        libraries: ctx.libraries,
    };
    let plan = match plan_in(&images, vm, selection, default_selector) {
        Ok(plan) => plan,
        Err(e) => return Decision::Deny(Denial::Image(e)),
    };
    let verdict = evaluate(
        ctx.policies,
        Subject {
            namespace_labels: ctx.namespace_labels,
            plan: &plan,
        },
    );
    if verdict.denied() {
        Decision::Deny(Denial::Policy { plan, verdict })
    } else {
        Decision::Admit(Admission { plan, verdict })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::ImageEntry;

    #[test]
    fn policy_denials_follow_admitted_plans_and_image_denials_come_first() {
        let index = Index::from_entries([ImageEntry::test("vmi-1", "iso").of_type("ISO")]);
        let policy = Policy::from_json(&serde_json::json!({
            "metadata": {"name": "no-iso"},
            "spec": {"mode": "Enforce", "rules": {"allowedBootTypes": ["OVF"]}}
        }))
        .unwrap();
        let labels = BTreeMap::new();
        let policies = [policy];
        let ctx = Context {
            index: &index,
            libraries: Libraries::none(),
            policies: &policies,
            namespace_labels: &labels,
        };
        let vm = |name: &str| VmImageRefs {
            namespace: "ns1".into(),
            image_name: Some(name.into()),
            ..Default::default()
        };
        let denied = decide(&ctx, &vm("iso"));
        assert!(
            matches!(&denied, Decision::Deny(d) if d.reason() == "Policy"),
            "{denied:?}"
        );
        let denied = decide(&ctx, &vm("nope"));
        assert!(
            matches!(&denied, Decision::Deny(d) if d.reason() == "NotFound"),
            "{denied:?}"
        );
    }
}

use super::*;
use crate::{
    api::{ImageRef, VmImageRefs},
    index::Index,
    mutate::plan,
};
use serde_json::json;

fn index() -> Index {
    Index::from_entries([
        ImageEntry::test("vmi-1", "ubuntu").label("os", "ubuntu"),
        ImageEntry::test("vmi-2", "rhel").not_ready(),
        ImageEntry::test("vmi-3", "tools.iso").of_type("ISO"),
        ImageEntry::test("vmi-4", "team-image").in_ns("dev"),
        ImageEntry::test("vmi-5", "legacy-ubuntu"),
    ])
}

fn plan_for(image_name: &str) -> Plan {
    let vm = VmImageRefs {
        namespace: "dev".into(),
        image_name: Some(image_name.into()),
        ..Default::default()
    };
    plan(&index(), &vm).unwrap()
}

fn policy(mode: &str, rules: serde_json::Value) -> Policy {
    Policy::from_json(&json!({"metadata": {"name": "p"}, "spec": {"mode": mode, "rules": rules}})).unwrap()
}

fn verdict(policies: &[Policy], image_name: &str, ns_labels: &[(&str, &str)]) -> Verdict {
    let labels: BTreeMap<String, String> = ns_labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    evaluate(
        policies,
        Subject {
            namespace_labels: &labels,
            plan: &plan_for(image_name),
        },
    )
}

fn rules_of(v: &Verdict) -> Vec<&str> {
    v.violations.iter().map(|v| v.rule).collect()
}

#[test]
fn require_ready_denies_not_ready_images() {
    let p = [policy("Enforce", json!({"requireReady": true}))];
    assert!(verdict(&p, "rhel", &[]).denied());
    assert!(!verdict(&p, "ubuntu", &[]).denied());
    assert!(
        verdict(&p, "rhel", &[])
            .deny_message()
            .contains("policy p (Enforce) rule requireReady: image vmi-2 (rhel) is not Ready")
    );
}

#[test]
fn iso_boot_disks_can_be_forbidden() {
    let p = [policy("Enforce", json!({"allowedBootTypes": ["OVF", "VM"]}))];
    assert_eq!(rules_of(&verdict(&p, "tools.iso", &[])), ["allowedBootTypes"]);
    assert!(verdict(&p, "ubuntu", &[]).violations.is_empty());
}

#[test]
fn scopes_can_be_restricted() {
    let p = [policy("Enforce", json!({"allowedScopes": ["Cluster"]}))];
    assert_eq!(rules_of(&verdict(&p, "team-image", &[])), ["allowedScopes"]);
    assert!(verdict(&p, "ubuntu", &[]).violations.is_empty());
}

#[test]
fn names_are_allowed_and_denied_by_glob_on_display_name_or_id() {
    let allow = [policy("Enforce", json!({"allowedNames": ["ubuntu*"]}))];
    assert!(verdict(&allow, "rhel", &[]).denied());
    assert!(!verdict(&allow, "ubuntu", &[]).denied());
    let deny = [policy("Enforce", json!({"deniedNames": ["legacy-*", "vmi-2"]}))];
    assert!(verdict(&deny, "legacy-ubuntu", &[]).denied());
    assert!(verdict(&deny, "rhel", &[]).denied());
    assert!(!verdict(&deny, "ubuntu", &[]).denied());
}

#[test]
fn providers_are_matched_by_glob() {
    let p = [policy("Enforce", json!({"allowedProviders": ["approved-*"]}))];
    assert_eq!(rules_of(&verdict(&p, "ubuntu", &[])), ["allowedProviders"]);
}

#[test]
fn image_labels_must_match_the_selector() {
    let p = [policy(
        "Enforce",
        json!({"imageSelector": {"matchLabels": {"os": "ubuntu"}}}),
    )];
    assert!(!verdict(&p, "ubuntu", &[]).denied());
    assert_eq!(rules_of(&verdict(&p, "rhel", &[])), ["imageSelector"]);
}

#[test]
fn require_id_rejects_display_names_but_not_ids() {
    let p = [policy("Enforce", json!({"requireId": true}))];
    assert_eq!(rules_of(&verdict(&p, "ubuntu", &[])), ["requireId"]);
    assert!(verdict(&p, "vmi-1", &[]).violations.is_empty());
}

#[test]
fn warn_and_audit_do_not_deny() {
    let p = [
        policy("Warn", json!({"requireReady": true})),
        policy("Audit", json!({"requireReady": true})),
    ];
    let v = verdict(&p, "rhel", &[]);
    assert!(!v.denied());
    assert_eq!(v.of(Mode::Warn).count(), 1);
    assert_eq!(v.of(Mode::Audit).count(), 1);
}

#[test]
fn namespace_selector_scopes_a_policy() {
    let p = [Policy::from_json(&json!({"metadata": {"name": "prod"}, "spec": {
        "mode": "Enforce", "namespaceSelector": {"matchLabels": {"env": "prod"}}, "rules": {"requireReady": true}}}))
    .unwrap()];
    assert!(verdict(&p, "rhel", &[("env", "prod")]).denied());
    assert!(!verdict(&p, "rhel", &[("env", "dev")]).denied());
}

#[test]
fn every_violated_rule_of_every_policy_is_named() {
    let p = [
        policy("Enforce", json!({"requireReady": true, "deniedNames": ["rhel"]})),
        Policy::from_json(
            &json!({"metadata": {"name": "q"}, "spec": {"mode": "Enforce", "rules": {"requireId": true}}}),
        )
        .unwrap(),
    ];
    let v = verdict(&p, "rhel", &[]);
    assert_eq!(rules_of(&v), ["requireReady", "deniedNames", "requireId"]);
    let msg = v.deny_message();
    assert!(
        msg.contains("policy p (Enforce) rule deniedNames")
            && msg.contains("policy q (Enforce) rule requireId"),
        "{msg}"
    );
}

#[test]
fn cdrom_images_count_for_ready_but_not_for_boot_type() {
    let vm = VmImageRefs {
        namespace: "dev".into(),
        cdroms: vec![crate::api::CdromRef {
            name: "c".into(),
            image: Some(ImageRef {
                kind: "ClusterVirtualMachineImage".into(),
                name: "tools.iso".into(),
            }),
            connected: Some(true),
        }],
        ..Default::default()
    };
    let plan = plan(&index(), &vm).unwrap();
    let p = [policy(
        "Enforce",
        json!({"allowedBootTypes": ["OVF"], "requireId": true}),
    )];
    let v = evaluate(
        &p,
        Subject {
            namespace_labels: &BTreeMap::new(),
            plan: &plan,
        },
    );
    assert_eq!(rules_of(&v), ["requireId"]);
}

#[test]
fn invalid_policies_are_rejected_with_the_field() {
    let bad = |spec: serde_json::Value| {
        Policy::from_json(&json!({"metadata": {"name": "x"}, "spec": spec}))
            .unwrap_err()
            .to_string()
    };
    assert!(bad(json!({"rules": {"requireReady": true}})).contains("spec.mode: Required value"));
    assert!(bad(json!({"mode": "Enforce", "rules": {}})).contains("at least one rule"));
    assert!(
        bad(json!({"mode": "Enforce", "rules": {"requireReddy": true}}))
            .contains("unknown field `requireReddy`")
    );
    assert!(
        bad(json!({"mode": "Block", "rules": {"requireReady": true}})).contains("unknown variant `Block`")
    );
    assert!(bad(json!({"mode": "Enforce", "rules": {"allowedNames": []}})).contains("allowedNames"));
}

#[test]
fn newest_selection_can_be_forbidden() {
    let index = Index::from_entries([
        ImageEntry::test("vmi-1", "dup").with_version("1"),
        ImageEntry::test("vmi-2", "dup").with_version("2"),
    ]);
    let vm = VmImageRefs {
        namespace: "dev".into(),
        image_name: Some("dup".into()),
        ..Default::default()
    };
    let plan = crate::mutate::plan_with(&index, &vm, crate::mutate::Selection::NewestReady).unwrap();
    let p = [policy("Enforce", json!({"forbidNewestSelection": true}))];
    let v = evaluate(
        &p,
        Subject {
            namespace_labels: &BTreeMap::new(),
            plan: &plan,
        },
    );
    assert_eq!(rules_of(&v), ["forbidNewestSelection"]);
}

#[test]
fn image_selectors_can_be_forbidden_apart_from_newest_selection() {
    let index = Index::from_entries([ImageEntry::test("vmi-1", "ubuntu").label("os", "ubuntu")]);
    let vm = VmImageRefs {
        namespace: "dev".into(),
        annotations: [(
            crate::select::IMAGE_SELECTOR_ANNOTATION.to_string(),
            "os=ubuntu".to_string(),
        )]
        .into(),
        ..Default::default()
    };
    let plan = crate::mutate::plan(&index, &vm).unwrap();
    let evaluated = |rules| {
        let p = [policy("Enforce", rules)];
        rules_of(&evaluate(
            &p,
            Subject {
                namespace_labels: &BTreeMap::new(),
                plan: &plan,
            },
        ))
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    assert_eq!(
        evaluated(json!({"forbidImageSelectors": true})),
        ["forbidImageSelectors"]
    );
    assert!(evaluated(json!({"forbidNewestSelection": true})).is_empty());
}

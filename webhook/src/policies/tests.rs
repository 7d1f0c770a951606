use super::*;
use k8s_openapi::jiff::Timestamp;

fn obj(name: &str, generation: i64, spec: Value, status: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "vmimage.io/v1alpha1",
        "kind": "VMImagePolicy",
        "metadata": {"name": name, "generation": generation},
        "spec": spec,
        "status": status,
    }))
    .unwrap()
}

fn valid() -> Value {
    json!({"mode": "Enforce", "rules": {"requireReady": true}})
}

fn now() -> Timestamp {
    "2026-08-01T10:00:00Z".parse().unwrap()
}

fn sync() -> (PolicySync, SharedPolicies, Readiness) {
    let (policies, readiness) = (SharedPolicies::default(), Readiness::default());
    (
        PolicySync::new(policies.clone(), readiness.clone()),
        policies,
        readiness,
    )
}

fn names(policies: &SharedPolicies) -> Vec<String> {
    policies.read().active().iter().map(|p| p.name.clone()).collect()
}

#[test]
fn policies_are_synced_only_after_the_list_completes_and_invalid_ones_are_left_out() {
    let (mut s, policies, readiness) = sync();
    s.handle(watcher::Event::Init, now());
    s.handle(watcher::Event::InitApply(obj("b", 1, valid(), json!({}))), now());
    let bad = json!({"mode": "Enforce", "rules": {"noSuchRule": true}});
    let updates = s.handle(watcher::Event::InitApply(obj("bad", 1, bad, json!({}))), now());
    assert!(!readiness.policies_synced());
    assert!(names(&policies).is_empty(), "a partial list is not applied");
    assert_eq!(updates[0].patch["status"]["conditions"][0]["reason"], "Invalid");
    s.handle(watcher::Event::InitApply(obj("a", 1, valid(), json!({}))), now());
    s.handle(watcher::Event::InitDone, now());
    assert!(readiness.policies_synced());
    assert_eq!(names(&policies), ["a", "b"]);
    s.handle(watcher::Event::Init, now());
    assert!(!readiness.policies_synced(), "a re-list drops readiness");
}

#[test]
fn a_policy_takes_effect_on_apply_and_leaves_on_delete_or_when_it_turns_invalid() {
    let (mut s, policies, _) = sync();
    s.handle(watcher::Event::Apply(obj("p", 1, valid(), json!({}))), now());
    assert_eq!(names(&policies), ["p"]);
    let invalid = json!({"mode": "Enforce", "rules": {"allowedNames": []}});
    s.handle(watcher::Event::Apply(obj("p", 2, invalid, json!({}))), now());
    assert!(names(&policies).is_empty());
    s.handle(watcher::Event::Apply(obj("p", 3, valid(), json!({}))), now());
    s.handle(watcher::Event::Delete(obj("p", 3, valid(), json!({}))), now());
    assert!(names(&policies).is_empty());
}

#[test]
fn status_is_written_with_the_generation_and_a_ready_condition() {
    let (mut s, _, _) = sync();
    let updates = s.handle(watcher::Event::Apply(obj("p", 4, valid(), json!({}))), now());
    assert_eq!(
        updates,
        [StatusUpdate {
            name: "p".into(),
            patch: json!({"status": {
                "observedGeneration": 4,
                "conditions": [{
                    "type": "Ready", "status": "True", "reason": "Accepted",
                    "message": "the policy is in effect",
                    "lastTransitionTime": "2026-08-01T10:00:00Z", "observedGeneration": 4,
                }],
            }}),
        }]
    );
}

#[test]
fn an_invalid_policy_gets_ready_false_with_the_parse_error() {
    let spec = json!({"mode": "Enforce", "rules": {}});
    let patch = status_patch(
        &obj("p", 1, spec.clone(), json!({})),
        &Policy::from_json(&json!({"metadata": {"name": "p"}, "spec": spec})),
        now(),
    )
    .unwrap();
    let condition = &patch["status"]["conditions"][0];
    assert_eq!(condition["status"], "False");
    assert_eq!(condition["reason"], "Invalid");
    assert!(
        condition["message"]
            .as_str()
            .unwrap()
            .contains("at least one rule"),
        "{condition}"
    );
}

#[test]
fn status_already_saying_so_is_not_written_again() {
    let (mut s, _, _) = sync();
    let first = s.handle(watcher::Event::Apply(obj("p", 2, valid(), json!({}))), now());
    let written = first[0].patch["status"].clone();
    let later: Timestamp = "2026-08-01T11:00:00Z".parse().unwrap();
    let again = s.handle(
        watcher::Event::Apply(obj("p", 2, valid(), written.clone())),
        later,
    );
    assert!(again.is_empty(), "{again:?}");

    // A new generation with the same outcome keeps the transition time.
    let next = s.handle(watcher::Event::Apply(obj("p", 3, valid(), written)), later);
    let condition = &next[0].patch["status"]["conditions"][0];
    assert_eq!(condition["observedGeneration"], 3);
    assert_eq!(condition["lastTransitionTime"], "2026-08-01T10:00:00Z");
}

#[test]
fn the_kustomize_base_carries_the_same_policy_crd() {
    let strip = |yaml: &str| -> String {
        yaml.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let source = include_str!("../../../manifests/crds/vmimage.io_vmimagepolicies.yaml");
    let copy = include_str!("../../../manifests/webhook/base/crd-vmimagepolicies.yaml");
    assert!(
        strip(source) == strip(copy),
        "manifests/webhook/base/crd-vmimagepolicies.yaml differs from manifests/crds/vmimage.io_vmimagepolicies.yaml: copy it again"
    );
}

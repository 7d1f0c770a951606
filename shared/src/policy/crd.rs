//! The `VMImagePolicy` CustomResourceDefinition, generated from [`super::PolicySpec`] so
//! that the Rust type, the schema and the CEL rules cannot drift apart. `make crds`
//! writes it to `manifests/`; a unit test fails when the committed files differ.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// CEL: at least one rule is set (an empty policy is a mistake, not "allow all").
pub(super) const SOME_RULE_SET: &str = "has(self.requireReady) || has(self.allowedBootTypes) \
    || has(self.allowedScopes) || has(self.allowedProviders) || has(self.allowedNames) \
    || has(self.deniedNames) || has(self.imageSelector) || has(self.requireId) \
    || has(self.forbidNewestSelection) || has(self.forbidImageSelectors)";
/// The message of [`SOME_RULE_SET`].
pub(super) const SOME_RULE_SET_MESSAGE: &str = "set at least one rule: requireReady, \
    allowedBootTypes, allowedScopes, allowedProviders, allowedNames, deniedNames, \
    imageSelector, requireId, forbidNewestSelection, forbidImageSelectors";

/// `status` of a policy, written by the webhook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatus {
    /// The generation the webhook last loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`: `True`/`Accepted`, or `False`/`Invalid` with the reason in the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<PolicyCondition>,
}

/// One condition of a policy's status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyCondition {
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[schemars(extend("enum" = ["True", "False", "Unknown"]))]
    pub status: String,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// RFC 3339 time of the last status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: Option<String>,
    /// Generation the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Schema of a label selector, stricter than the generic one: operators are the four
/// Kubernetes knows, and `In`/`NotIn` need values while `Exists`/`DoesNotExist` take none
/// (what `kube_core::Selector` would refuse later, refused at admission instead).
pub(super) fn label_selector(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-map-type": "atomic",
        "properties": {
            "matchLabels": {
                "type": "object",
                "additionalProperties": {"type": "string"}
            },
            "matchExpressions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {"type": "string"},
                        "operator": {"type": "string", "enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                        "values": {"type": "array", "items": {"type": "string"}}
                    },
                    "x-kubernetes-validations": [{
                        "rule": "self.operator in ['In', 'NotIn'] ? size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                        "message": "In and NotIn need values; Exists and DoesNotExist take none"
                    }]
                }
            }
        }
    })
}

/// `spec.rules` is required by the API although the Rust type defaults it (so that
/// [`super::Policy::from_json`] can say "at least one rule" rather than "missing field").
pub(super) fn rules_required(schema: &mut Schema) {
    if let Some(rules) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("rules"))
        .and_then(|r| r.as_object_mut())
    {
        rules.remove("default");
    }
    if let Some(required) = schema.get_mut("required").and_then(|r| r.as_array_mut()) {
        required.push("rules".into());
    }
}

/// The CRD object. `nullable` is dropped everywhere: the API server then prunes an
/// explicit `null` like an absent field, which is what the rules' `has(…)` tests and the
/// webhook's reading (`null` is `None`) both assume.
pub fn definition() -> CustomResourceDefinition {
    let mut crd = super::VMImagePolicy::crd();
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            let mut value = serde_json::to_value(&*schema).expect("a schema always serializes");
            drop_nullable(&mut value);
            *schema = serde_json::from_value(value).expect("the same schema, less nullable");
        }
    }
    crd
}

fn drop_nullable(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.remove("nullable");
            map.values_mut().for_each(drop_nullable);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nullable),
        _ => {}
    }
}

/// The CRD as YAML, exactly as committed under `manifests/` (after their header comments).
pub fn yaml() -> String {
    serde_norway::to_string(&definition()).expect("a CRD always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(committed: &str) -> String {
        committed
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn the_committed_crds_are_the_generated_one() {
        for (path, committed) in [
            (
                "manifests/crds/vmimage.io_vmimagepolicies.yaml",
                include_str!("../../../manifests/crds/vmimage.io_vmimagepolicies.yaml"),
            ),
            (
                "manifests/webhook/base/crd-vmimagepolicies.yaml",
                include_str!("../../../manifests/webhook/base/crd-vmimagepolicies.yaml"),
            ),
        ] {
            assert!(
                body(committed) == yaml(),
                "{path} differs from the CRD generated from shared/src/policy.rs: run `make crds`"
            );
        }
    }
}

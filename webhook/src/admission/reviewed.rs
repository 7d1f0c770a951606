//! The AdmissionReview as read off the wire: one pass, straight into JSON values.
//!
//! kube-core's `AdmissionReview` takes its `apiVersion` and `kind` with `#[serde(flatten)]`,
//! and `DynamicObject` its type and data the same way. serde buffers a flattened struct
//! whole before reading it, so the review was read twice over (the object three times,
//! with its `managedFields` typed) and then written back to JSON for the planner. Here the
//! envelope names its fields, and the object is read once as the `Value` the planner and
//! the patch work on; only the names the handler uses are picked out of its metadata.

use kube::core::{
    ApiResource, DynamicResourceScope, ObjectMeta, Resource, TypeMeta,
    admission::{AdmissionRequest, ConvertAdmissionReviewError},
};
use serde::{Deserialize, Deserializer, de::Error as _};
use serde_json::Value;
use std::borrow::Cow;

/// A review's `object` or `oldObject`: the JSON as sent, and the metadata names in it.
#[derive(Debug, Clone)]
pub struct Reviewed {
    /// The object as the apiserver sent it.
    pub json: Value,
    /// `name`, `generateName` and `namespace` only (what [`Resource::meta`] must give).
    meta: ObjectMeta,
}

impl<'de> Deserialize<'de> for Reviewed {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let json = Value::deserialize(de)?;
        let Some(object) = json.as_object() else {
            return Err(D::Error::custom("an object must be a JSON object"));
        };
        let meta = match object.get("metadata") {
            None | Some(Value::Null) => ObjectMeta::default(),
            Some(Value::Object(meta)) => {
                let text = |key: &str| -> Result<Option<String>, D::Error> {
                    match meta.get(key) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s.clone())),
                        Some(_) => Err(D::Error::custom(format!("metadata.{key} must be a string"))),
                    }
                };
                ObjectMeta {
                    name: text("name")?,
                    generate_name: text("generateName")?,
                    namespace: text("namespace")?,
                    ..ObjectMeta::default()
                }
            }
            Some(_) => return Err(D::Error::custom("metadata must be a JSON object")),
        };
        Ok(Self { json, meta })
    }
}

impl Resource for Reviewed {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        dt.kind.as_str().into()
    }

    fn group(dt: &ApiResource) -> Cow<'_, str> {
        dt.group.as_str().into()
    }

    fn version(dt: &ApiResource) -> Cow<'_, str> {
        dt.version.as_str().into()
    }

    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        dt.api_version.as_str().into()
    }

    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        dt.plural.as_str().into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

/// `{"apiVersion", "kind", "request"}`: the review's fields named, none flattened (a
/// `response` in a request is ignored, as kube-core's reader ignores it too).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    request: Option<AdmissionRequest<Reviewed>>,
}

impl TryFrom<Envelope> for AdmissionRequest<Reviewed> {
    type Error = ConvertAdmissionReviewError;

    fn try_from(review: Envelope) -> Result<Self, Self::Error> {
        let mut request = review.request.ok_or(ConvertAdmissionReviewError)?;
        request.types = TypeMeta {
            api_version: review.api_version,
            kind: review.kind,
        };
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::{DynamicObject, admission::AdmissionReview};
    use serde_json::json;

    fn review(object: Value) -> Value {
        json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "u1",
                "kind": {"group": "vmoperator.vmware.com", "version": "v1alpha6", "kind": "VirtualMachine"},
                "resource": {"group": "vmoperator.vmware.com", "version": "v1alpha6", "resource": "virtualmachines"},
                "name": "web", "namespace": "ns1", "operation": "CREATE", "userInfo": {"username": "alice"},
                "object": object, "oldObject": null, "dryRun": false,
                "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
            }
        })
    }

    fn read(review: &Value) -> Result<AdmissionRequest<Reviewed>, String> {
        let envelope: Envelope = serde_json::from_value(review.clone()).map_err(|e| e.to_string())?;
        envelope.try_into().map_err(|_| "no request".to_string())
    }

    #[test]
    fn reads_what_kube_cores_review_reads() {
        let object = json!({
            "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": "VirtualMachine",
            "metadata": {"name": "web", "namespace": "ns1", "uid": "x",
                         "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"imageName": "ubuntu-24.04"}
        });
        let review = review(object.clone());
        let ours = read(&review).unwrap();
        let theirs: AdmissionRequest<DynamicObject> =
            serde_json::from_value::<AdmissionReview<DynamicObject>>(review)
                .unwrap()
                .try_into()
                .unwrap();
        assert_eq!(ours.types, theirs.types);
        assert_eq!(
            (&ours.uid, &ours.name, &ours.namespace),
            (&theirs.uid, &theirs.name, &theirs.namespace)
        );
        assert_eq!(ours.operation, theirs.operation);
        let (o, t) = (ours.object.unwrap(), theirs.object.unwrap());
        assert_eq!(o.json, object);
        assert_eq!(o.meta().name, t.metadata.name);
        assert_eq!(o.meta().namespace, t.metadata.namespace);
        assert!(ours.old_object.is_none() && theirs.old_object.is_none());
    }

    #[test]
    fn an_object_that_is_not_a_map_or_bad_names_are_malformed() {
        for object in [
            json!("a string"),
            json!([1]),
            json!({"metadata": "x"}),
            json!({"metadata": {"name": 7}}),
            json!({"metadata": {"generateName": ["a"]}}),
        ] {
            let err = read(&review(object.clone())).unwrap_err();
            assert!(!err.is_empty(), "{object}");
        }
    }

    #[test]
    fn no_metadata_reads_as_empty_metadata() {
        let ours = read(&review(json!({"spec": {}}))).unwrap();
        assert_eq!(ours.object.unwrap().meta(), &ObjectMeta::default());
    }

    #[test]
    fn no_request_is_refused() {
        let envelope: Envelope =
            serde_json::from_value(json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}))
                .unwrap();
        assert!(AdmissionRequest::<Reviewed>::try_from(envelope).is_err());
    }
}

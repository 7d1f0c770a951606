//! A model of VM Operator's create-time image steps (its mutating webhook's CREATE
//! branch), written straight from `docs/domain.md` against raw JSON, apart from vmimage's
//! planner. It is held against VM Operator's own answers before it judges anything.

use serde_json::Value;
use vmimage_shared::{Index, quote::go_quote, resolve};

/// What VM Operator stores: `spec.imageName` and `spec.image` after the webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub image_name: String,
    pub image: Option<(String, String)>,
}

fn cdroms(vm: &Value) -> Vec<Value> {
    let version = vm["apiVersion"].as_str().unwrap_or_default();
    let list = if version.ends_with("v1alpha3") || version.ends_with("v1alpha4") {
        &vm["spec"]["cdrom"]
    } else {
        &vm["spec"]["hardware"]["cdrom"]
    };
    list.as_array().cloned().unwrap_or_default()
}

/// VM Operator's CREATE steps; `Err` is its denial message.
pub fn create(index: &Index, ns: &str, vm: &Value) -> Result<Outcome, String> {
    let spec = &vm["spec"];
    let mut image_name = spec["imageName"].as_str().unwrap_or_default().to_string();
    let cdroms = cdroms(vm);
    if image_name.is_empty() && !cdroms.is_empty() {
        let name = |c: &Value| c["image"]["name"].as_str().unwrap_or_default().to_string();
        let connected = cdroms.iter().find(|c| c["connected"].as_bool().unwrap_or(true));
        image_name = match connected.map(name) {
            Some(n) if !n.is_empty() => n,
            _ => name(&cdroms[0]),
        };
    }
    let written = match &spec["image"] {
        Value::Null => None,
        image => Some((
            image["kind"].as_str().unwrap_or_default().to_string(),
            image["name"].as_str().unwrap_or_default().to_string(),
        )),
    };
    if image_name.is_empty() {
        return Ok(Outcome {
            image_name,
            image: written,
        });
    }
    let resolved = resolve(index, ns, &image_name).map_err(|e| e.vm_operator_message())?;
    let resolved = (
        resolved.image.kind().as_str().to_string(),
        resolved.image.name.to_string(),
    );
    match written {
        Some(w) if w != resolved => Err(format!(
            "spec.imageName: Invalid value: {}: must refer to the same resource as spec.image",
            go_quote(&image_name)
        )),
        _ => Ok(Outcome {
            image_name,
            image: Some(resolved),
        }),
    }
}

/// Whether `outcome` is what VM Operator answered (`expect` of an oracle VM case).
#[allow(dead_code)] // the property test has no answers to hold the model against
pub fn agrees(outcome: &Result<Outcome, String>, expect: &Value) -> Result<(), String> {
    let want = if expect["allowed"].as_bool() == Some(true) {
        Ok(Outcome {
            image_name: expect["imageName"].as_str().unwrap_or_default().to_string(),
            image: expect["image"].as_object().map(|i| {
                (
                    i["kind"].as_str().unwrap_or_default().to_string(),
                    i["name"].as_str().unwrap_or_default().to_string(),
                )
            }),
        })
    } else {
        Err(expect["error"].as_str().unwrap_or_default().to_string())
    };
    if *outcome == want {
        Ok(())
    } else {
        Err(format!("modelled {outcome:?}, VM Operator {want:?}"))
    }
}

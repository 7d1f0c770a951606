//! Reading an object field by field, so that one field of an unexpected shape costs that
//! field, never the object (and never the list the object came in).
//!
//! VM Operator's schema changes across versions and clusters run several of them; a
//! reader that fails a whole `LIST` because one image's disk size is an integer (valid
//! int-or-string) loses every image of the namespace. Each typed field is therefore
//! read on its own; what cannot be read is recorded as an [`Unread`] for the caller to
//! warn about, naming the object.

use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::{Map, Value};
use std::fmt;

/// A field that was present but could not be read into vmimage's model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// Path of the field, e.g. `status.conditions[1]`.
    pub field: String,
    /// Why it could not be read.
    pub message: String,
}

impl fmt::Display for Unread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Takes typed fields out of one JSON object, recording those that do not fit.
pub(crate) struct Fields<'a> {
    map: Map<String, Value>,
    path: &'static str,
    unread: &'a mut Vec<Unread>,
}

impl<'a> Fields<'a> {
    /// The fields of `value` (at `path`). Anything but an object (or null) is one
    /// unread field, and reads as empty.
    pub(crate) fn of(value: Option<Value>, path: &'static str, unread: &'a mut Vec<Unread>) -> Self {
        let map = match value {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(other) => {
                unread.push(Unread {
                    field: if path.is_empty() { "the object" } else { path }.to_string(),
                    message: format!("expected an object, found {}", shape(&other)),
                });
                Map::new()
            }
        };
        Self { map, path, unread }
    }

    /// Field `key` as `T`; absent or null is `None`, a misfit is recorded and `None`.
    pub(crate) fn take<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let value = self.map.remove(key).filter(|v| !v.is_null())?;
        match serde_json::from_value(value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.unread.push(Unread {
                    field: self.at(key),
                    message: e.to_string(),
                });
                None
            }
        }
    }

    /// List field `key`, element by element: a misfit element is recorded and left out.
    pub(crate) fn take_each<T: DeserializeOwned>(&mut self, key: &str) -> Vec<T> {
        let Some(value) = self.map.remove(key).filter(|v| !v.is_null()) else {
            return Vec::new();
        };
        let Value::Array(items) = value else {
            self.unread.push(Unread {
                field: self.at(key),
                message: format!("expected a list, found {}", shape(&value)),
            });
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match serde_json::from_value(item) {
                Ok(v) => out.push(v),
                Err(e) => self.unread.push(Unread {
                    field: format!("{}[{i}]", self.at(key)),
                    message: e.to_string(),
                }),
            }
        }
        out
    }

    fn at(&self, key: &str) -> String {
        match self.path {
            "" => key.to_string(),
            path => format!("{path}.{key}"),
        }
    }

    /// Whether `key` is present (and not null).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }
}

fn shape(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A Kubernetes quantity, which the schema types `int-or-string` (`10Gi` or
/// `10737418240`): read either way, kept as text.
pub fn quantity<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(i64),
        Uint(u64),
        Float(f64),
        Text(String),
    }
    Ok(Option::<IntOrString>::deserialize(de)?.map(|q| match q {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::Uint(n) => n.to_string(),
        IntOrString::Float(n) => n.to_string(),
        IntOrString::Text(s) => s,
    }))
}

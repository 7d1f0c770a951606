//! VMI IDs: the deterministic object names VM Operator gives images.
//!
//! An ID is `vmi-` followed by the first 17 lowercase hex digits of the SHA-1 of the
//! Content Library item UUID with every `-` removed.

use sha1::{Digest, Sha1};
use std::{fmt, str::FromStr};

/// The prefix VM Operator's resolver tests (case-sensitively) to tell IDs from display names.
pub const PREFIX: &str = "vmi-";
const HEX_DIGITS: usize = 17;

/// A well-formed VMI ID: `vmi-` + 17 lowercase hex digits.
///
/// Older images may have other object names; those are plain strings in the index, this
/// type is for IDs vmimage computes or validates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VmiId(String);

/// Why a string is not a VMI ID or not a Content Library item UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The string does not start with `vmi-`.
    #[error("{0:?} is not a VMI ID: it must start with \"vmi-\"")]
    MissingPrefix(String),
    /// The part after `vmi-` is not 17 lowercase hex digits.
    #[error("{0:?} is not a VMI ID: expected \"vmi-\" followed by 17 lowercase hex digits")]
    BadDigits(String),
    /// The input is not a UUID (8-4-4-4-12 hex digits, optionally in braces or as a URN).
    #[error(
        "{0:?} is not a Content Library item UUID: expected 32 hex digits as \
         xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
    )]
    BadUuid(String),
}

// === impl VmiId ===

impl VmiId {
    /// The ID VM Operator derives from `item_id` exactly as given: any string is hashed
    /// after removing `-`. Use [`VmiId::for_item`] to validate a UUID first.
    pub fn from_raw_item_id(item_id: &str) -> Self {
        let mut hasher = Sha1::new();
        for part in item_id.split('-') {
            hasher.update(part.as_bytes());
        }
        let hex: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("{PREFIX}{}", &hex[..HEX_DIGITS]))
    }

    /// The ID of a Content Library item given by UUID. Accepts upper case, braces
    /// (`{…}`) and the `urn:uuid:` prefix, which all name the same item, and normalises to
    /// the lowercase hyphenated form vCenter reports before hashing.
    pub fn for_item(uuid: &str) -> Result<Self, Error> {
        Ok(Self::from_raw_item_id(&normalize_uuid(uuid)?))
    }

    /// The ID as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for VmiId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let digits = s
            .strip_prefix(PREFIX)
            .ok_or_else(|| Error::MissingPrefix(s.to_string()))?;
        if digits.len() != HEX_DIGITS || !digits.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(Error::BadDigits(s.to_string()));
        }
        Ok(Self(s.to_string()))
    }
}

impl fmt::Display for VmiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for VmiId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Validates a UUID and returns it lowercase and hyphenated.
pub fn normalize_uuid(input: &str) -> Result<String, Error> {
    let bad = || Error::BadUuid(input.to_string());
    let trimmed = input.trim();
    let lower = trimmed.to_ascii_lowercase();
    let body = lower.strip_prefix("urn:uuid:").unwrap_or(&lower);
    let body = match body.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}').ok_or_else(bad)?,
        None => body,
    };
    let groups: Vec<&str> = body.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let hex = |g: &&str| g.bytes().all(|b| b.is_ascii_hexdigit());
    let ok = match groups.len() {
        5 => lens == [8, 4, 4, 4, 12],
        1 => lens == [32],
        _ => false,
    };
    if !ok || !groups.iter().all(hex) {
        return Err(bad());
    }
    let flat: String = groups.concat();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &flat[0..8],
        &flat[8..12],
        &flat[12..16],
        &flat[16..20],
        &flat[20..32]
    ))
}

/// Whether VM Operator's resolver treats `reference` as an ID (looked up by object name)
/// rather than a display name: a case-sensitive prefix test, nothing more.
pub fn looks_like_id(reference: &str) -> bool {
    reference.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_vm_operators_documented_example() {
        let id = VmiId::for_item("e1968c25-dd84-4506-8dc7-9beacb6b688e").unwrap();
        assert_eq!(id.as_str(), "vmi-0a0044d7c690bcbea");
    }

    #[test]
    fn hashes_raw_strings_like_vm_operator() {
        for (input, want) in [
            ("", "vmi-da39a3ee5e6b4b0d3"),
            ("a", "vmi-86f7e437faa5a7fce"),
            ("-b", "vmi-e9d71f5ee7c92d6dc"),
            ("a/--b-/c", "vmi-ee2be6da91ae87947"),
        ] {
            assert_eq!(VmiId::from_raw_item_id(input).as_str(), want, "input {input:?}");
        }
    }

    #[test]
    fn upper_case_braces_and_urns_name_the_same_item() {
        let want = "vmi-0a0044d7c690bcbea";
        for input in [
            "E1968C25-DD84-4506-8DC7-9BEACB6B688E",
            "{e1968c25-dd84-4506-8dc7-9beacb6b688e}",
            "urn:uuid:e1968c25-dd84-4506-8dc7-9beacb6b688e",
            "e1968c25dd8445068dc79beacb6b688e",
            " e1968c25-dd84-4506-8dc7-9beacb6b688e\n",
        ] {
            assert_eq!(VmiId::for_item(input).unwrap().as_str(), want, "input {input:?}");
        }
    }

    #[test]
    fn malformed_uuids_get_a_typed_error() {
        for input in [
            "",
            "not-a-uuid",
            "e1968c25-dd84-4506-8dc7",
            "{e1968c25-dd84-4506-8dc7-9beacb6b688e",
            "g1968c25-dd84-4506-8dc7-9beacb6b688e",
            "e1968c25-dd84-4506-8dc7-9beacb6b688e-",
        ] {
            assert!(
                matches!(VmiId::for_item(input), Err(Error::BadUuid(_))),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn parses_only_well_formed_ids() {
        assert!("vmi-0a0044d7c690bcbea".parse::<VmiId>().is_ok());
        assert!(matches!(
            "VMI-0a0044d7c690bcbea".parse::<VmiId>(),
            Err(Error::MissingPrefix(_))
        ));
        assert!(matches!(
            "vmi-0A0044D7C690BCBEA".parse::<VmiId>(),
            Err(Error::BadDigits(_))
        ));
        assert!(matches!("vmi-1".parse::<VmiId>(), Err(Error::BadDigits(_))));
    }

    #[test]
    fn prefix_test_is_case_sensitive() {
        assert!(looks_like_id("vmi-1"));
        assert!(!looks_like_id("VMI-1"));
        assert!(!looks_like_id(" vmi-1"));
    }
}

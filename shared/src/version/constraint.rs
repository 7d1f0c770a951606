//! Version constraints such as `>=22.04, <24`, in vmimage's version order ([`compare`]):
//! comma-separated terms that must all hold; each is an operator (`=`, `==`, `!=`, `>`,
//! `>=`, `<`, `<=`; none means `=`) and a version. An image without a version satisfies
//! no constraint.

use super::compare;
use std::{cmp::Ordering, fmt, str::FromStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Self::Eq => o == Ordering::Equal,
            Self::Ne => o != Ordering::Equal,
            Self::Gt => o == Ordering::Greater,
            Self::Ge => o != Ordering::Less,
            Self::Lt => o == Ordering::Less,
            Self::Le => o != Ordering::Greater,
        }
    }
}

/// A parsed constraint; shown as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionConstraint {
    text: String,
    terms: Vec<(Op, String)>,
}

/// A constraint that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version constraint {text:?}: {term:?} {why} (write e.g. \">=22.04, <24\")")]
pub struct ConstraintError {
    /// The constraint as given.
    pub text: String,
    /// The term that is wrong.
    pub term: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl FromStr for VersionConstraint {
    type Err = ConstraintError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |term: &str, why| ConstraintError {
            text: text.to_string(),
            term: term.to_string(),
            why,
        };
        let mut terms = Vec::new();
        for raw in text.split(',') {
            let term = raw.trim();
            if term.is_empty() {
                return Err(bad(raw, "is empty"));
            }
            // Two-character operators first, so `>=` is not read as `>` and `=…`.
            let (op, version) = [
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("!=", Op::Ne),
                ("==", Op::Eq),
                (">", Op::Gt),
                ("<", Op::Lt),
                ("=", Op::Eq),
            ]
            .into_iter()
            .find_map(|(sym, op)| term.strip_prefix(sym).map(|rest| (op, rest.trim())))
            .unwrap_or((Op::Eq, term));
            if version.is_empty() {
                return Err(bad(term, "has no version"));
            }
            if version.contains(char::is_whitespace) || version.starts_with(['<', '>', '=', '!']) {
                return Err(bad(term, "is not an operator followed by one version"));
            }
            if !version.starts_with(|c: char| c.is_ascii_digit() || c == 'v' || c == 'V') {
                return Err(bad(term, "does not start with a number"));
            }
            terms.push((op, version.to_string()));
        }
        Ok(Self {
            text: text.trim().to_string(),
            terms,
        })
    }
}

impl VersionConstraint {
    /// Whether `version` satisfies every term; no version satisfies none.
    pub fn matches(&self, version: Option<&str>) -> bool {
        let Some(version) = version else { return false };
        self.terms
            .iter()
            .all(|(op, bound)| op.holds(compare(Some(version), Some(bound))))
    }
}

impl fmt::Display for VersionConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> VersionConstraint {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_follow_the_version_order() {
        let range = c(">=22.04, <24");
        for (v, ok) in [
            ("22.04", true),
            ("22.4", true),
            ("23.10", true),
            ("24", false),
            ("24.04", false),
            ("20.04", false),
            ("22.04-rc1", false),
            ("v23.04", true),
        ] {
            assert_eq!(range.matches(Some(v)), ok, "{v}");
        }
        assert!(!range.matches(None));
        assert!(c("24.04").matches(Some("24.04")));
        assert!(c("!=24.04").matches(Some("22.04")));
        assert!(c("<=9.4,>9").matches(Some("9.4")));
        assert_eq!(c(" >=22.04, <24 ").to_string(), ">=22.04, <24");
    }

    #[test]
    fn malformed_constraints_name_the_term() {
        for (text, msg) in [
            (
                ">=22.04,",
                "invalid version constraint \">=22.04,\": \"\" is empty",
            ),
            (">=", "invalid version constraint \">=\": \">=\" has no version"),
            (
                "> = 2",
                "invalid version constraint \"> = 2\": \"> = 2\" is not an operator followed by one version",
            ),
            (
                "~22",
                "invalid version constraint \"~22\": \"~22\" does not start with a number",
            ),
            (
                ">=22 <24",
                "invalid version constraint \">=22 <24\": \">=22 <24\" is not an operator followed by one version",
            ),
        ] {
            let e = text.parse::<VersionConstraint>().unwrap_err().to_string();
            assert!(e.starts_with(msg), "{text}: {e}");
        }
    }
}

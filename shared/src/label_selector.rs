//! Label selectors in Kubernetes' text form (kubectl's `-l`, and vmimage's
//! `vmimage.io/image-selector` annotation), matched locally so live, `--catalog` and
//! webhook answers are the same: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`,
//! `k notin (a,b)`, comma-separated (all must match).

use std::collections::BTreeMap;

/// One requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A selector that does not parse: the whole text and the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector {text:?}: cannot parse {part:?}")]
pub struct SelectorError {
    /// The selector as given.
    pub text: String,
    /// The requirement that does not parse.
    pub part: String,
}

/// A parsed selector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector(Vec<Req>);

impl Selector {
    /// Parses a selector; the error says which part is wrong.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let bad = || SelectorError {
                text: text.to_string(),
                part: part.to_string(),
            };
            let req = if let Some((k, rest)) = part.split_once(" notin ") {
                Req::NotIn(key(k, &bad)?, set(rest, &bad)?)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                Req::In(key(k, &bad)?, set(rest, &bad)?)
            } else if let Some((k, v)) = part.split_once("!=") {
                Req::NotEq(key(k, &bad)?, v.trim().to_string())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Req::Eq(key(k, &bad)?, v.trim().to_string())
            } else if let Some(k) = part.strip_prefix('!') {
                Req::NotExists(key(k, &bad)?)
            } else {
                Req::Exists(key(part, &bad)?)
            };
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// Whether the selector has no requirement (matches everything).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches<K: AsRef<str> + Ord, V: AsRef<str>>(&self, labels: &BTreeMap<K, V>) -> bool {
        self.matches_with(|k| {
            labels
                .iter()
                .find(|(lk, _)| lk.as_ref() == k)
                .map(|(_, v)| v.as_ref())
        })
    }

    /// Whether the labels `get` looks up satisfy every requirement (no map is built).
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.0.iter().all(|req| match req {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::NotEq(k, v) => get(k) != Some(v.as_str()),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
        })
    }
}

fn key(k: &str, bad: &impl Fn() -> SelectorError) -> Result<String, SelectorError> {
    let k = k.trim();
    if k.is_empty() || k.contains(|c: char| c.is_whitespace() || "=!()".contains(c)) {
        return Err(bad());
    }
    Ok(k.to_string())
}

fn set(rest: &str, bad: &impl Fn() -> SelectorError) -> Result<Vec<String>, SelectorError> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> BTreeMap<String, String> {
        [("os", "ubuntu"), ("tier", "gold")]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect()
    }

    #[test]
    fn equality_and_existence_match() {
        assert!(Selector::parse("os=ubuntu,tier").unwrap().matches(&labels()));
        assert!(Selector::parse("os==ubuntu").unwrap().matches(&labels()));
        assert!(!Selector::parse("os!=ubuntu").unwrap().matches(&labels()));
        assert!(Selector::parse("!missing").unwrap().matches(&labels()));
    }

    #[test]
    fn set_based_requirements_match() {
        assert!(
            Selector::parse("os in (ubuntu, debian),tier notin (bronze)")
                .unwrap()
                .matches(&labels())
        );
        assert!(!Selector::parse("os in (rhel)").unwrap().matches(&labels()));
    }

    #[test]
    fn malformed_selectors_are_rejected() {
        assert!(Selector::parse("os in ubuntu").is_err());
        assert!(Selector::parse("=x").is_err());
    }
}

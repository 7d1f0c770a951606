//! Durations as kubectl and Kubernetes components take them (Go's `time.ParseDuration`,
//! plus kubectl's plain seconds): `30s`, `1m30s`, `1.5h`, `500ms`, `5`. One parser for
//! the plugin's and the webhook's flags; it never panics, and values past what a
//! [`Duration`] holds are an error, not a wrap or an abort.

use std::time::Duration;

/// Why a duration does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Nothing was given.
    #[error("empty duration: use e.g. 30s, 2m or 1h")]
    Empty,
    /// A number or a unit is missing or malformed.
    #[error("invalid duration {0:?}: use a number and a unit, e.g. 30s, 1m30s, 1.5h or 500ms")]
    Invalid(String),
    /// An unknown unit.
    #[error("invalid duration {text:?}: unknown unit {unit:?} (use ns, us, ms, s, m or h)")]
    Unit {
        /// The whole text.
        text: String,
        /// The unit as written.
        unit: String,
    },
    /// Negative durations mean nothing for a timeout.
    #[error("invalid duration {0:?}: it must not be negative")]
    Negative(String),
    /// Larger than any timeout can be.
    #[error("invalid duration {0:?}: too large")]
    TooLarge(String),
}

const NANOS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses `text` (surrounding spaces ignored). Plain digits are seconds, as kubectl's
/// `--request-timeout` takes them.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let invalid = || DurationError::Invalid(s.to_string());
    let too_large = || DurationError::TooLarge(s.to_string());
    if s.starts_with('-') {
        return Err(DurationError::Negative(s.to_string()));
    }
    let s_unsigned = s.strip_prefix('+').unwrap_or(s);
    let mut rest = s_unsigned;
    let mut total: u128 = 0;
    if rest.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = rest.parse().map_err(|_| too_large())?;
        return Ok(Duration::from_secs(secs));
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(invalid());
        }
        if unit.is_empty() {
            return Err(invalid());
        }
        let scale = NANOS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, n)| *n)
            .ok_or_else(|| DurationError::Unit {
                text: s.to_string(),
                unit: unit.to_string(),
            })?;
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_large())?
        };
        let mut part = whole.checked_mul(scale).ok_or_else(too_large)?;
        // The fraction, digit by digit, to the nanosecond (Go keeps the same precision).
        let mut place = scale;
        for digit in fraction.bytes() {
            place /= 10;
            if place == 0 {
                break;
            }
            part = part
                .checked_add(u128::from(digit - b'0') * place)
                .ok_or_else(too_large)?;
        }
        total = total.checked_add(part).ok_or_else(too_large)?;
        rest = tail;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| too_large())?;
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| too_large())?;
    Ok(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubectl_and_go_durations() {
        for (text, want) in [
            ("30s", Duration::from_secs(30)),
            ("5", Duration::from_secs(5)),
            ("0", Duration::ZERO),
            ("2m", Duration::from_secs(120)),
            ("1m30s", Duration::from_secs(90)),
            ("1.5h", Duration::from_secs(5400)),
            ("500ms", Duration::from_millis(500)),
            (".5s", Duration::from_millis(500)),
            ("1h2m3.25s", Duration::from_millis(3_723_250)),
            ("10us", Duration::from_micros(10)),
            (" 3s ", Duration::from_secs(3)),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_timeout_without_panicking() {
        for text in ["", "abc", "3d", "s", "1.2.3s", "5 s", "-1s", "1m-2s"] {
            assert!(parse(text).is_err(), "{text}");
        }
        for text in [
            "99999999999999999999999999h",
            "99999999999999999999999999",
            "18446744073709551616",
            "5124095576030432h",
        ] {
            assert_eq!(
                parse(text),
                Err(DurationError::TooLarge(text.to_string())),
                "{text}"
            );
        }
        assert!(
            parse("3d")
                .unwrap_err()
                .to_string()
                .contains("unknown unit \"d\"")
        );
    }
}

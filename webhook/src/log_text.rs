//! Request-controlled text in log lines: escaped, capped, and never a value from a body
//! that could not be read.
//!
//! A VM's name or image reference is whatever the request said. A newline in it could
//! forge a log line, and a 10,000-character name would flood the log; a parse error's
//! message quotes the offending value, which may be anything the user put in the object.

use std::fmt;

/// Characters of one field kept in a log line.
pub const MAX_CHARS: usize = 256;

/// Displays request-controlled text for a log line: control characters escaped (`\n`,
/// `\u{1b}`), cut after [`MAX_CHARS`] characters with a note of how many more there were.
#[derive(Debug, Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_CHARS) {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        let rest = chars.count();
        if rest > 0 {
            write!(f, "… ({rest} more characters)")?;
        }
        Ok(())
    }
}

/// What kind of JSON error, and where, without the value serde's message would quote.
pub fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "not valid JSON",
        Category::Eof => "the JSON ends early",
        Category::Data => "a field has the wrong type or value",
        Category::Io => "the body could not be read",
    };
    match e.line() {
        // Read from a parsed value, not from text: there is no place to name.
        0 => what.to_string(),
        line => format!("{what} at line {line} column {}", e.column()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_long_text_is_cut() {
        assert_eq!(Untrusted("vm-1").to_string(), "vm-1");
        assert_eq!(Untrusted("a\nb\u{1b}[31m").to_string(), "a\\nb\\u{1b}[31m");
        let long = "x".repeat(10_000);
        let shown = Untrusted(&long).to_string();
        assert!(shown.starts_with(&"x".repeat(MAX_CHARS)));
        assert!(shown.ends_with(&format!("… ({} more characters)", 10_000 - MAX_CHARS)));
        assert_eq!(
            Untrusted(&"é".repeat(MAX_CHARS)).to_string(),
            "é".repeat(MAX_CHARS)
        );
    }

    #[test]
    fn json_errors_never_quote_the_value() {
        let e = serde_json::from_str::<Vec<u8>>(r#""s3cr3t""#).unwrap_err();
        assert!(e.to_string().contains("s3cr3t"), "serde quotes it: {e}");
        let shown = json_error(&e);
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(shown, "a field has the wrong type or value at line 1 column 8");
        let e = serde_json::from_str::<serde_json::Value>("{\"a\":").unwrap_err();
        assert_eq!(json_error(&e), "the JSON ends early at line 1 column 5");
        let e = serde_json::from_value::<Vec<u8>>(serde_json::json!("s3cr3t")).unwrap_err();
        assert_eq!(json_error(&e), "a field has the wrong type or value");
    }
}

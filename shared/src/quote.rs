//! Go's `strconv.Quote` (what `%q` prints), so vmimage's messages begin with exactly the
//! bytes VM Operator's do.

use std::fmt::Write;

/// Quotes `s` the way Go's `%q` verb does: double quotes, `\"` and `\\` escaped, control
/// and non-printable characters as `\n`, `\x00`, `\u00a0` and the like.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if !is_go_printable(c) => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint` for the characters that matter in practice: control
/// characters, non-ASCII spaces and the invisible format characters are not printable.
fn is_go_printable(c: char) -> bool {
    if c.is_control() {
        return false;
    }
    if c != ' ' && c.is_whitespace() {
        return false;
    }
    !matches!(c,
        '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}'
        | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}' | '\u{e000}'..='\u{f8ff}')
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn quotes_plain_names_with_double_quotes() {
        assert_eq!(go_quote("ubuntu-24.04"), r#""ubuntu-24.04""#);
    }

    #[test]
    fn escapes_quotes_backslashes_and_controls_like_go() {
        assert_eq!(go_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(go_quote("a\nb\tc\u{0}d\u{7f}"), r#""a\nb\tc\x00d\x7f""#);
        assert_eq!(go_quote("\u{a0}\u{200b}"), r#""\u00a0\u200b""#);
    }

    #[test]
    fn keeps_printable_unicode() {
        assert_eq!(
            go_quote("Ubuntu 24.04 – Ünïcødé 日本"),
            "\"Ubuntu 24.04 – Ünïcødé 日本\""
        );
    }
}

//! `-o go-template=…`: Go's text/template (the gotmpl crate) over the object as JSON,
//! as kubectl runs it: missing keys print `<no value>`.

use serde_json::Value;
use std::sync::Arc;

/// A parsed Go template.
#[derive(Clone)]
pub struct GoTemplate {
    template: Arc<gotmpl::Template>,
}

impl std::fmt::Debug for GoTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GoTemplate")
    }
}

impl GoTemplate {
    /// Parses `text`; the error says where it is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        // gotmpl 0.6 ends a template quietly at a stray {{end}} or an unclosed
        // {{range}}/{{if}}; Go refuses both, and so does kubectl.
        check_blocks(text).map_err(|e| format!("invalid go-template: {e}"))?;
        let template = gotmpl::Template::new("output")
            .parse(text)
            .map_err(|e| format!("invalid go-template: {e}"))?;
        Ok(Self {
            template: Arc::new(template),
        })
    }

    /// Runs the template on `data`.
    pub fn render(&self, data: &Value) -> Result<String, String> {
        let data = gotmpl::to_value(data).map_err(|e| format!("go-template data: {e}"))?;
        self.template
            .execute_to_string(&data)
            .map_err(|e| format!("error executing template: {e}"))
    }
}

/// Checks that every `{{if}}`, `{{range}}`, `{{with}}`, `{{define}}` and `{{block}}` has
/// its `{{end}}`, and `{{else}}` and `{{end}}` appear only inside one, as Go's parser does.
fn check_blocks(text: &str) -> Result<(), String> {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let action = &rest[start + 2..];
        let end = action_end(action).ok_or("unclosed action")?;
        let body = action[..end].trim_start_matches('-').trim_end_matches('-').trim();
        rest = &action[end + 2..];
        if body.starts_with("/*") {
            continue;
        }
        let word = body
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or_default();
        match word {
            "if" | "range" | "with" | "define" | "block" => open.push(word),
            "else" if !matches!(open.last(), Some(&("if" | "range" | "with"))) => {
                return Err("unexpected {{else}}".into());
            }
            "end" if open.pop().is_none() => return Err("unexpected {{end}}".into()),
            _ => {}
        }
    }
    match open.last() {
        Some(word) => Err(format!("unexpected EOF: {{{{{word}}}}} has no {{{{end}}}}")),
        None => Ok(()),
    }
}

/// Where the action starting after `{{` ends (its `}}`), skipping quoted text and comments.
fn action_end(action: &str) -> Option<usize> {
    if let Some(comment) = action.trim_start_matches('-').trim_start().strip_prefix("/*") {
        let close = comment.find("*/")?;
        let after = action.len() - comment.len() + close + 2;
        return action[after..].find("}}").map(|i| after + i);
    }
    let bytes = action.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => i += action[i + 1..].find('`')? + 1,
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_see_the_json_fields_and_range_over_items() {
        let data = json!({"kind": "List", "items": [
            {"metadata": {"name": "a"}, "status": {"hardwareVersion": 21}},
            {"metadata": {"name": "b"}, "status": {}}
        ]});
        let t = GoTemplate::parse(
            r#"{{range .items}}{{.metadata.name}}={{.status.hardwareVersion}}{{"\n"}}{{end}}"#,
        )
        .unwrap();
        assert_eq!(t.render(&data).unwrap(), "a=21\nb=<no value>\n");
        let t = GoTemplate::parse(r#"{{len .items}} {{.kind}}"#).unwrap();
        assert_eq!(t.render(&data).unwrap(), "2 List");
    }

    #[test]
    fn bad_templates_are_refused_when_parsed() {
        for (t, says) in [
            ("{{.items", "unclosed action"),
            ("{{range .items}}x", "unexpected EOF: {{range}} has no {{end}}"),
            ("{{if .a}}x{{else}}y", "unexpected EOF: {{if}} has no {{end}}"),
            ("x{{end}}y", "unexpected {{end}}"),
            ("{{else}}", "unexpected {{else}}"),
        ] {
            let e = GoTemplate::parse(t).unwrap_err();
            assert!(
                e.starts_with("invalid go-template: ") && e.contains(says),
                "{t}: {e}"
            );
        }
        for t in [
            r#"{{range .items}}{{if .a}}{{"}}"}}{{else if .b}}{{end}}{{end}}"#,
            "{{/* {{end}} */}}{{- with .a -}}{{.}}{{- end -}}",
            "{{`{{end}}`}}",
        ] {
            assert!(GoTemplate::parse(t).is_ok(), "{t}");
        }
    }
}

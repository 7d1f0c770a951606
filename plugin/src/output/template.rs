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
        let e = GoTemplate::parse("{{.items").unwrap_err();
        assert!(e.starts_with("invalid go-template: "), "{e}");
    }
}

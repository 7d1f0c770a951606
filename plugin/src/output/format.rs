//! `-o`: kubectl's output formats, each command taking only those it can print, so clap
//! refuses the rest with the list of what the command takes.

use super::{columns::Columns, jsonpath::Template, template::GoTemplate};
use crate::cli::Format;
use clap::{
    ValueEnum as _,
    builder::{PossibleValue, TypedValueParser},
    error::ErrorKind,
};
use std::{ffi::OsStr, sync::Arc};

/// What `-o` asked for.
#[derive(Debug, Clone)]
pub enum Output {
    /// A fixed format: table, wide, json, yaml, name or id.
    Format(Format),
    /// `jsonpath=` / `jsonpath-file=`.
    JsonPath(Arc<Template>),
    /// `go-template=` / `go-template-file=` (and kubectl's aliases `template=`, `templatefile=`).
    GoTemplate(GoTemplate),
    /// `custom-columns=` / `custom-columns-file=`.
    CustomColumns(Arc<Columns>),
}

impl Default for Output {
    fn default() -> Self {
        Self::Format(Format::Table)
    }
}

impl Output {
    /// The fixed format, if this is one.
    pub fn format(&self) -> Option<Format> {
        match self {
            Self::Format(f) => Some(*f),
            _ => None,
        }
    }

    /// Whether the output is a table of columns (default, wide or custom).
    pub fn is_table(&self) -> bool {
        matches!(
            self,
            Self::Format(Format::Table | Format::Wide) | Self::CustomColumns(_)
        )
    }
}

/// The templated formats, as `-o` spells them; `*-file` forms read the template from a file.
const TEMPLATED: &[&str] = &[
    "jsonpath",
    "jsonpath-file",
    "go-template",
    "go-template-file",
    "template",
    "templatefile",
    "custom-columns",
    "custom-columns-file",
];

/// [`TEMPLATED`] as `--help` and completion show them.
const TEMPLATED_HINTS: &[&str] = &[
    "jsonpath=",
    "jsonpath-file=",
    "go-template=",
    "go-template-file=",
    "template=",
    "templatefile=",
    "custom-columns=",
    "custom-columns-file=",
];

/// The `-o` parser of a command: the fixed formats it prints, plus the templates.
#[derive(Clone)]
pub struct OutputParser {
    fixed: &'static [&'static str],
}

/// `-o` taking `fixed` formats and every template (jsonpath, go-template, custom-columns).
pub fn outputs(fixed: &'static [&'static str]) -> OutputParser {
    OutputParser { fixed }
}

impl OutputParser {
    fn parse(&self, value: &str) -> Result<Output, String> {
        if let Some((kind, arg)) = value.split_once('=')
            && TEMPLATED.contains(&kind)
        {
            let text = match kind.strip_suffix("-file").or(kind.strip_suffix("file")) {
                Some(_) => std::fs::read_to_string(arg).map_err(|e| format!("reading {kind} {arg}: {e}"))?,
                None => arg.to_string(),
            };
            return match kind {
                "jsonpath" | "jsonpath-file" => Template::parse(&text)
                    .map(|t| Output::JsonPath(Arc::new(t)))
                    .map_err(|e| format!("error parsing jsonpath {text}: {e}")),
                "custom-columns" => Columns::parse(&text).map(|c| Output::CustomColumns(Arc::new(c))),
                "custom-columns-file" => {
                    Columns::parse_file(&text).map(|c| Output::CustomColumns(Arc::new(c)))
                }
                _ => GoTemplate::parse(&text).map(Output::GoTemplate),
            };
        }
        if TEMPLATED.contains(&value) {
            return Err(format!("{value} needs a template: -o {value}=..."));
        }
        if self.fixed.contains(&value) {
            return Format::from_str(value, false).map(Output::Format);
        }
        Err(format!(
            "this command prints {}, or {}=...",
            self.fixed.join(", "),
            ["jsonpath", "custom-columns", "go-template"].join("=..., ")
        ))
    }
}

impl TypedValueParser for OutputParser {
    type Value = Output;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Output, clap::Error> {
        let text = value
            .to_str()
            .ok_or_else(|| clap::Error::new(ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        self.parse(text).map_err(|why| {
            let flag = arg.map_or_else(|| "--output".to_string(), |a| a.to_string());
            clap::Error::raw(
                ErrorKind::InvalidValue,
                format!("invalid value '{text}' for '{flag}': {why}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let templated = TEMPLATED_HINTS.iter().map(|t| PossibleValue::new(*t));
        Some(Box::new(
            self.fixed.iter().map(|f| PossibleValue::new(*f)).chain(templated),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_take_their_formats_and_every_template() {
        let p = outputs(&["table", "json"]);
        assert!(matches!(p.parse("json"), Ok(Output::Format(Format::Json))));
        assert!(matches!(p.parse("jsonpath={.kind}"), Ok(Output::JsonPath(_))));
        assert!(matches!(
            p.parse("go-template={{.kind}}"),
            Ok(Output::GoTemplate(_))
        ));
        assert!(matches!(
            p.parse("custom-columns=N:.a"),
            Ok(Output::CustomColumns(_))
        ));
        assert!(
            p.parse("wide")
                .unwrap_err()
                .contains("this command prints table, json, or jsonpath=")
        );
        assert!(p.parse("jsonpath").unwrap_err().contains("needs a template"));
        assert!(p.parse("jsonpath={.a").unwrap_err().contains("unclosed action"));
        assert!(
            p.parse("jsonpath-file=/no/such")
                .unwrap_err()
                .contains("reading jsonpath-file /no/such")
        );
    }

    #[test]
    fn template_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t");
        std::fs::write(&file, "{.kind}").unwrap();
        let p = outputs(&["table"]);
        assert!(matches!(
            p.parse(&format!("jsonpath-file={}", file.display())),
            Ok(Output::JsonPath(_))
        ));
        std::fs::write(&file, "{{.kind}}").unwrap();
        assert!(matches!(
            p.parse(&format!("go-template-file={}", file.display())),
            Ok(Output::GoTemplate(_))
        ));
    }
}

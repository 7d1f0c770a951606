//! Finding where each value sits in the source text.

use std::collections::HashMap;
use yaml_rust2::{
    Event,
    parser::{MarkedEventReceiver, Parser},
    scanner::{Marker, TScalarStyle},
};

/// Where a node is in the text (byte offsets) and how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Byte offset of the node's first character.
    pub start: usize,
    /// Byte offset just past a scalar (for containers: past the closing bracket of a
    /// flow collection, else `start`).
    pub end: usize,
    /// 0-based column of the node's first character.
    pub col: usize,
    /// Scalar style, or `None` for collections.
    pub style: Option<TScalarStyle>,
    /// Whether a collection is in flow style (`{…}`/`[…]`).
    pub flow: bool,
}

/// One YAML document: its value and the positions of its nodes and keys, by JSON pointer.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document as JSON.
    pub value: serde_json::Value,
    /// Value nodes by pointer (`/spec/imageName`).
    pub nodes: HashMap<String, Node>,
    /// Key scalars by the pointer of the value they introduce.
    pub keys: HashMap<String, Node>,
}

enum Frame {
    Map {
        key: Option<String>,
        pointer: String,
        start: usize,
        flow: bool,
    },
    Seq {
        index: usize,
        pointer: String,
    },
}

struct Walker<'a> {
    text: &'a str,
    /// Byte offset of every char index (markers count chars).
    offsets: Vec<usize>,
    stack: Vec<Frame>,
    doc: Option<(HashMap<String, Node>, HashMap<String, Node>)>,
    docs: Vec<(HashMap<String, Node>, HashMap<String, Node>)>,
}

impl Walker<'_> {
    fn byte(&self, m: &Marker) -> usize {
        self.offsets.get(m.index()).copied().unwrap_or(self.text.len())
    }

    /// The pointer of the value about to be read, or `None` if a key is expected.
    fn next_pointer(&mut self) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { key: None, .. }) => None,
            Some(Frame::Map {
                key: Some(k),
                pointer,
                ..
            }) => Some(format!("{pointer}/{}", escape(k))),
            Some(Frame::Seq { index, pointer }) => Some(format!("{pointer}/{index}")),
        }
    }

    fn advance(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { index, .. }) => *index += 1,
            None => {}
        }
    }

    fn scalar_end(&self, start: usize, value: &str, style: TScalarStyle) -> usize {
        let rest = &self.text[start..];
        match style {
            TScalarStyle::DoubleQuoted => {
                let mut escaped = false;
                for (i, c) in rest.char_indices().skip(1) {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => return start + i + 1,
                        _ => escaped = false,
                    }
                }
                self.text.len()
            }
            TScalarStyle::SingleQuoted => {
                let bytes = rest.as_bytes();
                let mut i = 1;
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        return start + i + 1;
                    }
                    i += 1;
                }
                self.text.len()
            }
            _ => start + value.len().min(rest.len()),
        }
    }
}

impl MarkedEventReceiver for Walker<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let at = self.byte(&mark);
        match ev {
            Event::DocumentStart => {
                self.doc = Some(Default::default());
                self.stack.clear();
            }
            Event::DocumentEnd => {
                if let Some(doc) = self.doc.take() {
                    self.docs.push(doc);
                }
            }
            Event::Scalar(value, style, ..) => match self.next_pointer() {
                None => {
                    let end = self.scalar_end(at, &value, style);
                    let pointer = match self.stack.last() {
                        Some(Frame::Map { pointer, .. }) => format!("{pointer}/{}", escape(&value)),
                        _ => String::new(),
                    };
                    let node = Node {
                        start: at,
                        end,
                        col: mark.col(),
                        style: Some(style),
                        flow: false,
                    };
                    if let Some((_, keys)) = self.doc.as_mut() {
                        keys.insert(pointer, node);
                    }
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = Some(value);
                    }
                }
                Some(pointer) => {
                    let end = self.scalar_end(at, &value, style);
                    let node = Node {
                        start: at,
                        end,
                        col: mark.col(),
                        style: Some(style),
                        flow: false,
                    };
                    if let Some((nodes, _)) = self.doc.as_mut() {
                        nodes.insert(pointer, node);
                    }
                    self.advance();
                }
            },
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let pointer = self.next_pointer().unwrap_or_default();
                let flow = matches!(self.text[at..].chars().next(), Some('{') | Some('['));
                let node = Node {
                    start: at,
                    end: at,
                    col: mark.col(),
                    style: None,
                    flow,
                };
                if let Some((nodes, _)) = self.doc.as_mut() {
                    nodes.insert(pointer.clone(), node);
                }
                self.stack.push(match ev {
                    Event::MappingStart(..) => Frame::Map {
                        key: None,
                        pointer,
                        start: at,
                        flow,
                    },
                    _ => Frame::Seq { index: 0, pointer },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(Frame::Map {
                    pointer,
                    start,
                    flow: true,
                    ..
                }) = self.stack.last()
                {
                    // Flow mappings end at their closing brace: remember it for inserts.
                    let from = at.max(*start);
                    let end = self.text[from..].find('}').map_or(from, |i| from + i);
                    if let Some((nodes, _)) = self.doc.as_mut()
                        && let Some(n) = nodes.get_mut(pointer)
                    {
                        n.end = end;
                    }
                }
                self.stack.pop();
                self.advance();
            }
            _ => {}
        }
    }
}

/// YAML allows only printable characters (YAML 1.2 §5.1: tab, line breaks, and the
/// printable ranges). yaml-rust2 takes NUL for the end of the input, so a NUL would
/// silently hide the rest of the file from both the reader and the editor.
fn refuse_unprintable(text: &str) -> Result<(), String> {
    let printable = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{85}')
            || ('\u{20}'..='\u{7e}').contains(&c)
            || ('\u{a0}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || c >= '\u{10000}'
    };
    for (n, line) in text.lines().enumerate() {
        if let Some((col, c)) = line.chars().enumerate().find(|&(_, c)| !printable(c)) {
            return Err(format!(
                "line {} column {}: character U+{:04X} is not allowed in YAML",
                n + 1,
                col + 1,
                u32::from(c)
            ));
        }
    }
    Ok(())
}

/// A JSON pointer token for `token` (`~` and `/` escaped).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Parses every document of `text`. Errors give the line and column.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, String> {
    refuse_unprintable(text)?;
    let values = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    let mut walker = Walker {
        text,
        offsets: text.char_indices().map(|(i, _)| i).collect(),
        stack: Vec::new(),
        doc: None,
        docs: Vec::new(),
    };
    Parser::new_from_str(text)
        .load(&mut walker, true)
        .map_err(|e| e.to_string())?;
    if walker.docs.len() != values.len() {
        return Err("could not map documents to source positions".into());
    }
    values
        .iter()
        .zip(walker.docs)
        .map(|(v, (nodes, keys))| {
            Ok(Document {
                value: to_json(v)?,
                nodes,
                keys,
            })
        })
        .collect()
}

/// The document as JSON. Mapping keys must be scalars: Kubernetes objects have no other
/// kind, and turning a mapping key into JSON text at every level of nesting grows the
/// text exponentially (found by fuzzing: 181 bytes of `? ? ? …` took over 10 s).
fn to_json(y: &yaml_rust2::Yaml) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    use yaml_rust2::Yaml;
    Ok(match y {
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .map_or(Value::String(r.clone()), Value::from),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Hash(h) => {
            let mut map = serde_json::Map::with_capacity(h.len());
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) | Yaml::Real(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Hash(_) | Yaml::Array(_) => {
                        return Err("a mapping key is itself a mapping or a list; \
                                    Kubernetes manifests have string keys only"
                            .into());
                    }
                    _ => "null".to_string(),
                };
                map.insert(key, to_json(v)?);
            }
            Value::Object(map)
        }
        _ => Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_scalars_and_keys_by_pointer() {
        let text = "kind: VirtualMachine\nspec:\n  imageName: \"ubuntu\" # c\n  image: {kind: X, name: y}\n";
        let docs = parse_documents(text).unwrap();
        let n = &docs[0].nodes["/spec/imageName"];
        assert_eq!(&text[n.start..n.end], "\"ubuntu\"");
        assert_eq!(docs[0].keys["/spec/imageName"].col, 2);
        assert!(docs[0].nodes["/spec/image"].flow);
        let name = &docs[0].nodes["/spec/image/name"];
        assert_eq!(&text[name.start..name.end], "y");
    }

    #[test]
    fn counts_documents_and_list_items() {
        let text = "a: 1\n---\nkind: List\nitems:\n- spec:\n    imageName: x\n";
        let docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 2);
        let n = &docs[1].nodes["/items/0/spec/imageName"];
        assert_eq!(&text[n.start..n.end], "x");
    }

    #[test]
    fn handles_multibyte_text_before_the_field() {
        let text = "metadata:\n  annotations: {note: \"日本語\"}\nspec:\n  imageName: ubuntu\n";
        let docs = parse_documents(text).unwrap();
        let n = &docs[0].nodes["/spec/imageName"];
        assert_eq!(&text[n.start..n.end], "ubuntu");
    }

    #[test]
    fn json_documents_are_located_too() {
        let text = "{\"kind\": \"VirtualMachine\", \"spec\": {\"imageName\": \"ubuntu\"}}";
        let docs = parse_documents(text).unwrap();
        let n = &docs[0].nodes["/spec/imageName"];
        assert_eq!(&text[n.start..n.end], "\"ubuntu\"");
        assert!(docs[0].nodes["/spec"].flow);
        assert_eq!(
            &text[docs[0].nodes["/spec"].end..docs[0].nodes["/spec"].end + 1],
            "}"
        );
    }

    #[test]
    fn characters_yaml_does_not_allow_are_refused_with_their_place() {
        // Found by the pin_manifest fuzz target: yaml-rust2 stopped reading at the NUL,
        // so a second pin could not see the spec.image the first one had added.
        let text = "kind: VirtualMachine\nspec:\n  imageName: ubuntu-24.04\u{0}  powerState: On\n";
        assert_eq!(
            parse_documents(text).unwrap_err(),
            "line 3 column 26: character U+0000 is not allowed in YAML"
        );
        assert!(parse_documents("a: \u{1b}[31m\n").is_err());
        assert!(parse_documents("a: \"tab\there, é, 日本, 🙂\"\r\n").is_ok());
    }

    #[test]
    fn mapping_keys_that_are_mappings_are_refused_quickly() {
        // Found by the pin_manifest fuzz target: nested complex keys grew exponentially.
        let text = format!("{}a: b\n", "? ".repeat(40));
        let started = std::time::Instant::now();
        let e = parse_documents(&text).unwrap_err();
        assert!(e.contains("a mapping key is itself a mapping or a list"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let doc = &parse_documents("1: a\ntrue: b\n1.5: c\n").unwrap()[0];
        assert_eq!(doc.value, serde_json::json!({"1": "a", "true": "b", "1.5": "c"}));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = parse_documents("a: [1, 2\nb: c\n").unwrap_err();
        assert!(err.contains("line"), "{err}");
    }
}

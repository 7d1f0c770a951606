//! kubectl's JSONPath templates (`-o jsonpath=…`, `--sort-by`, custom columns).
//!
//! kubectl's dialect is not RFC 9535 JSONPath (which the JSONPath crates implement): a
//! template mixes literal text with `{…}` actions, `{range …}…{end}` loops over results,
//! `{"\n"}` prints quoted text, the leading `$` is optional, missing keys print nothing,
//! several results print separated by spaces and maps or lists print as JSON. This is a
//! small parser and evaluator for the syntax kubectl documents: fields (`.a`, `['a.b']`,
//! `a\.b`), `*`, `..`, `[n]`, `[start:end:step]`, unions `[a,b]`, filters `[?(@.x=="y")]`,
//! `range`/`end` and quoted text.

use serde_json::Value;
use std::{cmp::Ordering, fmt::Write as _};

/// A parse or evaluation error, in kubectl's words where kubectl has them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error(msg.into()))
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Path(Path),
    Range(Path, Vec<Node>),
}

/// A path: where it starts and the steps from there.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    from_root: bool,
    steps: Vec<Step>,
    /// The expression as kubectl quotes it in errors, e.g. `{.status.name}`.
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// `.name` or `['name']`.
    Field(String),
    /// `*` or `[*]`: every element or value.
    All,
    /// `..`: the value and everything under it, each node before its children (the
    /// next step, as in `..name`, then applies to each).
    Descend,
    /// `[start:end:step]`; `[n]` is `[n:n+1]`.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
        single: bool,
    },
    /// `['a','b']` or `[0,2]`: each member's results in turn; a quoted member is a path
    /// of its own (`['metadata.name']`, with `\.` for a dot in a key).
    Union(Vec<Vec<Step>>),
    /// `[?(…)]`.
    Filter(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Path,
    test: Option<(Op, Operand)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Path(Path),
    Literal(Value),
}

impl Template {
    /// Parses a template such as `{range .items[*]}{.metadata.name}{"\n"}{end}`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut stack: Vec<(Path, Vec<Node>)> = Vec::new();
        let mut nodes = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                push(&mut stack, &mut nodes, Node::Text(rest.to_string()));
                break;
            };
            if open > 0 {
                push(&mut stack, &mut nodes, Node::Text(rest[..open].to_string()));
            }
            let close =
                action_end(&rest[open + 1..]).ok_or_else(|| Error(format!("unclosed action in {text:?}")))?;
            let action = rest[open + 1..open + 1 + close].trim();
            rest = &rest[open + 1 + close + 1..];
            if action == "end" {
                let (path, body) = stack
                    .pop()
                    .ok_or_else(|| Error("not in range, nothing to end".into()))?;
                push(&mut stack, &mut nodes, Node::Range(path, body));
            } else if let Some(expr) = action
                .strip_prefix("range")
                .filter(|e| e.starts_with([' ', '\t']))
            {
                stack.push((Path::parse(expr.trim())?, Vec::new()));
            } else if action.starts_with('"') {
                let mut p = Parser::new(action);
                let s = p.quoted()?;
                if !p.done() {
                    return err(format!("unexpected {:?} after quoted text", p.rest()));
                }
                push(&mut stack, &mut nodes, Node::Text(s));
            } else if action.is_empty() {
                return err("empty action {}");
            } else {
                push(&mut stack, &mut nodes, Node::Path(Path::parse(action)?));
            }
        }
        if !stack.is_empty() {
            return err("unclosed range: add {end}");
        }
        Ok(Self { nodes })
    }

    /// kubectl's relaxed form for `--sort-by` and custom columns: `{.a.b}`, `.a.b` or `a.b`.
    pub fn relaxed(expr: &str) -> Result<Path, Error> {
        let inner = expr.trim();
        let inner = match inner.strip_prefix('{') {
            Some(s) => s
                .strip_suffix('}')
                .ok_or_else(|| Error(format!("unclosed action in {expr:?}")))?,
            None => inner,
        };
        if inner.is_empty() || inner.contains(['{', '}']) {
            return err(format!(
                "unexpected path string {expr:?}, expected a 'name1.name2' or '.name1.name2' or '{{name1.name2}}' or '{{.name1.name2}}'"
            ));
        }
        let inner = if inner.starts_with(['.', '[', '$', '@']) {
            inner.to_string()
        } else {
            format!(".{inner}")
        };
        Path::parse(&inner)
    }

    /// Renders the template for `data`, as kubectl prints it.
    pub fn render(&self, data: &Value) -> Result<String, Error> {
        let mut out = String::new();
        render(&self.nodes, data, data, &mut out)?;
        Ok(out)
    }
}

fn push(stack: &mut [(Path, Vec<Node>)], nodes: &mut Vec<Node>, node: Node) {
    match stack.last_mut() {
        Some((_, body)) => body.push(node),
        None => nodes.push(node),
    }
}

/// Where the action starting after `{` ends (its `}`), skipping quoted text.
fn action_end(s: &str) -> Option<usize> {
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '}' => return Some(i),
            None => {}
        }
    }
    None
}

fn render(nodes: &[Node], root: &Value, current: &Value, out: &mut String) -> Result<(), Error> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Path(p) => {
                let results = p.eval(root, current)?;
                for (i, v) in results.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(&text(v));
                }
            }
            Node::Range(p, body) => {
                for v in p.eval(root, current)? {
                    render(body, root, v, out)?;
                }
            }
        }
    }
    Ok(())
}

/// One result as kubectl prints it: strings bare, maps and lists as JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(_) | Value::Object(_) => go_json(v),
        other => other.to_string(),
    }
}

/// Compact JSON escaped as Go's encoder escapes it (`<`, `>`, `&` as `\u003c` …).
fn go_json(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    if !s.contains(['<', '>', '&']) {
        return s;
    }
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A value as Go's `%v` prints what kubectl decoded (custom columns): `[a b]`, `map[k:v]`.
pub fn go_value(v: &Value) -> String {
    let mut s = String::new();
    go_value_into(v, &mut s);
    s
}

fn go_value_into(v: &Value, s: &mut String) {
    match v {
        Value::Null => s.push_str("<nil>"),
        Value::String(t) => s.push_str(t),
        Value::Array(items) => {
            s.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                go_value_into(item, s);
            }
            s.push(']');
        }
        Value::Object(map) => {
            s.push_str("map[");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "{k}:");
                go_value_into(&map[k], s);
            }
            s.push(']');
        }
        other => {
            let _ = write!(s, "{other}");
        }
    }
}

impl Path {
    fn parse(text: &str) -> Result<Self, Error> {
        let mut p = Parser::new(text);
        let path = p.path()?;
        if !p.done() {
            return err(format!("unrecognized character in action: {:?}", p.rest()));
        }
        Ok(path)
    }

    /// Every value the path reaches from `current` (`$` paths from `root`).
    pub fn eval<'a>(&self, root: &'a Value, current: &'a Value) -> Result<Vec<&'a Value>, Error> {
        let mut values = vec![if self.from_root { root } else { current }];
        for step in &self.steps {
            values = step.apply_all(root, &values)?;
        }
        Ok(values)
    }

    /// The expression, as `{.a.b}`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first value the path reaches, if any (`--sort-by`).
    pub fn first<'a>(&self, data: &'a Value) -> Result<Option<&'a Value>, Error> {
        Ok(self.eval(data, data)?.into_iter().next())
    }
}

impl Step {
    /// The step on a set of values; a union gives each member's results in turn, as kubectl does.
    fn apply_all<'a>(&self, root: &'a Value, values: &[&'a Value]) -> Result<Vec<&'a Value>, Error> {
        let mut out = Vec::new();
        match self {
            Self::Union(members) => {
                for steps in members {
                    let mut set = values.to_vec();
                    for s in steps {
                        set = s.apply_all(root, &set)?;
                    }
                    out.extend(set);
                }
            }
            _ => {
                for v in values {
                    self.apply(root, v, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    fn apply<'a>(&self, root: &'a Value, v: &'a Value, out: &mut Vec<&'a Value>) -> Result<(), Error> {
        match self {
            // A missing key prints nothing, as with kubectl's default --allow-missing-template-keys.
            Self::Field(name) => out.extend(v.get(name.as_str()).filter(|_| v.is_object())),
            Self::All => match v {
                Value::Array(items) => out.extend(items),
                Value::Object(map) => out.extend(map.values()),
                _ => {}
            },
            Self::Descend => descend(v, out),
            Self::Slice {
                start,
                end,
                step,
                single,
            } => slice(v, *start, *end, *step, *single, out)?,
            Self::Union(_) => out.extend(self.apply_all(root, &[v])?),
            Self::Filter(f) => {
                if let Value::Array(items) = v {
                    for item in items {
                        if f.matches(root, item)? {
                            out.push(item);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn descend<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(v);
    match v {
        Value::Object(map) => map.values().for_each(|child| descend(child, out)),
        Value::Array(items) => items.iter().for_each(|child| descend(child, out)),
        _ => {}
    }
}

fn slice<'a>(
    v: &'a Value,
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    single: bool,
    out: &mut Vec<&'a Value>,
) -> Result<(), Error> {
    let items = match v {
        Value::Array(items) => items,
        Value::Null => return Ok(()),
        other => return err(format!("{} is not array or slice", kind_of(other))),
    };
    let len = items.len() as i64;
    let mut from = start.unwrap_or(0);
    if from < 0 {
        from += len;
    }
    let mut to = match end {
        Some(e) if e < 0 || (single && e == 0) => e + len,
        Some(e) => e,
        None => len,
    };
    if single {
        to = from + 1;
    }
    if from == to {
        return Ok(());
    }
    if from < 0 || from >= len {
        return err(format!("array index out of bounds: index {from}, length {len}"));
    }
    if to < 0 || to > len {
        return err(format!(
            "array index out of bounds: index {}, length {len}",
            to - 1
        ));
    }
    if from > to {
        return err(format!("starting index {from} is greater than ending index {to}"));
    }
    let step = step.unwrap_or(1);
    if step <= 0 {
        return err("step must be > 0");
    }
    out.extend(items[from as usize..to as usize].iter().step_by(step as usize));
    Ok(())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "map",
    }
}

impl Filter {
    fn matches(&self, root: &Value, item: &Value) -> Result<bool, Error> {
        let left = self.left.eval(root, item)?;
        let Some((op, right)) = &self.test else {
            return Ok(!left.is_empty());
        };
        let right: Vec<&Value> = match right {
            Operand::Path(p) => p.eval(root, item)?,
            Operand::Literal(v) => vec![v],
        };
        Ok(left.iter().any(|l| {
            right.iter().any(|r| match compare(l, r) {
                Some(o) => op.holds(o),
                None => *op == Op::Ne,
            })
        }))
    }
}

impl Op {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Self::Eq => o == Ordering::Equal,
            Self::Ne => o != Ordering::Equal,
            Self::Lt => o == Ordering::Less,
            Self::Le => o != Ordering::Greater,
            Self::Gt => o == Ordering::Greater,
            Self::Ge => o != Ordering::Less,
        }
    }
}

/// Orders two values of one kind (numbers by value); different kinds are unequal.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

/// A character-level parser for one action.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn done(&self) -> bool {
        self.rest().trim().is_empty()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn path(&mut self) -> Result<Path, Error> {
        let from_root = if self.eat("$") {
            true
        } else {
            self.eat("@");
            false
        };
        let mut steps = Vec::new();
        // A bare first field (`{kind}`) reads as `.kind`.
        if self.peek().is_some_and(is_ident_char) {
            steps.push(Step::Field(self.ident()?));
        }
        loop {
            if self.eat("..") {
                steps.push(Step::Descend);
                if self.eat("*") {
                    steps.push(Step::All);
                } else if self.peek() != Some('[') {
                    steps.push(Step::Field(self.ident()?));
                }
            } else if self.eat(".") {
                if self.eat("*") {
                    steps.push(Step::All);
                } else if self.peek().is_some_and(is_ident_char) {
                    steps.push(Step::Field(self.ident()?));
                } else if self.peek().is_none() && steps.is_empty() {
                    // `{.}`: the current object.
                } else {
                    return err(format!("a field name must follow '.' in {:?}", self.text));
                }
            } else if self.eat("[") {
                steps.push(self.bracket()?);
            } else {
                return Ok(Path {
                    from_root,
                    steps,
                    text: format!("{{{}}}", &self.text[..self.pos]),
                });
            }
        }
    }

    fn ident(&mut self) -> Result<String, Error> {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' {
                self.pos += 1;
                let escaped = self
                    .peek()
                    .ok_or_else(|| Error(format!("nothing to escape at the end of {:?}", self.text)))?;
                s.push(escaped);
                self.pos += escaped.len_utf8();
            } else if is_ident_char(c) {
                s.push(c);
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        if s.is_empty() {
            return err(format!("expected a field name at {:?}", self.rest()));
        }
        Ok(s)
    }

    fn bracket(&mut self) -> Result<Step, Error> {
        self.skip_space();
        let step = if self.eat("*") {
            Step::All
        } else if self.eat("?(") {
            let f = self.filter()?;
            self.skip_space();
            if !self.eat(")") {
                return err(format!("unclosed filter in {:?}", self.text));
            }
            Step::Filter(Box::new(f))
        } else {
            let mut parts = Vec::new();
            loop {
                self.skip_space();
                parts.push(if matches!(self.peek(), Some('\'' | '"')) {
                    let key = self.quoted_raw()?;
                    split_key(&key).into_iter().map(Step::Field).collect()
                } else {
                    vec![self.slice()?]
                });
                self.skip_space();
                if !self.eat(",") {
                    break;
                }
            }
            if parts.len() == 1 && parts[0].len() == 1 {
                parts.remove(0).remove(0)
            } else {
                Step::Union(parts)
            }
        };
        self.skip_space();
        if !self.eat("]") {
            return err(format!("unclosed array expect ] in {:?}", self.text));
        }
        Ok(step)
    }

    fn int(&mut self) -> Result<Option<i64>, Error> {
        self.skip_space();
        let start = self.pos;
        self.eat("-");
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let s = &self.text[start..self.pos];
        self.skip_space();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse()
            .map(Some)
            .map_err(|_| Error(format!("invalid array index {s:?} in {:?}", self.text)))
    }

    fn slice(&mut self) -> Result<Step, Error> {
        let start = self.int()?;
        if !self.eat(":") {
            return match start {
                Some(n) => Ok(Step::Slice {
                    start: Some(n),
                    end: None,
                    step: None,
                    single: true,
                }),
                None => err(format!("invalid array index at {:?}", self.rest())),
            };
        }
        let end = self.int()?;
        let step = if self.eat(":") { self.int()? } else { None };
        Ok(Step::Slice {
            start,
            end,
            step,
            single: false,
        })
    }

    /// A quoted key in brackets, its backslashes kept for [`split_key`].
    fn quoted_raw(&mut self) -> Result<String, Error> {
        let Some(quote) = self.peek().filter(|c| *c == '"' || *c == '\'') else {
            return err(format!("expected a quoted string at {:?}", self.rest()));
        };
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        while let Some(c) = self.peek() {
            self.pos += c.len_utf8();
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == quote {
                return Ok(self.text[start..self.pos - 1].to_string());
            }
        }
        err(format!("unterminated quoted string in {:?}", self.text))
    }

    fn quoted(&mut self) -> Result<String, Error> {
        let quote = self.peek().filter(|c| *c == '"' || *c == '\'');
        let Some(quote) = quote else {
            return err(format!("expected a quoted string at {:?}", self.rest()));
        };
        self.pos += 1;
        let mut s = String::new();
        loop {
            let c = self
                .peek()
                .ok_or_else(|| Error(format!("unterminated quoted string in {:?}", self.text)))?;
            self.pos += c.len_utf8();
            match c {
                '\\' => {
                    let e = self
                        .peek()
                        .ok_or_else(|| Error(format!("unterminated quoted string in {:?}", self.text)))?;
                    self.pos += e.len_utf8();
                    match e {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        '0' => s.push('\0'),
                        'u' => {
                            let hex = self.rest().get(..4).unwrap_or_default();
                            let ch = u32::from_str_radix(hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or_else(|| Error(format!("invalid \\u escape in {:?}", self.text)))?;
                            self.pos += 4;
                            s.push(ch);
                        }
                        other => s.push(other),
                    }
                }
                c if c == quote => return Ok(s),
                c => s.push(c),
            }
        }
    }

    fn filter(&mut self) -> Result<Filter, Error> {
        self.skip_space();
        let left = self.path()?;
        self.skip_space();
        let op = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .into_iter()
        .find(|(s, _)| self.eat(s));
        let Some((_, op)) = op else {
            return Ok(Filter { left, test: None });
        };
        self.skip_space();
        let right = match self.peek() {
            Some('"' | '\'') => Operand::Literal(Value::String(self.quoted()?)),
            Some('@' | '$') => Operand::Path(self.path()?),
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
                {
                    self.pos += 1;
                }
                let word = &self.text[start..self.pos];
                let v: Value = serde_json::from_str(word)
                    .map_err(|_| Error(format!("unrecognized value {word:?} in filter {:?}", self.text)))?;
                Operand::Literal(v)
            }
        };
        Ok(Filter {
            left,
            test: Some((op, right)),
        })
    }
}

/// `metadata.name` → `metadata`, `name`; `a\.b` stays one key `a.b`.
fn split_key(key: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut current = String::new();
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            '.' => keys.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    keys.push(current);
    keys
}

fn is_ident_char(c: char) -> bool {
    !(c.is_whitespace()
        || matches!(
            c,
            '.' | ','
                | '['
                | ']'
                | '$'
                | '@'
                | '{'
                | '}'
                | '('
                | ')'
                | '='
                | '!'
                | '<'
                | '>'
                | '"'
                | '\''
                | '*'
                | ':'
        ))
        || c == '\\'
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The input of kubectl's JSONPath documentation.
    fn doc() -> Value {
        json!({
            "kind": "List",
            "items": [
                {"kind": "None", "metadata": {"name": "127.0.0.1", "labels": {"kubernetes.io/hostname": "127.0.0.1"}},
                 "status": {"capacity": {"cpu": "4"}, "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.1"}]}},
                {"kind": "None", "metadata": {"name": "127.0.0.2"},
                 "status": {"capacity": {"cpu": "8"}, "addresses": [
                     {"type": "LegacyHostIP", "address": "127.0.0.2"}, {"type": "another", "address": "127.0.0.3"}]}}
            ],
            "users": [
                {"name": "myself", "user": {}},
                {"name": "e2e", "user": {"username": "admin", "password": "secret"}}
            ]
        })
    }

    fn run(t: &str) -> String {
        Template::parse(t)
            .and_then(|t| t.render(&doc()))
            .unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    #[test]
    fn the_documented_examples_print_what_kubectl_prints() {
        assert_eq!(run("kind is {.kind}"), "kind is List");
        assert_eq!(run("{.kind}"), "List");
        assert_eq!(run("{['kind']}"), "List");
        assert_eq!(run("{$.kind}"), "List");
        assert_eq!(run("{..name}"), "127.0.0.1 127.0.0.2 myself e2e");
        // Each node's own field before its children's, as kubectl walks.
        let nested = json!({"a": {"type": "deep"}, "type": "top", "b": [{"type": "item"}]});
        let r = Template::parse("{..type}").unwrap().render(&nested).unwrap();
        assert_eq!(r, "top deep item");
        assert_eq!(run("{.items[*].metadata.name}"), "127.0.0.1 127.0.0.2");
        assert_eq!(run("{.users[0].name}"), "myself");
        assert_eq!(
            run("{.items[*]['metadata.name', 'status.capacity']}"),
            r#"127.0.0.1 127.0.0.2 {"cpu":"4"} {"cpu":"8"}"#
        );
        assert_eq!(run("{.users[?(@.name==\"e2e\")].user.password}"), "secret");
        assert_eq!(
            run("{range .items[*]}[{.metadata.name}, {.status.capacity}] {end}"),
            "[127.0.0.1, {\"cpu\":\"4\"}] [127.0.0.2, {\"cpu\":\"8\"}] "
        );
        assert_eq!(
            run("{.items[0].metadata.labels.kubernetes\\.io/hostname}"),
            "127.0.0.1"
        );
        assert_eq!(run("{.users[-1:].name}"), "e2e");
        assert_eq!(run("{.users[-2].name}"), "myself");
        assert_eq!(
            run("{.items[0].metadata.labels['kubernetes\\.io/hostname']}"),
            "127.0.0.1"
        );
    }

    #[test]
    fn ranges_nest_and_quoted_text_is_unescaped() {
        assert_eq!(
            run(
                "{range .items[*]}{.metadata.name}:{range .status.addresses[*]}{.address},{end}{\"\\n\"}{end}"
            ),
            "127.0.0.1:127.0.0.1,\n127.0.0.2:127.0.0.2,127.0.0.3,\n"
        );
        assert_eq!(run("{\"a}b\\tc\"}"), "a}b\tc");
    }

    #[test]
    fn missing_keys_print_nothing_and_slices_follow_kubectl() {
        assert_eq!(run("<{.nope.deeper}>"), "<>");
        assert_eq!(run("{.users[0:1].name}"), "myself");
        assert_eq!(run("{.users[:].name}"), "myself e2e");
        assert_eq!(run("{.users[0:2:2].name}"), "myself");
        assert_eq!(run("{.users[0,1].name}"), "myself e2e");
        assert_eq!(run("{.users[1:1].name}"), "");
        let e = Template::parse("{.users[5].name}")
            .unwrap()
            .render(&doc())
            .unwrap_err();
        assert_eq!(e.0, "array index out of bounds: index 5, length 2");
        let e = Template::parse("{.kind[0]}").unwrap().render(&doc()).unwrap_err();
        assert_eq!(e.0, "string is not array or slice");
    }

    #[test]
    fn filters_compare_numbers_strings_and_existence() {
        let data = json!({"items": [
            {"n": "a", "v": 3, "ok": true}, {"n": "b", "v": 10}, {"n": "c", "v": 2.5, "ok": false}
        ]});
        let r = |t: &str| Template::parse(t).unwrap().render(&data).unwrap();
        assert_eq!(r("{.items[?(@.v>2.9)].n}"), "a b");
        assert_eq!(r("{.items[?(@.v<=3)].n}"), "a c");
        assert_eq!(r("{.items[?(@.n!='b')].n}"), "a c");
        assert_eq!(r("{.items[?(@.ok)].n}"), "a c");
        assert_eq!(r("{.items[?(@.ok==true)].n}"), "a");
        assert_eq!(r("{.items[*].v}"), "3 10 2.5");
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        for (t, says) in [
            ("{.kind", "unclosed action"),
            ("{end}", "not in range, nothing to end"),
            ("{range .items[*]}{.kind}", "unclosed range"),
            ("{.items[*}", "unclosed array"),
            ("{\"abc}", "unclosed action"),
            ("{.items[x]}", "invalid array index"),
            ("{}", "empty action"),
        ] {
            let e = Template::parse(t).unwrap_err();
            assert!(e.0.contains(says), "{t}: {e}");
        }
    }

    #[test]
    fn relaxed_paths_take_kubectl_forms() {
        let data = json!({"metadata": {"name": "x"}});
        for expr in [
            "{.metadata.name}",
            ".metadata.name",
            "metadata.name",
            "{metadata.name}",
        ] {
            let p = Template::relaxed(expr).unwrap();
            assert_eq!(p.first(&data).unwrap(), Some(&json!("x")), "{expr}");
        }
        assert!(Template::relaxed("{.a}{.b}").is_err());
        assert!(Template::relaxed("").is_err());
    }

    #[test]
    fn go_values_print_like_percent_v() {
        assert_eq!(
            go_value(&json!(["a", 1, {"k": "v", "a": null}])),
            "[a 1 map[a:<nil> k:v]]"
        );
        assert_eq!(text(&json!({"x": "<&>"})), "{\"x\":\"\\u003c\\u0026\\u003e\"}");
    }
}

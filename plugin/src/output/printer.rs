//! Printing a set of objects the way `kubectl get` does, for any `-o`: the table with
//! label columns, custom columns, JSONPath, Go templates, JSON/YAML (a `List` unless one
//! object was asked for), names; `--sort-by`, `--no-headers`; and, for `--watch`, one
//! more object at a time lined up with the table printed first.

use super::{
    Output,
    data::{self, write_data},
    jsonpath::Path,
    table::{Cell, Table, Widths},
};
use crate::{
    cli::Format,
    error::{Error, Result},
};
use serde::Serialize;
use serde_json::Value;
use std::{borrow::Cow, cmp::Ordering, collections::BTreeMap, io::Write};

/// kubectl's flags that shape printed objects.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--no-headers`.
    pub no_headers: bool,
    /// `--sort-by`.
    pub sort_by: Option<Path>,
    /// `--show-labels`.
    pub show_labels: bool,
    /// `-L`: label keys shown as columns.
    pub label_columns: Vec<String>,
}

/// The table of some objects; `true` for `-o wide`. `Sync`: large tables are made on
/// two threads.
pub type TableFn<'a, T> = Box<dyn Fn(&[T], bool) -> Table + Sync + 'a>;
/// An object's labels.
pub type LabelsFn<'a, T> = Box<dyn Fn(&T) -> Option<Cow<'_, BTreeMap<String, String>>> + Sync + 'a>;

/// Rows a table thread makes at a time; a table of fewer than two chunks is made on one.
const CHUNK: usize = 2048;

/// How to print one kind of object: its table, labels and `-o name`/`-o id` forms. The
/// object's `Serialize` form is what `-o json` shows and what templates see. The table is
/// asked for one object at a time (and for none, for its header: only that call needs
/// one), so a table of 100,000 objects is written without holding its cells.
pub struct Kind<'a, T> {
    /// The default (`false`) or wide (`true`) table of some objects.
    pub table: TableFn<'a, T>,
    /// The object's labels.
    pub labels: LabelsFn<'a, T>,
    /// `kind.group/name`.
    pub name: Box<dyn Fn(&T) -> String + Sync + 'a>,
    /// The bare ID (`-o id`), where the command prints one.
    pub id: Box<dyn Fn(&T) -> String + Sync + 'a>,
}

/// Prints objects of one kind in one output format.
pub struct Printer<'a, T> {
    kind: Kind<'a, T>,
    output: &'a Output,
    options: &'a Options,
    color: bool,
    /// The table's widths once printed, so watched rows line up.
    widths: Option<Widths>,
    /// Whether a YAML document was written: the next one is preceded by `---`, as
    /// kubectl's watch prints a stream of objects.
    wrote_yaml: bool,
}

impl<'a, T: Serialize + Sync> Printer<'a, T> {
    /// A printer of `kind` for `-o output` and the other flags.
    pub fn new(kind: Kind<'a, T>, output: &'a Output, options: &'a Options) -> Self {
        Self {
            kind,
            output,
            options,
            color: super::use_color(),
            widths: None,
            wrote_yaml: false,
        }
    }

    /// Sorts `items` by `--sort-by`, if given: numbers by value, strings byte by byte, a
    /// missing field first; ties keep their order.
    pub fn sort(&self, items: &mut Vec<T>) -> Result<()> {
        let Some(path) = &self.options.sort_by else {
            return Ok(());
        };
        let mut keyed = Vec::with_capacity(items.len());
        for item in items.drain(..) {
            let value = to_value(&item)?;
            let key = path
                .first(&value)
                .map_err(|e| Error::Usage(format!("--sort-by: {e}")))?
                .cloned();
            keyed.push((key, item));
        }
        if !keyed.is_empty() && keyed.iter().all(|(k, _)| k.is_none()) {
            return Err(Error::Failed(format!(
                "couldn't find any field with path {:?} in the list of objects",
                path.text()
            )));
        }
        if let Some((Some(v), _)) = keyed
            .iter()
            .find(|(k, _)| matches!(k, Some(Value::Array(_) | Value::Object(_))))
        {
            let what = if v.is_array() { "a list" } else { "a map" };
            return Err(Error::Usage(format!(
                "--sort-by: field {} is {what}, which cannot be sorted; pick a field that holds a number or text",
                path.text()
            )));
        }
        keyed.sort_by(|(a, _), (b, _)| sort_order(a.as_ref(), b.as_ref()));
        items.extend(keyed.into_iter().map(|(_, item)| item));
        Ok(())
    }

    /// Prints `items`: `single` prints the one object itself rather than a List.
    pub fn print(&mut self, out: &mut impl Write, items: &[T], single: bool) -> Result<()> {
        match self.output {
            Output::Format(Format::Json | Format::Yaml) => {
                let format = self.output.format().unwrap_or(Format::Json);
                if format == Format::Yaml {
                    if self.wrote_yaml {
                        writeln!(out, "---")?;
                    }
                    self.wrote_yaml = true;
                }
                match items {
                    [one] if single => write_data(out, format, one)?,
                    _ => write_data(out, format, &data::list(items))?,
                }
            }
            Output::Format(Format::Name) => {
                for item in items {
                    writeln!(out, "{}", (self.kind.name)(item))?;
                }
            }
            Output::Format(Format::Id) => {
                for item in items {
                    writeln!(out, "{}", (self.kind.id)(item))?;
                }
            }
            Output::Format(Format::Table | Format::Wide) | Output::CustomColumns(_) => {
                self.write_table(out, items)?;
            }
            Output::JsonPath(template) => {
                let data = self.data(items, single)?;
                let text = template
                    .render(&data)
                    .map_err(|e| Error::Usage(format!("error executing jsonpath: {e}")))?;
                out.write_all(text.as_bytes())?;
            }
            Output::GoTemplate(template) => {
                let data = self.data(items, single)?;
                out.write_all(template.render(&data).map_err(Error::Usage)?.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Prints what a command shows before it may watch: `items` (`single`: one object
    /// itself, not a List), or, `watching` in a format other than a table, each object on
    /// its own, as kubectl's watch never prints a List.
    pub fn print_first(
        &mut self,
        out: &mut impl Write,
        items: &[T],
        single: bool,
        watching: bool,
    ) -> Result<()> {
        if watching && !self.output.is_table() {
            for item in items {
                self.print(out, std::slice::from_ref(item), true)?;
            }
            Ok(())
        } else {
            self.print(out, items, single)
        }
    }

    /// Prints one changed object while watching: a row lined up with the table printed
    /// first, or the object in the chosen format.
    pub fn print_event(&mut self, out: &mut impl Write, item: T) -> Result<()> {
        self.print(out, std::slice::from_ref(&item), true)?;
        out.flush()?;
        Ok(())
    }

    fn data(&self, items: &[T], single: bool) -> Result<Value> {
        match items {
            [one] if single => to_value(one),
            _ => to_value(&data::list(items)),
        }
    }

    /// Writes the table of `items` (`-o` table, wide or custom-columns): the cells of
    /// each row are made twice, once to size the columns and once to write them, so
    /// only one row is held at a time (per thread: a large table is made on two).
    /// Rows after the first table line up with it.
    fn write_table(&mut self, out: &mut impl Write, items: &[T]) -> Result<()> {
        if let Some(widths) = &self.widths {
            return self.write_rows(out, items, widths);
        }
        let header = self.header();
        let headers = !self.options.no_headers;
        let widths = self.fit(Widths::of_header(&header, headers), items)?;
        if headers {
            let header: Vec<Cell> = header.iter().map(|h| Cell::from(h.as_str())).collect();
            widths.write_row(out, &header, self.color)?;
        }
        self.write_rows(out, items, &widths)?;
        self.widths = Some(widths);
        Ok(())
    }

    /// `widths` widened to fit the rows of `items`, half of them on another thread.
    fn fit(&self, mut widths: Widths, items: &[T]) -> Result<Widths> {
        let fit = |mut widths: Widths, items: &[T]| -> Result<Widths> {
            for item in items {
                widths.fit(&self.row(item)?);
            }
            Ok(widths)
        };
        if items.len() < 2 * CHUNK {
            return fit(widths, items);
        }
        let (first, second) = items.split_at(items.len() / 2);
        let (a, b) = std::thread::scope(|s| {
            let other = s.spawn(|| fit(widths.clone(), second));
            let mine = fit(widths.clone(), first);
            (mine, other.join())
        });
        let b = b.map_err(|_| Error::Failed("the table thread panicked".into()))?;
        widths.merge(&a?);
        widths.merge(&b?);
        Ok(widths)
    }

    /// Writes the rows of `items` padded to `widths`: on two threads, each making every
    /// other chunk of rows into a buffer, written here in order (a chunk ahead at most).
    fn write_rows(&self, out: &mut impl Write, items: &[T], widths: &Widths) -> Result<()> {
        let make = |chunk: &[T]| -> Result<Vec<u8>> {
            let mut buf = Vec::new();
            for item in chunk {
                widths.write_row(&mut buf, &self.row(item)?, self.color)?;
            }
            Ok(buf)
        };
        if items.len() < 2 * CHUNK {
            out.write_all(&make(items)?)?;
            return Ok(());
        }
        std::thread::scope(|s| {
            let mut made = Vec::new();
            for turn in 0..2 {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<u8>>>(1);
                s.spawn(move || {
                    for chunk in items.chunks(CHUNK).skip(turn).step_by(2) {
                        // NB: a closed channel means the writer stopped on an error.
                        if tx.send(make(chunk)).is_err() {
                            return;
                        }
                    }
                });
                made.push(rx);
            }
            for i in 0..items.len().div_ceil(CHUNK) {
                let buf = made[i % 2]
                    .recv()
                    .map_err(|_| Error::Failed("the table thread stopped".into()))??;
                out.write_all(&buf)?;
            }
            Ok(())
        })
    }

    /// The column titles, with the label columns.
    fn header(&self) -> Vec<String> {
        if let Output::CustomColumns(columns) = self.output {
            return columns.headers();
        }
        let wide = self.output.format() == Some(Format::Wide);
        let mut header = (self.kind.table)(&[], wide).header;
        let options = self.options;
        header.extend(options.label_columns.iter().map(|key| label_header(key)));
        if options.show_labels {
            header.push("LABELS".into());
        }
        header
    }

    /// One object's row, with the label columns.
    fn row(&self, item: &T) -> Result<Vec<Cell>> {
        if let Output::CustomColumns(columns) = self.output {
            let row = columns.row(&to_value(item)?).map_err(Error::Usage)?;
            return Ok(row.into_iter().map(Cell::from).collect());
        }
        let wide = self.output.format() == Some(Format::Wide);
        let mut row = (self.kind.table)(std::slice::from_ref(item), wide)
            .rows
            .pop()
            .unwrap_or_default();
        let options = self.options;
        if options.label_columns.is_empty() && !options.show_labels {
            return Ok(row);
        }
        let labels = (self.kind.labels)(item);
        let labels = labels.as_deref();
        for key in &options.label_columns {
            let value = labels.and_then(|l| l.get(key)).cloned().unwrap_or_default();
            row.push(value.into());
        }
        if options.show_labels {
            row.push(labels_cell(labels).into());
        }
        Ok(row)
    }
}

fn to_value(item: &impl Serialize) -> Result<Value> {
    serde_json::to_value(item).map_err(|e| Error::Failed(format!("cannot convert the object to JSON: {e}")))
}

/// `-L` column titles as kubectl writes them: the key's last segment, upper case.
fn label_header(key: &str) -> String {
    key.rsplit('/').next().unwrap_or(key).to_uppercase()
}

/// `--show-labels`: `k=v,…` sorted by key, or `<none>`.
fn labels_cell(labels: Option<&BTreeMap<String, String>>) -> String {
    match labels {
        Some(l) if !l.is_empty() => l
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        _ => "<none>".into(),
    }
}

/// `--sort-by` order, as kubectl sorts: missing first, then numbers by value, text that
/// reads as a quantity (`9.4`, `10Gi`) by value, other text byte-wise (`2022` before
/// `22.04.5`), booleans.
fn sort_order(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Number(_)) => 1,
            Some(Value::String(_)) => 2,
            Some(Value::Bool(_)) => 3,
            Some(_) => 4,
        }
    }
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => match (quantity(x), quantity(y)) {
            (Some(qx), Some(qy)) => qx.partial_cmp(&qy).unwrap_or(Ordering::Equal),
            _ => x.cmp(y),
        },
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Prints `data` (what `-o json` prints) for a template or custom columns; custom columns
/// make a row of each element of an array or each item of a List. `false` when `output`
/// is a fixed format, for the command to print.
pub fn print_templated(
    out: &mut impl Write,
    output: &Output,
    data: &Value,
    no_headers: bool,
) -> Result<bool> {
    match output {
        Output::Format(_) => return Ok(false),
        Output::JsonPath(t) => {
            let text = t
                .render(data)
                .map_err(|e| Error::Usage(format!("error executing jsonpath: {e}")))?;
            out.write_all(text.as_bytes())?;
        }
        Output::GoTemplate(t) => out.write_all(t.render(data).map_err(Error::Usage)?.as_bytes())?,
        Output::CustomColumns(columns) => {
            let objects: Vec<&Value> = match data {
                Value::Array(items) => items.iter().collect(),
                Value::Object(o) if o.get("kind") == Some(&Value::from("List")) => o
                    .get("items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .collect(),
                other => vec![other],
            };
            let mut table = Table {
                header: columns.headers(),
                rows: Vec::new(),
            };
            for o in objects {
                let row = columns.row(o).map_err(Error::Usage)?;
                table.rows.push(row.into_iter().map(Cell::from).collect());
            }
            table.write_with(out, false, !no_headers)?;
        }
    }
    Ok(true)
}

/// The value of a Kubernetes quantity (`10`, `9.4`, `500m`, `10Gi`, `1e3`), if `s` is one.
fn quantity(s: &str) -> Option<f64> {
    let digits = s
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(digits);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e => 10f64.powi(e.strip_prefix(['e', 'E'])?.parse().ok()?),
    };
    Some(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Columns, Template};
    use serde_json::json;
    use std::sync::Arc;

    #[derive(Serialize)]
    struct Obj {
        metadata: Meta,
        n: Option<i64>,
    }

    #[derive(Serialize)]
    struct Meta {
        name: String,
        labels: BTreeMap<String, String>,
    }

    fn obj(name: &str, n: Option<i64>, labels: &[(&str, &str)]) -> Obj {
        Obj {
            metadata: Meta {
                name: name.into(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
            n,
        }
    }

    fn kind<'a>() -> Kind<'a, Obj> {
        Kind {
            table: Box::new(|items: &[Obj], wide| {
                let mut t = Table::new(if wide { &["NAME", "N"] } else { &["NAME"] });
                for i in items {
                    let mut row: Vec<Cell> = vec![i.metadata.name.clone().into()];
                    if wide {
                        row.push(format!("{:?}", i.n).into());
                    }
                    t.rows.push(row);
                }
                t
            }),
            labels: Box::new(|o: &Obj| Some(Cow::Borrowed(&o.metadata.labels))),
            name: Box::new(|o: &Obj| format!("obj/{}", o.metadata.name)),
            id: Box::new(|o: &Obj| o.metadata.name.clone()),
        }
    }

    fn print(output: Output, options: Options, mut items: Vec<Obj>, single: bool) -> String {
        let mut p = Printer::new(kind(), &output, &options);
        p.color = false;
        p.sort(&mut items).unwrap();
        let mut out = Vec::new();
        p.print(&mut out, &items, single).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn items() -> Vec<Obj> {
        vec![
            obj("b10", Some(10), &[("app", "web"), ("example.com/tier", "gold")]),
            obj("b9", Some(9), &[]),
            obj("a", None, &[("app", "db")]),
        ]
    }

    #[test]
    fn a_table_made_on_two_threads_is_the_table_made_on_one() {
        // Widths that only a late row sets, rows in chunks, an odd count.
        let n = 5 * CHUNK + 7;
        let objs = || -> Vec<Obj> {
            (0..n)
                .map(|i| {
                    obj(
                        &"x".repeat(1 + i % 13 + usize::from(i == n - 1) * 40),
                        Some(i as i64),
                        &[],
                    )
                })
                .collect()
        };
        let got = print(Output::Format(Format::Wide), Options::default(), objs(), false);
        let mut table = Table::new(&["NAME", "N"]);
        table.rows = objs()
            .iter()
            .map(|o| vec![o.metadata.name.clone().into(), format!("{:?}", o.n).into()])
            .collect();
        let mut want = Vec::new();
        table.write(&mut want, false).unwrap();
        assert_eq!(got, String::from_utf8(want).unwrap());
    }

    #[test]
    fn label_columns_and_show_labels_end_the_table() {
        let options = Options {
            label_columns: vec!["app".into(), "example.com/tier".into()],
            show_labels: true,
            ..Default::default()
        };
        assert_eq!(
            print(Output::default(), options, items(), false),
            "NAME   APP   TIER   LABELS\n\
             b10    web   gold   app=web,example.com/tier=gold\n\
             b9                  <none>\n\
             a      db           app=db\n"
        );
    }

    #[test]
    fn sort_by_orders_numbers_by_value_strings_bytewise_and_missing_first() {
        let names = |path: &str| {
            let options = Options {
                sort_by: Some(Template::relaxed(path).unwrap()),
                no_headers: true,
                ..Default::default()
            };
            print(Output::default(), options, items(), false)
        };
        assert_eq!(names(".n"), "a\nb9\nb10\n");
        assert_eq!(names("{.metadata.name}"), "a\nb10\nb9\n");
        assert_eq!(names("metadata.labels.app"), "b9\na\nb10\n");
        let order = |a: &str, b: &str| sort_order(Some(&json!(a)), Some(&json!(b)));
        assert_eq!(order("9.4", "10.1"), Ordering::Less);
        assert_eq!(order("500m", "1"), Ordering::Less);
        assert_eq!(order("2Gi", "3G"), Ordering::Less);
        assert_eq!(order("2022", "22.04.5"), Ordering::Less);
        assert_eq!(order("ubuntu-9", "ubuntu-10"), Ordering::Greater);
        let output = Output::default();
        let none = Options {
            sort_by: Some(Template::relaxed("metadata.nope").unwrap()),
            ..Default::default()
        };
        let e = Printer::new(kind(), &output, &none)
            .sort(&mut items())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            r#"couldn't find any field with path "{.metadata.nope}" in the list of objects"#
        );
        let labels = Options {
            sort_by: Some(Template::relaxed("metadata.labels").unwrap()),
            ..Default::default()
        };
        let e = Printer::new(kind(), &output, &labels)
            .sort(&mut items())
            .unwrap_err();
        assert!(e.to_string().contains("is a map"), "{e}");
    }

    #[test]
    fn templates_see_a_list_or_the_single_object() {
        let t = |s: &str| Output::JsonPath(Arc::new(Template::parse(s).unwrap()));
        assert_eq!(
            print(
                t("{.kind} {.items[*].metadata.name}"),
                Options::default(),
                items(),
                false
            ),
            "List b10 b9 a"
        );
        assert_eq!(
            print(
                t("{.metadata.name}"),
                Options::default(),
                vec![obj("x", None, &[])],
                true
            ),
            "x"
        );
        let json = print(
            Output::Format(Format::Json),
            Options::default(),
            vec![obj("x", None, &[])],
            true,
        );
        assert_eq!(
            serde_json::from_str::<Value>(&json).unwrap()["metadata"]["name"],
            "x"
        );
        let json = print(Output::Format(Format::Json), Options::default(), items(), false);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            (v["kind"].clone(), v["items"][2]["metadata"]["name"].clone()),
            (json!("List"), json!("a"))
        );
    }

    #[test]
    fn custom_columns_honour_no_headers() {
        let c = Output::CustomColumns(Arc::new(Columns::parse("N:.metadata.name,V:.n").unwrap()));
        assert_eq!(
            print(c.clone(), Options::default(), items(), false),
            "N     V\nb10   10\nb9    9\na     <nil>\n"
        );
        let options = Options {
            no_headers: true,
            ..Default::default()
        };
        assert_eq!(
            print(c, options, items(), false),
            "b10   10\nb9    9\na     <nil>\n"
        );
    }

    #[test]
    fn watched_objects_line_up_under_the_table() {
        let output = Output::default();
        let options = Options::default();
        let mut p = Printer::new(kind(), &output, &options);
        p.color = false;
        let mut out = Vec::new();
        p.print(&mut out, &items(), false).unwrap();
        p.print_event(&mut out, obj("c", None, &[])).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "NAME\nb10\nb9\na\nc\n");
    }

    #[test]
    fn watched_yaml_is_one_stream_of_documents() {
        let output = Output::Format(Format::Yaml);
        let options = Options::default();
        let mut p = Printer::new(kind(), &output, &options);
        let mut out = Vec::new();
        for name in ["a", "b", "c"] {
            p.print_event(&mut out, obj(name, None, &[])).unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("\n---\n").count(), 2, "{text}");
        let names: Vec<String> = serde_norway::Deserializer::from_str(&text)
            .map(|doc| {
                let value = <serde_json::Value as serde::Deserialize>::deserialize(doc).unwrap();
                value["metadata"]["name"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
    }
}

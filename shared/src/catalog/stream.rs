//! Reading a catalog that is one Kubernetes List (what `kubectl get -o json` prints) a
//! piece at a time: only a window of the input is in memory, so a reader that keeps only
//! the index and where each object lies holds 100,000 images in far less than their text.
//!
//! This is a fast path, never a second set of rules: each item is read by the same
//! [`read_object`] as [`Catalog::read`] reads it, and anything this reader is not sure of
//! (not one List, invalid JSON, an item the rules refuse, a `kind` that turns out not to
//! be a List) ends it with "read the input whole", so every answer and every error is
//! [`Catalog::read`]'s own.

use super::{At, Catalog, Error, Others, Read, Tally, read_object};
use serde_json::value::RawValue;
use std::io;

/// The window starts at this size and doubles for a value that does not fit.
const WINDOW: usize = 1 << 20;

/// A window on the input, `[start..]` of `buf` not yet consumed.
struct Window<R> {
    input: R,
    buf: Vec<u8>,
    start: usize,
    /// Offset in the input of `buf[0]`.
    base: usize,
    eof: bool,
}

/// Why streaming stopped.
enum Stop {
    /// The input could not be read: said as is.
    Io(io::Error),
    /// Not something this reader is sure of: read the input whole.
    Unsure,
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl<R: io::Read> Window<R> {
    /// Keeps what is not consumed and reads more; `false` at the end of the input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.buf.drain(..self.start);
        self.base += self.start;
        self.start = 0;
        let have = self.buf.len();
        let want = (have * 2).max(WINDOW);
        self.buf.resize(want, 0);
        let mut filled = have;
        while filled < want {
            match self.input.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.buf.truncate(filled);
        Ok(filled > have)
    }

    /// The next byte that is not white space, left unconsumed; `None` at the end.
    fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            let rest = &self.buf[self.start..];
            match rest
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                Some(at) => {
                    self.start += at;
                    return Ok(Some(self.buf[self.start]));
                }
                None => {
                    self.start = self.buf.len();
                    if !self.fill()? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Consumes `byte`, which must come next.
    fn expect(&mut self, byte: u8) -> Result<(), Stop> {
        match self.peek()? {
            Some(b) if b == byte => {
                self.start += 1;
                Ok(())
            }
            _ => Err(Stop::Unsure),
        }
    }

    /// After a member or element: `true` past a `,` (another follows), `false` past
    /// `close` (the object or array ends).
    fn next_or(&mut self, close: u8) -> Result<bool, Stop> {
        match self.peek()? {
            Some(b',') => {
                self.start += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.start += 1;
                Ok(false)
            }
            _ => Err(Stop::Unsure),
        }
    }

    /// Reads the next JSON value and hands `f` its text and where it lies in the input.
    /// A value is taken only with a byte after it in the window (a number cut by the
    /// window's end would read as a shorter one).
    fn value<T>(&mut self, f: impl FnOnce(&str, std::ops::Range<usize>) -> T) -> Result<T, Stop> {
        self.peek()?;
        let mut f = Some(f);
        loop {
            let rest = &self.buf[self.start..];
            let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<&RawValue>();
            match values.next() {
                Some(Ok(raw)) if values.byte_offset() < rest.len() || self.eof => {
                    let len = values.byte_offset();
                    let at = self.base + self.start;
                    let f = f.take().ok_or(Stop::Unsure)?;
                    let out = f(raw.get(), at..at + raw.get().len());
                    self.start += len;
                    return Ok(out);
                }
                Some(Err(e)) if !e.is_eof() => return Err(Stop::Unsure),
                None if self.eof => return Err(Stop::Unsure),
                _ => {
                    if !self.fill()? {
                        return Err(Stop::Unsure);
                    }
                }
            }
        }
    }
}

impl Catalog {
    /// Reads `input` (from `source_name`) as one Kubernetes List, a window at a time,
    /// handing each image to `each` with where its text lies in the input. `Ok(None)`
    /// when the input is anything else or anything is wrong with it: then discard what
    /// was handed over and read the input whole with [`Catalog::read`], which decides.
    pub fn read_list(
        source_name: &str,
        input: impl io::Read,
        mut each: impl FnMut(Read),
    ) -> io::Result<Option<Others>> {
        let mut window = Window {
            input,
            buf: Vec::new(),
            start: 0,
            base: 0,
            eof: false,
        };
        let mut tally = Tally::default();
        match list(source_name, &mut window, &mut tally, &mut each) {
            Ok(()) => Ok(Some(tally.others)),
            Err(Stop::Unsure) => Ok(None),
            Err(Stop::Io(e)) => Err(e),
        }
    }
}

/// The one document: an object with a List `kind` and an `items` array, then nothing.
fn list<R: io::Read>(
    source_name: &str,
    window: &mut Window<R>,
    tally: &mut Tally,
    each: &mut dyn FnMut(Read),
) -> Result<(), Stop> {
    window.expect(b'{')?;
    let (mut kind, mut items) = (None, 0);
    if window.peek()? == Some(b'}') {
        return Err(Stop::Unsure);
    }
    loop {
        let key = window.value(|text, _| serde_json::from_str::<String>(text).ok())?;
        window.expect(b':')?;
        match key.as_deref() {
            None => return Err(Stop::Unsure),
            // The tree reader takes the last `items`: more than one is its to decide.
            Some("items") if items == 0 => {
                items += 1;
                read_items(source_name, window, tally, each)?;
            }
            Some("items") => return Err(Stop::Unsure),
            Some("kind") => {
                kind = window.value(|text, _| serde_json::from_str::<String>(text).ok())?;
            }
            // Read as a value, so valid JSON; nothing in it matters.
            Some(_) => window.value(|_, _| ())?,
        }
        if !window.next_or(b'}')? {
            break;
        }
    }
    let is_list = kind.as_deref().is_some_and(|k| k.ends_with("List"));
    // Exactly one document, a List with items.
    if !is_list || items == 0 || window.peek()?.is_some() {
        return Err(Stop::Unsure);
    }
    tally.lists += 1;
    Ok(())
}

fn read_items<R: io::Read>(
    source_name: &str,
    window: &mut Window<R>,
    tally: &mut Tally,
    each: &mut dyn FnMut(Read),
) -> Result<(), Stop> {
    window.expect(b'[')?;
    if window.peek()? == Some(b']') {
        window.start += 1;
        return Ok(());
    }
    let mut n = 0;
    loop {
        let at = At {
            source_name,
            document: 1,
            item: Some(n),
        };
        window
            .value(|json, span| read_object(at, json, Some(span), tally, each))?
            .map_err(|_: Error| Stop::Unsure)?;
        n += 1;
        if !window.next_or(b']')? {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Images and their texts as the window reader hands them, or `None`.
    fn streamed(text: &str, window: usize) -> Option<Vec<(String, String)>> {
        // A reader that returns at most `window` bytes a call, to cut values anywhere.
        struct Slow<'a>(&'a [u8], usize);
        impl io::Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut got = Vec::new();
        Catalog::read_list("t", Slow(text.as_bytes(), window), |r| {
            let span = r.json.unwrap();
            got.push((r.image.metadata.name.unwrap(), text[span].to_string()));
        })
        .unwrap()?;
        Some(got)
    }

    fn image(name: &str) -> String {
        format!(
            r#"{{"kind":"ClusterVirtualMachineImage","metadata":{{"name":"{name}"}},"status":{{"name":"x"}}}}"#
        )
    }

    #[test]
    fn a_list_streams_with_each_items_text() {
        let list = format!(
            r#"{{"apiVersion":"v1","items":[{}, {}],"kind":"List","metadata":{{"resourceVersion":"","n":12345}}}}"#,
            image("a"),
            image("b")
        );
        for window in [1, 7, 4096] {
            let got = streamed(&list, window).expect("streams");
            assert_eq!(got, vec![("a".into(), image("a")), ("b".into(), image("b"))]);
        }
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&list).unwrap()).unwrap();
        assert_eq!(streamed(&pretty, 3).unwrap().len(), 2);
        assert_eq!(streamed(r#"{"items":[],"kind":"List"}"#, 2), Some(vec![]));
    }

    #[test]
    fn anything_else_is_read_whole() {
        for text in [
            image("a"),                                                    // one object
            format!(r#"{{"items":[{}],"kind":"Thing"}}"#, image("a")),     // not a List
            format!(r#"{{"items":[{}]}}"#, image("a")),                    // no kind
            format!(r#"{{"items":[{}],"kind":"List"}} {{}}"#, image("a")), // two documents
            format!(r#"{{"items":[{}],"items":[],"kind":"List"}}"#, image("a")),
            r#"{"items":[{"kind":"ClusterVirtualMachineImage","metadata":{}}],"kind":"List"}"#.into(),
            r#"{"items":[1,],"kind":"List"}"#.into(),
            r#"{"items":[{"kind":"ClusterVirtualMachineImage""#.into(),
            r#"{"items":{},"kind":"List"}"#.into(),
            "{}".into(),
            String::new(),
        ] {
            assert_eq!(streamed(&text, 5), None, "{text}");
        }
    }
}

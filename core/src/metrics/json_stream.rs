//! A `PodMetricsList` JSON body decoded as its bytes arrive: each item of the top-level `items`
//! array is decoded into a [`JsonListSink`] (the `top` table, the whole table, columns) as soon as
//! it is complete (an item cut by the end of a chunk is decoded again, whole, from the next one),
//! and only the bytes of one unfinished item wait for the next chunk (the body is never held
//! whole).
//!
//! Everything outside that array (`kind`, `apiVersion`, `metadata`: a few hundred bytes) is kept,
//! with `[]` in the array's place, and decoded at the end as a whole list by the sink, so that it
//! is checked exactly as that form's whole-body decoder checks it (the kind, the syntax).

use super::carry::Carry;
use super::json_item::ItemScanner;
use crate::error::{Error, ErrorKind, Result};
use serde::Deserialize;

/// Where the items of a streamed JSON pod list go (the `top` table, the whole table, columns).
pub(crate) trait JsonListSink {
    /// Decodes the item that starts `buf` (with `scanner`, the fast path, when the sink has
    /// one): `Some(n)` when it took `n` bytes, `None` when `buf` ends inside it (nothing of it
    /// is kept then; the item comes again, longer).
    fn json_item(&mut self, buf: &[u8], scanner: Option<&mut ItemScanner>) -> Result<Option<usize>>;
    /// Decodes the bytes of the list outside its items array (with `[]` in its place) as a
    /// whole list, so that they are checked as the whole-body decoder checks them.
    fn json_outside(&mut self, list: &[u8]) -> Result<()>;
}

/// The JSON value of type `T` that starts `buf`, and how many bytes it took; `None` when `buf`
/// ends inside it (or inside a number the next piece may continue).
pub(crate) fn json_value_prefix<'a, T: Deserialize<'a>>(buf: &'a [u8]) -> Result<Option<(T, usize)>> {
    let mut values = serde_json::Deserializer::from_slice(buf).into_iter::<T>();
    match values.next() {
        Some(Ok(value)) => Ok(Some((value, values.byte_offset()))),
        Some(Err(e)) if !e.is_eof() && !error_at_end(buf, &e) => Err(invalid(format!("an item: {e}"))),
        _ => Ok(None),
    }
}

/// Whether serde's error lies at the last byte of `buf`: a piece of the body that ends inside a
/// number (`-`, `1.`) is "an invalid number" to serde rather than the end of its input, and the
/// next piece may complete it.
fn error_at_end(buf: &[u8], e: &serde_json::Error) -> bool {
    let line_start = match e.line() {
        0 | 1 => 0,
        line => match buf.iter().enumerate().filter(|&(_, &b)| b == b'\n').nth(line - 2) {
            Some((newline, _)) => newline + 1,
            None => return false,
        },
    };
    // The column counts bytes from 1.
    line_start + e.column() >= buf.len()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Items {
    /// Outside the `items` array.
    Outside,
    /// Just after `[`: an item or `]`.
    First,
    /// After an item: `,` or `]`.
    AfterItem,
    /// After `,`: an item.
    Next,
}

/// The top-level scanner outside the items array (a few hundred bytes, read byte by byte).
#[derive(Debug, Default)]
struct Outside {
    depth: u32,
    in_string: bool,
    escape: bool,
    /// In a key of the top-level object (depth 1, before its `:`).
    expect_key: bool,
    key: Vec<u8>,
    /// After the `:` of a top-level member, before its value starts.
    after_colon: bool,
}

/// A `PodMetricsList` JSON body decoded chunk by chunk (see the [module docs](self)).
pub(crate) struct JsonPodListDecoder {
    /// The bytes of an unfinished item (or white space), waiting for the next chunk.
    pending: Carry,
    state: State,
}

/// Where the decoder stands in the body.
struct State {
    /// The fast path for items (serde's decoder takes the items it steps aside from).
    scanner: Option<ItemScanner>,
    outside_bytes: Vec<u8>,
    outside: Outside,
    items: Items,
}

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Api, format!("invalid PodMetricsList JSON: {detail}"))
}

impl JsonPodListDecoder {
    pub(crate) fn new() -> JsonPodListDecoder {
        JsonPodListDecoder {
            pending: Carry::default(),
            state: State { scanner: Some(ItemScanner::default()), outside_bytes: Vec::new(), outside: Outside::default(), items: Items::Outside },
        }
    }

    /// A decoder that reads every item through serde (the reference the fast path is tested
    /// against).
    #[cfg(test)]
    pub(crate) fn serde_only() -> JsonPodListDecoder {
        let mut d = JsonPodListDecoder::new();
        d.state.scanner = None;
        d
    }

    /// Decodes the items `chunk` completes into `sink`; keeps the rest for the next chunk.
    pub(crate) fn feed(&mut self, chunk: &[u8], sink: &mut impl JsonListSink) -> Result<()> {
        self.pending.feed(chunk, |bytes| self.state.consume(bytes, sink))
    }

    /// Ends the body: decodes what lay outside the items array as a whole list into `sink`
    /// (which checks it as the whole-body decoder does).
    pub(crate) fn finish(self, sink: &mut impl JsonListSink) -> Result<()> {
        if self.state.items != Items::Outside {
            return Err(invalid("EOF while parsing the items array (the body ended inside it)"));
        }
        sink.json_outside(&self.state.outside_bytes)
    }
}

impl State {
    fn consume(&mut self, buf: &[u8], sink: &mut impl JsonListSink) -> Result<usize> {
        let mut at = 0;
        while at < buf.len() {
            if self.items == Items::Outside {
                at += self.scan_outside(&buf[at..]);
                continue;
            }
            let b = buf[at];
            if b.is_ascii_whitespace() {
                at += 1;
                continue;
            }
            match (self.items, b) {
                (Items::First | Items::AfterItem, b']') => {
                    self.items = Items::Outside;
                    at += 1;
                }
                (Items::AfterItem, b',') => {
                    self.items = Items::Next;
                    at += 1;
                }
                (Items::AfterItem, other) => return Err(invalid(format!("expected ',' or ']' after an item, found {:?}", other as char))),
                (Items::Next, b']') => return Err(invalid("trailing comma in the items array")),
                (Items::First | Items::Next, _) => {
                    let Some(len) = sink.json_item(&buf[at..], self.scanner.as_mut())? else { return Ok(at) };
                    self.items = Items::AfterItem;
                    at += len;
                }
                (Items::Outside, _) => unreachable!("handled above"),
            }
        }
        Ok(at)
    }

    /// Copies top-level bytes until the `[` of the `items` array (kept as `[]`); returns how
    /// many bytes of `buf` it took.
    fn scan_outside(&mut self, buf: &[u8]) -> usize {
        let s = &mut self.outside;
        for (i, &b) in buf.iter().enumerate() {
            if s.in_string {
                self.outside_bytes.push(b);
                if s.escape {
                    s.escape = false;
                } else if b == b'\\' {
                    s.escape = true;
                } else if b == b'"' {
                    s.in_string = false;
                    continue;
                }
                if s.depth == 1 && s.expect_key {
                    s.key.push(b);
                }
                continue;
            }
            match b {
                b'"' => {
                    s.in_string = true;
                    if s.depth == 1 && s.expect_key {
                        s.key.clear();
                    }
                    s.after_colon = false;
                }
                b'[' if s.depth == 1 && s.after_colon && s.key == b"items" => {
                    self.outside_bytes.extend_from_slice(b"[]");
                    s.after_colon = false;
                    self.items = Items::First;
                    return i + 1;
                }
                b'{' | b'[' => {
                    s.depth += 1;
                    s.expect_key = s.depth == 1;
                    s.after_colon = false;
                }
                b'}' | b']' => s.depth = s.depth.saturating_sub(1),
                b':' if s.depth == 1 => {
                    s.expect_key = false;
                    s.after_colon = true;
                }
                b',' if s.depth == 1 => s.expect_key = true,
                b if b.is_ascii_whitespace() => {}
                _ => s.after_colon = false,
            }
            self.outside_bytes.push(b);
        }
        buf.len()
    }
}

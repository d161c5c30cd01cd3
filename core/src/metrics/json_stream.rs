//! A `PodMetricsList` JSON body decoded as its bytes arrive: each item of the top-level `items`
//! array is decoded into the table as soon as it is complete (an item cut by the end of a chunk
//! is decoded again, whole, from the next one), and only the bytes of one unfinished item wait
//! for the next chunk (the body is never held whole).
//!
//! Everything outside that array (`kind`, `apiVersion`, `metadata`: a few hundred bytes) is kept,
//! with `[]` in the array's place, and decoded at the end as a whole list, so that it is checked
//! exactly as [`PodMetricsTable::from_json`] checks it (the kind, the syntax).

use super::carry::Carry;
use super::json_item::{ItemScanner, Scan};
use super::table::{PodMetricsTable, decode_json_item};
use crate::error::{Error, ErrorKind, Result};

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

    /// Decodes the items `chunk` completes; keeps the rest for the next chunk.
    pub(crate) fn feed(&mut self, chunk: &[u8], table: &mut PodMetricsTable) -> Result<()> {
        self.pending.feed(chunk, |bytes| self.state.consume(bytes, table))
    }

    /// Ends the body: decodes what lay outside the items array as a whole list into `table`
    /// (which checks it as the whole-body decoder does).
    pub(crate) fn finish(self, table: &mut PodMetricsTable) -> Result<()> {
        if self.state.items != Items::Outside {
            return Err(invalid("EOF while parsing the items array (the body ended inside it)"));
        }
        table.extend_from_json(&self.state.outside_bytes)
    }
}

impl State {
    fn consume(&mut self, buf: &[u8], table: &mut PodMetricsTable) -> Result<usize> {
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
                    let fast = match &mut self.scanner {
                        Some(scanner) => scanner.scan(&buf[at..], table),
                        None => Scan::Other,
                    };
                    let len = match fast {
                        Scan::Item(len) => len,
                        Scan::Incomplete => return Ok(at),
                        Scan::Other => match decode_json_item(&buf[at..], table)? {
                            Some(len) => len,
                            None => return Ok(at),
                        },
                    };
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

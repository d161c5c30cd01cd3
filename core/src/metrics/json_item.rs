//! The fast path of the JSON pod list decoder: one `PodMetrics` item of an `items` array read
//! by a scanner written for its shape, straight into a [`PodListSink`] (a table), instead of
//! through serde's generic machinery.
//!
//! The scanner takes only what it can read exactly as serde would: strings without escapes or
//! control characters, keys met at most once per object, numbers without exponents, nesting no
//! deeper than [`MAX_DEPTH`]. On anything else it steps aside ([`Scan::Other`]) and the item is
//! decoded again, from its first byte, by the serde decoder, which gives the same table or the
//! same error as before this path existed. Skipped values (labels, annotations, owner
//! references…) are checked as strictly as serde checks them, so an item it takes is one serde
//! would take, with the same result (a differential property test holds it to that).
//!
//! Timestamps and windows repeat from pod to pod (every pod of a node has its node's scrape
//! time), so the last text of each is kept with its value and a repeat is not parsed again.

use super::protobuf::PodListSink;
use super::{GoDuration, Time};
use crate::Quantity;

/// Deepest nesting of objects and arrays the scanner follows inside an item.
const MAX_DEPTH: u32 = 32;

/// What the scanner made of the bytes at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// One item, `n` bytes long, is in the sink.
    Item(usize),
    /// The buffer ends inside the item (nothing of it is in the sink).
    Incomplete,
    /// The item holds something the fast path does not read; the serde decoder must (nothing of
    /// it is in the sink).
    Other,
}

/// Why a scan stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Incomplete,
    Other,
}

type Step<T> = Result<T, Stop>;

/// The scanner, with the last timestamp and window it parsed.
#[derive(Debug, Default)]
pub(crate) struct ItemScanner {
    last_timestamp: Option<(Box<[u8]>, Time)>,
    last_window: Option<(Box<[u8]>, GoDuration)>,
}

/// A sink that can take back the containers of an item the scanner gave up on.
pub(crate) trait RollbackSink: PodListSink {
    /// How many containers the sink holds.
    fn containers_len(&self) -> usize;
    /// Forgets the containers past the first `len`.
    fn truncate_containers(&mut self, len: usize);
}

impl ItemScanner {
    /// Reads the item that starts `buf` into `sink` (see [`Scan`]).
    pub(crate) fn scan<S: RollbackSink>(&mut self, buf: &[u8], sink: &mut S) -> Scan {
        let before = sink.containers_len();
        let mut cur = Cursor { buf, at: 0 };
        match self.pod(&mut cur, sink) {
            Ok(()) => Scan::Item(cur.at),
            Err(stop) => {
                sink.truncate_containers(before);
                match stop {
                    Stop::Incomplete => Scan::Incomplete,
                    Stop::Other => Scan::Other,
                }
            }
        }
    }

    fn pod<S: RollbackSink>(&mut self, cur: &mut Cursor<'_>, sink: &mut S) -> Step<()> {
        let (mut namespace, mut name) = ("", "");
        let (mut timestamp, mut window) = (Time::default(), GoDuration(0));
        let mut seen = Seen::default();
        cur.object(|cur, key| match key {
            "metadata" => {
                seen.once(0)?;
                let [n, ns] = cur.strings_of(["name", "namespace"], 1, Ok)?;
                (name, namespace) = (n.unwrap_or(""), ns.unwrap_or(""));
                Ok(())
            }
            "timestamp" => {
                seen.once(1)?;
                timestamp = cached(&mut self.last_timestamp, cur.string()?, |s| s.parse::<jiff::Timestamp>().ok().map(Time))?;
                Ok(())
            }
            "window" => {
                seen.once(2)?;
                window = cached(&mut self.last_window, cur.string()?, |s| s.parse::<GoDuration>().ok())?;
                Ok(())
            }
            "containers" => {
                seen.once(3)?;
                cur.array(|cur| container(cur, sink))
            }
            _ => cur.skip_value(0),
        })?;
        sink.pod(namespace, name, timestamp, window);
        Ok(())
    }
}

/// One element of `containers`: its name and its usage's CPU and memory.
fn container<S: RollbackSink>(cur: &mut Cursor<'_>, sink: &mut S) -> Step<()> {
    let mut name = "";
    let (mut cpu, mut memory) = (Quantity::default(), Quantity::default());
    let mut seen = Seen::default();
    cur.object(|cur, key| match key {
        "name" => {
            seen.once(0)?;
            name = cur.string()?;
            Ok(())
        }
        "usage" => {
            seen.once(1)?;
            let [c, m] = cur.strings_of(["cpu", "memory"], 2, quantity)?;
            (cpu, memory) = (c.unwrap_or_default(), m.unwrap_or_default());
            Ok(())
        }
        _ => cur.skip_value(1),
    })?;
    sink.container(name, cpu, memory);
    Ok(())
}

/// A quantity as serde reads it from a string (trimmed), or [`Stop::Other`] to let serde tell
/// what is wrong with it.
fn quantity(s: &str) -> Step<Quantity> {
    Quantity::parse(s.trim()).map_err(|_| Stop::Other)
}

/// The value of `text`, from `last` when it is the text parsed last time.
fn cached<T: Copy>(last: &mut Option<(Box<[u8]>, T)>, text: &str, parse: impl FnOnce(&str) -> Option<T>) -> Step<T> {
    if let Some((bytes, value)) = last
        && **bytes == *text.as_bytes()
    {
        return Ok(*value);
    }
    let value = parse(text).ok_or(Stop::Other)?;
    *last = Some((text.as_bytes().into(), value));
    Ok(value)
}

/// Where the string starting `rest` (just past its opening quote) ends, and whether it is all
/// ASCII; [`Stop::Other`] at an escape or a control character, [`Stop::Incomplete`] when `rest`
/// ends first. Eight bytes at a time: a byte that is a quote, a backslash, below 0x20 or above
/// 0x7f sets its top bit in `special` (only the first such byte is trusted: the borrows of the
/// subtractions can mark the bytes after it), and the bytes up to it are plain.
fn string_end(rest: &[u8]) -> Step<(usize, bool)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut ascii = true;
    let mut at = 0;
    loop {
        while let Some(word) = rest.get(at..at + 8) {
            let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
            let special =
                has_zero(w ^ (ONES * u64::from(b'"'))) | has_zero(w ^ (ONES * u64::from(b'\\'))) | (w.wrapping_sub(ONES * 0x20) & !w & HIGH) | (w & HIGH);
            if special != 0 {
                at += special.trailing_zeros() as usize / 8;
                break;
            }
            at += 8;
        }
        // The first special byte, or the last few bytes one at a time.
        loop {
            let Some(&b) = rest.get(at) else { return Err(Stop::Incomplete) };
            match b {
                b'"' => return Ok((at, ascii)),
                b'\\' | 0..0x20 => return Err(Stop::Other),
                0x80.. => {
                    ascii = false;
                    at += 1;
                    break;
                }
                _ => at += 1,
            }
        }
    }
}

/// The keys of one object met so far (by their index among the keys read).
#[derive(Default)]
struct Seen(u8);

impl Seen {
    /// A repeated key is serde's to judge (a duplicate field error, or the last one wins).
    fn once(&mut self, bit: u8) -> Step<()> {
        if self.0 & (1 << bit) != 0 {
            return Err(Stop::Other);
        }
        self.0 |= 1 << bit;
        Ok(())
    }
}

/// A position in the buffer.
struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// The next byte after white space, not taken.
    fn peek(&mut self) -> Step<u8> {
        while let Some(&b) = self.buf.get(self.at) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Ok(b);
            }
            self.at += 1;
        }
        Err(Stop::Incomplete)
    }

    /// Takes `want` (after white space), or stops with [`Stop::Other`].
    fn expect(&mut self, want: u8) -> Step<()> {
        if self.peek()? != want {
            return Err(Stop::Other);
        }
        self.at += 1;
        Ok(())
    }

    /// An object: `member` reads the value of each key.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Step<()>) -> Step<()> {
        self.sequence(b'{', b'}', |cur| {
            let key = cur.string()?;
            cur.expect(b':')?;
            member(cur, key)
        })
    }

    /// An object of which only the string values of `keys` are read (each at most once, each
    /// through `read` as soon as it is met), the other members skipped; `depth` is how deep it
    /// lies in the item.
    fn strings_of<T>(&mut self, keys: [&str; 2], depth: u32, read: impl Fn(&'a str) -> Step<T>) -> Step<[Option<T>; 2]> {
        let mut values = [None, None];
        self.object(|cur, key| match keys.iter().position(|&k| k == key) {
            Some(k) if values[k].is_some() => Err(Stop::Other),
            Some(k) => {
                values[k] = Some(read(cur.string()?)?);
                Ok(())
            }
            None => cur.skip_value(depth),
        })?;
        Ok(values)
    }

    /// An array: `element` reads each element.
    fn array(&mut self, element: impl FnMut(&mut Self) -> Step<()>) -> Step<()> {
        self.sequence(b'[', b']', element)
    }

    /// `open`, then what `each` reads, separated by commas, then `close`.
    fn sequence(&mut self, open: u8, close: u8, mut each: impl FnMut(&mut Self) -> Step<()>) -> Step<()> {
        self.expect(open)?;
        if self.peek()? == close {
            self.at += 1;
            return Ok(());
        }
        loop {
            each(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                b if b == close => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(Stop::Other),
            }
        }
    }

    /// A string without escapes or control characters, as valid UTF-8.
    fn string(&mut self) -> Step<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let rest = &self.buf[start..];
        let (len, ascii) = string_end(rest)?;
        let bytes = &rest[..len];
        let s = if ascii {
            // SAFETY: `string_end` saw every byte of `bytes` below 0x80: ASCII is UTF-8.
            unsafe { std::str::from_utf8_unchecked(bytes) }
        } else {
            std::str::from_utf8(bytes).map_err(|_| Stop::Other)?
        };
        self.at = start + len + 1;
        Ok(s)
    }

    /// Skips a value, checking it as serde does; `depth` is how deep it lies in the item.
    fn skip_value(&mut self, depth: u32) -> Step<()> {
        if depth >= MAX_DEPTH {
            return Err(Stop::Other);
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|cur, _| cur.skip_value(depth + 1)),
            b'[' => self.array(|cur| cur.skip_value(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Stop::Other),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Step<()> {
        let rest = &self.buf[self.at..];
        if rest.len() < word.len() {
            return Err(if word.starts_with(rest) { Stop::Incomplete } else { Stop::Other });
        }
        if &rest[..word.len()] != word {
            return Err(Stop::Other);
        }
        self.at += word.len();
        Ok(())
    }

    /// A number: `-`, an integer part without leading zeros, an optional fraction. Exponents
    /// are left to serde (which refuses some of them as out of range).
    fn number(&mut self) -> Step<()> {
        if self.buf.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match self.buf.get(self.at) {
            None => return Err(Stop::Incomplete),
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits()?,
            Some(_) => return Err(Stop::Other),
        }
        match self.buf.get(self.at) {
            None => return Err(Stop::Incomplete),
            Some(b'.') => {
                self.at += 1;
                match self.buf.get(self.at) {
                    None => return Err(Stop::Incomplete),
                    Some(b'0'..=b'9') => self.digits()?,
                    Some(_) => return Err(Stop::Other),
                }
            }
            Some(_) => {}
        }
        match self.buf.get(self.at) {
            None => Err(Stop::Incomplete),
            Some(b'e' | b'E') => Err(Stop::Other),
            Some(_) => Ok(()),
        }
    }

    /// One or more digits; the buffer must go on after them.
    fn digits(&mut self) -> Step<()> {
        while let Some(b) = self.buf.get(self.at) {
            if !b.is_ascii_digit() {
                return Ok(());
            }
            self.at += 1;
        }
        Err(Stop::Incomplete)
    }
}

#[cfg(test)]
mod tests;

//! [`PodListDecoder`]: a `PodMetricsList` protobuf body decoded as its bytes arrive, pod by pod,
//! into a [`PodListSink`] — the body is never held whole: only the bytes of one unfinished
//! field wait for the next chunk.
//!
//! The wire layout it walks: the `k8s\0` magic, then `runtime.Unknown` (field 1 `typeMeta`,
//! field 2 `raw`, fields 3 and 4 the content encoding and type), where `raw` is the
//! `PodMetricsList` (field 1 `metadata`, field 2 each item).

use super::{GoDuration, LEN, MAGIC, Reader, Time, container_ref, decode_duration, decode_list_meta, decode_time, err, object_meta_names};
use crate::Quantity;
use crate::error::Result;
use crate::metrics::carry::Carry;

/// Where a streamed list's items go, each as the bytes of its `PodMetrics` message, whole.
pub(crate) trait PodItemSink {
    /// Room for about `pods` more pods (an estimate from the first item's size).
    fn reserve(&mut self, pods: usize);
    /// One item (the message's bytes; a bad message is an error).
    fn item(&mut self, item: &[u8]) -> Result<()>;
}

/// Where decoded pods go: each pod's containers first, then the pod (the items of a
/// [`PodItemSink`] that [`decode_pod_into`] reads).
pub(crate) trait PodListSink {
    /// A container of the pod being decoded.
    fn container(&mut self, name: &str, cpu: Quantity, memory: Quantity);
    /// The pod whose containers were just given.
    fn pod(&mut self, namespace: &str, name: &str, timestamp: Time, window: GoDuration);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the 4 magic bytes.
    Magic,
    /// Among the fields of `runtime.Unknown`.
    Envelope,
    /// Inside `raw` (the list), with this many of its bytes still to come.
    List { remaining: u64 },
}

/// A `PodMetricsList` protobuf body decoded chunk by chunk (see the [module docs](self)).
pub(crate) struct PodListDecoder {
    /// Bytes of an unfinished field, waiting for the next chunk.
    pending: Carry,
    state: State,
}

/// Where the decoder stands in the body.
struct State {
    phase: Phase,
    kind: String,
    api_version: String,
    seen_list: bool,
    estimated: bool,
}

/// What the next field needs: its number, wire type and payload length, and the bytes its key
/// and length take; `None` when the chunk ends inside them.
struct FieldHead {
    field: u64,
    wire: u8,
    len: u64,
    head: usize,
}

/// A varint at the start of `buf`: `Ok(None)` when `buf` ends inside it.
fn varint_prefix(buf: &[u8], message: &'static str) -> Result<Option<(u64, usize)>> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().enumerate().take(10) {
        if i == 9 && byte > 1 {
            return Err(err(message, "varint longer than 64 bits"));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 10 { Err(err(message, "varint longer than 10 bytes")) } else { Ok(None) }
}

/// The key and (for length-delimited fields) the length at the start of `buf`.
fn field_head(buf: &[u8], message: &'static str) -> Result<Option<FieldHead>> {
    let Some((key, n)) = varint_prefix(buf, message)? else { return Ok(None) };
    let (field, wire) = (key >> 3, (key & 7) as u8);
    if field == 0 {
        return Err(err(message, "field number 0"));
    }
    if wire != LEN {
        return Err(err(message, format!("field {field} has wire type {wire}, expected {LEN}")));
    }
    let Some((len, m)) = varint_prefix(&buf[n..], message)? else { return Ok(None) };
    Ok(Some(FieldHead { field, wire, len, head: n + m }))
}

impl PodListDecoder {
    pub(crate) fn new() -> PodListDecoder {
        let state = State { phase: Phase::Magic, kind: String::new(), api_version: String::new(), seen_list: false, estimated: false };
        PodListDecoder { pending: Carry::default(), state }
    }

    /// Decodes what `chunk` completes; keeps the rest for the next chunk.
    pub(crate) fn feed(&mut self, chunk: &[u8], sink: &mut dyn PodItemSink) -> Result<()> {
        self.pending.feed(chunk, |bytes| self.state.consume(bytes, sink))
    }

    /// Ends the body: fails when it stopped inside a field or before the list.
    pub(crate) fn finish(self) -> Result<()> {
        let carried = self.pending.len();
        match self.state.phase {
            Phase::Magic => Err(err("envelope", format!("the body ended after {carried} bytes, before the k8s\\0 magic"))),
            Phase::List { remaining } => Err(err("PodMetricsList", format!("the body ended {remaining} bytes before the end of the list"))),
            Phase::Envelope if carried > 0 => Err(err("envelope (runtime.Unknown)", format!("the body ended inside a field ({carried} bytes of it)"))),
            Phase::Envelope if !self.state.seen_list && self.state.kind != "PodMetricsList" => Err(self.state.wrong_kind()),
            Phase::Envelope if !self.state.seen_list => Err(super::no_raw(&self.state.kind)),
            Phase::Envelope => Ok(()),
        }
    }
}

impl State {
    fn wrong_kind(&self) -> crate::Error {
        err("envelope", format!("expected kind PodMetricsList, got {:?} ({})", self.kind, self.api_version))
    }

    /// Decodes the whole fields at the start of `buf`; returns how many bytes they took.
    fn consume(&mut self, buf: &[u8], sink: &mut dyn PodItemSink) -> Result<usize> {
        let mut at = 0;
        loop {
            let rest = &buf[at..];
            match self.phase {
                Phase::Magic => {
                    if rest.len() < MAGIC.len() {
                        if !MAGIC.starts_with(rest) {
                            return Err(bad_magic(rest));
                        }
                        return Ok(at);
                    }
                    if !rest.starts_with(MAGIC) {
                        return Err(bad_magic(rest));
                    }
                    at += MAGIC.len();
                    self.phase = Phase::Envelope;
                }
                Phase::Envelope => {
                    const MESSAGE: &str = "envelope (runtime.Unknown)";
                    if rest.is_empty() {
                        return Ok(at);
                    }
                    let Some(head) = field_head(rest, MESSAGE)? else { return Ok(at) };
                    if head.field == 2 {
                        if self.kind != "PodMetricsList" {
                            return Err(self.wrong_kind());
                        }
                        at += head.head;
                        self.seen_list = true;
                        self.phase = Phase::List { remaining: head.len };
                        continue;
                    }
                    let Some(payload) = payload(rest, &head) else { return Ok(at) };
                    super::envelope_field(&mut self.api_version, &mut self.kind, head.field, payload)?;
                    at += head.head + payload.len();
                }
                Phase::List { remaining } => {
                    const MESSAGE: &str = "PodMetricsList";
                    if remaining == 0 {
                        self.phase = Phase::Envelope;
                        continue;
                    }
                    let rest = &rest[..rest.len().min(usize::try_from(remaining).unwrap_or(usize::MAX))];
                    let Some(head) = field_head(rest, MESSAGE)? else {
                        return if rest.len() as u64 == remaining { Err(err(MESSAGE, "the list ends inside a field's key or length")) } else { Ok(at) };
                    };
                    let taken = head.head as u64 + head.len;
                    if taken > remaining {
                        return Err(err(MESSAGE, format!("length {} runs past the end ({} bytes left)", head.len, remaining - head.head as u64)));
                    }
                    let Some(payload) = payload(rest, &head) else { return Ok(at) };
                    match head.field {
                        1 => drop(decode_list_meta(payload)?),
                        2 => {
                            if !self.estimated {
                                // About as many pods as items of this size fit in the list.
                                self.estimated = true;
                                sink.reserve(usize::try_from(remaining / taken.max(1)).unwrap_or(0).saturating_mul(5) / 4);
                            }
                            sink.item(payload)?;
                        }
                        f => return Err(err(MESSAGE, format!("unknown field {f}"))),
                    }
                    at += taken as usize;
                    self.phase = Phase::List { remaining: remaining - taken };
                }
            }
        }
    }
}

/// The payload of a field whose head starts `buf`, if `buf` holds all of it.
fn payload<'a>(buf: &'a [u8], head: &FieldHead) -> Option<&'a [u8]> {
    debug_assert_eq!(head.wire, LEN);
    let end = usize::try_from(head.len).ok()?.checked_add(head.head)?;
    buf.get(head.head..end)
}

fn bad_magic(start: &[u8]) -> crate::Error {
    let shown: Vec<String> = start.iter().take(4).map(|b| format!("{b:#04x}")).collect();
    err("envelope", format!("the body does not start with the k8s\\0 magic (starts with [{}])", shown.join(", ")))
}

/// One `PodMetrics` item into `sink`: its names, times and each container's CPU and memory.
pub(crate) fn decode_pod_into(buf: &[u8], sink: &mut impl PodListSink) -> Result<()> {
    let mut r = Reader::new(buf, "PodMetrics");
    let (mut namespace, mut name, mut timestamp, mut window) = ("", "", Time::default(), GoDuration(0));
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => (namespace, name) = object_meta_names(r.sub("metadata", wire)?)?,
            2 => timestamp = decode_time(r.sub("timestamp", wire)?)?,
            3 => window = decode_duration(r.sub("window", wire)?)?,
            4 => {
                let (name, cpu, memory) = container_ref(r.sub("containers", wire)?)?;
                sink.container(name, cpu, memory);
            }
            f => return Err(r.unknown(f)),
        }
    }
    sink.pod(namespace, name, timestamp, window);
    Ok(())
}

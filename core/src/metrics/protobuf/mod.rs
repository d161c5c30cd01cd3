//! The Kubernetes protobuf encoding of the `metrics.k8s.io` types (`v1beta1` and the identical
//! `v1`): what kubectl and the HPA controller ask for (`application/vnd.kubernetes.protobuf`) and
//! metrics-server answers with.
//!
//! A body is the 4-byte magic `k8s\0` followed by a `runtime.Unknown` envelope whose `raw` field
//! holds the message (`PodMetricsList`, `NodeMetrics`, ...) and whose `typeMeta` names it. The
//! messages are those of `k8s.io/metrics/pkg/apis/metrics/v1beta1/generated.proto`; quantities
//! travel as their string form and are parsed exactly.
//!
//! Decoding never panics and never guesses: a bad envelope, a truncated message, a wrong wire
//! type, an unknown field or an invalid quantity is an [`ErrorKind::Api`] error that says which
//! message and field were wrong.
//!
//! ```
//! use kubemetrics::metrics::protobuf;
//! use kubemetrics::{NodeMetrics, NodeMetricsList};
//! let list = NodeMetricsList { items: vec![NodeMetrics::default()], ..Default::default() };
//! let body = protobuf::encode_node_metrics_list(&list, "metrics.k8s.io/v1beta1");
//! assert!(body.starts_with(b"k8s\0"));
//! assert_eq!(protobuf::decode_node_metrics_list(&body)?, list);
//! # Ok::<(), kubemetrics::Error>(())
//! ```

use super::meta::{ListMeta, ObjectMeta, Time};
use super::resource::Sample;
use super::{ContainerMetrics, GoDuration, NodeMetrics, NodeMetricsList, PodMetrics, PodMetricsList, Usage};
use crate::Quantity;
use crate::error::{Error, ErrorKind, Result};
use std::collections::BTreeMap;

/// The media type of the Kubernetes protobuf encoding.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

// ---------------------------------------------------------------------------------------------
// Wire format: reading.

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

#[cold]
fn err(message: &str, detail: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Api, format!("invalid protobuf {message}: {detail}"))
}

/// A cursor over one message's bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    message: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], message: &'static str) -> Self {
        Reader { buf, pos: 0, message }
    }

    #[inline]
    fn varint(&mut self) -> Result<u64> {
        // Keys and most lengths are one byte.
        if let Some(&byte) = self.buf.get(self.pos)
            && byte < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(byte));
        }
        self.varint_long()
    }

    fn varint_long(&mut self) -> Result<u64> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(err(self.message, "truncated varint"));
            };
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err(err(self.message, "varint longer than 64 bits"));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(err(self.message, "varint longer than 10 bytes"))
    }

    /// The next field's number and wire type, or `None` at the end of the message.
    #[inline]
    fn key(&mut self) -> Result<Option<(u32, u8)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = u32::try_from(key >> 3).map_err(|_| err(self.message, format!("field number {} out of range", key >> 3)))?;
        if field == 0 {
            return Err(err(self.message, "field number 0"));
        }
        Ok(Some((field, (key & 7) as u8)))
    }

    #[inline]
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.varint()?;
        let end = usize::try_from(len).ok().and_then(|l| self.pos.checked_add(l)).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(err(self.message, format!("length {len} runs past the end ({} bytes left)", self.buf.len() - self.pos)));
        };
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn string(&mut self, field: &str) -> Result<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| err(self.message, format!("field {field} is not UTF-8")))
    }

    fn int64(&mut self) -> Result<i64> {
        Ok(self.varint()? as i64)
    }

    /// Checks the wire type of a known field.
    fn expect(&self, field: &str, got: u8, want: u8) -> Result<()> {
        if got == want { Ok(()) } else { Err(err(self.message, format!("field {field} has wire type {got}, expected {want}"))) }
    }

    /// The bytes of a known length-delimited field (its wire type checked).
    fn sub(&mut self, field: &str, wire: u8) -> Result<&'a [u8]> {
        self.expect(field, wire, LEN)?;
        self.bytes()
    }

    /// Skips a field this decoder knows but does not keep (ownerReferences, managedFields).
    fn skip(&mut self, wire: u8) -> Result<()> {
        match wire {
            VARINT => self.varint().map(drop),
            LEN => self.bytes().map(drop),
            FIXED64 | FIXED32 => {
                let n = if wire == FIXED64 { 8 } else { 4 };
                if self.pos + n > self.buf.len() {
                    return Err(err(self.message, "truncated fixed-width field"));
                }
                self.pos += n;
                Ok(())
            }
            other => Err(err(self.message, format!("unsupported wire type {other}"))),
        }
    }

    fn unknown(&self, field: u32) -> Error {
        err(self.message, format!("unknown field {field}"))
    }
}

fn decode_time(buf: &[u8]) -> Result<Time> {
    let mut r = Reader::new(buf, "Time");
    let (mut seconds, mut nanos) = (0i64, 0i64);
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => {
                r.expect("seconds", wire, VARINT)?;
                seconds = r.int64()?;
            }
            2 => {
                r.expect("nanos", wire, VARINT)?;
                nanos = i64::from(r.varint()? as i32);
            }
            f => return Err(r.unknown(f)),
        }
    }
    let ts = jiff::Timestamp::new(seconds, nanos as i32).map_err(|e| err("Time", format!("{seconds}s {nanos}ns is out of range: {e}")))?;
    Ok(Time(ts))
}

/// A map entry message: its key (field 1) and the bytes of its value (field 2), if present.
fn decode_map_entry<'a>(buf: &'a [u8], message: &'static str) -> Result<(String, Option<&'a [u8]>)> {
    let mut r = Reader::new(buf, message);
    let (mut key, mut value) = (String::new(), None);
    while let Some((field, wire)) = r.key()? {
        r.expect("map entry", wire, LEN)?;
        match field {
            1 => key = r.string("key")?,
            2 => value = Some(r.bytes()?),
            f => return Err(r.unknown(f)),
        }
    }
    Ok((key, value))
}

fn decode_string_map(buf: &[u8], message: &'static str, into: &mut BTreeMap<String, String>) -> Result<()> {
    let (key, value) = decode_map_entry(buf, message)?;
    let value = String::from_utf8(value.unwrap_or_default().to_vec()).map_err(|_| err(message, "field value is not UTF-8"))?;
    into.insert(key, value);
    Ok(())
}

fn decode_object_meta(buf: &[u8]) -> Result<ObjectMeta> {
    let mut r = Reader::new(buf, "ObjectMeta");
    let mut m = ObjectMeta::default();
    while let Some((field, wire)) = r.key()? {
        match field {
            1..=6 | 14 => {
                r.expect("string field", wire, LEN)?;
                let s = r.string("string field")?;
                match field {
                    1 => m.name = Some(s),
                    2 => m.generate_name = Some(s),
                    3 => m.namespace = Some(s),
                    4 => m.self_link = Some(s),
                    5 => m.uid = Some(s),
                    6 => m.resource_version = Some(s),
                    _ => m.finalizers.get_or_insert_with(Vec::new).push(s),
                }
            }
            7 | 10 => {
                r.expect("integer field", wire, VARINT)?;
                let v = r.int64()?;
                // Go writes a zero generation for an unset one: unset, as in its JSON.
                if field == 7 { m.generation = Some(v).filter(|&g| g != 0) } else { m.deletion_grace_period_seconds = Some(v) }
            }
            8 | 9 => {
                r.expect("time field", wire, LEN)?;
                let t = decode_time(r.bytes()?)?;
                if field == 8 { m.creation_timestamp = Some(t) } else { m.deletion_timestamp = Some(t) }
            }
            11 | 12 => {
                r.expect("map field", wire, LEN)?;
                let entry = r.bytes()?;
                let map = if field == 11 { &mut m.labels } else { &mut m.annotations };
                decode_string_map(entry, "ObjectMeta map entry", map.get_or_insert_with(BTreeMap::new))?;
            }
            // ownerReferences, managedFields: never set on metrics objects; not kept.
            13 | 17 => r.skip(wire)?,
            f => return Err(r.unknown(f)),
        }
    }
    // Go writes empty strings for unset names; treat them as unset, as its JSON does.
    for s in [&mut m.name, &mut m.generate_name, &mut m.namespace, &mut m.self_link, &mut m.uid, &mut m.resource_version] {
        if s.as_deref() == Some("") {
            *s = None;
        }
    }
    Ok(m)
}

fn decode_list_meta(buf: &[u8]) -> Result<ListMeta> {
    let mut r = Reader::new(buf, "ListMeta");
    let mut m = ListMeta::default();
    while let Some((field, wire)) = r.key()? {
        match field {
            1..=3 => {
                r.expect("string field", wire, LEN)?;
                let s = Some(r.string("string field")?).filter(|s| !s.is_empty());
                match field {
                    1 => m.self_link = s,
                    2 => m.resource_version = s,
                    _ => m.continue_ = s,
                }
            }
            4 => {
                r.expect("remainingItemCount", wire, VARINT)?;
                m.remaining_item_count = Some(r.int64()?);
            }
            f => return Err(r.unknown(f)),
        }
    }
    Ok(m)
}

fn decode_duration(buf: &[u8]) -> Result<GoDuration> {
    let mut r = Reader::new(buf, "Duration");
    let mut d = 0;
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => {
                r.expect("duration", wire, VARINT)?;
                d = r.int64()?;
            }
            f => return Err(r.unknown(f)),
        }
    }
    Ok(GoDuration(d))
}

fn decode_quantity(buf: &[u8], resource: &str) -> Result<Quantity> {
    let mut r = Reader::new(buf, "Quantity");
    let mut text = "";
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => {
                r.expect("string", wire, LEN)?;
                text = str_of(r.bytes()?, "Quantity", "string")?;
            }
            f => return Err(r.unknown(f)),
        }
    }
    text.parse().map_err(|e: Error| err("Quantity", format!("usage of {resource}: {}", e.message())))
}

/// A usage map entry: the resource name (borrowed) and its quantity (zero when absent).
fn usage_entry_ref(buf: &[u8]) -> Result<(&str, Quantity)> {
    let mut r = Reader::new(buf, "usage entry");
    let (mut key, mut value): (&str, Option<&[u8]>) = ("", None);
    while let Some((field, wire)) = r.key()? {
        r.expect("map entry", wire, LEN)?;
        match field {
            1 => key = str_of(r.bytes()?, "usage entry", "key")?,
            2 => value = Some(r.bytes()?),
            f => return Err(r.unknown(f)),
        }
    }
    let q = match value {
        Some(v) => decode_quantity(v, key)?,
        None => Quantity::ZERO,
    };
    Ok((key, q))
}

fn decode_usage_entry(buf: &[u8], usage: &mut Usage) -> Result<()> {
    let (key, q) = usage_entry_ref(buf)?;
    usage.insert(key.to_string(), q);
    Ok(())
}

fn decode_container(buf: &[u8]) -> Result<ContainerMetrics> {
    let mut r = Reader::new(buf, "ContainerMetrics");
    let mut c = ContainerMetrics::default();
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => {
                r.expect("name", wire, LEN)?;
                c.name = r.string("name")?;
            }
            2 => decode_usage_entry(r.sub("usage", wire)?, &mut c.usage)?,
            f => return Err(r.unknown(f)),
        }
    }
    Ok(c)
}

/// A `NodeMetrics` or `PodMetrics` message: fields 1 to 3 are shared, field 4 is the type's own
/// (`own` decodes one occurrence of it).
fn decode_sample<T: Sample>(buf: &[u8], kind: &'static str, own: fn(&mut Reader<'_>, u8, &mut T::Own) -> Result<()>) -> Result<T> {
    let mut r = Reader::new(buf, kind);
    let mut sample = T::default();
    let (metadata, timestamp, window, own_field) = sample.parts_mut();
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => *metadata = decode_object_meta(r.sub("metadata", wire)?)?,
            2 => *timestamp = decode_time(r.sub("timestamp", wire)?)?,
            3 => *window = decode_duration(r.sub("window", wire)?)?,
            4 => own(&mut r, wire, own_field)?,
            f => return Err(r.unknown(f)),
        }
    }
    Ok(sample)
}

/// One item of a `PodMetricsList` as a whole object.
pub(crate) fn decode_pod(buf: &[u8]) -> Result<PodMetrics> {
    decode_sample(buf, "PodMetrics", |r, wire, containers: &mut Vec<ContainerMetrics>| {
        containers.push(decode_container(r.sub("containers", wire)?)?);
        Ok(())
    })
}

fn decode_node(buf: &[u8]) -> Result<NodeMetrics> {
    decode_sample(buf, "NodeMetrics", |r, wire, usage: &mut Usage| decode_usage_entry(r.sub("usage", wire)?, usage))
}

fn decode_list<T>(buf: &[u8], message: &'static str, item: fn(&[u8]) -> Result<T>) -> Result<(ListMeta, Vec<T>)> {
    let mut items = Vec::new();
    let meta = walk_list(buf, message, |bytes| {
        items.push(item(bytes)?);
        Ok(())
    })?;
    Ok((meta, items))
}

/// The list message `buf`: its metadata, and the bytes of each item handed to `item`.
fn walk_list<'a>(buf: &'a [u8], message: &'static str, mut item: impl FnMut(&'a [u8]) -> Result<()>) -> Result<ListMeta> {
    let mut r = Reader::new(buf, message);
    let mut meta = ListMeta::default();
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => meta = decode_list_meta(r.sub("metadata", wire)?)?,
            2 => item(r.sub("items", wire)?)?,
            f => return Err(r.unknown(f)),
        }
    }
    Ok(meta)
}

/// The bytes of each item of a `PodMetricsList` body, in order (the envelope, the kind and the
/// list are checked as [`decode_pod_metrics_list`] checks them).
pub(crate) fn for_each_pod_item<'a>(body: &'a [u8], item: impl FnMut(&'a [u8]) -> Result<()>) -> Result<()> {
    let env = decode_envelope(body)?;
    expect_kind(&env, "PodMetricsList")?;
    walk_list(env.raw, "PodMetricsList", item).map(drop)
}

fn str_of<'a>(b: &'a [u8], message: &'static str, field: &str) -> Result<&'a str> {
    std::str::from_utf8(b).map_err(|_| err(message, format!("field {field} is not UTF-8")))
}

/// The names of an `ObjectMeta`, borrowed; every other known field is checked and skipped.
fn object_meta_names(buf: &[u8]) -> Result<(&str, &str)> {
    let mut r = Reader::new(buf, "ObjectMeta");
    let (mut name, mut namespace) = ("", "");
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => name = str_of(r.sub("name", wire)?, "ObjectMeta", "name")?,
            3 => namespace = str_of(r.sub("namespace", wire)?, "ObjectMeta", "namespace")?,
            2 | 4..=14 | 17 => r.skip(wire)?,
            f => return Err(r.unknown(f)),
        }
    }
    Ok((namespace, name))
}

fn container_ref(buf: &[u8]) -> Result<(&str, Quantity, Quantity)> {
    let mut r = Reader::new(buf, "ContainerMetrics");
    let (mut name, mut cpu, mut memory) = ("", Quantity::ZERO, Quantity::ZERO);
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => name = str_of(r.sub("name", wire)?, "ContainerMetrics", "name")?,
            2 => {
                // Every usage entry is checked; CPU and memory are kept (the last of repeated keys,
                // as in the object decoder's map).
                let (key, value) = usage_entry_ref(r.sub("usage", wire)?)?;
                match key {
                    "cpu" => cpu = value,
                    "memory" => memory = value,
                    _ => {}
                }
            }
            f => return Err(r.unknown(f)),
        }
    }
    Ok((name, cpu, memory))
}

/// The envelope of a Kubernetes protobuf body: the kind and the raw message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// `typeMeta.apiVersion` (`metrics.k8s.io/v1beta1`).
    pub api_version: String,
    /// `typeMeta.kind` (`PodMetricsList`, `Status`, ...).
    pub kind: String,
    /// The encoded message.
    pub raw: &'a [u8],
}

/// Splits a body into its envelope: checks the `k8s\0` magic and decodes `runtime.Unknown`.
pub fn decode_envelope(body: &[u8]) -> Result<Envelope<'_>> {
    let Some(rest) = body.strip_prefix(MAGIC) else {
        let shown: Vec<String> = body.iter().take(4).map(|b| format!("{b:#04x}")).collect();
        return Err(err("envelope", format!("the body does not start with the k8s\\0 magic (starts with [{}])", shown.join(", "))));
    };
    let mut r = Reader::new(rest, "envelope (runtime.Unknown)");
    let mut env = Envelope { api_version: String::new(), kind: String::new(), raw: &[] };
    let mut seen_raw = false;
    while let Some((field, wire)) = r.key()? {
        r.expect("field", wire, LEN)?;
        match field {
            2 => (env.raw, seen_raw) = (r.bytes()?, true),
            f => envelope_field(&mut env.api_version, &mut env.kind, u64::from(f), r.bytes()?)?,
        }
    }
    // Go writes `raw` for every object (an empty list still has its metadata): without it the
    // body was cut short, and reading it as an empty object would lose every item silently.
    if !seen_raw {
        return Err(no_raw(&env.kind));
    }
    Ok(env)
}

/// The error for an envelope without its object (field 2, `raw`).
fn no_raw(kind: &str) -> crate::Error {
    err("envelope (runtime.Unknown)", format!("no object (field 2, raw) after the type {kind:?}: the body ended early or is not a Kubernetes object"))
}

/// A field of `runtime.Unknown` other than `raw` (field 2): the type (1) is kept, the content
/// encoding (3) must be empty, the content type (4) is checked to be text.
fn envelope_field(api_version: &mut String, kind: &mut String, field: u64, payload: &[u8]) -> Result<()> {
    const MESSAGE: &str = "envelope (runtime.Unknown)";
    match field {
        1 => {
            let mut t = Reader::new(payload, "envelope typeMeta");
            while let Some((f, w)) = t.key()? {
                t.expect("field", w, LEN)?;
                match f {
                    1 => *api_version = t.string("apiVersion")?,
                    2 => *kind = t.string("kind")?,
                    f => return Err(t.unknown(f)),
                }
            }
        }
        3 => {
            let encoding = str_of(payload, MESSAGE, "contentEncoding")?;
            if !encoding.is_empty() {
                return Err(err("envelope", format!("content encoding {encoding:?} is not supported")));
            }
        }
        4 => drop(str_of(payload, MESSAGE, "contentType")?),
        f => return Err(err(MESSAGE, format!("unknown field {f}"))),
    }
    Ok(())
}

fn expect_kind(env: &Envelope<'_>, kind: &str) -> Result<()> {
    if env.kind == kind {
        return Ok(());
    }
    Err(err("envelope", format!("expected kind {kind}, got {:?} ({})", env.kind, env.api_version)))
}

/// Decodes a `PodMetricsList` body (magic, envelope, message).
pub fn decode_pod_metrics_list(body: &[u8]) -> Result<PodMetricsList> {
    let env = decode_envelope(body)?;
    expect_kind(&env, "PodMetricsList")?;
    let (metadata, items) = decode_list(env.raw, "PodMetricsList", decode_pod)?;
    Ok(PodMetricsList { metadata, items })
}

/// Decodes a `NodeMetricsList` body.
pub fn decode_node_metrics_list(body: &[u8]) -> Result<NodeMetricsList> {
    let env = decode_envelope(body)?;
    expect_kind(&env, "NodeMetricsList")?;
    let (metadata, items) = decode_list(env.raw, "NodeMetricsList", decode_node)?;
    Ok(NodeMetricsList { metadata, items })
}

/// Decodes one `PodMetrics` body.
pub fn decode_pod_metrics(body: &[u8]) -> Result<PodMetrics> {
    let env = decode_envelope(body)?;
    expect_kind(&env, "PodMetrics")?;
    decode_pod(env.raw)
}

/// Decodes one `NodeMetrics` body.
pub fn decode_node_metrics(body: &[u8]) -> Result<NodeMetrics> {
    let env = decode_envelope(body)?;
    expect_kind(&env, "NodeMetrics")?;
    decode_node(env.raw)
}

/// The fields of a `metav1.Status` (a failure a server answered in protobuf).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `Success` or `Failure`.
    pub status: String,
    /// The server's message.
    pub message: String,
    /// The machine-readable reason (`NotFound`, `Forbidden`, ...).
    pub reason: String,
    /// The HTTP status code.
    pub code: i32,
}

/// Decodes a `Status` body (what servers answer errors with when protobuf was asked for).
pub fn decode_status(body: &[u8]) -> Result<Status> {
    let env = decode_envelope(body)?;
    expect_kind(&env, "Status")?;
    let mut r = Reader::new(env.raw, "Status");
    let mut st = Status::default();
    while let Some((field, wire)) = r.key()? {
        match field {
            1 | 5 => r.skip(wire)?,
            2..=4 => {
                r.expect("string field", wire, LEN)?;
                let text = r.string("string field")?;
                match field {
                    2 => st.status = text,
                    3 => st.message = text,
                    _ => st.reason = text,
                }
            }
            6 => {
                r.expect("code", wire, VARINT)?;
                st.code = r.varint()? as i32;
            }
            f => return Err(r.unknown(f)),
        }
    }
    Ok(st)
}

mod encode;
mod pod_ref;
mod stream;
pub use encode::{
    MetaRef, NodeFields, PodFields, encode_node, encode_node_list, encode_node_metrics_list, encode_pod, encode_pod_list, encode_pod_metrics_list,
    encode_status, envelope,
};
#[cfg_attr(not(feature = "server"), allow(unused_imports))]
pub(crate) use encode::{Sink, encoded_len, list_head, list_tail, put_node_item, put_pod_item};
pub(crate) use pod_ref::{PodRef, as_map, read_item};
pub(crate) use stream::{PodItemSink, PodListDecoder, PodListSink, decode_pod_into};

#[cfg(test)]
mod tests;

//! The writing half of the protobuf codec: `metrics.k8s.io` objects and lists, `Status`, and the
//! `k8s\0` + `runtime.Unknown` envelope, in Go's field order (byte for byte what the Kubernetes
//! protobuf serializer writes for the same object).
//!
//! Sub-messages are written in place: a one-byte length is reserved, the body written after it,
//! and the length patched (the body moved by the few extra bytes a longer length takes), so an
//! answer is built in one buffer with no allocation per message. Pods are written through
//! [`PodFields`], so a server's compact snapshot is encoded without building a [`PodMetrics`]
//! per pod.
//!
//! Every `put_*` function writes to a `Sink`: a buffer, or a `Count` that only adds up the bytes.
//! A server streaming a list counts its items first (the envelope's length prefix needs their
//! total size), then writes them a chunk at a time, through the same functions.

use super::{LEN, MAGIC, VARINT};
use crate::Quantity;
use crate::metrics::meta::{ObjectMeta, Time};
use crate::metrics::{GoDuration, NodeMetrics, NodeMetricsList, PodMetrics, PodMetricsList};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The metadata of a pod or a node to write (JSON or protobuf).
// Made per item and dropped at once: the size of the full variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum MetaRef<'a> {
    /// Every field of an `ObjectMeta` (a creation time, a uid...).
    Full(Cow<'a, ObjectMeta>),
    /// Only a name, a namespace (pods; `None` for nodes) and labels: what a metrics server's
    /// snapshot holds.
    Basic {
        /// Name.
        name: &'a str,
        /// Namespace.
        namespace: Option<&'a str>,
        /// Labels copied from the Pod or Node object.
        labels: Option<&'a BTreeMap<String, String>>,
    },
}

/// What the encoder reads of a pod: implemented by [`PodMetrics`] and by a server's snapshot
/// pods, so that both are written by one encoder.
pub trait PodFields {
    /// The pod's metadata.
    fn meta(&self) -> MetaRef<'_>;
    /// The end of the measurement interval and its length.
    fn interval(&self) -> (&Time, GoDuration);
    /// Calls `each` with every container's name and usage (resource name and quantity, in
    /// resource-name order), in container order.
    fn each_container(&self, each: &mut dyn FnMut(&str, &mut dyn Iterator<Item = (&str, &Quantity)>));
}

impl PodFields for PodMetrics {
    fn meta(&self) -> MetaRef<'_> {
        MetaRef::Full(Cow::Borrowed(&self.metadata))
    }
    fn interval(&self) -> (&Time, GoDuration) {
        (&self.timestamp, self.window)
    }
    fn each_container(&self, each: &mut dyn FnMut(&str, &mut dyn Iterator<Item = (&str, &Quantity)>)) {
        for c in &self.containers {
            each(&c.name, &mut c.usage.iter().map(|(k, v)| (k.as_str(), v)));
        }
    }
}

/// What the encoder reads of a node: implemented by [`NodeMetrics`] and by a server's snapshot
/// nodes, so that both are written by one encoder.
pub trait NodeFields {
    /// The node's metadata.
    fn meta(&self) -> MetaRef<'_>;
    /// The end of the measurement interval and its length.
    fn interval(&self) -> (&Time, GoDuration);
    /// Calls `each` with every resource name and quantity, in resource-name order.
    fn each_usage(&self, each: &mut dyn FnMut(&str, &Quantity));
}

impl NodeFields for NodeMetrics {
    fn meta(&self) -> MetaRef<'_> {
        MetaRef::Full(Cow::Borrowed(&self.metadata))
    }
    fn interval(&self) -> (&Time, GoDuration) {
        (&self.timestamp, self.window)
    }
    fn each_usage(&self, each: &mut dyn FnMut(&str, &Quantity)) {
        for (k, v) in &self.usage {
            each(k, v);
        }
    }
}

/// Where the encoder writes: a buffer, or a [`Count`] of the bytes a buffer would get. Both run the
/// same `put_*` functions, so the size of an encoding is computed by the one description of it,
/// without writing it.
pub(crate) trait Sink {
    /// Appends bytes.
    fn put(&mut self, bytes: &[u8]);
    /// Appends one byte (keys and most varints: no copy call for a byte or two).
    fn put_u8(&mut self, byte: u8);
    /// Appends a quantity's canonical text (formatted on the stack).
    fn put_quantity(&mut self, q: &Quantity) {
        q.with_canonical(|text| self.put(text.as_bytes()));
    }
    /// Appends the length of the body `body` writes, then that body.
    fn delimited(&mut self, body: impl FnOnce(&mut Self))
    where
        Self: Sized;
}

/// Sub-messages are written in place (see the module docs).
impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    // Called for every key and most varints: a call per byte showed as a fifth of an encoding.
    #[inline(always)]
    fn put_u8(&mut self, byte: u8) {
        self.push(byte);
    }
    fn delimited(&mut self, body: impl FnOnce(&mut Self)) {
        let at = self.len();
        self.push(0);
        body(self);
        let len = self.len() - at - 1;
        if len < 0x80 {
            self[at] = len as u8;
        } else {
            // A longer length: move the body up by the extra bytes, in place.
            let mut prefix = [0u8; 10];
            let n = varint(&mut prefix, len as u64);
            let end = self.len();
            self.resize(end + n - 1, 0);
            self.copy_within(at + 1..end, at + n);
            self[at..at + n].copy_from_slice(&prefix[..n]);
        }
    }
}

/// The number of bytes an encoding takes, counted without writing them.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Count(pub usize);

impl Sink for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
    fn put_u8(&mut self, _: u8) {
        self.0 += 1;
    }
    fn delimited(&mut self, body: impl FnOnce(&mut Self)) {
        let mut inner = Count(0);
        body(&mut inner);
        put_varint(self, inner.0 as u64);
        self.0 += inner.0;
    }
}

/// The size of what `f` writes.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) fn encoded_len(f: impl FnOnce(&mut Count)) -> usize {
    let mut c = Count(0);
    f(&mut c);
    c.0
}

#[inline]
fn put_varint<S: Sink>(out: &mut S, v: u64) {
    // Keys and most lengths: one byte.
    if v < 0x80 {
        return out.put_u8(v as u8);
    }
    let mut buf = [0u8; 10];
    let n = varint(&mut buf, v);
    out.put(&buf[..n]);
}

/// Writes `v` as a varint at the start of `buf`; returns its length.
fn varint(buf: &mut [u8; 10], mut v: u64) -> usize {
    let mut n = 0;
    while v >= 0x80 {
        buf[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    buf[n] = v as u8;
    n + 1
}

fn put_key<S: Sink>(out: &mut S, field: u32, wire: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire));
}

pub(super) fn put_bytes<S: Sink>(out: &mut S, field: u32, b: &[u8]) {
    put_key(out, field, LEN);
    put_varint(out, b.len() as u64);
    out.put(b);
}

pub(super) fn put_int<S: Sink>(out: &mut S, field: u32, v: i64) {
    put_key(out, field, VARINT);
    put_varint(out, v as u64);
}

/// Writes a length-delimited field whose body `f` appends to `out` (see the module docs).
pub(super) fn put_message<S: Sink>(out: &mut S, field: u32, f: impl FnOnce(&mut S)) {
    put_key(out, field, LEN);
    out.delimited(f);
}

fn put_time<S: Sink>(out: &mut S, field: u32, t: &Time) {
    put_message(out, field, |m| {
        put_int(m, 1, t.0.as_second());
        let nanos = t.0.subsec_nanosecond();
        if nanos != 0 {
            put_int(m, 2, i64::from(nanos));
        }
    });
}

fn put_string_map<S: Sink>(out: &mut S, field: u32, map: &BTreeMap<String, String>) {
    for (k, v) in map {
        put_message(out, field, |e| {
            put_bytes(e, 1, k.as_bytes());
            put_bytes(e, 2, v.as_bytes());
        });
    }
}

fn put_object_meta<S: Sink>(out: &mut S, m: &ObjectMeta, created: Option<&Time>) {
    put_message(out, 1, |o| {
        for (field, value) in [(1, &m.name), (2, &m.generate_name), (3, &m.namespace), (4, &m.self_link), (5, &m.uid), (6, &m.resource_version)] {
            if let Some(v) = value {
                put_bytes(o, field, v.as_bytes());
            }
        }
        if let Some(g) = m.generation {
            put_int(o, 7, g);
        }
        if let Some(t) = created.or(m.creation_timestamp.as_ref()) {
            put_time(o, 8, t);
        }
        if let Some(t) = &m.deletion_timestamp {
            put_time(o, 9, t);
        }
        if let Some(s) = m.deletion_grace_period_seconds {
            put_int(o, 10, s);
        }
        if let Some(l) = &m.labels {
            put_string_map(o, 11, l);
        }
        if let Some(a) = &m.annotations {
            put_string_map(o, 12, a);
        }
        for f in m.finalizers.iter().flatten() {
            put_bytes(o, 14, f.as_bytes());
        }
    });
}

/// The fields of [`put_object_meta`] a basic pod or node has (a name, a namespace for pods,
/// labels), in the same order.
fn put_basic_meta<S: Sink>(out: &mut S, name: &str, namespace: Option<&str>, labels: Option<&BTreeMap<String, String>>, created: Option<&Time>) {
    put_message(out, 1, |o| {
        put_bytes(o, 1, name.as_bytes());
        if let Some(namespace) = namespace {
            put_bytes(o, 3, namespace.as_bytes());
        }
        if let Some(t) = created {
            put_time(o, 8, t);
        }
        if let Some(l) = labels {
            put_string_map(o, 11, l);
        }
    });
}

/// One `ResourceList` entry: the name and `resource.Quantity{string: ...}`, the string written
/// straight into the buffer.
fn put_usage_entry<S: Sink>(out: &mut S, field: u32, name: &str, q: &Quantity) {
    put_message(out, field, |e| {
        put_bytes(e, 1, name.as_bytes());
        put_message(e, 2, |qm| put_message(qm, 1, |s| s.put_quantity(q)));
    });
}

fn put_window<S: Sink>(out: &mut S, window: GoDuration) {
    put_message(out, 3, |d| put_int(d, 1, window.0));
}

fn put_meta<S: Sink>(out: &mut S, meta: MetaRef<'_>, created: Option<&Time>) {
    match meta {
        MetaRef::Full(m) => put_object_meta(out, &m, created),
        MetaRef::Basic { name, namespace, labels } => put_basic_meta(out, name, namespace, labels, created),
    }
}

fn put_pod<S: Sink, P: PodFields + ?Sized>(out: &mut S, p: &P, created: Option<&Time>) {
    put_meta(out, p.meta(), created);
    let (timestamp, window) = p.interval();
    put_time(out, 2, timestamp);
    put_window(out, window);
    p.each_container(&mut |name, usage| {
        put_message(out, 4, |cm| {
            put_bytes(cm, 1, name.as_bytes());
            for (resource, q) in usage {
                put_usage_entry(cm, 2, resource, q);
            }
        });
    });
}

fn put_node<S: Sink, N: NodeFields + ?Sized>(out: &mut S, n: &N, created: Option<&Time>) {
    put_meta(out, n.meta(), created);
    let (timestamp, window) = n.interval();
    put_time(out, 2, timestamp);
    put_window(out, window);
    n.each_usage(&mut |resource, q| put_usage_entry(out, 4, resource, q));
}

/// Wraps an encoded message in the `k8s\0` magic and the `runtime.Unknown` envelope.
pub fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    enveloped(api_version, kind, raw.len(), |out| out.extend_from_slice(raw))
}

/// The start of the envelope: the magic and the `typeMeta`.
fn put_envelope_head(out: &mut Vec<u8>, api_version: &str, kind: &str) {
    out.extend_from_slice(MAGIC);
    put_message(out, 1, |t| {
        put_bytes(t, 1, api_version.as_bytes());
        put_bytes(t, 2, kind.as_bytes());
    });
}

/// The end of the envelope, after `raw`: empty `contentEncoding` and `contentType`.
fn put_envelope_tail<S: Sink>(out: &mut S) {
    put_bytes(out, 3, b"");
    put_bytes(out, 4, b"");
}

/// The envelope with its `raw` field written in place by `raw`.
fn enveloped(api_version: &str, kind: &str, size_hint: usize, raw: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint + 64);
    put_envelope_head(&mut out, api_version, kind);
    put_message(&mut out, 2, raw);
    put_envelope_tail(&mut out);
    out
}

/// The start of a list message: its (empty) `ListMeta`; the items follow as field 2.
fn put_list_meta<S: Sink>(out: &mut S) {
    put_message(out, 1, |_| {});
}

fn list<T: ?Sized>(api_version: &str, kind: &str, items: &[&T], per_item: usize, put: impl Fn(&mut Vec<u8>, &T)) -> Vec<u8> {
    enveloped(api_version, kind, items.len() * per_item, |raw| {
        put_list_meta(raw);
        for item in items {
            put(raw, item);
        }
    })
}

/// One pod of a `PodMetricsList` (field 2 of the list), stamped with `created` when given.
pub(crate) fn put_pod_item<S: Sink, P: PodFields + ?Sized>(out: &mut S, pod: &P, created: Option<&Time>) {
    put_message(out, 2, |m| put_pod(m, pod, created));
}

/// One node of a `NodeMetricsList` (field 2 of the list), stamped with `created` when given.
pub(crate) fn put_node_item<S: Sink, N: NodeFields + ?Sized>(out: &mut S, node: &N, created: Option<&Time>) {
    put_message(out, 2, |m| put_node(m, node, created));
}

/// The bytes of an enveloped list before its first item, for a list written item by item (a
/// server streaming it): `items_len` is the items' total encoded size (from [`encoded_len`] of
/// [`put_pod_item`] or [`put_node_item`]), which the envelope's length prefix needs first. The
/// items follow, then [`list_tail`]: together byte for byte what [`encode_pod_list`] and
/// [`encode_node_list`] write.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) fn list_head(api_version: &str, kind: &str, items_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + api_version.len() + kind.len());
    put_envelope_head(&mut out, api_version, kind);
    put_key(&mut out, 2, LEN);
    put_varint(&mut out, (encoded_len(put_list_meta) + items_len) as u64);
    put_list_meta(&mut out);
    out
}

/// The bytes of an enveloped list after its last item (see [`list_head`]).
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) fn list_tail(out: &mut Vec<u8>) {
    put_envelope_tail(out);
}

/// Encodes a `PodMetricsList` of borrowed pods ([`PodMetrics`] or a server's snapshot pods),
/// each stamped with `created` when given (the time the server answers, as metrics-server
/// writes it).
pub fn encode_pod_list<P: PodFields + ?Sized>(api_version: &str, items: &[&P], created: Option<&Time>) -> Vec<u8> {
    list(api_version, "PodMetricsList", items, 160, |m, p| put_pod_item(m, p, created))
}

/// Encodes a `NodeMetricsList` of borrowed nodes ([`NodeMetrics`] or a server's snapshot
/// nodes), each stamped with `created` when given.
pub fn encode_node_list<N: NodeFields + ?Sized>(api_version: &str, items: &[&N], created: Option<&Time>) -> Vec<u8> {
    list(api_version, "NodeMetricsList", items, 120, |m, n| put_node_item(m, n, created))
}

/// Encodes one pod ([`PodMetrics`] or a server's snapshot pod).
pub fn encode_pod<P: PodFields + ?Sized>(api_version: &str, pod: &P, created: Option<&Time>) -> Vec<u8> {
    enveloped(api_version, "PodMetrics", 160, |raw| put_pod(raw, pod, created))
}

/// Encodes one node ([`NodeMetrics`] or a server's snapshot node).
pub fn encode_node<N: NodeFields + ?Sized>(api_version: &str, node: &N, created: Option<&Time>) -> Vec<u8> {
    enveloped(api_version, "NodeMetrics", 120, |raw| put_node(raw, node, created))
}

/// Encodes a `NodeMetricsList` (its own items, unstamped).
pub fn encode_node_metrics_list(list: &NodeMetricsList, api_version: &str) -> Vec<u8> {
    encode_node_list(api_version, &list.items.iter().collect::<Vec<_>>(), None)
}

/// Encodes a `PodMetricsList` (its own items, unstamped).
pub fn encode_pod_metrics_list(list: &PodMetricsList, api_version: &str) -> Vec<u8> {
    encode_pod_list(api_version, &list.items.iter().collect::<Vec<_>>(), None)
}

/// Encodes a failure `Status` (for servers answering protobuf clients).
pub fn encode_status(message: &str, reason: &str, code: i32) -> Vec<u8> {
    enveloped("v1", "Status", message.len() + 32, |raw| {
        put_message(raw, 1, |_| {});
        put_bytes(raw, 2, b"Failure");
        put_bytes(raw, 3, message.as_bytes());
        put_bytes(raw, 4, reason.as_bytes());
        put_int(raw, 6, i64::from(code));
    })
}

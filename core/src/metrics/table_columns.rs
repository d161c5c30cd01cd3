//! Lists as columns, for bindings that hand many objects to another runtime at once: every string
//! laid end to end in one text ([`Strings`]), numbers in flat arrays ([`PodMetricsColumns`]).
//!
//! A binding converts a handful of vectors instead of one object per pod and field; the other side
//! builds a row only when it is read. The values are exactly those of the objects: the same
//! strings the Kubernetes JSON form holds (canonical quantities, Go durations, RFC 3339 times), plus
//! CPU in nano-cores and memory in bytes as exact integers.

use super::json_item::ItemScanner;
use super::json_stream::{JsonListSink, json_value_prefix};
use super::list_decoder::ListDecoder;
use super::protobuf::PodItemSink as _;
use super::{GoDuration, ObjectMeta, PodMetrics, Time, protobuf};
use crate::Quantity;
use crate::error::{Error, ErrorKind, Result};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// Strings laid end to end in one text, each found by where it ends.
///
/// Offsets count UTF-16 code units (JavaScript string indices), so that `text.slice(start, end)`
/// in JavaScript gives string `k` back with `start = ends[k - 1]` (0 for the first) and
/// `end = ends[k]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Strings {
    /// All strings, concatenated.
    pub text: String,
    /// The end of each string in `text`, in UTF-16 code units.
    pub ends: Vec<u32>,
    units: u32,
}

impl Strings {
    /// Appends `s` and returns its index.
    pub fn push(&mut self, s: &str) -> u32 {
        let units = if s.is_ascii() { s.len() } else { s.encode_utf16().count() };
        self.text.push_str(s);
        self.units = self.units.saturating_add(units as u32);
        self.ends.push(self.units);
        self.ends.len() as u32 - 1
    }

    /// Appends the canonical string of `q` (what `q.canonical()` gives, written in place with no
    /// `String` of its own) and returns its index.
    pub fn push_quantity(&mut self, q: &crate::Quantity) -> u32 {
        q.with_canonical(|s| self.push(s))
    }

    /// The number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether no string was pushed.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// String `index` (by character offsets; for tests and other Rust readers).
    pub fn get(&self, index: usize) -> Option<String> {
        let end = *self.ends.get(index)? as usize;
        let start = if index == 0 { 0 } else { self.ends[index - 1] as usize };
        let units: Vec<u16> = self.text.encode_utf16().skip(start).take(end - start).collect();
        String::from_utf16(&units).ok()
    }
}

/// The pod's metadata is one JSON object in its strings (it holds fields other than name,
/// namespace, creation time and labels); the other `POD_*` metadata flags are then unset.
pub const POD_META_JSON: u8 = 1;
/// The pod has a name (its first metadata string).
pub const POD_NAME: u8 = 2;
/// The pod has a namespace (the next metadata string).
pub const POD_NAMESPACE: u8 = 4;
/// The pod has a creation timestamp (the next metadata string).
pub const POD_CREATED: u8 = 8;
/// The pod has labels (its label count of key and value strings follow).
pub const POD_LABELS: u8 = 16;

/// The container's usage has a `cpu` string.
pub const CONTAINER_CPU: u8 = 1;
/// The container's usage has a `memory` string.
pub const CONTAINER_MEMORY: u8 = 2;
/// The container's usage is one JSON object in its strings (it holds resources other than CPU
/// and memory); `CONTAINER_CPU` and `CONTAINER_MEMORY` are then unset.
pub const CONTAINER_USAGE_JSON: u8 = 4;

/// Pod metrics as columns: the same values as the [`PodMetrics`] objects they come from.
///
/// The strings of pod `i` start at `strings` index `pod_strings[i]`, in this order: either one
/// metadata JSON string ([`POD_META_JSON`]) or name, namespace, creation timestamp (each when its
/// flag is set) and `pod_labels[i]` key/value pairs ([`POD_LABELS`]); then timestamp and window;
/// then, for each container, its name and either its CPU and memory strings (each when its flag
/// is set) or one usage JSON string ([`CONTAINER_USAGE_JSON`]). The containers of pod `i` are
/// `pod_containers[i]..pod_containers[i + 1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodMetricsColumns {
    /// Every string, in the order above.
    pub strings: Strings,
    /// Per pod, the index of its first string; one more entry than pods (the end).
    pub pod_strings: Vec<u32>,
    /// Per pod, its `POD_*` flags.
    pub pod_flags: Vec<u8>,
    /// Per pod, the number of its labels (0 without [`POD_LABELS`]).
    pub pod_labels: Vec<u32>,
    /// Per pod, the index of its first container; one more entry than pods (the end).
    pub pod_containers: Vec<u32>,
    /// Per container, its `CONTAINER_*` flags.
    pub container_flags: Vec<u8>,
    /// Per container, CPU usage in nano-cores (exact; 0 when not reported).
    pub container_cpu_nanos: Vec<i64>,
    /// Per container, memory usage in bytes, rounded up like `Quantity.value` (0 when not reported).
    pub container_memory_bytes: Vec<i64>,
    /// `false` when some CPU or memory value does not fit a 64-bit integer in these units (that
    /// entry then holds 0; the strings still hold the exact value).
    pub exact: bool,
}

impl PodMetricsColumns {
    /// The number of pods.
    pub fn len(&self) -> usize {
        self.pod_flags.len()
    }

    /// Whether there is no pod.
    pub fn is_empty(&self) -> bool {
        self.pod_flags.is_empty()
    }

    /// Empty columns with room for `pods` pods and `containers` containers.
    fn with_capacity(pods: usize, containers: usize) -> PodMetricsColumns {
        PodMetricsColumns {
            pod_strings: Vec::with_capacity(pods + 1),
            pod_flags: Vec::with_capacity(pods),
            pod_labels: Vec::with_capacity(pods),
            pod_containers: Vec::with_capacity(pods + 1),
            container_flags: Vec::with_capacity(containers),
            container_cpu_nanos: Vec::with_capacity(containers),
            container_memory_bytes: Vec::with_capacity(containers),
            exact: true,
            ..PodMetricsColumns::default()
        }
    }

    /// The columns of `pods`, in their order.
    pub fn from_pods(pods: &[PodMetrics]) -> PodMetricsColumns {
        let containers: usize = pods.iter().map(|p| p.containers.len()).sum();
        let mut c = PodMetricsColumns::with_capacity(pods.len(), containers);
        let mut recent = Recent::default();
        for p in pods {
            c.push_pod(p, &mut recent);
        }
        c.end()
    }

    /// Decodes a `PodMetricsList` protobuf body (`k8s\0` envelope) straight into columns, item
    /// by item: without an object per pod when an item's metadata holds no more than names,
    /// labels and a creation time, as an object otherwise. The columns, and the error for a bad
    /// body, are those of [`from_pods`](Self::from_pods) on the decoded list.
    pub fn from_protobuf(body: &[u8]) -> Result<PodMetricsColumns> {
        let mut sink = ColumnsSink::default();
        protobuf::for_each_pod_item(body, |item| sink.item(item))?;
        Ok(sink.end())
    }

    /// Appends a whole object.
    fn push_pod(&mut self, p: &PodMetrics, recent: &mut Recent) {
        self.mark();
        self.push_meta(&p.metadata, &mut recent.created);
        self.strings.push(recent.times.of(&p.timestamp));
        self.strings.push(recent.windows.of(&p.window));
        for container in &p.containers {
            // A map's entries are sorted, each key once.
            let usage: Vec<(&str, Quantity)> = container.usage.iter().map(|(k, q)| (k.as_str(), *q)).collect();
            self.push_usage_container(&container.name, &usage);
        }
    }

    /// Appends an item read by [`protobuf::PodRef`]: what [`push_pod`](Self::push_pod) appends
    /// for the object it decodes to (labels and usage as the maps keep them).
    fn push_pod_ref(&mut self, p: &mut protobuf::PodRef<'_>, recent: &mut Recent) {
        self.mark();
        let labels = p.labels.as_mut().map(|l| protobuf::as_map(l));
        self.push_plain_meta(p.name, p.namespace, p.created.as_ref(), labels, &mut recent.created);
        self.strings.push(recent.times.of(&p.timestamp));
        self.strings.push(recent.windows.of(&p.window));
        let mut start = 0;
        for &(name, end) in &p.containers {
            let usage: Vec<(&str, Quantity)> = protobuf::as_map(&mut p.usage[start..end]).collect();
            start = end;
            self.push_usage_container(name, &usage);
        }
    }

    /// The columns, with the end marks after the last pod.
    fn end(mut self) -> PodMetricsColumns {
        self.mark();
        self
    }

    /// Marks where the next pod's strings and containers start (or where the last one's end).
    fn mark(&mut self) {
        self.pod_strings.push(self.strings.len() as u32);
        self.pod_containers.push(self.container_flags.len() as u32);
    }

    fn push_meta(&mut self, m: &ObjectMeta, times: &mut LastText<Time>) {
        if !m.only_names_labels_created() {
            self.pod_flags.push(POD_META_JSON);
            self.pod_labels.push(0);
            self.strings.push(&serde_json::to_string(m).unwrap_or_default());
            return;
        }
        let labels = m.labels.as_ref().map(|l| l.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.push_plain_meta(m.name.as_deref(), m.namespace.as_deref(), m.creation_timestamp.as_ref(), labels, times);
    }

    /// Metadata that holds no more than names, labels (each key once, in order) and a creation
    /// time, as its flags and strings.
    fn push_plain_meta<'s>(
        &mut self,
        name: Option<&str>,
        namespace: Option<&str>,
        created: Option<&Time>,
        labels: Option<impl Iterator<Item = (&'s str, &'s str)>>,
        times: &mut LastText<Time>,
    ) {
        let mut flags = 0;
        if let Some(name) = name {
            flags |= POD_NAME;
            self.strings.push(name);
        }
        if let Some(namespace) = namespace {
            flags |= POD_NAMESPACE;
            self.strings.push(namespace);
        }
        if let Some(created) = created {
            flags |= POD_CREATED;
            let text = times.of(created);
            self.strings.push(text);
        }
        let mut count = 0;
        if let Some(labels) = labels {
            flags |= POD_LABELS;
            for (k, v) in labels {
                self.strings.push(k);
                self.strings.push(v);
                count += 1;
            }
        }
        self.pod_flags.push(flags);
        self.pod_labels.push(count);
    }

    /// One container from its usage entries (sorted by resource, each once): CPU and memory,
    /// and the whole usage as JSON when it holds other resources too.
    fn push_usage_container<K: AsRef<str>>(&mut self, name: &str, usage: &[(K, Quantity)]) {
        let get = |resource: &str| usage.iter().find(|(k, _)| k.as_ref() == resource).map(|&(_, q)| q);
        let (cpu, memory) = (get("cpu"), get("memory"));
        let others = usage.len() - usize::from(cpu.is_some()) - usize::from(memory.is_some());
        let usage_json = (others > 0).then(|| {
            let map: std::collections::BTreeMap<&str, Quantity> = usage.iter().map(|(k, q)| (k.as_ref(), *q)).collect();
            serde_json::to_string(&map).unwrap_or_default()
        });
        self.push_container(name, cpu, memory, usage_json);
    }

    /// One container: its name, then its CPU and memory strings, or its whole usage as JSON
    /// (`usage_json`, when it reports other resources too); its flags and exact integers.
    fn push_container(&mut self, name: &str, cpu: Option<Quantity>, memory: Option<Quantity>, usage_json: Option<String>) {
        self.strings.push(name);
        let mut flags = 0;
        if let Some(json) = usage_json {
            flags |= CONTAINER_USAGE_JSON;
            self.strings.push(&json);
        } else {
            if let Some(q) = cpu {
                flags |= CONTAINER_CPU;
                self.strings.push_quantity(&q);
            }
            if let Some(q) = memory {
                flags |= CONTAINER_MEMORY;
                self.strings.push_quantity(&q);
            }
        }
        self.container_flags.push(flags);
        let nanos = self.exact_or_zero(cpu.map(|q| q.scaled_value(-9)));
        let bytes = self.exact_or_zero(memory.map(|q| q.value()));
        self.container_cpu_nanos.push(nanos);
        self.container_memory_bytes.push(bytes);
    }

    fn exact_or_zero(&mut self, value: Option<Option<i128>>) -> i64 {
        match value {
            None => 0,
            Some(v) => match v.and_then(|v| i64::try_from(v).ok()) {
                Some(v) => v,
                None => {
                    self.exact = false;
                    0
                }
            },
        }
    }
}

impl PodMetricsColumns {
    /// Decodes a `PodMetricsList` JSON body straight into columns: strings are borrowed from the
    /// body while decoding, and no [`PodMetrics`] (with its maps and owned strings) is built.
    /// The columns equal those of [`PodMetricsColumns::from_pods`] of the same list decoded whole.
    pub fn from_json(body: &[u8]) -> Result<PodMetricsColumns> {
        let list: ListJson<'_> = serde_json::from_slice(body).map_err(|e| Error::new(ErrorKind::Api, e.to_string()).with_source(e))?;
        let pods = list.items.unwrap_or_default();
        let containers: usize = pods.iter().map(|p| p.containers.as_ref().map_or(0, Vec::len)).sum();
        let mut c = PodMetricsColumns::with_capacity(pods.len(), containers);
        let mut recent = Recent::default();
        for p in pods {
            c.push_pod_json(p, &mut recent)?;
        }
        Ok(c.end())
    }

    /// Decodes a `PodMetricsList` JSON body given in pieces, as they arrive from the network
    /// (what the client does): only the bytes of one unfinished item are kept between pieces.
    /// The columns are those of [`from_json`](Self::from_json) on the joined pieces, and a bad
    /// body is an error either way.
    pub fn from_json_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<PodMetricsColumns> {
        Ok(ListDecoder::new(false, ColumnsSink::default()).decode(chunks)?.end())
    }

    /// Decodes a `PodMetricsList` protobuf body given in pieces, as they arrive from the network
    /// (what the client does): the columns are those of [`from_protobuf`](Self::from_protobuf)
    /// on the joined pieces, and a bad body is an error either way.
    pub fn from_protobuf_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<PodMetricsColumns> {
        Ok(ListDecoder::new(true, ColumnsSink::default()).decode(chunks)?.end())
    }

    /// Appends an item decoded from JSON.
    fn push_pod_json(&mut self, p: PodJson<'_>, recent: &mut Recent) -> Result<()> {
        self.mark();
        self.push_meta_json(p.metadata, &mut recent.created)?;
        self.strings.push(recent.times.of(&p.timestamp));
        self.strings.push(recent.windows.of(&p.window));
        for container in p.containers.unwrap_or_default() {
            let mut usage = container.usage.map(|u| u.0).unwrap_or_default();
            last_wins(&mut usage);
            self.push_usage_container(&container.name.0, &usage);
        }
        Ok(())
    }

    fn push_meta_json(&mut self, m: MetaJson<'_>, times: &mut LastText<Time>) -> Result<()> {
        if !m.other.is_empty() {
            // Fields beyond the usual four: the whole metadata through `ObjectMeta`, as `from_pods` does.
            let mut object = serde_json::Map::new();
            let text = |s: Cow<'_, str>| serde_json::Value::String(s.into_owned());
            if let Some(v) = m.name {
                object.insert("name".into(), text(v.0));
            }
            if let Some(v) = m.namespace {
                object.insert("namespace".into(), text(v.0));
            }
            if let Some(t) = m.created {
                object.insert("creationTimestamp".into(), serde_json::Value::String(t.to_string()));
            }
            if let Some(labels) = m.labels {
                object.insert("labels".into(), serde_json::Value::Object(labels.into_iter().map(|(k, v)| (k.into_owned(), text(v))).collect()));
            }
            object.extend(m.other);
            let meta: ObjectMeta = serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| Error::new(ErrorKind::Api, e.to_string()))?;
            self.push_meta(&meta, times);
            return Ok(());
        }
        let labels = m.labels.map(|mut labels| {
            last_wins(&mut labels);
            labels
        });
        let pairs = labels.as_ref().map(|l| l.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
        self.push_plain_meta(m.name.as_ref().map(|n| n.0.as_ref()), m.namespace.as_ref().map(|n| n.0.as_ref()), m.created.as_ref(), pairs, times);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// JSON, with strings borrowed from the body where they have no escapes.

/// A string borrowed from the body when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

#[derive(Deserialize)]
struct ListJson<'a> {
    #[serde(borrow, default)]
    items: Option<Vec<PodJson<'a>>>,
}

#[derive(Deserialize)]
struct PodJson<'a> {
    #[serde(borrow, default)]
    metadata: MetaJson<'a>,
    timestamp: Time,
    window: GoDuration,
    #[serde(borrow, default)]
    containers: Option<Vec<ContainerJson<'a>>>,
}

#[derive(Deserialize)]
struct ContainerJson<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow, default)]
    usage: Option<UsageJson<'a>>,
}

/// A usage map in the body's order.
struct UsageJson<'a>(Vec<(Cow<'a, str>, Quantity)>);

impl<'de: 'a, 'a> Deserialize<'de> for UsageJson<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = UsageJson<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of resource names to quantities")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<UsageJson<'a>, A::Error> {
                let mut usage = Vec::with_capacity(2);
                while let Some(key) = map.next_key::<Text<'a>>()? {
                    usage.push((key.0, map.next_value::<Quantity>()?));
                }
                Ok(UsageJson(usage))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// Metadata: name, namespace, creation time and labels borrowed; any other field kept aside.
#[derive(Default)]
struct MetaJson<'a> {
    name: Option<Text<'a>>,
    namespace: Option<Text<'a>>,
    created: Option<Time>,
    labels: Option<Vec<(Cow<'a, str>, Cow<'a, str>)>>,
    other: serde_json::Map<String, serde_json::Value>,
}

impl<'de: 'a, 'a> Deserialize<'de> for MetaJson<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = MetaJson<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ObjectMeta object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<MetaJson<'a>, A::Error> {
                let mut m = MetaJson::default();
                while let Some(key) = map.next_key::<Text<'a>>()? {
                    match key.0.as_ref() {
                        "name" => m.name = map.next_value()?,
                        "namespace" => m.namespace = map.next_value()?,
                        "creationTimestamp" => m.created = map.next_value()?,
                        "labels" => m.labels = map.next_value::<Option<LabelsJson<'a>>>()?.map(|l| l.0),
                        _ => {
                            let value: serde_json::Value = map.next_value()?;
                            if !value.is_null() {
                                m.other.insert(key.0.into_owned(), value);
                            }
                        }
                    }
                }
                Ok(m)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

struct LabelsJson<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for LabelsJson<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = LabelsJson<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of label names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<LabelsJson<'a>, A::Error> {
                let mut labels = Vec::new();
                while let Some(key) = map.next_key::<Text<'a>>()? {
                    labels.push((key.0, map.next_value::<Text<'a>>()?.0));
                }
                Ok(LabelsJson(labels))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// Sorts `entries` by key and keeps, of a key given more than once, the last value: what a JSON
/// object read into a map holds.
fn last_wins<K: Ord, V>(entries: &mut Vec<(K, V)>) {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            std::mem::swap(&mut earlier.1, &mut later.1);
        }
        same
    });
}

/// The last creation time, timestamp and window written, as text.
#[derive(Debug, Default)]
struct Recent {
    created: LastText<Time>,
    times: LastText<Time>,
    windows: LastText<GoDuration>,
}

/// Columns filled item by item, from either encoding (what the client streams a list into).
pub(crate) struct ColumnsSink {
    columns: PodMetricsColumns,
    recent: Recent,
    /// The vectors of the protobuf item being read, kept from item to item.
    pod: protobuf::PodRef<'static>,
}

impl Default for ColumnsSink {
    fn default() -> ColumnsSink {
        ColumnsSink { columns: PodMetricsColumns::with_capacity(0, 0), recent: Recent::default(), pod: protobuf::PodRef::default() }
    }
}

impl ColumnsSink {
    /// The columns of every item given.
    pub(crate) fn end(self) -> PodMetricsColumns {
        self.columns.end()
    }
}

impl JsonListSink for ColumnsSink {
    fn json_item(&mut self, buf: &[u8], _scanner: Option<&mut ItemScanner>) -> Result<Option<usize>> {
        let Some((pod, len)) = json_value_prefix::<PodJson<'_>>(buf)? else { return Ok(None) };
        self.columns.push_pod_json(pod, &mut self.recent)?;
        Ok(Some(len))
    }

    fn json_outside(&mut self, list: &[u8]) -> Result<()> {
        PodMetricsColumns::from_json(list).map(drop)
    }
}

/// A protobuf item goes straight into the columns when its metadata holds no more than they
/// keep in their own columns, as an object otherwise.
impl protobuf::PodItemSink for ColumnsSink {
    fn reserve(&mut self, _pods: usize) {}

    fn item(&mut self, item: &[u8]) -> Result<()> {
        let mut into = (&mut self.columns, &mut self.recent);
        protobuf::read_item(&mut self.pod, item, &mut into, |(c, r), pod| c.push_pod_ref(pod, r), |(c, r), pod| c.push_pod(pod, r))
    }
}

/// Times and durations as their JSON text, formatting each distinct value once in a row (the pods
/// of a list mostly share them).
#[derive(Debug)]
struct LastText<T> {
    last: Option<(T, String)>,
}

impl<T> Default for LastText<T> {
    fn default() -> Self {
        LastText { last: None }
    }
}

impl<T: Copy + PartialEq + std::fmt::Display> LastText<T> {
    fn of(&mut self, t: &T) -> &str {
        if self.last.as_ref().is_none_or(|(last, _)| last != t) {
            self.last = Some((*t, t.to_string()));
        }
        self.last.as_ref().map_or("", |(_, s)| s.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_count_utf16_units() {
        let mut s = Strings::default();
        assert_eq!(s.push("ab"), 0);
        assert_eq!(s.push("é😀"), 1);
        assert_eq!(s.push(""), 2);
        assert_eq!(s.ends, vec![2, 5, 5]);
        assert_eq!(s.get(1).as_deref(), Some("é😀"));
        assert_eq!(s.get(2).as_deref(), Some(""));
    }

    #[test]
    fn pods_become_columns_with_the_same_strings() {
        let json = r#"[
          {"metadata":{"name":"a","namespace":"ns","creationTimestamp":"2024-01-01T00:00:00Z","labels":{"app":"web"}},
           "timestamp":"2024-01-01T00:00:00Z","window":"15s",
           "containers":[{"name":"c1","usage":{"cpu":"250264852n","memory":"8Ki"}},{"name":"c2","usage":{"cpu":"1","memory":"1.5"}}]},
          {"metadata":{"name":"b","uid":"u"},"timestamp":"2024-01-01T00:00:01Z","window":"1m0s",
           "containers":[{"name":"c","usage":{"cpu":"20E","swap":"1"}}]}
        ]"#;
        let pods: Vec<PodMetrics> = serde_json::from_str(json).expect("json");
        let c = PodMetricsColumns::from_pods(&pods);
        assert_eq!(c.len(), 2);
        assert_eq!(c.pod_flags, vec![POD_NAME | POD_NAMESPACE | POD_CREATED | POD_LABELS, POD_META_JSON]);
        assert_eq!(c.pod_labels, vec![1, 0]);
        assert_eq!(c.pod_containers, vec![0, 2, 3]);
        let all: Vec<String> = (0..c.strings.len()).filter_map(|i| c.strings.get(i)).collect();
        assert_eq!(all[..13], ["a", "ns", "2024-01-01T00:00:00Z", "app", "web", "2024-01-01T00:00:00Z", "15s", "c1", "250264852n", "8Ki", "c2", "1", "1500m"]);
        assert_eq!(all[13], r#"{"name":"b","uid":"u"}"#);
        assert_eq!(all[17], r#"{"cpu":"20E","swap":"1"}"#);
        assert_eq!(c.pod_strings, vec![0, 13, 18]);
        assert_eq!(c.container_flags, vec![CONTAINER_CPU | CONTAINER_MEMORY, CONTAINER_CPU | CONTAINER_MEMORY, CONTAINER_USAGE_JSON]);
        assert_eq!(c.container_cpu_nanos[..2], [250_264_852, 1_000_000_000]);
        assert_eq!(c.container_memory_bytes[..2], [8192, 2]);
        // 20E cores in nano-cores does not fit 64 bits.
        assert!(!c.exact);
        assert_eq!(c.container_cpu_nanos[2], 0);
        let list = format!(r#"{{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{{}},"items":{json}}}"#);
        assert_eq!(PodMetricsColumns::from_json(list.as_bytes()).expect("list"), c);
    }

    #[test]
    fn json_columns_equal_object_columns() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/api");
        for name in ["pod-metrics-metrics-server.json", "pod-metrics-redis.json"] {
            let text = std::fs::read_to_string(dir.join(name)).expect("fixture");
            let pod: PodMetrics = serde_json::from_str(&text).expect("json");
            let list = format!(r#"{{"items":[{text},{text}]}}"#);
            assert_eq!(PodMetricsColumns::from_json(list.as_bytes()).expect("list"), PodMetricsColumns::from_pods(&[pod.clone(), pod]), "{name}");
        }
        let escaped = r#"{"items":[{"metadata":{"name":"a\u0062","labels":{"z":"1","a":"\u00e9"}},"timestamp":"2024-01-01T00:00:00.5Z","window":"1.5s",
            "containers":[{"name":"c","usage":{"memory":"1Ki","cpu":"1.5"}},{"name":"d","usage":null}]}]}"#;
        let pods: Vec<PodMetrics> = serde_json::from_str::<crate::metrics::PodMetricsList>(escaped).expect("list").items;
        assert_eq!(PodMetricsColumns::from_json(escaped.as_bytes()).expect("escaped"), PodMetricsColumns::from_pods(&pods));
        for bad in [
            r#"{"items":[{"timestamp":"x","window":"1s"}]}"#,
            r#"{"items":[{"timestamp":"2024-01-01T00:00:00Z","window":"1s","containers":[{"name":"c","usage":{"cpu":"1K"}}]}]}"#,
            "{",
        ] {
            assert_eq!(PodMetricsColumns::from_json(bad.as_bytes()).expect_err(bad).kind(), ErrorKind::Api);
        }
    }
}

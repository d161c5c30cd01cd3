//! [`WholePodMetricsTable`]: a list of pod metrics kept whole — metadata, labels and every usage
//! resource of every container, with exact [`Quantity`]s — as one compact table decoded straight
//! from a JSON body, without building a [`PodMetrics`] (its maps and strings) per pod.
//!
//! Unlike [`PodMetricsTable`](super::table::PodMetricsTable), which keeps only what `top` reads,
//! it loses nothing: [`WholePodView::to_pod_metrics`] gives back the very object a whole decode of
//! the same body gives. For bindings that hand out pod objects only when they are read.

use super::json_item::ItemScanner;
use super::json_stream::{JsonListSink, json_value_prefix};
use super::list_decoder::ListDecoder;
use super::protobuf::PodItemSink as _;
use super::{ContainerMetrics, GoDuration, ObjectMeta, PodMetrics, Time, Usage, protobuf};
use crate::Quantity;
use crate::error::{Error, ErrorKind, Result};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// An optional string of [`WholePodMetricsTable::text`]: `len` bytes from `at`; `at == NONE` is
/// an absent string.
#[derive(Debug, Clone, Copy)]
struct Str {
    at: u32,
    len: u32,
}

const NONE: u32 = u32::MAX;

impl Str {
    const ABSENT: Str = Str { at: NONE, len: 0 };
}

#[derive(Debug, Clone, Copy)]
struct PodEntry {
    name: Str,
    namespace: Str,
    created: Option<Time>,
    /// Labels: `label_count` pairs from `first_label`; `first_label == NONE` when unset.
    first_label: u32,
    label_count: u32,
    /// Index in `metas` of the whole metadata, when it holds more than the fields above.
    meta: u32,
    timestamp: Time,
    window: GoDuration,
    first_container: u32,
    container_count: u32,
}

#[derive(Debug, Clone, Copy)]
struct ContainerEntry {
    name: Str,
    cpu: Option<Quantity>,
    memory: Option<Quantity>,
    /// Resources other than CPU and memory: `other_count` entries of `others` from `first_other`.
    first_other: u32,
    other_count: u32,
}

/// Pod metrics kept whole as one compact table (see the [module docs](self)).
#[derive(Debug, Clone, Default)]
pub struct WholePodMetricsTable {
    /// Every string (names, label keys and values, resource names), end to end.
    text: String,
    pods: Vec<PodEntry>,
    containers: Vec<ContainerEntry>,
    labels: Vec<(Str, Str)>,
    others: Vec<(Str, Quantity)>,
    /// Whole metadata of the pods whose metadata holds more than a name, a namespace, labels
    /// and a creation time.
    metas: Vec<ObjectMeta>,
}

/// Two tables are equal when they hold equal pods in the same order (compared one pod at a time,
/// each made whole).
impl PartialEq for WholePodMetricsTable {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a.to_pod_metrics() == b.to_pod_metrics())
    }
}

/// One pod of a [`WholePodMetricsTable`].
#[derive(Debug, Clone, Copy)]
pub struct WholePodView<'a> {
    table: &'a WholePodMetricsTable,
    entry: &'a PodEntry,
}

/// One container of a pod of a [`WholePodMetricsTable`].
#[derive(Debug, Clone, Copy)]
pub struct WholeContainerView<'a> {
    table: &'a WholePodMetricsTable,
    entry: &'a ContainerEntry,
}

impl WholePodMetricsTable {
    /// The number of pods.
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    /// Whether the table holds no pod.
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// The pod at `index`, in the order the server listed them.
    pub fn get(&self, index: usize) -> Option<WholePodView<'_>> {
        self.pods.get(index).map(|entry| WholePodView { table: self, entry })
    }

    /// The pods, in the order the server listed them.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = WholePodView<'_>> + '_ {
        self.pods.iter().map(move |entry| WholePodView { table: self, entry })
    }

    /// Container `index` of the whole table (the containers of a pod are
    /// [`WholePodView::container_indexes`]).
    pub fn container(&self, index: usize) -> Option<WholeContainerView<'_>> {
        self.containers.get(index).map(|entry| WholeContainerView { table: self, entry })
    }

    /// Every pod as a whole object, in order.
    pub fn to_pods(&self) -> Vec<PodMetrics> {
        self.iter().map(|p| p.to_pod_metrics()).collect()
    }

    /// The table of whole objects.
    pub fn from_pods(pods: &[PodMetrics]) -> WholePodMetricsTable {
        let mut t = WholePodMetricsTable::default();
        for p in pods {
            t.push_pod(p);
        }
        t
    }

    /// Appends a whole object.
    fn push_pod(&mut self, p: &PodMetrics) {
        let m = &p.metadata;
        let mut entry = self.begin_pod();
        entry.name = self.push_opt(m.name.as_deref());
        entry.namespace = self.push_opt(m.namespace.as_deref());
        entry.created = m.creation_timestamp;
        if let Some(labels) = &m.labels {
            self.push_labels(&mut entry, labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        if !m.only_names_labels_created() {
            entry.meta = self.metas.len() as u32;
            self.metas.push(m.clone());
        }
        entry.timestamp = p.timestamp;
        entry.window = p.window;
        for c in &p.containers {
            self.push_container(&c.name, c.usage.iter().map(|(resource, q)| (resource.as_str(), *q)));
        }
        self.end_pod(entry);
    }

    /// Appends an item read by [`protobuf::PodRef`]: what [`push_pod`](Self::push_pod) appends
    /// for the object the item decodes to (labels and usage as the maps keep them).
    fn push_pod_ref(&mut self, p: &mut protobuf::PodRef<'_>) {
        let mut entry = self.begin_pod();
        entry.name = self.push_opt(p.name);
        entry.namespace = self.push_opt(p.namespace);
        entry.created = p.created;
        if let Some(labels) = &mut p.labels {
            self.push_labels(&mut entry, protobuf::as_map(labels));
        }
        entry.timestamp = p.timestamp;
        entry.window = p.window;
        let mut start = 0;
        for &(name, end) in &p.containers {
            self.push_container(name, protobuf::as_map(&mut p.usage[start..end]));
            start = end;
        }
        self.end_pod(entry);
    }

    /// The labels of the pod being built (each key once, in order).
    fn push_labels<'s>(&mut self, entry: &mut PodEntry, labels: impl Iterator<Item = (&'s str, &'s str)>) {
        entry.first_label = self.labels.len() as u32;
        for (k, v) in labels {
            let pair = (self.push(k), self.push(v));
            self.labels.push(pair);
        }
    }

    /// A container of the pod being built, from its usage entries.
    fn push_container<'s>(&mut self, name: &str, usage: impl Iterator<Item = (&'s str, Quantity)>) {
        let mut container = self.begin_container();
        container.name = self.push(name);
        for (resource, q) in usage {
            self.set_usage(&mut container, resource, q);
        }
        self.containers.push(container);
    }

    /// Decodes a `PodMetricsList` JSON body (the errors of a whole decode for what a whole
    /// decode rejects: a missing `timestamp`, `window` or container `name`, a bad quantity).
    pub fn from_json(body: &[u8]) -> Result<WholePodMetricsTable> {
        let invalid = |e: serde_json::Error| Error::new(ErrorKind::Api, e.to_string()).with_source(e);
        let mut table = WholePodMetricsTable::default();
        let mut de = serde_json::Deserializer::from_slice(body);
        ListSeed(&mut table).deserialize(&mut de).map_err(invalid)?;
        de.end().map_err(invalid)?;
        Ok(table)
    }

    /// Decodes a `PodMetricsList` protobuf body (`k8s\0` envelope), item by item: straight
    /// into the table (no object per pod) when an item's metadata holds no more than the table
    /// keeps in its own columns, as an object otherwise. The table, and the error for a bad
    /// body, are those of [`from_pods`](Self::from_pods) on the decoded list.
    pub fn from_protobuf(body: &[u8]) -> Result<WholePodMetricsTable> {
        let mut sink = WholeSink::default();
        protobuf::for_each_pod_item(body, |item| sink.item(item))?;
        Ok(sink.table)
    }

    /// Decodes a `PodMetricsList` JSON body given in pieces, as they arrive from the network
    /// (what the client does): only the bytes of one unfinished item are kept between pieces.
    /// The table is that of [`from_json`](Self::from_json) on the joined pieces, and a bad body
    /// is an error either way.
    pub fn from_json_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<WholePodMetricsTable> {
        Ok(ListDecoder::new(false, WholeSink::default()).decode(chunks)?.table)
    }

    /// Decodes a `PodMetricsList` protobuf body given in pieces, as they arrive from the network
    /// (what the client does): the table is that of [`from_protobuf`](Self::from_protobuf) on
    /// the joined pieces, and a bad body is an error either way.
    pub fn from_protobuf_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<WholePodMetricsTable> {
        Ok(ListDecoder::new(true, WholeSink::default()).decode(chunks)?.table)
    }

    /// How long each of its vectors is (a mark to roll an unfinished item back to).
    fn lengths(&self) -> [usize; 6] {
        [self.text.len(), self.pods.len(), self.containers.len(), self.labels.len(), self.others.len(), self.metas.len()]
    }

    fn truncate(&mut self, [text, pods, containers, labels, others, metas]: [usize; 6]) {
        self.text.truncate(text);
        self.pods.truncate(pods);
        self.containers.truncate(containers);
        self.labels.truncate(labels);
        self.others.truncate(others);
        self.metas.truncate(metas);
    }

    fn push(&mut self, s: &str) -> Str {
        let at = Str { at: self.text.len() as u32, len: s.len() as u32 };
        self.text.push_str(s);
        at
    }

    fn push_opt(&mut self, s: Option<&str>) -> Str {
        s.map_or(Str::ABSENT, |s| self.push(s))
    }

    fn str(&self, s: Str) -> Option<&str> {
        match s.at {
            NONE => None,
            at => self.text.get(at as usize..at as usize + s.len as usize),
        }
    }

    fn begin_pod(&self) -> PodEntry {
        PodEntry {
            name: Str::ABSENT,
            namespace: Str::ABSENT,
            created: None,
            first_label: NONE,
            label_count: 0,
            meta: NONE,
            timestamp: Time::default(),
            window: GoDuration(0),
            first_container: self.containers.len() as u32,
            container_count: 0,
        }
    }

    fn end_pod(&mut self, mut entry: PodEntry) {
        if entry.first_label != NONE {
            entry.label_count = self.labels.len() as u32 - entry.first_label;
        }
        entry.container_count = self.containers.len() as u32 - entry.first_container;
        self.pods.push(entry);
    }

    fn begin_container(&self) -> ContainerEntry {
        ContainerEntry { name: Str::ABSENT, cpu: None, memory: None, first_other: self.others.len() as u32, other_count: 0 }
    }

    /// Sets one usage resource of a container being built (the last value of a repeated resource
    /// wins, as in a map).
    fn set_usage(&mut self, c: &mut ContainerEntry, resource: &str, q: Quantity) {
        match resource {
            "cpu" => c.cpu = Some(q),
            "memory" => c.memory = Some(q),
            _ => {
                let name = self.push(resource);
                self.others.push((name, q));
                c.other_count += 1;
            }
        }
    }
}

impl<'a> WholePodView<'a> {
    /// The pod name (empty if unset).
    pub fn name(&self) -> &'a str {
        self.table.str(self.entry.name).unwrap_or_default()
    }

    /// The pod namespace (empty if unset).
    pub fn namespace(&self) -> &'a str {
        self.table.str(self.entry.namespace).unwrap_or_default()
    }

    /// The end of the measurement window.
    pub fn timestamp(&self) -> Time {
        self.entry.timestamp
    }

    /// The length of the measurement window.
    pub fn window(&self) -> GoDuration {
        self.entry.window
    }

    /// The indexes of its containers in the table ([`WholePodMetricsTable::container`]).
    pub fn container_indexes(&self) -> Range<usize> {
        let start = self.entry.first_container as usize;
        start..start + self.entry.container_count as usize
    }

    /// The containers, in the server's order.
    pub fn containers(&self) -> impl ExactSizeIterator<Item = WholeContainerView<'a>> + 'a {
        let table = self.table;
        table.containers.get(self.container_indexes()).unwrap_or_default().iter().map(move |entry| WholeContainerView { table, entry })
    }

    /// The sum over containers of one resource's usage (zero if no container reports it), as
    /// [`PodMetrics::total`].
    pub fn total(&self, resource: &str) -> Quantity {
        self.containers().filter_map(|c| c.usage_of(resource)).sum()
    }

    /// Its labels in key order (`None` when the pod has none set, as `metadata.labels`), without
    /// building a map.
    pub fn labels(&self) -> Option<Vec<(&'a str, &'a str)>> {
        let (t, e) = (self.table, self.entry);
        if e.first_label == NONE {
            return None;
        }
        let pairs = t.labels.get(e.first_label as usize..(e.first_label + e.label_count) as usize).unwrap_or_default();
        let mut labels: Vec<(&str, &str)> = pairs.iter().map(|&(k, v)| (t.str(k).unwrap_or_default(), t.str(v).unwrap_or_default())).collect();
        // As a map holds them: in key order, the last of repeated keys.
        labels.reverse();
        labels.sort_by_key(|&(k, _)| k);
        labels.dedup_by_key(|&mut (k, _)| k);
        Some(labels)
    }

    /// The metadata, as a whole decode gives it.
    pub fn metadata(&self) -> ObjectMeta {
        let (t, e) = (self.table, self.entry);
        let mut meta = t.metas.get(e.meta as usize).cloned().unwrap_or_default();
        meta.name = t.str(e.name).map(str::to_string);
        meta.namespace = t.str(e.namespace).map(str::to_string);
        meta.creation_timestamp = e.created;
        meta.labels = match e.first_label {
            NONE => None,
            first => {
                let pairs = t.labels.get(first as usize..(first + e.label_count) as usize).unwrap_or_default();
                Some(pairs.iter().map(|&(k, v)| (t.str(k).unwrap_or_default().to_string(), t.str(v).unwrap_or_default().to_string())).collect())
            }
        };
        meta
    }

    /// The pod as a whole object (equal to what a whole decode of the same body gives).
    pub fn to_pod_metrics(&self) -> PodMetrics {
        PodMetrics {
            metadata: self.metadata(),
            timestamp: self.entry.timestamp,
            window: self.entry.window,
            containers: self.containers().map(|c| c.to_container_metrics()).collect(),
        }
    }
}

impl<'a> WholeContainerView<'a> {
    /// Container name.
    pub fn name(&self) -> &'a str {
        self.table.str(self.entry.name).unwrap_or_default()
    }

    /// Usage of one resource, if reported.
    pub fn usage_of(&self, resource: &str) -> Option<Quantity> {
        match resource {
            "cpu" => self.entry.cpu,
            "memory" => self.entry.memory,
            _ => self.others().filter(|(name, _)| *name == resource).last().map(|(_, q)| q),
        }
    }

    /// CPU usage (zero when not reported).
    pub fn cpu(&self) -> Quantity {
        self.entry.cpu.unwrap_or_default()
    }

    /// Memory usage (zero when not reported).
    pub fn memory(&self) -> Quantity {
        self.entry.memory.unwrap_or_default()
    }

    fn others(&self) -> impl Iterator<Item = (&'a str, Quantity)> + 'a {
        let t = self.table;
        let first = self.entry.first_other as usize;
        t.others.get(first..first + self.entry.other_count as usize).unwrap_or_default().iter().map(move |&(name, q)| (t.str(name).unwrap_or_default(), q))
    }

    /// Usage by resource name, in name order, without building a map (the last of repeated
    /// names, as [`usage`](Self::usage) keeps).
    pub fn usage_entries(&self) -> Vec<(&'a str, Quantity)> {
        let e = self.entry;
        let mut entries: Vec<(&str, Quantity)> = self.others().collect();
        entries.reverse();
        entries.extend(e.cpu.map(|q| ("cpu", q)).into_iter().chain(e.memory.map(|q| ("memory", q))));
        entries.sort_by_key(|&(name, _)| name);
        entries.dedup_by_key(|&mut (name, _)| name);
        entries
    }

    /// Usage by resource name.
    pub fn usage(&self) -> Usage {
        let mut usage: Usage = self.others().map(|(name, q)| (name.to_string(), q)).collect();
        let e = self.entry;
        usage.extend(e.cpu.map(|q| ("cpu".to_string(), q)).into_iter().chain(e.memory.map(|q| ("memory".to_string(), q))));
        usage
    }

    /// The container as a whole object.
    pub fn to_container_metrics(&self) -> ContainerMetrics {
        ContainerMetrics { name: self.name().to_string(), usage: self.usage() }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON: a visitor per level, strings borrowed from the body where they have no escapes.

/// A seed over `&mut WholePodMetricsTable` (and the entry it fills) that calls `$method`; the
/// visitors of lists and maps that may be `null` are read through [`Nullable`].
macro_rules! seed {
    ($name:ident, $method:ident) => {
        impl<'de> DeserializeSeed<'de> for $name<'_> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
                d.$method(self)
            }
        }
    };
}

/// A table filled item by item, from either encoding (what the client streams a list into).
#[derive(Default)]
pub(crate) struct WholeSink {
    pub(crate) table: WholePodMetricsTable,
    /// The vectors of the protobuf item being read, kept from item to item.
    pod: protobuf::PodRef<'static>,
}

impl JsonListSink for WholeSink {
    fn json_item(&mut self, buf: &[u8], _scanner: Option<&mut ItemScanner>) -> Result<Option<usize>> {
        let mark = self.table.lengths();
        FILLING.with(|cell| *cell.borrow_mut() = Some(std::mem::take(&mut self.table)));
        let item = json_value_prefix::<FilledItem>(buf);
        self.table = FILLING.with(|cell| cell.borrow_mut().take()).unwrap_or_default();
        let item = item?;
        if item.is_none() {
            self.table.truncate(mark);
        }
        Ok(item.map(|(FilledItem, len)| len))
    }

    fn json_outside(&mut self, list: &[u8]) -> Result<()> {
        WholePodMetricsTable::from_json(list).map(drop)
    }
}

/// A protobuf item goes straight into the table when its metadata holds no more than the
/// table keeps in its own columns, as an object otherwise.
impl protobuf::PodItemSink for WholeSink {
    fn reserve(&mut self, _pods: usize) {}

    fn item(&mut self, item: &[u8]) -> Result<()> {
        protobuf::read_item(&mut self.pod, item, &mut self.table, |t, pod| t.push_pod_ref(pod), |t, pod| t.push_pod(pod))
    }
}

thread_local! {
    /// The table [`WholeSink::json_item`] fills: serde_json tells how many bytes a value took
    /// only to a `Deserialize` type (its `StreamDeserializer`), not to a seed, so the item type
    /// finds the table here.
    static FILLING: std::cell::RefCell<Option<WholePodMetricsTable>> = const { std::cell::RefCell::new(None) };
}

/// One item of a JSON `items` array, decoded into the table in [`FILLING`].
struct FilledItem;

impl<'de> serde::Deserialize<'de> for FilledItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<FilledItem, D::Error> {
        FILLING.with(|cell| {
            let mut slot = cell.borrow_mut();
            let table = slot.as_mut().ok_or_else(|| de::Error::custom("no table is being filled"))?;
            PodSeed(table).deserialize(d).map(|()| FilledItem)
        })
    }
}

struct ListSeed<'t>(&'t mut WholePodMetricsTable);
struct ItemsSeed<'t>(&'t mut WholePodMetricsTable);
struct PodSeed<'t>(&'t mut WholePodMetricsTable);
struct MetaSeed<'t>(&'t mut WholePodMetricsTable, &'t mut PodEntry);
struct LabelsSeed<'t>(&'t mut WholePodMetricsTable, &'t mut PodEntry);
struct ContainersSeed<'t>(&'t mut WholePodMetricsTable);
struct ContainerSeed<'t>(&'t mut WholePodMetricsTable);
struct UsageSeed<'t>(&'t mut WholePodMetricsTable, &'t mut ContainerEntry);
seed!(ListSeed, deserialize_map);
seed!(PodSeed, deserialize_map);
seed!(MetaSeed, deserialize_map);
seed!(ContainerSeed, deserialize_map);

/// `null` (nothing) or what the visitor reads (a list or a map), as a whole decode reads an
/// optional field or one with `null_as_default`.
struct Nullable<V>(V);

impl<'de, V: Visitor<'de, Value = ()>> DeserializeSeed<'de> for Nullable<V> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, V: Visitor<'de, Value = ()>> Visitor<'de> for Nullable<V> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
    fn visit_none<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self.0)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a PodMetricsList object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "items" => map.next_value_seed(Nullable(ItemsSeed(&mut *self.0)))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of PodMetrics")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while seq.next_element_seed(PodSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

impl<'de> Visitor<'de> for PodSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a PodMetrics object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let t = self.0;
        let mut entry = t.begin_pod();
        let (mut timestamp, mut window) = (None, None);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "metadata" => map.next_value_seed(MetaSeed(&mut *t, &mut entry))?,
                "timestamp" => timestamp = Some(map.next_value()?),
                "window" => window = Some(map.next_value()?),
                "containers" => map.next_value_seed(Nullable(ContainersSeed(&mut *t)))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        entry.timestamp = timestamp.ok_or_else(|| de::Error::missing_field("timestamp"))?;
        entry.window = window.ok_or_else(|| de::Error::missing_field("window"))?;
        t.end_pod(entry);
        Ok(())
    }
}

impl<'de> Visitor<'de> for MetaSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an ObjectMeta object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let (t, e) = (self.0, self.1);
        // The other fields, decoded as a whole ObjectMeta at the end (rare: metrics servers
        // write only names, labels and the creation time).
        let mut rest = serde_json::Map::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "name" => e.name = t.push_opt(map.next_value::<Option<Cow<'de, str>>>()?.as_deref()),
                "namespace" => e.namespace = t.push_opt(map.next_value::<Option<Cow<'de, str>>>()?.as_deref()),
                "creationTimestamp" => e.created = map.next_value()?,
                "labels" => map.next_value_seed(Nullable(LabelsSeed(&mut *t, &mut *e)))?,
                _ => {
                    rest.insert(key.into_owned(), map.next_value::<serde_json::Value>()?);
                }
            }
        }
        if !rest.is_empty() {
            let meta: ObjectMeta = serde_json::from_value(serde_json::Value::Object(rest)).map_err(de::Error::custom)?;
            if !meta.only_names_labels_created() {
                e.meta = t.metas.len() as u32;
                t.metas.push(meta);
            }
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for ContainersSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of ContainerMetrics")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while seq.next_element_seed(ContainerSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

impl<'de> Visitor<'de> for ContainerSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ContainerMetrics object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let t = self.0;
        let mut container = t.begin_container();
        let mut named = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "name" => {
                    container.name = t.push(&map.next_value::<Cow<'de, str>>()?);
                    named = true;
                }
                "usage" => map.next_value_seed(Nullable(UsageSeed(&mut *t, &mut container)))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !named {
            return Err(de::Error::missing_field("name"));
        }
        t.containers.push(container);
        Ok(())
    }
}

/// The entries of an optional map, each handed to `each` (`null` is no entry).
fn visit_entries<'de, A: MapAccess<'de>, V: serde::Deserialize<'de>>(mut map: A, mut each: impl FnMut(Cow<'de, str>, V)) -> std::result::Result<(), A::Error> {
    while let Some((k, v)) = map.next_entry::<Cow<'de, str>, V>()? {
        each(k, v);
    }
    Ok(())
}

impl<'de> Visitor<'de> for LabelsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of label keys to values")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<(), A::Error> {
        // In wire order; a repeated key is resolved when the map is made (the last one wins).
        let (t, e) = (self.0, self.1);
        e.first_label = t.labels.len() as u32;
        visit_entries(map, |k, v: Cow<'de, str>| {
            let pair = (t.push(&k), t.push(&v));
            t.labels.push(pair);
        })
    }
}

impl<'de> Visitor<'de> for UsageSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of resource names to quantities")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<(), A::Error> {
        let (t, c) = (self.0, self.1);
        visit_entries(map, |resource, q: Quantity| t.set_usage(c, &resource, q))
    }
}

#[cfg(test)]
mod tests;

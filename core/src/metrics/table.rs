//! [`PodMetricsTable`]: a list of pod metrics as one compact table, decoded straight from a JSON
//! or protobuf body — names interned, containers as ranges of one array, CPU and memory as exact
//! [`Quantity`]s — without building a [`PodMetrics`] (and its maps and strings) per pod.
//!
//! It keeps what `top` reads: namespace, name, timestamp and window of each pod, and the name,
//! CPU and memory of each container. [`Client::list_pod_metrics`](crate::Client) keeps returning
//! whole objects; `top` reads tables.

use super::json_item::{ItemScanner, Scan};
use super::json_stream::{JsonListSink, json_value_prefix};
use super::list_decoder::ListDecoder;
use super::{GoDuration, PodMetrics, Time, protobuf};
use crate::Quantity;
use crate::error::{Error, ErrorKind, Result};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// Interned names: each distinct string is stored once in one text, followed by a NUL byte (so
/// that C callers can borrow it as a C string), and named by its index. No allocation per name.
#[derive(Debug, Clone, Default)]
struct Names {
    /// Every name followed by its NUL byte, one after the other.
    text: String,
    /// Where each name starts in `text` (its NUL byte is just before the next one's start).
    starts: Vec<usize>,
    /// The first name id of each hash (FxHash of the name: names are short and come from the
    /// server, so a keyed hash buys nothing here); names with the same hash are chained through
    /// `same_hash`.
    index: HashMap<u64, u32, rustc_hash::FxBuildHasher>,
    /// Per name id, the next id with the same hash (`u32::MAX`: none).
    same_hash: Vec<u32>,
    /// Whether some name holds a NUL byte itself (it cannot be handed out as a C string).
    has_nul: bool,
}

/// The first 16 bytes of `s` as one integer, big-endian and zero-padded: two of these compare
/// as the strings' first 16 bytes do, so a sort by name compares them first and the whole
/// strings only where they are equal (a shorter string then ties with its NUL-padded twin).
pub(crate) fn prefix16(s: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let n = s.len().min(16);
    bytes[..n].copy_from_slice(&s.as_bytes()[..n]);
    u128::from_be_bytes(bytes)
}

/// The hash of a name in [`Names::index`].
fn name_hash(s: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(s)
}

impl Names {
    fn intern(&mut self, s: &str) -> u32 {
        let hash = name_hash(s);
        let first = self.index.get(&hash).copied();
        let mut at = first;
        while let Some(i) = at {
            if self.get(i) == s {
                return i;
            }
            at = self.same_hash.get(i as usize).copied().filter(|&next| next != u32::MAX);
        }
        let i = self.starts.len() as u32;
        self.has_nul |= s.as_bytes().contains(&0);
        self.starts.push(self.text.len());
        self.text.push_str(s);
        self.text.push('\0');
        // The new name goes first in its hash's chain.
        self.same_hash.push(first.unwrap_or(u32::MAX));
        self.index.insert(hash, i);
        i
    }

    fn reserve(&mut self, n: usize) {
        self.starts.reserve(n);
        self.same_hash.reserve(n);
        self.index.reserve(n);
    }

    /// How many names.
    fn len(&self) -> usize {
        self.starts.len()
    }

    fn get(&self, i: u32) -> &str {
        let with_nul = self.get_with_nul(i);
        with_nul.get(..with_nul.len().saturating_sub(1)).unwrap_or("")
    }

    /// The name and the NUL byte after it.
    fn get_with_nul(&self, i: u32) -> &str {
        let Some(&start) = self.starts.get(i as usize) else { return "\0" };
        let end = self.starts.get(i as usize + 1).copied().unwrap_or(self.text.len());
        self.text.get(start..end).unwrap_or("\0")
    }
}

#[derive(Debug, Clone, Copy)]
struct PodEntry {
    namespace: u32,
    name: u32,
    timestamp: Time,
    window: GoDuration,
    first_container: u32,
    container_count: u32,
}

#[derive(Debug, Clone, Copy)]
struct ContainerEntry {
    name: u32,
    cpu: Quantity,
    memory: Quantity,
}

/// Pod metrics as one compact table (see the [module docs](self)).
#[derive(Debug, Clone, Default)]
pub struct PodMetricsTable {
    names: Names,
    pods: Vec<PodEntry>,
    containers: Vec<ContainerEntry>,
}

/// One pod of a [`PodMetricsTable`].
#[derive(Debug, Clone, Copy)]
pub struct PodView<'a> {
    table: &'a PodMetricsTable,
    entry: &'a PodEntry,
}

/// One container of a pod of a [`PodMetricsTable`].
#[derive(Debug, Clone, Copy)]
pub struct ContainerView<'a> {
    table: &'a PodMetricsTable,
    entry: &'a ContainerEntry,
}

impl PodMetricsTable {
    /// The number of pods.
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    /// Whether the table holds no pod.
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// The pod at `index`, in the order the server listed them.
    pub fn get(&self, index: usize) -> Option<PodView<'_>> {
        self.pods.get(index).map(|entry| PodView { table: self, entry })
    }

    /// The rank of every name the table holds in byte order (Go's string order), by name id:
    /// comparing two ranks is comparing the two names, so a sort by name compares integers.
    pub(crate) fn name_ranks(&self) -> Vec<u32> {
        // Sorted on the first 16 bytes as one integer and on the whole names only where those
        // are equal.
        let mut ids: Vec<(u128, u32)> = (0..self.names.len() as u32).map(|id| (prefix16(self.names.get(id)), id)).collect();
        ids.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| self.names.get(a.1).cmp(self.names.get(b.1))));
        let mut ranks = vec![0; ids.len()];
        for (rank, (_, id)) in ids.into_iter().enumerate() {
            ranks[id as usize] = rank as u32;
        }
        ranks
    }

    /// Asks the processor to start loading pod `index`'s entry, or with `containers` its
    /// containers (which reads the entry): for loops that visit pods out of list order, such as
    /// in a sorted order, a few pods ahead of the one they read. Does nothing for an index out
    /// of range, nor on processors without a prefetch instruction here.
    #[inline]
    pub(crate) fn prefetch(&self, index: usize, containers: bool) {
        let Some(entry) = self.pods.get(index) else { return };
        if containers {
            if let Some(first) = self.containers.get(entry.first_container as usize) {
                prefetch(first);
                // A pod's containers usually span more than one cache line.
                if let Some(next) = self.containers.get(entry.first_container as usize + 1) {
                    prefetch(next);
                }
            }
        } else {
            prefetch(entry);
        }
    }

    /// The pods, in the order the server listed them.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = PodView<'_>> + '_ {
        self.pods.iter().map(move |entry| PodView { table: self, entry })
    }

    /// Whether some name holds a NUL byte (it cannot be handed out as a C string).
    pub(crate) fn has_nul_name(&self) -> bool {
        self.names.has_nul
    }

    /// The name with id `id` and the NUL byte stored after it.
    pub(crate) fn name_with_nul(&self, id: u32) -> &str {
        self.names.get_with_nul(id)
    }

    /// Appends a pod (no timestamp or window: rows computed elsewhere, such as from kubelets).
    pub(crate) fn push_pod<'n>(&mut self, namespace: &str, name: &str, containers: impl Iterator<Item = (&'n str, Quantity, Quantity)>) {
        use protobuf::PodListSink as _;
        for (name, cpu, memory) in containers {
            self.container(name, cpu, memory);
        }
        self.pod(namespace, name, Time::default(), GoDuration(0));
    }

    /// Builds a table from whole objects (other resources than CPU and memory are not kept).
    pub fn from_pods(pods: &[PodMetrics]) -> PodMetricsTable {
        use protobuf::PodListSink as _;
        let mut t = PodMetricsTable::default();
        for p in pods {
            for c in &p.containers {
                t.container(&c.name, usage(&c.usage, "cpu"), usage(&c.usage, "memory"));
            }
            t.pod(p.namespace(), p.name(), p.timestamp, p.window);
        }
        t
    }

    /// Decodes a `PodMetricsList` JSON body.
    pub fn from_json(body: &[u8]) -> Result<PodMetricsTable> {
        PodMetricsTable::from_json_chunks([body])
    }

    /// Decodes a `PodMetricsList` JSON body given in pieces, as they arrive from the network:
    /// each item is decoded as soon as its bytes are in, and only the bytes of one unfinished
    /// item are kept between pieces. The result is that of [`from_json`](Self::from_json) on the
    /// joined pieces, and a bad body is an error either way.
    pub fn from_json_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<PodMetricsTable> {
        ListDecoder::new(false, PodMetricsTable::default()).decode(chunks)
    }

    /// Decodes a whole `PodMetricsList` JSON document, adding its items to the table.
    pub(crate) fn extend_from_json(&mut self, body: &[u8]) -> Result<()> {
        let mut de = serde_json::Deserializer::from_slice(body);
        ListSeed(self).deserialize(&mut de).map_err(|e| Error::new(ErrorKind::Api, format!("invalid PodMetricsList JSON: {e}")))?;
        de.end().map_err(|e| Error::new(ErrorKind::Api, format!("invalid PodMetricsList JSON: {e}")))
    }

    /// Decodes a `PodMetricsList` protobuf body (`k8s\0` envelope).
    pub fn from_protobuf(body: &[u8]) -> Result<PodMetricsTable> {
        PodMetricsTable::from_protobuf_chunks([body])
    }

    /// Decodes a `PodMetricsList` protobuf body given in pieces, as they arrive from the network:
    /// each pod is decoded as soon as its bytes are in, and only the bytes of one unfinished
    /// field are kept between pieces (the body is never held whole). The result, and the error
    /// for a bad body, are those of [`from_protobuf`](Self::from_protobuf) on the joined pieces.
    pub fn from_protobuf_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<PodMetricsTable> {
        ListDecoder::new(true, PodMetricsTable::default()).decode(chunks)
    }

    fn begin_pod(&self) -> PodEntry {
        PodEntry { namespace: 0, name: 0, timestamp: Time::default(), window: GoDuration(0), first_container: self.containers.len() as u32, container_count: 0 }
    }

    fn end_pod(&mut self, mut entry: PodEntry) {
        entry.container_count = self.containers.len() as u32 - entry.first_container;
        self.pods.push(entry);
    }
}

thread_local! {
    /// The table [`decode_json_item`] fills: serde_json tells how many bytes a value took only
    /// to a `Deserialize` type (its `StreamDeserializer`), not to a seed, so the item type finds
    /// the table here.
    static FILLING: std::cell::RefCell<Option<PodMetricsTable>> = const { std::cell::RefCell::new(None) };
}

/// One item of a JSON `items` array, decoded into the table in [`FILLING`].
struct FilledItem;

impl<'de> serde::Deserialize<'de> for FilledItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<FilledItem, D::Error> {
        FILLING.with(|cell| {
            let mut slot = cell.borrow_mut();
            let table = slot.as_mut().ok_or_else(|| serde::de::Error::custom("no table is being filled"))?;
            PodSeed(table).deserialize(d).map(|()| FilledItem)
        })
    }
}

/// The JSON items of a streamed list go straight into the table: through the item scanner,
/// and through serde for the items it steps aside from.
impl JsonListSink for PodMetricsTable {
    fn json_item(&mut self, buf: &[u8], scanner: Option<&mut ItemScanner>) -> Result<Option<usize>> {
        match scanner.map(|s| s.scan(buf, self)) {
            Some(Scan::Item(len)) => Ok(Some(len)),
            Some(Scan::Incomplete) => Ok(None),
            Some(Scan::Other) | None => decode_json_item(buf, self),
        }
    }

    fn json_outside(&mut self, list: &[u8]) -> Result<()> {
        self.extend_from_json(list)
    }
}

/// Decodes the item of a JSON `items` array that starts `buf` into the table, in one pass:
/// `Some(n)` when it took `n` bytes, `None` when `buf` ends inside it (the table then holds no
/// part of it).
fn decode_json_item(buf: &[u8], table: &mut PodMetricsTable) -> Result<Option<usize>> {
    let (pods, containers) = (table.pods.len(), table.containers.len());
    FILLING.with(|cell| *cell.borrow_mut() = Some(std::mem::take(table)));
    let item = json_value_prefix::<FilledItem>(buf);
    *table = FILLING.with(|cell| cell.borrow_mut().take()).unwrap_or_default();
    let item = item?;
    if item.is_none() {
        table.pods.truncate(pods);
        table.containers.truncate(containers);
    }
    Ok(item.map(|(FilledItem, len)| len))
}

/// A hint to load the cache line holding `value` (no effect on what the program computes).
#[inline]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and cannot fault; `value` is a live
    // reference anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((value as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// The protobuf decoder's items go straight into the table.
impl protobuf::PodItemSink for PodMetricsTable {
    fn reserve(&mut self, pods: usize) {
        self.pods.reserve(pods);
        self.containers.reserve(2 * pods);
        self.names.reserve(pods);
    }

    fn item(&mut self, item: &[u8]) -> Result<()> {
        protobuf::decode_pod_into(item, self)
    }
}

/// The pods of protobuf items and of the JSON fast path go straight into the table.
impl protobuf::PodListSink for PodMetricsTable {
    fn container(&mut self, name: &str, cpu: Quantity, memory: Quantity) {
        let name = self.names.intern(name);
        self.containers.push(ContainerEntry { name, cpu, memory });
    }

    fn pod(&mut self, namespace: &str, name: &str, timestamp: Time, window: GoDuration) {
        let first_container = self.pods.last().map_or(0, |p| p.first_container + p.container_count);
        let entry = PodEntry {
            namespace: self.names.intern(namespace),
            name: self.names.intern(name),
            timestamp,
            window,
            first_container,
            container_count: self.containers.len() as u32 - first_container,
        };
        self.pods.push(entry);
    }
}

/// The JSON fast path takes back the containers of an item it leaves to serde.
impl super::json_item::RollbackSink for PodMetricsTable {
    fn containers_len(&self) -> usize {
        self.containers.len()
    }

    fn truncate_containers(&mut self, len: usize) {
        self.containers.truncate(len);
    }
}

fn usage(u: &super::Usage, resource: &str) -> Quantity {
    u.get(resource).copied().unwrap_or_default()
}

impl<'a> PodView<'a> {
    /// The ranks of its namespace and name in [`PodMetricsTable::name_ranks`].
    pub(crate) fn name_ranks(&self, ranks: &[u32]) -> (u32, u32) {
        let rank = |id: u32| ranks.get(id as usize).copied().unwrap_or(0);
        (rank(self.entry.namespace), rank(self.entry.name))
    }

    /// The ids of its namespace and name (see [`PodMetricsTable::name_with_nul`]).
    pub(crate) fn name_ids(&self) -> (u32, u32) {
        (self.entry.namespace, self.entry.name)
    }

    /// Namespace.
    pub fn namespace(&self) -> &'a str {
        self.table.names.get(self.entry.namespace)
    }

    /// Name.
    pub fn name(&self) -> &'a str {
        self.table.names.get(self.entry.name)
    }

    /// The end of the measurement window.
    pub fn timestamp(&self) -> Time {
        self.entry.timestamp
    }

    /// The length of the measurement window.
    pub fn window(&self) -> GoDuration {
        self.entry.window
    }

    /// The containers, in the server's order.
    pub fn containers(&self) -> impl ExactSizeIterator<Item = ContainerView<'a>> + 'a {
        let table = self.table;
        let start = self.entry.first_container as usize;
        let end = start + self.entry.container_count as usize;
        table.containers.get(start..end).unwrap_or_default().iter().map(move |entry| ContainerView { table, entry })
    }

    /// CPU summed over the containers.
    pub fn cpu(&self) -> Quantity {
        self.containers().map(|c| c.cpu()).sum()
    }

    /// Memory summed over the containers.
    pub fn memory(&self) -> Quantity {
        self.containers().map(|c| c.memory()).sum()
    }
}

impl<'a> ContainerView<'a> {
    /// The id of its name (see [`PodMetricsTable::name_with_nul`]).
    pub(crate) fn name_id(&self) -> u32 {
        self.entry.name
    }

    /// Container name.
    pub fn name(&self) -> &'a str {
        self.table.names.get(self.entry.name)
    }

    /// CPU usage (zero when not reported).
    pub fn cpu(&self) -> Quantity {
        self.entry.cpu
    }

    /// Memory usage (zero when not reported).
    pub fn memory(&self) -> Quantity {
        self.entry.memory
    }
}

// ---------------------------------------------------------------------------------------------
// JSON: a visitor per level, strings borrowed from the body where they have no escapes.

struct ListSeed<'t>(&'t mut PodMetricsTable);

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
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
                "kind" => {
                    let kind: Cow<'de, str> = map.next_value()?;
                    if kind != "PodMetricsList" {
                        return Err(serde::de::Error::custom(format!("expected kind PodMetricsList, got {kind:?}")));
                    }
                }
                "items" => map.next_value_seed(ItemsSeed(&mut *self.0))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct ItemsSeed<'t>(&'t mut PodMetricsTable);

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of PodMetrics")
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while seq.next_element_seed(PodSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

struct PodSeed<'t>(&'t mut PodMetricsTable);

impl<'de> DeserializeSeed<'de> for PodSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

#[derive(serde::Deserialize)]
struct MetaNames<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
}

impl<'de> Visitor<'de> for PodSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a PodMetrics object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let t = self.0;
        let mut entry = t.begin_pod();
        let mut names: Option<MetaNames<'de>> = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "metadata" => names = Some(map.next_value()?),
                "timestamp" => entry.timestamp = map.next_value()?,
                "window" => entry.window = map.next_value()?,
                "containers" => map.next_value_seed(ContainersSeed(&mut *t))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // Without metadata, the names are empty (not the first name of the table).
        let names = names.unwrap_or(MetaNames { name: None, namespace: None });
        entry.name = t.names.intern(names.name.as_deref().unwrap_or(""));
        entry.namespace = t.names.intern(names.namespace.as_deref().unwrap_or(""));
        t.end_pod(entry);
        Ok(())
    }
}

struct ContainersSeed<'t>(&'t mut PodMetricsTable);

impl<'de> DeserializeSeed<'de> for ContainersSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

#[derive(serde::Deserialize)]
struct ContainerJson<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(default)]
    usage: Option<UsageJson>,
}

#[derive(serde::Deserialize, Default)]
struct UsageJson {
    #[serde(default)]
    cpu: Option<Quantity>,
    #[serde(default)]
    memory: Option<Quantity>,
}

impl<'de> Visitor<'de> for ContainersSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of ContainerMetrics")
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let t = self.0;
        while let Some(c) = seq.next_element::<ContainerJson<'de>>()? {
            let usage = c.usage.unwrap_or_default();
            let name = t.names.intern(&c.name);
            t.containers.push(ContainerEntry { name, cpu: usage.cpu.unwrap_or_default(), memory: usage.memory.unwrap_or_default() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::PodMetricsList;

    fn fixture_pods() -> Vec<PodMetrics> {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/api");
        ["pod-metrics-metrics-server.json", "pod-metrics-redis.json"]
            .iter()
            .map(|n| serde_json::from_str(&std::fs::read_to_string(dir.join(n)).expect("fixture")).expect("json"))
            .collect()
    }

    fn assert_same(table: &PodMetricsTable, pods: &[PodMetrics]) {
        assert_eq!(table.len(), pods.len());
        for (view, pod) in table.iter().zip(pods) {
            assert_eq!((view.namespace(), view.name()), (pod.namespace(), pod.name()));
            assert_eq!((view.timestamp(), view.window()), (pod.timestamp, pod.window));
            assert_eq!(view.cpu(), pod.total("cpu"));
            assert_eq!(view.memory(), pod.total("memory"));
            let names: Vec<&str> = view.containers().map(|c| c.name()).collect();
            let want: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, want);
        }
    }

    #[test]
    fn json_protobuf_and_objects_give_the_same_table() {
        let pods = fixture_pods();
        let list = PodMetricsList { items: pods.clone(), ..Default::default() };
        let json = crate::metrics::to_wire_json(&list, "metrics.k8s.io/v1beta1");
        assert_same(&PodMetricsTable::from_json(json.as_bytes()).expect("json"), &pods);
        let pb = protobuf::encode_pod_metrics_list(&list, "metrics.k8s.io/v1beta1");
        assert_same(&PodMetricsTable::from_protobuf(&pb).expect("protobuf"), &pods);
        assert_same(&PodMetricsTable::from_pods(&pods), &pods);
    }

    #[test]
    fn bad_json_is_an_api_error() {
        for (body, want) in [
            (&b"{\"kind\":\"NodeMetricsList\",\"items\":[]}"[..], "expected kind PodMetricsList"),
            (b"{\"kind\":\"PodMetricsList\",\"items\":[{\"containers\":[{\"name\":\"a\",\"usage\":{\"cpu\":\"1K\"}}]}]}", "1K"),
            (b"{\"kind\":\"PodMetricsList\",\"items\":[", "EOF"),
            (b"{} trailing", "trailing"),
        ] {
            let e = PodMetricsTable::from_json(body).expect_err("must fail");
            assert_eq!(e.kind(), ErrorKind::Api);
            assert!(e.message().contains(want), "{}", e.message());
        }
        assert!(PodMetricsTable::from_json(b"{\"kind\":\"PodMetricsList\",\"items\":null}").expect("null items").is_empty());
    }
}

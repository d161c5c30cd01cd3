//! [`PodRef`]: one `PodMetrics` item of a protobuf list read without building the object —
//! names, labels and usage borrowed from the body — for tables that keep every field
//! ([`WholePodMetricsTable`](crate::metrics::whole_table::WholePodMetricsTable)).
//!
//! It is a try: it reads only items whose metadata holds nothing beyond a name, a namespace,
//! labels and a creation time (what metrics servers send; the empty strings and zero generation
//! Go writes for unset fields count as unset), and gives up ([`None`]) on anything else — more
//! metadata, a field it does not know, a wire type, UTF-8 or quantity error — so that the
//! caller decodes that item as an object, with the object decoder's result or error.

use super::{GoDuration, LEN, Reader, Time, VARINT, decode_duration, decode_time, str_of, usage_entry_ref};
use crate::Quantity;
use crate::error::Result;
use crate::metrics::PodMetrics;

/// One `PodMetrics` item, borrowed (see the [module docs](self)). Labels and usage entries are
/// in wire order: a repeated key is in it twice (the last one is the map's value).
#[derive(Debug, Default)]
pub(crate) struct PodRef<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) namespace: Option<&'a str>,
    pub(crate) created: Option<Time>,
    /// `None` when the item has no label entry.
    pub(crate) labels: Option<Vec<(&'a str, &'a str)>>,
    pub(crate) timestamp: Time,
    pub(crate) window: GoDuration,
    /// Each container's name and the end of its entries in `usage`.
    pub(crate) containers: Vec<(&'a str, usize)>,
    pub(crate) usage: Vec<(&'a str, Quantity)>,
}

impl PodRef<'_> {
    /// Its vectors, emptied, for an item that borrows from elsewhere (their memory is kept:
    /// no allocation from item to item).
    pub(crate) fn recycle<'b>(self) -> PodRef<'b> {
        fn empty<T, U>(mut v: Vec<T>) -> Vec<U> {
            v.clear();
            // Collected in place: the same allocation, with the new element type.
            v.into_iter().map(|_| unreachable!("the vector is empty")).collect()
        }
        PodRef { labels: self.labels.map(empty), containers: empty(self.containers), usage: empty(self.usage), ..PodRef::default() }
    }
}

/// Reads the list item `item` into `into` with the vectors kept in `kept` (kept again for the
/// next item): `borrowed` gets it read in place when its metadata holds no more than names,
/// labels and a creation time, `object` gets it decoded as an object otherwise.
pub(crate) fn read_item<T>(
    kept: &mut PodRef<'static>,
    item: &[u8],
    into: &mut T,
    borrowed: impl FnOnce(&mut T, &mut PodRef<'_>),
    object: impl FnOnce(&mut T, &PodMetrics),
) -> Result<()> {
    let mut pod = std::mem::take(kept).recycle();
    if pod.read(item).is_some() {
        borrowed(into, &mut pod);
    } else {
        object(into, &super::decode_pod(item)?);
    }
    *kept = pod.recycle();
    Ok(())
}

impl<'a> PodRef<'a> {
    /// Reads the item `buf` into `self` (its vectors are reused); `None` when the item is to
    /// be decoded as an object.
    pub(crate) fn read(&mut self, buf: &'a [u8]) -> Option<()> {
        self.name = None;
        self.namespace = None;
        self.created = None;
        let mut labels = self.labels.take().unwrap_or_default();
        labels.clear();
        let mut any_label = false;
        self.timestamp = Time::default();
        self.window = GoDuration(0);
        self.containers.clear();
        self.usage.clear();
        let mut r = Reader::new(buf, "PodMetrics");
        while let Some((field, wire)) = r.key().ok()? {
            match field {
                1 => self.meta(r.sub("metadata", wire).ok()?, &mut labels, &mut any_label)?,
                2 => self.timestamp = decode_time(r.sub("timestamp", wire).ok()?).ok()?,
                3 => self.window = decode_duration(r.sub("window", wire).ok()?).ok()?,
                4 => self.container(r.sub("containers", wire).ok()?)?,
                _ => return None,
            }
        }
        self.labels = any_label.then_some(labels);
        Some(())
    }

    fn meta(&mut self, buf: &'a [u8], labels: &mut Vec<(&'a str, &'a str)>, any_label: &mut bool) -> Option<()> {
        let mut r = Reader::new(buf, "ObjectMeta");
        while let Some((field, wire)) = r.key().ok()? {
            match (field, wire) {
                // Go writes empty strings for unset names: unset, as in its JSON.
                (1 | 3, LEN) => {
                    let s = Some(str_of(r.bytes().ok()?, "ObjectMeta", "name").ok()?).filter(|s| !s.is_empty());
                    if field == 1 { self.name = s } else { self.namespace = s }
                }
                // generateName, selfLink, uid, resourceVersion: only unset ones.
                (2 | 4..=6, LEN) => {
                    if !r.bytes().ok()?.is_empty() {
                        return None;
                    }
                }
                (7, VARINT) => {
                    if r.int64().ok()? != 0 {
                        return None;
                    }
                }
                (8, LEN) => self.created = Some(decode_time(r.bytes().ok()?).ok()?),
                (11, LEN) => {
                    labels.push(label(r.bytes().ok()?)?);
                    *any_label = true;
                }
                // ownerReferences, managedFields: not kept.
                (13 | 17, _) => r.skip(wire).ok()?,
                _ => return None,
            }
        }
        Some(())
    }

    fn container(&mut self, buf: &'a [u8]) -> Option<()> {
        let mut r = Reader::new(buf, "ContainerMetrics");
        let mut name = "";
        while let Some((field, wire)) = r.key().ok()? {
            match (field, wire) {
                (1, LEN) => name = str_of(r.bytes().ok()?, "ContainerMetrics", "name").ok()?,
                (2, LEN) => self.usage.push(usage_entry_ref(r.bytes().ok()?).ok()?),
                _ => return None,
            }
        }
        self.containers.push((name, self.usage.len()));
        Some(())
    }
}

/// A label map entry: key and value (empty when absent).
fn label(buf: &[u8]) -> Option<(&str, &str)> {
    let mut r = Reader::new(buf, "ObjectMeta map entry");
    let (mut key, mut value) = ("", "");
    while let Some((field, wire)) = r.key().ok()? {
        match (field, wire) {
            (1, LEN) => key = str_of(r.bytes().ok()?, "ObjectMeta map entry", "key").ok()?,
            (2, LEN) => value = str_of(r.bytes().ok()?, "ObjectMeta map entry", "value").ok()?,
            _ => return None,
        }
    }
    Some((key, value))
}

/// `entries` as a map keeps them: sorted by key, only the last of a repeated key (the sort is
/// stable, so a key's entries stay in wire order).
pub(crate) fn as_map<'e, 'a, V: Copy>(entries: &'e mut [(&'a str, V)]) -> impl Iterator<Item = (&'a str, V)> + 'e {
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let entries = &*entries;
    let n = entries.len();
    (0..n).filter(move |&i| i + 1 == n || entries[i + 1].0 != entries[i].0).map(move |i| entries[i])
}
